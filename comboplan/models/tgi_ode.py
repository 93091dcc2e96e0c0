r"""Compiled solver of tumour-growth-inhibition ODE models for population fitting.

The model is the simulator's (:mod:`comboplan.simulate.pd`): proliferating cells :math:`x_1`
and ``n_transit`` damaged compartments (Simeoni et al. 2004),

.. math::

    \dot x_1 = g(w)\,x_1 - h(t)\,x_1,\quad \dot x_2 = h(t)\,x_1 - k_1 x_2,\quad
    \dot x_j = k_1 (x_{j-1} - x_j),\quad w = x_1 + \textstyle\sum_j x_j,

with the growth law :math:`g` exponential (:math:`\lambda_0`), Simeoni's switch
(:func:`~comboplan.models.growth.simeoni_growth_rate`) or Koch's smooth form
(:func:`~comboplan.models.growth.koch_growth_rate`), and a kill hazard that is *linear in
known exposure integrals*: :math:`h = \sum_c a_c\,u_c(t)` with per-animal coefficients
:math:`a_c` (potencies :math:`k_j`, and :math:`\gamma\sqrt{k_A k_B}` for the interaction) and
fixed exposure functions :math:`u_c` (:math:`e_A`, :math:`e_B`, :math:`\sqrt{e_A e_B}`).  With
the PK fixed, the integrals of every :math:`u_c` over every half step are computed once per
animal and the solver only combines them.

The numerical scheme is the simulator's Strang splitting
(:func:`~comboplan.models.growth.transit_split_solve`): kill (half step, exact given the
integrated hazard) - transit (half step, exact linear chain) - growth (full step, exponential
midpoint rule) - transit - kill.  It is compiled with numba (one pass over animals x steps),
so that a population fit can call it thousands of times.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["LAWS", "solve_log_size"]

#: growth-law codes of the compiled kernel
LAWS = {"exponential": 0, "simeoni": 1, "koch": 2}

_KERNEL = None
_RATE = None


def _kernel():
    global _KERNEL, _RATE
    if _KERNEL is not None:
        return _KERNEL
    import numba

    @numba.njit(cache=True, inline="always")
    def rate(law, w, l0, l1, psi, ipsi):
        if law == 0:
            return l0
        if law == 1:
            z = l0 * w / l1
            if z <= 0.0:
                return l0
            if ipsi > 0 and z < 1e6:
                # integer psi: z^psi by repeated squaring (Simeoni's psi = 20)
                zp = 1.0
                b = z
                e = ipsi
                while e > 0:
                    if e & 1:
                        zp *= b
                    b *= b
                    e >>= 1
                if zp < 1e-17:          # exponential phase: (1 + z^psi)^(-1/psi) = 1 in doubles
                    return l0
                return l0 * math.exp(-math.log1p(zp) / psi)
            lz = psi * math.log(z)
            if lz > 0.0:
                lg = lz + math.log1p(math.exp(-lz))
            else:
                lg = math.log1p(math.exp(lz))
            return l0 * math.exp(-lg / psi)
        return l0 * l1 / (l1 + l0 * w)

    # solve calls rate through the module global _RATE, not a closure variable: numba keys its
    # on-disk cache on the pickled closure, and a pickled dispatcher carries a per-process uuid,
    # so a closure made every process write a new cache file (tests/test_numba_cache.py).
    _RATE = rate

    @numba.njit(cache=True)
    def solve(dt, I1, I2, out_step, subj, w0, l0, l1, k1, coef, law, psi, ntr):
        ipsi = int(psi) if (psi == math.floor(psi) and psi <= 64.0) else 0
        R = subj.shape[0]
        S = dt.shape[0]
        nc = coef.shape[1]
        m = out_step.shape[1]
        out = np.empty((R, m))
        wg = np.empty(S + 1)
        dam = np.zeros(max(ntr, 1))
        new = np.zeros(max(ntr, 1))
        cf = np.zeros(max(ntr, 1))
        for r in range(R):
            i = subj[r]
            x1 = w0[r]
            for j in range(ntr):
                dam[j] = 0.0
            wg[0] = x1
            last_h = -1.0
            for s in range(S):
                h = dt[s]
                # kill, first half
                H = 0.0
                for c in range(nc):
                    H += coef[r, c] * I1[i, s, c]
                if H > 0.0:
                    killed = -x1 * math.expm1(-H)
                    x1 -= killed
                    if ntr > 0:
                        dam[0] += killed
                # transit, half step (exact: x_j <- sum_{i<=j} e^-a a^(j-i)/(j-i)! x_i)
                dtot = 0.0
                if ntr > 0:
                    if h != last_h:   # coefficients of this step length (uniform steps reuse them)
                        a = k1[r] * 0.5 * h
                        cf[0] = math.exp(-a)
                        for j in range(1, ntr):
                            cf[j] = cf[j - 1] * a / j
                        last_h = h
                    for j in range(ntr):
                        acc = 0.0
                        for q in range(j + 1):
                            acc += cf[j - q] * dam[q]
                        new[j] = acc
                    for j in range(ntr):
                        dam[j] = new[j]
                        dtot += new[j]
                # growth, full step (exponential midpoint)
                if law == 0:
                    x1 *= math.exp(l0[r] * h)
                else:
                    g0 = _RATE(law, x1 + dtot, l0[r], l1[r], psi, ipsi)
                    xm = x1 * math.exp(0.5 * h * g0)
                    gm = _RATE(law, xm + dtot, l0[r], l1[r], psi, ipsi)
                    x1 *= math.exp(h * gm)
                dtot = 0.0
                if ntr > 0:
                    for j in range(ntr):
                        acc = 0.0
                        for q in range(j + 1):
                            acc += cf[j - q] * dam[q]
                        new[j] = acc
                    for j in range(ntr):
                        dam[j] = new[j]
                # kill, second half
                H = 0.0
                for c in range(nc):
                    H += coef[r, c] * I2[i, s, c]
                if H > 0.0:
                    killed = -x1 * math.expm1(-H)
                    x1 -= killed
                    if ntr > 0:
                        dam[0] += killed
                tot = x1
                for j in range(ntr):
                    tot += dam[j]
                wg[s + 1] = tot
            for o in range(m):
                k = out_step[i, o]
                out[r, o] = math.log(wg[k]) if k >= 0 and wg[k] > 0.0 else (-745.0 if k >= 0 else 0.0)
        return out

    _KERNEL = solve
    return solve


def solve_log_size(dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, *, law: str = "simeoni",
                   psi: float = 20.0, n_transit: int = 0) -> np.ndarray:
    """Log tumour size at the observation times for many (animal, parameter) rows.

    Parameters
    ----------
    dt : ndarray (n_steps,)
        Step lengths of the shared step grid (days).
    I1, I2 : ndarray (n_animals, n_steps, n_c)
        Integral of each exposure function :math:`u_c` over the first and second half of every
        step (exposure unit x day).
    out_step : ndarray of int (n_animals, n_obs)
        Grid index of every observation (-1 for padding; its output is 0).
    subj : ndarray of int (n_rows,)
        Animal of every row.
    w0, lambda0, lambda1, k1 : ndarray (n_rows,)
        Size at day 0 (size unit), initial exponential rate (1/day), linear rate (size/day;
        unused for the exponential law), transit rate (1/day; unused without transit).
    coef : ndarray (n_rows, n_c)
        Hazard coefficients :math:`a_c` (1/(day x exposure unit)).
    law : {"exponential", "simeoni", "koch"}
    psi : float
        Simeoni switch sharpness (dimensionless).
    n_transit : int
        Damaged compartments.

    Returns
    -------
    ndarray (n_rows, n_obs)
        Natural log of the total size (size unit).
    """
    f = _kernel()
    c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    return f(c(dt), c(I1), c(I2), np.ascontiguousarray(out_step, dtype=np.int64),
             np.ascontiguousarray(subj, dtype=np.int64), c(w0), c(lambda0), c(lambda1), c(k1), c(coef),
             int(LAWS[law]), float(psi), int(n_transit))
