"""In-vivo synergy on growth rates: definitions, error rates, time course, 3 agents, bootstrap."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.exceptions import DataError
from comboplan.growth.synergy import (
    adjust_pvalues,
    fieller_ratio,
    invivo_synergy,
    invivo_synergy_batch,
    parse_design,
    rate_synergy_arrays,
)

DAYS = np.array([0.0, 7.0, 14.0, 21.0])


def sim_sizes(rng, rates, n_st, n=7, tau=0.01, sigma=0.15):
    K = len(rates)
    arm = np.repeat(np.arange(K), n)
    b = np.asarray(rates)[arm][None, :] + rng.normal(0, tau, (n_st, K * n))
    logv = np.log(100) + rng.normal(0, 0.3, (n_st, K * n, 1)) + b[..., None] * DAYS + rng.normal(0, sigma, (n_st, K * n, DAYS.size))
    return np.exp(logv), arm


def frame(sizes, arm, arms):
    S, T = sizes.shape
    return pd.DataFrame({"mouse": np.repeat(np.arange(S), T), "arm": np.repeat(np.asarray(arms)[arm], T),
                         "day": np.tile(DAYS, S), "vol": sizes.ravel()})


def test_hand_computed_scores():
    beta = np.array([0.10, 0.07, 0.06, 0.02])
    se = np.full(4, 0.01)
    combo = {"index": 3, "control": 0, "singles": [1, 2], "subsets": None, "agents": ["A", "B"]}
    r = rate_synergy_arrays(beta, se, 24.0, combo, horizon=14.0)
    assert r["bliss"]["score"] == pytest.approx(0.07 + 0.06 - 0.10 - 0.02)
    assert r["bliss"]["stderr"] == pytest.approx(0.02)
    assert r["bliss"]["ci_index"] == pytest.approx((0.03 + 0.04) / 0.08)
    assert r["hsa"]["score"] == pytest.approx(0.06 - 0.02)
    ra_exp = np.log(np.exp(0.07 * 14) + np.exp(0.06 * 14) - np.exp(0.10 * 14)) / 14
    assert r["ra"]["expected_rate"] == pytest.approx(ra_exp)
    assert r["ra"]["score"] == pytest.approx(ra_exp - 0.02)


def test_bliss_type_one_error_and_power():
    rng = np.random.default_rng(7)
    arms = ["control", "A", "B", "A+B"]
    null = [0.10, 0.08, 0.07, 0.05]          # r_AB = r_A + r_B - r_0: Bliss-independent
    sizes, arm = sim_sizes(rng, null, 400)
    out = invivo_synergy_batch(sizes, DAYS, arm, arms, control="control", days=None)
    p = out["scores"]["A+B"]["bliss"]["p_value"][:, 0]
    assert 0.025 <= np.mean(p < 0.05) <= 0.085
    assert abs(np.mean(out["scores"]["A+B"]["bliss"]["score"])) < 0.002
    syn = [0.10, 0.08, 0.07, 0.02]           # strong synergy: 0.03/day below Bliss
    sizes, arm = sim_sizes(rng, syn, 100)
    out = invivo_synergy_batch(sizes, DAYS, arm, arms, control="control", days=None)
    s = out["scores"]["A+B"]["bliss"]
    assert np.mean((s["p_value"][:, 0] < 0.05) & (s["score"][:, 0] > 0)) > 0.7
    assert np.mean(s["score"]) == pytest.approx(0.03, abs=0.004)


def test_table_path_equals_batch_path_and_sign_convention():
    rng = np.random.default_rng(3)
    arms = ["control", "A", "B", "A+B"]
    sizes, arm = sim_sizes(rng, [0.1, 0.07, 0.08, 0.09], 1)   # antagonism
    res = invivo_synergy(frame(sizes[0], arm, arms), "mouse", "arm", "day", "vol", control="control")
    out = invivo_synergy_batch(sizes, DAYS, arm, arms, control="control")
    got = res.over_time[res.over_time.reference == "bliss"]["score"].to_numpy()
    np.testing.assert_allclose(got, out["scores"]["A+B"]["bliss"]["score"][0], rtol=1e-10)
    assert (res.scores.set_index("reference").loc["bliss", "score"] < 0)
    assert res.scores["sign"].eq("positive = synergy").all()
    assert "positive score = synergy" in res.sign and "inhibition" in res.sign
    assert set(res.over_time["day"]) == {7.0, 14.0, 21.0}
    # Holm adjustment across days
    for ref, g in res.over_time.groupby("reference"):
        np.testing.assert_allclose(g["p_adjusted"], adjust_pvalues(g["p_value"].to_numpy(), "holm"))
    assert "likelihood" in res.dropout
    ax = res.plot()
    assert ax.get_ylabel().startswith("synergy score")


def test_statsmodels_backend_agrees():
    rng = np.random.default_rng(4)
    arms = ["control", "A", "B", "A+B"]
    sizes, arm = sim_sizes(rng, [0.1, 0.07, 0.08, 0.04], 1, tau=0.02)
    df = frame(sizes[0], arm, arms)
    a = invivo_synergy(df, "mouse", "arm", "day", "vol", control="control", days=None)
    b = invivo_synergy(df, "mouse", "arm", "day", "vol", control="control", days=None, backend="statsmodels")
    np.testing.assert_allclose(a.scores["score"], b.scores["score"], rtol=1e-5)


def test_three_agent_design_and_interaction():
    rng = np.random.default_rng(5)
    arms = ["control", "A", "B", "C", "A+B", "A+C", "B+C", "A+B+C"]
    r0, ra, rb, rc = 0.12, 0.10, 0.09, 0.11
    bliss = {"A+B": ra + rb - r0, "A+C": ra + rc - r0, "B+C": rb + rc - r0}
    rabc = ra + rb + rc - 2 * r0 - 0.02   # 0.02/day synergy of the triple beyond Bliss
    rates = [r0, ra, rb, rc, bliss["A+B"], bliss["A+C"], bliss["B+C"], rabc]
    sizes, arm = sim_sizes(rng, rates, 1, n=30, tau=0.005, sigma=0.05)
    res = invivo_synergy(frame(sizes[0], arm, arms), "mouse", "arm", "day", "vol", control="control", days=None)
    sc = res.scores.set_index(["combination", "reference"])["score"]
    assert sc[("A+B+C", "bliss")] == pytest.approx(0.02, abs=0.006)
    assert sc[("A+B+C", "bliss_interaction")] == pytest.approx(0.02, abs=0.008)
    assert abs(sc[("A+B", "bliss")]) < 0.006


def test_bootstrap_alternatives_seeded():
    rng = np.random.default_rng(6)
    arms = ["control", "A", "B", "A+B"]
    sizes, arm = sim_sizes(rng, [0.1, 0.07, 0.08, 0.03], 1)
    df = frame(sizes[0], arm, arms)
    a = invivo_synergy(df, "mouse", "arm", "day", "vol", control="control", n_boot=300, seed=1, days=None)
    b = invivo_synergy(df, "mouse", "arm", "day", "vol", control="control", n_boot=300, seed=1, days=None)
    pd.testing.assert_frame_equal(a.bootstrap, b.bootstrap)
    row = a.bootstrap.set_index(["metric", "reference"]).loc[("tc_rtv", "bliss")]
    # hand computation of the observed Bliss T/C score at day 21
    rel = sizes[0][:, -1] / sizes[0][:, 0]
    m = np.array([rel[arm == k].mean() for k in range(4)])
    tc = m / m[0]
    assert row["score"] == pytest.approx(tc[1] * tc[2] - tc[3])
    assert row["ci_low"] < row["score"] < row["ci_high"]


def test_design_errors_and_fieller():
    with pytest.raises(DataError, match="control"):
        parse_design(["a", "b"])
    with pytest.raises(DataError, match="exactly one control"):
        parse_design(["a", "b"], {"a": ["x"], "b": ["y"]})
    d = parse_design(["veh", "A", "B", "A+B"], control="veh")
    assert d["A+B"] == frozenset({"A", "B"})
    lo, hi = fieller_ratio(2.0, 4.0, 0.01, 0.01, 0.0, 1.96)
    assert lo < 0.5 < hi
    lo, hi = fieller_ratio(2.0, 0.1, 0.01, 0.01, 0.0, 1.96)  # denominator not significant
    assert np.isinf(lo) and np.isinf(hi)


def test_bliss_ci_coverage_and_agent_swap_invariance():
    rng = np.random.default_rng(21)
    arms = ["control", "A", "B", "A+B"]
    truth = 0.07 + 0.08 - 0.10 - 0.02  # 0.03/day of synergy
    sizes, arm = sim_sizes(rng, [0.10, 0.07, 0.08, 0.02], 400)
    out = invivo_synergy_batch(sizes, DAYS, arm, arms, control="control", days=None)
    s = out["scores"]["A+B"]["bliss"]
    cover = np.mean((s["ci_low"][:, 0] <= truth) & (truth <= s["ci_high"][:, 0]))
    assert 0.92 <= cover <= 0.98, cover
    # relabelling A <-> B changes nothing
    swapped = invivo_synergy_batch(sizes, DAYS, arm, ["control", "B", "A", "A+B"], control="control", days=None)
    np.testing.assert_allclose(swapped["scores"]["A+B"]["bliss"]["score"], s["score"], rtol=1e-12)
    np.testing.assert_allclose(swapped["scores"]["A+B"]["hsa"]["score"], out["scores"]["A+B"]["hsa"]["score"],
                               rtol=1e-12)


def test_dropout_and_undetectable_sizes_are_handled_and_stated():
    rng = np.random.default_rng(9)
    arms = ["control", "A", "B", "A+B"]
    sizes, arm = sim_sizes(rng, [0.10, 0.07, 0.08, -0.05], 1)
    df = frame(sizes[0], arm, arms)
    df["why"] = ""
    big = df[(df.day == 14) & (df.arm == "control")].sort_values("vol").mouse.iloc[-2:]
    df = df[~(df.mouse.isin(big) & (df.day == 21))].copy()
    df.loc[df.mouse.isin(big) & (df.day == 14), "why"] = "necrosis"
    small = df[(df.arm == "A+B") & (df.day == 21)].index[:2]
    df.loc[small, "vol"] = 0.0
    kw = dict(control="control", lloq=5.0, dropout_column="why", days=None)
    lik = invivo_synergy(df, "mouse", "arm", "day", "vol", **kw)
    cut = invivo_synergy(df, "mouse", "arm", "day", "vol", dropout="last-common-day", **kw)
    assert "likelihood" in lik.dropout and "last-common-day" in cut.dropout and "14" in cut.dropout
    assert "2 left-censored size(s) replaced by the LLOQ" in lik.below_lloq
    assert cut.scores["day"].iloc[0] == 14.0 and lik.scores["day"].iloc[0] == 21.0
    dropped = invivo_synergy(df, "mouse", "arm", "day", "vol", below_lloq="drop", **kw)
    assert "excluded" in dropped.below_lloq
    assert not np.isclose(dropped.scores["score"].iloc[0], lik.scores["score"].iloc[0])


def test_response_additivity_negative_expectation_is_flagged_not_tested():
    """Issue 13: RA gave a negative expected T/C with p = 0.014, and NaN at late days with no reason."""
    rng = np.random.default_rng(5)
    arms = ["vehicle", "A", "B", "A+B"]
    sizes, arm = sim_sizes(rng, [0.15, 0.0, 0.01, -0.03], 1)
    res = invivo_synergy(frame(sizes[0], arm, arms), "mouse", "arm", "day", "vol", control="vehicle", n_boot=200,
                         seed=1)
    b = res.bootstrap.set_index(["metric", "reference"])
    ra = b.loc[("tc_rtv", "ra")]
    # T/C_A + T/C_B - 1 < 0 at day 21: undefined, never a p-value
    assert np.isnan(ra["score"]) and np.isnan(ra["p_value"]) and np.isnan(ra["ci_low"])
    assert ra["expected_tc"] == 0.0 and "cannot be negative" in ra["reason"]
    assert b.loc[("tc_rtv", "bliss"), "reason"] == ""
    assert (res.bootstrap["expected_tc"] >= 0).all()
    ot = res.over_time[res.over_time["reference"] == "ra"].set_index("day")
    late = ot[ot["ra_floored"]]
    assert len(late) and late["score"].isna().all()
    assert late["reason"].str.contains("expected relative tumour volume <= 0").all()
    assert (ot.loc[~ot["ra_floored"], "reason"] == "").all()
    assert "Undefined scores" in res.summary()
