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

from .._params import Check, Integral, Interval, Real, StrOptions, validate_params
from ..exceptions import ConvergenceWarning, DataError, FitError
from ..models.growth import GROWTH_MODELS, get_growth_model
from ..results import ResultIO, check_kind, set_units, units_by
from .data import LLOQ_RULES, GrowthData, as_growth_data
from .mixed import VARIANCE_FUNCTIONS, LMEDesign, cr2_vcov, lme_fit, lme_leave_one_out, random_slope_fit, slope_stats

__all__ = ["fit_growth", "fit_growth_mixed", "compare_mixed", "GrowthFit", "MixedGrowthFit", "padded_design"]

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
class MixedGrowthFit(ResultIO):
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
        With ``influence=True`` also ``influential_animals`` (count above the Cook's-distance
        rule, named in ``comment``).
    cov : ndarray, shape (n_arms, n_arms)
        Covariance of the arm rates (CR2 when ``se="cr2"``).
    loglik : float
        Maximised log-likelihood (REML or ML; statsmodels/nlme constants).
    fixed : pandas.DataFrame
        Every fixed effect: ``term, estimate, stderr, unit`` (model-based SEs); besides the
        arm rates, ``intercept`` (log size) and ``log_baseline`` for the baseline models.
    variance_function : pandas.DataFrame
        Variance-function parameters: ``function, stratum, parameter, estimate, residual_sd,
        description`` (empty without one); ``residual_sd`` is the SD of log size in that
        stratum.
    influence : pandas.DataFrame or None
        Per animal: ``subject, arm, cooks_distance`` (of the arm rates, refitting without the
        animal), ``rate_change`` (its arm's rate minus the rate without it, 1/time unit),
        ``rate_change_se`` (the same in model SEs), ``flagged`` (D > 4 / n_animals).
    model : dict
        ``variance, baseline_model, random, se``: the model fitted, in words.
    n_params : int
        Number of estimated parameters (fixed effects + variance parameters), for AIC.
    response : str
        The response modelled (fits are comparable only with the same response).
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
    fixed: pd.DataFrame | None = None
    variance_function: pd.DataFrame | None = None
    influence: pd.DataFrame | None = None
    model: dict = field(default_factory=dict)
    n_params: int = 0
    response: str = "log(V/V0), t > 0"

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
        df = float(self.rates["df"].min())  # one value unless se="cr2" (then the smallest arm df)
        tv = est / se if se > 0 else np.nan
        p = float(2 * stats.t.sf(abs(tv), df)) if np.isfinite(tv) else np.nan
        q = float(_tq(lv, df))
        return {"estimate": est, "stderr": se, "df": df, "t": tv, "p_value": p,
                "ci_low": est - q * se, "ci_high": est + q * se}

    def summary(self) -> str:
        """Plain-text summary."""
        r = self.rates
        mdl = self.model or {"variance": "none", "baseline_model": "ratio", "random": "slope", "se": "model-based"}
        eq = {"ratio": "log(V/V0) = (rate_arm + b_animal) * t + e",
              "covariate": "log V = a + c * log V0 + a_animal + (rate_arm + b_animal) * t + e",
              "observation": "log V = a + a_animal + (rate_arm + b_animal) * t + e  (baseline is an observation)"}
        eq = eq[mdl["baseline_model"]]
        if mdl["baseline_model"] == "ratio" and mdl["random"] != "slope":
            eq = "log(V/V0) = a_animal + (rate_arm + b_animal) * t + e"
        lines = [
            f"Exponential growth mixed model ({self.method.upper()}, backend={self.backend}); "
            f"{self.nobs} observations ({self.response}), {int(r['n_animals'].sum())} animals",
            f"{eq};  rate in {self.units['rate']}",
            f"Random effects: {mdl['random']}; residual variance function: {mdl['variance']}; "
            f"standard errors: {mdl['se']}",
            f"Dropout: {self.dropout}",
            f"Undetectable sizes: {self.below_lloq}",
            "",
            r[["arm", "n_animals", "rate", "stderr", "ci_low", "ci_high", "doubling_time"]].to_string(index=False),
            "",
            self.variance[["component", "sd", "unit"]].to_string(index=False),
            f"Note: {self.note}.",
        ]
        if self.variance_function is not None and len(self.variance_function):
            vf = self.variance_function
            if (vf["function"] == "animal").sum() > 8:
                a = vf[vf["function"] == "animal"]
                lines.append(f"varIdent by animal: residual SD from {a['residual_sd'].min():.3g} to "
                             f"{a['residual_sd'].max():.3g} over {len(a)} animals")
                vf = vf[vf["function"] != "animal"]
            if len(vf):
                lines.append(vf[["function", "stratum", "parameter", "estimate", "residual_sd"]].to_string(index=False))
        lines += ["", "Residual diagnostics:",
                  self.diagnostics[["check", "statistic", "p_value"]].to_string(index=False)]
        if self.influence is not None:
            fl = self.influence[self.influence["flagged"]]
            if len(fl):
                lines += ["", f"Influential animals (Cook's distance > {_COOK_RULE_TEXT}; refit without them "
                              "to see how conclusions change):",
                          fl[["subject", "arm", "cooks_distance", "rate_change"]].to_string(index=False)]
            else:
                lines.append(f"No influential animal (Cook's distance > {_COOK_RULE_TEXT}).")
        return "\n".join(lines)

    def compare(self, *others, names: Sequence[str] | None = None) -> pd.DataFrame:
        """AIC/BIC and likelihood-ratio tests against other fits; see :func:`compare_mixed`."""
        return compare_mixed(self, *others, names=names)

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
        rate_unit = f"1/{self.units.get('time', 'day')}"
        set_units(ds, {"rate": rate_unit, "stderr": rate_unit, "cov": f"({rate_unit})^2"})
        ds.attrs.update({"units": str(self.units), "method": self.method, "backend": self.backend,
                         "dropout": self.dropout, "note": self.note,
                         "tau": float(self._sd("tau")), "sigma": float(self._sd("sigma"))})
        return ds

    def _sd(self, name):
        v = self.variance.loc[self.variance["component"] == name, "sd"]
        return v.iloc[0] if len(v) else np.nan

    def plot(self, *, kind: str = "rates", ax=None, **kwargs):
        """Plot the fit; returns the Axes.

        Parameters
        ----------
        kind : {"rates", "residuals", "residuals_time", "qq", "qq_ranef", "influence"}
            ``"rates"``: observed log relative size per animal with each arm's rate;
            ``"residuals"`` / ``"residuals_time"``: standardized residuals against the
            conditional fitted value / the time since baseline, coloured by arm;
            ``"qq"`` / ``"qq_ranef"``: normal QQ plot of standardized residuals / of the
            standardized predicted random growth rates; ``"influence"``: Cook's distance per
            animal with the flagging line.
        ax : matplotlib Axes, optional
        """
        if kind == "rates":
            from ..plot.growth import plot_fitted_rates

            return plot_fitted_rates(self, ax=ax, **kwargs)
        from .mixed_plots import plot_mixed_diagnostic

        return plot_mixed_diagnostic(self, kind=kind, ax=ax, **kwargs)


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


@validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither")], "influence": ["boolean"]})
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
    variance=None,
    baseline_model: str = "ratio",
    random: str | None = None,
    se: str = "model",
    influence: bool = True,
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
    variance : None, str or sequence of str
        Residual variance function(s) (Pinheiro & Bates 2000, sec. 5.2), multiplied when
        several are given (a list or ``"arm+power"``): ``"arm"`` (nlme ``varIdent(~1|arm)``:
        one residual SD per arm), ``"animal"`` (``varIdent(~1|animal)``), ``"power"``
        (``varPower()``: SD proportional to ``|fitted value|^delta``, the conditional fitted
        log size), ``"power_time"`` (``varPower(~time)``).  ``None`` (default): one
        residual SD.  Any variance function is fitted by iterative (RE)ML (``backend``
        becomes ``"iterative"``); compare structures with :func:`compare_mixed` on REML fits.
    baseline_model : {"ratio", "covariate", "observation"}
        ``"ratio"`` (default): response ``log(V/V0)``, the baseline divided out (SynergyLMM).
        ``"covariate"``: response ``log V`` after baseline with a common intercept and
        ``log V0`` (centred) as a covariate.  ``"observation"``: response ``log V`` including the
        baseline measurement, common intercept, random intercept per animal (the baseline
        is an observation with the same measurement error).  Both avoid dividing by a noisy
        baseline.
    random : {"slope", "intercept+slope", "correlated"}, optional
        Random effects per animal: growth rate only (default for ``"ratio"``), independent
        intercept and rate, or correlated intercept and rate (default for the two
        baseline-adjusted models).
    se : {"model", "cr2"}
        Standard errors of the arm rates: model-based (default) or cluster-robust CR2 with
        Bell-McCaffrey degrees of freedom (animals are the clusters).
    influence : bool
        Compute each animal's Cook's distance (refits leaving the animal out); animals above
        ``4 / n_animals`` are flagged in ``influence`` and ``summary()``.
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
    if backend not in ("statsmodels", "gls", "iterative"):
        raise DataError(f"backend must be 'gls', 'iterative' or 'statsmodels', got {backend!r}.")
    vf = _parse_variance(variance)
    if baseline_model not in _BASELINE_MODELS:
        raise DataError(f"baseline_model must be one of {_BASELINE_MODELS}, got {baseline_model!r}.")
    if random is None:
        random = "slope" if baseline_model == "ratio" else "correlated"
    if random not in _RANDOM:
        raise DataError(f"random must be one of {_RANDOM}, got {random!r}.")
    if se not in ("model", "cr2"):
        raise DataError(f"se must be 'model' or 'cr2', got {se!r}.")
    simple = not vf and baseline_model == "ratio" and random == "slope"
    if not simple and backend == "statsmodels":
        raise DataError("backend='statsmodels' fits only the default model (no variance function, "
                        "baseline_model='ratio', random='slope'); use backend='gls' or 'iterative'.")
    if not simple or backend == "iterative":
        return _fit_mixed_general(gd, method=method, dropout=dropout, below_lloq=below_lloq, baseline=baseline,
                                  ci_level=ci_level, vf=vf, baseline_model=baseline_model, random=random, se=se,
                                  influence=influence)
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
    se_model = np.sqrt(np.diag(cov))
    se_ = se_model
    df = float(fit.df)
    q = float(_tq(ci_level, df))
    with np.errstate(divide="ignore"):
        dt = np.where(beta > 0, np.log(2.0) / beta, np.inf)
    unit = f"1/{gd.time_unit}"
    rates = pd.DataFrame({
        "arm": gd.arms, "n_animals": n_an.astype(int), "rate": beta, "stderr": se_,
        "ci_low": beta - q * se_, "ci_high": beta + q * se_, "df": df, "doubling_time": dt, "unit": unit,
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
    # design of the same model for CR2 and diagnostics
    X = (armi[:, None, None] == np.arange(K)) * np.where(m, t, 0.0)[..., None]
    Vs = np.where((m[:, :, None] & m[:, None, :]), gamma * np.einsum("st,su->stu", np.where(m, t, 0.0), np.where(m, t, 0.0)),
                  0.0) + np.eye(t.shape[1])
    cov_model = cov
    rates, cov, se_txt = _apply_se(se, rates, cov, X, Vs, np.where(m, y - bk[:, None] * np.where(m, t, 0.0), 0.0), m,
                                   np.arange(K), ci_level)
    infl = None
    if influence:
        S = gd.n_subjects
        loo = np.broadcast_to(np.eye(S, dtype=bool)[:, :, None], (S,) + m.shape)
        st_loo = slope_stats(np.broadcast_to(t, loo.shape), np.broadcast_to(y, loo.shape), mask & ~loo)
        f_loo = random_slope_fit(st_loo, armi, K, method=method)
        infl = _influence_table(gd, armi, beta, cov_model, f_loo.beta)
    diagnostics = _diagnostics(residuals, bool(fit.boundary) if backend == "gls" else tau2 <= 1e-12 * max(s2, 1e-300),
                               infl)
    note = _VARIANCE_NOTE
    fixed = pd.DataFrame({"term": [f"rate[{a}]" for a in gd.arms], "estimate": beta, "stderr": se_model,
                          "unit": unit})
    return MixedGrowthFit(
        rates=rates, variance=variance, animals=animals, residuals=residuals, diagnostics=diagnostics,
        cov=cov, loglik=ll, nobs=int(fit.nobs), method=method, backend=backend, dropout=drop_txt,
        below_lloq=_lloq_text(below_lloq, gd), units=gd.units, ci_level=ci_level, note=note, data=gd_used,
        fixed=fixed, variance_function=_empty_varfun(), influence=infl,
        model={"variance": "none", "baseline_model": "ratio", "random": "slope", "se": se_txt},
        n_params=K + 2, response="log(V/V0), t > 0",
    )


_BASELINE_MODELS = ("ratio", "covariate", "observation")
_RANDOM = ("slope", "intercept+slope", "correlated")
_COOK_RULE_TEXT = "4 / n_animals"


def _parse_variance(variance) -> tuple:
    if variance is None:
        return ()
    if isinstance(variance, str):
        items = [v.strip() for v in variance.split("+")] if variance not in ("none", "") else []
    else:
        items = [str(v) for v in variance]
    for v in items:
        if v not in VARIANCE_FUNCTIONS:
            raise DataError(f"unknown variance function {v!r}; choose from {VARIANCE_FUNCTIONS} (or a list of them).")
    if len(set(items)) != len(items):
        raise DataError(f"variance function listed twice: {items}.")
    if "arm" in items and "animal" in items:
        raise DataError("variance='arm' and 'animal' together are not identifiable (animals are nested in arms); "
                        "use 'animal' alone.")
    if "power" in items and "power_time" in items:
        raise DataError("choose one power variance function: 'power' (of the fitted value) or 'power_time'.")
    return tuple(v for v in VARIANCE_FUNCTIONS if v in items)


def _empty_varfun() -> pd.DataFrame:
    return pd.DataFrame(columns=["function", "stratum", "parameter", "estimate", "residual_sd", "description"])


def _apply_se(se, rates, cov, X, Vstar, resid, mask, rate_idx, ci_level):
    """Replace model-based SEs by CR2 ones when asked; returns (rates, cov of the rates, text)."""
    if se == "model":
        return rates, cov, "model-based (inverse information at the estimated variance parameters)"
    p = X.shape[-1]
    C = np.eye(p)[rate_idx]
    cov_all, dfs = cr2_vcov(X, Vstar, resid, mask, C)
    cov_r = cov_all[np.ix_(rate_idx, rate_idx)]
    sr = np.sqrt(np.diag(cov_r))
    q = _tq(ci_level, dfs)
    rates = rates.assign(stderr_model=rates["stderr"], stderr=sr, df=dfs,
                         ci_low=rates["rate"] - q * sr, ci_high=rates["rate"] + q * sr)
    return rates, cov_r, ("cluster-robust CR2 (Bell & McCaffrey 2002; animals are clusters) with "
                          "Bell-McCaffrey Satterthwaite df per arm; model-based SE in stderr_model")


def _influence_table(gd, armi, beta, cov, beta_loo) -> pd.DataFrame:
    """Cook's distance of each animal on the arm rates (leave-one-animal-out refits)."""
    K = beta.size
    delta = beta[None, :] - beta_loo
    ok = np.all(np.isfinite(delta), axis=1)
    Ci = np.linalg.pinv(cov)
    with np.errstate(invalid="ignore"):
        D = np.where(ok, np.einsum("sk,kl,sl->s", np.nan_to_num(delta), Ci, np.nan_to_num(delta)) / K, np.nan)
        dfb = np.abs(delta) / np.sqrt(np.diag(cov))[None, :]
    m = int(np.sum(np.isfinite(D)))
    thr = 4.0 / max(m, 1)
    own = dfb[np.arange(len(armi)), armi]
    return pd.DataFrame({
        "subject": gd.subjects, "arm": gd.arms[armi], "cooks_distance": D,
        "rate_change": delta[np.arange(len(armi)), armi], "rate_change_se": own,
        "flagged": np.nan_to_num(D, nan=0.0) > thr,
    })


def _mixed_design(d, gd, baseline, baseline_model, random):
    t, mask, armi = d["t"], d["mask"], d["arm"]
    K = gd.n_arms
    if baseline_model == "observation":
        use = mask & (t >= 0) & np.isfinite(t)
    else:
        use = mask & (t > 0)
    tt = np.where(use, t, 0.0)
    slopes = (armi[:, None, None] == np.arange(K)) * tt[..., None]
    rate_names = [f"rate[{a}]" for a in gd.arms]
    if baseline_model == "ratio":
        y = d["logrel"]
        X = slopes
        names = rate_names
        rate_idx = np.arange(K)
        response = "log(V/V0), t > 0"
    else:
        y = d["logy"]
        one = np.ones_like(tt)[..., None]
        if baseline_model == "covariate":
            lb = np.log(gd.baseline_size(baseline))
            has = use.any(axis=1)
            c = lb - lb[has].mean()
            X = np.concatenate([one, np.broadcast_to(c[:, None, None], one.shape), slopes], axis=-1)
            names = ["intercept", "log_baseline"] + rate_names
            rate_idx = np.arange(2, K + 2)
            response = "log V, t > 0"
        else:
            X = np.concatenate([one, slopes], axis=-1)
            names = ["intercept"] + rate_names
            rate_idx = np.arange(1, K + 1)
            response = "log V, t >= 0 (baseline included)"
    if random == "slope":
        Z = tt[..., None]
    else:
        Z = np.stack([np.ones_like(tt), tt], axis=-1)
    des = LMEDesign(y=np.where(use, y, 0.0), X=np.where(use[..., None], X, 0.0), Z=np.where(use[..., None], Z, 0.0),
                    mask=use, arm=armi, t=tt)
    return des, names, rate_idx, response


def _fit_mixed_general(gd, *, method, dropout, below_lloq, baseline, ci_level, vf, baseline_model, random, se,
                       influence):
    """Iterative (RE)ML path of :func:`fit_growth_mixed` (variance functions, baseline models, random effects)."""
    gd_used, drop_txt = _dropout_cut(gd, dropout)
    d = padded_design(gd_used, below_lloq, baseline)
    des, names, rate_idx, response = _mixed_design(d, gd_used, baseline, baseline_model, random)
    K = gd.n_arms
    armi = d["arm"]
    post = des.mask & (des.t > 0)
    n_an = np.bincount(armi[post.any(axis=1)], minlength=K).astype(float)
    if np.any(n_an == 0):
        k = int(np.flatnonzero(n_an == 0)[0])
        raise DataError(f"arm {gd.arms[k]!r} has no measurement after baseline; a growth rate cannot be estimated.")
    correlated = random == "correlated"
    try:
        f = lme_fit(des, variance=vf, correlated=correlated, method=method)
    except (np.linalg.LinAlgError, ValueError) as e:  # pragma: no cover - defensive
        raise DataError(f"the mixed model could not be fitted: {e}") from e
    if not f.converged:
        warnings.warn(f"iterative (RE)ML stopped with gradient {f.grad_norm:.2g}; estimates may be imprecise.",
                      ConvergenceWarning, stacklevel=3)
    beta = f.beta[rate_idx]
    cov_model = f.cov_beta[np.ix_(rate_idx, rate_idx)]
    se_m = np.sqrt(np.diag(cov_model))
    p_rate = K
    dfv = float(n_an.sum() - p_rate)
    q = float(_tq(ci_level, dfv))
    unit = f"1/{gd.time_unit}"
    with np.errstate(divide="ignore"):
        dt = np.where(beta > 0, np.log(2.0) / beta, np.inf)
    rates = pd.DataFrame({
        "arm": gd.arms, "n_animals": n_an.astype(int), "rate": beta, "stderr": se_m,
        "ci_low": beta - q * se_m, "ci_high": beta + q * se_m, "df": dfv, "doubling_time": dt, "unit": unit,
    })
    resid_m = np.where(des.mask, des.y - f.fitted_marginal, 0.0)
    rates, cov, se_txt = _apply_se(se, rates, cov_model, des.X, f.Vstar, resid_m, des.mask, rate_idx, ci_level)
    # variance components
    s2 = f.sigma2
    vrows = []
    if random == "slope":
        vrows.append(("tau", f.G[0, 0], np.sqrt(f.G[0, 0]), unit, "between-animal SD of the growth rate"))
    else:
        vrows.append(("tau", f.G[1, 1], np.sqrt(f.G[1, 1]), unit, "between-animal SD of the growth rate"))
        vrows.append(("tau_intercept", f.G[0, 0], np.sqrt(f.G[0, 0]), "log size",
                      "between-animal SD of the intercept (log size at baseline)"))
        if correlated:
            cor = f.G[0, 1] / np.sqrt(f.G[0, 0] * f.G[1, 1]) if f.G[0, 0] * f.G[1, 1] > 0 else np.nan
            vrows.append(("cor_intercept_rate", f.G[0, 1], cor, "-",
                          "correlation of intercept and rate (sd column); covariance in the variance column"))
    sig_desc = "residual SD of log size" + (" in the reference stratum (see variance_function)" if vf else "")
    vrows.append(("sigma", s2, np.sqrt(s2), "log size (dimensionless)", sig_desc))
    variance = pd.DataFrame(vrows, columns=["component", "variance", "sd", "unit", "description"])
    vfr = []
    if f.arm_ratio is not None:
        used = np.unique(armi[des.mask.any(axis=1)])
        for k, r in zip(used, f.arm_ratio):
            vfr.append(("arm", gd.arms[k], "sd_ratio", r, np.sqrt(s2) * r, "varIdent by arm: residual SD / reference"))
    if f.animal_ratio is not None:
        used = np.flatnonzero(des.mask.any(axis=1))
        for k, r in zip(used, f.animal_ratio):
            vfr.append(("animal", gd.subjects[k], "sd_ratio", r, np.sqrt(s2) * r,
                        "varIdent by animal: residual SD / reference"))
    if f.power is not None:
        cv = "fitted" if "power" in vf else "time"
        vfr.append(("power", cv, "delta", f.power, np.nan,
                    f"varPower: residual SD proportional to |{cv}|^delta"))
    varfun = pd.DataFrame(vfr, columns=_empty_varfun().columns) if vfr else _empty_varfun()
    # animals, residuals
    st = slope_stats(d["t"], d["logrel"], d["mask"])
    b = f.ranef
    j_rate = 0 if random == "slope" else 1
    blup = beta[armi] + b[:, j_rate]
    animals = pd.DataFrame({"subject": gd.subjects, "arm": gd.arms[armi], "n_obs": des.mask.sum(axis=1).astype(int),
                            "ols_rate": st.slope, "blup_rate": blup})
    if random != "slope":
        animals["blup_intercept"] = b[:, 0]
    si, ji = np.nonzero(des.mask)
    fc = f.fitted_conditional[si, ji]
    obs = des.y[si, ji]
    resid = obs - fc
    sdz = resid / (np.sqrt(s2) * f.weights[si, ji]) if s2 > 0 else resid * np.nan
    residuals = pd.DataFrame({
        "subject": gd.subjects[si], "arm": gd.arms[armi[si]], "time": d["abs_t"][si, ji], "t": des.t[si, ji],
        "observed": obs, "fitted_marginal": f.fitted_marginal[si, ji], "fitted_conditional": fc,
        "residual": resid, "standardized": sdz,
    })
    # influence: leave-one-animal-out refits started at the full fit
    infl = None
    if influence:
        S = gd.n_subjects
        bl = np.full((S, K), np.nan)
        loo = lme_leave_one_out(des, f, variance=vf, correlated=correlated, method=method,
                                keep=lambda mk: all(mk[armi == k].any() for k in range(K)))
        for i, b in enumerate(loo):
            if b is not None:
                bl[i] = b[rate_idx]
        infl = _influence_table(gd, armi, beta, cov_model, bl)
    rel = f.G[j_rate, j_rate] * np.mean(des.t[des.mask] ** 2) / max(s2, 1e-300)
    diagnostics = _diagnostics(residuals, bool(rel < 1e-6), infl)
    tunits = {"intercept": "log size", "log_baseline": "log size per log size"}
    fixed = pd.DataFrame({"term": names, "estimate": f.beta, "stderr": np.sqrt(np.diag(f.cov_beta)),
                          "unit": [tunits.get(n, unit) for n in names]})
    model = {"variance": "+".join(vf) if vf else "none", "baseline_model": baseline_model, "random": random,
             "se": se_txt}
    return MixedGrowthFit(
        rates=rates, variance=variance, animals=animals, residuals=residuals, diagnostics=diagnostics,
        cov=cov, loglik=f.loglik, nobs=int(f.nobs), method=method, backend="iterative", dropout=drop_txt,
        below_lloq=_lloq_text(below_lloq, gd), units=gd.units, ci_level=ci_level, note=_VARIANCE_NOTE, data=gd_used,
        fixed=fixed, variance_function=varfun, influence=infl, model=model, n_params=int(f.p + f.n_theta),
        response=response,
    )


def compare_mixed(*fits, names: Sequence[str] | None = None) -> pd.DataFrame:
    """AIC, BIC and likelihood-ratio tests between mixed-model fits of the same data.

    Parameters
    ----------
    *fits : MixedGrowthFit
        Two or more fits of the same response and observations, all REML or all ML.  REML
        fits must share the fixed effects (they compare variance structures: variance
        functions, random effects); to compare fixed effects (e.g. baseline covariate) refit
        with ``method="ml"``.
    names : sequence of str, optional
        Row labels (default: ``model`` descriptions).

    Returns
    -------
    pandas.DataFrame
        One row per fit, in the order given: ``name, method, n_params, loglik, aic, bic`` and,
        against the previous row, ``lr_stat, lr_df, p_value`` (chi-square with the difference
        in parameter counts; when a variance component is tested on its boundary, e.g.
        ``tau = 0``, this p-value is conservative, Self & Liang 1987).  ``bic`` uses
        ``N - p`` observations for REML and ``N`` for ML, as nlme does.
    """
    if len(fits) < 2:
        raise DataError("compare_mixed needs at least two fits.")
    f0 = fits[0]
    for f in fits:
        if not isinstance(f, MixedGrowthFit):
            raise DataError(f"compare_mixed takes MixedGrowthFit objects, got {type(f).__name__}.")
        if f.response != f0.response or f.nobs != f0.nobs:
            raise DataError(f"fits are of different data ({f0.response!r}, {f0.nobs} obs vs {f.response!r}, "
                            f"{f.nobs} obs); likelihoods are not comparable.")
        if f.method != f0.method:
            raise DataError("fits mix REML and ML; refit all with the same method.")
        if f.method == "reml" and list(f.fixed["term"]) != list(f0.fixed["term"]):
            raise DataError("REML likelihoods of models with different fixed effects are not comparable; "
                            "refit with method='ml' to compare fixed effects (REML is for variance structures).")
    rows = []
    prev = None
    for i, f in enumerate(fits):
        k = f.n_params
        p = len(f.fixed)
        n_eff = f.nobs - p if f.method == "reml" else f.nobs
        aic = -2 * f.loglik + 2 * k
        bic = -2 * f.loglik + k * np.log(n_eff)
        name = names[i] if names is not None else ", ".join(f"{a}={b}" for a, b in f.model.items() if a != "se")
        lr = dfl = pv = np.nan
        if prev is not None:
            dfl = abs(k - prev.n_params)
            big, small = (f, prev) if k >= prev.n_params else (prev, f)
            lr = 2 * (big.loglik - small.loglik)
            pv = float(stats.chi2.sf(lr, dfl)) if dfl > 0 else np.nan
        rows.append((name, f.method, k, f.loglik, aic, bic, lr, dfl, pv))
        prev = f
    return pd.DataFrame(rows, columns=["name", "method", "n_params", "loglik", "aic", "bic", "lr_stat", "lr_df",
                                       "p_value"])


def _lloq_text(rule: str, gd: GrowthData) -> str:
    n = int(gd.censored.sum())
    if n == 0:
        return f"none below the detection limit (rule {rule!r} not needed)"
    what = {"lloq": "replaced by the LLOQ", "half-lloq": "replaced by LLOQ/2", "drop": "excluded"}[rule]
    return f"{n} left-censored size(s) {what} before taking logs"


def _diagnostics(res: pd.DataFrame, boundary: bool, influence: pd.DataFrame | None = None) -> pd.DataFrame:
    z = res["standardized"].to_numpy()
    rows = []
    if z.size >= 3 and np.ptp(z) > 0:
        sw = stats.shapiro(z)
        rows.append(("shapiro_wilk_normality", float(sw.statistic), float(sw.pvalue),
                     "small p: residuals of log size are not normal (outliers, wrong growth model)"))
    else:
        rows.append(("shapiro_wilk_normality", np.nan, np.nan, "too few residuals"))
    # standardized (Pearson) residuals: the same statistics as raw ones for a single residual SD,
    # and the check that matters after a variance function
    groups = [g["standardized"].to_numpy() for _, g in res.groupby("arm", sort=False) if len(g) >= 2]
    if len(groups) >= 2 and all(np.ptp(g) > 0 for g in groups):
        lv = stats.levene(*groups, center="median")
        rows.append(("levene_equal_spread_across_arms", float(lv.statistic), float(lv.pvalue),
                     "small p: residual SD differs between arms"))
    else:
        rows.append(("levene_equal_spread_across_arms", np.nan, np.nan, "too few residuals per arm"))
    if z.size >= 3 and np.ptp(res["fitted_conditional"]) > 0 and np.ptp(z) > 0:
        r, p = stats.pearsonr(res["fitted_conditional"], res["standardized"])
        rows.append(("residual_vs_fitted_correlation", float(r), float(p),
                     "non-zero: curvature, e.g. growth slowing down (consider Gompertz per animal)"))
    else:
        rows.append(("residual_vs_fitted_correlation", np.nan, np.nan, "too few residuals"))
    rows.append(("tau2_on_boundary", float(boundary), np.nan,
                 "1: no detectable between-animal variation in growth rate"))
    if influence is not None:
        fl = influence[influence["flagged"]]
        names = ", ".join(f"{a} (D={d:.2f})" for a, d in zip(fl["subject"], fl["cooks_distance"]))
        rows.append(("influential_animals", float(len(fl)), np.nan,
                     f"Cook's distance > {_COOK_RULE_TEXT}: " + (names if len(fl) else "none")))
    return pd.DataFrame(rows, columns=["check", "statistic", "p_value", "comment"])


# --------------------------------------------------------------------------- per-animal fits
@dataclass(frozen=True)
class GrowthFit(ResultIO):
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
            spec = get_growth_model(m)
            names = spec.param_names
            ds[m] = xr.DataArray(est, dims=("subject", f"{m}_param"),
                                 coords={"subject": self.data.subjects.astype(str), f"{m}_param": list(names)},
                                 attrs={"units": units_by(names, [_unit(p.name, p.unit, self.data)
                                                                  for p in spec.params])})
        ds.attrs["units"] = str(self.units)
        return ds

    def plot(self, ax=None, model: str = "exponential", *, kind: str = "curves", **kwargs):
        """Data and fitted curves per arm (``kind="curves"``, the only kind); returns the Axes."""
        from ..plot.growth import plot_fitted_curves

        check_kind(kind, ("curves",), "GrowthFit")
        return plot_fitted_curves(self, ax=ax, model=model, **kwargs)


def _unit(pname, unit_kind, gd):
    return {"size": gd.size_unit, "1/time": f"1/{gd.time_unit}",
            "size/time": f"{gd.size_unit}/{gd.time_unit}"}.get(unit_kind, unit_kind)


@validate_params({
    "scale": [StrOptions({"log", "size"})],
    "below_lloq": [StrOptions(set(LLOQ_RULES))],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "errors": [StrOptions({"warn", "raise"}), Check(lambda v: v == "ignore", "'ignore' (deprecated)")],
    "maxiter": [Interval(Integral, 1, None)],
})
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
    errors : {"warn", "raise"}
        ``"warn"`` (default): failed fits are NaN rows with ``converged=False`` and one
        :class:`ConvergenceWarning` counts them; ``"raise"``: a :class:`FitError` when any
        fit failed (as :func:`comboplan.fit_dose_response`).  ``"ignore"`` (NaN rows, no
        warning) is deprecated: use ``"warn"`` and filter the :class:`ConvergenceWarning`.
    maxiter : int
        Iteration limit of the engine.
    **validate_kwargs
        Passed to :func:`validate_growth`.

    Returns
    -------
    GrowthFit

    Raises
    ------
    InvalidParameterError
        An option outside its allowed values (``ci_level=95``, ``scale="linear"``, ...).
    DataError
        Malformed data (see :func:`validate_growth`) or an unknown model name.
    """
    from ..fitting.batch import fit_curves

    if errors == "ignore":
        warnings.warn("fit_growth(): errors='ignore' is deprecated and will be removed; use errors='warn' (the value "
                      "every comboplan function takes) and filter comboplan.exceptions.ConvergenceWarning, or "
                      "errors='raise'.", FutureWarning, stacklevel=2)
    gd = as_growth_data(data, subject, arm, time, size, **validate_kwargs)
    models = tuple(str(m).lower() for m in models)
    for m in models:
        if m not in GROWTH_MODELS:
            raise DataError(f"unknown growth model {m!r}; choose from {sorted(GROWTH_MODELS)}.")
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
    if n_fail and errors == "raise":
        raise FitError(f"{n_fail} of {len(models) * gd.n_subjects} per-animal growth fits did not converge (see "
                       "the messages with errors='warn': GrowthFit.fits['message']). Pass errors='warn' to get them "
                       "as NaN rows instead.")
    if n_fail and errors == "warn":
        warnings.warn(f"{n_fail} of {len(models) * gd.n_subjects} per-animal growth fits did not converge; "
                      "they are NaN rows with converged=False (see GrowthFit.fits['message']).",
                      ConvergenceWarning, stacklevel=2)
    return GrowthFit(params=params, fits=fits, comparison=comparison,
                     arm_summary=arm_summary, models=models, scale=scale,
                     below_lloq=_lloq_text(below_lloq, gd), units=gd.units, estimates=ests, data=gd,
                     baseline_time=gd.baseline_time())
