"""Monte-Carlo error of simulated probabilities, and how to print them honestly.

A probability estimated from ``n`` simulations is ``p_hat = k / n`` with binomial
Monte-Carlo standard error ``sqrt(p_hat (1 - p_hat) / n)``.  When ``k = 0`` or ``k = n``
that standard error is 0, yet the true probability is only known to lie within a bound: the
one-sided exact (Clopper-Pearson) bound ``1 - (alpha/2)^(1/n)`` (for ``alpha = 0.05`` about
``3.7 / n``, the "rule of three" up to the two-sidedness).  :func:`format_probability`
therefore never prints ``1.00`` or ``0.00`` from a finite simulation: it prints
``> 0.982 (200/200)`` or ``< 0.018 (0/200)``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..exceptions import DataError

__all__ = ["mc_se", "mc_interval", "format_probability"]


def mc_se(p, n):
    """Binomial Monte-Carlo standard error of an estimated probability.

    Parameters
    ----------
    p : float or array
        Estimated probability (fraction of simulations, 0-1).
    n : int or array
        Number of simulations it was estimated from.

    Returns
    -------
    float or numpy.ndarray
        ``sqrt(p (1 - p) / n)`` (probability units, 0-1).
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0):
        raise DataError("the number of simulations n must be >= 1.")
    out = np.sqrt(np.clip(p, 0.0, 1.0) * (1.0 - np.clip(p, 0.0, 1.0)) / n)
    return float(out) if out.ndim == 0 else out


def mc_interval(k, n, level: float = 0.95):
    """Exact (Clopper-Pearson) interval for a probability estimated as ``k / n``.

    Parameters
    ----------
    k : int or array
        Number of simulations in which the event occurred.
    n : int or array
        Number of simulations.
    level : float
        Two-sided coverage (0-1).

    Returns
    -------
    (low, high) : floats or arrays (probability units, 0-1)
    """
    if not 0 < level < 1:
        raise DataError(f"level must lie strictly between 0 and 1; got {level!r}.")
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    a = 1.0 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(a / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - a / 2, k + 1, n - k), 1.0)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def format_probability(p: float, n: int, digits: int = 2, level: float = 0.95) -> str:
    """Print a simulated probability with its Monte-Carlo error, never as exactly 0 or 1.

    Parameters
    ----------
    p : float
        Estimated probability (0-1), the fraction of ``n`` simulations.
    n : int
        Number of simulations.
    digits : int
        Decimals of the estimate.
    level : float
        Level of the exact bound printed when every (or no) simulation met the event.

    Returns
    -------
    str
        ``"0.73 ± 0.03 (MC SE, 200 sims)"``, or ``"> 0.982 (200/200 sims)"`` /
        ``"< 0.018 (0/200 sims)"`` at the extremes.
    """
    if not np.isfinite(p):
        return "n/a"
    n = int(n)
    if n < 1:
        raise DataError("the number of simulations n must be >= 1.")
    k = int(round(p * n))
    if k >= n:
        low, _ = mc_interval(n, n, level)
        return f"> {np.floor(low * 1000) / 1000:.3f} ({n}/{n} sims)"
    if k <= 0:
        _, high = mc_interval(0, n, level)
        return f"< {np.ceil(high * 1000) / 1000:.3f} (0/{n} sims)"
    se = mc_se(p, n)
    return f"{p:.{digits}f} ± {max(se, 10.0 ** -(digits + 1)):.{digits}f} (MC SE, {n} sims)"
