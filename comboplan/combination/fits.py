"""Batched single-agent, ZIP-slice and MuSyC fits through the comboplan batch engine.

Every fit here goes through :func:`comboplan.fitting.batch.fit_curves`, which fits
thousands of curves at once: bootstrap refits and ZIP's many row/column slices are
stacked as curves of one call, never looped over.
"""
from __future__ import annotations

import numpy as np

from ..models.combination.musyc import MUSYC_PARAMS, musyc
from ..models.combination.zip import zip_slice
from ..models.dose_response import HILL4, hill
from ..models.spec import ModelSpec, Param

__all__ = ["fit_hill", "fit_zip_slices", "musyc_spec", "ZIP_SLICE"]


def _engine():
    from ..fitting.batch import fit_curves

    return fit_curves


def fit_hill(x, y, mask=None, p0=None, fixed=None):
    """Fit four-parameter Hill curves (``e0, einf, ec50, h``) to many curves at once.

    Parameters
    ----------
    x, y : ndarray, shape (n_curves, n_obs)
        Doses (>= 0) and responses, NaN padded.
    mask : ndarray of bool, optional
        Observations to use.
    p0 : ndarray, optional
        Starting values (n_curves, 4); default the engine's self-start.
    fixed : mapping, optional
        Parameters held fixed (``{"einf": 100.0}``...).

    Returns
    -------
    BatchFit
        Engine result (estimates in the order ``e0, einf, ec50, h``).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if mask is None:
        mask = np.isfinite(x) & np.isfinite(y)
    return _engine()(HILL4, x, y, mask=mask, p0=p0, fixed=fixed, maxiter=200)


def hill_predict(params, dose):
    """Evaluate fitted Hill curves ``params`` (..., 4) at ``dose`` (broadcast)."""
    p = np.asarray(params, dtype=float)
    return hill(dose, p[..., 0], p[..., 1], p[..., 2], p[..., 3])


ZIP_SLICE = ModelSpec(
    name="zip_slice",
    func=zip_slice,
    params=(
        Param("bottom", unit="response", description="response at dose 0 (fixed: other agent's fitted effect)"),
        Param("top", unit="response", description="response at infinite dose (fixed: 100 % inhibition)"),
        Param("ec50", unit="dose", bounds=(0.0, np.inf), transform="log", description="slice potency"),
        Param("b", unit="1", bounds=(-50.0, 50.0), description="signed slope as in drc"),
    ),
    formula="bottom + (top - bottom) / (1 + (ec50/d)^b)",
    reference="Yadav et al. (2015) eqs. 10-11; SynergyFinder CalculateZIP",
    direction="b > 0 rises from bottom to top",
)


def fit_zip_slices(x, y, mask, bottom, top):
    """Fit ZIP slices (potency and signed slope, fixed bottom/top), batched.

    Parameters
    ----------
    x, y : ndarray, shape (n_slices, n_obs)
        Non-zero doses of the varied agent and responses (NaN padded).
    mask : ndarray of bool
        Observations to use.
    bottom : ndarray, shape (n_slices,)
        Fixed response at dose 0.
    top : float
        Fixed response at infinite dose.

    Returns
    -------
    estimates : ndarray, shape (n_slices, 4)
    converged : ndarray of bool
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.shape[0]
    bottom = np.asarray(bottom, dtype=float)
    # grid start over (ec50, b) with the fixed bottom/top, vectorised over slices
    xs = np.where(mask, x, np.nan)
    lo = np.nanmin(np.where(xs > 0, xs, np.nan), axis=1)
    hi = np.nanmax(xs, axis=1)
    best = np.full(n, np.inf)
    start = np.column_stack([bottom, np.full(n, top), np.sqrt(lo * hi), np.ones(n)])
    with np.errstate(all="ignore"):
        for t in np.linspace(-0.5, 1.5, 9):
            ec = np.exp(np.log(lo) + t * (np.log(hi) - np.log(lo)))
            for b in (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 4.0):
                f = zip_slice(x, bottom[:, None], top, ec[:, None], b)
                r = np.nansum(np.where(mask, (y - f) ** 2, 0.0), axis=1)
                better = r < best
                best = np.where(better, r, best)
                start[better, 2] = ec[better]
                start[better, 3] = b
    fit = _engine()(ZIP_SLICE, x, y, mask=mask, p0=start,
                    fixed={"bottom": bottom, "top": np.full(n, float(top))}, maxiter=200)
    return fit.estimates, fit.converged


def musyc_spec(d1, d2) -> ModelSpec:
    """A MuSyC :class:`ModelSpec` for the batch engine on fixed dose pairs.

    The engine's independent variable ``x`` is the *index* of the observation's dose
    pair in ``d1``/``d2`` (so a 2-D surface fits in the 1-D batch engine, and bootstrap
    refits are batched as curves).  Potency, slope, alpha and gamma parameters are
    fitted on the log scale, so the fit does not depend on dose units.
    """
    d1 = np.asarray(d1, dtype=float)
    d2 = np.asarray(d2, dtype=float)

    def func(x, E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21):
        idx = np.nan_to_num(np.asarray(x, dtype=float)).astype(np.int64)
        return musyc(d1[idx], d2[idx], E0, E1, E2, E3, h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21)

    pos = (0.0, np.inf)
    params = (
        Param("E0", unit="response", description="response without drug"),
        Param("E1", unit="response", description="maximal response of agent 1 alone"),
        Param("E2", unit="response", description="maximal response of agent 2 alone"),
        Param("E3", unit="response", description="maximal response of the combination"),
        Param("h1", unit="1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 1"),
        Param("h2", unit="1", bounds=(1e-2, 50.0), transform="log", description="Hill slope of agent 2"),
        Param("C1", unit="dose1", bounds=pos, transform="log", description="EC50 of agent 1"),
        Param("C2", unit="dose2", bounds=pos, transform="log", description="EC50 of agent 2"),
        Param("alpha12", unit="1", bounds=(1e-8, 1e8), transform="log",
              description="potency synergy: agent 1 multiplies agent 2's potency"),
        Param("alpha21", unit="1", bounds=(1e-8, 1e8), transform="log",
              description="potency synergy: agent 2 multiplies agent 1's potency"),
        Param("gamma12", unit="1", bounds=(1e-2, 1e2), transform="log",
              description="cooperativity synergy of agent 1 on agent 2"),
        Param("gamma21", unit="1", bounds=(1e-2, 1e2), transform="log",
              description="cooperativity synergy of agent 2 on agent 1"),
    )
    assert tuple(p.name for p in params) == MUSYC_PARAMS
    return ModelSpec(name="musyc", func=func, params=params,
                     reference="Meyer et al. (2019) Cell Syst 8:97; Wooten et al. (2021) Nat Commun 12:4607",
                     direction="E moves from E0 towards E1, E2 and E3 as doses rise")
