"""Random streams of the simulator (:mod:`comboplan._random`, the package's one seed helper,
re-exported here under its documented name)."""
from __future__ import annotations

from .._random import DRAW_BRANCH, as_generator, as_seed_sequence, draw_seeds

__all__ = ["as_seed_sequence", "as_generator", "draw_seeds", "DRAW_BRANCH"]
