r"""Closed-form REML/ML for the random-slope exponential-growth mixed model, vectorised.

Model, for animal :math:`i` in arm :math:`k(i)` measured at times :math:`t_{ij} > 0`
after its baseline:

.. math::

    y_{ij} = \log\frac{V_{ij}}{V_{i0}} = (\beta_{k(i)} + b_i)\, t_{ij} + \varepsilon_{ij},\qquad
    b_i \sim N(0, \tau^2),\quad \varepsilon_{ij} \sim N(0, \sigma^2)

(no intercept: :math:`y = 0` at baseline by construction, so baseline rows carry no
information and are excluded).  The covariance of animal :math:`i` is
:math:`V_i = \sigma^2 I + \tau^2 t_i t_i^\top`; with Sherman-Morrison everything reduces to
per-animal sufficient statistics :math:`S_i = \sum_j t_{ij}^2`, the per-animal OLS slope
:math:`\hat b_i = \sum_j t_{ij} y_{ij} / S_i` and residual sum of squares
:math:`r_i = \sum_j y_{ij}^2 - S_i \hat b_i^2`:

.. math::

    \hat\beta_k = \frac{\sum_{i\in k} \tilde w_i \hat b_i}{\sum_{i\in k}\tilde w_i},\qquad
    \tilde w_i = \frac{S_i}{1 + \gamma S_i},\qquad \gamma = \tau^2/\sigma^2

    Q(\gamma) = \sum_i r_i + \sum_i \tilde w_i (\hat b_i - \hat\beta_{k(i)})^2,\qquad
    \hat\sigma^2 = Q / (N - p)\ \text{(REML)}\ \text{or}\ Q / N\ \text{(ML)}

    -2\ell_R(\gamma) = (N - p)(\log 2\pi\hat\sigma^2 + 1) + \sum_i \log(1 + \gamma S_i)
                       + \sum_k \log\sum_{i\in k}\tilde w_i

so the likelihood is profiled down to one parameter, :math:`\log\gamma`, which is found by
a grid plus golden-section search run simultaneously for every study in a batch (no
Python loop over studies or animals).  :math:`\mathrm{Var}(\hat\beta_k) =
\hat\sigma^2 / \sum_{i\in k}\tilde w_i`.  Agrees with ``statsmodels`` ``MixedLM``
(``re_formula="0 + time"``) to optimiser precision (tested).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SlopeStats", "slope_stats", "random_slope_fit", "RandomSlopeFit"]

_LOG2PI = float(np.log(2.0 * np.pi))
_GOLD = (np.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class SlopeStats:
    """Per-animal sufficient statistics, arrays of shape (..., n_subjects)."""

    n: np.ndarray      # number of post-baseline observations
    stt: np.ndarray    # sum t^2           (time unit^2)
    sty: np.ndarray    # sum t * y         (time unit)
    syy: np.ndarray    # sum y^2

    @property
    def slope(self) -> np.ndarray:
        """Per-animal OLS slope through the origin (1/time unit); NaN without data."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.stt > 0, self.sty / np.where(self.stt > 0, self.stt, 1.0), np.nan)

    @property
    def rss(self) -> np.ndarray:
        """Per-animal residual sum of squares about its own line (>= 0)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.syy - np.where(self.stt > 0, self.sty**2 / np.where(self.stt > 0, self.stt, 1.0), 0.0)
        return np.maximum(r, 0.0)


def slope_stats(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> SlopeStats:
    """Sufficient statistics from padded arrays of shape (..., n_subjects, n_times).

    Parameters
    ----------
    t : ndarray
        Time since each animal's baseline (time unit); entries with ``t <= 0`` are ignored.
    y : ndarray
        Log relative size ``log(V / V0)``.
    mask : ndarray of bool
        Observations to use.

    Returns
    -------
    SlopeStats
    """
    m = np.asarray(mask, bool) & (t > 0) & np.isfinite(y) & np.isfinite(t)
    tt = np.where(m, t, 0.0)
    yy = np.where(m, y, 0.0)
    return SlopeStats(
        n=m.sum(axis=-1).astype(float),
        stt=(tt * tt).sum(axis=-1),
        sty=(tt * yy).sum(axis=-1),
        syy=(yy * yy).sum(axis=-1),
    )


@dataclass(frozen=True)
class RandomSlopeFit:
    """Vectorised fit result; leading batch shape ``B`` (studies or cut-off days).

    Attributes
    ----------
    beta : ndarray, shape (B..., n_arms)
        Arm growth rates (1/time unit) on the log scale.
    se : ndarray, shape (B..., n_arms)
        Standard errors of ``beta`` (given the variance components).
    sigma2 : ndarray, shape (B...)
        Residual variance of log size (dimensionless, absolute units).
    tau2 : ndarray, shape (B...)
        Between-animal variance of the growth rate ((1/time unit)^2, absolute units).
    loglik : ndarray, shape (B...)
        Maximised (REML or ML) log-likelihood, same constants as statsmodels MixedLM.
    nobs : ndarray, shape (B...)
        Number of post-baseline observations used.
    n_animals : ndarray, shape (B..., n_arms)
        Animals with at least one post-baseline observation, per arm.
    df : ndarray, shape (B...)
        Between-animal residual degrees of freedom ``sum(n_animals) - n_arms_with_data``,
        used for t-based intervals and tests.
    boundary : ndarray of bool, shape (B...)
        ``tau2`` estimated at 0 (the random-slope variance is on the boundary).
    method : str
        ``"reml"`` or ``"ml"``.
    """

    beta: np.ndarray
    se: np.ndarray
    sigma2: np.ndarray
    tau2: np.ndarray
    loglik: np.ndarray
    nobs: np.ndarray
    n_animals: np.ndarray
    df: np.ndarray
    boundary: np.ndarray
    method: str


def _arm_sums(values, onehot):
    # values (..., S), onehot (..., S, K) -> (..., K)
    return np.einsum("...s,...sk->...k", values, onehot)


def _objective(u, stt, rss, slope, has, onehot, nobs, p, method):
    """-2 log-likelihood profiled over sigma^2 and beta at log-gamma u (shape (...,) or (..., G))."""
    g = np.exp(u)
    gS = g[..., None] * stt                                  # (..., S)
    wt = np.where(has, stt / (1.0 + gS), 0.0)                # (..., S)
    sw = _arm_sums(wt, onehot)                               # (..., K)
    swb = _arm_sums(wt * np.where(has, slope, 0.0), onehot)
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(sw > 0, swb / np.where(sw > 0, sw, 1.0), np.nan)
    bfit = np.einsum("...sk,...k->...s", onehot, np.nan_to_num(beta))
    q = rss.sum(axis=-1) + (wt * np.where(has, (slope - bfit) ** 2, 0.0)).sum(axis=-1)
    ld = np.where(has, np.log1p(gS), 0.0).sum(axis=-1)
    if method == "reml":
        dof = nobs - p
        s2 = q / dof
        lsw = np.where(sw > 0, np.log(np.where(sw > 0, sw, 1.0)), 0.0).sum(axis=-1)
        val = dof * (_LOG2PI + np.log(s2) + 1.0) + ld + lsw
    else:
        s2 = q / nobs
        val = nobs * (_LOG2PI + np.log(s2) + 1.0) + ld
    return val, beta, sw, s2


def random_slope_fit(stats: SlopeStats, arm: np.ndarray, n_arms: int, method: str = "reml",
                     n_grid: int = 33, n_golden: int = 40) -> RandomSlopeFit:
    """Fit the random-slope model for a batch of studies at once.

    Parameters
    ----------
    stats : SlopeStats
        Per-animal sufficient statistics with shape (B..., n_subjects).
    arm : ndarray of int, shape (n_subjects,) or (B..., n_subjects)
        Arm index of each animal.
    n_arms : int
        Number of arms.
    method : {"reml", "ml"}
        Restricted (default; unbiased variance components) or full maximum likelihood.
    n_grid, n_golden : int
        Grid points on ``log(gamma)`` and golden-section iterations after the grid.

    Returns
    -------
    RandomSlopeFit
    """
    if method not in ("reml", "ml"):
        raise ValueError("method must be 'reml' or 'ml'")
    stt = np.asarray(stats.stt, float)
    has = stt > 0
    slope = np.where(has, stats.slope, 0.0)
    rss = np.where(has, stats.rss, 0.0)
    arm = np.broadcast_to(np.asarray(arm), stt.shape)
    onehot = (arm[..., None] == np.arange(n_arms)).astype(float) * has[..., None]
    nobs = np.where(has, stats.n, 0.0).sum(axis=-1)
    n_an = onehot.sum(axis=-2)                      # (..., K)
    p = (n_an > 0).sum(axis=-1).astype(float)
    # scale of gamma: 1 / mean(S) makes gamma * S dimensionless ~ 1
    with np.errstate(invalid="ignore", divide="ignore"):
        sbar = np.where(has, stt, 0.0).sum(axis=-1) / np.maximum(has.sum(axis=-1), 1)
    sbar = np.where(sbar > 0, sbar, 1.0)
    lo = np.log(1e-8 / sbar)
    hi = np.log(1e5 / sbar)
    grid = lo[..., None] + (hi - lo)[..., None] * np.linspace(0.0, 1.0, n_grid)   # (..., G)

    def f(u):
        return _objective(u, stt, rss, slope, has, onehot, nobs, p, method)[0]

    vals = np.stack([f(grid[..., j]) for j in range(n_grid)], axis=-1)
    vals = np.where(np.isfinite(vals), vals, np.inf)
    j = np.argmin(vals, axis=-1)
    jl = np.clip(j - 1, 0, n_grid - 1)
    jh = np.clip(j + 1, 0, n_grid - 1)
    a = np.take_along_axis(grid, jl[..., None], -1)[..., 0]
    b = np.take_along_axis(grid, jh[..., None], -1)[..., 0]
    c = b - _GOLD * (b - a)
    d = a + _GOLD * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(n_golden):  # golden-section search, one new evaluation per iteration
        left = fc < fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        c_new = np.where(left, b - _GOLD * (b - a), d)
        d_new = np.where(left, c, a + _GOLD * (b - a))
        fnew = f(np.where(left, c_new, d_new))
        fc, fd = np.where(left, fnew, fd), np.where(left, fc, fnew)
        c, d = c_new, d_new
    u = 0.5 * (a + b)
    fu = f(u)
    boundary = (j == 0) & (fu >= vals[..., 0] - 1e-12)
    # tau2 at the boundary: gamma -> 0 exactly
    u_final = np.where(boundary, -np.inf, u)
    with np.errstate(over="ignore"):
        val, beta, sw, s2 = _objective(u_final, stt, rss, slope, has, onehot, nobs, p, method)
    gamma = np.exp(u_final)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.where(sw > 0, s2[..., None] / np.where(sw > 0, sw, 1.0), np.nan))
    loglik = -0.5 * val
    return RandomSlopeFit(
        beta=beta,
        se=se,
        sigma2=s2,
        tau2=gamma * s2,
        loglik=loglik,
        nobs=nobs,
        n_animals=n_an,
        df=n_an.sum(axis=-1) - p,
        boundary=boundary,
        method=method,
    )
