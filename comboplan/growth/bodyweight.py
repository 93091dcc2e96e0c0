"""Body-weight time courses: % change from baseline, nadir, humane endpoints, Kaplan-Meier.

Body weight is the routine toxicity read-out of mouse xenograft studies.  The tidy layout is
one row per animal and weighing::

    mouse  group   day  bw_g
    m01    ptx10     0  21.3
    m01    ptx10     2  20.8
    ...

:func:`bodyweight_endpoints` validates such a table and computes

* the **% change from baseline** of every weighing, ``100 (W(t) / W(t_b) - 1)`` (negative =
  loss), where the baseline ``t_b`` is each animal's first weighing or a declared day;
* each animal's **nadir**: the minimum % change at or after the baseline and the day it
  occurred (the baseline itself counts, so an animal that only gains has nadir 0 % at
  ``t_b``); the maximal loss is ``-nadir``;
* the **humane endpoint**: an animal reaches it at its first weighing with a loss
  ``>= humane_loss`` (default 20 %; ``W(t) <= (1 - humane_loss) W(t_b)``).  The share of
  animals per arm that reached it comes with an exact (Clopper-Pearson 1934) interval;
* the **time to the humane endpoint** per arm by the Kaplan-Meier product-limit estimator
  (Kaplan & Meier 1958), with Greenwood's variance and a log(-log) confidence interval.
  Time is counted from each animal's baseline; an animal that never reached the endpoint is
  censored at its last weighing (animals that died or were culled for other reasons, or
  finished the study).  The event is dated at the weighing at which it was first seen
  (weighings are discrete, so the true crossing time is interval-censored between two
  weighings);
* optionally the log-rank test (Mantel 1966) between arms (``statsmodels.duration.survdiff``).

Units are recorded, never converted: weights in ``weight_unit`` (default ``"g"``), times in
``time_unit`` (default ``"day"``).  The caller's table is never modified.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..data.validate import _fmt_label, numeric_column, require_columns, require_frame
from ..exceptions import DataError
from .survival import _km_median

__all__ = ["bodyweight_endpoints", "BodyWeightEndpoints", "kaplan_meier", "HUMANE_LOSS"]

#: Default humane endpoint: a loss of 20 % of the baseline body weight (a common limit in
#: institutional guidelines, e.g. Workman et al. 2010, Br J Cancer 102:1555-1577).
HUMANE_LOSS = 0.20

_REL_TOL = 1e-12  # relative tolerance when comparing W/W0 with 1 - humane_loss (16/20 must count as 20 %)


# ---------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------

def kaplan_meier(time, event, *, ci_level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier (product-limit) estimate of the probability of remaining event-free.

    Parameters
    ----------
    time : array_like, shape (n,)
        Time of the event or of censoring (time unit of the data, e.g. days), >= 0.
    event : array_like of bool, shape (n,)
        True when the event was observed at ``time``; False when the animal was censored.
    ci_level : float
        Two-sided level of the pointwise log(-log) confidence interval (0-1).

    Returns
    -------
    pandas.DataFrame
        One row at time 0 (``survival = 1``) and one per distinct observed time:
        ``time``, ``n_at_risk``, ``n_events``, ``n_censored``, ``survival`` (fraction event-free,
        ``S(t) = prod_{t_j <= t} (1 - d_j / n_j)``), ``se`` (Greenwood:
        ``S(t) sqrt(sum d_j / (n_j (n_j - d_j)))``), ``ci_low``, ``ci_high``
        (``S^{exp(+-z se_ll)}`` with ``se_ll = sqrt(sum d_j/(n_j(n_j-d_j))) / |log S|``); ``se`` and the
        interval are NaN once ``S`` has reached 0 (every animal still at risk had the event).

    Notes
    -----
    Ties: events at a time are counted before censorings at the same time (animals censored
    at ``t`` were at risk at ``t``), the usual convention (Kaplan & Meier 1958).
    """
    t = np.asarray(time, dtype=float).ravel()
    e = np.asarray(event, dtype=bool).ravel()
    if t.size != e.size:
        raise DataError(f"time and event must have the same length; got {t.size} and {e.size}.")
    if t.size == 0:
        raise DataError("kaplan_meier needs at least one animal.")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise DataError("times to event must be finite and >= 0 (time since baseline).")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie strictly between 0 and 1; got {ci_level!r}.")
    z = stats.norm.ppf(0.5 + ci_level / 2)
    rows = [{"time": 0.0, "n_at_risk": int(t.size), "n_events": 0, "n_censored": 0, "survival": 1.0,
             "se": 0.0, "ci_low": 1.0, "ci_high": 1.0}]
    s, gw = 1.0, 0.0
    for u in np.unique(t):
        n = int(np.sum(t >= u))
        d = int(np.sum((t == u) & e))
        c = int(np.sum((t == u) & ~e))
        if d:
            s *= 1.0 - d / n
            gw = gw + d / (n * (n - d)) if n > d else np.inf
        if u == 0.0 and not d:
            rows[0]["n_censored"] = c
            continue
        if s <= 0.0 or not np.isfinite(gw):
            se, lo, hi = np.nan, np.nan, np.nan  # Greenwood's variance is undefined once S reaches 0
        elif gw == 0.0:
            se, lo, hi = 0.0, 1.0, 1.0
        else:
            se = s * np.sqrt(gw)
            se_ll = np.sqrt(gw) / abs(np.log(s))
            lo, hi = s ** np.exp(z * se_ll), s ** np.exp(-z * se_ll)
        rows.append({"time": float(u), "n_at_risk": n, "n_events": d, "n_censored": c, "survival": s,
                     "se": float(se), "ci_low": float(lo), "ci_high": float(hi)})
    return pd.DataFrame(rows)


def _km_at(km: pd.DataFrame, t) -> np.ndarray:
    """Right-continuous step function S(t) evaluated at ``t`` (NaN beyond the last observed time)."""
    t = np.asarray(t, dtype=float)
    times = km["time"].to_numpy()
    surv = km["survival"].to_numpy()
    idx = np.searchsorted(times, t, side="right") - 1
    out = surv[np.maximum(idx, 0)]
    return np.where(t > times[-1], np.nan, out)


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BodyWeightEndpoints:
    """Result of :func:`bodyweight_endpoints` (immutable).

    Attributes
    ----------
    changes : pandas.DataFrame
        One row per weighing: ``subject, arm, time, time_from_baseline, weight,
        baseline_weight, relative_weight`` (W/W0), ``change_pct`` (100 (W/W0 - 1), %; negative =
        loss), ``row`` (index label in the caller's table).
    nadir : pandas.DataFrame
        One row per animal: ``subject, arm, baseline_time, baseline_weight, nadir_change_pct``
        (%), ``nadir_time``, ``max_loss_pct`` (%, >= 0), ``last_time``, ``n_weighings``,
        ``reached_endpoint``, ``endpoint_time`` (study time of the first weighing at or past
        the humane loss; NaN if none), ``time_to_event`` (since baseline: event or censoring
        time), ``event``.
    endpoint : pandas.DataFrame
        One row per arm: ``arm, n_animals, n_reached, share`` (fraction reaching the humane
        endpoint), ``ci_low, ci_high`` (exact Clopper-Pearson), ``mean_nadir_pct, sd_nadir_pct``
        (%), ``km_incidence`` (1 - S at the arm's last time), ``median_time_to_endpoint``
        (Kaplan-Meier, NaN when S never falls to 0.5), ``n_left_early`` (animals without event
        whose last weighing precedes the arm's last weighing: censored), ``humane_loss_pct``.
    km : pandas.DataFrame
        Kaplan-Meier table per arm (see :func:`kaplan_meier`) with an ``arm`` column; ``time``
        is time since baseline.
    arm_means : pandas.DataFrame
        Per arm and time: ``arm, time, n, mean_change_pct, sd_change_pct, sem_change_pct`` (%),
        ``mean_relative_weight`` (W/W0), ``mean_weight`` (weight unit).
    logrank : pandas.DataFrame or None
        Log-rank tests: ``comparison, chi2, df, p_value, n_events``; None when not requested.
    settings : dict
        Column names, baseline rule, humane loss, ci level, units, arm order.
    """

    changes: pd.DataFrame
    nadir: pd.DataFrame
    endpoint: pd.DataFrame
    km: pd.DataFrame
    arm_means: pd.DataFrame
    logrank: pd.DataFrame | None = None
    settings: Mapping = field(default_factory=dict)

    @property
    def arms(self) -> tuple:
        """Arm labels in analysis order."""
        return tuple(self.settings.get("arms", ()))

    @property
    def units(self) -> dict:
        """Units of weight, time, % change and fractions."""
        s = self.settings
        return {"weight": s.get("weight_unit", "g"), "time": s.get("time_unit", "day"), "change": "%",
                "share": "1 (fraction)"}

    def summary(self) -> str:
        """Plain-text summary per arm: nadir, share at the humane endpoint, Kaplan-Meier, log-rank."""
        s = self.settings
        tu = s["time_unit"]
        lvl = s["ci_level"]
        lines = [f"Body weight ({s['weight_unit']}), % change from baseline ({s['baseline_rule']}); humane endpoint: "
                 f"loss >= {100 * s['humane_loss']:g} % of baseline (first weighing at or past it); "
                 f"{len(self.nadir)} animals in {len(self.arms)} arm(s)."]
        for _, r in self.endpoint.iterrows():
            med = r["median_time_to_endpoint"]
            lines.append(
                f"  {r['arm']}: n = {int(r['n_animals'])}; mean nadir {r['mean_nadir_pct']:+.1f} % "
                f"(SD {r['sd_nadir_pct']:.1f}); reached endpoint {int(r['n_reached'])}/{int(r['n_animals'])} = "
                f"{r['share']:.2f} ({lvl:.0%} exact CI {r['ci_low']:.2f}-{r['ci_high']:.2f}); Kaplan-Meier incidence "
                f"{r['km_incidence']:.2f}"
                + (f", median time to endpoint {med:g} {tu}" if np.isfinite(med) else "")
                + (f"; {int(r['n_left_early'])} censored before the end" if r["n_left_early"] else ""))
        if self.logrank is not None:
            for _, r in self.logrank.iterrows():
                if np.isfinite(r["p_value"]):
                    lines.append(f"  log-rank ({r['comparison']}): chi2 = {r['chi2']:.3g}, df = {int(r['df'])}, "
                                 f"p = {r['p_value']:.3g}")
                else:
                    lines.append(f"  log-rank ({r['comparison']}): not computed (no animal reached the endpoint)")
        lines.append("  The share ignores censoring (animals that left early count as not reaching the endpoint); "
                     "the Kaplan-Meier incidence accounts for it.")
        return "\n".join(lines)

    def to_xarray(self):
        """Labelled arrays with a ``units`` attr per variable.

        Returns
        -------
        xarray.Dataset
            ``weight`` and ``change_pct`` (subject, time); ``nadir_change_pct``, ``nadir_time``,
            ``time_to_event``, ``event`` (subject) with coordinate ``subject_arm``;
            ``endpoint_share``, ``endpoint_ci_low``, ``endpoint_ci_high`` (arm);
            ``km_survival`` (arm, km_time): the Kaplan-Meier step function on the union of
            the arms' times (NaN beyond an arm's last time).
        """
        import xarray as xr

        s = self.settings
        ch = self.changes
        subjects = self.nadir["subject"].to_numpy()
        times = np.unique(ch["time"].to_numpy())
        si = pd.Index(subjects).get_indexer(ch["subject"])
        ti = np.searchsorted(times, ch["time"].to_numpy())
        w = np.full((subjects.size, times.size), np.nan)
        c = np.full_like(w, np.nan)
        w[si, ti] = ch["weight"].to_numpy()
        c[si, ti] = ch["change_pct"].to_numpy()
        arms = list(self.arms)
        ktimes = np.unique(self.km["time"].to_numpy())
        km = np.vstack([_km_at(self.km[self.km["arm"] == a], ktimes) for a in arms])
        ep = self.endpoint.set_index("arm").loc[arms]
        wu, tu = s["weight_unit"], s["time_unit"]
        ds = xr.Dataset(
            {"weight": (("subject", "time"), w, {"units": wu}),
             "change_pct": (("subject", "time"), c, {"units": "%", "long_name": "change from baseline"}),
             "nadir_change_pct": ("subject", self.nadir["nadir_change_pct"].to_numpy(), {"units": "%"}),
             "nadir_time": ("subject", self.nadir["nadir_time"].to_numpy(), {"units": tu}),
             "time_to_event": ("subject", self.nadir["time_to_event"].to_numpy(),
                               {"units": tu, "long_name": "time from baseline to humane endpoint or censoring"}),
             "event": ("subject", self.nadir["event"].to_numpy(), {"units": "1"}),
             "endpoint_share": ("arm", ep["share"].to_numpy(), {"units": "1"}),
             "endpoint_ci_low": ("arm", ep["ci_low"].to_numpy(), {"units": "1"}),
             "endpoint_ci_high": ("arm", ep["ci_high"].to_numpy(), {"units": "1"}),
             "km_survival": (("arm", "km_time"), km,
                             {"units": "1", "long_name": "Kaplan-Meier P(no humane endpoint)"})},
            coords={"subject": subjects, "time": ("time", times, {"units": tu}), "arm": arms,
                    "km_time": ("km_time", ktimes, {"units": tu}),
                    "subject_arm": ("subject", self.nadir["arm"].to_numpy())},
            attrs={"humane_loss": s["humane_loss"], "baseline": s["baseline_rule"], "ci_level": s["ci_level"],
                   "weight_unit": wu, "time_unit": tu},
        )
        return ds

    def to_netcdf(self, path) -> None:
        """Write the result to netCDF at ``path``: :meth:`to_xarray` at the root, every table in the
        ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        from ..results import write_result

        ds = self.to_xarray()
        ds = ds.assign_coords(subject=ds["subject"].astype(str), arm=ds["arm"].astype(str),
                              subject_arm=ds["subject_arm"].astype(str))
        write_result(self, path, dataset=ds)

    def plot(self, *, kind: str = "change", ax=None, **kwargs):
        """Plot the body-weight courses or the Kaplan-Meier curves.

        Parameters
        ----------
        kind : {"change", "km"}
            ``"change"``: % change from baseline per animal (thin) and arm mean +/- SEM;
            ``"km"``: Kaplan-Meier probability of not having reached the humane endpoint.
        ax : matplotlib Axes, optional
        **kwargs
            Passed to :func:`comboplan.plot.toxicity.plot_bodyweight_change` or
            :func:`comboplan.plot.toxicity.plot_bodyweight_km`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot.toxicity import plot_bodyweight_change, plot_bodyweight_km

        if kind == "change":
            return plot_bodyweight_change(self, ax=ax, **kwargs)
        if kind == "km":
            return plot_bodyweight_km(self, ax=ax, **kwargs)
        raise DataError(f"kind must be 'change' or 'km'; got {kind!r}.")


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def _validate(data, subject, arm, time, weight, arms_order, weight_unit) -> pd.DataFrame:
    require_frame(data, "body-weight data")
    cols = {"subject": subject, "arm": arm, "time": time, "weight": weight}
    for role, c in cols.items():
        if not isinstance(c, str) or not c:
            raise DataError(f"{role}= must be the name of a column (a string); got {c!r}.")
    if len(set(cols.values())) != 4:
        raise DataError(f"subject, arm, time and weight must be four different columns; got {cols}.")
    require_columns(data, list(cols.values()))
    for role in ("subject", "arm"):
        miss = data[cols[role]].isna().to_numpy()
        if miss.any():
            pos = int(np.flatnonzero(miss)[0])
            raise DataError(f"column {cols[role]!r} ({role}) has {int(miss.sum())} missing value(s) (first at row "
                            f"{_fmt_label(data.index[pos])}); every weighing needs the animal's label and its arm.")
    t = numeric_column(data, time, "time")
    w = numeric_column(data, weight, "body weight")
    for arr, role, col, fix in ((t, "time", time, "every weighing needs its day"),
                                (w, "body weight", weight,
                                 "drop rows of weighings that were not done (an animal that died or was culled "
                                 "simply has no later rows; it is censored at its last weighing)")):
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(f"column {col!r} ({role}) has {int(bad.sum())} missing or infinite value(s) (first at row "
                            f"{_fmt_label(data.index[pos])}); {fix}.")
    bad = w <= 0
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {weight!r} (body weight) must be > 0; got {int(bad.sum())} value(s) <= 0 (first at row "
            f"{_fmt_label(data.index[pos])}: {w[pos]:g}). Weights are absolute ({weight_unit}), not changes from "
            "baseline: pass the measured weight; a 0 used to mark a dead animal should be a removed row.")
    sub = data[subject].to_numpy()
    armv = data[arm].to_numpy()
    df = pd.DataFrame({"subject": sub, "arm": armv, "time": t, "weight": w, "row": data.index.to_numpy()})
    n_arms = df.groupby("subject", sort=False)["arm"].nunique()
    if (n_arms > 1).any():
        s = n_arms.index[np.flatnonzero(n_arms.to_numpy() > 1)[0]]
        rows = df[df["subject"] == s]
        a = list(pd.unique(rows["arm"]))
        raise DataError(f"animal {_fmt_label(s)} (column {subject!r}) appears in more than one arm ({a!r}; rows "
                        f"{_fmt_label(rows['row'].iloc[0])} and "
                        f"{_fmt_label(rows.loc[rows['arm'] != a[0], 'row'].iloc[0])}). Label animals uniquely "
                        "across arms (e.g. 'ptx10-m1').")
    dup = df.duplicated(["subject", "time"], keep="first").to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        s, tt = df["subject"].iloc[pos], df["time"].iloc[pos]
        first = df[(df["subject"] == s) & (df["time"] == tt)]["row"].iloc[0]
        raise DataError(
            f"columns [{subject!r}, {time!r}]: {int(dup.sum())} row(s) repeat an animal and day (first at row "
            f"{_fmt_label(df['row'].iloc[pos])}, same animal {_fmt_label(s)} and {time} {tt:g} as row "
            f"{_fmt_label(first)}). Keep one weighing per animal and day (average repeated weighings on purpose), "
            "or check the merge that built the table.")
    if arms_order is not None:
        arms_order = list(arms_order)
        missing = [a for a in pd.unique(df["arm"]) if a not in arms_order]
        if missing:
            raise DataError(f"arms= does not list arm(s) {missing!r} found in column {arm!r}; list every arm.")
        absent = [a for a in arms_order if a not in set(df["arm"])]
        if absent:
            raise DataError(f"arms= lists arm(s) {absent!r} with no row in column {arm!r}; check the labels.")
    return df


# ---------------------------------------------------------------------------
# main entry point
# ---------------------------------------------------------------------------

def bodyweight_endpoints(data: pd.DataFrame, *, subject: str, arm: str, time: str, weight: str,
                         baseline: str | float = "first", humane_loss: float = HUMANE_LOSS,
                         arms: Sequence | None = None, ci_level: float = 0.95, logrank: bool = True,
                         reference: str | None = None, weight_unit: str = "g",
                         time_unit: str = "day") -> BodyWeightEndpoints:
    """Body-weight change, nadir, humane-endpoint share and time to endpoint per arm.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per animal and weighing (not modified).
    subject, arm, time, weight : str
        Column names: animal label, treatment arm, time of weighing (``time_unit``, e.g.
        days from the start of treatment) and body weight (``weight_unit``, > 0).
    baseline : "first" or float
        ``"first"``: each animal's first weighing is its baseline; a number: the weighing at
        that time (every animal must have one).  Weighings before the baseline stay in
        ``changes`` (negative ``time_from_baseline``) but not in nadir or endpoint.
    humane_loss : float
        Humane endpoint as a fraction of baseline weight (0.20 = a loss of 20 %), in (0, 1).
    arms : sequence, optional
        Order of the arms in the tables (default: order of first appearance).
    ci_level : float
        Level of the exact binomial and Kaplan-Meier intervals (0-1).
    logrank : bool
        Compute the log-rank test across all arms (and against ``reference`` when given).
    reference : str, optional
        Arm (e.g. vehicle) each other arm is compared with by a two-arm log-rank test.
    weight_unit, time_unit : str
        Units, recorded in the results (never converted).

    Returns
    -------
    BodyWeightEndpoints
        Tables ``changes``, ``nadir``, ``endpoint``, ``km``, ``arm_means``, ``logrank``.

    Raises
    ------
    DataError
        Missing columns, non-numeric or missing times/weights, weights <= 0, an animal in two
        arms, two weighings of one animal on the same day, an animal without a weighing at the
        declared baseline, or an invalid option.

    Examples
    --------
    >>> res = bodyweight_endpoints(df, subject="mouse", arm="group", time="day", weight="bw_g")
    >>> res.endpoint[["arm", "share", "ci_low", "ci_high"]]
    >>> res.plot(kind="km")
    """
    try:
        hl = float(humane_loss)
    except (TypeError, ValueError):
        raise DataError(f"humane_loss must be a number (fraction); got {humane_loss!r}.") from None
    if not 0 < hl < 1:
        hint = f" Did you mean {hl / 100:g} ({hl:g} %)?" if 1 <= hl < 100 else ""
        raise DataError(f"humane_loss is a fraction of baseline weight in (0, 1) (0.2 = 20 % loss); got "
                        f"{humane_loss!r}.{hint}")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie strictly between 0 and 1; got {ci_level!r}.")
    df = _validate(data, subject, arm, time, weight, arms, weight_unit)
    arm_order = list(arms) if arms is not None else list(pd.unique(df["arm"]))
    if reference is not None and reference not in arm_order:
        raise DataError(f"reference arm {reference!r} is not among the arms {arm_order!r}.")
    subjects = pd.unique(df["subject"])
    # ---- baseline
    if isinstance(baseline, str):
        if baseline != "first":
            raise DataError(f"baseline must be 'first' or a time ({time_unit}); got {baseline!r}.")
        bt = df.groupby("subject", sort=False)["time"].min()
        rule = "first weighing of each animal"
    else:
        try:
            b = float(baseline)
        except (TypeError, ValueError):
            raise DataError(f"baseline must be 'first' or a time ({time_unit}); got {baseline!r}.") from None
        has = df.loc[np.isclose(df["time"], b, rtol=0, atol=1e-9), "subject"]
        missing = [s for s in subjects if s not in set(has)]
        if missing:
            raise DataError(
                f"animal {_fmt_label(missing[0])} (column {subject!r}) has no weighing at the baseline {time} "
                f"{b:g} ({len(missing)} animal(s) lack one). Pass baseline='first' (each animal's first weighing) "
                "or a day on which every animal was weighed.")
        bt = pd.Series(b, index=pd.Index(subjects))
        rule = f"weighing on {time} {b:g}"
    df["baseline_time"] = bt.reindex(df["subject"]).to_numpy()
    at_b = np.isclose(df["time"].to_numpy(), df["baseline_time"].to_numpy(), rtol=0, atol=1e-9)
    bw = df.loc[at_b].groupby("subject", sort=False)["weight"].first()
    df["baseline_weight"] = bw.reindex(df["subject"]).to_numpy()
    df["time_from_baseline"] = df["time"] - df["baseline_time"]
    df["relative_weight"] = df["weight"] / df["baseline_weight"]
    df["change_pct"] = 100.0 * (df["relative_weight"] - 1.0)
    arm_rank = {a: i for i, a in enumerate(arm_order)}
    subj_rank = {s: i for i, s in enumerate(subjects)}
    df["_a"] = df["arm"].map(arm_rank)
    df["_s"] = df["subject"].map(subj_rank)
    df = df.sort_values(["_a", "_s", "time"], kind="stable").reset_index(drop=True)
    changes = df[["subject", "arm", "time", "time_from_baseline", "weight", "baseline_weight", "relative_weight",
                  "change_pct", "row"]].copy()
    # ---- per animal
    thr = 1.0 - hl
    nrows = []
    after = df[df["time_from_baseline"] >= -1e-12]
    for s, g in after.groupby("_s", sort=True):
        rel = g["relative_weight"].to_numpy()
        tt = g["time"].to_numpy()
        i = int(np.argmin(rel))
        hit = np.flatnonzero(rel <= thr * (1.0 + _REL_TOL))
        ev = hit.size > 0
        t_end = float(tt[hit[0]]) if ev else np.nan
        b_t = float(g["baseline_time"].iloc[0])
        nrows.append({"subject": g["subject"].iloc[0], "arm": g["arm"].iloc[0], "baseline_time": b_t,
                      "baseline_weight": float(g["baseline_weight"].iloc[0]),
                      "nadir_change_pct": float(100.0 * (rel[i] - 1.0)), "nadir_time": float(tt[i]),
                      "max_loss_pct": float(max(0.0, -100.0 * (rel[i] - 1.0))), "last_time": float(tt[-1]),
                      "n_weighings": int(tt.size), "reached_endpoint": bool(ev), "endpoint_time": t_end,
                      "time_to_event": (t_end if ev else float(tt[-1])) - b_t, "event": bool(ev)})
    nadir = pd.DataFrame(nrows)
    # ---- per arm
    z_level = ci_level
    erows, kms, mrows = [], [], []
    for a in arm_order:
        g = nadir[nadir["arm"] == a]
        n, k = len(g), int(g["event"].sum())
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=z_level, method="exact")
        km = kaplan_meier(g["time_to_event"], g["event"], ci_level=ci_level)
        km.insert(0, "arm", a)
        kms.append(km)
        last_arm = float(g["last_time"].max())
        erows.append({"arm": a, "n_animals": n, "n_reached": k, "share": k / n, "ci_low": float(ci.low),
                      "ci_high": float(ci.high), "mean_nadir_pct": float(g["nadir_change_pct"].mean()),
                      "sd_nadir_pct": float(g["nadir_change_pct"].std(ddof=1)) if n > 1 else np.nan,
                      "km_incidence": float(1.0 - km["survival"].iloc[-1]),
                      "median_time_to_endpoint": _km_median(km["time"], km["survival"]),
                      "n_left_early": int(np.sum(~g["event"].to_numpy() & (g["last_time"].to_numpy() < last_arm))),
                      "humane_loss_pct": 100.0 * hl})
        ga = df[df["arm"] == a]
        for tt, gt in ga.groupby("time", sort=True):
            v = gt["change_pct"].to_numpy()
            sd = float(np.std(v, ddof=1)) if v.size > 1 else np.nan
            mrows.append({"arm": a, "time": float(tt), "n": int(v.size), "mean_change_pct": float(v.mean()),
                          "sd_change_pct": sd, "sem_change_pct": sd / np.sqrt(v.size) if v.size > 1 else np.nan,
                          "mean_relative_weight": float(gt["relative_weight"].mean()),
                          "mean_weight": float(gt["weight"].mean())})
    endpoint = pd.DataFrame(erows)
    km = pd.concat(kms, ignore_index=True)
    arm_means = pd.DataFrame(mrows)
    lr = _logrank(nadir, arm_order, reference) if logrank else None
    settings = {"subject": subject, "arm": arm, "time": time, "weight": weight, "baseline": baseline,
                "baseline_rule": rule, "humane_loss": hl, "ci_level": ci_level, "weight_unit": weight_unit,
                "time_unit": time_unit, "arms": tuple(arm_order), "reference": reference}
    return BodyWeightEndpoints(changes=changes, nadir=nadir, endpoint=endpoint, km=km, arm_means=arm_means,
                               logrank=lr, settings=settings)


def _logrank(nadir: pd.DataFrame, arm_order: list, reference) -> pd.DataFrame:
    from statsmodels.duration.survfunc import survdiff

    def test(sel_arms, label):
        g = nadir[nadir["arm"].isin(sel_arms)]
        n_ev = int(g["event"].sum())
        if n_ev == 0 or len(sel_arms) < 2:
            return {"comparison": label, "chi2": np.nan, "df": len(sel_arms) - 1, "p_value": np.nan,
                    "n_events": n_ev}
        codes = pd.Index(sel_arms).get_indexer(g["arm"])
        chi2, p = survdiff(g["time_to_event"].to_numpy(float), g["event"].to_numpy(int), codes)
        return {"comparison": label, "chi2": float(chi2), "df": len(sel_arms) - 1, "p_value": float(p),
                "n_events": n_ev}

    rows = []
    if len(arm_order) >= 2:
        rows.append(test(arm_order, "all arms"))
    if reference is not None:
        for a in arm_order:
            if a != reference:
                rows.append(test([reference, a], f"{a} vs {reference}"))
    return pd.DataFrame(rows, columns=["comparison", "chi2", "df", "p_value", "n_events"])
