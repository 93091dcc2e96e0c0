"""Merging synergy table pieces column by column (bounded memory for chunked screens)."""
import numpy as np
import pandas as pd
import pytest

from comboplan.combination.merge import (concat_like, frame_of_columns, merge_columns, recompute_qvalues,
                                         split_columns)
from comboplan.combination.stats import bh_fdr


def _pieces():
    a = pd.DataFrame({"method": pd.Categorical(["bliss", "bliss", "hsa"]),
                      "blk": pd.array(["x", "y", "x"], dtype="str"),
                      "n": np.array([1, 2, 3]),
                      "score": np.array([0.5, np.nan, -1.0]),
                      "message": pd.Categorical(["", "no mono", None]),
                      "flag": np.array([True, False, True])})
    b = pd.DataFrame({"method": pd.Categorical(["hsa", "hsa"], categories=["hsa", "bliss"]),
                      "blk": pd.array(["z", "w"], dtype="str"),
                      "n": np.array([4, 5]),
                      "score": np.array([2.0, 3.0]),
                      "message": pd.Categorical(["other", ""]),
                      "flag": np.array([False, False])})
    return a, b


def test_merge_columns_equals_concat_like_and_releases_pieces():
    a, b = _pieces()
    ref = concat_like([a, b])
    parts = [split_columns(a), split_columns(b)]
    cols = merge_columns(parts)
    assert all(len(p) == 0 for p in parts)          # every piece's columns were released
    out = frame_of_columns(cols)
    pd.testing.assert_frame_equal(out, ref, check_exact=True)
    # the missing message (code -1) stays missing, categories in first-seen order
    assert out["message"].isna().tolist() == [False, False, True, False, False]
    assert list(out["message"].cat.categories) == ["", "no mono", "other"]
    assert list(out["method"].cat.categories) == ["bliss", "hsa"]


def test_merge_columns_with_trim_gives_the_same_table():
    import sys

    from comboplan._worker import release_free_memory

    a, b = _pieces()
    out = frame_of_columns(merge_columns([split_columns(a), split_columns(b)], trim=True))
    pd.testing.assert_frame_equal(out, concat_like([a, b]), check_exact=True)
    assert release_free_memory() == sys.platform.startswith("linux")


def test_merge_split_tables_orders_method_by_method_and_recomputes_q():
    from comboplan.combination.merge import merge_split_tables, split_tables

    def part(blocks, p):
        cells = pd.DataFrame({"block": np.repeat(blocks, 2), "method": pd.Categorical(["bliss", "hsa"] * len(blocks)),
                              "p_value": p, "q_value": np.nan})
        return split_tables((cells, cells.drop_duplicates(["block", "method"]), None), ["bliss", "hsa"])

    p1, p2 = np.array([0.01, 0.02, 0.03, 0.04]), np.array([0.5, 0.001])
    tabs = merge_split_tables([part(["b1", "b2"], p1), part(["b3"], p2)], ["bliss", "hsa"], trim=True)
    cells = tabs["cells"]
    assert cells["method"].astype(str).tolist() == ["bliss"] * 3 + ["hsa"] * 3
    assert cells["block"].tolist() == ["b1", "b2", "b3"] * 2
    for m in ("bliss", "hsa"):
        sel = cells["method"] == m
        np.testing.assert_array_equal(cells.loc[sel, "q_value"], bh_fdr(cells.loc[sel, "p_value"].to_numpy()))
    assert len(tabs["monotherapy"]) == 0


def test_split_columns_with_mask_copies_rows():
    a, _ = _pieces()
    cols = split_columns(a, a["method"].to_numpy() == "bliss")
    cols["score"][0] = 99.0
    assert a["score"].iloc[0] == 0.5                # a copy, not a view of the table
    assert list(cols["n"]) == [1, 2]


def test_merge_columns_refuses_pieces_that_disagree():
    a, b = _pieces()
    assert merge_columns([split_columns(a), split_columns(b.drop(columns="flag"))]) is None
    b2 = b.assign(message=b["message"].astype(object))
    assert merge_columns([split_columns(a), split_columns(b2)]) is None


@pytest.mark.parametrize("as_dict", [False, True])
def test_recompute_qvalues_per_method(as_dict):
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 9)
    p[4] = np.nan
    meth = pd.Categorical(["hsa"] * 4 + ["bliss"] * 5)
    tab = pd.DataFrame({"method": meth, "p_value": p, "q_value": np.zeros(9)})
    if as_dict:
        tab = {c: tab[c].to_numpy().copy() if c != "method" else meth for c in tab.columns}
    recompute_qvalues(tab, ["bliss", "hsa"])
    q = np.asarray(tab["q_value"])
    np.testing.assert_array_equal(q[:4], bh_fdr(p[:4]))
    np.testing.assert_array_equal(q[4:], bh_fdr(p[4:]))
    assert np.isnan(q[4]) and (q[~np.isnan(q)] >= p[~np.isnan(p)]).all()
