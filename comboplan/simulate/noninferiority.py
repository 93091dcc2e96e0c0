r"""Non-inferiority done properly: margins from the reference's effect, three-arm designs, and the
structural sensitivity of the prediction that motivates them.

**Endpoint (one scale everywhere).**  Every animal contributes
:math:`y = \log(V(t)/V(0))`, the log of its relative tumour volume (RTV) at the endpoint day;
an arm's mean of :math:`y` is the log of its *geometric-mean RTV*, and a difference of arm
means is the log of a ratio of geometric means.  This is the scale of
:func:`comboplan.growth.endpoints.compare_arms` / ``log_rtv_test`` (the t tests),
:func:`comboplan.simulate.study_power` (``analysis="noninferiority"``) and of everything here.
The dose-reduction explorer (:func:`comboplan.simulate.dose_reduction`, endpoint
``"relative_size"``) uses the *arithmetic* mean RTV instead; with the same log-scale spread in
both arms the two ratios coincide (``AM = GM exp(sigma^2 / 2)`` for log-normal RTVs), otherwise
they differ and margins do not carry over between the two.

**Margin by effect preservation** (the fixed-margin method: FDA 2016 guidance "Non-Inferiority
Clinical Trials to Establish Effectiveness"; Rothmann et al. 2003 Stat Med 22:239).  With the
reference's effect over vehicle :math:`E = \bar y_V - \bar y_R` (> 0: the reference's tumours are
smaller), standard error :math:`s_E` and degrees of freedom :math:`\nu`,

.. math::

    M_1 = E - q_{level}\,s_E, \qquad M_2 = (1 - p)\,M_1,

:math:`q` the one-sided ``level`` quantile of Student's t (:math:`\nu` df) or of the normal
(no df), :math:`p` the fraction of the effect to preserve.  On the log scale the candidate's
geometric-mean RTV may be at most :math:`e^{M_2}` times the reference's.  Non-inferiority is
declared when the upper one-sided :math:`1-\alpha` bound of :math:`D = \bar y_C - \bar y_R`
lies below :math:`M_2`, i.e. the pooled t statistic :math:`(\hat D - M_2)/s_D < -t_{1-\alpha}`.

**Three-arm designs** (:func:`noninferiority_design`, vehicle + reference + candidate):

* ``method="95-95"`` (default without ``margin``): the *within-study, synthesis-free 95-95*
  method (Hung et al. 2003 Stat Med 22:213): each simulated study derives its own
  :math:`M_1, M_2` from its vehicle-vs-reference comparison (lower one-sided ``level`` bound,
  pooled t) and tests candidate vs reference against that :math:`M_2` (one-sided ``alpha``);
  non-inferiority also requires :math:`M_1 > 0` (the study shows the reference works).  The
  margin's uncertainty is not propagated into the test (that would be the synthesis method),
  which makes the procedure conservative.
* ``method="fixed"``: a margin :math:`M_2` fixed in advance (a number on the log scale, or an
  :class:`NIMargin` from historical data via :func:`margin_from_data`); one-sided pooled t test
  of candidate vs reference, exactly :func:`~comboplan.growth.endpoints.compare_arms` with
  ``test="noninferiority", margin=exp(M2) - 1``.
* ``method="retention"``: the three-arm retention-of-effect test (Pigeot et al. 2003 Stat Med
  22:883): H0 :math:`\mu_C - p\mu_R - (1-p)\mu_V \ge 0`, t test of the contrast with the
  variance pooled over the three arms (df :math:`n_V + n_R + n_C - 3`), after a one-sided test
  that the reference beats vehicle (both must reject: intersection-union, so the level is
  ``alpha``).

Power is the rejection rate over simulated studies (Monte-Carlo SE and exact interval, as
:func:`comboplan.simulate.study_power`), with the assurance beside it when parameter draws
are given (same random streams as :func:`comboplan.simulate.assurance`).

**Structural sensitivity** (:func:`structural_sensitivity`, :func:`eiro2024_sensitivity`):
change one modelling assumption at a time, re-calibrate where the assumption enters the
calibration, and report the predicted typical-animal relative size of every arm and the ratio
candidate / reference (a tornado plot: :func:`comboplan.plot.sensitivity.plot_tornado`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import DataError
from ..growth.endpoints import log_rtv_test
from ..results import ResultIO, check_kind, set_units
from .cohort import Arm, Dropout, ParameterDraws, PKPDModel, Readout, Variability
from .mcerror import format_probability, mc_interval
from .power import PowerResult, _analysis_input, _assurance_row, _check_design, _per_draw_power, _Setup, simulate_study
from .seeds import as_seed_sequence

__all__ = ["ENDPOINT", "NIMargin", "margin_effect_preservation", "margin_from_data", "NIAnalysis",
           "noninferiority_analysis", "NIDesignResult", "noninferiority_design", "NI_METHODS",
           "structural_sensitivity", "eiro2024_sensitivity", "EIRO2024_SENSITIVITY_BASELINE"]

#: the endpoint of every comparison in this module
ENDPOINT = ("log relative tumour volume y = log(V(day)/V(0)) per animal; arm mean = log geometric-mean RTV, "
            "differences = log ratios of geometric-mean RTVs")

NI_METHODS = ("95-95", "fixed", "retention")


# ---------------------------------------------------------------------------
# margins
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NIMargin:
    """A non-inferiority margin by effect preservation (immutable).

    Attributes
    ----------
    effect : float
        Reference effect over vehicle on the log geometric-mean RTV scale,
        ``mean log RTV(vehicle) - mean log RTV(reference)`` (> 0: reference smaller).
    se : float
        Its standard error (log scale).
    df : float or None
        Degrees of freedom of the t quantile; None = normal quantile.
    preserve : float
        Fraction of the effect to preserve (0-1).
    level : float
        One-sided confidence level of the lower bound ``M1`` (0.975 = lower limit of a
        two-sided 95 % interval, the FDA convention).
    quantile : float
        The quantile used, ``t_level(df)`` or ``z_level``.
    m1 : float
        ``effect - quantile x se`` (log scale): the effect of the reference that the data
        support at ``level``.
    m2 : float
        ``(1 - preserve) x m1`` (log scale): the non-inferiority margin.
    ratio : float
        ``exp(m2)``: the candidate's geometric-mean RTV may be at most this many times the
        reference's.
    scale : {"log", "ratio"}
        How ``effect`` was given to :func:`margin_effect_preservation`.
    source : str
        Where the effect came from.
    """

    effect: float
    se: float
    df: float | None
    preserve: float
    level: float
    quantile: float
    m1: float
    m2: float
    ratio: float
    scale: str = "log"
    source: str = ""

    @property
    def M1(self) -> float:
        """Alias of :attr:`m1` (log scale)."""
        return self.m1

    @property
    def M2(self) -> float:
        """Alias of :attr:`m2` (log scale)."""
        return self.m2

    @property
    def established(self) -> bool:
        """Whether ``M1 > 0``: the reference's effect over vehicle is shown at ``level``."""
        return bool(self.m1 > 0)

    @property
    def relative_margin(self) -> float:
        """``exp(m2) - 1``: the ``margin`` argument of
        :func:`~comboplan.growth.endpoints.compare_arms` (``test="noninferiority"``)."""
        return float(math.expm1(self.m2))

    def summary(self) -> str:
        """One plain-language sentence (two when the effect is not established)."""
        q = (f"t quantile {self.quantile:.3g}, {self.df:g} df" if self.df is not None
             else f"normal quantile {self.quantile:.3g}")
        src = f" ({self.source})" if self.source else ""
        head = (f"Reference effect over vehicle{src}: {self.effect:.3g} on the log geometric-mean RTV scale "
                f"(reference/vehicle ratio {math.exp(-self.effect):.3g}), SE {self.se:.3g}; "
                f"M1 = lower one-sided {self.level:.1%} bound = {self.m1:.3g} ({q})")
        if not self.established:
            return (head + ". M1 <= 0: the reference's effect over vehicle is not established at this level, so no "
                    "effect-preserving margin exists (non-inferiority to it would mean nothing).")
        return (head + f"; preserving {self.preserve:.0%} of it, M2 = {self.m2:.3g}: the candidate's geometric-mean "
                f"RTV may be at most {self.ratio:.3g} times the reference's.")


def _quantile(level: float, df) -> float:
    if df is None:
        return float(stats.norm.ppf(level))
    return float(stats.t.ppf(level, df))


def margin_effect_preservation(effect: float, se: float, *, df: float | None = None, preserve: float = 0.5,
                               level: float = 0.95, scale: str = "log", source: str = "") -> NIMargin:
    r"""Non-inferiority margin by the fixed-margin (effect-preservation) method.

    ``M1 = effect - q se`` is the lower one-sided ``level`` confidence bound of the reference's
    effect over vehicle; ``M2 = (1 - preserve) M1`` (FDA 2016 guidance on non-inferiority
    trials; Rothmann et al. 2003, Stat Med 22:239).  The endpoint is the log of the
    geometric-mean relative tumour volume ``V(day)/V(0)``; a margin ``m`` on that scale lets
    the candidate's geometric-mean RTV be at most ``exp(m)`` times the reference's.

    Parameters
    ----------
    effect : float
        With ``scale="log"``: ``mean log RTV(vehicle) - mean log RTV(reference)`` (log ratio of
        geometric-mean RTVs, > 0 when the reference works).  With ``scale="ratio"``: the
        geometric-mean RTV ratio reference / vehicle (> 0; e.g. 0.45), turned into
        ``-log(ratio)``.
    se : float
        Standard error of the effect on the log scale (> 0).
    df : float, optional
        Degrees of freedom of the t quantile (e.g. ``n_V + n_R - 2``); None = normal quantile.
    preserve : float
        Fraction of the reference's effect the candidate must keep, in [0, 1] (0.5 = half).
    level : float
        One-sided confidence level of ``M1``, in (0.5, 1).  0.95 = lower limit of a two-sided
        90 % interval; the FDA's clinical convention (two-sided 95 %) is ``level=0.975``.
    scale : {"log", "ratio"}
        Scale of ``effect`` (``se`` is always on the log scale).
    source : str
        Description printed by :meth:`NIMargin.summary`.

    Returns
    -------
    NIMargin
        ``m1``, ``m2`` (log scale), ``ratio = exp(m2)`` and the inputs.
    """
    if scale not in ("log", "ratio"):
        raise DataError(f"scale must be 'log' (effect = log ratio) or 'ratio' (geometric-mean RTV ratio "
                        f"reference/vehicle); got {scale!r}.")
    effect = float(effect)
    if scale == "ratio":
        if not (np.isfinite(effect) and effect > 0):
            raise DataError(f"with scale='ratio' the effect is the geometric-mean RTV ratio reference/vehicle and must "
                            f"be > 0; got {effect!r}.")
        effect = -math.log(effect)
    if not np.isfinite(effect):
        raise DataError(f"effect must be finite (log ratio of geometric-mean RTVs); got {effect!r}.")
    se = float(se)
    if not (np.isfinite(se) and se > 0):
        raise DataError(f"se must be a finite standard error > 0 (log scale); got {se!r}.")
    if df is not None:
        df = float(df)
        if not (np.isfinite(df) and df > 0):
            raise DataError(f"df must be > 0 (degrees of freedom) or None for the normal quantile; got {df!r}.")
    preserve = float(preserve)
    if not 0.0 <= preserve <= 1.0:
        raise DataError(f"preserve must lie in [0, 1] (fraction of the reference's effect kept); got {preserve!r}.")
    level = float(level)
    if not 0.5 < level < 1.0:
        raise DataError(f"level is a one-sided confidence level in (0.5, 1) (0.95, or 0.975 for a two-sided 95 % "
                        f"interval); got {level!r}.")
    q = _quantile(level, df)
    m1 = effect - q * se
    m2 = (1.0 - preserve) * m1
    return NIMargin(effect=effect, se=se, df=df, preserve=preserve, level=level, quantile=q, m1=m1, m2=m2,
                    ratio=math.exp(m2), scale=scale, source=source)


def _log_rtv_by_arm(data, subject, arm, time, size, day, arms_needed, validate_kwargs):
    """Per-animal log RTV at ``day`` of the named arms (as :func:`compare_arms` computes it)."""
    from ..growth.data import as_growth_data
    from ..growth.endpoints import _size_at

    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    arms = list(gd.arms)
    for role, a in arms_needed.items():
        if a not in arms:
            raise DataError(f"{role} arm {a!r} is not in the data; arms are {arms}.")
    if isinstance(day, str):
        if day != "last-common-day":
            raise DataError(f"day must be a time ({gd.time_unit}) or 'last-common-day'; got {day!r}.")
        day = gd.last_common_time()
    day = float(day)
    sizes = gd.substituted_size("lloq") if gd.censored.any() else gd.size
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(_size_at(gd, sizes, day) / gd.baseline_size())
    out = {}
    for role, a in arms_needed.items():
        v = y[gd.subject_arm == arms.index(a)]
        if np.isfinite(v).sum() < 2:
            raise DataError(f"{role} arm {a!r} has {int(np.isfinite(v).sum())} animal(s) measured at {day:g} "
                            f"{gd.time_unit}; at least 2 are needed.")
        out[role] = v
    return out, day, gd.time_unit


def _welch(y_a, y_b):
    """Welch difference mean(a) - mean(b), its SE and Welch-Satterthwaite df."""
    a, b = y_a[np.isfinite(y_a)], y_b[np.isfinite(y_b)]
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return float(a.mean() - b.mean()), se, float(df)


def margin_from_data(data, *, subject: str | None = None, arm: str | None = None, time: str | None = None,
                     size: str | None = None, reference, vehicle, day: float | str, preserve: float = 0.5,
                     level: float = 0.95, variance: str = "pooled", **validate_kwargs) -> NIMargin:
    """Effect-preserving margin from a study with vehicle and reference arms.

    The reference's effect over vehicle is ``mean log RTV(vehicle) - mean log RTV(reference)``
    at ``day`` (log ratio of geometric-mean RTVs), with the pooled two-sample t standard error
    and ``n_V + n_R - 2`` df (exactly :func:`comboplan.growth.endpoints.compare_arms`, whose
    estimate is minus this effect) or Welch's; then :func:`margin_effect_preservation`.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (name the columns) or validated data.
    subject, arm, time, size : str
        Column names.
    reference, vehicle : label
        The reference (active control) and vehicle arms.
    day : float or "last-common-day"
        Endpoint time (the data's time unit, usually days).  Animals not measured then are
        left out.
    preserve, level
        As in :func:`margin_effect_preservation`.
    variance : {"pooled", "welch"}
        Pooled-variance t (df ``n_V + n_R - 2``) or Welch (Satterthwaite df).
    **validate_kwargs
        Passed to :func:`comboplan.growth.validate_growth`.

    Returns
    -------
    NIMargin
    """
    if variance not in ("pooled", "welch"):
        raise DataError(f"variance must be 'pooled' or 'welch'; got {variance!r}.")
    y, day, tu = _log_rtv_by_arm(data, subject, arm, time, size, day, {"reference": reference, "vehicle": vehicle},
                                 validate_kwargs)
    if variance == "pooled":
        r = log_rtv_test(y["reference"], y["vehicle"], test="ttest")
        effect, se, df = -float(r["estimate"]), float(r["stderr"]), float(r["df"])
    else:
        effect, se, df = _welch(y["vehicle"], y["reference"])
    if not (np.isfinite(se) and se > 0):
        raise DataError(f"the standard error of the reference-vs-vehicle effect is {se!r}: the log RTVs at {day:g} "
                        f"{tu} do not vary; a margin cannot be derived.")
    src = (f"{reference!r} vs {vehicle!r} at {day:g} {tu}, {variance} t, n = {int(np.isfinite(y['vehicle']).sum())} "
           f"+ {int(np.isfinite(y['reference']).sum())}")
    return margin_effect_preservation(effect, se, df=df, preserve=preserve, level=level, source=src)


# ---------------------------------------------------------------------------
# the non-inferiority decision (one study or a batch of simulated studies)
# ---------------------------------------------------------------------------

def _arm_moments(y):
    """(mean, sum of squares about the mean, n) over the last axis, NaN = not evaluable."""
    n = np.isfinite(y).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nansum(y, -1) / n
        ss = np.nansum((y - m[..., None]) ** 2, -1)
    return m, ss, n


def _fixed_m2(margin) -> float:
    if isinstance(margin, NIMargin):
        return float(margin.m2)
    m2 = float(margin)
    if not np.isfinite(m2):
        raise DataError(f"margin must be a finite M2 on the log scale (e.g. log(1.25)) or an NIMargin; got {margin!r}.")
    return m2


def _decide(y_v, y_r, y_c, *, method: str, preserve: float, level: float, alpha: float, margin=None) -> dict:
    """Non-inferiority statistics of every study: y_* arrays (..., n_animals) of log RTV (NaN = missing).

    Returns arrays: estimate (C - R), stderr, df, effect (V - R), effect_se, effect_df, m1, m2,
    p_value (reject when < alpha), established."""
    cr = log_rtv_test(y_c, y_r, test="ttest")
    out = {"estimate": cr["estimate"], "stderr": cr["stderr"], "df": cr["df"]}
    if method in ("95-95", "fixed"):
        vr = log_rtv_test(y_v, y_r, test="ttest")
        eff, se_e, df_e = vr["estimate"], vr["stderr"], vr["df"]
        with np.errstate(invalid="ignore"):
            m1 = eff - stats.t.ppf(level, df_e) * se_e
        if method == "95-95":
            m2 = (1.0 - preserve) * m1
            established = m1 > 0
        else:
            m2 = np.full_like(m1, _fixed_m2(margin))
            established = np.ones(m1.shape, bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = stats.t.cdf((cr["estimate"] - m2) / cr["stderr"], cr["df"])
        if method == "95-95":  # no margin without the study's own M1 (NaN: not analysable); M1 <= 0: no claim
            p = np.where(np.isfinite(m1), np.where(established, p, 1.0), np.nan)
        out.update(effect=eff, effect_se=se_e, effect_df=df_e, m1=m1, m2=m2, p_value=p, established=established)
        return out
    # retention of effect (Pigeot et al. 2003): contrast with variance pooled over the three arms
    (mv, sv, nv), (mr, sr, nr), (mc, sc, nc) = (_arm_moments(y) for y in (y_v, y_r, y_c))
    df = (nv + nr + nc - 3).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(df > 0, df, np.nan)
        s2 = (sv + sr + sc) / df
        contrast = mc - preserve * mr - (1.0 - preserve) * mv
        se_l = np.sqrt(s2 * (1.0 / nc + preserve ** 2 / nr + (1.0 - preserve) ** 2 / nv))
        p_ret = stats.t.cdf(contrast / se_l, df)
        eff = mv - mr
        se_e = np.sqrt(s2 * (1.0 / nv + 1.0 / nr))
        p_sup = stats.t.sf(eff / se_e, df)
        m1 = eff - stats.t.ppf(level, df) * se_e
    p = np.maximum(p_ret, p_sup)
    out.update(effect=eff, effect_se=se_e, effect_df=df, m1=m1, m2=(1.0 - preserve) * eff, p_value=p,
               established=p_sup < alpha, contrast=contrast, contrast_se=se_l, retention_df=df)
    return out


def _check_method(method, margin):
    if method is None:
        method = "fixed" if margin is not None else "95-95"
    if method not in NI_METHODS:
        raise DataError(f"method must be one of {NI_METHODS}; got {method!r}.")
    if method == "fixed" and margin is None:
        raise DataError("method='fixed' needs margin= (M2 on the log scale, e.g. math.log(1.25), or an NIMargin from "
                        "margin_from_data / margin_effect_preservation).")
    if method != "fixed" and margin is not None:
        raise DataError(f"margin= is only used by method='fixed'; method {method!r} derives the margin from the "
                        "study's own vehicle arm.")
    if margin is not None:
        _fixed_m2(margin)
    return method


def _check_probabilities(preserve, level, alpha):
    if not 0.0 <= float(preserve) <= 1.0:
        raise DataError(f"preserve must lie in [0, 1] (fraction of the reference's effect kept); got {preserve!r}.")
    if not 0.5 < float(level) < 1.0:
        raise DataError(f"level is a one-sided confidence level in (0.5, 1); got {level!r}.")
    if not 0.0 < float(alpha) < 0.5:
        raise DataError(f"alpha is a one-sided significance level in (0, 0.5); got {alpha!r}.")


_METHOD_TEXT = {
    "95-95": ("within-study 95-95 (synthesis-free) method: M1 = lower one-sided {level:.1%} bound of the study's own "
              "vehicle - reference effect (pooled t), M2 = (1 - {preserve:g}) M1; non-inferior when M1 > 0 and the "
              "upper one-sided {conf:.1%} bound of candidate - reference < M2 (pooled t)"),
    "fixed": ("fixed margin M2 = {m2:.4g} (candidate's geometric-mean RTV at most {ratio:.4g} x the reference's); "
              "non-inferior when the upper one-sided {conf:.1%} bound of candidate - reference < M2 (pooled t)"),
    "retention": ("retention of effect (Pigeot et al. 2003): H0 mu_C - {preserve:g} mu_R - (1 - {preserve:g}) mu_V >= 0, "
                  "t test with the variance pooled over the three arms, together with the one-sided test that the "
                  "reference beats vehicle (both at alpha {alpha:g})"),
}


def _method_text(method, preserve, level, alpha, margin):
    m2 = _fixed_m2(margin) if margin is not None else float("nan")
    return _METHOD_TEXT[method].format(level=level, preserve=preserve, conf=1 - alpha, m2=m2, ratio=math.exp(m2),
                                       alpha=alpha)


@dataclass(frozen=True)
class NIAnalysis(ResultIO):
    """Non-inferiority analysis of one three-arm study (immutable).

    Attributes
    ----------
    table : pandas.DataFrame
        One row: ``method, day, estimate`` (mean log RTV candidate - reference), ``stderr, df,
        upper`` (upper one-sided ``1 - alpha`` bound), ``ratio`` (``exp(estimate)``, ratio of
        geometric-mean RTVs), ``effect, effect_se`` (vehicle - reference), ``m1, m2`` (log
        scale), ``margin_ratio`` (``exp(m2)``), ``p_value, noninferior, n_vehicle,
        n_reference, n_candidate``.
    margin : NIMargin or None
        The margin (95-95: from the study; fixed: as given; retention: None).
    definition : str
    """

    table: pd.DataFrame
    margin: NIMargin | None
    definition: str

    @property
    def noninferior(self) -> bool:
        """Whether non-inferiority is declared."""
        return bool(self.table["noninferior"].iloc[0])

    @property
    def p_value(self) -> float:
        """One-sided p-value of the decision (reject when < alpha)."""
        return float(self.table["p_value"].iloc[0])

    def summary(self) -> str:
        """Plain-text summary."""
        r = self.table.iloc[0]
        lines = [self.definition]
        if self.margin is not None:
            lines.append(self.margin.summary())
        verdict = "non-inferior" if r["noninferior"] else "non-inferiority not shown"
        lines.append(f"Candidate / reference geometric-mean RTV ratio {r['ratio']:.3g} (log {r['estimate']:.3g}, SE "
                     f"{r['stderr']:.3g}); one-sided p = {r['p_value']:.3g}: {verdict}.")
        return "\n".join(lines)

    def to_xarray(self):
        """The analysis as an :class:`xarray.Dataset` (dim ``analysis``, one entry), ``units`` per variable:
        ``day`` in days, log-scale quantities (estimate, upper, m1, m2, effect) as natural-log RTV."""
        import xarray as xr

        t = self.table.reset_index(drop=True)
        ds = xr.Dataset({c: (("analysis",), t[c].to_numpy() if t[c].dtype.kind in "iufb" else t[c].astype(str).to_numpy())
                         for c in t.columns}, coords={"analysis": np.arange(len(t))})
        log_ = "1 (natural-log RTV)"
        set_units(ds, {c: "" for c in t.columns if t[c].dtype.kind not in "iufb"})
        set_units(ds, {"day": "day", "estimate": log_, "stderr": log_, "upper": log_, "m1": log_, "m2": log_,
                       "effect": log_, "effect_se": log_}, default="1")
        ds.attrs["definition"] = self.definition
        return ds

    def plot(self, *, kind: str = "interval", ax=None, **kwargs):
        """Candidate / reference RTV ratio with its one-sided upper bound against the margin; returns the Axes.

        Parameters
        ----------
        kind : {"interval"}
        ax : matplotlib.axes.Axes, optional
        **kwargs
            Passed to ``Axes.errorbar``.
        """
        from ..plot.simulate import plot_ratio_intervals

        check_kind(kind, ("interval",), "NIAnalysis")
        r = self.table.iloc[0]
        ratio, upper = float(r["ratio"]), float(np.exp(r["upper"]))
        margin = float(r["margin_ratio"]) if np.isfinite(r.get("margin_ratio", np.nan)) else None
        return plot_ratio_intervals([ratio], [ratio], [ratio + max(upper - ratio, 0.0)], [f"day {float(r['day']):g}"],
                                    label="RTV ratio and upper bound",
                                    xlabel="geometric-mean RTV ratio, candidate / reference", margin=margin,
                                    margin_label="margin (exp M2)", ax=ax, **kwargs)


def noninferiority_analysis(data, *, subject: str | None = None, arm: str | None = None, time: str | None = None,
                           size: str | None = None, reference, candidate, vehicle=None, day: float | str,
                           method: str | None = None, margin=None, preserve: float = 0.5, level: float = 0.95,
                           alpha: float = 0.05, **validate_kwargs) -> NIAnalysis:
    """Analyse one study for non-inferiority of ``candidate`` to ``reference`` on log RTV.

    The same decision as every simulated study of :func:`noninferiority_design` (tested).

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (name the columns) or validated data.
    subject, arm, time, size : str
        Column names.
    reference, candidate, vehicle : label
        Arms (``vehicle`` is needed by the ``"95-95"`` and ``"retention"`` methods).
    day : float or "last-common-day"
        Endpoint time (data time unit).
    method : {"95-95", "fixed", "retention"}, optional
        Default ``"fixed"`` when ``margin`` is given, else ``"95-95"`` (see the module notes).
    margin : float or NIMargin, optional
        Fixed margin ``M2`` on the log scale (``math.log(1.25)``: candidate's geometric-mean RTV
        at most 1.25 x the reference's).
    preserve, level
        As in :func:`margin_effect_preservation`.
    alpha : float
        One-sided significance level of the non-inferiority test.
    **validate_kwargs
        Passed to :func:`comboplan.growth.validate_growth`.

    Returns
    -------
    NIAnalysis
    """
    method = _check_method(method, margin)
    _check_probabilities(preserve, level, alpha)
    need = {"reference": reference, "candidate": candidate}
    if method != "fixed":
        if vehicle is None:
            raise DataError(f"method {method!r} needs vehicle=<the vehicle arm>.")
        need["vehicle"] = vehicle
    y, day, tu = _log_rtv_by_arm(data, subject, arm, time, size, day, need, validate_kwargs)
    y_v = y.get("vehicle", np.full(2, np.nan))
    res = _decide(y_v[None], y["reference"][None], y["candidate"][None], method=method, preserve=preserve,
                  level=level, alpha=alpha, margin=margin)
    r = {k: float(np.asarray(v)[0]) for k, v in res.items() if k != "established"}
    upper = r["estimate"] + float(stats.t.ppf(1 - alpha, r["df"])) * r["stderr"]
    row = {"method": method, "day": day, "estimate": r["estimate"], "stderr": r["stderr"], "df": r["df"],
           "upper": upper, "ratio": math.exp(r["estimate"]), "effect": r["effect"], "effect_se": r["effect_se"],
           "m1": r["m1"], "m2": r["m2"], "margin_ratio": math.exp(r["m2"]) if np.isfinite(r["m2"]) else np.nan,
           "p_value": r["p_value"], "noninferior": bool(r["p_value"] < alpha),
           "n_vehicle": int(np.isfinite(y_v).sum()) if "vehicle" in y else 0,
           "n_reference": int(np.isfinite(y["reference"]).sum()), "n_candidate": int(np.isfinite(y["candidate"]).sum())}
    nim = None
    if method == "fixed":
        nim = margin if isinstance(margin, NIMargin) else None
    elif method == "95-95":
        nim = margin_effect_preservation(r["effect"], r["effect_se"], df=r["effect_df"], preserve=preserve,
                                         level=level, source=f"{reference!r} vs {vehicle!r} at {day:g} {tu}, "
                                                             "this study, pooled t")
    definition = (f"Endpoint: {ENDPOINT}, at {day:g} {tu}. Method: "
                  + _method_text(method, preserve, level, alpha, margin) + ".")
    return NIAnalysis(table=pd.DataFrame([row]), margin=nim, definition=definition)


# ---------------------------------------------------------------------------
# designs: power and assurance of a three-arm study
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NIDesignResult(PowerResult):
    """Power (and assurance) of a three-arm non-inferiority design per n (immutable).

    A :class:`comboplan.simulate.PowerResult` whose ``table`` also has ``mean_effect`` (mean
    over simulated studies of the vehicle - reference effect, log scale), ``mean_m1``,
    ``mean_m2`` (log scale), ``margin_ratio`` (``exp(mean_m2)``) and ``p_established``
    (fraction of studies in which the reference beat vehicle: ``M1 > 0`` for 95-95, the
    superiority test for retention, 1 for a fixed margin).  ``mean_estimate`` is the mean of
    ``mean log RTV candidate - reference``.
    """

    def summary(self) -> str:
        """Method, endpoint, then the power lines of :meth:`PowerResult.summary`; probabilities
        are never printed as exactly 0 or 1."""
        s = self.settings
        lines = [f"Three-arm non-inferiority design: vehicle {s['roles']['vehicle']!r}, reference "
                 f"{s['roles']['reference']!r}, candidate {s['roles']['candidate']!r}; endpoint day "
                 f"{s['endpoint_day']:g}.",
                 f"Endpoint: {ENDPOINT}.", f"Method: {s['method_text']}."]
        base = super().summary().split("\n")
        lines += base[:2]
        for (_, r), line in zip(self.table.iterrows(), base[2:2 + len(self.table)]):
            extra = ""
            if s["method"] != "fixed":
                extra = (f"; mean M2 {r['mean_m2']:.3g} (ratio {r['margin_ratio']:.3g}); reference beat vehicle in "
                         f"{format_probability(r['p_established'], int(r['n_studies']))} of studies")
            lines.append(line + extra)
        lines += base[2 + len(self.table):]
        return "\n".join(lines)


def _check_arm(a, role):
    if not isinstance(a, Arm):
        raise DataError(f"{role}_arm must be an Arm (comboplan.simulate.Arm); got {type(a).__name__}.")
    return a


def noninferiority_design(model: PKPDModel, *, reference_arm: Arm, candidate_arm: Arm, vehicle_arm: Arm, days,
                          endpoint_day: float | None = None, preserve: float = 0.5, margin=None,
                          method: str | None = None, level: float = 0.95, alpha: float = 0.05,
                          n_values: Sequence[int], n_studies: int = 1000, draws: ParameterDraws | None = None,
                          studies_per_draw: int | None = None, variability: Variability | None = None,
                          readout: Readout | None = None, dropout: Dropout | None = None,
                          target_power: float = 0.8, seed=None, max_step: float = 0.2) -> NIDesignResult:
    """Power (and assurance) of a vehicle + reference + candidate non-inferiority study per n.

    Whole studies are simulated (``n`` new animals per arm, readout noise, dropout; the
    machinery of :func:`comboplan.simulate.study_power`: ``simulate_study`` for the conditional
    power, the per-draw engine of :func:`comboplan.simulate.assurance` with draws) and each is
    analysed as :func:`noninferiority_analysis` analyses a real study.  Endpoint: log RTV at
    ``endpoint_day`` (log geometric-mean RTV per arm), see the module notes.

    Parameters
    ----------
    model : PKPDModel
        Model at its typical values.
    reference_arm, candidate_arm, vehicle_arm : Arm
        The active control (e.g. paclitaxel 10 mg/kg), the candidate (e.g. 5 mg/kg + primed
        secretome) and the vehicle; names must differ.
    days : array_like
        Imaging days, starting at 0 (baseline).
    endpoint_day : float, optional
        Endpoint (an imaging day; default the last).
    preserve : float
        Fraction of the reference's effect to preserve (95-95 and retention), 0-1.
    margin : float or NIMargin, optional
        Fixed ``M2`` on the log scale (method ``"fixed"``).
    method : {"95-95", "fixed", "retention"}, optional
        Default: ``"fixed"`` with ``margin``, else ``"95-95"``.
    level : float
        One-sided level of the study's ``M1`` (95-95).
    alpha : float
        One-sided significance level of the non-inferiority test.
    n_values : sequence of int
        Animals per arm to evaluate (each >= 2).
    n_studies : int
        Simulated studies per n at the typical values.
    draws : ParameterDraws, optional
        Parameter uncertainty: adds the assurance (power averaged over the draws).
    studies_per_draw : int, optional
        Studies per draw for the assurance (default ``ceil(n_studies / n_draws)``).
    variability, readout, dropout, max_step
        As in :func:`comboplan.simulate.simulate_cohort`.
    target_power : float
        Sets ``settings["n_required"]`` (and ``"n_required_assurance"`` with draws).
    seed : None, int, SeedSequence or Generator
        The same seed for every n (common random numbers, as :func:`~comboplan.simulate.sample_size`).

    Returns
    -------
    NIDesignResult
        ``table`` per n: ``power, mc_se, ci_low, ci_high`` (0-1), ``mean_estimate``,
        ``mean_effect``, ``mean_m1``, ``mean_m2`` (log scale), ``margin_ratio``,
        ``p_established``; with draws the assurance columns of :class:`PowerResult`.
    """
    method = _check_method(method, margin)
    _check_probabilities(preserve, level, alpha)
    arms = [_check_arm(vehicle_arm, "vehicle"), _check_arm(reference_arm, "reference"),
            _check_arm(candidate_arm, "candidate")]
    names = [a.name for a in arms]
    if len(set(names)) != 3:
        raise DataError(f"the vehicle, reference and candidate arms need three different names; got {names}.")
    if not len(n_values):
        raise DataError("n_values must hold at least one group size (animals per arm).")
    ns = sorted({int(n) for n in n_values})
    for n in ns:
        _check_design(n, days)
    days = _check_design(ns[0], days)
    e_idx = days.size - 1 if endpoint_day is None else int(np.searchsorted(days, float(endpoint_day)))
    if e_idx >= days.size or (endpoint_day is not None and days[e_idx] != float(endpoint_day)):
        raise DataError(f"endpoint_day {endpoint_day!r} is not an imaging day ({days.tolist()}).")
    if int(n_studies) < 1:
        raise DataError(f"n_studies must be >= 1; got {n_studies!r}.")
    if not 0 < target_power < 1:
        raise DataError(f"target_power must be in (0, 1); got {target_power!r}.")
    if draws is not None and not isinstance(draws, ParameterDraws):
        raise DataError(f"draws must be ParameterDraws (e.g. from draws_from_covariance); got {type(draws).__name__}.")

    def statistics(obs):
        sizes, sa = _analysis_input(obs)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.log(sizes[:, :, e_idx] / sizes[:, :, 0])
        return _decide(y[:, sa == 0], y[:, sa == 1], y[:, sa == 2], method=method, preserve=preserve, level=level,
                       alpha=alpha, margin=margin)

    def analyse(obs):
        st = statistics(obs)
        return st["estimate"], st["p_value"]

    setup = _Setup(arms, days, {"vehicle": 0, "reference": 1, "candidate": 2}, e_idx, analyse)
    root = as_seed_sequence(seed)
    rows, estimates, per_draw = [], {}, {}
    S = int(n_studies)
    spd = None
    for n in ns:
        obs = simulate_study(model, arms, n, days, n_studies=S, variability=variability, readout=readout,
                             dropout=dropout, seed=root, max_step=max_step, as_frame=False)
        st = statistics(obs)
        p = st["p_value"]
        ok = np.isfinite(p)
        k = int(((p < alpha) & ok).sum())
        pw = k / S
        lo, hi = mc_interval(k, S, 0.95)

        def _mean(v):
            v = np.asarray(v, float)
            return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")

        m2 = _mean(st["m2"])
        row = {"n_per_arm": n, "duration": float(days[-1]), "interval": float(np.median(np.diff(days))),
               "power": pw, "mc_se": math.sqrt(pw * (1 - pw) / S), "ci_low": lo, "ci_high": hi, "n_studies": S,
               "failed": int((~ok).sum()), "mean_estimate": _mean(st["estimate"]), "mean_effect": _mean(st["effect"]),
               "mean_m1": _mean(st["m1"]), "mean_m2": m2, "margin_ratio": math.exp(m2) if np.isfinite(m2) else np.nan,
               "p_established": float(np.mean(st["established"] & ok))}
        key = (n, float(days[-1]))
        estimates[key] = (st["estimate"], p)
        if draws is not None:
            spd = math.ceil(S / draws.n_draws) if studies_per_draw is None else int(studies_per_draw)
            if spd < 1:
                raise DataError(f"studies_per_draw must be >= 1; got {studies_per_draw!r}.")
            powers, failed = _per_draw_power(model, setup, n, draws, spd, alpha, root, variability, readout, dropout,
                                             max_step)
            row.update(_assurance_row(powers, spd, failed))
            per_draw[key] = powers
        rows.append(row)
    table = pd.DataFrame(rows)
    hit = table.index[table["power"] >= target_power]
    settings = {"analysis": f"noninferiority ({method})", "method": method, "alpha": alpha, "level": level,
                "preserve": preserve, "n_studies": S, "seed": seed, "endpoint_day": float(days[e_idx]),
                "endpoint": ENDPOINT, "days": days.tolist(),
                "convention": "estimate = mean log RTV candidate - reference (log ratio of geometric-mean RTVs), "
                              "negative = candidate smaller",
                "method_text": _method_text(method, preserve, level, alpha, margin),
                "roles": {"vehicle": names[0], "reference": names[1], "candidate": names[2]},
                "margin": None if margin is None else _fixed_m2(margin),
                "readout": (readout or Readout()).kind, "target_power": target_power,
                "n_required": int(table.loc[hit[0], "n_per_arm"]) if len(hit) else None}
    if draws is not None:
        hit_a = table.index[table["assurance"] >= target_power]
        settings.update({"n_draws": draws.n_draws, "studies_per_draw": spd, "uncertainty": draws.source or "draws",
                         "n_required_assurance": int(table.loc[hit_a[0], "n_per_arm"]) if len(hit_a) else None})
    return NIDesignResult(table=table, settings=settings, estimates=estimates, per_draw=per_draw)


# ---------------------------------------------------------------------------
# structural sensitivity
# ---------------------------------------------------------------------------

def _typical_relative_size(model: PKPDModel, arm: Arm, day: float) -> float:
    """Typical-animal V(day)/V(0) (as :func:`comboplan.simulate.paper.predicted_arms`)."""
    from .pd import simulate_growth

    w = simulate_growth(np.array([0.0, day]), model.growth, arm.exposures(model.pk), model.effects,
                        model.interaction)[0]
    return float(w[1] / w[0])


def _alternative_items(name, alts):
    if isinstance(alts, Mapping):
        return [(v, str(lab)) for v, lab in alts.items()]
    if isinstance(alts, (str, bytes)) or not isinstance(alts, Sequence):
        alts = [alts]
    return [(v, f"{name} = {v}") for v in alts]


def structural_sensitivity(make_model: Callable[..., PKPDModel], baseline: Mapping[str, Any],
                           alternatives: Mapping[str, Sequence | Mapping], arms, *, candidate: str, reference: str,
                           day: float = 14.0, baseline_label: str = "baseline") -> pd.DataFrame:
    """One-at-a-time sensitivity of arm predictions to structural assumptions.

    For the baseline and then for every alternative value of every assumption (the others at
    their baseline values), builds the model with ``make_model(**assumptions)`` (which may
    re-calibrate) and predicts the typical animal's relative size ``V(day)/V(0)`` in every arm
    and the ratio candidate / reference.

    Parameters
    ----------
    make_model : callable
        ``make_model(**assumptions) -> PKPDModel``, called with every key of ``baseline``.
    baseline : mapping
        Baseline value of every assumption.
    alternatives : mapping
        Per assumption (a key of ``baseline``), the alternative values: a sequence (labels
        ``"name = value"``) or a mapping value -> label.
    arms : sequence of Arm, or callable
        The arms, or ``arms(**assumptions) -> sequence of Arm`` when an assumption lives in a
        regimen (e.g. a product's effect half-life).
    candidate, reference : str
        Arm names of the ratio ``candidate / reference``.
    day : float
        Day after the first dose (> 0).
    baseline_label : str
        Label of the baseline row.

    Returns
    -------
    pandas.DataFrame
        ``assumption`` ("baseline" for the first row), ``value``, ``label``, one column per arm
        (typical-animal ``V(day)/V(0)``, fold of day 0), ``ratio`` (candidate / reference,
        dimensionless), ``delta_vs_base`` (ratio minus the baseline ratio).  ``attrs`` hold
        ``candidate``, ``reference``, ``day`` and ``baseline_ratio``.
    """
    if not callable(make_model):
        raise DataError("make_model must be a callable make_model(**assumptions) -> PKPDModel.")
    baseline = dict(baseline)
    unknown = [k for k in alternatives if k not in baseline]
    if unknown:
        raise DataError(f"alternatives for {unknown} have no baseline value; baseline has {sorted(baseline)}.")
    if not (np.isfinite(day) and day > 0):
        raise DataError(f"day must be > 0 (days after the first dose); got {day!r}.")
    arms_of = arms if callable(arms) else (lambda **_: arms)

    def predict(assumptions):
        model = make_model(**assumptions)
        if not isinstance(model, PKPDModel):
            raise DataError(f"make_model must return a PKPDModel; got {type(model).__name__}.")
        arm_list = list(arms_of(**assumptions))
        names = [a.name for a in arm_list]
        for role, a in (("candidate", candidate), ("reference", reference)):
            if a not in names:
                raise DataError(f"{role} arm {a!r} is not among the arms {names}.")
        if len(set(names)) != len(names):
            raise DataError(f"arm names must be unique; got {names}.")
        return {a.name: _typical_relative_size(model, a, float(day)) for a in arm_list}

    rows = []
    base_pred = predict(baseline)
    base_ratio = base_pred[candidate] / base_pred[reference]
    rows.append({"assumption": "baseline", "value": None, "label": baseline_label, **base_pred, "ratio": base_ratio,
                 "delta_vs_base": 0.0})
    for name, alts in alternatives.items():
        for value, label in _alternative_items(name, alts):
            pred = predict({**baseline, name: value})
            ratio = pred[candidate] / pred[reference]
            rows.append({"assumption": name, "value": value, "label": label, **pred, "ratio": ratio,
                         "delta_vs_base": ratio - base_ratio})
    out = pd.DataFrame(rows)
    out.attrs.update({"candidate": candidate, "reference": reference, "day": float(day),
                      "baseline_ratio": float(base_ratio)})
    return out


#: baseline values of the Eiro 2024 structural assumptions (A2-A5 of comboplan.simulate.paper)
EIRO2024_SENSITIVITY_BASELINE = {"ip_bioavailability": 1.0, "control_growth": "calibrated", "k2_factor": 1.0,
                                 "secretome_half_life": 1.0}

_EIRO_ARMS = ("vehicle", "ptx10", "ptx5", "primed", "ptx5+primed")


def _eiro_regimens(half_life: float):
    from .paper import _regimens
    from .exposure import secretome

    ptx5, primed = _regimens()
    if half_life != primed.half_life:
        primed = secretome("primed", "3x/week from day 0 to 21", half_life=float(half_life), potency=1.0)
    return ptx5, primed


def _eiro_arms(half_life: float = 1.0, **_):
    ptx5, primed = _eiro_regimens(half_life)
    return [Arm("vehicle"), Arm("ptx10", [ptx5.with_amount(10.0)]), Arm("ptx5", [ptx5.with_amount(5.0)]),
            Arm("primed", [], [primed]), Arm("ptx5+primed", [ptx5.with_amount(5.0)], [primed])]


def _eiro_model(theta, bioavailability: float, k2_factor: float):
    """calibrate_eiro2024's model (``paper._model``) with A3 / A4 replaced."""
    from ..models.pk import paclitaxel_mouse
    from .paper import _model
    from .pd import SIMEONI_K2_PACLITAXEL

    m = _model(theta)
    if bioavailability != 1.0:
        m = replace(m, pk={**m.pk, "paclitaxel": paclitaxel_mouse(bioavailability={"ip": float(bioavailability)})})
    if k2_factor != 1.0:
        eff = m.effects["paclitaxel"]
        m = replace(m, effects={**m.effects, "paclitaxel": replace(eff, potency=SIMEONI_K2_PACLITAXEL * k2_factor)})
    return m


def _recalibrate_eiro2024(ip_bioavailability: float = 1.0, control_growth: str = "calibrated",
                          k2_factor: float = 1.0, secretome_half_life: float = 1.0) -> dict:
    """Least-squares calibration of (lambda0, secretome potency, gamma) under changed assumptions.

    The three printed day-14 values and assumption A7 (log-scale SE from the SD backed out of the
    printed p-values, as :func:`comboplan.simulate.calibrate_eiro2024`), the starting
    values and bounds of :func:`comboplan.simulate.calibrate_eiro2024`; with
    ``control_growth="A2"`` a fourth pseudo-observation: the control at day 14 equals the
    5 mg/kg arm's printed value (A2; the same SD over the study's 4 control mice)."""
    from scipy.optimize import least_squares

    from ..data.datasets import load_dataset
    from .pd import simulate_growth

    if control_growth not in ("calibrated", "A2"):
        raise DataError(f"control_growth must be 'calibrated' (control from the fitted growth rate) or 'A2' (control "
                        f"grows like the 5 mg/kg arm); got {control_growth!r}.")
    for nm, v in (("ip_bioavailability", ip_bioavailability), ("k2_factor", k2_factor),
                  ("secretome_half_life", secretome_half_life)):
        if not (np.isfinite(v) and v > 0):
            raise DataError(f"{nm} must be > 0; got {v!r}.")
    if ip_bioavailability > 1:
        raise DataError(f"ip_bioavailability is a fraction in (0, 1]; got {ip_bioavailability!r}.")
    data = load_dataset("eiro2024_xenograft")
    obs = {r.arm: r.tumor_volume_pct / 100.0 for r in data.itertuples()}
    y = np.log([obs["paclitaxel"], obs["CM-hUCESC_chemo"], obs["paclitaxel + CM-hUCESC_chemo"]])
    from .paper import eiro2024_evidence
    sd_pool = float(eiro2024_evidence()["value"].iloc[2]) / 100.0   # A7: SD backed out of the printed p-values

    def _se(mean, n):
        return float(np.sqrt(np.log1p((sd_pool / mean) ** 2)) / np.sqrt(n))
    se = np.array([_se(obs[k], 7) for k in ("paclitaxel", "CM-hUCESC_chemo", "paclitaxel + CM-hUCESC_chemo")])
    ptx5, primed = _eiro_regimens(secretome_half_life)
    arms = [Arm("paclitaxel", [ptx5]), Arm("primed", [], [primed]), Arm("combo", [ptx5], [primed])]
    if control_growth == "A2":
        arms.append(Arm("control"))
        y = np.append(y, np.log(obs["paclitaxel"]))
        se = np.append(se, _se(obs["paclitaxel"], 4))
    days = np.array([0.0, 14.0])
    names = ("lambda0", "potency.secretome", "interaction.gamma")

    def predict(th):
        m = _eiro_model(dict(zip(names, th)), ip_bioavailability, k2_factor)
        return np.array([np.log(simulate_growth(days, m.growth, a.exposures(m.pk), m.effects, m.interaction)[0, 1])
                         for a in arms])

    fit = least_squares(lambda th: (predict(th) - y) / se, x0=[0.08, 0.05, 0.0],
                        bounds=([1e-4, 0.0, -5.0], [1.0, 5.0, 5.0]))
    resid = predict(fit.x) - y
    return {"theta": dict(zip(names, (float(v) for v in fit.x))), "max_abs_log_residual": float(np.max(np.abs(resid))),
            "rms_standardised_residual": float(np.sqrt(np.mean((resid / se) ** 2))), "success": bool(fit.success),
            "at_bound": bool(np.any(fit.active_mask != 0))}


def eiro2024_sensitivity(day: float = 14.0, *, ip_bioavailability: Mapping | Sequence = None,
                         control_growth: Mapping | Sequence = None, k2_factor: Mapping | Sequence = None,
                         secretome_half_life: Mapping | Sequence = None) -> pd.DataFrame:
    """Structural sensitivity of the Eiro 2024 calibration's prediction (candidate 5 mg/kg + primed
    secretome vs reference 10 mg/kg paclitaxel).

    Assumptions changed one at a time (the others at the baseline of
    :func:`comboplan.simulate.calibrate_eiro2024`), each time re-calibrating the growth rate,
    secretome potency and interaction ``gamma`` to the three printed day-14 values by the same
    least squares:

    * ``ip_bioavailability`` of paclitaxel (A3): 1.0 baseline; 0.1 (Eiseman et al. 1994); 0.5.
    * ``control_growth`` (A2): ``"calibrated"`` baseline (the control's growth follows from the
      fitted growth rate); ``"A2"``: the control also grows like the 5 mg/kg arm (274 % at day
      14, added as a fourth value with log SE 0.4/sqrt(4)).
    * ``k2_factor`` (A4, potency transfer from Simeoni 2004's A2780 cells to MDA-MB-231):
      k2 x 0.5, x 1, x 2.
    * ``secretome_half_life`` (A5), days: 0.5, 1, 2.

    Parameters
    ----------
    day : float
        Prediction day (days after the first dose).
    ip_bioavailability, control_growth, k2_factor, secretome_half_life : sequence or mapping, optional
        Alternative values (mapping value -> label to relabel); defaults as listed above.

    Returns
    -------
    pandas.DataFrame
        The :func:`structural_sensitivity` table (arms ``vehicle, ptx10, ptx5, primed,
        ptx5+primed``, typical-animal ``V(day)/V(0)``; ``ratio = ptx5+primed / ptx10``) plus the
        re-calibrated ``lambda0`` (1/day), ``potency_secretome`` (1/day per unit effect level),
        ``gamma`` (dimensionless), ``max_abs_log_residual`` (largest |log fitted - log printed|
        over the calibration values), ``rms_standardised_residual``, ``at_bound`` (a parameter at
        its bound) and ``monotone`` (False when 10 mg/kg is predicted no better than 5 mg/kg).
    """
    alts = {
        "ip_bioavailability": ip_bioavailability if ip_bioavailability is not None else
        {0.1: "F_ip = 0.1 (Eiseman 1994)", 0.5: "F_ip = 0.5"},
        "control_growth": control_growth if control_growth is not None else
        {"A2": "control grows like 5 mg/kg (A2)"},
        "k2_factor": k2_factor if k2_factor is not None else {0.5: "k2 x 0.5", 2.0: "k2 x 2"},
        "secretome_half_life": secretome_half_life if secretome_half_life is not None else
        {0.5: "secretome t1/2 0.5 d", 2.0: "secretome t1/2 2 d"},
    }
    cache: dict = {}

    def calibrated(**a):
        key = tuple(sorted(a.items(), key=lambda kv: kv[0]))
        if key not in cache:
            cache[key] = _recalibrate_eiro2024(**a)
        return cache[key]

    def make_model(**a):
        c = calibrated(**a)
        return _eiro_model(c["theta"], a["ip_bioavailability"], a["k2_factor"])

    def arms(**a):
        return _eiro_arms(a["secretome_half_life"])

    tab = structural_sensitivity(make_model, EIRO2024_SENSITIVITY_BASELINE, alts, arms, candidate="ptx5+primed",
                                 reference="ptx10", day=day,
                                 baseline_label="A1-A7 (calibrate_eiro2024)")
    extra = []
    for _, r in tab.iterrows():
        a = dict(EIRO2024_SENSITIVITY_BASELINE)
        if r["assumption"] != "baseline":
            a[r["assumption"]] = r["value"]
        c = calibrated(**a)
        extra.append({"lambda0": c["theta"]["lambda0"], "potency_secretome": c["theta"]["potency.secretome"],
                      "gamma": c["theta"]["interaction.gamma"], "max_abs_log_residual": c["max_abs_log_residual"],
                      "rms_standardised_residual": c["rms_standardised_residual"], "at_bound": c["at_bound"],
                      "monotone": bool(r["ptx10"] <= r["ptx5"] <= r["vehicle"])})
    attrs = dict(tab.attrs)
    out = pd.concat([tab, pd.DataFrame(extra)], axis=1)
    out.attrs.update(attrs)
    out.attrs["vehicle"] = "vehicle"
    return out
