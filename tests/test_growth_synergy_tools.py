"""The reference tools' in-vivo synergy definitions: invivoSyn (normalised AUC) and CombPDX (log index, global).

Hand-computed values on a tiny study, behaviour under each tool's own null and under strong
synergy, row-order independence at a fixed seed, the invivo_synergy(definition=...) hook, and
bad input.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import comboplan as cp
from comboplan.exceptions import DataError, InvalidParameterError
from comboplan.growth.synergy import invivo_synergy
from comboplan.growth.synergy_tools import (
    ToolSynergy,
    combpdx_index,
    combpdx_synergy,
    egr_from_auc,
    invivosyn_expected,
    invivosyn_synergy,
)

COLS = ("mouse", "arm", "day", "vol")
ARMS = ["control", "A", "B", "A+B"]

# tiny study: 2 animals per arm, days 0, 2, 4; log(V/V0) at days 2 and 4 per animal
TINY = {"control": [(0.4, 0.8), (0.2, 0.4)], "A": [(0.2, 0.4), (0.1, 0.2)],
        "B": [(0.3, 0.2), (0.1, 0.0)], "A+B": [(0.1, 0.0), (0.0, 0.0)]}


def tiny_frame() -> pd.DataFrame:
    rows = []
    for a, ys in TINY.items():
        for i, (y2, y4) in enumerate(ys):
            for d, y in ((0.0, 0.0), (2.0, y2), (4.0, y4)):
                rows.append((f"{a}-{i}", a, d, 100.0 * np.exp(y)))
    return pd.DataFrame(rows, columns=list(COLS))


DAYS = np.array([0.0, 4, 7, 11, 14, 18, 21])


def simulate(rng, rates, n=10, tau=0.015, sigma=0.1) -> pd.DataFrame:
    """Exponential growth, random rate per animal, log-normal measurement error (none at baseline)."""
    sub, arm, day, vol = [], [], [], []
    for a, r in zip(ARMS, rates):
        for i in range(n):
            b = r + rng.normal(0, tau)
            v0 = 100 * np.exp(rng.normal(0, 0.2))
            e = rng.normal(0, sigma, DAYS.size)
            e[0] = 0.0
            sub += [f"{a}-{i}"] * DAYS.size
            arm += [a] * DAYS.size
            day += list(DAYS)
            vol += list(v0 * np.exp(b * DAYS + e))
    return pd.DataFrame({"mouse": sub, "arm": arm, "day": day, "vol": vol})


# --------------------------------------------------------------------------- hand-computed values
def test_egr_is_the_normalised_trapezoid_auc():
    # log(V/V0) = 0, 0.3, 0.4 at t = 0, 2, 4: trapezoid = 0.3 + 0.7 = 1.0; eGR = 2 * 1.0 / 4^2
    assert egr_from_auc([0, 2, 4], np.log(100) + np.array([0.0, 0.3, 0.4])) == pytest.approx(0.125)
    # exponential growth: the eGR is the rate, whatever the spacing
    t = np.array([0.0, 3, 7, 10, 21])
    assert egr_from_auc(t, 5 + 0.07 * t) == pytest.approx(0.07)
    assert np.isnan(egr_from_auc([0.0], [1.0]))


def test_invivosyn_hand_computed():
    # eGR = (2 y2 + y4) / 8 on this grid: control 0.2, 0.1; A 0.1, 0.05; B 0.1, 0.025; A+B 0.025, 0
    k = {"control": 0.15, "A": 0.075, "B": 0.0625, "A+B": 0.0125}
    h = 4.0
    s = {a: np.exp((k[a] - k["control"]) * h) for a in k}
    assert s["A"] == pytest.approx(np.exp(-0.3)) and s["A+B"] == pytest.approx(np.exp(-0.55))
    res = invivosyn_synergy(tiny_frame(), *COLS, control="control", n_boot=50, seed=3)
    sc = res.scores.set_index("reference")
    expected = {"bliss": s["A"] * s["B"], "hsa": min(s["A"], s["B"]), "ra": s["A"] + s["B"] - 1}
    for ref, e in expected.items():
        assert sc.loc[ref, "observed"] == pytest.approx(s["A+B"])
        assert sc.loc[ref, "expected"] == pytest.approx(e)
        assert sc.loc[ref, "synergy_score"] == pytest.approx(100 * (e - s["A+B"]))
        assert sc.loc[ref, "index"] == pytest.approx(s["A+B"] / e)
    assert sc.loc["bliss", "synergy_score"] < 0          # exp(-0.65) < exp(-0.55): antagonism
    eg = res.animals.set_index("subject")["egr"]
    assert eg["B-0"] == pytest.approx(0.1) and eg["A+B-1"] == pytest.approx(0.0)
    arm = res.arm_stats.set_index("arm")
    assert arm.loc["A", "egr_mean"] == pytest.approx(0.075)
    assert arm.loc["A", "egr_se"] == pytest.approx(np.std([0.1, 0.05], ddof=1) / np.sqrt(2))
    # the tool's fixed horizon (invivoSyn's t, default 21 days there)
    r21 = invivosyn_synergy(tiny_frame(), *COLS, control="control", horizon=21, n_boot=50, seed=3)
    b = r21.scores.set_index("reference").loc["bliss"]
    assert b["expected"] == pytest.approx(np.exp((0.075 + 0.0625 - 0.3) * 21))
    # log(V + 1) as invivoSyn
    r1 = invivosyn_synergy(tiny_frame(), *COLS, control="control", log_offset=1.0, n_boot=50, seed=3)
    v = 100 * np.exp(np.array([0.0, 0.4, 0.8]))
    assert r1.animals.set_index("subject").loc["control-0", "egr"] == pytest.approx(
        egr_from_auc([0, 2, 4], np.log(v + 1)))
    assert invivosyn_expected([0.5, 0.8, 0.9], "ra") == pytest.approx(0.2)


def test_combpdx_hand_computed():
    res = combpdx_synergy(tiny_frame(), *COLS, control="control", n_boot=200, seed=5)
    day = res.scores[res.scores.window == "day"].set_index(["reference", "day"])
    idx = {}
    for d, col in ((2.0, 0), (4.0, 1)):
        rtv = {a: np.exp(np.array([ys[0][col], ys[1][col]])) for a, ys in TINY.items()}
        m = {a: v.mean() for a, v in rtv.items()}
        vm = {a: v.var(ddof=1) / 2 for a, v in rtv.items()}         # variance of each arm mean
        bl = np.log(m["A"]) + np.log(m["B"]) - np.log(m["control"]) - np.log(m["A+B"])
        se = np.sqrt(sum(vm[a] / m[a] ** 2 for a in m))
        r = day.loc[("bliss", d)]
        assert r["synergy_score"] == pytest.approx(bl) and r["index"] == pytest.approx(bl)
        assert r["stderr"] == pytest.approx(se)
        assert r["p_synergy"] == pytest.approx(stats.norm.sf(bl / se))
        assert r["p_antagonism"] == pytest.approx(stats.norm.cdf(bl / se))
        assert r["p_value"] == pytest.approx(2 * stats.norm.sf(abs(bl / se)))
        assert r["ci_low"] == pytest.approx(bl - stats.norm.ppf(0.975) * se)
        assert r["expected"] == pytest.approx(m["A"] * m["B"] / m["control"])
        best = min(m["A"], m["B"])
        assert day.loc[("hsa", d), "synergy_score"] == pytest.approx(np.log(best) - np.log(m["A+B"]))
        assert day.loc[("ra", d), "synergy_score"] == pytest.approx(
            np.log(m["A"] + m["B"]) - np.log(m["control"] + m["A+B"]))
        idx[d] = bl
    glob = res.scores[(res.scores.window == "global") & (res.scores.reference == "bliss")].iloc[0]
    assert glob["synergy_score"] == pytest.approx((idx[2.0] + idx[4.0]) / 2)
    assert glob["inference"] == "bootstrap percentile" and glob["n_boot"] == 200
    assert 0 < glob["p_synergy"] <= 1 and glob["ci_low"] <= glob["synergy_score"] <= glob["ci_high"]
    # the pure formula agrees with the table
    means = res.arm_stats[res.arm_stats.day == 4.0].set_index("arm").loc[ARMS]
    i, v = combpdx_index(means["mean_rtv"], means["var_rtv"], means["n_animals"], 0, [1, 2], 3, "bliss")
    assert i == pytest.approx(idx[4.0])


# --------------------------------------------------------------------------- each tool's own null
def test_null_p_values_roughly_uniform_and_scores_near_zero():
    rng = np.random.default_rng(11)
    null = [0.10, 0.07, 0.08, 0.05]     # rates add: Bliss holds for invivoSyn's S and for mean RTV
    p_iv, p_day, p_glob, s_iv, s_glob = [], [], [], [], []
    for s in range(80):
        df = simulate(rng, null)
        a = invivosyn_synergy(df, *COLS, control="control", references=["bliss"], n_boot=200, seed=s)
        b = combpdx_synergy(df, *COLS, control="control", references=["bliss"], n_boot=200, seed=s)
        p_iv.append(a.scores["p_synergy"].iloc[-1])
        s_iv.append(a.scores["synergy_score"].iloc[-1])
        d = b.scores[b.scores.window == "day"]
        g = b.scores[b.scores.window == "global"].iloc[0]
        p_day.append(d["p_synergy"].iloc[-1])
        p_glob.append(g["p_synergy"])
        s_glob.append(g["synergy_score"])
    for p in (p_iv, p_day, p_glob):
        p = np.asarray(p)
        assert 0.40 < p.mean() < 0.60
        assert 0.02 <= np.mean(p < 0.1) <= 0.22
        assert 0.3 < np.mean(p < 0.5) < 0.7
    for sc in (s_iv, s_glob):
        sc = np.asarray(sc)
        assert abs(sc.mean()) < 3 * sc.std(ddof=1) / np.sqrt(sc.size)


def test_strong_synergy_has_the_right_sign():
    rng = np.random.default_rng(12)
    syn = [0.10, 0.07, 0.08, 0.01]      # 0.04/day below the Bliss rate 0.05
    for s in range(3):
        df = simulate(rng, syn)
        a = invivosyn_synergy(df, *COLS, control="control", n_boot=300, seed=s)
        b = combpdx_synergy(df, *COLS, control="control", n_boot=300, seed=s)
        for res in (a, b):
            bl = res.scores[res.scores.reference == "bliss"].iloc[-1]     # last day (invivoSyn), global (CombPDX)
            assert bl["synergy_score"] > 0 and bl["p_synergy"] < 0.05 and bl["p_antagonism"] > 0.95
        assert a.scores.set_index("reference").loc["bliss", "index"] < 1


# --------------------------------------------------------------------------- contract
def test_row_order_and_seed():
    df = simulate(np.random.default_rng(2), [0.1, 0.07, 0.08, 0.04], n=6)
    shuffled = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    for f in (invivosyn_synergy, combpdx_synergy):
        a = f(df, *COLS, control="control", days="all", n_boot=200, seed=42)
        b = f(shuffled, *COLS, control="control", days="all", n_boot=200, seed=42)
        pd.testing.assert_frame_equal(a.scores, b.scores)
        pd.testing.assert_frame_equal(a.arm_stats, b.arm_stats)
        pd.testing.assert_frame_equal(a.animals, b.animals)
        c = f(df, *COLS, control="control", days="all", n_boot=200, seed=43)
        assert not np.allclose(a.scores["ci_low"], c.scores["ci_low"], equal_nan=True)
        # no seed: the entropy used is recorded and reproduces the result
        d = f(df, *COLS, control="control", n_boot=100)
        e = f(df, *COLS, control="control", n_boot=100, seed=d.seed)
        pd.testing.assert_frame_equal(d.scores, e.scores)


def test_hook_statements_and_round_trip(tmp_path):
    df = simulate(np.random.default_rng(4), [0.1, 0.07, 0.08, 0.04], n=5)
    direct = combpdx_synergy(df, *COLS, control="control", n_boot=100, seed=1)
    hooked = invivo_synergy(df, *COLS, control="control", definition="combpdx", n_boot=100, seed=1)
    pd.testing.assert_frame_equal(direct.scores, hooked.scores)
    iv = invivo_synergy(df, *COLS, control="control", definition="invivosyn", n_boot=100, seed=1, days=None,
                        tool_options={"horizon": 21.0})
    assert isinstance(iv, ToolSynergy) and iv.settings["horizon"] == 21.0
    for res in (hooked, iv):
        text = res.summary()
        assert "one-sided" in text and "two-sided" in text and "seed 1" in text and "> 0 means synergy" in text
        assert set(res.sidedness) == {"p_synergy", "p_antagonism", "p_value"}
        assert "growth scale" in res.scale
        ds = res.to_xarray()
        assert all("units" in ds[v].attrs for v in ds.data_vars)
        res.to_netcdf(tmp_path / f"{res.definition}.nc")
        back = cp.load_result(tmp_path / f"{res.definition}.nc")
        assert back.summary() == text
        pd.testing.assert_frame_equal(back.scores, res.scores, check_dtype=False)
        assert res.plot().get_ylabel().startswith("synergy score")
    assert "global" in set(hooked.scores["window"])
    # the default definition is unchanged (SynergyLMM-style rates) and states sidedness and seed too
    lmm = invivo_synergy(df, *COLS, control="control", days=None, n_boot=50, seed=7)
    assert type(lmm).__name__ == "InVivoSynergy" and lmm.seed == 7
    assert "p_value two-sided" in lmm.summary() and "p_synergy one-sided" in lmm.summary()
    assert "bootstrap seed 7" in lmm.summary() and lmm.to_xarray().attrs["seed"] == 7
    assert invivo_synergy(df, *COLS, control="control", days=None).seed is None


# --------------------------------------------------------------------------- bad input
def test_bad_options():
    df = tiny_frame()
    with pytest.raises(InvalidParameterError, match="definition"):
        invivo_synergy(df, *COLS, control="control", definition="invivoSyn")
    with pytest.raises(InvalidParameterError, match="n_boot"):
        invivo_synergy(df, *COLS, control="control", definition="invivosyn")     # default n_boot=0
    with pytest.raises(InvalidParameterError, match="method"):
        invivo_synergy(df, *COLS, control="control", definition="combpdx", method="ml")
    with pytest.raises(InvalidParameterError, match="tool_options"):
        invivo_synergy(df, *COLS, control="control", definition="combpdx", tool_options={"horizon": 3})
    with pytest.raises(InvalidParameterError, match="references"):
        combpdx_synergy(df, *COLS, control="control", references=["bliss_interaction"])
    with pytest.raises(InvalidParameterError, match="horizon"):
        invivosyn_synergy(df, *COLS, control="control", horizon=-1)
    with pytest.raises(InvalidParameterError, match="log_offset"):
        invivosyn_synergy(df, *COLS, control="control", log_offset=-1)
    with pytest.raises(InvalidParameterError, match="ci_level.*percentage"):
        combpdx_synergy(df, *COLS, control="control", ci_level=95)
    with pytest.raises(InvalidParameterError, match="seed"):
        combpdx_synergy(df, *COLS, control="control", seed=-3)
    with pytest.raises(InvalidParameterError, match="measurement days"):
        combpdx_synergy(df, *COLS, control="control", days=[3.0])
    with pytest.raises(InvalidParameterError, match="after the baseline"):
        invivosyn_synergy(df, *COLS, control="control", days=[0.0])


def test_bad_data():
    df = tiny_frame()
    zero = df.copy()
    zero.loc[4, "vol"] = 0.0
    with pytest.raises(DataError, match=r"column 'vol'.*row 4.*lloq="):
        invivosyn_synergy(zero, *COLS, control="control", n_boot=10)
    # declared detection limit: the zero becomes the LLOQ and the analysis runs
    assert np.isfinite(invivosyn_synergy(zero, *COLS, control="control", n_boot=10, lloq=50.0)
                       .scores["synergy_score"]).all()
    short = df[~((df.mouse == "B-1") & (df.day > 0))]
    with pytest.raises(DataError, match=r"arm 'B'.*two measurements"):
        invivosyn_synergy(short, *COLS, control="control", n_boot=10)
    # CombPDX: a day with one animal in an arm has no variance: NaN with the reason, no error
    r = combpdx_synergy(short, *COLS, control="control", n_boot=10, seed=1)
    assert r.scores["synergy_score"].isna().all()
    assert r.scores["reason"].str.contains("fewer than two animals").any()
    with pytest.raises(DataError, match="control"):
        combpdx_synergy(df, *COLS, n_boot=10)
    with pytest.raises(DataError, match="single agents"):
        combpdx_synergy(df[df.arm != "B"], *COLS, control="control", n_boot=10)
