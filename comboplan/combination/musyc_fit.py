"""MuSyC (Meyer et al. 2019) surface fits of dose-response matrices with bootstrap intervals
(:func:`fit_musyc`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._params import Integral, Interval, Real, StrOptions, renamed_params, validate_params
from .._sign import sign_sentence
from ..exceptions import ConvergenceWarning, DataError
from ..results import ResultIO
from .design import prepare
from .scoring import _block_name as _blk
from .scoring import resample_obs
from .stats import as_rng, percentile_ci
from .surface import fit_statistics, warn_not_scored

__all__ = ["fit_musyc", "MuSyCResult", "MUSYC_SCORE_DEFINITION", "MUSYC_RAW_SIGN"]

_MUSYC_STARTS = 3   # MuSyC starts refined by the engine after the RSS screen of 50 candidates
_MUSYC_FALLBACK_GTOL = 1e-4   # MINPACK-equivalent stop, used only when no start meets FIT_GTOL
MUSYC_SCORE_DEFINITION = ("log10(alpha12), log10(alpha21), log10(gamma12), log10(gamma21) and beta on their rows "
                          "of params (NaN on the other parameters)")
MUSYC_RAW_SIGN = "alpha, gamma > 1 and beta > 0 = synergy"


# ====================================================================== MuSyC
@dataclass(frozen=True)
class MuSyCResult(ResultIO):
    """MuSyC fit of a two-agent response surface.

    Attributes
    ----------
    params : pandas.DataFrame
        ``param``, ``estimate``, ``ci_low``, ``ci_high``, ``unit``, ``fixed`` for E0-E3,
        h1, h2, C1, C2, alpha12, alpha21, gamma12, gamma21 and the derived ``beta``
        (per block).  alpha, gamma > 1 and beta > 0 mean synergy (``sign`` says so on
        each row); ``synergy_score`` (> 0 means synergy, the package-wide column) is
        ``log10(alpha)``, ``log10(gamma)`` and ``beta`` on those rows with
        ``synergy_score_ci_low``/``synergy_score_ci_high``, NaN on the other parameters.
    fit : pandas.DataFrame
        Per block: ``converged``, ``rss``, ``nobs``, ``r2``, ``aic``, ``bic``, ``inference``.
    settings : dict
    """

    params: pd.DataFrame
    fit: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read the synergy parameters."""
        return ("alpha12/alpha21 > 1: synergistic potency; gamma > 1: synergistic cooperativity; "
                "beta > 0: synergistic efficacy (combination beyond the stronger agent)")

    def estimates(self, block: int = 0) -> dict:
        """Point estimates of one block as ``{name: value}``."""
        t = self.params
        if self.settings["by"]:
            keys = self.fit.iloc[block][self.settings["by"]]
            for c in self.settings["by"]:
                t = t[t[c] == keys[c]]
        return dict(zip(t["param"], t["estimate"]))

    def predict(self, d1, d2, block: int = 0):
        """Fitted surface at doses ``d1``, ``d2`` (broadcast; response unit)."""
        from ..models.combination.musyc import MUSYC_PARAMS, musyc

        e = self.estimates(block)
        return musyc(np.asarray(d1, float), np.asarray(d2, float), *(e[p] for p in MUSYC_PARAMS))

    def summary(self) -> str:
        """Plain-text table of parameters."""
        return (f"MuSyC fit ({self.sign_convention}).\n{sign_sentence(MUSYC_SCORE_DEFINITION, MUSYC_RAW_SIGN)}\n"
                + self.params.drop(columns=[c for c in ("fixed", "sign") if c in self.params.columns])
                .to_string(index=False))

    def to_xarray(self):
        """Parameters as an :class:`xarray.Dataset` (dims block..., param); ``synergy_score``
        (log10 alpha / gamma, beta; > 0 synergy) with its interval."""
        from ..results import units_by

        idx = [*self.settings["by"], "param"]
        score = [c for c in ("synergy_score", "synergy_score_ci_low", "synergy_score_ci_high")
                 if c in self.params.columns]
        ds = self.params.set_index(idx)[["estimate", "ci_low", "ci_high", *score]].to_xarray()
        units = dict(zip(self.params["param"], self.params["unit"].astype(str)))
        for v in ds.data_vars:
            ds[v].attrs["units"] = "1" if v in score else units_by(units, units.values())
        ds.attrs["sign"] = sign_sentence(MUSYC_SCORE_DEFINITION, MUSYC_RAW_SIGN)
        return ds

    def plot(self, kind: str = "surface", block: int = 0, ax=None, **kwargs):
        """Plot the fitted surface with the data (``kind="surface"`` or ``"heatmap"``)."""
        from ..plot import synergy as ps
        from ..results import check_kind

        check_kind(kind, ("surface", "heatmap"), "MuSyCResult")
        return ps.musyc_plot(self, kind=kind, block=block, ax=ax, **kwargs)


@renamed_params(ci="ci_level")
@validate_params({
    "fit_gamma": ["boolean"],
    "n_boot": [Interval(Integral, 0, None)],
    "ci_level": [Interval(Real, 0, 1, closed="neither")],
    "seed": ["seed"],
    "errors": [StrOptions({"warn", "raise"})],
})
def fit_musyc(data, doses, response, *, by=None, replicate=None, fit_gamma=False, n_boot=200, ci_level=0.95,
              seed=None, response_kind="viability", scale="fraction", bootstrap="auto",
              dose_units=None, errors="warn") -> MuSyCResult:
    """Fit the MuSyC model (Meyer et al. 2019) to a two-agent dose-response surface.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    doses : list of two str
        Dose columns of agents 1 and 2 (>= 0).
    response : str
        Response column, fitted on its own scale (E0..E3 are in its unit).
    by : str or list, optional
        Block columns (each block fitted separately).
    replicate : str, optional
        Replicate column (needed when cells repeat); replicates are fitted individually.
    fit_gamma : bool
        Also estimate the cooperativity parameters ``gamma12``, ``gamma21``
        (otherwise fixed at 1).
    n_boot : int
        Bootstrap refits for the parameter CIs (batched through the engine).
    ci_level : float
        Confidence level.  (``ci=`` is a deprecated alias.)
    seed : int or Generator, optional
        Bootstrap seed.
    response_kind, scale : str
        Declared response (validated as in :func:`synergy`; sets beta's direction).
    bootstrap : {"auto", "replicates", "residuals"}
        Resample replicates within cells (when cells have replicates) or residuals.
    dose_units : dict, optional
        Recorded units of the dose columns.
    errors : {"warn", "raise"}
        A block that cannot be fitted -- fewer than 4 dose levels of an agent alone
        (including 0) or fewer than 4 combination observations -- becomes a ``fit`` row
        with ``converged=False``, ``status="not_scored"`` and a ``message`` naming the
        block and the cause, and NaN ``params`` rows, with a warning (``"warn"``,
        default); the other blocks are fitted as usual.  ``"raise"``:
        :class:`DataError` instead.

    Returns
    -------
    MuSyCResult
        ``fit`` has ``status`` (``"ok"`` / ``"not_scored"``) and ``message``.

    Notes
    -----
    Potencies (C1, C2), slopes, alpha and gamma are fitted on the log scale, so scaling
    a dose column by k scales its C by k and changes nothing else.  Starting values
    come from the Hill self-start of the two monotherapy edges (E0, E1, E2, h1, h2,
    C1, C2; linear least squares for the plateaus on a 9 x 4 potency x slope grid);
    50 candidate starts (alpha12, alpha21 on a 5 x 5 log grid over 0.1-10, E3 from the
    highest-dose cell or the stronger edge) are screened by RSS in one vectorised
    evaluation, the best 3 are refined in one batched engine call with the analytic
    Jacobian of the surface, and the best fit is kept.
    """
    from ..models.combination.musyc import MUSYC_PARAMS, musyc_beta
    from .fits import FIT_GTOL, FIT_TOL, _engine, hill_start, musyc_spec

    ci = ci_level
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind="inhibition", scale=scale)
    if len(design.doses) != 2:
        raise DataError(f"fit_musyc needs exactly two dose columns; got {list(design.doses)!r}.")
    a1, a2 = design.doses
    obs = design.obs
    yraw = obs["_effect"].to_numpy()  # validated copy of the raw response
    rng = as_rng(seed)
    z = ci
    fit_curves = _engine()
    PR, FT = [], []
    for b in range(len(design.blocks)):
        sel = np.flatnonzero(obs["_block"].to_numpy() == b)
        d1 = obs[a1].to_numpy()[sel]
        d2 = obs[a2].to_numpy()[sel]
        y = yraw[sel]
        bname = {c: design.blocks.iloc[b][c] for c in design.by}
        e1 = d2 == 0
        e2 = d1 == 0
        why = None
        for nm, e, d in ((a1, e1, d1), (a2, e2, d2)):
            if why is None and len(np.unique(d[e])) < 4:
                why = (f"fit_musyc needs >= 4 dose levels of {nm!r} alone (including 0) to start the fit"
                       f"{_blk(design, b)}; found {len(np.unique(d[e]))}")
        if why is None and ((d1 > 0) & (d2 > 0)).sum() < 4:
            why = (f"fit_musyc needs >= 4 combination observations (both doses > 0){_blk(design, b)}; found "
                   f"{int(((d1 > 0) & (d2 > 0)).sum())}")
        if why is not None:
            if errors == "raise":
                raise DataError(why + ".")
            for nm in [*MUSYC_PARAMS, "beta"]:
                PR.append(_musyc_score({**bname, "param": nm, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                        "unit": "", "fixed": False}))
            FT.append({**bname, "converged": False, "message": why, "tolerance": "", "rss": np.nan, "nobs": len(y),
                       "r2": np.nan, "aic": np.nan, "bic": np.nan, "inference": "none", "n_boot_failed": 0,
                       "status": "not_scored"})
            continue
        L = max(e1.sum(), e2.sum())
        X = np.full((2, L), np.nan)
        Y = np.full((2, L), np.nan)
        X[0, :e1.sum()], Y[0, :e1.sum()] = d1[e1], y[e1]
        X[1, :e2.sum()], Y[1, :e2.sum()] = d2[e2], y[e2]
        # the edges only provide starting values (E0, E1, E2, h1, h2, C1, C2): the Hill
        # self-start (e0/einf by linear least squares on a potency x slope grid) is
        # enough, the surface fit below refines every parameter to FIT_TOL/FIT_GTOL
        hf = hill_start(X, Y, np.isfinite(X) & np.isfinite(Y))
        spec = musyc_spec(d1, d2)
        xi = np.arange(len(sel), dtype=float)[None, :]
        dmax = (d1 == d1.max()) & (d2 == d2.max())
        E0 = 0.5 * (hf[0, 0] + hf[1, 0])
        E3s = [np.mean(y[dmax]), hf[0, 1] if abs(hf[0, 1] - E0) > abs(hf[1, 1] - E0) else hf[1, 1]]
        # candidate starts: single-agent edges + E3 (2 values) x alpha12, alpha21 on a
        # 5 x 5 log grid; all 50 are screened by their RSS in one vectorised evaluation
        # and only the best _MUSYC_STARTS are refined by the engine (one batched call)
        ag = np.array([0.1, 0.3, 1.0, 3.0, 10.0])
        A1, A2, E3g = (v.ravel() for v in np.meshgrid(ag, ag, E3s, indexing="ij"))
        nc = len(A1)
        base = np.array([E0, hf[0, 1], hf[1, 1], np.nan, np.clip(hf[0, 3], 0.05, 20), np.clip(hf[1, 3], 0.05, 20),
                         hf[0, 2], hf[1, 2], np.nan, np.nan, 1.0, 1.0])
        cand = np.tile(base, (nc, 1))
        cand[:, 3], cand[:, 8], cand[:, 9] = E3g, A1, A2
        with np.errstate(all="ignore"):
            fc = spec.func(np.broadcast_to(xi, (nc, xi.shape[1])), *[cand[:, j:j + 1] for j in range(12)])
            rc = np.sum((y[None, :] - fc) ** 2, axis=1)
        rc = np.where(np.isfinite(rc), rc, np.inf)
        starts = cand[np.argsort(rc, kind="stable")[:_MUSYC_STARTS]]
        fixed = None if fit_gamma else {"gamma12": 1.0, "gamma21": 1.0}
        n_s = len(starts)
        ms = fit_curves(spec, np.repeat(xi, n_s, 0), np.repeat(y[None], n_s, 0), p0=starts, fixed=fixed,
                        maxiter=300, xtol=FIT_TOL, gtol=FIT_GTOL)
        tol_note = f"xtol={FIT_TOL:g}, gtol={FIT_GTOL:g}"
        gtol_used, maxiter_used = FIT_GTOL, 300
        if not ms.converged.any():
            # a flat, curved RSS valley (weakly identified alpha/E3/h trade-offs): the
            # fit crawls without meeting the strict criteria.  Stop as MINPACK (and so
            # the `synergy` package) would: gradient cosine <= 1e-4, i.e. a predicted
            # relative RSS reduction of about 1e-8 (MINPACK's ftol).
            ms = fit_curves(spec, np.repeat(xi, n_s, 0), np.repeat(y[None], n_s, 0), p0=starts, fixed=fixed,
                            maxiter=1000, xtol=FIT_TOL, gtol=_MUSYC_FALLBACK_GTOL)
            gtol_used, maxiter_used = _MUSYC_FALLBACK_GTOL, 1000
            tol_note = (f"xtol={FIT_TOL:g}, gtol={_MUSYC_FALLBACK_GTOL:g} (fallback: the strict gtol={FIT_GTOL:g} "
                        "was not reached in 300 iterations; flat RSS valley, some parameters weakly identified)")
        rss = np.where(np.isfinite(ms.rss), ms.rss, np.inf)
        best = int(np.argmin(rss))
        est = ms.estimates[best]
        fitted = spec.func(xi, *[np.atleast_2d(v) for v in est])[0]
        resid = y - fitted
        # ---- bootstrap, batched
        cell = obs["_cell"].to_numpy()[sel]
        has_reps = np.bincount(cell - cell.min()).max() > 1
        mode = bootstrap if bootstrap != "auto" else ("replicates" if has_reps else "residuals")
        boot = None
        if n_boot > 0:
            if mode == "replicates":
                full = resample_obs(design, n_boot, rng)
                yb = full[:, sel]
            else:
                yb = fitted[None, :] + rng.choice(resid, size=(n_boot, len(sel)), replace=True)
            bf = fit_curves(spec, np.repeat(xi, n_boot, 0), yb, p0=np.repeat(est[None], n_boot, 0), fixed=fixed,
                            maxiter=maxiter_used, xtol=FIT_TOL, gtol=gtol_used)
            boot = np.where(bf.converged[:, None], bf.estimates, np.nan)
        beta = float(musyc_beta(*est[:4]))
        names = list(MUSYC_PARAMS) + ["beta"]
        vals = list(est) + [beta]
        bvals = None if boot is None else np.column_stack([boot, musyc_beta(*(boot[:, k] for k in range(4)))])
        units = {"E0": "response", "E1": "response", "E2": "response", "E3": "response",
                 "C1": (dose_units or {}).get(a1, f"dose unit of {a1}"),
                 "C2": (dose_units or {}).get(a2, f"dose unit of {a2}")}
        for k, (nm, v) in enumerate(zip(names, vals)):
            lo = hi = np.nan
            if bvals is not None:
                lo, hi = percentile_ci(bvals[:, k], z)
            PR.append(_musyc_score({**bname, "param": nm, "estimate": v, "ci_low": lo, "ci_high": hi,
                                    "unit": units.get(nm, "1"), "fixed": (not fit_gamma) and nm.startswith("gamma")}))
        n = len(y)
        rss_b = float(np.sum(resid**2))
        kpar = int(ms.npar)
        FT.append({**bname, "converged": bool(ms.converged[best]), "message": str(ms.message[best]),
                   "tolerance": tol_note, "rss": rss_b, "nobs": n,
                   **fit_statistics(y, rss_b, kpar, n_boot, mode, ci, boot),
                   "status": "ok" if ms.converged[best] else "not_converged"})
        if not ms.converged[best]:
            warnings.warn(f"MuSyC fit{_blk(design, b)} did not converge: {ms.message[best]}", ConvergenceWarning,
                          stacklevel=2)
    warn_not_scored("fit_musyc", FT, stacklevel=2)
    settings = {"doses": [a1, a2], "by": list(design.by), "response": response, "fit_gamma": fit_gamma,
                "n_boot": n_boot, "ci": ci, "ci_level": ci, "dose_units": dict(dose_units or {}),
                "response_kind": response_kind,
                "reference": "Meyer et al. (2019) Cell Syst 8:97; Wooten et al. (2021) Nat Commun 12:4607"}
    return MuSyCResult(params=pd.DataFrame(PR), fit=pd.DataFrame(FT), settings=settings)


_MUSYC_SIGNS = {"alpha12": "> 1 synergy (agent 1 raises agent 2's potency)",
                "alpha21": "> 1 synergy (agent 2 raises agent 1's potency)",
                "gamma12": "> 1 synergy (agent 1 raises agent 2's cooperativity)",
                "gamma21": "> 1 synergy (agent 2 raises agent 1's cooperativity)",
                "beta": "> 0 synergy (combination beyond the stronger agent's maximum)"}


def _musyc_score(row):
    """Add ``sign`` and ``synergy_score`` (log10 alpha / gamma, beta; NaN elsewhere) to a params row."""
    nm = row["param"]
    row["sign"] = _MUSYC_SIGNS.get(nm, "")
    est, lo, hi = (float(row[k]) for k in ("estimate", "ci_low", "ci_high"))
    if nm == "beta":
        sc = (est, lo, hi)
    elif nm in _MUSYC_SIGNS:
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = tuple(float(np.log10(v)) if v > 0 else np.nan for v in (est, lo, hi))
    else:
        sc = (np.nan, np.nan, np.nan)
    row["synergy_score"], row["synergy_score_ci_low"], row["synergy_score_ci_high"] = sc
    return row
