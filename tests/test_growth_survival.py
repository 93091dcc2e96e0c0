"""Time-to-event endpoints: event extraction, Kaplan-Meier, log-rank, Cox and survival Bliss synergy by hand."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import optimize, stats  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.exceptions import DataError  # noqa: E402
from comboplan.growth.survival import survival_analysis, time_to_event  # noqa: E402

Z95 = stats.norm.ppf(0.975)


def ev_frame(groups: dict) -> pd.DataFrame:
    rows = [(f"{a}{i}", a, t, e) for a, pairs in groups.items() for i, (t, e) in enumerate(pairs)]
    return pd.DataFrame(rows, columns=["mouse", "arm", "t", "e"])


def logrank_by_hand(t, e, g):
    """k-sample log-rank chi-square (Mantel-Haenszel), written out: (O - E)' V^- (O - E) over groups 1..k-1."""
    t, e, g = map(np.asarray, (t, e, g))
    groups = np.unique(g)
    k = groups.size
    o_e = np.zeros(k)
    V = np.zeros((k, k))
    for u in np.unique(t[e == 1]):
        risk = t >= u
        n = risk.sum()
        d = ((t == u) & (e == 1)).sum()
        nj = np.array([(risk & (g == h)).sum() for h in groups])
        dj = np.array([((t == u) & (e == 1) & (g == h)).sum() for h in groups])
        o_e += dj - d * nj / n
        if n > 1:
            f = d * (n - d) / (n * n * (n - 1))
            V += f * (n * np.diag(nj) - np.outer(nj, nj))
    x = o_e[1:]
    return float(x @ np.linalg.solve(V[1:, 1:], x))


# --------------------------------------------------------------------------- Kaplan-Meier
def test_kaplan_meier_greenwood_and_loglog_ci_by_hand():
    ev = ev_frame({"ctl": [(1, 1), (2, 1), (2, 0), (3, 1), (4, 0), (5, 1)],
                   "trt": [(2, 1), (6, 0), (6, 0), (6, 0)]})
    r = survival_analysis(ev, time="t", event="e", arm="arm", control="ctl")
    km = r.km[r.km["arm"] == "ctl"].set_index("time")
    # S: 5/6 at 1, 5/6*4/5 at 2 (censoring at 2 counted after the event), *2/3 at 3, 0 at 5
    np.testing.assert_allclose(km.loc[[0, 1, 2, 3, 5], "survival"], [1, 5 / 6, 2 / 3, 4 / 9, 0], rtol=1e-12)
    np.testing.assert_array_equal(km.loc[[1, 2, 3, 5], "n_at_risk"], [6, 5, 3, 1])
    gw3 = 1 / (6 * 5) + 1 / (5 * 4) + 1 / (3 * 2)
    assert km.loc[3, "se"] == pytest.approx(4 / 9 * np.sqrt(gw3), rel=1e-12)  # Greenwood = 0.2222
    s1, gw1 = 5 / 6, 1 / 30
    sell = np.sqrt(gw1) / abs(np.log(s1))
    assert km.loc[1, "ci_low"] == pytest.approx(s1 ** np.exp(Z95 * sell), rel=1e-10)
    assert km.loc[1, "ci_high"] == pytest.approx(s1 ** np.exp(-Z95 * sell), rel=1e-10)
    assert np.isnan(km.loc[5, "ci_low"])  # S = 0: interval undefined
    med = r.medians.set_index("arm")
    assert med.loc["ctl", "median"] == 3.0  # first time with S <= 0.5
    assert med.loc["trt", "median"] == np.inf and "not reached" in med.loc["trt", "reason"]
    assert med.loc["trt", "ci_high"] == np.inf


# --------------------------------------------------------------------------- log-rank and Cox
def test_logrank_two_and_k_arms_by_hand():
    ev = ev_frame({"ctl": [(1, 1), (3, 1), (5, 0)], "trt": [(2, 1), (4, 1), (6, 1)]})
    r = survival_analysis(ev, time="t", event="e", arm="arm", control="ctl")
    row = r.logrank.iloc[0]
    # O1 - E1 = 2 - (1/2 + 2/5 + 1/2 + 1/3); V = 1/4 + 6/25 + 1/4 + 2/9
    oe = 2 - (0.5 + 0.4 + 0.5 + 1 / 3)
    v = 0.25 + 0.24 + 0.25 + 2 / 9
    assert row["chi2"] == pytest.approx(oe * oe / v, rel=1e-10)  # 0.0739
    assert row["chi2"] == pytest.approx(0.073903, abs=1e-6)
    assert row["p_value"] == pytest.approx(stats.chi2.sf(oe * oe / v, 1), rel=1e-10)
    rng = np.random.default_rng(3)
    groups = {a: [(float(x), int(rng.random() < 0.8)) for x in rng.exponential(s, 7).round(1) + 0.1]
              for a, s in (("v", 5.0), ("a", 8.0), ("b", 12.0))}
    ev3 = ev_frame(groups)
    r3 = survival_analysis(ev3, time="t", event="e", arm="arm", control="v")
    allrow = r3.logrank.set_index("comparison").loc["all arms"]
    assert allrow["df"] == 2
    assert allrow["chi2"] == pytest.approx(logrank_by_hand(ev3["t"], ev3["e"], ev3["arm"]), rel=1e-8)
    pair = r3.logrank.set_index("comparison").loc["b vs v"]
    sub = ev3[ev3["arm"].isin(["v", "b"])]
    assert pair["chi2"] == pytest.approx(logrank_by_hand(sub["t"], sub["e"], sub["arm"]), rel=1e-8)


def test_cox_equals_partial_likelihood_maximum_by_hand():
    ev = ev_frame({"ctl": [(1.0, 1), (2.5, 1), (3.5, 1), (6.0, 0), (4.2, 1)],
                   "trt": [(2.0, 1), (5.0, 1), (7.0, 0), (8.0, 1), (3.0, 0)]})
    r = survival_analysis(ev, time="t", event="e", arm="arm", control="ctl")
    t, e, x = ev["t"].to_numpy(), ev["e"].to_numpy(), (ev["arm"] == "trt").to_numpy(float)

    def nll(b):  # Cox partial likelihood, no ties
        return -sum(b * x[i] - np.log(np.sum(np.exp(b * x[t >= t[i]]))) for i in np.flatnonzero(e == 1))

    b_hat = optimize.minimize_scalar(nll, bounds=(-10, 10), method="bounded", options={"xatol": 1e-10}).x
    h = 1e-4
    info = (nll(b_hat + h) - 2 * nll(b_hat) + nll(b_hat - h)) / h**2
    row = r.cox.set_index("term").loc["arm[trt]"]
    assert row["coef"] == pytest.approx(b_hat, abs=1e-6)
    assert row["stderr"] == pytest.approx(1 / np.sqrt(info), rel=1e-4)
    assert row["hazard_ratio"] == pytest.approx(np.exp(b_hat), rel=1e-6)
    assert row["ci_low"] == pytest.approx(np.exp(row["coef"] - Z95 * row["stderr"]), rel=1e-12)


def test_cox_arm_without_events_is_zero_with_a_reason_and_others_unchanged():
    base = {"ctl": [(1, 1), (2, 1), (3, 1), (5, 0)], "a": [(2.5, 1), (4, 1), (6, 0), (6, 0)]}
    r0 = survival_analysis(ev_frame(base), time="t", event="e", arm="arm", control="ctl")
    r1 = survival_analysis(ev_frame({**base, "ab": [(6, 0)] * 4}), time="t", event="e", arm="arm", control="ctl")
    c1 = r1.cox.set_index("term")
    assert c1.loc["arm[ab]", "hazard_ratio"] == 0.0 and "no event" in c1.loc["arm[ab]", "reason"]
    assert np.isnan(c1.loc["arm[ab]", "p_value"])
    assert c1.loc["arm[a]", "coef"] == pytest.approx(r0.cox.set_index("term").loc["arm[a]", "coef"], rel=1e-8)
    rc = survival_analysis(ev_frame({"ctl": [(6, 0)] * 3, "a": [(2, 1), (3, 1), (6, 0)]}), time="t", event="e",
                           arm="arm", control="ctl")
    assert rc.cox["coef"].isna().all() and "control" in rc.cox["reason"].iloc[0]


# --------------------------------------------------------------------------- Bliss synergy
def bliss_events():
    return ev_frame({"v": [(1, 1), (2, 1), (3, 1), (4, 1)],
                     "A": [(2, 1), (5, 0), (5, 0), (5, 0)],
                     "B": [(1.5, 1), (5, 0), (5, 0), (5, 0)],
                     "A+B": [(5, 0)] * 4})


def test_survival_bliss_by_hand_incidence_scale():
    r = survival_analysis(bliss_events(), time="t", event="e", arm="arm", control="v", synergy_times=[2.5])
    s = r.synergy.iloc[0]
    # F_0 = 0.5, F_A = F_B = 0.25, F_AB = 0 at t = 2.5: expected F_AB = 0.25 * 0.25 / 0.5
    assert s["expected"] == pytest.approx(0.125) and s["observed"] == 0.0
    assert s["score"] == pytest.approx(0.125)  # positive = synergy
    v0 = 0.5**2 * (1 / 12 + 1 / 6)  # Greenwood, control: S_0(2.5)^2 * sum d/(n(n-d))
    va = 0.75**2 * (1 / 12)  # Greenwood, A and B
    var = 0.5**2 * va * 2 + 0.25**2 * v0  # dE/dF_A = F_B/F_0, dE/dF_0 = -F_A F_B / F_0^2
    assert s["stderr"] == pytest.approx(np.sqrt(var), rel=1e-12)
    assert s["p_synergy"] == pytest.approx(stats.norm.sf(0.125 / np.sqrt(var)), rel=1e-10)
    assert s["p_value"] == pytest.approx(2 * stats.norm.sf(0.125 / np.sqrt(var)), rel=1e-10)
    assert s["reason"] == ""


def test_survival_bliss_survival_scale_flags_impossible_expectation():
    r = survival_analysis(bliss_events(), time="t", event="e", arm="arm", control="v", synergy_times=[1.2, 2.5],
                          scale="survival")
    s = r.synergy.set_index("time")
    # t = 1.2: S_0 = 0.75, S_A = S_B = 1 -> expected 1/0.75 > 1: undefined, with the reason
    assert np.isnan(s.loc[1.2, "score"]) and "> 1" in s.loc[1.2, "reason"]
    assert np.isnan(s.loc[2.5, "score"])  # 0.75 * 0.75 / 0.5 > 1 as well


def test_survival_bliss_independent_arms_score_near_zero_and_cox_alternative():
    rng = np.random.default_rng(11)
    n = 400
    lam = {"v": 0.2, "A": 0.1, "B": 0.08}
    # event times under Bliss independence on incidence: F_AB = F_A F_B / F_0 with exponential arms
    rows = []
    for a, l in lam.items():
        rows += [(f"{a}{i}", a, x, 1) for i, x in enumerate(rng.exponential(1 / l, n))]
    u = rng.random(n)
    grid = np.linspace(0.001, 80, 40001)
    F = lambda l: 1 - np.exp(-l * grid)  # noqa: E731
    Fab = F(0.1) * F(0.08) / F(0.2)
    rows += [(f"AB{i}", "A+B", float(np.interp(x, Fab, grid)), 1) for i, x in enumerate(u * Fab[-1])]
    ev = pd.DataFrame(rows, columns=["mouse", "arm", "t", "e"])
    ev.loc[ev["t"] > 30, ["t", "e"]] = [30.0, 0]
    r = survival_analysis(ev, time="t", event="e", arm="arm", control="v", synergy_times=[3, 6, 10])
    assert np.all(np.abs(r.synergy["score"]) < 3 * r.synergy["stderr"])
    assert r.synergy_cox["score"].notna().all()
    c = r.cox.set_index("term")["coef"]
    assert r.synergy_cox["score"].iloc[0] == pytest.approx(c["arm[A]"] + c["arm[B]"] - c["arm[A+B]"], rel=1e-10)


# --------------------------------------------------------------------------- events from sizes
def sizes_frame():
    rows = [  # mouse, arm, day, volume, dropout
        ("c1", "v", 0, 100, ""), ("c1", "v", 7, 400, ""), ("c1", "v", 14, 1600, ""),
        ("c2", "v", 0, 100, ""), ("c2", "v", 7, 300, ""), ("c2", "v", 14, 600, ""),
        ("c3", "v", 0, 100, ""), ("c3", "v", 7, 500, "ulceration"),
        ("t1", "t", 0, 100, ""), ("t1", "t", 7, 150, ""), ("t1", "t", 14, 200, ""),
        ("t2", "t", 0, 100, ""), ("t2", "t", 7, 120, "accident"),
        ("t3", "t", 0, 100, ""), ("t3", "t", 7, 200, ""), ("t3", "t", 14, 900, ""),
    ]
    return pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol", "why"])


@pytest.mark.parametrize("interp,want", [("log", 10.5), ("linear", 7 + 7 * 400 / 1200), ("none", 14.0)])
def test_threshold_crossing_interpolation(interp, want):
    r = time_to_event(sizes_frame(), "mouse", "arm", "day", "vol", control="v", threshold=800,
                      interpolation=interp, humane_reasons=["ulceration"], dropout_column="why")
    ev = r.events.set_index("subject")
    assert ev.loc["c1", "time"] == pytest.approx(want) and ev.loc["c1", "event_type"] == "threshold"
    assert not ev.loc["c2", "event"] and ev.loc["c2", "time"] == 14.0  # never crosses: censored at last
    assert ev.loc["c3", "event"] and ev.loc["c3", "time"] == 7.0 and "humane" in ev.loc["c3", "event_type"]
    assert not ev.loc["t2", "event"] and "accident" in ev.loc["t2", "event_type"]  # other dropout: censored
    assert ev.loc["t3", "event"]


def test_fold_threshold_and_log_baseline_covariate():
    r = time_to_event(sizes_frame(), "mouse", "arm", "day", "vol", control="v", fold=4, covariates=["log_baseline"],
                      dropout_column="why")
    ev = r.events.set_index("subject")
    assert ev.loc["c1", "time"] == pytest.approx(7.0)  # exactly 4x at day 7
    assert ev.loc["c3", "time"] == pytest.approx(7 * np.log(4) / np.log(5))
    assert "log_baseline" in set(r.cox["term"])
    assert "4 x baseline" in r.settings["event_definition"]


def test_time_to_event_errors():
    df = sizes_frame()
    with pytest.raises(DataError, match="say what the event is"):
        time_to_event(df, "mouse", "arm", "day", "vol", control="v")
    with pytest.raises(DataError, match="fold must be > 1"):
        time_to_event(df, "mouse", "arm", "day", "vol", control="v", fold=0.5)
    with pytest.raises(DataError, match="already at or above"):
        time_to_event(df, "mouse", "arm", "day", "vol", control="v", threshold=50)
    with pytest.raises(DataError, match="dropout_column"):
        time_to_event(df, "mouse", "arm", "day", "vol", control="v", humane_reasons=["ulceration"])
    with pytest.raises(DataError, match="control"):
        time_to_event(df, "mouse", "arm", "day", "vol", threshold=800)
    bad = ev_frame({"a": [(1, 1), (2, 2)], "b": [(1, 0)]})
    with pytest.raises(DataError, match="row 1"):
        survival_analysis(bad, time="t", event="e", arm="arm", control="a")
    neg = ev_frame({"a": [(1, 1), (-2, 1)], "b": [(1, 0)]})
    with pytest.raises(DataError, match="'t'"):
        survival_analysis(neg, time="t", event="e", arm="arm", control="a")
    with pytest.raises(DataError, match="scale"):
        survival_analysis(bliss_events(), time="t", event="e", arm="arm", control="v", scale="hazard")


def test_result_contract(tmp_path):
    r = cp.time_to_event(sizes_frame(), "mouse", "arm", "day", "vol", control="v", threshold=800,
                         dropout_column="why", humane_reasons="ulceration")
    text = r.summary()
    assert "Kaplan-Meier" in text and "log-rank" in text.lower() and "800" in text
    ds = r.to_xarray()
    assert ds["km_survival"].attrs["units"] == "1" and ds["median"].attrs["units"] == "day"
    assert ds["km_survival"].sel(arm="v", time=0.0) == 1.0
    r.to_netcdf(tmp_path / "s.nc")
    ax = r.plot()
    assert hasattr(ax, "plot")
    with pytest.raises(DataError, match="design"):
        r.plot(kind="synergy")
    with pytest.raises(Exception):
        r.events = None  # frozen
    rs = survival_analysis(bliss_events(), time="t", event="e", arm="arm", control="v")
    assert hasattr(rs.plot(kind="synergy"), "plot")
    assert "synergy_score" in rs.to_xarray()
