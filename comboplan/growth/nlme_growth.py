r"""Nonlinear mixed-effects growth models: Gompertz, logistic and exponential, per-arm fixed effects.

:func:`fit_growth_nlme` fits a population growth curve to per-animal tumour sizes with the
package's NLME engine (:mod:`comboplan.fitting.nlme`: Laplace / FOCE-I, ML or REML), the
same engine as :func:`comboplan.fit_tgi`.  Time ``t`` is measured from ``time_origin``
(default: the first measurement time of the study), sizes are in the caller's unit.

**Models** (on the log scale; ``V`` size, ``t`` time since ``time_origin``):

* ``"gompertz"`` (Benzekry et al. 2014, eq. for the Gompertz model):
  :math:`\log V = \log v_0 + \frac{\alpha}{\beta}\,(1 - e^{-\beta t})`, i.e.
  :math:`dV/dt = \alpha e^{-\beta t} V`: ``rate`` :math:`=\alpha` is the initial specific
  growth rate (1/time), ``decay`` :math:`=\beta` the rate at which it decays (1/time); the
  plateau is :math:`v_{max} = v_0 e^{\alpha/\beta}` (reported as a derived quantity).
* ``"logistic"`` (Verhulst): :math:`V = v_{max} / (1 + (v_{max}/v_0 - 1) e^{-r t})`;
  ``rate`` :math:`= r` (1/time), ``vmax`` the carrying capacity (size unit).
* ``"exponential"``: :math:`\log V = \log v_0 + r t`, ``rate`` on the natural scale (may
  be negative), a normal random effect on it; this is a linear mixed model, for which the
  Laplace likelihood is exact.

**Parameter model.**  Positive parameters are estimated on the log scale, one typical value
per arm for the parameters in ``by_arm`` (cell means) and one for all arms otherwise; a
parameter in ``random`` gets one between-animal effect common to all arms:
:math:`\log p_i = \log p_{k(i)} + \eta_{i}`, :math:`\eta_i \sim N(0, \omega_p^2)`
(log-normal; additive for the exponential rate), independent across parameters.

**Residual error**: additive on log size (``error="log"``, default; proportional on the
natural scale, the usual choice for calipers and luminescence), or additive /
proportional / combined on the natural scale.  Sizes below a declared LLOQ enter as
left-censored observations (Beal's M3).

**Comparison with R's nlme.**  ``nlme::nlme`` maximises the Lindstrom-Bates (1990)
approximation: it alternates penalised nonlinear least squares with a linear mixed model
linearised at the conditional modes.  At any given parameters its log-likelihood equals
the Laplace / FOCE-I value this engine computes (additive homoscedastic error; both use
the Gauss-Newton Hessian), but its estimates are the fixed point of the alternation, which
ignores how the Jacobian of the random effects changes with the parameters.  Where that
Jacobian is constant (a random effect on ``v0`` only in the Gompertz model, or the
exponential model) both are exact maximum likelihood and agree to nlme's printed digits;
otherwise the estimates differ by a small fraction of a standard error (tested against
frozen references in ``tests/reference/nlme_growth``).  ``se="nlme"`` reproduces nlme's
standard errors of the fixed effects (the GLS covariance of the linearised model at the
modes, scaled by ``N / (N - p)`` under ML as nlme does).

References: Benzekry S. et al., PLoS Comput Biol 2014;10:e1003800 (tumour growth models);
Laird AK, Br J Cancer 1964;18:490 (Gompertz); Lindstrom MJ & Bates DM, Biometrics
1990;46:673; Pinheiro JC & Bates DM, *Mixed-Effects Models in S and S-PLUS*, Springer 2000,
ch. 7-8.  Equations: ``docs/models/growth.md``.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .._params import Interval, Real, StrOptions, validate_params
from ..exceptions import DataError, InvalidParameterError
from ..results import ResultIO

__all__ = ["fit_growth_nlme", "GrowthNLMEFit", "compare_growth_nlme", "NLME_GROWTH_MODELS"]

#: model -> (parameters in order, estimation scale of each)
NLME_GROWTH_MODELS = {
    "gompertz": (("v0", "rate", "decay"), ("log", "log", "log")),
    "logistic": (("v0", "rate", "vmax"), ("log", "log", "log")),
    "exponential": (("v0", "rate"), ("log", "identity")),
}
_EQUATIONS = {
    "gompertz": "log V = log v0 + (rate / decay) (1 - exp(-decay t))   [V = v0 exp((a/b)(1 - e^-bt)), a = rate, "
                "b = decay; plateau vmax = v0 exp(rate/decay)]",
    "logistic": "V = vmax / (1 + (vmax / v0 - 1) exp(-rate t))",
    "exponential": "log V = log v0 + rate t",
}
_ERRORS = ("log", "additive", "proportional", "combined")
_TOL = 1e-10   # engine tolerance: estimates settle to ~1e-7 (nlme's printed digits are 7 significant)
RATE_MIN, RATE_MAX = 1e-6, 1e3   # bounds of positive rates x study duration (no growth .. instant)
VMAX_FOLD = math.log(1e6)        # vmax at most 1e6 x the largest size observed (beyond: no saturation seen)


# ----------------------------------------------------------------------------- structural model
def _log_size(model: str, t, lv0, p2, p3=None):
    """log V at times ``t`` from estimation-scale parameters (broadcasting).

    ``lv0`` log v0; ``p2`` log rate (gompertz, logistic) or rate (exponential); ``p3`` log decay
    (gompertz) or log vmax (logistic)."""
    if model == "exponential":
        return lv0 + p2 * t
    rate = np.exp(p2)
    if model == "gompertz":
        decay = np.exp(p3)
        # (1 - e^{-b t}) / b without cancellation for small b t
        return lv0 + rate * (-np.expm1(-decay * t)) / decay
    # logistic: log V = log K - log(1 + (K/v0 - 1) e^{-r t}), without overflow
    a = np.exp(p3 - lv0) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.where(a > 0, np.logaddexp(0.0, np.log(np.abs(a)) - rate * t),
                      np.log1p(a * np.exp(-rate * t)))
    return p3 - lg


def _units(model, size_unit, time_unit):
    u = {"v0": size_unit, "rate": f"1/{time_unit}", "decay": f"1/{time_unit}", "vmax": size_unit}
    return {p: u[p] for p in NLME_GROWTH_MODELS[model][0]}


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class GrowthNLMEFit(ResultIO):
    """A nonlinear mixed-effects growth fit (immutable).

    Attributes
    ----------
    params : pandas.DataFrame
        One row per estimated or derived quantity: ``parameter, arm`` (``"all"`` when common to
        the arms), ``kind`` (``fixed`` typical value, ``derived``, ``omega`` between-animal SD,
        ``sigma`` residual error), ``estimate, stderr, ci_low, ci_high, unit, scale, note``.
        Positive parameters have Wald intervals on the log scale (asymmetric, ``scale="log"``)
        and a delta-method ``stderr``; ``omega`` of a log-scale parameter is the SD of its
        logarithm.
    contrasts : pandas.DataFrame
        Every arm against the first (reference) arm for each parameter in ``by_arm``; see
        :meth:`compare_arms`.
    animals : pandas.DataFrame
        Per animal: ``subject, arm, n_obs``, the individual parameters (empirical Bayes,
        natural scale) and the random effects ``eta.<parameter>``.
    predictions : pandas.DataFrame
        Per observation: ``subject, arm, time, observed, censored, pred`` (typical animal of its
        arm), ``ipred`` (the animal's own parameters; size unit), ``iwres`` (individual weighted
        residual on the modelling scale).
    loglik : float
        Maximised log-likelihood (Laplace / FOCE-I; restricted for ``method="reml"``).
    aic, bic : float
        ``-2 loglik + 2 k`` and ``-2 loglik + k log N`` (N: uncensored + censored observations).
    n_params : int
        Number of estimated parameters ``k`` (typical values, between-animal SDs, residual).
    nobs, n_animals : int
    method : str
        ``"ml"`` or ``"reml"``.
    converged : bool
    message : str
        Optimiser message and any covariance-step notes.
    ci_level : float
    cov : numpy.ndarray
        Covariance of the estimation vector (``labels``): log typical values (natural value for
        the exponential rate), log omegas, log sigma.  Fixed effects use the ``se`` rule.
    labels : list of str
        Names of the estimation vector: ``rate[arm]`` / ``v0`` ..., ``omega.<p>``, ``sigma.<kind>``.
    estimates : numpy.ndarray
        The estimation vector at the optimum.
    settings : dict
        ``model, equation, by_arm, random, error, se, time_origin, arms, units, size_unit,
        time_unit, kind, estimator, data_key`` (a fingerprint of the data, for comparisons),
        ``notes``.

    ``to_netcdf(path)`` writes the result; :func:`comboplan.load_result` reads it back.
    """

    params: pd.DataFrame
    contrasts: pd.DataFrame
    animals: pd.DataFrame
    predictions: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    n_params: int
    nobs: int
    n_animals: int
    method: str
    converged: bool
    message: str
    ci_level: float
    cov: np.ndarray
    labels: list
    estimates: np.ndarray
    settings: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    @property
    def arms(self) -> list:
        """Arm labels in result order."""
        return list(self.settings["arms"])

    @property
    def typical(self) -> pd.DataFrame:
        """Typical values per arm (natural scale): one row per arm, one column per parameter."""
        names = NLME_GROWTH_MODELS[self.settings["model"]][0]
        fx = self.params[self.params["kind"] == "fixed"]
        out = pd.DataFrame({"arm": self.arms})
        for p in names:
            rows = fx[fx["parameter"] == p]
            if (rows["arm"] == "all").any():
                out[p] = float(rows["estimate"].iloc[0])
            else:
                out[p] = [float(rows.loc[rows["arm"] == str(a), "estimate"].iloc[0]) for a in self.arms]
        return out

    def _index(self, parameter, arm) -> int:
        lab = parameter if parameter not in self.settings["by_arm"] else f"{parameter}[{arm}]"
        return self.labels.index(lab)

    # ------------------------------------------------------------------ contract
    def predict(self, time=None, arm=None):
        """Typical-animal growth curve of each arm (random effects at 0: the median animal).

        Parameters
        ----------
        time : array_like, optional
            Times in the data's time unit (default: 100 points from ``time_origin`` to the last
            measurement).
        arm : str or sequence of str, optional
            Arms (default all).

        Returns
        -------
        xarray.DataArray
            Dims ``(arm, time)``, size in the size unit (``attrs["units"]``).
        """
        import xarray as xr

        s = self.settings
        if time is None:
            time = np.linspace(s["time_origin"], float(self.predictions["time"].max()), 100)
        time = np.atleast_1d(np.asarray(time, dtype=float))
        if not np.all(np.isfinite(time)):
            raise DataError("predict(): time must hold finite numbers (time unit of the data).")
        arms = self.arms if arm is None else ([arm] if isinstance(arm, str) else list(arm))
        unknown = [a for a in arms if a not in self.arms]
        if unknown:
            raise DataError(f"predict(): arm(s) {unknown} not in the fit; arms are {self.arms}.")
        names = NLME_GROWTH_MODELS[s["model"]][0]
        out = np.empty((len(arms), time.size))
        for k, a in enumerate(arms):
            x = [self.estimates[self._index(p, a)] for p in names]
            out[k] = np.exp(_log_size(s["model"], time - s["time_origin"], *x))
        return xr.DataArray(out, dims=("arm", "time"), coords={"arm": np.array(arms, dtype=str), "time": time},
                            name="size", attrs={"units": s["size_unit"], "time_units": s["time_unit"],
                                                "description": "typical-animal prediction (random effects 0)"})

    def compare_arms(self, parameter: str = "rate", *, reference: str | None = None, pairs: str = "reference",
                     ci_level: float | None = None) -> pd.DataFrame:
        """Wald comparisons of a per-arm growth parameter between arms.

        Parameters
        ----------
        parameter : str
            A parameter fitted per arm (in ``settings["by_arm"]``), e.g. ``"rate"``.
        reference : str, optional
            Reference arm (default: the first arm).
        pairs : {"reference", "all"}
            Every arm against the reference, or all pairs.
        ci_level : float, optional
            Level of the intervals (default: the fit's).

        Returns
        -------
        pandas.DataFrame
            One row per pair: ``parameter, arm, reference, estimate, reference_estimate,
            difference, diff_stderr, diff_ci_low, diff_ci_high`` (natural scale, delta method;
            the parameter's unit), ``ratio, ratio_ci_low, ratio_ci_high`` (arm / reference, from
            the log-scale Wald interval; NaN for a natural-scale parameter), ``z, p_value``
            (two-sided Wald test of equality on the estimation scale: log ratio = 0, or
            difference = 0 for the exponential rate) and ``unit``.
        """
        s = self.settings
        if parameter not in s["by_arm"]:
            raise InvalidParameterError(
                f"compare_arms(): {parameter!r} is not fitted per arm (by_arm={tuple(s['by_arm'])}); refit with "
                f"by_arm=({parameter!r}, ...) to compare it between arms.")
        if pairs not in ("reference", "all"):
            raise InvalidParameterError(f"compare_arms(): pairs must be 'reference' or 'all'; got {pairs!r}.")
        lv = self.ci_level if ci_level is None else ci_level
        if not (isinstance(lv, (int, float)) and not isinstance(lv, bool) and 0 < lv < 1):
            raise InvalidParameterError(f"compare_arms(): ci_level must be a number in (0, 1), e.g. 0.95; got {lv!r}.")
        ref = self.arms[0] if reference is None else reference
        if ref not in self.arms:
            raise DataError(f"compare_arms(): reference arm {ref!r} is not in the fit; arms are {self.arms}.")
        if pairs == "reference":
            todo = [(a, ref) for a in self.arms if a != ref]
        else:
            todo = [(a, b) for i, b in enumerate(self.arms) for a in self.arms[i + 1:]]
        return _contrasts(self, parameter, todo, lv)

    def summary(self) -> str:
        """The model, the fit statistics, the parameter table and the arm comparisons, as text."""
        s = self.settings
        lines = [
            f"Nonlinear mixed-effects growth model: {s['model']} ({s['estimator']})",
            f"  {s['equation']}",
            f"  t = time - {s['time_origin']:g} {s['time_unit']}; size in {s['size_unit']}; per arm: "
            f"{', '.join(s['by_arm']) or 'none'}; log-normal random effects on {', '.join(s['random']) or 'none'}"
            + (" (normal for the exponential rate)" if s["model"] == "exponential" and "rate" in s["random"] else ""),
            f"  residual error: {_ERROR_TEXT[s['error']]}; standard errors: {_SE_TEXT[s['se']]}",
            f"{self.n_animals} animals, {self.nobs} observations ({s.get('n_censored', 0)} censored below the LLOQ), "
            f"arms {', '.join(map(str, self.arms))}",
            f"{'REML' if self.method == 'reml' else 'ML'} log-likelihood {self.loglik:.4f}; AIC {self.aic:.3f}; "
            f"BIC {self.bic:.3f}; {self.n_params} parameters; "
            + ("converged" if self.converged else f"NOT converged: {self.message}"),
            "",
        ]
        tab = self.params[["parameter", "arm", "kind", "estimate", "stderr", "ci_low", "ci_high", "unit"]]
        lines.append(tab.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
        if len(self.contrasts):
            lines += ["", f"Arm comparisons (vs {self.arms[0]}; Wald, {100 * self.ci_level:g}% CI):"]
            c = self.contrasts[["parameter", "arm", "difference", "diff_ci_low", "diff_ci_high", "ratio", "z",
                                "p_value"]]
            lines.append(c.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        notes = [n for n in self.params["note"] if n] + list(s.get("notes", []))
        lines += [f"note: {n}" for n in dict.fromkeys(notes)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GrowthNLMEFit(model={self.settings['model']!r}, method={self.method!r}, "
                f"loglik={self.loglik:.4f}, n_animals={self.n_animals}, nobs={self.nobs})")

    def to_xarray(self):
        """Dataset with the typical values per arm, between-animal SDs, individual parameters and
        the covariance of the estimates, each with a ``units`` attribute.

        Returns
        -------
        xarray.Dataset
            ``typical`` (arm, parameter), ``typical_stderr``, ``typical_ci_low``,
            ``typical_ci_high``; ``omega`` (random), ``sigma`` (sigma_kind); ``individual``
            (subject, parameter); ``cov`` (estimated, estimated2); attrs: model, method, loglik,
            aic, bic, units.
        """
        import xarray as xr

        s = self.settings
        names = list(NLME_GROWTH_MODELS[s["model"]][0])
        units = s["units"]
        fx = self.params[self.params["kind"] == "fixed"]
        arr = {c: np.full((len(self.arms), len(names)), np.nan) for c in ("estimate", "stderr", "ci_low", "ci_high")}
        for j, p in enumerate(names):
            rows = fx[fx["parameter"] == p]
            for k, a in enumerate(self.arms):
                r = rows[rows["arm"].isin(["all", str(a)])].iloc[0]
                for c in arr:
                    arr[c][k, j] = r[c]
        coords = {"arm": np.array(self.arms, dtype=str), "parameter": np.array(names, dtype=str),
                  "unit": ("parameter", np.array([units[p] for p in names], dtype=str))}
        ustr = "; ".join(f"{p}: {units[p]}" for p in names)
        ds = xr.Dataset({"typical" if c == "estimate" else f"typical_{c}": (("arm", "parameter"), v)
                         for c, v in arr.items()}, coords=coords)
        om = self.params[self.params["kind"] == "omega"]
        ds["omega"] = xr.DataArray(om["estimate"].to_numpy(float), dims="random",
                                   coords={"random": om["parameter"].str.replace("omega.", "", regex=False)
                                           .to_numpy(dtype=str)})
        sg = self.params[self.params["kind"] == "sigma"]
        ds["sigma"] = xr.DataArray(sg["estimate"].to_numpy(float), dims="sigma_kind",
                                   coords={"sigma_kind": sg["parameter"].to_numpy(dtype=str)})
        ind = self.animals
        ds["individual"] = xr.DataArray(ind[names].to_numpy(float), dims=("subject", "parameter"),
                                        coords={"subject": ind["subject"].astype(str).to_numpy(dtype=str),
                                                "subject_arm": ("subject", ind["arm"].astype(str).to_numpy(dtype=str))})
        ds["cov"] = xr.DataArray(np.asarray(self.cov, float), dims=("estimated", "estimated2"),
                                 coords={"estimated": np.array(self.labels, dtype=str),
                                         "estimated2": np.array(self.labels, dtype=str)})
        for v in ("typical", "typical_stderr", "typical_ci_low", "typical_ci_high", "individual"):
            ds[v].attrs["units"] = ustr
        ds["omega"].attrs["units"] = "SD of the log parameter (1/time unit for the exponential rate)"
        ds["sigma"].attrs["units"] = _SIGMA_UNIT[s["error"]](s["size_unit"])
        ds["cov"].attrs["units"] = "estimation scale: log of positive parameters, omegas and sigmas"
        ds.attrs.update({"model": s["model"], "equation": s["equation"], "method": self.method,
                         "estimator": s["estimator"], "loglik": float(self.loglik), "aic": float(self.aic),
                         "bic": float(self.bic), "n_params": int(self.n_params), "nobs": int(self.nobs),
                         "time_origin": float(s["time_origin"]), "size_unit": s["size_unit"],
                         "time_unit": s["time_unit"], "units": str(units), "error": s["error"], "se": s["se"],
                         "ci_level": float(self.ci_level)})
        return ds

    def plot(self, *, kind: str = "curves", ax=None, **kwargs):
        """Plot the fit; returns the Axes (never shows).

        Parameters
        ----------
        kind : {"curves", "individual", "residuals"}
            Observed sizes per arm with the typical-animal curves (log size axis); observed
            against individual predictions per animal; individual weighted residuals against
            time.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot.growth_nlme import plot_growth_nlme

        return plot_growth_nlme(self, kind=kind, ax=ax, **kwargs)


_ERROR_TEXT = {"log": "additive on log size (proportional on the natural scale)",
               "additive": "additive on the natural scale", "proportional": "proportional on the natural scale",
               "combined": "additive + proportional on the natural scale"}
_SE_TEXT = {"observed": "inverse observed information of the Laplace likelihood (joint with the variance "
                        "parameters)",
            "nlme": "nlme's: GLS covariance of the model linearised at the conditional modes"}
_SIGMA_UNIT = {"log": lambda u: "SD of log size", "additive": lambda u: u, "proportional": lambda u: "1 (fraction)",
               "combined": lambda u: f"sigma.add: {u}; sigma.prop: 1 (fraction)"}


def _exp(v: float) -> float:
    """exp without OverflowError (inf beyond the float range; NaN stays NaN)."""
    return math.exp(v) if v < 709.0 else (math.inf if v == v else math.nan)


def _qf(cov, weights: dict) -> float:
    """sqrt(g' cov g) for a gradient with the nonzero entries ``weights`` {index: value} (NaN entries of
    ``cov`` outside those indices do not matter)."""
    idx = list(weights)
    g = np.array([weights[i] for i in idx], dtype=float)
    sub = np.asarray(cov, float)[np.ix_(idx, idx)]
    if not np.all(np.isfinite(sub)):
        return np.nan
    v = float(g @ sub @ g)
    return math.sqrt(v) if v >= 0 else np.nan


def _contrasts(fit: GrowthNLMEFit, parameter: str, pairs, level: float) -> pd.DataFrame:
    z = float(stats.norm.ppf(0.5 + level / 2))
    log_scale = dict(zip(*NLME_GROWTH_MODELS[fit.settings["model"]]))[parameter] == "log"
    unit = fit.settings["units"][parameter]
    rows = []
    x, cov = fit.estimates, fit.cov
    for a, b in pairs:
        i, j = fit._index(parameter, a), fit._index(parameter, b)
        d = float(x[i] - x[j])
        se = _qf(cov, {i: 1.0, j: -1.0})
        zs = d / se if se > 0 else np.nan
        p = float(2 * stats.norm.sf(abs(zs))) if np.isfinite(zs) else np.nan
        if log_scale:
            ea, eb = math.exp(x[i]), math.exp(x[j])
            dse = _qf(cov, {i: ea, j: -eb})
            diff = ea - eb
            ratio, rlo, rhi = math.exp(d), math.exp(d - z * se), math.exp(d + z * se)
        else:
            ea, eb, diff, dse = float(x[i]), float(x[j]), d, se
            ratio = rlo = rhi = np.nan
        rows.append({"parameter": parameter, "arm": a, "reference": b, "estimate": ea, "reference_estimate": eb,
                     "difference": diff, "diff_stderr": dse, "diff_ci_low": diff - z * dse,
                     "diff_ci_high": diff + z * dse, "ratio": ratio, "ratio_ci_low": rlo, "ratio_ci_high": rhi,
                     "z": zs, "p_value": p, "unit": unit})
    return pd.DataFrame(rows, columns=["parameter", "arm", "reference", "estimate", "reference_estimate",
                                       "difference", "diff_stderr", "diff_ci_low", "diff_ci_high", "ratio",
                                       "ratio_ci_low", "ratio_ci_high", "z", "p_value", "unit"])


# ----------------------------------------------------------------------------- the fit
def _as_names(value, what, allowed):
    if value is None:
        return None
    vals = (value,) if isinstance(value, str) else tuple(value)
    bad = [v for v in vals if v not in allowed]
    if bad:
        raise InvalidParameterError(
            f"fit_growth_nlme(): {what} names {bad}, which are not parameters of this model; choose among "
            f"{allowed}, e.g. {what}=({allowed[1]!r},).")
    if len(set(vals)) != len(vals):
        raise InvalidParameterError(f"fit_growth_nlme(): {what} lists a parameter twice: {vals!r}.")
    return tuple(p for p in allowed if p in vals)   # model order


@validate_params({
    "model": [StrOptions(set(NLME_GROWTH_MODELS))],
    "error": [StrOptions(set(_ERRORS))],
    "method": [StrOptions({"ml", "reml"})],
    "se": [StrOptions({"observed", "nlme"})],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "time_origin": [Interval(Real, None, None), None],
    "initial": [dict, None],
})
def fit_growth_nlme(data, *, subject: str, arm: str, time: str, size: str, model: str = "gompertz",
                    by_arm: Sequence[str] | str = ("rate",), random: Sequence[str] | str | None = None,
                    error: str = "log", method: str = "reml", se: str = "observed", ci_level: float = 0.95,
                    kind: str = "volume", size_unit: str | None = None, time_unit: str = "day", lloq=None,
                    censored: str | None = None, dropout: str | None = None, arm_order: Sequence | None = None,
                    time_origin: float | None = None,
                    initial: Mapping[str, float] | None = None) -> GrowthNLMEFit:
    """Fit a Gompertz, logistic or exponential nonlinear mixed-effects growth model.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy tumour sizes, one row per animal and time (not modified).
    subject, arm, time, size : str
        Column names: animal, treatment arm, measurement time (``time_unit``), tumour size
        (``size_unit``; > 0, or 0 / below ``lloq`` for undetectable tumours).
    model : {"gompertz", "logistic", "exponential"}
        Growth law (see the module docstring): parameters ``v0, rate, decay`` (Gompertz,
        ``V = v0 exp((rate/decay)(1 - exp(-decay t)))``), ``v0, rate, vmax`` (logistic) or
        ``v0, rate`` (exponential).  ``v0`` and ``vmax`` in the size unit, ``rate`` and
        ``decay`` in 1/time unit.
    by_arm : sequence of str
        Parameters with one typical value per arm (default ``("rate",)``: the arms differ in
        growth rate); the others are common to all arms.  ``()`` fits one curve for all arms.
    random : sequence of str, optional
        Parameters with a between-animal random effect (log-normal; normal for the exponential
        rate).  Default ``("v0", "rate")``.
    error : {"log", "additive", "proportional", "combined"}
        Residual error: additive on log size (default), or on the natural scale.
    method : {"reml", "ml"}
        Restricted likelihood of the model linearised at the modes (default; less downward bias
        of the between-animal SDs) or maximum likelihood (needed to compare models that differ
        in their fixed effects, e.g. ``by_arm``, with :func:`compare_growth_nlme`).
    se : {"observed", "nlme"}
        Standard errors of the typical values: inverse observed information of the Laplace
        likelihood, joint with the variance parameters (default), or nlme's (the GLS covariance
        of the model linearised at the conditional modes, conditional on the variance
        parameters, times ``N / (N - p)`` under ML; reproduces ``summary(nlme(...))``).
    ci_level : float
        Level of the Wald intervals (0-1); log-scale (asymmetric) for positive parameters.
    kind : {"volume", "luminescence"}
    size_unit : str, optional
        Unit of ``size`` (default from ``kind``: mm^3 or photons/s); recorded, never converted.
    time_unit : str
        Unit of ``time`` (default ``"day"``).
    lloq, censored, dropout, arm_order
        As :func:`comboplan.validate_growth`: sizes of 0 or below ``lloq`` are left-censored and
        enter the likelihood as "below the limit" (Beal's M3); ``dropout`` records why animals
        left early (their remaining data are used as observed: missing at random given the
        model); ``arm_order`` fixes the order of the arms (the first is the reference; default: the order
        of first appearance in the table).  Animals are taken in a canonical order (by label, then
        time), so the fit does not depend on the order of the rows.
    time_origin : float, optional
        Time at which the size equals ``v0`` (default: the earliest time in the data).
    initial : mapping, optional
        Starting values on the natural scale, e.g. ``{"rate": 0.2, "decay": 0.05}`` (default:
        a naive pooled least-squares fit).

    Returns
    -------
    GrowthNLMEFit

    Raises
    ------
    DataError
        Bad data (missing columns, negative sizes, an animal in two arms... as
        :func:`comboplan.validate_growth`), too few distinct times for the model, or an arm
        without two measurement times for a per-arm parameter.
    InvalidParameterError
        An option outside its allowed values (unknown model, a ``by_arm`` / ``random`` name
        that is not a parameter of the model, ``ci_level=95``...).

    Examples
    --------
    >>> fit = cp.fit_growth_nlme(df, subject="mouse", arm="group", time="day", size="volume",
    ...                          model="gompertz", method="ml")
    >>> fit.params                       # typical values per arm, omegas, sigma
    >>> fit.compare_arms("rate")         # rate of each arm vs the control, Wald CIs
    >>> common = cp.fit_growth_nlme(df, ..., by_arm=(), method="ml")
    >>> cp.compare_growth_nlme(common, fit)   # likelihood-ratio test: do the arms differ?
    """
    from ..fitting.nlme import fit_nlme

    st = _prepare(data, subject=subject, arm=arm, time=time, size=size, model=model, by_arm=by_arm, random=random,
                  error=error, kind=kind, size_unit=size_unit, time_unit=time_unit, lloq=lloq, censored=censored,
                  dropout=dropout, arm_order=arm_order, time_origin=time_origin, initial=initial)
    th0, om0, sg0 = st["theta0"], st["omega0"], st["sigma0"]
    if method == "reml":
        # REML is started at the ML optimum: from a distant start the restricted objective's first
        # quasi-Newton step can leave the region where it is finite and stop the search there
        ml = fit_nlme(st["prob"], th0, om0, sg0, fixed=st["fixed"], method="ml", tol=_TOL, compute_se=False)
        th0, om0, sg0 = list(ml.theta), list(ml.omega), list(ml.sigma)
    fit = fit_nlme(st["prob"], th0, om0, sg0, fixed=st["fixed"], method=method, tol=_TOL)
    return _build(fit, st, method, se, ci_level)


def _prepare(data, *, subject, arm, time, size, model, by_arm, random, error, kind, size_unit, time_unit, lloq,
             censored, dropout, arm_order, time_origin, initial) -> dict:
    """Validate the data and options and build the NLME problem with its starting values (no fitting).

    Returns
    -------
    dict
        ``prob`` (NLMEProblem), ``theta0, omega0, sigma0, fixed`` (fit_nlme's arguments) and what
        the result builder needs."""
    from ..fitting.nlme import NLMEProblem
    from .data import validate_growth

    names, scales = NLME_GROWTH_MODELS[model]
    by_arm = _as_names(by_arm, "by_arm", names) or ()
    random = _as_names(("v0", "rate") if random is None else random, "random", names) or ()
    if initial is not None:
        _as_names(tuple(initial), "initial", names)
        for k, v in initial.items():
            if not (isinstance(v, (int, float)) and np.isfinite(v)) or (scales[names.index(k)] == "log" and v <= 0):
                raise InvalidParameterError(f"fit_growth_nlme(): initial[{k!r}] must be a finite number"
                                            f"{' > 0' if scales[names.index(k)] == 'log' else ''}; got {v!r}.")
    if isinstance(data, pd.DataFrame) and {subject, arm, time} <= set(data.columns):
        # arms in the order of first appearance in the table as given (the first is the reference), animals
        # in a canonical order (by label, then time): the fit does not depend on the order of the rows
        if arm_order is None:
            arm_order = list(pd.unique(data[arm].dropna()))
        try:
            data = data.sort_values([subject, time], key=lambda c: c.astype(str) if c.name == subject else c,
                                    kind="stable")
        except (TypeError, ValueError):   # unsortable times: validate_growth names the bad cell
            pass
    gd = validate_growth(data, subject, arm, time, size, kind=kind, size_unit=size_unit, time_unit=time_unit,
                         lloq=lloq, censored=censored, dropout=dropout, arm_order=arm_order)
    arms = [str(a) for a in gd.arms]
    n, n_arms = gd.n_subjects, len(arms)
    t_all = gd.time
    t0 = float(np.min(t_all)) if time_origin is None else float(time_origin)
    n_times = np.unique(t_all).size
    if n_times < len(names) + 1:
        raise DataError(
            f"column {time!r} has {n_times} distinct time(s); the {model} model has {len(names)} growth parameters "
            f"and needs at least {len(names) + 1} measurement times (more for per-animal variability). Use "
            "comboplan.growth_endpoints for single-time comparisons, or a simpler model (model='exponential').")
    for k, a in enumerate(arms):
        nt = np.unique(t_all[gd.arm_idx == k]).size
        if by_arm and nt < 2:
            raise DataError(f"column {arm!r}: arm {a!r} has measurements at {nt} time only; its "
                            f"{', '.join(by_arm)} cannot be estimated. Drop the arm or pass by_arm=().")
    # padded arrays (animals x observations)
    counts = np.bincount(gd.subject_idx, minlength=n)
    m = int(counts.max())
    pos = np.arange(gd.n_obs) - np.concatenate([[0], np.cumsum(counts)[:-1]])[gd.subject_idx]
    tt = np.zeros((n, m))
    sz = np.ones((n, m))
    mask = np.zeros((n, m), bool)
    cens = np.zeros((n, m), bool)
    lq = np.full((n, m), np.nan)
    tt[gd.subject_idx, pos] = gd.time - t0
    sz[gd.subject_idx, pos] = gd.size
    mask[gd.subject_idx, pos] = True
    cens[gd.subject_idx, pos] = gd.censored
    lq[gd.subject_idx, pos] = gd.lloq
    yn = np.where(cens, lq, sz)          # natural scale; censored: the limit
    log_scale = error == "log"
    y = np.where(mask, np.log(np.where(mask, yn, 1.0)) if log_scale else yn, 0.0)
    if log_scale and np.any(mask & ~np.isfinite(y)):
        raise DataError(f"column {size!r}: some sizes are 0 without a detection limit; pass lloq=.")
    arm_of = gd.subject_arm.astype(int)

    # estimation columns: typical values (per arm or common) then one dummy per random effect
    cols, col_of = [], {}
    for p in names:
        if p in by_arm:
            col_of[p] = np.array([len(cols) + k for k in range(n_arms)])[arm_of]
            cols += [f"{p}[{a}]" for a in arms]
        else:
            col_of[p] = np.full(n, len(cols))
            cols.append(p)
    n_typ = len(cols)
    re_col = {}
    for p in random:
        re_col[p] = len(cols)
        cols.append(f"eta.{p}")

    def logsize(phi):
        """log V for rows of ``phi`` (animals repeated: row r is animal r % n)."""
        idx = np.arange(phi.shape[0])
        sub = idx % n
        vals = []
        for p in names:
            v = phi[idx, col_of[p][sub]]
            if p in re_col:
                v = v + phi[:, re_col[p]]
            vals.append(v[:, None])
        return _log_size(model, tt[sub], *vals)

    def predict(phi):
        f = logsize(phi)
        return f if log_scale else np.exp(f)

    cols_t = tuple(cols)
    # bounds (estimation scale) for the pooled starting fit only (the population fit is unbounded: finite
    # bounds make L-BFGS-B stop at its first step when that step reaches a point where the REML objective is
    # not finite); estimates in these regions are reported with a note (an arm that does not grow: rate -> 0;
    # no deceleration: decay -> 0 or vmax -> infinity)
    span = float(np.ptp(tt[mask])) or 1.0
    obs = np.log(yn[mask & ~cens]) if np.any(mask & ~cens) else np.log(yn[mask])
    lo_hi = {"v0": (float(obs.min()) - 20.0, float(obs.max()) + 20.0),
             "rate": ((math.log(RATE_MIN / span), math.log(RATE_MAX / span)) if scales[names.index("rate")] == "log"
                      else (-RATE_MAX / span, RATE_MAX / span)),
             "decay": (math.log(RATE_MIN / span), math.log(RATE_MAX / span)),
             "vmax": (float(obs.min()) - 20.0, float(obs.max()) + VMAX_FOLD)}
    lower = [lo_hi[c.split("[", 1)[0]][0] if not c.startswith("eta.") else -np.inf for c in cols_t]
    upper = [lo_hi[c.split("[", 1)[0]][1] if not c.startswith("eta.") else np.inf for c in cols_t]
    prob = NLMEProblem(predict, y, mask, cols_t, ("identity",) * len(cols_t),
                       tuple(c.startswith("eta.") for c in cols_t), error="additive" if log_scale else error,
                       censored=cens)
    dummies = {c: 0.0 for c in cols_t if c.startswith("eta.")}

    # starting values: naive pooled least squares on log size (uncensored observations)
    theta0 = _pooled_start(model, names, scales, col_of, n_typ, len(cols_t), logsize,
                           np.log(np.where(mask, yn, 1.0)), mask & ~cens, tt, arm_of, initial, by_arm, n_arms,
                           (np.asarray(lower[:n_typ]), np.asarray(upper[:n_typ])))
    ly = np.log(np.where(mask & ~cens, yn, np.nan))
    resid0 = ly - logsize(np.tile(np.concatenate([theta0, np.zeros(len(cols_t) - n_typ)]), (n, 1)))
    s_log = float(np.sqrt(np.nanmean(resid0 ** 2))) if np.isfinite(np.nanmean(resid0 ** 2)) else 0.3
    s_log = min(max(s_log, 0.02), 2.0)
    med = float(np.median(yn[mask & ~cens])) if np.any(mask & ~cens) else 1.0
    sigma0 = {"log": [s_log], "proportional": [s_log], "additive": [s_log * med],
              "combined": [0.05 * med, s_log]}[error]
    omega0 = []
    for p in random:
        if scales[names.index(p)] == "log":
            omega0.append(0.3)
        else:   # exponential rate: SD in 1/time
            omega0.append(max(0.3 * abs(float(theta0[col_of[p][0]])), 0.01 / max(float(np.ptp(tt[mask])), 1e-9)))
    return {"prob": prob, "theta0": list(theta0) + [0.0] * len(random), "omega0": omega0, "sigma0": sigma0,
            "fixed": dummies, "gd": gd, "model": model, "names": names, "scales": scales, "by_arm": by_arm,
            "random": random, "error": error, "t0": t0, "arms": arms, "cols": cols_t, "n_typ": n_typ,
            "col_of": col_of, "re_col": re_col, "logsize": logsize, "tt": tt, "mask": mask, "cens": cens, "yn": yn,
            "log_scale": log_scale, "arm_of": arm_of, "span": span, "log_size_max": float(obs.max())}


def _pooled_start(model, names, scales, col_of, n_typ, n_cols, logsize, ly, use, tt, arm_of, initial, by_arm, n_arms,
                  bounds):
    """Typical values (estimation scale) from a naive pooled least-squares fit of log size, inside ``bounds``
    (a margin of 1 % of the range, or 0.01, away from them)."""
    lo, hi = bounds
    margin = np.minimum(0.01 * (hi - lo), 0.01)
    lo_in, hi_in = lo + margin, hi - margin
    n = ly.shape[0]
    initial = dict(initial or {})
    span = float(np.ptp(tt[use])) if np.any(use) else 1.0
    span = span if span > 0 else 1.0
    # log-linear slope of the early half of every animal's data, per arm
    slopes = np.full(n, np.nan)
    first = np.full(n, np.nan)
    for i in range(n):
        k = np.flatnonzero(use[i])
        if k.size == 0:
            continue
        first[i] = ly[i, k[0]]
        h = k[: max(2, (k.size + 1) // 2)]
        if h.size >= 2 and np.ptp(tt[i, h]) > 0:
            slopes[i] = np.polyfit(tt[i, h], ly[i, h], 1)[0]
    lv0 = float(np.nanmedian(first)) if np.any(np.isfinite(first)) else 0.0
    arm_rate = np.array([np.nanmedian(slopes[arm_of == k]) if np.any(np.isfinite(slopes[arm_of == k])) else np.nan
                         for k in range(n_arms)])
    all_rate = float(np.nanmedian(slopes)) if np.any(np.isfinite(slopes)) else 1.0 / span
    arm_rate = np.where(np.isfinite(arm_rate), arm_rate, all_rate)

    def start_vec(third):
        th = np.zeros(n_typ)
        for p in names:
            cs = np.unique(col_of[p])
            for c in cs:
                k = int(arm_of[np.flatnonzero(col_of[p] == c)[0]])
                if p == "v0":
                    v = math.log(initial["v0"]) if "v0" in initial else lv0
                elif p == "rate":
                    r = initial.get("rate", arm_rate[k] if p in by_arm else all_rate)
                    v = (math.log(max(r, 0.05 / span)) if scales[names.index(p)] == "log" else r)
                else:
                    v = math.log(initial.get(p, third))
                th[c] = v
        return th

    if model == "gompertz":
        thirds = [initial["decay"]] if "decay" in initial else [0.3 / span, 1.0 / span, 3.0 / span]
    elif model == "logistic":
        vmax_obs = float(np.exp(np.max(ly[use]))) if np.any(use) else 1.0
        thirds = [initial["vmax"]] if "vmax" in initial else [1.2 * vmax_obs, 2.0 * vmax_obs, 5.0 * vmax_obs]
    else:
        thirds = [None]

    def resid(th):
        phi = np.zeros((n, n_cols))
        phi[:, :n_typ] = th
        with np.errstate(all="ignore"):
            r = (ly - logsize(phi))[use]
        return np.where(np.isfinite(r), r, 1e6)

    best, best_cost = None, np.inf
    for third in thirds:
        th0 = np.clip(start_vec(third), lo_in, hi_in)
        try:
            sol = optimize.least_squares(resid, th0, method="trf", bounds=(lo, hi), max_nfev=400 * (n_typ + 1),
                                         x_scale="jac")
            th, cost = np.clip(sol.x, lo_in, hi_in), float(sol.cost)
        except (ValueError, np.linalg.LinAlgError):
            th, cost = th0, float(0.5 * np.sum(resid(th0) ** 2))
        if np.all(np.isfinite(th)) and cost < best_cost:
            best, best_cost = th, cost
    return best if best is not None else np.clip(start_vec(thirds[0]), lo_in, hi_in)


def _lin_cov(prob, fit, n_typ, method, error):
    """nlme's covariance of the typical values: (sum_i X_i' V_i^-1 X_i)^-1 at the conditional modes,
    X = df/dtheta, V = R + J Omega J' (J = df/deta); times N / (N - p) under ML."""
    th, eta = fit.theta, fit.eta
    n = prob.n_subjects
    free = np.arange(n_typ)
    base = prob.phi(th, eta)
    f0 = prob.predict(base)
    h = 1e-6
    X = np.empty(f0.shape + (n_typ,))
    for j in free:
        ph = base.copy()
        ph[:, j] += h
        pm = base.copy()
        pm[:, j] -= h
        X[..., j] = (prob.predict(ph) - prob.predict(pm)) / (2 * h)
    ri = prob.random_index
    J = np.empty(f0.shape + (len(ri),))
    for k, j in enumerate(ri):
        ph = base.copy()
        ph[:, j] += h
        pm = base.copy()
        pm[:, j] -= h
        J[..., k] = (prob.predict(ph) - prob.predict(pm)) / (2 * h)
    s = fit.sigma
    if error in ("log", "additive"):
        v = np.full(f0.shape, s[0] ** 2)
    elif error == "proportional":
        v = (s[0] * f0) ** 2
    else:
        v = s[0] ** 2 + (s[1] * f0) ** 2
    use = prob.mask & ~prob.censored
    Om = np.diag(fit.omega ** 2)
    A = np.zeros((n_typ, n_typ))
    for i in range(n):
        k = use[i]
        if not k.any():
            continue
        Ji, Xi = J[i][k], X[i][k]
        V = np.diag(v[i][k]) + Ji @ Om @ Ji.T
        A += Xi.T @ np.linalg.solve(V, Xi)
    cov = np.linalg.inv(A)
    N = int(use.sum())
    if method == "ml":
        cov = cov * N / (N - n_typ)
    return cov


def _build(fit, st: dict, method: str, se: str, ci_level: float) -> GrowthNLMEFit:
    prob, gd, model, names, scales = st["prob"], st["gd"], st["model"], st["names"], st["scales"]
    by_arm, random, error, t0, arms, cols, n_typ = (st["by_arm"], st["random"], st["error"], st["t0"], st["arms"],
                                                     st["cols"], st["n_typ"])
    col_of, re_col, logsize, tt, mask, cens, yn = (st["col_of"], st["re_col"], st["logsize"], st["tt"], st["mask"],
                                                   st["cens"], st["yn"])
    log_scale, arm_of = st["log_scale"], st["arm_of"]
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    units = _units(model, gd.size_unit, gd.time_unit)
    scale_of = dict(zip(names, scales))
    # estimation vector without the fixed dummies
    free = np.array([not c.startswith("eta.") for c in cols] + [True] * (len(fit.x) - len(cols)))
    x = np.asarray(fit.x, float)[free]
    cov = np.asarray(fit.cov, float)[np.ix_(free, free)]
    labels = list(cols[:n_typ]) + [f"omega.{p}" for p in random] + list(fit.labels[len(cols) + len(random):])
    notes = []
    if se == "nlme":
        try:
            cl = _lin_cov(prob, fit, n_typ, method, error)
            cov = cov.copy()
            cov[:n_typ, :] = np.nan
            cov[:, :n_typ] = np.nan
            cov[:n_typ, :n_typ] = cl
        except np.linalg.LinAlgError:
            notes.append("se='nlme': the linearised information is singular; standard errors of the typical values "
                         "are not available")
            cov[:n_typ, :n_typ] = np.nan
    sd = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    rows = []

    def add(parameter, arm, kind, xv, s, unit, scale, note=""):
        if scale == "log":
            est = _exp(xv)
            row = (est, est * s, _exp(xv - z * s), _exp(xv + z * s))
        else:
            row = (xv, s, xv - z * s, xv + z * s)
        rows.append({"parameter": parameter, "arm": arm, "kind": kind, "estimate": row[0], "stderr": row[1],
                     "ci_low": row[2], "ci_high": row[3], "unit": unit, "scale": scale, "note": note})

    not_estimable = set()
    if "not estimable" in fit.message:
        not_estimable = {lab.replace("omega.eta.", "omega.") for lab in
                         fit.message.split("covariance step: ", 1)[1].split(" not estimable", 1)[0].split(", ")}
    ne_note = "not estimable (flat objective direction); the other standard errors are conditional on it"
    span, lmax = st["span"], st["log_size_max"]
    for j in range(n_typ):
        lab = labels[j]
        p, arm = (lab.split("[", 1)[0], lab.split("[", 1)[1][:-1]) if "[" in lab else (lab, "all")
        where = f" in arm {arm!r}" if arm != "all" else ""
        notes_j = []
        if p == "rate" and scale_of[p] == "log" and _exp(x[j]) * span < 1e-4:
            notes_j.append(f"rate ~ 0{where}: no detectable growth over the study (rate x duration < 1e-4)")
        if p == "decay" and _exp(x[j]) * span < 1e-4:
            notes_j.append("decay ~ 0: no detectable deceleration; the growth is exponential and the plateau vmax "
                           "is not identifiable (consider model='exponential')")
        if p == "vmax" and x[j] > lmax + math.log(1e4):
            notes_j.append("vmax above 10^4 x the largest size observed: no detectable saturation (consider "
                           "model='exponential' or 'gompertz')")
        if lab in not_estimable:
            notes_j.append(f"{lab}: {ne_note}")
        add(p, arm, "fixed", x[j], sd[j], units[p], scale_of[p], "; ".join(notes_j))
    # derived: Gompertz plateau log vmax = log v0 + rate / decay (delta method on the estimation scale)
    if model == "gompertz":
        arm_list = arms if ({"v0", "rate", "decay"} & set(by_arm)) else ["all"]
        for a in arm_list:
            ia = [labels.index(p if p not in by_arm else f"{p}[{a}]") for p in names]
            lv0, lr, ld = x[ia]
            e = _exp(lr - ld)
            grad = {}
            for i, w in zip(ia, (1.0, e, -e)):
                grad[i] = grad.get(i, 0.0) + w
            if lv0 + e < 700.0:
                add("vmax", a, "derived", lv0 + e, _qf(cov, grad), gd.size_unit, "log")
            else:
                rows.append({"parameter": "vmax", "arm": a, "kind": "derived", "estimate": math.inf,
                             "stderr": np.nan, "ci_low": np.nan, "ci_high": np.nan, "unit": gd.size_unit,
                             "scale": "log", "note": "plateau beyond the float range: no detectable deceleration"})
    if model == "exponential":
        for a in (arms if "rate" in by_arm else ["all"]):
            i = labels.index("rate" if "rate" not in by_arm else f"rate[{a}]")
            r, sr = x[i], sd[i]
            dt = math.log(2) / r if r > 0 else np.nan
            rows.append({"parameter": "doubling_time", "arm": a, "kind": "derived", "estimate": dt,
                         "stderr": dt * sr / abs(r) if r > 0 else np.nan,
                         "ci_low": math.log(2) / (r + z * sr) if r > 0 and r + z * sr > 0 else np.nan,
                         "ci_high": (math.log(2) / (r - z * sr) if r - z * sr > 0 else np.inf) if r > 0 else np.nan,
                         "unit": gd.time_unit, "scale": "identity",
                         "note": "log(2) / rate" + ("" if r > 0 else "; the typical tumour does not grow")})
    for k, p in enumerate(random):
        i = n_typ + k
        note = ""
        if f"omega.eta.{p}" in fit.on_bound:
            note = f"omega.{p} on its bound (no detectable between-animal variability)"
        elif f"omega.{p}" in not_estimable:
            note = f"omega.{p}: {ne_note}"
        add(f"omega.{p}", "all", "omega", x[i], sd[i],
            "SD of log " + p if scale_of[p] == "log" else units[p], "log", note)
    for k, lab in enumerate(labels[n_typ + len(random):]):
        i = n_typ + len(random) + k
        unit = ("SD of log size" if log_scale else (gd.size_unit if lab == "sigma.add" else "1 (fraction)"))
        add(lab, "all", "sigma", x[i], sd[i], unit, "log", f"{lab}: {ne_note}" if lab in not_estimable else "")
    params = pd.DataFrame(rows)
    # individual parameters and predictions
    phi = prob.phi(fit.theta, fit.eta)
    subj_arm = np.array(arms, dtype=object)[arm_of]
    animals = pd.DataFrame({"subject": gd.subjects, "arm": subj_arm, "n_obs": mask.sum(axis=1)})
    for p in names:
        v = phi[np.arange(prob.n_subjects), col_of[p]] + (phi[:, re_col[p]] if p in re_col else 0.0)
        animals[p] = np.exp(v) if scale_of[p] == "log" else v
    for k, p in enumerate(random):
        animals[f"eta.{p}"] = fit.eta[:, k]
    f_pop = logsize(prob.phi(fit.theta, np.zeros_like(fit.eta)))
    f_ind = logsize(phi)
    si, ji = np.nonzero(mask)
    fi = f_ind if log_scale else np.exp(f_ind)
    s = fit.sigma
    var = {"log": lambda f: np.full_like(f, s[0] ** 2), "additive": lambda f: np.full_like(f, s[0] ** 2),
           "proportional": lambda f: (s[0] * f) ** 2, "combined": lambda f: s[0] ** 2 + (s[-1] * f) ** 2}[error](fi)
    iwres = np.where(cens, np.nan, (prob.y - fi) / np.sqrt(var))
    predictions = pd.DataFrame({
        "subject": gd.subjects[si], "arm": subj_arm[si], "time": tt[si, ji] + t0, "observed": yn[si, ji],
        "censored": cens[si, ji], "pred": np.exp(f_pop[si, ji]), "ipred": np.exp(f_ind[si, ji]),
        "iwres": iwres[si, ji]})
    predictions.loc[predictions["censored"], "observed"] = np.nan
    nobs = int(mask.sum())
    k = int(len(x))
    loglik = -0.5 * float(fit.ofv)
    n_bic = nobs - n_typ if method == "reml" else nobs
    key = hashlib.sha1(np.ascontiguousarray(np.stack([gd.subject_idx.astype(float), gd.time, gd.size])).tobytes()
                       + "|".join(map(str, gd.subjects)).encode()).hexdigest()[:16]
    settings = {"model": model, "equation": _EQUATIONS[model], "by_arm": list(by_arm), "random": list(random),
                "error": error, "se": se, "time_origin": float(t0), "arms": arms, "units": units,
                "size_unit": gd.size_unit, "time_unit": gd.time_unit, "kind": gd.kind,
                "estimator": f"NLME, Laplace / FOCE-I, {method.upper()}", "data_key": key,
                "n_censored": int(cens.sum()), "columns": dict(gd.columns), "notes": notes}
    res = GrowthNLMEFit(params=params, contrasts=pd.DataFrame(), animals=animals, predictions=predictions,
                        loglik=loglik, aic=-2 * loglik + 2 * k, bic=-2 * loglik + k * math.log(n_bic), n_params=k,
                        nobs=nobs, n_animals=int(prob.n_subjects), method=method, converged=bool(fit.converged),
                        message=str(fit.message), ci_level=float(ci_level), cov=cov, labels=labels, estimates=x,
                        settings=settings)
    con = [_contrasts(res, p, [(a, arms[0]) for a in arms[1:]], ci_level) for p in by_arm]
    con = pd.concat(con, ignore_index=True) if con else _contrasts(res, "rate", [], ci_level)
    object.__setattr__(res, "contrasts", con)
    return res


# ----------------------------------------------------------------------------- model comparison
def compare_growth_nlme(*fits: GrowthNLMEFit, names: Sequence[str] | None = None) -> pd.DataFrame:
    """AIC, BIC and likelihood-ratio tests between NLME growth fits of the same data.

    Parameters
    ----------
    *fits : GrowthNLMEFit
        Two or more fits of the same observations with the same residual-error scale, all ML or
        all REML.  REML fits must share their fixed effects (model and ``by_arm``); refit with
        ``method="ml"`` to compare e.g. a common rate against per-arm rates.
    names : sequence of str, optional
        Row labels (default: a description of each model).

    Returns
    -------
    pandas.DataFrame
        One row per fit in the order given: ``name, model, method, n_params, loglik, aic, bic``
        and, against the previous row, ``lr_stat, lr_df, p_value`` (chi-square with the
        difference in parameter counts) and ``note``.  The likelihood-ratio test is reported
        only for nested models (same growth law and error model; the smaller model's per-arm
        parameters and random effects a subset of the larger's); AIC/BIC compare any of them.
        A random effect tested on its boundary (omega = 0) makes the p-value conservative
        (Self & Liang, JASA 1987;82:605).
    """
    if len(fits) < 2:
        raise DataError("compare_growth_nlme needs at least two fits.")
    if names is not None and len(names) != len(fits):
        raise InvalidParameterError(f"compare_growth_nlme(): names needs {len(fits)} labels; got {len(names)}.")
    f0 = fits[0]
    for f in fits:
        if not isinstance(f, GrowthNLMEFit):
            raise DataError(f"compare_growth_nlme takes GrowthNLMEFit objects (from fit_growth_nlme), got "
                            f"{type(f).__name__}.")
        if f.settings["data_key"] != f0.settings["data_key"] or f.settings["time_origin"] != f0.settings["time_origin"]:
            raise DataError("fits are of different data (or time origins); likelihoods are not comparable. Fit every "
                            "model to the same table.")
        if (f.settings["error"] == "log") != (f0.settings["error"] == "log"):
            raise DataError("fits mix log-scale and natural-scale residual errors; their likelihoods are of different "
                            "responses and are not comparable.")
        if f.method != f0.method:
            raise DataError("fits mix REML and ML; refit all with the same method (method='ml' to compare fixed "
                            "effects).")
        if f.method == "reml" and (f.settings["model"], f.settings["by_arm"]) != (f0.settings["model"],
                                                                               f0.settings["by_arm"]):
            raise DataError("REML likelihoods of models with different fixed effects (growth law or by_arm) are not "
                            "comparable; refit with method='ml'.")
    rows, prev = [], None
    for i, f in enumerate(fits):
        s = f.settings
        name = names[i] if names is not None else (f"{s['model']}, by_arm={tuple(s['by_arm'])}, "
                                                   f"random={tuple(s['random'])}, error={s['error']}")
        lr = dfl = pv = np.nan
        note = ""
        if prev is not None:
            big, small = (f, prev) if f.n_params >= prev.n_params else (prev, f)
            sb, ss = big.settings, small.settings
            nested = (sb["model"] == ss["model"] and sb["error"] == ss["error"]
                      and set(ss["by_arm"]) <= set(sb["by_arm"]) and set(ss["random"]) <= set(sb["random"])
                      and big.n_params > small.n_params)
            if nested:
                dfl = big.n_params - small.n_params
                lr = max(2.0 * (big.loglik - small.loglik), 0.0)
                pv = float(stats.chi2.sf(lr, dfl))
                if set(ss["random"]) != set(sb["random"]):
                    note = "random effect tested on its boundary: p-value conservative"
            else:
                note = "not nested: compare AIC/BIC"
        rows.append((name, s["model"], f.method, f.n_params, f.loglik, f.aic, f.bic, lr, dfl, pv, note))
        prev = f
    return pd.DataFrame(rows, columns=["name", "model", "method", "n_params", "loglik", "aic", "bic", "lr_stat",
                                       "lr_df", "p_value", "note"])
