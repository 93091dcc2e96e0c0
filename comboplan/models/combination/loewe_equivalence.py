r"""Loewe additivity by dose equivalence, defined for partial agonists (Grabovsky & Tallarida 2004).

Classic Loewe additivity (:mod:`comboplan.models.combination.loewe`) solves
:math:`\sum_i d_i / D_i(E) = 1`, where :math:`D_i(E)` is the dose of agent ``i`` alone
that gives effect :math:`E`.  When the agents' maximal effects differ, :math:`D_i(E)`
does not exist above the weaker agent's maximum and the equation is undefined there
(comboplan's classic solver lets such an agent contribute nothing).

Grabovsky & Tallarida (2004, J Pharmacol Exp Ther 310:981-986) go back to the concept
that underlies the isobole, *dose equivalence*: a dose :math:`b` of the partial agonist
B is replaced by the dose of the full agonist A that gives the same effect,

.. math:: a_\mathrm{eq}(b) = D_A\bigl(E_B(b)\bigr)
          = A_{50}\Bigl(\frac{E_B(b)}{E_{\max,A} - E_B(b)}\Bigr)^{1/p}
          = \frac{A_{50}}{\bigl[\frac{E_{\max,A}}{E_{\max,B}}\bigl(1 + (B_{50}/b)^{q}\bigr) - 1\bigr]^{1/p}},

(for Hill curves :math:`E_A(a) = E_{\max,A}\,a^p/(a^p + A_{50}^p)` and
:math:`E_B(b) = E_{\max,B}\,b^q/(b^q + B_{50}^q)`), and the additive effect of the
combination is the effect of the full agonist at the summed equivalent dose,

.. math:: E_\mathrm{add}(a, b) = E_A\bigl(a + a_\mathrm{eq}(b)\bigr).

Because :math:`E_B(b) < E_{\max,B} \le E_{\max,A}`, :math:`a_\mathrm{eq}(b)` is finite
for every dose and the additive surface is defined everywhere, up to the full agonist's
maximum.  The additive isobole of effect :math:`E` is
:math:`a + a_\mathrm{eq}(b) = D_A(E)`: curved, because the potency ratio
:math:`a_\mathrm{eq}(b)/b` varies with :math:`b`.

Generalisation used here (any number of agents, fitted baselines)
-----------------------------------------------------------------
* **Reference agent** ``r``: the agent present in the cell with the largest maximal
  effect :math:`e_{\infty}` (the "full agonist"); ties are broken by the lower baseline
  :math:`e_0`, then by the steeper slope, so that the order of the agents never matters
  (agents tied on all three differ at most in potency, and then every choice gives the
  same surface).
* Every other agent present is converted: :math:`r_\mathrm{eq}(d_i) = D_r(E_i(d_i))`,
  with :math:`D_r(E) = 0` for :math:`E \le e_{0,r}`; an absent agent (:math:`d_i = 0`)
  or one whose curve does not rise contributes 0.
* :math:`E_\mathrm{add} = E_r\bigl(d_r + \sum_{i \ne r} r_\mathrm{eq}(d_i)\bigr)`: a
  closed form, no root finding.  It increases with every dose and equals each agent's
  own curve when that agent is given alone (above the reference's baseline).
* Interaction index at an observed effect :math:`E`:
  :math:`\gamma = \bigl(d_r + \sum_{i \ne r} r_\mathrm{eq}(d_i)\bigr)/D_r(E)` (< 1
  synergy, 1 additivity, > 1 antagonism), the dose-equivalence form of the Loewe index.

**Relation to classic Loewe.**  When all agents share the maximal effect, the baseline and
the Hill slope, the potency ratio is constant, :math:`r_\mathrm{eq}(d_i) = d_i C_r/C_i`,
and the surface *is* classic Loewe (:func:`loewe_reference`) exactly.  When maxima are
equal but the slopes differ the potency ratio still varies with the effect level, and
dose equivalence gives a curved isobole that depends on which agent is the reference
(Tallarida 2006, J Pharmacol Exp Ther 319:1-7): it then differs from classic Loewe even
though both are defined.

Effects are on an *increasing* scale (inhibition / fraction affected), as everywhere in
:mod:`comboplan.models.combination`; a score ``observed - reference`` is positive for
synergy.
"""
from __future__ import annotations

import numpy as np

from .loewe import hill_dose_for_effect

__all__ = ["reference_agent", "equivalent_reference_dose", "loewe_equivalence_reference",
           "loewe_equivalence_index", "classic_loewe_undefined"]

REFERENCE = ("Grabovsky & Tallarida (2004) J Pharmacol Exp Ther 310:981-986: Loewe additivity by dose "
             "equivalence (partial agonists)")


def _hill(d, e0, einf, ec50, h):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.where(d > 0, np.exp(h * (np.log(np.where(d > 0, d, 1.0)) - np.log(ec50))), 0.0)
        frac = np.where(np.isinf(r), 1.0, r / (1.0 + r))
    return e0 + (einf - e0) * frac


def _prep(doses, e0, einf, ec50, h, axis):
    d = np.moveaxis(np.asarray(doses, dtype=float), axis, -1)
    P = [np.asarray(v, dtype=float) for v in (e0, einf, ec50, h)]
    d, *P = np.broadcast_arrays(d, *P)
    return d, P


def _choose(d, e0, einf, h, reference):
    """Index of the reference agent per cell (agent axis last) and whether one exists."""
    N = d.shape[-1]
    present = d > 0
    rising = einf > e0
    if reference is not None:
        r = int(reference)
        if not -N <= r < N:
            raise ValueError(f"reference must be an agent index in [0, {N}); got {reference!r}")
        r %= N
        idx = np.full(d.shape[:-1], r, dtype=np.int64)
        return idx, rising[..., r]
    cand = present & rising
    # largest maximum; ties: lowest baseline; ties: steepest slope (order-independent)
    for key in (einf, -e0, h):
        k = np.where(cand, key, -np.inf)
        best = np.max(k, axis=-1, keepdims=True)
        tol = 1e-12 * (1.0 + np.abs(np.where(np.isfinite(best), best, 0.0)))
        cand = cand & (k >= best - tol)
    ok = cand.any(axis=-1)
    return np.argmax(cand, axis=-1), ok


def reference_agent(doses, e0, einf, ec50, h, axis: int = -1) -> np.ndarray:
    """Agent whose dose units the dose-equivalence surface is built in (the "full agonist").

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis`` (each in the unit of that agent's ``ec50``), >= 0.
    e0, einf, ec50, h : array_like
        Single-agent Hill parameters (increasing effect scale; response unit for
        ``e0``/``einf``, dose unit for ``ec50``, dimensionless ``h``), broadcast along
        the agent axis.
    axis : int
        Agent axis of ``doses``.

    Returns
    -------
    numpy.ndarray of int
        Per cell, the index of the present agent with the largest maximal effect
        ``einf`` (ties: lower ``e0``, then larger ``h``); -1 where no agent present has a
        rising curve.
    """
    d, (q0, q1, qc, qh) = _prep(doses, e0, einf, ec50, h, axis)
    idx, ok = _choose(d, q0, q1, qh, None)
    return np.where(ok, idx, -1)


def equivalent_reference_dose(dose, e0, einf, ec50, h, ref_e0, ref_einf, ref_ec50, ref_h) -> np.ndarray:
    r"""Dose of the reference agent that has the same effect as ``dose`` of another agent.

    :math:`r_\mathrm{eq}(d) = D_r(E_i(d))` (Grabovsky & Tallarida 2004, the "A-equivalent"
    of a dose of B).

    Parameters
    ----------
    dose : array_like
        Dose of agent ``i`` (its own dose unit), >= 0.
    e0, einf, ec50, h : array_like
        Hill parameters of agent ``i`` (increasing effect scale).
    ref_e0, ref_einf, ref_ec50, ref_h : array_like
        Hill parameters of the reference agent ``r``.

    Returns
    -------
    numpy.ndarray
        Equivalent dose in the reference agent's dose unit: 0 for ``dose = 0``, for an
        agent whose curve does not rise, or where agent ``i``'s effect is at or below
        the reference's baseline; ``inf`` where agent ``i``'s effect is at or beyond the
        reference's maximum (not reached by the reference alone).
    """
    d = np.asarray(dose, dtype=float)
    e0, einf, ec50, h = (np.asarray(v, dtype=float) for v in (e0, einf, ec50, h))
    Ei = _hill(d, e0, einf, ec50, h)
    eq = hill_dose_for_effect(Ei, ref_e0, ref_einf, ref_ec50, ref_h)
    return np.where((d > 0) & (einf > e0), eq, 0.0)


def _total_dose(d, P, reference):
    """Reference-equivalent total dose per cell, the reference index and parameters."""
    q0, q1, qc, qh = P
    idx, ok = _choose(d, q0, q1, qh, reference)
    take = lambda a: np.take_along_axis(a, idx[..., None], axis=-1)   # noqa: E731  (keeps the agent axis)
    r0, r1, rc, rh = take(q0), take(q1), take(qc), take(qh)
    eq = equivalent_reference_dose(d, q0, q1, qc, qh, r0, r1, rc, rh)
    is_ref = np.arange(d.shape[-1]) == idx[..., None]
    total = np.sum(np.where(is_ref, d, eq), axis=-1)
    bad = np.any((d > 0) & ~np.isfinite(np.stack([q0, q1, qc, qh])).all(axis=0), axis=-1)
    return total, idx, ok, (r0[..., 0], r1[..., 0], rc[..., 0], rh[..., 0]), bad


def loewe_equivalence_reference(doses, e0, einf, ec50, h, axis: int = -1, reference=None) -> np.ndarray:
    r"""Loewe-additive effect by dose equivalence (Grabovsky & Tallarida 2004).

    :math:`E_\mathrm{add} = E_r\bigl(d_r + \sum_{i \ne r} D_r(E_i(d_i))\bigr)`, with ``r``
    the agent of largest maximal effect (see the module docstring).  Defined for every
    dose combination, also above the maximum of a partial agonist, where classic Loewe
    is not.

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis`` (each in the unit of that agent's ``ec50``), >= 0.
    e0, einf, ec50, h : array_like
        Single-agent Hill parameters on an increasing (inhibition) scale, broadcast
        along the agent axis: response unit for ``e0``/``einf``, dose unit for
        ``ec50``, dimensionless ``h > 0``.
    axis : int
        Agent axis of ``doses``.
    reference : int, optional
        Force the reference agent (index along the agent axis) instead of the one with
        the largest maximum; only meaningful when it has the largest maximum, otherwise
        effects of the others beyond its maximum are not representable (``inf``
        equivalent dose, reference maximum returned).

    Returns
    -------
    numpy.ndarray
        Expected additive effect (response unit), the agent axis removed.  Where no
        agent is present it is the largest ``e0``; where the agents present have no
        rising curve, the largest ``e0`` of those present; NaN where an agent present
        has non-finite parameters.
    """
    d, P = _prep(doses, e0, einf, ec50, h, axis)
    total, idx, ok, (r0, r1, rc, rh), bad = _total_dose(d, P, reference)
    E = _hill(total, r0, r1, rc, rh)
    present = d > 0
    base_present = np.max(np.where(present, P[0], -np.inf), axis=-1)
    base_all = np.max(P[0], axis=-1)
    fallback = np.where(present.any(axis=-1), base_present, base_all)
    out = np.where(ok, E, fallback)
    return np.where(bad, np.nan, out)


def loewe_equivalence_index(doses, effect, e0, einf, ec50, h, axis: int = -1, reference=None) -> np.ndarray:
    r"""Dose-equivalence interaction index at an observed effect.

    :math:`\gamma = \bigl(d_r + \sum_{i \ne r} D_r(E_i(d_i))\bigr) / D_r(E)`: the total
    dose, in reference-agent equivalents, divided by the dose of the reference agent
    alone that gives the observed effect ``E``.  < 1 synergy, 1 additivity, > 1
    antagonism (the reading of the Loewe and Chou-Talalay indices).

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis`` (unit of each agent's ``ec50``), >= 0.
    effect : array_like
        Observed effect of the combination (increasing scale, response unit), broadcast
        against ``doses`` without its agent axis.
    e0, einf, ec50, h : array_like
        Single-agent Hill parameters (as in :func:`loewe_equivalence_reference`).
    axis : int
        Agent axis of ``doses``.
    reference : int, optional
        Force the reference agent (see :func:`loewe_equivalence_reference`).

    Returns
    -------
    numpy.ndarray
        The index (dimensionless); ``inf`` where the observed effect is at or below the
        reference's baseline; NaN where it is at or beyond the reference's maximum (no
        dose of any agent alone reaches it, as classic :func:`loewe_index`) or no agent
        present has a rising curve.
    """
    d, P = _prep(doses, e0, einf, ec50, h, axis)
    total, idx, ok, (r0, r1, rc, rh), bad = _total_dose(d, P, reference)
    E = np.broadcast_to(np.asarray(effect, dtype=float), total.shape)
    D = hill_dose_for_effect(E, r0, r1, rc, rh)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(D == 0, np.inf, total / D)
    return np.where(ok & ~bad & np.isfinite(D) & np.isfinite(E), g, np.nan)


def classic_loewe_undefined(doses, reference_effect, e0, einf, axis: int = -1) -> np.ndarray:
    """Cells where classic Loewe is undefined for at least one agent present.

    True where the additive effect is at or above the maximal effect ``einf`` of an
    agent present in the cell (that agent alone never reaches it, so its term of the
    classic Loewe equation does not exist): these are the cells in which a partial
    agonist's dose is counted only through dose equivalence.

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis``, >= 0.
    reference_effect : array_like
        Additive effect per cell (response unit), e.g. from
        :func:`loewe_equivalence_reference`.
    e0, einf : array_like
        Single-agent baselines and maxima (increasing scale, response unit), broadcast
        along the agent axis.
    axis : int
        Agent axis of ``doses``.

    Returns
    -------
    numpy.ndarray of bool
        The flag per cell (the agent axis removed); False where the effect is NaN.
    """
    d = np.moveaxis(np.asarray(doses, dtype=float), axis, -1)
    d, q0, q1 = np.broadcast_arrays(d, np.asarray(e0, dtype=float), np.asarray(einf, dtype=float))
    E = np.asarray(reference_effect, dtype=float)[..., None]
    with np.errstate(invalid="ignore"):
        hit = (d > 0) & (q1 > q0) & (E >= q1 - 1e-12 * (1.0 + np.abs(q1)))
    return hit.any(axis=-1)
