"""Scoring of in-vitro drug-combination experiments with uncertainty.

Public functions (re-exported lazily as ``comboplan.synergy`` etc.):

* :func:`comboplan.combination.api.synergy` — Bliss, HSA, Loewe, ZIP excess scores per cell
  and per block, with replicate bootstrap CIs, p-values and BH-FDR q-values;
* :func:`comboplan.combination.api.chou_talalay` — median-effect / CI / DRI analysis with
  delta-method intervals;
* :func:`comboplan.combination.api.fit_musyc` — MuSyC surface fit with bootstrap CIs;
* :func:`comboplan.combination.api.equivalent_dose` — dose of one agent alone that matches a
  combination's effect;
* :func:`comboplan.combination.score_matrix` — array-level Loewe/ZIP scores of one
  two-agent matrix (the scores of ``synergy()`` without the tables; ``MatrixScores``);
* :func:`comboplan.combination.braid.fit_braid` -- BRAID surface fit (kappa > 0 synergy);
* :func:`comboplan.combination.zimmer.fit_zimmer` -- Zimmer effective-dose fit (a12, a21 < 0 synergy);
* :mod:`comboplan.combination.io` — SynergyFinder long format and tidy CSV.

Do not name a module ``comboplan.synergy``: it would shadow the function.
"""

from .._lazy import lazy_loader

_LAZY = {"score_matrix": "comboplan.combination.matrix", "MatrixScores": "comboplan.combination.matrix",
         "fit_braid": "comboplan.combination.braid", "BraidResult": "comboplan.combination.braid",
         "fit_zimmer": "comboplan.combination.zimmer", "ZimmerResult": "comboplan.combination.zimmer"}


# no __all__ (and so no __dir__): dir() of the package is Python's, as before
__getattr__ = lazy_loader(globals(), _LAZY)[0]
