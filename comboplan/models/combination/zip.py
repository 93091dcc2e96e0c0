r"""Zero interaction potency (ZIP) delta score (Yadav et al. 2015), SynergyFinder form.

Notation (two agents, inhibition in percent, ``top = 100``):

* :math:`y_1(x_1)`, :math:`y_2(x_2)`: four-parameter log-logistic fits of each agent
  alone (the monotherapy row/column, dose 0 included).
* For every fixed dose :math:`x_2 > 0` of agent 2, the agent-1 slice
  :math:`\{(x_1, y(x_1, x_2)) : x_1 > 0\}` is fitted by a log-logistic curve whose value
  at dose 0 is fixed at :math:`y_2(x_2)` and whose top is fixed at ``top``; only the
  potency and slope are estimated (Yadav et al. 2015, eqs. 10-11):

  .. math:: \hat y_{1|2}(x_1) = y_2(x_2) + \bigl(\mathrm{top} - y_2(x_2)\bigr)
            \frac{(x_1/m)^{b}}{1 + (x_1/m)^{b}}

  and symmetrically :math:`\hat y_{2|1}` for every fixed :math:`x_1 > 0`.
* The ZIP reference is Bliss independence of the *fitted* single-agent curves,
  :math:`y_\mathrm{ZIP} = y_1 + y_2 - y_1 y_2/\mathrm{top}`, and the delta score is

  .. math:: \delta(x_1, x_2) = \tfrac12\bigl(\hat y_{1|2} + \hat y_{2|1}\bigr) - y_\mathrm{ZIP}.

  Positive = synergy.  Cells with a zero dose get :math:`\delta = 0`.

This is what SynergyFinder's ``CalculateZIP`` computes: a slice with a single non-zero
dose is not fitted (its observed value is used) and a slice fit that fails falls back
to the observed values.  The slope ``b`` is signed as in R drc (a slice may fall).
This module holds the pure formulas; the slice fits are batched in
:mod:`comboplan.combination.zipfit`.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["zip_slice", "zip_reference", "zip_delta"]


def zip_slice(dose, bottom, top, ec50, b):
    """Log-logistic slice with fixed value at dose 0 (``bottom``) and fixed ``top``.

    Parameters
    ----------
    dose : array_like
        Dose of the varied agent, >= 0 (unit of ``ec50``).
    bottom : array_like
        Response at dose 0: the other agent's fitted single-agent effect (response unit).
    top : array_like
        Response at infinite dose (response unit; 100 % inhibition in SynergyFinder).
    ec50 : array_like
        Potency of the varied agent in the presence of the other (dose unit), > 0.
    b : array_like
        Signed slope (b > 0: rises from ``bottom`` to ``top``).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    d = np.asarray(dose, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.asarray(b, dtype=float) * (np.log(d) - np.log(ec50))
    z = np.where(np.isnan(z), 0.0, z)
    return bottom + (top - bottom) * expit(z)


def zip_reference(y1, y2, top: float = 100.0) -> np.ndarray:
    """ZIP reference: Bliss independence of the fitted single-agent effects.

    Parameters
    ----------
    y1, y2 : array_like
        Fitted single-agent effects at the cell's doses (increasing scale, unit of ``top``).
    top : float
        100 for percent inhibition, 1 for fractions.

    Returns
    -------
    numpy.ndarray
        Expected effect (unit of ``top``).
    """
    y1 = np.asarray(y1, dtype=float)
    y2 = np.asarray(y2, dtype=float)
    return y1 + y2 - y1 * y2 / top


def zip_delta(fit_1given2, fit_2given1, y1, y2, top: float = 100.0) -> np.ndarray:
    """ZIP delta score from the two slice fits and the single-agent fits.

    Parameters
    ----------
    fit_1given2 : array_like
        Fitted value of the agent-1 slice (agent 2 held at its dose) at the cell.
    fit_2given1 : array_like
        Fitted value of the agent-2 slice at the cell.
    y1, y2 : array_like
        Fitted single-agent effects at the cell's doses.
    top : float
        100 for percent, 1 for fractions.

    Returns
    -------
    numpy.ndarray
        Delta score (unit of ``top``); positive = synergy.
    """
    avg = 0.5 * (np.asarray(fit_1given2, dtype=float) + np.asarray(fit_2given1, dtype=float))
    return avg - zip_reference(y1, y2, top)
