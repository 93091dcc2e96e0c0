"""Per-curve reference engine on lmfit (one ``lmfit.minimize`` call per curve).

Same models, parametrisation (log scale for positive parameters), fixed parameters,
bounds and losses as the batch engine; used to cross-check it and as the baseline in
``benchmarks/bench_dose_response.py``.  It returns a :class:`~comboplan.fitting.batch.BatchFit`
whose covariance is recomputed by the batch engine's estimator at lmfit's optimum, so
both engines report standard errors by the same definition.

lmfit implements bounds by a transform whose slope vanishes on the bound, so leastsq
stalls when the optimum lies on a bound: with default tolerances it reports success at a
worse point (e.g. RSS 1770 against 1088 at the bounded optimum), with tight ones it hits
its evaluation limit.  Such end points are polished by the batch engine and the message
records both RSS values.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..models.spec import ModelSpec
from .batch import BatchFit

__all__ = ["fit_curves_lmfit"]


def fit_curves_lmfit(spec: ModelSpec, x, y, mask=None, w=None, fixed: Mapping | None = None, p0=None,
                     bounds: Mapping | None = None, loss: str = "linear", f_scale=None,
                     cov: str = "gauss-newton", xtol: float = 1e-12) -> BatchFit:
    """Fit each curve with :func:`lmfit.minimize` (Levenberg–Marquardt or TRF for robust losses).

    Parameters
    ----------
    spec, x, y, mask, w, fixed, p0, bounds, loss, f_scale, cov
        As in :func:`comboplan.fitting.batch.fit_chunk`.
    xtol : float
        Relative tolerance passed to the optimiser.

    Returns
    -------
    BatchFit
    """
    import lmfit

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, m = x.shape
    if mask is None:
        mask = np.isfinite(x) & np.isfinite(y)
    ww = np.ones_like(x) if w is None else np.asarray(w, dtype=float)
    allfixed = {**spec.fixed_defaults, **(fixed or {})}
    if p0 is None:
        with np.errstate(all="ignore"):
            p0 = spec.selfstart(np.where(mask, x, np.nan), np.where(mask, y, np.nan), mask)
    p0 = np.asarray(p0, dtype=float)
    est = np.full((n, len(spec.params)), np.nan)
    end = np.full((n, len(spec.params)), np.nan)  # lmfit's end point even when it reports failure
    lmsg = np.full(n, "lmfit did not converge", dtype=object)
    for i in range(n):
        mi = mask[i]
        xi, yi, swi = x[i, mi], y[i, mi], np.sqrt(ww[i, mi])
        params = lmfit.Parameters()
        for j, p in enumerate(spec.params):
            b = (bounds or {}).get(p.name, p.bounds)
            isfixed = p.name in allfixed
            val = float(np.broadcast_to(allfixed[p.name], (n,))[i]) if isfixed else float(p0[i, j])
            if p.transform == "log":
                lo = np.log(b[0]) if b[0] > 0 else -np.inf
                params.add("log_" + p.name, value=np.log(val), vary=not isfixed, min=lo, max=np.log(b[1]))
            else:
                params.add(p.name, value=val, vary=not isfixed, min=b[0], max=b[1])

        def values(pars):
            out = []
            for p in spec.params:
                out.append(np.exp(pars["log_" + p.name].value) if p.transform == "log" else pars[p.name].value)
            return out

        def resid(pars):
            return swi * (yi - spec.func(xi, *values(pars)))

        kws = {}
        method = "leastsq"
        if loss != "linear":
            method = "least_squares"
            kws = {"loss": loss, "f_scale": 1.0 if f_scale is None else float(np.broadcast_to(f_scale, (n,))[i])}
        try:
            if method == "leastsq":
                out = lmfit.minimize(resid, params, method=method, xtol=xtol, ftol=xtol, max_nfev=20000)
            else:
                out = lmfit.minimize(resid, params, method=method, xtol=xtol, ftol=xtol, gtol=xtol, **kws)
            end[i] = values(out.params)
            if out.success:
                est[i] = end[i]
            else:
                lmsg[i] = f"lmfit did not converge: {out.message}"
        except Exception as exc:  # a failed curve is a NaN row, as in the batch engine
            lmsg[i] = f"lmfit failed: {exc}"
    # lmfit's bounds (a sine/sqrt transform of each bounded parameter) have zero slope on
    # the bound, so leastsq stalls when the optimum lies there: it reports success at the
    # start, or fails at its evaluation limit.  Such end points are polished by the batch
    # engine (active-set bounds) and the lower RSS is kept; the message says so.
    lo_b = np.array([float((bounds or {}).get(p.name, p.bounds)[0]) for p in spec.params])
    hi_b = np.array([float((bounds or {}).get(p.name, p.bounds)[1]) for p in spec.params])
    # "near": within 1e-4 (relative) of a bound (was 1e-6).  leastsq reaches a bound only
    # asymptotically on its transformed scale, so how close its end point lies is a matter of
    # its last steps; test_lmfit_engine_stalled_on_bound_is_polished_and_reported failed once
    # in three identical runs of its file (not reproduced since), and this window is the only
    # borderline step on its path.  A polish that does not lower the RSS is discarded, so a
    # wider window costs one short fit and changes no optimum
    with np.errstate(invalid="ignore"):
        near = ((np.isfinite(lo_b) & (lo_b != 0) & np.isclose(end, lo_b, rtol=1e-4, atol=0))
                | (np.isfinite(hi_b) & np.isclose(end, hi_b, rtol=1e-4, atol=0)))
    free_v = np.array([p.name not in allfixed for p in spec.params])
    stalled = np.flatnonzero(np.any(near & free_v, axis=1) & np.all(np.isfinite(end), axis=1))
    polish = {}
    if stalled.size:
        from .batch import fit_curves

        fx = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,))[stalled] for k, v in allfixed.items()}
        pf = fit_curves(spec, x[stalled], y[stalled], np.asarray(mask)[stalled], ww[stalled], fixed=fx or None,
                        p0=end[stalled], bounds=bounds, loss=loss, cov="none", multistart=False,
                        f_scale=None if f_scale is None else np.broadcast_to(f_scale, (n,))[stalled])
        for k, i in enumerate(stalled):
            if pf.converged[k]:
                polish[i] = pf.estimates[k]
    # covariance by the common definition at lmfit's optimum (no further iterations)
    from .batch import _covariance, _prepare_fixed

    def rss_at(p, i):
        mi = np.asarray(mask[i], dtype=bool)
        r = np.sqrt(ww[i, mi]) * (y[i, mi] - spec.func(x[i, mi], *p))
        return float(r @ r)

    for i, p in polish.items():
        before = rss_at(end[i], i)
        after = rss_at(p, i)
        if not np.isfinite(est[i]).all() or after < rss_at(est[i], i):
            est[i] = p
            lmsg[i] = (f"converged (lmfit stalled on a bound, RSS {before:.6g}; polished by the batch engine to "
                       f"RSS {after:.6g})")
    ok = np.all(np.isfinite(est), axis=1)
    free, _ = _prepare_fixed(spec, fixed, n)
    mk = np.asarray(mask, dtype=bool)
    xs = np.where(mk, x, 1.0)
    ys = np.where(mk, y, 0.0)
    wz = np.where(mk, ww, 0.0)
    pn = np.where(ok[:, None], est, 1.0)
    rss = np.sum(wz * (ys - spec.func(xs, *[pn[:, j, None] for j in range(pn.shape[1])])) ** 2, axis=1)
    nobs = mk.sum(axis=1)
    covm, _ = _covariance(spec, xs, ys, wz, pn, free, rss, nobs, cov)
    # estimates on a finite bound: no standard error of their own, the others conditional
    # on them (the batch engine's convention)
    with np.errstate(invalid="ignore"):
        on_bound = ((np.isfinite(lo_b) & np.isclose(est, lo_b, rtol=1e-9, atol=1e-12))
                    | (np.isfinite(hi_b) & np.isclose(est, hi_b, rtol=1e-9, atol=1e-12))) & free & ok[:, None]
    for i in np.flatnonzero(on_bound.any(axis=1)):
        c2, _ = _covariance(spec, xs[i:i + 1], ys[i:i + 1], wz[i:i + 1], pn[i:i + 1], free & ~on_bound[i],
                            rss[i:i + 1], nobs[i:i + 1], cov)
        c2[0, on_bound[i], :] = np.nan
        c2[0, :, on_bound[i]] = np.nan
        covm[i] = c2[0]
    covm[~ok] = np.nan
    slw = np.sum(np.where(mk, np.log(np.where(wz > 0, wz, 1.0)), 0.0), axis=1)
    return BatchFit(spec=spec, estimates=np.where(ok[:, None], est, np.nan), cov=covm, rss=np.where(ok, rss, np.nan),
                    nobs=nobs, npar=int(free.sum()), converged=ok,
                    message=np.where(ok, np.where(lmsg == "lmfit did not converge", "converged (lmfit)", lmsg),
                                     lmsg).astype(str),
                    niter=np.zeros(n, dtype=int), free=free, cov_method=cov, loss=loss, sum_log_w=slw,
                    on_bound=on_bound)
