"""Bayesian hierarchical models (PyMC): dose-response and tumour growth.

Available as ``comboplan.bayes``.  Importing this package does **not** import PyMC,
pytensor, nutpie or arviz; they are imported when a model is fitted.

Main entry points
-----------------
fit_growth(data, subject=, arm=, time=, size=, model=, interaction=, lloq=, dropout=, ...)
    Hierarchical growth model with a Bliss interaction on growth rates
    (interaction < 0 = synergy) -> :class:`BayesGrowthResult`.
fit_dose_response(data, dose=, response=, by=, group=, ...)
    Hierarchical Hill curves with partial pooling across experiments / plates /
    primary tumours; ``dose=(dose_A, dose_B)`` adds a combination interaction
    (interaction > 0 = synergy) -> :class:`BayesDoseResponseResult`.
prior_predictive_growth, prior_predictive_dose_response
    Prior-predictive checks (no MCMC).
GrowthRefitter(template, ...).fit(data, seed=)
    Many data sets of one design (simulation, power, calibration) without recompiling.
load_result(path)
    Re-open a result saved with ``result.to_netcdf(path)``.
growth_priors, dose_response_priors, Prior, prior_table
    Default priors (documented in docs/bayes.md) and how to override them.
simulate_growth_study, simulate_dose_response_study
    Seeded simulated studies from the models (tests, benchmarks, examples).
"""
from __future__ import annotations

from ..._lazy import lazy_loader

_LAZY = {
    "fit_growth": "comboplan.fitting.bayes.growth",
    "fit_tgi_bayes": "comboplan.fitting.bayes.tgi",
    "TGIBayesFit": "comboplan.fitting.bayes.tgi",
    "prior_predictive_growth": "comboplan.fitting.bayes.growth_prior",
    "simulate_growth_study": "comboplan.fitting.bayes.growth_prior",
    "prepare_growth": "comboplan.fitting.bayes.growth",
    "GrowthArrays": "comboplan.fitting.bayes.growth",
    "build_growth_model": "comboplan.fitting.bayes.growth",
    "GrowthRefitter": "comboplan.fitting.bayes.growth",
    "fit_dose_response": "comboplan.fitting.bayes.dose_response",
    "prior_predictive_dose_response": "comboplan.fitting.bayes.dose_response",
    "simulate_dose_response_study": "comboplan.fitting.bayes.dose_response",
    "build_dose_response_model": "comboplan.fitting.bayes.dose_response",
    "BayesResult": "comboplan.fitting.bayes.results",
    "BayesGrowthResult": "comboplan.fitting.bayes.results",
    "BayesDoseResponseResult": "comboplan.fitting.bayes.results",
    "load_result": "comboplan.fitting.bayes.results",
    "Prior": "comboplan.fitting.bayes.priors",
    "growth_priors": "comboplan.fitting.bayes.priors",
    "dose_response_priors": "comboplan.fitting.bayes.priors",
    "prior_table": "comboplan.fitting.bayes.priors",
    "sample_model": "comboplan.fitting.bayes.sampling",
    "check_diagnostics": "comboplan.fitting.bayes.sampling",
    "Diagnostics": "comboplan.fitting.bayes.sampling",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_loader(globals(), _LAZY, label="comboplan.bayes")
