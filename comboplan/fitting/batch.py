"""Vectorised nonlinear least squares for many curves at once (the batch engine).

:func:`fit_chunk` is a *pure function* over one chunk of curves: arrays in, arrays
out, no globals, so that a distributed backend (dask, joblib, Ray) can map it over
chunks later.  :func:`fit_curves` splits the work into chunks, shows progress and
stitches the results into one :class:`BatchFit`.

The optimiser is Levenberg–Marquardt (Marquardt 1963) with Marquardt's diagonal
scaling, run simultaneously for every curve of a chunk: each iteration evaluates
the model and its Jacobian for all active curves as ``(n_curves, n_obs)`` and
``(n_curves, n_obs, n_params)`` arrays and solves the ``n_params``-square damped
normal equations for all curves with one batched ``numpy.linalg.solve``.  Curves
leave the active set as they converge, so easy curves do not pay for hard ones.

Parameters declared with ``transform="log"`` are optimised on the log scale, which
keeps them positive and makes the fit equivariant to rescaling (doses by ``k`` scale
EC50 by ``k`` and change nothing else).  Reported estimates and covariances are on
the natural scale.

Robust losses (``"soft_l1"``, ``"huber"``, ``"cauchy"``) follow the definitions of
:func:`scipy.optimize.least_squares` (cost ``0.5 * f_scale**2 * sum(rho((r/f_scale)**2))``)
and are minimised by iteratively re-weighted least squares, which has the same
stationary points.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..models.spec import ModelSpec, numeric_jacobian

__all__ = ["BatchFit", "fit_curves", "fit_chunk", "COV_METHODS", "LOSSES"]

COV_METHODS = ("gauss-newton", "hessian", "sandwich", "none")
LOSSES = ("linear", "soft_l1", "huber", "cauchy")


@dataclass(frozen=True)
class BatchFit:
    """Raw result of the batch engine for ``n`` curves and ``p`` parameters.

    Attributes
    ----------
    spec : ModelSpec
        The fitted model.
    estimates : ndarray, shape (n, p)
        Estimates on the natural scale (fixed parameters hold their fixed value).
    cov : ndarray, shape (n, p, p)
        Covariance of the estimates on the natural scale (rows/columns of fixed
        parameters are 0); NaN where not estimable.
    rss : ndarray, shape (n,)
        Weighted residual sum of squares ``sum(w * (y - f)**2)``.
    nobs : ndarray, shape (n,)
        Number of observations per curve.
    npar : int
        Number of free (estimated) parameters.
    converged : ndarray of bool, shape (n,)
    message : ndarray of object (str), shape (n,)
        ``"converged: <criterion>"`` or the reason for failure.  Object dtype: a fixed-width
        unicode array would cost every curve 4 bytes per character of the longest message
        (2.5 KB per curve with one 617-character fall-back message among 100,000 curves).
    niter : ndarray of int, shape (n,)
    free : ndarray of bool, shape (p,)
        Which parameters were estimated.
    cov_method : str
        Covariance estimator used (see :data:`COV_METHODS`).
    loss : str
        Loss function used.
    sum_log_w : ndarray, shape (n,)
        ``sum(log w)`` over observations (enters the Gaussian log-likelihood).
    on_bound : ndarray of bool, shape (n, p), optional
        Which estimates ended on a finite bound (``bounds=``): the optimum lies on the
        bound.  Such a parameter has a NaN row/column in ``cov``; the covariance of the
        others is conditional on it (as if it were fixed at the bound).  ``None``
        (engines that do not report it) reads as all False via :attr:`bound_flags`.
    """

    spec: ModelSpec
    estimates: np.ndarray
    cov: np.ndarray
    rss: np.ndarray
    nobs: np.ndarray
    npar: int
    converged: np.ndarray
    message: np.ndarray
    niter: np.ndarray
    free: np.ndarray
    cov_method: str = "gauss-newton"
    loss: str = "linear"
    sum_log_w: np.ndarray = field(default=None)  # type: ignore[assignment]
    on_bound: np.ndarray = field(default=None)  # type: ignore[assignment]

    @property
    def bound_flags(self) -> np.ndarray:
        """``on_bound`` as an (n, p) boolean array (all False where not reported)."""
        if self.on_bound is None:
            return np.zeros(self.estimates.shape, dtype=bool)
        return np.asarray(self.on_bound, dtype=bool)

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return self.estimates.shape[0]

    @property
    def dof(self) -> np.ndarray:
        """Residual degrees of freedom ``nobs - npar``."""
        return self.nobs - self.npar

    @property
    def sigma(self) -> np.ndarray:
        """Residual standard error ``sqrt(rss / dof)`` (response unit)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt(self.rss / np.where(self.dof > 0, self.dof, np.nan))

    @property
    def loglik(self) -> np.ndarray:
        """Gaussian log-likelihood at the ML variance ``rss / nobs``."""
        n = self.nobs.astype(float)
        slw = self.sum_log_w if self.sum_log_w is not None else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return -0.5 * n * (np.log(2 * np.pi) + np.log(self.rss / n) + 1.0) + 0.5 * slw

    @property
    def stderr(self) -> np.ndarray:
        """Standard errors ``sqrt(diag(cov))``, shape (n, p)."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diagonal(self.cov, axis1=1, axis2=2))


# --------------------------------------------------------------------------- helpers
def _prepare_fixed(spec: ModelSpec, fixed: Mapping | None, n: int):
    allfixed = dict(spec.fixed_defaults)
    if fixed:
        allfixed.update(fixed)
    names = spec.param_names
    free = np.ones(len(names), dtype=bool)
    values = np.full((n, len(names)), np.nan)
    for k, v in allfixed.items():
        if k not in names:
            raise ValueError(f"cannot fix {k!r}: model {spec.name!r} has parameters {names}")
        j = names.index(k)
        free[j] = False
        values[:, j] = np.broadcast_to(np.asarray(v, dtype=float), (n,))
    return free, values


def _bounds_theta(spec: ModelSpec, bounds: Mapping | None):
    lo = np.empty(len(spec.params))
    hi = np.empty(len(spec.params))
    islog = np.zeros(len(spec.params), dtype=bool)
    for j, p in enumerate(spec.params):
        b = (bounds or {}).get(p.name, p.bounds)
        a, c = float(b[0]), float(b[1])
        if not a < c:
            raise ValueError(f"bounds for {p.name!r} must satisfy low < high; got {b}")
        if p.transform == "log":
            islog[j] = True
            if a < 0:
                raise ValueError(f"{p.name!r} is fitted on the log scale; its lower bound must be >= 0, got {a}")
            with np.errstate(divide="ignore"):
                lo[j], hi[j] = np.log(a), np.log(c)
        else:
            lo[j], hi[j] = a, c
    return lo, hi, islog


def _to_theta(p, islog):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(islog, np.log(np.where(islog, p, 1.0)), p)


def _to_nat(theta, islog):
    with np.errstate(over="ignore"):
        return np.where(islog, np.exp(np.where(islog, theta, 0.0)), theta)


def _model(spec, x, pnat):
    with np.errstate(all="ignore"):
        return spec.func(x, *[pnat[:, j, None] for j in range(pnat.shape[1])])


def _jac_nat(spec, x, pnat):
    cols = [pnat[:, j, None] for j in range(pnat.shape[1])]
    with np.errstate(all="ignore"):
        if spec.jacobian is not None:
            return spec.jacobian(x, *cols)
        return numeric_jacobian(spec.func, x, cols)


def _rho_prime(loss: str, z):
    if loss == "soft_l1":
        return 1.0 / np.sqrt(1.0 + z)
    if loss == "huber":
        return np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0)))
    if loss == "cauchy":
        return 1.0 / (1.0 + z)
    return np.ones_like(z)


def _start_rss(spec, x, y, w, p):
    with np.errstate(all="ignore"):
        r = np.sum(w * (y - _model(spec, x, p)) ** 2, axis=1)
    return np.where(np.isfinite(r), r, np.inf)


# --------------------------------------------------------------------------- LM core
# MINPACK's default relative tolerances (sqrt of machine epsilon), used as the loosest
# acceptable stop: a curve never fails where MINPACK's ftol test would have stopped
MINPACK_TOL = 1.49012e-08


def _lm(spec, x, y, sw, theta, free, fixed_nat, lo, hi, islog, maxiter, xtol, gtol, ftol=1e-15):
    """Levenberg–Marquardt on the free transformed parameters of all curves.

    Bounds are handled by an active set: a parameter that sits on a bound while the
    gradient pushes it outward is held there and the damped step is solved for the
    others (projected Levenberg–Marquardt), so optima on a bound are reached and the
    stopping rules apply to the parameters that can still move.

    Returns theta, rss, converged, message, niter (all per curve).
    """
    n, p = theta.shape
    fidx = np.flatnonzero(free)
    k = fidx.size
    lam = np.full(n, 1e-3)
    niter = np.zeros(n, dtype=int)
    conv = np.zeros(n, dtype=bool)
    loose = np.zeros(n, dtype=bool)
    msg = np.full(n, "maximum number of iterations reached", dtype=object)
    lo_f, hi_f = lo[fidx], hi[fidx]

    def nat(th, fx):
        pn = _to_nat(th, islog)
        return np.where(np.isnan(fx), pn, fx)

    def rss_of(xx, yy, ss, th, fx):
        r = ss * (yy - _model(spec, xx, nat(th, fx)))
        out = np.sum(r * r, axis=1)
        return np.where(np.isfinite(out), out, np.inf)

    rss = rss_of(x, y, sw, theta, fixed_nat)
    bad0 = ~np.isfinite(rss) | np.any(~np.isfinite(theta[:, fidx]), axis=1)
    msg[bad0] = "model is not finite at the starting values"
    active = ~bad0
    if k == 0:
        conv[active] = True
        msg[active] = "converged: no free parameters"
        return theta, rss, conv, msg, niter
    ysc = np.sum((sw * y) ** 2, axis=1)
    rss_lag = None
    theta_lag = None
    eye = np.eye(k)[None]
    errs = np.errstate(all="ignore")
    errs.__enter__()
    for it in range(maxiter):
        if it == max(maxiter - 20, 0):
            rss_lag = rss.copy()
            theta_lag = theta.copy()
            loose[:] = False
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        xa, ya, sa, tha, fxa = x[idx], y[idx], sw[idx], theta[idx], fixed_nat[idx]
        pn = nat(tha, fxa)
        f = _model(spec, xa, pn)
        r = sa * (ya - f)
        J = _jac_nat(spec, xa, pn)[..., fidx]
        # chain rule to the transformed scale: d/dlog(p) = p d/dp
        J = J * np.where(islog[fidx], pn[:, fidx], 1.0)[:, None, :]
        J = J * sa[..., None]
        A = np.einsum("nmi,nmj->nij", J, J)
        g = np.einsum("nmi,nm->ni", J, r)  # -1/2 gradient of the RSS: a descent direction
        dA = np.diagonal(A, axis1=1, axis2=2)
        finite = np.all(np.isfinite(A), axis=(1, 2)) & np.all(np.isfinite(g), axis=1)
        rssa = rss[idx]
        th_f = tha[:, fidx]
        # active set: on a bound and pushed outward by the descent direction
        held = ((th_f <= lo_f) & (g < 0)) | ((th_f >= hi_f) & (g > 0))
        keep = ~held
        # MINPACK-style gradient criterion: max cosine between r and the columns of J
        # (over the parameters that are not held on a bound)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = np.sqrt(np.maximum(dA, 1e-300) * np.maximum(rssa, 1e-300)[:, None])
            cosang = np.max(np.where(keep, np.abs(g) / denom, 0.0), axis=1)
        zero_res = rssa <= 1e-28 * np.maximum(ysc[idx], 1e-300)
        done_g = finite & ((cosang <= gtol) | zero_res)
        if np.any(done_g):
            j = idx[done_g]
            conv[j] = True
            msg[j] = np.where(zero_res[done_g], "converged: zero residual", "converged: gradient orthogonal to residuals")
        # damped step on the parameters that are not held (held ones: identity rows, zero step)
        la = lam[idx]
        kk = keep[:, :, None] & keep[:, None, :]
        D = np.maximum(dA, 1e-12 * np.max(np.abs(dA), axis=1, keepdims=True) + 1e-300)
        M = np.where(kk, A + la[:, None, None] * (D[:, :, None] * eye), 0.0) + np.where(held[:, :, None], eye, 0.0)
        M = np.where(finite[:, None, None], M, eye)
        gg = np.where(finite[:, None] & keep, g, 0.0)
        try:
            delta = np.linalg.solve(M, gg[..., None])[..., 0]
        except np.linalg.LinAlgError:
            delta = np.stack([np.linalg.lstsq(Mi, gi, rcond=None)[0] for Mi, gi in zip(M, gg)])
        new = tha.copy()
        new[:, fidx] = np.clip(th_f + delta, lo_f, hi_f)
        rss_new = rss_of(xa, ya, sa, new, fxa)
        # predicted decrease of the local quadratic model: 2 g'd - d'Ad (>= 0 for an LM step)
        pred = 2.0 * np.einsum("ni,ni->n", gg, delta) - np.einsum("ni,nij,nj->n", delta, A, delta)
        accept = (rss_new <= rssa) & finite & ~done_g
        dstep = new[:, fidx] - th_f
        step = np.max(np.abs(dstep) / (np.abs(th_f) + xtol), axis=1)
        # MINPACK's scale-invariant form: ||D step|| <= xtol ||D theta||, D = column norms of J
        sd = np.sqrt(np.maximum(dA, 0.0))
        step_s = np.sqrt(np.sum((sd * dstep) ** 2, axis=1)) / np.maximum(np.sqrt(np.sum((sd * th_f) ** 2, axis=1)),
                                                                          1e-300)
        theta[idx[accept]] = new[accept]
        rss[idx[accept]] = rss_new[accept]
        with np.errstate(invalid="ignore", divide="ignore"):
            actred = (rssa - rss_new) / np.maximum(rssa, 1e-300)
            prered = pred / np.maximum(rssa, 1e-300)
        loose[idx] |= accept & (actred <= MINPACK_TOL) & (np.abs(prered) <= MINPACK_TOL)
        lam[idx] = np.where(accept, np.maximum(la * 0.3, 1e-12), np.minimum(la * 10.0, 1e16))
        niter[idx] += 1
        done_x = accept & ((step <= xtol) | (step_s <= xtol))
        if np.any(done_x):
            j = idx[done_x]
            conv[j] = True
            msg[j] = "converged: relative step below xtol"
        flat = finite & ~done_g & ~done_x & (np.abs(pred) <= ftol * np.maximum(rssa, 1e-300)) & (la <= 1e-2)
        if np.any(flat):
            j = idx[flat]
            conv[j] = True
            msg[j] = "converged: predicted relative RSS decrease below ftol"
        stuck = ~accept & ~done_g & ~flat & (lam[idx] >= 1e16)
        if np.any(stuck):
            # even a step of relative size ~1e-16 along the gradient does not lower the RSS:
            # a minimum to machine precision (MINPACK stops here too, by its xtol test) unless
            # the gradient is clearly not zero (a kink or a wrong derivative)
            j = idx[stuck]
            small = cosang[stuck] <= 1e-6
            conv[j[small]] = True
            msg[j[small]] = "converged: no further decrease of the RSS possible (minimum to machine precision)"
            msg[j[~small]] = "no decrease of RSS possible (damping exhausted) although the gradient is not zero"
        notfinite = ~finite
        if np.any(notfinite):
            msg[idx[notfinite]] = "model or Jacobian not finite during iterations"
        active[idx[done_g | done_x | flat | stuck | notfinite]] = False
    errs.__exit__(None, None, None)
    # at the iteration limit with residuals negligible against the data (an exact fit
    # approached while a parameter diverges, e.g. a step through as many points as
    # parameters): residuals below 1e-6 of the data's root mean square (RSS <= 1e-12 sum(y^2)),
    # far below any assay's resolution, so the RSS is at its infimum for every practical purpose
    tiny = active & (rss <= 1e-12 * ysc)
    conv[tiny] = True
    msg[tiny] = "converged: residuals negligible (exact fit approached at the iteration limit)"
    active &= ~tiny
    if rss_lag is not None and np.any(active):
        # at the iteration limit with the RSS stationary (MINPACK's ftol test met in the last
        # iterations, or no relative change above 1e-9): the minimum of the RSS is reached, but
        # the parameters keep drifting along a flat valley, i.e. they are poorly determined
        with np.errstate(invalid="ignore", divide="ignore"):
            flat = active & (loose | (np.abs(rss_lag - rss) <= 1e-9 * np.maximum(rss, 1e-300)))
            drift = np.abs(theta - theta_lag) > 1e-6 * (np.abs(theta_lag) + 1e-6)
        names = spec.param_names
        for i in np.flatnonzero(flat):
            moving = [names[j] for j in fidx if drift[i, j]]
            conv[i] = True
            msg[i] = ("converged: RSS stationary (relative decrease below MINPACK's ftol) at the iteration limit"
                      + (f", but {', '.join(moving)} still drifting along a flat RSS valley (poorly determined)"
                         if moving else ""))
    return theta, rss, conv, msg, niter


# --------------------------------------------------------------------------- fall-back
def _jac_fit(spec, x, sw, theta, fixed_nat, free, islog):
    """Natural-scale parameters and the weighted Jacobian of the free ones on the fitting scale
    (log parameters: d/dlog p = p d/dp), per curve: ``pn`` (n, p), ``J`` (n, m, k)."""
    fidx = np.flatnonzero(free)
    with np.errstate(all="ignore"):
        pn = np.where(np.isnan(fixed_nat), _to_nat(theta, islog), fixed_nat)
        J = _jac_nat(spec, x, pn)[..., fidx] * np.where(islog[fidx], pn[:, fidx], 1.0)[:, None, :] * sw[..., None]
    return pn, J


def _condition(spec, x, sw, theta, fixed_nat, free, islog):
    """Condition number of the column-scaled information matrix J'WJ on the fitting scale
    (inf where not finite), per curve."""
    _, J = _jac_fit(spec, x, sw, theta, fixed_nat, free, islog)
    with np.errstate(all="ignore"):
        A = np.einsum("nmi,nmj->nij", J, J)
        dg = np.sqrt(np.abs(np.diagonal(A, axis1=1, axis2=2)))
        As = A / np.where(dg > 0, dg, 1.0)[:, :, None] / np.where(dg > 0, dg, 1.0)[:, None, :]
        ok = np.all(np.isfinite(As), axis=(1, 2)) & np.all(dg > 0, axis=1)
        out = np.full(theta.shape[0], np.inf)
        if ok.any():
            out[ok] = np.linalg.cond(As[ok])
    return np.where(np.isfinite(out), out, np.inf)


def _candidate_starts(spec, x, mask, start, free, lo, hi, islog):
    """Alternative starting points for curves whose first solve failed (natural scale).

    The potency parameter (dose unit, log scale) is placed at 10 %, 50 % and 90 % of the
    tested log-dose range, each with the self-start's slope and with slopes halved and
    doubled; the model's equivalent representations (``spec.alt_starts``) of each are
    added.  Returns a list of ``(n, p)`` arrays.
    """
    n, p = start.shape
    xpos = np.where(mask & (x > 0), x, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ldlo = np.log(np.nanmin(xpos, axis=1))
        ldhi = np.log(np.nanmax(xpos, axis=1))
    ok = np.isfinite(ldlo) & np.isfinite(ldhi)
    ldlo = np.where(ok, ldlo, 0.0)
    ldhi = np.where(ok & (ldhi > ldlo), ldhi, ldlo + np.log(10.0))
    pot = [j for j, q in enumerate(spec.params) if free[j] and q.unit == "dose" and q.transform == "log"]
    slope = [j for j, q in enumerate(spec.params) if free[j] and q.unit == "1" and q.name in ("h", "b")]
    base = np.where(np.isfinite(start), start, 1.0)
    cands = []
    for t in (0.1, 0.5, 0.9):
        for mult in (1.0, 0.5, 2.0):
            c = base.copy()
            for j in pot:
                c[:, j] = np.exp(ldlo + t * (ldhi - ldlo))
            for j in slope:
                c[:, j] = c[:, j] * mult
            cands.append(c)
            if spec.alt_starts is not None:
                cands.extend(np.asarray(a, dtype=float) for a in spec.alt_starts(c))
    # keep every candidate inside the bounds (fitting scale)
    out = []
    for c in cands:
        th = _to_theta(c, islog)
        th = np.where(free, np.clip(th, lo, hi), th)
        out.append(np.where(free, _to_nat(th, islog), c))
    return out


def _multistart(spec, x, y, sw, mask, start, free, fixed_nat, lo, hi, islog, maxiter, xtol, gtol, ftol):
    """Refit curves from :func:`_candidate_starts`, all candidates in one batched solve.

    Returns theta, rss, converged, message, niter for the best converged candidate of
    each curve (lowest RSS); curves where none converges keep ``converged=False``.
    """
    n, p = start.shape
    cands = _candidate_starts(spec, x, mask, start, free, lo, hi, islog)
    C = len(cands)
    P = np.concatenate(cands, axis=0)
    P = np.where(np.isnan(np.tile(fixed_nat, (C, 1))), P, np.tile(fixed_nat, (C, 1)))
    th0 = _to_theta(P, islog)
    th, rss, conv, msg, it = _lm(spec, np.tile(x, (C, 1)), np.tile(y, (C, 1)), np.tile(sw, (C, 1)), th0, free,
                                 np.tile(fixed_nat, (C, 1)), lo, hi, islog, maxiter, xtol, gtol, ftol)
    rss_c = np.where(conv, rss, np.inf).reshape(C, n)
    best = np.argmin(rss_c, axis=0)
    sel = best * n + np.arange(n)
    return th[sel], rss[sel], conv[sel], msg[sel], it.reshape(C, n).sum(axis=0)


def _scipy_candidates(spec, x, y, sw, theta, free, fixed_nat, lo, hi, islog, maxiter):
    """Per-curve scipy solves from ``theta`` (fitting scale), analytic Jacobians.

    Where the free parameters are unbounded on the fitting scale: MINPACK's
    Levenberg-Marquardt (:func:`scipy.optimize.leastsq`, default tolerances) on the
    *natural* scale, i.e. the path of ``curve_fit`` and lmfit from the same start, which
    can end in another basin than a fit on the log scale.  Where bounds are set:
    trust-region reflective (:func:`scipy.optimize.least_squares`) on the fitting scale.
    Returns a list of ``(theta, ok, label)``.
    """
    from scipy.optimize import least_squares, leastsq

    n, p = theta.shape
    fidx = np.flatnonzero(free)
    lo_f, hi_f = lo[fidx], hi[fidx]
    bounded = bool(np.isfinite(lo_f).any() or np.isfinite(hi_f).any())
    kinds = ("trf",) if bounded else ("lm", "natural")
    labels = {"trf": "scipy least_squares trf", "lm": "scipy least_squares lm",
              "natural": "MINPACK leastsq on the natural scale"}
    out = []
    for kind in kinds:
        natural = kind == "natural"
        th = theta.copy()
        ok = np.zeros(n, dtype=bool)
        for i in range(n):
            if not np.all(np.isfinite(theta[i, fidx])):
                continue
            fx = fixed_nat[i:i + 1]
            xi, yi, si = x[i:i + 1], y[i], sw[i]

            def nat_of(t, i=i, fx=fx):
                tt = theta[i:i + 1].copy()
                if natural:
                    pn = _to_nat(tt, islog)
                    pn[0, fidx] = t
                else:
                    tt[0, fidx] = t
                    pn = _to_nat(tt, islog)
                return np.where(np.isnan(fx), pn, fx)

            def res(t, xi=xi, yi=yi, si=si, nat_of=nat_of):
                with np.errstate(all="ignore"):
                    r = si * (yi - _model(spec, xi, nat_of(t))[0])
                return np.where(np.isfinite(r), r, 1e150)

            def jac(t, xi=xi, si=si, nat_of=nat_of):
                pn = nat_of(t)
                with np.errstate(all="ignore"):
                    J = -si[:, None] * _jac_nat(spec, xi, pn)[0][:, fidx]
                    if not natural:
                        J = J * np.where(islog[fidx], pn[0, fidx], 1.0)[None, :]
                return np.where(np.isfinite(J), J, 0.0)

            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if kind == "trf":
                        t0 = theta[i, fidx].copy()
                        span = np.where(np.isfinite(hi_f - lo_f), hi_f - lo_f, 1.0)
                        t0 = np.clip(t0, lo_f + 1e-10 * span, hi_f - 1e-10 * span)
                        sol = least_squares(res, t0, jac=jac, bounds=(lo_f, hi_f), method="trf", x_scale="jac",
                                            max_nfev=5 * maxiter)
                        good, t = sol.status > 0, sol.x
                    elif kind == "lm":
                        sol = least_squares(res, theta[i, fidx], jac=jac, method="lm", x_scale="jac",
                                            max_nfev=5 * maxiter)
                        good, t = sol.status > 0, sol.x
                    else:
                        p0 = _to_nat(theta[i:i + 1], islog)[0, fidx]
                        t, _, _, _, ier = leastsq(res, p0, Dfun=jac, full_output=True, maxfev=5 * maxiter)
                        good = ier in (1, 2, 3, 4) and np.all(np.isfinite(t)) and np.all(t[islog[fidx]] > 0)
                        if good:
                            t = _to_theta(t, islog[fidx])
            except (ValueError, np.linalg.LinAlgError):
                continue
            if good and np.all(np.isfinite(t)):
                th[i, fidx] = t
                ok[i] = True
        out.append((th, ok, labels[kind]))
    return out


def _fallback(spec, x, y, sw, mask, start, free, fixed_nat, lo, hi, islog, maxiter, xtol, gtol, ftol,
              theta_now=None, conv_now=None):
    """Fall-back for curves whose first solve failed (see ``multistart`` in :func:`fit_chunk`).

    Candidates: the batched multi-start (:func:`_multistart`) and per-curve scipy solves
    from the self-start (:func:`_scipy_candidates`), each scipy end point polished by the
    engine (the polished point is used when it converges, the scipy point otherwise).
    The converged candidate with the lowest RSS wins.  Returns theta, rss, converged,
    message, niter.
    """
    n, p = start.shape
    th_m, rss_m, conv_m, msg_m, it = _multistart(spec, x, y, sw, mask, start, free, fixed_nat, lo, hi, islog,
                                                 maxiter, xtol, gtol, ftol)
    best_th, best_rss = th_m.copy(), np.where(conv_m, rss_m, np.inf)
    best_msg = np.array([f"{m} (multi-start)" for m in msg_m], dtype=object)
    th0 = _to_theta(np.where(np.isfinite(start), start, 1.0), islog)
    th0 = np.where(free, np.clip(th0, lo, hi), th0)
    for th_s, ok, label in _scipy_candidates(spec, x, y, sw, th0, free, fixed_nat, lo, hi, islog, maxiter):
        if not ok.any():
            continue
        th_p, rss_p, conv_p, msg_p, it_p = _lm(spec, x, y, sw, th_s.copy(), free, fixed_nat, lo, hi, islog,
                                               maxiter, xtol, gtol, ftol)
        it = it + it_p
        with np.errstate(all="ignore"):
            pn = np.where(np.isnan(fixed_nat), _to_nat(th_s, islog), fixed_nat)
            rss_s = np.sum((sw * (y - _model(spec, x, pn))) ** 2, axis=1)
        use_p = ok & conv_p & (rss_p <= rss_s)
        cand_th = np.where(use_p[:, None], th_p, th_s)
        cand_rss = np.where(use_p, rss_p, np.where(ok & np.isfinite(rss_s), rss_s, np.inf))
        cand_msg = np.where(use_p, [f"{m} (after {label})" for m in msg_p],
                            f"converged ({label}; the engine's polish from there did not finish)")
        better = cand_rss < best_rss
        best_th[better], best_rss[better], best_msg[better] = cand_th[better], cand_rss[better], cand_msg[better]
    # where the best point lies in a flat valley (parameters drifting at the iteration
    # limit), keep walking it: a longer solve from there, kept if it lowers the RSS
    walk = np.isfinite(best_rss) & np.array(["drifting" in str(m) or "did not finish" in str(m) for m in best_msg])
    if theta_now is not None:
        # the current solution (converged but re-examined) is itself a candidate
        walk |= conv_now
    if walk.any():
        w = np.flatnonzero(walk)
        th0 = np.where(np.isfinite(best_rss[w])[:, None], best_th[w], theta_now[w] if theta_now is not None else 0)
        th_w, rss_w, conv_w, msg_w, it_w = _lm(spec, x[w], y[w], sw[w], th0.copy(), free, fixed_nat[w], lo, hi,
                                               islog, 10 * maxiter, xtol, gtol, ftol)
        it[w] += it_w
        better = conv_w & (rss_w < best_rss[w])
        k = w[better]
        best_th[k], best_rss[k] = th_w[better], rss_w[better]
        best_msg[k] = [f"{m} (continued along a flat valley)" for m in msg_w[better]]
    conv = np.isfinite(best_rss)
    return best_th, np.where(conv, best_rss, np.nan), conv, best_msg, it

def _gradient_cosine(spec, x, y, sw, theta, fixed_nat, free, islog, lo, hi):
    """MINPACK's gradient criterion at ``theta``, per curve: the largest cosine between the
    weighted residual vector and a Jacobian column (fitting scale), over the free parameters
    not held on a bound by an outward gradient; NaN where it is not finite."""
    fidx = np.flatnonzero(free)
    pn, J = _jac_fit(spec, x, sw, theta, fixed_nat, free, islog)
    with np.errstate(all="ignore"):
        r = sw * (y - _model(spec, x, pn))
        g = np.einsum("nmi,nm->ni", J, r)
        dA = np.einsum("nmi,nmi->ni", J, J)
        rss = np.sum(r * r, axis=1)
        th = theta[:, fidx]
        held = ((th <= lo[fidx]) & (g < 0)) | ((th >= hi[fidx]) & (g > 0))
        cos = np.abs(g) / np.sqrt(np.maximum(dA, 1e-300) * np.maximum(rss, 1e-300)[:, None])
        out = np.max(np.where(held, 0.0, cos), axis=1)
    return np.where(np.isfinite(out), out, np.nan)


def _valley_walk(spec, x, y, sw, theta, rss, free, fixed_nat, lo, hi, islog, maxiter, xtol, gtol, ftol,
                 rounds: int = 40):
    """Follow a flat valley of the RSS from converged end points (all curves in one batch).

    On a nearly flat, curved valley (a lower asymptote running to -inf while the EC50 runs to
    +inf, a slope growing without bound between two doses) Levenberg-Marquardt stops on a
    tiny step although the RSS still decreases along the valley, so the end point depends on
    how long a solver crawls.  Each round steps along the valley direction (the eigenvector
    of the smallest eigenvalue of the column-scaled information matrix J'WJ), both ways, at
    ten step lengths (1e-3 to 2.6e2 times the largest component, geometric), polishes every
    candidate with the engine and keeps the lowest RSS; a curve stops when no candidate
    lowers its RSS by more than 1e-12 relative.  Returns theta, rss, niter, and per curve
    whether it moved.
    """
    n = theta.shape[0]
    fidx = np.flatnonzero(free)
    k = fidx.size
    theta = theta.copy()
    rss = rss.copy()
    niter = np.zeros(n, dtype=int)
    moved = np.zeros(n, dtype=bool)
    active = np.isfinite(rss) & np.all(np.isfinite(theta[:, fidx]), axis=1)
    ladder = 1e-3 * 4.0 ** np.arange(10)
    steps = np.concatenate([ladder, -ladder])
    C = steps.size
    for _ in range(rounds):
        idx = np.flatnonzero(active)
        if idx.size == 0 or k == 0:
            break
        th = theta[idx]
        _, J = _jac_fit(spec, x[idx], sw[idx], th, fixed_nat[idx], free, islog)
        ok = np.all(np.isfinite(J), axis=(1, 2))
        active[idx[~ok]] = False
        idx, th, J = idx[ok], th[ok], J[ok]
        if idx.size == 0:
            break
        d = np.sqrt(np.sum(J * J, axis=1))
        d = np.where(d > 0, d, 1.0)
        Js = J / d[:, None, :]
        try:
            _, V = np.linalg.eigh(np.einsum("nmi,nmj->nij", Js, Js))
        except np.linalg.LinAlgError:
            active[idx] = False
            break
        v = V[:, :, 0] / d
        v = v / np.max(np.abs(v), axis=1, keepdims=True)
        jm = np.argmax(np.abs(v), axis=1)
        scale = np.maximum(1.0, np.abs(th[:, fidx][np.arange(idx.size), jm]))
        m = idx.size
        cand = np.repeat(th[None], C, axis=0)  # (C, m, p)
        cand[:, :, fidx] = np.clip(th[None, :, fidx] + steps[:, None, None] * scale[None, :, None] * v[None],
                                   lo[fidx], hi[fidx])
        cand = cand.reshape(C * m, -1)
        tile = lambda a: np.tile(a, (C,) + (1,) * (a.ndim - 1))  # noqa: E731
        th_c, rss_c, conv_c, _, it_c = _lm(spec, tile(x[idx]), tile(y[idx]), tile(sw[idx]), cand, free,
                                           tile(fixed_nat[idx]), lo, hi, islog, maxiter, xtol, gtol, ftol)
        niter[idx] += it_c.reshape(C, m).sum(axis=0)
        rc = np.where(conv_c & np.isfinite(rss_c), rss_c, np.inf).reshape(C, m)
        best = np.argmin(rc, axis=0)
        rb = rc[best, np.arange(m)]
        better = rb < rss[idx] * (1.0 - 1e-12)
        sel = best * m + np.arange(m)
        j = idx[better]
        theta[j] = th_c[sel[better]]
        rss[j] = rb[better]
        moved[j] = True
        active[idx[~better]] = False
    return theta, rss, niter, moved


def _covariance(spec, x, y, w, pnat, free, rss, nobs, method, islog=None):
    """Covariance of the free parameters on the natural scale, embedded in (n, p, p).

    Computed on the fitting scale (log for positive parameters), where the
    information matrix is well conditioned, then mapped to the natural scale with the
    Jacobian of the transform (``cov_nat = D cov_theta D``, ``D = diag(p)`` for log
    parameters), which is exact for these estimators at the optimum.
    """
    n, p = pnat.shape
    fidx = np.flatnonzero(free)
    k = fidx.size
    cov = np.zeros((n, p, p))
    if k == 0:
        return cov, np.zeros(n, dtype=bool)
    if islog is None:
        islog = np.array([q.transform == "log" for q in spec.params])
    scale = np.where(islog[fidx], pnat[:, fidx], 1.0)  # d p / d theta

    def jac_theta(pn):
        return _jac_nat(spec, x, pn)[..., fidx] * np.where(islog[fidx], pn[:, fidx], 1.0)[:, None, :]

    sw = np.sqrt(w)
    J = jac_theta(pnat)
    Jw = J * sw[..., None]
    A = np.einsum("nmi,nmj->nij", Jw, Jw)
    dof = nobs - k
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(dof > 0, rss / np.where(dof > 0, dof, 1), np.nan)
    r = y - _model(spec, x, pnat)
    if method == "hessian":
        # Hessian of RSS / 2 = J'WJ - sum_i w_i r_i d2f_i (drc: vcov = s^2 * solve(H/2));
        # second derivatives by central differences of the Jacobian on the fitting scale
        Hs = np.zeros_like(A)
        th = _to_theta(pnat, islog)
        for a, ja in enumerate(fidx):
            h = 1e-5 * np.maximum(np.abs(th[:, ja]), 1e-2)
            up = th.copy()
            dn = th.copy()
            up[:, ja] += h
            dn[:, ja] -= h
            d2 = (jac_theta(_to_nat(up, islog)) - jac_theta(_to_nat(dn, islog))) / (2 * h)[:, None, None]
            Hs[:, a, :] = np.einsum("nm,nmj->nj", w * r, d2)
        Hs = 0.5 * (Hs + np.swapaxes(Hs, 1, 2))
        A = A - Hs
    ok = np.all(np.isfinite(A), axis=(1, 2))
    Ainv = np.full_like(A, np.nan)
    if np.any(ok):
        Ao = A[ok]
        dg = np.sqrt(np.abs(np.diagonal(Ao, axis1=1, axis2=2)))
        dg = np.where(dg > 0, dg, 1.0)
        As = Ao / dg[:, :, None] / dg[:, None, :]
        cond = np.linalg.cond(As)
        good = np.isfinite(cond) & (cond < 1e13)
        inv = np.full_like(Ao, np.nan)
        if np.any(good):
            inv[good] = np.linalg.inv(As[good]) / dg[good][:, :, None] / dg[good][:, None, :]
        Ainv[ok] = inv
    if method == "sandwich":
        meat = np.einsum("nmi,nm,nmj->nij", J, (w * r) ** 2, J)
        c = Ainv @ meat @ Ainv
        # HC1 small-sample factor n / (n - k)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = c * (nobs / np.where(dof > 0, dof, np.nan))[:, None, None]
    else:
        c = Ainv * s2[:, None, None]
    c = c * scale[:, :, None] * scale[:, None, :]
    singular = ~np.all(np.isfinite(c), axis=(1, 2))
    cov[:, fidx[:, None], fidx[None, :]] = c
    return cov, singular


# --------------------------------------------------------------------------- public
def fit_chunk(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray | None = None,
    w: np.ndarray | None = None,
    fixed: Mapping | None = None,
    p0: np.ndarray | None = None,
    bounds: Mapping | None = None,
    loss: str = "linear",
    f_scale: np.ndarray | float | None = None,
    maxiter: int = 200,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    cov: str = "gauss-newton",
    ftol: float = 1e-15,
    multistart: bool = False,
    min_dof: int = 1,
) -> BatchFit:
    """Fit ``spec`` to every row of ``x``/``y`` (one chunk of curves). Pure function.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    x, y : ndarray, shape (n_curves, n_obs)
        Independent variable (e.g. dose, in the unit of the potency parameter) and
        response (response unit), NaN-padded for curves with fewer observations.
    mask : ndarray of bool, optional
        Observations to use; default: where both ``x`` and ``y`` are finite.
    w : ndarray, optional
        Observation weights (inverse relative variances), default 1.
    fixed : mapping, optional
        ``{name: value}`` (scalar or per-curve array) of parameters held fixed;
        merged over ``spec.fixed_defaults``.
    p0 : ndarray, shape (n_curves, n_params), optional
        Starting values (natural scale); default ``spec.selfstart``.
    bounds : mapping, optional
        ``{name: (low, high)}`` on the natural scale, overriding the spec's bounds.
    loss : {"linear", "soft_l1", "huber", "cauchy"}
        Loss function (scipy.optimize.least_squares definitions).
    f_scale : float or ndarray, optional
        Residual scale of the robust loss (response unit); default: the residual
        standard error of the ordinary least-squares fit of the same curve, which
        keeps robust fits invariant to the response unit.
    maxiter : int
        Maximum Levenberg–Marquardt iterations.
    xtol, gtol, ftol : float
        Convergence tolerances: relative step size, the MINPACK gradient criterion
        (largest cosine between the residual vector and a Jacobian column) and the
        predicted relative RSS decrease of the next step (machine precision by default).
    cov : {"gauss-newton", "hessian", "sandwich", "none"}
        Covariance estimator: ``s^2 (J'WJ)^-1`` (nls, lmfit, curve_fit),
        ``s^2 (H/2)^-1`` with the full Hessian of the RSS (R drc's default), or the
        heteroscedasticity-consistent sandwich (HC1); ``"none"`` skips it (NaN), e.g.
        for candidate starts.
    multistart : bool
        Fall-back for curves whose first solve fails (default True): they are refitted
        from spread-out starts (potency at 10/50/90 % of the tested log-dose range,
        slopes halved and doubled, the model's equivalent representations), all in one
        batched solve, keeping the converged candidate with the lowest RSS; curves still
        failing get one :func:`scipy.optimize.least_squares` (trust-region reflective)
        solve each, polished by the engine.  Converged fits with an ill-conditioned
        information matrix (condition number > 1e8), stopped on a stationary RSS at the
        iteration limit, or stopped on a tiny step while the gradient cosine is still above
        1e-4 are re-examined the same way and replaced only by a lower RSS.  Every
        re-examined fit then follows any flat valley of the RSS (:func:`_valley_walk`)
        until the RSS stops decreasing; the message names the parameters that moved along
        it (not determined by the data; their estimates are limits).  The message says
        which path succeeded.  ``False`` (the default of this low-level
        function, for callers with their own start strategy) reports the first solve as
        it ended; :func:`comboplan.fit_dose_response` turns it on.

    Returns
    -------
    BatchFit
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"x and y must be 2-D arrays of equal shape (n_curves, n_obs); got {x.shape} and {y.shape}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}")
    if cov not in COV_METHODS:
        raise ValueError(f"cov must be one of {COV_METHODS}; got {cov!r}")
    n, m = x.shape
    if mask is None:
        mask = np.isfinite(x) & np.isfinite(y)
    mask = np.asarray(mask, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    ww = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    ww = np.where(mask, ww, 0.0)
    xs = np.where(mask, x, 1.0)
    ys = np.where(mask, y, 0.0)
    nobs = mask.sum(axis=1)
    free, fixed_nat = _prepare_fixed(spec, fixed, n)
    lo, hi, islog = _bounds_theta(spec, bounds)
    npar = int(free.sum())
    if p0 is None:
        if spec.selfstart is None:
            raise ValueError(f"model {spec.name!r} has no self-start; pass p0")
        with np.errstate(all="ignore"):
            p0 = spec.selfstart(np.where(mask, x, np.nan), np.where(mask, y, np.nan), mask)
    p0 = np.array(np.broadcast_to(np.asarray(p0, dtype=float), (n, len(free))))
    start = np.where(np.isnan(fixed_nat), p0, fixed_nat)
    if spec.alt_starts is not None and (~free).any():
        # equivalent representations of the start (e.g. drc's (b, c, d) <-> (-b, d, c)):
        # keep, per curve, the one that fits best once the fixed parameters are imposed
        best = _start_rss(spec, xs, ys, ww, start)
        for alt in spec.alt_starts(p0):
            cand = np.where(np.isnan(fixed_nat), alt, fixed_nat)
            rc = _start_rss(spec, xs, ys, ww, cand)
            better = rc < best
            start = np.where(better[:, None], cand, start)
            best = np.where(better, rc, best)
    theta = _to_theta(start, islog)
    theta = np.where(free, np.clip(theta, lo, hi), theta)
    # keep log-parameters strictly inside open bounds
    theta = np.where(np.isfinite(theta) | ~free, theta, np.nan)

    sw = np.sqrt(ww)
    valley = np.zeros((n, len(free)), dtype=bool)   # parameters that moved along a flat RSS valley
    theta, rss, conv, msg, niter = _lm(spec, xs, ys, sw, theta, free, fixed_nat, lo, hi, islog, maxiter, xtol, gtol, ftol)
    retry = ~conv & (nobs >= npar + min_dof) & (npar > 0) & (nobs > 0)
    if multistart and npar:
        # a converged fit is re-examined from other starts too when the RSS surface is
        # nearly flat there (several minima or a valley are then common): the iteration
        # limit was reached on a stationary RSS, or the information matrix is ill-conditioned
        stationary = np.array(["RSS stationary" in str(m) for m in msg])
        # or the solve stopped on a small step while the gradient is clearly not orthogonal to
        # the residuals (a heavily damped step in a curved valley, not a stationary point)
        small_step = np.array(["relative step below xtol" in str(m) for m in msg]) & conv
        if small_step.any():
            cs = _gradient_cosine(spec, xs[small_step], ys[small_step], sw[small_step], theta[small_step],
                                  fixed_nat[small_step], free, islog, lo, hi)
            small_step[np.flatnonzero(small_step)] = ~(cs <= 1e-4)
        risky = conv & (nobs > npar) & (stationary | small_step
                                        | (_condition(spec, xs, sw, theta, fixed_nat, free, islog) > 1e8))
        retry |= risky
    if multistart and np.any(retry):
        r = np.flatnonzero(retry)
        start_r = np.where(np.isnan(fixed_nat[r]), start[r], fixed_nat[r])
        th2, rss2, conv2, msg2, it2 = _fallback(spec, xs[r], ys[r], sw[r], mask[r], start_r, free, fixed_nat[r],
                                                lo, hi, islog, maxiter, xtol, gtol, ftol, theta[r], conv[r])
        niter[r] += it2
        first, was = msg[r], conv[r]
        better = conv2 & (~was | (rss2 < rss[r] * (1 - 1e-12)))
        ok = r[better]
        theta[ok], rss[ok], conv[ok] = th2[better], rss2[better], True
        msg[ok] = [f"{m2}; the first solve from the self-start " + ("ended at a higher RSS: " if w else "ended with: ")
                   + m1 for m1, m2, w in zip(first[better], msg2[better], was[better])]
        # the re-examined fits that converge: follow a flat valley of the RSS from there
        wk = r[conv[r]]
        if wk.size:
            th_w, rss_w, it_w, moved = _valley_walk(spec, xs[wk], ys[wk], sw[wk], theta[wk], rss[wk], free,
                                                    fixed_nat[wk], lo, hi, islog, maxiter, xtol, gtol, ftol)
            niter[wk] += it_w
            names = spec.param_names
            for q in np.flatnonzero(moved):
                i = wk[q]
                before, after = _to_nat(theta[i:i + 1], islog)[0], _to_nat(th_w[q:q + 1], islog)[0]
                with np.errstate(all="ignore"):
                    rel = np.abs(after - before) / np.maximum(np.abs(before), 1e-12)
                moving = [names[j] for j in np.flatnonzero(free) if rel[j] > 0.01]
                valley[i] = free & (rel > 0.01)
                msg[i] = (f"{msg[i]}; then the RSS kept decreasing along a flat valley (by {1 - rss_w[q] / rss[i]:.2g} "
                          f"relative), followed until it stopped decreasing"
                          + (f": {', '.join(moving)} moved along it, so they are not determined by these data "
                             "(they may run off without bound; read their estimates as limits, not point estimates)"
                             if moving else ""))
            theta[wk], rss[wk] = th_w, rss_w

    if loss != "linear":
        pn = np.where(np.isnan(fixed_nat), _to_nat(theta, islog), fixed_nat)
        if f_scale is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                fs = np.sqrt(rss / np.maximum(nobs - npar, 1))
        else:
            fs = np.broadcast_to(np.asarray(f_scale, dtype=float), (n,))
        fs = np.where(fs > 0, fs, 1.0)
        for _ in range(100):
            r = (ys - _model(spec, xs, pn)) * np.sqrt(ww)
            z = (r / fs[:, None]) ** 2
            wr = ww * _rho_prime(loss, z)
            old = theta.copy()
            theta, _, conv, msg, it2 = _lm(spec, xs, ys, np.sqrt(wr), theta, free, fixed_nat, lo, hi, islog,
                                           maxiter, xtol, gtol, ftol)
            niter = niter + it2
            pn = np.where(np.isnan(fixed_nat), _to_nat(theta, islog), fixed_nat)
            change = np.nanmax(np.abs(theta - old) / (np.abs(old) + 1e-8), axis=1) if npar else np.zeros(n)
            if np.all((change < 1e-9) | ~np.isfinite(change)):
                break
        r = (ys - _model(spec, xs, pn)) * np.sqrt(ww)
        rss = np.sum(r * r, axis=1)
        ww_cov = ww * _rho_prime(loss, (r / fs[:, None]) ** 2)
    else:
        ww_cov = ww

    pnat = np.where(np.isnan(fixed_nat), _to_nat(theta, islog), fixed_nat)
    rss_cov = np.sum(ww_cov * (ys - _model(spec, xs, pnat)) ** 2, axis=1) if loss != "linear" else rss
    msg = np.asarray(msg, dtype=object)
    too_few = nobs < npar + min_dof
    msg[too_few] = [f"too few observations ({k}) for {npar} free parameters" for k in nobs[too_few]]
    conv = conv & ~too_few
    # parameters that ended on a (finite) bound
    on_bound = np.zeros((n, len(free)), dtype=bool)
    if npar:
        with np.errstate(invalid="ignore"):
            at_lo = np.isfinite(lo) & np.isclose(theta, lo, rtol=1e-9, atol=1e-12)
            at_hi = np.isfinite(hi) & np.isclose(theta, hi, rtol=1e-9, atol=1e-12)
        on_bound = (at_lo | at_hi) & free[None, :] & conv[:, None]
    if cov == "none":
        covm = np.full((n, len(free), len(free)), np.nan)
        singular = np.zeros(n, dtype=bool)
    else:
        covm, singular = _covariance(spec, xs, ys, ww_cov, pnat, free, rss_cov, nobs, cov, islog)
        # a parameter on its bound has no Wald standard error; the others get theirs
        # conditional on it (exactly as if it had been fixed at the bound)
        rows = np.flatnonzero(on_bound.any(axis=1))
        if rows.size:
            pats, inv = np.unique(on_bound[rows], axis=0, return_inverse=True)
            for q, pat in enumerate(pats):
                sel = rows[np.ravel(inv) == q]
                c2, s2 = _covariance(spec, xs[sel], ys[sel], ww_cov[sel], pnat[sel], free & ~pat, rss_cov[sel],
                                     nobs[sel], cov, islog)
                c2[:, pat, :] = np.nan
                c2[:, :, pat] = np.nan
                covm[sel] = c2
                singular[sel] = s2 & (nobs[sel] > int((free & ~pat).sum()))
    if valley.any():
        # a parameter that moved along a flat valley of the RSS is not determined by the data:
        # no standard error for it (a Wald interval there would be meaningless: e.g. an EC50 of
        # 4e34 with an "interval" from 1e-100 to 1e168); the others keep theirs at the end point
        covm = np.where(valley[:, :, None] | valley[:, None, :], np.nan, covm)
    names = spec.param_names
    for i in np.flatnonzero(on_bound.any(axis=1)):
        where = [f"{names[j]} at its {'lower' if at_lo[i, j] else 'upper'} bound "
                 f"{float(_to_nat(lo if at_lo[i, j] else hi, islog)[j]):g}" for j in np.flatnonzero(on_bound[i])]
        msg[i] = (msg[i] + "; on bound: " + ", ".join(where)
                  + " (no standard error for it; the others' are conditional on it, as if it were fixed there)")
    exact = conv & (nobs == npar) & (npar > 0)
    for i in np.flatnonzero(exact):
        msg[i] = msg[i] + ("; as many observations as free parameters: no residual degrees of freedom, "
                           "so no standard errors or confidence intervals")
    for i in np.flatnonzero(conv & singular & ~exact & (cov != "none")):
        msg[i] = msg[i] + "; singular information matrix: some parameters are not identifiable"
    failed = ~conv
    pnat = pnat.copy()
    pnat[failed] = np.nan
    covm[failed] = np.nan
    rss = np.where(failed, np.nan, rss)
    slw = np.sum(np.where(mask, np.log(np.where(ww > 0, ww, 1.0)), 0.0), axis=1)
    return BatchFit(spec=spec, estimates=pnat, cov=covm, rss=rss, nobs=nobs, npar=npar, converged=conv,
                    message=np.asarray(msg, dtype=object), niter=niter, free=free, cov_method=cov, loss=loss,
                    sum_log_w=slw, on_bound=on_bound)


def fit_curves(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray | None = None,
    w: np.ndarray | None = None,
    fixed: Mapping | None = None,
    p0: np.ndarray | None = None,
    bounds: Mapping | None = None,
    loss: str = "linear",
    f_scale=None,
    maxiter: int = 200,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    cov: str = "gauss-newton",
    chunk_size: int = 4096,
    progress: bool = False,
    ftol: float = 1e-15,
    multistart: bool = False,
    min_dof: int = 1,
) -> BatchFit:
    """Fit ``spec`` to many curves, chunk by chunk (see :func:`fit_chunk`).

    Parameters are those of :func:`fit_chunk`, plus:

    chunk_size : int
        Curves per chunk (bounds memory: about ``chunk_size * n_obs * n_params * 8``
        bytes per work array).
    progress : bool
        Show a progress bar (tqdm) over chunks.

    Returns
    -------
    BatchFit
        One result for all curves, in input order.  Curves that fail are NaN rows
        with ``converged=False`` and a reason in ``message``; nothing raises.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    if n <= chunk_size:
        return fit_chunk(spec, x, y, mask, w, fixed, p0, bounds, loss, f_scale, maxiter, xtol, gtol, cov, ftol,
                         multistart, min_dof)
    starts = range(0, n, chunk_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=-(-n // chunk_size), desc=f"fitting {n} curves", unit="chunk")
    parts = []

    def sl(a, s):
        if a is None:
            return None
        a = np.asarray(a)
        return a[s:s + chunk_size] if a.ndim >= 1 and a.shape[0] == n else a

    for s in starts:
        fx = None if fixed is None else {k: sl(np.asarray(v, dtype=float), s) for k, v in fixed.items()}
        parts.append(fit_chunk(spec, x[s:s + chunk_size], y[s:s + chunk_size], sl(mask, s), sl(w, s), fx,
                               sl(p0, s), bounds, loss, sl(f_scale, s) if f_scale is not None else None,
                               maxiter, xtol, gtol, cov, ftol, multistart, min_dof))
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
    return BatchFit(spec=spec, estimates=cat("estimates"), cov=cat("cov"), rss=cat("rss"), nobs=cat("nobs"),
                    npar=parts[0].npar, converged=cat("converged"), message=cat("message"), niter=cat("niter"),
                    free=parts[0].free, cov_method=cov, loss=loss, sum_log_w=cat("sum_log_w"),
                    on_bound=np.concatenate([p.bound_flags for p in parts]))
