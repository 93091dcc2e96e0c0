"""``comboplan.bayes``: Bayesian hierarchical models (PyMC / nutpie).

An alias of :mod:`comboplan.fitting.bayes` so that both ``import comboplan.bayes`` and
``comboplan.bayes.fit_growth(...)`` work.  Importing it does not import PyMC; the
sampler stack is loaded when a model is fitted.
"""
from __future__ import annotations

from ._lazy import alias

__all__, __getattr__, __dir__ = alias("comboplan.fitting.bayes")
