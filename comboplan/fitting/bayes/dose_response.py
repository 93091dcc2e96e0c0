r"""Hierarchical Bayesian Hill curves, single agents and two-agent combinations.

Responses are modelled on the *viability fraction of control* scale ``v`` (inhibition
data are converted with ``v = 1 - inhibition``; percent is divided by 100).  For agent
``k`` on curve ``c`` (one curve per population x group, e.g. cell line x experiment)::

    I_k(d) = imax_ck * H(d; ec50_ck, h_ck),      H = 1 / (1 + (ec50 / d)^h),  H(0) = 0
    single agent:   v = e0_c * (1 - I(d))
    combination:    v = e0_c * (1 - I_A) * (1 - I_B) * exp(-kappa_c * I_A * I_B)     ("bliss")
                    v = e0_c * (1 - I_A') * (1 - I_B'), ec50_A' = ec50_A * alpha_c^(-H_B), ...  ("potency")

Partial pooling (non-centred) across the groups of a population::

    log(ec50_ck / dref_k) = log_ec50_mean[p,k] + log_ec50_sd * z
    log h_ck              = log_hill_mean[p,k] + log_hill_sd * z
    logit imax_ck         = logit_imax_mean[p,k] + logit_imax_sd * z
    e0_c                  = e0_mean[p] + e0_sd * z
    interaction_c         = interaction_mean[p] + interaction_sd * z      (kappa or log alpha)

``dref_k`` is the geometric mean of the positive doses of agent k tested in the data,
so results do not depend on the dose unit.  **interaction > 0 = synergy** for both
kinds (kappa > 0: less survival than Bliss independence; log alpha > 0: each agent
makes the other more potent); kappa = 0 / alpha = 1 is Bliss independence.
Equations and references: ``docs/models/bayes.md``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ...data.validate import as_list, check_dose_column, check_groups_nonempty, check_response_column
from ...data.validate import require_columns, require_frame
from ...exceptions import DataError
from .priors import Prior, dose_response_priors, resolve_priors

__all__ = [
    "DoseResponseArrays",
    "prepare_dose_response",
    "build_dose_response_model",
    "fit_dose_response",
    "prior_predictive_dose_response",
    "simulate_dose_response_study",
    "predict_dose_response",
]

COMBINATIONS = ("bliss", "potency")


@dataclass(frozen=True)
class DoseResponseArrays:
    """Validated dose-response data as plain arrays.

    Attributes
    ----------
    dose : ndarray (n_obs, n_agents)
        Doses (dose unit), one column per agent.
    v : ndarray (n_obs,)
        Response as viability fraction of control.
    obs_curve : ndarray of int (n_obs,)
        Curve index of each observation.
    curve_population : ndarray of int (n_curves,)
        Population index of each curve.
    curve_labels, curve_group, population_labels, agent_labels : ndarray of str
    dose_ref : ndarray (n_agents,)
        Geometric mean of the positive doses of each agent (dose unit).
    obs_label : ndarray of str
        Row index labels of the caller's table.
    """

    dose: np.ndarray
    v: np.ndarray
    obs_curve: np.ndarray
    curve_population: np.ndarray
    curve_labels: np.ndarray
    curve_group: np.ndarray
    population_labels: np.ndarray
    agent_labels: np.ndarray
    dose_ref: np.ndarray
    obs_label: np.ndarray
    columns: Mapping[str, object] = field(default_factory=dict)

    @property
    def n_obs(self) -> int:
        return len(self.v)

    @property
    def n_curves(self) -> int:
        return len(self.curve_labels)

    @property
    def n_populations(self) -> int:
        return len(self.population_labels)

    @property
    def n_agents(self) -> int:
        return self.dose.shape[1]

    @property
    def log_dose_rel(self) -> np.ndarray:
        pos = self.dose > 0
        return np.where(pos, np.log(np.where(pos, self.dose, 1.0)) - np.log(self.dose_ref), 0.0)


def _label(vals) -> str:
    return "/".join(str(v) for v in vals)


def prepare_dose_response(
    data: pd.DataFrame,
    dose,
    response: str,
    *,
    by=None,
    group=None,
    response_kind: str = "viability",
    scale: str = "fraction",
) -> DoseResponseArrays:
    """Validate a tidy dose-response table and build :class:`DoseResponseArrays`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per well / observation (not modified).
    dose : str or (str, str)
        Dose column, or the two dose columns of a combination (agent A, agent B).
    response : str
        Response column.
    by : str or list of str, optional
        Columns defining independent populations (agent, cell line...), each with
        its own population parameters.
    group : str or list of str, optional
        Columns defining replicate units pooled within a population (experiment,
        plate, primary tumour).
    response_kind : {"viability", "inhibition"}
    scale : {"fraction", "percent"}

    Returns
    -------
    DoseResponseArrays
    """
    require_frame(data, "dose-response data")
    doses = [dose] if isinstance(dose, str) else list(dose)
    if not 1 <= len(doses) <= 2 or not all(isinstance(d, str) for d in doses):
        raise DataError(f"dose must be a column name or a pair of column names (agent A, agent B); got {dose!r}.")
    by_cols, grp_cols = as_list(by), as_list(group)
    require_columns(data, doses + [response] + by_cols + grp_cols, "dose-response")
    check_groups_nonempty(data, by_cols + grp_cols)
    if response_kind not in ("viability", "inhibition"):
        raise DataError(f"response_kind must be 'viability' or 'inhibition'; got {response_kind!r}.")
    if scale not in ("fraction", "percent"):
        raise DataError(f"scale must be 'fraction' or 'percent'; got {scale!r}.")
    D = np.column_stack([check_dose_column(data, d) for d in doses])
    y = check_response_column(data, response)
    big = np.abs(y) > 3.0
    if scale == "fraction" and np.mean(big) > 0.2:
        raise DataError(
            f"column {response!r} looks like percent ({int(big.sum())} values beyond +-3, first at row "
            f"{data.index[np.flatnonzero(big)[0]]!r}) but scale='fraction'; pass scale='percent'."
        )
    if scale == "percent" and np.all(np.abs(y) <= 3.0):
        raise DataError(
            f"column {response!r} has all values within +-3 but scale='percent'; did you mean scale='fraction'?"
        )
    frac = y / 100.0 if scale == "percent" else y
    v = 1.0 - frac if response_kind == "inhibition" else frac
    for k, d in enumerate(doses):
        if not (D[:, k] > 0).any():
            raise DataError(f"column {d!r} (dose) has no positive dose; nothing to fit for this agent.")
    dose_ref = np.array([np.exp(np.mean(np.log(D[D[:, k] > 0, k]))) for k in range(len(doses))])
    pop_keys = [tuple(r) for r in data[by_cols].astype(str).itertuples(index=False)] if by_cols else [()] * len(data)
    grp_keys = [tuple(r) for r in data[grp_cols].astype(str).itertuples(index=False)] if grp_cols else [()] * len(data)
    pops = list(dict.fromkeys(pop_keys))
    pop_index = {p: i for i, p in enumerate(pops)}
    curves = list(dict.fromkeys(zip(pop_keys, grp_keys)))
    curve_index = {c: i for i, c in enumerate(curves)}
    obs_curve = np.array([curve_index[c] for c in zip(pop_keys, grp_keys)], dtype=np.int64)
    for i, c in enumerate(curves):
        m = obs_curve == i
        for k, d in enumerate(doses):
            if len(doses) == 2:
                if not (m & (D[:, k] > 0)).any():
                    raise DataError(f"curve {_label(c[0] + c[1]) or 'all'} has no positive dose of {d!r}.")
            elif len(np.unique(D[m, k])) < 2:
                raise DataError(
                    f"curve {_label(c[0] + c[1]) or 'all'} has fewer than 2 distinct doses in {d!r}; a Hill curve "
                    "needs several doses (check the by=/group= columns)."
                )
    pop_labels = np.array([_label(p) if p else "all" for p in pops], dtype=object)
    curve_labels = np.array([_label(p + g) if (p + g) else "all" for p, g in curves], dtype=object)
    return DoseResponseArrays(
        dose=D, v=v, obs_curve=obs_curve,
        curve_population=np.array([pop_index[p] for p, _ in curves], dtype=np.int64),
        curve_labels=curve_labels,
        curve_group=np.array([_label(g) if g else "all" for _, g in curves], dtype=object),
        population_labels=pop_labels,
        agent_labels=np.array(doses, dtype=object),
        dose_ref=dose_ref,
        obs_label=np.array([str(i) for i in data.index], dtype=object),
        columns={"dose": doses, "response": response, "by": by_cols, "group": grp_cols},
    )


# ---------------------------------------------------------------------------------------
# forward model (numpy), shared by predictions, log-likelihood and prior predictive
# ---------------------------------------------------------------------------------------
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def response_fraction(log_dose_rel, pos, lec, lh, limax, e0, inter=None, kind=None):
    """Viability fraction predicted by the (combination) Hill model, numpy, broadcasting.

    Parameters
    ----------
    log_dose_rel : array (..., K)
        log(dose / dref) per agent (0 where the dose is 0).
    pos : array of bool (..., K)
        Dose > 0.
    lec, lh, limax : array (..., K)
        log(ec50 / dref), log Hill slope, logit imax.
    e0 : array (...)
        Untreated viability fraction.
    inter : array (...), optional
        kappa (``kind="bliss"``) or log alpha (``kind="potency"``).
    kind : {None, "bliss", "potency"}

    Returns
    -------
    numpy.ndarray
        Viability fraction.
    """
    h = np.exp(lh)
    imax = _sigmoid(limax)
    if inter is not None:
        inter = np.asarray(inter, float)
    if kind == "potency":
        H0 = pos * _sigmoid(h * (log_dose_rel - lec))
        shift = inter[..., None] * H0[..., ::-1]
        H = pos * _sigmoid(h * (log_dose_rel - (lec - shift)))
    else:
        H = pos * _sigmoid(h * (log_dose_rel - lec))
    inh = imax * H
    v = e0 * np.prod(1.0 - inh, axis=-1)
    if kind == "bliss":
        v = v * np.exp(-inter * inh[..., 0] * inh[..., 1])
    return v


# ---------------------------------------------------------------------------------------
# PyMC model
# ---------------------------------------------------------------------------------------
def build_dose_response_model(arrays: DoseResponseArrays, priors: Mapping[str, Prior], *, combination=None,
                              likelihood: str = "normal", hierarchical: bool = True):
    """Build the PyMC hierarchical Hill model.

    Parameters
    ----------
    arrays : DoseResponseArrays
    priors : dict of str to Prior
    combination : {None, "bliss", "potency"}
    likelihood : {"normal", "student_t"}
    hierarchical : bool
        Partial pooling across groups (False when there is one curve per population).

    Returns
    -------
    pymc.Model
        Coordinates ``population``, ``agent``, ``curve``, ``obs``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    K = arrays.n_agents
    coords = {"population": list(arrays.population_labels), "agent": list(arrays.agent_labels),
              "curve": list(arrays.curve_labels), "obs": list(arrays.obs_label)}
    cp_ = arrays.curve_population
    oc = arrays.obs_curve
    with pm.Model(coords=coords) as m:
        def pooled(name, mean_prior, sd_prior, dims_mean, dims_curve):
            mean = priors[mean_prior].to_pymc(f"{name}_mean", dims=dims_mean)
            if not hierarchical:
                return mean, mean[cp_]
            sd = priors[sd_prior].to_pymc(f"{name}_sd")
            z = pm.Normal(f"z_{name}", 0.0, 1.0, dims=dims_curve)
            return mean, mean[cp_] + sd * z

        pa, ca = ("population", "agent"), ("curve", "agent")
        lec_m, lec_c = pooled("log_ec50", "log_ec50_mean", "log_ec50_sd", pa, ca)
        lh_m, lh_c = pooled("log_hill", "log_hill_mean", "log_hill_sd", pa, ca)
        li_m, li_c = pooled("logit_imax", "logit_imax_mean", "logit_imax_sd", pa, ca)
        e0_m, e0_c = pooled("e0", "e0_mean", "e0_sd", "population", "curve")
        pm.Deterministic("ec50", pt.exp(lec_m) * arrays.dose_ref, dims=pa)
        pm.Deterministic("hill", pt.exp(lh_m), dims=pa)
        pm.Deterministic("imax", pm.math.sigmoid(li_m), dims=pa)
        pm.Deterministic("e0", e0_m, dims="population")
        if hierarchical:
            pm.Deterministic("curve_ec50", pt.exp(lec_c) * arrays.dose_ref, dims=ca)
        inter_c = None
        if combination is not None:
            it_m, inter_c = pooled("interaction", "interaction_mean", "interaction_sd", "population", "curve")
            pm.Deterministic("interaction", it_m, dims="population")
            if combination == "potency":
                pm.Deterministic("alpha", pt.exp(it_m), dims="population")
        ld = arrays.log_dose_rel
        pos = (arrays.dose > 0).astype(float)
        lec, lh, li = lec_c[oc], lh_c[oc], li_c[oc]
        h = pt.exp(lh)
        imax = pm.math.sigmoid(li)
        if combination == "potency":
            H0 = pos * pm.math.sigmoid(h * (ld - lec))
            shift = inter_c[oc][:, None] * H0[:, ::-1]
            H = pos * pm.math.sigmoid(h * (ld - (lec - shift)))
        else:
            H = pos * pm.math.sigmoid(h * (ld - lec))
        inh = imax * H
        surv = 1.0 - inh[:, 0]
        for k in range(1, K):
            surv = surv * (1.0 - inh[:, k])
        mu = e0_c[oc] * surv
        if combination == "bliss":
            mu = mu * pt.exp(-inter_c[oc] * inh[:, 0] * inh[:, 1])
        sigma = priors["sigma"].to_pymc("sigma")
        if likelihood == "student_t":
            nu = priors["nu"].to_pymc("nu")
            pm.StudentT("response", nu=nu, mu=mu, sigma=sigma, observed=arrays.v, dims="obs")
        else:
            pm.Normal("response", mu=mu, sigma=sigma, observed=arrays.v, dims="obs")
    return m


def _key_vars(meta) -> list[str]:
    names = ["ec50", "hill", "imax", "e0"]
    if meta.get("hierarchical"):
        names += ["log_ec50_sd", "log_hill_sd", "logit_imax_sd", "e0_sd"]
    if meta.get("combination"):
        names += ["interaction"] + (["interaction_sd"] if meta.get("hierarchical") else [])
    names.append("sigma")
    if meta.get("likelihood") == "student_t":
        names.append("nu")
    return names


def _default_priors(arrays, combination, likelihood):
    ld = arrays.log_dose_rel[arrays.dose > 0]
    span = float(ld.max() - ld.min()) if ld.size else 0.0
    return dose_response_priors(log_dose_center=0.0, log_dose_scale=max(2.5, span),
                                combination=combination, likelihood=likelihood)


def fit_dose_response(
    data: pd.DataFrame,
    dose,
    response: str,
    by=None,
    *,
    group=None,
    combination: str = "bliss",
    response_kind: str = "viability",
    scale: str = "fraction",
    likelihood: str = "normal",
    dose_unit: str | None = None,
    priors: Mapping | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    sampler: str = "nutpie",
    seed=None,
    target_accept: float = 0.95,
    progress: bool = False,
    check: bool = True,
    ci_level: float = 0.9,
):
    """Fit hierarchical Hill curves (and a combination interaction) with PyMC.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified); replicates are kept, not averaged.
    dose : str or (str, str)
        Dose column (dose unit), or the two dose columns of a combination
        experiment (single-agent rows have the other dose 0).
    response : str
        Response column (viability or inhibition, fraction or percent).
    by : str or list of str, optional
        Independent populations (agent, cell line, combination pair), like
        ``comboplan.fit_dose_response(by=...)``.
    group : str or list of str, optional
        Replicate units pooled within each population: experiment, plate, primary
        tumour.  ``None``: one curve per population, no pooling.
    combination : {"bliss", "potency"}
        Interaction for two-agent data: Bliss log-survival excess kappa, or
        MuSyC-style potency interaction log alpha.  Both: > 0 = synergy.
    response_kind : {"viability", "inhibition"}
    scale : {"fraction", "percent"}
    likelihood : {"normal", "student_t"}
        Student-t for robustness to outlying wells.
    dose_unit : str, optional
        Recorded for EC50 units.
    priors : dict, optional
        Overrides of :func:`~comboplan.fitting.bayes.priors.dose_response_priors`.
    draws, tune, chains, sampler, seed, target_accept, progress, check, ci_level
        As in :func:`~comboplan.fitting.bayes.growth.fit_growth` (``target_accept``
        defaults to 0.95 here: with few experiments the between-experiment sds make the
        posterior harder to explore; 0.9 gave a few divergences in about half of the
        calibration data sets, 0.95 almost none); with ``sampler="nutpie"``
        single agents and ``combination="bliss"`` (normal likelihood, default prior
        families) run on a precompiled numba density (:mod:`.fastdose`), other models on
        the PyMC graph compiled by nutpie (``sampler="nutpie-graph"`` forces the latter).

    Returns
    -------
    BayesDoseResponseResult
        ``ec50`` (dose unit), ``hill``, ``imax`` (fraction), ``e0`` (viability fraction)
        per population (and agent); ``interaction`` and ``p_synergy()`` for combinations.
    """
    from .results import BayesDoseResponseResult
    from .sampling import check_diagnostics, resolve_seed, sample_model

    if likelihood not in ("normal", "student_t"):
        raise DataError(f"likelihood must be 'normal' or 'student_t'; got {likelihood!r}.")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must be in (0, 1); got {ci_level}.")
    arrays = prepare_dose_response(data, dose, response, by=by, group=group, response_kind=response_kind,
                                   scale=scale)
    comb = None
    if arrays.n_agents == 2:
        if combination not in COMBINATIONS:
            raise DataError(f"combination must be one of {COMBINATIONS}; got {combination!r}.")
        comb = combination
    hierarchical = arrays.n_curves > arrays.n_populations
    pri = resolve_priors(_default_priors(arrays, comb, likelihood), priors)
    from . import fastdose
    from .sampling import available_samplers

    s = resolve_seed(seed)
    sampler = (sampler or "nutpie").lower()
    if sampler not in ("nutpie", "nutpie-graph", "pymc", "auto"):
        raise DataError(f"sampler must be 'nutpie', 'nutpie-graph' or 'pymc'; got {sampler!r}.")
    if (sampler in ("nutpie", "auto") and "nutpie" in available_samplers()
            and fastdose.supported(pri, comb, likelihood)):
        idata = fastdose.FastDoseModel(arrays, pri, comb, hierarchical).sample(
            draws=draws, tune=tune, chains=chains, seed=s, target_accept=target_accept, progress=progress)
    else:
        model = build_dose_response_model(arrays, pri, combination=comb, likelihood=likelihood,
                                          hierarchical=hierarchical)
        idata = sample_model(model, draws=draws, tune=tune, chains=chains, seed=s,
                             sampler="nutpie" if sampler == "nutpie-graph" else sampler,
                             target_accept=target_accept, progress=progress)
    meta = {
        "kind": "dose_response", "combination": comb, "likelihood": likelihood, "hierarchical": hierarchical,
        "response_kind": response_kind, "scale": scale, "dose_unit": dose_unit or "",
        "columns": {k: v for k, v in arrays.columns.items()}, "dose_ref": arrays.dose_ref.tolist(),
        "group": ", ".join(as_list(group)), "seed": s,
        "priors": {k: {"dist": p.dist, "params": dict(p.params), "unit": p.unit, "description": p.description}
                   for k, p in pri.items()},
        "sampler": idata.attrs.get("sampler"), "compile_seconds": idata.attrs.get("compile_seconds"),
        "sampling_seconds": idata.attrs.get("sampling_seconds"), "backend": idata.attrs.get("backend", "pymc-graph"),
        "draws": int(draws), "tune": int(tune),
        "chains": int(chains), "target_accept": target_accept, "ci_level": ci_level,
    }
    idata = _complete_idata(idata, arrays, meta, s)
    diag = check_diagnostics(idata, _key_vars(meta), warn=check)
    return BayesDoseResponseResult(idata=idata, meta=meta, diagnostics=diag, arrays=arrays)


def _curve_params(post, meta, arrays):
    """Curve-level parameters (chain, draw, curve[, agent]) from the posterior (numpy)."""
    cp_ = arrays.curve_population
    out = {}
    for name in ("log_ec50", "log_hill", "logit_imax", "e0") + (("interaction",) if meta["combination"] else ()):
        mean = post[f"{name}_mean"].values[:, :, cp_]
        if meta["hierarchical"]:
            sd = post[f"{name}_sd"].values[:, :, None]
            z = post[f"z_{name}"].values
            if z.ndim == 4:
                sd = sd[..., None]
            mean = mean + sd * z
        out[name] = mean
    return out


def _obs_mean(post, meta, arrays):
    c = _curve_params(post, meta, arrays)
    oc = arrays.obs_curve
    inter = c["interaction"][:, :, oc] if meta["combination"] else None
    return response_fraction(arrays.log_dose_rel, arrays.dose > 0, c["log_ec50"][:, :, oc],
                             c["log_hill"][:, :, oc], c["logit_imax"][:, :, oc], c["e0"][:, :, oc], inter,
                             meta["combination"])


def _complete_idata(idata, arrays, meta, seed):
    import arviz as az
    import xarray as xr
    from scipy import stats

    post = idata.posterior
    post = post[[v for v in post.data_vars if not v.endswith("__")]]
    mu = _obs_mean(post, meta, arrays)
    sig = post["sigma"].values[..., None]
    z = (arrays.v - mu) / sig
    rng = np.random.default_rng(seed + 1)
    if meta["likelihood"] == "student_t":
        nu = post["nu"].values[..., None]
        ll = stats.t.logpdf(z, nu) - np.log(sig)
        rep = mu + sig * rng.standard_t(nu, size=mu.shape)
    else:
        ll = stats.norm.logpdf(z) - np.log(sig)
        rep = mu + sig * rng.standard_normal(mu.shape)
    coords = {"chain": post.chain.values, "draw": post.draw.values, "obs": arrays.obs_label}
    extra = {"sample_stats": idata.sample_stats} if "sample_stats" in idata.groups() else {}
    out = az.InferenceData(
        posterior=post,
        **extra,
        log_likelihood=xr.Dataset({"response": (("chain", "draw", "obs"), ll)}, coords=coords),
        posterior_predictive=xr.Dataset({"response": (("chain", "draw", "obs"), rep)}, coords=coords),
        observed_data=xr.Dataset({"response": ("obs", arrays.v)}, coords={"obs": arrays.obs_label}),
        constant_data=xr.Dataset(
            {"dose": (("obs", "agent"), arrays.dose), "obs_curve": ("obs", arrays.obs_curve),
             "curve_population": ("curve", arrays.curve_population),
             "curve_group": ("curve", arrays.curve_group.astype(str))},
            coords={"obs": arrays.obs_label, "agent": list(arrays.agent_labels),
                    "curve": list(arrays.curve_labels)}),
    )
    out.posterior.attrs["comboplan_meta"] = json.dumps(meta, default=str)
    out.attrs = dict(getattr(idata, "attrs", {}) or {})
    return out


def _arrays_from_idata(idata, meta) -> DoseResponseArrays:
    cd = idata.constant_data
    return DoseResponseArrays(
        dose=np.asarray(cd["dose"].values, float),
        v=np.asarray(idata.observed_data["response"].values, float),
        obs_curve=np.asarray(cd["obs_curve"].values, np.int64),
        curve_population=np.asarray(cd["curve_population"].values, np.int64),
        curve_labels=np.asarray([str(v) for v in cd.coords["curve"].values], dtype=object),
        curve_group=np.asarray([str(v) for v in cd["curve_group"].values], dtype=object),
        population_labels=np.asarray([str(v) for v in idata.posterior.coords["population"].values], dtype=object),
        agent_labels=np.asarray([str(v) for v in cd.coords["agent"].values], dtype=object),
        dose_ref=np.asarray(meta["dose_ref"], float),
        obs_label=np.asarray([str(v) for v in cd.coords["obs"].values], dtype=object),
        columns=meta.get("columns", {}),
    )


# ---------------------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------------------
def _to_user_scale(v, meta):
    frac = 1.0 - v if meta["response_kind"] == "inhibition" else v
    return frac * 100.0 if meta["scale"] == "percent" else frac


def predict_dose_response(result, dose, *, population=None, agent=None, dose_b=None, new_group=True,
                          noise=False, seed=None, thin=1):
    """Posterior predictive responses; see :meth:`BayesDoseResponseResult.predict`."""
    import xarray as xr

    meta, arrays = result.meta, result.arrays
    post = result.idata.posterior.isel(draw=slice(None, None, int(thin)))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pops = list(map(str, post.coords["population"].values))
    sel = pops if population is None else [str(p) for p in np.atleast_1d(population)]
    bad = [p for p in sel if p not in pops]
    if bad:
        raise DataError(f"unknown population(s) {bad}; populations are {pops}.")
    pidx = np.array([pops.index(p) for p in sel])
    d = np.atleast_1d(np.asarray(dose, float))
    if (d < 0).any():
        raise DataError("doses must be >= 0 (natural scale).")
    K = arrays.n_agents
    comb = meta["combination"]
    if K == 2:
        if agent is not None and dose_b is not None:
            raise DataError("give either agent= (single-agent prediction) or dose_b= (combination grid), not both.")
        if agent is not None:
            labels = list(map(str, arrays.agent_labels))
            if agent in ("A", "B"):
                k = 0 if agent == "A" else 1
            elif str(agent) in labels:
                k = labels.index(str(agent))
            else:
                raise DataError(f"agent must be 'A', 'B' or one of {labels}; got {agent!r}.")
            grid = np.zeros((len(d), 2))
            grid[:, k] = d
            shape_tail, dims_tail, coords_tail = (len(d),), ("dose",), {"dose": d}
        else:
            db = np.atleast_1d(np.asarray(dose_b if dose_b is not None else [0.0], float))
            A, B = np.meshgrid(d, db, indexing="ij")
            grid = np.column_stack([A.ravel(), B.ravel()])
            shape_tail, dims_tail, coords_tail = (len(d), len(db)), ("dose", "dose_b"), {"dose": d, "dose_b": db}
    else:
        grid = d[:, None]
        shape_tail, dims_tail, coords_tail = (len(d),), ("dose",), {"dose": d}
    pos = grid > 0
    ldr = np.where(pos, np.log(np.where(pos, grid, 1.0)) - np.log(arrays.dose_ref), 0.0)

    def par(name, agentdim):
        m = post[f"{name}_mean"].values[:, :, pidx]  # (c, d, P[, K])
        if new_group and meta["hierarchical"]:
            sd = post[f"{name}_sd"].values[:, :, None]
            if agentdim:
                sd = sd[..., None]
            m = m + sd * rng.standard_normal(m.shape)
        return m

    lec, lh, li = (par(n, True)[:, :, :, None, :] for n in ("log_ec50", "log_hill", "logit_imax"))
    e0 = par("e0", False)[:, :, :, None]
    inter = par("interaction", False)[:, :, :, None] if comb else None
    v = response_fraction(ldr, pos, lec, lh, li, e0, inter, comb)
    if noise:
        sig = post["sigma"].values[:, :, None, None]
        if meta["likelihood"] == "student_t":
            v = v + sig * rng.standard_t(post["nu"].values[:, :, None, None], size=v.shape)
        else:
            v = v + sig * rng.standard_normal(v.shape)
    out = _to_user_scale(v, meta).reshape(v.shape[:3] + shape_tail)
    da = xr.DataArray(out, dims=("chain", "draw", "population") + dims_tail,
                      coords={"chain": post.chain.values, "draw": post.draw.values, "population": sel,
                              **coords_tail}, name="response")
    da.attrs.update({"response_kind": meta["response_kind"], "scale": meta["scale"],
                     "dose_unit": meta.get("dose_unit", "")})
    return da


# ---------------------------------------------------------------------------------------
# prior predictive
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DosePriorPredictive:
    """Prior predictive draws of the Hill model and their comparison with the data.

    Attributes
    ----------
    draws : xarray.Dataset
        ``response`` (sample, obs) on the viability-fraction scale.
    table : pandas.DataFrame
        Per dose level: observed and prior-predictive quantiles.
    coverage : float
        Fraction of observations inside the central 95 % prior-predictive interval.
    """

    draws: object
    table: pd.DataFrame
    coverage: float

    def summary(self) -> str:
        """Text summary."""
        return "\n".join([
            "Prior predictive check (viability fraction of control)",
            f"observations inside the central 95 % prior predictive interval: {100 * self.coverage:.1f} %",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
        ])

    def plot(self, ax=None):
        """Plot prior-predictive bands against the observations; returns the Axes."""
        from ...plot.bayes import plot_prior_predictive

        return plot_prior_predictive(self, ax=ax)


def prior_predictive_dose_response(data, dose, response, by=None, *, group=None, combination="bliss",
                                   response_kind="viability", scale="fraction", likelihood="normal", priors=None,
                                   samples: int = 1000, seed=None) -> DosePriorPredictive:
    """Simulate responses from the priors (numpy, no MCMC) and compare with the data.

    Same arguments as :func:`fit_dose_response`; ``samples`` prior draws.

    Returns
    -------
    DosePriorPredictive
    """
    import xarray as xr

    arrays = prepare_dose_response(data, dose, response, by=by, group=group, response_kind=response_kind,
                                   scale=scale)
    comb = combination if arrays.n_agents == 2 else None
    if comb is not None and comb not in COMBINATIONS:
        raise DataError(f"combination must be one of {COMBINATIONS}; got {combination!r}.")
    pri = resolve_priors(_default_priors(arrays, comb, likelihood), priors)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    S, P, K, C = int(samples), arrays.n_populations, arrays.n_agents, arrays.n_curves
    hier = arrays.n_curves > arrays.n_populations
    cp_ = arrays.curve_population

    def pooled(mean_name, sd_name, agent):
        shape = (S, P, K) if agent else (S, P)
        m = pri[mean_name].sample(rng, shape)[:, cp_]
        if hier:
            sd = pri[sd_name].sample(rng, S).reshape((S, 1, 1) if agent else (S, 1))
            m = m + sd * rng.standard_normal(m.shape)
        return m

    lec = pooled("log_ec50_mean", "log_ec50_sd", True)
    lh = pooled("log_hill_mean", "log_hill_sd", True)
    li = pooled("logit_imax_mean", "logit_imax_sd", True)
    e0 = pooled("e0_mean", "e0_sd", False)
    inter = pooled("interaction_mean", "interaction_sd", False) if comb else None
    oc = arrays.obs_curve
    mu = response_fraction(arrays.log_dose_rel, arrays.dose > 0, lec[:, oc], lh[:, oc], li[:, oc], e0[:, oc],
                           inter[:, oc] if comb else None, comb)
    sig = pri["sigma"].sample(rng, S)[:, None]
    if likelihood == "student_t":
        y = mu + sig * rng.standard_t(pri["nu"].sample(rng, S)[:, None], size=mu.shape)
    else:
        y = mu + sig * rng.standard_normal(mu.shape)
    lo, hi = np.quantile(y, [0.025, 0.975], axis=0)
    inside = (arrays.v >= lo) & (arrays.v <= hi)
    rows = []
    key = [tuple(r) for r in arrays.dose]
    for dk in dict.fromkeys(key):
        k = np.array([kk == dk for kk in key])
        q = np.quantile(y[:, k], [0.025, 0.5, 0.975])
        rows.append({**{f"dose_{a}": x for a, x in zip(arrays.agent_labels, dk)}, "n_obs": int(k.sum()),
                     "observed_median": float(np.median(arrays.v[k])), "prior_q025": q[0], "prior_median": q[1],
                     "prior_q975": q[2]})
    ds = xr.Dataset({"response": (("sample", "obs"), y)}, coords={"obs": list(arrays.obs_label)})
    ds.attrs["observed_response"] = json.dumps(arrays.v.tolist())
    return DosePriorPredictive(draws=ds, table=pd.DataFrame(rows), coverage=float(inside.mean()))


# ---------------------------------------------------------------------------------------
# simulation
# ---------------------------------------------------------------------------------------
def simulate_dose_response_study(
    seed=None,
    *,
    n_groups: int = 4,
    doses=(0.0, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
    replicates: int = 3,
    ec50=(1.0, 2.0),
    hill=(1.2, 1.0),
    imax=(0.9, 0.8),
    e0: float = 1.0,
    interaction: float | None = None,
    combination: str = "bliss",
    log_ec50_sd: float = 0.3,
    log_hill_sd: float = 0.1,
    logit_imax_sd: float = 0.2,
    e0_sd: float = 0.03,
    interaction_sd: float = 0.1,
    sigma: float = 0.04,
) -> pd.DataFrame:
    """Simulate a (combination) viability experiment repeated in ``n_groups`` experiments.

    Parameters
    ----------
    seed : int or numpy.random.Generator
    n_groups : int
        Experiments (plates / primary tumours).
    doses : sequence of float
        Dose levels (uM) of each agent; combinations use the full grid when
        ``interaction`` is given, else single agent A only.
    replicates : int
        Wells per dose (combination) per experiment.
    ec50, hill, imax : (float, float)
        Population values for agents A and B (ec50 in uM).
    e0 : float
        Untreated viability fraction.
    interaction : float, optional
        kappa (bliss) or log alpha (potency); None = single-agent study of agent A.
    combination : {"bliss", "potency"}
    log_ec50_sd, log_hill_sd, logit_imax_sd, e0_sd, interaction_sd, sigma : float
        Between-experiment sds and residual sd (viability fraction).

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment``, ``dose_a``, ``dose_b`` (combination) or ``dose``,
        ``viability``; ``attrs["truth"]``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    doses = np.asarray(doses, float)
    K = 2 if interaction is not None else 1
    if K == 2:
        A, B = np.meshgrid(doses, doses, indexing="ij")
        grid = np.column_stack([A.ravel(), B.ravel()])
    else:
        grid = doses[:, None]
    ref = np.array([np.exp(np.mean(np.log(doses[doses > 0])))] * K)
    rows = []
    lim = np.log(np.asarray(imax[:K]) / (1 - np.asarray(imax[:K])))
    for g in range(n_groups):
        lec = np.log(np.asarray(ec50[:K]) / ref) + log_ec50_sd * rng.standard_normal(K)
        lh = np.log(np.asarray(hill[:K])) + log_hill_sd * rng.standard_normal(K)
        li = lim + logit_imax_sd * rng.standard_normal(K)
        e0g = e0 + e0_sd * rng.standard_normal()
        it = interaction + interaction_sd * rng.standard_normal() if K == 2 else None
        pos = grid > 0
        ldr = np.where(pos, np.log(np.where(pos, grid, 1.0)) - np.log(ref), 0.0)
        mu = response_fraction(ldr, pos, lec, lh, li, e0g, it, combination if K == 2 else None)
        for _ in range(replicates):
            y = mu + sigma * rng.standard_normal(mu.shape)
            for dd, yy in zip(grid, y):
                r = {"experiment": f"exp{g + 1}", "viability": yy}
                if K == 2:
                    r.update({"dose_a": dd[0], "dose_b": dd[1]})
                else:
                    r["dose"] = dd[0]
                rows.append(r)
    df = pd.DataFrame(rows)
    df.attrs["truth"] = {"ec50": list(ec50[:K]), "hill": list(hill[:K]), "imax": list(imax[:K]), "e0": e0,
                         "interaction": interaction, "combination": combination if K == 2 else None,
                         "sigma": sigma}
    return df
