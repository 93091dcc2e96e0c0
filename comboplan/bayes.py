"""``comboplan.bayes``: Bayesian hierarchical models (PyMC / nutpie).

An alias of :mod:`comboplan.fitting.bayes` so that both ``import comboplan.bayes`` and
``comboplan.bayes.fit_growth(...)`` work.  Importing it does not import PyMC; the
sampler stack is loaded when a model is fitted.
"""
from __future__ import annotations

import importlib

_impl = importlib.import_module("comboplan.fitting.bayes")
__all__ = list(getattr(_impl, "__all__", []))


def __getattr__(name: str):
    return getattr(_impl, name)


def __dir__():
    return sorted(set(__all__) | set(dir(_impl)))
