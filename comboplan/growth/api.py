r"""Tumour-growth fits: per-animal curves with model comparison, and the exponential mixed model.

* :func:`fit_growth` fits exponential, exponential-linear, logistic and Gompertz curves to
  every animal on the batch engine (:func:`comboplan.fitting.batch.fit_curves`), on the
  log-size scale by default (multiplicative error), and compares the models per animal by
  AICc.
* :func:`fit_growth_mixed` fits exponential growth as a linear mixed model on log relative
  size with a random growth rate (slope) per animal; arm growth rates with standard errors,
  variance components in absolute units, residual diagnostics.  Backends: ``statsmodels``
  ``MixedLM`` (the reference) and a vectorised closed-form REML (``"gls"``, identical
  estimates, ~100x faster; used by the in-vivo synergy and power analyses).

A nonlinear (Gompertz) mixed model is delegated to the Bayesian hierarchical growth model
(``comboplan.bayes``); here Gompertz is fitted per animal and summarised per arm
(two-stage).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import ConvergenceWarning, DataError
from ..models.growth import GROWTH_MODELS, get_growth_model
from .data import LLOQ_RULES, GrowthData, as_growth_data
from .mixed import random_slope_fit, slope_stats

__all__ = ["fit_growth", "fit_growth_mixed", "GrowthFit", "MixedGrowthFit", "padded_design"]

_VARIANCE_NOTE = (
    "variance components are in absolute units (tau: SD of the per-animal growth rate, 1/time; "
    "sigma: residual SD of log size); statsmodels' summary reports the random-effect variance "
    "in the same absolute units, while some tools (e.g. MixedLM's internal parameters, nlme's "
    "pdMat in relative form) scale it by the residual variance"
)


# --------------------------------------------------------------------------- design helpers
def padded_design(gd: GrowthData, rule: str = "lloq", baseline: str | float = "first"):
    """Padded per-animal arrays for vectorised fits.

    Parameters
    ----------
    gd : GrowthData
        Validated data.
    rule : {"lloq", "half-lloq", "drop"}
        Treatment of left-censored sizes on the log scale.
    baseline : "first" or float
        Baseline of relative size / time.

    Returns
    -------
    dict
        ``t`` (time since baseline), ``abs_t`` (absolute time), ``logy`` (log size),
        ``logrel`` (log relative size), ``mask`` (usable), each (n_subjects, n_max);
        ``arm`` (n_subjects,).
    """
    if rule not in LLOQ_RULES:
        raise DataError(f"below_lloq must be one of {LLOQ_RULES}, got {rule!r}.")
    logy, use = gd.log_size(rule)
    base = gd.baseline_size(baseline)
    tsb = gd.time_since_baseline(baseline)
    s = gd.subject_idx
    counts = np.bincount(s, minlength=gd.n_subjects)
    nmax = max(int(counts.max()), 1)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(gd.n_obs) - start[s]  # data are sorted by subject then time
    shape = (gd.n_subjects, nmax)
    out = {k: np.full(shape, np.nan) for k in ("t", "abs_t", "logy", "logrel")}
    mask = np.zeros(shape, bool)
    out["t"][s, pos] = tsb
    out["abs_t"][s, pos] = gd.time
    out["logy"][s, pos] = logy
    out["logrel"][s, pos] = logy - np.log(base)[s]
    mask[s, pos] = use
    out["mask"] = mask
    out["arm"] = gd.subject_arm
    return out


def _tq(level, df):
    df = np.asarray(df, float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, stats.t.ppf(0.5 + level / 2.0, np.maximum(df, 1e-9)), np.nan)


def _dropout_cut(gd: GrowthData, dropout: str) -> tuple[GrowthData, str]:
    if dropout == "likelihood":
        return gd, (
            "likelihood: every observed measurement is used (valid if dropout depends only on "
            "observed sizes, i.e. missing at random); animals that left keep their data up to their "
            "last measurement"
        )
    if dropout == "last-common-day":
        tc = gd.last_common_time()
        return gd.until(tc), f"last-common-day: analysis truncated at {tc:g} {gd.time_unit}, the last time every animal was in the study"
    raise DataError(f"dropout must be 'likelihood' or 'last-common-day', got {dropout!r}.")


# --------------------------------------------------------------------------- mixed model
@dataclass(frozen=True)
class MixedGrowthFit:
    """Exponential-growth linear mixed model (random growth rate per animal).

    Attributes
    ----------
    rates : pandas.DataFrame
        One row per arm: ``arm, n_animals, rate, stderr, ci_low, ci_high, df, doubling_time,
        unit``; ``rate`` is the mean specific growth rate (slope of log size, 1/time unit).
    variance : pandas.DataFrame
        ``component`` (``tau``: between-animal SD of the rate; ``sigma``: residual SD of log
        size), ``variance``, ``sd``, ``unit`` -- absolute units (see ``note``).
    animals : pandas.DataFrame
        Per animal: ``subject, arm, n_obs, ols_rate, blup_rate`` (the arm rate plus the
        predicted random slope).
    residuals : pandas.DataFrame
        ``subject, arm, time, t, observed, fitted_marginal, fitted_conditional, residual,
        standardized`` on the log relative-size scale.
    diagnostics : pandas.DataFrame
        Residual checks: Shapiro-Wilk normality of standardized residuals, Levene test of
        equal residual spread across arms, correlation of residuals with fitted values,
        tau^2 on the boundary; one row each with ``statistic, p_value, comment``.
    cov : ndarray, shape (n_arms, n_arms)
        Covariance of the arm rates.
    loglik : float
        Maximised log-likelihood (REML or ML).
    method, backend, dropout, below_lloq, note : str
        How the model was fitted and how dropout / undetectable tumours were handled.
    units : dict
        Units of time, size and rate.
    """

    rates: pd.DataFrame
    variance: pd.DataFrame
    animals: pd.DataFrame
    residuals: pd.DataFrame
    diagnostics: pd.DataFrame
    cov: np.ndarray
    loglik: float
    nobs: int
    method: str
    backend: str
    dropout: str
    below_lloq: str
    units: dict
    ci_level: float = 0.95
    note: str = _VARIANCE_NOTE
    data: GrowthData | None = field(default=None, repr=False)

    @property
    def arms(self) -> np.ndarray:
        """Arm labels in result order."""
        return self.rates["arm"].to_numpy()

    def contrast(self, weights: dict, ci_level: float | None = None) -> dict:
        """Estimate a linear combination of arm rates, e.g. ``{"AB": 1, "A": -1, "B": -1, "C": 1}``.

        Returns
        -------
        dict
            ``estimate, stderr, df, t, p_value, ci_low, ci_high`` (rate unit, two-sided).
        """
        lv = self.ci_level if ci_level is None else ci_level
        c = np.zeros(len(self.rates))
        arms = list(self.arms)
        for k, v in weights.items():
            if k not in arms:
                raise DataError(f"arm {k!r} is not in the fit; arms are {arms}.")
            c[arms.index(k)] = float(v)
        est = float(c @ self.rates["rate"].to_numpy())
        se = float(np.sqrt(c @ self.cov @ c))
        df = float(self.rates["df"].iloc[0])
        tv = est / se if se > 0 else np.nan
        p = float(2 * stats.t.sf(abs(tv), df)) if np.isfinite(tv) else np.nan
        q = float(_tq(lv, df))
        return {"estimate": est, "stderr": se, "df": df, "t": tv, "p_value": p,
                "ci_low": est - q * se, "ci_high": est + q * se}

    def summary(self) -> str:
        """Plain-text summary."""
        r = self.rates
        lines = [
            f"Exponential growth mixed model ({self.method.upper()}, backend={self.backend}); "
            f"{self.nobs} post-baseline observations, {int(r['n_animals'].sum())} animals",
            f"log(V/V0) = (rate_arm + b_animal) * t + e;  rate in {self.units['rate']}",
            f"Dropout: {self.dropout}",
            f"Undetectable sizes: {self.below_lloq}",
            "",
            r[["arm", "n_animals", "rate", "stderr", "ci_low", "ci_high", "doubling_time"]].to_string(index=False),
            "",
            self.variance[["component", "sd", "unit"]].to_string(index=False),
            f"Note: {self.note}.",
            "",
            "Residual diagnostics:",
            self.diagnostics[["check", "statistic", "p_value"]].to_string(index=False),
        ]
        return "\n".join(lines)

    def to_xarray(self):
        """Arm rates as an xarray Dataset (dim ``arm``) with covariance and units."""
        import xarray as xr

        arm = self.arms.astype(str)
        ds = xr.Dataset(
            {
                "rate": ("arm", self.rates["rate"].to_numpy()),
                "stderr": ("arm", self.rates["stderr"].to_numpy()),
                "cov": (("arm", "arm2"), self.cov),
            },
            coords={"arm": arm, "arm2": arm},
        )
        ds.attrs.update({"units": str(self.units), "method": self.method, "backend": self.backend,
                         "dropout": self.dropout, "note": self.note,
                         "tau": float(self.variance["sd"].iloc[0]), "sigma": float(self.variance["sd"].iloc[1])})
        return ds

    def plot(self, ax=None, **kwargs):
        """Observed log relative size per animal with each arm's fitted rate; returns the Axes."""
        from ..plot.growth import plot_fitted_rates

        return plot_fitted_rates(self, ax=ax, **kwargs)


def _statsmodels_fit(t, y, mask, arm, n_arms, method, start=None):
    """statsmodels MixedLM fit; ``start = (beta, gamma)`` seeds the optimiser.

    MixedLM's default starting values can fail silently on small random-slope designs
    (log-likelihood ``inf`` with ``converged=True``); comboplan therefore starts it at the
    closed-form REML solution and checks the returned log-likelihood is finite.
    """
    import statsmodels.api as sm
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    m = mask & (t > 0)
    si, ji = np.nonzero(m)
    X = (arm[si][:, None] == np.arange(n_arms)) * t[si, ji][:, None]
    keep = X.any(axis=0)
    model = sm.MixedLM(y[si, ji], X[:, keep], groups=si, exog_re=t[si, ji][:, None])
    kw = {}
    if start is not None:
        b0, g0 = start
        kw["start_params"] = MixedLMParams.from_components(
            fe_params=np.asarray(b0, float)[keep], cov_re=np.array([[max(float(g0), 1e-6)]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(reml=(method == "reml"), **kw)
    beta = np.full(n_arms, np.nan)
    beta[keep] = res.fe_params
    cov = np.full((n_arms, n_arms), 0.0)
    cfe = np.asarray(res.cov_params())[: keep.sum(), : keep.sum()]
    idx = np.flatnonzero(keep)
    cov[np.ix_(idx, idx)] = cfe
    return beta, cov, float(np.asarray(res.cov_re).ravel()[0]), float(res.scale), float(res.llf), bool(res.converged)


def fit_growth_mixed(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    method: str = "reml",
    backend: str = "gls",
    dropout: str = "likelihood",
    below_lloq: str = "lloq",
    baseline: str | float = "first",
    ci_level: float = 0.95,
    **validate_kwargs,
) -> MixedGrowthFit:
    """Exponential growth as a linear mixed model on log relative size, random slope per animal.

    .. math:: \\log(V_{ij}/V_{i0}) = (\\beta_{arm(i)} + b_i)\\,t_{ij} + \\varepsilon_{ij},
              \\quad b_i \\sim N(0, \\tau^2),\\ \\varepsilon_{ij} \\sim N(0, \\sigma^2)

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names (see :func:`comboplan.growth.data.validate_growth`).
    method : {"reml", "ml"}
        Restricted (default) or full maximum likelihood.
    backend : {"gls", "statsmodels"}
        ``"gls"`` (default): the vectorised closed-form REML/ML of this random-slope model
        (the variance ratio profiled on a grid refined by golden-section search, then generalised least
        squares): no iterative optimiser and no dependence on a starting point or on BLAS
        rounding, and several times faster.  ``"statsmodels"``: ``MixedLM`` started at the
        GLS solution, kept as the cross-check (same estimates and log-likelihood, tested;
        its Hessian-based standard errors differ from the GLS information ones in the 5th
        digit).
    dropout : {"likelihood", "last-common-day"}
        Use every observed measurement (valid under missing-at-random dropout), or truncate
        the study at the last time all animals were present.  Stated in the result.
    below_lloq : {"lloq", "half-lloq", "drop"}
        Treatment of undetectable (left-censored) sizes; stated in the result.
    baseline : "first" or float
        Baseline for relative size and time (default: each animal's first measurement).
    ci_level : float
        Confidence level of the intervals (t quantiles with the between-animal degrees of
        freedom ``n_animals - n_arms``).
    **validate_kwargs
        Passed to :func:`validate_growth` (``kind``, ``lloq``, ``dropout`` column name via
        ``dropout_column``...).

    Returns
    -------
    MixedGrowthFit
    """
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    if method not in ("reml", "ml"):
        raise DataError(f"method must be 'reml' or 'ml', got {method!r}.")
    if backend not in ("statsmodels", "gls"):
        raise DataError(f"backend must be 'statsmodels' or 'gls', got {backend!r}.")
    gd_used, drop_txt = _dropout_cut(gd, dropout)
    d = padded_design(gd_used, below_lloq, baseline)
    t, y, mask, armi = d["t"], d["logrel"], d["mask"], d["arm"]
    K = gd.n_arms
    st = slope_stats(t, y, mask)
    fit = random_slope_fit(st, armi, K, method=method)
    n_an = fit.n_animals
    if np.any(n_an == 0):
        k = int(np.flatnonzero(n_an == 0)[0])
        raise DataError(
            f"arm {gd.arms[k]!r} has no measurement after baseline; a growth rate cannot be estimated."
        )
    if backend == "gls":
        beta, cov = fit.beta, np.diag(fit.se**2)
        tau2, s2, ll, conv = float(fit.tau2), float(fit.sigma2), float(fit.loglik), True
    else:
        g0 = float(fit.tau2 / fit.sigma2) if fit.sigma2 > 0 else 0.0
        beta, cov, tau2, s2, ll, conv = _statsmodels_fit(t, y, mask, armi, K, method, start=(fit.beta, g0))
        if not (conv and np.isfinite(ll)):
            warnings.warn("statsmodels MixedLM did not report convergence; compare with backend='gls'.",
                          ConvergenceWarning, stacklevel=2)
    se = np.sqrt(np.diag(cov))
    df = float(fit.df)
    q = float(_tq(ci_level, df))
    with np.errstate(divide="ignore"):
        dt = np.where(beta > 0, np.log(2.0) / beta, np.inf)
    unit = f"1/{gd.time_unit}"
    rates = pd.DataFrame({
        "arm": gd.arms, "n_animals": n_an.astype(int), "rate": beta, "stderr": se,
        "ci_low": beta - q * se, "ci_high": beta + q * se, "df": df, "doubling_time": dt, "unit": unit,
    })
    variance = pd.DataFrame({
        "component": ["tau", "sigma"],
        "variance": [tau2, s2],
        "sd": [np.sqrt(tau2), np.sqrt(s2)],
        "unit": [unit, "log size (dimensionless)"],
        "description": ["between-animal SD of the growth rate", "residual SD of log relative size"],
    })
    # per-animal BLUPs and residuals
    gamma = tau2 / s2 if s2 > 0 else 0.0
    has = st.stt > 0
    shrink = np.where(has, gamma * st.stt / (1.0 + gamma * st.stt), 0.0)
    bk = beta[armi]
    ols = st.slope
    blup = bk + shrink * np.where(has, ols - bk, 0.0)
    animals = pd.DataFrame({"subject": gd.subjects, "arm": gd.arms[armi], "n_obs": st.n.astype(int),
                            "ols_rate": ols, "blup_rate": blup})
    m = mask & (t > 0)
    si, ji = np.nonzero(m)
    fm = bk[si] * t[si, ji]
    fc = blup[si] * t[si, ji]
    resid = y[si, ji] - fc
    sdz = resid / np.sqrt(s2) if s2 > 0 else resid * np.nan
    residuals = pd.DataFrame({
        "subject": gd.subjects[si], "arm": gd.arms[armi[si]], "time": d["abs_t"][si, ji], "t": t[si, ji],
        "observed": y[si, ji], "fitted_marginal": fm, "fitted_conditional": fc, "residual": resid,
        "standardized": sdz,
    })
    diagnostics = _diagnostics(residuals, bool(fit.boundary) if backend == "gls" else tau2 <= 1e-12 * max(s2, 1e-300))
    note = _VARIANCE_NOTE
    return MixedGrowthFit(
        rates=rates, variance=variance, animals=animals, residuals=residuals, diagnostics=diagnostics,
        cov=cov, loglik=ll, nobs=int(fit.nobs), method=method, backend=backend, dropout=drop_txt,
        below_lloq=_lloq_text(below_lloq, gd), units=gd.units, ci_level=ci_level, note=note, data=gd_used,
    )


def _lloq_text(rule: str, gd: GrowthData) -> str:
    n = int(gd.censored.sum())
    if n == 0:
        return f"none below the detection limit (rule {rule!r} not needed)"
    what = {"lloq": "replaced by the LLOQ", "half-lloq": "replaced by LLOQ/2", "drop": "excluded"}[rule]
    return f"{n} left-censored size(s) {what} before taking logs"


def _diagnostics(res: pd.DataFrame, boundary: bool) -> pd.DataFrame:
    z = res["standardized"].to_numpy()
    rows = []
    if z.size >= 3 and np.ptp(z) > 0:
        sw = stats.shapiro(z)
        rows.append(("shapiro_wilk_normality", float(sw.statistic), float(sw.pvalue),
                     "small p: residuals of log size are not normal (outliers, wrong growth model)"))
    else:
        rows.append(("shapiro_wilk_normality", np.nan, np.nan, "too few residuals"))
    groups = [g["residual"].to_numpy() for _, g in res.groupby("arm", sort=False) if len(g) >= 2]
    if len(groups) >= 2 and all(np.ptp(g) > 0 for g in groups):
        lv = stats.levene(*groups, center="median")
        rows.append(("levene_equal_spread_across_arms", float(lv.statistic), float(lv.pvalue),
                     "small p: residual SD differs between arms"))
    else:
        rows.append(("levene_equal_spread_across_arms", np.nan, np.nan, "too few residuals per arm"))
    if z.size >= 3 and np.ptp(res["fitted_conditional"]) > 0 and np.ptp(z) > 0:
        r, p = stats.pearsonr(res["fitted_conditional"], res["residual"])
        rows.append(("residual_vs_fitted_correlation", float(r), float(p),
                     "non-zero: curvature, e.g. growth slowing down (consider Gompertz per animal)"))
    else:
        rows.append(("residual_vs_fitted_correlation", np.nan, np.nan, "too few residuals"))
    rows.append(("tau2_on_boundary", float(boundary), np.nan,
                 "1: no detectable between-animal variation in growth rate"))
    return pd.DataFrame(rows, columns=["check", "statistic", "p_value", "comment"])


# --------------------------------------------------------------------------- per-animal fits
@dataclass(frozen=True)
class GrowthFit:
    """Per-animal growth-curve fits with model comparison.

    Attributes
    ----------
    params : pandas.DataFrame
        ``subject, arm, model, param, estimate, stderr, ci_low, ci_high, unit``.
    fits : pandas.DataFrame
        One row per animal and model: ``converged, identified, message, nobs, npar, rss, sigma, loglik,
        aic, aicc, bic, criterion, delta_aicc, weight`` and ``best``: the model with the lowest
        AICc per animal (AIC for animals where a model has too few residual degrees of
        freedom for AICc; ``criterion`` says which); ``weight`` is the Akaike weight.
    comparison : pandas.DataFrame
        One row per model: ``n_converged, n_best, total_aic, mean_weight``.
    arm_summary : pandas.DataFrame
        Two-stage per-arm summary of each parameter: ``arm, model, param, n, mean, stderr,
        ci_low, ci_high, unit`` (geometric mean for log-transformed parameters), over the
        *identified* fits only: converged, finite standard errors and, for logistic and
        Gompertz, an asymptote ``vmax`` at most 100x the animal's largest observed size
        (beyond that the curve has reduced to exponential growth and ``vmax`` is not
        determined by the data; such fits are flagged ``identified=False`` in ``fits``).
    scale : str
        ``"log"`` (fitted to log size) or ``"size"``.
    below_lloq : str
        Treatment of undetectable sizes.
    """

    params: pd.DataFrame
    fits: pd.DataFrame
    comparison: pd.DataFrame
    arm_summary: pd.DataFrame
    models: tuple
    scale: str
    below_lloq: str
    units: dict
    estimates: dict = field(repr=False, default_factory=dict)
    data: GrowthData | None = field(default=None, repr=False)
    baseline_time: np.ndarray | None = field(default=None, repr=False)

    def best_model(self) -> pd.DataFrame:
        """Best model per animal (subject, arm, model)."""
        b = self.fits[self.fits["best"]]
        return b[["subject", "arm", "model", "aicc"]].reset_index(drop=True)

    def predict(self, time, model: str = "exponential"):
        """Fitted sizes of every animal at ``time`` (absolute time unit), as a DataArray (subject, time)."""
        import xarray as xr

        spec = get_growth_model(model, "size")
        est = self.estimates[model]
        tt = np.asarray(time, float)
        x = tt[None, :] - self.baseline_time[:, None]
        cols = [est[:, [k]] for k in range(est.shape[1])]
        vals = spec.func(x, *cols)
        return xr.DataArray(vals, dims=("subject", "time"),
                            coords={"subject": self.data.subjects.astype(str), "time": tt},
                            attrs={"units": self.units["size"], "model": model})

    def summary(self) -> str:
        """Plain-text summary."""
        return "\n".join([
            f"Per-animal growth fits on the {self.scale} scale; undetectable sizes: {self.below_lloq}",
            self.comparison.to_string(index=False),
            "",
            self.arm_summary.to_string(index=False),
        ])

    def to_xarray(self):
        """Estimates as an xarray Dataset: one variable per model, dims (subject, param)."""
        import xarray as xr

        ds = xr.Dataset()
        for m, est in self.estimates.items():
            names = get_growth_model(m).param_names
            ds[m] = xr.DataArray(est, dims=("subject", f"{m}_param"),
                                 coords={"subject": self.data.subjects.astype(str), f"{m}_param": list(names)})
        ds.attrs["units"] = str(self.units)
        return ds

    def plot(self, ax=None, model: str = "exponential", **kwargs):
        """Data and fitted curves per arm; returns the Axes."""
        from ..plot.growth import plot_fitted_curves

        return plot_fitted_curves(self, ax=ax, model=model, **kwargs)


def _unit(pname, unit_kind, gd):
    return {"size": gd.size_unit, "1/time": f"1/{gd.time_unit}",
            "size/time": f"{gd.size_unit}/{gd.time_unit}"}.get(unit_kind, unit_kind)


def fit_growth(
    data,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    models: Sequence[str] = ("exponential", "exp_linear", "logistic", "gompertz"),
    scale: str = "log",
    below_lloq: str = "lloq",
    ci_level: float = 0.95,
    errors: str = "warn",
    maxiter: int = 200,
    **validate_kwargs,
) -> GrowthFit:
    """Fit growth curves to every animal and compare models.

    Parameters
    ----------
    data : pandas.DataFrame or GrowthData
        Tidy longitudinal table (then name the columns) or validated data.
    subject, arm, time, size : str
        Column names.
    models : sequence of str
        Any of ``"exponential"``, ``"exp_linear"``, ``"logistic"``, ``"gompertz"``.
    scale : {"log", "size"}
        ``"log"`` (default): least squares on log size (multiplicative error, the usual
        model for tumour volumes and luminescence); ``"size"``: on the size scale.
    below_lloq : {"lloq", "half-lloq", "drop"}
        Treatment of undetectable sizes (stated in the result).
    ci_level : float
        Level of the per-animal Wald intervals (t quantiles, residual df) and arm intervals.
    errors : {"warn", "ignore"}
        Failed fits are NaN rows with ``converged=False``; ``"warn"`` issues one
        :class:`ConvergenceWarning` counting them.
    maxiter : int
        Iteration limit of the engine.
    **validate_kwargs
        Passed to :func:`validate_growth`.

    Returns
    -------
    GrowthFit
    """
    from ..fitting.batch import fit_curves

    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    if scale not in ("log", "size"):
        raise DataError(f"scale must be 'log' or 'size', got {scale!r}.")
    models = tuple(str(m).lower() for m in models)
    for m in models:
        if m not in GROWTH_MODELS:
            raise DataError(f"unknown growth model {m!r}; choose from {sorted(GROWTH_MODELS)}.")
    if errors not in ("warn", "ignore"):
        raise DataError(f"errors must be 'warn' or 'ignore', got {errors!r}.")
    d = padded_design(gd, below_lloq)
    x, mask = d["t"], d["mask"]
    y = d["logy"] if scale == "log" else np.exp(d["logy"])
    sub_lab = gd.subjects
    arm_lab = gd.arms[gd.subject_arm]
    prow, frow, ests = [], [], {}
    n_fail = 0
    for m in models:
        spec = get_growth_model(m, scale)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bf = fit_curves(spec, np.where(mask, x, 0.0), np.where(mask, y, 0.0), mask=mask, maxiter=maxiter)
        est = bf.estimates
        ests[m] = est
        se = bf.stderr
        dof = bf.dof
        q = _tq(ci_level, dof)
        conv = np.asarray(bf.converged, bool)
        n_fail += int((~conv).sum())
        # identified: converged, finite standard errors, and (sigmoid models) an asymptote that the
        # data can support -- vmax beyond 100x the largest observed size means the curve has
        # reduced to exponential growth and vmax is not determined by these data
        with np.errstate(invalid="ignore"):
            ident = conv & np.all(np.isfinite(se[:, bf.free]), axis=1)
            if "vmax" in spec.param_names:
                vmax = est[:, spec.param_names.index("vmax")]
                ymax = np.nanmax(np.where(mask, d["logy"], np.nan), axis=1)
                ident &= np.log(np.where(vmax > 0, vmax, np.nan)) <= ymax + np.log(100.0)
        why = np.where(conv & ~ident, "; not identified (asymptote far beyond the data or infinite SE):"
                                      " excluded from arm summaries", "")
        k = bf.npar + 1  # + residual variance
        n = bf.nobs.astype(float)
        ll = bf.loglik
        aic = -2 * ll + 2 * k
        with np.errstate(divide="ignore", invalid="ignore"):
            aicc = np.where(n - k - 1 > 0, aic + 2 * k * (k + 1) / (n - k - 1), np.inf)
        bic = -2 * ll + k * np.log(n)
        for j, p in enumerate(spec.params):
            prow.append(pd.DataFrame({
                "subject": sub_lab, "arm": arm_lab, "model": m, "param": p.name, "estimate": est[:, j],
                "stderr": se[:, j], "ci_low": est[:, j] - q * se[:, j], "ci_high": est[:, j] + q * se[:, j],
                "unit": _unit(p.name, p.unit, gd),
            }))
        frow.append(pd.DataFrame({
            "subject": sub_lab, "arm": arm_lab, "model": m, "converged": conv, "identified": ident,
            "message": np.char.add(bf.message.astype(str), why.astype(str)),
            "nobs": bf.nobs.astype(int), "npar": int(bf.npar), "rss": bf.rss, "sigma": bf.sigma, "loglik": ll,
            "aic": np.where(conv, aic, np.nan), "aicc": np.where(conv, aicc, np.nan), "bic": np.where(conv, bic, np.nan),
        }))
    params = pd.concat(prow, ignore_index=True)
    fits = pd.concat(frow, ignore_index=True)
    # model comparison per animal (rows are model-major: model m, subject s at m * S + s)
    M, S = len(models), gd.n_subjects
    conv_all = fits["converged"].to_numpy(bool).reshape(M, S)
    aicc2 = fits["aicc"].to_numpy(float).reshape(M, S)
    aic2 = fits["aic"].to_numpy(float).reshape(M, S)
    # AICc where every converged model of the animal has residual df for it, else AIC for all
    use_aicc = np.all(np.isfinite(aicc2) | ~conv_all, axis=0)
    crit = np.where(use_aicc[None, :], aicc2, aic2).ravel()
    valid = fits["converged"].to_numpy(bool) & np.isfinite(crit)
    fits["criterion"] = np.where(np.repeat(use_aicc[None, :], M, 0).ravel(), "aicc", "aic")
    c2 = np.where(valid, crit, np.inf).reshape(M, S)
    cmin = c2.min(axis=0)
    delta = c2 - cmin[None, :]
    with np.errstate(invalid="ignore"):
        wts = np.where(np.isfinite(delta), np.exp(-0.5 * delta), 0.0)
        wsum = wts.sum(axis=0)
        wts = np.where(wsum > 0, wts / np.where(wsum > 0, wsum, 1.0), np.nan)
    best = np.zeros((M, S), bool)
    ok = np.isfinite(cmin)
    best[np.argmin(c2, axis=0)[ok], np.flatnonzero(ok)] = True
    fits["delta_aicc"] = np.where(np.isfinite(delta), delta, np.nan).ravel()
    fits["weight"] = wts.ravel()
    fits["best"] = best.ravel()
    comparison = fits.groupby("model", sort=False).agg(
        n_converged=("converged", "sum"), n_best=("best", "sum"), total_aic=("aic", "sum"),
        mean_weight=("weight", "mean")).reset_index()
    # two-stage arm summary
    arows = []
    for m in models:
        spec = get_growth_model(m, scale)
        sub = params[params["model"] == m]
        conv = fits.loc[fits["model"] == m, "identified"].to_numpy()
        for p in spec.params:
            vals = sub.loc[sub["param"] == p.name, "estimate"].to_numpy()
            for k_arm, a in enumerate(gd.arms):
                sel = (gd.subject_arm == k_arm) & conv & np.isfinite(vals)
                v = vals[sel]
                nn = v.size
                if p.transform == "log":
                    v = np.log(v[v > 0])
                mean = v.mean() if nn else np.nan
                sem = v.std(ddof=1) / np.sqrt(nn) if nn > 1 else np.nan
                qq = float(_tq(ci_level, nn - 1)) if nn > 1 else np.nan
                lo, hi = mean - qq * sem, mean + qq * sem
                if p.transform == "log":
                    with np.errstate(over="ignore"):
                        mean, lo, hi = np.exp(mean), np.exp(lo), np.exp(hi)
                arows.append((a, m, p.name, nn, mean, sem, lo, hi,
                              "geometric" if p.transform == "log" else "arithmetic", _unit(p.name, p.unit, gd)))
    arm_summary = pd.DataFrame(arows, columns=["arm", "model", "param", "n", "mean", "stderr_fit_scale",
                                               "ci_low", "ci_high", "mean_type", "unit"])
    if n_fail and errors == "warn":
        warnings.warn(f"{n_fail} of {len(models) * gd.n_subjects} per-animal growth fits did not converge; "
                      "they are NaN rows with converged=False (see GrowthFit.fits['message']).",
                      ConvergenceWarning, stacklevel=2)
    return GrowthFit(params=params, fits=fits, comparison=comparison,
                     arm_summary=arm_summary, models=models, scale=scale,
                     below_lloq=_lloq_text(below_lloq, gd), units=gd.units, estimates=ests, data=gd,
                     baseline_time=gd.baseline_time())
