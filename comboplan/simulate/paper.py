"""Calibrate the PK/PD simulator to the only in-vivo numbers Eiro et al. (2024) print.

The paper's low-dose experiment reports day-14 tumour volume relative to day 0 for
paclitaxel 5 mg/kg weekly (274 %), secretome of paclitaxel-primed hUCESC 3x/week (113 %) and
their combination (131 %) (bundled as ``eiro2024_xenograft``).  Three numbers identify three
parameters of an exponential-growth model with Bliss-independent kill hazards: the growth
rate, the secretome potency and the interaction ``gamma``.  Everything else is an assumption,
listed in :data:`ASSUMPTIONS` and returned with the calibration so that reports can print it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..exceptions import DataError
from ..results import ResultIO, check_kind, set_units

__all__ = ["ASSUMPTIONS", "PaperCalibration", "calibrate_eiro2024", "backed_out_sd", "eiro2024_evidence", "predicted_arms"]

ASSUMPTIONS = (
    "A1 growth is exponential to day 21 and luminescence is proportional to tumour burden",
    "A2 the untreated control of this study (n = 4) is not printed; it is not assumed either: the model predicts "
    "it (PaperCalibration.predicted_control) and the paper's statement that 5 mg/kg grew 'similar' to control is a "
    "check, which this calibration fails (calibrate_eiro2024(control='like_5mg') implements 'control = 5 mg/kg' "
    "instead, with the paclitaxel potency estimated rather than taken from A4)",
    "A3 paclitaxel PK in mice = Simeoni et al. 2004 (2-compartment) with complete IP absorption (Eiseman 1994 "
    "reported ~10 % IP bioavailability; with 10 % no dose would work at all)",
    "A4 paclitaxel potency k2 = Simeoni 2004's estimate (A2780 cells, not MDA-MB-231)",
    "A5 the secretome effect decays with a 1-day half-life after each injection (no PK measured)",
    "A6 no paclitaxel-equivalent is carried by vesicles (EV paclitaxel was detected, not quantified)",
    "A7 each day-14 value has the log-scale standard error implied by the printed p-values (pooled two-sample "
    "t-tests assumed, n = 7 per arm: SD of relative volume backed out of p = 0.032 and p = 0.016, converted per arm "
    "to the log scale as sqrt(log(1 + (SD/mean)^2)) / sqrt(7))",
)


@dataclass(frozen=True)
class PaperCalibration(ResultIO):
    """Least-squares calibration of the simulator to the Eiro 2024 day-14 values.

    Attributes
    ----------
    theta : dict
        ``lambda0`` (1/day), ``potency.secretome`` (1/day per unit exposure),
        ``interaction.gamma`` (dimensionless; 0 = Bliss independence).
    cov : ndarray
        Covariance of ``theta`` (same order), residual scale fixed by assumption A7.
    observed, fitted : ndarray
        Day-14 relative sizes (fraction of day 0) for paclitaxel 5 mg/kg, primed secretome, combination.
    assumptions : tuple of str
    """

    theta: dict
    cov: np.ndarray
    observed: np.ndarray
    fitted: np.ndarray
    assumptions: tuple = ASSUMPTIONS
    regimens: dict = field(default_factory=dict, repr=False)
    control: str = "predicted"
    se: np.ndarray | None = None

    @property
    def predicted_control(self) -> float:
        """Day-14 relative size (fold of day 0) of the untreated control predicted by the model."""
        from .cohort import Arm
        from .pd import simulate_growth

        m = self.model()
        w = simulate_growth(np.array([0.0, 14.0]), m.growth, Arm("vehicle").exposures(m.pk), m.effects,
                            m.interaction)[0]
        return float(w[1] / w[0])

    def model(self, theta: dict | None = None):
        """The :class:`~comboplan.simulate.cohort.PKPDModel` at ``theta`` (default: the estimate)."""
        return _model(self.theta if theta is None else theta)

    def draws(self, n: int = 200, seed=1):
        """Parameter draws from the calibration's covariance (positive parameters kept > 0)."""
        from .cohort import ParameterDraws, draws_from_covariance

        ok = np.isfinite(np.diag(self.cov))
        cov = np.where(np.outer(ok, ok), np.nan_to_num(self.cov), 0.0)
        d = draws_from_covariance(dict(self.theta), cov, n, seed=seed, log_scale=False)
        vals = {k: (v if k == "interaction.gamma" else np.maximum(v, 1e-6)) for k, v in d.values.items()}
        return ParameterDraws(vals, source=d.source)

    # -- result protocol ------------------------------------------------------------------
    _UNITS = {"lambda0": "1/day", "potency.secretome": "1/day per unit exposure",
              "potency.paclitaxel": "1/day per ug/mL", "interaction.gamma": "1"}

    @property
    def arms(self) -> list[str]:
        """Labels of :attr:`observed` / :attr:`fitted`."""
        labels = ["paclitaxel 5 mg/kg", "primed secretome", "combination", "control (= 5 mg/kg)"]
        return labels[:len(self.observed)]

    def summary(self) -> str:
        """Estimates with SEs, observed and fitted day-14 values, and the assumptions, as text."""
        se = np.sqrt(np.diag(self.cov))
        lines = [f"Calibration to Eiro 2024 day-14 relative sizes (control: {self.control}):"]
        lines += [f"  {k} = {float(v):.4g} {self._UNITS.get(k, '')} (SE {s:.3g})"
                  for (k, v), s in zip(self.theta.items(), se)]
        lines += [f"  {a}: observed {o:.3g}, fitted {f:.3g} (fold of day 0)"
                  for a, o, f in zip(self.arms, self.observed, self.fitted)]
        lines.append("assumptions:")
        lines += [f"  {a}" for a in self.assumptions]
        return "\n".join(lines)

    def to_xarray(self):
        """Estimates (dim ``param``), covariance (``param``, ``param_j``) and observed / fitted
        day-14 relative sizes (dim ``arm``) as an :class:`xarray.Dataset` with units."""
        import xarray as xr

        names = list(self.theta)
        ds = xr.Dataset({"estimate": ("param", np.array([float(v) for v in self.theta.values()])),
                         "stderr": ("param", np.sqrt(np.diag(self.cov))),
                         "cov": (("param", "param_j"), np.asarray(self.cov, float)),
                         "observed": ("arm", np.asarray(self.observed, float)),
                         "fitted": ("arm", np.asarray(self.fitted, float))},
                        coords={"param": names, "param_j": names, "arm": self.arms})
        from ..results import units_by

        by = units_by(names, [self._UNITS.get(k, "") for k in names])
        set_units(ds, {"estimate": by, "stderr": by, "cov": "products of the param units: " + by,
                       "observed": "1 (fold of day 0)", "fitted": "1 (fold of day 0)"})
        if self.se is not None:
            ds["se_log"] = ("arm", np.asarray(self.se, float), {"units": "1 (natural log)"})
        ds.attrs.update({"control": self.control, "assumptions": "\n".join(self.assumptions)})
        return ds

    def plot(self, *, kind: str = "fit", ax=None, **kwargs):
        """Observed (with the assumed log-scale SE) and fitted day-14 relative sizes per arm; returns the Axes."""
        from ..plot._common import new_axes

        check_kind(kind, ("fit",), "PaperCalibration")
        ax = new_axes(ax)
        x = np.arange(len(self.observed))
        obs = np.asarray(self.observed, float)
        if self.se is not None:
            se = np.asarray(self.se, float)
            ax.errorbar(x, obs, yerr=[obs - obs * np.exp(-se), obs * np.exp(se) - obs], fmt="o", capsize=4,
                        label="observed (assumed SE)")
        else:
            ax.plot(x, obs, "o", label="observed")
        ax.plot(x, self.fitted, "s", mfc="none", label="fitted", **kwargs)
        ax.set_xticks(x, self.arms, rotation=20, ha="right")
        ax.set_ylabel("day-14 relative size (fold of day 0)")
        ax.legend(fontsize=8)
        return ax


def _regimens():
    from ..models.pk import Regimen
    from .exposure import secretome

    ptx5 = Regimen.from_schedule(5, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
    primed = secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)  # A5, A6
    return ptx5, primed


def _model(theta: dict):
    from ..models.pk import paclitaxel_mouse
    from .cohort import PKPDModel
    from .pd import SIMEONI_K2_PACLITAXEL, Effect, GrowthModel, Interaction

    return PKPDModel(
        growth=GrowthModel("exponential", {"lambda0": theta["lambda0"], "w0": 1.0}, size_unit="relative burden"),
        effects={"paclitaxel": Effect("paclitaxel", theta.get("potency.paclitaxel", SIMEONI_K2_PACLITAXEL)),  # A4
                 "secretome": Effect("secretome", theta["potency.secretome"])},
        interaction=Interaction(gamma=theta["interaction.gamma"]),
        pk={"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})})  # A3


def calibrate_eiro2024(control: str = "predicted") -> PaperCalibration:
    """Fit the PK/PD model to the Eiro 2024 day-14 values (assumptions A1-A7).

    Parameters
    ----------
    control : {"predicted", "like_5mg"}
        ``"predicted"`` (default): growth rate, secretome potency and interaction fitted to the
        three printed values (5 mg/kg, primed secretome, combination) with the paclitaxel potency
        of A4; the untreated control is predicted, not assumed.  ``"like_5mg"``: implements
        "untreated tumours grow like the 5 mg/kg arm" literally: a fourth value, control = the
        5 mg/kg value, and the paclitaxel potency estimated (A4 dropped); the data then put it at
        its lower bound 0 and leave the interaction unidentified (its SE is infinite).

    Returns
    -------
    PaperCalibration
        Estimates, covariance, observed and fitted values, the assumptions, the predicted control.
    """
    from scipy.optimize import least_squares

    from ..data.datasets import load_dataset
    from .cohort import Arm
    from .pd import simulate_growth

    if control not in ("predicted", "like_5mg"):
        raise DataError(f"control must be 'predicted' or 'like_5mg'; got {control!r}.")
    data = load_dataset("eiro2024_xenograft")
    obs = {r.arm: r.tumor_volume_pct / 100.0 for r in data.itertuples()}
    keys = ["paclitaxel", "CM-hUCESC_chemo", "paclitaxel + CM-hUCESC_chemo"]
    # A7: log-scale SE of each day-14 mean from the SD backed out of the printed p-values
    ev = eiro2024_evidence()
    sd_pool = float(ev["value"].iloc[2]) / 100.0
    n = int(data["n_mice"].iloc[0])
    se = np.array([np.sqrt(np.log1p((sd_pool / obs[k]) ** 2)) / np.sqrt(n) for k in keys])
    y = np.log([obs[k] for k in keys])
    ptx5, primed = _regimens()
    arms = [Arm("paclitaxel", [ptx5]), Arm("primed", [], [primed]), Arm("combo", [ptx5], [primed])]
    names = ["lambda0", "potency.secretome", "interaction.gamma"]
    x0, lo, hi = [0.08, 0.05, 0.0], [1e-4, 0.0, -5.0], [1.0, 5.0, 5.0]
    if control == "like_5mg":
        arms.append(Arm("control"))
        y = np.append(y, np.log(obs["paclitaxel"]))
        se = np.append(se, se[0])
        names.append("potency.paclitaxel")
        x0, lo, hi = x0 + [0.3], lo + [0.0], hi + [10.0]
    days = np.array([0.0, 14.0])

    def predict(th):
        m = _model(dict(zip(names, th)))
        return np.array([np.log(simulate_growth(days, m.growth, a.exposures(m.pk), m.effects, m.interaction)[0, 1])
                         for a in arms])

    fit = least_squares(lambda th: (predict(th) - y) / se, x0=x0, bounds=(lo, hi))
    JtJ = fit.jac.T @ fit.jac
    cov = np.linalg.pinv(JtJ)
    flat = np.abs(np.diag(JtJ)) < 1e-10 * max(1.0, float(np.max(np.abs(np.diag(JtJ)))))
    cov[flat, :] = np.nan
    cov[:, flat] = np.nan
    return PaperCalibration(theta=dict(zip(names, fit.x)), cov=cov, observed=np.exp(y), fitted=np.exp(predict(fit.x)),
                            regimens={"paclitaxel_5": ptx5, "primed": primed}, control=control, se=se)


def backed_out_sd(mean_a: float, mean_b: float, p_value: float, n_a: int, n_b: int, two_sided: bool = True) -> float:
    """Pooled SD implied by a printed two-sample t-test p-value.

    Parameters
    ----------
    mean_a, mean_b : float
        Printed group means (any unit, e.g. % of day-0 tumour volume).
    p_value : float
        Printed p-value of the pooled-variance two-sample t-test between the groups.
    n_a, n_b : int
        Group sizes.
    two_sided : bool
        Whether the printed p-value is two-sided.

    Returns
    -------
    float
        The pooled SD (unit of the means) for which the t-test gives exactly ``p_value``.
    """
    from scipy import stats

    if not 0 < p_value < 1:
        raise ValueError(f"p_value must lie in (0, 1); got {p_value!r}.")
    df = n_a + n_b - 2
    t = stats.t.isf(p_value / 2 if two_sided else p_value, df)
    return abs(mean_a - mean_b) / (t * np.sqrt(1.0 / n_a + 1.0 / n_b))


def eiro2024_evidence() -> "pd.DataFrame":
    """What the printed day-14 numbers of Eiro et al. (2024), study 2, imply by themselves.

    Reads the bundled ``eiro2024_xenograft`` means (% of day-0 volume, n = 7 per arm) and the
    p-values of ``eiro2024_tests``; assumes the printed p-values come from pooled two-sample
    t-tests on day-14 relative volume (the paper lists t-tests, ANOVA and Kruskal-Wallis without
    saying which test gave which p-value: an assumption, stated in every row).

    Returns
    -------
    pandas.DataFrame
        ``quantity, value, unit, how``: the SD backed out of each p-value, their pooled value,
        the 95 % CI of the combination - paclitaxel 5 mg/kg difference (the paper's central
        in-vivo claim, 131 % vs 274 %, p = 0.016), the t-test of the combination vs the
        secretome alone (131 % vs 113 %), and the Bliss interaction on log relative volume
        under assumption A2 (control = 5 mg/kg arm; > 0 = the combination grew more than
        independent action predicts, i.e. no synergy).
    """
    import pandas as pd
    from scipy import stats

    from ..data.datasets import load_dataset

    x = load_dataset("eiro2024_xenograft")
    m = {r.arm: float(r.tumor_volume_pct) for r in x.itertuples()}
    n = {r.arm: int(r.n_mice) for r in x.itertuples()}
    tests = load_dataset("eiro2024_tests")
    tx = tests[tests["experiment"].str.startswith("xenograft (Fig. 4G)")]
    p_cm = float(tx[tx["comparison"].str.startswith("CM-hUCESC_chemo vs")]["p_value"].iloc[0])
    p_combo = float(tx[tx["comparison"].str.startswith("paclitaxel 5 mg/kg + CM")]["p_value"].iloc[0])
    ptx, cm, combo = m["paclitaxel"], m["CM-hUCESC_chemo"], m["paclitaxel + CM-hUCESC_chemo"]
    nn = n["paclitaxel"]
    sd1 = backed_out_sd(cm, ptx, p_cm, nn, nn)
    sd2 = backed_out_sd(combo, ptx, p_combo, nn, nn)
    sd = float(np.sqrt((sd1 ** 2 + sd2 ** 2) / 2))
    se = sd * np.sqrt(2.0 / nn)
    df = 2 * nn - 2
    q = stats.t.ppf(0.975, df)
    d = combo - ptx
    t_cc = (combo - cm) / se
    p_cc = 2 * stats.t.sf(abs(t_cc), df)
    how = "pooled two-sample t-test assumed (df = 12)"
    rows = [
        ("SD of day-14 relative volume backed out of p = %g (113 %% vs 274 %%)" % p_cm, sd1, "% of day 0", how),
        ("SD backed out of p = %g (131 %% vs 274 %%)" % p_combo, sd2, "% of day 0", how),
        ("pooled SD (the two above)", sd, "% of day 0", "root mean square"),
        ("combination - paclitaxel 5 mg/kg (central claim)", d, "% of day 0", "printed means"),
        ("  95 % CI low", d - q * se, "% of day 0", how + ", pooled SD"),
        ("  95 % CI high", d + q * se, "% of day 0", how + ", pooled SD"),
        ("combination - secretome alone", combo - cm, "% of day 0", "printed means"),
        ("  p-value (two-sided)", p_cc, "1", how + ", pooled SD"),
        ("Bliss interaction on log relative volume under A2 (> 0 = less than independent action)",
         float(np.log(combo / 100) - np.log(cm / 100) - np.log(ptx / 100) + np.log(ptx / 100)), "log ratio",
         "log(combo) - log(CM) - log(PTX5) + log(control), control = PTX5 (A2)"),
    ]
    return pd.DataFrame(rows, columns=["quantity", "value", "unit", "how"])


def predicted_arms(cal: "PaperCalibration", day: float = 14.0, doses=(0.0, 2.5, 5.0, 10.0)) -> "pd.DataFrame":
    """Typical-animal relative size at ``day`` for every paclitaxel dose, alone and with primed secretome.

    Parameters
    ----------
    cal : PaperCalibration
    day : float
        Day after the first dose.
    doses : sequence of float
        Paclitaxel doses (mg/kg, weekly i.p.); 0 is the untreated control.

    Returns
    -------
    pandas.DataFrame
        ``paclitaxel_mg_per_kg, companion, relative_size`` (fold of day 0), plus a
        ``monotone`` flag per companion: False when more paclitaxel predicts a larger tumour
        somewhere on the grid (an artefact of a negative interaction, to be flagged).
    """
    import pandas as pd

    from .cohort import Arm
    from .pd import simulate_growth

    mdl = cal.model()
    ptx5, primed = cal.regimens["paclitaxel_5"], cal.regimens["primed"]
    rows = []
    for comp, prods in (("none", []), ("primed", [primed])):
        vals = []
        for dose in doses:
            regs = [ptx5.with_amount(dose)] if dose > 0 else []
            arm = Arm(f"{dose:g}+{comp}", regs, prods)
            w = simulate_growth(np.array([0.0, day]), mdl.growth, arm.exposures(mdl.pk), mdl.effects,
                                mdl.interaction)[0]
            vals.append(float(w[1] / w[0]))
        mono = bool(np.all(np.diff(vals) <= 1e-12))
        rows += [(float(d), comp, v, mono) for d, v in zip(doses, vals)]
    return pd.DataFrame(rows, columns=["paclitaxel_mg_per_kg", "companion", "relative_size", "monotone"])
