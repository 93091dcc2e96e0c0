r"""Loewe additivity for any number of agents, solved from single-agent Hill curves.

Each agent ``i`` follows a Hill curve on an increasing (inhibition) scale,

.. math:: E_i(d) = e_{0,i} + (e_{\infty,i} - e_{0,i})\,\frac{d^{h_i}}{d^{h_i} + C_i^{h_i}},

whose inverse is the dose of agent ``i`` alone that gives effect :math:`E`,

.. math:: D_i(E) = C_i\Bigl(\frac{E - e_{0,i}}{e_{\infty,i} - E}\Bigr)^{1/h_i}.

The Loewe-additive effect :math:`E_\mathrm{L}` of doses :math:`(d_1,\dots,d_N)` solves
(Loewe 1953; Yadav et al. 2015 eq. 8)

.. math:: \sum_{i=1}^{N} \frac{d_i}{D_i(E_\mathrm{L})} = 1 .

**Effects beyond an agent's maximum.**  :math:`D_i(E)` is undefined when :math:`E` is at
or beyond the maximal effect :math:`e_{\infty,i}` of agent ``i`` (no dose of that agent
alone reaches it).  comboplan defines :math:`D_i(E) = +\infty` there, i.e. agent ``i``
contributes nothing (:math:`d_i/D_i = 0`) to effects it cannot produce alone, and
:math:`D_i(E) = 0` (an infinite contribution) for :math:`E \le e_{0,i}` when
:math:`d_i > 0`.  With this convention the left-hand side is continuous and strictly
decreasing in :math:`E` between :math:`\max_i e_{0,i}` and :math:`\max_i e_{\infty,i}`
(over agents present), so the equation has exactly one root for every dose vector: the
reference never exceeds the largest single-agent maximum and is never undefined.
An agent whose curve does not rise (:math:`e_{\infty,i} \le e_{0,i}`) contributes nothing.
SynergyFinder instead falls back to the HSA-like ``max`` of the two single-agent curves
evaluated at the summed dose when its Newton solver fails; the ``synergy`` package returns
NaN.  The root is found for all cells at once by a bracketed (safeguarded) Newton
iteration on the log of the left-hand side, with its analytic derivative.
"""
from __future__ import annotations

import numpy as np

__all__ = ["hill_dose_for_effect", "loewe_reference", "loewe_index", "loewe_excess"]


def _as_params(e0, einf, ec50, h):
    return (np.asarray(e0, dtype=float), np.asarray(einf, dtype=float),
            np.asarray(ec50, dtype=float), np.asarray(h, dtype=float))


def _log_dose_for_effect(effect, e0, einf, ec50, h):
    """log D_i(E) with the conventions of the module docstring (-inf / +inf outside)."""
    E = np.asarray(effect, dtype=float)
    rising = einf > e0
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(E - e0) - np.log(einf - E)
        ld = np.log(ec50) + lr / h
    ld = np.where(E <= e0, -np.inf, ld)
    ld = np.where((E >= einf) | ~rising, np.inf, ld)
    return ld


def hill_dose_for_effect(effect, e0, einf, ec50, h) -> np.ndarray:
    """Dose of one agent alone giving ``effect`` on its (rising) Hill curve.

    Parameters
    ----------
    effect : array_like
        Target effect (response unit, increasing scale).
    e0, einf : array_like
        Effect at dose 0 and at infinite dose (response unit); ``einf > e0``.
    ec50 : array_like
        Half-effect dose (dose unit), > 0.
    h : array_like
        Hill slope, > 0.

    Returns
    -------
    numpy.ndarray
        Dose (unit of ``ec50``); 0 where ``effect <= e0`` and ``inf`` where ``effect``
        is at or beyond the agent's maximum ``einf`` (not reached by the agent alone).
    """
    e0, einf, ec50, h = _as_params(e0, einf, ec50, h)
    return np.exp(_log_dose_for_effect(effect, e0, einf, ec50, h))


def loewe_index(doses, effect, e0, einf, ec50, h, axis: int = -1) -> np.ndarray:
    r"""Loewe interaction index :math:`\sum_i d_i / D_i(E)` at an observed effect.

    Values < 1 mean synergy, 1 additivity, > 1 antagonism (same reading as the
    Chou-Talalay CI).  Terms of agents that cannot reach ``effect`` alone are 0.

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis`` (each in the unit of that agent's ``ec50``).
    effect : array_like
        Observed effect of the combination (increasing scale), broadcast against
        ``doses`` without its agent axis.
    e0, einf, ec50, h : array_like
        Single-agent Hill parameters, one per agent (broadcast along ``axis``).
    axis : int
        Agent axis of ``doses``.

    Returns
    -------
    numpy.ndarray
        The index (dimensionless); ``inf`` if the effect is at or below an agent's
        baseline, NaN if no agent present can reach the effect (index undefined).
    """
    d = np.moveaxis(np.asarray(doses, dtype=float), axis, -1)
    e0, einf, ec50, h = _as_params(e0, einf, ec50, h)
    E = np.asarray(effect, dtype=float)[..., None]
    ld = _log_dose_for_effect(E, e0, einf, ec50, h)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        terms = np.where(d > 0, d * np.exp(-ld), 0.0)
    total = terms.sum(axis=-1)
    reachable = np.any((d > 0) & np.isfinite(ld), axis=-1) | np.any((d > 0) & np.isneginf(ld), axis=-1)
    return np.where(reachable, total, np.nan)


def loewe_reference(doses, e0, einf, ec50, h, axis: int = -1, n_iter: int = 100,
                    rtol: float = 1e-13) -> np.ndarray:
    r"""Loewe-additive expected effect of a dose combination (any number of agents).

    Solves :math:`G(E) = \log\sum_i d_i / D_i(E) = 0` for all cells at once by a
    safeguarded Newton iteration: every cell keeps a bracket ``[a, b]`` on which ``G``
    changes sign (``G`` is strictly decreasing), takes the Newton step
    :math:`E - G/G'` with the analytic derivative
    :math:`G'(E) = -\sum_i w_i\,\frac{1}{h_i}\bigl(\frac{1}{E - e_{0,i}} + \frac{1}{e_{\infty,i} - E}\bigr)`
    (``w_i`` the normalised terms) when it stays inside the bracket and bisects
    otherwise.  Typically 5-10 vectorised iterations reach double precision (the old
    pure bisection needed 60).

    Parameters
    ----------
    doses : array_like
        Doses, agents along ``axis`` (unit of each agent's ``ec50``), >= 0.
    e0, einf, ec50, h : array_like
        Single-agent Hill parameters, broadcast along the agent axis (response
        unit for ``e0``/``einf``, dose unit for ``ec50``, dimensionless ``h``).
    axis : int
        Agent axis of ``doses``.
    n_iter : int
        Maximum number of iterations (each at least halves the bracket).
    rtol : float
        Convergence: bracket width below ``rtol * (|E| + effect range)``, or
        :math:`|G| \le 10^{-14}` (the sum of dose ratios is 1 to 14 digits).

    Returns
    -------
    numpy.ndarray
        Expected effect (response unit), the agent axis removed.  Where no agent
        is present (all doses 0) it is the largest baseline ``e0``.
    """
    d = np.moveaxis(np.asarray(doses, dtype=float), axis, -1)
    e0, einf, ec50, h = _as_params(e0, einf, ec50, h)
    d, e0b, einfb, ec50b, hb = np.broadcast_arrays(d, e0, einf, ec50, h)
    present = d > 0
    rising = einfb > e0b
    lo = np.max(np.where(present, e0b, -np.inf), axis=-1)
    hi = np.max(np.where(present & rising, einfb, -np.inf), axis=-1)
    none = ~np.isfinite(lo)
    base = np.max(e0b, axis=-1)
    lo = np.where(none, base, lo)
    hi = np.where(np.isfinite(hi) & (hi > lo), hi, lo)
    shape = lo.shape
    # flatten the cells; work only on the unconverged ones
    n = lo.size
    a = lo.reshape(n).copy()
    b = hi.reshape(n).copy()
    D = d.reshape(n, -1)
    P = [v.reshape(n, -1) for v in (e0b, einfb, ec50b, hb)]
    with np.errstate(divide="ignore"):
        logd = np.where(D > 0, np.log(np.where(D > 0, D, 1.0)), -np.inf)
    use = D > 0
    x = 0.5 * (a + b)
    scale = np.abs(b - a) + np.abs(b) + np.abs(a)
    active = np.flatnonzero(b > a)
    dxold = 2.0 * (b - a)
    for _ in range(n_iter):
        if active.size == 0:
            break
        E = x[active][:, None]
        q0, q1, q2, q3 = (p[active] for p in P)
        reach = use[active] & (q1 > q0) & (E < q1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ld = np.log(q2) + (np.log(E - q0) - np.log(q1 - E)) / q3          # log D_i(E)
            t = np.where(reach, logd[active] - ld, -np.inf)                  # log(d_i / D_i)
            tmax = np.max(t, axis=1, keepdims=True)
            ok = np.isfinite(tmax[:, 0])
            ex = np.exp(t - np.where(np.isfinite(tmax), tmax, 0.0))
            ssum = ex.sum(axis=1)
            G = np.where(ok, tmax[:, 0] + np.log(ssum), -np.inf)
            G = np.where(np.any(use[active] & (E <= q0), axis=1), np.inf, G)
            w = ex / ssum[:, None]
            dld = (1.0 / (E - q0) + 1.0 / (q1 - E)) / q3
            dG = -np.sum(np.where(reach, w * dld, 0.0), axis=1)
            xa = x[active]
            aa = np.where(G > 0, xa, a[active])       # effect too small -> move up
            bb = np.where(G > 0, b[active], xa)
            step = xa - G / dG
            # rtsafe-style safeguard (Press et al., Numerical Recipes sec. 9.4): bisect when
            # the Newton step leaves the bracket or does not halve the previous step
            dxo = dxold[active]
            good = np.isfinite(step) & (step > aa) & (step < bb) & (np.abs(step - xa) <= 0.5 * np.abs(dxo))
            root = np.abs(G) <= 1e-14                     # converged at the evaluated point
            xn = np.where(root, xa, np.where(good, step, 0.5 * (aa + bb)))
        dx = np.abs(xn - xa)
        a[active], b[active], x[active], dxold[active] = aa, bb, xn, np.where(good, dx, bb - aa)
        tol = rtol * scale[active]
        done = root | (bb - aa <= tol) | (good & (dx <= tol))
        active = active[~done]
    res = x.reshape(shape)
    return np.where(none, base, res)


def loewe_excess(observed, doses, e0, einf, ec50, h, axis: int = -1) -> np.ndarray:
    """Observed minus Loewe-additive effect (positive = synergy).

    Parameters
    ----------
    observed : array_like
        Observed effect (increasing scale, response unit).
    doses, e0, einf, ec50, h, axis
        As in :func:`loewe_reference`.

    Returns
    -------
    numpy.ndarray
        Loewe excess (response unit); positive = synergy.
    """
    return np.asarray(observed, dtype=float) - loewe_reference(doses, e0, einf, ec50, h, axis=axis)
