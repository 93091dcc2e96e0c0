r"""Xenograft efficacy endpoints: TGI, T/C, AUC, doubling time, growth delay, best response, mRECIST.

Definitions (``V`` = tumour size, ``RTV = V_t / V_0`` relative to the animal's baseline,
means over the animals of an arm, ``C`` = control arm, ``T`` = treated arm, at day ``t``):

* ``tc_ratio``      T/C = mean RTV_T(t) / mean RTV_C(t)  (NCI criterion: T/C <= 0.42 active)
* ``tgi_tc``        TGI (T/C definition) = 1 - T/C
* ``tgi_delta``     TGI (change-from-baseline definition) = 1 - (mean V_T(t) - mean V_T(0)) /
                    (mean V_C(t) - mean V_C(0))  (> 1 means regression)
* ``auc``           trapezoidal AUC of RTV from baseline to ``t`` (time unit); ``auc_ratio`` T/C of it
* ``doubling_time`` ln 2 / r, r = OLS slope of log size per animal (time unit); arm: ln 2 / mean r
* ``growth_delay``  median time to reach ``target_fold`` x baseline (Kaplan-Meier, animals that
                    never reach it are censored at their last measurement), treated minus control
* ``best_response`` / ``best_avg_response`` and ``mrecist`` per Gao et al. (2015) (evaluation window
  configurable with ``response_window=(start, end)``, default ``(10, inf)`` days as Gao et al.):
  :math:`\Delta Vol_t = 100\,(V_t - V_0)/V_0`; BestResponse = min over t >= 10 d of
  :math:`\Delta Vol_t`; BestAvgResponse = min over t >= 10 d of the mean of
  :math:`\Delta Vol` from 0 to t; mCR: BestResponse < -95 and BestAvgResponse < -40; mPR:
  BestResponse < -50 and BestAvgResponse < -20; mSD: BestResponse < 35 and
  BestAvgResponse < 30; mPD otherwise (rules applied in this order).

Intervals: Fieller's interval for ratios of independent arm means (t quantile, df =
n_T + n_C - 2), t intervals for means, Wilson intervals for mRECIST proportions,
bootstrap (animals within arms) for the growth delay.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .._params import Integral, Interval, Real, validate_params
from .._random import as_generator
from ..exceptions import DataError
from ..results import ResultIO, check_kind, set_units
from .data import as_growth_data, batch_arrays
from .survival import _km_median
from .synergy import fieller_ratio

__all__ = ["growth_endpoints", "GrowthEndpoints", "mrecist_call", "best_response", "km_median", "mean_rtv",
           "tgi_delta", "log_rtv_test", "compare_arms", "compare_arms_batch", "ArmComparison", "COMPARISON_TESTS"]

COMPARISON_TESTS = ("ttest", "noninferiority")

MRECIST = ("mCR", "mPR", "mSD", "mPD")


def mrecist_call(best_resp, best_avg):
    """mRECIST category from BestResponse and BestAvgResponse (percent), Gao et al. 2015.

    Returns ``"NE"`` (not evaluable) where either value is NaN.
    """
    br = np.asarray(best_resp, float)
    ba = np.asarray(best_avg, float)
    out = np.full(br.shape, "mPD", dtype=object)
    out = np.where((br < 35) & (ba < 30), "mSD", out)
    out = np.where((br < -50) & (ba < -20), "mPR", out)
    out = np.where((br < -95) & (ba < -40), "mCR", out)
    out = np.where(np.isnan(br) | np.isnan(ba), "NE", out)
    return out


def best_response(t, v, min_time=10.0, max_time=np.inf):
    """BestResponse and BestAvgResponse (percent) of one animal (Gao et al. 2015).

    Parameters
    ----------
    t : array_like
        Times since baseline (days), sorted, ``t[0] = 0``.
    v : array_like
        Sizes at those times (size unit).
    min_time : float
        Only times >= ``min_time`` (10 days in Gao et al.) are eligible for the minimum.
    max_time : float
        ... and <= ``max_time`` (time since baseline; default: no upper limit, as in Gao et al.).
        The running mean of BestAvgResponse always starts at baseline.

    Returns
    -------
    (float, float)
        BestResponse and BestAvgResponse in percent; NaN if no time is eligible.
    """
    t = np.asarray(t, float)
    v = np.asarray(v, float)
    dv = 100.0 * (v - v[0]) / v[0]
    avg = np.cumsum(dv) / np.arange(1, dv.size + 1)
    ok = (t >= min_time) & (t <= max_time)
    if not ok.any():
        return np.nan, np.nan
    return float(dv[ok].min()), float(avg[ok].min())


def _require_after_baseline(gd, at_t, bt):
    """DataError when the evaluation time is not after every animal's baseline (T/C would be 1 by construction)."""
    if np.unique(gd.time).size < 2:
        raise DataError(
            f"column {gd.columns.get('time')!r} has a single time point ({gd.time[0]:g} {gd.time_unit}): T/C, TGI "
            "and arm comparisons need measurements after baseline (at baseline every ratio is 1 by construction). "
            "Add the later measurements."
        )
    early = np.flatnonzero(at_t <= bt + 1e-12)
    if early.size:
        s = gd.subjects[early[0]]
        raise DataError(
            f"the evaluation time {at_t:g} {gd.time_unit} is not after the baseline of animal {s!r} "
            f"({bt[early[0]]:g} {gd.time_unit}): relative sizes are 1 there by construction. Choose at= a later time "
            "(the default 'last-common-day' is the baseline when an animal has only its baseline measurement: drop "
            "such animals or pass at=)."
        )


def _size_at(gd, sizes, at_t):
    """Size of every animal at time ``at_t`` (NaN where not measured then)."""
    m_at = np.isclose(gd.time, at_t)
    out = np.full(gd.n_subjects, np.nan)
    out[gd.subject_idx[m_at]] = sizes[m_at]
    return out


def mean_rtv(size_at, size_base, axis=-1):
    """Mean relative tumour volume ``mean(V(t) / V(0))`` over ``axis`` (dimensionless).

    Parameters
    ----------
    size_at, size_base : array_like
        Sizes at the evaluation time and at baseline (same size unit), animals along ``axis``.
    axis : int
        Axis of the animals.

    Returns
    -------
    numpy.ndarray
        Mean RTV (the T/C ratio is ``mean_rtv(T) / mean_rtv(C)``).
    """
    return np.mean(np.asarray(size_at, float) / np.asarray(size_base, float), axis=axis)


def tgi_delta(treated_at, treated_base, control_at, control_base, axis=-1):
    """TGI, change-from-baseline definition: ``1 - (mean V_T(t) - mean V_T(0)) / (mean V_C(t) - mean V_C(0))``.

    Parameters
    ----------
    treated_at, treated_base : array_like
        Treated animals' sizes at ``t`` and at baseline (size unit), animals along ``axis``.
    control_at, control_base : array_like
        The same for the control arm.
    axis : int
        Axis of the animals.

    Returns
    -------
    numpy.ndarray
        TGI (fraction; 1 = no growth, > 1 = regression).
    """
    d_t = np.mean(np.asarray(treated_at, float) - np.asarray(treated_base, float), axis=axis)
    d_c = np.mean(np.asarray(control_at, float) - np.asarray(control_base, float), axis=axis)
    return 1.0 - d_t / d_c


def log_rtv_test(candidate, reference, *, test="ttest", margin=0.2, ci_level=0.95, axis=-1) -> dict:
    r"""Compare two arms on log relative tumour volume, vectorised over studies.

    Pooled two-sample t statistic on :math:`y = \log(V(t)/V(0))` (NaN = animal not
    evaluable, ignored): estimate :math:`\bar y_{cand} - \bar y_{ref}` (log of the ratio
    of geometric-mean RTVs; negative = candidate smaller), df ``n_cand + n_ref - 2``.

    * ``"ttest"``: two-sided test of no difference.
    * ``"noninferiority"``: one-sided test of H0 :math:`\bar y_{cand} - \bar y_{ref} \ge
      \log(1 + margin)` (the candidate's tumours are at least ``margin`` larger, relative);
      rejecting it declares non-inferiority.

    Parameters
    ----------
    candidate, reference : array_like
        Log RTV of every animal, animals along ``axis`` (other axes: studies).
    test : {"ttest", "noninferiority"}
    margin : float
        Non-inferiority margin on the relative-size scale (0.2 = 20 % larger allowed).
    ci_level : float
        Level of the two-sided confidence interval of the estimate.
    axis : int
        Axis of the animals.

    Returns
    -------
    dict
        Arrays ``estimate, stderr, df, t, p_value, ci_low, ci_high, ratio`` (``ratio =
        exp(estimate)``, the ratio of geometric-mean RTVs) and ``n_candidate``,
        ``n_reference``.
    """
    if test not in COMPARISON_TESTS:
        raise DataError(f"test must be one of {COMPARISON_TESTS}, got {test!r}.")
    if not margin >= 0:
        raise DataError("margin must be >= 0 (relative size, 0.2 = 20 %).")
    yc = np.moveaxis(np.asarray(candidate, float), axis, -1)
    yr = np.moveaxis(np.asarray(reference, float), axis, -1)
    nc = np.isfinite(yc).sum(-1)
    nr = np.isfinite(yr).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mc = np.nansum(yc, -1) / nc
        mr = np.nansum(yr, -1) / nr
        ss = np.nansum((yc - mc[..., None]) ** 2, -1) + np.nansum((yr - mr[..., None]) ** 2, -1)
        df = (nc + nr - 2).astype(float)
        df = np.where(df > 0, df, np.nan)
        se = np.sqrt(ss / df * (1.0 / nc + 1.0 / nr))
        est = mc - mr
        if test == "ttest":
            tstat = est / se
            p = 2 * stats.t.sf(np.abs(tstat), df)
        else:
            tstat = (est - np.log1p(margin)) / se
            p = stats.t.cdf(tstat, df)
        q = stats.t.ppf(0.5 + ci_level / 2.0, df)
    return {"estimate": est, "stderr": se, "df": df, "t": tstat, "p_value": p, "ci_low": est - q * se,
            "ci_high": est + q * se, "ratio": np.exp(est), "n_candidate": nc, "n_reference": nr}


def km_median(time, event):
    """Kaplan-Meier median of right-censored times (inf if the curve never drops to 0.5).

    Parameters
    ----------
    time : array_like, shape (n,)
        Event or censoring times (time unit of the data, e.g. days).
    event : array_like of bool, shape (n,)
        True where the event was observed at ``time``.

    Returns
    -------
    float
        The median (time unit of ``time``) by R survival's ``print.survfit`` rule (see
        :func:`comboplan.growth.survival._km_median`: where S(t) is exactly 1/2 on an interval, its
        midpoint); ``inf`` when not reached, NaN for no animal.
    """
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    if time.size == 0:
        return np.nan
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event, minlength=ut.size)
    n_risk = time.size - np.r_[0, np.cumsum(np.bincount(inv, minlength=ut.size))[:-1]]
    keep = d > 0
    med = _km_median(ut[keep], np.cumprod(1.0 - d[keep] / n_risk[keep]))
    return np.inf if np.isnan(med) else med


def _growth_delay(med_t, med_c, boot, alpha, fold, unit, is_control):
    """Growth delay (treated minus control KM median) with a percentile interval that keeps infinite resamples.

    A median that is not reached is infinite; the difference is then +inf (treated), -inf
    (control) or undefined (both).  Resamples are never dropped: the percentile interval is
    taken over all of them (inverted-CDF quantiles, so infinite resamples give infinite
    bounds), and it is NaN when any resample has both medians unreached (undefined difference).
    """
    if is_control:
        return 0.0, np.nan, np.nan, "control arm (reference)"
    reason = ""
    if np.isinf(med_t) and np.isinf(med_c):
        return (np.nan, np.nan, np.nan, f"neither arm's median time to {fold:g}x baseline is reached: the growth delay "
                "is undefined")
    if np.isinf(med_t):
        reason = (f"treated median time to {fold:g}x baseline not reached: growth delay infinite (longer than the "
                  "follow-up allows to measure)")
    elif np.isinf(med_c):
        reason = f"control median time to {fold:g}x baseline not reached: growth delay -inf"
    gdel = med_t - med_c
    if boot is None:
        return gdel, np.nan, np.nan, reason
    with np.errstate(invalid="ignore"):
        diff = boot[:, 0] - boot[:, 1]
    n_undef = int(np.isnan(diff).sum())
    if n_undef:
        extra = (f"{n_undef} of {diff.size} bootstrap resamples reach neither median (difference undefined): "
                 "no interval")
        return gdel, np.nan, np.nan, (reason + "; " if reason else "") + extra
    lo, hi = np.quantile(diff, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        share = float(np.mean(~np.isfinite(diff)))
        extra = (f"{share:.0%} of bootstrap resamples have a median not reached: the interval is unbounded "
                 "(infinite bound)")
        reason = (reason + "; " if reason else "") + extra
    return gdel, float(lo), float(hi), reason


def _wilson(k, n, level):
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z * z / n
        c = (p + z * z / (2 * n)) / den
        h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return c - h, c + h


@dataclass(frozen=True)
class GrowthEndpoints(ResultIO):
    """Endpoints per animal and per arm.

    Attributes
    ----------
    animals : pandas.DataFrame
        ``subject, arm, size_baseline, size_at, rtv_at, delta_size, auc, rate, doubling_time,
        time_to_target, reached_target, best_response, best_avg_response, mrecist``.
    arms : pandas.DataFrame
        ``arm, n, mean_rtv, rtv_ci_low, rtv_ci_high, tc_ratio, tc_ci_low, tc_ci_high, tgi_tc,
        tgi_tc_ci_low, tgi_tc_ci_high, tgi_delta, tgi_delta_ci_low, tgi_delta_ci_high,
        mean_auc, auc_ratio, auc_ratio_ci_low, auc_ratio_ci_high, rate, doubling_time,
        doubling_time_ci_low, doubling_time_ci_high, median_time_to_target, growth_delay,
        growth_delay_ci_low, growth_delay_ci_high, growth_delay_reason``.  A median time to
        target that is not reached is ``inf``; the growth delay is then ``inf`` (treated),
        ``-inf`` (control) or NaN (both), and ``growth_delay_reason`` says why; bootstrap
        resamples are never dropped (an interval with infinite bounds, or NaN when some
        resamples reach neither median).
    mrecist : pandas.DataFrame
        ``arm, category, count, n, proportion, ci_low, ci_high`` (Wilson).
    at : float
        Evaluation time (absolute time unit).
    definitions : dict
        Name -> definition of every endpoint.
    """

    animals: pd.DataFrame
    arms: pd.DataFrame
    mrecist: pd.DataFrame
    at: float
    control: str
    units: dict
    dropout: str
    definitions: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Plain-text summary."""
        cols = ["arm", "n", "mean_rtv", "tc_ratio", "tgi_tc", "tgi_delta", "auc_ratio", "doubling_time",
                "growth_delay"]
        lines = [
            f"Endpoints at {self.at:g} {self.units['time']} (control: {self.control!r}); {self.dropout}",
            self.arms[cols].to_string(index=False), "",
            self.mrecist.pivot(index="arm", columns="category", values="count").to_string(),
        ]
        if "growth_delay_reason" in self.arms:
            notes = [f"  {a}: {r}" for a, r in zip(self.arms["arm"], self.arms["growth_delay_reason"])
                     if r and r != "control arm (reference)"]
            if notes:
                lines += ["", "Growth delay notes:", *notes]
        return "\n".join(lines)

    def to_xarray(self):
        """Arm-level endpoints as an xarray Dataset (dim ``arm``) with units and definitions."""
        ds = self.arms.set_index("arm").to_xarray()
        tu, su = self.units.get("time", "day"), self.units.get("size", "")
        units = {"n": "1", "mean_auc": f"{tu} (AUC of RTV)", "rate": f"1/{tu}", "growth_delay_reason": ""}
        for v in ds.data_vars:
            if v.startswith(("doubling_time", "median_time_to_target", "growth_delay")) and v not in units:
                units[v] = tu
        set_units(ds, units, default="1")     # RTV, T/C, TGI, AUC ratio: ratios (1 = 100 %)
        ds.attrs.update({"at": self.at, "control": self.control, "units": str(self.units),
                         "dropout": self.dropout, "definitions": str(self.definitions), "size_unit": su})
        return ds

    def plot(self, ax=None, *, kind: str = "waterfall", **kwargs):
        """Waterfall of best response per animal (``kind="waterfall"``, the only kind); returns the Axes."""
        from ..plot.growth import plot_waterfall

        check_kind(kind, ("waterfall",), "GrowthEndpoints")
        return plot_waterfall(self, ax=ax, **kwargs)


@validate_params({
    "target_fold": [Interval(Real, 1, None, closed="neither")],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "n_boot": [Interval(Integral, 0, None)],
    "seed": ["seed"],
}, fixes={"target_fold": "e.g. 2.0 (time to double)"})
def growth_endpoints(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    control=None,
    at: float | str = "last-common-day",
    target_fold: float = 2.0,
    min_time_response: float | None = None,
    response_window: tuple[float, float] | None = None,
    ci_level: float = 0.95,
    n_boot: int = 1000,
    seed=None,
    **validate_kwargs,
) -> GrowthEndpoints:
    """Compute TGI (both definitions), T/C, AUC, doubling time, growth delay, best response, mRECIST.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names.
    control : label
        The control (vehicle) arm.
    at : float or "last-common-day"
        Evaluation time (absolute time unit).  Default: the last time at which every animal
        was still in the study (dropout rule stated in the result); animals without a
        measurement at ``at`` raise a DataError.
    target_fold : float
        Growth-delay target: time to reach ``target_fold`` x baseline size.
    min_time_response : float, optional
        Earliest time since baseline eligible for BestResponse, in the time unit (default 10
        when the time unit is days, as in Gao et al. 2015; required for other units).
    response_window : (float, float), optional
        Evaluation window of BestResponse / BestAvgResponse / mRECIST: times since baseline
        ``start <= t <= end`` (time unit; ``end`` may be ``inf``).  Default ``(10, inf)`` days,
        Gao et al. (2015): every measurement from day 10 on.  Overrides ``min_time_response``.
    ci_level : float
        Confidence level.
    n_boot : int
        Bootstrap resamples for the growth-delay interval (0: none).
    seed : int or numpy.random.Generator, optional
        Bootstrap seed.
    **validate_kwargs
        Passed to :func:`validate_growth`.

    Returns
    -------
    GrowthEndpoints
    """
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    arms = list(gd.arms)
    max_time_response = np.inf
    if response_window is not None:
        try:
            w0, w1 = (float(x) for x in response_window)
        except (TypeError, ValueError):
            raise DataError(f"response_window must be (start, end) in {gd.time_unit} since baseline, e.g. (10, 21); "
                            f"got {response_window!r}.") from None
        if not (w0 >= 0 and w1 > w0):
            raise DataError(f"response_window must satisfy 0 <= start < end; got {response_window!r}.")
        min_time_response, max_time_response = w0, w1
    if min_time_response is None:
        if gd.time_unit.lower() not in ("day", "days", "d"):
            raise DataError(
                f"the mRECIST rules (Gao et al. 2015) use responses from day 10 on, but time is in "
                f"{gd.time_unit!r}; pass min_time_response=<10 days in {gd.time_unit}>."
            )
        min_time_response = 10.0
    if control is None or control not in arms:
        raise DataError(f"pass control=<the vehicle arm>; arms are {arms}.")
    if isinstance(at, str):
        if at != "last-common-day":
            raise DataError(f"at must be a time or 'last-common-day', got {at!r}.")
        at_t = gd.last_common_time()
        drop_txt = f"evaluated at the last common day ({at_t:g} {gd.time_unit}): every animal still in the study"
    else:
        at_t = float(at)
        drop_txt = f"evaluated at {at_t:g} {gd.time_unit} (chosen by the caller)"
    S = gd.n_subjects
    sizes = gd.substituted_size("lloq") if gd.censored.any() else gd.size
    base = gd.baseline_size()
    bt = gd.baseline_time()
    _require_after_baseline(gd, at_t, bt)
    size_at = _size_at(gd, sizes, at_t)
    miss = np.isnan(size_at)
    if miss.any():
        s = gd.subjects[np.flatnonzero(miss)[0]]
        raise DataError(
            f"animal {s!r} has no measurement at {at_t:g} {gd.time_unit}; choose at= a time when every animal was "
            "measured (default 'last-common-day')."
        )
    rtv = size_at / base
    rows = []
    for i in range(S):
        sel = gd.subject_idx == i
        tt = gd.time[sel] - bt[i]
        vv = sizes[sel]
        upto = gd.time[sel] <= at_t + 1e-12
        tu, vu = tt[upto], vv[upto] / base[i]
        auc = float(np.sum(0.5 * (vu[1:] + vu[:-1]) * np.diff(tu))) if tu.size > 1 else 0.0
        lv = np.log(vv)
        rate = float(np.polyfit(tt, lv, 1)[0]) if tt.size >= 2 else np.nan
        # time to target (log-linear interpolation between bracketing measurements)
        target = target_fold * base[i]
        hit = np.flatnonzero(vv >= target)
        if hit.size and hit[0] > 0:
            j = hit[0]
            f = (np.log(target) - lv[j - 1]) / (lv[j] - lv[j - 1])
            ttt, reached = float(tt[j - 1] + f * (tt[j] - tt[j - 1])), True
        elif hit.size:
            ttt, reached = 0.0, True
        else:
            ttt, reached = float(tt[-1]), False
        br, ba = best_response(tt, vv, min_time_response, max_time_response)
        rows.append((auc, rate, ttt, reached, br, ba))
    auc, rate, ttt, reached, br, ba = (np.array(c) for c in zip(*rows))
    reached = reached.astype(bool)
    with np.errstate(divide="ignore"):
        dtime = np.where(rate > 0, np.log(2) / rate, np.inf)
    animals = pd.DataFrame({
        "subject": gd.subjects, "arm": gd.arms[gd.subject_arm], "size_baseline": base, "size_at": size_at,
        "rtv_at": rtv, "delta_size": size_at - base, "auc": auc, "rate": rate, "doubling_time": dtime,
        "time_to_target": ttt, "reached_target": reached, "best_response": br, "best_avg_response": ba,
        "mrecist": mrecist_call(br, ba),
    })
    # arm level
    k0 = arms.index(control)
    def stats_of(v, k):
        x = v[gd.subject_arm == k]
        return x.mean(), (x.var(ddof=1) / x.size if x.size > 1 else np.nan), x.size

    rng = as_generator(seed)
    med = np.array([km_median(ttt[gd.subject_arm == k], reached[gd.subject_arm == k]) for k in range(len(arms))])
    boot_med = None
    if n_boot and n_boot > 0:
        boot_med = np.empty((n_boot, len(arms)))
        for k in gd.arms_by_label():     # draws in a canonical order of arms and animals
            idx = gd.by_label(np.flatnonzero(gd.subject_arm == k))
            draws = rng.integers(0, idx.size, size=(n_boot, idx.size))
            tk, ek = ttt[idx][draws], reached[idx][draws]
            boot_med[:, k] = [km_median(a, b) for a, b in zip(tk, ek)]
    arows = []
    mc, vc, nc = stats_of(rtv, k0)
    dc, vdc, _ = stats_of(size_at - base, k0)
    ac, vac, _ = stats_of(auc, k0)
    alpha = 1 - ci_level
    for k, a in enumerate(arms):
        mt, vt, nt = stats_of(rtv, k)
        q = stats.t.ppf(1 - alpha / 2, nt + nc - 2)
        qm = stats.t.ppf(1 - alpha / 2, nt - 1)
        tc = float(mean_rtv(size_at[gd.subject_arm == k], base[gd.subject_arm == k]) / mc)
        tlo, thi = fieller_ratio(mt, mc, vt, vc, 0.0, q)
        dt_, vdt, _ = stats_of(size_at - base, k)
        tgd = float(tgi_delta(size_at[gd.subject_arm == k], base[gd.subject_arm == k],
                              size_at[gd.subject_arm == k0], base[gd.subject_arm == k0]))
        dlo, dhi = fieller_ratio(dt_, dc, vdt, vdc, 0.0, q)
        at_, vat, _ = stats_of(auc, k)
        alo, ahi = fieller_ratio(at_, ac, vat, vac, 0.0, q)
        rm, rv, _ = stats_of(rate, k)
        rlo, rhi = rm - qm * np.sqrt(rv), rm + qm * np.sqrt(rv)
        dtm = np.log(2) / rm if rm > 0 else np.inf
        dt_lo = np.log(2) / rhi if rhi > 0 else np.inf
        dt_hi = np.log(2) / rlo if rlo > 0 else np.inf
        gdel, glo, ghi, greason = _growth_delay(med[k], med[k0], None if boot_med is None else boot_med[:, [k, k0]],
                                                alpha, target_fold, gd.time_unit, k == k0)
        arows.append((a, nt, mt, mt - qm * np.sqrt(vt), mt + qm * np.sqrt(vt), tc, float(tlo), float(thi),
                      1 - tc, 1 - float(thi), 1 - float(tlo), tgd, 1 - float(dhi), 1 - float(dlo),
                      at_, at_ / ac, float(alo), float(ahi), rm, dtm, dt_lo, dt_hi, med[k], gdel, glo, ghi,
                      greason))
    arms_df = pd.DataFrame(arows, columns=[
        "arm", "n", "mean_rtv", "rtv_ci_low", "rtv_ci_high", "tc_ratio", "tc_ci_low", "tc_ci_high", "tgi_tc",
        "tgi_tc_ci_low", "tgi_tc_ci_high", "tgi_delta", "tgi_delta_ci_low", "tgi_delta_ci_high", "mean_auc",
        "auc_ratio", "auc_ratio_ci_low", "auc_ratio_ci_high", "rate", "doubling_time", "doubling_time_ci_low",
        "doubling_time_ci_high", "median_time_to_target", "growth_delay", "growth_delay_ci_low",
        "growth_delay_ci_high", "growth_delay_reason"])
    mrows = []
    for k, a in enumerate(arms):
        calls = animals.loc[gd.subject_arm == k, "mrecist"].to_numpy()
        n = int((calls != "NE").sum())
        for cat in MRECIST:
            c = int((calls == cat).sum())
            lo, hi = _wilson(c, n, ci_level) if n else (np.nan, np.nan)
            mrows.append((a, cat, c, n, c / n if n else np.nan, lo, hi))
    mrec = pd.DataFrame(mrows, columns=["arm", "category", "count", "n", "proportion", "ci_low", "ci_high"])
    win = (f"{min_time_response:g} <= t" + (f" <= {max_time_response:g}" if np.isfinite(max_time_response) else "")
           + f" {gd.time_unit} since baseline")
    defs = {
        "tc_ratio": "mean RTV(treated) / mean RTV(control) at `at`; RTV = V(t)/V(baseline)",
        "tgi_tc": "TGI, T/C definition: 1 - T/C",
        "tgi_delta": "TGI, change-from-baseline definition: 1 - (mean V_T(t) - mean V_T(0)) / (mean V_C(t) - mean V_C(0))",
        "auc": "trapezoidal AUC of RTV from baseline to `at` (time unit)",
        "doubling_time": "ln 2 / rate, rate = OLS slope of log size over all measurements",
        "growth_delay": f"KM median time to {target_fold:g}x baseline, treated minus control (time unit)",
        "best_response": f"Gao 2015: min over {win} of 100 (V_t - V_0)/V_0 (percent)",
        "best_avg_response": f"Gao 2015: min over {win} of the running mean of the above from baseline (percent)",
        "mrecist": "mCR: BR < -95 & BAR < -40; mPR: BR < -50 & BAR < -20; mSD: BR < 35 & BAR < 30; else mPD",
    }
    return GrowthEndpoints(animals=animals, arms=arms_df, mrecist=mrec, at=at_t, control=control, units=gd.units,
                           dropout=drop_txt, definitions=defs)


# --------------------------------------------------------------------------- two-arm comparison
@dataclass(frozen=True)
class ArmComparison(ResultIO):
    """Candidate vs reference arm on log relative tumour volume (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        One row: ``reference, candidate, at, test, estimate, stderr, ci_low, ci_high, ratio,
        ratio_ci_low, ratio_ci_high, df, t, p_value, margin, n_reference, n_candidate, sign``.
    definition : str
        What was tested, with the sign convention.
    """

    table: pd.DataFrame
    definition: str
    units: dict = field(default_factory=dict)

    @property
    def p_value(self) -> float:
        """p-value of the test."""
        return float(self.table["p_value"].iloc[0])

    def summary(self) -> str:
        """Plain-text summary."""
        return self.definition + "\n" + self.table.to_string(index=False)

    def to_xarray(self):
        """The comparison as an xarray Dataset (dim ``comparison``, one entry) with units."""
        import xarray as xr

        t = self.table.reset_index(drop=True)
        ds = xr.Dataset({c: (("comparison",), t[c].to_numpy() if t[c].dtype.kind in "iufb"
                             else t[c].astype(str).to_numpy()) for c in t.columns},
                        coords={"comparison": np.arange(len(t))})
        tu = self.units.get("time", "day")
        set_units(ds, {c: "" for c in t.columns if t[c].dtype.kind not in "iufb"})
        set_units(ds, {"at": tu, "estimate": "1 (difference of natural-log RTV)",
                       "stderr": "1 (natural-log RTV)", "ci_low": "1 (difference of natural-log RTV)",
                       "ci_high": "1 (difference of natural-log RTV)"}, default="1")
        ds.attrs["definition"] = self.definition
        return ds

    def plot(self, *, kind: str = "interval", ax=None, **kwargs):
        """RTV ratio (candidate / reference) with its interval, the line of no difference and, for a
        non-inferiority test, the margin; returns the matplotlib Axes.

        Parameters
        ----------
        kind : {"interval"}
        ax : matplotlib.axes.Axes, optional
        **kwargs
            Passed to ``Axes.errorbar``.
        """
        from ..plot.simulate import plot_ratio_intervals

        check_kind(kind, ("interval",), "ArmComparison")
        t = self.table.reset_index(drop=True)
        ni = "test" in t and (t["test"] == "noninferiority").any()
        return plot_ratio_intervals(
            t["ratio"], t["ratio_ci_low"], t["ratio_ci_high"],
            [f"{c} vs {r_}" for c, r_ in zip(t["candidate"], t["reference"])], label="RTV ratio (CI)",
            xlabel=(f"RTV ratio, candidate / reference (at {float(t['at'].iloc[0]):g} "
                    f"{self.units.get('time', 'day')})"),
            margin=1.0 + float(t["margin"].iloc[0]) if ni else None, ax=ax, **kwargs)


def _comparison_definition(test, margin, reference, candidate, at, time_unit):
    base = (f"log RTV = log(V({at:g} {time_unit}) / V(baseline)); estimate = mean log RTV of {candidate!r} - "
            f"{reference!r} (negative = candidate smaller); pooled two-sample t test")
    if test == "ttest":
        return base + ", two-sided H0: no difference."
    return base + f", one-sided non-inferiority H0: estimate >= log(1 + {margin:g}) (candidate >= {margin:.0%} larger)."


def compare_arms_batch(sizes, time, subject_arm, arms, *, reference, candidate, at=None, test="ttest",
                       margin=0.2, ci_level=0.95, observed=None) -> dict:
    """Candidate vs reference on log RTV for many simulated studies at once (the power path).

    Same statistic as :func:`compare_arms`; every study shares the design.

    Parameters
    ----------
    sizes : ndarray, shape (n_studies, n_subjects, n_times)
        Tumour sizes (> 0 where observed); NaN = not measured.
    time : ndarray, shape (n_times,)
        Measurement times (time unit); ``time[0]`` is the baseline of every animal.
    subject_arm : ndarray of int, shape (n_subjects,)
        Arm index of each animal (into ``arms``).
    arms : sequence
        Arm labels.
    reference, candidate : label
        The two arms compared.
    at : float, optional
        Evaluation time (one of ``time``; default the last).  Animals not measured at ``at``
        are not evaluable.
    test, margin, ci_level
        As in :func:`log_rtv_test`.
    observed : ndarray of bool, optional
        Which sizes were measured (default: finite ``sizes``).

    Returns
    -------
    dict
        Arrays of shape (n_studies,), see :func:`log_rtv_test`.
    """
    sizes, time, obs = batch_arrays(sizes, time, observed)
    arms = list(arms)
    for role, a in (("reference", reference), ("candidate", candidate)):
        if a not in arms:
            raise DataError(f"{role} arm {a!r} is not among the arms {arms}.")
    j = time.size - 1 if at is None else int(np.argmin(np.abs(time - float(at))))
    if at is not None and not np.isclose(time[j], float(at)):
        raise DataError(f"at={at!r} is not a measurement time ({time.tolist()}).")
    ok = obs[:, :, 0] & obs[:, :, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(ok, np.log(np.where(ok, sizes[:, :, j], 1.0) / np.where(ok, sizes[:, :, 0], 1.0)), np.nan)
    sa = np.asarray(subject_arm)
    return log_rtv_test(y[:, sa == arms.index(candidate)], y[:, sa == arms.index(reference)], test=test,
                        margin=margin, ci_level=ci_level)


def compare_arms(data, subject=None, arm=None, time=None, size=None, *, reference, candidate,
                 at: float | str = "last-common-day", test: str = "ttest", margin: float = 0.2,
                 ci_level: float = 0.95, **validate_kwargs) -> ArmComparison:
    """Compare a candidate arm with a reference arm on log relative tumour volume at one time.

    Two-sided t test (``test="ttest"``) or one-sided non-inferiority test with a relative
    ``margin`` (``test="noninferiority"``), pooled variance; see :func:`log_rtv_test`.
    Undetectable sizes enter at the LLOQ (as in :func:`growth_endpoints`).

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names.
    reference, candidate : label
        Arms compared (e.g. the full-dose regimen and the reduced-dose combination).
    at : float or "last-common-day"
        Evaluation time (absolute time unit); animals without a measurement there are not
        evaluable (left out, counted in ``n_*``).
    test : {"ttest", "noninferiority"}
    margin : float
        Non-inferiority margin on the relative-size scale (0.2 = 20 %).
    ci_level : float
    **validate_kwargs
        Passed to :func:`validate_growth`.

    Returns
    -------
    ArmComparison
    """
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    arms = list(gd.arms)
    for role, a in (("reference", reference), ("candidate", candidate)):
        if a not in arms:
            raise DataError(f"{role} arm {a!r} is not in the data; arms are {arms}.")
    at_t = gd.last_common_time() if isinstance(at, str) and at == "last-common-day" else float(at)
    sizes = gd.substituted_size("lloq") if gd.censored.any() else gd.size
    base = gd.baseline_size()
    _require_after_baseline(gd, at_t, gd.baseline_time())
    y = np.log(_size_at(gd, sizes, at_t) / base)
    res = log_rtv_test(y[gd.subject_arm == arms.index(candidate)], y[gd.subject_arm == arms.index(reference)],
                       test=test, margin=margin, ci_level=ci_level)
    row = {"reference": reference, "candidate": candidate, "at": at_t, "test": test}
    row.update({k: float(res[k]) for k in ("estimate", "stderr", "ci_low", "ci_high", "ratio", "df", "t", "p_value")})
    row.update({"ratio_ci_low": float(np.exp(res["ci_low"])), "ratio_ci_high": float(np.exp(res["ci_high"])),
                "margin": margin if test == "noninferiority" else np.nan, "n_reference": int(res["n_reference"]),
                "n_candidate": int(res["n_candidate"]), "sign": "negative estimate = candidate smaller"})
    return ArmComparison(table=pd.DataFrame([row]), units=gd.units,
                         definition=_comparison_definition(test, margin, reference, candidate, at_t, gd.time_unit))
