"""Public API for in-vitro combination analysis: synergy, chou_talalay, fit_musyc, equivalent_dose."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sst

from ..exceptions import ConvergenceWarning, DataError
from .design import SIGN_CI, SIGN_EXCESS, Design, prepare
from .scoring import Layout, resample_obs, score_sets
from .stats import as_rng, bh_fdr, boot_pvalue, percentile_ci

__all__ = ["synergy", "SynergyResult", "chou_talalay", "ChouTalalayResult", "fit_musyc", "MuSyCResult",
           "equivalent_dose"]

METHODS = ("bliss", "hsa", "loewe", "zip")
_REFERENCES = {
    "bliss": "Bliss (1939) Ann Appl Biol 26:585",
    "hsa": "Berenbaum (1989) Pharmacol Rev 41:93",
    "loewe": "Loewe (1953) Arzneimittelforschung 3:285; solved from single-agent Hill fits",
    "zip": "Yadav et al. (2015) Comput Struct Biotechnol J 13:504 (SynergyFinder form)",
}


# ====================================================================== synergy
@dataclass(frozen=True)
class SynergyResult:
    """Excess-over-reference synergy scores of a combination experiment.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per combination cell and method: the ``by`` columns, the dose columns,
        ``method``, ``n`` (replicates), ``observed`` (mean effect, inhibition units),
        ``reference`` (expected effect), ``score`` (= observed - reference; positive =
        synergy), ``ci_low``/``ci_high``, ``p_value`` (H0: score = 0), ``q_value``
        (Benjamini-Hochberg across all cells of the method), ``inference``,
        ``sign_convention``; ``loewe_ci`` (Loewe interaction index at the observed
        effect, < 1 synergy) for Loewe rows.
    blocks : pandas.DataFrame
        One row per block and method: ``mean`` score over combination cells with CI,
        p-value and BH q-value across blocks, ``max``/``min`` cell scores and
        ``most_synergistic_area`` (largest mean over 3x3 windows of the combination
        grid, two-agent full grids only, as SynergyFinder reports it).
    monotherapy : pandas.DataFrame
        Single-agent Hill fits used (``e0, einf, ec50, h`` on the inhibition scale, with
        bootstrap CIs), empty when none were needed.
    settings : dict
        Arguments, scale, units and the sign convention.
    """

    cells: pd.DataFrame
    blocks: pd.DataFrame
    monotherapy: pd.DataFrame
    settings: dict = field(default_factory=dict)

    @property
    def sign_convention(self) -> str:
        """How to read the scores."""
        return SIGN_EXCESS

    def summary(self) -> str:
        """Plain-text summary of the block-level scores."""
        s = self.settings
        lines = [f"Synergy scores ({', '.join(s['methods'])}); response: {s['response']} "
                 f"({s['response_kind']}, {s['scale']}); {SIGN_EXCESS}.",
                 f"Inference: {s['inference_note']}"]
        cols = [*s["by"], "method", "n_cells", "mean", "ci_low", "ci_high", "p_value", "q_value",
                "most_synergistic_area"]
        lines.append(self.blocks[[c for c in cols if c in self.blocks.columns]].to_string(index=False))
        return "\n".join(lines)

    def to_xarray(self):
        """Scores as an :class:`xarray.Dataset` with one dimension per dose column.

        Variables ``<method>``, ``<method>_ci_low``, ``<method>_ci_high``,
        ``<method>_p_value``, ``<method>_q_value``; the ``by`` columns become extra
        dimensions.  Unobserved dose combinations are NaN (sparse designs).
        """
        import xarray as xr

        s = self.settings
        idx = [*s["by"], *s["doses"]]
        parts = []
        for m, g in self.cells.groupby("method", sort=False):
            t = g.set_index(idx)[["score", "ci_low", "ci_high", "p_value", "q_value"]]
            t.columns = [m, f"{m}_ci_low", f"{m}_ci_high", f"{m}_p_value", f"{m}_q_value"]
            parts.append(t)
        ds = xr.Dataset.from_dataframe(pd.concat(parts, axis=1))
        ds.attrs.update({"sign_convention": SIGN_EXCESS, "response": s["response"],
                         "response_kind": s["response_kind"], "scale": s["scale"],
                         "units": f"{'percentage points' if s['scale'] == 'percent' else 'fraction'} of inhibition",
                         "dose_units": str(s.get("dose_units") or {})})
        return ds

    def plot(self, method: str = "bliss", kind: str = "heatmap", block=0, ax=None, **kwargs):
        """Plot one method's scores.

        Parameters
        ----------
        method : str
            One of the computed methods.
        kind : {"heatmap", "surface", "isobologram", "fa_ci"}
            ``isobologram`` and ``fa_ci`` use the Loewe fits (requires 'loewe').
        block : int
            Block number (row of :attr:`blocks` per method) to plot.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from ..plot import synergy as ps

        fn = {"heatmap": ps.heatmap, "surface": ps.surface, "isobologram": ps.isobologram, "fa_ci": ps.fa_ci}
        if kind not in fn:
            raise DataError(f"kind must be one of {sorted(fn)}; got {kind!r}.")
        return fn[kind](self, method=method, block=block, ax=ax, **kwargs)


def synergy(data, doses, response, by=None, methods=("bliss", "hsa", "loewe", "zip"),
            response_kind="inhibition", monotherapy="observed", baseline_correction=False, ci=0.95,
            n_boot=1000, replicate=None, seed=None, scale="percent", bootstrap="mean",
            inference="bootstrap", dose_units=None) -> SynergyResult:
    """Score a combination experiment with Bliss, HSA, Loewe and/or ZIP, with uncertainty.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well/observation (not modified).
    doses : list of str
        One dose column per agent (each in its own unit, >= 0; 0 = agent absent).
        Two or more agents; Bliss, HSA and Loewe accept any number, ZIP two.
    response : str
        Response column (inhibition or viability, percent or fraction: see
        ``response_kind`` and ``scale``).
    by : str or list of str, optional
        Columns identifying independent blocks (cell line, pair of drugs, plate...).
    methods : sequence of {"bliss", "hsa", "loewe", "zip"}
        Reference models.  Loewe and ZIP need single-agent Hill fits (>= 4 dose levels
        per agent including 0); ZIP needs a complete two-agent dose matrix.
    response_kind : {"inhibition", "viability"}
        Direction of the response.  Viability is converted to inhibition
        (``top - viability``) so every score reads "positive = synergy".
    monotherapy : {"observed", "fitted"}
        Bliss/HSA references from the observed single-agent cells at the same doses
        (SynergyFinder) or from single-agent Hill fits.
    baseline_correction : bool
        SynergyFinder's baseline correction: ``y - (top - y)/top * baseline`` with
        ``baseline`` the smallest single-agent effect of the block (fitted when Hill
        fits are available, else observed).
    ci : float
        Confidence level of the intervals (0-1).
    n_boot : int
        Bootstrap replicates (replicates resampled within cells; single-agent, Loewe
        and ZIP fits are refitted on every replicate, batched).  0 disables.
    replicate : str, optional
        Column identifying replicates.  Required when a cell (block + doses) appears
        more than once; replicates are never averaged before fitting.
    seed : int or numpy.random.Generator, optional
        Random seed of the bootstrap.
    scale : {"percent", "fraction"}
        Response scale (top = 100 or 1); values outside [-0.5, 1.5] x top raise.
    bootstrap : {"mean", "single"}
        ``"mean"``: resample n replicates with replacement per cell (bootstrap of the
        cell mean); ``"single"``: one replicate per cell per draw (SynergyFinder).
    inference : {"bootstrap", "delta"}
        ``"delta"``: for Bliss/HSA with observed monotherapy, Welch-type t intervals
        and p-values from the delta method on cell means and SDs (works with 2-3
        replicates, where the bootstrap is coarse); other methods use the bootstrap.
    dose_units : dict, optional
        ``{dose column: unit}`` recorded in outputs.

    Returns
    -------
    SynergyResult

    Raises
    ------
    DataError
        Malformed input, duplicated cells without ``replicate``, responses outside the
        declared scale, missing monotherapy cells, or a design too sparse for a method
        (the message lists what is missing).
    """
    methods = tuple(dict.fromkeys(m.lower() for m in ([methods] if isinstance(methods, str) else methods)))
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise DataError(f"unknown synergy method(s) {bad!r}; choose from {METHODS}. "
                        "(Chou-Talalay CI and MuSyC have their own functions: chou_talalay, fit_musyc.)")
    if monotherapy not in ("observed", "fitted"):
        raise DataError(f"monotherapy must be 'observed' or 'fitted'; got {monotherapy!r}.")
    if bootstrap not in ("mean", "single"):
        raise DataError(f"bootstrap must be 'mean' or 'single'; got {bootstrap!r}.")
    if inference not in ("bootstrap", "delta"):
        raise DataError(f"inference must be 'bootstrap' or 'delta'; got {inference!r}.")
    if not 0 < ci < 1:
        raise DataError(f"ci must be a confidence level between 0 and 1 (e.g. 0.95); got {ci!r}.")
    n_boot = int(n_boot)
    design = prepare(data, doses, response, by=by, replicate=replicate, response_kind=response_kind, scale=scale)
    top = design.top
    layout = Layout(design, methods, monotherapy)
    y0 = design.obs["_effect"].to_numpy()[None, :]
    if baseline_correction:
        y0 = _baseline_correct(design, layout, y0, top)
        design = _with_effect(design, y0[0])
    point = score_sets(layout, y0, methods, monotherapy, top)
    has_reps = bool((design.cells["n"] > 1).any())
    rng = as_rng(seed)
    boot = None
    if n_boot > 0 and has_reps:
        parts = []
        per = max(1, int(4e6 // max(len(design.obs), 1)))
        for s in range(0, n_boot, per):
            ys = resample_obs(design, min(per, n_boot - s), rng, mode=bootstrap)
            parts.append(score_sets(layout, ys, methods, monotherapy, top))
        boot = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "zip_slices_failed"}
    cells_tab, note = _cell_table(design, layout, methods, point, boot, ci, inference, n_boot, has_reps, bootstrap)
    blocks_tab = _block_table(design, layout, methods, point, boot, ci)
    mono_tab = _mono_table(design, layout, point, boot, ci)
    if "mono_converged" in point and not point["mono_converged"].all():
        warnings.warn(f"{int((~point['mono_converged']).sum())} single-agent Hill fit(s) did not converge; "
                      "see result.monotherapy['converged'].", ConvergenceWarning, stacklevel=2)
    settings = {"methods": methods, "doses": list(design.doses), "by": list(design.by), "response": response,
                "response_kind": response_kind, "scale": scale, "top": top, "monotherapy": monotherapy,
                "baseline_correction": baseline_correction, "ci": ci, "n_boot": n_boot, "bootstrap": bootstrap,
                "inference": inference, "inference_note": note, "replicate": replicate, "seed": seed,
                "sign_convention": SIGN_EXCESS, "dose_units": dict(dose_units or {}),
                "references": {m: _REFERENCES[m] for m in methods}}
    return SynergyResult(cells=cells_tab, blocks=blocks_tab, monotherapy=mono_tab, settings=settings)


def _with_effect(design: Design, eff) -> Design:
    from dataclasses import replace

    obs = design.obs.copy()
    obs["_effect"] = eff
    cells = design.cells.copy()
    g = obs.groupby("_cell", sort=True)["_effect"]
    cells["mean"] = g.mean().to_numpy()
    cells["sd"] = g.std(ddof=1).to_numpy()
    return replace(design, obs=obs, cells=cells)


def _baseline_correct(design, layout, y0, top):
    blocks = design.obs["_block"].to_numpy()
    if layout.curves is not None:
        from .scoring import _fit_mono
        from .fits import hill_predict

        params, _ = _fit_mono(layout, y0)
        fitted = hill_predict(params[0][:, None, :], layout.curve_x)   # (n_curves, L)
        fitted = np.where(layout.curve_mask, fitted, np.inf)
        per_curve = fitted.min(axis=1)
        N = len(design.doses)
        base = per_curve.reshape(-1, N).min(axis=1)
    else:
        c = design.cells
        mono = c[c["role"] == "mono"]
        base = mono.groupby("_block")["mean"].min().reindex(range(len(design.blocks))).fillna(0.0).to_numpy()
    b = base[blocks]
    return y0 - (top - y0) / top * b[None, :]


def _delta_bliss_hsa(design, layout, method, top, ci):
    """Welch/delta-method inference for observed-monotherapy Bliss/HSA (per combo cell)."""
    c = design.cells
    mean = c["mean"].to_numpy()
    var = (c["sd"].to_numpy() ** 2) / c["n"].to_numpy()
    n = c["n"].to_numpy().astype(float)
    idx = layout.mono_idx
    present = layout.combo_doses > 0
    e = np.where(present, mean[np.maximum(idx, 0)], 0.0)
    v = np.where(present, var[np.maximum(idx, 0)], 0.0)
    nn = np.where(present, n[np.maximum(idx, 0)], np.inf)
    if method == "bliss":
        one = 1.0 - e / top
        prod = np.prod(one, axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(present, prod / one, 0.0)
    else:
        g = np.zeros_like(e)
        g[np.arange(len(e)), np.argmax(np.where(present, e, -np.inf), axis=1)] = 1.0
    vc = var[layout.combo]
    comps_v = np.column_stack([vc, g * g * v])
    comps_n = np.column_stack([n[layout.combo], nn])
    tot = comps_v.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dfree = tot**2 / np.sum(np.where(comps_n > 1, comps_v**2 / (comps_n - 1), 0.0), axis=1)
    se = np.sqrt(tot)
    return se, dfree


def _cell_table(design, layout, methods, point, boot, ci, inference, n_boot, has_reps, mode):
    c = design.cells
    combo = layout.combo
    base = c.loc[combo, ["_block", *design.doses, "n"]].reset_index(drop=True)
    if design.by:
        base = design.blocks.iloc[base["_block"].to_numpy()][list(design.by)].reset_index(drop=True).join(base)
    frames = []
    if boot is None:
        note = ("none: every cell has a single observation, so no replicate-level uncertainty can be estimated"
                if not has_reps else "none (n_boot=0)")
    else:
        note = (f"bootstrap, {n_boot} resamples of replicates within cells "
                f"({'one replicate per cell per draw, as SynergyFinder' if mode == 'single' else 'cell means'}), "
                f"percentile {ci:.0%} intervals; fits refitted per resample")
    for m in methods:
        t = base.copy()
        t.insert(0, "method", m)
        t["observed"] = point["observed"][0]
        t["reference"] = point[f"reference_{m}"][0]
        t["score"] = point[m][0]
        inf = note
        if inference == "delta" and m in ("bliss", "hsa") and layout.mono_idx.min() >= 0 and \
                "reference_bliss" in point and has_reps:
            se, dfree = _delta_bliss_hsa(design, layout, m, design.top, ci)
            tq = sst.t.ppf(0.5 + ci / 2, dfree)
            t["se"] = se
            t["ci_low"] = t["score"] - tq * se
            t["ci_high"] = t["score"] + tq * se
            with np.errstate(divide="ignore", invalid="ignore"):
                t["p_value"] = 2 * sst.t.sf(np.abs(t["score"].to_numpy() / se), dfree)
            inf = f"delta method (Welch-Satterthwaite t, {ci:.0%}) on cell means and SDs"
        elif boot is not None:
            b = boot[m]
            lo, hi = percentile_ci(b, ci)
            t["se"] = np.nanstd(b, axis=0, ddof=1)
            t["ci_low"] = lo
            t["ci_high"] = hi
            t["p_value"] = boot_pvalue(b)
        else:
            t["se"] = np.nan
            t["ci_low"] = np.nan
            t["ci_high"] = np.nan
            t["p_value"] = np.nan
        t["q_value"] = bh_fdr(t["p_value"].to_numpy())
        t["inference"] = inf
        if m == "loewe":
            t["loewe_ci"] = point["loewe_ci"][0]
        t["sign_convention"] = SIGN_EXCESS
        t["response_kind"] = design.response_kind
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    if (~np.isfinite(out["score"])).any():
        bad = out.loc[~np.isfinite(out["score"])].iloc[0]
        raise DataError(f"the {bad['method']} score could not be computed for "
                        + ", ".join(f"{d}={bad[d]:g}" for d in design.doses)
                        + " (a single-agent fit failed there); inspect result inputs or drop that method.")
    return out, note


def _windows_max(grid):
    """Max mean over 3x3 windows of the last two axes (NaN if smaller than 3x3)."""
    S, R, C = grid.shape
    if R < 3 or C < 3:
        return np.full(S, np.nan)
    cs = np.cumsum(np.cumsum(np.pad(grid, ((0, 0), (1, 0), (1, 0))), axis=1), axis=2)
    w = cs[:, 3:, 3:] - cs[:, :-3, 3:] - cs[:, 3:, :-3] + cs[:, :-3, :-3]
    return w.reshape(S, -1).max(axis=1) / 9.0


def _block_table(design, layout, methods, point, boot, ci):
    rows = []
    nb = len(design.blocks)
    blk = layout.combo_block
    counts = np.bincount(blk, minlength=nb)
    two = len(design.doses) == 2
    for m in methods:
        sets = point[m] if boot is None else np.concatenate([point[m], boot[m]])
        S = sets.shape[0]
        sums = np.zeros((S, nb))
        np.add.at(sums.T, blk, sets.T)
        means = sums / np.maximum(counts, 1)
        area = np.full((S, nb), np.nan)
        if two:
            for b in range(nb):
                sel = np.flatnonzero(blk == b)
                d = layout.combo_doses[sel]
                u1, i1 = np.unique(d[:, 0], return_inverse=True)
                u2, i2 = np.unique(d[:, 1], return_inverse=True)
                if len(sel) == len(u1) * len(u2):
                    g = np.full((S, len(u1), len(u2)), np.nan)
                    g[:, i1, i2] = sets[:, sel]
                    area[:, b] = _windows_max(g)
        for b in range(nb):
            sel = blk == b
            r = {"_block": b, "method": m, "n_cells": int(counts[b]), "mean": means[0, b],
                 "max": np.max(point[m][0, sel]), "min": np.min(point[m][0, sel]),
                 "most_synergistic_area": area[0, b]}
            if boot is not None:
                lo, hi = percentile_ci(means[1:, b], ci)
                r.update(ci_low=lo, ci_high=hi, p_value=float(boot_pvalue(means[1:, b])),
                         area_ci_low=percentile_ci(area[1:, b], ci)[0] if np.isfinite(area[0, b]) else np.nan,
                         area_ci_high=percentile_ci(area[1:, b], ci)[1] if np.isfinite(area[0, b]) else np.nan)
            else:
                r.update(ci_low=np.nan, ci_high=np.nan, p_value=np.nan, area_ci_low=np.nan, area_ci_high=np.nan)
            rows.append(r)
    t = pd.DataFrame(rows)
    t["q_value"] = np.nan
    for m in methods:
        sel = t["method"] == m
        t.loc[sel, "q_value"] = bh_fdr(t.loc[sel, "p_value"].to_numpy())
    t["sign_convention"] = SIGN_EXCESS
    if design.by:
        t = design.blocks.set_index("_block").loc[t["_block"]].reset_index().join(t.drop(columns="_block"))
    return t.drop(columns="_block")


def _mono_table(design, layout, point, boot, ci):
    if "mono_params" not in point:
        return pd.DataFrame(columns=["agent", "param", "estimate", "ci_low", "ci_high", "converged"])
    P = point["mono_params"][0]
    conv = point["mono_converged"][0]
    rows = []
    names = ("e0", "einf", "ec50", "h")
    for i, (b, k) in enumerate(layout.curves):
        for j, nm in enumerate(names):
            r = {"_block": b, "agent": design.doses[k], "param": nm, "estimate": P[i, j],
                 "converged": bool(conv[i])}
            if boot is not None:
                lo, hi = percentile_ci(boot["mono_params"][:, i, j], ci)
                r.update(ci_low=lo, ci_high=hi)
            else:
                r.update(ci_low=np.nan, ci_high=np.nan)
            r["unit"] = ("dose unit of " + design.doses[k]) if nm == "ec50" else ("1" if nm == "h" else
                                                                                  "inhibition (response unit)")
            rows.append(r)
    t = pd.DataFrame(rows)
    if design.by:
        t = design.blocks.set_index("_block").loc[t["_block"]].reset_index().join(t.drop(columns="_block"))
    return t.drop(columns="_block")
