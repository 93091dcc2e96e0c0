r"""MuSyC: multi-dimensional synergy of combinations (two agents).

Meyer et al. (2019) Cell Syst 8:97; Wooten et al. (2021) Nat Commun 12:4607.
A cell population moves between four states: unaffected ``U``, affected by agent 1
only ``A1``, by agent 2 only ``A2``, and by both ``A12``, with mass-action transition
rates (``r1 = r1r / C1**h1``; ``r1r``, ``r2r`` are reverse rates, 1 by default):

====================  =======================================  ============================
transition            forward rate                             reverse rate
====================  =======================================  ============================
U  <-> A1             r1 d1^h1                                 r1 C1^h1
U  <-> A2             r2 d2^h2                                 r2 C2^h2
A1 <-> A12 (agent 2)  r2^g12 (alpha12 d2)^(g12 h2)             (r2 C2^h2)^g12
A2 <-> A12 (agent 1)  r1^g21 (alpha21 d1)^(g21 h1)             (r1 C1^h1)^g21
====================  =======================================  ============================

The effect is the steady-state average
:math:`E = E_0\pi_U + E_1\pi_{A1} + E_2\pi_{A2} + E_3\pi_{A12}`.
``alpha12 > 1``: agent 1 increases the potency of agent 2 (synergistic potency);
``gamma12 > 1``: agent 1 increases the cooperativity (slope) of agent 2;
``beta = (E3 - E_best)/(E_best - E0)`` > 0: synergistic efficacy (the combination is
stronger than the stronger agent at its maximum).

Implementation: the four states form a cycle ``U - A1 - A12 - A2 - U``, so the
stationary distribution follows in closed form from the Markov-chain tree theorem
(each state's weight is the sum over the four spanning trees of the cycle directed to
it of the product of their rates).  All products are computed as sums of log-rates and
normalised with log-sum-exp, so the model never overflows or subtracts (numerically
stable for any dose and slope) and needs neither detailed balance nor ``gamma = 1``.
With ``d1 = 0`` it reduces to the Hill curve of agent 2 between ``E0`` and ``E2`` and
vice versa.
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["musyc", "musyc_beta", "MUSYC_PARAMS"]

MUSYC_PARAMS = ("E0", "E1", "E2", "E3", "h1", "h2", "C1", "C2", "alpha12", "alpha21", "gamma12", "gamma21")


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(x, dtype=float))


def musyc(d1, d2, E0, E1, E2, E3, h1, h2, C1, C2, alpha12=1.0, alpha21=1.0,
          gamma12=1.0, gamma21=1.0, r1r=1.0, r2r=1.0) -> np.ndarray:
    """MuSyC response surface ``E(d1, d2)``; broadcasts over all arguments.

    Parameters
    ----------
    d1, d2 : array_like
        Doses of agents 1 and 2, >= 0 (units of ``C1`` and ``C2``).
    E0 : array_like
        Response with no drug (response unit).
    E1, E2 : array_like
        Maximal response of agent 1 alone and agent 2 alone (response unit).
    E3 : array_like
        Maximal response of the combination (response unit).
    h1, h2 : array_like
        Hill slopes (> 0).
    C1, C2 : array_like
        Half-effect doses (dose units of each agent, > 0).
    alpha12, alpha21 : array_like
        Potency synergy: agent 1 scales agent 2's potency by ``alpha12`` and vice versa
        (dimensionless, > 0; 1 = none).
    gamma12, gamma21 : array_like
        Cooperativity synergy (dimensionless, > 0; 1 = none).
    r1r, r2r : array_like
        Reverse transition rates (only matter when a gamma differs from 1).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    ld1, ld2 = _log(d1), _log(d2)
    lr1, lr2 = _log(r1r), _log(r2r)
    lC1, lC2 = _log(C1), _log(C2)
    h1 = np.asarray(h1, dtype=float)
    h2 = np.asarray(h2, dtype=float)
    g12 = np.asarray(gamma12, dtype=float)
    g21 = np.asarray(gamma21, dtype=float)
    u1 = h1 * (ld1 - lC1)                       # log (d1/C1)^h1
    u2 = h2 * (ld2 - lC2)
    w1 = h1 * (_log(alpha21) + ld1 - lC1)       # log (alpha21 d1/C1)^h1
    w2 = h2 * (_log(alpha12) + ld2 - lC2)
    # cycle P0=U, P1=A1, P2=A12, P3=A2; edge k joins P_k and P_{k+1}
    lF = [lr1 + u1, g12 * (lr2 + w2), g21 * lr1, lr2]  # P_k -> P_{k+1}
    lB = [lr1, g12 * lr2, g21 * (lr1 + w1), lr2 + u2]  # P_{k+1} -> P_k
    allr = np.broadcast_arrays(*lF, *lB)
    lF, lB = allr[:4], allr[4:]
    logw = []
    for s in range(4):
        trees = []
        for j in range(4):  # removed edge
            ps = (s - j - 1) % 4
            tot = 0.0
            for k in range(4):
                if k == j:
                    continue
                q = (k - j - 1) % 4
                tot = tot + (lF[k] if ps >= q + 1 else lB[k])
            trees.append(tot)
        logw.append(logsumexp(np.stack(trees), axis=0))
    logw = np.stack(logw)
    pi = np.exp(logw - logsumexp(logw, axis=0))
    Es = np.broadcast_arrays(*(np.asarray(e, dtype=float) for e in (E0, E1, E3, E2)))
    return pi[0] * Es[0] + pi[1] * Es[1] + pi[2] * Es[2] + pi[3] * Es[3]


def musyc_beta(E0, E1, E2, E3) -> np.ndarray:
    """Efficacy synergy ``beta = (E3 - E_best) / (E_best - E0)``.

    ``E_best`` is the stronger single-agent maximum in the direction of effect (the
    larger of ``E1, E2`` for a rising response such as inhibition, the smaller for a
    falling one such as viability).  ``beta > 0``: synergistic efficacy.

    Parameters
    ----------
    E0, E1, E2, E3 : array_like
        MuSyC efficacy parameters (response unit).

    Returns
    -------
    numpy.ndarray
        beta (dimensionless).
    """
    E0, E1, E2, E3 = (np.asarray(v, dtype=float) for v in (E0, E1, E2, E3))
    rising = 0.5 * (E1 + E2) >= E0
    best = np.where(rising, np.maximum(E1, E2), np.minimum(E1, E2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (E3 - best) / (best - E0)
