"""Dose-reduction explorer: how low can the drug dose go with a companion treatment?

For a grid of drug doses x companions (none / naive secretome / primed secretome ...),
the population response at chosen days is predicted for every parameter-uncertainty
draw (endpoint formulas from :mod:`comboplan.growth.endpoints`: ``mean_rtv``, ``tgi_delta``) (common virtual animals in every arm, so differences between arms are not blurred
by sampling noise).  The endpoint is either

* ``"relative_size"``: arithmetic mean over animals of ``V(day)/V(0)`` (the papers' "% tumour
  volume"; lower is better), non-inferior when ``candidate <= reference x (1 + margin)``;
* ``"geometric_relative_size"``: geometric mean over animals of ``V(day)/V(0)`` (lower is better,
  same margin rule): the scale of the non-inferiority test of :func:`comboplan.compare_arms`,
  of ``study_power(analysis="noninferiority")`` and of :mod:`comboplan.simulate.noninferiority`
  (mean log RTV), so explorer, power and analysis agree; or
* ``"tgi"``: ``1 - (mean V_T(day) - mean V_T(0)) / (mean V_C(day) - mean V_C(0))`` against the
  untreated control (higher is better), non-inferior when ``candidate >= reference - margin``.

``P(non-inferior)`` is the fraction of draws in which the candidate meets the margin; the
minimum dose is the smallest grid dose whose probability reaches the target (and a
linear interpolation between grid doses).  The in-vivo dose-reduction index
``reference dose / minimum dose`` is reported beside an in-vitro DRI (Chou-Talalay) when
one is given.

**Therapeutic window.**  With ``toxicity=`` (a :class:`~comboplan.simulate.toxicity.ToxicityLimit`:
a body-weight turnover model and a limit such as "mean nadir loss <= 15 %" or
"P(animal reaches >= 20 % loss) <= 10 %"), every dose x companion is also simulated for body
weight (:mod:`comboplan.simulate.toxicity`; a companion adds toxicity only through the drug it
carries, ``ProductExposure.carried_regimen``).  ``P(tolerable)`` is the fraction of the
toxicity model's parameter draws in which the limit holds; a dose is *tolerated* when it
reaches the limit's ``target_probability``.  The table gains the toxicity columns, the
minimum dose can require both criteria (``require_tolerable=True``) and the maximum
tolerated dose of the grid (the largest dose such that it and every lower dose are
tolerated) is reported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .._params import Interval, Real, renamed_params, validate_params
from ..exceptions import DataError
from ..growth.endpoints import mean_rtv, tgi_delta
from ..models.pk import Regimen, parse_schedule
from ..results import ResultIO
from .cohort import Arm, ParameterDraws, PKPDModel, Variability, simulate_arms
from .exposure import ProductExposure
from .mcerror import format_probability

__all__ = ["dose_reduction", "DoseReductionResult"]


@dataclass(frozen=True)
class DoseReductionResult(ResultIO):
    """Result of :func:`dose_reduction` (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        companion, dose, day, endpoint, estimate (median over draws), low, high (credible
        band), p_noninferior; with ``toxicity=`` also tox_metric (median over toxicity draws of
        the limit's criterion, fraction), tox_low, tox_high (90 % band), mean_nadir_pct (%),
        p_endpoint (fraction of animals at the humane loss), p_tolerable, tolerated.
    minimum_dose : pandas.DataFrame
        companion, day, monotone (False when the median endpoint gets worse with more drug somewhere
        on the grid: a flag), min_dose (grid), min_dose_interp, dri_in_vivo, in_vitro_dri; with
        ``toxicity=`` also min_dose_efficacy, min_dose_efficacy_interp (efficacy alone),
        mtd (maximum tolerated grid dose) and window (a dose meets both criteria).
    settings : dict
        Reference, margin, target probability, endpoint, units, level, number of draws...
    draws : numpy.ndarray
        Endpoint per (companion, dose, day, draw).
    toxicity : pandas.DataFrame or None
        companion, dose, unit, tox_metric, tox_low, tox_high, mean_nadir_pct, p_endpoint,
        p_tolerable, tolerated, n_draws (None without ``toxicity=``).
    toxicity_draws : numpy.ndarray or None
        The limit's criterion per (companion, dose, toxicity draw), fraction.
    """

    table: pd.DataFrame
    minimum_dose: pd.DataFrame
    settings: dict = field(default_factory=dict)
    draws: np.ndarray | None = None
    toxicity: pd.DataFrame | None = None
    toxicity_draws: np.ndarray | None = None

    def summary(self) -> str:
        """Plain-language answer with its assumptions."""
        s = self.settings
        better = "lower is better" if s["endpoint"] != "tgi" else "higher is better"
        lines = [
            f"Dose-reduction explorer ({s['agent']} {s['unit']}, {s['schedule']}; endpoint {s['endpoint']}, {better})",
            f"Reference: {s['reference_dose']:g} {s['unit']} with companion '{s['reference_companion']}'. "
            f"Non-inferior = within margin {s['margin']:g} "
            + ("(relative: candidate <= reference x (1 + margin))." if s["endpoint"] != "tgi"
               else "(absolute TGI points: candidate >= reference - margin)."),
            f"Target probability {s['target_probability']:.0%} over {s['n_draws']} parameter draw(s) "
            f"x {s['n_animals']} virtual animals; bands are {s['level']:.0%} credible intervals.",
            f"Model: {s.get('source', 'model given')}.",
        ]
        if s["n_draws"] == 1:
            lines.append("WARNING: no parameter uncertainty was given (one draw); probabilities are 0 or 1.")
        eff_only = "min_dose_efficacy" in self.minimum_dose.columns  # with toxicity: efficacy answer first
        for _, r in self.minimum_dose.iterrows():
            dmin = r["min_dose_efficacy"] if eff_only else r["min_dose"]
            if np.isfinite(dmin):
                dint = r["min_dose_efficacy_interp"] if eff_only else r["min_dose_interp"]
                dri = (s["reference_dose"] / dint if dint > 0 else np.inf) if eff_only else r["dri_in_vivo"]
                txt = (f"  companion {r['companion']!r}, day {r['day']:g}: minimum "
                       f"{'effective ' if eff_only else ''}dose {dmin:g} {s['unit']} "
                       f"(interpolated {dint:.3g}); in-vivo DRI {dri:.3g}")
            else:
                txt = f"  companion {r['companion']!r}, day {r['day']:g}: no dose in the grid reaches the target"
            if np.isfinite(r.get("in_vitro_dri", np.nan)):
                txt += f"; in-vitro DRI {r['in_vitro_dri']:.3g}"
            if not r.get("monotone", True):
                txt += (" -- FLAG: the predicted efficacy is not monotone in dose (more drug predicts a worse "
                        "endpoint somewhere on the grid; check the interaction), so this minimum dose is suspect")
            lines.append(txt)
        if self.toxicity is not None:
            lines += self._toxicity_summary()
        return "\n".join(lines)

    def _toxicity_summary(self) -> list[str]:
        s = self.settings
        tx = s["toxicity"]
        nt = int(tx["n_draws"])
        need = ("requires both criteria" if tx["require_tolerable"]
                else "is efficacy alone (toxicity reported beside it)")
        lines = [f"Toxicity: {tx['criterion_text']}, required with probability {tx['target_probability']:.0%} over "
                 f"{nt} body-weight parameter draw(s) x {tx['n_animals']} virtual animals, weighings on days "
                 f"{tx['days_text']}; model: {tx['model']}.",
                 f"  Source of the body-weight parameters: {tx['source']}. Companions add toxicity only through the "
                 f"drug they carry. The minimum dose above {need}."]
        if nt == 1:
            lines.append("  WARNING: no body-weight parameter uncertainty was given (one draw); "
                         "P(tolerable) is 0 or 1.")
        tox = self.toxicity
        n_eff = int(s["n_draws"])
        for _, r in self.minimum_dose.drop_duplicates("companion").iterrows():
            c = r["companion"]
            mtd = r["mtd"]
            txt = (f"  companion {c!r}: maximum tolerated dose on the grid "
                   + (f"{mtd:g} {s['unit']}" if np.isfinite(mtd) else "none (even the lowest dose is not tolerated)"))
            lines.append(txt)
        for _, r in self.minimum_dose.iterrows():
            c, day = r["companion"], r["day"]
            d = r["min_dose"]
            if np.isfinite(d):
                tr = tox[(tox["companion"] == c) & (tox["dose"] == d)].iloc[0]
                er = self.table[(self.table["companion"] == c) & (self.table["dose"] == d) & (self.table["day"] == day)]
                p_ni = float(er["p_noninferior"].iloc[0])
                what = ("minimum effective and tolerated dose" if tx["require_tolerable"] else "minimum effective dose")
                lines.append(f"  companion {c!r}, day {day:g}: {what} {d:g} {s['unit']} (interpolated "
                             f"{r['min_dose_interp']:.3g}; in-vivo DRI {r['dri_in_vivo']:.3g}): P(non-inferior) "
                             f"{format_probability(p_ni, n_eff)}, "
                             f"P(tolerable) {format_probability(tr['p_tolerable'], nt)}"
                             f" (medians over draws: mean nadir {-tr['mean_nadir_pct']:+.1f} %, share of animals at "
                             f"the humane loss {format_probability(tr['p_endpoint'], tx['n_animals'])})")
            elif tx["require_tolerable"] and np.isfinite(r["min_dose_efficacy"]):
                lines.append(f"  companion {c!r}, day {day:g}: no therapeutic window on the grid: efficacy needs "
                             f"{r['min_dose_efficacy']:g} {s['unit']}, tolerated up to "
                             + (f"{r['mtd']:g} {s['unit']}." if np.isfinite(r["mtd"]) else "no dose."))
        ref = tox[(tox["companion"] == s["reference_companion"]) & (tox["dose"] == s["reference_dose"])]
        if len(ref):
            lines.append(f"  reference {s['reference_dose']:g} {s['unit']} ('{s['reference_companion']}'): "
                         "P(tolerable) "
                         f"{format_probability(float(ref['p_tolerable'].iloc[0]), nt)}"
                         + ("" if bool(ref["tolerated"].iloc[0]) else " -- the reference itself is not tolerated"))
        return lines

    def to_xarray(self):
        """Endpoint draws as an :class:`xarray.Dataset` with one variable named after the endpoint,
        dims (companion, dose, time, draw) (``time``: the endpoint day, column ``day`` of the
        tables); ``units`` "1" (fold of day 0, or TGI as a fraction); ``dose`` in
        ``attrs["dose_unit"]``."""
        import xarray as xr

        s = self.settings
        da = xr.DataArray(self.draws, dims=("companion", "dose", "time", "draw"),
                          coords={"companion": list(s["companions"]), "dose": s["doses"], "time": s["days"]},
                          name=s["endpoint"], attrs={"dose_unit": s["unit"], "units": "1"})
        ds = da.to_dataset()
        ds["dose"].attrs["units"] = str(s["unit"])
        ds["time"].attrs["units"] = "day"
        ds.attrs["endpoint"] = str(s["endpoint"])
        return ds

    def toxicity_to_xarray(self):
        """The toxicity criterion per draw as a DataArray (companion, dose, draw), fraction.

        Raises
        ------
        DataError
            When the explorer was called without ``toxicity=``.
        """
        import xarray as xr

        if self.toxicity_draws is None:
            raise DataError("this dose-reduction result has no toxicity; call dose_reduction(..., toxicity=...).")
        s = self.settings
        tx = s["toxicity"]
        return xr.DataArray(self.toxicity_draws, dims=("companion", "dose", "draw"),
                            coords={"companion": list(s["companions"]), "dose": s["doses"]},
                            name=tx["criterion"],
                            attrs={"units": "1", "dose_unit": s["unit"], "criterion": tx["criterion_text"],
                                   "target_probability": tx["target_probability"]})

    def plot(self, ax=None, day=None, *, kind: str = "efficacy", **kwargs):
        """Plot the explorer's answer.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        day : float, optional
            Efficacy day (default: the last one).
        kind : {"efficacy", "window"}
            Dose-efficacy curves with credible bands
            (:func:`comboplan.plot.simulate.plot_dose_efficacy`), or P(non-inferior) and
            P(tolerable) against dose (:func:`comboplan.plot.toxicity.plot_therapeutic_window`;
            needs ``toxicity=``).

        Returns
        -------
        matplotlib.axes.Axes
        """
        if kind == "window":
            from ..plot.toxicity import plot_therapeutic_window

            return plot_therapeutic_window(self, ax=ax, day=day, **kwargs)
        if kind != "efficacy":
            raise DataError(f"kind must be 'efficacy' or 'window'; got {kind!r}.")
        from ..plot.simulate import plot_dose_efficacy

        return plot_dose_efficacy(self, ax=ax, day=day, **kwargs)


def _endpoint(size, day_idx, control, kind):
    """size: (n_draws, n_animals, n_days) -> (n_draws,) population endpoint at day_idx."""
    if kind == "relative_size":
        return mean_rtv(size[:, :, day_idx], size[:, :, 0], axis=1)
    if kind == "geometric_relative_size":
        return np.exp(np.mean(np.log(size[:, :, day_idx] / size[:, :, 0]), axis=1))
    return tgi_delta(size[:, :, day_idx], size[:, :, 0], control[:, :, day_idx], control[:, :, 0], axis=1)


@renamed_params(level="ci_level")
@validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither")]})
def dose_reduction(model: PKPDModel, doses: Sequence[float], *, agent: str = "paclitaxel",
                   schedule="weekly from day 0 to 21", route: str = "ip", unit: str = "mg/kg",
                   companions: Mapping[str, ProductExposure | None] | None = None,
                   reference: tuple[float, str] = (10.0, "none"), days: Sequence[float] = (14.0, 21.0),
                   endpoint: str = "geometric_relative_size", margin: float = 0.2, target_probability: float = 0.8,
                   n_animals: int = 200, draws: ParameterDraws | None = None,
                   variability: Variability | None = None, ci_level: float = 0.9, seed=0,
                   in_vitro_dri: float | Mapping[str, float] | None = None, max_step: float = 0.2,
                   toxicity=None, require_tolerable: bool = True) -> DoseReductionResult:
    """Predict efficacy over doses x companions and find the minimum non-inferior dose.

    Parameters
    ----------
    model : PKPDModel
        Fitted or assumed PK/PD model.
    doses : sequence of float
        Drug doses per administration (``unit``), e.g. ``[0, 2.5, 5, 7.5, 10]``.
    agent, schedule, route, unit
        The drug regimen (schedule phrase as in :func:`comboplan.models.pk.parse_schedule`).
    companions : mapping name -> ProductExposure or None
        Companion treatments; ``None`` = no companion.  Default ``{"none": None}``.
    reference : (dose, companion)
        The full-efficacy regimen to match (default 10 mg/kg alone).
    days : sequence of float
        Days at which the endpoint is evaluated.
    endpoint : {"geometric_relative_size", "relative_size", "tgi"}
        Geometric-mean relative size (fold of day 0; default: the scale of the TGI fit's log-size
        error and of the power analysis's log-RTV test, so that one margin means the same thing in
        the explorer and in the sample size), arithmetic-mean relative size (the papers' "% tumour
        volume"), or TGI (fraction).
    margin : float
        Non-inferiority margin (relative for relative size, TGI points for TGI).
    target_probability : float
        Required P(non-inferior), e.g. 0.8.
    n_animals : int
        Virtual animals per draw (population mean).
    draws : ParameterDraws, optional
        Parameter uncertainty; without it every probability is 0 or 1.
    variability : Variability, optional
        Between-animal variability.
    ci_level : float
        Credible level of the bands (``level=`` is a deprecated alias).
    seed : int or Generator
    in_vitro_dri : float or mapping companion -> float, optional
        In-vitro dose-reduction index (e.g. from :func:`comboplan.chou_talalay`) shown beside
        the in-vivo answer.
    max_step : float
        Integration step (days).
    toxicity : ToxicityLimit or (BodyWeightModel, str), optional
        Body-weight model and tolerability limit
        (:class:`comboplan.simulate.toxicity.ToxicityLimit`, or a model with a phrase such as
        ``"mean nadir loss <= 15 %"`` / ``"P(animal reaches >= 20 % loss) <= 10 %"``).  Its PK is
        the limit's ``pk`` or ``model.pk[agent]``; its weighing days default to every day from 0
        to the last efficacy day.
    require_tolerable : bool
        With ``toxicity``: the minimum dose must be both non-inferior and tolerated (default);
        False keeps the efficacy-only answer in ``min_dose`` (the toxicity columns are still
        reported).

    Returns
    -------
    DoseReductionResult
    """
    from .cohort import resolve_model
    model, draws, variability, _source = resolve_model(model, draws, variability, seed=seed)
    doses = np.asarray(sorted(float(d) for d in doses), dtype=float)
    if doses.size < 2 or np.any(doses < 0) or np.any(~np.isfinite(doses)):
        raise DataError("doses must hold at least two finite values >= 0 (the grid to explore).")
    if endpoint not in ("relative_size", "geometric_relative_size", "tgi"):
        raise DataError(f"endpoint must be 'relative_size', 'geometric_relative_size' or 'tgi'; got {endpoint!r}.")
    lower_better = endpoint != "tgi"
    if not 0 < target_probability < 1:
        raise DataError("target_probability must be in (0, 1).")
    if not margin >= 0:
        raise DataError("margin must be >= 0.")
    tox_limit = _as_limit(toxicity)
    companions = dict(companions or {"none": None})
    ref_dose, ref_comp = float(reference[0]), str(reference[1])
    if ref_comp not in companions:
        raise DataError(f"reference companion {ref_comp!r} is not among the companions {list(companions)}.")
    days = np.asarray(sorted(float(d) for d in days))
    sim_days = np.union1d([0.0], days)
    times = parse_schedule(schedule, end=float(sim_days[-1]))
    arms = [Arm("__control__")]
    keys = []
    for cname, prod in companions.items():
        for d in np.union1d(doses, [ref_dose]) if cname == ref_comp else doses:
            regs = (Regimen(amount=float(d), unit=unit, times=tuple(times), route=route, agent=agent),) if d > 0 else ()
            arms.append(Arm(f"{cname}:{d:g}", regs, (prod,) if prod is not None else ()))
            keys.append((cname, float(d)))
    size = simulate_arms(model, arms, sim_days, int(n_animals), variability=variability, draws=draws, seed=seed,
                         common_animals=True, max_step=max_step)
    control = size[0]
    day_idx = np.searchsorted(sim_days, days)
    n_draws = size.shape[1]
    ep = {}
    for k, key in enumerate(keys):
        ep[key] = np.stack([_endpoint(size[k + 1], j, control, endpoint) for j in day_idx], axis=0)  # (days, draws)
    ref = ep[(ref_comp, ref_dose)]
    if lower_better:
        ok = {k: v <= ref * (1.0 + margin) for k, v in ep.items()}
    else:
        ok = {k: v >= ref - margin for k, v in ep.items()}
    level = float(ci_level)
    qlo, qhi = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    cube = np.full((len(companions), doses.size, days.size, n_draws), np.nan)
    for ci, cname in enumerate(companions):
        for di, d in enumerate(doses):
            v = ep[(cname, float(d))]
            cube[ci, di] = v
            for j, day in enumerate(days):
                rows.append({"companion": cname, "dose": d, "unit": unit, "day": day, "endpoint": endpoint,
                             "estimate": float(np.median(v[j])), "low": float(np.quantile(v[j], qlo)),
                             "high": float(np.quantile(v[j], qhi)), "p_noninferior": float(ok[(cname, float(d))][j].mean())})
    table = pd.DataFrame(rows)
    mrows = []
    for cname in companions:
        for day in days:
            sub = table[(table["companion"] == cname) & (table["day"] == day)].sort_values("dose")
            p = sub["p_noninferior"].to_numpy()
            dd = sub["dose"].to_numpy()
            hit = np.flatnonzero(p >= target_probability)
            if hit.size:
                i = int(hit[0])
                dmin = float(dd[i])
                if i > 0 and p[i] > p[i - 1]:
                    dint = float(dd[i - 1] + (target_probability - p[i - 1]) / (p[i] - p[i - 1]) * (dd[i] - dd[i - 1]))
                else:
                    dint = dmin
            else:
                dmin = dint = np.nan
            ivd = in_vitro_dri.get(cname, np.nan) if isinstance(in_vitro_dri, Mapping) else (
                np.nan if in_vitro_dri is None else float(in_vitro_dri))
            # efficacy must not get worse with more drug; a median that does is flagged (typically the
            # artefact of a negative interaction), and a minimum dose read off such a curve is suspect
            est = sub["estimate"].to_numpy()
            worse = np.diff(est) > 1e-9 * np.abs(est[:-1]) if lower_better else \
                np.diff(est) < -1e-9 * np.abs(est[:-1])
            mrows.append({"companion": cname, "day": day, "monotone": not bool(np.any(worse)),
                          "min_dose": dmin, "min_dose_interp": dint,
                          "dri_in_vivo": ref_dose / dint if np.isfinite(dint) and dint > 0 else
                          (np.inf if dint == 0 else np.nan),
                          "in_vitro_dri": ivd if cname != ref_comp or in_vitro_dri is not None else np.nan})
    settings = {"agent": agent, "unit": unit, "schedule": str(schedule), "route": route, "endpoint": endpoint,
                "margin": margin, "target_probability": target_probability, "reference_dose": ref_dose,
                "reference_companion": ref_comp, "n_draws": n_draws, "source": _source, "n_animals": int(n_animals), "level": level,
                "ci_level": level,
                "companions": tuple(companions), "doses": doses, "days": days,
                "interaction": model.interaction.describe(), "seed": seed,
                "companion_descriptions": {c: (p.describe() if p is not None else "none") for c, p in companions.items()}}
    minimum = pd.DataFrame(mrows)
    tox_table = tox_cube = None
    if tox_limit is not None:
        tox_doses = np.union1d(doses, [ref_dose])  # the reference's tolerability is reported even off the grid
        tox_table, tox_cube, tox_settings = _toxicity(tox_limit, model, companions, tox_doses, times, agent, unit,
                                                      route, days, seed)
        tox_settings["require_tolerable"] = bool(require_tolerable)
        settings["toxicity"] = tox_settings
        on_grid = np.isin(tox_doses, doses)
        tox_cube = tox_cube[:, on_grid]
        tox_table["on_grid"] = np.isin(tox_table["dose"].to_numpy(), doses)
        table = table.merge(tox_table[_TOX_COLS], on=["companion", "dose"], how="left")
        minimum = _with_tolerability(minimum, table, tox_table[tox_table["on_grid"]], target_probability, ref_dose,
                                     require_tolerable)
    return DoseReductionResult(table=table, minimum_dose=minimum, settings=settings, draws=cube,
                               toxicity=tox_table, toxicity_draws=tox_cube)


_TOX_COLS = ["companion", "dose", "tox_metric", "tox_low", "tox_high", "mean_nadir_pct", "p_endpoint", "p_tolerable",
             "tolerated"]


def _as_limit(toxicity):
    """None, a ToxicityLimit, or (BodyWeightModel, phrase) -> ToxicityLimit or None."""
    if toxicity is None:
        return None
    from .toxicity import BodyWeightModel, ToxicityLimit

    if isinstance(toxicity, ToxicityLimit):
        return toxicity
    if isinstance(toxicity, tuple) and len(toxicity) == 2 and isinstance(toxicity[0], BodyWeightModel):
        return ToxicityLimit.parse(toxicity[0], toxicity[1])
    raise DataError("toxicity must be a comboplan.simulate.toxicity.ToxicityLimit, or a (BodyWeightModel, "
                    "'mean nadir loss <= 15 %') pair.")


def _toxicity(limit, model: PKPDModel, companions, doses, times, agent, unit, route, days, seed):
    """Simulate body weight for every companion x dose; identical regimens are simulated once."""
    if limit.model.agent != agent:
        raise DataError(f"the body-weight model is driven by {limit.model.agent!r} but the explorer varies {agent!r}; "
                        f"use BodyWeightModel(agent={agent!r}).")
    pk = limit.pk if limit.pk is not None else model.pk.get(agent)
    tox_days = limit.days if limit.days is not None else np.arange(0.0, math.floor(float(days[-1])) + 1.0)
    keys, uniq = [], {}
    for cname, prod in companions.items():
        carried = prod.carried_regimen() if prod is not None else None
        for d in doses:
            regs = [Regimen(amount=float(d), unit=unit, times=tuple(times), route=route, agent=agent)] if d > 0 else []
            if carried is not None and carried.agent == agent:
                regs.append(carried)
            sig = tuple(sorted(r.describe() for r in regs))
            uniq.setdefault(sig, regs)
            keys.append((cname, float(d), sig))
    sigs = list(uniq)
    if isinstance(seed, np.random.Generator):
        tox_seed = int(seed.integers(2 ** 63))
    else:
        tox_seed = int(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1)[0])
    tab, metric = limit.evaluate({str(i): uniq[sg] for i, sg in enumerate(sigs)}, pk, days=tox_days, seed=tox_seed)
    pos = {sg: i for i, sg in enumerate(sigs)}
    rows, cube = [], np.empty((len(companions), doses.size, metric.shape[1]))
    for k, (cname, d, sg) in enumerate(keys):
        r = tab.iloc[pos[sg]]
        ci, di = k // doses.size, k % doses.size
        cube[ci, di] = metric[pos[sg]]
        rows.append({"companion": cname, "dose": d, "unit": unit, "tox_metric": r["metric"], "tox_low": r["tox_low"],
                     "tox_high": r["tox_high"], "mean_nadir_pct": r["mean_nadir_pct"], "p_endpoint": r["p_endpoint"],
                     "p_tolerable": r["p_tolerable"], "tolerated": bool(r["tolerated"]), "n_draws": int(r["n_draws"])})
    settings = {"criterion": limit.criterion, "limit": limit.limit, "humane_loss": limit.humane_loss,
                "target_probability": limit.target_probability, "criterion_text": limit.describe(),
                "n_draws": int(metric.shape[1]), "n_animals": int(limit.n_animals),
                "days": np.asarray(tox_days, dtype=float),
                "days_text": _days_text(np.asarray(tox_days, dtype=float)),
                "model": limit.model.describe(), "source": limit.model.source,
                "uncertainty": limit.draws.source if limit.draws is not None else "none (typical values)"}
    return pd.DataFrame(rows), cube, settings


def _days_text(d: np.ndarray) -> str:
    if d.size > 3 and np.allclose(np.diff(d), d[1] - d[0]):
        return f"{d[0]:g} to {d[-1]:g} every {d[1] - d[0]:g}"
    return ", ".join(f"{x:g}" for x in d)


def _with_tolerability(minimum: pd.DataFrame, table: pd.DataFrame, tox: pd.DataFrame, target: float, ref_dose: float,
                       require: bool) -> pd.DataFrame:
    """Add min_dose_efficacy(_interp), mtd and window; min_dose requires tolerability when ``require``."""
    out = minimum.copy()
    out["min_dose_efficacy"] = out["min_dose"]
    out["min_dose_efficacy_interp"] = out["min_dose_interp"]
    mtd, both, both_i = [], [], []
    for _, r in out.iterrows():
        t = tox[tox["companion"] == r["companion"]].sort_values("dose")
        ok = t["tolerated"].to_numpy(bool)
        dd = t["dose"].to_numpy(float)
        n_ok = int(np.argmin(ok)) if not ok.all() else ok.size  # leading run of tolerated doses
        mtd.append(float(dd[n_ok - 1]) if n_ok > 0 else np.nan)
        e = table[(table["companion"] == r["companion"]) & (table["day"] == r["day"])].sort_values("dose")
        good = (e["p_noninferior"].to_numpy() >= target) & e["tolerated"].to_numpy(bool)
        if good.any():
            dmin = float(e["dose"].to_numpy()[int(np.flatnonzero(good)[0])])
            both.append(dmin)
            both_i.append(float(r["min_dose_interp"]) if dmin == r["min_dose"] else dmin)
        else:
            both.append(np.nan)
            both_i.append(np.nan)
    out["mtd"] = mtd
    out["window"] = np.isfinite(both)
    if require:
        out["min_dose"] = both
        out["min_dose_interp"] = both_i
        di = np.asarray(both_i, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["dri_in_vivo"] = np.where(np.isfinite(di) & (di > 0), ref_dose / di, np.where(di == 0, np.inf, np.nan))
    return out
