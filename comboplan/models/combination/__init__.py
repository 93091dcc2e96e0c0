"""Pure, vectorised reference models for drug combinations.

Every function here is pure NumPy: no I/O, no fitting, no plotting.  Effects are on
an *increasing* scale (fraction affected / inhibition), so that larger means a stronger
drug effect; the scoring API in :mod:`comboplan.combination` converts viability to
inhibition before calling these functions.  N-agent forms are written once; two agents
are the case ``N = 2`` (the agent axis is always the last axis).

Modules
-------
bliss         Bliss independence (multiplicative survival)
hsa           highest single agent
loewe         Loewe additivity solved from single-agent Hill curves
loewe_equivalence  Loewe additivity by dose equivalence for partial agonists (Grabovsky & Tallarida 2004)
zip           zero interaction potency (Yadav et al. 2015), SynergyFinder form
chou_talalay  median-effect equation, combination index, dose-reduction index
musyc         multi-dimensional synergy of combinations (Meyer et al. 2019)
braid         BRAID response surface with interaction kappa (Twarog et al. 2016)
zimmer        Zimmer's effective-dose model, interactions a12, a21 (Zimmer et al. 2016)
"""
from .bliss import bliss_excess, bliss_reference
from .braid import BRAID_PARAMS, braid, braid_ef, braid_reference
from .chou_talalay import (
    combination_index,
    dose_for_effect,
    dose_reduction_index,
    effect_for_dose,
    median_effect_fit,
)
from .hsa import hsa_excess, hsa_reference
from .loewe import hill_dose_for_effect, loewe_excess, loewe_index, loewe_reference
from .loewe_equivalence import loewe_equivalence_index, loewe_equivalence_reference
from .musyc import MUSYC_PARAMS, musyc, musyc_beta
from .zimmer import ZIMMER_PARAMS, zimmer, zimmer_effective_doses, zimmer_reference
from .zip import zip_delta, zip_reference, zip_slice

__all__ = [
    "bliss_reference",
    "bliss_excess",
    "hsa_reference",
    "hsa_excess",
    "loewe_reference",
    "loewe_excess",
    "loewe_index",
    "hill_dose_for_effect",
    "loewe_equivalence_reference",
    "loewe_equivalence_index",
    "zip_reference",
    "zip_slice",
    "zip_delta",
    "median_effect_fit",
    "dose_for_effect",
    "effect_for_dose",
    "combination_index",
    "dose_reduction_index",
    "musyc",
    "musyc_beta",
    "MUSYC_PARAMS",
    "braid",
    "braid_reference",
    "braid_ef",
    "BRAID_PARAMS",
    "zimmer",
    "zimmer_effective_doses",
    "zimmer_reference",
    "ZIMMER_PARAMS",
]
