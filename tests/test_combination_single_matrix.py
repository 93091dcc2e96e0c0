"""The single-matrix path of synergy() (one complete two-agent matrix, Bliss/HSA, no replicates):
its tables must equal the general path's exactly, and anything it does not recognise must reach
the general path (which scores it or raises its own error)."""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import comboplan as cp
from comboplan.combination import api
from comboplan.combination.single_matrix import score_single_matrix


def _general(monkeypatch, *args, **kw):
    """synergy() with the single-matrix path switched off."""
    with monkeypatch.context() as m:
        m.setattr(api, "score_single_matrix", lambda *a, **k: None)
        return cp.synergy(*args, **kw)


def _same(r1, r2):
    for name in ("cells", "blocks", "monotherapy"):
        pd.testing.assert_frame_equal(getattr(r1, name), getattr(r2, name), check_exact=True)
    assert r1.settings == r2.settings


def _matrix(n1, n2, seed, kind, scale, shuffle):
    rng = np.random.default_rng(seed)
    d1 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 40), n1 - 1, replace=False))]
    d2 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 40), n2 - 1, replace=False))]
    X1, X2 = (a.ravel() for a in np.meshgrid(d1, d2, indexing="ij"))
    top = 100.0 if scale == "percent" else 1.0
    v = top * rng.uniform(-0.2, 1.3, X1.size)            # beyond 0..top on both sides, as real plates are
    df = pd.DataFrame({"drug_a": X1, "drug_b": X2, "resp": v, "plate": "P1"})
    if shuffle:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 10**6), st.sampled_from(["inhibition", "viability"]),
       st.sampled_from(["percent", "fraction"]), st.booleans(),
       st.sampled_from([("bliss",), ("hsa",), ("bliss", "hsa"), ("hsa", "bliss")]))
def test_single_matrix_tables_equal_the_general_path(n1, n2, seed, kind, scale, shuffle, methods):
    df = _matrix(n1, n2, seed, kind, scale, shuffle)
    before = df.copy()
    kw = dict(methods=methods, response_kind=kind, scale=scale, n_boot=0)
    assert score_single_matrix(df, ["drug_a", "drug_b"], "resp", tuple(methods), kind, scale) is not None
    fast = cp.synergy(df, ["drug_a", "drug_b"], "resp", **kw)
    with pytest.MonkeyPatch.context() as mp:
        slow = _general(mp, df, ["drug_a", "drug_b"], "resp", **kw)
    _same(fast, slow)
    pd.testing.assert_frame_equal(df, before)          # the caller's table is not modified
    # and the numbers are the published definitions, cell by cell (inhibition scale)
    top = 100.0 if scale == "percent" else 1.0
    inh = df["resp"] if kind == "inhibition" else top - df["resp"]
    look = dict(zip(zip(df["drug_a"], df["drug_b"]), inh))
    c = fast.cells
    ea = np.array([look[(a, 0.0)] for a in c["drug_a"]])
    eb = np.array([look[(0.0, b)] for b in c["drug_b"]])
    obs = np.array([look[(a, b)] for a, b in zip(c["drug_a"], c["drug_b"])])
    ref = np.where(c["method"] == "bliss", ea + eb - ea * eb / top, np.maximum(ea, eb))
    assert np.allclose(c["score"], obs - ref, rtol=0, atol=1e-12 * top)


def test_single_matrix_defaults_and_options_equal_the_general_path(monkeypatch):
    df = _matrix(8, 8, 3, "viability", "percent", True)
    for kw in (dict(methods=("bliss", "hsa"), response_kind="viability", n_boot=0),
               dict(methods=("bliss", "hsa"), response_kind="viability", n_boot=200, seed=5, ci_level=0.9,
                    dose_units={"drug_a": "uM", "drug_b": "nM"}, inference="bootstrap", errors="raise")):
        _same(cp.synergy(df, ["drug_a", "drug_b"], "resp", **kw), _general(monkeypatch, df, ["drug_a", "drug_b"], "resp",
                                                                            **kw))


@pytest.mark.parametrize("case", ["duplicate", "missing_cell", "nan", "negative_dose", "no_zero_row",
                                  "out_of_range", "fraction_as_percent", "text_column", "missing_column"])
def test_what_the_single_matrix_path_declines_reaches_the_general_path(monkeypatch, case):
    df = _matrix(5, 5, 1, "inhibition", "percent", False)
    if case == "duplicate":
        df = pd.concat([df, df.iloc[[7]]], ignore_index=True)
    elif case == "missing_cell":
        df = df.drop(index=7).reset_index(drop=True)
    elif case == "nan":
        df.loc[7, "resp"] = np.nan
    elif case == "negative_dose":
        df.loc[7, "drug_a"] = -1.0
    elif case == "no_zero_row":
        df = df[df["drug_a"] > 0].reset_index(drop=True)
    elif case == "out_of_range":
        df.loc[7, "resp"] = 1e4
    elif case == "fraction_as_percent":
        df["resp"] = df["resp"] / 100.0
    elif case == "text_column":
        df["resp"] = df["resp"].astype(str)
    doses = ["drug_a", "drug_b"] if case != "missing_column" else ["drug_a", "drug_c"]
    assert score_single_matrix(df, doses, "resp", ("bliss", "hsa"), "inhibition", "percent") is None

    def run(general):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = (lambda: _general(monkeypatch, df, doses, "resp", methods=("bliss", "hsa"), n_boot=0)) if general \
                else (lambda: cp.synergy(df, doses, "resp", methods=("bliss", "hsa"), n_boot=0))
            try:
                return f()
            except cp.DataError as e:
                return str(e)

    a, b = run(False), run(True)
    if isinstance(b, str):               # the general path's own error, word for word
        assert a == b
        assert case not in SCORED
    else:                                # a design or column the general path scores
        _same(a, b)
        assert case in SCORED


#: declined by the single-matrix path but scored by the general one: a sparse design, no dose-0
#: row, numbers stored as text (converted by the general path's column checks)
SCORED = ("missing_cell", "no_zero_row", "text_column")


def _hill_matrix(n1, n2, seed, kind, scale, shuffle, noise):
    """A dose matrix of two Hill agents (Bliss-independent, plus a constant excess) with noise."""
    rng = np.random.default_rng(seed)
    d1 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 40), n1 - 1, replace=False))]
    d2 = np.r_[0, np.sort(rng.choice(np.geomspace(0.01, 100, 40), n2 - 1, replace=False))]
    X1, X2 = (a.ravel() for a in np.meshgrid(d1, d2, indexing="ij"))
    c1, c2 = np.exp(rng.uniform(np.log(0.1), np.log(10), 2))
    h1, h2 = rng.uniform(0.7, 2.5, 2)
    m1, m2 = rng.uniform(0.5, 1.0, 2)
    f1 = m1 * X1 ** h1 / (X1 ** h1 + c1 ** h1)
    f2 = m2 * X2 ** h2 / (X2 ** h2 + c2 ** h2)
    inh = 1 - (1 - f1) * (1 - f2) + 0.05 * (X1 > 0) * (X2 > 0) + rng.normal(0, noise, X1.size)
    top = 100.0 if scale == "percent" else 1.0
    v = top * (inh if kind == "inhibition" else 1 - inh)
    df = pd.DataFrame({"drug_a": X1, "drug_b": X2, "resp": v})
    if shuffle:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


@settings(max_examples=40, deadline=None)
@given(st.integers(4, 9), st.integers(4, 9), st.integers(0, 10**6), st.sampled_from(["inhibition", "viability"]),
       st.sampled_from(["percent", "fraction"]), st.booleans(), st.sampled_from([0.0, 0.01, 0.04]),
       st.sampled_from([("loewe",), ("bliss", "loewe"), ("loewe", "hsa"), ("hsa", "loewe", "bliss")]))
def test_single_matrix_loewe_tables_equal_the_general_path(n1, n2, seed, kind, scale, shuffle, noise, methods):
    """Loewe through the single-matrix path: the same fits, solver and tables as the general path,
    bit for bit (cells with the Loewe index column, blocks, monotherapy estimates); where the fast
    path declines (a fit that does not converge or is unidentified), synergy() still equals it."""
    df = _hill_matrix(n1, n2, seed, kind, scale, shuffle, noise)
    before = df.copy()
    kw = dict(methods=methods, response_kind=kind, scale=scale, n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quick = score_single_matrix(df, ["drug_a", "drug_b"], "resp", tuple(methods), kind, scale)
        fast = cp.synergy(df, ["drug_a", "drug_b"], "resp", **kw)
        with pytest.MonkeyPatch.context() as mp:
            slow = _general(mp, df, ["drug_a", "drug_b"], "resp", **kw)
    _same(fast, slow)
    pd.testing.assert_frame_equal(df, before)
    if quick is not None:
        # the fast path ran: every Loewe cell scored, and the monotherapy fits are the ones used
        c = fast.cells[fast.cells["method"] == "loewe"]
        assert (c["status"] == "ok").all() and np.isfinite(c["score"]).all()
        # (the Loewe index is NaN, not an error, where the observed effect is beyond both agents' maxima)
        assert np.isnan(fast.cells.loc[fast.cells["method"] != "loewe", "loewe_ci"]).all()
        assert len(fast.monotherapy) == 8 and fast.monotherapy["converged"].all()


def test_single_matrix_loewe_runs_on_a_clean_matrix_and_declines_bad_fits():
    """The fast path is taken on a clean 8x8 matrix (and its Loewe reference is the additive
    surface: a Loewe-additive matrix scores ~0), and declined when an agent is flat."""
    d = np.r_[0, np.geomspace(0.05, 20, 7)]
    X1, X2 = np.meshgrid(d, d, indexing="ij")
    # Loewe-additive surface of two agents with the same curve shape (einf 100, h 1): the
    # combination equals agent 1 alone at dose d1 + d2 * C1 / C2
    c1, c2 = 1.0, 4.0
    deq = X1 + X2 * c1 / c2
    inh = 100 * deq / (deq + c1)
    df = pd.DataFrame({"A": X1.ravel(), "B": X2.ravel(), "inh": inh.ravel()})
    q = score_single_matrix(df, ["A", "B"], "inh", ("loewe",), "inhibition", "percent")
    assert q is not None
    cells, blocks, mono, top = q
    assert np.abs(cells["score"]).max() < 1e-6
    assert np.allclose(cells["loewe_ci"], 1.0, atol=1e-6)        # index 1 = additive
    est = mono.set_index(["agent", "param"])["estimate"]
    assert abs(est[("B", "ec50")] - 4.0) < 1e-6 and abs(est[("A", "h")] - 1.0) < 1e-6
    # agent B without effect: its curve cannot be inverted, the general path explains why
    df2 = df.copy()
    df2.loc[df2["A"] == 0, "inh"] = 0.0
    assert score_single_matrix(df2, ["A", "B"], "inh", ("loewe",), "inhibition", "percent") is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cp.synergy(df2, ["A", "B"], "inh", methods=("loewe",), n_boot=0)
    assert (r.cells["status"] != "ok").all()
    # dose-equivalence Loewe and fewer than 4 dose levels are left to the general path
    assert score_single_matrix(df, ["A", "B"], "inh", ("loewe",), "inhibition", "percent",
                               loewe_method="dose_equivalence") is None
    small = df[df["A"].isin(d[:3])].reset_index(drop=True)
    assert score_single_matrix(small, ["A", "B"], "inh", ("loewe",), "inhibition", "percent") is None
