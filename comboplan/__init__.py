"""comboplan: quantitative pharmacology of combination therapies.

Dose-response fitting, synergy scoring, tumour-growth analysis, Bayesian hierarchical
models and in-silico experiment planning.  The public API is re-exported here and
loaded lazily, so ``import comboplan`` stays fast (PyMC is imported only when a
Bayesian fit is requested).

Quick start::

    import comboplan as cp
    res = cp.fit_dose_response(df, dose="conc_uM", response="viability", by="agent")
    print(res.summary())
    res.ecx(50, ci="delta")
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_loader
from .exceptions import (
    ComboplanError,
    ComboplanWarning,
    ConvergenceWarning,
    DataError,
    DiagnosticsWarning,
    ExtrapolationWarning,
    FitError,
    InvalidParameterError,
)

__version__ = "0.1.0"

# public name -> module that defines it (imported on first access)
_LAZY: dict[str, str] = {
    # dose-response (issue: foundation)
    "fit_dose_response": "comboplan.fitting.dose_response",
    "DoseResponseResult": "comboplan.fitting.dose_response",
    "compare": "comboplan.fitting.dose_response",
    "fit_dose_response_shared": "comboplan.fitting.shared",
    "SharedDoseResponseResult": "comboplan.fitting.shared",
    "load_shared_fit": "comboplan.fitting.shared",
    # one result protocol: every result's to_netcdf(path) is read back by load_result(path)
    "load_result": "comboplan.results",
    "get_model": "comboplan.models.dose_response",
    # data layer
    "read_table": "comboplan.data.io",
    "load_dataset": "comboplan.data.datasets",
    "normalize": "comboplan.data.normalize",
    "to_inhibition": "comboplan.data.normalize",
    "to_viability": "comboplan.data.normalize",
    "gr_values": "comboplan.data.normalize",
    # in-vitro synergy
    "synergy": "comboplan.combination.api",
    "chou_talalay": "comboplan.combination.chou_talalay",
    "fit_musyc": "comboplan.combination.musyc_fit",
    "equivalent_dose": "comboplan.combination.equivalence",
    "score_matrix": "comboplan.combination.matrix",
    "MatrixScores": "comboplan.combination.matrix",
    "fit_braid": "comboplan.combination.braid",
    "BraidResult": "comboplan.combination.braid",
    "fit_zimmer": "comboplan.combination.zimmer",
    "ZimmerResult": "comboplan.combination.zimmer",
    "fit_gr": "comboplan.fitting.gr",
    "GRResult": "comboplan.fitting.gr",
    "read_synergyfinder": "comboplan.combination.io",
    "write_synergyfinder": "comboplan.combination.io",
    # tumour growth / in vivo
    "fit_growth": "comboplan.growth.api",
    "fit_growth_mixed": "comboplan.growth.api",
    "fit_growth_nlme": "comboplan.growth.nlme_growth",
    "compare_growth_nlme": "comboplan.growth.nlme_growth",
    "fit_tgi": "comboplan.growth.tgi",
    "TGIFit": "comboplan.growth.tgi",
    "load_tgi_fit": "comboplan.growth.tgi",
    "fit_tgi_bayes": "comboplan.fitting.bayes.tgi",
    "growth_endpoints": "comboplan.growth.endpoints",
    "invivo_synergy": "comboplan.growth.synergy",
    "read_growth_wide": "comboplan.growth.data",
    "validate_growth": "comboplan.growth.data",
    "compare_arms": "comboplan.growth.endpoints",
    "time_to_event": "comboplan.growth.survival",
    "survival_analysis": "comboplan.growth.survival",
}
_SUBMODULES = {
    "bayes": "comboplan.bayes",
    "datasets": "comboplan.datasets",
    "simulate": "comboplan.simulate",
    "models": "comboplan.models",
    "data": "comboplan.data",
    "plot": "comboplan.plot",
    "distributed": "comboplan.distributed",  # Dask entry points (extra comboplan[dask])
}

__all__ = sorted(
    [
        "ComboplanError",
        "ComboplanWarning",
        "ConvergenceWarning",
        "DataError",
        "DiagnosticsWarning",
        "ExtrapolationWarning",
        "FitError",
        "InvalidParameterError",
        "__version__",
        *_LAZY,
        *_SUBMODULES,
    ]
)


__getattr__, __dir__ = lazy_loader(globals(), _LAZY, _SUBMODULES)


if TYPE_CHECKING:  # pragma: no cover
    from .fitting.dose_response import DoseResponseResult, compare, fit_dose_response  # noqa: F401
