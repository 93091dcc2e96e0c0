"""Vectorised scoring of many data sets (original + bootstrap resamples) at once (internal)."""
from __future__ import annotations

import numpy as np

from ..data.validate import _fmt_label
from ..exceptions import DataError
from ..models.combination import bliss_reference, hsa_reference, loewe_index, loewe_reference, zip_delta
from ..models.combination.zip import zip_slice
from .design import Design
from .fits import ZIP3_MIN_LEVELS, fit_hill, fit_zip3_slices, fit_zip_slices, hill_predict
from .stats import dense_rank_within

__all__ = ["Layout", "score_sets", "resample_obs", "set_cell_means"]

MIN_HILL_LEVELS = 4


def set_cell_means(design: Design, y_sets: np.ndarray) -> np.ndarray:
    """Cell means of every set: (S, n_obs) -> (S, n_cells)."""
    codes = design.obs_data["_cell"]
    n_cells = design.n_cells
    S = y_sets.shape[0]
    flat = (codes[None, :] + n_cells * np.arange(S)[:, None]).ravel()
    sums = np.bincount(flat, weights=y_sets.ravel(), minlength=S * n_cells).reshape(S, n_cells)
    return sums / design.cell_data["n"][None, :]


def resample_obs(design: Design, n_boot: int, rng, mode: str = "mean") -> np.ndarray:
    """Bootstrap data sets resampling replicates within cells: (n_boot, n_obs).

    ``mode="mean"`` draws each observation from its own cell's replicates with
    replacement after inflating their deviations from the cell mean by
    ``sqrt(n / (n - 1))``, so that the bootstrap variance of a cell mean is the unbiased
    ``s^2 / n``.  Plain resampling gives ``(n - 1)/n * s^2 / n`` -- a third too small with
    triplicates -- and made tests of block means reject a true null about 12 % of the time
    at a nominal 5 % (simulation in ``tests/test_combination_calibration.py``).
    ``"single"`` draws one raw replicate per cell and gives it to every observation of the
    cell (SynergyFinder's one-replicate-per-cell resampling, kept as the peer defines it).
    """
    padded, counts = design.cell_values()
    codes = design.obs_data["_cell"]
    cnt = counts[codes]
    if mode == "single":
        pick = (rng.random((n_boot, len(counts))) * counts[None, :]).astype(np.int64)
        return padded[codes[None, :], pick[:, codes]]
    valid = np.arange(padded.shape[1])[None, :] < counts[:, None]
    mean = np.sum(np.where(valid, padded, 0.0), axis=1) / np.maximum(counts, 1)
    infl = np.sqrt(counts / np.maximum(counts - 1, 1)) * (counts > 1) + (counts <= 1)
    inflated = np.where(valid, mean[:, None] + infl[:, None] * (padded - mean[:, None]), padded)
    j = (rng.random((n_boot, len(codes))) * cnt[None, :]).astype(np.int64)
    return inflated[codes[None, :], j]


class Layout:
    """Indices needed to score combination cells (computed once per design).

    Problems that stop a method from scoring some cells or blocks (a missing
    monotherapy cell, too few single-agent dose levels, an incomplete ZIP grid) do not
    raise here: they are recorded per method and combination cell in ``code`` (0 =
    scorable, ``k`` > 0 = ``reasons[k]``, a message naming the block and the cause), so
    that one bad block never stops a screen.  :func:`comboplan.combination.api.synergy`
    turns them into ``status``/``message`` columns (or raises with ``errors="raise"``).
    """

    def __init__(self, design: Design, methods, monotherapy: str, zip_version: str = "2",
                 loewe_method: str = "classic"):
        self.design = design
        self.zip_version = zip_version
        self.loewe_method = loewe_method   # "classic" or "dose_equivalence" (Grabovsky & Tallarida 2004)
        cells = design.cell_data
        doses = list(design.doses)
        self.combo = np.flatnonzero(cells["n_agents"] >= 2)
        if len(self.combo) == 0:
            raise DataError("no combination cells found (cells where at least two agents have dose > 0)"
                            f"{'' if not design.by else ' in any block'}; check the dose columns {doses!r}.")
        dmat = np.array([cells[d] for d in doses]).T          # (n_cells, N)
        self.combo_doses = dmat[self.combo]
        self.combo_block = cells["_block"][self.combo]
        self.reasons = [""]
        self.code = {m: np.zeros(len(self.combo), dtype=np.int64) for m in methods}
        N = len(doses)
        self.fit_methods = tuple(m for m in methods if m in ("loewe", "zip")
                                 or (monotherapy == "fitted" and m in ("bliss", "hsa")))
        need_fit = bool(self.fit_methods)
        # observed monotherapy lookup, vectorised: every cell gets a mixed-radix key of
        # (block, dose level of each agent); the monotherapy partner of agent k in a
        # combination cell has the same block, agent k's level and level "0" elsewhere.
        if {"bliss", "hsa"} & set(methods):
            self.mono_idx, miss_r, miss_k = _mono_lookup(design, dmat, self.combo, N)
        else:  # Loewe/ZIP use the fitted curves only: no observed monotherapy lookup needed
            self.mono_idx = np.full((len(self.combo), N), -1, dtype=np.int64)
            miss_r = miss_k = np.zeros(0, dtype=np.int64)
        if monotherapy == "observed" and ({"bliss", "hsa"} & set(methods)) and len(miss_r):
            self._record_missing_mono(miss_r, miss_k, [m for m in ("bliss", "hsa") if m in methods])
        # single-agent curves (block, agent): rows of the agent's mono cells + the block's controls
        self.curves = None
        self.bad_curve = np.zeros(0, dtype=bool)
        self.block_fit_ok = np.ones(design.n_blocks, dtype=bool)
        if need_fit:
            self._build_curves()
        self.zip = _zip_layout(self) if "zip" in methods else None

    def reason(self, message: str) -> int:
        """Code of ``message`` in :attr:`reasons` (added when new)."""
        try:
            return self.reasons.index(message)
        except ValueError:
            self.reasons.append(message)
            return len(self.reasons) - 1

    def mark(self, methods, rows, code: int):
        """Record ``code`` for combination cells ``rows`` of ``methods`` (first reason wins)."""
        for m in methods:
            c = self.code[m]
            c[rows] = np.where(c[rows] == 0, code, c[rows])

    def mark_blocks(self, methods, block_codes):
        """Record a per-block code array (0 = fine) for every combination cell of the block."""
        per = block_codes[self.combo_block]
        for m in methods:
            c = self.code[m]
            self.code[m] = np.where(c == 0, per, c)

    def _record_missing_mono(self, miss_r, miss_k, methods):
        design = self.design
        doses = list(design.doses)
        trip = np.column_stack([self.combo_block[miss_r], miss_k]).astype(float)
        trip = np.column_stack([trip, self.combo_doses[miss_r, miss_k]])
        ut, inv = np.unique(trip, axis=0, return_inverse=True)
        codes = np.array([self.reason(
            f"no monotherapy cell {doses[int(k)]}={d:g} alone{_block_name(design, int(b))}: "
            "monotherapy='observed' needs, for every combination cell, the same dose of each agent given alone. "
            "Add that well, or pass monotherapy='fitted' (single-agent Hill fits, needs >= "
            f"{MIN_HILL_LEVELS} dose levels per agent including 0)") for b, k, d in ut])
        code_entry = codes[np.asarray(inv).ravel()]
        first = np.zeros(len(self.combo), dtype=np.int64)
        # first missing partner of each cell (entries are in row order)
        order = np.argsort(miss_r, kind="stable")[::-1]
        first[miss_r[order]] = code_entry[order]
        rows = np.unique(miss_r)
        for m in methods:
            self.code[m][rows] = np.where(self.code[m][rows] == 0, first[rows], self.code[m][rows])

    def _build_curves(self):
        design = self.design
        cells = design.cell_data
        obs = design.obs_data
        doses = list(design.doses)
        N = len(doses)
        nb = design.n_blocks
        oc = obs["_cell"]
        role = np.minimum(cells["n_agents"], 2)[oc]
        agent = cells["agent_k"][oc]
        blocks = obs["_block"].astype(np.int64)
        dmat = np.column_stack([obs[d] for d in doses])
        # (curve, observation) pairs: controls belong to every agent's curve of their block
        ctrl = np.flatnonzero(role == 0)
        mono = np.flatnonzero(role == 1)
        cur = np.concatenate([(blocks[ctrl][:, None] * N + np.arange(N)[None, :]).ravel(),
                              blocks[mono] * N + agent[mono]])
        row = np.concatenate([np.repeat(ctrl, N), mono])
        xval = np.concatenate([np.zeros(len(ctrl) * N), dmat[mono, agent[mono]]])
        order = np.lexsort((row, cur))
        cur, row, xval = cur[order], row[order], xval[order]
        n = nb * N
        cnt = np.bincount(cur, minlength=n)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        pos = np.arange(len(cur)) - start[cur]
        # distinct dose levels per curve
        lv, code = np.unique(xval, return_inverse=True)
        pair = np.unique(cur * len(lv) + np.asarray(code).ravel())
        nlev = np.bincount(pair // len(lv), minlength=n)
        bad = nlev < MIN_HILL_LEVELS
        self.bad_curve = bad
        if bad.any():
            bcode = np.zeros(nb, dtype=np.int64)
            for i in np.flatnonzero(bad)[::-1]:          # first agent's reason of a block wins
                b, k = divmod(int(i), N)
                lvi = np.unique(xval[cur == i])
                bcode[b] = self.reason(
                    f"a single-agent Hill fit of agent {doses[k]!r}{_block_name(design, b)} needs >= "
                    f"{MIN_HILL_LEVELS} dose levels (including the untreated control, dose 0); found {len(lvi)}"
                    + (f": {', '.join(f'{v:g}' for v in lvi)}" if len(lvi) else "")
                    + ". Methods 'loewe', 'zip' and monotherapy='fitted' need these fits; use "
                    "methods=('bliss', 'hsa') with monotherapy='observed' for sparse designs")
            self.block_fit_ok = bcode == 0
            self.mark_blocks(self.fit_methods, bcode)
        L = max(int(cnt.max()) if len(cnt) else 1, 1)
        self.curve_rows = np.full((n, L), -1, dtype=np.int64)
        self.curve_x = np.full((n, L), np.nan)
        self.curve_rows[cur, pos] = row
        self.curve_x[cur, pos] = xval
        self.curve_mask = (self.curve_rows >= 0) & ~bad[:, None]
        self.curves = [(b, k) for b in range(nb) for k in range(N)]  # curve i = (block, agent); i = b * N + k


def _mono_lookup(design, dmat, combo, N):
    """Index of the monotherapy cell matching each (combination cell, agent), -1 if absent.

    Uses the dose levels of :func:`~comboplan.combination.design.prepare` (each agent's
    sorted distinct doses and every cell's level codes): every cell has the mixed-radix key
    ``(block, level of agent 1, ..., level of agent N)`` and the partner of agent ``k`` in a
    combination cell has the same block, agent ``k``'s level and level "dose 0" (code 0)
    elsewhere, so all partners are looked up by one sorted search.
    Returns ``(mono_idx (n_combo, N), missing rows, missing agents)``.
    """
    cells = design.cell_data
    blk = cells["_block"].astype(np.int64)
    codes = cells["_levels"]
    radix = np.array([len(lv) for lv in design.dose_levels], dtype=np.int64)
    no_zero = np.array([lv[0] != 0.0 for lv in design.dose_levels])      # agent never given at dose 0
    # key = ((block * r_1 + c_1) * r_2 + c_2) ... = block * prod(r) + sum_k c_k * stride_k
    stride = np.ones(N, dtype=np.int64)
    stride[:-1] = np.cumprod(radix[:0:-1])[::-1]
    span = (stride[:1] * radix[:1])[0]
    mono = np.flatnonzero(cells["n_agents"] == 1)                         # cells with one agent given
    mkey = blk[mono] * span + codes[mono] @ stride
    order = np.argsort(mkey, kind="stable")
    mkey = mkey[order]
    present = dmat[combo] > 0
    # agent k's partner exists only if every other agent has a dose-0 level
    ok = (no_zero.sum() - no_zero) == 0
    want = (blk[combo] * span)[:, None] + codes[combo] * stride[None, :]   # (n_combo, N)
    if len(mkey):
        pos = np.minimum(np.searchsorted(mkey, want), len(mkey) - 1)
        found = present & ok[None, :] & (mkey[pos] == want)
        mono_idx = np.where(found, mono[order][pos], -1)
    else:
        found = np.zeros(present.shape, dtype=bool)
        mono_idx = np.full(present.shape, -1, dtype=np.int64)
    rr, kk = np.nonzero(present & ~found)
    return mono_idx, rr, kk


def group_slices(keys, rows, x):
    """Group observations into ZIP slices, each slice's observations in input order.

    Parameters
    ----------
    keys : numpy.ndarray of int
        Slice key of each observation (block, varied agent and held dose coded as one integer).
    rows : numpy.ndarray of int
        Observation row of each entry.
    x : numpy.ndarray
        Dose of the varied agent of each entry (dose unit).

    Returns
    -------
    tuple
        ``(ukey, sid, rows, x, cnt, pos)``: the distinct keys, each entry's slice index, the
        rows and doses sorted by (slice, row), the count per slice and each entry's position
        within its slice (column of the ragged ``(n_slices, max count)`` layout).
    """
    ukey, sid = np.unique(keys, return_inverse=True)
    sid = np.asarray(sid).ravel()
    order = np.lexsort((rows, sid))
    sid, rows, x = sid[order], rows[order], x[order]
    cnt = np.bincount(sid, minlength=len(ukey))
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    return ukey, sid, rows, x, cnt, np.arange(len(sid)) - start[sid]


def _block_name(design, b):
    if not design.by:
        return ""
    row = design.blocks.iloc[b]
    return " in block " + ", ".join(f"{c}={_fmt_label(row[c])}" for c in design.by)


def _fmt_missing(design, missing, k=5):
    out = []
    for b, a, d in missing[:k]:
        out.append(f"{a}={d:g} alone{_block_name(design, b)}")
    return "; ".join(out)


def _zip_layout(L: Layout):
    """Row/column slices of every block's dose matrix (vectorised over blocks)."""
    design = L.design
    doses = list(design.doses)
    if len(doses) != 2:
        raise DataError(f"ZIP is defined for two agents; got {len(doses)} dose columns {doses!r}. "
                        "Drop 'zip' from methods for higher-order combinations.")
    cells = design.cell_data
    obs = design.obs_data
    a1, a2 = doses
    nb = design.n_blocks
    cb = cells["_block"].astype(np.int64)
    c1 = cells[a1]
    c2 = cells[a2]
    r1 = dense_rank_within(cb, c1, nb)
    r2 = dense_rank_within(cb, c2, nb)
    n1 = np.zeros(nb, np.int64)
    n2 = np.zeros(nb, np.int64)
    np.maximum.at(n1, cb, r1 + 1)
    np.maximum.at(n2, cb, r2 + 1)
    ncell = np.bincount(cb, minlength=nb)
    has0 = np.zeros((nb, 2), bool)
    np.logical_or.at(has0[:, 0], cb, c1 == 0)
    np.logical_or.at(has0[:, 1], cb, c2 == 0)
    okb = (ncell == n1 * n2) & has0.all(axis=1)
    bcode = np.zeros(nb, dtype=np.int64)
    for b in np.flatnonzero(~okb):
        sel = cb == b
        l1 = np.unique(c1[sel])
        l2 = np.unique(c2[sel])
        have = set(zip(c1[sel].tolist(), c2[sel].tolist()))
        miss = [(x, y) for x in l1 for y in l2 if (x, y) not in have]
        what = (f"{len(miss)} cell(s) of the {len(l1)}x{len(l2)} dose grid are missing, e.g. " +
                "; ".join(f"{a1}={x:g}, {a2}={y:g}" for x, y in miss[:5])) if miss else \
            "the grid has no untreated/monotherapy row or column (dose 0)"
        bcode[b] = L.reason(f"ZIP needs a complete dose matrix including the dose-0 row and column"
                            f"{_block_name(design, b)}: {what}. Use methods=('bliss', 'hsa') for sparse designs")
    L.mark_blocks(("zip",), bcode)
    # blocks whose single-agent fits are impossible are not sliced either
    okb = okb & L.block_fit_ok
    # every combination observation lies on two slices: agent 1 varied at the held dose of
    # agent 2 (k = 0) and agent 2 varied at the held dose of agent 1 (k = 1)
    o1 = obs[a1]
    o2 = obs[a2]
    ob = obs["_block"].astype(np.int64)
    comb = np.flatnonzero((o1 > 0) & (o2 > 0) & okb[obs["_block"]])
    lv1, i1 = np.unique(np.concatenate([o1, c1]), return_inverse=True)
    lv2, i2 = np.unique(np.concatenate([o2, c2]), return_inverse=True)
    i1 = np.asarray(i1).ravel()
    i2 = np.asarray(i2).ravel()
    no = len(o1)
    R = max(len(lv1), len(lv2))

    def skey(b, k, hcode):
        return (b * 2 + k) * R + hcode

    keys = np.concatenate([skey(ob[comb], 0, i2[:no][comb]), skey(ob[comb], 1, i1[:no][comb])])
    ukey, sid, rows_all, xall, cnt, pos = group_slices(keys, np.concatenate([comb, comb]),
                                                       np.concatenate([o1[comb], o2[comb]]))
    ns = len(ukey)
    rows = np.full((ns, int(cnt.max()) if ns else 1), -1, dtype=np.int64)
    x = np.full(rows.shape, np.nan)
    rows[sid, pos] = rows_all
    x[sid, pos] = xall
    blk_s = ukey // (2 * R)
    varied = (ukey // R) % 2
    hcode = ukey % R
    held = np.where(varied == 0, lv2[np.minimum(hcode, len(lv2) - 1)], lv1[np.minimum(hcode, len(lv1) - 1)])
    meta = {"block": blk_s, "varied": varied, "held": held}
    lvx, cx = np.unique(xall, return_inverse=True)
    nlev = np.bincount(np.unique(sid * max(len(lvx), 1) + np.asarray(cx).ravel()) // max(len(lvx), 1),
                       minlength=ns)
    # map each combo cell to its two slices (-1: the cell's block is not sliced)
    combo = L.combo
    cbk = L.combo_block.astype(np.int64)
    k1 = skey(cbk, 0, i2[no:][combo])
    k2 = skey(cbk, 1, i1[no:][combo])
    okc = okb[cbk]
    s1 = np.where(okc, np.searchsorted(ukey, k1), -1)
    s2 = np.where(okc, np.searchsorted(ukey, k2), -1)
    # dose-0 partner of every slice (SynergyFinder >= 3 fixes the slice's value at dose 0 at
    # the observed response there: the held agent alone at the held dose)
    c_key = (cb * len(lv1) + i1[no:]) * len(lv2) + i2[no:]
    c_order = np.argsort(c_key, kind="stable")
    held_k1 = np.where(varied == 0, 0, np.searchsorted(lv1, held))       # agent-1 level of the dose-0 cell
    held_k2 = np.where(varied == 0, np.searchsorted(lv2, held), 0)
    want = (blk_s * len(lv1) + held_k1) * len(lv2) + held_k2
    pos0 = np.clip(np.searchsorted(c_key[c_order], want), 0, max(len(c_key) - 1, 0))
    zero_cell = np.where(c_key[c_order][pos0] == want, c_order[pos0], -1) if ns else np.zeros(0, np.int64)
    return {"rows": rows, "mask": rows >= 0, "x": x, "meta": meta, "nlev": nlev, "s1": s1, "s2": s2,
            "zero_cell": zero_cell}


def _fit_mono(L: Layout, y_sets):
    """Hill fits of every (set, block, agent) curve.

    Returns
    -------
    params : ndarray (S, n_curves, 4)
        ``e0, einf, ec50, h``; NaN for curves with too few dose levels.
    converged : ndarray of bool (S, n_curves)
    identifiable : ndarray of bool (S, n_curves)
        The fit has an effect (``einf != e0``) and a finite covariance (its potency and
        slope are determined by the data).
    """
    S = y_sets.shape[0]
    n = L.curve_rows.shape[0]
    params = np.full((S, n, 4), np.nan)
    conv = np.zeros((S, n), dtype=bool)
    ident = np.zeros((S, n), dtype=bool)
    good = np.flatnonzero(~L.bad_curve) if L.bad_curve.any() else slice(None)   # too few levels: not fitted
    rows = L.curve_rows[good]
    mask = L.curve_mask[good]
    ng = rows.shape[0]
    if ng == 0:
        return params, conv, ident
    y = np.where(mask[None], y_sets[:, np.maximum(rows, 0)], np.nan)
    x = np.broadcast_to(L.curve_x[good], y.shape)
    fit = fit_hill(x.reshape(S * ng, -1), y.reshape(S * ng, -1), np.broadcast_to(mask, y.shape).reshape(S * ng, -1))
    params[:, good] = fit.estimates.reshape(S, ng, 4)
    conv[:, good] = fit.converged.reshape(S, ng)
    ident[:, good] = hill_identified(fit, L.design.top).reshape(S, ng)
    return params, conv, ident


def hill_identified(fit, top: float) -> np.ndarray:
    """Which single-agent Hill fits Loewe can invert: converged, with an effect
    (``|einf - e0| > 1e-9 top``) and a finite covariance (potency and slope determined by the data).

    Parameters
    ----------
    fit : BatchFit
        Result of :func:`~comboplan.combination.fits.fit_hill` (curves along the first axis).
    top : float
        Top of the response scale (100 for percent, 1 for fractions).

    Returns
    -------
    numpy.ndarray of bool, shape (n_curves,)
    """
    p = fit.estimates
    with np.errstate(invalid="ignore"):
        covok = np.isfinite(fit.cov).all(axis=(1, 2))
        flat = np.abs(p[:, 1] - p[:, 0]) <= 1e-9 * top
    return fit.converged & covok & ~flat


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
        params, conv, ident = _fit_mono(L, y_sets)
        out["mono_params"] = params
        out["mono_converged"] = conv
        out["mono_identifiable"] = ident
        cidx = L.combo_block[:, None] * N + np.arange(N)[None, :]          # (n_combo, N)
        P = params[:, cidx, :]                                            # (S, n_combo, N, 4)
    if not {"bliss", "hsa"} & set(methods):
        mono_eff = None
    elif monotherapy == "fitted":
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
        # Loewe inverts each agent's curve: undefined where an agent's fit has no effect or
        # an unidentified potency/slope (singular information matrix) or did not converge
        okP = ident[:, cidx] | (L.combo_doses[None] == 0)                # (S, n_combo, N)
        PL = np.where(okP[..., None], P, np.nan)
        e0, einf, ec50, h = (PL[..., k] for k in range(4))
        if getattr(L, "loewe_method", "classic") == "dose_equivalence":
            from .loewe_equivalence import score_loewe_equivalence

            out.update(score_loewe_equivalence(L.combo_doses, obs_c, e0, einf, ec50, h))
        else:
            ref = loewe_reference(np.broadcast_to(L.combo_doses, e0.shape), e0, einf, ec50, h)
            out["reference_loewe"] = ref
            out["loewe"] = obs_c - ref
            out["loewe_ci"] = loewe_index(np.broadcast_to(L.combo_doses, e0.shape), obs_c, e0, einf, ec50, h)
    if "zip" in methods:
        out.update(_zip_sets(L, y_sets, means, params, top))
    return out


def _zip_fitted(L: Layout) -> np.ndarray:
    """Which ZIP slices are fitted: enough non-zero dose levels for the version's slice model
    (version 3: :data:`ZIP3_MIN_LEVELS`, version 2: 2); shorter slices keep their observed values."""
    return L.zip["nlev"] >= (ZIP3_MIN_LEVELS if L.zip_version == "3" else 2)


def fit_sizes(L: Layout) -> dict:
    """Size of each batched fit that scoring this layout once (no bootstrap) makes.

    Parameters
    ----------
    L : Layout

    Returns
    -------
    dict
        ``{"hill": (n_curves, width), "zip": (n_slices, width)}`` for the kinds this layout
        fits: the number of curves handed to the fit (which decides its engine) and the
        widest curve (observations; the batch engine's padded width).  Sums of the counts
        and maxima of the widths over parts of a screen are the sizes of the whole screen's
        call, for :func:`comboplan.combination.fits.batch_plan`.
    """
    out = {}
    if L.curves is not None:
        out["hill"] = (int((~L.bad_curve).sum()), int(L.curve_x.shape[1]))
    if L.zip is not None:
        out["zip"] = (int(_zip_fitted(L).sum()), int(L.zip["x"].shape[1]))
    return out


def _zip_sets(L: Layout, y_sets, means, params, top):
    Z = L.zip
    S = y_sets.shape[0]
    rows, mask, x, meta = Z["rows"], Z["mask"], Z["x"], Z["meta"]
    n_sl = rows.shape[0]
    N = 2
    blk = meta["block"]
    held_agent = 1 - meta["varied"]
    held = meta["held"]
    y = np.where(mask[None], y_sets[:, np.maximum(rows, 0)], np.nan)
    xx = np.broadcast_to(x, y.shape)
    est = np.full((S, max(n_sl, 1), 4), np.nan)
    conv = np.zeros((S, max(n_sl, 1)), dtype=bool)
    fit_it = _zip_fitted(L)
    if L.zip_version == "3":
        # SynergyFinder >= 3: the value at dose 0 is the observed response of the held agent
        # alone at the held dose; top, potency and slope free (>= 3 non-zero dose levels)
        zc = Z["zero_cell"]
        bottom = np.where(zc[None, :] >= 0, means[:, np.maximum(zc, 0)], np.nan)
    else:
        # SynergyFinder 1/2: held agent's fitted single-agent effect at the held dose, top fixed
        Pb = params[:, blk * N + held_agent, :]                     # (S, n_sl, 4)
        bottom = hill_predict(Pb, held[None, :])                   # (S, n_sl)
    if fit_it.any():
        sel = np.flatnonzero(fit_it)
        args = (xx[:, sel].reshape(S * len(sel), -1), y[:, sel].reshape(S * len(sel), -1),
                np.broadcast_to(mask[sel], (S, len(sel), mask.shape[1])).reshape(S * len(sel), -1),
                bottom[:, sel].reshape(-1))
        good = np.isfinite(args[3])
        e = np.full((len(good), 4), np.nan)
        c = np.zeros(len(good), dtype=bool)
        if good.any():
            gi = np.flatnonzero(good)
            # the engine is chosen by the slices of the call (len(good)), not by those left
            if L.zip_version == "3":
                e[gi], c[gi] = fit_zip3_slices(args[0][gi], args[1][gi], args[2][gi], args[3][gi],
                                               n_call=len(good))
            else:
                e[gi], c[gi] = fit_zip_slices(args[0][gi], args[1][gi], args[2][gi], args[3][gi], top,
                                              n_call=len(good))
        est[:, sel] = e.reshape(S, len(sel), 4)
        conv[:, sel] = c.reshape(S, len(sel))
    cd = L.combo_doses
    obs_c = means[:, L.combo]

    def slice_value(sidx, dose):
        p = est[:, np.maximum(sidx, 0), :]
        v = zip_slice(dose[None, :], p[..., 0], p[..., 1], p[..., 2], p[..., 3])
        ok = conv[:, np.maximum(sidx, 0)] & np.isfinite(v)
        v = np.where(ok, v, obs_c)         # SynergyFinder: unfitted/failed slice -> observed
        return np.where(sidx[None, :] >= 0, v, np.nan)   # block not sliced (see Layout.code)

    f12 = slice_value(Z["s1"], cd[:, 0])   # agent 1 varied, agent 2 held
    f21 = slice_value(Z["s2"], cd[:, 1])
    P1 = params[:, L.combo_block * N + 0, :]
    P2 = params[:, L.combo_block * N + 1, :]
    y1 = hill_predict(P1, cd[None, :, 0])
    y2 = hill_predict(P2, cd[None, :, 1])
    delta = zip_delta(f12, f21, y1, y2, top=top)
    return {"zip": delta, "reference_zip": y1 + y2 - y1 * y2 / top, "zip_fitted": 0.5 * (f12 + f21),
            "zip_slices_failed": (~conv[:, :n_sl][:, fit_it]).sum(axis=1)}
