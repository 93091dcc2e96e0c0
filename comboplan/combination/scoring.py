"""Vectorised scoring of many data sets (original + bootstrap resamples) at once (internal)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..models.combination import bliss_reference, hsa_reference, loewe_index, loewe_reference, zip_delta
from ..models.combination.zip import zip_slice
from .design import Design
from .fits import fit_hill, fit_zip_slices, hill_predict

__all__ = ["Layout", "build_layout", "score_sets", "resample_obs", "set_cell_means"]

MIN_HILL_LEVELS = 4


def set_cell_means(design: Design, y_sets: np.ndarray) -> np.ndarray:
    """Cell means of every set: (S, n_obs) -> (S, n_cells)."""
    codes = design.obs["_cell"].to_numpy()
    n_cells = len(design.cells)
    S = y_sets.shape[0]
    flat = (codes[None, :] + n_cells * np.arange(S)[:, None]).ravel()
    sums = np.bincount(flat, weights=y_sets.ravel(), minlength=S * n_cells).reshape(S, n_cells)
    return sums / design.cells["n"].to_numpy()[None, :]


def resample_obs(design: Design, n_boot: int, rng, mode: str = "mean") -> np.ndarray:
    """Bootstrap data sets resampling replicates within cells: (n_boot, n_obs).

    ``mode="mean"`` draws each observation from its own cell's replicates with
    replacement (the usual nonparametric bootstrap of the cell); ``"single"`` draws one
    replicate per cell and gives it to every observation of the cell (SynergyFinder's
    one-replicate-per-cell resampling).
    """
    padded, counts = design.cell_values()
    codes = design.obs["_cell"].to_numpy()
    cnt = counts[codes]
    if mode == "single":
        pick = (rng.random((n_boot, len(counts))) * counts[None, :]).astype(np.int64)
        return padded[codes[None, :], pick[:, codes]]
    j = (rng.random((n_boot, len(codes))) * cnt[None, :]).astype(np.int64)
    return padded[codes[None, :], j]


class Layout:
    """Indices needed to score combination cells (computed once per design)."""

    def __init__(self, design: Design, methods, monotherapy: str):
        self.design = design
        cells = design.cells
        doses = list(design.doses)
        self.combo = cells.index[cells["role"] == "combo"].to_numpy()
        if len(self.combo) == 0:
            raise DataError("no combination cells found (cells where at least two agents have dose > 0); "
                            f"check the dose columns {doses!r}.")
        dmat = cells[doses].to_numpy()
        self.combo_doses = dmat[self.combo]
        self.combo_block = cells["_block"].to_numpy()[self.combo]
        N = len(doses)
        need_fit = monotherapy == "fitted" or "loewe" in methods or "zip" in methods
        # observed monotherapy lookup, vectorised: every cell gets a mixed-radix key of
        # (block, dose level of each agent); the monotherapy partner of agent k in a
        # combination cell has the same block, agent k's level and level "0" elsewhere.
        self.mono_idx, miss_r, miss_k = _mono_lookup(cells, dmat, self.combo, N)
        self.missing_mono = sorted({(int(self.combo_block[r]), doses[k], float(self.combo_doses[r, k]))
                                    for r, k in zip(miss_r[:1000], miss_k[:1000])})
        self.n_missing_mono = len(set(zip(self.combo_block[miss_r].tolist(), miss_k.tolist(),
                                          self.combo_doses[miss_r, miss_k].tolist()))) if len(miss_r) else 0
        if monotherapy == "observed" and ({"bliss", "hsa"} & set(methods)) and self.missing_mono:
            raise DataError(
                "monotherapy='observed' needs, for every combination cell, the same dose of each agent given alone; "
                f"{self.n_missing_mono} monotherapy cell(s) are missing, e.g. " + _fmt_missing(design, self.missing_mono) +
                ". Add those wells, or pass monotherapy='fitted' (single-agent Hill fits, needs >= "
                f"{MIN_HILL_LEVELS} dose levels per agent including 0).")
        # single-agent curves (block, agent): rows of the agent's mono cells + the block's controls
        self.curves = None
        if need_fit:
            self._build_curves()
        self.zip = _zip_layout(self) if "zip" in methods else None

    def _build_curves(self):
        design = self.design
        cells = design.cells
        obs = design.obs
        doses = list(design.doses)
        role = cells["role"].to_numpy()[obs["_cell"].to_numpy()]
        agent = cells["agent"].to_numpy()[obs["_cell"].to_numpy()]
        blocks = obs["_block"].to_numpy()
        keys, rows, xs = [], [], []
        problems = []
        for b in range(len(design.blocks)):
            inb = blocks == b
            ctrl = np.flatnonzero(inb & (role == "control"))
            for k, a in enumerate(doses):
                r = np.concatenate([ctrl, np.flatnonzero(inb & (role == "mono") & (agent == a))])
                x = obs[a].to_numpy()[r]
                lv = np.unique(x)
                if len(lv) < MIN_HILL_LEVELS:
                    problems.append((b, a, lv))
                keys.append((b, k))
                rows.append(r)
                xs.append(x)
        if problems:
            b, a, lv = problems[0]
            raise DataError(
                f"a single-agent Hill fit of agent {a!r}{_block_name(self.design, b)} needs >= {MIN_HILL_LEVELS} "
                f"dose levels (including the untreated control, dose 0); found {len(lv)}: "
                f"{', '.join(f'{v:g}' for v in lv)}. Methods 'loewe', 'zip' and monotherapy='fitted' need these fits; "
                f"{len(problems)} agent curve(s) are affected. Use methods=('bliss', 'hsa') with "
                "monotherapy='observed' for sparse designs.")
        L = max(len(r) for r in rows)
        n = len(rows)
        self.curve_rows = np.full((n, L), -1, dtype=np.int64)
        self.curve_x = np.full((n, L), np.nan)
        for i, (r, x) in enumerate(zip(rows, xs)):
            self.curve_rows[i, :len(r)] = r
            self.curve_x[i, :len(r)] = x
        self.curve_mask = self.curve_rows >= 0
        self.curves = keys  # curve i = (block, agent index); i = block * N + k


def _mono_lookup(cells, dmat, combo, N):
    """Index of the monotherapy cell matching each (combination cell, agent), -1 if absent.

    Returns ``(mono_idx (n_combo, N), missing rows, missing agents)``.
    """
    blk = cells["_block"].to_numpy().astype(np.int64)
    codes = np.empty(dmat.shape, dtype=np.int64)
    zero = np.full(N, -1, dtype=np.int64)
    radix = np.empty(N, dtype=np.int64)
    for k in range(N):
        lv, inv = np.unique(dmat[:, k], return_inverse=True)
        codes[:, k] = np.asarray(inv).ravel()
        radix[k] = len(lv)
        if lv[0] == 0.0:
            zero[k] = 0

    def key(b, c):
        out = b.copy()
        for k in range(N):
            out = out * radix[k] + c[:, k]
        return out

    role = np.minimum((dmat > 0).sum(axis=1), 2)
    mono = np.flatnonzero(role == 1)
    mkey = key(blk[mono], codes[mono])
    order = np.argsort(mkey, kind="stable")
    mkey = mkey[order]
    cd = dmat[combo]
    rr, kk = np.nonzero(cd > 0)
    want = np.broadcast_to(zero, (len(rr), N)).copy()
    want[np.arange(len(rr)), kk] = codes[combo[rr], kk]
    ok = np.all(want >= 0, axis=1)
    wkey = key(blk[combo[rr]], np.maximum(want, 0))
    pos = np.clip(np.searchsorted(mkey, wkey), 0, max(len(mkey) - 1, 0))
    found = ok & (len(mkey) > 0) & (mkey[pos] == wkey) if len(mkey) else np.zeros(len(rr), dtype=bool)
    mono_idx = np.full((len(combo), N), -1, dtype=np.int64)
    mono_idx[rr[found], kk[found]] = mono[order[pos[found]]]
    return mono_idx, rr[~found], kk[~found]


def _block_name(design, b):
    if not design.by:
        return ""
    row = design.blocks.iloc[b]
    return " in block " + ", ".join(f"{c}={row[c]!r}" for c in design.by)


def _fmt_missing(design, missing, k=5):
    out = []
    for b, a, d in missing[:k]:
        out.append(f"{a}={d:g} alone{_block_name(design, b)}")
    return "; ".join(out)


def _zip_layout(L: Layout):
    design = L.design
    doses = list(design.doses)
    if len(doses) != 2:
        raise DataError(f"ZIP is defined for two agents; got {len(doses)} dose columns {doses!r}. "
                        "Drop 'zip' from methods for higher-order combinations.")
    cells = design.cells
    obs = design.obs
    a1, a2 = doses
    problems = []
    slices = []   # (block, varied agent k, held dose, rows of obs)
    for b in range(len(design.blocks)):
        cb = cells[cells["_block"] == b]
        l1 = np.unique(cb[a1].to_numpy())
        l2 = np.unique(cb[a2].to_numpy())
        have = set(zip(cb[a1].to_numpy(), cb[a2].to_numpy()))
        miss = [(x, y) for x in l1 for y in l2 if (x, y) not in have]
        if miss or l1[0] != 0 or l2[0] != 0:
            problems.append((b, miss, l1, l2))
            continue
        ob = obs[obs["_block"] == b]
        for k, (va, ha, held_levels) in enumerate(((a1, a2, l2), (a2, a1, l1))):
            for h in held_levels[1:]:
                r = ob.index[(ob[ha] == h) & (ob[va] > 0)].to_numpy()
                slices.append((b, k, h, r))
    if problems:
        b, miss, l1, l2 = problems[0]
        what = (f"{len(miss)} cell(s) of the {len(l1)}x{len(l2)} dose grid are missing, e.g. " +
                "; ".join(f"{a1}={x:g}, {a2}={y:g}" for x, y in miss[:5])) if miss else \
            "the grid has no untreated/monotherapy row or column (dose 0)"
        raise DataError(f"ZIP needs a complete dose matrix including the dose-0 row and column{_block_name(design, b)}: "
                        f"{what}. Use methods=('bliss', 'hsa') for sparse designs.")
    Ls = max(len(s[3]) for s in slices)
    rows = np.full((len(slices), Ls), -1, dtype=np.int64)
    for i, s in enumerate(slices):
        rows[i, :len(s[3])] = s[3]
    meta = pd.DataFrame({"block": [s[0] for s in slices], "varied": [s[1] for s in slices],
                         "held": [s[2] for s in slices]})
    x = np.where(rows >= 0, design.obs[[a1, a2]].to_numpy()[np.maximum(rows, 0), meta["varied"].to_numpy()[:, None]],
                 np.nan)
    nlev = np.array([len(np.unique(xx[np.isfinite(xx)])) for xx in x])
    # map each combo cell to its two slices
    key = {(b, k, h): i for i, (b, k, h) in enumerate(zip(meta["block"], meta["varied"], meta["held"]))}
    cd = L.combo_doses
    s1 = np.array([key[(b, 0, d2)] for b, d2 in zip(L.combo_block, cd[:, 1])])
    s2 = np.array([key[(b, 1, d1)] for b, d1 in zip(L.combo_block, cd[:, 0])])
    return {"rows": rows, "mask": rows >= 0, "x": x, "meta": meta, "nlev": nlev, "s1": s1, "s2": s2}


def _fit_mono(L: Layout, y_sets):
    """Hill fits of every (set, block, agent) curve: params (S, n_curves, 4), converged."""
    S = y_sets.shape[0]
    rows = L.curve_rows
    y = np.where(L.curve_mask[None], y_sets[:, np.maximum(rows, 0)], np.nan)
    x = np.broadcast_to(L.curve_x, y.shape)
    n = rows.shape[0]
    fit = fit_hill(x.reshape(S * n, -1), y.reshape(S * n, -1),
                   np.broadcast_to(L.curve_mask, y.shape).reshape(S * n, -1))
    return fit.estimates.reshape(S, n, 4), fit.converged.reshape(S, n)


def score_sets(L: Layout, y_sets: np.ndarray, methods, monotherapy: str, top: float):
    """Score every combination cell in every data set.

    Returns
    -------
    dict
        ``{method: (S, n_combo) scores}``, ``observed`` (S, n_combo), ``reference_<method>``,
        ``loewe_ci``, ``mono_params`` (S, n_curves, 4) when fitted, ``mono_converged``.
    """
    design = L.design
    means = set_cell_means(design, y_sets)
    obs_c = means[:, L.combo]
    out = {"observed": obs_c}
    N = len(design.doses)
    params = None
    if L.curves is not None:
        params, conv = _fit_mono(L, y_sets)
        out["mono_params"] = params
        out["mono_converged"] = conv
        cidx = L.combo_block[:, None] * N + np.arange(N)[None, :]          # (n_combo, N)
        P = params[:, cidx, :]                                            # (S, n_combo, N, 4)
    if monotherapy == "fitted":
        mono_eff = hill_predict(P, L.combo_doses[None])
        mono_eff = np.where(L.combo_doses[None] > 0, mono_eff, np.nan)
    else:
        mono_eff = np.where(L.mono_idx[None] >= 0, means[:, np.maximum(L.mono_idx, 0)], np.nan)
    present = L.combo_doses[None] > 0
    if "bliss" in methods:
        ref = bliss_reference(np.where(present, mono_eff, 0.0), top=top)
        out["reference_bliss"] = ref
        out["bliss"] = obs_c - ref
    if "hsa" in methods:
        ref = hsa_reference(np.where(present, mono_eff, -np.inf))
        out["reference_hsa"] = ref
        out["hsa"] = obs_c - ref
    if "loewe" in methods:
        e0, einf, ec50, h = (P[..., k] for k in range(4))
        ref = loewe_reference(np.broadcast_to(L.combo_doses, e0.shape), e0, einf, ec50, h)
        out["reference_loewe"] = ref
        out["loewe"] = obs_c - ref
        out["loewe_ci"] = loewe_index(np.broadcast_to(L.combo_doses, e0.shape), obs_c, e0, einf, ec50, h)
    if "zip" in methods:
        out.update(_zip_sets(L, y_sets, means, params, top))
    return out


def _zip_sets(L: Layout, y_sets, means, params, top):
    Z = L.zip
    S = y_sets.shape[0]
    rows, mask, x, meta = Z["rows"], Z["mask"], Z["x"], Z["meta"]
    n_sl = rows.shape[0]
    N = 2
    blk = meta["block"].to_numpy()
    held_agent = 1 - meta["varied"].to_numpy()
    held = meta["held"].to_numpy()
    # bottom of each slice: held agent's fitted single-agent effect at the held dose
    Pb = params[:, blk * N + held_agent, :]                     # (S, n_sl, 4)
    bottom = hill_predict(Pb, held[None, :])                   # (S, n_sl)
    y = np.where(mask[None], y_sets[:, np.maximum(rows, 0)], np.nan)
    xx = np.broadcast_to(x, y.shape)
    fit_it = Z["nlev"] >= 2
    est = np.full((S, n_sl, 4), np.nan)
    conv = np.zeros((S, n_sl), dtype=bool)
    if fit_it.any():
        sel = np.flatnonzero(fit_it)
        e, c = fit_zip_slices(xx[:, sel].reshape(S * len(sel), -1), y[:, sel].reshape(S * len(sel), -1),
                              np.broadcast_to(mask[sel], (S, len(sel), mask.shape[1])).reshape(S * len(sel), -1),
                              bottom[:, sel].reshape(-1), top)
        est[:, sel] = e.reshape(S, len(sel), 4)
        conv[:, sel] = c.reshape(S, len(sel))
    cd = L.combo_doses
    obs_c = means[:, L.combo]

    def slice_value(sidx, dose):
        p = est[:, sidx, :]
        v = zip_slice(dose[None, :], p[..., 0], p[..., 1], p[..., 2], p[..., 3])
        ok = conv[:, sidx] & np.isfinite(v)
        return np.where(ok, v, obs_c)      # SynergyFinder: unfitted/failed slice -> observed

    f12 = slice_value(Z["s1"], cd[:, 0])   # agent 1 varied, agent 2 held
    f21 = slice_value(Z["s2"], cd[:, 1])
    P1 = params[:, L.combo_block * N + 0, :]
    P2 = params[:, L.combo_block * N + 1, :]
    y1 = hill_predict(P1, cd[None, :, 0])
    y2 = hill_predict(P2, cd[None, :, 1])
    delta = zip_delta(f12, f21, y1, y2, top=top)
    return {"zip": delta, "reference_zip": y1 + y2 - y1 * y2 / top, "zip_fitted": 0.5 * (f12 + f21),
            "zip_slices_failed": (~conv[:, fit_it]).sum(axis=1)}
