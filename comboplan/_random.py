"""Random streams: the one helper that turns ``seed`` into numpy objects (every public function
of the package that draws random numbers takes ``seed`` through it), and the simulator's
per-draw streams derived from it (also importable as :mod:`comboplan.simulate.seeds`).

* :func:`as_seed_sequence` / :func:`as_generator`: ``seed`` may be ``None`` (fresh entropy),
  an int, a :class:`numpy.random.SeedSequence` (copied, so reusing it gives the same numbers)
  or a :class:`numpy.random.Generator` (one 63-bit integer is taken from it).
* :func:`draw_seeds`: the stream of parameter draw ``d`` is the SeedSequence with spawn key
  ``(..., DRAW_BRANCH, d)`` under ``seed``: it depends on ``seed`` and ``d`` only, not on how
  many draws or designs are simulated nor on their order.  A simulated study with seed
  ``s`` uses the children 0-2 of ``s`` (simulation, study-to-draw assignment, noise), so the
  draw branch (3) never overlaps them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["as_seed_sequence", "as_generator", "draw_seeds", "DRAW_BRANCH"]

#: spawn-key branch of the per-draw streams (children 0-2 of a seed are used by one study)
DRAW_BRANCH = 3


def as_seed_sequence(seed=None) -> np.random.SeedSequence:
    """A fresh :class:`numpy.random.SeedSequence` from ``seed``.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None``: fresh OS entropy.  A SeedSequence is copied (same entropy and spawn key, no
        children spawned yet), so passing the same one twice gives the same numbers.  A
        Generator gives one 63-bit integer (it advances).

    Returns
    -------
    numpy.random.SeedSequence
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2 ** 63)))
    return np.random.SeedSequence(seed)


def as_generator(seed=None) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from ``seed`` (a Generator is returned as is).

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator

    Returns
    -------
    numpy.random.Generator
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_seed_sequence(seed))


def draw_seeds(seed, n_draws: int, start: int = 0) -> list[np.random.SeedSequence]:
    """Streams of parameter draws ``start .. start + n_draws - 1`` under ``seed``.

    Parameters
    ----------
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Root seed (a Generator is turned into an integer once, so pass the result of
        :func:`as_seed_sequence` when calling this more than once).
    n_draws : int
        Number of streams.
    start : int
        Index of the first draw.

    Returns
    -------
    list of numpy.random.SeedSequence
        Stream ``d`` depends only on ``seed`` and ``d``.
    """
    root = as_seed_sequence(seed)
    return [np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (DRAW_BRANCH, int(d)),
                                   pool_size=root.pool_size) for d in range(int(start), int(start) + int(n_draws))]
