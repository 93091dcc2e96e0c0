"""Scoring hook for ``synergy(..., loewe_method="dose_equivalence")`` (internal).

The equations are in :mod:`comboplan.models.combination.loewe_equivalence`
(Grabovsky & Tallarida 2004); this module turns them into the arrays that
:func:`comboplan.combination.scoring.score_sets` and the cells table expect.
"""
from __future__ import annotations

import numpy as np

from ..models.combination.loewe_equivalence import (
    REFERENCE,
    classic_loewe_undefined,
    loewe_equivalence_index,
    loewe_equivalence_reference,
    reference_agent,
)

__all__ = ["LOEWE_METHODS", "LOEWE_REFERENCES", "score_loewe_equivalence", "loewe_reference_model"]

#: values of ``synergy(loewe_method=...)`` and what each computes
LOEWE_METHODS = {
    "classic": "classic Loewe additivity: sum_i d_i / D_i(E) = 1 solved from the single-agent Hill fits; an agent "
               "contributes nothing to effects beyond its own maximum",
    "dose_equivalence": "Loewe additivity by dose equivalence (Grabovsky & Tallarida 2004): every other agent's dose "
                        "converted to the equally effective dose of the agent with the largest maximal effect, "
                        "E = E_ref(d_ref + sum_i D_ref(E_i(d_i))); defined above a partial agonist's maximum",
}
LOEWE_REFERENCES = {
    "classic": "Loewe (1953) Arzneimittelforschung 3:285; solved from single-agent Hill fits",
    "dose_equivalence": REFERENCE + "; solved from single-agent Hill fits",
}


def loewe_reference_model(loewe_method: str) -> str:
    """Label of the Loewe reference model in the ``reference_model`` column."""
    return "loewe" if loewe_method == "classic" else "loewe (dose equivalence, Grabovsky & Tallarida 2004)"


def score_loewe_equivalence(combo_doses, observed, e0, einf, ec50, h) -> dict:
    """Dose-equivalence Loewe scores of every combination cell in every data set.

    Parameters
    ----------
    combo_doses : numpy.ndarray
        Doses of the combination cells, shape (n_combo, N) (each agent in its own unit).
    observed : numpy.ndarray
        Observed mean effect, shape (S, n_combo) (inhibition scale, response unit).
    e0, einf, ec50, h : numpy.ndarray
        Single-agent Hill parameters per data set, cell and agent, shape (S, n_combo, N)
        (NaN where an agent's fit cannot be inverted).

    Returns
    -------
    dict
        ``reference_loewe`` and ``loewe`` (= observed - reference, positive = synergy;
        response unit), ``loewe_ci`` (dose-equivalence interaction index, < 1 synergy),
        ``loewe_beyond_max`` (bool: the additive effect is at or above the maximal
        effect of an agent present, where classic Loewe is undefined) and
        ``loewe_reference_agent`` (index of the reference agent, -1 if none), each of
        shape (S, n_combo).
    """
    D = np.broadcast_to(combo_doses, e0.shape)
    ref = loewe_equivalence_reference(D, e0, einf, ec50, h)
    return {"reference_loewe": ref,
            "loewe": observed - ref,
            "loewe_ci": loewe_equivalence_index(D, observed, e0, einf, ec50, h),
            "loewe_beyond_max": classic_loewe_undefined(D, ref, e0, einf),
            "loewe_reference_agent": reference_agent(D, e0, einf, ec50, h)}
