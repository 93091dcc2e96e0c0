"""``comboplan.datasets``: the bundled datasets of the two anchor papers.

An alias of :mod:`comboplan.data.datasets` so that both ``import comboplan.datasets`` and
``comboplan.datasets.load_...()`` work.  Every table is read from package data; see
``comboplan/data/datasets/PROVENANCE.md`` for the source of every number.
"""
from __future__ import annotations

from ._lazy import alias

__all__, __getattr__, __dir__ = alias("comboplan.data.datasets")
