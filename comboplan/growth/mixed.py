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

import warnings

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


# =========================================================================== general LME engine
_ENGINE_DOC = r"""Iterative (RE)ML for the general linear mixed model with variance functions.

For animal :math:`i` with :math:`n_i` observations

.. math::

    y_i = X_i\beta + Z_i b_i + \varepsilon_i,\quad b_i \sim N(0, \sigma^2\Gamma),\quad
    \varepsilon_i \sim N(0, \sigma^2\Lambda_i),\quad \Lambda_i = \mathrm{diag}(w_{ij}^2)

where the standard-deviation multipliers :math:`w_{ij}` are the product of the requested
variance functions (Pinheiro & Bates 2000, ch. 5): ``varIdent`` by arm or by animal
(:math:`w = \delta_{s}`, first stratum fixed at 1) and ``varPower``
(:math:`w = |v_{ij}|^{\delta}`, :math:`v` the fitted value or the time).  With
:math:`V^*_i = \Lambda_i + Z_i\Gamma Z_i^\top`, :math:`\beta` and :math:`\sigma^2` are
profiled out:

.. math::

    -2\ell_R = (N-p)(\log 2\pi\hat\sigma^2 + 1) + \sum_i\log|V^*_i| + \log|\textstyle\sum_i X_i^\top V_i^{*-1}X_i|

(ML: :math:`N` instead of :math:`N-p` and no last term), minimised over the remaining
parameters (log-Cholesky factor of :math:`\Gamma`, log variance ratios, power) by BFGS with
central-difference gradients.  For ``varPower`` of the fitted value the covariate is held
fixed during an optimisation and then updated with the conditional fitted values until it
stops changing, as nlme does.
"""

VARIANCE_FUNCTIONS = ("arm", "animal", "power", "power_time")


@dataclass(frozen=True)
class LMEDesign:
    """Padded design of a per-animal linear mixed model.

    Attributes
    ----------
    y : ndarray, shape (S, T)
        Response (padded entries arbitrary).
    X : ndarray, shape (S, T, p)
        Fixed-effect design.
    Z : ndarray, shape (S, T, q)
        Random-effect design.
    mask : ndarray of bool, shape (S, T)
        Observations used.
    arm : ndarray of int, shape (S,)
        Arm of each animal (varIdent by arm).
    t : ndarray, shape (S, T)
        Time since baseline (varPower of time), time unit.
    """

    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    mask: np.ndarray
    arm: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class LMEFit:
    """Result of :func:`lme_fit` (all variances in absolute units).

    Attributes
    ----------
    beta, cov_beta : ndarray
        Fixed effects and their model-based covariance :math:`\\sigma^2 (X^\\top V^{*-1} X)^{-1}`.
    sigma2 : float
        Residual variance of the reference stratum (multiplier 1).
    G : ndarray, shape (q, q)
        Random-effect covariance.
    weights : ndarray, shape (S, T)
        Residual SD multipliers :math:`w_{ij}` (1 on padded entries).
    arm_ratio, animal_ratio : ndarray or None
        varIdent SD ratios per arm / per animal (first = 1).
    power : float or None
        varPower exponent.
    ranef : ndarray, shape (S, q)
        Predicted random effects (BLUPs).
    fitted_marginal, fitted_conditional : ndarray, shape (S, T)
        :math:`X\\beta` and :math:`X\\beta + Zb`.
    loglik : float
        Maximised (RE)ML log-likelihood (statsmodels/nlme constants).
    n_theta : int
        Number of variance parameters including :math:`\\sigma^2`.
    nobs, p : int
        Observations and fixed effects.
    converged : bool
    grad_norm : float
        Max |gradient| of -2 log-likelihood at the solution (unconstrained scale).
    method : str
    theta : ndarray
        Unconstrained optimum.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    G: np.ndarray
    weights: np.ndarray
    arm_ratio: np.ndarray | None
    animal_ratio: np.ndarray | None
    power: float | None
    ranef: np.ndarray
    fitted_marginal: np.ndarray
    fitted_conditional: np.ndarray
    loglik: float
    n_theta: int
    nobs: int
    p: int
    converged: bool
    grad_norm: float
    method: str
    theta: np.ndarray
    Vstar: np.ndarray = None  # (S, T, T) V* = Lambda + Z Gamma Z' at the solution (padded: identity)


class _LMEProblem:
    """Unpacks the unconstrained parameter vector and evaluates the profiled likelihood."""

    def __init__(self, design: LMEDesign, variance, correlated: bool, method: str):
        self.d = design
        self.method = method
        m = design.mask
        self.m = m
        self.N = int(m.sum())
        self.X = np.where(m[..., None], design.X, 0.0)
        self.y = np.where(m, design.y, 0.0)
        # internal scaling of the random-effect columns (conditioning only)
        zz = np.where(m[..., None], design.Z, 0.0)
        scale = np.sqrt((zz**2).sum(axis=(0, 1)) / max(self.N, 1))
        self.zscale = np.where(scale > 0, scale, 1.0)
        self.Z = zz / self.zscale
        self.q = self.Z.shape[-1]
        self.p = self.X.shape[-1]
        self.correlated = bool(correlated) and self.q > 1
        self.variance = tuple(variance)
        S = m.shape[0]
        has = m.any(axis=1)
        arms_used = np.unique(design.arm[has])
        self.arm_levels = arms_used
        self.arm_pos = np.searchsorted(arms_used, design.arm)
        self.animals_used = np.flatnonzero(has)
        self.animal_pos = np.cumsum(has) - 1
        # parameter layout
        self.slices = {}
        k = 0
        ng = self.q * (self.q + 1) // 2 if self.correlated else self.q
        self.slices["G"] = slice(k, k + ng)
        k += ng
        if "arm" in self.variance:
            self.slices["arm"] = slice(k, k + len(arms_used) - 1)
            k += len(arms_used) - 1
        if "animal" in self.variance:
            self.slices["animal"] = slice(k, k + len(self.animals_used) - 1)
            k += len(self.animals_used) - 1
        if "power" in self.variance or "power_time" in self.variance:
            self.slices["power"] = slice(k, k + 1)
            k += 1
        self.n_par = k
        self.pcov = np.where(m, np.abs(design.t), 1.0)  # power covariate (time or fitted)
        self.S = S
        self._mm = m[:, :, None] & m[:, None, :]
        self._eye = np.eye(m.shape[1])

    def gamma(self, th):
        g = th[self.slices["G"]]
        q = self.q
        L = np.zeros((q, q))
        if self.correlated:
            L[np.tril_indices(q)] = g
            L[np.diag_indices(q)] = np.exp(np.diag(L))
        else:
            L[np.diag_indices(q)] = np.exp(g)
        return L @ L.T

    def weights(self, th):
        """Residual SD multipliers (S, T) at ``th`` and the variance-function parameters
        (``arm`` / ``animal`` ratios, ``power`` exponent; None where not in the model)."""
        th = np.asarray(th, float)
        out = {"arm": None, "animal": None, "power": None}
        for key in ("arm", "animal"):
            if key in self.slices:
                out[key] = np.exp(np.concatenate(([0.0], th[self.slices[key]])))
        if "power" in self.slices:
            out["power"] = float(th[self.slices["power"]][0])
        return self._batch_weights(th[None])[0], out

    @property
    def pcov(self):
        """Covariate of the power variance function (time, or the fitted values)."""
        return self._pcov

    @pcov.setter
    def pcov(self, v):
        self._pcov = v
        self._logp = np.log(np.maximum(v, 1e-12))

    def _batch_gamma(self, TH):
        """:meth:`gamma` for every row of TH (B, q, q)."""
        if self.correlated:
            return np.stack([self.gamma(th) for th in TH])
        e = np.exp(2.0 * TH[:, self.slices["G"]])
        return e[:, :, None] * np.eye(self.q)[None]

    def _batch_weights(self, TH):
        """The weights of :meth:`weights` for every row of TH (B, S, T)."""
        B = TH.shape[0]
        w = np.ones((B,) + self.m.shape)
        if "arm" in self.slices:
            r = np.exp(np.concatenate([np.zeros((B, 1)), TH[:, self.slices["arm"]]], axis=1))
            w = w * r[:, self.arm_pos][:, :, None]
        if "animal" in self.slices:
            r = np.exp(np.concatenate([np.zeros((B, 1)), TH[:, self.slices["animal"]]], axis=1))
            w = w * r[:, np.clip(self.animal_pos, 0, r.shape[1] - 1)][:, :, None]
        if "power" in self.slices:
            w = w * np.exp(TH[:, self.slices["power"].start][:, None, None] * self._logp[None])
        return np.where(self.m[None], w, 1.0)

    def batch_parts(self, TH, mask, Y=None):
        """The GLS quantities for a batch of parameter vectors ``TH`` (B, k), each with its own
        observation mask (B, S, T) (a subset of the design's: e.g. one animal left out).

        Returns V, A = X'V^-1 X, the GLS coefficients, rss = r'V^-1 r, log|V|, V^-1, V^-1 X,
        the residuals r, V^-1 r, the weights and the masked Z, each with the leading batch axis.
        ``Y`` (B, S, T) gives each problem its own response (default the design's)."""
        X = np.where(mask[..., None], self.X, 0.0)
        y = np.where(mask, self.y if Y is None else Y, 0.0)
        Z = np.where(mask[..., None], self.Z, 0.0)
        G = self._batch_gamma(TH)
        W = self._batch_weights(TH)
        V = (Z @ G[:, None]) @ np.swapaxes(Z, -1, -2)
        idx = np.arange(W.shape[-1])
        V[..., idx, idx] += W ** 2
        V = np.where(mask[..., :, None] & mask[..., None, :], V, self._eye)
        L = np.linalg.cholesky(V)
        ldV = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=(1, 2))
        Li = np.linalg.inv(L)
        Vi = np.swapaxes(Li, -1, -2) @ Li
        M = Vi @ X
        A = np.einsum("bstp,bstq->bpq", X, M)
        c = np.einsum("bstp,bst->bp", M, y)
        beta = np.linalg.solve(A, c[..., None])[..., 0]
        r = np.where(mask, y - np.einsum("bstp,bp->bst", X, beta), 0.0)
        u = (Vi @ r[..., None])[..., 0]
        rss = np.sum(r * u, axis=(1, 2))     # r'V^-1 r directly (no cancellation)
        return V, A, beta, rss, ldV, Vi, M, r, u, W, Z

    def parts(self, th):
        """V (S, T, T), A = X'V^-1 X, the GLS coefficients, rss and log|V| at ``th``."""
        V, A, beta, rss, ldV = self.batch_parts(np.asarray(th, float)[None], self.m[None])[:5]
        return V[0], A[0], beta[0], float(rss[0]), float(ldV[0])

    def _value(self, A, rss, ldV, N):
        """-2 log-likelihood (profiled; restricted for REML) from the GLS quantities, batched."""
        reml = self.method == "reml"
        dof = N - self.p if reml else N
        ldA = np.linalg.slogdet(A)[1] if reml else 0.0
        with np.errstate(all="ignore"):
            val = dof * (_LOG2PI + np.log(rss / dof) + 1.0) + ldV + ldA
        return np.where(rss > 0, val, np.inf), dof

    def objective(self, th):
        try:
            _, A, _, rss, ldV = self.batch_parts(np.asarray(th, float)[None], self.m[None])[:5]
        except np.linalg.LinAlgError:
            return np.inf
        return float(self._value(A, rss, ldV, np.array([self.N]))[0][0])

    def objective_and_grad(self, th):
        r"""The objective and its exact gradient (unconstrained scale).

        With :math:`V_s` the scaled covariance of animal :math:`s`, :math:`r` the GLS residuals
        and :math:`M_s = V_s^{-1} X_s`, each parameter's :math:`\partial V_s` enters through
        :math:`\partial \log|V| = \sum_s \mathrm{tr}(V_s^{-1}\partial V_s)`,
        :math:`\partial\,\mathrm{rss} = -\sum_s r_s^\top V_s^{-1}\partial V_s V_s^{-1} r_s`
        (the GLS coefficients are profiled: no term from them) and
        :math:`\partial \log|A| = -\mathrm{tr}(A^{-1}\sum_s M_s^\top \partial V_s M_s)`
        (REML only).  Variance-function parameters change only the diagonal of :math:`V_s`, the
        random-effect parameters only :math:`Z_s\,\partial G\,Z_s^\top`."""
        with np.errstate(all="ignore"):
            val, g = self.batch_objective_and_grad(np.asarray(th, float)[None], self.m[None])
        if not np.isfinite(val[0]):
            return np.inf, np.zeros_like(th)
        return float(val[0]), g[0]

    def batch_objective_and_grad(self, TH, mask, Y=None):
        """:meth:`objective_and_grad` for a batch of parameter vectors (B, k), each with its own
        observation mask (B, S, T); a point where V is not positive definite gets inf."""
        TH = np.asarray(TH, float)
        B = TH.shape[0]
        # a trial point far out (exp(2 x 15) variance ratios) is no optimum: inf without evaluating
        # (it would overflow or make V numerically singular and fail the whole batch's Cholesky)
        sane = np.all(np.isfinite(TH) & (np.abs(TH) < 15.0), axis=1)
        if not sane.all():
            val = np.full(B, np.inf)
            g = np.zeros_like(TH)
            if sane.any():
                i = np.flatnonzero(sane)
                val[i], g[i] = self.batch_objective_and_grad(TH[i], mask[i], None if Y is None else Y[i])
            return val, g
        try:
            V, A, beta, rss, ldV, Vi, M, r, u, w, Z = self.batch_parts(TH, mask, Y)
        except np.linalg.LinAlgError:
            if B == 1:
                return np.full(1, np.inf), np.zeros_like(TH)
            h = B // 2   # find the failing problems by halving
            parts = [self.batch_objective_and_grad(TH[sl], mask[sl], None if Y is None else Y[sl])
                     for sl in (slice(0, h), slice(h, B))]
            return np.concatenate([o[0] for o in parts]), np.concatenate([o[1] for o in parts])
        reml = self.method == "reml"
        val, dof = self._value(A, rss, ldV, mask.sum(axis=(1, 2)))
        Ai = np.linalg.inv(A) if reml else None
        k_r = (dof / np.where(rss > 0, rss, 1.0))[:, None, None]
        # per-observation weights of a diagonal change dV = diag(d)
        diag = np.diagonal(Vi, axis1=-2, axis2=-1) - k_r * u * u
        if reml:
            diag = diag - np.einsum("bstp,bpq,bstq->bst", M, Ai, M)
        diag = np.where(mask, diag, 0.0)
        g = np.zeros_like(TH)
        # random-effect covariance: dV = Z dG Z'
        Kq = np.einsum("bstq,bstu,bsur->bqr", Z, Vi, Z)
        Zu = np.einsum("bstq,bst->bsq", Z, u)
        Kq = Kq - k_r * np.einsum("bsq,bsr->bqr", Zu, Zu)
        if reml:
            ZM = np.einsum("bstq,bstp->bsqp", Z, M)
            Kq = Kq - np.einsum("bsqp,bpk,bsrk->bqr", ZM, Ai, ZM)
        q = self.q
        sl = self.slices["G"]
        if self.correlated:
            for bi in range(B):
                L = np.zeros((q, q))
                L[np.tril_indices(q)] = TH[bi, sl]
                L[np.diag_indices(q)] = np.exp(np.diag(L))
                for k, (a, c) in enumerate(zip(*np.tril_indices(q))):
                    dL = np.zeros((q, q))
                    dL[a, c] = L[a, c] if a == c else 1.0
                    g[bi, sl.start + k] = float(np.sum((dL @ L.T + L @ dL.T) * Kq[bi]))
        else:
            g[:, sl] = 2.0 * np.exp(2.0 * TH[:, sl]) * np.diagonal(Kq, axis1=1, axis2=2)
        # variance functions: dV = diag(2 w^2 dlog w)
        w2d = (2.0 * w * w * diag).sum(axis=2)          # (B, S)
        if "arm" in self.slices:
            onehot = self.arm_pos[:, None] == np.arange(len(self.arm_levels))[None]
            g[:, self.slices["arm"]] = (w2d @ onehot)[:, 1:]
        if "animal" in self.slices:
            n_an = len(self.animals_used)
            has = self.m.any(axis=1)
            onehot = (np.clip(self.animal_pos, 0, n_an - 1)[:, None] == np.arange(n_an)[None]) & has[:, None]
            g[:, self.slices["animal"]] = (w2d @ onehot)[:, 1:]
        if "power" in self.slices:
            g[:, self.slices["power"].start] = np.sum(2.0 * w * w * diag * self._logp, axis=(1, 2))
        return val, g



_GRAD_FLOOR = 1e-5   # |gradient| of -2 log L treated as converged (see _minimise)


def _minimise(prob, th0, hess_inv=None):
    """BFGS on the exact gradient; with ``hess_inv`` (an inverse Hessian at a nearby optimum,
    e.g. the full data's for a leave-one-out refit) started from it.

    The objective is accurate to ~1e-12 (-2 log L of order 1e2-1e3), so a gradient below ~1e-5
    is as close to the optimum as a line search can tell (parameters within ~1e-7); a search
    that reports precision loss there has converged."""
    from scipy import optimize

    f = prob.objective_and_grad   # exact gradient (one Cholesky pass per evaluation)
    opts = {"gtol": 1e-6, "maxiter": 500}
    if hess_inv is not None:
        opts["hess_inv0"] = hess_inv
    best = optimize.minimize(f, th0, jac=True, method="BFGS", options=opts)
    th = best.x
    if best.success or np.max(np.abs(best.jac)) < _GRAD_FLOOR:
        return th
    # polish: a second BFGS from where the first stopped (fresh Hessian approximation)
    again = optimize.minimize(f, th, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 200})
    if again.fun <= best.fun:
        th = again.x
    return th


def _hessian_inverse(prob, th):
    """Inverse of the central-difference Hessian of the objective from its exact gradient;
    None when not positive definite."""
    k = th.size
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = 1e-5
        H[:, j] = (prob.objective_and_grad(th + e)[1] - prob.objective_and_grad(th - e)[1]) / 2e-5
    H = 0.5 * (H + H.T)
    try:
        ev = np.linalg.eigvalsh(H)
        if not (np.all(np.isfinite(ev)) and ev.min() > 1e-10 * max(1.0, ev.max())):
            return None
        Hi = np.linalg.inv(H)
        return 0.5 * (Hi + Hi.T)
    except np.linalg.LinAlgError:
        return None


def _batch_bfgs(prob, TH, mask, hinv, max_iter=100, Y=None):
    """Minimise the objective for a batch of problems (parameters TH (B, k), masks (B, S, T)) at
    once: BFGS on the exact gradients, started with the inverse Hessian ``hinv`` (k, k), with a
    backtracking (Armijo) line search.  Returns the optima and a convergence flag per problem."""
    TH = TH.copy()
    B, k = TH.shape
    sub_y = (lambda idx: None) if Y is None else (lambda idx: Y[idx])
    f, g = prob.batch_objective_and_grad(TH, mask, Y)
    if hinv is None:
        # no curvature known: a first step of at most 1 on the log scale (BFGS then learns it)
        H0 = np.eye(k)
        Hk = np.eye(k)[None] / np.maximum(1.0, np.max(np.abs(g), axis=1))[:, None, None]
    else:
        H0 = hinv
        Hk = np.repeat(H0[None], B, axis=0)
    done = np.isfinite(f) & (np.max(np.abs(g), axis=1) < _GRAD_FLOOR)
    ok = np.isfinite(f)
    for _ in range(max_iter):
        act = np.flatnonzero(ok & ~done)
        if act.size == 0:
            break
        d = -np.einsum("bij,bj->bi", Hk[act], g[act])
        slope = np.einsum("bi,bi->b", g[act], d)
        bad = ~(slope < 0)
        if bad.any():   # not a descent direction: back to the start's inverse Hessian
            Hk[act[bad]] = H0
            d[bad] = -g[act[bad]] @ H0.T
            slope[bad] = np.einsum("bi,bi->b", g[act[bad]], d[bad])
        t = np.ones(act.size)
        fn, gn = prob.batch_objective_and_grad(TH[act] + d, mask[act], sub_y(act))
        for _h in range(30):
            fail = ~(fn <= f[act] + 1e-4 * t * slope)
            if not fail.any():
                break
            t[fail] *= 0.5
            sub = act[fail]
            fn[fail], gn[fail] = prob.batch_objective_and_grad(TH[sub] + t[fail, None] * d[fail], mask[sub],
                                                               sub_y(sub))
        moved = fn <= f[act] + 1e-4 * t * slope
        step = t[:, None] * d
        yv = gn - g[act]
        sy = np.einsum("bi,bi->b", step, yv)
        upd = moved & (sy > 1e-12)
        for j in np.flatnonzero(upd):
            bi = act[j]
            rho = 1.0 / sy[j]
            Vm = np.eye(k) - rho * np.outer(step[j], yv[j])
            Hk[bi] = Vm @ Hk[bi] @ Vm.T + rho * np.outer(step[j], step[j])
        keep = act[moved]
        TH[keep], f[keep], g[keep] = TH[keep] + step[moved], fn[moved], gn[moved]
        ok[act[~moved]] = False   # a line search that cannot decrease: left to the fallback
        done[keep] = np.max(np.abs(gn[moved]), axis=1) < _GRAD_FLOOR
    return TH, done & ok


def lme_leave_one_out(design: LMEDesign, fit: "LMEFit", *, variance=(), correlated: bool = False,
                      method: str = "reml", keep=None) -> list:
    """Refit with each animal left out, exactly (full (RE)ML refits), started at the full fit.

    All refits start from the full-data estimates with the full-data inverse Hessian as BFGS's
    initial one: a few iterations instead of a fit from scratch, to the same optimum.  When the
    parameter layout does not depend on which animal is out (no ``"animal"`` or ``"power"``
    variance function) the refits run together, vectorised (:func:`_batch_bfgs`); otherwise
    one by one (varIdent by animal: the left-out animal's ratio is dropped and the others
    re-referenced; varPower: the full fit's fitted values start the covariate).  A refit that
    does not converge in the batch is redone alone.

    Parameters
    ----------
    design : LMEDesign
    fit : LMEFit
        The full-data fit of the same model.
    variance, correlated, method
        As for :func:`lme_fit`.
    keep : callable, optional
        ``keep(mask) -> bool``: whether a left-out design is fitted (e.g. every arm still has data).

    Returns
    -------
    list
        One entry per animal: the fixed-effect coefficients of its refit (ndarray (p,)), or None
        (no data, refused by ``keep``, or failed).
    """
    variance = tuple(variance)
    full = _LMEProblem(design, variance, correlated, method)
    if "power" in variance:
        full.pcov = np.where(full.m, np.abs(fit.fitted_conditional), 1.0)
    hinv = _hessian_inverse(full, fit.theta)
    S = design.mask.shape[0]
    out: list = [None] * S
    todo = []
    for i in range(S):
        if not design.mask[i].any():
            continue
        mk = design.mask.copy()
        mk[i] = False
        if keep is not None and not keep(mk):
            continue
        todo.append(i)
    alone = list(todo)
    if todo and "animal" not in variance and "power" not in variance:
        masks = np.repeat(design.mask[None], len(todo), axis=0)
        masks[np.arange(len(todo)), todo] = False
        with np.errstate(all="ignore"):
            TH, conv = _batch_bfgs(full, np.repeat(fit.theta[None], len(todo), axis=0), masks, hinv)
            if conv.any():
                beta = full.batch_parts(TH[conv], masks[conv])[2]
                for j, b in zip(np.flatnonzero(conv), beta):
                    out[todo[j]] = b
        alone = [i for i, c in zip(todo, conv) if not c]
    for i in alone:
        mk = design.mask.copy()
        mk[i] = False
        di = LMEDesign(y=design.y, X=design.X, Z=design.Z, mask=mk, arm=design.arm, t=design.t)
        start = fit.theta.copy()
        hi = hinv
        if "animal" in full.slices:
            sl = full.slices["animal"]
            lr = np.r_[0.0, start[sl]]                      # log ratios of animals_used (first = 0)
            k = int(np.searchsorted(full.animals_used, i))
            rest = np.delete(lr, k)
            start = np.concatenate([start[:sl.start], rest[1:] - rest[0], start[sl.stop:]])
            hi = None
            if hinv is not None and k > 0:
                drop = sl.start + k - 1
                hi = np.delete(np.delete(hinv, drop, axis=0), drop, axis=1)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[i] = lme_fit(di, variance=variance, correlated=correlated, method=method, start=start,
                                 hess_inv=hi, pcov0=fit.fitted_conditional if "power" in variance else None).beta
        except (np.linalg.LinAlgError, ValueError):
            out[i] = None
    return out


def lme_fit(design: LMEDesign, *, variance=(), correlated: bool = False, method: str = "reml",
            start: np.ndarray | None = None, max_outer: int = 50, tol: float = 1e-9, hess_inv=None,
            pcov0=None) -> LMEFit:
    """Fit a linear mixed model with variance functions by iterative (RE)ML.

    Parameters
    ----------
    design : LMEDesign
        Padded per-animal design.
    variance : sequence of str
        Any of ``"arm"`` (varIdent by arm), ``"animal"`` (varIdent by animal), ``"power"``
        (varPower of the absolute conditional fitted value), ``"power_time"`` (varPower of the
        time since baseline); several are multiplied (varComb).
    correlated : bool
        Unstructured (correlated) random-effect covariance instead of a diagonal one.
    method : {"reml", "ml"}
        Restricted or full maximum likelihood.
    start : ndarray, optional
        Starting unconstrained parameter vector.
    max_outer, tol : int, float
        Outer iterations updating the fitted-value covariate of ``"power"``, and the
        tolerance on the parameter change that stops them.
    hess_inv : ndarray, optional
        Initial inverse Hessian for BFGS (with ``start`` near the optimum).
    pcov0 : ndarray (S, T), optional
        Starting fitted values for ``"power"`` (with ``start``; default: a fit without it).

    Returns
    -------
    LMEFit
    """
    variance = tuple(variance)
    if "power" in variance and "power_time" in variance:
        raise ValueError("choose one power variance function ('power' or 'power_time')")
    prob = _LMEProblem(design, variance, correlated, method)
    th = np.zeros(prob.n_par) if start is None else np.asarray(start, float).copy()
    if start is None:
        th[prob.slices["G"]] = 0.0
    fitted_cov = "power" in variance
    if fitted_cov and start is not None and pcov0 is not None:
        prob.pcov = np.where(prob.m, np.abs(np.asarray(pcov0, float)), 1.0)
    elif fitted_cov:
        # start the covariate at the fit without the power function
        base_var = tuple(v for v in variance if v != "power")
        pre = lme_fit(design, variance=base_var, correlated=correlated, method=method, start=None)
        prob.pcov = np.where(prob.m, np.abs(pre.fitted_conditional), 1.0)
        th[:-1] = pre.theta
    n_outer = max_outer if fitted_cov else 1
    for it in range(n_outer):
        th_new = _minimise(prob, th, hess_inv if it == 0 else None)
        change = float(np.max(np.abs(th_new - th))) if th.size else 0.0
        th = th_new
        if not fitted_cov:
            break
        fit = _finish(prob, th)
        newcov = np.where(prob.m, np.abs(fit.fitted_conditional), 1.0)
        prob.pcov = newcov
        if change < tol ** 0.5 * 1e-2 and it > 0:
            break
    return _finish(prob, th)


def _finish(prob: _LMEProblem, th) -> LMEFit:
    V, A, beta, rss, ldV = prob.parts(th)
    val = prob.objective(th)
    dof = prob.N - prob.p if prob.method == "reml" else prob.N
    s2 = rss / dof
    Gam = prob.gamma(th)
    w, wv = prob.weights(th)
    fm = np.einsum("stp,p->st", prob.X, beta)
    r = np.where(prob.m, prob.y - fm, 0.0)
    Vinv_r = np.linalg.solve(V, r[..., None])[..., 0]
    b_int = np.einsum("qr,str,st->sq", Gam, prob.Z, Vinv_r)   # internal scale
    fc = fm + np.einsum("stq,sq->st", prob.Z, b_int)
    Dinv = np.diag(1.0 / prob.zscale)
    G = s2 * Dinv @ Gam @ Dinv
    b = b_int / prob.zscale
    g = prob.objective_and_grad(th)[1] if th.size else np.zeros(0)
    n_theta = th.size + 1
    return LMEFit(
        beta=beta, cov_beta=s2 * np.linalg.inv(A), sigma2=float(s2), G=G, weights=w,
        arm_ratio=wv["arm"], animal_ratio=wv["animal"], power=wv["power"], ranef=b,
        fitted_marginal=np.where(prob.m, fm, np.nan), fitted_conditional=np.where(prob.m, fc, np.nan),
        loglik=float(-0.5 * val), n_theta=int(n_theta), nobs=prob.N, p=prob.p,
        converged=bool(np.all(np.isfinite(g)) and (np.max(np.abs(g), initial=0.0) < 1e-3)),
        grad_norm=float(np.max(np.abs(g), initial=0.0)), method=prob.method, theta=np.asarray(th, float),
        Vstar=V,
    )


# =========================================================================== CR2 and influence
def _isqrt_psd(B, rtol=1e-10):
    """Symmetric inverse square root (pseudo-inverse on the null space)."""
    w, U = np.linalg.eigh(0.5 * (B + B.T))
    keep = w > rtol * max(float(w.max(initial=0.0)), 1e-300)
    inv = np.where(keep, 1.0 / np.sqrt(np.where(keep, w, 1.0)), 0.0)
    return (U * inv) @ U.T


def cr2_vcov(X: np.ndarray, Vstar: np.ndarray, resid: np.ndarray, mask: np.ndarray,
             contrasts: np.ndarray | None = None):
    r"""Cluster-robust (CR2, Bell & McCaffrey 2002) covariance of GLS fixed effects.

    Each animal is a cluster.  With working covariance :math:`\Phi_i` (the fitted
    :math:`V^*_i`, any scale), :math:`W_i = \Phi_i^{-1}`, :math:`M = (\sum X_i^\top W_i X_i)^{-1}`,
    :math:`\Phi_i = D_i^\top D_i` and :math:`B_i = D_i(\Phi_i - X_i M X_i^\top)D_i^\top`, the
    adjustment :math:`A_i = D_i^\top B_i^{-1/2} D_i` makes the sandwich
    :math:`M\,\sum_i X_i^\top W_i A_i e_i e_i^\top A_i W_i X_i\,M` unbiased when the working
    model is right (Pustejovsky & Tipton 2018, eq. 7).  Degrees of freedom of a contrast
    :math:`c` are Bell & McCaffrey's Satterthwaite approximation under the working model.

    Parameters
    ----------
    X : ndarray, shape (S, T, p)
        Fixed-effect design (padded).
    Vstar : ndarray, shape (S, T, T)
        Working covariance of each animal up to a common scale.
    resid : ndarray, shape (S, T)
        Marginal residuals :math:`y - X\hat\beta` (same units as the response).
    mask : ndarray of bool, shape (S, T)
        Observations used.
    contrasts : ndarray, shape (c, p), optional
        Rows for which to compute Satterthwaite df (default: each coefficient).

    Returns
    -------
    cov : ndarray, shape (p, p)
        CR2 covariance of the fixed effects (response unit / fixed-effect unit, squared).
    df : ndarray, shape (c,)
        Bell-McCaffrey degrees of freedom of each contrast.
    """
    S, T, p = X.shape
    idx = [np.flatnonzero(mask[s]) for s in range(S)]
    idx = [(s, ii) for s, ii in enumerate(idx) if ii.size]
    Xs = [X[s][ii] for s, ii in idx]
    Phi = [Vstar[s][np.ix_(ii, ii)] for s, ii in idx]
    W = [np.linalg.inv(P) for P in Phi]
    M = np.linalg.inv(sum(x.T @ w @ x for x, w in zip(Xs, W)))
    meat = np.zeros((p, p))
    Aw = []   # A_i W_i X_i M, shape (n_i, p)
    for (s, ii), x, P, w in zip(idx, Xs, Phi, W):
        D = np.linalg.cholesky(P).T
        B = D @ (P - x @ M @ x.T) @ D.T
        A = D.T @ _isqrt_psd(B) @ D
        Aw.append(A @ w @ x @ M)
        u = (A @ w @ x).T @ resid[s][ii]
        meat += np.outer(u, u)
    cov = M @ meat @ M
    C = np.eye(p) if contrasts is None else np.atleast_2d(contrasts)
    # Satterthwaite df: var estimate = sum_i (g_i' e_i)^2, e = (I - H) y, H = X M X' W
    off = np.cumsum([0] + [ii.size for _, ii in idx])
    N = off[-1]
    Xf = np.vstack(Xs)
    Wf = np.zeros((N, N))
    Pf = np.zeros((N, N))
    for k, (w, P) in enumerate(zip(W, Phi)):
        sl = slice(off[k], off[k + 1])
        Wf[sl, sl] = w
        Pf[sl, sl] = P
    IH = np.eye(N) - Xf @ M @ Xf.T @ Wf
    df = np.empty(C.shape[0])
    for r, c in enumerate(C):
        U = np.zeros((N, len(idx)))
        for k, a in enumerate(Aw):
            g = a @ c
            U[:, k] = IH[off[k]:off[k + 1]].T @ g
        Om = U.T @ Pf @ U
        df[r] = np.trace(Om) ** 2 / np.sum(Om * Om) if np.sum(Om * Om) > 0 else np.nan
    return cov, df
