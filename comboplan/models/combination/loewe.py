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
NaN.  The root is found for all cells at once by Newton's method on the log of the
left-hand side, with its analytic derivative, started inside a bracket found on a grid
and safeguarded by bisection (see :func:`loewe_reference`).
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


#: offsets (in logit units of the relative effect) of the grid that brackets each root:
#: steps of 1 around the start, wider further out (agents with a baseline below the
#: others' or a lower maximum can put the root far from the start)
_T_GRID = np.r_[-30.0, -20.0, -14.0, -10.0, np.arange(-7.0, 8.0), 10.0, 14.0, 20.0, 30.0]


def _loewe_sum(E, agents, slope=True):
    r"""``S(E) = sum_i d_i / D_i(E)`` and ``dS/dE`` for effects ``E`` (any shape).

    ``agents`` holds, per agent, ``(e0, einf, d/C, (einf - e0)/h, 1/h)`` broadcastable
    against ``E``.  Each term is :math:`\frac{d}{C}\bigl(\frac{e_\infty - E}{E - e_0}\bigr)^{1/h}`:
    ``inf`` at ``E = e0`` (the agent alone needs dose 0) and 0 beyond ``einf`` (the agent
    cannot reach ``E``).  Agents to leave out have ``d/C = 0`` and ``e0 > einf`` below
    every ``E`` (their ratio is negative, clipped to 0).  Valid for ``E >= e0`` of every
    agent kept, which holds strictly inside the bracket of :func:`loewe_reference`.
    """
    S = 0.0
    dS = 0.0
    for q0, q1, w, c, invh in agents:
        ea = E - q0
        eb = q1 - E
        r = w * np.maximum(eb / ea, 0.0) ** invh
        S = S + r
        if slope:                     # d r / dE = -r / h (1/ea + 1/eb) = -r (einf - e0) / (h ea eb)
            dS = dS - r * c / (ea * eb)
    return S, dS


_FAST_STEPS = 6


def _loewe_rtsafe(cols, t, a, b, L, R, tol, n_iter):
    """Safeguarded Newton on ``t`` with a bracket ``[a, b]`` on ``E`` (see :func:`loewe_reference`)."""
    dxold = 2.0 * (b - a)
    pos = np.arange(len(t))                  # position in the result of each row of the work arrays
    live = np.ones(len(t), dtype=bool)
    res = np.empty(len(t))
    for _ in range(n_iter):
        nlive = int(np.count_nonzero(live))
        if nlive == 0:
            break
        if nlive <= len(live) // 2:          # compact the work arrays once most cells are done
            cols = [tuple(c[live] for c in col) for col in cols]
            t, a, b, L, R, tol, dxold, pos = (v[live] for v in (t, a, b, L, R, tol, dxold, pos))
            live = np.ones(nlive, dtype=bool)
        p = 1.0 / (1.0 + np.exp(-t))          # expit(t)
        E = L + R * p
        S, dS = _loewe_sum(E, cols)
        G = np.log(S)
        Gt = dS / S * (R * p * (1.0 - p))
        up = G > 0                            # effect too small: move up
        a = np.where(up, E, a)
        b = np.where(up, b, E)
        tn = t - G / Gt
        En = L + R / (1.0 + np.exp(-tn))
        dx = np.abs(En - E)
        good = (En > a) & (En < b) & (dx <= 0.5 * dxold)
        root = np.abs(G) <= 1e-14
        Em = 0.5 * (a + b)
        Enew = np.where(root, E, np.where(good, En, Em))
        t = np.where(good, tn, np.log(Em - L) - np.log(L + R - Em))
        dxold = np.where(good, dx, b - a)
        # a tiny Newton step is no proof of a root where G is very steep (next to an agent's
        # maximum, G falls by many units within 1e-6 of the effect): it counts only with |G|
        # small as well; otherwise the bracket is bisected down to tol
        done = live & (root | (b - a <= tol) | (good & (dx <= tol) & (np.abs(G) <= 1e-6)) | ~np.isfinite(t))
        res[pos[done]] = Enew[done]
        live &= ~done
    if live.any():
        res[pos[live]] = (L + R / (1.0 + np.exp(-t)))[live]
    return res


def loewe_reference(doses, e0, einf, ec50, h, axis: int = -1, n_iter: int = 100,
                    rtol: float = 1e-13) -> np.ndarray:
    r"""Loewe-additive expected effect of a dose combination (any number of agents).

    Solves :math:`G(E) = \log\sum_i d_i / D_i(E) = 0` for all cells at once.  ``G`` is
    strictly decreasing in ``E`` on :math:`(\mathrm{lo}, \mathrm{hi})`, the largest
    baseline and the largest maximum of the agents present.  The iteration works on the
    logit of the relative effect, :math:`E = \mathrm{lo} + (\mathrm{hi} - \mathrm{lo})
    \,\mathrm{expit}(t)`: for agents spanning ``[lo, hi]`` the log-doses are linear in
    ``t`` (:math:`\log D_i = \log C_i + t/h_i`) and ``G(t)`` is a smooth log-sum-exp.

    1. ``G`` is evaluated, in one vectorised step, on a grid of 23 values of ``t``
       (spacing 1 near the centre, wider outside) centred on
       :math:`t_0 = \bar h \log\sum_i d_i/C_i` (the exact root for agents spanning
       ``[lo, hi]`` with a common slope; ``h`` averaged with weights :math:`d_i/C_i`) and
       at every agent's maximum inside ``(lo, hi)`` (where its term vanishes and ``G``
       bends); the two points that bracket the root give a regula-falsi start.
    2. Fast phase: six plain Newton steps for all cells at once, kept inside that bracket, in
       the logit :math:`u = \log\frac{E - e_{0,j}}{e_{\infty,j} - E}` of the agent ``j``
       whose term dominates at the start (its term is exactly log-linear in ``u``; used
       when its range covers the bracket), with the analytic derivative
       :math:`\frac{dG}{dE} = -\sum_i w_i\,\frac{1}{h_i}\bigl(\frac{1}{E - e_{0,i}} +
       \frac{1}{e_{\infty,i} - E}\bigr)` (``w_i`` the normalised terms).  A cell is done
       when its last step is below the tolerance, or when the iteration contracts
       quadratically and the error left, ~ step^3 / previous step^2, is below a hundredth
       of it; a settled cell keeps its iterate and the phase ends when every cell has
       settled, so a cell's result does not depend on the other cells solved with it.
    3. Cells not settled after 6 fast steps: safeguarded Newton (rtsafe, Press et al.,
       Numerical Recipes sec. 9.4) with a bracket on ``E`` that bisects when a step
       leaves the bracket or does not halve the previous step.

    At most six vectorised iterations, plus safeguarded ones for the few cells that need them.

    Agents are looped over in Python (their number is small) so that every array
    operation is element-wise on the cells.

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
        Maximum number of iterations of the safeguarded phase (a bisection at least
        halves the bracket).
    rtol : float
        Convergence: bracket width, Newton step (or its quadratic-convergence estimate
        of the remaining error, see step 2) below ``rtol * (|E| + effect range)``, or
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
    n = lo.size
    N = d.shape[-1]
    out = lo.reshape(n).copy()
    work = np.flatnonzero(hi.reshape(n) > out)   # cells with a root strictly inside (lo, hi)
    if work.size == 0:
        return out.reshape(shape)
    D, q0, q1, qc, qh = (v.reshape(n, N)[work] for v in (d, e0b, einfb, ec50b, hb))
    L = out[work]
    H = hi.reshape(n)[work]
    R = H - L
    inc = present.reshape(n, N)[work] & (q1 > q0)          # agents that contribute
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        w = np.where(inc, D / qc, 0.0)
        q0x = np.where(inc, q0, (L - 1.0)[:, None])          # left out: E - e0 > 0 > einf - E
        q1x = np.where(inc, q1, (L - 2.0)[:, None])
        invh = np.where(inc, 1.0 / qh, 1.0)
        cx = (q1x - q0x) * invh
        cols = [(q0x[:, i], q1x[:, i], w[:, i], cx[:, i], invh[:, i]) for i in range(N)]
        # start grid centred on t0 = hbar * log(sum d_i / C_i), hbar weighted by d_i / C_i
        sw = np.sum(w, axis=1)
        t0 = np.sum(w * qh, axis=1) / sw * np.log(sw)
        t0 = np.where(np.isfinite(t0), np.clip(t0, -20.0, 20.0), 0.0)
        # G on the grid and at the maxima of the agents (where their terms vanish, G bends)
        Eg = L[:, None] + R[:, None] / (1.0 + np.exp(-(t0[:, None] + _T_GRID[None, :])))
        kink = np.where(inc & (q1 < H[:, None]) & (q1 > L[:, None]), q1, np.nan)
        Eg = np.concatenate([Eg, kink], axis=1)
        Sg, _ = _loewe_sum(Eg, [tuple(c[:, None] for c in col) for col in cols], slope=False)
        ii = np.arange(work.size)
        lo_pts = np.where(Sg > 1.0, Eg, -np.inf)     # G > 0: below the root (G decreases)
        hi_pts = np.where(Sg <= 1.0, Eg, np.inf)
        ka = np.argmax(lo_pts, axis=1)
        kb = np.argmin(hi_pts, axis=1)
        a = lo_pts[ii, ka]
        b = hi_pts[ii, kb]
        ga = np.log(Sg[ii, ka])
        gb = np.log(Sg[ii, kb])
        inner = np.isfinite(a) & np.isfinite(b) & np.isfinite(ga) & np.isfinite(gb)
        a = np.where(np.isfinite(a), a, L)           # bracket on E: G(a) > 0 > G(b)
        b = np.where(np.isfinite(b), b, H)
        # regula falsi in t between the two points that bracket the root
        ta = np.log(a - L) - np.log(H - a)
        tb = np.log(b - L) - np.log(H - b)
        em = 0.5 * (a + b)
        t = np.where(inner, ta + ga / (ga - gb) * (tb - ta), np.log(em - L) - np.log(H - em))
        t = np.where(np.isfinite(t), t, 0.0)
        scale = np.abs(R) + np.abs(H) + np.abs(L)
        tol = rtol * scale
        # fast phase: plain Newton steps for all cells at once (no bookkeeping per step) in
        # the logit of the effect relative to the range of the agent whose term dominates
        # at the start, u = log((E - e0_j) / (einf_j - E)): that term is exactly log-linear
        # in u, so G(u) is nearly linear where the agents' maxima differ
        E1 = L + R / (1.0 + np.exp(-t))
        best = np.full(work.size, -np.inf)
        Lj = L.copy()
        Rj = R.copy()
        for q0_, q1_, w_, _, ih_ in cols:
            r_ = w_ * np.maximum((q1_ - E1) / (E1 - q0_), 0.0) ** ih_
            take = r_ > best
            best = np.where(take, r_, best)
            Lj = np.where(take, q0_, Lj)
            Rj = np.where(take, q1_ - q0_, Rj)
        fine = (Rj > 0) & (a >= Lj) & (b <= Lj + Rj) & (E1 > Lj) & (E1 < Lj + Rj)   # u covers the bracket
        Lj = np.where(fine, Lj, L)
        Rj = np.where(fine, Rj, R)
        ta = np.log(np.maximum(a - Lj, 0.0)) - np.log(Lj + Rj - a)
        tb = np.log(b - Lj) - np.log(np.maximum(Lj + Rj - b, 0.0))
        # regula falsi again, now in u: accurate because G is nearly linear in u
        t = np.where(inner & np.isfinite(ta) & np.isfinite(tb), ta + ga / (ga - gb) * (tb - ta),
                     np.log(E1 - Lj) - np.log(Lj + Rj - E1))
        prev = np.full(work.size, np.nan)
        done = np.zeros(work.size, dtype=bool)
        # a cell that has settled keeps its iterate (frozen) and the loop ends when every cell
        # has settled: a cell's iterates and its stopping step then depend on that cell only,
        # not on the other cells of the call, so a cell gets the same result, bit for bit,
        # whether it is solved alone, with its screen or in a Dask partition
        # (tests/test_distributed.py, tests/test_loewe_partition.py)
        for _ in range(_FAST_STEPS):
            p = 1.0 / (1.0 + np.exp(-t))
            dEdt = Rj * p * (1.0 - p)
            S, dS = _loewe_sum(Lj + Rj * p, cols)
            tr = t - np.log(S) * S / (dS * dEdt)          # Newton: t - G / (dG/dt)
            step = np.abs(tr - t) * dEdt                  # |dE| of the full step, to first order
            # done: the step was below tol, or the iteration contracts quadratically and the
            # error left after this step, ~ step^3 / prev^2, is below tol/100 (prev: the
            # previous step; NaN at first, and a step beyond the effect range gives no rate)
            now = (step <= tol) | ((step <= 1e-3 * prev) & (100.0 * step ** 3 <= tol * prev ** 2) & (prev <= Rj))
            t = np.where(done, t, np.minimum(np.maximum(tr, ta), tb))   # kept inside the bracket
            prev = np.where(done, prev, step)
            done |= now
            if done.all():
                break
        res = Lj + Rj / (1.0 + np.exp(-t))
        # certificate: G changes sign within +-tol of the result (a tiny Newton step can also
        # come from a very steep G, next to the maximum of an agent with h > 1)
        Sc, _ = _loewe_sum(res[:, None] + tol[:, None] * np.array([-1.0, 1.0]),
                           [tuple(c[:, None] for c in col) for col in cols], slope=False)
        ok = done & (Sc[:, 0] >= 1.0) & (Sc[:, 1] <= 1.0)
        if not ok.all():
            # safeguarded loop (rtsafe) for the cells the fast phase did not settle
            sel = np.flatnonzero(~ok)
            a_, b_, L_, H_, E_ = a[sel], b[sel], L[sel], H[sel], res[sel]
            em = 0.5 * (a_ + b_)
            E_ = np.where((E_ > a_) & (E_ < b_), E_, em)
            t_ = np.log(E_ - L_) - np.log(H_ - E_)
            t_ = np.where(np.isfinite(t_), t_, np.log(em - L_) - np.log(H_ - em))
            res[sel] = _loewe_rtsafe([tuple(c[sel] for c in col) for col in cols], t_, a_, b_, L_, R[sel],
                                     tol[sel], n_iter)
    out[work] = res
    return out.reshape(shape)


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
