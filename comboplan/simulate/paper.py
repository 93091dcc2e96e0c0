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

__all__ = ["ASSUMPTIONS", "PaperCalibration", "calibrate_eiro2024", "backed_out_sd", "eiro2024_evidence", "predicted_arms"]

ASSUMPTIONS = (
    "A1 growth is exponential to day 21 and luminescence is proportional to tumour burden",
    "A2 untreated tumours grow like the 5 mg/kg arm: the paper says their growth was 'similar' and does not "
    "print the control's day-14 value",
    "A3 paclitaxel PK in mice = Simeoni et al. 2004 (2-compartment) with complete IP absorption (Eiseman 1994 "
    "reported ~10 % IP bioavailability; with 10 % no dose would work at all)",
    "A4 paclitaxel potency k2 = Simeoni 2004's estimate (A2780 cells, not MDA-MB-231)",
    "A5 the secretome effect decays with a 1-day half-life after each injection (no PK measured)",
    "A6 no paclitaxel-equivalent is carried by vesicles (EV paclitaxel was detected, not quantified)",
    "A7 each day-14 value has a log-scale standard error of 0.4/sqrt(7) (bioluminescence CV ~40 %, n = 7)",
)


@dataclass(frozen=True)
class PaperCalibration:
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

    def model(self, theta: dict | None = None):
        """The :class:`~comboplan.simulate.cohort.PKPDModel` at ``theta`` (default: the estimate)."""
        return _model(self.theta if theta is None else theta)

    def draws(self, n: int = 200, seed=1):
        """Parameter draws from the calibration's covariance (positive parameters kept > 0)."""
        from .cohort import ParameterDraws, draws_from_covariance

        d = draws_from_covariance(dict(self.theta), self.cov, n, seed=seed, log_scale=False)
        vals = {k: (v if k == "interaction.gamma" else np.maximum(v, 1e-6)) for k, v in d.values.items()}
        return ParameterDraws(vals, source=d.source)


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
        effects={"paclitaxel": Effect("paclitaxel", SIMEONI_K2_PACLITAXEL),  # A4
                 "secretome": Effect("secretome", theta["potency.secretome"])},
        interaction=Interaction(gamma=theta["interaction.gamma"]),
        pk={"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})})  # A3


def calibrate_eiro2024() -> PaperCalibration:
    """Fit growth rate, secretome potency and interaction to the Eiro 2024 day-14 values.

    Returns
    -------
    PaperCalibration
        Estimates, covariance, observed and fitted values, and the assumptions made.
    """
    from scipy.optimize import least_squares

    from ..data.datasets import load_dataset
    from .cohort import Arm
    from .pd import simulate_growth

    data = load_dataset("eiro2024_xenograft")
    obs = {r.arm: r.tumor_volume_pct / 100.0 for r in data.itertuples()}
    y = np.log([obs["paclitaxel"], obs["CM-hUCESC_chemo"], obs["paclitaxel + CM-hUCESC_chemo"]])
    se = 0.4 / np.sqrt(7)  # A7
    ptx5, primed = _regimens()
    arms = [Arm("paclitaxel", [ptx5]), Arm("primed", [], [primed]), Arm("combo", [ptx5], [primed])]
    days = np.array([0.0, 14.0])
    names = ("lambda0", "potency.secretome", "interaction.gamma")

    def predict(th):
        m = _model(dict(zip(names, th)))
        return np.array([np.log(simulate_growth(days, m.growth, a.exposures(m.pk), m.effects, m.interaction)[0, 1])
                         for a in arms])

    fit = least_squares(lambda th: (predict(th) - y) / se, x0=[0.08, 0.05, 0.0],
                        bounds=([1e-4, 0.0, -5.0], [1.0, 5.0, 5.0]))
    cov = np.linalg.pinv(fit.jac.T @ fit.jac)
    return PaperCalibration(theta=dict(zip(names, fit.x)), cov=cov, observed=np.exp(y), fitted=np.exp(predict(fit.x)),
                            regimens={"paclitaxel_5": ptx5, "primed": primed})


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
