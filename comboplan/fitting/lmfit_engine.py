"""Per-curve reference engine on lmfit (one ``lmfit.minimize`` call per curve).

Same models, parametrisation (log scale for positive parameters), fixed parameters,
bounds and losses as the batch engine; used to cross-check it and as the baseline in
``benchmarks/bench_dose_response.py``.  It returns a :class:`~comboplan.fitting.batch.BatchFit`
whose covariance is recomputed by the batch engine's estimator at lmfit's optimum, so
both engines report standard errors by the same definition.
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
            if out.success:
                est[i] = values(out.params)
        except Exception:  # a failed curve is a NaN row, as in the batch engine
            pass
    # covariance by the common definition at lmfit's optimum (no further iterations)
    from .batch import _covariance, _prepare_fixed

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
    covm[~ok] = np.nan
    slw = np.sum(np.where(mk, np.log(np.where(wz > 0, wz, 1.0)), 0.0), axis=1)
    return BatchFit(spec=spec, estimates=np.where(ok[:, None], est, np.nan), cov=covm, rss=np.where(ok, rss, np.nan),
                    nobs=nobs, npar=int(free.sum()), converged=ok,
                    message=np.where(ok, "converged (lmfit)", "lmfit did not converge").astype(str),
                    niter=np.zeros(n, dtype=int), free=free, cov_method=cov, loss=loss, sum_log_w=slw)
