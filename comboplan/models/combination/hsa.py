r"""Highest single agent (HSA, Gaddum's non-interaction) for any number of agents.

.. math:: E_\mathrm{HSA} = \max_i E_i

on an increasing (inhibition) scale (Berenbaum 1989; Yadav et al. 2015).  The excess
:math:`E_\mathrm{obs} - E_\mathrm{HSA}` is positive for synergy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["hsa_reference", "hsa_excess"]


def hsa_reference(effects, axis: int = -1) -> np.ndarray:
    """Highest single-agent effect.

    Parameters
    ----------
    effects : array_like
        Single-agent effects on an increasing scale, agents along ``axis`` (any unit).
    axis : int
        Agent axis.

    Returns
    -------
    numpy.ndarray
        ``max`` over agents (unit of ``effects``).
    """
    return np.max(np.asarray(effects, dtype=float), axis=axis)


def hsa_excess(observed, effects, axis: int = -1) -> np.ndarray:
    """Observed minus the highest single-agent effect (positive = synergy).

    Parameters
    ----------
    observed : array_like
        Observed combination effect (increasing scale).
    effects : array_like
        Single-agent effects at the same doses, agents along ``axis``.
    axis : int
        Agent axis.

    Returns
    -------
    numpy.ndarray
        HSA excess (unit of ``observed``); positive = synergy.
    """
    return np.asarray(observed, dtype=float) - hsa_reference(effects, axis=axis)
