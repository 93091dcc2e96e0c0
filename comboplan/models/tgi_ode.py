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

__all__ = ["LAWS", "solve_log_size", "solve_log_size_sens", "solve_log_size_vjp", "solve_log_size_taped",
           "log_size_vjp_from_tape", "parameter_sensitivities"]

#: growth-law codes of the compiled kernel
LAWS = {"exponential": 0, "simeoni": 1, "koch": 2}

_KERNEL = None
_VJP_BACK = None
_SENS = None
_RATE_D = None
_RATE = None


def _kernel():
    global _KERNEL, _RATE
    if _KERNEL is not None:
        return _KERNEL
    import numba

    @numba.njit(cache=True, inline="always", error_model="numpy")
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

    @numba.njit(cache=True, error_model="numpy")
    def solve(dt, I1, I2, out_step, subj, w0, l0, l1, k1, coef, law, psi, ntr, tape):
        # tape: None, or (rows, steps, 6 + 3 n_transit) to record every step's states for the
        # adjoint (solve_vjp): x1 at the start, after kill 1 (xa), at the growth midpoint (xm),
        # after growth (xc), the two hazard integrals, and the damaged compartments after kill 1,
        # transit 1 and transit 2 (numba compiles the None case without the recording)
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
                if tape is not None:
                    tape[r, s, 0] = x1
                if ntr > 0 and h != last_h:   # transit coefficients of this step length (reused)
                    a = k1[r] * 0.5 * h
                    cf[0] = math.exp(-a)
                    for j in range(1, ntr):
                        cf[j] = cf[j - 1] * a / j
                    last_h = h
                for half in range(2):
                    if half == 1:
                        # transit (half step, exact: x_j <- sum_{i<=j} e^-a a^(j-i)/(j-i)! x_i) -
                        # growth (full step, exponential midpoint) - transit (half step)
                        for rep in range(2):
                            dtot = 0.0
                            for j in range(ntr):
                                acc = 0.0
                                for q in range(j + 1):
                                    acc += cf[j - q] * dam[q]
                                new[j] = acc
                            for j in range(ntr):
                                dam[j] = new[j]
                                dtot += new[j]
                                if tape is not None:
                                    tape[r, s, 6 + (1 + rep) * ntr + j] = new[j]
                            if rep == 1:
                                break
                            if law == 0:
                                xm = x1
                                x1 *= math.exp(l0[r] * h)
                            else:
                                g0 = _RATE(law, x1 + dtot, l0[r], l1[r], psi, ipsi)
                                xm = x1 * math.exp(0.5 * h * g0)
                                gm = _RATE(law, xm + dtot, l0[r], l1[r], psi, ipsi)
                                x1 *= math.exp(h * gm)
                            if tape is not None:
                                tape[r, s, 2] = xm
                                tape[r, s, 3] = x1
                    # kill, first (I1) or second (I2) half step
                    Ih = I1 if half == 0 else I2
                    H = 0.0
                    for c in range(nc):
                        H += coef[r, c] * Ih[i, s, c]
                    if tape is not None:
                        tape[r, s, 4 + half] = H
                    if H > 0.0:
                        killed = -x1 * math.expm1(-H)
                        x1 -= killed
                        if ntr > 0:
                            dam[0] += killed
                    if half == 0 and tape is not None:
                        tape[r, s, 1] = x1
                        for j in range(ntr):
                            tape[r, s, 6 + j] = dam[j]
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
             int(LAWS[law]), float(psi), int(n_transit), None)


def _sens_kernel():
    """Forward-sensitivity version of the solver (same scheme, differentiated step by step)."""
    global _SENS, _RATE_D
    if _SENS is not None:
        return _SENS
    import numba

    @numba.njit(cache=True, inline="always", error_model="numpy")
    def rate_d(law, w, l0, l1, psi):
        """g(w) and its partial derivatives (dg/dw, dg/dl0, dg/dl1)."""
        if law == 1:
            z = l0 * w / l1
            if z <= 0.0:
                return l0, 0.0, 1.0, 0.0
            lz = psi * math.log(z)
            if lz > 0.0:
                lg = lz + math.log1p(math.exp(-lz))
                sfrac = 1.0 / (1.0 + math.exp(-lz))
            else:
                e = math.exp(lz)
                lg = math.log1p(e)
                sfrac = e / (1.0 + e)
            g = l0 * math.exp(-lg / psi)
            return g, -g * sfrac / w, g * (1.0 - sfrac) / l0, g * sfrac / l1
        den = l1 + l0 * w
        g = l0 * l1 / den
        return g, -l0 * g / den, g * l1 / (l0 * den), g * l0 * w / (l1 * den)

    # called through the module global (not a closure variable) so that numba's on-disk cache
    # key does not change from process to process (see _kernel)
    _RATE_D = rate_d

    @numba.njit(cache=True, error_model="numpy")
    def solve_sens(dt, I1, I2, out_step, subj, w0, l0, l1, k1, coef, law, psi, ntr, pidx):
        R = subj.shape[0]
        S = dt.shape[0]
        nc = coef.shape[1]
        # sensitivities computed: pidx lists which of w0, lambda0, lambda1, k1, coef_0..coef_{nc-1}
        # (indices 0..3+nc); the p-th computed column is parameter pidx[p]
        P = pidx.shape[0]
        m = out_step.shape[1]
        out = np.empty((R, m))
        jac = np.zeros((R, m, P))
        wg = np.empty(S + 1)
        Wg = np.empty((S + 1, P))
        nt = max(ntr, 1)
        dam = np.zeros(nt)
        D = np.zeros((nt, P))
        new = np.zeros(nt)
        Dn = np.zeros((nt, P))
        cf = np.zeros(nt)
        dcf = np.zeros(nt)
        X = np.zeros(P)
        Xm = np.zeros(P)
        for r in range(R):
            i = subj[r]
            x1 = w0[r]
            for p in range(P):
                X[p] = 1.0 if pidx[p] == 0 else 0.0
            for j in range(ntr):
                dam[j] = 0.0
                for p in range(P):
                    D[j, p] = 0.0
            wg[0] = x1
            for p in range(P):
                Wg[0, p] = X[p]
            for s in range(S):
                h = dt[s]
                # transit coefficients for this step
                if ntr > 0:
                    a = k1[r] * 0.5 * h
                    cf[0] = math.exp(-a)
                    dcf[0] = -cf[0]
                    for j in range(1, ntr):
                        cf[j] = cf[j - 1] * a / j
                        dcf[j] = cf[j - 1] - cf[j]
                for half in range(2):
                    if half == 1:
                        for rep in range(2):   # transit (half) - growth (full) - transit (half)
                            if rep == 1:
                                # growth, full step (exponential midpoint rule)
                                dtot = 0.0
                                for j in range(ntr):
                                    dtot += dam[j]
                                if law == 0:
                                    e = math.exp(l0[r] * h)
                                    for p in range(P):
                                        X[p] = e * X[p]
                                        if pidx[p] == 1:
                                            X[p] += e * x1 * h
                                    x1 *= e
                                else:
                                    # two substeps x <- x e^(hh g(w)): to the midpoint (hh = h/2, g at
                                    # the start, into Xm), then the full step (hh = h, g at the midpoint)
                                    xm = x1
                                    for sub in range(2):
                                        src = X if sub == 0 else Xm
                                        dst = Xm if sub == 0 else X
                                        hh = 0.5 * h if sub == 0 else h
                                        g, gw, g_l0, g_l1 = _RATE_D(law, xm + dtot, l0[r], l1[r], psi)
                                        e = math.exp(hh * g)
                                        for p in range(P):
                                            dw = src[p]
                                            for j in range(ntr):
                                                dw += D[j, p]
                                            dg = gw * dw
                                            if pidx[p] == 1:
                                                dg += g_l0
                                            elif pidx[p] == 2:
                                                dg += g_l1
                                            dst[p] = e * (X[p] + x1 * hh * dg)
                                        xm = x1 * e
                                    x1 = xm
                            if ntr > 0:
                                for j in range(ntr):
                                    acc = 0.0
                                    dacc = 0.0
                                    for q in range(j + 1):
                                        acc += cf[j - q] * dam[q]
                                        dacc += dcf[j - q] * dam[q]
                                    new[j] = acc
                                    for p in range(P):
                                        v = 0.0
                                        for q in range(j + 1):
                                            v += cf[j - q] * D[q, p]
                                        if pidx[p] == 3:
                                            v += dacc * 0.5 * h
                                        Dn[j, p] = v
                                for j in range(ntr):
                                    dam[j] = new[j]
                                    for p in range(P):
                                        D[j, p] = Dn[j, p]
                    # kill, first (I1) or second (I2) half step (exact given the integrated hazard)
                    Ih = I1 if half == 0 else I2
                    H = 0.0
                    for c in range(nc):
                        H += coef[r, c] * Ih[i, s, c]
                    if H > 0.0:
                        f = math.exp(-H)
                        x1n = x1 * f
                        for p in range(P):
                            xp = X[p] * f
                            if pidx[p] >= 4:
                                xp -= x1n * Ih[i, s, pidx[p] - 4]
                            if ntr > 0:
                                D[0, p] += X[p] - xp
                            X[p] = xp
                        if ntr > 0:
                            dam[0] += x1 - x1n
                        x1 = x1n
                tot = x1
                for j in range(ntr):
                    tot += dam[j]
                wg[s + 1] = tot
                for p in range(P):
                    v = X[p]
                    for j in range(ntr):
                        v += D[j, p]
                    Wg[s + 1, p] = v
            for o in range(m):
                k = out_step[i, o]
                if k >= 0 and wg[k] > 0.0:
                    out[r, o] = math.log(wg[k])
                    for p in range(P):
                        jac[r, o, p] = Wg[k, p] / wg[k]
                else:
                    out[r, o] = -745.0 if k >= 0 else 0.0
        return out, jac

    _SENS = solve_sens
    return solve_sens


def solve_log_size_sens(dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, *, law: str = "simeoni",
                        psi: float = 20.0, n_transit: int = 0, columns=None):
    """:func:`solve_log_size` with its exact derivatives (forward sensitivities of the scheme).

    Parameters are those of :func:`solve_log_size`, and

    columns : sequence of int, optional
        Which derivatives to compute (indices into the last axis of ``jac`` below); the others
        are returned as 0, at a lower cost.  Default all.

    Returns
    -------
    log_size : ndarray (n_rows, n_obs)
        Natural log of the total size (size unit).
    jac : ndarray (n_rows, n_obs, 4 + n_c)
        Derivatives of ``log_size`` with respect to ``w0`` (1/size unit), ``lambda0`` (day),
        ``lambda1`` (day/size unit), ``k1`` (day) and each hazard coefficient
        (day x exposure unit), natural scale; columns of parameters a law does not use are 0.
    """
    f = _sens_kernel()
    c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    coef = c(coef)
    n_par = 4 + coef.shape[1]
    cols = np.arange(n_par) if columns is None else np.unique(np.asarray(columns, dtype=np.int64))
    if cols.size and (cols[0] < 0 or cols[-1] >= n_par):
        raise ValueError(f"columns must lie in 0..{n_par - 1}")
    lw, jac = f(c(dt), c(I1), c(I2), np.ascontiguousarray(out_step, dtype=np.int64),
                np.ascontiguousarray(subj, dtype=np.int64), c(w0), c(lambda0), c(lambda1), c(k1), coef,
                int(LAWS[law]), float(psi), int(n_transit), np.ascontiguousarray(cols, dtype=np.int64))
    if columns is None:
        return lw, jac
    full = np.zeros(lw.shape + (n_par,))
    full[..., cols] = jac
    return lw, full


_VJP = None


def _vjp_kernel():
    """Reverse-mode (adjoint) version of the solver: the gradient of a weighted sum of log sizes."""
    global _VJP
    if _VJP is not None:
        return _VJP
    import numba

    _kernel()        # defines _KERNEL
    _sens_kernel()   # defines _RATE_D

    @numba.njit(cache=True, error_model="numpy")
    def vjp_back(dt, I1, I2, out_step, subj, l0, l1, k1, coef, law, psi, ntr, gbar, tape, out):
        # the backward pass, from the states the forward solve recorded (tape) and its output
        R = subj.shape[0]
        S = dt.shape[0]
        nc = coef.shape[1]
        m = out_step.shape[1]
        nt = max(ntr, 1)
        grad = np.zeros((R, 4 + nc))
        wbar = np.zeros(S + 1)           # d(objective)/d(total size) at every grid point
        cf = np.zeros(nt)
        dcf = np.zeros(nt)
        bd = np.zeros(nt)                # adjoints of the damaged compartments
        bn = np.zeros(nt)
        for r in range(R):
            i = subj[r]
            for k in range(S + 1):
                wbar[k] = 0.0
            for o in range(m):
                k = out_step[i, o]
                if k >= 0 and out[r, o] > -745.0:
                    wbar[k] += gbar[r, o] * math.exp(-out[r, o])   # d log w / d w = 1 / w
            # backward through the recorded steps: bx, bd adjoints of x1 and the damaged
            # compartments at the end of step s
            bx = 0.0
            for j in range(nt):
                bd[j] = 0.0
            gl0 = 0.0
            gl1 = 0.0
            gk1 = 0.0
            last_h = -1.0
            for s in range(S - 1, -1, -1):
                bx += wbar[s + 1]        # the total at the end of step s is an output
                for j in range(ntr):
                    bd[j] += wbar[s + 1]
                h = dt[s]
                if ntr > 0 and h != last_h:
                    a = k1[r] * 0.5 * h
                    cf[0] = math.exp(-a)
                    dcf[0] = -cf[0]
                    for j in range(1, ntr):
                        cf[j] = cf[j - 1] * a / j
                        dcf[j] = cf[j - 1] - cf[j]
                    last_h = h
                x0, xa, xm, xc = tape[r, s, 0], tape[r, s, 1], tape[r, s, 2], tape[r, s, 3]
                for half in range(1, -1, -1):
                    # kill half step: x <- x f, dam0 <- dam0 + x (1 - f), f = exp(-H)
                    H = tape[r, s, 4 + half]
                    if H > 0.0:
                        xin = xc if half == 1 else x0
                        Ih = I1 if half == 0 else I2
                        f = math.exp(-H)
                        b0 = bd[0] if ntr > 0 else 0.0
                        hb = xin * f * (b0 - bx)
                        for c in range(nc):
                            grad[r, 4 + c] += hb * Ih[i, s, c]
                        bx = bx * f + b0 * (1.0 - f)
                    if half == 0:
                        break
                    for rep in range(1, -1, -1):
                        # transit rep (input: db for transit 2, da for transit 1): dam <- C(k1) dam
                        if ntr > 0:
                            off = 6 + rep * ntr
                            for j in range(ntr):
                                acc = 0.0
                                for q in range(j + 1):
                                    acc += dcf[j - q] * tape[r, s, off + q]
                                gk1 += bd[j] * acc * 0.5 * h
                            for q in range(ntr):
                                acc = 0.0
                                for j in range(q, ntr):
                                    acc += cf[j - q] * bd[j]
                                bn[q] = acc
                            for q in range(ntr):
                                bd[q] = bn[q]
                        if rep == 0:
                            break
                        # growth: xc = xa e^(h gm), gm = g(xm + dtot), xm = xa e^(h g0 / 2), g0 = g(xa + dtot)
                        if law == 0:
                            gl0 += bx * xc * h
                            bx = bx * math.exp(l0[r] * h)
                        else:
                            dtot = 0.0
                            for j in range(ntr):
                                dtot += tape[r, s, 6 + ntr + j]
                            g0, gw, g_l0, g_l1 = _RATE_D(law, xa + dtot, l0[r], l1[r], psi)
                            gm, gw2, gm_l0, gm_l1 = _RATE_D(law, xm + dtot, l0[r], l1[r], psi)
                            em = math.exp(0.5 * h * g0)
                            bgm = bx * xc * h
                            bwb = bgm * gw2
                            bg0 = bwb * xa * em * 0.5 * h
                            bwa = bg0 * gw
                            gl0 += bgm * gm_l0 + bg0 * g_l0
                            gl1 += bgm * gm_l1 + bg0 * g_l1
                            for j in range(ntr):
                                bd[j] += bwb + bwa
                            bx = bx * math.exp(h * gm) + bwb * em + bwa
            grad[r, 0] = bx + wbar[0]
            grad[r, 1] = gl0
            grad[r, 2] = gl1
            grad[r, 3] = gk1
        return grad

    # solve_vjp calls vjp_back through the module global (not a closure variable: see _kernel)
    global _VJP_BACK
    _VJP_BACK = vjp_back

    @numba.njit(cache=True, error_model="numpy")
    def solve_vjp(dt, I1, I2, out_step, subj, w0, l0, l1, k1, coef, law, psi, ntr, gbar):
        # forward: the solver itself, recording every step's states; then the backward pass
        tape = np.empty((subj.shape[0], dt.shape[0], 6 + 3 * ntr))
        out = _KERNEL(dt, I1, I2, out_step, subj, w0, l0, l1, k1, coef, law, psi, ntr, tape)
        return out, _VJP_BACK(dt, I1, I2, out_step, subj, l0, l1, k1, coef, law, psi, ntr, gbar, tape, out)

    _VJP = solve_vjp
    return solve_vjp


def solve_log_size_vjp(dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, weights, *,
                       law: str = "simeoni", psi: float = 20.0, n_transit: int = 0):
    """:func:`solve_log_size` and the gradient of ``sum(weights * log_size)`` (reverse mode).

    The adjoint of the same splitting scheme, so the gradient is exact for the discrete
    solution (equal to ``einsum("ro,rop->rp", weights, jac)`` with the forward sensitivities of
    :func:`solve_log_size_sens`, at the cost of about two solves instead of 5 + n_c).

    Parameters
    ----------
    dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, law, psi, n_transit
        As :func:`solve_log_size`.
    weights : ndarray (n_rows, n_obs)
        Weight of every log size (e.g. the derivative of a log-likelihood with respect to it;
        1/log size unit); padding entries are ignored.

    Returns
    -------
    log_size : ndarray (n_rows, n_obs)
        As :func:`solve_log_size`.
    grad : ndarray (n_rows, 4 + n_c)
        Derivative of ``sum_o weights[r, o] * log_size[r, o]`` with respect to ``w0``,
        ``lambda0``, ``lambda1``, ``k1`` and each hazard coefficient of row ``r`` (units of
        the weights divided by those of the parameter; natural scale).
    """
    f = _vjp_kernel()
    c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    return f(c(dt), c(I1), c(I2), np.ascontiguousarray(out_step, dtype=np.int64),
             np.ascontiguousarray(subj, dtype=np.int64), c(w0), c(lambda0), c(lambda1), c(k1), c(coef),
             int(LAWS[law]), float(psi), int(n_transit), c(weights))


def solve_log_size_taped(dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, *, law: str = "simeoni",
                         psi: float = 20.0, n_transit: int = 0):
    """:func:`solve_log_size`, also returning the recorded states that
    :func:`log_size_vjp_from_tape` needs for the gradient (so that a value and its gradient at the
    same parameters cost one forward solve, not two).

    Parameters
    ----------
    dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, law, psi, n_transit
        As :func:`solve_log_size`.

    Returns
    -------
    log_size : ndarray (n_rows, n_obs)
        Bit for bit :func:`solve_log_size` (natural log of the size unit).
    tape : ndarray (n_rows, n_steps, 6 + 3 n_transit)
        The solver's states at every step (size units; dimensionless hazard integrals).
    """
    f = _kernel()
    c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    subj = np.ascontiguousarray(subj, dtype=np.int64)
    dt = c(dt)
    tape = np.empty((subj.shape[0], dt.shape[0], 6 + 3 * int(n_transit)))
    out = f(dt, c(I1), c(I2), np.ascontiguousarray(out_step, dtype=np.int64), subj, c(w0), c(lambda0), c(lambda1),
            c(k1), c(coef), int(LAWS[law]), float(psi), int(n_transit), tape)
    return out, tape


def log_size_vjp_from_tape(dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, weights, tape, log_size, *,
                           law: str = "simeoni", psi: float = 20.0, n_transit: int = 0) -> np.ndarray:
    """The gradient of :func:`solve_log_size_vjp` from a forward solve already done by
    :func:`solve_log_size_taped` at the same parameters (its ``tape`` and ``log_size``): the
    backward pass only, bit for bit the same gradient.

    Parameters
    ----------
    dt, I1, I2, out_step, subj, w0, lambda0, lambda1, k1, coef, weights, law, psi, n_transit
        As :func:`solve_log_size_vjp` (``w0`` is not needed by the backward pass and is ignored).
    tape, log_size : ndarray
        The outputs of :func:`solve_log_size_taped` for these parameters.

    Returns
    -------
    ndarray (n_rows, 4 + n_c)
        As the ``grad`` of :func:`solve_log_size_vjp`.
    """
    _vjp_kernel()
    c = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    return _VJP_BACK(c(dt), c(I1), c(I2), np.ascontiguousarray(out_step, dtype=np.int64),
                     np.ascontiguousarray(subj, dtype=np.int64), c(lambda0), c(lambda1), c(k1), c(coef),
                     int(LAWS[law]), float(psi), int(n_transit), c(weights), c(tape), c(log_size))


def parameter_sensitivities(jac, potency, pair=None, gamma=None):
    """Chain the solver's sensitivities to the model parameters of a population fit.

    The solver differentiates with respect to the hazard coefficients :math:`a_c` (one per
    agent, then :math:`\\gamma\\sqrt{k_A k_B}` when there is an interaction); this maps them to
    the potencies :math:`k_j` and :math:`\\gamma`.

    Parameters
    ----------
    jac : ndarray (n_rows, n_obs, 4 + n_c)
        Second output of :func:`solve_log_size_sens`.
    potency : dict
        ``{agent: ndarray (n_rows,)}`` in the order of the coefficient columns (1/(day x
        exposure unit)).
    pair : (str, str), optional
        The two agents of the interaction term (its coefficient is the last column).
    gamma : ndarray (n_rows,) or float, optional
        Interaction parameter (dimensionless); required with ``pair``.

    Returns
    -------
    dict
        ``{"w0", "lambda0", "lambda1", "k1", "potency.<agent>", "interaction.gamma"}`` ->
        derivative of the log size (n_rows, n_obs) with respect to that parameter (natural
        scale; the interaction entry only with ``pair``).
    """
    out = {nm: jac[..., k] for k, nm in enumerate(("w0", "lambda0", "lambda1", "k1"))}
    agents = list(potency)
    for c, a in enumerate(agents):
        out[f"potency.{a}"] = jac[..., 4 + c].copy()
    if pair is not None:
        jx = jac[..., 4 + len(agents)]
        ka, kb = np.asarray(potency[pair[0]], float), np.asarray(potency[pair[1]], float)
        g = np.broadcast_to(np.asarray(gamma, float), ka.shape)
        r = np.sqrt(ka * kb)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"potency.{pair[0]}"] += jx * np.where(r > 0, g * kb / (2 * r), 0.0)[:, None]
            out[f"potency.{pair[1]}"] += jx * np.where(r > 0, g * ka / (2 * r), 0.0)[:, None]
        out["interaction.gamma"] = jx * r[:, None]
    return out
