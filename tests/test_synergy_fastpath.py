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
