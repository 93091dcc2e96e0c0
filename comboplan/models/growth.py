r"""Tumour-growth models: exponential, exponential-linear, logistic, Gompertz, Simeoni TGI.

Every function is pure and broadcasts over a leading animal axis: pass parameters of
shape ``(n_animals, 1)`` and times of shape ``(n_animals, n_times)`` (or ``(n_times,)``)
to evaluate many animals without a Python loop.  Time ``t`` is measured from the
reference time at which the size equals ``v0`` (usually the first measurement / start of
treatment), in the caller's time unit (days in the docs); sizes are in the caller's size
unit (mm^3 for calipers, photons/s for bioluminescence).  Rates are per time unit.

Each model is also declared as a :class:`~comboplan.models.spec.ModelSpec` on two scales:

* ``EXPONENTIAL``, ``EXP_LINEAR``, ``LOGISTIC``, ``GOMPERTZ`` return the size itself
  (additive error on the size scale);
* ``LOG_EXPONENTIAL``, ... return ``log(size)`` (multiplicative / log-normal error,
  the usual choice for tumour volumes and luminescence).  Fit these to ``log(size)``.

Size parameters (``v0``, ``vmax``) and positive rates are fitted on the log scale
(``transform="log"``) so the fits are invariant to size units; the exponential rate
``r`` is unconstrained because regressing tumours have ``r < 0``.

The Simeoni et al. (2004) tumour-growth-inhibition model is :func:`simeoni_tgi`, solved
by a fixed-step fourth-order Runge-Kutta scheme (``method="rk4"``) or by the fast
Strang-splitting solver :func:`transit_split_solve` (``method="split"``), both vectorised
over animals.  This module is the single home of the Simeoni equations
(:func:`simeoni_growth_rate`) and of the split solver, which the PK/PD simulator
(:mod:`comboplan.simulate.pd`) uses.  Equations and references: ``docs/models/growth.md``.
"""
from __future__ import annotations

import math

import numpy as np

from .spec import ModelSpec, Param

__all__ = [
    "exponential",
    "exponential_linear",
    "logistic",
    "gompertz",
    "log_exponential",
    "log_exponential_linear",
    "log_logistic_growth",
    "log_gompertz",
    "simeoni_tgi",
    "simeoni_unperturbed",
    "simeoni_threshold_concentration",
    "simeoni_growth_rate",
    "gompertz_growth_rate",
    "koch_growth_rate",
    "split_step_grid",
    "transit_split_solve",
    "EXPONENTIAL",
    "EXP_LINEAR",
    "LOGISTIC",
    "GOMPERTZ",
    "LOG_EXPONENTIAL",
    "LOG_EXP_LINEAR",
    "LOG_LOGISTIC_GROWTH",
    "LOG_GOMPERTZ",
    "GROWTH_MODELS",
    "get_growth_model",
]


def _f(a):
    return np.asarray(a, dtype=float)


# --------------------------------------------------------------------------- closed forms
def exponential(t, v0, r):
    r"""Exponential growth :math:`V(t) = V_0 e^{r t}`.

    Parameters
    ----------
    t : array_like
        Time since the reference time (time unit, e.g. day).
    v0 : array_like
        Size at ``t = 0`` (> 0, size unit, e.g. mm^3 or photons/s).
    r : array_like
        Specific growth rate (1/time unit); negative for a shrinking tumour.
        The doubling time is ``log(2) / r``.

    Returns
    -------
    numpy.ndarray
        Size at ``t`` (size unit), broadcast over the inputs.
    """
    return _f(v0) * np.exp(_f(r) * _f(t))


def log_exponential(t, v0, r):
    r"""``log`` of :func:`exponential`: :math:`\log V_0 + r t` (log size unit)."""
    return np.log(_f(v0)) + _f(r) * _f(t)


def _log_exponential_jac(t, v0, r):
    t = _f(t)
    cols = (np.ones_like(t) / _f(v0), t)
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def _exponential_jac(t, v0, r):
    t = _f(t)
    e = np.exp(_f(r) * t)
    cols = (e, _f(v0) * t * e)
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def exponential_linear(t, v0, lambda0, lambda1):
    r"""Exponential-then-linear growth (Simeoni's unperturbed model for :math:`\psi\to\infty`).

    .. math::

        V(t) = \begin{cases} V_0 e^{\lambda_0 t} & t \le \tau \\
                             V_\tau + \lambda_1 (t - \tau) & t > \tau \end{cases},\qquad
        \tau = \max\!\left(0, \tfrac{1}{\lambda_0}\log\tfrac{\lambda_1}{\lambda_0 V_0}\right)

    The switch happens when the size reaches :math:`w_{th} = \lambda_1/\lambda_0`, where the
    exponential growth rate :math:`\lambda_0 V` equals the linear rate :math:`\lambda_1`,
    so :math:`V` and :math:`dV/dt` are continuous.  A tumour already larger than
    :math:`w_{th}` at ``t = 0`` grows linearly from the start.

    Parameters
    ----------
    t : array_like
        Time since the reference time (time unit).
    v0 : array_like
        Size at ``t = 0`` (> 0, size unit).
    lambda0 : array_like
        First-order growth rate of the exponential phase (> 0, 1/time unit).
    lambda1 : array_like
        Zero-order growth rate of the linear phase (> 0, size unit/time unit).

    Returns
    -------
    numpy.ndarray
        Size at ``t`` (size unit).
    """
    t = _f(t)
    v0, l0, l1 = _f(v0), _f(lambda0), _f(lambda1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.maximum(np.log(l1 / (l0 * v0)) / l0, 0.0)
    v_tau = v0 * np.exp(l0 * tau)
    exp_part = v0 * np.exp(l0 * np.minimum(t, tau))
    lin_part = v_tau + l1 * (t - tau)
    return np.where(t <= tau, exp_part, lin_part)


def log_exponential_linear(t, v0, lambda0, lambda1):
    """``log`` of :func:`exponential_linear` (log size unit)."""
    return np.log(exponential_linear(t, v0, lambda0, lambda1))


def logistic(t, v0, r, vmax):
    r"""Logistic (Verhulst) growth :math:`V(t) = \dfrac{V_{max}}{1 + (V_{max}/V_0 - 1)e^{-r t}}`.

    Parameters
    ----------
    t : array_like
        Time since the reference time (time unit).
    v0 : array_like
        Size at ``t = 0`` (> 0, size unit).
    r : array_like
        Intrinsic growth rate (> 0, 1/time unit); the initial specific rate is
        ``r (1 - v0/vmax)``.
    vmax : array_like
        Carrying capacity (> 0, size unit).

    Returns
    -------
    numpy.ndarray
        Size at ``t`` (size unit).
    """
    t, v0, r, vmax = _f(t), _f(v0), _f(r), _f(vmax)
    return vmax / (1.0 + (vmax / v0 - 1.0) * np.exp(-r * t))


def log_logistic_growth(t, v0, r, vmax):
    """``log`` of :func:`logistic` (log size unit), computed without overflow."""
    t, v0, r, vmax = _f(t), _f(v0), _f(r), _f(vmax)
    a = vmax / v0 - 1.0
    # log(1 + a e^{-rt}); a > -1 always since vmax, v0 > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.where(a > 0, np.logaddexp(0.0, np.log(np.abs(a)) - r * t),
                      np.log1p(a * np.exp(-r * t)))
    return np.log(vmax) - lg


def gompertz(t, v0, r, vmax):
    r"""Gompertz growth :math:`V(t) = V_{max}\exp\!\left(\log(V_0/V_{max})\,e^{-r t}\right)`.

    Equivalent to :math:`dV/dt = r V \log(V_{max}/V)`: the specific growth rate decays
    exponentially with rate ``r``.

    Parameters
    ----------
    t : array_like
        Time since the reference time (time unit).
    v0 : array_like
        Size at ``t = 0`` (> 0, size unit).
    r : array_like
        Rate of decay of the specific growth rate (> 0, 1/time unit).
    vmax : array_like
        Plateau size (> 0, size unit).

    Returns
    -------
    numpy.ndarray
        Size at ``t`` (size unit).
    """
    return np.exp(log_gompertz(t, v0, r, vmax))


def log_gompertz(t, v0, r, vmax):
    """``log`` of :func:`gompertz` (log size unit)."""
    t, v0, r, vmax = _f(t), _f(v0), _f(r), _f(vmax)
    return np.log(vmax) + np.log(v0 / vmax) * np.exp(-r * t)


def _log_gompertz_jac(t, v0, r, vmax):
    t, v0, r, vmax = _f(t), _f(v0), _f(r), _f(vmax)
    e = np.exp(-r * t)
    lr = np.log(v0 / vmax)
    cols = (e / v0, -t * lr * e, (1.0 - e) / vmax)
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# --------------------------------------------------------------------------- self-starts
def _masked(x, y, mask):
    x = _f(x)
    y = _f(y)
    m = np.asarray(mask, dtype=bool) & np.isfinite(x) & np.isfinite(y)
    return x, y, m


def _loglin(x, ly, m):
    """Per-row OLS of ly on x (rows with < 2 points give slope 0)."""
    n = m.sum(axis=1)
    xs = np.where(m, x, 0.0)
    ys = np.where(m, ly, 0.0)
    nn = np.maximum(n, 1)
    mx = xs.sum(axis=1) / nn
    my = ys.sum(axis=1) / nn
    dx = np.where(m, x - mx[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    sxy = (dx * np.where(m, ly - my[:, None], 0.0)).sum(axis=1)
    slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
    return my - slope * mx, slope


def _first_last(x, y, m):
    big = np.where(m, x, np.inf)
    small = np.where(m, x, -np.inf)
    i0 = np.argmin(big, axis=1)
    i1 = np.argmax(small, axis=1)
    rows = np.arange(x.shape[0])
    return y[rows, i0], y[rows, i1], x[rows, i0], x[rows, i1]


def _pos(v, floor=1e-12):
    v = np.where(np.isfinite(v) & (v > 0), v, np.nan)
    return np.where(np.isnan(v), floor, np.maximum(v, floor))


def _start_exponential(x, y, mask):
    x, y, m = _masked(x, y, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log(np.where(y > 0, y, np.nan))
    m = m & np.isfinite(ly)
    a, b = _loglin(x, ly, m)
    return np.stack([np.exp(a), b], axis=1)


def _start_exp_linear(x, y, mask):
    x, y, m = _masked(x, y, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log(np.where(y > 0, y, np.nan))
    m = m & np.isfinite(ly)
    a, b = _loglin(x, ly, m)
    v0 = np.exp(a)
    l0 = np.maximum(b, 1e-3)
    y0, y1, x0, x1 = _first_last(x, np.where(m, y, np.nan), m)
    # linear rate: the exponential phase's rate at the last observation (continuity)
    l1 = _pos(l0 * np.maximum(y1, v0) * 1.5)
    return np.stack([_pos(v0), l0, l1], axis=1)


def _start_sigmoid_kind(kind):
    def start(x, y, mask):
        x, y, m = _masked(x, y, mask)
        with np.errstate(divide="ignore", invalid="ignore"):
            ly = np.log(np.where(y > 0, y, np.nan))
        m = m & np.isfinite(ly)
        _, b = _loglin(x, ly, m)
        y0, y1, x0, x1 = _first_last(x, np.where(m, y, np.nan), m)
        ymax = np.nanmax(np.where(m, y, -np.inf), axis=1)
        # v0: first observation moved back to t = 0 with the average log slope
        v0 = _pos(y0 * np.exp(-b * x0))
        vmax = _pos(np.maximum(ymax, v0) * 2.0)
        spec0 = np.maximum(np.abs(b), 1e-3)  # average specific growth rate
        if kind == "gompertz":
            r = spec0 / np.maximum(np.log(vmax / v0), 0.1)
        else:
            r = spec0 / np.maximum(1.0 - v0 / vmax, 0.1)
        return np.stack([v0, r, vmax], axis=1)

    return start


_start_sigmoid = _start_sigmoid_kind("logistic")
_start_gompertz = _start_sigmoid_kind("gompertz")


def _from_log(start):
    def s(x, ly, mask):
        with np.errstate(over="ignore"):
            return start(x, np.exp(_f(ly)), mask)

    return s


# --------------------------------------------------------------------------- specs
_V0 = Param("v0", unit="size", bounds=(0.0, np.inf), transform="log", description="size at t = 0")
_R = Param("r", unit="1/time", description="specific growth rate (log-size slope)")
_L0 = Param("lambda0", unit="1/time", bounds=(0.0, np.inf), transform="log",
            description="exponential-phase rate")
_L1 = Param("lambda1", unit="size/time", bounds=(0.0, np.inf), transform="log",
            description="linear-phase rate")
_RP = Param("r", unit="1/time", bounds=(0.0, np.inf), transform="log", description="growth rate constant")
_VMAX = Param("vmax", unit="size", bounds=(0.0, np.inf), transform="log", description="plateau size")

_REF_SIM = "Simeoni et al., Cancer Res 2004;64:1094-1101 (unperturbed growth, psi -> infinity)"
_REF_GOMP = "Gompertz (1825); Laird, Br J Cancer 1964;18:490; Benzekry et al., PLoS Comput Biol 2014;10:e1003800"
_REF_LOG = "Verhulst (1838); Benzekry et al., PLoS Comput Biol 2014;10:e1003800"

def _log_scale(spec: ModelSpec, func, formula: str, jacobian=None) -> ModelSpec:
    """The log-size version of a size-scale growth model spec.

    Parameters
    ----------
    spec : ModelSpec
        The size-scale model.
    func : callable
        Its logarithm, ``log(spec.func(...))`` with the same parameters.
    formula : str
        The formula shown for the log-scale model.
    jacobian : callable, optional
        Analytical jacobian of ``func``.

    Returns
    -------
    ModelSpec
        Named ``"log_" + spec.name``; parameters, reference and direction of ``spec``;
        self-start: ``spec``'s applied to the exponentiated data.
    """
    return ModelSpec(name=f"log_{spec.name}", func=func, params=spec.params, jacobian=jacobian,
                     selfstart=_from_log(spec.selfstart), formula=formula, reference=spec.reference,
                     direction=spec.direction)


EXPONENTIAL = ModelSpec(
    name="exponential", func=exponential, params=(_V0, _R), jacobian=_exponential_jac,
    selfstart=_start_exponential, formula="V = v0 exp(r t)", nested_in=("exp_linear",),
    reference="Malthusian growth; Hather et al., Cancer Inform 2014;13(S4):65", direction="r > 0 grows",
)
LOG_EXPONENTIAL = _log_scale(EXPONENTIAL, log_exponential, "log V = log v0 + r t", _log_exponential_jac)
EXP_LINEAR = ModelSpec(
    name="exp_linear", func=exponential_linear, params=(_V0, _L0, _L1), selfstart=_start_exp_linear,
    formula="V = v0 exp(lambda0 t) until V = lambda1/lambda0, then + lambda1 per time unit",
    reference=_REF_SIM, direction="always grows",
)
LOG_EXP_LINEAR = _log_scale(EXP_LINEAR, log_exponential_linear, "log of exp_linear")
LOGISTIC = ModelSpec(
    name="logistic", func=logistic, params=(_V0, _RP, _VMAX), selfstart=_start_sigmoid,
    formula="V = vmax / (1 + (vmax/v0 - 1) exp(-r t))", reference=_REF_LOG,
    direction="moves from v0 towards vmax",
)
LOG_LOGISTIC_GROWTH = _log_scale(LOGISTIC, log_logistic_growth, "log of logistic")
GOMPERTZ = ModelSpec(
    name="gompertz", func=gompertz, params=(_V0, _RP, _VMAX), selfstart=_start_gompertz,
    formula="V = vmax exp(log(v0/vmax) exp(-r t))", reference=_REF_GOMP,
    direction="moves from v0 towards vmax",
)
LOG_GOMPERTZ = _log_scale(GOMPERTZ, log_gompertz, "log V = log vmax + log(v0/vmax) exp(-r t)",
                          _log_gompertz_jac)

#: name -> (size-scale spec, log-scale spec)
GROWTH_MODELS: dict[str, tuple[ModelSpec, ModelSpec]] = {
    "exponential": (EXPONENTIAL, LOG_EXPONENTIAL),
    "exp_linear": (EXP_LINEAR, LOG_EXP_LINEAR),
    "logistic": (LOGISTIC, LOG_LOGISTIC_GROWTH),
    "gompertz": (GOMPERTZ, LOG_GOMPERTZ),
}


def get_growth_model(name: str, scale: str = "log") -> ModelSpec:
    """Return the :class:`ModelSpec` of a growth model.

    Parameters
    ----------
    name : {"exponential", "exp_linear", "logistic", "gompertz"}
        Model name.
    scale : {"log", "size"}
        ``"log"``: the spec's function returns ``log(size)`` (fit to log sizes,
        multiplicative error); ``"size"``: it returns the size itself.

    Returns
    -------
    ModelSpec
    """
    key = str(name).lower().replace("-", "_")
    if key not in GROWTH_MODELS:
        raise ValueError(f"unknown growth model {name!r}; choose one of {sorted(GROWTH_MODELS)}")
    if scale not in ("log", "size"):
        raise ValueError(f"scale must be 'log' or 'size', got {scale!r}")
    return GROWTH_MODELS[key][1 if scale == "log" else 0]


# --------------------------------------------------------------------------- Simeoni TGI
def simeoni_threshold_concentration(lambda0, k2):
    r"""Simeoni's threshold concentration :math:`C_T = \lambda_0 / k_2`.

    A constant exposure above :math:`C_T` makes a tumour in its exponential phase
    shrink (the net first-order rate of the proliferating compartment
    :math:`\lambda_0 - k_2 c` is negative); below it the tumour keeps growing.

    Parameters
    ----------
    lambda0 : array_like
        Exponential growth rate (1/time unit).
    k2 : array_like
        Drug potency (1/(concentration unit x time unit)).

    Returns
    -------
    numpy.ndarray
        Threshold concentration (concentration unit).
    """
    return _f(lambda0) / _f(k2)


def _power(z, psi):
    """z**psi for z >= 0, exact integer powers by repeated squaring (fast) when psi is integral."""
    if float(psi).is_integer() and 0 < psi <= 64:
        n = int(psi)
        result = None
        base = z
        while n:
            if n & 1:
                result = base if result is None else result * base
            n >>= 1
            if n:
                base = base * base
        return result
    return np.power(z, psi)


def simeoni_growth_rate(w, lambda0, lambda1, psi=20.0):
    r"""Specific growth rate of Simeoni's proliferating cells (1/time unit).

    .. math::

        g(w) = \frac{\lambda_0}{\left[1 + (\lambda_0 w/\lambda_1)^{\psi}\right]^{1/\psi}}

    so that :math:`dx_1/dt = g(w)\,x_1` without drug: :math:`g \to \lambda_0` (exponential
    phase) while :math:`w \ll \lambda_1/\lambda_0` and :math:`g\,w \to \lambda_1` (linear
    phase) above it.  Evaluated without overflow for any ``psi`` (integer powers by repeated
    squaring when ``psi`` is an integer <= 30, the fast path; a rescaled form otherwise).

    Parameters
    ----------
    w : array_like
        Total tumour size (size unit), >= 0.
    lambda0 : array_like
        Exponential growth rate (1/time unit).
    lambda1 : array_like
        Linear growth rate (size unit/time unit).
    psi : float
        Sharpness of the switch (dimensionless; 20 in Simeoni et al. 2004).

    Returns
    -------
    numpy.ndarray
        Specific growth rate (1/time unit), broadcast over the inputs.
    """
    l0 = _f(lambda0)
    z = (l0 / _f(lambda1)) * _f(w)
    psi = float(psi)
    if psi <= 30.0:
        z = np.minimum(z, 1e10)  # z^30 stays finite; beyond 1e10 the rate is ~0 anyway
        g = np.log1p(_power(z, psi))
        if g.ndim == 0:
            return l0 * np.exp(g * (-1.0 / psi))
        g *= -1.0 / psi  # in place: this is the simulator's inner loop
        np.exp(g, out=g)
        g *= l0
        return g
    # (1 + z^psi)^(1/psi) = max(z, 1) (1 + min(z, 1/z)^psi)^(1/psi): no overflow
    big = z > 1.0
    y = np.where(big, 1.0 / np.maximum(z, 1e-300), z)
    g = np.power(1.0 + _power(y, psi), 1.0 / psi)
    return l0 / np.where(big, z * g, g)


def koch_growth_rate(w, lambda0, lambda1):
    r"""Specific growth rate of Koch et al.'s smooth exponential-linear law (1/time unit).

    .. math:: g(w) = \frac{\lambda_0\lambda_1}{\lambda_1 + \lambda_0 w}

    so that :math:`dw/dt = g(w)\,w` grows exponentially at rate :math:`\lambda_0` while
    :math:`w \ll \lambda_1/\lambda_0` and linearly at :math:`\lambda_1` (size/time) above it,
    with a smooth transition (Koch G, Walz A, Lahu G, Schropp J. J Pharmacokinet Pharmacodyn
    2009;36:179-197).  Koch et al. write :math:`dw/dt = 2\lambda_0\lambda_1 w/(\lambda_1 +
    2\lambda_0 w)`, whose initial exponential rate is :math:`2\lambda_0`; comboplan keeps
    :math:`\lambda_0` = the initial exponential rate in every growth law, so Koch's
    :math:`\lambda_0` is half of this one (the curves are identical).

    Parameters
    ----------
    w : array_like
        Tumour size (size unit), >= 0.
    lambda0 : array_like
        Initial exponential growth rate (1/time unit).
    lambda1 : array_like
        Linear growth rate (size unit/time unit).

    Returns
    -------
    numpy.ndarray
        Specific growth rate (1/time unit).
    """
    l0, l1 = _f(lambda0), _f(lambda1)
    return l0 * l1 / (l1 + l0 * _f(w))


def gompertz_growth_rate(w, r, vmax):
    r"""Specific growth rate of the Gompertz law :math:`g(w) = r \log(v_{max}/w)` (1/time unit).

    ``dV/dt = g(V) V`` reproduces :func:`gompertz`.

    Parameters
    ----------
    w : array_like
        Tumour size (size unit), > 0 (0 is treated as the smallest positive float).
    r : array_like
        Rate constant (1/time unit).
    vmax : array_like
        Plateau size (size unit).

    Returns
    -------
    numpy.ndarray
        Specific growth rate (1/time unit).
    """
    return _f(r) * np.log(_f(vmax) / np.maximum(_f(w), 1e-300))


def split_step_grid(t, max_step):
    """Step grid of the split solver: every time of ``t`` plus uniform sub-steps <= ``max_step``.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Increasing output times (time unit).
    max_step : float
        Largest step (time unit).

    Returns
    -------
    grid : numpy.ndarray, shape (n_steps + 1,)
        Step boundaries (time unit).
    out_idx : numpy.ndarray of int, shape (n_t,)
        Index of every time of ``t`` in ``grid``.
    """
    t = _f(t)
    pieces = [t[:1]]
    idx = [0]
    for a, b in zip(t[:-1], t[1:]):
        n = max(1, int(math.ceil((b - a) / max_step - 1e-9)))
        pieces.append(a + (b - a) * np.arange(1, n + 1) / n)
        idx.append(idx[-1] + n)
    return np.concatenate(pieces), np.asarray(idx)


def _transit(coeffs, dam):
    """Exact step of the linear transit chain: x_j <- sum_{i<=j} coeffs[j - i] x_i."""
    out = []
    for j in range(len(dam)):
        acc = coeffs[j] * dam[0]
        for i in range(1, j + 1):
            acc += coeffs[j - i] * dam[i]
        out.append(acc)
    return out


def transit_split_solve(grid, out_idx, w0, growth_rate, hazard_first, hazard_second, *, k1=None, n_transit=0,
                        return_compartments=False):
    r"""Fast solver of a tumour-growth-inhibition model with transit compartments (Strang splitting).

    Solves, for many animals at once,

    .. math::

        \dot x_1 = g(w)\,x_1 - h(t)\,x_1,\qquad \dot x_2 = h(t)\,x_1 - k_1 x_2,\qquad
        \dot x_j = k_1 (x_{j-1} - x_j),\qquad w = x_1 + \textstyle\sum_j x_j

    (Simeoni et al. 2004 with :math:`g` = :func:`simeoni_growth_rate` and :math:`h = k_2 c`;
    any growth law with a specific rate :math:`g(w)`).  Each step of ``grid`` is split as
    kill (half step) - transit (half step) - growth (full step) - transit (half step) - kill
    (half step): the kill part is exact given the integrated hazard of each half step, the
    linear transit chain is solved exactly, and growth is advanced by the exponential
    midpoint rule (exact while :math:`g` is constant, i.e. in the exponential phase).
    Second order in the step; with exact hazard integrals it needs no sub-steps inside
    exposure kinks beyond the grid itself.

    Parameters
    ----------
    grid : array_like, shape (n_steps + 1,)
        Step boundaries (time unit), e.g. from :func:`split_step_grid`.
    out_idx : array_like of int, shape (n_out,)
        Indices into ``grid`` of the output times (increasing, first = 0).
    w0 : array_like, shape (n_animals,)
        Size of the proliferating compartment at ``grid[0]`` (size unit); damaged
        compartments start empty.
    growth_rate : callable or array_like
        ``growth_rate(w) -> (n_animals,)`` specific growth rate (1/time unit) at total size
        ``w``; an array (n_animals,) instead means a constant rate (exponential growth,
        integrated exactly).
    hazard_first, hazard_second : array_like, shape (n_animals or 1, n_steps)
        Integrated kill hazard (dimensionless, :math:`\int h\,dt`) over the first and second
        half of every step.
    k1 : array_like, shape (n_animals,), optional
        Transit rate (1/time unit); needed when ``n_transit > 0``.
    n_transit : int
        Number of damaged compartments (0: killed cells disappear at once).
    return_compartments : bool
        Also return the compartments at the output times.

    Returns
    -------
    w : numpy.ndarray, shape (n_animals, n_out)
        Total size (size unit).
    x : numpy.ndarray, shape (1 + n_transit, n_animals, n_out)
        Only with ``return_compartments=True``.
    """
    grid = _f(grid)
    out_idx = np.asarray(out_idx)
    x1 = np.array(_f(w0), dtype=float, copy=True).ravel()
    n = x1.size
    n_transit = int(n_transit)
    dam = [np.zeros(n) for _ in range(n_transit)]
    const_rate = None if callable(growth_rate) else np.broadcast_to(_f(growth_rate), (n,))
    comp = np.empty((1 + n_transit, n, out_idx.size)) if return_compartments else None
    out = np.empty((n, out_idx.size))
    out[:, 0] = x1
    if comp is not None:
        comp[0, :, 0] = x1
        comp[1:, :, 0] = 0.0
    o = 1
    steps = np.diff(grid)
    cache = {}
    # step-major copies (no copy when given as the transpose of a C-contiguous array): every step
    # then reads one contiguous row (animal-major columns are strided)
    dH1 = np.ascontiguousarray(np.atleast_2d(_f(hazard_first)).T)
    dH2 = np.ascontiguousarray(np.atleast_2d(_f(hazard_second)).T)
    any1 = np.max(dH1, axis=1) > 0 if dH1.size else np.zeros(steps.size, bool)
    any2 = np.max(dH2, axis=1) > 0 if dH2.size else np.zeros(steps.size, bool)
    for s in range(steps.size):
        h = steps[s]
        key = round(h, 14)
        if n_transit and key not in cache:
            a = k1 * (0.5 * h)
            e = np.exp(-a)
            coeffs = [e]
            term = e
            for j in range(1, n_transit):
                term = term * a / j
                coeffs.append(term)
            cache[key] = coeffs
        # kill, first half
        if any1[s]:
            killed = x1 * (-np.expm1(-dH1[s]))
            x1 = x1 - killed
            if n_transit:
                dam[0] = dam[0] + killed
        # transit half step (exact solution of the linear chain)
        if n_transit:
            dam = _transit(cache[key], dam)
            d_tot = dam[0]
            for d in dam[1:]:
                d_tot = d_tot + d
        else:
            d_tot = 0.0
        # growth, full step: exponential midpoint rule (exact while g is constant)
        if const_rate is not None:
            x1 = x1 * np.exp(const_rate * h)
        else:
            g0 = growth_rate(x1 + d_tot)
            xm = x1 * np.exp((0.5 * h) * g0)
            gm = growth_rate(xm + d_tot)
            x1 = x1 * np.exp(h * gm)
        if n_transit:
            dam = _transit(cache[key], dam)
        if any2[s]:
            killed = x1 * (-np.expm1(-dH2[s]))
            x1 = x1 - killed
            if n_transit:
                dam[0] = dam[0] + killed
        if o < out_idx.size and s + 1 == out_idx[o]:
            tot = x1.copy()
            for d in dam:
                tot += d
            out[:, o] = tot
            if comp is not None:
                comp[0, :, o] = x1
                for j, d in enumerate(dam):
                    comp[1 + j, :, o] = d
            o += 1
    if return_compartments:
        return out, comp
    return out


def _default_step(l0, psi, k1, k2c):
    """Fixed RK4 step (time unit) giving <= ~1e-7 relative error for Simeoni's model.

    The error is dominated by the exponential-to-linear switch, whose time scale is
    ``1 / (lambda0 * psi)``, and by the fastest linear rate (``k1``, ``k2 * c``).
    """
    s_switch = float(np.max(l0)) * max(float(psi), 1.0)
    s_lin = max(float(np.max(k1)), float(np.max(k2c)) if np.size(k2c) else 0.0)
    h = 0.1
    if s_switch > 0:
        h = min(h, 0.4 / s_switch)
    if s_lin > 0:
        h = min(h, 0.25 / s_lin)
    return h


def _rk4_block(t, k2c, l0, l1, k1, w0, psi, ns, max_step, const_c):
    """RK4 over the time grid for one block of animals; returns (ns, n, n_t)."""
    n = l0.size
    x = [w0.copy()] + [np.zeros(n) for _ in range(ns - 1)]
    out = np.empty((ns, n, t.size))
    for j in range(ns):
        out[j, :, 0] = x[j]

    def rhs(xs, kc):
        w = xs[0] + xs[1]
        for j in range(2, ns):
            w = w + xs[j]
        kill = kc * xs[0]
        d0 = simeoni_growth_rate(w, l0, l1, psi)
        d0 *= xs[0]
        d0 -= kill
        ds = [d0]
        prev = xs[1]
        d1 = k1 * prev
        np.subtract(kill, d1, out=d1)
        ds.append(d1)
        for j in range(2, ns):
            dj = prev - xs[j]
            dj *= k1
            ds.append(dj)
            prev = xs[j]
        return ds

    def axpy(xs, h, ds):
        return [xi + h * di for xi, di in zip(xs, ds)]

    for i in range(t.size - 1):
        dt = t[i + 1] - t[i]
        nsub = max(1, int(math.ceil(dt / max_step - 1e-9)))
        h = dt / nsub
        ka, kb = k2c[:, i], k2c[:, i + 1]
        for s in range(nsub):
            if const_c:
                c0 = cm = c1 = ka
            else:
                c0 = ka + (kb - ka) * (s / nsub)
                cm = ka + (kb - ka) * ((s + 0.5) / nsub)
                c1 = ka + (kb - ka) * ((s + 1.0) / nsub)
            d1 = rhs(x, c0)
            d2 = rhs(axpy(x, 0.5 * h, d1), cm)
            d3 = rhs(axpy(x, 0.5 * h, d2), cm)
            d4 = rhs(axpy(x, h, d3), c1)
            h6 = h / 6.0
            for j in range(ns):
                acc = d2[j] + d3[j]
                acc *= 2.0
                acc += d1[j]
                acc += d4[j]
                acc *= h6
                x[j] = x[j] + acc
        for j in range(ns):
            out[j, :, i + 1] = x[j]
    return out


def _half_step_weights(t, half):
    """Matrix M (n_t, n_half - 1): ``c @ M`` integrates the piecewise-linear ``c`` (values at ``t``)
    over every interval of ``half`` exactly (trapezoid inside each interval of ``t``)."""
    mid = 0.5 * (half[:-1] + half[1:])
    j = np.clip(np.searchsorted(t, mid, side="right") - 1, 0, max(t.size - 2, 0))
    m = np.zeros((t.size, half.size - 1))
    cols = np.arange(half.size - 1)
    dh = np.diff(half)
    if t.size == 1:
        m[0] = dh
        return m
    span = t[j + 1] - t[j]
    fa = (half[:-1] - t[j]) / span
    fb = (half[1:] - t[j]) / span
    np.add.at(m, (j, cols), 0.5 * dh * ((1.0 - fa) + (1.0 - fb)))
    np.add.at(m, (j + 1, cols), 0.5 * dh * (fa + fb))
    return m


def _split_block(t, c, k2, l0, l1, k1, w0, psi, n_transit, max_step):
    """Split solver for one block of animals: exposure ``c`` (n or 1, n_t) piecewise linear on ``t``,
    kill rate ``k2 c``; returns the compartments (1 + n_transit, n, n_t)."""
    grid, out_idx = split_step_grid(t, max_step)
    half = np.empty(2 * grid.size - 1)
    half[0::2] = grid
    half[1::2] = 0.5 * (grid[:-1] + grid[1:])
    # integrated hazard of every half step, step-major (n_half_steps, n) so that the solver's
    # step-major copies are cheap row copies
    m = _half_step_weights(t, half)
    dh1 = (m[:, 0::2].T @ c.T) * k2[None, :]
    dh2 = (m[:, 1::2].T @ c.T) * k2[None, :]
    rate = lambda w: simeoni_growth_rate(w, l0, l1, psi)  # noqa: E731
    return transit_split_solve(grid, out_idx, w0, rate, dh1.T, dh2.T, k1=k1, n_transit=n_transit,
                               return_compartments=True)[1]


def simeoni_tgi(t, conc, lambda0, lambda1, k1, k2, w0, psi=20.0, *, n_transit=3, max_step=None,
                return_compartments=False, method="rk4"):
    r"""Simeoni et al. (2004) tumour-growth-inhibition model, vectorised over animals.

    .. math::

        \frac{dx_1}{dt} &= \frac{\lambda_0 x_1}{\left[1 + (\lambda_0 w/\lambda_1)^{\psi}\right]^{1/\psi}}
                           - k_2 c(t) x_1 \\
        \frac{dx_2}{dt} &= k_2 c(t) x_1 - k_1 x_2,\qquad
        \frac{dx_j}{dt} = k_1 (x_{j-1} - x_j),\ j = 3, 4 \\
        w &= x_1 + x_2 + x_3 + x_4,\qquad x_1(t_0) = w_0,\ x_{2..4}(t_0) = 0

    :math:`x_1` holds proliferating cells, :math:`x_2 \dots x_4` damaged cells in transit to
    death; the growth term is :func:`simeoni_growth_rate`.  Within each interval of the time
    grid the exposure is interpolated linearly.  Two solvers, all animals at once:

    * ``method="rk4"`` (default): classical 4th-order Runge-Kutta with a fixed step; with
      the default step the relative error on the grid is below 1e-6 against
      ``scipy.integrate.solve_ivp`` (tested).
    * ``method="split"``: the fast Strang-splitting solver :func:`transit_split_solve`
      (exact kill and transit, exponential-midpoint growth; second order).  This is the
      solver the simulator uses (:func:`comboplan.simulate.simulate_growth`).  Relative
      error ~1e-4 at the default step (0.05 time unit), ~1e-6 at ``max_step=0.002``
      (tested), several times faster than ``"rk4"`` at comparable accuracy for
      population simulations.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Increasing time grid (time unit, e.g. day); ``t[0]`` is when ``w = w0``.
    conc : float or array_like, shape (n_t,) or (n_animals, n_t)
        Drug exposure (concentration unit) at the grid times; a scalar is constant
        exposure; 0 gives unperturbed growth.
    lambda0 : float or array_like, shape (n_animals,)
        Exponential growth rate (1/time unit).
    lambda1 : float or array_like, shape (n_animals,)
        Linear growth rate (size unit/time unit).
    k1 : float or array_like, shape (n_animals,)
        Transit rate through the damaged compartments (1/time unit); mean time to death
        after damage is ``n_transit / k1``.
    k2 : float or array_like, shape (n_animals,)
        Drug potency (1/(concentration unit x time unit)).
    w0 : float or array_like, shape (n_animals,)
        Tumour weight/size at ``t[0]`` (size unit).
    psi : float
        Sharpness of the exponential-to-linear switch (dimensionless); Simeoni fixed 20.
    n_transit : int
        Number of damaged (transit) compartments; 3 in Simeoni et al.
    max_step : float, optional
        Largest integration step (time unit).  Default for ``"rk4"``:
        ``min(0.1, 0.4 / (lambda0 * psi), 0.25 / max(k1, k2 * max(conc)))`` over animals,
        which keeps the relative error on the grid below ~1e-7 (the error scales as
        ``max_step**4``: ``max_step=0.1`` is ~4x faster with ~1e-5 error).  Default for
        ``"split"``: 0.05 (the error scales as ``max_step**2``).
    return_compartments : bool
        Also return the compartments.
    method : {"rk4", "split"}
        Solver (see above).

    Returns
    -------
    w : numpy.ndarray, shape (n_animals, n_t), or (n_t,) when every input is scalar / 1-D
        Total tumour size (size unit) on the grid.
    x : numpy.ndarray, shape (1 + n_transit, n_animals, n_t)
        Only with ``return_compartments=True``: the compartments (size unit).
    """
    t = _f(t)
    if t.ndim != 1 or t.size < 1:
        raise ValueError("t must be a 1-D increasing time grid")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing")
    if int(n_transit) < 1:
        raise ValueError("n_transit must be >= 1")
    if method not in ("rk4", "split"):
        raise ValueError(f"method must be 'rk4' or 'split', got {method!r}")
    n_transit = int(n_transit)
    c = _f(conc)
    scalar_out = all(np.ndim(p) == 0 for p in (lambda0, lambda1, k1, k2, w0)) and c.ndim <= 1
    if c.ndim == 0:
        c = np.full((1, t.size), float(c))
    elif c.ndim == 1:
        if c.size != t.size:
            raise ValueError(f"conc has {c.size} values but t has {t.size}")
        c = c[None, :]
    elif c.ndim != 2 or c.shape[1] != t.size:
        raise ValueError(f"conc must be a scalar, (n_t,) or (n_animals, n_t); got shape {c.shape}")
    l0, l1, kk1, kk2, ww0 = (np.atleast_1d(_f(p)).ravel() for p in (lambda0, lambda1, k1, k2, w0))
    n = max(c.shape[0], l0.size, l1.size, kk1.size, kk2.size, ww0.size)
    for name, arr in (("conc", c), ("lambda0", l0), ("lambda1", l1), ("k1", kk1), ("k2", kk2), ("w0", ww0)):
        if arr.shape[0] not in (1, n):
            raise ValueError(f"{name} has {arr.shape[0]} animals, expected 1 or {n}")
    l0, l1, kk1, kk2, ww0 = (np.broadcast_to(p, (n,)).copy() for p in (l0, l1, kk1, kk2, ww0))
    if np.any(c < 0) or not np.all(np.isfinite(c)):
        raise ValueError("conc must be finite and >= 0")
    if np.any(~(l0 > 0)) or np.any(~(l1 > 0)) or np.any(~(ww0 > 0)) or np.any(~(kk1 > 0)) or np.any(kk2 < 0):
        raise ValueError("lambda0, lambda1, k1, w0 must be > 0 and k2 >= 0")
    const_c = c.shape[0] == 1 and np.all(c == c[0, 0])
    k2c = kk2[:, None] * c if c.shape[0] == n else np.outer(kk2, c[0])  # (n, n_t) kill rate
    if max_step is None:
        max_step = _default_step(l0, psi, kk1, k2c) if method == "rk4" else 0.05
    max_step = float(max_step)
    if not max_step > 0:
        raise ValueError("max_step must be > 0")
    ns = 1 + n_transit
    out = np.empty((ns, n, t.size))
    # process animals in cache-sized blocks: both kernels are memory-bound
    block = 16384 if method == "rk4" else 8192
    for lo in range(0, n, block):
        sl = slice(lo, min(n, lo + block))
        if method == "rk4":
            out[:, sl, :] = _rk4_block(t, k2c[sl], l0[sl], l1[sl], kk1[sl], ww0[sl], float(psi), ns,
                                        max_step, const_c)
        else:
            cc = c[sl] if c.shape[0] == n else c
            out[:, sl, :] = _split_block(t, cc, kk2[sl], l0[sl], l1[sl], kk1[sl], ww0[sl], float(psi), n_transit,
                                          max_step)
    w = out.sum(axis=0)
    if scalar_out and n == 1:
        w = w[0]
        out = out[:, 0, :]
    if return_compartments:
        return w, out
    return w


def simeoni_unperturbed(t, lambda0, lambda1, w0, psi=20.0, **kwargs):
    """Simeoni model without drug (``conc = 0``): smooth exponential-then-linear growth.

    Parameters
    ----------
    t : array_like, shape (n_t,)
        Increasing time grid (time unit).
    lambda0, lambda1, w0, psi
        As in :func:`simeoni_tgi`.
    **kwargs
        ``max_step`` and ``method`` passed on to :func:`simeoni_tgi`.

    Returns
    -------
    numpy.ndarray
        Size on the grid (size unit).
    """
    return simeoni_tgi(t, 0.0, lambda0, lambda1, 1.0, 0.0, w0, psi=psi, **kwargs)
