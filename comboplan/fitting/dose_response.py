"""Least-squares dose-response fitting: :func:`fit_dose_response` and its result.

One call fits one curve or thousands (``by=`` groups) through the vectorised batch
engine (:mod:`comboplan.fitting.batch`); lmfit serves as the per-curve reference
implementation (``engine="lmfit"``) and the two agree to optimiser precision.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._params import Integral, Interval, Real, StrOptions, invalid, renamed_params, validate_params
from ..data.validate import _fmt_label
from ..data.validate import (
    as_list,
    check_dose_column,
    check_groups_nonempty,
    check_response_column,
    check_weights_column,
    require_columns,
    require_frame,
)
from ..exceptions import ConvergenceWarning, DataError, ExtrapolationWarning, FitError
from ..models.dose_response import ecx_absolute, ecx_relative, get_model
from ..models.spec import ModelSpec, Param, unit_of
from ..results import ResultIO, check_kind, set_units, units_by, write_result
from .batch import COV_METHODS, LOSSES, BatchFit, fit_curves
from .packing import Packed, pack_groups

__all__ = ["fit_dose_response", "DoseResponseResult", "compare"]

COV_DESCRIPTIONS = {
    "gauss-newton": "s^2 (J'WJ)^-1, s^2 = RSS/(n-p) (as R nls, lmfit, scipy curve_fit)",
    "hessian": "s^2 (H/2)^-1 with H the full Hessian of the RSS (as R drc's vcov)",
    "sandwich": "heteroscedasticity-consistent sandwich (HC1)",
}


def check_fit_columns(func: str, data: pd.DataFrame, dose: str, response: str, by, weights: str | None,
                      reserved: Sequence[str]) -> None:
    """Check the columns a dose-response fit reads.

    Parameters
    ----------
    func : str
        The fit function's name (for the error message).
    data : pandas.DataFrame
        The data.
    dose, response : str
        Column names.
    by : str or sequence of str or None
        Grouping column(s).
    weights : str or None
        Weights column.
    reserved : sequence of str
        Column names of the fit's result tables, which a ``by`` column must not take.

    Raises
    ------
    InvalidParameterError
        A ``by`` column named like a result column.
    DataError
        A column missing from ``data``.
    """
    by_l = as_list(by)
    clash = [c for c in by_l if c in reserved]
    if clash:
        raise invalid(func, "by", f"free of the names the result tables use themselves "
                      f"({clash[0]!r} is one)", by,
                      f"rename the column first, e.g. data.rename(columns={{{clash[0]!r}: {clash[0] + '_id'!r}}})")
    require_columns(data, [dose], "dose")
    require_columns(data, [response], "response")
    require_columns(data, by_l, "by")
    if weights is not None:
        require_columns(data, [weights], "weights")


def _potency_index(spec: ModelSpec) -> int | None:
    for j, p in enumerate(spec.params):
        if p.unit == "dose" and p.transform == "log":
            return j
    return None


def _flag_names(flags, names) -> np.ndarray:
    """Per row of the boolean (n, P) array ``flags``, the names of the flagged columns joined by
    ", " ("" where none): one string per distinct pattern, not one join per row."""
    flags = np.asarray(flags, dtype=bool)
    out = np.full(flags.shape[0], "", dtype=object)
    if flags.size == 0 or not flags.any():
        return out
    names = np.asarray(names)
    if flags.shape[1] > 62:  # pragma: no cover - no model has that many parameters
        return np.array([", ".join(names[row]) for row in flags], dtype=object)
    code = flags @ (np.int64(1) << np.arange(flags.shape[1], dtype=np.int64))   # one integer per pattern
    pats, inv = np.unique(code, return_inverse=True)
    text = np.array([", ".join(names[(int(c) >> np.arange(len(names))) & 1 == 1]) for c in pats], dtype=object)
    out[:] = text[inv]
    return out


@dataclass(frozen=True)
class DoseResponseResult(ResultIO):
    """Immutable result of :func:`fit_dose_response` for one or many curves.

    Use the properties (``params``, ``curves``, ``estimates``, ``cov``) and methods
    (``ecx``, ``predict``, ``summary``, ``to_xarray``, ``plot``, ``compare``); every
    table returned is a fresh copy.
    """

    spec: ModelSpec
    fit: BatchFit
    keys: pd.DataFrame
    by: tuple[str, ...]
    dose: str
    response: str
    dose_unit: str | None
    response_unit: str | None
    ci_level: float
    ci_scale: str
    packed: Packed = field(repr=False)
    fixed: Mapping = field(default_factory=dict, repr=False)
    bounds: Mapping | None = field(default=None, repr=False)
    boxcox: float | None = None
    boxcox_info: Mapping = field(default_factory=dict, repr=False)

    @property
    def boxcox_profile(self) -> pd.DataFrame:
        """The Box-Cox profile log-likelihood over the grid of lambda (``boxcox="estimate"``).

        Columns ``lambda`` and ``loglik`` (summed over curves, on the scale of the original
        responses: it includes the Jacobian term ``(lambda - 1) sum(log y)``).  Empty when
        lambda was not estimated.
        """
        info = self.boxcox_info or {}
        return pd.DataFrame({"lambda": np.asarray(info.get("grid", []), dtype=float),
                             "loglik": np.asarray(info.get("profile_loglik", []), dtype=float)})

    # ------------------------------------------------------------------ basic tables
    @property
    def n_curves(self) -> int:
        """Number of fitted curves."""
        return self.fit.n_curves

    @property
    def estimates(self) -> np.ndarray:
        """Estimates, shape (n_curves, n_params), natural scale (copy)."""
        return self.fit.estimates.copy()

    @property
    def cov(self) -> np.ndarray:
        """Covariance matrices, shape (n_curves, n_params, n_params) (copy)."""
        return self.fit.cov.copy()

    @property
    def converged(self) -> np.ndarray:
        """Per-curve convergence flags (copy)."""
        return self.fit.converged.copy()

    def _units(self) -> list[str]:
        return [unit_of(p, self.dose_unit, self.response_unit) for p in self.spec.params]

    def _param_ci(self):
        est = self.fit.estimates
        se = self.fit.stderr
        dof = self.fit.dof.astype(float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            t = stats.t.ppf(0.5 + self.ci_level / 2, np.where(dof > 0, dof, np.nan))[:, None]
            lo = est - t * se
            hi = est + t * se
            if self.ci_scale == "log":
                islog = np.array([p.transform == "log" for p in self.spec.params])
                sel = se / est
                llo = est * np.exp(-t * sel)
                lhi = est * np.exp(t * sel)
                lo = np.where(islog, llo, lo)
                hi = np.where(islog, lhi, hi)
        est_ok = self.fit.free[None, :] & ~self.fit.bound_flags
        lo = np.where(est_ok, lo, np.nan)
        hi = np.where(est_ok, hi, np.nan)
        se = np.where(est_ok, se, np.nan)
        return se, lo, hi

    def _no_se_reason(self) -> np.ndarray:
        """Per curve: why standard errors are missing ("" where they exist)."""
        f = self.fit
        usable = f.free[None, :] & ~f.bound_flags
        with np.errstate(invalid="ignore"):
            d = np.diagonal(f.cov, axis1=1, axis2=2)
        missing = f.converged & np.any(usable & ~np.isfinite(d), axis=1)
        out = np.full(f.n_curves, "", dtype=object)
        for i in np.flatnonzero(missing):
            m = str(f.message[i])
            if "exact fit" in m:
                why = "exact fit (residual SD ~ 0)"
            elif "no residual degrees of freedom" in m:
                why = "as many observations as free parameters (no residual degrees of freedom)"
            elif "flat valley" in m:
                why = ("not determined by these data: the RSS keeps decreasing along a flat valley in which "
                       "some parameters run off (see the message)")
            elif "singular information matrix" in m:
                why = "singular information matrix (parameters not identifiable from these data)"
            else:
                why = "covariance matrix not estimable"
            out[i] = f"no standard error: {why}"
        return out

    def _conditional_cov(self) -> np.ndarray:
        """Covariance with the rows/columns of on-bound parameters set to 0 (treated as
        fixed at the bound), NaN kept everywhere else it is missing."""
        c = self.fit.cov.copy()
        ob = self.fit.bound_flags
        if ob.any():
            c = np.where(ob[:, :, None] | ob[:, None, :], 0.0, c)
        return c

    @property
    def params(self) -> pd.DataFrame:
        """Tidy parameter table: by-columns, curve, param, estimate, stderr, ci_low, ci_high, unit, fixed, on_bound.

        Confidence intervals are Wald intervals with a t quantile on the residual
        degrees of freedom; for parameters fitted on the log scale (EC50, slope) they
        are computed on that scale and back-transformed when ``ci_scale="log"``
        (the default), which keeps them positive and unit-invariant.

        ``on_bound`` marks an estimate that lies on a bound given in ``bounds=``: it has
        no standard error or interval (a Wald interval is not valid there), and the
        other parameters' standard errors are conditional on it, equal to those of a
        fit with that parameter fixed at the bound.  Missing standard errors are NaN,
        never 0; ``curves.message`` says why.
        """
        n, p = self.fit.estimates.shape
        se, lo, hi = self._param_ci()
        names = self.spec.param_names
        df = pd.DataFrame({
            "curve": np.repeat(np.arange(n), p),
            "param": np.tile(names, n),
            "estimate": self.fit.estimates.ravel(),
            "stderr": se.ravel(),
            "ci_low": lo.ravel(),
            "ci_high": hi.ravel(),
            "unit": np.tile(self._units(), n),
            "fixed": np.tile(~self.fit.free, n),
            "on_bound": self.fit.bound_flags.ravel(),
        })
        if self.by:
            df = pd.concat([self.keys.iloc[df["curve"].to_numpy()].reset_index(drop=True), df], axis=1)
        df.attrs["ci_level"] = self.ci_level
        df.attrs["cov_method"] = COV_DESCRIPTIONS[self.fit.cov_method]
        return df

    @property
    def curves(self) -> pd.DataFrame:
        """One row per curve: convergence, message, nobs, RSS, residual SE, logLik, AIC, BIC, on_bound.

        ``on_bound`` names the parameters whose estimate lies on a bound (``""`` if none).  AIC and
        BIC count the model parameters, the residual variance and, with ``boxcox="estimate"``, the
        estimated lambda (one lambda shared by all curves of the fit is counted in each curve's).
        """
        f = self.fit
        k = f.npar + 1  # + residual variance, as R's logLik/AIC count it
        if (self.boxcox_info or {}).get("method") == "estimate":
            k = k + 1   # the Box-Cox lambda estimated from the data is a parameter too (shared by the curves)
        ll = f.loglik
        n = f.nobs.astype(float)
        df = pd.DataFrame({
            "curve": np.arange(f.n_curves),
            "model": self.spec.name,
            "converged": f.converged,
            "message": f.message,
            "nobs": f.nobs,
            "npar": f.npar,
            "rss": f.rss,
            "sigma": f.sigma,
            "loglik": ll,
            "aic": -2 * ll + 2 * k,
            "bic": -2 * ll + np.log(n) * k,
            "niter": f.niter,
            "on_bound": _flag_names(f.bound_flags, self.spec.param_names),
        })
        if self.by:
            df = pd.concat([self.keys.reset_index(drop=True), df], axis=1)
        return df

    # ------------------------------------------------------------------ ECx
    def _tested_range(self):
        x = np.where(self.packed.mask & (self.packed.x > 0), self.packed.x, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(x, axis=1), np.nanmax(x, axis=1)

    def _ecx_point(self, x, kind, params):
        if kind == "relative":
            return ecx_relative(self.spec, x, params)
        return ecx_absolute(self.spec, x, params)

    @renamed_params(level="ci_level")
    @validate_params({
        "x": [Interval(Real), "nonempty array-like"],
        "ci": [StrOptions({"delta", "profile", "bootstrap"}), None],
        "kind": [StrOptions({"relative", "absolute"})],
        "ci_level": [Interval(Real, 0, 1, closed="neither"), None],
        "n_boot": [Interval(Integral, 1, None)],
        "seed": ["seed"],
        "extrapolate": ["boolean"],
        "ci_scale": [StrOptions({"log", "natural"})],
    }, fixes={"x": "e.g. 50 or [10, 50, 90]", "n_boot": "e.g. 1000"})
    def ecx(
        self,
        x: float | Sequence[float] = 50,
        ci: str = "delta",
        kind: str = "relative",
        ci_level: float | None = None,
        n_boot: int = 1000,
        seed=None,
        extrapolate: bool = False,
        ci_scale: str = "log",
    ) -> pd.DataFrame:
        """Effective doses with confidence intervals.

        Parameters
        ----------
        x : float or sequence of float
            ``kind="relative"``: percent of the full effect, strictly in (0, 100):
            the dose at which the response has moved x % of the way from E(0) to
            E(inf) (ECx / ICx).  ``kind="absolute"``: response level(s) in the
            response unit (e.g. 50 for "50 % viability").
        ci : {"delta", "profile", "bootstrap"}
            Delta method on log ECx (fast); profile likelihood (refits with ECx held
            fixed; F-based); residual bootstrap (``n_boot`` refits, percentile).
        kind : {"relative", "absolute"}
        ci_level : float, optional
            Confidence level; default the result's ``ci_level``.  (``level=`` is a
            deprecated alias.)
        n_boot : int
            Bootstrap replicates (``ci="bootstrap"``), >= 1.
        seed : int or numpy.random.Generator, optional
            Seed for the bootstrap.  Within each curve the observations are taken in a
            canonical order (sorted by dose, then response), so the same seed gives the same
            interval whatever the row order of the fitted table.
        extrapolate : bool
            If False (default), ECx values outside the tested dose range are
            reported as NaN with ``status`` saying so; if True they are reported
            and flagged.  Either way an :class:`ExtrapolationWarning` is emitted.
        ci_scale : {"log", "natural"}
            Scale of the delta-method interval (``ci="delta"``), with the same meaning as
            in :meth:`SharedDoseResponseResult.ecx`: ``"log"`` (default):
            ``ECx * exp(+-t se(log ECx))``, positive and unit-invariant; ``"natural"``:
            ``ECx +- t se(ECx)`` with ``se(ECx) = sqrt(g' V g)``, ``g`` the gradient of ECx
            in the parameters and ``V`` their covariance (drc's ``ED(..., interval="delta")``).
            Profile and bootstrap intervals do not depend on the scale.

        Returns
        -------
        pandas.DataFrame
            by-columns, curve, x, kind, estimate, stderr (natural scale, dose unit),
            ci_low, ci_high, unit (dose unit), ci_method, status, extrapolated; the
            interval scale is in ``attrs["ci_scale"]``.

        Raises
        ------
        InvalidParameterError
            An option outside its allowed values (``ci_level=1.5``, ``x=[]``, ``n_boot=-5``).
        """
        if self.spec.inverse is None:
            raise DataError(f"model {self.spec.name!r} has no dose effect, so it has no ECx")
        if self.boxcox is not None and ci in ("profile", "bootstrap"):
            raise invalid("DoseResponseResult.ecx", "ci", "'delta' for a Box-Cox (boxcox=) fit", ci,
                          "use ci='delta'; profile and bootstrap refits on the transformed scale are not implemented")
        level = self.ci_level if ci_level is None else float(ci_level)
        xs = np.atleast_1d(np.asarray(x, dtype=float))
        if not np.all(np.isfinite(xs)):
            raise invalid("DoseResponseResult.ecx", "x", "finite", x, "e.g. 50")
        if kind == "relative" and np.any((xs <= 0) | (xs >= 100)):
            raise invalid("DoseResponseResult.ecx", "x", "strictly between 0 and 100 (percent of the full effect) "
                          "for kind='relative'", x, "e.g. 50; for a response level pass kind='absolute'")
        est = self.fit.estimates
        lo_d, hi_d = self._tested_range()
        dof = self.fit.dof.astype(float)
        with np.errstate(invalid="ignore"):
            tq = stats.t.ppf(0.5 + level / 2, np.where(dof > 0, dof, np.nan))
        rows = []
        n_extrap = 0
        for xv in xs:
            point = self._ecx_point(xv, kind, est)
            se_nat, clo, chi = self._ecx_ci(xv, kind, point, ci, level, tq, n_boot, seed, ci_scale)
            status = np.full(self.n_curves, "ok", dtype=object)
            ob = self.fit.bound_flags
            names = np.asarray(self.spec.param_names)
            for i in np.flatnonzero(ob.any(axis=1)):
                status[i] = f"ok (standard error conditional on {', '.join(names[ob[i]])} at its bound)"
            if ci is not None:
                no_se = np.isfinite(point) & ~np.isfinite(se_nat)
                reason = self._no_se_reason()
                status[no_se] = np.where(reason[no_se] != "", reason[no_se], "no standard error: covariance not estimable")
            status[~self.fit.converged] = "fit did not converge"
            never = self.fit.converged & ~np.isfinite(point)
            status[never] = "response level never reached by the fitted curve"
            above = np.isfinite(point) & (point > hi_d)
            below = np.isfinite(point) & (point < lo_d)
            status[above] = [f"above tested range (> {h:g} {self.dose_unit or ''})".replace(" )", ")") for h in hi_d[above]]
            status[below] = [f"below tested range (< {lo:g} {self.dose_unit or ''})".replace(" )", ")") for lo in lo_d[below]]
            extr = above | below
            n_extrap += int(extr.sum())
            shown = point.copy()
            if not extrapolate:
                shown[extr] = np.nan
                clo = np.where(extr, np.nan, clo)
                chi = np.where(extr, np.nan, chi)
            rows.append(pd.DataFrame({
                "curve": np.arange(self.n_curves),
                "x": xv,
                "kind": kind,
                "estimate": shown,
                "stderr": np.where(np.isfinite(shown), se_nat, np.nan),
                "ci_low": clo,
                "ci_high": chi,
                "unit": self.dose_unit or "dose unit",
                "ci_method": ci,
                "status": status,
                "extrapolated": extr,
            }))
        out = pd.concat(rows, ignore_index=True)
        if self.by:
            out = pd.concat([self.keys.iloc[out["curve"].to_numpy()].reset_index(drop=True), out], axis=1)
        out.attrs["ci_scale"] = ci_scale
        if n_extrap:
            warnings.warn(
                f"{n_extrap} ECx value(s) lie outside the tested dose range; "
                + ("reported but flagged (extrapolated=True)." if extrapolate else
                   "reported as NaN with the reason in 'status' (pass extrapolate=True to see the model value)."),
                ExtrapolationWarning, stacklevel=2)
        return out

    def _param_gradient(self, f):
        """Central-difference derivatives of ``f(params)`` (leading curve axis) w.r.t. the free parameters.

        Returns an array of shape ``f(estimates).shape + (n_params,)``; columns of fixed
        parameters are 0.
        """
        est = self.fit.estimates
        with np.errstate(all="ignore"):
            base = np.asarray(f(est), dtype=float)
            out = np.zeros(base.shape + (est.shape[1],))
            for j in np.flatnonzero(self.fit.free):
                h = 1e-6 * np.maximum(np.abs(est[:, j]), 1e-4)
                up = est.copy()
                dn = est.copy()
                up[:, j] += h
                dn[:, j] -= h
                hb = h.reshape((-1,) + (1,) * (base.ndim - 1))
                out[..., j] = (np.asarray(f(up), dtype=float) - np.asarray(f(dn), dtype=float)) / (2 * hb)
        return out

    def _ecx_ci(self, xv, kind, point, ci, level, tq, n_boot, seed, ci_scale="log"):
        n = self.n_curves
        nan = np.full(n, np.nan)
        # delta-method standard error of ECx (always computed: reported as stderr); that of log ECx
        # is se(ECx) / ECx (ECx > 0)
        grads = self._param_gradient(lambda p: self._ecx_point(xv, kind, p))
        # parameters on a bound enter as fixed there (zero gradient); a missing covariance
        # stays missing (NaN standard error and interval, never a zero-width one)
        grads = np.where(self.fit.bound_flags, 0.0, grads)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.einsum("ni,nij,nj->n", grads, self._conditional_cov(), grads)
            se_nat = np.sqrt(np.where(var >= 0, var, np.nan))
            se_nat = np.where(np.isfinite(point), se_nat, np.nan)
            se_log = np.where(point > 0, se_nat / point, np.nan)
        if ci is None:
            return se_nat, nan, nan
        if ci == "delta":
            if ci_scale == "natural":
                return se_nat, point - tq * se_nat, point + tq * se_nat
            return se_nat, point * np.exp(-tq * se_log), point * np.exp(tq * se_log)
        if ci == "bootstrap":
            lo, hi = self._ecx_bootstrap(xv, kind, level, n_boot, seed)
            return se_nat, lo, hi
        lo, hi = self._ecx_profile(xv, kind, point, se_log, level)
        return se_nat, lo, hi

    def _ecx_bootstrap(self, xv, kind, level, n_boot, seed):
        rng = np.random.default_rng(seed)
        P = self.packed
        n, m = P.x.shape
        est = self.fit.estimates
        fitted = self.spec.func(np.where(P.mask, P.x, 1.0), *[est[:, j, None] for j in range(est.shape[1])])
        resid = np.where(P.mask, (P.y - fitted) * np.sqrt(P.w), np.nan)
        nobs = P.mask.sum(axis=1)
        infl = np.sqrt(nobs / np.maximum(nobs - self.fit.npar, 1))[:, None]
        resid = (resid - np.nanmean(resid, axis=1, keepdims=True)) * infl
        # resample residuals within each curve (positions among that curve's observations)
        u = rng.random((n_boot, n, m))
        pick = np.minimum((u * nobs[None, :, None]).astype(int), np.maximum(nobs - 1, 0)[None, :, None])
        order = np.argsort(~P.mask, axis=1, kind="stable")  # real observations first
        src = np.take_along_axis(np.broadcast_to(order, (n_boot, n, m)), pick, axis=2)
        rstar = np.take_along_axis(np.broadcast_to(resid, (n_boot, n, m)), src, axis=2)
        ystar = fitted[None] + rstar / np.sqrt(P.w)[None]
        X = np.broadcast_to(P.x, (n_boot, n, m)).reshape(-1, m)
        Y = np.where(P.mask[None], ystar, np.nan).reshape(-1, m)
        W = np.broadcast_to(P.w, (n_boot, n, m)).reshape(-1, m)
        Mk = np.broadcast_to(P.mask, (n_boot, n, m)).reshape(-1, m)
        fx = {k: np.tile(np.broadcast_to(np.asarray(v, dtype=float), (n,)), n_boot) for k, v in self.fixed.items()}
        bf = fit_curves(self.spec, X, Y, Mk, W, fixed=fx or None, p0=np.tile(np.nan_to_num(est, nan=1.0), (n_boot, 1)),
                        bounds=self.bounds, cov=self.fit.cov_method)
        vals = self._ecx_point(xv, kind, bf.estimates).reshape(n_boot, n)
        vals = np.where(bf.converged.reshape(n_boot, n), vals, np.nan)
        a = (1 - level) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanquantile(vals, a, axis=0)
            hi = np.nanquantile(vals, 1 - a, axis=0)
        ok = np.isfinite(self.fit.estimates).all(axis=1)
        return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)

    def _ecx_profile(self, xv, kind, point, se_log, level, n_grid=41):
        """F-based profile interval for log ECx, via constrained refits on a grid."""
        j = _potency_index(self.spec)
        if j is None:
            raise DataError(f"model {self.spec.name!r} has no potency parameter to profile")
        spec = self.spec
        P = self.packed
        n = self.n_curves
        est = self.fit.estimates
        names = spec.param_names
        other = [k for k in range(len(names)) if k != j]
        # ECx = potency * g(other params): g from the inverse at potency 1
        unit = est.copy()
        unit[:, j] = 1.0

        def g_of(params):
            return self._ecx_point(xv, kind, params)

        span = np.where(np.isfinite(se_log) & (se_log > 0), se_log, 0.5)
        grid = np.linspace(-6.0, 6.0, n_grid)
        logv = np.log(point)[:, None] + grid[None, :] * span[:, None]  # (n, G)
        G = n_grid
        # constrained model: parameters = others; potency = v / g(others)
        fixed_idx = [k for k in other if not self.fit.free[k]]

        def cfunc(xx, *args):
            v = args[-1]
            full = [None] * len(names)
            for k, a in zip(other, args[:-1]):
                full[k] = a
            full[j] = np.ones_like(args[0])
            pp = np.stack(np.broadcast_arrays(*full), axis=-1)
            gv = g_of(pp)
            full[j] = v / gv
            return spec.func(xx, *full)

        cparams = tuple(spec.params[k] for k in other) + (Param("__ecx", unit="dose", bounds=(0, np.inf), transform="log"),)
        cspec = ModelSpec(name=spec.name + "|ecx", func=cfunc, params=cparams)
        X = np.repeat(P.x, G, axis=0)
        Y = np.repeat(P.y, G, axis=0)
        W = np.repeat(P.w, G, axis=0)
        Mk = np.repeat(P.mask, G, axis=0)
        p0 = np.concatenate([np.repeat(est[:, other], G, axis=0), np.exp(logv).reshape(-1, 1)], axis=1)
        fixed = {"__ecx": np.exp(logv).ravel()}
        for k in fixed_idx:
            fixed[names[k]] = np.repeat(est[:, k], G)
        with np.errstate(all="ignore"):
            bf = fit_curves(cspec, X, Y, Mk, W, fixed=fixed, p0=np.nan_to_num(p0, nan=1.0))
        rss = bf.rss.reshape(n, G)
        rss = np.where(bf.converged.reshape(n, G), rss, np.nan)
        rmin = self.fit.rss
        dof = self.fit.dof.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            fstat = (rss - rmin[:, None]) / (rmin / dof)[:, None]
            crit = stats.f.ppf(level, 1, dof)[:, None]
        lo = np.full(n, np.nan)
        hi = np.full(n, np.nan)
        mid = G // 2
        for i in range(n):
            if not np.isfinite(point[i]):
                continue
            s = fstat[i] - crit[i, 0]
            # lower: last crossing left of the minimum; upper: first crossing right
            for side, rng_ in (("lo", range(mid, 0, -1)), ("hi", range(mid, G - 1))):
                for a in rng_:
                    b = a - 1 if side == "lo" else a + 1
                    if np.isfinite(s[a]) and np.isfinite(s[b]) and s[a] <= 0 < s[b]:
                        t = s[a] / (s[a] - s[b])
                        val = np.exp(logv[i, a] + t * (logv[i, b] - logv[i, a]))
                        if side == "lo":
                            lo[i] = val
                        else:
                            hi[i] = val
                        break
        return lo, hi

    # ------------------------------------------------------------------ prediction
    @renamed_params(level="ci_level")
    @validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither"), None]})
    def predict(self, dose, interval: str | None = None, ci_level: float | None = None):
        """Predicted response at ``dose`` for every curve.

        Parameters
        ----------
        dose : array_like
            Doses (dose unit of the fit), 1-D.
        interval : {None, "confidence"}
            If ``"confidence"``, also return a delta-method confidence band.
        ci_level : float, optional
            Confidence level (default: the result's ``ci_level``).  (``level=`` is a
            deprecated alias.)

        Returns
        -------
        xarray.DataArray or xarray.Dataset
            Dims (curve, dose); a Dataset with ``estimate``, ``ci_low``, ``ci_high``
            when ``interval="confidence"`` (NaN where the covariance is not estimable,
            see ``curves.message``; parameters on a bound are treated as fixed there).
        """
        import xarray as xr

        d = np.atleast_1d(np.asarray(dose, dtype=float))
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise DataError("dose for predict must be finite and >= 0")
        est = self.fit.estimates
        cols = [est[:, j, None] for j in range(est.shape[1])]
        yhat = self.spec.func(d[None, :], *cols)
        coords = {"curve": np.arange(self.n_curves), "dose": d}
        for c in self.by:
            coords[c] = ("curve", self.keys[c].to_numpy())
        attrs = {"units": self.response_unit or "response unit", "dose_unit": self.dose_unit or "dose unit"}
        da = xr.DataArray(yhat, dims=("curve", "dose"), coords=coords, name=self.response, attrs=attrs)
        if interval is None:
            return da
        if interval != "confidence":
            raise DataError(f"interval must be None or 'confidence', got {interval!r}")
        level = self.ci_level if ci_level is None else float(ci_level)
        J = self._param_gradient(lambda p: self.spec.func(d[None, :], *[p[:, k, None] for k in range(p.shape[1])]))
        # on-bound parameters as fixed; a missing covariance gives a NaN band, not a zero-width one
        J = np.where(self.fit.bound_flags[:, None, :], 0.0, J)
        with np.errstate(invalid="ignore"):
            var = np.einsum("ndi,nij,ndj->nd", J, self._conditional_cov(), J)
        dof = self.fit.dof.astype(float)
        with np.errstate(invalid="ignore"):
            tq = stats.t.ppf(0.5 + level / 2, np.where(dof > 0, dof, np.nan))[:, None]
            se = np.sqrt(np.where(var >= 0, var, np.nan))
        return xr.Dataset({"estimate": da, "ci_low": da.copy(data=yhat - tq * se),
                           "ci_high": da.copy(data=yhat + tq * se)}, attrs={**attrs, "level": level})

    # ------------------------------------------------------------------ reporting
    def summary(self) -> str:
        """Plain-text summary: model, covariance estimator, parameter table, fit statistics."""
        lines = [
            f"comboplan dose-response fit: model {self.spec.name} ({self.spec.formula})",
            f"  {self.n_curves} curve(s); {int(self.fit.converged.sum())} converged; loss={self.fit.loss}",
            f"  standard errors: {COV_DESCRIPTIONS[self.fit.cov_method]}",
            f"  {int(self.ci_level * 100)} % CIs: Wald, t({'n-p'}) quantile"
            + ("; log scale for positive parameters" if self.ci_scale == "log" else ""),
            f"  dose unit: {self.dose_unit or 'unspecified'}; response unit: {self.response_unit or 'unspecified'}",
        ]
        if self.boxcox is not None:
            info = self.boxcox_info or {}
            how = ("estimated by profile likelihood"
                   + (f", {int(self.ci_level * 100)} % CI [{info['ci_low']:.3g}, {info['ci_high']:.3g}]"
                      if "ci_low" in info else "")
                   if info.get("method") == "estimate" else "fixed")
            lines.append(f"  Box-Cox transform-both-sides: lambda = {self.boxcox:.4g} ({how}); rss and sigma on the "
                         "transformed scale, loglik/AIC on the original responses")
        lines.append("")
        p = self.params
        with pd.option_context("display.width", 160, "display.max_columns", 20, "display.max_rows", 200):
            lines.append(p.drop(columns=["fixed"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            lines.append("")
            c = self.curves[[*self.by, "curve", "converged", "nobs", "rss", "sigma", "aic", "message"]]
            lines.append(c.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return f"<pre>{self.summary()}</pre>"

    def to_xarray(self):
        """The fit as an :class:`xarray.Dataset` (dims ``curve``, ``param``, ``param_j``).

        Variables: estimate, stderr, ci_low, ci_high, cov, fixed, converged, message,
        nobs, rss, sigma, loglik, aic, bic.  The by-columns are coordinates along
        ``curve``; units, model, covariance estimator and CI level are in ``attrs``.
        Round-trips through netCDF (``ds.to_netcdf(path)``; read with
        ``xarray.open_dataset``).
        """
        import xarray as xr

        se, lo, hi = self._param_ci()
        names = list(self.spec.param_names)
        cur = self.curves
        coords = {"curve": np.arange(self.n_curves), "param": names, "param_j": names}
        for c in self.by:
            v = self.keys[c].to_numpy()
            coords[c] = ("curve", v.astype(str) if v.dtype == object else v)
        ds = xr.Dataset(
            {
                "estimate": (("curve", "param"), self.fit.estimates),
                "stderr": (("curve", "param"), se),
                "ci_low": (("curve", "param"), lo),
                "ci_high": (("curve", "param"), hi),
                "cov": (("curve", "param", "param_j"), self.fit.cov),
                "fixed": (("param",), (~self.fit.free).astype(np.int8)),
                "converged": (("curve",), self.fit.converged.astype(np.int8)),
                "message": (("curve",), cur["message"].to_numpy().astype(str)),
                "nobs": (("curve",), self.fit.nobs.astype(np.int64)),
                "rss": (("curve",), self.fit.rss),
                "sigma": (("curve",), self.fit.sigma),
                "loglik": (("curve",), cur["loglik"].to_numpy()),
                "aic": (("curve",), cur["aic"].to_numpy()),
                "bic": (("curve",), cur["bic"].to_numpy()),
            },
            coords=coords,
        )
        ds["param_unit"] = (("param",), np.array(self._units(), dtype=str))
        by_param = units_by(names, self._units())
        ru = self.response_unit or "response"
        set_units(ds, {"estimate": by_param, "stderr": by_param, "ci_low": by_param, "ci_high": by_param,
                       "cov": "products of the param units: " + by_param, "fixed": "1", "converged": "1",
                       "message": "", "nobs": "1", "rss": f"({ru})^2", "sigma": ru, "loglik": "1", "aic": "1",
                       "bic": "1", "param_unit": ""})
        ds.attrs.update({
            "model": self.spec.name,
            "formula": self.spec.formula,
            "reference": self.spec.reference,
            "dose": self.dose,
            "response": self.response,
            "dose_unit": self.dose_unit or "",
            "response_unit": self.response_unit or "",
            "by": json.dumps(list(self.by)),
            "cov_method": self.fit.cov_method,
            "cov_description": COV_DESCRIPTIONS[self.fit.cov_method],
            "ci_level": self.ci_level,
            "ci_scale": self.ci_scale,
            "loss": self.fit.loss,
            "boxcox_lambda": np.nan if self.boxcox is None else float(self.boxcox),
            "producer": "comboplan",
        })
        return ds

    def to_netcdf(self, path) -> None:
        """Write the fit to netCDF (h5netcdf): :meth:`to_xarray` at the root, the full result in the
        ``comboplan`` group; read it back with :func:`comboplan.load_result`."""
        write_result(self, path)

    def plot(self, ax=None, curves=None, show_data: bool = True, band: bool = False, *, kind: str = "curves"):
        """Plot data and fitted curves; returns the matplotlib Axes (see :mod:`comboplan.plot.dose_response`).

        ``kind``: ``"curves"`` (the only one)."""
        from ..plot.dose_response import plot_dose_response

        check_kind(kind, ("curves",), "DoseResponseResult")

        return plot_dose_response(self, ax=ax, curves=curves, show_data=show_data, band=band)

    def compare(self, *others: "DoseResponseResult") -> pd.DataFrame:
        """Compare this fit with other fits of the same data (see :func:`compare`)."""
        return compare(self, *others)


# ---------------------------------------------------------------------- compare
def _same_fixed(fs: Mapping, fb: Mapping) -> bool:
    """Every parameter fixed in the richer fit is fixed, at the same value, in the smaller one."""
    return all(k in fs and np.isclose(float(fs[k]), float(v), rtol=1e-12, atol=0.0) for k, v in fb.items())


def _nested(small: ModelSpec, big: ModelSpec, fs: Mapping, fb: Mapping) -> bool:
    """Is the fit (small, fixed fs) a special case of the fit (big, fixed fb)?

    The same model: nested when the small fit fixes everything the big one fixes (at the same
    values) and more.  Different models (e.g. ``no_effect`` in ``hill4``): the model must be
    declared nested and every parameter the big fit fixes must be fixed at the same value in
    the small one; e.g. a constant with a free baseline is *not* nested in a Hill curve whose
    baseline is fixed at 100."""
    if small.name == big.name or small.func is big.func:
        return _same_fixed(fs, fb) and len(fs) > len(fb)
    return big.name in small.nested_in and _same_fixed(fs, fb)


@validate_params({"results": [DoseResponseResult]},
                 fixes={"results": "fit each model first: compare(fit_dose_response(df, ..., model='hill3'), "
                                   "fit_dose_response(df, ..., model='hill4'))"})
def compare(*results: DoseResponseResult) -> pd.DataFrame:
    """Compare fits of the same curves by AIC/BIC and, for nested pairs, F and LR tests.

    Parameters
    ----------
    *results : DoseResponseResult
        Two or more fits of the same data (same rows, same ``by`` grouping), e.g.
        ``no_effect`` vs ``hill4`` (a lack-of-effect test) or ``hill4`` vs ``hill5``.

    Returns
    -------
    pandas.DataFrame
        One row per (curve, model): npar, rss, loglik, aic, bic, delta_aic (to the
        best model of that curve), and for each model nested in the next richer one
        ``vs`` (the richer model), ``f_stat``, ``f_pvalue`` (extra-sum-of-squares F
        test) and ``lr_stat``, ``lr_pvalue`` (likelihood-ratio chi-square test).  Pairs that
        are not nested (a parameter fixed in the richer fit is free or differently fixed in the
        smaller one) get no test, and ``test_note`` says why.

    Raises
    ------
    InvalidParameterError
        An argument is not a :class:`DoseResponseResult` (e.g. a DataFrame), or fewer than two.
    DataError
        The fits were made on different data.
    """
    if len(results) < 2:
        raise invalid("compare", "results", "two or more fitted results", results,
                      "e.g. compare(res_hill3, res_hill4)")
    base = results[0]
    for r in results[1:]:
        same = (r.packed.x.shape == base.packed.x.shape
                and np.array_equal(r.packed.mask, base.packed.mask)
                and np.allclose(np.where(r.packed.mask, r.packed.y, 0), np.where(base.packed.mask, base.packed.y, 0)))
        if not same:
            raise DataError("compare: the fits were made on different data (rows, groups or responses differ); "
                            "refit every model on the same table with the same by= columns.")
        if r.boxcox != base.boxcox:
            raise DataError(f"compare: the fits use different Box-Cox transforms (boxcox={base.boxcox} and "
                            f"{r.boxcox}); their residual sums of squares are on different scales. Refit with the "
                            f"same boxcox= value.")
    frames = []
    for r in results:
        c = r.curves
        c["model"] = r.spec.name + (f" (fixed {dict(r.fixed)})" if r.fixed else "")
        frames.append(c)
    out = pd.concat(frames, ignore_index=True)
    out["delta_aic"] = out["aic"] - out.groupby("curve")["aic"].transform("min")
    order = sorted(range(len(results)), key=lambda i: results[i].fit.npar)
    out["vs"] = ""
    out["test_note"] = ""
    for col in ("f_stat", "f_pvalue", "lr_stat", "lr_pvalue"):
        out[col] = np.nan
    for a_i, b_i in zip(order[:-1], order[1:]):
        a, b = results[a_i], results[b_i]
        if not _nested(a.spec, b.spec, a.fixed, b.fixed) or a.fit.npar >= b.fit.npar:
            rows = np.arange(len(out))[a_i * a.n_curves:(a_i + 1) * a.n_curves]
            out.loc[rows, "test_note"] = (f"not nested in {b.spec.name}"
                                          + (f" with fixed {dict(b.fixed)}" if b.fixed else "")
                                          + ": no F or LR test (compare by AIC only)")
            continue
        dfn = b.fit.npar - a.fit.npar
        dfd = b.fit.dof.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            fstat = ((a.fit.rss - b.fit.rss) / dfn) / (b.fit.rss / dfd)
            fp = stats.f.sf(fstat, dfn, dfd)
            lr = 2 * (b.fit.loglik - a.fit.loglik)
            lp = stats.chi2.sf(lr, dfn)
        rows = np.arange(len(out))[a_i * a.n_curves:(a_i + 1) * a.n_curves]
        out.loc[rows, "vs"] = b.spec.name
        out.loc[rows, "f_stat"] = fstat
        out.loc[rows, "f_pvalue"] = fp
        out.loc[rows, "lr_stat"] = lr
        out.loc[rows, "lr_pvalue"] = lp
    return out


# ---------------------------------------------------------------------- main entry
def _flag_exact_fits(bf, packed) -> None:
    """Curves whose fit passes through every point (residual SD ~ 0 relative to the data):
    their Gauss-Newton standard errors (sigma^2 (J'J)^-1) are ~0 and meaningless, so the
    covariance is set to NaN and the message says why.  Typical cause: as many informative
    points as free parameters (e.g. two printed means and two free Hill parameters)."""
    y = np.where(packed.mask, packed.y, np.nan)
    with np.errstate(all="ignore"):
        scale = np.nanmax(np.abs(y), axis=1)
        sigma = np.sqrt(bf.rss / np.maximum(bf.nobs - bf.npar, 1))
    exact = bf.converged & np.isfinite(sigma) & (sigma <= 1e-8 * np.where(scale > 0, scale, 1.0))
    if not exact.any():
        return
    msg = np.asarray(bf.message).astype(object)
    for i in np.flatnonzero(exact):
        bf.cov[i] = np.nan
        msg[i] = str(msg[i]) + "; exact fit (residual SD ~ 0): standard errors and CIs are not estimable from these data"
    object.__setattr__(bf, "message", msg.astype(str))


# ---------------------------------------------------------------------- Box-Cox
#: grid of lambda profiled by ``boxcox="estimate"`` (then refined around the best grid point)
BOXCOX_GRID = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.1), 10)


def _bc(v, lam: float):
    """Box-Cox transform ``(v^lam - 1) / lam`` (``log v`` at ``lam = 0``); NaN for ``v <= 0``."""
    v = np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lv = np.log(np.where(v > 0, v, np.nan))
        return lv if lam == 0 else np.expm1(lam * lv) / lam


def _bc_inv(t, lam: float):
    """Inverse of :func:`_bc`."""
    t = np.asarray(t, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.exp(t) if lam == 0 else np.exp(np.log1p(lam * t) / lam)


def _boxcox_spec(spec: ModelSpec, lam: float) -> ModelSpec:
    """``spec`` with both sides transformed: the model ``bc(f(x; theta), lam)`` for responses ``bc(y, lam)``."""
    def func(x, *p):
        return _bc(spec.func(x, *p), lam)

    jac = None
    if spec.jacobian is not None:
        def jac(x, *p):
            f = np.asarray(spec.func(x, *p), dtype=float)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                scale = np.where(f > 0, np.exp((lam - 1.0) * np.log(np.where(f > 0, f, 1.0))), np.nan)
            return spec.jacobian(x, *p) * scale[..., None]

    def selfstart(x, y, mask):
        return spec.selfstart(x, _bc_inv(y, lam), mask)

    return dataclasses.replace(spec, name=f"{spec.name}|boxcox({lam:g})", func=func, jacobian=jac,
                               selfstart=selfstart, inverse=None, inverse_abs=None)


def _fit_boxcox(spec, packed, lam, start, engine_kw, engine):
    """One transform-both-sides fit at ``lam``; the BatchFit carries the original spec and a
    log-likelihood on the scale of the original responses (Jacobian term added)."""
    yt = np.where(packed.mask, _bc(np.where(packed.mask, packed.y, 1.0), lam), np.nan)
    bspec = _boxcox_spec(spec, lam)
    if engine == "batch":
        bf = fit_curves(bspec, packed.x, yt, packed.mask, packed.w, p0=start, multistart=True, min_dof=0,
                        **engine_kw)
    else:
        from .lmfit_engine import fit_curves_lmfit

        bf = fit_curves_lmfit(bspec, packed.x, yt, packed.mask, packed.w, p0=start, **engine_kw)
    _flag_exact_fits(bf, dataclasses.replace(packed, y=yt))
    with np.errstate(divide="ignore", invalid="ignore"):
        sly = np.sum(np.where(packed.mask, np.log(np.where(packed.mask, packed.y, 1.0)), 0.0), axis=1)
    slw = np.zeros(bf.n_curves) if bf.sum_log_w is None else np.asarray(bf.sum_log_w, dtype=float)
    # loglik = -n/2 (log 2 pi + log(rss/n) + 1) + sum_log_w / 2: the Box-Cox Jacobian
    # (lam - 1) sum(log y) enters as 2 (lam - 1) sum(log y) in sum_log_w
    return dataclasses.replace(bf, spec=spec, sum_log_w=slw + 2.0 * (lam - 1.0) * sly)


def _estimate_boxcox(spec, packed, start, engine_kw, engine, ci_level):
    """Profile lambda: the grid BOXCOX_GRID, then a bounded scalar search around its best point."""
    from scipy.optimize import minimize_scalar

    def total(lam):
        ll = _fit_boxcox(spec, packed, float(lam), start, engine_kw, engine).loglik
        return float(np.sum(ll)) if np.all(np.isfinite(ll)) else -np.inf

    prof = np.array([total(lam) for lam in BOXCOX_GRID])
    if not np.any(np.isfinite(prof)):
        raise FitError("boxcox='estimate': no value of lambda on the grid -2..2 gave a fit of every curve; "
                       "fix lambda (e.g. boxcox=0) or check the data")
    k = int(np.nanargmax(np.where(np.isfinite(prof), prof, -np.inf)))
    lo_k, hi_k = BOXCOX_GRID[max(k - 1, 0)], BOXCOX_GRID[min(k + 1, BOXCOX_GRID.size - 1)]
    opt = minimize_scalar(lambda v: -total(v), bounds=(lo_k, hi_k), method="bounded", options={"xatol": 1e-3})
    lam = float(opt.x) if np.isfinite(opt.fun) and -opt.fun >= prof[k] else float(BOXCOX_GRID[k])
    llmax = max(prof[k], -float(opt.fun) if np.isfinite(opt.fun) else -np.inf)
    inside = BOXCOX_GRID[np.isfinite(prof) & (2.0 * (llmax - prof) <= stats.chi2.ppf(ci_level, 1))]
    info = {"method": "estimate", "grid": BOXCOX_GRID.copy(), "profile_loglik": prof,
            "ci_low": float(inside.min()) if inside.size else float("nan"),
            "ci_high": float(inside.max()) if inside.size else float("nan"),
            "on_grid_edge": bool(k in (0, BOXCOX_GRID.size - 1))}
    return lam, info


#: column names of the result tables; a ``by`` column of the same name would be duplicated
_RESERVED = ("curve", "param", "estimate", "stderr", "ci_low", "ci_high", "unit", "fixed", "on_bound", "model",
             "converged", "message", "nobs", "npar", "rss", "sigma", "loglik", "aic", "bic", "niter", "x", "kind",
             "ci_method", "status", "extrapolated")


@validate_params({
    "loss": [StrOptions(set(LOSSES))],
    "errors": [StrOptions({"warn", "raise"})],
    "cov": [StrOptions(set(COV_METHODS))],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "ci_scale": [StrOptions({"log", "natural"})],
    "f_scale": [Interval(Real, 0, None, closed="neither"), None],
    "progress": ["boolean"],
    "engine": [StrOptions({"batch", "lmfit"})],
    "boxcox": [Interval(Real, -5, 5, closed="both"), StrOptions({"estimate"}), None],
}, fixes={"boxcox": "e.g. None (no transform), 0 (log both sides), 0.5 or 'estimate'"})
def fit_dose_response(
    data: pd.DataFrame,
    dose: str,
    response: str,
    *,
    by=None,
    model="hill4",
    weights: str | None = None,
    loss: str = "linear",
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    errors: str = "warn",
    dose_unit: str | None = None,
    response_unit: str | None = None,
    cov: str = "gauss-newton",
    ci_level: float = 0.95,
    ci_scale: str = "log",
    f_scale: float | None = None,
    p0: Mapping[str, float] | None = None,
    progress: bool = False,
    engine: str = "batch",
    boxcox: float | str | None = None,
) -> DoseResponseResult:
    """Fit a dose-response model to one or many curves of a tidy table.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per observation (well).  Not modified.
    dose : str
        Column with doses / concentrations (>= 0, natural scale; unit ``dose_unit``).
        Untreated controls are rows with dose 0.
    response : str
        Column with responses (viability, inhibition, signal...; unit ``response_unit``).
    by : str or list of str, optional
        Columns identifying separate curves (agent, cell line, plate...).
    model : str or ModelSpec
        ``"hill4"`` (default), ``"hill3"`` (einf fixed, default 0), ``"hill5"``,
        drc's ``"LL.4"``, ``"LL.3"``, ``"LL.5"``, ``"W1.4"``, ``"W2.4"``, the
        logistic-in-dose ``"L.4"`` and ``"L.5"`` (``e`` in dose unit, ``b`` in 1/dose
        unit), or ``"no_effect"`` (constant, for lack-of-effect tests).
    weights : str, optional
        Column of observation weights (inverse relative variances, > 0).
    loss : {"linear", "soft_l1", "huber", "cauchy"}
        Least squares or a robust loss (scipy.optimize.least_squares definitions;
        residual scale ``f_scale`` defaults to each curve's OLS residual SE).
    fixed : dict, optional
        Parameters held fixed, e.g. ``{"e0": 100}``; merged over the model's own
        (``hill3`` fixes ``einf=0``).
    bounds : dict, optional
        ``{param: (low, high)}`` on the natural scale.
    errors : {"warn", "raise"}
        What to do when curves fail to converge: ``"warn"`` returns them as NaN
        rows with ``converged=False`` and their reason and emits one
        :class:`ConvergenceWarning` counting them; ``"raise"`` raises
        :class:`FitError` listing them.
    dose_unit, response_unit : str, optional
        Units recorded in the result (never converted).
    cov : {"gauss-newton", "hessian", "sandwich"}
        Covariance estimator for standard errors.  ``"gauss-newton"``
        (``s^2 (J'WJ)^-1``, as nls/lmfit/curve_fit) by default; ``"hessian"``
        reproduces R drc's ``vcov``/``summary`` standard errors.
    ci_level : float
        Confidence level of reported intervals (default 0.95).
    ci_scale : {"log", "natural"}
        Scale of Wald intervals for positive (log-fitted) parameters.
    f_scale : float, optional
        Residual scale for robust losses (response unit).
    p0 : dict, optional
        Starting values ``{param: value}`` replacing the self-start.
    progress : bool
        Show a progress bar for large batches.
    engine : {"batch", "lmfit"}
        ``"batch"``: the vectorised engine, with its fall-backs for hard curves
        (multi-start, scipy/MINPACK solves, following a flat valley of the RSS; see
        :func:`comboplan.fitting.batch.fit_chunk` and docs/models.md): parameters that run
        along a valley get NaN standard errors and the message says so; ``"lmfit"``: one
        lmfit minimisation per curve (reference implementation, slower).
    boxcox : None, float or "estimate"
        Transform-both-sides Box-Cox (Carroll & Ruppert 1984; drc's ``boxcox``): fit
        ``(y^lam - 1) / lam`` against ``(f(x)^lam - 1) / lam`` (``log y`` against
        ``log f(x)`` at ``lam = 0``), which keeps the parameters' meaning on the response
        scale while stabilising the variance.  ``None`` (default): no transform; a number
        in [-5, 5]: that lambda; ``"estimate"``: lambda maximising the profile
        log-likelihood ``sum over curves of [-n/2 log(RSS_lam / n) + (lam - 1) sum log y]``
        over the grid -2, -1.9, ..., 2 (one lambda for all curves), refined around its best
        point; the profile is :attr:`DoseResponseResult.boxcox_profile`.  Responses must be
        > 0.  lambda is ``result.boxcox`` and in ``summary()``; ``rss`` and ``sigma`` are on
        the transformed scale, ``loglik``/AIC on the original responses.  ECx intervals
        with a Box-Cox fit: ``ci="delta"`` only.

    Returns
    -------
    DoseResponseResult

    Raises
    ------
    InvalidParameterError
        An option outside its allowed values (``ci_level=95``, ``loss="l1"``), or a ``by``
        column named like a column of the result tables (``"curve"``, ``"param"``, ...).
    DataError
        Malformed data (missing columns, negative doses, responses <= 0 with ``boxcox``, ...).
    FitError
        ``boxcox="estimate"`` and no lambda on the grid fits every curve.
    """
    require_frame(data)
    spec = get_model(model)
    by_l = as_list(by)
    check_fit_columns("fit_dose_response", data, dose, response, by, weights, _RESERVED)
    for name in list((fixed or {})) + list((bounds or {})) + list((p0 or {})):
        if name not in spec.param_names:
            raise DataError(f"model {spec.name!r} has no parameter {name!r}; its parameters are {spec.param_names}")
    for what, mapping in (("fixed", fixed), ("p0", p0)):
        for name, v in (mapping or {}).items():
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                arr = np.array(np.nan)
            if arr.size == 0 or not np.all(np.isfinite(arr)):
                raise DataError(f"{what}[{name!r}] must be a finite number, got {v!r}; "
                                f"give {name!r} a numeric value (or leave it out of {what}= to estimate it)")
    for name, b in (bounds or {}).items():
        try:
            lo_b, hi_b = (float(b[0]), float(b[1]))
        except (TypeError, ValueError, IndexError):
            raise DataError(f"bounds[{name!r}] must be a pair (low, high), got {b!r}") from None
        if np.isnan(lo_b) or np.isnan(hi_b) or not lo_b < hi_b:
            raise DataError(f"bounds[{name!r}] must satisfy low < high with no NaN, got {b!r}; "
                            f"use -inf / inf for an open side")
    check_groups_nonempty(data, by_l)
    x = check_dose_column(data, dose)
    y = check_response_column(data, response)
    w = check_weights_column(data, weights) if weights is not None else None
    if boxcox is not None:
        yv = np.asarray(y, dtype=float)
        bad = np.flatnonzero(np.isfinite(yv) & (yv <= 0))
        if bad.size:
            raise DataError(f"boxcox needs responses > 0; column {response!r} has {bad.size} value(s) <= 0 "
                            f"(first at row {int(bad[0])}). Use boxcox=None, or shift the responses by a stated "
                            f"constant first.")
    packed = pack_groups(data, x, y, by_l, w)
    del x, y, w     # the packed arrays hold them now: not kept alive through the fit
    allfixed = {**spec.fixed_defaults, **(fixed or {})}
    n = packed.x.shape[0]
    start = None
    if p0:
        with np.errstate(all="ignore"):
            start = spec.selfstart(np.where(packed.mask, packed.x, np.nan), np.where(packed.mask, packed.y, np.nan),
                                   packed.mask)
        for k, v in p0.items():
            start[:, spec.param_names.index(k)] = v
    bc_lam, bc_info = None, {}
    if boxcox is not None:
        if start is None:
            with np.errstate(all="ignore"):
                start = spec.selfstart(np.where(packed.mask, packed.x, np.nan),
                                       np.where(packed.mask, packed.y, np.nan), packed.mask)
        kw = dict(fixed=fixed, bounds=bounds, loss=loss, f_scale=f_scale, cov=cov)
        if engine == "batch":
            kw["progress"] = progress
        if boxcox == "estimate":
            bc_lam, bc_info = _estimate_boxcox(spec, packed, start, kw, engine, ci_level)
        else:
            bc_lam, bc_info = float(boxcox), {"method": "fixed"}
        bf = _fit_boxcox(spec, packed, bc_lam, start, kw, engine)
    elif engine == "batch":
        bf = fit_curves(spec, packed.x, packed.y, packed.mask, packed.w, fixed=fixed, p0=start, bounds=bounds,
                        loss=loss, f_scale=f_scale, cov=cov, progress=progress, multistart=True,
                        min_dof=0)
    else:
        from .lmfit_engine import fit_curves_lmfit

        bf = fit_curves_lmfit(spec, packed.x, packed.y, packed.mask, packed.w, fixed=fixed, p0=start,
                              bounds=bounds, loss=loss, f_scale=f_scale, cov=cov)
    if boxcox is None:
        _flag_exact_fits(bf, packed)
    res = DoseResponseResult(spec=spec, fit=bf, keys=packed.keys, by=tuple(by_l), dose=dose, response=response,
                             dose_unit=dose_unit, response_unit=response_unit, ci_level=ci_level, ci_scale=ci_scale,
                             packed=packed, fixed=dict(allfixed), bounds=bounds, boxcox=bc_lam, boxcox_info=bc_info)
    failed = ~bf.converged
    if np.any(failed):
        report_failed_curves(res.curves.loc[failed], [*by_l, "curve"], n, errors)
    return res


def report_failed_curves(failed: pd.DataFrame, cols: Sequence[str], n_curves: int, errors: str, *,
                         fmt=_fmt_label, what: str = "did not converge") -> None:
    """Raise or warn once about the curves of a batch fit that failed.

    The message names the first five failed curves by ``cols`` with their reason, and how
    many more there are.

    Parameters
    ----------
    failed : pandas.DataFrame
        One row per failed curve: the columns ``cols`` and ``message``.
    cols : sequence of str
        Columns naming a curve in the message.
    n_curves : int
        Number of curves in the fit.
    errors : {"raise", "warn"}
        Raise a :class:`~comboplan.exceptions.FitError`, or warn with a
        :class:`~comboplan.exceptions.ConvergenceWarning` (at the caller of the fit function).
    fmt : callable, optional
        Formats a label value (default: as in the fit's tables).
    what : str, optional
        What happened to the curves, after "curve(s)".

    Raises
    ------
    FitError
        ``errors="raise"``.
    """
    n_failed = len(failed)
    desc = "; ".join(", ".join(f"{c}={fmt(row[c])}" for c in cols) + f": {row['message']}"
                     for _, row in failed.head(5).iterrows())
    more = f" (and {n_failed - 5} more)" if n_failed > 5 else ""
    text = f"{n_failed} of {n_curves} curve(s) {what}: {desc}{more}"
    if errors == "raise":
        raise FitError(text + ". Pass errors='warn' to get them as NaN rows instead.")
    warnings.warn(text + ". They are NaN rows with converged=False.", ConvergenceWarning, stacklevel=3)
