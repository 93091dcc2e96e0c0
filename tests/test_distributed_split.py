"""The client-side routing of rows to partitions (``distributed._split`` by hash,
``distributed._group_runs`` / ``_cut_ranges`` by consecutive row ranges) and the merge of
per-partition arrays (``distributed._concat_in_order``), against their plain definitions."""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from comboplan import distributed as D


def _split_by_filters(frame, part, by, k):
    """The definition: piece i = the rows whose key hashes to i, in their original order."""
    frame = frame.copy()
    frame[D._PART] = part
    frame[D._POS] = np.arange(len(frame))
    if k == 1 or len(frame) == 0:
        return len(frame), [frame]
    h = pd.util.hash_pandas_object(frame[by], index=False).to_numpy() % np.uint64(k)
    return len(frame), [frame[h == i] for i in range(k)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(1, 40), st.integers(0, 10**6), st.sampled_from([["a"], ["a", "b"], ["c"]]))
def test_split_equals_the_boolean_filter_definition(n, k, seed, by):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.integers(0, 9, n), "b": rng.choice(["x", "y", None], n),
                       "c": pd.Categorical(rng.choice(["p", "q", "r"], n)), "v": rng.normal(size=n)},
                      index=rng.permutation(n) * 2 + 5)
    before = df.copy()
    n1, p1 = D._split(df, 3, by, k)
    n2, p2 = _split_by_filters(df, 3, by, k)
    assert n1 == n2 == n and len(p1) == len(p2)
    for a, b in zip(p1, p2):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_frame_equal(df, before)              # the caller's frame is not modified
    # every row lands in exactly one piece, all rows of a key in the same one
    assert sum(len(p) for p in p1) == n
    if n:
        owner = pd.concat([p.assign(_piece=i) for i, p in enumerate(p1)]).groupby(by, dropna=False)["_piece"].nunique()
        assert (owner == 1).all()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=6), st.integers(0, 10**6),
       st.sampled_from([(), (3,), (2, 4)]), st.sampled_from(["f8", "i8", "?", "O"]))
def test_concat_in_order_equals_concatenate_then_index(sizes, seed, tail, dtype):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(s, *tail)).astype(dtype) for s in sizes]
    order = rng.permutation(sum(sizes))
    want = np.concatenate(arrays)[order]
    got = D._concat_in_order(arrays, order)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


def test_concat_in_order_identity_order_is_plain_concatenation():
    arrays = [np.arange(6.0).reshape(3, 2), np.arange(4.0).reshape(2, 2) + 10]
    got = D._concat_in_order(arrays, np.arange(5))
    assert np.array_equal(got, np.concatenate(arrays)) and got.dtype == np.float64


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=25), st.integers(1, 12), st.integers(0, 10**6),
       st.booleans(), st.sampled_from([["a"], ["a", "b"], ["c"]]))
def test_row_ranges_cover_the_rows_and_never_split_a_group(sizes, k, seed, interleave, by):
    """Ranges: consecutive, non-empty, covering every row in order, at most k, no group cut in two;
    the group count and the width (largest group) exact; no run starts exactly when some group's
    rows are not consecutive."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    if interleave:
        g = rng.permutation(g)
    keys = rng.permutation(len(sizes))[g]          # group ids not in sorted order
    df = pd.DataFrame({"a": keys // 3, "b": np.where(keys % 3 == 0, None, (keys % 3).astype(str)),
                       "c": pd.Categorical((keys * 7).astype(str)), "v": rng.normal(size=len(g))})
    if by == ["a"]:
        df["a"] = keys
    before = df.copy()
    ngroups, starts, width = D._group_runs(df, by)
    pd.testing.assert_frame_equal(df, before)
    codes = df.groupby(by, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    runs = 1 + int(np.sum(codes[1:] != codes[:-1]))
    assert ngroups == codes.max() + 1
    assert width == np.bincount(codes).max()
    if runs != codes.max() + 1:
        assert starts is None
        return
    ranges = D._cut_ranges(starts, len(df), k)
    assert 1 <= len(ranges) <= k and ranges[0][0] == 0 and ranges[-1][1] == len(df)
    assert all(a < b for a, b in ranges) and all(r[1] == s[0] for r, s in zip(ranges, ranges[1:]))
    for a, _ in ranges[1:]:
        assert codes[a] != codes[a - 1]            # a cut at a group boundary


def test_position_adds_part_and_global_positions_without_touching_the_slice():
    df = pd.DataFrame({"x": np.arange(10.0)}, index=np.arange(10) * 3)
    piece = df.iloc[4:7]
    out = D._position(piece, 4)
    assert list(out[D._POS]) == [4, 5, 6] and (out[D._PART] == 0).all()
    assert list(out["x"]) == [4.0, 5.0, 6.0] and list(out.index) == [0, 1, 2]
    assert list(piece.columns) == ["x"] and list(df.columns) == ["x"]
