"""In-silico experiment planning: PK/PD, virtual cohorts, dose-reduction explorer, power.

Main entry points (imported lazily)::

    from comboplan.simulate import (PKPDModel, Arm, simulate_cohort, dose_reduction, study_power,
                                    sample_size, load_scenario)

See ``docs/simulate.md`` for the user guide and the TOML scenario format.
"""
from __future__ import annotations

from .._lazy import lazy_loader

_NAMES = {
    # exposures
    "ProductExposure": "comboplan.simulate.exposure",
    "DrugExposure": "comboplan.simulate.exposure",
    "secretome": "comboplan.simulate.exposure",
    # PD
    "GrowthModel": "comboplan.simulate.pd",
    "Effect": "comboplan.simulate.pd",
    "Interaction": "comboplan.simulate.pd",
    "NO_INTERACTION": "comboplan.simulate.pd",
    "simulate_growth": "comboplan.simulate.pd",
    "total_hazard": "comboplan.simulate.pd",
    "SIMEONI2004_PACLITAXEL": "comboplan.simulate.pd",
    "SIMEONI_K2_PACLITAXEL": "comboplan.simulate.pd",
    # cohorts
    "Arm": "comboplan.simulate.cohort",
    "PKPDModel": "comboplan.simulate.cohort",
    "Variability": "comboplan.simulate.cohort",
    "Readout": "comboplan.simulate.cohort",
    "Dropout": "comboplan.simulate.cohort",
    "ParameterDraws": "comboplan.simulate.cohort",
    "draws_from_covariance": "comboplan.simulate.cohort",
    "draws_from_posterior": "comboplan.simulate.cohort",
    "simulate_cohort": "comboplan.simulate.cohort",
    "CohortResult": "comboplan.simulate.cohort",
    # planning
    "dose_reduction": "comboplan.simulate.explore",
    "DoseReductionResult": "comboplan.simulate.explore",
    "study_power": "comboplan.simulate.power",
    "sample_size": "comboplan.simulate.power",
    "power_grid": "comboplan.simulate.power",
    "simulate_study": "comboplan.simulate.power",
    "PowerResult": "comboplan.simulate.power",
    "assurance": "comboplan.simulate.power",
    "format_power": "comboplan.simulate.power",
    "format_assurance": "comboplan.simulate.power",
    "ttest_power": "comboplan.simulate.power",
    # Monte-Carlo error of simulated probabilities
    "mc_se": "comboplan.simulate.mcerror",
    "mc_interval": "comboplan.simulate.mcerror",
    "format_probability": "comboplan.simulate.mcerror",
    # scenarios
    "Scenario": "comboplan.simulate.scenario",
    "load_scenario": "comboplan.simulate.scenario",
    "parse_scenario": "comboplan.simulate.scenario",
    # calibration to the anchor paper
    "calibrate_eiro2024": "comboplan.simulate.paper",
    "PaperCalibration": "comboplan.simulate.paper",
    "eiro2024_evidence": "comboplan.simulate.paper",
    "backed_out_sd": "comboplan.simulate.paper",
    "predicted_arms": "comboplan.simulate.paper",
    # PK (re-exported)
    "Regimen": "comboplan.models.pk",
    "PKModel": "comboplan.models.pk",
    "parse_schedule": "comboplan.models.pk",
    "paclitaxel_mouse": "comboplan.models.pk",
    # toxicity: body-weight turnover model
    "BodyWeightModel": "comboplan.simulate.toxicity",
    "BodyWeightSimulation": "comboplan.simulate.toxicity",
    "BodyWeightFit": "comboplan.simulate.toxicity",
    "ToxicityLimit": "comboplan.simulate.toxicity",
    "simulate_body_weight": "comboplan.simulate.toxicity",
    "fit_body_weight_model": "comboplan.simulate.toxicity",
    "evaluate_toxicity": "comboplan.simulate.toxicity",
    "NIMargin": "comboplan.simulate.noninferiority",
    "margin_effect_preservation": "comboplan.simulate.noninferiority",
    "margin_from_data": "comboplan.simulate.noninferiority",
    "NIAnalysis": "comboplan.simulate.noninferiority",
    "noninferiority_analysis": "comboplan.simulate.noninferiority",
    "NIDesignResult": "comboplan.simulate.noninferiority",
    "noninferiority_design": "comboplan.simulate.noninferiority",
    "structural_sensitivity": "comboplan.simulate.noninferiority",
    "eiro2024_sensitivity": "comboplan.simulate.noninferiority",
}
__all__ = sorted(_NAMES)


__getattr__, __dir__ = lazy_loader(globals(), _NAMES)
