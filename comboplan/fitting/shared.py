r"""Several dose-response curves fitted jointly with parameters shared across curves.

The analogue of R drc's multi-curve models (``drm(y ~ dose, curveid, pmodels = ...)``,
Ritz et al. 2015): every curve follows the same model; parameters named in ``shared``
take one value common to all curves (drc's ``~ 1``), the others one value per curve
(``~ curveid``), and the residual variance is pooled.  The classic case is the
parallel-line assay: common slope and asymptotes, curve-specific EC50, so that the
potency ratio of two curves is the same at every response level.

The fit minimises the (weighted) residual sum of squares of all curves at once,

.. math:: \mathrm{RSS}(\theta) = \sum_{i}\sum_{k} w_{ik}\,
          \bigl(y_{ik} - f(x_{ik}; \theta_\mathrm{shared}, \theta_i)\bigr)^2,

by MINPACK Levenberg-Marquardt (:func:`scipy.optimize.least_squares`) on the joint
parameter vector, with parameters declared ``transform="log"`` (EC50, Hill slope)
optimised on the log scale.  Starts come from the separate fits of the batch engine
(shared parameters at the median of the separate estimates; for drc's families also
with every curve in one orientation of the slope, ``(b, c, d) -> (-b, d, c)``) and the
best optimum is kept.  The covariance is Gauss-Newton, :math:`s^2 (J^\top W J)^{-1}`
with :math:`s^2 = \mathrm{RSS}/(n - p)` on the pooled residual degrees of freedom (as R
``nls``), or ``s^2 (H/2)^{-1}`` with the Hessian of the RSS (as drc's ``vcov``).

Comparisons between curves use the joint covariance (the delta method): ratios and
differences of ECx (drc ``EDcomp``), relative potency, ratios and differences of a
curve-specific parameter (drc ``compParm``), and the F and likelihood-ratio tests of
the shared-parameter model against separate curves (drc ``anova(m_shared, m_separate)``).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg, optimize, stats

from .._params import Integral, Interval, Real, StrOptions, invalid, renamed_params, validate_params
from ..data.validate import (
    as_list,
    check_dose_column,
    check_groups_nonempty,
    check_response_column,
    check_weights_column,
    require_frame,
)
from ..exceptions import ConvergenceWarning, DataError, ExtrapolationWarning, FitError
from ..models.dose_response import ecx_absolute, ecx_relative, get_model
from ..models.spec import ModelSpec, numeric_jacobian, unit_of
from ..results import ResultIO, check_kind, load_result, write_result
from .batch import fit_curves
from .dose_response import check_fit_columns
from .packing import pack_groups

__all__ = ["fit_dose_response_shared", "SharedDoseResponseResult", "SHARED_COV_METHODS"]

SHARED_COV_METHODS = {
    "gauss-newton": "s^2 (J'WJ)^-1 on the joint parameter vector, s^2 = RSS/(n - p) pooled over curves (as R nls)",
    "hessian": "s^2 (H/2)^-1 with H the Hessian of the joint RSS (as R drc's vcov)",
}
_REFERENCE = ("Ritz, Baty, Streibig & Gerhard (2015) PLoS ONE 10:e0146021 (drc: drm with pmodels, EDcomp, "
              "compParm, anova); Finney (1978) Statistical Method in Biological Assay (parallel-line assays)")


# =========================================================================== result
@dataclass(frozen=True)
class SharedDoseResponseResult(ResultIO):
    """Immutable result of :func:`fit_dose_response_shared`.

    Tables: :attr:`params` (one row per curve and parameter; ``shared`` marks the
    common ones), :attr:`curves` (per-curve observations and RSS), :attr:`fit_table`
    (the joint fit), :meth:`vcov` (joint covariance).  Comparisons: :meth:`ecx`,
    :meth:`compare_ecx` (drc ``EDcomp``), :meth:`relative_potency`,
    :meth:`compare_params` (drc ``compParm``), :meth:`test_shared` (F / LR test against
    separate curves).  Also :meth:`predict`, :meth:`summary`, :meth:`to_xarray`,
    :meth:`to_netcdf` (read back with :func:`comboplan.load_result`), :meth:`plot`.
    Arrays are returned as copies.
    """

    spec: ModelSpec
    keys: pd.DataFrame
    by: tuple[str, ...]
    dose: str
    response: str
    dose_unit: str | None
    response_unit: str | None
    shared: tuple[str, ...]
    fixed: Mapping = field(repr=False)
    est: np.ndarray = field(repr=False)            # (n_curves, p) natural scale
    joint_cov: np.ndarray = field(repr=False)      # (P, P) over the free vector, natural scale
    index: np.ndarray = field(repr=False)          # (n_curves, p): position in the free vector, -1 fixed
    labels: tuple[str, ...] = field(repr=False)    # names of the free vector's entries
    rss: float = np.nan
    nobs: int = 0
    npar: int = 0
    sum_log_w: float = 0.0
    converged: bool = False
    message: str = ""
    x: np.ndarray = field(default=None, repr=False)     # packed (n_curves, m)
    y: np.ndarray = field(default=None, repr=False)
    w: np.ndarray = field(default=None, repr=False)
    mask: np.ndarray = field(default=None, repr=False)
    separate: Mapping = field(default_factory=dict, repr=False)
    ci_level: float = 0.95
    cov_method: str = "gauss-newton"

    # ------------------------------------------------------------------ basics
    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return self.est.shape[0]

    @property
    def estimates(self) -> np.ndarray:
        """Estimates, shape (n_curves, n_params), natural scale (copy; shared columns repeat)."""
        return self.est.copy()

    @property
    def dof(self) -> int:
        """Residual degrees of freedom of the joint fit, ``nobs - npar``."""
        return int(self.nobs - self.npar)

    @property
    def sigma(self) -> float:
        """Pooled residual standard error ``sqrt(RSS / dof)`` (response unit)."""
        return float(np.sqrt(self.rss / self.dof)) if self.dof > 0 else np.nan

    @property
    def loglik(self) -> float:
        """Gaussian log-likelihood at the ML variance ``RSS / nobs`` (one variance for all curves)."""
        n = float(self.nobs)
        return float(-0.5 * n * (np.log(2 * np.pi) + np.log(self.rss / n) + 1.0) + 0.5 * self.sum_log_w)

    def vcov(self) -> pd.DataFrame:
        """Joint covariance of the estimated parameters (natural scale), labelled.

        Returns
        -------
        pandas.DataFrame
            Square, rows and columns named ``param`` for shared parameters and
            ``param[curve label]`` for curve-specific ones (units: products of the
            parameters' units).
        """
        return pd.DataFrame(self.joint_cov.copy(), index=list(self.labels), columns=list(self.labels))

    @property
    def cov(self) -> np.ndarray:
        """Per-curve covariance of that curve's parameters, shape (n_curves, p, p) (fixed: 0)."""
        n, p = self.est.shape
        out = np.zeros((n, p, p))
        for i in range(n):
            j = self.index[i]
            f = j >= 0
            out[i][np.ix_(f, f)] = self.joint_cov[np.ix_(j[f], j[f])]
        return out

    def _units(self) -> list[str]:
        return [unit_of(p, self.dose_unit, self.response_unit) for p in self.spec.params]

    def _curve_label(self, i: int) -> str:
        if not self.by:
            return f"curve {i}"
        return ", ".join(f"{c}={self.keys[c].iloc[i]}" for c in self.by)

    def _tq(self, level):
        return float(stats.t.ppf(0.5 + level / 2, self.dof)) if self.dof > 0 else np.nan

    def _with_keys(self, df: pd.DataFrame, col: str = "curve") -> pd.DataFrame:
        if not self.by:
            return df
        k = self.keys.iloc[df[col].to_numpy()].reset_index(drop=True)
        return pd.concat([k, df.reset_index(drop=True)], axis=1)

    @property
    def params(self) -> pd.DataFrame:
        """Tidy parameter table: by-columns, curve, param, estimate, stderr, ci_low, ci_high, unit, shared, fixed.

        Wald intervals with a t quantile on the pooled residual degrees of freedom, on the
        natural scale (as drc's ``confint``).  Shared parameters appear on every curve's
        rows with the same estimate and ``shared=True``; ``stderr`` is NaN, never 0, where
        the covariance is not estimable and for fixed parameters.
        """
        n, p = self.est.shape
        se = np.sqrt(np.where(self.index >= 0, np.diagonal(self.cov, axis1=1, axis2=2), np.nan))
        tq = self._tq(self.ci_level)
        names = self.spec.param_names
        df = pd.DataFrame({
            "curve": np.repeat(np.arange(n), p),
            "param": np.tile(names, n),
            "estimate": self.est.ravel(),
            "stderr": se.ravel(),
            "ci_low": (self.est - tq * se).ravel(),
            "ci_high": (self.est + tq * se).ravel(),
            "unit": np.tile(self._units(), n),
            "shared": np.tile([nm in self.shared for nm in names], n),
            "fixed": np.tile([nm in self.fixed for nm in names], n),
        })
        out = self._with_keys(df)
        out.attrs.update({"ci_level": self.ci_level, "cov_method": SHARED_COV_METHODS[self.cov_method]})
        return out

    @property
    def curves(self) -> pd.DataFrame:
        """One row per curve: by-columns, curve, nobs, rss (that curve's share of the joint RSS)."""
        res = np.where(self.mask, self.w * (self.y - self._fitted()) ** 2, 0.0)
        df = pd.DataFrame({"curve": np.arange(self.n_curves), "nobs": self.mask.sum(axis=1),
                           "rss": res.sum(axis=1)})
        return self._with_keys(df)

    @property
    def fit_table(self) -> pd.DataFrame:
        """The joint fit in one row: model, shared, converged, message, nobs, npar, df, rss, sigma, loglik, aic, bic."""
        k = self.npar + 1
        return pd.DataFrame([{
            "model": self.spec.name, "shared": ", ".join(self.shared), "converged": self.converged,
            "message": self.message, "n_curves": self.n_curves, "nobs": self.nobs, "npar": self.npar,
            "df": self.dof, "rss": self.rss, "sigma": self.sigma, "loglik": self.loglik,
            "aic": -2 * self.loglik + 2 * k, "bic": -2 * self.loglik + np.log(self.nobs) * k}])

    def _fitted(self, dose=None):
        x = self.x if dose is None else np.broadcast_to(np.asarray(dose, dtype=float)[None, :],
                                                           (self.n_curves, len(dose)))
        with np.errstate(all="ignore"):
            return self.spec.func(np.where(self.mask, x, 1.0) if dose is None else x,
                                  *[self.est[:, j, None] for j in range(self.est.shape[1])])

    # ------------------------------------------------------------------ ECx and its gradient
    def _ecx_and_grad(self, x: float, kind: str):
        """ECx per curve and d ECx / d(free vector), shape (n_curves,), (n_curves, P)."""
        f = (lambda p: ecx_relative(self.spec, x, p)) if kind == "relative" else (
            lambda p: ecx_absolute(self.spec, x, p))
        est = self.est
        val = np.asarray(f(est), dtype=float)
        P = self.joint_cov.shape[0]
        G = np.zeros((self.n_curves, P))
        with np.errstate(all="ignore"):
            for j in range(est.shape[1]):
                if np.all(self.index[:, j] < 0):
                    continue
                hstep = 1e-6 * np.maximum(np.abs(est[:, j]), 1e-4)
                up = est.copy()
                dn = est.copy()
                up[:, j] += hstep
                dn[:, j] -= hstep
                d = (np.asarray(f(up), dtype=float) - np.asarray(f(dn), dtype=float)) / (2 * hstep)
                for i in range(self.n_curves):
                    if self.index[i, j] >= 0:
                        G[i, self.index[i, j]] += d[i]
        return val, G

    def _check_ecx_args(self, x, kind, ci_scale, func="SharedDoseResponseResult.ecx"):
        if self.spec.inverse is None:
            raise DataError(f"model {self.spec.name!r} has no dose effect, so it has no ECx")
        if kind not in ("relative", "absolute"):
            raise invalid(func, "kind", "'relative' or 'absolute'", kind)
        if ci_scale not in ("log", "natural"):
            raise invalid(func, "ci_scale", "'log' or 'natural'", ci_scale)
        try:
            xs = np.atleast_1d(np.asarray(x, dtype=float))
        except (TypeError, ValueError):
            raise invalid(func, "x", "a number or numbers", x, "e.g. 50") from None
        if xs.size == 0 or not np.all(np.isfinite(xs)):
            raise invalid(func, "x", "finite number(s)", x, "e.g. 50")
        if kind == "relative" and np.any((xs <= 0) | (xs >= 100)):
            raise invalid(func, "x", "strictly between 0 and 100 (percent of the full effect) for kind='relative'",
                          x, "e.g. 50; for a response level pass kind='absolute'")
        return xs

    def _level(self, level, func):
        if level is None:
            return self.ci_level
        try:
            lv = float(level)
        except (TypeError, ValueError):
            lv = np.nan
        if not 0 < lv < 1:
            raise invalid(func, "ci_level", "a number in (0, 1)", level)
        return lv

    def _tested_range(self):
        xp = np.where(self.mask & (self.x > 0), self.x, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(xp, axis=1), np.nanmax(xp, axis=1)

    @renamed_params(level="ci_level")
    def ecx(self, x: float | Sequence[float] = 50, *, kind: str = "relative", ci_scale: str = "log",
            ci_level: float | None = None, extrapolate: bool = False) -> pd.DataFrame:
        """Effective doses of every curve with delta-method intervals from the joint covariance.

        Parameters
        ----------
        x : float or sequence of float
            ``kind="relative"``: percent of each curve's full effect, in (0, 100);
            ``kind="absolute"``: response level(s) (response unit).
        kind : {"relative", "absolute"}
        ci_scale : {"log", "natural"}
            ``"log"`` (default): interval ``ECx * exp(+-t se(log ECx))``, positive and
            unit-invariant; ``"natural"``: ``ECx +- t se(ECx)`` as drc's ``ED(...,
            interval="delta")``.
        ci_level : float, optional
            Confidence level (default the result's ``ci_level``; ``level=`` is a deprecated alias).
        extrapolate : bool
            If False (default), an ECx outside the tested dose range of its curve is NaN
            with ``status`` saying so (as :meth:`DoseResponseResult.ecx`); if True it is
            reported and flagged.  Either way an :class:`ExtrapolationWarning` is emitted.

        Returns
        -------
        pandas.DataFrame
            by-columns, curve, x, kind, estimate, stderr (natural scale), ci_low, ci_high,
            unit (dose unit), ci_scale, status (``"ok"``, ``"above/below tested range"``,
            ``"response level never reached"``), extrapolated.
        """
        xs = self._check_ecx_args(x, kind, ci_scale)
        level = self._level(ci_level, "SharedDoseResponseResult.ecx")
        tq = self._tq(level)
        lo_d, hi_d = self._tested_range()
        rows = []
        n_extrap = 0
        for xv in xs:
            val, G = self._ecx_and_grad(float(xv), kind)
            with np.errstate(invalid="ignore"):
                se = np.sqrt(np.einsum("ni,ij,nj->n", G, self.joint_cov, G))
                if ci_scale == "log":
                    lo, hi = val * np.exp(-tq * se / val), val * np.exp(tq * se / val)
                else:
                    lo, hi = val - tq * se, val + tq * se
            status = np.full(self.n_curves, "ok", dtype=object)
            status[~np.isfinite(val)] = "response level never reached by the fitted curve"
            above = np.isfinite(val) & (val > hi_d)
            below = np.isfinite(val) & (val < lo_d)
            status[above] = "above tested range"
            status[below] = "below tested range"
            n_extrap += int((above | below).sum())
            if not extrapolate:
                val, se, lo, hi = (np.where(above | below, np.nan, v) for v in (val, se, lo, hi))
            rows.append(pd.DataFrame({"curve": np.arange(self.n_curves), "x": float(xv), "kind": kind,
                                      "estimate": val, "stderr": se, "ci_low": lo, "ci_high": hi,
                                      "unit": self.dose_unit or "dose unit", "ci_scale": ci_scale,
                                      "status": status, "extrapolated": above | below}))
        if n_extrap:
            warnings.warn(f"{n_extrap} ECx value(s) lie outside the tested dose range; " + (
                "reported but flagged (extrapolated=True)." if extrapolate else
                "reported as NaN with the reason in 'status' (pass extrapolate=True to see the model value)."),
                ExtrapolationWarning, stacklevel=2)
        return self._with_keys(pd.concat(rows, ignore_index=True))

    def _pairs(self, pairs, reference):
        n = self.n_curves
        if pairs is not None and reference is not None:
            raise invalid("SharedDoseResponseResult.compare_ecx", "pairs", "None when reference= is given",
                          pairs, "give pairs= or reference=, not both")
        if reference is not None:
            r = self._curve_index(reference)
            return [(i, r) for i in range(n) if i != r]
        if pairs is None:
            return list(combinations(range(n), 2))
        return [(self._curve_index(a), self._curve_index(b)) for a, b in pairs]

    def _curve_index(self, c) -> int:
        """A curve given by its index or by its ``by`` value(s)."""
        if isinstance(c, (int, np.integer)) and not self.by:
            if not 0 <= int(c) < self.n_curves:
                raise invalid("SharedDoseResponseResult", "curve", f"an index in [0, {self.n_curves})", c)
            return int(c)
        vals = c if isinstance(c, tuple) else (c,)
        if self.by and len(vals) == len(self.by):
            hit = np.ones(self.n_curves, dtype=bool)
            for col, v in zip(self.by, vals):
                hit &= (self.keys[col].astype(str) == str(v)).to_numpy()
            if hit.sum() == 1:
                return int(np.flatnonzero(hit)[0])
        if isinstance(c, (int, np.integer)) and 0 <= int(c) < self.n_curves:
            return int(c)
        raise invalid("SharedDoseResponseResult", "curve", "one of the fitted curves", c, "curves are " + "; ".join(self._curve_label(i) for i in range(self.n_curves))
                        + " (give the by-value, a tuple of by-values, or the curve index)")

    def _comparison_table(self, pairs, est, grads, null, what, kind, level, ci_scale, extra):
        tq = self._tq(level)
        rows = []
        for (i, j), e, g in zip(pairs, est, grads):
            with np.errstate(invalid="ignore", divide="ignore"):
                se = float(np.sqrt(g @ self.joint_cov @ g))
                tstat = (e - null) / se
                p = 2 * stats.t.sf(abs(tstat), self.dof) if self.dof > 0 else np.nan
                if ci_scale == "log" and kind == "ratio":
                    lo, hi = e * np.exp(-tq * se / e), e * np.exp(tq * se / e)
                else:
                    lo, hi = e - tq * se, e + tq * se
            rows.append({"curve_1": self._curve_label(i), "curve_2": self._curve_label(j), "what": what,
                         "comparison": kind, "estimate": e, "stderr": se, "ci_low": lo, "ci_high": hi,
                         "null": null, "t_stat": tstat, "df": self.dof, "p_value": p, **extra})
        out = pd.DataFrame(rows)
        out.attrs.update({"ci_level": level, "ci_scale": ci_scale,
                          "test": "two-sided t test on the pooled residual df (delta-method SE, natural scale)"})
        return out

    @renamed_params(level="ci_level")
    def compare_ecx(self, x: float = 50, *, kind: str = "ratio", pairs=None, reference=None,
                    ecx_kind: str = "relative", ci_scale: str = "natural",
                    ci_level: float | None = None) -> pd.DataFrame:
        """Ratios or differences of ECx between curves with delta-method intervals (drc ``EDcomp``).

        Parameters
        ----------
        x : float
            Effect level: percent of the full effect (``ecx_kind="relative"``) or response
            level (``"absolute"``).
        kind : {"ratio", "difference"}
            ``ECx(curve_1) / ECx(curve_2)`` (dimensionless; H0: 1) or
            ``ECx(curve_1) - ECx(curve_2)`` (dose unit; H0: 0).
        pairs : sequence of (curve, curve), optional
            Curves by ``by`` value (or tuple of values, or index; a ``by`` value wins
            over an index that looks the same).  Default: all pairs.
        reference : curve, optional
            Compare every other curve with this one (``curve_2`` = reference).
        ecx_kind : {"relative", "absolute"}
        ci_scale : {"natural", "log"}
            ``"natural"`` (default, as drc's ``EDcomp(..., interval = "delta")``):
            ``estimate +- t se``; ``"log"`` (ratios only): ``ratio * exp(+-t se/ratio)``.
        ci_level : float, optional
            Confidence level (default the result's ``ci_level``; ``level=`` is a deprecated alias).

        Returns
        -------
        pandas.DataFrame
            curve_1, curve_2, what (``"EC50"``...), comparison, estimate, stderr, ci_low,
            ci_high, null, t_stat, df, p_value (two-sided t test on the pooled residual
            df), unit, extrapolated (an ECx outside its curve's tested dose range; an
            :class:`ExtrapolationWarning` says so).  The gradient includes the shared parameters, which cancel from a
            ratio exactly when only the potency differs between the curves.
        """
        f = "SharedDoseResponseResult.compare_ecx"
        if kind not in ("ratio", "difference"):
            raise invalid(f, "kind", "'ratio' or 'difference'", kind)
        if np.ndim(x) != 0:
            raise invalid(f, "x", "one number", x, "e.g. 50")
        self._check_ecx_args(x, ecx_kind, ci_scale, f)
        level = self._level(ci_level, f)
        pairs = self._pairs(pairs, reference)
        val, G = self._ecx_and_grad(float(x), ecx_kind)
        lo_d, hi_d = self._tested_range()
        outside = np.isfinite(val) & ((val > hi_d) | (val < lo_d))
        est, grads = [], []
        for i, j in pairs:
            if kind == "ratio":
                e = val[i] / val[j]
                est.append(e)
                grads.append(G[i] / val[j] - val[i] * G[j] / val[j] ** 2)
            else:
                est.append(val[i] - val[j])
                grads.append(G[i] - G[j])
        what = f"EC{float(x):g}" if ecx_kind == "relative" else f"dose at response {float(x):g}"
        unit = "1" if kind == "ratio" else (self.dose_unit or "dose unit")
        out = self._comparison_table(pairs, est, grads, 1.0 if kind == "ratio" else 0.0, what, kind, level,
                                     ci_scale, {"unit": unit})
        out["extrapolated"] = [bool(outside[i] or outside[j]) for i, j in pairs]
        if out["extrapolated"].any():
            warnings.warn(f"{int(out['extrapolated'].sum())} comparison(s) use an {what} outside the tested dose "
                          "range of its curve (flagged in 'extrapolated'); the values are model extrapolations.",
                          ExtrapolationWarning, stacklevel=2)
        return out

    @renamed_params(level="ci_level")
    def relative_potency(self, reference, x: float = 50, *, ci_scale: str = "log",
                         ci_level: float | None = None) -> pd.DataFrame:
        """Potency of every curve relative to a reference curve: ``ECx(reference) / ECx(curve)``.

        > 1: the curve needs less dose than the reference for the same relative effect
        (more potent).  In a parallel model (everything shared except the potency
        parameter) it is the same at every ``x``; otherwise it depends on ``x``.

        Parameters
        ----------
        reference : curve
            Reference curve (``by`` value, tuple of values, or index).
        x : float
            Percent of the full effect, in (0, 100).
        ci_scale : {"log", "natural"}
            Interval on the log scale (default; positive) or natural scale.
        ci_level : float, optional
            Confidence level (default the result's ``ci_level``; ``level=`` is a deprecated alias).

        Returns
        -------
        pandas.DataFrame
            As :meth:`compare_ecx` with ``curve_1`` = the reference and ``curve_2`` each
            other curve, plus ``parallel`` (True when only the potency differs between
            curves, so the ratio does not depend on ``x``).
        """
        r = self._curve_index(reference)
        pairs = [(r, i) for i in range(self.n_curves) if i != r]
        out = self.compare_ecx(x, kind="ratio", pairs=pairs, ci_scale=ci_scale, ci_level=ci_level)
        out["comparison"] = "relative potency"
        j = _potency_param(self.spec)
        others = [nm for k, nm in enumerate(self.spec.param_names) if k != j]
        out["parallel"] = all(nm in self.shared or nm in self.fixed for nm in others)
        return out

    @renamed_params(level="ci_level")
    def compare_params(self, param: str, *, operator: str = "/", pairs=None, reference=None,
                       ci_level: float | None = None) -> pd.DataFrame:
        """Ratios or differences of one curve-specific parameter between curves (drc ``compParm``).

        Parameters
        ----------
        param : str
            A parameter estimated per curve (not shared, not fixed).
        operator : {"/", "-"}
            Ratio (H0: 1) or difference (H0: 0).
        pairs, reference : optional
            As in :meth:`compare_ecx`.
        ci_level : float, optional
            Confidence level (default the result's ``ci_level``; ``level=`` is a deprecated alias).

        Returns
        -------
        pandas.DataFrame
            As :meth:`compare_ecx`: estimate, stderr, natural-scale interval, t_stat,
            p_value, unit.
        """
        f = "SharedDoseResponseResult.compare_params"
        if param not in self.spec.param_names:
            raise invalid(f, "param", f"a parameter of model {self.spec.name!r} {self.spec.param_names}", param)
        if param in self.shared or param in self.fixed:
            raise invalid(f, "param", "a parameter estimated per curve (this one is "
                          f"{'shared' if param in self.shared else 'fixed'}, so it does not differ between curves)",
                          param)
        if operator not in ("/", "-"):
            raise invalid(f, "operator", "'/' or '-'", operator)
        level = self._level(ci_level, f)
        j = self.spec.param_names.index(param)
        v = self.est[:, j]
        P = self.joint_cov.shape[0]
        pairs = self._pairs(pairs, reference)
        est, grads = [], []
        for a, b in pairs:
            g = np.zeros(P)
            if operator == "/":
                est.append(v[a] / v[b])
                g[self.index[a, j]] += 1.0 / v[b]
                g[self.index[b, j]] -= v[a] / v[b] ** 2
            else:
                est.append(v[a] - v[b])
                g[self.index[a, j]] += 1.0
                g[self.index[b, j]] -= 1.0
            grads.append(g)
        unit = "1" if operator == "/" else unit_of(self.spec.param(param), self.dose_unit, self.response_unit)
        return self._comparison_table(pairs, est, grads, 1.0 if operator == "/" else 0.0, param,
                                      "ratio" if operator == "/" else "difference", level, "natural",
                                      {"unit": unit})

    def test_shared(self) -> pd.DataFrame:
        """F and likelihood-ratio tests of the shared-parameter model against separate curves.

        The separate model fits every curve with all its free parameters (the fixed ones
        stay fixed) and one pooled variance; its RSS is the sum of the separate fits'.
        ``F = ((RSS_shared - RSS_sep) / (p_sep - p_shared)) / (RSS_sep / (n - p_sep))``
        (extra sum of squares, as drc's ``anova`` and R's ``anova.nls``);
        ``LR = n log(RSS_shared / RSS_sep)`` against chi-square on ``p_sep - p_shared``.

        Returns
        -------
        pandas.DataFrame
            Two rows (``model``: "shared", "separate"): npar, df (residual), rss, loglik,
            aic; on the shared row ``f_stat``, ``f_df1``, ``f_df2``, ``f_pvalue``,
            ``lr_stat``, ``lr_pvalue``, and ``note`` (why a test is missing).
        """
        s = self.separate
        n = float(self.nobs)
        ps, pf = self.npar, int(s.get("npar", 0))
        rs, rf = self.rss, float(s.get("rss", np.nan))
        ll_f = -0.5 * n * (np.log(2 * np.pi) + np.log(rf / n) + 1.0) + 0.5 * self.sum_log_w
        df1, df2 = pf - ps, self.nobs - pf
        note = str(s.get("note", ""))
        with np.errstate(invalid="ignore", divide="ignore"):
            f = ((rs - rf) / df1) / (rf / df2) if df1 > 0 and df2 > 0 else np.nan
            fp = stats.f.sf(f, df1, df2) if np.isfinite(f) else np.nan
            lr = n * np.log(rs / rf) if df1 > 0 else np.nan
            lp = stats.chi2.sf(lr, df1) if np.isfinite(lr) else np.nan
        if df1 <= 0 and not note:
            note = "no parameter is shared: nothing to test"
        out = pd.DataFrame([
            {"model": "shared", "shared": ", ".join(self.shared), "npar": ps, "df": self.nobs - ps, "rss": rs,
             "loglik": self.loglik, "aic": -2 * self.loglik + 2 * (ps + 1), "f_stat": f, "f_df1": df1,
             "f_df2": df2, "f_pvalue": fp, "lr_stat": lr, "lr_pvalue": lp, "note": note},
            {"model": "separate", "shared": "", "npar": pf, "df": self.nobs - pf, "rss": rf, "loglik": ll_f,
             "aic": -2 * ll_f + 2 * (pf + 1), "f_stat": np.nan, "f_df1": np.nan, "f_df2": np.nan,
             "f_pvalue": np.nan, "lr_stat": np.nan, "lr_pvalue": np.nan, "note": ""}])
        out.attrs["hypothesis"] = (f"H0: {', '.join(self.shared)} equal across the {self.n_curves} curves "
                                   "(small p: the curves differ in these parameters)")
        return out

    # ------------------------------------------------------------------ prediction, output
    def predict(self, dose) -> "object":
        """Fitted response of every curve at ``dose``.

        Parameters
        ----------
        dose : array_like
            Doses (dose unit of the fit), 1-D, >= 0.

        Returns
        -------
        xarray.DataArray
            Dims (curve, dose), response unit in ``attrs["units"]``.
        """
        import xarray as xr

        d = np.atleast_1d(np.asarray(dose, dtype=float))
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise invalid("SharedDoseResponseResult.predict", "dose", "finite and >= 0", dose)
        return xr.DataArray(self._fitted(d), dims=("curve", "dose"),
                            coords={"curve": np.arange(self.n_curves), "dose": d},
                            attrs={"units": self.response_unit or "response unit"})

    def summary(self) -> str:
        """Plain-text summary: the model, shared parameters, estimates and the test against separate curves."""
        t = self.test_shared().iloc[0]
        lines = [f"{self.spec.name} fitted jointly to {self.n_curves} curves ({self.nobs} observations); "
                 f"shared: {', '.join(self.shared) or 'none'}; fixed: {dict(self.fixed) or 'none'}.",
                 f"converged: {self.converged} ({self.message}); RSS {self.rss:.6g}, pooled residual SE "
                 f"{self.sigma:.4g} on {self.dof} df; covariance: {SHARED_COV_METHODS[self.cov_method]}."]
        p = self.params
        first = np.repeat(np.arange(self.n_curves), len(self.spec.param_names)) == 0
        p = p[~(p["shared"].to_numpy() & ~first)]
        cols = [*self.by, "param", "estimate", "stderr", "ci_low", "ci_high", "unit"]
        lines.append(p[cols].to_string(index=False))
        if np.isfinite(t["f_pvalue"]):
            lines.append(f"Shared vs separate curves: F = {t['f_stat']:.4g} on ({int(t['f_df1'])}, "
                         f"{int(t['f_df2'])}) df, p = {t['f_pvalue']:.4g}; LR = {t['lr_stat']:.4g}, "
                         f"p = {t['lr_pvalue']:.4g}.")
        elif t["note"]:
            lines.append(f"Shared vs separate curves: {t['note']}.")
        return "\n".join(lines)

    def to_xarray(self):
        """The fit as an :class:`xarray.Dataset`.

        Variables ``estimate``/``stderr`` (curve, param), ``cov`` (curve, param_i,
        param_j), ``joint_cov`` (free_i, free_j), the data (``dose_obs``, ``response_obs``,
        ``weight_obs``, ``mask_obs`` over (curve, obs)), ``shared``/``fixed`` flags; attrs
        with the model, units (``units`` per variable in its attrs), the shared parameters
        and the test against separate curves.
        """
        import xarray as xr

        names = list(self.spec.param_names)
        coords = {"curve": np.arange(self.n_curves), "param": names, "free_i": list(self.labels),
                  "free_j": list(self.labels)}
        for c in self.by:
            coords[c] = ("curve", self.keys[c].to_numpy())
        se = np.sqrt(np.where(self.index >= 0, np.diagonal(self.cov, axis1=1, axis2=2), np.nan))
        ds = xr.Dataset({
            "estimate": (("curve", "param"), self.est),
            "stderr": (("curve", "param"), se),
            "cov": (("curve", "param_i", "param_j"), self.cov),
            "joint_cov": (("free_i", "free_j"), self.joint_cov),
            "index": (("curve", "param"), self.index),
            "shared": (("param",), np.array([n in self.shared for n in names])),
            "fixed": (("param",), np.array([n in self.fixed for n in names])),
            "dose_obs": (("curve", "obs"), self.x),
            "response_obs": (("curve", "obs"), self.y),
            "weight_obs": (("curve", "obs"), self.w),
            "mask_obs": (("curve", "obs"), self.mask),
        }, coords=coords)
        ds["param_unit"] = (("param",), np.array(self._units(), dtype=str))
        per_param = "; ".join(f"{k}: {u}" for k, u in zip(names, self._units()))
        for v, u in (("estimate", per_param), ("stderr", per_param),
                     ("cov", "product of the two parameters' units (" + per_param + ")"),
                     ("joint_cov", "product of the two parameters' units (" + per_param + ")"),
                     ("index", "1"), ("shared", "1"), ("fixed", "1"), ("param_unit", "1"),
                     ("dose_obs", self.dose_unit or "dose unit"),
                     ("response_obs", self.response_unit or "response unit"),
                     ("weight_obs", "1"), ("mask_obs", "1")):
            ds[v].attrs["units"] = u
        ds.attrs.update({
            "result": "SharedDoseResponseResult", "producer": "comboplan", "model": self.spec.name,
            "reference": _REFERENCE, "shared": json.dumps(list(self.shared)),
            "fixed": json.dumps({k: float(v) for k, v in self.fixed.items()}), "by": json.dumps(list(self.by)),
            "dose": self.dose, "response": self.response, "dose_unit": self.dose_unit or "",
            "response_unit": self.response_unit or "", "rss": self.rss, "nobs": self.nobs, "npar": self.npar,
            "sum_log_w": self.sum_log_w, "converged": int(self.converged), "message": self.message,
            "ci_level": self.ci_level, "cov_method": self.cov_method,
            "separate": json.dumps({k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else str(v))
                                    for k, v in self.separate.items()})})
        return ds

    def to_netcdf(self, path) -> None:
        """Write the result to netCDF-4 (h5netcdf): :meth:`to_xarray` at the root, every field in the
        ``comboplan`` group; read it back with :func:`comboplan.load_result` (or :func:`load_shared_fit`).

        Parameters
        ----------
        path : str or path-like
        """
        write_result(self, path)

    def plot(self, *, kind: str = "curves", ax=None, n_points: int = 200):
        """Observations and the jointly fitted curves on a log dose axis.

        Parameters
        ----------
        kind : {"curves"}
            The only kind.
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (a new figure if None).
        n_points : int
            Points per fitted curve.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot._common import new_axes

        check_kind(kind, ("curves",), "SharedDoseResponseResult")
        if ax is None:
            ax = new_axes(None, figsize=(5.5, 4))
        pos = self.x[self.mask & (self.x > 0)]
        lo, hi = (pos.min(), pos.max()) if pos.size else (1e-3, 1.0)
        zero_at = lo / 10.0
        grid = np.geomspace(lo / 3.0, hi * 3.0, n_points)
        fit = self._fitted(grid)
        for i in range(self.n_curves):
            c = f"C{i % 10}"
            xi, yi = self.x[i, self.mask[i]], self.y[i, self.mask[i]]
            ax.scatter(np.where(xi > 0, xi, zero_at), yi, s=14, color=c, alpha=0.7)
            ax.plot(grid, fit[i], color=c, label=self._curve_label(i))
        ax.set_xscale("log")
        ax.set_xlabel(f"{self.dose} ({self.dose_unit or 'dose unit'})")
        ax.set_ylabel(f"{self.response} ({self.response_unit or 'response unit'})")
        ax.set_title(f"{self.spec.name}, shared: {', '.join(self.shared) or 'none'}")
        ax.legend(fontsize=7, frameon=False)
        return ax


def _potency_param(spec: ModelSpec):
    for j, p in enumerate(spec.params):
        if p.unit == "dose" and p.transform == "log":
            return j
    return None


def load_shared_fit(path) -> SharedDoseResponseResult:
    """Read a :class:`SharedDoseResponseResult` written by its ``to_netcdf`` (same as :func:`comboplan.load_result`).

    Parameters
    ----------
    path : str or path-like
        netCDF file.

    Returns
    -------
    SharedDoseResponseResult
        Equal to the saved result (tables, comparisons and tests recomputed from the stored
        estimates, covariance and data).

    Raises
    ------
    DataError
        The file does not hold a :class:`SharedDoseResponseResult`.
    """
    res = load_result(path)
    if not isinstance(res, SharedDoseResponseResult):
        raise DataError(f"{path} holds a {type(res).__name__}, not a SharedDoseResponseResult; use "
                        "comboplan.load_result")
    return res


# =========================================================================== fitting
def _layout(spec, n, shared, fixed_names):
    """Position of every (curve, param) in the free vector (-1: fixed) and the labels."""
    names = spec.param_names
    p = len(names)
    index = np.full((n, p), -1, dtype=np.int64)
    k = 0
    for j, nm in enumerate(names):
        if nm in shared and nm not in fixed_names:
            index[:, j] = k
            k += 1
    for i in range(n):
        for j, nm in enumerate(names):
            if nm not in shared and nm not in fixed_names:
                index[i, j] = k
                k += 1
    return index, k


def _joint_solver(spec, X, Y, W, M, index, P, fixed_vals, islog):
    """Residual and Jacobian functions of the joint problem on the optimiser scale."""
    n, p = index.shape
    sw = np.sqrt(np.where(M, W, 0.0))
    Xs = np.where(M, X, 1.0)
    rows = [np.flatnonzero(M[i]) for i in range(n)]
    obs_start = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    Nobs = int(obs_start[-1])
    free = index >= 0
    # log-scale flag of each free entry (a shared entry has one flag: its parameter's)
    ent_log = np.zeros(P, dtype=bool)
    for i in range(n):
        ent_log[index[i, free[i]]] = islog[free[i]]

    def nat(theta):
        th = np.asarray(theta, dtype=float)
        vals = np.where(ent_log, np.exp(np.where(ent_log, th, 0.0)), th)
        Pn = fixed_vals.copy()
        Pn[free] = vals[index[free]]
        return Pn

    def cols(Pn):
        return [Pn[:, j, None] for j in range(p)]

    def resid(theta):
        Pn = nat(theta)
        with np.errstate(all="ignore"):
            f = spec.func(Xs, *cols(Pn))
        r = sw * (Y - f)
        out = r[M]
        return np.where(np.isfinite(out), out, 1e150)

    def jac_nat(Pn):
        with np.errstate(all="ignore"):
            if spec.jacobian is not None:
                Jn = spec.jacobian(Xs, *cols(Pn))
            else:
                Jn = numeric_jacobian(spec.func, Xs, cols(Pn))
        Jn = np.broadcast_to(Jn, (n, X.shape[1], p))
        J = np.zeros((Nobs, P))
        for i in range(n):
            r = rows[i]
            blk = -(sw[i, r][:, None] * Jn[i, r, :])        # d resid / d natural parameter
            for j in np.flatnonzero(free[i]):
                J[obs_start[i]:obs_start[i + 1], index[i, j]] += blk[:, j]
        return J

    def jac(theta):
        Pn = nat(theta)
        J = jac_nat(Pn)
        th = np.asarray(theta, dtype=float)
        scale = np.where(ent_log, np.exp(np.where(ent_log, th, 0.0)), 1.0)
        J = J * scale[None, :]
        return np.where(np.isfinite(J), J, 0.0)

    return nat, resid, jac, jac_nat, ent_log, Nobs


def _theta_from(Pn, index, ent_log, P):
    th = np.zeros(P)
    cnt = np.zeros(P)
    n, p = index.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n):
            for j in range(p):
                k = index[i, j]
                if k >= 0:
                    v = Pn[i, j]
                    th[k] += np.log(v) if ent_log[k] else v
                    cnt[k] += 1
    return th / np.maximum(cnt, 1)


def _orient(spec, Pn, X, M):
    """Per-curve alternative representation (drc's ``(b, c, d) -> (-b, d, c)``) where it is the same curve."""
    if spec.alt_starts is None:
        return None
    alt = spec.alt_starts(Pn)[0]
    with np.errstate(all="ignore"):
        f0 = spec.func(np.where(M, X, 1.0), *[Pn[:, j, None] for j in range(Pn.shape[1])])
        f1 = spec.func(np.where(M, X, 1.0), *[alt[:, j, None] for j in range(alt.shape[1])])
    scale = np.nanmax(np.abs(np.where(M, f0, np.nan)), axis=1) + 1e-300
    same = np.nanmax(np.abs(np.where(M, f1 - f0, 0.0)), axis=1) <= 1e-9 * scale
    return alt, same


def _canonical(spec, Pn, X, M, index, fixed_vals):
    """drc's orientation of the log-logistic families: lower limit ``c`` below upper limit ``d``.

    ``(b, c, d, e)`` and ``(-b, d, c, e)`` are the same LL.4 curve; the joint optimum is
    reported with ``c < d`` (as drc names them) when the swap keeps shared parameters
    common and fixed ones at their values, so that ratios and differences of ``b`` read as
    in drc.
    """
    names = spec.param_names
    if spec.alt_starts is None or "c" not in names or "d" not in names:
        return Pn
    jc, jd = names.index("c"), names.index("d")
    if not np.nanmedian(Pn[:, jc]) > np.nanmedian(Pn[:, jd]):
        return Pn
    o = _orient(spec, Pn, X, M)
    if o is None or not o[1].all():
        return Pn
    alt = o[0]
    shared_cols = np.all(index == index[:1], axis=0) & (index[0] >= 0)
    ok = np.all(np.isclose(alt[:, shared_cols], alt[:1, shared_cols], rtol=1e-12, atol=0.0))
    fx = np.isfinite(fixed_vals)
    ok &= bool(np.all(alt[fx] == fixed_vals[fx]))
    return alt if ok else Pn


def _starts(spec, sep_est, sep_ok, selfstart, index, ent_log, P, shared_js, X, M):
    """Candidate joint starts (optimiser scale) from the separate fits."""
    base = np.where(sep_ok[:, None] & np.isfinite(sep_est), sep_est, selfstart)
    cands = []
    reps = [base]
    o = _orient(spec, base, X, M)
    if o is not None:
        alt, same = o
        for sgn in (1.0, -1.0):
            pick = same & (np.sign(base[:, 0]) != sgn)
            if pick.any():
                reps.append(np.where(pick[:, None], alt, base))
    for Pn in reps:
        th = np.zeros(P)
        per = _theta_from(Pn, index, ent_log, P)
        th[:] = per
        # shared entries: median over the curves whose separate fits converged (optimiser scale)
        for j in shared_js:
            k = index[0, j]
            if k < 0:
                continue
            v = Pn[:, j] if not ent_log[k] else np.log(np.maximum(Pn[:, j], 1e-300))
            use = sep_ok & np.isfinite(v)
            th[k] = np.median(v[use]) if use.any() else np.median(v[np.isfinite(v)])
        if np.all(np.isfinite(th)) and not any(np.allclose(th, c) for c in cands):
            cands.append(th)
    return cands


def _cov_joint(resid_nat, J, rss, dof, method, jac_nat_fn, Pn_hat, nat_of_vec, vec_hat):
    """Joint covariance on the natural scale ((P, P)), NaN if singular."""
    P = J.shape[1]
    nan = np.full((P, P), np.nan)
    if dof <= 0 or not np.isfinite(rss):
        return nan, "no residual degrees of freedom"
    s2 = rss / dof
    if method == "gauss-newton":
        A = J.T @ J
    else:
        # Hessian of RSS(nat) by central differences of its analytic gradient 2 J' r
        H = np.zeros((P, P))
        for k in range(P):
            h = 1e-5 * max(abs(vec_hat[k]), 1e-3)
            g = []
            for s in (+1, -1):
                v = vec_hat.copy()
                v[k] += s * h
                r, Jk = resid_nat(v)
                g.append(2 * Jk.T @ r)
            H[:, k] = (g[0] - g[1]) / (2 * h)
        A = 0.5 * (H + H.T) / 2.0
    try:
        c = linalg.inv(A, check_finite=True)
        cond = np.linalg.cond(A)
    except (linalg.LinAlgError, ValueError):
        return nan, "singular information matrix (parameters not identifiable from these data)"
    if not np.isfinite(cond) or cond > 1e14:
        return nan, "singular information matrix (parameters not identifiable from these data)"
    return s2 * c, ""


#: column names of the result tables; a ``by`` column of the same name would be duplicated
_RESERVED = ("curve", "param", "estimate", "stderr", "ci_low", "ci_high", "unit", "shared", "fixed", "nobs", "rss",
             "x", "kind", "ci_scale", "status", "extrapolated")


@validate_params({
    "shared": [str, "array-like"],
    "cov": [StrOptions(set(SHARED_COV_METHODS))],
    "errors": [StrOptions({"warn", "raise"})],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "max_nfev": [Interval(Integral, 1, None)],
}, fixes={"shared": "e.g. ['h', 'e0', 'einf'] for hill4 or ['b', 'c', 'd'] for LL.4"})
def fit_dose_response_shared(
    data: pd.DataFrame,
    *,
    dose: str,
    response: str,
    by,
    model="hill4",
    shared: Sequence[str] = ("h",),
    fixed: Mapping[str, float] | None = None,
    weights: str | None = None,
    p0: Mapping[str, float] | None = None,
    dose_unit: str | None = None,
    response_unit: str | None = None,
    cov: str = "gauss-newton",
    ci_level: float = 0.95,
    errors: str = "warn",
    max_nfev: int = 2000,
) -> SharedDoseResponseResult:
    """Fit several dose-response curves jointly, with some parameters shared (drc ``pmodels``).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per observation (not modified).
    dose : str
        Dose column (>= 0, natural scale, unit ``dose_unit``); untreated controls are
        dose 0.
    response : str
        Response column (unit ``response_unit``).
    by : str or list of str
        Columns identifying the curves (drc's ``curveid``); at least two curves.
    model : str or ModelSpec
        Any model of :func:`comboplan.fit_dose_response` (``"hill4"``, ``"LL.4"``,
        ``"LL.3"``, ``"W1.4"``...).
    shared : sequence of str
        Parameters common to all curves (drc ``~ 1``); the others free are per curve
        (``~ curveid``).  E.g. ``["h", "e0", "einf"]`` for hill4 or ``["b", "c", "d"]``
        for LL.4: a parallel-line assay, only the EC50 differs; ``["c", "d"]``: common
        limits, per-curve slope and EC50.
    fixed : dict, optional
        Parameters held fixed for every curve, e.g. ``{"e0": 100}``; merged over the
        model's own (``LL.3`` fixes ``c = 0``).
    weights : str, optional
        Column of observation weights (inverse relative variances, > 0).
    p0 : dict, optional
        Starting values ``{param: value}`` for every curve, replacing the separate fits'
        estimates (shared ones too).
    dose_unit, response_unit : str, optional
        Units recorded in the result (never converted).
    cov : {"gauss-newton", "hessian"}
        Covariance estimator (see :data:`SHARED_COV_METHODS`): Gauss-Newton as R ``nls``
        (default) or the RSS Hessian as drc's ``vcov``.
    ci_level : float
        Confidence level of reported intervals, in (0, 1).
    errors : {"warn", "raise"}
        If the joint fit does not converge: return it with ``converged=False`` and a
        :class:`ConvergenceWarning`, or raise :class:`FitError`.
    max_nfev : int
        Maximum number of residual evaluations of the joint optimiser.

    Returns
    -------
    SharedDoseResponseResult
        Estimates with joint covariance; ``ecx``, ``compare_ecx`` (drc ``EDcomp``),
        ``relative_potency``, ``compare_params`` (drc ``compParm``), ``test_shared``
        (F / LR against separate curves), ``summary``, ``to_xarray``, ``plot``.

    Raises
    ------
    InvalidParameterError
        An option outside its allowed values: ``cov``, ``errors``, ``ci_level``; unknown
        parameter names in ``shared``/``fixed``/``p0``; a parameter both shared and fixed;
        a ``by`` column named like a result column (``curve``, ``param``...).
    DataError
        Missing columns, bad doses or responses, fewer than two curves, more free
        parameters than observations.
    FitError
        With ``errors="raise"``, when the joint fit does not converge.
    """
    require_frame(data)
    spec = get_model(model)
    by_l = as_list(by)
    if not by_l:
        raise invalid("fit_dose_response_shared", "by", "the column(s) that identify the curves", by,
                      "e.g. by='agent'")
    check_fit_columns("fit_dose_response_shared", data, dose, response, by, weights, _RESERVED)
    shared = tuple(dict.fromkeys([shared] if isinstance(shared, str) else list(shared)))
    names = spec.param_names
    allfixed = {**spec.fixed_defaults, **(fixed or {})}
    for what, seq in (("shared", shared), ("fixed", list(fixed or {})), ("p0", list(p0 or {}))):
        bad = [s for s in seq if s not in names]
        if bad:
            raise invalid("fit_dose_response_shared", what, f"parameter names of model {spec.name!r} {names}", bad)
    both = [s for s in shared if s in allfixed]
    if both:
        raise invalid("fit_dose_response_shared", "shared", "free of fixed parameters (a fixed parameter is "
                      f"already common to all curves; fixed here: {allfixed})", both)
    for what, mapping in (("fixed", fixed), ("p0", p0)):
        for nm, v in (mapping or {}).items():
            try:
                ok = np.isfinite(float(v))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise invalid("fit_dose_response_shared", f"{what}[{nm!r}]", "a finite number", v)
    check_groups_nonempty(data, by_l)
    x = check_dose_column(data, dose)
    y = check_response_column(data, response)
    w = check_weights_column(data, weights) if weights is not None else None
    packed = pack_groups(data, x, y, by_l, w)
    X, Y, M = packed.x, packed.y, packed.mask
    W = np.where(M, packed.w if w is not None else 1.0, np.nan)
    n = X.shape[0]
    if n < 2:
        raise DataError(f"fit_dose_response_shared needs at least two curves; by={by_l} gives {n}. "
                        "Use fit_dose_response for one curve.")
    index, P = _layout(spec, n, shared, set(allfixed))
    nobs = int(M.sum())
    if nobs <= P:
        raise DataError(f"{nobs} observations for {P} free parameters: the joint fit needs more observations "
                        "than parameters; share more parameters or fix some")
    islog = np.array([p.transform == "log" for p in spec.params])
    fixed_vals = np.full((n, len(names)), np.nan)
    for nm, v in allfixed.items():
        fixed_vals[:, names.index(nm)] = float(v)
    # ---- separate fits: starts, and the richer model of the F test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sep = fit_curves(spec, X, Y, M, np.where(M, W, 1.0), fixed=fixed, multistart=True, min_dof=0)
        with np.errstate(all="ignore"):
            ss = spec.selfstart(np.where(M, X, np.nan), np.where(M, Y, np.nan), M)
    ss = np.where(np.isfinite(fixed_vals), fixed_vals, ss)
    nat, resid, jac, jac_nat, ent_log, _ = _joint_solver(spec, X, Y, W, M, index, P, fixed_vals, islog)
    shared_js = [names.index(s) for s in shared]
    if p0:
        start = np.where(sep.converged[:, None], sep.estimates, ss)
        for k, v in p0.items():
            start[:, names.index(k)] = float(v)
        cands = [_theta_from(start, index, ent_log, P)]
    else:
        cands = _starts(spec, sep.estimates, sep.converged, ss, index, ent_log, P, shared_js, X, M)
    best = None
    for th0 in cands:
        try:
            with np.errstate(all="ignore"):
                r = optimize.least_squares(resid, th0, jac=jac, method="lm", xtol=1e-12, ftol=1e-12, gtol=1e-12,
                                           max_nfev=max_nfev)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if best is None or (np.isfinite(r.cost) and r.cost < best.cost):
            best = r
    if best is None:
        raise FitError("the joint fit could not be started (non-finite model values at every start); "
                       "pass p0= with plausible values")
    theta = best.x
    Pn = _canonical(spec, nat(theta), X, M, index, fixed_vals)
    theta = _theta_from(Pn, index, ent_log, P)
    rvec = resid(theta)
    rss = float(rvec @ rvec)
    converged = bool(best.status > 0 and np.isfinite(rss) and rss < 1e299)
    message = ("converged: " + str(best.message)) if converged else ("did not converge: " + str(best.message))
    # joint covariance on the natural scale
    vec_hat = np.zeros(P)
    for i in range(n):
        f_ = index[i] >= 0
        vec_hat[index[i, f_]] = Pn[i, f_]

    def nat_of_vec(v):
        Q = fixed_vals.copy()
        Q[index >= 0] = v[index[index >= 0]]
        return Q

    def resid_nat(v):
        Q = nat_of_vec(v)
        with np.errstate(all="ignore"):
            f = spec.func(np.where(M, X, 1.0), *[Q[:, j, None] for j in range(len(names))])
        return (np.sqrt(np.where(M, W, 0.0)) * (Y - f))[M], jac_nat(Q)

    Jn = jac_nat(Pn)
    V, why = _cov_joint(resid_nat, Jn, rss, nobs - P, cov, jac_nat, Pn, nat_of_vec, vec_hat)
    if why:
        message += f"; {why}: standard errors are NaN"
    # separate model (the F test's alternative): per-curve minimum over the batch fits and
    # refits started at the joint solution (the separate model contains the joint one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sep2 = fit_curves(spec, X, Y, M, np.where(M, W, 1.0), fixed=fixed, p0=Pn, min_dof=0)
    rss_sep = np.fmin(np.where(sep.converged, sep.rss, np.nan), np.where(sep2.converged, sep2.rss, np.nan))
    sep_ok = np.isfinite(rss_sep)
    npar_sep = int(n * int((~np.isin(names, list(allfixed))).sum()))
    note = "" if sep_ok.all() else (f"{int((~sep_ok).sum())} separate curve fit(s) did not converge: no test "
                                    "against separate curves")
    separate = {"rss": float(rss_sep.sum()) if sep_ok.all() else np.nan, "npar": npar_sep, "note": note}
    labels = []
    for k in range(P):
        i, j = np.argwhere(index == k)[0]
        nm = names[j]
        lab = nm if nm in shared else f"{nm}[{', '.join(str(packed.keys[c].iloc[i]) for c in by_l)}]"
        labels.append(lab)
    slw = float(np.sum(np.log(np.where(M, W, 1.0))))
    res = SharedDoseResponseResult(
        spec=spec, keys=packed.keys.reset_index(drop=True), by=tuple(by_l), dose=dose, response=response,
        dose_unit=dose_unit, response_unit=response_unit, shared=shared,
        fixed={k: float(v) for k, v in allfixed.items()}, est=Pn, joint_cov=V, index=index, labels=tuple(labels),
        rss=rss, nobs=nobs, npar=P, sum_log_w=slw, converged=converged, message=message, x=X, y=Y,
        w=np.where(M, W, np.nan), mask=M, separate=separate, ci_level=ci_level, cov_method=cov)
    if not converged:
        text = f"the joint fit of {n} curves ({spec.name}, shared {list(shared)}) did not converge: {best.message}"
        if errors == "raise":
            raise FitError(text)
        warnings.warn(text, ConvergenceWarning, stacklevel=2)
    return res
