"""``comboplan.datasets``: the bundled datasets of the two anchor papers.

An alias of :mod:`comboplan.data.datasets` so that both ``import comboplan.datasets`` and
``comboplan.datasets.load_...()`` work.  Every table is read from package data; see
``comboplan/data/datasets/PROVENANCE.md`` for the source of every number.
"""
from __future__ import annotations

import importlib

_impl = importlib.import_module("comboplan.data.datasets")
__all__ = list(getattr(_impl, "__all__", []))


def __getattr__(name: str):
    return getattr(_impl, name)


def __dir__():
    return sorted(set(__all__) | set(dir(_impl)))
