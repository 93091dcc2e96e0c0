r"""Zimmer's effective-dose model of drug pairs.

Zimmer A, Katzir I, Dekel E, Mayo AE, Alon U. Prediction of multidimensional drug dose
responses based on measurements of drug pairs. PNAS 2016;113:10442-10447.

Each drug alone reduces the (normalised) cell growth or survival as a two-parameter
Hill curve :math:`f_i(x) = 1 / (1 + (x / C_i)^{h_i})` (1 without drug, 0 at infinite
dose).  In the pair, each drug acts at an *effective* dose changed by the other drug:

.. math:: x_1' = \frac{x_1}{1 + a_{12}\, x_2' / (x_2' + C_2)},\qquad
          x_2' = \frac{x_2}{1 + a_{21}\, x_1' / (x_1' + C_1)},

and the effects combine by Bliss independence on the effective doses,
:math:`g = f_1(x_1') f_2(x_2')`.  ``a_ij`` is the effect of drug ``j`` on drug ``i``:
**a_ij < 0: drug j raises drug i's effective dose (synergy); a_ij > 0: it lowers it
(antagonism); a_12 = a_21 = 0: Bliss independence.**  (Zimmer et al. 2016, Fig. 1 and
Eq. 2; the ``synergy`` package states the same sign.)  ``a_ij > -1`` keeps every
effective dose finite and positive.

The two equations are solved in closed form.  Substituting ``x_2'`` into the first gives
a quadratic in ``u = x_1'`` (derivation in ``docs/models/combination.md``):

.. math:: P u^2 + (Q - x_1 (x_2 + (1 + a_{21}) C_2)) u - x_1 C_1 (x_2 + C_2) = 0,

with :math:`P = (1 + a_{12}) x_2 + (1 + a_{21}) C_2` and
:math:`Q = C_1 ((1 + a_{12}) x_2 + C_2)`.  Its constant term is <= 0 and ``P > 0`` for
``a > -1``, so exactly one root is >= 0; it is taken in the cancellation-free form.
"""
from __future__ import annotations

import numpy as np

__all__ = ["zimmer", "zimmer_effective_doses", "zimmer_reference", "ZIMMER_PARAMS"]

ZIMMER_PARAMS = ("h1", "h2", "C1", "C2", "a12", "a21")


def zimmer_effective_doses(d1, d2, C1, C2, a12=0.0, a21=0.0):
    """Effective doses ``(x1', x2')`` of Zimmer's model; broadcasts.

    Parameters
    ----------
    d1, d2 : array_like
        Doses of drugs 1 and 2, >= 0 (units of ``C1`` and ``C2``).
    C1, C2 : array_like
        Half-effect doses of each drug alone (dose unit of each drug, > 0).
    a12, a21 : array_like
        Interaction parameters (> -1, dimensionless): ``a12`` is drug 2's effect on
        drug 1's effective dose, ``a21`` drug 1's on drug 2's; < 0 synergy.

    Returns
    -------
    tuple of numpy.ndarray
        Effective doses of drugs 1 and 2 (units of ``C1`` and ``C2``).
    """
    x1, x2, C1, C2, a12, a21 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (d1, d2, C1, C2, a12, a21)))
    P = (1.0 + a12) * x2 + (1.0 + a21) * C2
    Q = C1 * ((1.0 + a12) * x2 + C2)
    B = Q - x1 * (x2 + (1.0 + a21) * C2)
    Cc = -x1 * C1 * (x2 + C2)                       # <= 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        disc = np.sqrt(B * B - 4.0 * P * Cc)
        # non-negative root without cancellation: -B + disc when B <= 0, else -2C / (B + disc)
        u = np.where(B <= 0, (-B + disc) / (2.0 * P), -2.0 * Cc / (B + disc))
        u = np.where(x1 > 0, u, 0.0)
        v = x2 / (1.0 + a21 * u / (u + C1))
    v = np.where(x2 > 0, v, 0.0)
    return u, v


def zimmer(d1, d2, h1, h2, C1, C2, a12=0.0, a21=0.0) -> np.ndarray:
    """Zimmer effective-dose response surface (fraction of untreated growth); broadcasts.

    Parameters
    ----------
    d1, d2 : array_like
        Doses of drugs 1 and 2, >= 0 (units of ``C1`` and ``C2``).
    h1, h2 : array_like
        Hill slopes of each drug alone (> 0, dimensionless).
    C1, C2 : array_like
        Half-effect doses of each drug alone (dose unit of each drug, > 0).
    a12, a21 : array_like
        Interaction parameters (> -1, dimensionless); < 0 synergy, > 0 antagonism,
        0 Bliss independence.

    Returns
    -------
    numpy.ndarray
        Response as a fraction of the untreated response (1 at no drug, towards 0 at
        high doses).
    """
    u, v = zimmer_effective_doses(d1, d2, C1, C2, a12, a21)
    h1 = np.asarray(h1, dtype=float)
    h2 = np.asarray(h2, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        f1 = 1.0 / (1.0 + np.exp(h1 * (np.log(u) - np.log(C1))))
        f2 = 1.0 / (1.0 + np.exp(h2 * (np.log(v) - np.log(C2))))
    return f1 * f2


def zimmer_reference(d1, d2, h1, h2, C1, C2) -> np.ndarray:
    """Bliss-independent surface of the same single agents (``a12 = a21 = 0``).

    Parameters
    ----------
    d1, d2, h1, h2, C1, C2 : array_like
        As in :func:`zimmer`.

    Returns
    -------
    numpy.ndarray
        Fraction of the untreated response.
    """
    return zimmer(d1, d2, h1, h2, C1, C2, 0.0, 0.0)
