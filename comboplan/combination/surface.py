"""Shared machinery of the parametric response-surface fits (BRAID, Zimmer).

One block at a time: the single-agent edges give starting values (the batched Hill
self-start of :mod:`comboplan.combination.fits`), candidate starts over the
interaction parameters are screened by RSS in one vectorised evaluation, the best few
are refined in one call of the comboplan batch engine
(:func:`comboplan.fitting.batch.fit_curves`, Levenberg-Marquardt with the same
tolerances as the MuSyC fit), and bootstrap refits are batched as curves of one engine
call.  The surface is a 1-D curve for the engine: its independent variable is the index
of each observation's dose pair (as in :func:`comboplan.combination.fits.musyc_spec`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import ComboplanWarning, ConvergenceWarning, DataError
from .._sign import sign_sentence
from ..results import ResultIO
from .design import prepare
from .scoring import _block_name as _blk
from .scoring import resample_obs
from .stats import as_rng, boot_pvalue, percentile_ci

__all__ = ["SurfaceFitResult"]

_N_STARTS = 3                 # candidate starts refined by the engine
_FALLBACK_GTOL = 1e-4         # MINPACK-equivalent stop when no start meets FIT_GTOL (as fit_musyc)


@dataclass(frozen=True)
class SurfaceFitResult(ResultIO):
    """Fit of a parametric two-agent response surface (base of BRAID and Zimmer results).

    Attributes
    ----------
    params : pandas.DataFrame
        Per block (``by`` columns) and parameter: ``param``, ``estimate``, ``ci_low``,
        ``ci_high`` (bootstrap percentile), ``unit``, ``fixed``, ``sign`` (how to read an
        interaction parameter; empty for the others).
    blocks : pandas.DataFrame
        Per block: ``synergy_score`` (mean excess of the fitted surface over the model's
        own no-interaction surface across the tested combination cells, in effect units
        of the response scale; > 0 synergy), ``ci_low``, ``ci_high``, ``p_value``
        (bootstrap, H0: score = 0), ``unit``, ``n_cells``, ``status``, ``message``.
    cells : pandas.DataFrame
        Per tested cell: dose columns, ``n``, ``observed`` (mean), ``fitted``,
        ``reference`` (no-interaction surface) and ``excess`` (> 0: stronger effect
        than the reference), all in the response unit; ``synergy_score`` (= ``excess``,
        > 0 means synergy, the package-wide column).
    fit : pandas.DataFrame
        Per block: ``converged``, ``status``, ``message``, ``tolerance``, ``rss``,
        ``nobs``, ``npar``, ``r2``, ``aic``, ``bic``, ``inference``, ``n_boot_failed``.
    settings : dict
        Call options, units and the reference.
    """

    params: pd.DataFrame
    blocks: pd.DataFrame
    cells: pd.DataFrame
    fit: pd.DataFrame
    settings: dict = field(default_factory=dict)

    model_name = "surface"

    # ------------------------------------------------------------------ helpers
    @property
    def sign_convention(self) -> str:
        """How to read ``synergy_score`` and the interaction parameters."""
        return self.settings.get("sign_convention", "")

    def _block_rows(self, table: pd.DataFrame, block: int) -> pd.DataFrame:
        by = self.settings["by"]
        if not by:
            return table
        keys = self.fit.iloc[block]
        sel = np.ones(len(table), dtype=bool)
        for c in by:
            sel &= (table[c] == keys[c]).to_numpy()
        return table[sel]

    def estimates(self, block: int = 0) -> dict:
        """Point estimates of one block as ``{name: value}`` (natural units)."""
        t = self._block_rows(self.params, block)
        return dict(zip(t["param"], t["estimate"]))

    def predict(self, d1, d2, block: int = 0):
        """Fitted surface at doses ``d1``, ``d2`` (broadcast; dose units of the input columns).

        Returns
        -------
        numpy.ndarray
            Response in the unit of the response column.
        """
        raise NotImplementedError

    def reference(self, d1, d2, block: int = 0):
        """The model's no-interaction surface at ``d1``, ``d2`` (response unit)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ contract
    def summary(self) -> str:
        """Plain-text summary: synergy scores per block, then the parameters."""
        head = (f"{self.settings.get('title', self.model_name)} fit; {self.settings.get('reference', '')}\n"
                f"{self.settings.get('sign') or 'Sign: ' + self.sign_convention}\n")
        cols = [*self.settings["by"], "synergy_score", "ci_low", "ci_high", "p_value", "unit", "status"]
        par = self.params.drop(columns=["fixed", "sign"])
        return (head + "\nSynergy (per block):\n" + self.blocks[cols].to_string(index=False)
                + "\n\nParameters:\n" + par.to_string(index=False))

    def _repr_html_(self):  # pragma: no cover - notebook display
        return "<pre>" + self.summary() + "</pre>"

    def to_xarray(self):
        """Parameters and block scores as an :class:`xarray.Dataset`.

        Dims ``block`` and ``param``; the ``by`` columns are coordinates along
        ``block``, ``param_unit`` gives each parameter's unit, and every variable has a
        ``units`` attribute.  Round-trips through netCDF (``ds.to_netcdf(path)``).
        """
        import xarray as xr

        by = self.settings["by"]
        names = list(self.settings["param_names"])
        nb = len(self.fit)
        est = self.params["estimate"].to_numpy().reshape(nb, len(names))
        lo = self.params["ci_low"].to_numpy().reshape(nb, len(names))
        hi = self.params["ci_high"].to_numpy().reshape(nb, len(names))
        units = self.params["unit"].to_numpy()[:len(names)].astype(str)
        coords = {"block": np.arange(nb), "param": names}
        for c in by:
            v = self.fit[c].to_numpy()
            coords[c] = ("block", v.astype(str) if v.dtype == object else v)
        b = self.blocks
        su = str(b["unit"].iloc[0]) if len(b) else ""
        ds = xr.Dataset(
            {
                "estimate": (("block", "param"), est, {"units": "see param_unit"}),
                "ci_low": (("block", "param"), lo, {"units": "see param_unit"}),
                "ci_high": (("block", "param"), hi, {"units": "see param_unit"}),
                "synergy_score": (("block",), b["synergy_score"].to_numpy(float), {"units": su}),
                "synergy_ci_low": (("block",), b["ci_low"].to_numpy(float), {"units": su}),
                "synergy_ci_high": (("block",), b["ci_high"].to_numpy(float), {"units": su}),
                "p_value": (("block",), b["p_value"].to_numpy(float), {"units": "1"}),
                "rss": (("block",), self.fit["rss"].to_numpy(float), {"units": "response^2"}),
                "converged": (("block",), self.fit["converged"].to_numpy().astype(np.int8), {"units": "1"}),
            },
            coords=coords,
        )
        ds["param_unit"] = (("param",), units, {"units": ""})
        ds.attrs.update({"model": self.model_name, "reference": self.settings.get("reference", ""),
                         "sign_convention": self.sign_convention, "sign": str(self.settings.get("sign", "")),
                         "ci_level": self.settings.get("ci_level", np.nan),
                         "response": self.settings["response"]})
        return ds

    def plot(self, *, kind: str = "surface", block: int = 0, ax=None, **kwargs):
        """Heatmap over the tested dose grid of one block.

        Parameters
        ----------
        kind : {"surface", "excess", "observed"}
            ``"surface"``: fitted response; ``"excess"``: fitted minus the
            no-interaction surface, oriented so that > 0 is synergy (response unit);
            ``"observed"``: cell means.
        block : int
            Block index (row of ``fit``).
        ax : matplotlib.axes.Axes, optional
            Axes to draw on (a new figure otherwise).
        **kwargs
            Passed to ``Axes.imshow``.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        col = {"surface": "fitted", "excess": "excess", "observed": "observed"}
        if kind not in col:
            raise DataError(f"plot kind must be one of {sorted(col)}; got {kind!r}.")
        a1, a2 = self.settings["doses"]
        t = self._block_rows(self.cells, block)
        grid = t.pivot_table(index=a2, columns=a1, values=col[kind], aggfunc="mean")
        if ax is None:
            _, ax = plt.subplots()
        opts = {"origin": "lower", "aspect": "auto", "cmap": "RdBu_r" if kind == "excess" else "viridis"}
        if kind == "excess":
            m = np.nanmax(np.abs(grid.to_numpy())) if grid.size else 1.0
            opts.update(vmin=-m, vmax=m)
        opts.update(kwargs)
        im = ax.imshow(grid.to_numpy(), **opts)
        ax.set_xticks(range(grid.shape[1]))
        ax.set_xticklabels([f"{v:.3g}" for v in grid.columns], rotation=45)
        ax.set_yticks(range(grid.shape[0]))
        ax.set_yticklabels([f"{v:.3g}" for v in grid.index])
        ax.set_xlabel(a1)
        ax.set_ylabel(a2)
        ax.set_title(f"{self.model_name}: {kind}")
        ax.figure.colorbar(im, ax=ax, label=("excess (> 0 synergy), " if kind == "excess" else "")
                           + str(self.settings["response"]))
        return ax


# ---------------------------------------------------------------------- engine
def fit_statistics(y, rss: float, kpar: int, n_boot: int, mode: str, ci_level: float, boot) -> dict:
    """Goodness of fit and inference of one surface fit, as columns of a ``fit`` table row.

    Parameters
    ----------
    y : ndarray
        The block's responses.
    rss : float
        Residual sum of squares of the fit.
    kpar : int
        Free parameters.
    n_boot : int
        Bootstrap refits (0: none).
    mode : str
        Bootstrap scheme, for the description.
    ci_level : float
        Confidence level of the percentile intervals.
    boot : ndarray or None
        Bootstrap estimates (refits x parameters; a failed refit is a NaN row).

    Returns
    -------
    dict
        ``r2``, ``aic``, ``bic`` (Gaussian, up to a constant), ``inference`` (a description)
        and ``n_boot_failed``.
    """
    n = len(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"r2": 1 - rss / np.sum((y - y.mean()) ** 2),
                "aic": n * np.log(rss / n) + 2 * kpar, "bic": n * np.log(rss / n) + kpar * np.log(n),
                "inference": (f"bootstrap ({mode}), {n_boot} refits, percentile {ci_level:.0%}" if n_boot
                              else "none"),
                "n_boot_failed": 0 if boot is None else int(np.isnan(boot[:, 0]).sum())}


def warn_not_scored(caller: str, rows: list, stacklevel: int) -> None:
    """One ComboplanWarning naming the blocks that could not be fitted, if any.

    Parameters
    ----------
    caller : str
        The fitting function's name.
    rows : list of dict
        The ``fit`` table rows (``status`` ``"not_scored"`` with a ``message`` for a skipped block).
    stacklevel : int
        Passed to :func:`warnings.warn`, counted from the caller of this function.
    """
    skipped = [r for r in rows if r["status"] == "not_scored"]
    if skipped:
        warnings.warn(f"{caller}: {len(skipped)} block(s) could not be fitted (e.g. {skipped[0]['message']}); the "
                      "other blocks are unaffected, see result.fit[['status', 'message']].", ComboplanWarning,
                      stacklevel=stacklevel + 1)


def check_design(d1, d2, blk: str, caller: str, min_levels: int, n_params: int,
                 n_named: int | None = None) -> str | None:
    """Why a two-agent block cannot be fitted by a response-surface model, or None.

    Parameters
    ----------
    d1, d2 : ndarray
        Doses of the two agents, one per observation.
    blk : str
        The block's label for the message (``""`` or ``" in block ..."``).
    caller : str
        The fitting function's name for the message.
    min_levels : int
        Dose levels (including 0) each agent needs alone to fit its Hill curve.
    n_params : int
        Free parameters of the surface; the block needs more observations than that.
    n_named : int, optional
        The parameter count the message names (default ``n_params``).

    Returns
    -------
    str or None
        The reason (the block is then reported as not scored), or None when it can be fitted.
    """
    for nm, e, d in (("agent 1", d2 == 0, d1), ("agent 2", d1 == 0, d2)):
        nlev = len(np.unique(d[e]))
        if nlev < min_levels:
            return (f"{caller} needs >= {min_levels} dose levels of {nm} alone (including 0) to fit its Hill "
                    f"curve{blk}; found {nlev}")
    nc = int(((d1 > 0) & (d2 > 0)).sum())
    if nc < 2:
        return f"{caller} needs >= 2 combination observations (both doses > 0){blk}; found {nc}"
    if len(d1) <= n_params:
        return f"{caller}: {len(d1)} observations{blk} cannot determine {n_named or n_params} parameters"
    return None


def edge_starts(d1, d2, y):
    """Hill self-start of both single-agent edges (control included): (2, 4) ``e0, einf, ec50, h``."""
    from .fits import hill_start

    e1 = d2 == 0
    e2 = d1 == 0
    L = max(e1.sum(), e2.sum())
    X = np.full((2, L), np.nan)
    Y = np.full((2, L), np.nan)
    X[0, :e1.sum()], Y[0, :e1.sum()] = d1[e1], y[e1]
    X[1, :e2.sum()], Y[1, :e2.sum()] = d2[e2], y[e2]
    return hill_start(X, Y, np.isfinite(X) & np.isfinite(Y))


def refine(spec, y, cand, fixed=None):
    """Screen candidate starts by RSS, refine the best ones in one engine call.

    Returns
    -------
    est : ndarray
        Best estimates (natural scale).
    bf : BatchFit
        Engine result of the refined starts.
    best : int
        Row of ``bf`` kept.
    tol_note : str, gtol : float, maxiter : int
        Tolerances used (repeated for the bootstrap).
    """
    from .fits import FIT_GTOL, FIT_TOL, _engine

    fit_curves = _engine()
    n = len(y)
    xi = np.arange(n, dtype=float)[None, :]
    nc = len(cand)
    start = cand.copy()
    if fixed:
        for k, v in fixed.items():
            start[:, spec.param_names.index(k)] = v
    with np.errstate(all="ignore"):
        fc = spec.func(np.broadcast_to(xi, (nc, n)), *[start[:, j:j + 1] for j in range(start.shape[1])])
        rc = np.sum((y[None, :] - fc) ** 2, axis=1)
    rc = np.where(np.isfinite(rc), rc, np.inf)
    starts = start[np.argsort(rc, kind="stable")[:_N_STARTS]]
    ns = len(starts)
    X, Y = np.repeat(xi, ns, 0), np.repeat(y[None], ns, 0)
    bf = fit_curves(spec, X, Y, p0=starts, fixed=fixed, maxiter=300, xtol=FIT_TOL, gtol=FIT_GTOL)
    gtol, maxiter = FIT_GTOL, 300
    note = f"xtol={FIT_TOL:g}, gtol={FIT_GTOL:g}"
    if not bf.converged.any():
        bf = fit_curves(spec, X, Y, p0=starts, fixed=fixed, maxiter=1000, xtol=FIT_TOL, gtol=_FALLBACK_GTOL)
        gtol, maxiter = _FALLBACK_GTOL, 1000
        note = (f"xtol={FIT_TOL:g}, gtol={_FALLBACK_GTOL:g} (fallback: gtol={FIT_GTOL:g} not reached in 300 "
                "iterations; flat RSS valley, some parameters weakly identified)")
    rss = np.where(np.isfinite(bf.rss) & bf.converged, bf.rss, np.inf)
    if not np.isfinite(rss).any():
        rss = np.where(np.isfinite(bf.rss), bf.rss, np.inf)
    best = int(np.argmin(rss))
    return bf.estimates[best], bf, best, note, gtol, maxiter


def fit_blocks(model, data, doses, response, by, replicate, response_kind, scale, n_boot, ci_level, seed,
               bootstrap, dose_units, errors, caller):
    """Fit ``model`` (a :class:`_SurfaceModel`) block by block; return the four tables and settings."""
    from .fits import FIT_TOL, _engine

    from .._params import Integral, Interval, Real, StrOptions, check_param

    # options, as the decorated entry points check theirs (InvalidParameterError naming the caller)
    check_param(errors, [StrOptions({"warn", "raise"})], name="errors", func=caller)
    check_param(bootstrap, [StrOptions({"auto", "replicates", "residuals"})], name="bootstrap", func=caller)
    check_param(ci_level, [Interval(Real, 0, 1, closed="neither")], name="ci_level", func=caller)
    check_param(n_boot, [Interval(Integral, 0, None)], name="n_boot", func=caller)
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    if len(design.doses) != 2:
        raise DataError(f"{caller} needs exactly two dose columns; got {list(design.doses)!r}.")
    a1, a2 = design.doses
    obs = design.obs
    top = design.top
    # the caller's response as given (prepare stores inhibition = top - viability)
    yraw = obs["_effect"].to_numpy() if response_kind == "inhibition" else top - obs["_effect"].to_numpy()
    rng = as_rng(seed)
    fit_curves = _engine()
    units = {"C1": (dose_units or {}).get(a1, f"dose unit of {a1}"),
             "C2": (dose_units or {}).get(a2, f"dose unit of {a2}")}
    PR, BL, CE, FT = [], [], [], []
    names = model.param_names
    for b in range(len(design.blocks)):
        sel = np.flatnonzero(obs["_block"].to_numpy() == b)
        d1 = obs[a1].to_numpy()[sel]
        d2 = obs[a2].to_numpy()[sel]
        y = model.to_fit_scale(yraw[sel], response_kind, top)
        bname = {c: design.blocks.iloc[b][c] for c in design.by}
        why = model.check(d1, d2, _blk(design, b), caller)
        cell = obs["_cell"].to_numpy()[sel]
        ucell, inv = np.unique(cell, return_inverse=True)
        cn = np.bincount(inv)
        cd1 = np.bincount(inv, weights=d1) / cn
        cd2 = np.bincount(inv, weights=d2) / cn
        cobs = np.bincount(inv, weights=yraw[sel]) / cn
        if why is not None:
            if errors == "raise":
                raise DataError(why + ".")
            for nm in names:
                PR.append({**bname, "param": nm, "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                           "unit": model.unit(nm, units, design), "fixed": False, "sign": model.sign(nm)})
            BL.append({**bname, "synergy_score": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                       "unit": model.score_unit(design), "n_cells": int(((cd1 > 0) & (cd2 > 0)).sum()),
                       "status": "not_scored", "message": why})
            FT.append({**bname, "converged": False, "status": "not_scored", "message": why, "tolerance": "",
                       "rss": np.nan, "nobs": len(y), "npar": 0, "r2": np.nan, "aic": np.nan, "bic": np.nan,
                       "inference": "none", "n_boot_failed": 0})
            for k in range(len(ucell)):
                CE.append({**bname, a1: cd1[k], a2: cd2[k], "n": int(cn[k]), "observed": cobs[k],
                           "fitted": np.nan, "reference": np.nan, "excess": np.nan})
            continue
        spec = model.spec(d1, d2)
        hf = edge_starts(d1, d2, y)
        cand = model.starts(d1, d2, y, hf)
        fixed = model.fixed()
        est, bf, best, note, gtol, maxiter = refine(spec, y, cand, fixed)
        xi = np.arange(len(y), dtype=float)[None, :]
        fitted = spec.func(xi, *[np.atleast_2d(v) for v in est])[0]
        resid = y - fitted
        combo = (cd1 > 0) & (cd2 > 0)
        score = model.score(est, cd1[combo], cd2[combo], top)
        # ---- bootstrap, batched through the engine
        has_reps = cn.max() > 1
        mode = bootstrap if bootstrap != "auto" else ("replicates" if has_reps else "residuals")
        boot = bscore = None
        if n_boot > 0:
            if mode == "replicates":
                eb = resample_obs(design, n_boot, rng)[:, sel]          # inhibition scale of prepare()
                yb = model.to_fit_scale(eb if response_kind == "inhibition" else top - eb, response_kind, top)
            else:
                yb = fitted[None, :] + rng.choice(resid, size=(n_boot, len(sel)), replace=True)
            bfit = fit_curves(spec, np.repeat(xi, n_boot, 0), yb, p0=np.repeat(est[None], n_boot, 0),
                              fixed=fixed, maxiter=maxiter, xtol=FIT_TOL, gtol=gtol)
            boot = np.where(bfit.converged[:, None], bfit.estimates, np.nan)
            bscore = np.array([model.score(boot[i], cd1[combo], cd2[combo], top) if np.isfinite(boot[i]).all()
                               else np.nan for i in range(n_boot)])
        free = bf.free
        for k, nm in enumerate(names):
            lo = hi = np.nan
            if boot is not None and free[k]:
                lo, hi = percentile_ci(boot[:, k], ci_level)
            PR.append({**bname, "param": nm, "estimate": float(est[k]), "ci_low": float(lo), "ci_high": float(hi),
                       "unit": model.unit(nm, units, design), "fixed": not bool(free[k]), "sign": model.sign(nm)})
        slo = shi = pv = np.nan
        status, msg = "ok", ""
        if bscore is not None:
            fin = np.isfinite(bscore)
            if fin.sum() >= 2 and np.nanstd(bscore) > 0:
                slo, shi = percentile_ci(bscore, ci_level)
                pv = float(boot_pvalue(bscore))
            else:
                status, msg = "no_interval", "bootstrap scores do not vary (or too few refits converged)"
        if not combo.any():
            status, msg = "not_scored", f"no combination cells{_blk(design, b)}"
        BL.append({**bname, "synergy_score": score if combo.any() else np.nan, "ci_low": float(slo),
                   "ci_high": float(shi), "p_value": pv, "unit": model.score_unit(design),
                   "n_cells": int(combo.sum()), "status": status, "message": msg})
        fit_c = model.to_response(model.evaluate(est, cd1, cd2), response_kind, top)
        ref_c = model.to_response(model.evaluate_reference(est, cd1, cd2), response_kind, top)
        exc = model.orient(est, response_kind) * (fit_c - ref_c)
        for k in range(len(ucell)):
            CE.append({**bname, a1: cd1[k], a2: cd2[k], "n": int(cn[k]), "observed": cobs[k],
                       "fitted": fit_c[k], "reference": ref_c[k], "excess": exc[k], "synergy_score": exc[k]})
        n = len(y)
        rss = float(np.sum(resid ** 2))
        kpar = int(bf.npar)
        conv = bool(bf.converged[best])
        FT.append({**bname, "converged": conv, "status": "ok" if conv else "not_converged",
                   "message": str(bf.message[best]), "tolerance": note, "rss": rss, "nobs": n, "npar": kpar,
                   **fit_statistics(y, rss, kpar, n_boot, mode, ci_level, boot)})
        if not conv:
            warnings.warn(f"{caller}: fit{_blk(design, b)} did not converge: {bf.message[best]}", ConvergenceWarning,
                          stacklevel=3)
    warn_not_scored(caller, FT, stacklevel=3)
    settings = {"doses": [a1, a2], "by": list(design.by), "response": response, "response_kind": response_kind,
                "scale": scale, "n_boot": int(n_boot), "ci_level": ci_level, "dose_units": dict(dose_units or {}),
                "param_names": list(names), "reference": model.reference, "title": model.title,
                "sign_convention": model.sign_convention, "bootstrap": bootstrap,
                "sign": sign_sentence(model.score_definition, model.raw_sign)}
    return pd.DataFrame(PR), pd.DataFrame(BL), pd.DataFrame(CE), pd.DataFrame(FT), settings

