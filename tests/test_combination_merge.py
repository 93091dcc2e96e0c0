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
