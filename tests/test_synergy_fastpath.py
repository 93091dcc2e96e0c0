"""The cheap single-matrix path of ``synergy()`` (issue 12) changes no result.

* ``synergy()`` outputs (every column, dtype, value, status, message and warning) on seeded
  designs -- one matrix, screens with ``by`` labels, replicates (delta-method and bootstrap
  intervals), sparse grids with unscored cells, three agents -- hash to the digests recorded
  with the code before the fast path (commit c908781);
* the block-wise DataFrame builder equals ``pandas.DataFrame(cols, copy=False)``;
* the lean factorisation equals ``numpy.unique``;
* the numpy cell layout of ``prepare`` equals a pandas groupby of the same table.
"""
import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import comboplan as cp
from comboplan.combination.api import _empty_frame, _frame, _labels
from comboplan.combination.design import prepare
from comboplan.combination.stats import dense_rank_within, factorize


def _case(seed):
    """A seeded Bliss/HSA design (observed monotherapy: no fits, so results are exact arithmetic)."""
    rng = np.random.default_rng(seed)
    N = 3 if seed % 5 == 4 else 2
    levels = [np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 20), int(rng.integers(2, 7)), replace=False))]
              for _ in range(N)]
    base = np.column_stack([g.ravel() for g in np.meshgrid(*levels, indexing="ij")])
    nb = 1 + seed % 3
    reps = 1 + (seed // 3) % 3
    rows = []
    for b in range(nb):
        d = base[rng.random(len(base)) > (0.15 if seed % 4 == 1 else 0.0)]
        for r in range(reps):
            rows.append(np.column_stack([np.full(len(d), b), d, np.full(len(d), r)]))
    A = np.vstack(rows)
    df = pd.DataFrame({f"d{k}": A[:, 1 + k] for k in range(N)})
    eff = np.ones(len(A))
    for k in range(N):
        eff *= 1 / (1 + A[:, 1 + k] / rng.uniform(0.05, 5))
    df["v"] = np.round(100 * eff + rng.normal(0, 4, len(A)), 2 if seed % 2 else 6)
    kw = dict(methods=("bliss", "hsa") if seed % 6 else ("hsa", "bliss"), response_kind="viability", n_boot=0)
    if nb > 1:
        df["blk"] = np.array(["p", "q", "r"])[A[:, 0].astype(int)] if seed % 2 else A[:, 0].astype(int)
        kw["by"] = "blk"
    if reps > 1:
        df["rep"] = A[:, -1].astype(int)
        kw["replicate"] = "rep"
        if seed % 4 == 3:
            kw.update(n_boot=25, seed=seed, inference="bootstrap")
    if seed % 7 == 2:
        df = df.sample(frac=1, random_state=seed)
    return df, [f"d{k}" for k in range(N)], kw


def _digest(res, warns):
    h = hashlib.sha256()
    for tab in (res.cells, res.blocks, res.monotherapy):
        h.update(repr([(c, str(t)) for c, t in tab.dtypes.items()]).encode())
        h.update(repr((type(tab.index).__name__, str(tab.columns.dtype))).encode())
        h.update(tab.to_csv(float_format="%.10g").encode())
    h.update(repr(warns).encode())
    return h.hexdigest()[:16]


def _run(df, doses, kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = cp.synergy(df, doses, "v", **kw)
    return res, [(x.category.__name__, str(x.message)) for x in w]


# recorded with the code before the fast path (commit c908781), same cases
FROZEN = {
    0: "45bd8f5e39338a43",
    1: "567abb6294efa0a0",
    2: "7a3797f014a06aa3",
    3: "6757e464ce301089",
    4: "bf451610b673428d",
    5: "7ceff4d03b257809",
    6: "27eb292b740c5aef",
    7: "269f85c9954c8164",
    8: "7a4e3a6b8891aacd",
    9: "e1fa210123f7a7b3",
    10: "17a7896b44953e57",
    11: "9bb93360f214d8bc",
    12: "0d342b2219171815",
    13: "2253b5c853cf8a66",
    14: "9f9051b44c41b55c",
    15: "74bcc66f81b8c7b7",
    16: "0e0f44086ffb2333",
    17: "3e639112ced2e1d0",
    18: "340d3cf361f794b3",
    19: "d89183e83d3dfe28",
    20: "84ed37a7429b9176",
    21: "208564c55ac82212",
    22: "fb2b1d9fb07a87c1",
    23: "637b0ee051fd9660",
}


@pytest.mark.parametrize("seed", sorted(FROZEN))
def test_results_equal_the_code_before_the_fast_path(seed):
    df, doses, kw = _case(seed)
    assert _digest(*_run(df, doses, kw)) == FROZEN[seed]


def test_benchmark_matrix_unchanged():
    """The benchmark's 8x8 matrix (issue 12 row), to the last digit."""
    d1 = np.r_[0, np.geomspace(0.01, 10, 7)]
    d2 = np.r_[0, np.geomspace(0.1, 100, 7)]
    X1, X2 = np.meshgrid(d1, d2, indexing="ij")
    via = (1 / (1 + X1)) * (1 / (1 + (X2 / 10) ** 1.2)) - 0.05 * ((X1 > 0) & (X2 > 0))
    df = pd.DataFrame(dict(a=X1.ravel(), b=X2.ravel(), v=100 * via.ravel()))
    res = cp.synergy(df, ["a", "b"], "v", methods=("bliss", "hsa"), response_kind="viability", n_boot=0)
    assert _digest(res, []) == FROZEN_BENCH
    # scores against a direct computation
    inh = 100 - 100 * via
    ref = 100 - (100 - inh[:, :1]) * (100 - inh[:1, :]) / 100
    bliss = res.cells[res.cells["method"] == "bliss"]["score"].to_numpy()
    assert np.allclose(bliss, (inh - ref)[1:, 1:].ravel(), rtol=0, atol=1e-12)


FROZEN_BENCH = "89809b55566a9492"


# ------------------------------------------------------------------ building blocks
_KINDS = ("float", "int", "bool", "cat", "int32")


def _col(kind, n, rng):
    if kind == "float":
        v = rng.normal(size=n)
        v[rng.random(n) < 0.2] = np.nan
        return v
    if kind == "int":
        return rng.integers(-5, 5, n)
    if kind == "int32":
        return rng.integers(-5, 5, n).astype(np.int32)
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "obj":
        return np.array(["a", "b"], dtype=object)[rng.integers(0, 2, n)]
    return _labels(("x", "y", "z"), rng.integers(0, 3, n))


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(st.sampled_from(_KINDS + ("obj",)), min_size=1, max_size=12), n=st.integers(0, 7),
       seed=st.integers(0, 2**32 - 1))
def test_frame_equals_the_constructor(kinds, n, seed):
    rng = np.random.default_rng(seed)
    cols = {f"c{i}_{k}": _col(k, n, rng) for i, k in enumerate(kinds)}
    fast, slow = _frame(cols), pd.DataFrame(cols, copy=False)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True, check_index_type=True, check_column_type=True)
    assert list(fast.dtypes) == list(slow.dtypes)
    fast.columns.name = "changed"                  # the column index is not shared between frames
    assert _frame(cols).columns.name is None


def test_empty_frame_equals_the_constructor():
    names = ("agent", "param", "estimate", "ci_low", "ci_high", "converged", "status")
    pd.testing.assert_frame_equal(_empty_frame(names), pd.DataFrame(columns=list(names)), check_index_type=True,
                                  check_column_type=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.5, 2.0, 1e-300, 7.0, 1e9]), max_size=40), st.booleans())
def test_factorize_equals_numpy_unique(vals, stable):
    x = np.array(vals, dtype=float)
    lv, first, inv = factorize(x, stable=stable)
    lv0, first0, inv0 = np.unique(x, return_index=True, return_inverse=True)
    assert np.array_equal(lv, lv0) and np.array_equal(inv, np.asarray(inv0).ravel())
    if stable:
        assert np.array_equal(first, first0)
    assert np.array_equal(x[first], lv)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0, 2.0, 8.0])), min_size=1, max_size=40))
def test_dense_rank_within_groups(pairs):
    g = np.array([p[0] for p in pairs])
    v = np.array([p[1] for p in pairs])
    r = dense_rank_within(g, v, 4)
    for k in range(4):
        sel = g == k
        if sel.any():
            assert np.array_equal(r[sel], np.searchsorted(np.unique(v[sel]), v[sel]))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_prepare_cells_equal_a_groupby(seed):
    """The numpy layout of prepare(): one cell per (block, doses), in sorted order, with the
    replicate count, mean and SD a pandas groupby gives."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 60))
    df = pd.DataFrame({"a": rng.choice([0.0, 0.1, 1.0, 10.0], n), "b": rng.choice([0.0, 0.3, 3.0], n),
                       "blk": rng.choice(["u", "v"], n), "v": rng.uniform(0, 100, n)})
    df["rep"] = df.groupby(["blk", "a", "b"]).cumcount()
    des = prepare(df, ["a", "b"], "v", by="blk", replicate="rep")
    g = df.groupby(["blk", "a", "b"], sort=True)["v"]
    c = des.cells
    assert np.array_equal(c["n"].to_numpy(), g.size().to_numpy())
    assert np.allclose(c["mean"].to_numpy(), g.mean().to_numpy(), rtol=1e-12, atol=1e-12)
    assert np.allclose(c["sd"].to_numpy(), g.std().to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)
    keys = g.size().index.to_frame(index=False)
    assert np.array_equal(c["a"].to_numpy(), keys["a"].to_numpy())
    assert np.array_equal(des.blocks["blk"].to_numpy()[c["_block"].to_numpy()], keys["blk"].to_numpy())
    assert list(c.columns) == ["_block", "_cell", "a", "b", "n", "mean", "sd", "n_agents", "role", "agent", "agent_k"]
    assert len(des.obs) == n and des.n_blocks == len(des.blocks)


# ------------------------------------------------------------------ second round (issue 12)
def _old_areas(sets, blk, d1, d2, nb):
    """The most synergistic 3x3 area as computed before the second round (dense ranks by
    sorting the doses, a NaN grid, window sums and window counts): the exact reference."""
    from comboplan.combination.stats import dense_rank_within

    S = sets.shape[0]
    i1 = dense_rank_within(blk, d1, nb)
    i2 = dense_rank_within(blk, d2, nb)
    n1 = np.zeros(nb, int)
    n2 = np.zeros(nb, int)
    np.maximum.at(n1, blk, i1 + 1)
    np.maximum.at(n2, blk, i2 + 1)
    full = np.bincount(blk, minlength=nb) == n1 * n2
    R, C = max(n1.max(), 1), max(n2.max(), 1)
    if R < 3 or C < 3:
        return np.full((S, nb), np.nan)
    g = np.full((S, nb, R, C), np.nan)
    g[:, blk, i1, i2] = sets
    grid = g.reshape(-1, R, C)
    ok = np.isfinite(grid)

    def wsum(a):
        cs = np.zeros((grid.shape[0], R + 1, C + 1))
        np.cumsum(a, axis=1, out=cs[:, 1:, 1:])
        np.cumsum(cs, axis=2, out=cs)
        return cs[:, 3:, 3:] - cs[:, :-3, 3:] - cs[:, 3:, :-3] + cs[:, :-3, :-3]

    w = wsum(np.where(ok, grid, 0.0))
    n = wsum(ok.astype(float))
    w = np.where(n > 8.5, w / 9.0, -np.inf).reshape(S * nb, -1).max(axis=1)
    out = np.where(np.isfinite(w), w, np.nan).reshape(S, nb)
    return np.where((full & (n1 >= 3) & (n2 >= 3))[None], out, np.nan)


def _area_design(seed):
    """Blocks of random grid sizes (2x2 .. 7x6, some with missing cells) with random scores."""
    rng = np.random.default_rng(seed)
    parts = []
    nb = int(rng.integers(1, 6))
    for b in range(nb):
        l1 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 12), int(rng.integers(2, 8)), replace=False))]
        l2 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 12), int(rng.integers(2, 7)), replace=False))]
        A, B = np.meshgrid(l1, l2, indexing="ij")
        keep = rng.random(A.size) > (0.1 if rng.random() < 0.3 else 0.0)
        keep |= (A.ravel() == 0) | (B.ravel() == 0)
        parts.append(pd.DataFrame({"blk": b, "a": A.ravel()[keep], "b": B.ravel()[keep]}))
    df = pd.concat(parts, ignore_index=True)
    df["v"] = rng.uniform(0, 100, len(df))
    return df, rng


@pytest.mark.parametrize("seed", range(40))
def test_areas_equal_the_previous_computation(seed):
    from comboplan.combination.api import _areas
    from comboplan.combination.scoring import Layout

    df, rng = _area_design(seed)
    des = prepare(df, ["a", "b"], "v", by="blk")
    lay = Layout(des, ("bliss",), "observed")
    nc = len(lay.combo)
    sets = rng.normal(0, 10, (int(rng.integers(1, 5)), nc))
    if seed % 3 == 1:                       # unscored cells and non-finite scores
        sets[rng.random(sets.shape) < 0.1] = np.nan
        sets[rng.random(sets.shape) < 0.03] = np.inf
    if seed % 5 == 2:                       # exact zeros and negative zeros
        sets[:, ::2] = -0.0
    new = _areas(des, lay, sets, des.n_blocks)
    old = _old_areas(sets, lay.combo_block, lay.combo_doses[:, 0], lay.combo_doses[:, 1], des.n_blocks)
    assert new.shape == old.shape
    assert np.array_equal(new, old, equal_nan=True)
    assert np.array_equal(np.signbit(new), np.signbit(old))
    # and against a direct loop over the windows of every full block
    for b in range(des.n_blocks):
        sel = lay.combo_block == b
        u1, u2 = np.unique(lay.combo_doses[sel, 0]), np.unique(lay.combo_doses[sel, 1])
        if sel.sum() != len(u1) * len(u2) or len(u1) < 3 or len(u2) < 3:
            assert np.isnan(new[:, b]).all()
            continue
        i1 = np.searchsorted(u1, lay.combo_doses[sel, 0])
        i2 = np.searchsorted(u2, lay.combo_doses[sel, 1])
        for s in range(sets.shape[0]):
            g = np.empty((len(u1), len(u2)))
            g[i1, i2] = sets[s, sel]
            ms = [g[r:r + 3, c:c + 3].mean() for r in range(len(u1) - 2) for c in range(len(u2) - 2)
                  if np.isfinite(g[r:r + 3, c:c + 3]).all()]
            if ms:
                assert np.isclose(new[s, b], max(ms), rtol=1e-12, atol=1e-9)
            else:
                assert np.isnan(new[s, b])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([np.nan, 0.0, 0.01, 0.04, 0.04, 0.3, 0.9, 1.0]), min_size=0, max_size=12),
                min_size=1, max_size=4).filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_bh_fdr_per_row_equals_one_call_per_row(rows):
    from comboplan.combination.stats import bh_fdr

    p = np.array(rows, dtype=float).reshape(len(rows), -1)
    q = bh_fdr(p, axis=1)
    assert q.shape == p.shape
    for i in range(len(p)):
        assert np.array_equal(q[i], bh_fdr(p[i]), equal_nan=True)
    assert np.array_equal(bh_fdr(p), bh_fdr(p.ravel()).reshape(p.shape), equal_nan=True)


@pytest.mark.parametrize("seed", range(30))
def test_monotherapy_lookup_equals_a_direct_search(seed):
    """Every (combination cell, agent) finds the cell of the same block with that agent alone at
    the same dose, or is reported missing (in row order)."""
    from comboplan.combination.scoring import _mono_lookup

    rng = np.random.default_rng(seed)
    N = 2 + seed % 2
    levels = [np.r_[0 if (seed % 7 or k) else 0.5, rng.choice([0.1, 1.0, 3.0, 10.0], 3, replace=False)]
              for k in range(N)]
    base = np.column_stack([g.ravel() for g in np.meshgrid(*levels, indexing="ij")])
    rows = [np.column_stack([np.full(len(base), b), base]) for b in range(1 + seed % 3)]
    A = np.vstack(rows)
    A = A[rng.random(len(A)) > 0.2]
    df = pd.DataFrame({f"d{k}": A[:, 1 + k] for k in range(N)} | {"blk": A[:, 0].astype(int),
                                                                   "v": rng.uniform(0, 100, len(A))})
    des = prepare(df, [f"d{k}" for k in range(N)], "v", by="blk")
    c = des.cells
    D = c[[f"d{k}" for k in range(N)]].to_numpy()
    combo = np.flatnonzero(c["n_agents"].to_numpy() >= 2)
    if not len(combo):
        return
    idx, rr, kk = _mono_lookup(des, D, combo, N)
    where = {(int(b), tuple(d)): i for i, (b, d) in enumerate(zip(c["_block"], D))}
    miss = []
    for r, i in enumerate(combo):
        for k in range(N):
            if D[i, k] <= 0:
                assert idx[r, k] == -1
                continue
            want = np.zeros(N)
            want[k] = D[i, k]
            j = where.get((int(c["_block"].iloc[i]), tuple(want)), -1)
            assert idx[r, k] == j
            if j < 0:
                miss.append((r, k))
    assert miss == list(zip(rr.tolist(), kk.tolist()))
