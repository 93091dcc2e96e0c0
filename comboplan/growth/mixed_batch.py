"""Mixed growth models with variance functions for many simulated studies at once.

The power-analysis path of :func:`comboplan.growth.api.fit_growth_mixed` with ``variance=``:
every study shares the design (animals, arms, times); sizes and missing measurements differ.
All studies are fitted together by a vectorised BFGS on the exact gradient of the profiled
(RE)ML (:class:`comboplan.growth.mixed._LMEProblem`); a study that does not converge there is
refitted alone.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from ..exceptions import DataError
from .data import batch_arrays
from .mixed import LMEDesign, _batch_bfgs, _LMEProblem, lme_fit

__all__ = ["fit_growth_mixed_batch"]

_BATCH_VARIANCE = ("arm", "power_time")

#: Studies are fitted in consecutive chunks of this many (study ``i`` in chunk ``i // STUDY_CHUNK``):
#: memory stays bounded whatever the number of studies, and a study's result depends only on the
#: studies of its chunk (the vectorised iterations gather the active studies of the batch, and
#: numpy's kernels can round differently for other batch shapes), so any split of the studies
#: at multiples of ``STUDY_CHUNK`` (``comboplan.distributed.fit_growth_mixed_batch``) gives
#: bit-for-bit the same numbers.
STUDY_CHUNK = 128


def fit_growth_mixed_batch(sizes, time, subject_arm, arms, *, variance="arm", method: str = "reml",
                           observed=None, ci_level: float = 0.95) -> dict:
    """Fit ``fit_growth_mixed(..., variance=...)`` to many studies sharing one design.

    Model (as :func:`~comboplan.growth.api.fit_growth_mixed` with its defaults): log relative
    size :math:`\\log(V/V_0)` after baseline, a fixed growth rate per arm, a random slope per
    animal and the residual variance function ``variance``; (RE)ML, model-based standard errors.

    Parameters
    ----------
    sizes : ndarray, shape (n_studies, n_subjects, n_times)
        Tumour sizes (> 0, any unit); NaN = not measured.  ``time[0]`` is every animal's baseline.
    time : ndarray, shape (n_times,)
        Measurement times (time unit).
    subject_arm : ndarray of int, shape (n_subjects,)
        Arm index of each animal (into ``arms``).
    arms : sequence
        Arm labels.
    variance : str or sequence of str
        ``"arm"`` (residual SD per arm, nlme's ``varIdent(~1|arm)``), ``"power_time"``
        (``varPower(~time)``) or both.  (Variance functions whose parameters depend on the
        individual study's animals or fitted values are fitted one study at a time by
        ``fit_growth_mixed``.)
    method : {"reml", "ml"}
    observed : ndarray of bool, optional
        Which sizes were measured (default: finite ``sizes``).
    ci_level : float
        Level of the t intervals of the rates.

    Returns
    -------
    dict
        ``rates``, ``rate_se``, ``ci_low``, ``ci_high`` (n_studies, n_arms; 1/time unit);
        ``df`` (n_studies,) of the t intervals; ``sigma`` (n_studies,) the residual SD of log size
        in the reference stratum; ``tau`` (n_studies,) the between-animal SD of the rate;
        ``sd_ratio`` (n_studies, n_arms) residual SD / reference for ``"arm"`` (1 for arms
        without data); ``power`` (n_studies,) the varPower exponent; ``loglik`` (n_studies,);
        ``converged`` (n_studies,) bool; ``refitted`` the number of studies refitted alone.
    """
    vf = (variance,) if isinstance(variance, str) else tuple(variance)
    bad = [v for v in vf if v not in _BATCH_VARIANCE]
    if bad or not vf:
        raise DataError(f"variance must be one or both of {', '.join(_BATCH_VARIANCE)} for a batch fit; got "
                        f"{variance!r} (fit studies with other variance functions one by one with fit_growth_mixed).")
    if method not in ("reml", "ml"):
        raise DataError(f"method must be 'reml' or 'ml'; got {method!r}.")
    if not 0 < ci_level < 1:
        raise DataError(f"ci_level must lie in (0, 1); got {ci_level!r} (e.g. 0.95).")
    sizes, time, obs = batch_arrays(sizes, time, observed)
    B, S, T = sizes.shape
    arm = np.asarray(subject_arm)
    if arm.shape != (S,):
        raise DataError(f"subject_arm needs one arm index per animal ({S}); got shape {arm.shape}.")
    arms = list(arms)
    K = len(arms)
    if arm.min() < 0 or arm.max() >= K:
        raise DataError(f"subject_arm holds indices into arms (0..{K - 1}).")
    if not obs[:, :, 0].all():
        raise DataError("every animal needs its baseline size at time[0].")
    t = np.broadcast_to(np.asarray(time, float) - float(time[0]), (S, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        Y = np.log(sizes) - np.log(sizes[:, :, :1])
    masks = obs & (t > 0)[None]
    Y = np.where(masks, Y, 0.0)
    tt = np.where(t > 0, t, 0.0)
    X = (arm[:, None, None] == np.arange(K)) * tt[..., None]
    design = LMEDesign(y=Y[0], X=X, Z=tt[..., None], mask=np.ones((S, T), bool) & (t > 0), arm=arm, t=tt)
    n_an = ((masks.any(axis=2))[:, :, None] & (arm[None, :, None] == np.arange(K))).sum(axis=1)   # (B, K)
    if np.any(n_an == 0):
        b, k = np.argwhere(n_an == 0)[0]
        raise DataError(f"study {b}: arm {arms[k]!r} has no measurement after baseline; no growth rate.")
    prob = _LMEProblem(design, vf, False, method)
    pieces = [_fit_chunk(prob, Y[a:a + STUDY_CHUNK], masks[a:a + STUDY_CHUNK], n_an[a:a + STUDY_CHUNK], X, tt, arm,
                         vf, method, K, ci_level) for a in range(0, B, STUDY_CHUNK)]
    out = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0] if k != "refitted"}
    out["refitted"] = int(sum(p["refitted"] for p in pieces))
    return {"arms": arms, **out}


def _fit_chunk(prob, Y, masks, n_an, X, tt, arm, vf, method, K, ci_level) -> dict:
    """Fit one chunk of studies (see :data:`STUDY_CHUNK`); the arrays of the result, per study."""
    B = Y.shape[0]
    TH = np.zeros((B, prob.n_par))
    with np.errstate(all="ignore"):
        TH, conv = _batch_bfgs(prob, TH, masks, None, max_iter=200, Y=Y)
    refit = np.flatnonzero(~conv)
    for b in refit:   # alone, by the single-study optimiser
        db = LMEDesign(y=Y[b], X=X, Z=tt[..., None], mask=masks[b], arm=arm, t=tt)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fb = lme_fit(db, variance=vf, method=method)
            TH[b] = fb.theta
            conv[b] = bool(fb.converged)
        except (np.linalg.LinAlgError, ValueError):
            TH[b] = np.nan
    ok = np.all(np.isfinite(TH), axis=1)
    THs = np.where(ok[:, None], TH, 0.0)
    with np.errstate(all="ignore"):
        _, A, beta, rss, ldV = prob.batch_parts(THs, masks, Y)[:5]
        val, dof = prob._value(A, rss, ldV, masks.sum(axis=(1, 2)))
    s2 = rss / dof
    cov = s2[:, None, None] * np.linalg.inv(A)
    se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    dfv = (n_an.sum(axis=1) - K).astype(float)
    q = stats.t.ppf(0.5 + ci_level / 2, np.maximum(dfv, 1.0))
    ratio = np.ones((B, K))
    if "arm" in prob.slices:
        lv = prob.arm_levels
        ratio[:, lv] = np.exp(np.concatenate([np.zeros((B, 1)), TH[:, prob.slices["arm"]]], axis=1))
    nan = ~ok
    out = {
        "rates": beta, "rate_se": se, "ci_low": beta - q[:, None] * se,
        "ci_high": beta + q[:, None] * se, "df": dfv, "sigma": np.sqrt(s2),
        "tau": np.sqrt(s2) * np.exp(TH[:, prob.slices["G"].start]) / prob.zscale[0], "sd_ratio": ratio,
        "power": TH[:, prob.slices["power"].start] if "power" in prob.slices else np.full(B, np.nan),
        "loglik": -0.5 * val, "converged": conv & ok, "refitted": int(refit.size),
    }
    for k in ("rates", "rate_se", "ci_low", "ci_high", "sigma", "tau", "sd_ratio", "loglik", "power"):
        out[k] = np.where(nan.reshape((-1,) + (1,) * (np.ndim(out[k]) - 1)), np.nan, out[k])
    return out
