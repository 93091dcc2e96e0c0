"""Dose-reduction explorer: how low can the drug dose go with a companion treatment?

For a grid of drug doses x companions (none / naive secretome / primed secretome ...),
the population response at chosen days is predicted for every parameter-uncertainty
draw (endpoint formulas from :mod:`comboplan.growth.endpoints`: ``mean_rtv``, ``tgi_delta``) (common virtual animals in every arm, so differences between arms are not blurred
by sampling noise).  The endpoint is either

* ``"relative_size"``: arithmetic mean over animals of ``V(day)/V(0)`` (the papers' "% tumour
  volume"; lower is better), non-inferior when ``candidate <= reference x (1 + margin)``; or
* ``"tgi"``: ``1 - (mean V_T(day) - mean V_T(0)) / (mean V_C(day) - mean V_C(0))`` against the
  untreated control (higher is better), non-inferior when ``candidate >= reference - margin``.

``P(non-inferior)`` is the fraction of draws in which the candidate meets the margin; the
minimum dose is the smallest grid dose whose probability reaches the target (and a
linear interpolation between grid doses).  The in-vivo dose-reduction index
``reference dose / minimum dose`` is reported beside an in-vitro DRI (Chou-Talalay) when
one is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..growth.endpoints import mean_rtv, tgi_delta
from ..models.pk import Regimen, parse_schedule
from .cohort import Arm, ParameterDraws, PKPDModel, Variability, simulate_arms
from .exposure import ProductExposure

__all__ = ["dose_reduction", "DoseReductionResult"]


@dataclass(frozen=True)
class DoseReductionResult:
    """Result of :func:`dose_reduction` (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        companion, dose, day, endpoint, estimate (median over draws), low, high (credible
        band), p_noninferior.
    minimum_dose : pandas.DataFrame
        companion, day, min_dose (grid), min_dose_interp, dri_in_vivo, in_vitro_dri.
    settings : dict
        Reference, margin, target probability, endpoint, units, level, number of draws...
    draws : numpy.ndarray
        Endpoint per (companion, dose, day, draw).
    """

    table: pd.DataFrame
    minimum_dose: pd.DataFrame
    settings: dict = field(default_factory=dict)
    draws: np.ndarray | None = None

    def summary(self) -> str:
        """Plain-language answer with its assumptions."""
        s = self.settings
        better = "lower is better" if s["endpoint"] == "relative_size" else "higher is better"
        lines = [
            f"Dose-reduction explorer ({s['agent']} {s['unit']}, {s['schedule']}; endpoint {s['endpoint']}, {better})",
            f"Reference: {s['reference_dose']:g} {s['unit']} with companion '{s['reference_companion']}'. "
            f"Non-inferior = within margin {s['margin']:g} "
            + ("(relative: candidate <= reference x (1 + margin))." if s["endpoint"] == "relative_size"
               else "(absolute TGI points: candidate >= reference - margin)."),
            f"Target probability {s['target_probability']:.0%} over {s['n_draws']} parameter draw(s) "
            f"x {s['n_animals']} virtual animals; bands are {s['level']:.0%} credible intervals.",
        ]
        if s["n_draws"] == 1:
            lines.append("WARNING: no parameter uncertainty was given (one draw); probabilities are 0 or 1.")
        for _, r in self.minimum_dose.iterrows():
            if np.isfinite(r["min_dose"]):
                txt = (f"  companion {r['companion']!r}, day {r['day']:g}: minimum dose {r['min_dose']:g} {s['unit']} "
                       f"(interpolated {r['min_dose_interp']:.3g}); in-vivo DRI {r['dri_in_vivo']:.3g}")
            else:
                txt = f"  companion {r['companion']!r}, day {r['day']:g}: no dose in the grid reaches the target"
            if np.isfinite(r.get("in_vitro_dri", np.nan)):
                txt += f"; in-vitro DRI {r['in_vitro_dri']:.3g}"
            lines.append(txt)
        return "\n".join(lines)

    def to_xarray(self):
        """Endpoint draws as a DataArray (companion, dose, day, draw)."""
        import xarray as xr

        s = self.settings
        return xr.DataArray(self.draws, dims=("companion", "dose", "day", "draw"),
                            coords={"companion": list(s["companions"]), "dose": s["doses"], "day": s["days"]},
                            name=s["endpoint"], attrs={"dose_unit": s["unit"]})

    def plot(self, ax=None, day=None, **kwargs):
        """Dose-efficacy curves with credible bands (see :func:`comboplan.plot.simulate.plot_dose_efficacy`)."""
        from ..plot.simulate import plot_dose_efficacy

        return plot_dose_efficacy(self, ax=ax, day=day, **kwargs)


def _endpoint(size, day_idx, control, kind):
    """size: (n_draws, n_animals, n_days) -> (n_draws,) population endpoint at day_idx."""
    if kind == "relative_size":
        return mean_rtv(size[:, :, day_idx], size[:, :, 0], axis=1)
    return tgi_delta(size[:, :, day_idx], size[:, :, 0], control[:, :, day_idx], control[:, :, 0], axis=1)


def dose_reduction(model: PKPDModel, doses: Sequence[float], *, agent: str = "paclitaxel",
                   schedule="weekly from day 0 to 21", route: str = "ip", unit: str = "mg/kg",
                   companions: Mapping[str, ProductExposure | None] | None = None,
                   reference: tuple[float, str] = (10.0, "none"), days: Sequence[float] = (14.0, 21.0),
                   endpoint: str = "relative_size", margin: float = 0.2, target_probability: float = 0.8,
                   n_animals: int = 200, draws: ParameterDraws | None = None,
                   variability: Variability | None = None, level: float = 0.9, seed=0,
                   in_vitro_dri: float | Mapping[str, float] | None = None, max_step: float = 0.2
                   ) -> DoseReductionResult:
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
    endpoint : {"relative_size", "tgi"}
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
    level : float
        Credible level of the bands.
    seed : int or Generator
    in_vitro_dri : float or mapping companion -> float, optional
        In-vitro dose-reduction index (e.g. from :func:`comboplan.chou_talalay`) shown beside
        the in-vivo answer.
    max_step : float
        Integration step (days).

    Returns
    -------
    DoseReductionResult
    """
    doses = np.asarray(sorted(float(d) for d in doses), dtype=float)
    if doses.size < 2 or np.any(doses < 0) or np.any(~np.isfinite(doses)):
        raise DataError("doses must hold at least two finite values >= 0 (the grid to explore).")
    if endpoint not in ("relative_size", "tgi"):
        raise DataError("endpoint must be 'relative_size' or 'tgi'.")
    if not 0 < target_probability < 1:
        raise DataError("target_probability must be in (0, 1).")
    if not margin >= 0:
        raise DataError("margin must be >= 0.")
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
    if endpoint == "relative_size":
        ok = {k: v <= ref * (1.0 + margin) for k, v in ep.items()}
    else:
        ok = {k: v >= ref - margin for k, v in ep.items()}
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
            mrows.append({"companion": cname, "day": day, "min_dose": dmin, "min_dose_interp": dint,
                          "dri_in_vivo": ref_dose / dint if np.isfinite(dint) and dint > 0 else
                          (np.inf if dint == 0 else np.nan),
                          "in_vitro_dri": ivd if cname != ref_comp or in_vitro_dri is not None else np.nan})
    settings = {"agent": agent, "unit": unit, "schedule": str(schedule), "route": route, "endpoint": endpoint,
                "margin": margin, "target_probability": target_probability, "reference_dose": ref_dose,
                "reference_companion": ref_comp, "n_draws": n_draws, "n_animals": int(n_animals), "level": level,
                "companions": tuple(companions), "doses": doses, "days": days,
                "interaction": model.interaction.describe(), "seed": seed,
                "companion_descriptions": {c: (p.describe() if p is not None else "none") for c, p in companions.items()}}
    return DoseReductionResult(table=table, minimum_dose=pd.DataFrame(mrows), settings=settings, draws=cube)
