r"""Bliss independence (multiplicative survival) for any number of agents.

With effects :math:`E_i \in [0, \mathrm{top}]` on an increasing scale (inhibition),

.. math:: E_\mathrm{Bliss} = \mathrm{top}\,\Bigl(1 - \prod_{i=1}^{N} (1 - E_i/\mathrm{top})\Bigr)

which for two agents is the familiar :math:`E_1 + E_2 - E_1E_2` (fractions) or
:math:`E_1 + E_2 - E_1E_2/100` (percent).  On the viability scale this is
:math:`V = \prod_i V_i` (Bliss 1939; Yadav et al. 2015, eq. 3).
The excess :math:`E_\mathrm{obs} - E_\mathrm{Bliss}` is positive for synergy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bliss_reference", "bliss_excess"]


def bliss_reference(effects, top: float = 1.0, axis: int = -1) -> np.ndarray:
    """Bliss-independence expected effect of a combination.

    Parameters
    ----------
    effects : array_like
        Single-agent effects on an increasing scale (inhibition), agents along ``axis``;
        in the unit of ``top`` (fraction if ``top=1``, percent if ``top=100``).
    top : float
        Effect of complete inhibition (1 for fractions, 100 for percent).
    axis : int
        Axis holding the agents (default: last).

    Returns
    -------
    numpy.ndarray
        Expected combination effect (unit of ``top``), the agent axis removed.
    """
    e = np.asarray(effects, dtype=float) / top
    return top * (1.0 - np.prod(1.0 - e, axis=axis))


def bliss_excess(observed, effects, top: float = 1.0, axis: int = -1) -> np.ndarray:
    """Observed minus Bliss-expected effect (positive = synergy).

    Parameters
    ----------
    observed : array_like
        Observed combination effect (increasing scale, unit of ``top``).
    effects : array_like
        Single-agent effects at the same doses, agents along ``axis``.
    top : float
        1 for fractions, 100 for percent.
    axis : int
        Agent axis of ``effects``.

    Returns
    -------
    numpy.ndarray
        Bliss excess in the unit of ``top``; positive = synergy.
    """
    return np.asarray(observed, dtype=float) - bliss_reference(effects, top=top, axis=axis)
