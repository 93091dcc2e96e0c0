r"""Dose-response models: the Hill family and R drc's log-logistic / Weibull families.

All functions are pure and broadcast over a leading curve axis: pass parameters of
shape ``(n_curves, 1)`` and doses of shape ``(n_curves, n_doses)`` to evaluate many
curves without a Python loop.  Dose ``0`` is allowed everywhere and returns the
zero-dose limit.  Doses are in the unit of the potency parameter (``ec50`` or
``e``); responses are in the caller's response unit.

Direction of effect: in the Hill family ``e0`` is the response at dose 0 and
``einf`` the response at infinite dose; the slope ``h > 0`` and the direction
follows from the sign of ``einf - e0`` (a viability curve falling from 100 to 0
has ``e0 = 100, einf = 0``; an inhibition curve rising from 0 to 100 has
``e0 = 0, einf = 100``).  In drc's families the slope ``b`` is signed as in drc.

Equations, references and the correspondence with drc are in ``docs/models.md``.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.special import expit, logit

from .spec import ModelSpec, Param

__all__ = [
    "hill",
    "hill5",
    "ll4",
    "ll5",
    "w1",
    "w2",
    "l4",
    "l5",
    "no_effect",
    "HILL4",
    "HILL3",
    "HILL5",
    "LL4",
    "LL3",
    "LL5",
    "W14",
    "W24",
    "L4",
    "L5",
    "NO_EFFECT",
    "DOSE_RESPONSE_MODELS",
    "get_model",
    "response_limits",
    "ecx_relative",
    "ecx_absolute",
]


def _logd(dose):
    d = np.asarray(dose, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(d)


def _z(dose, ec50, slope):
    """slope * (log dose - log ec50), with dose 0 mapped to -inf*sign(slope)."""
    ld = _logd(dose)
    with np.errstate(invalid="ignore"):
        z = np.asarray(slope, dtype=float) * (ld - np.log(ec50))
    # dose 0: log = -inf; slope 0 would give nan -> the limit is 0 there
    return np.where(np.isnan(z) & np.isneginf(ld), 0.0, z)


# --------------------------------------------------------------------------- Hill family
def hill(dose, e0, einf, ec50, h):
    r"""Four-parameter Hill (log-logistic) curve.

    .. math:: E(d) = e_0 + (e_\infty - e_0)\,\frac{d^h}{d^h + EC_{50}^h}

    Parameters
    ----------
    dose : array_like
        Dose or concentration, >= 0, in the unit of ``ec50``.
    e0 : array_like
        Response at dose 0 (response unit).
    einf : array_like
        Response at infinite dose (response unit).
    ec50 : array_like
        Dose giving the half-way response, > 0 (dose unit).
    h : array_like
        Hill slope, > 0 (dimensionless).

    Returns
    -------
    numpy.ndarray
        Response, broadcast over all inputs (response unit).
    """
    return e0 + (einf - e0) * expit(_z(dose, ec50, h))


def _hill_jac(dose, e0, einf, ec50, h):
    z = _z(dose, ec50, h)
    s = expit(z)
    ds = s * (1.0 - s)
    ld = _logd(dose)
    with np.errstate(invalid="ignore"):
        dl = np.where(np.isneginf(ld), 0.0, ld - np.log(ec50))
    amp = einf - e0
    cols = (1.0 - s, s, -amp * ds * h / ec50, amp * ds * dl)
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def hill5(dose, e0, einf, ec50, h, s):
    r"""Five-parameter asymmetric Hill (Richards) curve; drc ``LL.5`` with ``b > 0``.

    .. math:: E(d) = e_\infty + \frac{e_0 - e_\infty}{\left(1 + (d/EC_{50})^h\right)^s}

    Parameters
    ----------
    dose : array_like
        Dose, >= 0 (unit of ``ec50``).
    e0, einf : array_like
        Responses at dose 0 and at infinite dose (response unit).
    ec50 : array_like
        Inflection-location parameter, > 0 (dose unit).  It is the half-way dose
        only when ``s == 1``; use :func:`ecx_relative` for the true EC50.
    h : array_like
        Slope, > 0.
    s : array_like
        Asymmetry, > 0 (``s = 1`` gives :func:`hill`).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    z = _z(dose, ec50, h)
    g = np.exp(-s * np.logaddexp(0.0, z))
    return einf + (e0 - einf) * g


def _hill5_jac(dose, e0, einf, ec50, h, s):
    z = _z(dose, ec50, h)
    sp = np.logaddexp(0.0, z)
    g = np.exp(-s * sp)
    dgdz = -s * g * expit(z)
    ld = _logd(dose)
    with np.errstate(invalid="ignore"):
        dl = np.where(np.isneginf(ld), 0.0, ld - np.log(ec50))
    amp = e0 - einf
    cols = (g, 1.0 - g, amp * dgdz * (-h / ec50), amp * dgdz * dl, amp * (-sp * g))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# --------------------------------------------------------------------------- drc families
def ll4(dose, b, c, d, e):
    r"""drc ``LL.4``: :math:`c + (d - c) / (1 + \exp(b(\log x - \log e)))`.

    Parameters
    ----------
    dose : array_like
        Dose, >= 0 (unit of ``e``).
    b : array_like
        Signed slope as in drc: ``b > 0`` means the response moves from ``d`` (dose 0)
        to ``c`` (infinite dose); ``b < 0`` the reverse.
    c, d : array_like
        Lower and upper limits as drc names them (response unit).
    e : array_like
        Inflection point, > 0 (dose unit).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    return c + (d - c) * expit(-_z(dose, e, b))


def ll5(dose, b, c, d, e, f):
    r"""drc ``LL.5``: :math:`c + (d - c) / (1 + \exp(b(\log x - \log e)))^f`.

    Parameters are as in :func:`ll4`, plus the asymmetry ``f > 0`` (dimensionless).
    NIST StRD ``Rat43`` is this model with ``c = 0`` on ``dose = exp(x)``.

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    return c + (d - c) * np.exp(-f * np.logaddexp(0.0, _z(dose, e, b)))


def w1(dose, b, c, d, e):
    r"""drc ``W1.4`` (Weibull type 1): :math:`c + (d - c)\exp(-\exp(b(\log x - \log e)))`.

    Parameters as in :func:`ll4` (``b`` signed, ``e > 0`` in dose unit).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    return c + (d - c) * np.exp(-np.exp(_z(dose, e, b)))


def w2(dose, b, c, d, e):
    r"""drc ``W2.4`` (Weibull type 2): :math:`c + (d - c)(1 - \exp(-\exp(b(\log x - \log e))))`.

    Parameters as in :func:`ll4`.  Note that drc's W2.4 at ``b < 0`` starts at
    ``d`` for dose 0.

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    return c + (d - c) * (-np.expm1(-np.exp(_z(dose, e, b))))


def l4(dose, b, c, d, e):
    r"""drc ``L.4`` (logistic in dose, not in log dose): :math:`c + (d - c) / (1 + \exp(b(x - e)))`.

    Ritz, Baty, Streibig & Gerhard (2015), *Dose-response analysis using R*, PLoS ONE
    10: e0146021 (the logistic model, their equation with ``x`` on the natural scale).

    Parameters
    ----------
    dose : array_like
        Dose ``x`` (unit of ``e``).  Dose 0 is an ordinary point of the curve: the
        response there is ``c + (d - c) / (1 + exp(-b e))``, not ``d``.
    b : array_like
        Signed slope in 1/dose unit: ``b > 0`` means the response moves from ``d``
        (x -> -inf) to ``c`` (x -> +inf); ``b < 0`` the reverse.
    c, d : array_like
        Lower and upper limits as drc names them (response unit).
    e : array_like
        Inflection point (dose unit): the dose of the response half-way between ``c``
        and ``d``.

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    x = np.asarray(dose, dtype=float)
    return c + (d - c) * expit(-np.asarray(b, dtype=float) * (x - e))


def _l4_jac(dose, b, c, d, e):
    x = np.asarray(dose, dtype=float)
    s = expit(-np.asarray(b, dtype=float) * (x - e))
    ds = s * (1.0 - s)
    amp = d - c
    cols = (-amp * ds * (x - e), 1.0 - s, s, amp * ds * b)
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def l5(dose, b, c, d, e, f):
    r"""drc ``L.5`` (generalised logistic in dose): :math:`c + (d - c) / (1 + \exp(b(x - e)))^f`.

    Ritz et al. (2015), PLoS ONE 10: e0146021.  ``f = 1`` gives :func:`l4`.

    Parameters
    ----------
    dose : array_like
        Dose ``x`` (unit of ``e``).
    b : array_like
        Signed slope (1/dose unit), as in :func:`l4`.
    c, d : array_like
        Lower and upper limits (response unit).
    e : array_like
        Location (dose unit); the half-way dose only when ``f = 1``.
    f : array_like
        Asymmetry, > 0 (dimensionless).

    Returns
    -------
    numpy.ndarray
        Response (response unit).
    """
    x = np.asarray(dose, dtype=float)
    return c + (d - c) * np.exp(-f * np.logaddexp(0.0, np.asarray(b, dtype=float) * (x - e)))


def no_effect(dose, e0):
    """Constant response (no dose effect), for lack-of-effect tests.

    Parameters
    ----------
    dose : array_like
        Dose (any unit; ignored apart from its shape).
    e0 : array_like
        The constant response (response unit).

    Returns
    -------
    numpy.ndarray
        ``e0`` broadcast to the shape of ``dose``.
    """
    d = np.asarray(dose, dtype=float)
    return np.zeros_like(d) + e0


def _no_effect_jac(dose, e0):
    d = np.asarray(dose, dtype=float)
    return (np.zeros_like(d) + np.ones_like(np.asarray(e0, dtype=float)))[..., None]


# --------------------------------------------------------------------------- self-start
_GRID_H = np.array([0.6, 1.2, 2.5, 5.0])
_GRID_T = np.linspace(0.0, 1.0, 9)                   # potency grid across the tested log-dose range
_GRID_HH = np.tile(_GRID_H, _GRID_T.size)            # slope of each (potency, slope) grid point


def _grid_start(x, y, mask, shape):
    """Self-starting values for ``a + (b - a) * shape(x, ec50, h)`` models.

    For each curve, tries a grid of ``ec50`` (9 values across the tested dose range)
    and ``h`` (4 values), solves the two linear parameters (``a``, ``b``) exactly by
    weighted least squares for each, and keeps the best.  Vectorised over curves and
    grid points at once (in blocks of curves to bound memory).  Returns ``a, b, ec50,
    h`` each with shape ``(n_curves,)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m = np.asarray(mask, dtype=bool)
    n = x.shape[0]
    block = max(1, int(2_000_000 // max(1, x.shape[1] * 9 * _GRID_H.size)))
    if n <= block:
        return _grid_start_block(x, y, m, shape)
    out = np.zeros((4, n))
    for s in range(0, n, block):
        sl = slice(s, s + block)
        out[:, sl] = _grid_start_block(x[sl], y[sl], m[sl], shape)
    return out


def _grid_start_block(x, y, m, shape):
    pos = m & (x > 0)
    lo = np.min(np.where(pos, x, np.inf), axis=1)      # +-inf where a curve has no positive dose
    hi = np.max(np.where(pos, x, -np.inf), axis=1)
    lo = np.where(np.isfinite(lo), lo, 1.0)
    hi = np.where(np.isfinite(hi), hi, lo * 10.0)
    hi = np.where(hi > lo, hi, lo * 10.0)
    l50 = np.log(lo)[:, None] + _GRID_T[None, :] * (np.log(hi) - np.log(lo))[:, None]  # (n, 9)
    l50 = np.repeat(l50, _GRID_H.size, axis=1)                         # (n, G)
    hh = _GRID_HH[None, :, None]                                       # (1, G, 1)
    w = m.astype(float)[:, None, :]
    y0 = np.where(m, y, 0.0)[:, None, :]
    with np.errstate(all="ignore"):
        if shape is _hill_shape:
            # the Hill shape straight from the log doses and log EC50s of the grid (no
            # exp/log round trip; dose 0 gives log 0 = -inf and a shape of 0, every grid slope > 0)
            z = hh * (np.log(np.where(m, x, 1.0))[:, None, :] - l50[:, :, None])
            g = np.where(m[:, None, :], expit(z), 0.0)                 # (n, G, m)
        else:
            g = np.where(m[:, None, :], shape(x[:, None, :], np.exp(l50)[:, :, None], hh), 0.0)
        # u = w (1 - g), exactly: g and y0 are 0 where the weight w is 0, so the weighted
        # normal equations need no further multiplication by w
        u = w - g
        a11 = np.sum(u * u, axis=2)
        a12 = np.sum(u * g, axis=2)
        a22 = np.sum(g * g, axis=2)
        r1 = np.sum(u * y0, axis=2)
        r2 = np.sum(g * y0, axis=2)
        det = a11 * a22 - a12 * a12
        ok = np.abs(det) > 1e-12 * (a11 * a22 + 1e-300)
        det = np.where(ok, det, 1.0)
        a = np.where(ok, (a22 * r1 - a12 * r2) / det, np.nan)
        b = np.where(ok, (a11 * r2 - a12 * r1) / det, np.nan)
        fit = a[:, :, None] * u + b[:, :, None] * g
        rss = np.sum((y0 - fit) ** 2, axis=2)
    rss = np.where(np.isfinite(rss), rss, np.inf)
    k = np.argmin(rss, axis=1)
    rows = np.arange(x.shape[0])
    best = rss[rows, k]
    out = np.vstack([a[rows, k], b[rows, k], np.exp(l50[rows, k]), _GRID_HH[k]])    # (exp of the chosen only)
    # curves where nothing worked (e.g. one dose level): flat start
    bad = ~np.isfinite(best)
    if bad.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ym = np.nanmean(np.where(m, y, np.nan), axis=1)
        out[0, bad] = ym[bad]
        out[1, bad] = ym[bad]
        out[2, bad] = np.sqrt(lo * hi)[bad]
        out[3, bad] = 1.0
    return out


def _hill_shape(x, ec50, h):
    return expit(_z(x, ec50, h))


def _with_symmetric(start4, x, y, mask):
    """The self-start of a five-parameter model from its four-parameter one.

    Used as ``functools.partial(_with_symmetric, start4)`` (picklable, as every spec is).

    Parameters
    ----------
    start4 : callable
        ``start4(x, y, mask) -> (n, 4)`` starting values of the four-parameter model.
    x, y, mask : numpy.ndarray
        The curves, as for any self-start.

    Returns
    -------
    numpy.ndarray, shape (n, 5)
        The four-parameter start and the asymmetry (``s`` or ``f``) at 1, its symmetric value.
    """
    s = start4(x, y, mask)
    return np.concatenate([s, np.ones((s.shape[0], 1))], axis=1)


def _start_hill4(x, y, mask):
    return np.ascontiguousarray(_grid_start(x, y, mask, _hill_shape).T)


def _start_ll4(x, y, mask):
    # hill(e0=a, einf=b, ec50, h) == ll4(b=h, c=einf, d=e0, e=ec50)
    a, b, ec50, h = _grid_start(x, y, mask, _hill_shape)
    return np.stack([h, b, a, ec50], axis=1)


_start_hill5 = functools.partial(_with_symmetric, _start_hill4)
_start_ll5 = functools.partial(_with_symmetric, _start_ll4)


def _start_w1(x, y, mask):
    # w1 = c + (d-c) exp(-exp(z)) = d + (c-d) * (1 - exp(-exp(z))): shape from a=d to b=c
    a, b, e, h = _grid_start(x, y, mask, lambda xx, e, hh: -np.expm1(-np.exp(_z(xx, e, hh))))
    return np.stack([h, b, a, e], axis=1)


def _start_w2(x, y, mask):
    # w2 = c + (d-c)(1-exp(-exp(z))) at b<0 starts at d... use shape exp(-exp(-z)) rising
    a, b, e, h = _grid_start(x, y, mask, lambda xx, e, hh: np.exp(-np.exp(-_z(xx, e, hh))))
    # w2(b=-h): c + (d-c)(1-exp(-exp(-z))) = d + (c-d) exp(-exp(-z)) : a = d, b = c
    return np.stack([-h, b, a, e], axis=1)


def _start_l4(x, y, mask):
    # a logistic in dose with slope b = h / e has the log-logistic slope h at its inflection e:
    # the LL grid (e across the tested range, h in _GRID_H) gives a scale-free grid for L.4
    a, b, e, h = _grid_start(x, y, mask, lambda xx, ee, hh: expit(hh * (xx - ee) / ee))
    return np.stack([h / e, b, a, e], axis=1)


_start_l5 = functools.partial(_with_symmetric, _start_l4)


def _start_const(x, y, mask):
    m = np.asarray(mask, dtype=bool)
    return np.nanmean(np.where(m, y, np.nan), axis=1)[:, None]


def _swap_ll(p0):
    # drc LL: (b, c, d, e[, f]) and (-b, d, c, e[, f]) are the same curve when f = 1
    q = np.array(p0, dtype=float, copy=True)
    q[:, 0] = -p0[:, 0]
    q[:, 1] = p0[:, 2]
    q[:, 2] = p0[:, 1]
    return [q]


# --------------------------------------------------------------------------- inverses
def _check_pct(x):
    x = np.asarray(x, dtype=float)
    if np.any((x <= 0) | (x >= 100)):
        raise ValueError("x for ECx must be strictly between 0 and 100 (percent of the effect)")
    return x


def _inv_hill4(x, e0, einf, ec50, h):
    p = _check_pct(x) / 100.0
    return ec50 * np.exp(logit(p) / h)


def _inv_hill5(x, e0, einf, ec50, h, s):
    # fraction moved = 1 - (1 + u)^(-s) = p -> u = (1-p)^(-1/s) - 1, u = (d/ec50)^h
    p = _check_pct(x) / 100.0
    u = np.expm1(-np.log1p(-p) / s)
    return ec50 * np.exp(np.log(u) / h)


def _inv_ll4(x, b, c, d, e):
    p = _check_pct(x) / 100.0
    return e * np.exp(logit(p) / np.abs(b))


def _exp_z5(x, b, f):
    """``exp(z)`` at which a five-parameter logistic (LL.5, L.5) has moved ``x`` % of its effect.

    Parameters
    ----------
    x : array_like
        Percent of the effect, strictly between 0 and 100.
    b : array_like
        drc slope (signed).
    f : array_like
        drc asymmetry.

    Returns
    -------
    numpy.ndarray
        ``exp(z)``, with ``z = b (log dose - log e)`` for LL.5 and ``b (dose - e)`` for L.5.
    """
    p = _check_pct(x) / 100.0
    # b > 0: moved from d toward c: 1 - (1+exp(z))^-f = p
    # b < 0: moved from c toward d: (1+exp(z))^-f = p  (z -> +inf at dose 0)
    q = np.where(np.asarray(b) > 0, 1.0 - p, p)
    return np.expm1(-np.log(q) / f)


def _inv_ll5(x, b, c, d, e, f):
    return e * np.exp(np.log(_exp_z5(x, b, f)) / b)


def _inv_w1(x, b, c, d, e):
    p = _check_pct(x) / 100.0
    # b > 0: moved from d: 1 - exp(-exp(z)) = p -> exp(z) = -log(1-p)
    # b < 0: moved from c: exp(-exp(z)) = p  -> exp(z) = -log(p)
    t = np.where(np.asarray(b) > 0, -np.log1p(-p), -np.log(p))
    return e * np.exp(np.log(t) / b)


# W2: b > 0: f(0)=c, moved toward d: 1-exp(-exp(z)) = p -> exp(z) = -log(1-p);
# b < 0: f(0)=d, moved toward c: exp(-exp(z)) = p -> exp(z) = -log(p): the same inverse as W1
_inv_w2 = _inv_w1


def _inv_l4(x, b, c, d, e):
    # fraction of the way from the asymptote at x -> -inf to the one at +inf:
    # expit(|b| (x - e)) = p  ->  x = e + logit(p) / |b|
    p = _check_pct(x) / 100.0
    return e + logit(p) / np.abs(b)


def _inv_l5(x, b, c, d, e, f):
    return e + np.log(_exp_z5(x, b, f)) / b


def _limits_hill(e0, einf, *rest):
    return e0, einf


def _limits_ll(b, c, d, *rest):
    pos = np.asarray(b) > 0
    return np.where(pos, d, c), np.where(pos, c, d)


def _limits_w2(b, c, d, *rest):
    pos = np.asarray(b) > 0
    return np.where(pos, c, d), np.where(pos, d, c)


# --------------------------------------------------------------------------- specs
_E0 = Param("e0", unit="response", description="response at dose 0")
_EINF = Param("einf", unit="response", description="response at infinite dose")
_EC50 = Param("ec50", unit="dose", bounds=(0.0, np.inf), transform="log",
              description="half-effect dose (inflection for hill5)")
_H = Param("h", unit="1", bounds=(0.0, np.inf), transform="log", description="Hill slope (> 0)")
_S = Param("s", unit="1", bounds=(0.0, np.inf), transform="log", description="asymmetry (1 = symmetric)")
_B = Param("b", unit="1", description="drc slope (signed; b > 0: response falls from d to c)")
_C = Param("c", unit="response", description="drc lower limit (limit at infinite dose when b > 0)")
_D = Param("d", unit="response", description="drc upper limit (limit at dose 0 when b > 0)")
_E = Param("e", unit="dose", bounds=(0.0, np.inf), transform="log", description="drc e (inflection dose)")
_F = Param("f", unit="1", bounds=(0.0, np.inf), transform="log", description="drc asymmetry f")

HILL4 = ModelSpec(
    name="hill4", func=hill, params=(_E0, _EINF, _EC50, _H), jacobian=_hill_jac,
    selfstart=_start_hill4, inverse=_inv_hill4, nested_in=("hill5",),
    formula="e0 + (einf - e0) * d^h / (d^h + ec50^h)",
    reference="Hill (1910); drc LL.4 with b = h, c = einf, d = e0, e = ec50",
    direction="rises if einf > e0, falls if einf < e0; h > 0",
)
HILL3 = ModelSpec(
    name="hill3", func=hill, params=(_E0, _EINF, _EC50, _H), jacobian=_hill_jac,
    selfstart=_start_hill4, inverse=_inv_hill4, fixed_defaults={"einf": 0.0},
    nested_in=("hill4", "hill5"),
    formula="hill4 with einf fixed (default 0)",
    reference="drc LL.3 (c = 0) with b = h, d = e0, e = ec50",
    direction="falls from e0 to the fixed einf (or rises if einf > e0)",
)
HILL5 = ModelSpec(
    name="hill5", func=hill5, params=(_E0, _EINF, _EC50, _H, _S), jacobian=_hill5_jac,
    selfstart=_start_hill5, inverse=_inv_hill5,
    formula="einf + (e0 - einf) / (1 + (d/ec50)^h)^s",
    reference="Richards (1959); Gottschalk & Dunn (2005); drc LL.5 with b = h, c = einf, d = e0, e = ec50, f = s",
    direction="rises if einf > e0, falls if einf < e0; h > 0",
)
LL4 = ModelSpec(
    alt_starts=_swap_ll,
    name="LL.4", func=ll4, params=(_B, _C, _D, _E), selfstart=_start_ll4, inverse=_inv_ll4,
    nested_in=("LL.5",), formula="c + (d - c) / (1 + exp(b (log x - log e)))",
    reference="Ritz et al. (2015) drc: LL.4", direction="b > 0: from d (dose 0) to c",
)
LL3 = ModelSpec(
    alt_starts=_swap_ll,
    name="LL.3", func=ll4, params=(_B, _C, _D, _E), selfstart=_start_ll4, inverse=_inv_ll4,
    fixed_defaults={"c": 0.0}, nested_in=("LL.4", "LL.5"),
    formula="LL.4 with c fixed (default 0)", reference="Ritz et al. (2015) drc: LL.3",
    direction="b > 0: from d (dose 0) to 0",
)
LL5 = ModelSpec(
    alt_starts=_swap_ll,
    name="LL.5", func=ll5, params=(_B, _C, _D, _E, _F), selfstart=_start_ll5, inverse=_inv_ll5,
    formula="c + (d - c) / (1 + exp(b (log x - log e)))^f",
    reference="Ritz et al. (2015) drc: LL.5; NIST StRD Rat43 on x = log dose",
    direction="b > 0: from d (dose 0) to c",
)
W14 = ModelSpec(
    alt_starts=_swap_ll,
    name="W1.4", func=w1, params=(_B, _C, _D, _E), selfstart=_start_w1, inverse=_inv_w1,
    formula="c + (d - c) exp(-exp(b (log x - log e)))",
    reference="Ritz et al. (2015) drc: W1.4", direction="b > 0: from d (dose 0) to c",
)
W24 = ModelSpec(
    alt_starts=_swap_ll,
    name="W2.4", func=w2, params=(_B, _C, _D, _E), selfstart=_start_w2, inverse=_inv_w2,
    formula="c + (d - c) (1 - exp(-exp(b (log x - log e))))",
    reference="Ritz et al. (2015) drc: W2.4", direction="b > 0: from c (dose 0) to d",
)
_BL = Param("b", unit="1/dose", description="drc L slope (signed, per dose unit; b > 0: response falls from d to c)")
_EL = Param("e", unit="dose", description="drc L inflection dose (logistic in dose; may lie outside the tested range)")
L4 = ModelSpec(
    alt_starts=_swap_ll,
    name="L.4", func=l4, params=(_BL, _C, _D, _EL), jacobian=_l4_jac, selfstart=_start_l4, inverse=_inv_l4,
    nested_in=("L.5",), formula="c + (d - c) / (1 + exp(b (x - e)))",
    reference="Ritz et al. (2015) PLoS ONE 10:e0146021, drc: L.4 (logistic in dose)",
    direction="b > 0: from d (x -> -inf) to c (x -> +inf); ECx relative to c and d",
)
L5 = ModelSpec(
    alt_starts=_swap_ll,
    name="L.5", func=l5, params=(_BL, _C, _D, _EL, _F), selfstart=_start_l5, inverse=_inv_l5,
    formula="c + (d - c) / (1 + exp(b (x - e)))^f",
    reference="Ritz et al. (2015) PLoS ONE 10:e0146021, drc: L.5 (generalised logistic in dose)",
    direction="b > 0: from d (x -> -inf) to c (x -> +inf); ECx relative to c and d",
)
NO_EFFECT = ModelSpec(
    name="no_effect", func=no_effect, params=(_E0,), jacobian=_no_effect_jac,
    selfstart=_start_const, nested_in=("hill3", "hill4", "hill5", "LL.3", "LL.4", "LL.5", "W1.4", "W2.4",
                                                       "L.4", "L.5"),
    formula="e0", reference="lack-of-effect null model (drc noEffect)", direction="none",
)

DOSE_RESPONSE_MODELS: dict[str, ModelSpec] = {
    s.name: s for s in (HILL4, HILL3, HILL5, LL4, LL3, LL5, W14, W24, L4, L5, NO_EFFECT)
}
_ALIASES = {"4pl": "hill4", "3pl": "hill3", "5pl": "hill5", "constant": "no_effect",
            "ll4": "LL.4", "ll3": "LL.3", "ll5": "LL.5", "w14": "W1.4", "w24": "W2.4",
            "l4": "L.4", "l5": "L.5"}
_LIMITS = {"hill4": _limits_hill, "hill3": _limits_hill, "hill5": _limits_hill,
           "LL.4": _limits_ll, "LL.3": _limits_ll, "LL.5": _limits_ll, "W1.4": _limits_ll,
           "W2.4": _limits_w2, "L.4": _limits_ll, "L.5": _limits_ll}


def get_model(model) -> ModelSpec:
    """Return the :class:`ModelSpec` for a model name (case-insensitive aliases) or spec.

    Parameters
    ----------
    model : str or ModelSpec
        ``"hill4"``, ``"hill3"``, ``"hill5"``, ``"LL.4"``, ``"LL.3"``, ``"LL.5"``,
        ``"W1.4"``, ``"W2.4"``, ``"L.4"``, ``"L.5"``, ``"no_effect"`` (aliases: ``"4pl"``, ``"ll4"``...).

    Returns
    -------
    ModelSpec
    """
    if isinstance(model, ModelSpec):
        return model
    key = str(model)
    if key in DOSE_RESPONSE_MODELS:
        return DOSE_RESPONSE_MODELS[key]
    low = key.lower().replace("_", "")
    for name in DOSE_RESPONSE_MODELS:
        if name.lower().replace("_", "") == low:
            return DOSE_RESPONSE_MODELS[name]
    if low in _ALIASES:
        return DOSE_RESPONSE_MODELS[_ALIASES[low]]
    from ..exceptions import DataError

    raise DataError(f"unknown dose-response model {model!r}; choose one of {sorted(DOSE_RESPONSE_MODELS)}")


def response_limits(spec: ModelSpec, params):
    """Responses at dose 0 and at infinite dose for parameter array ``params`` (..., p).

    For the logistic-in-dose models (``L.4``, ``L.5``) these are the asymptotes ``d`` and ``c``
    (x -> -inf and +inf, ordered by the sign of ``b``), the limits drc's relative ED uses.
    """
    params = np.asarray(params, dtype=float)
    if spec.name not in _LIMITS:
        raise ValueError(f"model {spec.name!r} has no dose effect")
    return _LIMITS[spec.name](*np.moveaxis(params, -1, 0))


def ecx_relative(spec: ModelSpec, x, params):
    """Dose at which the response has moved ``x`` % of the way from E(0) to E(inf).

    Parameters
    ----------
    spec : ModelSpec
        A model with an analytic inverse.
    x : float or array_like
        Percent of the full effect, strictly between 0 and 100.
    params : array_like
        Parameter values, trailing axis in the spec's order.

    Returns
    -------
    numpy.ndarray
        Dose (unit of the potency parameter).
    """
    if spec.inverse is None:
        raise ValueError(f"model {spec.name!r} has no ECx (no dose effect)")
    params = np.asarray(params, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return spec.inverse(x, *np.moveaxis(params, -1, 0))


def ecx_absolute(spec: ModelSpec, level, params):
    """Dose at which the modelled response equals ``level`` (NaN if never reached).

    Parameters
    ----------
    spec : ModelSpec
        A model with an analytic inverse.
    level : float or array_like
        Response level in the response unit.
    params : array_like
        Parameter values, trailing axis in the spec's order.

    Returns
    -------
    numpy.ndarray
        Dose (unit of the potency parameter); NaN where the curve never reaches
        ``level`` between dose 0 and infinity.
    """
    params = np.asarray(params, dtype=float)
    f0, finf = response_limits(spec, params)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (np.asarray(level, dtype=float) - f0) / (finf - f0)
    inside = (frac > 0) & (frac < 1)
    pct = np.where(inside, 100.0 * frac, 50.0)
    out = ecx_relative(spec, pct, params)
    return np.where(inside, out, np.nan)
