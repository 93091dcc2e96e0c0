r"""Hierarchical Bayesian tumour-growth model with a combination interaction on rates.

Model (equations and references in ``docs/models/bayes.md``)::

    log V_ij = log V0_i + r_i * g(t_ij) + eps_ij,         eps_ij ~ Normal(0, sigma)  (or Student-t)
    g(t) = t                                              exponential
    g(t) = (1 - exp(-beta t)) / beta                      Gompertz (initial rate r_i, deceleration beta)
    log V0_i = log_baseline_mean + sigma_baseline * z0_i  (non-centred, z ~ Normal(0, 1))
    r_i      = r_arm[arm(i)] + sigma_animal * zr_i
    r_arm    = r_control + effect_A * A + effect_B * B + interaction * A * B   (factorial arms)

``interaction = r_AB - r_A - r_B + r_0`` is the Bliss-independence excess on the
log-scale growth rate (exponential growth: Bliss independence of cell kill multiplies
surviving fractions, i.e. adds log-rates); **interaction < 0 = synergy** (the
combination slows growth more than the product of the single agents).

Observations below a detection limit (LLOQ) enter through the normal log-CDF
(left-censoring).  Observations recorded after an animal dropped out (necrosis,
ulceration, humane end point) are excluded from the likelihood and *listed* in the
result (``result.excluded``); the animal's earlier measurements are used, which is the
full likelihood of the observed data when dropout depends on the observed history
(missing at random).

PyMC is imported inside the functions only.
"""
from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

from ..._lazy import lazy_loader
from ...exceptions import DataError
from .growth_data import GrowthArrays, GrowthDesign, growth_design, prepare_growth  # noqa: F401 (public)
from .priors import Prior, growth_priors, resolve_priors

__all__ = [
    "GrowthArrays",
    "GrowthDesign",
    "prepare_growth",
    "growth_design",
    "build_growth_model",
    "fit_growth",
    "prior_predictive_growth",
    "simulate_growth_study",
    "growth_curve",
    "GROWTH_MODELS",
    "GrowthRefitter",
]

GROWTH_MODELS = ("exponential", "gompertz")
# rows: rate of the arm with neither agent, A alone, B alone, both = P @ (r_control, effect_A, effect_B, interaction)
_PATTERNS = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]], dtype=float)
LIKELIHOODS = ("normal", "student_t")



# ---------------------------------------------------------------------------------------
# numpy forward model (predictions, log-likelihood, prior predictive)
# ---------------------------------------------------------------------------------------
def growth_curve(t, log_baseline, r, beta=None):
    """log size at time ``t`` (broadcasting): ``log_baseline + r*g(t)``.

    Parameters
    ----------
    t : array_like
        Time since the origin (time unit).
    log_baseline : array_like
        log size at time 0 (log size unit).
    r : array_like
        (Initial) growth rate (1/time unit).
    beta : array_like, optional
        Gompertz deceleration (1/time unit); ``None`` = exponential.

    Returns
    -------
    numpy.ndarray
        log size.
    """
    t = np.asarray(t, float)
    if beta is None:
        g = t
    else:
        b = np.asarray(beta, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(b * t > 1e-12, -np.expm1(-b * t) / np.where(b == 0, 1.0, b), t)
    return np.asarray(log_baseline, float) + np.asarray(r, float) * g


# ---------------------------------------------------------------------------------------
# PyMC model
# ---------------------------------------------------------------------------------------
def build_growth_model(
    arrays: GrowthArrays,
    design: GrowthDesign,
    priors: Mapping[str, Prior],
    *,
    model: str = "exponential",
    likelihood: str = "normal",
    shared_data: bool = False,
):
    """Build the PyMC model (non-centred hierarchical growth).

    Parameters
    ----------
    arrays : GrowthArrays
    design : GrowthDesign
    priors : dict of str to Prior
        Complete prior table (see :func:`~comboplan.fitting.bayes.priors.growth_priors`).
    model : {"exponential", "gompertz"}
    likelihood : {"normal", "student_t"}
    shared_data : bool
        Put the data in ``pymc.Data`` containers (for re-use of one compiled model
        with other data sets); default embeds them as constants (faster to compile).

    Returns
    -------
    pymc.Model
        Coordinates ``animal``, ``arm``, ``obs`` (uncensored rows), ``obs_censored``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    cens = arrays.obs_censored
    coords = {
        "animal": [str(a) for a in arrays.animal_labels],
        "arm": [str(a) for a in arrays.arm_labels],
        "obs": list(arrays.obs_label[~cens]),
    }
    if cens.any():
        coords["obs_censored"] = list(arrays.obs_label[cens])
    if design.factorial:
        coords["pattern"] = ["none", "A", "B", "AB"]
    if design.factorial and len(design.other_arms):
        coords["other_arm"] = [str(arrays.arm_labels[i]) for i in design.other_arms]
    u = np.flatnonzero(~cens)
    c = np.flatnonzero(cens)

    def data(name, value):
        # shared_data: data enter as shared variables, so one compiled model can be
        # re-used for other data sets of the same design (GrowthRefitter)
        return pm.Data(name, value) if shared_data else pt.as_tensor(value)

    with pm.Model(coords=coords) as m:
        animal_arm = data("animal_arm", arrays.animal_arm.astype(np.int64))
        if design.factorial:
            names = ("r_control", "effect_A", "effect_B", "interaction")
            if all(priors[n].dist == "normal" for n in names):
                # Same prior, better geometry: sample the rates of the four factorial
                # patterns (each informed by its own arm, nearly uncorrelated a
                # posteriori) under the exact Gaussian prior implied by independent
                # normal priors on (r_control, effect_A, effect_B, interaction).
                P = _PATTERNS
                mvec = np.array([priors[n].params["mu"] for n in names])
                cov = P @ np.diag([priors[n].params["sigma"] ** 2 for n in names]) @ P.T
                sd = np.sqrt(np.diag(cov))
                v = pm.Normal("rate_factorial", mu=P @ mvec, sigma=sd, dims="pattern")
                d = v - P @ mvec
                Q = np.linalg.inv(cov) - np.diag(1.0 / sd**2)  # MvNormal minus the independent normals
                pm.Potential("rate_factorial_prior_correlation", -0.5 * pt.dot(d, pt.dot(pt.as_tensor(Q), d)))
                coef = pt.dot(pt.as_tensor(np.linalg.inv(P)), v)
                r0, ea, eb, ia = (pm.Deterministic(n, coef[i]) for i, n in enumerate(names))
            else:
                r0 = priors["r_control"].to_pymc("r_control")
                ea = priors["effect_A"].to_pymc("effect_A")
                eb = priors["effect_B"].to_pymc("effect_B")
                ia = priors["interaction"].to_pymc("interaction")
            rate = pt.dot(pt.as_tensor(design.X), pt.stack([r0, ea, eb, ia]))
            if len(design.other_arms):
                ro = priors["r_arm"].to_pymc("r_other", dims="other_arm")
                E = np.zeros((arrays.n_arms, len(design.other_arms)))
                E[design.other_arms, np.arange(len(design.other_arms))] = 1.0
                rate = rate + pt.dot(pt.as_tensor(E), ro)
            r_arm = pm.Deterministic("r_arm", rate, dims="arm")
        else:
            r_arm = priors["r_arm"].to_pymc("r_arm", dims="arm")
        lbm = priors["log_baseline_mean"].to_pymc("log_baseline_mean")
        sb = priors["sigma_baseline"].to_pymc("sigma_baseline")
        sa = priors["sigma_animal"].to_pymc("sigma_animal")
        sigma = priors["sigma"].to_pymc("sigma")
        zb = pm.Normal("z_baseline", 0.0, 1.0, dims="animal")
        zr = pm.Normal("z_rate", 0.0, 1.0, dims="animal")
        log_b = pm.Deterministic("log_baseline", lbm + sb * zb, dims="animal")
        r_an = pm.Deterministic("r_animal", r_arm[animal_arm] + sa * zr, dims="animal")
        beta = priors["beta"].to_pymc("beta") if model == "gompertz" else None
        nu = priors["nu"].to_pymc("nu") if likelihood == "student_t" else None

        def mean(t, a):
            g = -pt.expm1(-beta * t) / beta if beta is not None else t
            return log_b[a] + r_an[a] * g

        def dist(mu_):
            if nu is None:
                return pm.Normal.dist(mu=mu_, sigma=sigma)
            return pm.StudentT.dist(nu=nu, mu=mu_, sigma=sigma)

        mu_u = mean(data("time_obs", arrays.obs_time[u]), data("animal_obs", arrays.obs_animal[u].astype(np.int64)))
        y_u = data("log_size_obs", arrays.obs_log_size[u])
        if nu is None:
            pm.Normal("log_size", mu=mu_u, sigma=sigma, observed=y_u, dims="obs")
        else:
            pm.StudentT("log_size", nu=nu, mu=mu_u, sigma=sigma, observed=y_u, dims="obs")
        if cens.any():
            mu_c = mean(data("time_censored", arrays.obs_time[c]),
                        data("animal_censored", arrays.obs_animal[c].astype(np.int64)))
            y_c = data("log_lloq_censored", arrays.obs_log_size[c])
            pm.Censored("log_size_censored", dist(mu_c), lower=y_c, upper=None, observed=y_c, dims="obs_censored")
    return m


# ---------------------------------------------------------------------------------------
# public fit
# ---------------------------------------------------------------------------------------
def _check_choice(name, value, choices):
    if value not in choices:
        raise DataError(f"{name} must be one of {choices}; got {value!r}.")


def _default_priors(arrays: GrowthArrays, design: GrowthDesign, model, likelihood, time_unit):
    first = arrays.obs_time <= np.min(arrays.obs_time) + 1e-12
    ly = arrays.obs_log_size[first] if first.any() else arrays.obs_log_size
    return growth_priors(log_baseline_center=float(np.median(ly)), time_unit=time_unit, model=model,
                         likelihood=likelihood, factorial=design.factorial)


def fit_growth(
    data: pd.DataFrame,
    subject: str | None = None,
    arm: str | None = None,
    time: str | None = None,
    size: str | None = None,
    *,
    model: str = "exponential",
    interaction=None,
    lloq=None,
    censored: str | None = None,
    dropout: str | None = None,
    time_origin: float | None = None,
    time_unit: str = "day",
    size_unit: str | None = None,
    likelihood: str = "normal",
    priors: Mapping | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    sampler: str = "nutpie",
    seed=None,
    target_accept: float = 0.9,
    progress: bool = False,
    check: bool = True,
    ci_level: float = 0.9,
):
    """Fit the hierarchical Bayesian tumour-growth model with a combination interaction.

    Parameters
    ----------
    data : pandas.DataFrame or comboplan.growth.data.GrowthData
        Tidy table, one row per animal and time point (not modified), or the result
        of :func:`comboplan.growth.data.validate_growth` (then the column arguments,
        ``lloq``, ``censored`` and ``dropout`` are taken from it).
    subject, arm, time, size : str
        Columns: animal id, treatment arm, time (``time_unit``), tumour size (size
        unit, e.g. mm^3; must be > 0 unless censored).
    model : {"exponential", "gompertz"}
        Growth law of log size (see module docstring).
    interaction : None, (str, str) or dict
        The 2x2 factorial design that defines the interaction term (see
        :func:`growth_design`); ``None`` fits one free rate per arm.
    lloq : float or str, optional
        Detection limit (size unit) or column of per-row limits; sizes below it (or 0)
        are left-censored (normal log-CDF likelihood), never replaced by the limit.
    censored : str, optional
        Boolean column flagging below-detection rows.
    dropout : str, optional
        Boolean column flagging rows after dropout (necrosis...), numeric column of
        per-animal dropout time (such rows are excluded and listed in
        ``result.excluded``), or text column of dropout reasons (all rows used,
        reasons recorded); see :func:`prepare_growth`.
    time_origin : float, optional
        Baseline time (default: earliest time); rates are per ``time_unit``.
    time_unit : str
        ``"day"`` (default), ``"h"`` or ``"week"``; default priors are rescaled.
    size_unit : str, optional
        Recorded in the result (e.g. ``"mm3"``).
    likelihood : {"normal", "student_t"}
        Residual distribution of log size (Student-t for outlying caliper readings).
    priors : dict, optional
        Overrides of the default priors by name (see ``docs/bayes.md``), e.g.
        ``{"interaction": ("normal", 0, 0.05), "sigma": {"sigma": 0.2}}``.
    draws, tune, chains : int
        Post-warm-up draws per chain, warm-up iterations, chains.
    sampler : {"nutpie", "nutpie-graph", "pymc"}
        ``"nutpie"`` (default): nutpie's NUTS on a hand-written numba log density
        identical to the PyMC model (compiled once per machine) when the model is
        covered (normal likelihood, default prior families), else on the PyMC model
        compiled by nutpie; ``"nutpie-graph"``: always compile the PyMC model;
        ``"pymc"``: PyMC's NUTS.  Falls back to PyMC if nutpie is missing.
    seed : int or numpy.random.Generator
        Reproducibility (same seed, same posterior draws).
    target_accept : float
        NUTS target acceptance (0.9).
    progress : bool
        Show a progress bar.
    check : bool
        Check R-hat, ESS and divergences and warn
        (:class:`~comboplan.exceptions.DiagnosticsWarning`) naming any problem.
    ci_level : float
        Level of the credible intervals in tables (0.9).

    Returns
    -------
    BayesGrowthResult
        Posterior as ``result.idata`` (arviz.InferenceData with coords ``animal``,
        ``arm``, ``obs``), tables, ``p_synergy()``, ``predict()``, ``draws()``.

    Notes
    -----
    ``interaction`` = r_AB - r_A - r_B + r_0 (1/time unit); **negative = synergy**
    (``result.p_synergy()`` = P(interaction < 0 | data)).
    """
    from .results import BayesGrowthResult

    _check_choice("model", model, GROWTH_MODELS)
    _check_choice("likelihood", likelihood, LIKELIHOODS)
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must be in (0, 1); got {ci_level}.")
    arrays, design = _arrays_and_design(data, subject, arm, time, size, lloq=lloq, censored=censored,
                                        dropout=dropout, time_origin=time_origin, interaction=interaction)
    if size_unit is None:
        size_unit = arrays.units.get("size")
    pri = resolve_priors(_default_priors(arrays, design, model, likelihood, time_unit), priors)
    return _fit_arrays(arrays, design, pri, model=model, likelihood=likelihood, time_unit=time_unit,
                       size_unit=size_unit, draws=draws, tune=tune, chains=chains, sampler=sampler, seed=seed,
                       target_accept=target_accept, progress=progress, check=check, ci_level=ci_level,
                       result_cls=BayesGrowthResult)


def _is_growth_data(data) -> bool:
    return type(data).__name__ == "GrowthData" and hasattr(data, "subject_idx") and hasattr(data, "subject_arm")


def _arrays_and_design(data, subject, arm, time, size, *, lloq, censored, dropout, time_origin, interaction):
    """GrowthArrays and design from a tidy DataFrame or a validated GrowthData."""
    if _is_growth_data(data):
        if any(v is not None for v in (lloq, censored, dropout)):
            raise DataError("lloq=, censored= and dropout= belong to validate_growth(...) when data is a GrowthData.")
        arrays = GrowthArrays.from_growth_data(data, time_origin=time_origin)
        if isinstance(interaction, (tuple, list)):
            raise DataError("with a GrowthData give interaction as an arm mapping "
                            "{'control': ..., 'A': ..., 'B': ..., 'AB': ...}.")
        return arrays, growth_design(None, arrays, interaction, arm_col=arrays.columns.get("arm"))
    if any(v is None for v in (subject, arm, time, size)):
        raise DataError("name the columns: subject=, arm=, time= and size= are required for a DataFrame.")
    arrays = prepare_growth(data, subject, arm, time, size, lloq=lloq, censored=censored, dropout=dropout,
                            time_origin=time_origin)
    return arrays, growth_design(data, arrays, interaction, arm_col=arm)


def _fit_arrays(arrays, design, pri, *, model, likelihood, time_unit, size_unit, draws, tune, chains, sampler,
                seed, target_accept, progress, check, ci_level, result_cls):
    from .sampling import resolve_seed, sample_model

    from . import fastgrowth
    from .sampling import available_samplers

    s = resolve_seed(seed)
    sampler = (sampler or "nutpie").lower()
    if sampler not in ("nutpie", "nutpie-graph", "pymc", "auto"):
        raise DataError(f"sampler must be 'nutpie', 'nutpie-graph' or 'pymc'; got {sampler!r}.")
    nut = "nutpie" in available_samplers()
    if sampler in ("nutpie", "auto") and nut and fastgrowth.supported(design, pri, model, likelihood):
        fm = fastgrowth.FastGrowthModel(arrays, design, pri, model)
        idata = fm.sample(draws=draws, tune=tune, chains=chains, seed=s, target_accept=target_accept,
                          progress=progress)
    else:
        pm_model = build_growth_model(arrays, design, pri, model=model, likelihood=likelihood)
        idata = sample_model(pm_model, draws=draws, tune=tune, chains=chains, seed=s,
                             sampler="nutpie" if sampler == "nutpie-graph" else sampler,
                             target_accept=target_accept, progress=progress)
    return _finish(idata, arrays, design, pri, model=model, likelihood=likelihood, time_unit=time_unit,
                   size_unit=size_unit, draws=draws, tune=tune, chains=chains, seed=s,
                   target_accept=target_accept, check=check, ci_level=ci_level, result_cls=result_cls)


def _finish(idata, arrays, design, pri, *, model, likelihood, time_unit, size_unit, draws, tune, chains, seed,
            target_accept, check, ci_level, result_cls):
    from .sampling import check_diagnostics

    meta = {
        "kind": "growth", "model": model, "likelihood": likelihood, "time_unit": time_unit,
        "size_unit": size_unit or "", "factorial": design.factorial, "roles": dict(design.roles),
        "agents": list(design.agents), "other_arms": design.other_arms.tolist(), "X": design.X.tolist(),
        "time_origin": arrays.time_origin, "columns": dict(arrays.columns), "seed": seed,
        "priors": {k: {"dist": p.dist, "params": dict(p.params), "unit": p.unit, "description": p.description}
                   for k, p in pri.items()},
        "excluded": arrays.excluded.astype({"row": str, "subject": str}).to_dict(orient="list"),
        "sampler": idata.attrs.get("sampler"), "compile_seconds": idata.attrs.get("compile_seconds"),
        "sampling_seconds": idata.attrs.get("sampling_seconds"), "backend": idata.attrs.get("backend", "pymc-graph"),
        "draws": int(draws), "tune": int(tune), "chains": int(chains), "target_accept": target_accept,
        "ci_level": ci_level,
    }
    idata = _complete_idata(idata, arrays, meta, seed=seed)
    names = _key_vars(meta)
    diag = check_diagnostics(idata, names, warn=check)
    return result_cls(idata=idata, meta=meta, arrays=arrays, diagnostics=diag)


class GrowthRefitter:
    """Compile the growth model once and fit it to many data sets of the same design.

    For simulation studies (calibration, Bayesian power analysis).  With the default
    model (normal likelihood, default prior families) every fit uses the precompiled
    numba density (:mod:`~comboplan.fitting.bayes.fastgrowth`); otherwise the PyMC
    model is compiled once with the data in shared containers and each :meth:`fit`
    only swaps the data and samples.  Every data set must have the same arms, number of animals per arm and
    numbers of observed and censored measurements as the template.  Priors that
    depend on the data (the centre of ``log_baseline_mean``) are taken from the
    template.

    Parameters
    ----------
    data, subject, arm, time, size, model, interaction, lloq, censored, dropout, time_origin,
    time_unit, likelihood, priors, draws, tune, chains, target_accept, ci_level, size_unit
        As in :func:`fit_growth` (``data`` is the template).

    Examples
    --------
    >>> refit = GrowthRefitter(df0, "mouse", "arm", "day", "volume_mm3",
    ...                        interaction=("drug_a", "drug_b"), draws=500)   # doctest: +SKIP
    >>> res = refit.fit(df1, seed=1)                                           # doctest: +SKIP
    """

    def __init__(self, data, subject, arm, time, size, *, model="exponential", interaction=None, lloq=None,
                 censored=None, dropout=None, time_origin=None, time_unit="day", size_unit=None,
                 likelihood="normal", priors=None, draws=1000, tune=1000, chains=4, target_accept=0.9,
                 ci_level=0.9):
        from .sampling import available_samplers, compile_nutpie

        _check_choice("model", model, GROWTH_MODELS)
        _check_choice("likelihood", likelihood, LIKELIHOODS)
        self._cols = dict(subject=subject, arm=arm, time=time, size=size)
        self._opts = dict(lloq=lloq, censored=censored, dropout=dropout, time_origin=time_origin)
        self._interaction = interaction
        arrays = prepare_growth(data, subject, arm, time, size, **self._opts)
        self.design = growth_design(data, arrays, interaction, arm_col=arm)
        self.priors = resolve_priors(_default_priors(arrays, self.design, model, likelihood, time_unit), priors)
        self.template = arrays
        self.settings = dict(model=model, likelihood=likelihood, time_unit=time_unit, size_unit=size_unit,
                             draws=int(draws), tune=int(tune), chains=int(chains), target_accept=target_accept,
                             ci_level=ci_level)
        if "nutpie" not in available_samplers():  # pragma: no cover - nutpie is a dependency
            raise DataError("GrowthRefitter needs nutpie; use fit_growth(...) for each data set instead.")
        from . import fastgrowth

        self._fast = fastgrowth.supported(self.design, self.priors, model, likelihood)
        self._compiled = None
        if not self._fast:  # compile the PyMC model once, with the data in shared containers
            m = build_growth_model(arrays, self.design, self.priors, model=model, likelihood=likelihood,
                                   shared_data=True)
            self._compiled = compile_nutpie(m)

    def _shared(self, a: GrowthArrays) -> dict:
        t = self.template
        same = (a.n_animals == t.n_animals and a.n_arms == t.n_arms
                and int(a.obs_censored.sum()) == int(t.obs_censored.sum()) and a.n_obs == t.n_obs
                and np.array_equal(a.animal_arm, t.animal_arm))
        if not same:
            raise DataError(
                "this data set does not have the template's design (same arms, animals per arm and numbers of "
                "observed and censored measurements); fit it with fit_growth(...) instead."
            )
        u, c = ~a.obs_censored, a.obs_censored
        d = {"animal_arm": a.animal_arm, "time_obs": a.obs_time[u], "animal_obs": a.obs_animal[u],
             "log_size_obs": a.obs_log_size[u]}
        if c.any():
            d.update({"time_censored": a.obs_time[c], "animal_censored": a.obs_animal[c],
                      "log_lloq_censored": a.obs_log_size[c]})
        return d

    def fit(self, data, seed=None, check: bool = True):
        """Fit one data set; returns a :class:`~comboplan.bayes.BayesGrowthResult`."""
        import time as _time

        import nutpie

        from .results import BayesGrowthResult
        from .sampling import resolve_seed

        a = prepare_growth(data, **self._cols, **self._opts)
        d = growth_design(data, a, self._interaction, arm_col=self._cols["arm"])
        if not np.array_equal(d.X, self.design.X):
            raise DataError("the arms of this data set do not match the template's factorial design.")
        s = resolve_seed(seed)
        st = self.settings
        self._shared(a)  # same design as the template
        if self._fast:
            from .fastgrowth import FastGrowthModel

            idata = FastGrowthModel(a, self.design, self.priors, st["model"]).sample(
                draws=st["draws"], tune=st["tune"], chains=st["chains"], seed=s, target_accept=st["target_accept"])
            return _finish(idata, a, self.design, self.priors, model=st["model"], likelihood=st["likelihood"],
                           time_unit=st["time_unit"], size_unit=st["size_unit"], draws=st["draws"],
                           tune=st["tune"], chains=st["chains"], seed=s, target_accept=st["target_accept"],
                           check=check, ci_level=st["ci_level"], result_cls=BayesGrowthResult)
        t0 = _time.perf_counter()
        compiled = self._compiled.with_data(**self._shared(a))
        idata = nutpie.sample(compiled, draws=st["draws"], tune=st["tune"], chains=st["chains"], seed=s,
                              progress_bar=False, save_warmup=False, target_accept=st["target_accept"])
        idata.posterior = idata.posterior.assign_coords(animal=[str(x) for x in a.animal_labels])
        idata.attrs = {"sampler": "nutpie", "compile_seconds": 0.0,
                       "sampling_seconds": _time.perf_counter() - t0}
        return _finish(idata, a, self.design, self.priors, model=st["model"], likelihood=st["likelihood"],
                       time_unit=st["time_unit"], size_unit=st["size_unit"], draws=st["draws"], tune=st["tune"],
                       chains=st["chains"], seed=s, target_accept=st["target_accept"], check=check,
                       ci_level=st["ci_level"], result_cls=BayesGrowthResult)


def _key_vars(meta) -> list[str]:
    names = ["r_arm", "log_baseline_mean", "sigma_baseline", "sigma_animal", "sigma"]
    if meta["factorial"]:
        names = ["r_control", "effect_A", "effect_B", "interaction"] + names
    if meta["model"] == "gompertz":
        names.append("beta")
    if meta["likelihood"] == "student_t":
        names.append("nu")
    return names


def _loglik_obs(arrays: GrowthArrays, post, meta) -> np.ndarray:
    """Pointwise log-likelihood (chain, draw, obs) computed with numpy/scipy."""
    from scipy import stats

    lb = post["log_baseline"].values  # (c, d, animal)
    r = post["r_animal"].values
    beta = post["beta"].values[..., None] if meta["model"] == "gompertz" else None
    a = arrays.obs_animal
    mu = growth_curve(arrays.obs_time, lb[..., a], r[..., a], beta)
    sig = post["sigma"].values[..., None]
    y = arrays.obs_log_size
    z = (y - mu) / sig
    if meta["likelihood"] == "student_t":
        nu = post["nu"].values[..., None]
        ld = stats.t.logpdf(z, nu) - np.log(sig)
        lc = stats.t.logcdf(z, nu)
    else:
        ld = stats.norm.logpdf(z) - np.log(sig)
        lc = stats.norm.logcdf(z)
    return np.where(arrays.obs_censored, lc, ld), mu


def _complete_idata(idata, arrays: GrowthArrays, meta, seed):
    """Rebuild InferenceData with observed/constant data, log-likelihood and posterior predictive."""
    import arviz as az
    import xarray as xr

    post = idata.posterior
    post = post[[v for v in post.data_vars if not v.endswith("__")]]
    keep = {"posterior": post}
    if "sample_stats" in idata.groups():
        keep["sample_stats"] = idata.sample_stats
    ll, mu = _loglik_obs(arrays, post, meta)
    obs = xr.DataArray(arrays.obs_label, dims="obs_all")
    coords = {"chain": post.chain.values, "draw": post.draw.values, "obs_all": arrays.obs_label}
    keep["log_likelihood"] = xr.Dataset({"log_size": (("chain", "draw", "obs_all"), ll)}, coords=coords)
    rng = np.random.default_rng(seed + 1)
    sig = post["sigma"].values[..., None]
    if meta["likelihood"] == "student_t":
        noise = rng.standard_t(post["nu"].values[..., None], size=mu.shape)
    else:
        noise = rng.standard_normal(mu.shape)
    yrep = mu + sig * noise
    cens_lim = np.where(arrays.obs_censored, arrays.obs_log_size, -np.inf)
    # replicated data pass through the same detection limit as the real ones
    yrep = np.maximum(yrep, cens_lim)
    keep["posterior_predictive"] = xr.Dataset({"log_size": (("chain", "draw", "obs_all"), yrep)}, coords=coords)
    keep["observed_data"] = xr.Dataset({"log_size": obs.copy(data=arrays.obs_log_size)},
                                       coords={"obs_all": arrays.obs_label})
    keep["constant_data"] = xr.Dataset(
        {
            "obs_animal": ("obs_all", arrays.obs_animal),
            "obs_time": ("obs_all", arrays.obs_time),
            "obs_censored": ("obs_all", arrays.obs_censored.astype(np.int8)),
            "animal_arm": ("animal", arrays.animal_arm),
            "animal_dropout_reason": ("animal", np.asarray(
                arrays.dropout_reason if arrays.dropout_reason is not None else [""] * arrays.n_animals,
                dtype=str)),
        },
        coords={"obs_all": arrays.obs_label, "animal": [str(a) for a in arrays.animal_labels]},
    )
    out = az.InferenceData(**keep)
    js = json.dumps(meta, default=_json_default)
    out.posterior.attrs["comboplan_meta"] = js
    out.attrs = dict(getattr(idata, "attrs", {}) or {})
    return out


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)



def _arrays_from_idata(idata, meta) -> GrowthArrays:
    """Rebuild the GrowthArrays of a saved fit (constant_data + observed_data + meta)."""
    cd = idata.constant_data
    ex = pd.DataFrame(meta.get("excluded") or {"row": [], "subject": [], "time": [], "reason": []})
    return GrowthArrays(
        obs_animal=np.asarray(cd["obs_animal"].values, np.int64),
        obs_time=np.asarray(cd["obs_time"].values, float),
        obs_log_size=np.asarray(idata.observed_data["log_size"].values, float),
        obs_censored=np.asarray(cd["obs_censored"].values).astype(bool),
        obs_label=np.asarray([str(v) for v in cd.coords["obs_all"].values], dtype=object),
        animal_labels=np.asarray([str(v) for v in idata.posterior.coords["animal"].values], dtype=object),
        animal_arm=np.asarray(cd["animal_arm"].values, np.int64),
        arm_labels=np.asarray([str(v) for v in idata.posterior.coords["arm"].values], dtype=object),
        time_origin=float(meta["time_origin"]),
        excluded=ex,
        columns=meta.get("columns", {}),
        dropout_reason=np.asarray([str(v) for v in cd["animal_dropout_reason"].values], dtype=object)
        if "animal_dropout_reason" in cd else None,
    )


_MOVED = {"PriorPredictive", "prior_predictive_growth", "simulate_growth_study"}


# The prior predictive check and the simulator live in :mod:`.growth_prior` (imported on
# first use: it imports this module, so a top-level import here would be circular).
__getattr__ = lazy_loader(globals(), dict.fromkeys(_MOVED, "comboplan.fitting.bayes.growth_prior"))[0]

