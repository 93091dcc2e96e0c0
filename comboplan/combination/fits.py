"""Batched single-agent, ZIP-slice and MuSyC fits through the comboplan batch engine.

Every fit here goes through :func:`comboplan.fitting.batch.fit_curves`, which fits
thousands of curves at once: bootstrap refits and ZIP's many row/column slices are
stacked as curves of one call, never looped over.
"""
from __future__ import annotations

import contextlib
import contextvars
import warnings

import numpy as np
from scipy.special import expit

from ..models.combination.musyc import MUSYC_PARAMS
from ..models.combination.zip import zip_slice
from ..models.dose_response import HILL4, hill
from ..models.spec import ModelSpec, Param

__all__ = ["fit_hill", "hill_start", "batch_plan", "fit_zip_slices", "fit_zip3_slices", "ZIP3_SLICE_CENTRED", "musyc_spec", "musyc_surface_jacobian", "ZIP_SLICE",
           "ZIP_SLICE_CENTRED"]


def _engine():
    from ..fitting.batch import fit_curves

    return fit_curves


#: Relative-step tolerance of the single-agent, ZIP-slice and MuSyC fits: MINPACK's
#: default ``xtol = 1.49e-8`` (what scipy's ``curve_fit`` -- and so the peer tools -- use).
FIT_TOL = 1.49e-8
#: Gradient tolerance of those fits: the cosine between the residual vector and every
#: Jacobian column (MINPACK's ``gtol`` criterion).  1e-6 corresponds to a predicted
#: relative RSS reduction of about 1e-12, two orders of magnitude stricter in RSS than
#: MINPACK's default stop (``ftol = 1.49e-8``, which ``curve_fit`` uses with
#: ``gtol = 0``).  A cosine of 1.49e-8 is below the floating-point floor of curves with
#: large residuals (their RSS cannot decrease any more), where the engine would spend
#: ~10-30 rejected iterations before stopping on ``xtol`` with the same estimates.
FIT_GTOL = 1e-6


def hill_start(x, y, mask):
    """Self-starting values for four-parameter Hill fits: the engine's Hill self-start.

    For every curve, a grid of 9 potencies (log-spaced across the tested non-zero doses)
    x 4 slopes is evaluated in one broadcast; for each grid point the two linear
    parameters ``e0, einf`` are solved by weighted least squares and the best point is
    kept.  This is ``HILL4.selfstart`` of :mod:`comboplan.models.dose_response` (the one
    implementation), with non-finite observations left out.

    Parameters
    ----------
    x, y : ndarray, shape (n_curves, n_obs)
        Doses (>= 0) and responses.
    mask : ndarray of bool
        Observations to use.

    Returns
    -------
    ndarray, shape (n_curves, 4)
        ``e0, einf, ec50, h``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m = np.asarray(mask, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    return HILL4.selfstart(x, y, m)


_PLAN = contextvars.ContextVar("comboplan_batch_plan", default=None)


@contextlib.contextmanager
def batch_plan(**plan):
    """Fit, inside the ``with`` block, every curve as one call on a whole screen would.

    The engine of a batched fit depends on the size of the call (curve by curve with MINPACK
    for a few curves, the batch engine above :data:`SMALL_BATCH` / :data:`SMALL_BATCH_ZIP`),
    and the batch engine's result for a curve depends on the padded width of the batch (its
    widest curve) as well as on the curve's own data.  A part of a screen fitted on its own
    (a Dask partition) would therefore fit some curves differently from the in-memory call on
    the whole screen.  Inside this block the fits use the whole call's engine and width, so each
    curve's fit is exactly the in-memory one (``comboplan.distributed`` uses it).

    Parameters
    ----------
    **plan : tuple of (int, int)
        Per kind of fit, ``hill`` (single-agent Hill curves) and/or ``zip`` (ZIP slices): the
        number of curves the whole call fits (what decides the engine) and the widest curve of
        the whole call (observations per curve).  Kinds not given keep their own decision.
    """
    token = _PLAN.set(dict(plan))
    try:
        yield
    finally:
        _PLAN.reset(token)


def whole_call_sizes(parts) -> dict:
    """The fit sizes of one call on a whole screen from those of its parts (chunks or Dask
    partitions, each :func:`comboplan.combination.api.synergy_fit_sizes`): counts add up, widths
    are maxima.  The result is what :func:`batch_plan` takes."""
    out: dict = {}
    for sizes in parts:
        for kind, (n, w) in sizes.items():
            n0, w0 = out.get(kind, (0, 0))
            out[kind] = (n0 + int(n), max(w0, int(w)))
    return out


def _plan(kind, n, small, arrays):
    """(use the batch engine?, arrays padded to the planned width) for ``n`` curves of a call."""
    plan = (_PLAN.get() or {}).get(kind)
    if plan is None:
        return n > small, arrays
    total, width = int(plan[0]), int(plan[1])
    if total <= small:
        return False, arrays
    pad = width - arrays[0].shape[1]
    if pad <= 0:
        return True, arrays
    out = []
    for a in arrays:
        fill = False if a.dtype == bool else np.nan
        out.append(np.concatenate([a, np.full((a.shape[0], pad), fill, dtype=a.dtype)], axis=1))
    return True, tuple(out)


def fit_hill(x, y, mask=None, p0=None, fixed=None, tol=None):
    """Fit four-parameter Hill curves (``e0, einf, ec50, h``) to many curves at once.

    Parameters
    ----------
    x, y : ndarray, shape (n_curves, n_obs)
        Doses (>= 0) and responses, NaN padded.
    mask : ndarray of bool, optional
        Observations to use.
    p0 : ndarray, optional
        Starting values (n_curves, 4); default :func:`hill_start`.
    fixed : mapping, optional
        Parameters held fixed (``{"einf": 100.0}``...).
    tol : float, optional
        ``xtol`` and ``gtol`` of the engine (default :data:`FIT_TOL` and
        :data:`FIT_GTOL`); a loose value serves fits that only provide starting values.

    Returns
    -------
    BatchFit
        Engine result (estimates in the order ``e0, einf, ec50, h``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if mask is None:
        mask = np.isfinite(x) & np.isfinite(y)
    batched, (x, y, mask) = _plan("hill", x.shape[0], SMALL_BATCH, (x, y, np.asarray(mask, dtype=bool)))
    if p0 is None:
        p0 = hill_start(x, y, mask)
    xtol, gtol = (FIT_TOL, FIT_GTOL) if tol is None else (float(tol), float(tol))
    if not batched:
        return _fit_hill_minpack(x, y, mask, p0, fixed, maxiter=200, xtol=xtol, gtol=gtol)
    return _engine()(HILL4, x, y, mask=mask, p0=p0, fixed=fixed, maxiter=200, xtol=xtol, gtol=gtol)


#: Batches of at most this many Hill curves are fitted curve by curve with MINPACK's
#: Levenberg-Marquardt (``scipy.optimize.leastsq``, compiled code) instead of the numpy
#: batch engine, whose fixed cost per iteration (~100 us) dominates a handful of curves.
#: Same model, parametrisation (log EC50, log h), starts, tolerances, covariance and
#: messages (``tests/test_combination_fast.py`` checks that both paths agree).
SMALL_BATCH = 8

# MINPACK ``info`` -> the engine's wording of the stopping criterion
_MINPACK_MSG = {1: "converged: predicted relative RSS decrease below ftol",
                2: "converged: relative step below xtol",
                3: "converged: relative step below xtol",
                4: "converged: gradient orthogonal to residuals",
                5: "maximum number of iterations reached",
                6: "converged: predicted relative RSS decrease below ftol",
                7: "converged: relative step below xtol",
                8: "converged: gradient orthogonal to residuals"}


def _lmder(res, jac, x0, *, ftol, xtol, gtol, maxfev):
    """MINPACK's ``lmder`` through ``scipy.optimize.leastsq`` with an analytic Jacobian
    (rows = parameters): ``(x, info)``.

    Called without ``full_output``, so scipy skips the covariance it would compute for it
    (comboplan computes its own); scipy then warns on MINPACK's info 5-8 and raises on info 0
    (improper input), which every caller handles from ``info`` (not in :data:`_MINPACK_MSG`, or
    5: refitted or reported otherwise), so the warning is silenced and info 0 returned.
    """
    from scipy.optimize import leastsq

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return leastsq(res, x0, Dfun=jac, full_output=False, col_deriv=True, ftol=ftol, xtol=xtol, gtol=gtol,
                           maxfev=maxfev)
        except TypeError:
            return np.asarray(x0, dtype=float), 0


def _hill_problem(x, y, theta_fixed, free):
    """Residuals and Jacobian (w.r.t. the free ``e0, einf, log ec50, log h``) of one Hill curve.

    MINPACK evaluates the Jacobian at the point of the latest residual evaluation, so the
    logistic term is cached between the two calls.  Returns ``(res, jac, calls)``, ``calls``
    a one-element list counting the Jacobian evaluations.
    """
    pos = x > 0
    with np.errstate(divide="ignore"):
        lx = np.log(x)                             # dose 0: -inf, so the curve is at e0 (h > 0)
    lx0 = np.where(pos, lx, 0.0)
    posf = pos.astype(float)
    th = theta_fixed.copy()
    fidx = np.flatnonzero(free)
    allfree = len(fidx) == 4
    n = len(x)
    cache = [None, None]                           # (point, logistic term) of the latest residuals
    calls = [0]

    def res(t):
        th[fidx] = t
        s = expit(np.exp(th[3]) * (lx - th[2]))
        cache[0] = t.tobytes()
        cache[1] = s
        return th[0] + (th[1] - th[0]) * s - y

    def jac(t):
        calls[0] += 1
        th[fidx] = t
        if cache[0] == t.tobytes():
            s = cache[1]
        else:
            s = expit(np.exp(th[3]) * (lx - th[2]))
        h = np.exp(th[3])
        out = np.empty((4, n))                      # rows = parameters (col_deriv)
        oms = np.subtract(1.0, s, out=out[0])       # d/d e0 = 1 - s
        out[1] = s
        ds = s * oms
        ds *= (th[1] - th[0]) * h
        np.negative(ds, out=out[2])
        np.multiply(ds, lx0 - th[2] * posf, out=out[3])   # ds = 0 at dose 0
        return out if allfree else out[fidx]

    return res, jac, calls


def _gn_covs(A, rss, dof, scale):
    """Gauss-Newton covariances ``s^2 (J'J)^-1`` of several curves, as the engine computes them.

    ``A`` (curves x free x free) is ``J J'`` of each curve, ``J`` (free params x obs) on the
    fitting scale; each information matrix is scaled to unit diagonal, refused (NaN) when its
    condition number is not below 1e13, inverted and mapped to the natural scale with
    ``scale`` (curves x free, d p / d theta).  One stacked eigendecomposition for all curves.
    """
    dg = np.sqrt(np.abs(np.diagonal(A, axis1=1, axis2=2)))
    dg = np.where(dg > 0, dg, 1.0)
    dd = dg[:, :, None] * dg[:, None, :]
    As = A / dd
    bad = ~np.isfinite(As).all(axis=(1, 2)) | (dof <= 0)
    As[bad] = np.eye(A.shape[1])
    # As is symmetric positive semi-definite: its 2-norm condition number is the ratio of
    # its extreme eigenvalues, and the eigendecomposition also gives the inverse
    lam, V = np.linalg.eigh(As)
    bad |= ~((lam[:, 0] > 0) & (lam[:, -1] < 1e13 * lam[:, 0]))
    with np.errstate(all="ignore"):
        c = (V / lam[:, None, :]) @ np.swapaxes(V, 1, 2) / dd * (rss / dof)[:, None, None]
        c = c * (scale[:, :, None] * scale[:, None, :])
    c[bad] = np.nan
    return c


def _fit_hill_minpack(x, y, mask, p0, fixed, maxiter, xtol, gtol, ftol=1e-15):
    """Hill fits of a few curves, one MINPACK ``lmder`` call each (see :data:`SMALL_BATCH`).

    Mirrors :func:`comboplan.fitting.batch.fit_chunk` for ``HILL4`` with its default
    (unbounded on the fitting scale) bounds: the free parameters are ``e0, einf,
    log ec50, log h``; the stopping rules are the same (relative step ``xtol``, MINPACK
    gradient cosine ``gtol``, relative RSS decrease ``ftol``, zero residual); the
    covariance is the engine's Gauss-Newton estimate (:func:`_gn_covs`); messages use the
    engine's words.  A curve MINPACK cannot finish (iteration limit, non-finite values)
    is refitted by the engine, so this path never returns less than the engine would.
    """
    from ..fitting.batch import BatchFit, _prepare_fixed

    n = x.shape[0]
    mask = np.asarray(mask, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    free, fixed_nat = _prepare_fixed(HILL4, fixed, n)
    fidx = np.flatnonzero(free)
    npar = len(fidx)
    p0 = np.array(np.broadcast_to(np.asarray(p0, dtype=float), (n, 4)))
    start = np.where(np.isnan(fixed_nat), p0, fixed_nat)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta0 = np.column_stack([start[:, 0], start[:, 1], np.log(start[:, 2]), np.log(start[:, 3])])
    est = np.full((n, 4), np.nan)
    cov = np.full((n, 4, 4), np.nan)
    rss = np.full(n, np.nan)
    conv = np.zeros(n, dtype=bool)
    msg = np.full(n, "", dtype=object)
    niter = np.zeros(n, dtype=int)
    nobs = mask.sum(axis=1)
    retry = []
    fin0 = np.all(np.isfinite(theta0), axis=1)
    done, infos = [], []                  # converged curves, their J J' (covariance after the loop)
    with np.errstate(all="ignore"):
        for i in range(n):
            if nobs[i] <= npar:
                msg[i] = f"too few observations ({nobs[i]}) for {npar} free parameters"
                continue
            if not fin0[i]:
                msg[i] = "model is not finite at the starting values"
                continue
            m = mask[i]
            xi, yi = x[i, m], y[i, m]
            res, jac, calls = _hill_problem(xi, yi, theta0[i], free)
            if npar == 0:
                r0 = res(theta0[i, fidx])
                if np.all(np.isfinite(r0)):
                    est[i], rss[i], conv[i], msg[i] = start[i], float(r0 @ r0), True, "converged: no free parameters"
                    cov[i] = 0.0
                else:
                    msg[i] = "model is not finite at the starting values"
                continue
            # (a start where the model is not finite ends non-finite and goes to the engine,
            # which reports it; so does info 0).  The residuals at the returned point are
            # MINPACK's fvec recomputed, and leastsq checks Dfun once before MINPACK's njev
            # evaluations
            t, ier = _lmder(res, jac, theta0[i, fidx], ftol=ftol, xtol=xtol, gtol=gtol, maxfev=maxiter)
            njev = calls[0] - 1
            r = res(t)                             # residuals at the returned point
            ri = float(r @ r)
            J = jac(t)
            niter[i] = njev
            if ier not in _MINPACK_MSG or ier == 5 or not (np.isfinite(ri) and np.isfinite(J).all()
                                                          and np.isfinite(t).all()):
                retry.append(i)
                continue
            th = theta0[i].copy()
            th[fidx] = t
            e2, e3 = np.exp(th[2]), np.exp(th[3])
            est[i] = (th[0], th[1], e2, e3)
            rss[i] = ri
            conv[i] = True
            msg[i] = "converged: zero residual" if ri <= 1e-28 * max(float(yi @ yi), 1e-300) else _MINPACK_MSG[ier]
            done.append(i)
            infos.append(J @ J.T)
    if done:
        k = np.array(done)
        sc = np.column_stack([np.ones(k.size), np.ones(k.size), est[k, 2], est[k, 3]])[:, fidx]
        with np.errstate(all="ignore"):
            c = _gn_covs(np.array(infos), rss[k], (nobs[k] - npar).astype(float), sc)
        if npar == 4:
            cov[k] = c
        else:
            cov[k] = 0.0
            cov[np.ix_(k, fidx, fidx)] = c
        single = ~np.isfinite(c).all(axis=(1, 2))
        for i in k[single]:
            msg[i] = msg[i] + "; singular information matrix: some parameters are not identifiable"
    if retry:
        rt = np.array(retry)
        fx = None if fixed is None else {k: (np.broadcast_to(np.asarray(v, dtype=float), (n,))[rt])
                                         for k, v in fixed.items()}
        ef = _engine()(HILL4, x[rt], y[rt], mask=mask[rt], p0=p0[rt], fixed=fx, maxiter=maxiter, xtol=xtol,
                       gtol=gtol, ftol=ftol)
        est[rt], cov[rt], rss[rt], conv[rt], msg[rt] = ef.estimates, ef.cov, ef.rss, ef.converged, ef.message
        niter[rt] += ef.niter
    return BatchFit(spec=HILL4, estimates=est, cov=cov, rss=rss, nobs=nobs, npar=npar, converged=conv,
                    message=np.asarray(msg, dtype=str), niter=niter, free=free, cov_method="gauss-newton",
                    loss="linear", sum_log_w=np.zeros(n))


def hill_predict(params, dose):
    """Evaluate fitted Hill curves ``params`` (..., 4) at ``dose`` (broadcast)."""
    p = np.asarray(params, dtype=float)
    return hill(dose, p[..., 0], p[..., 1], p[..., 2], p[..., 3])


def _zip_slice_jac(dose, bottom, top, ec50, b):
    """Analytic Jacobian of :func:`zip_slice` w.r.t. ``bottom, top, ec50, b``."""
    from scipy.special import expit

    d = np.asarray(dose, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(d) - np.log(ec50)
        z = b * lr
    z = np.where(np.isnan(z), 0.0, z)
    s = expit(z)
    ds = s * (1.0 - s) * (top - bottom)
    lr = np.where(np.isfinite(lr), lr, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dec = np.where(ds == 0.0, 0.0, -ds * b / ec50)   # saturated slice (ec50 -> 0 or inf): no slope
    return np.stack(np.broadcast_arrays(1.0 - s, s, dec, ds * lr), axis=-1)


#: the fixed asymptotes of a ZIP slice (both parametrisations)
_ZIP_BOUNDS = (
    Param("bottom", unit="response", description="response at dose 0 (fixed: other agent's fitted effect)"),
    Param("top", unit="response", description="response at infinite dose (fixed: 100 % inhibition)"),
)

ZIP_SLICE = ModelSpec(
    name="zip_slice",
    func=zip_slice,
    jacobian=_zip_slice_jac,
    params=(
        *_ZIP_BOUNDS,
        Param("ec50", unit="dose", bounds=(0.0, np.inf), transform="log", description="slice potency"),
        Param("b", unit="1", bounds=(-50.0, 50.0), description="signed slope as in drc"),
    ),
    formula="bottom + (top - bottom) / (1 + (ec50/d)^b)",
    reference="Yadav et al. (2015) eqs. 10-11; SynergyFinder CalculateZIP",
    direction="b > 0 rises from bottom to top",
)


def _zip_centered(u, bottom, top, c, b):
    """ZIP slice in centred logistic form: ``bottom + (top - bottom) expit(b u + c)``.

    ``u = log(d) - m`` is the log dose centred on the slice's mean log dose ``m``; the
    map to the potency form of :func:`~comboplan.models.combination.zip_slice` is
    ``log ec50 = m - c / b`` (an exact reparametrisation: same curves, same least-squares
    fit), but the model needs no logarithms per evaluation and ``c``, ``b`` are nearly
    uncorrelated.
    """
    return bottom + (top - bottom) * expit(b * u + c)


def _zip_centered_jac(u, bottom, top, c, b):
    s = expit(b * u + c)
    ds = s * (1.0 - s) * (top - bottom)
    return np.stack(np.broadcast_arrays(1.0 - s, s, ds, ds * u), axis=-1)


ZIP_SLICE_CENTRED = ModelSpec(
    name="zip_slice_centred",
    func=_zip_centered,
    jacobian=_zip_centered_jac,
    params=(
        *_ZIP_BOUNDS,
        Param("c", unit="1", description="logit of the slice's relative effect at its mean log dose"),
        Param("b", unit="1", bounds=(-50.0, 50.0), description="signed slope as in drc"),
    ),
    formula="bottom + (top - bottom) expit(b (log d - m) + c); ec50 = exp(m - c/b)",
    reference="Yadav et al. (2015) eqs. 10-11 (reparametrised); SynergyFinder CalculateZIP",
    direction="b > 0 rises from bottom to top",
)


def fit_zip_slices(x, y, mask, bottom, top, n_call=None):
    """Fit ZIP slices (potency and signed slope, fixed bottom/top), batched.

    Parameters
    ----------
    x, y : ndarray, shape (n_slices, n_obs)
        Non-zero doses of the varied agent and responses (NaN padded).
    mask : ndarray of bool
        Observations to use.
    bottom : ndarray, shape (n_slices,)
        Fixed response at dose 0.
    top : float
        Fixed response at infinite dose.
    n_call : int, optional
        Number of slices of the whole call, which decides the engine (curve by curve with
        MINPACK up to :data:`SMALL_BATCH_ZIP`, else the batch engine); default the slices
        given.  Callers that drop some slices (no finite dose-0 value) pass the count before
        dropping, so the engine does not depend on which slices happened to drop.

    Returns
    -------
    estimates : ndarray, shape (n_slices, 4)
    converged : ndarray of bool
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    batched, (x, y, mask) = _plan("zip", n if n_call is None else int(n_call), SMALL_BATCH_ZIP,
                                  (x, y, np.asarray(mask, dtype=bool)))
    bottom = np.asarray(bottom, dtype=float)
    # grid start over (ec50, b) with the fixed bottom/top, one broadcast over slices x grid
    xs = np.where(mask, x, np.nan)
    with np.errstate(all="ignore"):
        lo = np.nanmin(np.where(xs > 0, xs, np.nan), axis=1)
        hi = np.nanmax(xs, axis=1)
    lo = np.where(np.isfinite(lo), lo, 1.0)
    hi = np.where(np.isfinite(hi) & (hi > 0), hi, lo)
    tg = np.repeat(np.linspace(-0.5, 1.5, 9), 7)
    bg = np.tile(np.array([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 4.0]), 9)
    lec = np.log(lo)[:, None] + tg[None, :] * (np.log(hi) - np.log(lo))[:, None]          # (n, G)
    with np.errstate(all="ignore"):
        lx = np.log(np.where(mask, x, 1.0))
        z = bg[None, :, None] * (lx[:, None, :] - lec[:, :, None])
        f = bottom[:, None, None] + (top - bottom)[:, None, None] * expit(np.where(np.isnan(z), 0.0, z))
        r = np.sum(np.where(mask[:, None, :], (np.where(mask, y, 0.0)[:, None, :] - f) ** 2, 0.0), axis=2)
    r = np.where(np.isfinite(r), r, np.inf)
    k = np.argmin(r, axis=1)
    i = np.arange(n)
    # fit in the centred logistic form (same model and least-squares fit, cheaper to
    # evaluate) and map back to (ec50, b)
    with np.errstate(all="ignore"):
        mlog = np.sum(np.where(mask, lx, 0.0), axis=1) / np.maximum(mask.sum(axis=1), 1)
    u = np.where(mask, lx - mlog[:, None], 0.0)
    b0 = bg[k]
    c0 = -b0 * (lec[i, k] - mlog)
    # second, local grid around the best coarse point (c, b), in one broadcast
    dc = np.repeat(np.linspace(-1.0, 1.0, 9), 7)
    fb = np.tile(np.array([0.6, 0.75, 0.9, 1.0, 1.12, 1.3, 1.6]), 9)
    cg = c0[:, None] + dc[None, :] * np.maximum(np.abs(b0), 0.5)[:, None] * 0.5
    bgl = b0[:, None] * fb[None, :]
    with np.errstate(all="ignore"):
        f = bottom[:, None, None] + (top - bottom)[:, None, None] * expit(bgl[:, :, None] * u[:, None, :]
                                                                           + cg[:, :, None])
        r2 = np.sum(np.where(mask[:, None, :], (np.where(mask, y, 0.0)[:, None, :] - f) ** 2, 0.0), axis=2)
    r2 = np.where(np.isfinite(r2), r2, np.inf)
    k2 = np.argmin(r2, axis=1)
    start = np.column_stack([bottom, np.full(n, float(top)), cg[i, k2], bgl[i, k2]])
    if not batched:
        fest, fconv = _fit_zip_minpack(u, y, mask, start, float(top))
    else:
        fit = _engine()(ZIP_SLICE_CENTRED, u, y, mask=mask, p0=start,
                        fixed={"bottom": bottom, "top": np.full(n, float(top))}, maxiter=200, xtol=FIT_TOL,
                        gtol=FIT_GTOL)
        fest, fconv = fit.estimates, fit.converged
    est = fest.copy()
    with np.errstate(all="ignore"):
        est[:, 2] = np.exp(mlog - fest[:, 2] / fest[:, 3])
    return est, fconv


#: ZIP slice batches up to this size are fitted slice by slice with MINPACK (an 8x8
#: matrix has 14 slices); larger batches (bootstrap refits) use the batch engine.
SMALL_BATCH_ZIP = 32


def _fit_zip_minpack(u, y, mask, start, top, maxiter=200):
    """ZIP slices (free ``c``, ``b``; fixed bottom/top) by MINPACK, one slice at a time.

    Same model (:data:`ZIP_SLICE_CENTRED`), starts and stopping rules (``xtol`` =
    :data:`FIT_TOL` relative step, ``gtol`` = :data:`FIT_GTOL` gradient cosine) as the
    engine path; a slice with <= 2 observations is not fitted (as the engine reports
    it); a slice MINPACK cannot finish or whose slope leaves the bound ``|b| <= 50`` is
    refitted by the engine, which clips at the bound.
    """

    n = u.shape[0]
    est = np.full((n, 4), np.nan)
    conv = np.zeros(n, dtype=bool)
    retry = []
    bmax = ZIP_SLICE_CENTRED.params[3].bounds[1]
    for i in range(n):
        m = mask[i]
        if m.sum() <= 2:
            continue
        ui, yi = u[i, m], y[i, m]
        lo_, amp = start[i, 0], top - start[i, 0]

        def res(t, ui=ui, yi=yi, lo_=lo_, amp=amp):
            return lo_ + amp * expit(t[1] * ui + t[0]) - yi

        def jac(t, ui=ui, amp=amp):
            s_ = expit(t[1] * ui + t[0])
            ds = s_ * (1.0 - s_) * amp
            return np.array([ds, ds * ui])

        with np.errstate(all="ignore"):
            t, ier = _lmder(res, jac, start[i, 2:], ftol=1e-15, xtol=FIT_TOL, gtol=FIT_GTOL, maxfev=maxiter)
        if ier not in _MINPACK_MSG or ier == 5 or not np.all(np.isfinite(t)) or abs(t[1]) > bmax:
            retry.append(i)
            continue
        est[i] = [start[i, 0], top, t[0], t[1]]
        conv[i] = True
    if retry:
        rt = np.array(retry)
        fit = _engine()(ZIP_SLICE_CENTRED, u[rt], y[rt], mask=mask[rt], p0=start[rt],
                        fixed={"bottom": start[rt, 0], "top": np.full(len(rt), top)}, maxiter=maxiter, xtol=FIT_TOL,
                        gtol=FIT_GTOL)
        est[rt] = fit.estimates
        conv[rt] = fit.converged
    return est, conv


def _cycle_trees():
    """Incidence of the 8 log-rates in the 16 spanning trees of the MuSyC state cycle.

    States ``P0=U, P1=A1, P2=A12, P3=A2``; edge ``k`` joins ``P_k`` and ``P_{k+1}``;
    rates ``0..3`` are forward (``P_k -> P_{k+1}``), ``4..7`` backward.  Tree
    ``4 s + j`` is the spanning tree directed to state ``s`` without edge ``j``
    (Markov-chain tree theorem; same enumeration as :func:`~comboplan.models.combination.musyc`).
    """
    M = np.zeros((16, 8))
    for s_ in range(4):
        for j in range(4):
            ps = (s_ - j - 1) % 4
            for k in range(4):
                if k == j:
                    continue
                q = (k - j - 1) % 4
                M[4 * s_ + j, k if ps >= q + 1 else 4 + k] = 1.0
    return M


_TREES = _cycle_trees()
_TREE_STATE = np.repeat(np.arange(4), 4)       # state of each tree (0=U, 1=A1, 2=A12, 3=A2)


#: the four log-rates that are not identically 0 with unit reverse rates:
#: forward U->A1 (``u1``), forward A1->A12 (``gamma12 w2``), backward A12->A2
#: (``gamma21 w1``) and backward A2->U (``u2``); their incidence in the 16 trees
_RATE_IDX = np.array([0, 1, 6, 7])
_TREES4 = _TREES[:, _RATE_IDX]


def musyc_surface_jacobian(d1, d2, E0, E1, E2, E3, h1, h2, C1, C2, a12, a21, g12, g21, jacobian=True):
    """MuSyC response and its analytic Jacobian w.r.t. the 12 natural parameters.

    With tree weights ``T_k`` (products of transition rates; Markov-chain tree theorem)
    and ``q_k = T_k / sum T``, the response is ``E = sum_k q_k E_{s(k)}``, so
    ``dE/dE_s = pi_s`` and ``dE/dtheta = sum_k q_k (E_{s(k)} - E) dlog T_k/dtheta``,
    where every ``log T_k`` is a sum of log-rates that are linear in ``log h``,
    ``log C``, ``log alpha`` and ``log gamma``.  Derivatives w.r.t. the natural
    parameters follow by dividing the log-parameter derivatives by the parameter.
    Unit reverse rates (``r1r = r2r = 1``) as in :func:`comboplan.models.combination.musyc`'s
    defaults.

    Parameters
    ----------
    d1, d2 : array_like
        Doses (units of ``C1``, ``C2``), >= 0.
    E0, E1, E2, E3, h1, h2, C1, C2, a12, a21, g12, g21 : array_like
        MuSyC parameters (see :func:`comboplan.models.combination.musyc`).
    jacobian : bool
        Also compute the Jacobian (else ``J`` is None).

    Returns
    -------
    E : ndarray
        Response (response unit).
    J : ndarray
        Jacobian, trailing axis of length 12 in :data:`MUSYC_PARAMS` order.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ld1 = np.log(d1)
        ld2 = np.log(d2)
        l1 = ld1 - np.log(C1)
        l2 = ld2 - np.log(C2)
        u1 = h1 * l1
        u2 = h2 * l2
        w1 = h1 * (np.log(a21) + l1)
        w2 = h2 * (np.log(a12) + l2)
    R = np.stack(np.broadcast_arrays(u1, g12 * w2, g21 * w1, u2))           # (4, ...)
    shape = R.shape[1:]
    # a drug at dose 0 has log-rate -inf: a huge finite stand-in keeps the 0/1
    # incidence product exact (0 * -inf would be NaN) and gives its trees weight 0
    Rf = np.maximum(R.reshape(4, -1), -1e300)
    logT = _TREES4 @ Rf                                                      # (16, N)
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.exp(logT - logT.max(axis=0))
        q /= q.sum(axis=0)
    pi = q.reshape(4, 4, -1).sum(axis=1)                                      # U, A1, A12, A2
    Es = np.stack([np.broadcast_to(e, shape).reshape(-1) for e in (E0, E1, E3, E2)])
    E = np.einsum("sn,sn->n", pi, Es)
    if not jacobian:
        return E.reshape(shape), None
    dev = np.repeat(Es, 4, axis=0) - E                                       # (16, N)
    c = _TREES4.T @ (q * dev)                                                # (4, N): dE / d log-rate
    cu1, cw2, cw1, cu2 = (v.reshape(shape) for v in c)

    def fin(v):  # rates of an absent drug are -inf; their trees have weight 0
        return np.where(np.isfinite(v), v, 0.0)

    u1, u2, w1, w2 = fin(u1), fin(u2), fin(w1), fin(w2)
    pis = [v.reshape(shape) for v in pi]
    cols = [pis[0], pis[1], pis[3], pis[2],
            (cu1 * u1 + cw1 * g21 * w1) / h1,                 # h1
            (cu2 * u2 + cw2 * g12 * w2) / h2,                 # h2
            -(cu1 + cw1 * g21) * h1 / C1,                     # C1
            -(cu2 + cw2 * g12) * h2 / C2,                     # C2
            cw2 * g12 * h2 / a12,                             # alpha12
            cw1 * g21 * h1 / a21,                             # alpha21
            cw2 * w2,                                         # gamma12 (g12 * w2 / g12)
            cw1 * w1]                                         # gamma21
    return E.reshape(shape), np.stack(np.broadcast_arrays(*cols), axis=-1)


def musyc_spec(d1, d2) -> ModelSpec:
    """A MuSyC :class:`ModelSpec` for the batch engine on fixed dose pairs.

    The engine's independent variable ``x`` is the *index* of the observation's dose
    pair in ``d1``/``d2`` (so a 2-D surface fits in the 1-D batch engine, and bootstrap
    refits are batched as curves).  Potency, slope, alpha and gamma parameters are
    fitted on the log scale, so the fit does not depend on dose units.
    """
    d1 = np.asarray(d1, dtype=float)
    d2 = np.asarray(d2, dtype=float)

    def func(x, E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21):
        idx = np.nan_to_num(np.asarray(x, dtype=float)).astype(np.int64)
        return musyc_surface_jacobian(d1[idx], d2[idx], E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21,
                                      gamma12, gamma21, jacobian=False)[0]

    def jac(x, E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21):
        idx = np.nan_to_num(np.asarray(x, dtype=float)).astype(np.int64)
        return musyc_surface_jacobian(d1[idx], d2[idx], E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21,
                                      gamma12, gamma21)[1]

    pos = (0.0, np.inf)
    params = (
        Param("E0", unit="response", description="response without drug"),
        Param("E1", unit="response", description="maximal response of agent 1 alone"),
        Param("E2", unit="response", description="maximal response of agent 2 alone"),
        Param("E3", unit="response", description="maximal response of the combination"),
        Param("h1", unit="1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 1"),
        Param("h2", unit="1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 2"),
        Param("C1", unit="dose1", bounds=pos, transform="log", description="EC50 of agent 1"),
        Param("C2", unit="dose2", bounds=pos, transform="log", description="EC50 of agent 2"),
        Param("alpha12", unit="1", bounds=(1e-8, 1e8), transform="log",
              description="potency synergy: agent 1 multiplies agent 2's potency"),
        Param("alpha21", unit="1", bounds=(1e-8, 1e8), transform="log",
              description="potency synergy: agent 2 multiplies agent 1's potency"),
        Param("gamma12", unit="1", bounds=(1e-2, 1e2), transform="log",
              description="cooperativity synergy of agent 1 on agent 2"),
        Param("gamma21", unit="1", bounds=(1e-2, 1e2), transform="log",
              description="cooperativity synergy of agent 2 on agent 1"),
    )
    assert tuple(p.name for p in params) == MUSYC_PARAMS
    return ModelSpec(name="musyc", func=func, params=params, jacobian=jac,
                     reference="Meyer et al. (2019) Cell Syst 8:97; Wooten et al. (2021) Nat Commun 12:4607",
                     direction="E moves from E0 towards E1, E2 and E3 as doses rise")


ZIP3_SLICE_CENTRED = ModelSpec(
    name="zip3_slice_centred",
    func=_zip_centered,
    jacobian=_zip_centered_jac,
    params=(
        Param("bottom", unit="response", description="response at dose 0 (fixed: observed response of the held agent "
                                                     "alone at the held dose)"),
        Param("top", unit="response", description="response at infinite dose (free)"),
        Param("c", unit="1", description="logit of the slice's relative effect at its mean log dose"),
        Param("b", unit="1", bounds=(1e-3, 50.0), transform="log",
              description="slope (> 0: the value at dose 0 is `bottom`; a falling slice has top < bottom)"),
    ),
    formula="bottom + (top - bottom) expit(b (log d - m) + c); ec50 = exp(m - c/b)",
    reference="Ianevski et al. (2022) SynergyFinder 3.0, Nucleic Acids Res 50:W739; Zheng et al. (2022) "
              "SynergyFinder Plus, Genomics Proteomics Bioinformatics 20:587 (ZIP slices with the observed "
              "dose-0 response as fixed baseline and a free top)",
    direction="rises (top > bottom) or falls (top < bottom) from bottom at dose 0",
)

#: minimum number of distinct non-zero doses of a SynergyFinder-3 ZIP slice (three free
#: parameters: top, potency, slope); shorter slices keep their observed values
ZIP3_MIN_LEVELS = 3


def fit_zip3_slices(x, y, mask, bottom, n_call=None):
    """Fit SynergyFinder-3 ZIP slices (fixed value at dose 0, free top, potency, slope), batched.

    Each slice is ``bottom + (top - bottom) / (1 + (ec50/d)^b)`` with ``bottom`` fixed
    at the observed response of the held agent alone (dose 0 of the varied agent) and
    ``top``, ``ec50`` and ``b > 0`` estimated by least squares on the slice's non-zero
    doses (the dose-0 point has zero residual by construction, so it carries no
    information and is not passed).

    Parameters
    ----------
    x, y : ndarray, shape (n_slices, n_obs)
        Non-zero doses of the varied agent and responses (NaN padded).
    mask : ndarray of bool
        Observations to use.
    bottom : ndarray, shape (n_slices,)
        Fixed response at dose 0 (response unit).
    n_call : int, optional
        Number of slices of the whole call, which decides the engine (curve by curve with
        MINPACK up to :data:`SMALL_BATCH_ZIP`, else the batch engine); default the slices
        given.  Callers that drop some slices (no finite dose-0 value) pass the count before
        dropping, so the engine does not depend on which slices happened to drop.

    Returns
    -------
    estimates : ndarray, shape (n_slices, 4)
        ``bottom, top, ec50, b`` (response, response, dose unit, 1).
    converged : ndarray of bool
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    batched, (x, y, mask) = _plan("zip", n if n_call is None else int(n_call), SMALL_BATCH_ZIP,
                                  (x, y, np.asarray(mask, dtype=bool)))
    mask = mask & np.isfinite(x) & np.isfinite(y)
    bottom = np.asarray(bottom, dtype=float)
    with np.errstate(all="ignore"):
        lx = np.log(np.where(mask, x, 1.0))
        mlog = np.sum(np.where(mask, lx, 0.0), axis=1) / np.maximum(mask.sum(axis=1), 1)
    u = np.where(mask, lx - mlog[:, None], 0.0)
    y0 = np.where(mask, y, 0.0) - bottom[:, None]
    # grid start over (c, b > 0); the amplitude top - bottom is linear: solved per grid point
    cg = np.repeat(np.linspace(-4.0, 4.0, 9), 6)
    bg = np.tile(np.array([0.3, 0.6, 1.0, 1.5, 2.5, 4.0]), 9)
    with np.errstate(all="ignore"):
        s = expit(bg[None, :, None] * u[:, None, :] + cg[None, :, None]) * mask[:, None, :]
        amp = np.sum(s * y0[:, None, :], axis=2) / np.sum(s * s, axis=2)
        r = np.sum(mask[:, None, :] * (y0[:, None, :] - amp[..., None] * s) ** 2, axis=2)
    r = np.where(np.isfinite(r), r, np.inf)
    k = np.argmin(r, axis=1)
    i = np.arange(n)
    start = np.column_stack([bottom, bottom + amp[i, k], cg[k], bg[k]])
    est = np.full((n, 4), np.nan)
    conv = np.zeros(n, dtype=bool)
    ok = np.isfinite(start).all(axis=1) & (mask.sum(axis=1) >= ZIP3_MIN_LEVELS)
    if ok.any():
        idx = np.flatnonzero(ok)
        if not batched:
            e, c = _fit_zip3_minpack(u[idx], y[idx], mask[idx], start[idx], mlog[idx])
        else:
            fit = _engine()(ZIP3_SLICE_CENTRED, u[idx], y[idx], mask=mask[idx], p0=start[idx],
                            fixed={"bottom": bottom[idx]}, maxiter=200, xtol=FIT_TOL, gtol=FIT_GTOL)
            e, c = fit.estimates, fit.converged
        est[idx], conv[idx] = e, c
        # slices without a plateau in the tested range: the least-squares optimum lies at
        # infinity (top and potency grow without bound, the curve tends to the power law
        # bottom + A d^b); fit that limit and represent it exactly enough (c = -30)
        fail = idx[~c]
        if len(fail):
            est[fail], conv[fail] = _fit_zip3_limit(u[fail], y[fail], mask[fail], bottom[fail])
    out = est.copy()
    with np.errstate(all="ignore"):
        out[:, 2] = np.exp(mlog - est[:, 2] / est[:, 3])
    return out, conv


_ZIP3_LIMIT_C = -30.0


def _fit_zip3_limit(u, y, mask, bottom):
    """Limit of a ZIP-3 slice without plateau: ``bottom + A exp(b u)`` (A, b > 0 by MINPACK).

    Returned in the centred parametrisation with ``c = -30`` and ``top = bottom + A e^30``,
    where ``expit(b u + c)`` equals ``exp(b u + c)`` to ~1e-13 relative.
    """
    from scipy.optimize import leastsq

    n = u.shape[0]
    est = np.full((n, 4), np.nan)
    conv = np.zeros(n, dtype=bool)
    lo_b, hi_b = ZIP3_SLICE_CENTRED.params[3].bounds
    for i in range(n):
        m = mask[i]
        ui, yi, bot = u[i, m], y[i, m] - bottom[i], bottom[i]
        if len(ui) < 2:
            continue
        # profile the linear amplitude on a slope grid for the start
        bg = np.geomspace(0.02, 20, 40)
        g = np.exp(bg[:, None] * ui[None, :])
        amp = (g @ yi) / np.sum(g * g, axis=1)
        k = int(np.argmin(np.sum((yi[None] - amp[:, None] * g) ** 2, axis=1)))

        def res(t, ui=ui, yi=yi):
            return t[0] * np.exp(np.exp(t[1]) * ui) - yi

        def jac(t, ui=ui):
            b = np.exp(t[1])
            e = np.exp(b * ui)
            return np.array([e, t[0] * e * ui * b])

        with np.errstate(all="ignore"):
            t, _, info, _, ier = leastsq(res, [amp[k], np.log(bg[k])], Dfun=jac, full_output=True, col_deriv=True,
                                         ftol=1e-15, xtol=FIT_TOL, gtol=FIT_GTOL, maxfev=400)
        b = float(np.exp(t[1])) if np.isfinite(t[1]) else np.nan
        if ier in _MINPACK_MSG and ier != 5 and np.all(np.isfinite(t)) and lo_b <= b <= hi_b:
            est[i] = [bot, bot + t[0] * np.exp(-_ZIP3_LIMIT_C), _ZIP3_LIMIT_C, b]
            conv[i] = True
    return est, conv


def _fit_zip3_minpack(u, y, mask, start, mlog, maxiter=400):
    """SynergyFinder-3 ZIP slices by MINPACK, one slice at a time (free ``top, c, log b``)."""

    n = u.shape[0]
    est = np.full((n, 4), np.nan)
    conv = np.zeros(n, dtype=bool)
    retry = []
    lo_b, hi_b = ZIP3_SLICE_CENTRED.params[3].bounds
    for i in range(n):
        m = mask[i]
        ui, yi, bot = u[i, m], y[i, m], start[i, 0]

        # MINPACK evaluates the Jacobian at the point of its latest residual evaluation:
        # the logistic term is cached between the two calls (same arithmetic)
        cache = [None, None, None]

        def res(t, ui=ui, yi=yi, bot=bot, cache=cache):
            b = np.exp(t[2])
            s_ = expit(b * ui + t[1])
            cache[0], cache[1], cache[2] = t.tobytes(), b, s_
            return bot + (t[0] - bot) * s_ - yi

        def jac(t, ui=ui, bot=bot, cache=cache):
            if cache[0] == t.tobytes():
                b, s_ = cache[1], cache[2]
            else:
                b = np.exp(t[2])
                s_ = expit(b * ui + t[1])
            ds = s_ * (1.0 - s_) * (t[0] - bot)
            return np.array([s_, ds, ds * ui * b])

        with np.errstate(all="ignore"):
            t, ier = _lmder(res, jac, [start[i, 1], start[i, 2], np.log(start[i, 3])], ftol=1e-15, xtol=FIT_TOL,
                            gtol=FIT_GTOL, maxfev=maxiter)
        b = np.exp(t[2]) if np.isfinite(t[2]) else np.nan
        if ier not in _MINPACK_MSG or ier == 5 or not np.all(np.isfinite(t)) or not lo_b <= b <= hi_b:
            retry.append(i)
            continue
        est[i] = [bot, t[0], t[1], b]
        conv[i] = True
    for i in retry:
        m = mask[i]
        est[i], conv[i] = _fit_zip3_degenerate(u[i, m], y[i, m], start[i, 0], mlog[i])
    return est, conv


def _zip3_rss(ui, yi, mlog, bot, top, c, b):
    """RSS of a centred ZIP-3 slice as the scores use it: through the potency form
    (``ec50 = exp(mlog - c/b)``, which must be finite and positive)."""
    with np.errstate(all="ignore"):
        ec50 = np.exp(mlog - c / b)
        if not (np.isfinite(ec50) and ec50 > 0):
            return np.inf
        r = zip_slice(np.exp(ui + mlog), bot, top, ec50, b) - yi
        v = float(r @ r)
    return v if np.isfinite(v) else np.inf


#: evaluations of each candidate fit of a degenerate ZIP-3 slice: a candidate still
#: walking along a flat valley after that many is taken where it stands (its RSS
#: competes with the other candidates')
_DEGENERATE_MAXFEV = 40


def _fit_zip3_degenerate(ui, yi, bot, mlog):
    """A ZIP-3 slice whose first (unbounded MINPACK) fit failed: the best of its limits.

    The first fit fails where the least-squares optimum lies on the slope bound
    (``b`` -> 50: a step between two doses; ``b`` -> 1e-3: a straight line in log dose)
    or at infinity (no plateau: ``top`` and the potency grow without bound towards the
    power law ``bottom + A d^b``), or wanders into such a valley from its start.  Each
    candidate is fitted by MINPACK in a few evaluations: the slope fixed at either
    bound (``top``, ``c`` free), the power-law limit (:func:`_fit_zip3_limit`) and a
    free fit from the best point of a (``c``, ``b``) grid with the linear amplitude
    profiled out; the candidate with the smallest RSS is returned (``bottom, top, c, b``
    in the centred form, and whether any candidate converged).

    This replaces the batch engine's projected Levenberg-Marquardt, which reaches the
    same bound optima but walks along the flat valleys towards the limits for its
    whole iteration budget (400 iterations, ~80 ms a slice) and then hands the
    power-law case to the limit fit anyway; on the frozen slices of
    ``tests/test_zip3_speed.py`` the result has the same or a smaller RSS.
    """
    from scipy.optimize import leastsq

    lo_b, hi_b = ZIP3_SLICE_CENTRED.params[3].bounds
    r0 = yi - bot
    best, best_rss = np.full(4, np.nan), np.inf
    if len(ui) < ZIP3_MIN_LEVELS:
        return best, False
    # profile RSS over a grid of (midpoint, slope): the amplitude top - bottom is linear
    umin, umax = float(ui.min()), float(ui.max())
    mids = np.linspace(umin - 1.0, umax + 1.0, 17)
    bs = np.geomspace(lo_b, hi_b, 14)
    # at the upper slope bound the curve is a step, and its local optima differ by where
    # the step sits relative to the doses: a fine grid of midpoints there
    fine = np.linspace(umin - 0.5, umax + 0.5, int(np.ceil((umax - umin + 1.0) / 0.004)) + 1)

    def profile(b, m):
        with np.errstate(all="ignore"):
            s = expit(b[..., None] * (ui - m[..., None]))
            a = np.sum(s * r0, axis=-1) / np.sum(s * s, axis=-1)
            r = np.sum((r0 - a[..., None] * s) ** 2, axis=-1)
        return a, np.where(np.isfinite(r), r, np.inf)

    amp, rg = profile(bs[:, None], mids[None, :])
    amp_hi, rg_hi = profile(np.array(hi_b), fine)
    cands = []
    # (a) free fit from the best grid point with an interior slope
    kb, km = np.unravel_index(np.argmin(rg[1:-1]), rg[1:-1].shape)
    kb += 1
    if np.isfinite(rg[kb, km]):
        b0 = bs[kb]
        t0 = [bot + amp[kb, km], -b0 * mids[km], np.log(b0)]

        def res3(t):
            return bot + (t[0] - bot) * expit(np.exp(t[2]) * ui + t[1]) - yi

        def jac3(t):
            b = np.exp(t[2])
            s_ = expit(b * ui + t[1])
            ds = s_ * (1.0 - s_) * (t[0] - bot)
            return np.array([s_, ds, ds * ui * b])

        with np.errstate(all="ignore"):
            t, _, _, _, ier = leastsq(res3, t0, Dfun=jac3, full_output=True, col_deriv=True, ftol=1e-15,
                                      xtol=FIT_TOL, gtol=FIT_GTOL, maxfev=_DEGENERATE_MAXFEV)
        b = np.exp(t[2]) if np.isfinite(t[2]) else np.nan
        if ier in _MINPACK_MSG and np.all(np.isfinite(t)) and lo_b <= b <= hi_b:
            cands.append(np.array([bot, t[0], t[1], b]))
    # (b) slope on either bound
    for b, mg, ag, rgb in ((lo_b, mids, amp[0], rg[0]), (hi_b, fine, amp_hi, rg_hi)):
        km = int(np.argmin(rgb))
        if not np.isfinite(rgb[km]):
            continue

        def res2(t, b=b):
            return bot + (t[0] - bot) * expit(b * ui + t[1]) - yi

        def jac2(t, b=b):
            s_ = expit(b * ui + t[1])
            return np.array([s_, s_ * (1.0 - s_) * (t[0] - bot)])

        with np.errstate(all="ignore"):
            t, _, _, _, ier = leastsq(res2, [bot + ag[km], -b * mg[km]], Dfun=jac2, full_output=True,
                                      col_deriv=True, ftol=1e-15, xtol=FIT_TOL, gtol=FIT_GTOL,
                                      maxfev=_DEGENERATE_MAXFEV)
        if ier in _MINPACK_MSG and np.all(np.isfinite(t)):
            cands.append(np.array([bot, t[0], t[1], b]))
    # (c) no plateau: the power-law limit
    e, c = _fit_zip3_limit(ui[None], yi[None], np.ones((1, len(ui)), dtype=bool), np.array([bot]))
    if c[0]:
        cands.append(e[0])
    for cand in cands:
        r = _zip3_rss(ui, yi, mlog, *cand)
        if r < best_rss:
            best, best_rss = cand, r
    return best, bool(np.isfinite(best_rss))
