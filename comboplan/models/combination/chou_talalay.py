r"""Chou-Talalay median-effect analysis: Dm, m, r, combination index and DRI.

Median-effect equation (Chou 1976; Chou & Talalay 1984; Chou 2006 Pharmacol Rev 58:621,
eq. 1), with :math:`f_a` the fraction affected and :math:`f_u = 1 - f_a`:

.. math:: f_a / f_u = (D / D_m)^m
   \quad\Longleftrightarrow\quad
   \log_{10}(f_a/f_u) = m\log_{10} D - m\log_{10} D_m .

:math:`m` and :math:`D_m` come from the least-squares line of the median-effect plot
(``y = b0 + b1 x`` with ``x = log10 D``, ``y = log10(fa/fu)``, so ``m = b1`` and
``log10 Dm = -b0/b1``); ``r`` is the linear correlation coefficient of that plot.  The
dose giving effect :math:`f_a` is :math:`D_x = D_m\,[f_a/(1-f_a)]^{1/m}`.

Combination index for ``N`` agents with doses :math:`(D)_i` in combination producing
:math:`f_a`, and single-agent doses :math:`(D_x)_i` giving the same :math:`f_a`
(Chou 2006, eqs. 3 and 13), with :math:`t_i = (D)_i / (D_x)_i`:

* mutually exclusive (classical, CompuSyn default): :math:`CI = \sum_i t_i`
* mutually non-exclusive: :math:`CI = \prod_i (1 + t_i) - 1`, which for two agents is
  :math:`t_1 + t_2 + t_1 t_2` and for three agents adds all pair products and the triple
  product (Chou & Talalay 1984).

CI < 1 synergy, = 1 additive, > 1 antagonism.  The dose-reduction index of agent ``i`` is
:math:`DRI_i = (D_x)_i/(D)_i = 1/t_i` (Chou 2006, eq. 15).

Uncertainty (Lee & Kong 2009, Stat Biopharm Res 1:4): each :math:`\log_{10}(D_x)_i` is a
smooth function of that agent's regression coefficients, with delta-method variance from
the OLS covariance; the median-effect fits of different agents and of the mixture are
independent, so :math:`\mathrm{Var}(\log_{10} t)` follows by linear propagation, and
:math:`\mathrm{Var}(CI)` by the gradient of the CI formula.  Intervals are formed on
:math:`\log CI` (and :math:`\log DRI`) so they stay positive.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "median_effect_fit",
    "dose_for_effect",
    "effect_for_dose",
    "log10_dose_for_effect",
    "log10_dose_for_effect_var",
    "combination_index",
    "combination_index_var",
    "dose_reduction_index",
]

_LN10 = np.log(10.0)


def median_effect_fit(dose, fa, mask=None) -> dict:
    """Fit the median-effect line to many curves at once (ordinary least squares).

    Parameters
    ----------
    dose : array_like, shape (n_curves, n_obs)
        Doses (> 0; any unit, ``Dm`` is returned in the same unit).
    fa : array_like, shape (n_curves, n_obs)
        Fraction affected, strictly between 0 and 1.
    mask : array_like of bool, optional
        True for observations to use (NaN-padded ragged input).

    Returns
    -------
    dict of numpy.ndarray, each shape (n_curves,)
        ``m`` (slope, dimensionless), ``Dm`` (median-effect dose, dose unit), ``r``
        (linear correlation coefficient), ``b0``, ``b1`` (intercept and slope of
        ``log10(fa/fu)`` on ``log10 D``), ``cov`` (n_curves, 2, 2) covariance of
        ``(b0, b1)``, ``n`` (points used), ``sigma`` (residual SD of the plot).
        Curves with fewer than 2 distinct doses give NaN.
    """
    d = np.atleast_2d(np.asarray(dose, dtype=float))
    f = np.atleast_2d(np.asarray(fa, dtype=float))
    m = np.ones_like(d, dtype=bool) if mask is None else np.atleast_2d(np.asarray(mask, dtype=bool))
    m = m & np.isfinite(d) & np.isfinite(f) & (d > 0) & (f > 0) & (f < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(m, np.log10(np.where(m, d, 1.0)), 0.0)
        y = np.where(m, np.log10(np.where(m, f, 0.5) / (1.0 - np.where(m, f, 0.5))), 0.0)
        n = m.sum(axis=1).astype(float)
        xbar = x.sum(axis=1) / n
        ybar = y.sum(axis=1) / n
        dx = np.where(m, x - xbar[:, None], 0.0)
        dy = np.where(m, y - ybar[:, None], 0.0)
        sxx = (dx * dx).sum(axis=1)
        sxy = (dx * dy).sum(axis=1)
        syy = (dy * dy).sum(axis=1)
        ok = (n >= 2) & (sxx > 0)
        b1 = np.where(ok, sxy / sxx, np.nan)
        b0 = ybar - b1 * xbar
        r = np.where(ok & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
        rss = np.maximum(syy - b1 * sxy, 0.0)
        s2 = np.where(n > 2, rss / (n - 2), np.nan)
        v11 = s2 / sxx
        v00 = s2 * (1.0 / n + xbar**2 / sxx)
        v01 = -xbar * s2 / sxx
        cov = np.stack([np.stack([v00, v01], -1), np.stack([v01, v11], -1)], -2)
        Dm = 10.0 ** (-b0 / b1)
    return {"m": b1, "Dm": Dm, "r": r, "b0": b0, "b1": b1, "cov": cov, "n": n.astype(int),
            "sigma": np.sqrt(s2)}


def dose_for_effect(fa, Dm, m) -> np.ndarray:
    """Dose giving fraction affected ``fa``: :math:`D_m [f_a/(1-f_a)]^{1/m}`.

    Parameters
    ----------
    fa : array_like
        Fraction affected in (0, 1).
    Dm : array_like
        Median-effect dose (dose unit).
    m : array_like
        Median-effect slope (dimensionless).

    Returns
    -------
    numpy.ndarray
        Dose (unit of ``Dm``).
    """
    fa = np.asarray(fa, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(Dm, dtype=float) * (fa / (1.0 - fa)) ** (1.0 / np.asarray(m, dtype=float))


def effect_for_dose(dose, Dm, m) -> np.ndarray:
    """Fraction affected at ``dose``: :math:`1 / (1 + (D_m/D)^m)`.

    Parameters
    ----------
    dose : array_like
        Dose (unit of ``Dm``), >= 0.
    Dm, m : array_like
        Median-effect parameters.

    Returns
    -------
    numpy.ndarray
        Fraction affected in [0, 1).
    """
    d = np.asarray(dose, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        return 1.0 / (1.0 + (np.asarray(Dm, dtype=float) / d) ** np.asarray(m, dtype=float))


def log10_dose_for_effect(fa, b0, b1) -> np.ndarray:
    """``log10 Dx = (log10(fa/fu) - b0) / b1`` from the median-effect regression."""
    fa = np.asarray(fa, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        yx = np.log10(fa / (1.0 - fa))
        return (yx - b0) / b1


def log10_dose_for_effect_var(fa, b0, b1, cov) -> np.ndarray:
    """Delta-method variance of ``log10 Dx`` given the covariance of ``(b0, b1)``.

    Parameters
    ----------
    fa : array_like
        Fraction affected (held fixed).
    b0, b1 : array_like
        Regression intercept and slope.
    cov : array_like, shape (..., 2, 2)
        Covariance of ``(b0, b1)``.

    Returns
    -------
    numpy.ndarray
        Variance of ``log10 Dx`` (log10 dose units squared).
    """
    fa = np.asarray(fa, dtype=float)
    cov = np.asarray(cov, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        yx = np.log10(fa / (1.0 - fa))
        g0 = -1.0 / b1
        g1 = -(yx - b0) / b1**2
        return g0 * g0 * cov[..., 0, 0] + 2 * g0 * g1 * cov[..., 0, 1] + g1 * g1 * cov[..., 1, 1]


def combination_index(doses, dx, mutually_exclusive: bool = True, axis: int = -1) -> np.ndarray:
    """Combination index of ``N`` agents (Chou-Talalay).

    Parameters
    ----------
    doses : array_like
        Doses of each agent in the combination, agents along ``axis`` (dose units).
    dx : array_like
        Doses of each agent alone giving the same effect (same units as ``doses``).
    mutually_exclusive : bool
        ``True``: :math:`\\sum t_i`; ``False``: :math:`\\prod(1+t_i) - 1`.
    axis : int
        Agent axis.

    Returns
    -------
    numpy.ndarray
        CI (dimensionless): < 1 synergy, 1 additive, > 1 antagonism.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.asarray(doses, dtype=float) / np.asarray(dx, dtype=float)
    if mutually_exclusive:
        return np.sum(t, axis=axis)
    return np.prod(1.0 + t, axis=axis) - 1.0


def combination_index_var(t, cov_log10_t, mutually_exclusive: bool = True) -> np.ndarray:
    """Delta-method variance of the CI from the covariance of ``log10 t``.

    Parameters
    ----------
    t : array_like, shape (..., N)
        Dose ratios :math:`t_i = (D)_i/(D_x)_i`.
    cov_log10_t : array_like, shape (..., N, N)
        Covariance of ``log10 t``.
    mutually_exclusive : bool
        CI form (see :func:`combination_index`).

    Returns
    -------
    numpy.ndarray
        Variance of the CI, shape (...).
    """
    t = np.asarray(t, dtype=float)
    if mutually_exclusive:
        g = np.ones_like(t)
    else:
        onep = 1.0 + t
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.prod(onep, axis=-1, keepdims=True) / onep
    gt = g * t * _LN10
    return np.einsum("...i,...ij,...j->...", gt, np.asarray(cov_log10_t, dtype=float), gt)


def dose_reduction_index(doses, dx) -> np.ndarray:
    """Dose-reduction index :math:`DRI_i = (D_x)_i / (D)_i` (dimensionless, > 1 favourable).

    Parameters
    ----------
    doses : array_like
        Dose of each agent in the combination.
    dx : array_like
        Dose of the agent alone giving the same effect.

    Returns
    -------
    numpy.ndarray
        DRI per agent (``inf`` where the agent is absent from the combination).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(dx, dtype=float) / np.asarray(doses, dtype=float)
