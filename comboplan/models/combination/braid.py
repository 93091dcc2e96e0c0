r"""BRAID: bivariate response to additive interacting doses (two agents).

Twarog NR, Stewart E, Hammill CV, Shelat AA. BRAID: a unifying paradigm for the
analysis of combined drug action. Sci Rep 2016;6:25523.  Extended form (``delta``) as
documented for the authors' R package ``braidrm`` (``evalBRAIDrsm``).

With ``x_i = (d_i / C_i)^{h_i}`` and ``r_i = (E_i - E_0) / (E_f - E_0)`` (the share of
the overall maximal effect that agent ``i`` reaches; ``0 <= r_i <= 1``), each dose is
first mapped to the dose of a reference agent with maximal effect ``E_f`` that has the
same effect,

.. math:: \tilde D_i = \frac{r_i x_i}{1 + (1 - r_i) x_i},

the two are added on the power scale ``p = \delta\sqrt{h_1 h_2}`` with the interaction
term ``kappa``,

.. math:: \tilde D_{12} = \tilde D_1^{1/p} + \tilde D_2^{1/p}
          + \kappa \sqrt{\tilde D_1^{1/p}\tilde D_2^{1/p}},

and the response is a Hill curve of the combined dose:
:math:`E = E_0 + (E_f - E_0) / (1 + \tilde D_{12}^{-p})`.

``kappa = 0``: BRAID-additive; ``kappa > 0``: synergy; ``-2 < kappa < 0``: antagonism.
``delta > 1`` is synergy too (steeper combined curve), ``delta < 1`` antagonism.  With
``d2 = 0`` the surface is the Hill curve of agent 1 from ``E0`` to ``E1`` (half-effect
dose ``C1``, slope ``h1``), and vice versa.

Everything is evaluated on the log scale (``log D~_i`` from ``log1p``-type sums), so
very large or small doses and slopes neither overflow nor lose the tails.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["braid", "braid_reference", "braid_ef", "BRAID_PARAMS"]

#: parameter names in call order (comboplan names; braidrm: IDMA=C1, IDMB=C2, na=h1,
#: nb=h2, E0, EfA=E1, EfB=E2, Ef=E3, kappa, delta)
BRAID_PARAMS = ("E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "kappa", "delta")


def braid_ef(E0, E1, E2, E3=None):
    """Overall maximal effect used by the surface.

    ``E3=None`` (the standard BRAID of Twarog et al. 2016): the single-agent maximum
    furthest from ``E0``.  Otherwise the furthest of ``E1``, ``E2`` and ``E3`` (an
    overall maximum closer to ``E0`` than an agent's own maximum is not a valid BRAID
    surface, so such an ``E3`` has no effect).

    Parameters
    ----------
    E0, E1, E2 : array_like
        Response without drug and single-agent maximal responses (response unit).
    E3 : array_like, optional
        Overall maximal response of the combination (response unit).

    Returns
    -------
    numpy.ndarray
        ``E_f`` (response unit).
    """
    E0, E1, E2 = (np.asarray(v, dtype=float) for v in (E0, E1, E2))
    cands = [E1, E2] if E3 is None else [E1, E2, np.asarray(E3, dtype=float)]
    cands = np.broadcast_arrays(E0, *cands)
    e0, cands = cands[0], np.stack(cands[1:])
    k = np.argmax(np.abs(cands - e0), axis=0)
    return np.take_along_axis(cands, k[None], axis=0)[0]


def _log_dtilde(d, E0, Ei, Ef, h, C):
    """log of the Ef-equivalent dose ``D~`` of one agent (``-inf`` at dose 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (Ei - E0) / (Ef - E0)
        r = np.where(np.isfinite(r), np.clip(r, 0.0, 1.0), 0.0)   # same direction as Ef, within it
        lx = h * (np.log(d) - np.log(C))                            # log x
        lr = np.log(r)
        l1r = np.log1p(-r)                                          # log(1 - r), -inf when r = 1
        # log(1 + (1 - r) x) = logaddexp(0, log(1 - r) + log x)
        ld = lr + lx - np.logaddexp(0.0, l1r + lx)
    return np.where(np.asarray(d) > 0, ld, -np.inf)


def braid(d1, d2, E0, E1, E2, E3=None, h1=1.0, h2=1.0, C1=1.0, C2=1.0, kappa=0.0, delta=1.0) -> np.ndarray:
    """BRAID response surface ``E(d1, d2)`` (extended form with ``delta``); broadcasts.

    Parameters
    ----------
    d1, d2 : array_like
        Doses of agents 1 and 2, >= 0 (units of ``C1`` and ``C2``).
    E0 : array_like
        Response with no drug (response unit).
    E1, E2 : array_like
        Maximal responses of agents 1 and 2 alone (response unit), on the same side of
        ``E0``.
    E3 : array_like, optional
        Overall maximal response of the combination, ``E_f`` (response unit); default
        (None) the single-agent maximum furthest from ``E0`` -- the standard BRAID model
        (braidrm's ``"kappa2"``).  See :func:`braid_ef`.
    h1, h2 : array_like
        Hill slopes (> 0, dimensionless).
    C1, C2 : array_like
        Doses of median effect of each agent alone (dose unit of each agent, > 0).
    kappa : array_like
        Interaction parameter (> -2): 0 additive, > 0 synergy, < 0 antagonism.
    delta : array_like
        Potentiation of the combined slope (> 0): 1 none, > 1 synergy.

    Returns
    -------
    numpy.ndarray
        Response (response unit).

    References
    ----------
    Twarog NR et al. (2016) Sci Rep 6:25523; braidrm ``evalBRAIDrsm`` documentation.
    """
    E0, E1, E2 = (np.asarray(v, dtype=float) for v in (E0, E1, E2))
    Ef = braid_ef(E0, E1, E2, E3)
    h1, h2, kappa, delta = (np.asarray(v, dtype=float) for v in (h1, h2, kappa, delta))
    p = delta * np.sqrt(h1 * h2)
    lA = _log_dtilde(np.asarray(d1, dtype=float), E0, E1, Ef, h1, C1) / p
    lB = _log_dtilde(np.asarray(d2, dtype=float), E0, E2, Ef, h2, C2) / p
    lA, lB = np.broadcast_arrays(lA, lB)
    m = np.maximum(lA, lB)
    mf = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        s = np.exp(lA - mf) + np.exp(lB - mf) + kappa * np.exp(0.5 * (lA + lB) - mf)
        lD = mf + np.log(s)                       # log D~12 (-inf when both doses are 0)
        frac = expit(p * lD)
    frac = np.where(np.isneginf(m), 0.0, frac)
    return E0 + (Ef - E0) * frac


def braid_reference(d1, d2, E0, E1, E2, E3=None, h1=1.0, h2=1.0, C1=1.0, C2=1.0) -> np.ndarray:
    """BRAID-additive surface (``kappa = 0``, ``delta = 1``) with the same single agents.

    Parameters
    ----------
    d1, d2, E0, E1, E2, E3, h1, h2, C1, C2 : array_like
        As in :func:`braid` (doses in the units of ``C1``, ``C2``; responses in the
        response unit).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    return braid(d1, d2, E0, E1, E2, E3, h1, h2, C1, C2, 0.0, 1.0)
