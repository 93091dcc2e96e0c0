"""Tests from printed summary statistics (means, SDs, n), for papers that give no raw data.

A one-way ANOVA needs only each group's mean, SD and size: the between-group and pooled
within-group sums of squares are functions of them (the F statistic equals
:func:`scipy.stats.f_oneway` on any data with those summaries; tested).  A claim of *no
effect* is an equivalence claim: two one-sided tests (TOST; Schuirmann 1987, J Pharmacokinet
Biopharm 15:657) against a stated margin, with Welch-Satterthwaite degrees of freedom.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .._params import renamed_params
from ..exceptions import DataError

__all__ = ["anova_from_summary", "equivalence_from_summary"]


def _check(means, sds, ns, min_groups=2):
    m = np.asarray(means, dtype=float).ravel()
    s = np.asarray(sds, dtype=float).ravel()
    n = np.asarray(ns, dtype=float).ravel()
    if not (m.size == s.size == n.size) or m.size < min_groups:
        raise DataError(f"means, sds and ns need one value per group and at least {min_groups} group(s).")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(s)) and np.all(s >= 0)):
        raise DataError("means must be finite and SDs finite and >= 0.")
    if not np.all((n >= 2) & (n == np.round(n))):
        raise DataError("each group size n must be an integer >= 2.")
    return m, s, n


def anova_from_summary(means, sds, ns) -> dict:
    """One-way ANOVA F test from group means, SDs and sizes.

    Parameters
    ----------
    means : array_like
        Group means (response unit, e.g. % viability).
    sds : array_like
        Group standard deviations (sample SD, ddof = 1; response unit).
    ns : array_like of int
        Group sizes.

    Returns
    -------
    dict
        ``f_stat``, ``df_between``, ``df_within``, ``p_value`` (H0: all group means equal),
        ``pooled_sd`` (response unit).
    """
    m, s, n = _check(means, sds, ns)
    k, N = m.size, n.sum()
    grand = float(np.sum(n * m) / N)
    ssb = float(np.sum(n * (m - grand) ** 2))
    ssw = float(np.sum((n - 1) * s ** 2))
    dfb, dfw = k - 1, N - k
    if ssw <= 0:
        raise DataError("every SD is 0: the within-group variance is 0 and no F test is defined.")
    f = (ssb / dfb) / (ssw / dfw)
    return {"f_stat": float(f), "df_between": int(dfb), "df_within": int(dfw), "p_value": float(stats.f.sf(f, dfb, dfw)),
            "pooled_sd": math.sqrt(ssw / dfw)}


@renamed_params(level="ci_level")
def equivalence_from_summary(ref, means, sds, ns, margin: float, *, ci_level: float = 0.90,
                             labels=None, pooled: tuple[float, int] | None = None) -> pd.DataFrame:
    """Equivalence of each group to a reference group within +-``margin`` (TOST, Welch).

    Parameters
    ----------
    ref : (mean, sd, n)
        The reference group (e.g. the untreated control; response unit).
    means, sds, ns : array_like
        The groups compared with it.
    margin : float
        Equivalence margin (response unit, > 0): differences within +-margin are negligible.
    ci_level : float
        Confidence level of the interval shown (0.90 for a TOST at alpha = 0.05; ``level=`` is
        a deprecated alias).
    labels : sequence, optional
        Group labels.
    pooled : (sd, df), optional
        A pooled within-group SD (response unit) and its degrees of freedom, e.g. from
        :func:`anova_from_summary`, used for every group instead of the groups' own SDs
        (Student t; needed when printed SDs are 0, e.g. a control normalised to itself).

    Returns
    -------
    pandas.DataFrame
        label, difference (group - reference), se, df (Welch-Satterthwaite), ci_low, ci_high
        (``ci_level`` interval), p_tost (the larger one-sided p), equivalent (ci inside
        +-margin), margin.
    """
    m, s, n = _check(means, sds, ns, min_groups=1)
    if not (isinstance(margin, float | int) and margin > 0):
        raise DataError(f"margin must be a positive number in the response unit; got {margin!r}.")
    level = ci_level
    if not 0 < level < 1:
        raise DataError("ci_level must lie strictly between 0 and 1.")
    m0, s0, n0 = (float(v) for v in ref)
    if pooled is not None:
        sp, dfp = float(pooled[0]), float(pooled[1])
        if not (sp > 0 and dfp >= 1):
            raise DataError("pooled must be (SD > 0, degrees of freedom >= 1).")
        v = sp ** 2 * (1.0 / n + 1.0 / n0)
        df = np.full(m.size, dfp)
    else:
        v = s ** 2 / n + s0 ** 2 / n0
        if np.any(v <= 0):
            raise DataError("a group and the reference both have SD 0: the difference has no standard error; "
                            "pass pooled=(sd, df) from anova_from_summary.")
        with np.errstate(divide="ignore", invalid="ignore"):
            df = v ** 2 / ((s ** 2 / n) ** 2 / (n - 1) + (s0 ** 2 / n0) ** 2 / (n0 - 1))
    se = np.sqrt(v)
    d = m - m0
    tq = stats.t.ppf(0.5 + level / 2, df)
    p_lo = stats.t.sf((d + margin) / se, df)      # H0: d <= -margin
    p_hi = stats.t.cdf((d - margin) / se, df)     # H0: d >= +margin
    lo, hi = d - tq * se, d + tq * se
    return pd.DataFrame({"label": list(labels) if labels is not None else list(range(m.size)),
                         "difference": d, "se": se, "df": df, "ci_low": lo, "ci_high": hi,
                         "p_tost": np.maximum(p_lo, p_hi), "equivalent": (lo > -margin) & (hi < margin),
                         "margin": float(margin)})
