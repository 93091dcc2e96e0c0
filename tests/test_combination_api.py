"""Scoring API: numbers, invariances, sparse designs, bad input, peer cross-checks."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.models.combination import musyc
from comboplan.models.dose_response import hill

REF = Path(__file__).parent / "reference" / "chou_talalay"
D1 = np.array([0, 0.1, 0.3, 1, 3, 10.0])
D2 = np.array([0, 0.2, 0.6, 2, 6, 20.0])


def grid(excess=0.0, sd=0.0, reps=1, seed=0, d1=D1, d2=D2):
    rng = np.random.default_rng(seed)
    rows = []
    for a in d1:
        for b in d2:
            f1 = hill(a, 0, 1, 1, 1.2)
            f2 = hill(b, 0, 0.8, 2, 1.0)
            e = 100 * (1 - (1 - f1) * (1 - f2)) + (excess if a > 0 and b > 0 else 0)
            for r in range(reps):
                rows.append(dict(A=a, B=b, inh=e + rng.normal(0, sd) if sd else e, rep=r))
    return pd.DataFrame(rows)


def test_bliss_zero_and_excess_recovered():
    res = cp.synergy(grid(), ["A", "B"], "inh", methods=("bliss", "hsa"), n_boot=0)
    b = res.cells[res.cells.method == "bliss"]
    assert np.allclose(b.score, 0, atol=1e-9)
    res = cp.synergy(grid(excess=7.0), ["A", "B"], "inh", methods=("bliss",), n_boot=0)
    assert np.allclose(res.cells.score, 7.0, atol=1e-9)
    assert (res.cells.sign_convention.str.contains("positive = synergy")).all()


def test_bootstrap_ci_covers_and_detects_synergy():
    df = grid(excess=8.0, sd=3.0, reps=3, seed=1)
    res = cp.synergy(df, ["A", "B"], "inh", replicate="rep", n_boot=300, seed=2)
    blk = res.blocks.set_index("method")
    assert blk.loc["bliss", "ci_low"] < 8.0 < blk.loc["bliss", "ci_high"]
    assert (blk["p_value"] < 0.05).all() and (blk["q_value"] >= blk["p_value"]).all()
    bl = res.cells[res.cells.method == "bliss"]
    assert ((bl.ci_low < 8) & (bl.ci_high > 8)).mean() > 0.7
    assert res.to_xarray()["bliss"].dims == ("A", "B")
    # same seed, same numbers
    res2 = cp.synergy(df, ["A", "B"], "inh", replicate="rep", n_boot=300, seed=2)
    pd.testing.assert_frame_equal(res.cells, res2.cells)


def test_viability_input_gives_same_scores():
    df = grid(excess=5.0)
    v = df.assign(via=100 - df.inh)
    r1 = cp.synergy(df, ["A", "B"], "inh", n_boot=0)
    r2 = cp.synergy(v, ["A", "B"], "via", response_kind="viability", n_boot=0)
    assert np.allclose(r1.cells.score, r2.cells.score, atol=1e-6)


def test_agent_order_does_not_change_any_score():
    df = grid(excess=5.0, sd=2.0, reps=2, seed=4)
    r1 = cp.synergy(df, ["A", "B"], "inh", replicate="rep", n_boot=0)
    r2 = cp.synergy(df, ["B", "A"], "inh", replicate="rep", n_boot=0)
    k = ["method", "A", "B"]
    a = r1.cells.sort_values(k).reset_index(drop=True)
    b = r2.cells.sort_values(k).reset_index(drop=True)
    assert np.allclose(a.score, b.score, atol=1e-5)


@pytest.mark.filterwarnings("ignore::comboplan.exceptions.ConvergenceWarning")
def test_sparse_papers_design_bliss_with_ci_and_missing_reported():
    # one secretome level x paclitaxel 1/3/5 uM, triplicates (Eiro et al. 2024 design)
    rng = np.random.default_rng(0)
    means = {(0, 0): 0, (1, 0): 37.4, (0, 1): 43.2, (1, 1): 86.4, (0, 3): 50, (1, 3): 80, (0, 5): 55, (1, 5): 82}
    rows = [dict(sec=s, pac=p, inh=m + rng.normal(0, 4), rep=r) for (s, p), m in means.items() for r in range(3)]
    df = pd.DataFrame(rows)
    res = cp.synergy(df, ["sec", "pac"], "inh", methods=("bliss", "hsa"), replicate="rep", n_boot=500, seed=1)
    assert len(res.cells) == 6
    res_d = cp.synergy(df, ["sec", "pac"], "inh", methods=("bliss",), replicate="rep", inference="delta")
    row = res_d.cells[res_d.cells.pac == 1].iloc[0]
    assert row.ci_low < row.score < row.ci_high and row.p_value < 0.01
    with pytest.raises(DataError, match="ZIP needs a complete dose matrix|dose levels"):
        cp.synergy(df, ["sec", "pac"], "inh", methods=("zip",), replicate="rep", errors="raise")
    with pytest.raises(DataError, match="needs >= 4 dose levels"):
        cp.synergy(df, ["sec", "pac"], "inh", methods=("loewe",), replicate="rep", errors="raise")
    # default errors="warn": the method that cannot score gives rows that say why, the others are scored
    with pytest.warns(cp.exceptions.ComboplanWarning, match="loewe: 1 block"):
        both = cp.synergy(df, ["sec", "pac"], "inh", methods=("bliss", "loewe"), replicate="rep", n_boot=0)
    lw = both.cells[both.cells.method == "loewe"]
    assert lw.score.isna().all() and (lw.status == "not_scored").all()
    assert lw.message.str.contains("'sec' needs >= 4 dose levels").all()
    assert both.cells[both.cells.method == "bliss"].score.notna().all()


def test_bad_inputs_raise_dataerror():
    df = grid(excess=3.0, reps=2, sd=1.0)
    with pytest.raises(DataError, match="replicate"):
        cp.synergy(df, ["A", "B"], "inh")                 # duplicated cells, no replicate column
    with pytest.raises(DataError, match="must lie within"):
        cp.synergy(df.assign(inh=df.inh * 10), ["A", "B"], "inh", replicate="rep")
    with pytest.raises(DataError, match="look like fractions"):
        cp.synergy(df.assign(inh=df.inh / 100), ["A", "B"], "inh", replicate="rep")
    missing = df[~((df.A == 1) & (df.B == 0))]
    with pytest.raises(DataError, match="monotherapy cell"):
        cp.synergy(missing, ["A", "B"], "inh", methods=("bliss",), replicate="rep", errors="raise")
    with pytest.raises(DataError, match="ZIP needs a complete dose matrix"):
        cp.synergy(df[~((df.A == 3) & (df.B == 6))], ["A", "B"], "inh", methods=("zip",), replicate="rep",
                   errors="raise")
    with pytest.raises(cp.InvalidParameterError, match="errors must be"):  # an option, not the data
        cp.synergy(df, ["A", "B"], "inh", replicate="rep", errors="ignore")
    with pytest.raises(DataError, match="zip_version must be"):
        cp.synergy(df, ["A", "B"], "inh", replicate="rep", zip_version="4")
    with pytest.raises(DataError, match="not found"):
        cp.synergy(df, ["A", "C"], "inh", replicate="rep")
    with pytest.raises(DataError, match="negative"):
        cp.synergy(df.assign(A=df.A - 1), ["A", "B"], "inh", replicate="rep")
    with pytest.raises(DataError, match="missing"):
        cp.synergy(df.assign(inh=np.where(df.index == 3, np.nan, df.inh)), ["A", "B"], "inh", replicate="rep")
    before = df.copy()
    cp.synergy(df, ["A", "B"], "inh", replicate="rep", methods=("bliss",), n_boot=10, seed=0)
    pd.testing.assert_frame_equal(df, before)


def test_loewe_drug_with_itself_scores_zero_and_matches_synergy_package():
    d = np.array([0, 0.1, 0.3, 1, 3, 10.0])
    rows = [dict(A=a, B=b, inh=100 * hill(a + b, 0, 0.9, 1.0, 1.3)) for a in d for b in d]
    res = cp.synergy(pd.DataFrame(rows), ["A", "B"], "inh", methods=("loewe",), n_boot=0)
    assert np.allclose(res.cells.score, 0, atol=0.05)
    assert np.allclose(res.cells.loewe_ci, 1, atol=2e-3)


def test_loewe_zip_cross_check_synergy_package():
    """Loewe vs `synergy` Loewe (mode 'delta_weakest' agrees below both maxima); ZIP sign/magnitude."""
    from synergy.combination import ZIP, Loewe

    df = grid(excess=6.0)
    res = cp.synergy(df, ["A", "B"], "inh", methods=("loewe", "zip"), n_boot=0)
    m = cp.synergy(df, ["A", "B"], "inh", methods=("loewe",), n_boot=0).monotherapy
    # peer on viability fractions, given OUR single-agent Hill curves (so that the comparison is of the
    # Loewe solve, not of two optimisers' luck from their defaults, which depends on the CPU's BLAS)
    from synergy.single import Hill
    est = {(r.agent, r.param): r.estimate for r in m.itertuples()}

    def hill_v(a):
        return Hill(E0=1 - est[(a, "e0")] / 100, Emax=1 - est[(a, "einf")] / 100, h=est[(a, "h")],
                    C=est[(a, "ec50")])
    v = 1 - df.inh.to_numpy() / 100
    lo = Loewe(mode="delta_weakest", drug1_model=hill_v("A"), drug2_model=hill_v("B"))
    peer = lo.fit(df.A.to_numpy(), df.B.to_numpy(), v)
    assert lo.drug1_model.C == pytest.approx(est[("A", "ec50")], rel=1e-9)     # the peer kept our curves
    ours = res.cells[res.cells.method == "loewe"].set_index(["A", "B"]).score / 100
    key = pd.MultiIndex.from_arrays([df.A, df.B])
    peer_s = pd.Series(peer, index=key).loc[ours.index]
    mono = res.monotherapy[res.monotherapy.param == "einf"]
    ref = res.cells[res.cells.method == "loewe"].set_index(["A", "B"]).reference
    below = ref.to_numpy() < mono.estimate.min() - 1.0    # below both single-agent maxima
    ok = np.isfinite(peer_s.to_numpy()) & below
    assert ok.sum() >= 15 and (~below).sum() >= 1
    # beyond the weaker agent's maximum the conventions differ (documented in docs/synergy.md)
    assert not np.allclose(ours.to_numpy()[~below], peer_s.to_numpy()[~below], atol=0.02)
    # peer excess is E_ref - E (viability) = our inhibition excess, from the same Hill curves
    assert np.allclose(ours.to_numpy()[ok], peer_s.to_numpy()[ok], atol=1e-5)
    z = ZIP()
    zp = pd.Series(z.fit(df.A.to_numpy(), df.B.to_numpy(), v), index=key).loc[ours.index]
    oz = res.cells[res.cells.method == "zip"].set_index(["A", "B"]).score / 100
    # different conventions (peer: free Emax, dose 0 in slices); agree within 0.03 on average
    assert abs(np.mean(oz.to_numpy()) - np.mean(zp.to_numpy())) < 0.03
    assert np.mean(oz) > 0 and np.mean(zp) > 0
    assert set(m.param) == {"e0", "einf", "ec50", "h"}


def test_zip_additive_surface_near_zero_and_most_synergistic_area():
    res = cp.synergy(grid(), ["A", "B"], "inh", methods=("zip",), n_boot=0)
    # ZIP's slices have a fixed 100 % top, so a Bliss surface with a partial agent is near, not at, 0
    assert np.abs(res.cells.score).max() < 3 and np.abs(res.cells.score).mean() < 1
    res = cp.synergy(grid(excess=5.0), ["A", "B"], "inh", methods=("bliss",), n_boot=0)
    assert np.isclose(res.blocks.most_synergistic_area.iloc[0], 5.0)


def _ct_frame():
    df = pd.read_csv(REF / "chou1994_taxol_cisplatin_topotecan.csv")
    return df


def test_chou_talalay_reference_data():
    df = _ct_frame()
    two = df[df.topotecan_uM == 0].drop(columns="topotecan_uM")
    two = two[two.entity != "taxol+cisplatin+topotecan"]
    r = cp.chou_talalay(two, ["taxol_uM", "cisplatin_uM"], "fa", scale="fraction")
    p = r.params.set_index("entity")
    for ent, col in (("taxol_uM", "taxol_uM"), ("cisplatin_uM", "cisplatin_uM")):
        s = two[(two[col] > 0) & (two.entity.isin(["taxol", "cisplatin"]))]
        x, y = np.log10(s[col]), np.log10(s.fa / (1 - s.fa))
        m, b0 = np.polyfit(x, y, 1)
        assert np.isclose(p.loc[ent, "m"], m, rtol=1e-10)
        assert np.isclose(p.loc[ent, "Dm"], 10 ** (-b0 / m), rtol=1e-10)
        assert np.isclose(p.loc[ent, "r"], np.corrcoef(x, y)[0, 1], rtol=1e-10)
    # three-drug CI at fa levels = Chou's n-drug equation evaluated directly
    r3 = cp.chou_talalay(df.drop(columns="entity")[df.entity.isin(["taxol", "cisplatin", "topotecan",
                                                                   "taxol+cisplatin+topotecan"])],
                         ["taxol_uM", "cisplatin_uM", "topotecan_uM"], "fa", scale="fraction")
    P = r3.params.set_index("kind")
    ag = r3.params[r3.params.kind == "agent"]
    mix = r3.params[r3.params.kind == "mixture"].iloc[0]
    prop = np.array([1, 100, 10]) / 111
    for fa in (0.5, 0.75, 0.9, 0.95):
        dx = ag.Dm.to_numpy() * (fa / (1 - fa)) ** (1 / ag.m.to_numpy())
        dmix = mix.Dm * (fa / (1 - fa)) ** (1 / mix.m)
        ci = np.sum(prop * dmix / dx)
        got = r3.levels[np.isclose(r3.levels.fa, fa)].CI.iloc[0]
        assert np.isclose(got, ci, rtol=1e-10)
        lv = r3.levels[np.isclose(r3.levels.fa, fa)].iloc[0]
        assert lv.CI_ci_low < got < lv.CI_ci_high
    # qualitative pattern of the paper: synergy grows with the effect level (CI falls below 1 at high fa)
    ci = r3.levels.CI.to_numpy()
    assert np.all(np.diff(ci) < 0) and (ci[1:] < 1).all()


def test_chou_talalay_matches_synergy_package_and_unit_invariance():
    from synergy.combination import CombinationIndex

    df = grid(excess=5.0, d1=D1, d2=D2)
    df = df[(df.inh > 0.5) & (df.inh < 99.5)]
    r = cp.chou_talalay(df, ["A", "B"], "inh")
    peer = CombinationIndex()
    v = 1 - df.inh.to_numpy() / 100
    s = peer.fit(df.A.to_numpy(), df.B.to_numpy(), v)
    assert np.isclose(peer.drug1_model.h, r.params.set_index("entity").loc["A", "m"], rtol=1e-8)
    assert np.isclose(peer.drug1_model.C, r.params.set_index("entity").loc["A", "Dm"], rtol=1e-8)
    ps = pd.Series(s, index=pd.MultiIndex.from_arrays([df.A, df.B]))
    ours = r.points.set_index(["A", "B"]).CI
    assert np.allclose(ours.to_numpy(), ps.loc[ours.index].to_numpy(), rtol=1e-8)
    # dose units: A in nM instead of uM -> CI unchanged
    r2 = cp.chou_talalay(df.assign(A=df.A * 1000), ["A", "B"], "inh")
    assert np.allclose(r.points.CI.to_numpy(), r2.points.CI.to_numpy(), rtol=1e-9)
    assert np.allclose(np.sort(r.levels.CI.to_numpy()), np.sort(r2.levels.CI.to_numpy()), rtol=1e-9)


def test_chou_drug_with_itself_ci_is_one():
    d = np.array([0.1, 0.3, 1, 3, 10.0])
    rows = [dict(A=x, B=0.0, fa=1 / (1 + (1.0 / x) ** 1.4)) for x in d]
    rows += [dict(A=0.0, B=x, fa=1 / (1 + (1.0 / x) ** 1.4)) for x in d]
    rows += [dict(A=x / 2, B=x / 2, fa=1 / (1 + (1.0 / x) ** 1.4)) for x in d]
    r = cp.chou_talalay(pd.DataFrame(rows), ["A", "B"], "fa", scale="fraction")
    assert np.allclose(r.levels.CI, 1.0, atol=1e-9) and np.allclose(r.points.CI, 1.0, atol=1e-9)


def _musyc_frame(seed=0, scale1=1.0):
    rng = np.random.default_rng(seed)
    d1 = np.r_[0, np.geomspace(0.05, 20, 7)]
    d2 = np.r_[0, np.geomspace(0.1, 50, 7)]
    X1, X2 = np.meshgrid(d1, d2, indexing="ij")
    true = dict(E0=1, E1=0.4, E2=0.2, E3=0.05, h1=1.3, h2=0.9, C1=1.0, C2=3.0, alpha12=3.0, alpha21=0.5)
    E = musyc(X1, X2, **true) + rng.normal(0, 0.02, X1.shape)
    return pd.DataFrame(dict(a=X1.ravel() * scale1, b=X2.ravel(), v=E.ravel())), true


def test_musyc_recovery_and_dose_unit_invariance():
    df, true = _musyc_frame()
    r = cp.fit_musyc(df, ["a", "b"], "v", n_boot=60, seed=1)
    e = r.estimates()
    for k in ("E0", "E1", "E2", "E3", "C1", "C2"):
        assert abs(e[k] - true[k]) < 0.25 * max(abs(true[k]), 0.2), k
    p = r.params.set_index("param")
    assert p.loc["alpha12", "ci_low"] < 3.0 < p.loc["alpha12", "ci_high"] * 1.2
    df2, _ = _musyc_frame(scale1=1000.0)
    r2 = cp.fit_musyc(df2, ["a", "b"], "v", n_boot=0)
    e2 = r2.estimates()
    assert np.isclose(e2["C1"], 1000 * e["C1"], rtol=1e-3)
    for k in ("E0", "E3", "h1", "alpha12", "alpha21"):
        assert np.isclose(e2[k], e[k], rtol=1e-3, atol=1e-4), k


def test_musyc_fit_not_worse_than_synergy_package():
    from synergy.combination import MuSyC

    df, true = _musyc_frame(seed=3)
    r = cp.fit_musyc(df, ["a", "b"], "v", n_boot=0)
    peer = MuSyC(fit_gamma=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer.fit(df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy())
    rss_peer = np.sum((peer.E(df.a.to_numpy(), df.b.to_numpy()) - df.v.to_numpy()) ** 2)
    assert r.fit.rss.iloc[0] <= rss_peer * (1 + 1e-6)


def test_equivalent_dose():
    rng = np.random.default_rng(0)
    pac = np.array([0, 0.3, 1, 3, 10.0])
    rows = [dict(pac=p, sec=0.0, inh=hill(p, 0, 90, 2.0, 1.2) + rng.normal(0, 2), rep=r) for p in pac for r in range(3)]
    rows += [dict(pac=1.0, sec=1.0, inh=hill(4.0, 0, 90, 2.0, 1.2) + rng.normal(0, 2), rep=r) for r in range(3)]
    rows += [dict(pac=0.0, sec=1.0, inh=10 + rng.normal(0, 2), rep=r) for r in range(3)]
    out = cp.equivalent_dose(pd.DataFrame(rows), ["pac", "sec"], "inh", agent="pac", combination={"pac": 1, "sec": 1},
                             replicate="rep", n_boot=300, seed=1)
    row = out.iloc[0]
    assert row.ci_low < 4.0 < row.ci_high and 2.5 < row.equivalent_dose < 6
    assert np.isclose(row.dose_ratio, row.equivalent_dose)


def test_synergyfinder_roundtrip_and_cli(tmp_path):
    df = grid(excess=4.0, sd=1.0, reps=2)
    sf = cp.write_synergyfinder(df, tmp_path / "sf.csv", ["A", "B"], "inh", drugs=["drugA", "drugB"],
                                units=["uM", "uM"])
    assert list(sf.columns) == ["BlockID", "DrugRow", "DrugCol", "ConcRow", "ConcCol", "Response",
                                "ConcRowUnit", "ConcColUnit"]
    back = cp.read_synergyfinder(tmp_path / "sf.csv")
    res = cp.synergy(back, ["conc_row", "conc_col"], "response", by=["block", "drug_row", "drug_col"],
                     replicate="replicate", methods=("bliss",), n_boot=0)
    ref = cp.synergy(df, ["A", "B"], "inh", replicate="rep", methods=("bliss",), n_boot=0)
    assert np.allclose(np.sort(res.cells.score), np.sort(ref.cells.score))
    from comboplan.cli import main

    rc = main(["synergy", str(tmp_path / "sf.csv"), "--synergyfinder", "--methods", "bliss", "hsa",
               "--n-boot", "20", "--seed", "1", "-o", str(tmp_path / "out")])
    assert rc == 0 and (tmp_path / "out" / "cells.csv").exists()
    assert (tmp_path / "out" / "heatmap_bliss_block0.png").exists()


def _tiny_block():
    return pd.DataFrame({"blk": [5.0] * 8, "a": [0, 0, 1, 1] * 2, "b": [0, 1, 0, 1] * 2,
                         "y": [0, 40, 40, 70, 2, 42, 38, 72], "rep": [0] * 4 + [1] * 4})


def test_error_messages_show_plain_block_labels_not_numpy_reprs():
    with pytest.raises(cp.DataError) as e:
        cp.synergy(_tiny_block(), doses=["a", "b"], response="y", by="blk", methods=("loewe",), replicate="rep",
                   errors="raise")
    assert "blk=5.0" in str(e.value) and "np.float64" not in str(e.value)


def test_summary_states_the_inference_each_method_used():
    r = cp.synergy(_tiny_block(), doses=["a", "b"], response="y", methods=("bliss",), replicate="rep",
                   n_boot=100, seed=1)
    inf = r.cells["inference"].iloc[0]
    assert inf.startswith("delta method") and f"bliss: {inf}" in r.summary()


def test_equivalent_dose_not_reached_gives_infinite_upper_limit_without_warnings():
    import warnings

    wells = cp.datasets.load_eiro2024_proliferation_synthetic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cp.equivalent_dose(wells, ["cm_fraction", "paclitaxel_uM"], "inhibition_pct", agent="paclitaxel_uM",
                               combination={"cm_fraction": 1, "paclitaxel_uM": 1}, replicate="well", n_boot=200,
                               seed=1).iloc[0]
    # 86.4 % exceeds the fitted maximum of paclitaxel alone (the synthetic curve tops out near 80 %)
    assert np.isinf(r["equivalent_dose"]) and np.isinf(r["ci_high"]) and np.isfinite(r["ci_low"])
    assert r["p_not_reached"] > 1 - 0.975 and "exceeds the maximal effect" in r["note"]


def test_read_synergyfinder_takes_the_single_concunit_column():
    df = pd.DataFrame({"BlockID": 1, "DrugRow": "A", "DrugCol": "B", "ConcRow": [0, 1], "ConcCol": [0, 1],
                       "Response": [0, 50], "ConcUnit": "nM"})
    out = cp.read_synergyfinder(df)
    assert out.conc_row_unit.tolist() == ["nM", "nM"] and out.conc_col_unit.tolist() == ["nM", "nM"]
