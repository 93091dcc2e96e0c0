r"""Time-to-event endpoints of xenograft studies: Kaplan-Meier, log-rank, Cox, survival-based Bliss synergy.

Events
------
:func:`time_to_event` turns longitudinal tumour sizes into one event time per animal:

* **volume threshold** -- the first time the tumour reaches ``threshold`` (absolute size, e.g.
  1000 mm^3) or ``fold`` x its baseline size.  Between the last measurement below and the first
  at or above the threshold the crossing time is interpolated linearly in log size
  (``interpolation="log"``, default: exponential growth between visits), linearly in size
  (``"linear"``), or taken as the first measurement at or above it (``"none"``, the
  conservative "observed" time).
* **humane endpoint** -- animals that left the study for one of ``humane_reasons`` (a reason of
  the dropout column, e.g. ``"ulceration"``, ``"size"``) have the event at their last
  measurement, unless they crossed the threshold before.
* **censoring** -- animals that never have the event are right-censored at their last
  measurement (end of follow-up); animals that left for any other reason are censored at
  their last measurement (non-informative dropout assumed).

Times are measured from each animal's baseline (its first measurement), in the time unit of the
data.

Analyses (:func:`survival_analysis`, also run by :func:`time_to_event`), all from statsmodels:

* Kaplan-Meier per arm (``statsmodels.duration.survfunc.SurvfuncRight``): survival ``S(t)``
  (probability of being event-free), Greenwood standard errors, pointwise log(-log)
  confidence intervals :math:`S^{\exp(\pm z\,se/(S|\log S|))}` (as lifelines and R's
  ``conf.type="log-log"``), median (the first event time with S(t) <= 1/2, or the midpoint to the
  next event time where S is exactly 1/2 on a flat stretch, as R's ``print.survfit``) with the
  Brookmeyer-Crowley (cloglog) interval.
* log-rank test (``survdiff``) of all arms (k - 1 df) and of every arm against the control (1 df).
* Cox proportional hazards (``PHReg``, Efron ties as R's ``coxph``): log hazard ratio of every
  arm against the control, plus optional numeric covariates.
* survival-based Bliss synergy (Demidenko & Miller 2019, PLoS One 14:e0224137): Bliss' rule
  multiplies the probabilities of the outcome each agent leaves unaffected, relative to the
  control.  With :math:`p_X(t)` that probability in arm :math:`X` (Kaplan-Meier),
  independence predicts :math:`p_G^{exp}(t) = p_0(t) \prod_{g \in G} p_g(t)/p_0(t)`.

  - ``scale="incidence"`` (default; agents that *delay* the event, e.g. time to a tumour-volume
    threshold): :math:`p = F = 1 - S`, the probability of having had the event:
    :math:`F_{AB} = F_A F_B / F_0`.
  - ``scale="survival"`` (agents that *cause* the event, as Bliss' poisons; e.g. toxic deaths):
    :math:`p = S`: :math:`S_{AB} = S_A S_B / S_0`, i.e. cumulative hazards add,
    :math:`H_{AB} - H_0 = (H_A - H_0) + (H_B - H_0)`.

  Score :math:`p_G^{exp}(t) - p_G^{obs}(t)`: **positive = synergy** (the combination leaves
  less of the outcome unaffected than independence predicts: fewer threshold events on the
  incidence scale).  Standard error by the delta method from the arms' Greenwood variances
  (independent arms); z test, two-sided ``p_value`` and one-sided ``p_synergy``.

  The Cox model gives the time-constant alternative ``log HR_A + log HR_B - log HR_AB``
  (multiplicative hazards; positive = the combination's hazard is lower than the product of the
  single agents' hazard ratios predicts = synergy) with a Wald test.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._sign import sign_sentence
from ..exceptions import DataError
from .data import as_growth_data

__all__ = ["time_to_event", "survival_analysis", "SurvivalResult", "INTERPOLATIONS", "SYNERGY_SCALES"]

INTERPOLATIONS = ("log", "linear", "none")
SYNERGY_SCALES = ("incidence", "survival")
SCORE_DEFINITION = ("score = expected - observed probability of the outcome under Bliss independence (Cox "
                    "table: sum of the single agents' log hazard ratios - the combination's)")
SIGN = ("positive score = synergy: the combination leaves less of the outcome unaffected than Bliss "
        "independence predicts (scale 'incidence': fewer animals with the event than expected)")


# --------------------------------------------------------------------------- events from sizes
def _crossing_time(tt, vv, thr, interpolation):
    """First time at which ``vv`` reaches ``thr`` (interpolated), or None."""
    hit = np.flatnonzero(vv >= thr)
    if not hit.size:
        return None
    j = int(hit[0])
    if j == 0 or interpolation == "none":
        return float(tt[j])
    v0, v1 = vv[j - 1], vv[j]
    if interpolation == "log":
        f = (np.log(thr) - np.log(v0)) / (np.log(v1) - np.log(v0))
    else:
        f = (thr - v0) / (v1 - v0)
    return float(tt[j - 1] + f * (tt[j] - tt[j - 1]))


def _events_from_growth(gd, threshold, fold, interpolation, humane_reasons) -> pd.DataFrame:
    sizes = gd.substituted_size("lloq") if gd.censored.any() else gd.size
    base = gd.baseline_size()
    bt = gd.baseline_time()
    humane = {str(r).strip().lower() for r in humane_reasons}
    rows = []
    for i in range(gd.n_subjects):
        sel = gd.subject_idx == i
        tt = gd.time[sel] - bt[i]
        vv = sizes[sel]
        thr = np.nan
        if threshold is not None:
            thr = float(threshold)
        elif fold is not None:
            thr = float(fold) * base[i]
        tcross = None
        if np.isfinite(thr):
            if vv[0] >= thr:
                pos = int(np.flatnonzero(sel)[0])
                raise DataError(
                    f"column {gd.columns.get('size')!r}: animal {gd.subjects[i]!r} is already at or above the "
                    f"threshold ({thr:g} {gd.size_unit}) at baseline (row {gd._label(pos)}); its time to the "
                    "threshold is undefined. Raise the threshold, or leave the animal out."
                )
            tcross = _crossing_time(tt, vv, thr, interpolation)
        reason = str(gd.dropout_reason[i])
        last = float(tt[-1])
        if tcross is not None:
            t_ev, ev, kind = tcross, True, "threshold"
        elif reason and reason in humane:
            t_ev, ev, kind = last, True, f"humane endpoint ({reason})"
        elif reason:
            t_ev, ev, kind = last, False, f"censored: left the study ({reason})"
        else:
            t_ev, ev, kind = last, False, "censored: end of follow-up"
        rows.append({"subject": gd.subjects[i], "arm": gd.arms[gd.subject_arm[i]], "baseline_time": float(bt[i]),
                     "baseline_size": float(base[i]), "threshold_size": thr, "time": t_ev, "event": ev,
                     "event_type": kind, "last_time": last})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Kaplan-Meier helpers
def _survfunc(t, e):
    from statsmodels.duration.survfunc import SurvfuncRight

    return SurvfuncRight(np.asarray(t, float), np.asarray(e, int))


def _km_table(sf, n, level):
    z = stats.norm.ppf(0.5 + level / 2)
    s = np.asarray(sf.surv_prob, float)
    se = np.asarray(sf.surv_prob_se, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sell = se / (s * np.abs(np.log(s)))
        lo = np.where((s > 0) & (s < 1), s ** np.exp(z * sell), np.nan)
        hi = np.where((s > 0) & (s < 1), s ** np.exp(-z * sell), np.nan)
    tab = pd.DataFrame({"time": np.r_[0.0, sf.surv_times], "n_at_risk": np.r_[n, sf.n_risk].astype(int),
                        "n_events": np.r_[0, sf.n_events].astype(int), "survival": np.r_[1.0, s],
                        "se": np.r_[0.0, se], "ci_low": np.r_[1.0, lo], "ci_high": np.r_[1.0, hi]})
    return tab


def _km_median(times, survival):
    """Kaplan-Meier median from a KM curve, by the rule of R's ``print.survfit`` (survival 3.5-3).

    The one KM median of the package (:func:`comboplan.growth.endpoints.km_median`, the body-weight
    and the time-to-event analyses all use it); checked against frozen R outputs in
    ``tests/reference/r_survival``.

    Parameters
    ----------
    times : array_like, shape (k,)
        The distinct event times of the curve, increasing (time unit of the data, e.g. days);
        times with censorings only may be left out or kept (the curve does not drop there).
    survival : array_like, shape (k,)
        S(t) just after each of ``times`` (fraction event-free, 0-1).

    Returns
    -------
    float
        The first time with S(t) <= 1/2 (time unit of ``times``), S compared with a tolerance of
        sqrt(machine eps) (3/4 * 2/3 is 0.5000000000000001 in floating point); where S equals 1/2
        there and the curve drops again at a later listed time, the midpoint between the two
        times (R: the curve is 1/2 on a whole interval).  NaN when S stays above 1/2.
    """
    s = np.asarray(survival, float)
    tt = np.asarray(times, float)
    tol = np.sqrt(np.finfo(float).eps)
    hit = np.flatnonzero(s < 0.5 + tol)
    if not hit.size:
        return np.nan
    i = int(hit[0])
    drop = np.flatnonzero(s[i + 1:] < s[i] - tol) if abs(s[i] - 0.5) < tol else np.empty(0, int)
    if drop.size:
        return float((tt[i] + tt[i + 1 + int(drop[0])]) / 2)
    return float(tt[i])


def _km_eval(tab, last_time, t):
    """S(t) and its Greenwood variance from a KM table (right-continuous); NaN beyond follow-up."""
    t = np.asarray(t, float)
    times = tab["time"].to_numpy()
    idx = np.searchsorted(times, t, side="right") - 1
    s = tab["survival"].to_numpy()[np.maximum(idx, 0)]
    v = tab["se"].to_numpy()[np.maximum(idx, 0)] ** 2
    # S = 0 is known exactly (every animal still at risk had the event): variance 0, and the curve
    # stays 0 after the last time; otherwise the curve is unknown beyond the last follow-up
    v = np.where(s <= 0, 0.0, v)
    beyond = (t > last_time + 1e-12) & (tab["survival"].to_numpy()[-1] > 0)
    return np.where(beyond, np.nan, s), np.where(beyond, np.nan, v)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class SurvivalResult:
    """Time-to-event analysis of an in-vivo study (immutable).

    Attributes
    ----------
    events : pandas.DataFrame
        One row per animal: ``subject, arm, time`` (event or censoring time since baseline,
        time unit), ``event`` (bool), ``event_type`` (``"threshold"``, ``"humane endpoint
        (<reason>)"``, ``"censored: ..."``); from :func:`time_to_event` also
        ``baseline_time, baseline_size, threshold_size, last_time``.
    km : pandas.DataFrame
        Kaplan-Meier estimate per arm: ``arm, time, n_at_risk, n_events, survival`` (probability
        of being event-free), ``se`` (Greenwood), ``ci_low, ci_high`` (pointwise log(-log)); one
        row at time 0 and one per event time.
    medians : pandas.DataFrame
        ``arm, n, n_events, median, ci_low, ci_high, last_time, reason``: KM median time to the
        event (time unit; ``inf`` when S(t) never falls to 0.5, with the reason; the midpoint to
        the next event time where S(t) is exactly 0.5 on a flat stretch, as R) and its
        Brookmeyer-Crowley interval (``inf`` upper bound when not reached; a curve that falls to 0
        closes the interval at that time, where R's ``survfit`` reports NA).
    logrank : pandas.DataFrame
        ``comparison, arms, chi2, df, p_value, n_events, reason``: all arms together and every
        arm against the control.
    cox : pandas.DataFrame
        Cox proportional hazards (Efron ties): ``term, coef`` (log hazard ratio vs the control;
        per unit of a covariate), ``stderr, z, p_value, hazard_ratio, ci_low, ci_high`` (of the
        hazard ratio), ``reason`` (why a term is NaN, e.g. an arm without events).
    synergy : pandas.DataFrame
        Survival-based Bliss synergy (empty without a design): ``combination, time, scale,
        observed, expected`` (probability on ``scale``), ``score`` (expected - observed;
        positive = synergy), ``synergy_score`` (= ``score``, > 0 means synergy: the
        package-wide column), ``stderr, ci_low, ci_high, z, p_value, p_synergy, reason``.
    synergy_cox : pandas.DataFrame
        ``combination, score`` (``sum log HR_single - log HR_combination``; positive =
        synergy), ``synergy_score`` (= ``score``), ``stderr, ci_low, ci_high, z, p_value,
        p_synergy, reason``.
    settings : dict
        Control arm, arms, design, units, ci level, event definition, interpolation, scale.
    """

    events: pd.DataFrame
    km: pd.DataFrame
    medians: pd.DataFrame
    logrank: pd.DataFrame
    cox: pd.DataFrame
    synergy: pd.DataFrame
    synergy_cox: pd.DataFrame
    settings: Mapping = field(default_factory=dict)

    @property
    def units(self) -> dict:
        """Units: time (of the data), probabilities and hazard ratios (dimensionless)."""
        return {"time": self.settings.get("time_unit", "day"), "survival": "1 (probability)",
                "hazard_ratio": "1 (ratio)", "score": "1 (probability difference)"}

    def summary(self) -> str:
        """Plain-text summary: events, medians, log-rank, Cox and synergy, with reasons for NaNs."""
        s = self.settings
        tu = s.get("time_unit", "day")
        lines = [f"Time to event: {s.get('event_definition', 'events as given')}; times since baseline in {tu}; "
                 f"control arm {s.get('control')!r}; {s.get('ci_level', 0.95):.0%} intervals.",
                 "", "Kaplan-Meier medians (inf = not reached):",
                 self.medians.to_string(index=False), "", "Log-rank tests:",
                 self.logrank.to_string(index=False), "", "Cox proportional hazards (vs control, Efron ties):",
                 self.cox.to_string(index=False)]
        if len(self.synergy):
            lines += ["", sign_sentence(SCORE_DEFINITION),
                      f"Survival Bliss synergy (Demidenko & Miller 2019), scale {s.get('scale')!r}; {SIGN}:",
                      self.synergy.drop(columns=["scale"]).to_string(index=False), "",
                      "Cox alternative (log HR_A + log HR_B - log HR_AB; positive = synergy):",
                      self.synergy_cox.to_string(index=False)]
        return "\n".join(lines)

    def to_xarray(self):
        """Labelled arrays with a ``units`` attr per variable.

        Returns
        -------
        xarray.Dataset
            ``km_survival``, ``km_ci_low``, ``km_ci_high`` (arm, time): KM step functions on
            the union of event times (NaN beyond an arm's follow-up); ``median``,
            ``median_ci_low``, ``median_ci_high`` (arm); ``event_time``, ``event`` (subject);
            ``hazard_ratio`` with ``hr_ci_low``/``hr_ci_high`` (term); ``synergy_score``,
            ``synergy_stderr``, ``synergy_p_value`` (combination, synergy_time) when a design
            was given.
        """
        import xarray as xr

        tu = self.settings.get("time_unit", "day")
        arms = [str(a) for a in self.settings.get("arms", self.medians["arm"])]
        times = np.unique(self.km["time"].to_numpy())
        grids = {k: [] for k in ("survival", "ci_low", "ci_high")}
        for a in self.settings.get("arms", self.medians["arm"]):
            tab = self.km[self.km["arm"] == a]
            last = float(self.medians.loc[self.medians["arm"] == a, "last_time"].iloc[0])
            idx = np.maximum(np.searchsorted(tab["time"].to_numpy(), times, side="right") - 1, 0)
            for k in grids:
                v = tab[k].to_numpy()[idx]
                grids[k].append(np.where(times > last + 1e-12, np.nan, v))
        med = self.medians
        ds = xr.Dataset(
            {"km_survival": (("arm", "time"), np.vstack(grids["survival"]),
                             {"units": "1", "long_name": "Kaplan-Meier probability of being event-free"}),
             "km_ci_low": (("arm", "time"), np.vstack(grids["ci_low"]), {"units": "1"}),
             "km_ci_high": (("arm", "time"), np.vstack(grids["ci_high"]), {"units": "1"}),
             "median": ("arm", med["median"].to_numpy(float), {"units": tu}),
             "median_ci_low": ("arm", med["ci_low"].to_numpy(float), {"units": tu}),
             "median_ci_high": ("arm", med["ci_high"].to_numpy(float), {"units": tu}),
             "event_time": ("subject", self.events["time"].to_numpy(float),
                            {"units": tu, "long_name": "time since baseline to event or censoring"}),
             "event": ("subject", self.events["event"].to_numpy(bool), {"units": "1"}),
             "hazard_ratio": ("term", self.cox["hazard_ratio"].to_numpy(float), {"units": "1"}),
             "hr_ci_low": ("term", self.cox["ci_low"].to_numpy(float), {"units": "1"}),
             "hr_ci_high": ("term", self.cox["ci_high"].to_numpy(float), {"units": "1"})},
            coords={"arm": arms, "time": ("time", times, {"units": tu}),
                    "subject": self.events["subject"].astype(str).to_numpy(),
                    "subject_arm": ("subject", self.events["arm"].astype(str).to_numpy()),
                    "term": self.cox["term"].astype(str).to_numpy()},
            attrs={"control": str(self.settings.get("control")), "ci_level": self.settings.get("ci_level", 0.95),
                   "event_definition": str(self.settings.get("event_definition", "")), "time_unit": tu},
        )
        if len(self.synergy):
            sy = self.synergy.assign(combination=self.synergy["combination"].astype(str))
            sy = sy.rename(columns={"time": "synergy_time"}).set_index(["combination", "synergy_time"])
            sub = sy[["score", "stderr", "p_value"]].to_xarray()
            for k in ("score", "stderr", "p_value"):
                ds[f"synergy_{k}"] = sub[k]
                ds[f"synergy_{k}"].attrs["units"] = "1"
            ds["synergy_time"].attrs["units"] = tu
            ds.attrs.update({"synergy_sign": SIGN, "sign_convention": sign_sentence(SCORE_DEFINITION),
                             "synergy_scale": str(self.settings.get("scale"))})
        return ds

    def to_netcdf(self, path) -> None:
        """Write the result to netCDF at ``path``: :meth:`to_xarray` at the root, every table in the
        ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        from ..results import write_result

        write_result(self, path)

    def plot(self, *, kind: str = "km", ax=None, ci: bool = True):
        """Kaplan-Meier curves per arm (``kind="km"``) or the Bliss synergy score over time (``"synergy"``).

        Parameters
        ----------
        kind : {"km", "synergy"}
        ax : matplotlib Axes, optional
        ci : bool
            Draw the pointwise confidence bands.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        tu = self.settings.get("time_unit", "day")
        if kind == "km":
            for a in self.settings.get("arms", self.medians["arm"]):
                tab = self.km[self.km["arm"] == a]
                last = float(self.medians.loc[self.medians["arm"] == a, "last_time"].iloc[0])
                tt = np.r_[tab["time"].to_numpy(), last]
                ss = np.r_[tab["survival"].to_numpy(), tab["survival"].iloc[-1]]
                (ln,) = ax.step(tt, ss, where="post", label=str(a))
                if ci:
                    lo = np.r_[tab["ci_low"].to_numpy(), tab["ci_low"].iloc[-1]]
                    hi = np.r_[tab["ci_high"].to_numpy(), tab["ci_high"].iloc[-1]]
                    ax.fill_between(tt, lo, hi, step="post", alpha=0.15, color=ln.get_color())
                ev = self.events[(self.events["arm"] == a) & ~self.events["event"].astype(bool)]
                if len(ev):
                    s_c, _ = _km_eval(tab, last, ev["time"].to_numpy(float))
                    ax.plot(ev["time"], s_c, "|", color=ln.get_color(), ms=8)
            ax.set_xlabel(f"time since baseline ({tu})")
            ax.set_ylabel("event-free probability")
            ax.set_ylim(-0.02, 1.02)
            ax.legend(frameon=False, fontsize="small")
            return ax
        if kind == "synergy":
            if not len(self.synergy):
                raise DataError("no synergy table: pass design= (or control= with 'A+B' arm labels).")
            for cb, g in self.synergy.groupby("combination", sort=False):
                (ln,) = ax.step(g["time"], g["score"], where="post", label=str(cb))
                if ci:
                    ax.fill_between(g["time"], g["ci_low"], g["ci_high"], step="post", alpha=0.15,
                                    color=ln.get_color())
            ax.axhline(0, color="0.5", lw=0.8)
            ax.set_xlabel(f"time since baseline ({tu})")
            ax.set_ylabel("Bliss score (expected - observed)\n> 0 = synergy")
            ax.legend(frameon=False, fontsize="small")
            return ax
        raise DataError(f"kind must be 'km' or 'synergy'; got {kind!r}.")


# --------------------------------------------------------------------------- analysis of events
def _validate_events(events, time, event, arm, covariates):
    if not isinstance(events, pd.DataFrame):
        raise DataError(f"events must be a pandas DataFrame with one row per animal; got {type(events).__name__}.")
    missing = [c for c in (time, event, arm, *covariates) if c not in events.columns]
    if missing:
        raise DataError(f"column(s) {missing} not in the events table; columns are {list(events.columns)}.")
    if len(events) == 0:
        raise DataError("the events table is empty.")
    t = pd.to_numeric(events[time], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {time!r} must hold finite times >= 0 since baseline; row {events.index[pos]!r} has "
                        f"{events[time].iloc[pos]!r}.")
    ev_raw = events[event]
    if ev_raw.dtype == bool:
        e = ev_raw.to_numpy(bool)
    else:
        num = pd.to_numeric(ev_raw, errors="coerce").to_numpy(float)
        badv = ~np.isin(num, [0.0, 1.0])
        if badv.any():
            pos = int(np.flatnonzero(badv)[0])
            raise DataError(f"column {event!r} must be True/False or 1/0 (1 = event, 0 = censored); row "
                            f"{events.index[pos]!r} has {ev_raw.iloc[pos]!r}.")
        e = num.astype(bool)
    if events[arm].isna().any():
        pos = int(np.flatnonzero(events[arm].isna().to_numpy())[0])
        raise DataError(f"column {arm!r} has a missing arm at row {events.index[pos]!r}.")
    X = None
    if covariates:
        X = events[list(covariates)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        if not np.isfinite(X).all():
            r, c = np.argwhere(~np.isfinite(X))[0]
            raise DataError(f"covariate column {covariates[c]!r} must be numeric and finite; row "
                            f"{events.index[r]!r} has {events[covariates[c]].iloc[r]!r}. Code categories as 0/1 "
                            "columns.")
    return t, e, X


def _logrank_rows(t, e, codes, arms, control):
    from statsmodels.duration.survfunc import survdiff

    def one(sel_arms, label):
        m = np.isin(codes, [arms.index(a) for a in sel_arms])
        n_ev = int(e[m].sum())
        # listed control first, then by label: the same text whatever the order of the input rows
        listed = sorted(sel_arms, key=lambda a: (a != control, str(a)))
        row = {"comparison": label, "arms": ", ".join(map(str, listed)), "chi2": np.nan,
               "df": len(sel_arms) - 1, "p_value": np.nan, "n_events": n_ev, "reason": ""}
        if n_ev == 0:
            row["reason"] = "no events in these arms: nothing to compare"
            return row
        _, g = np.unique(codes[m], return_inverse=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            chi2, p = survdiff(t[m], e[m].astype(int), g)
        row.update(chi2=float(chi2), p_value=float(p))
        return row

    rows = []
    if len(arms) > 2:
        rows.append(one(arms, "all arms"))
    for a in arms:
        if a != control:
            rows.append(one([control, a], f"{a} vs {control}"))
    return pd.DataFrame(rows, columns=["comparison", "arms", "chi2", "df", "p_value", "n_events", "reason"])


def _cox(t, e, codes, arms, control, X, covariates, level):
    from statsmodels.duration.hazard_regression import PHReg

    others = [a for a in arms if a != control]
    D = np.column_stack([(codes == arms.index(a)).astype(float) for a in others]) if others else np.empty((t.size, 0))
    exog = np.column_stack([D, X]) if X is not None else D
    terms = [f"arm[{a}]" for a in others] + list(covariates)
    z = stats.norm.ppf(0.5 + level / 2)
    cols = ["term", "coef", "stderr", "z", "p_value", "hazard_ratio", "ci_low", "ci_high", "reason"]
    def all_nan(reason):
        return pd.DataFrame([{c: (tm if c == "term" else reason if c == "reason" else np.nan) for c in cols}
                             for tm in terms], columns=cols), None

    if not e.any():
        return all_nan("no events: hazard ratios undefined")
    if not e[codes == arms.index(control)].any():
        return all_nan(f"no event in the control arm {control!r}: the hazard ratios against it are infinite "
                       "(monotone likelihood); use the log-rank tests")
    # an arm without events has log HR -> -inf (monotone likelihood); the other coefficients' maximum is then
    # the fit without that arm's animals (they drop out of every risk set in the limit)
    no_ev = [j for j, a in enumerate(others) if not e[codes == arms.index(a)].any()]
    keep_rows = ~np.isin(codes, [arms.index(others[j]) for j in no_ev])
    keep_cols = np.array([j not in no_ev for j in range(len(others))] + [True] * (exog.shape[1] - len(others)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(t[keep_rows], exog[keep_rows][:, keep_cols], status=e[keep_rows].astype(int),
                    ties="efron").fit()
    b = np.full(exog.shape[1], np.nan)
    cov = np.full((exog.shape[1], exog.shape[1]), np.nan)
    b[keep_cols] = np.asarray(fit.params, float)
    cov[np.ix_(keep_cols, keep_cols)] = np.asarray(fit.cov_params(), float)
    b[~keep_cols] = -np.inf
    se = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", over="ignore"):
        zz = b / se
        rows = pd.DataFrame({"term": terms, "coef": b, "stderr": se, "z": zz,
                             "p_value": 2 * stats.norm.sf(np.abs(zz)), "hazard_ratio": np.exp(b),
                             "ci_low": np.exp(b - z * se), "ci_high": np.exp(b + z * se), "reason": ""})
    rows.loc[keep_cols & ~(se < 10), "reason"] = ("unstable estimate (standard error >= 10 on the log scale): "
                                                  "near-monotone likelihood, too few events")
    rows.loc[~keep_cols, "reason"] = ("no event in this arm: log HR -> -inf (monotone likelihood), hazard ratio 0 "
                                      "without a Wald interval; use the log-rank test")
    return rows[cols], (b, cov, others)


def _bliss_synergy(kms, lasts, arm_idx_of, design, control, times, scale, level, cox_fit):
    from .synergy import _combo_specs

    arms = list(arm_idx_of)
    combos = _combo_specs(design, arms) if design else []
    z = stats.norm.ppf(0.5 + level / 2)
    rows, crow = [], []
    for cb in combos:
        names = [arms[i] for i in cb["singles"]]
        g, c0 = arms[cb["index"]], arms[cb["control"]]
        involved = [g, c0, *names]
        if times is None:
            tt = np.unique(np.concatenate([kms[a]["time"].to_numpy()[1:] for a in involved]))
            horizon = min(lasts[a] if kms[a]["survival"].iloc[-1] > 0 else np.inf for a in involved)
            tt = tt[tt <= horizon + 1e-12]
        else:
            tt = np.asarray(sorted(float(x) for x in np.atleast_1d(times)))
        ev = {a: _km_eval(kms[a], lasts[a], tt) for a in involved}
        if scale == "incidence":
            p = {a: 1.0 - ev[a][0] for a in involved}
        else:
            p = {a: ev[a][0] for a in involved}
        v = {a: ev[a][1] for a in involved}
        n = len(names)
        with np.errstate(divide="ignore", invalid="ignore"):
            prod = np.prod([p[a] for a in names], axis=0)
            expected = prod / p[c0] ** (n - 1)
            var = v[g] + ((n - 1) * prod / p[c0] ** n) ** 2 * v[c0]
            for a in names:
                d = np.prod([p[b] for b in names if b != a], axis=0) / p[c0] ** (n - 1) if n > 1 else 1.0
                var = var + d ** 2 * v[a]
            score = expected - p[g]
            se = np.sqrt(var)
            zz = score / se
        reason = np.full(tt.size, "", dtype=object)
        beyond = ~np.isfinite(p[g]) | np.any([~np.isfinite(p[a]) for a in involved], axis=0)
        reason = np.where(np.isfinite(zz), reason, "zero variance: the observed and expected probabilities are "
                          "both at a boundary (no event yet in the single-agent or combination arms)")
        if scale == "incidence":
            reason = np.where(p[c0] <= 0, "no control animal had the event by this time: the Bliss expectation "
                              "F_0 prod(F_g/F_0) is undefined", reason)
        else:
            reason = np.where(p[c0] <= 0, "every control animal had the event: S_0 = 0, the Bliss expectation is "
                              "undefined", reason)
        reason = np.where(np.isfinite(expected) & (expected > 1), "Bliss expectation > 1 (single agents worse "
                          "than control on this scale): undefined", reason)
        reason = np.where(beyond, "beyond the follow-up of an involved arm", reason)
        ok = reason == ""
        nanif = lambda x: np.where(ok, x, np.nan)  # noqa: E731
        score, se, zz = nanif(score), nanif(se), nanif(zz)
        rows.append(pd.DataFrame({
            "combination": g, "time": tt, "scale": scale, "observed": p[g],
            "expected": np.where(reason == "beyond the follow-up of an involved arm", np.nan,
                                 np.where(np.isfinite(expected) & (expected <= 1), expected, np.nan)),
            "score": score, "synergy_score": score, "stderr": se, "ci_low": score - z * se, "ci_high": score + z * se, "z": zz,
            "p_value": 2 * stats.norm.sf(np.abs(zz)), "p_synergy": stats.norm.sf(zz), "reason": reason}))
        # Cox alternative
        row = {"combination": g, "score": np.nan, "synergy_score": np.nan, "stderr": np.nan, "ci_low": np.nan, "ci_high": np.nan,
               "z": np.nan, "p_value": np.nan, "p_synergy": np.nan, "reason": ""}
        if cox_fit is None:
            row["reason"] = "Cox model not estimable (see the cox table)"
        else:
            b, cov, others = cox_fit
            c = np.zeros(b.size)
            for a in names:
                c[others.index(a)] += 1.0
            c[others.index(g)] -= 1.0
            used = c != 0
            if not np.all(np.isfinite(b[used])):
                row["reason"] = ("an involved arm has no events (log HR infinite): the Cox score is unbounded; use "
                                 "the Kaplan-Meier Bliss score")
                crow.append(row)
                continue
            sc = float(c[used] @ b[used])
            sd = float(np.sqrt(c[used] @ cov[np.ix_(used, used)] @ c[used]))
            row.update(score=sc, synergy_score=sc, stderr=sd, ci_low=sc - z * sd, ci_high=sc + z * sd, z=sc / sd,
                       p_value=float(2 * stats.norm.sf(abs(sc / sd))), p_synergy=float(stats.norm.sf(sc / sd)))
        crow.append(row)
    syn = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["combination", "time", "scale", "observed", "expected", "score", "synergy_score", "stderr", "ci_low",
                 "ci_high", "z", "p_value", "p_synergy", "reason"])
    return syn, pd.DataFrame(crow, columns=["combination", "score", "synergy_score", "stderr", "ci_low", "ci_high", "z",
                                            "p_value", "p_synergy", "reason"])


def survival_analysis(
    events: pd.DataFrame,
    *,
    time: str,
    event: str,
    arm: str,
    control=None,
    subject: str | None = None,
    covariates: Sequence[str] = (),
    design: Mapping | None = None,
    synergy_times: Sequence[float] | None = None,
    scale: str = "incidence",
    ci_level: float = 0.95,
    time_unit: str = "day",
    arms_order: Sequence | None = None,
    _settings: Mapping | None = None,
) -> SurvivalResult:
    """Kaplan-Meier, log-rank, Cox and survival-based Bliss synergy from one event time per animal.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per animal.
    time : str
        Column of event or censoring times since baseline (``time_unit``), >= 0.
    event : str
        Column: True/1 = the event happened at ``time``; False/0 = censored at ``time``.
    arm : str
        Column of arm labels.
    control : label
        The control (vehicle) arm: reference of the hazard ratios, log-rank comparisons and
        Bliss expectations.
    subject : str, optional
        Column of animal labels (kept in ``events``).
    covariates : sequence of str
        Numeric columns added to the Cox model (e.g. log baseline size); code categories as 0/1.
    design : mapping, optional
        ``{arm: [agents]}`` for the Bliss synergy of every combination arm (see
        :func:`comboplan.invivo_synergy`); without it, agents are read from arm labels split on
        ``"+"`` when a label contains ``"+"``.
    synergy_times : sequence of float, optional
        Times (``time_unit``) at which the Bliss score is evaluated; default every event time
        of the involved arms up to the shortest follow-up among them.
    scale : {"incidence", "survival"}
        Probability multiplied under Bliss independence: ``"incidence"`` (F = 1 - S, agents
        that delay the event) or ``"survival"`` (S, agents that cause the event).
    ci_level : float
        Two-sided confidence level (0-1).
    time_unit : str
        Unit of ``time`` (recorded).
    arms_order : sequence, optional
        Order of the arms in the tables (default: order of first appearance).

    Returns
    -------
    SurvivalResult
        Sign convention of every synergy score: positive = synergy.

    Raises
    ------
    DataError
        Missing columns, negative or non-finite times, events not 0/1, fewer than two arms, a
        control not among the arms, a bad ``scale``.
    """
    if scale not in SYNERGY_SCALES:
        raise DataError(f"scale must be one of {SYNERGY_SCALES}; got {scale!r}.")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie strictly between 0 and 1; got {ci_level!r}.")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    t, e, X = _validate_events(events, time, event, arm, covariates)
    labels = events[arm].to_numpy(dtype=object)
    arms = list(arms_order) if arms_order is not None else list(pd.unique(labels))
    unknown = sorted(set(map(str, labels)) - set(map(str, arms)))
    if unknown:
        raise DataError(f"column {arm!r} holds arms {unknown} that are not in arms_order {arms}.")
    if len(arms) < 2:
        raise DataError(f"column {arm!r} has one arm ({arms[0]!r}); comparisons need at least two arms.")
    if control is None or control not in arms:
        raise DataError(f"pass control=<the vehicle arm>; arms are {arms}.")
    codes = pd.Index(arms).get_indexer(labels)
    kms, lasts, mrows = {}, {}, []
    for k, a in enumerate(arms):
        m = codes == k
        if not m.any():
            raise DataError(f"arm {a!r} (arms_order) has no animal in column {arm!r}.")
        lasts[a] = float(t[m].max())
        n_ev = int(e[m].sum())
        if n_ev:
            sf = _survfunc(t[m], e[m])
            tab = _km_table(sf, int(m.sum()), ci_level)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = _km_median(sf.surv_times, sf.surv_prob)
                lo, hi = sf.quantile_ci(0.5, alpha=1 - ci_level, method="cloglog")
        else:
            tab = _km_table(type("E", (), {"surv_prob": [], "surv_prob_se": [], "surv_times": [], "n_risk": [],
                                            "n_events": []})(), int(m.sum()), ci_level)
            med, lo, hi = np.nan, np.nan, np.inf
        reason = ""
        if not np.isfinite(med):
            med = np.inf
            reason = (f"not reached: S(t) stays above 0.5 up to the last follow-up ({lasts[a]:g} {time_unit}); "
                      "median and its upper bound are infinite")
            hi = np.inf
        kms[a] = tab
        mrows.append({"arm": a, "n": int(m.sum()), "n_events": n_ev, "median": med,
                      "ci_low": float(lo) if lo is not None else np.nan,
                      "ci_high": float(hi) if hi is not None and np.isfinite(hi) else np.inf,
                      "last_time": lasts[a], "reason": reason})
    km = pd.concat([tab.assign(arm=a)[["arm", *tab.columns]] for a, tab in kms.items()], ignore_index=True)
    medians = pd.DataFrame(mrows)
    logrank = _logrank_rows(t, e, codes, arms, control)
    cox, cox_fit = _cox(t, e, codes, arms, control, X, covariates, ci_level)
    from .synergy import parse_design

    dz = None
    if design is not None:
        dz = parse_design(arms, design)
    elif any("+" in str(a) for a in arms):
        dz = parse_design(arms, None, control)
    if dz is not None:
        syn, syn_cox = _bliss_synergy(kms, lasts, arms, dz, control, synergy_times, scale, ci_level, cox_fit)
    else:
        syn, syn_cox = _bliss_synergy(kms, lasts, arms, {}, control, None, scale, ci_level, None)
    cols = [c for c in (subject, arm, time, event) if c is not None]
    ev_tab = events.copy()
    ev_tab = ev_tab.rename(columns={subject: "subject"} if subject else {}).rename(
        columns={arm: "arm", time: "time", event: "event"})
    ev_tab["event"] = e
    if "event_type" not in ev_tab.columns:
        ev_tab["event_type"] = np.where(e, "event", "censored")
    if "subject" not in ev_tab.columns:
        ev_tab.insert(0, "subject", np.asarray(events.index, dtype=object))
    settings = {"control": control, "arms": tuple(arms), "ci_level": ci_level, "time_unit": time_unit,
                "scale": scale, "design": {a: sorted(v) for a, v in (dz or {}).items()},
                "covariates": tuple(covariates), "columns": tuple(cols),
                "event_definition": "events as given in column " + repr(event)}
    settings.update(_settings or {})
    return SurvivalResult(events=ev_tab.reset_index(drop=True), km=km, medians=medians, logrank=logrank, cox=cox,
                          synergy=syn, synergy_cox=syn_cox, settings=settings)


# --------------------------------------------------------------------------- main entry
def time_to_event(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    control=None,
    threshold: float | None = None,
    fold: float | None = None,
    interpolation: str = "log",
    humane_reasons: Sequence[str] = (),
    covariates: Mapping[str, str] | Sequence[str] = (),
    design: Mapping | None = None,
    synergy_times: Sequence[float] | None = None,
    scale: str = "incidence",
    ci_level: float = 0.95,
    **validate_kwargs,
) -> SurvivalResult:
    """Time to a tumour-size threshold or humane endpoint per animal, then KM, log-rank, Cox and Bliss synergy.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names (see :func:`comboplan.validate_growth`).
    control : label
        The control (vehicle) arm.
    threshold : float, optional
        Absolute size threshold (size unit, e.g. 1000 mm^3).  Give ``threshold`` or ``fold``
        (or neither, with ``humane_reasons``, for the humane endpoint alone).
    fold : float, optional
        Relative threshold: ``fold`` x the animal's baseline size (> 1; 2 = doubling, 4 =
        quadrupling).
    interpolation : {"log", "linear", "none"}
        Crossing time between the bracketing measurements: linear in log size (default),
        linear in size, or the first measurement at or above the threshold.
    humane_reasons : sequence of str
        Dropout reasons (the validated dropout column, pass ``dropout_column=``) counted as
        events at the animal's last measurement (humane endpoint); other dropouts are censored.
    covariates : sequence of str
        Per-animal covariates for the Cox model: ``"log_baseline"`` (log baseline size) is
        available; other names must be columns of ``data`` constant within an animal.
    design, synergy_times, scale, ci_level
        As in :func:`survival_analysis`.
    **validate_kwargs
        Passed to :func:`comboplan.validate_growth` (``kind``, ``lloq``, ``dropout_column``,
        ``time_unit``, ``size_unit`` ...).

    Returns
    -------
    SurvivalResult
        ``events`` holds the per-animal event times with ``event_type``.

    Raises
    ------
    DataError
        No event definition, both ``threshold`` and ``fold``, ``fold <= 1``, an animal already
        at the threshold at baseline, unknown interpolation or covariate.
    """
    if interpolation not in INTERPOLATIONS:
        raise DataError(f"interpolation must be one of {INTERPOLATIONS}; got {interpolation!r}.")
    if threshold is not None and fold is not None:
        raise DataError("give threshold= (absolute size) or fold= (x baseline), not both.")
    humane_reasons = [humane_reasons] if isinstance(humane_reasons, str) else list(humane_reasons)
    if threshold is None and fold is None and not humane_reasons:
        raise DataError("say what the event is: threshold=<size> (e.g. 1000 mm^3), fold=<x baseline> (e.g. 4), "
                        "and/or humane_reasons=[<dropout reasons that are humane endpoints>].")
    if fold is not None and not float(fold) > 1:
        raise DataError(f"fold must be > 1 (a multiple of the baseline size); got {fold!r}.")
    if threshold is not None and not float(threshold) > 0:
        raise DataError(f"threshold must be a size > 0; got {threshold!r}.")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    raw = data if isinstance(data, pd.DataFrame) else None
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    if humane_reasons and not (gd.dropout_reason != "").any():
        raise DataError("humane_reasons were given but no animal has a dropout reason: pass the dropout column "
                        "with dropout_column=<column> (one reason per animal that left the study).")
    ev = _events_from_growth(gd, threshold, fold, interpolation, humane_reasons)
    for c in covariates:
        if c == "log_baseline":
            ev["log_baseline"] = np.log(ev["baseline_size"].to_numpy(float))
            continue
        if raw is None or c not in raw.columns:
            raise DataError(f"covariate {c!r} is not a column of the data (or pass 'log_baseline').")
        per = raw.groupby(gd.columns["subject"], sort=False)[c].agg(["first", "nunique"])
        if (per["nunique"] > 1).any():
            s = per.index[per["nunique"] > 1][0]
            raise DataError(f"covariate column {c!r} changes within animal {s!r}; the Cox covariates must be "
                            "constant per animal.")
        ev[c] = per["first"].reindex(ev["subject"]).to_numpy()
    if threshold is not None:
        what = f"first time the size reaches {float(threshold):g} {gd.size_unit}"
    elif fold is not None:
        what = f"first time the size reaches {float(fold):g} x baseline"
    else:
        what = ""
    if what:
        what += {"log": " (interpolated linearly in log size)", "linear": " (interpolated linearly in size)",
                 "none": " (first measurement at or above it)"}[interpolation]
    if humane_reasons:
        what += (" or " if what else "") + f"humane endpoint (dropout reason in {sorted(set(humane_reasons))})"
    what += "; no event: censored at the last measurement"
    return survival_analysis(
        ev, time="time", event="event", arm="arm", subject="subject", control=control, covariates=covariates,
        design=design, synergy_times=synergy_times, scale=scale, ci_level=ci_level, time_unit=gd.time_unit,
        arms_order=list(gd.arms),
        _settings={"event_definition": what, "interpolation": interpolation, "size_unit": gd.size_unit,
                   "threshold": threshold, "fold": fold, "humane_reasons": tuple(humane_reasons)})
