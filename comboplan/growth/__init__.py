"""Tumour growth and in-vivo combination analysis.

* :mod:`comboplan.growth.data` -- tidy longitudinal tables: validation (:func:`validate_growth`
  -> :class:`GrowthData`), wide spreadsheets (:func:`read_growth_wide`), relative size,
  log transforms with a declared rule for undetectable tumours.
* :mod:`comboplan.growth.api` -- per-animal growth fits with model comparison
  (:func:`fit_growth`) and the exponential-growth linear mixed model (:func:`fit_growth_mixed`).
* :mod:`comboplan.growth.mixed_batch` -- that mixed model with a variance function for many
  simulated studies at once (:func:`fit_growth_mixed_batch`, the power-analysis path).
* :mod:`comboplan.growth.nlme_growth` -- Gompertz / logistic / exponential nonlinear mixed-effects
  models with per-arm growth parameters (:func:`fit_growth_nlme`, :func:`compare_growth_nlme`).
* :mod:`comboplan.growth.endpoints` -- TGI, T/C, AUC, doubling time, growth delay, best
  response and mRECIST (:func:`growth_endpoints`).
* :mod:`comboplan.growth.synergy` -- Bliss / HSA / response-additivity synergy on growth rates,
  over time, with bootstrap alternatives (:func:`invivo_synergy`).
* :mod:`comboplan.growth.synergy_tools` -- the reference tools' synergy definitions: invivoSyn
  (:func:`invivosyn_synergy`) and CombPDX (:func:`combpdx_synergy`), also as
  ``invivo_synergy(..., definition=...)``.
* :mod:`comboplan.growth.survival` -- time to a size threshold or humane endpoint, Kaplan-Meier,
  log-rank, Cox and survival-based Bliss synergy (:func:`time_to_event`, :func:`survival_analysis`).

Submodules are imported on first use.
"""
from __future__ import annotations

from .._lazy import lazy_loader

_NAMES = {
    "GrowthData": "comboplan.growth.data",
    "validate_growth": "comboplan.growth.data",
    "read_growth_wide": "comboplan.growth.data",
    "relative_size": "comboplan.growth.data",
    "fit_growth": "comboplan.growth.api",
    "fit_growth_mixed": "comboplan.growth.api",
    "GrowthFit": "comboplan.growth.api",
    "MixedGrowthFit": "comboplan.growth.api",
    "compare_mixed": "comboplan.growth.api",
    "fit_growth_mixed_batch": "comboplan.growth.mixed_batch",
    "fit_growth_nlme": "comboplan.growth.nlme_growth",
    "GrowthNLMEFit": "comboplan.growth.nlme_growth",
    "compare_growth_nlme": "comboplan.growth.nlme_growth",
    "growth_endpoints": "comboplan.growth.endpoints",
    "GrowthEndpoints": "comboplan.growth.endpoints",
    "compare_arms": "comboplan.growth.endpoints",
    "ArmComparison": "comboplan.growth.endpoints",
    "invivo_synergy": "comboplan.growth.synergy",
    "InVivoSynergy": "comboplan.growth.synergy",
    "invivosyn_synergy": "comboplan.growth.synergy_tools",
    "combpdx_synergy": "comboplan.growth.synergy_tools",
    "ToolSynergy": "comboplan.growth.synergy_tools",
    "bodyweight_endpoints": "comboplan.growth.bodyweight",
    "BodyWeightEndpoints": "comboplan.growth.bodyweight",
    "kaplan_meier": "comboplan.growth.bodyweight",
    "time_to_event": "comboplan.growth.survival",
    "survival_analysis": "comboplan.growth.survival",
    "SurvivalResult": "comboplan.growth.survival",
}
__all__ = sorted(_NAMES)


__getattr__, __dir__ = lazy_loader(globals(), _NAMES)
