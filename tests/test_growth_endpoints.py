"""TGI / T/C / AUC / mRECIST endpoints against hand-computed values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.growth.endpoints import best_response, growth_endpoints, km_median, mrecist_call


def small():
    # control: 100 -> 200 -> 400 and 100 -> 300 -> 500 ; treated: 100 -> 100 -> 50 and 100 -> 150 -> 100
    rows = [("c1", "ctl", 0, 100), ("c1", "ctl", 7, 200), ("c1", "ctl", 14, 400),
            ("c2", "ctl", 0, 100), ("c2", "ctl", 7, 300), ("c2", "ctl", 14, 500),
            ("t1", "trt", 0, 100), ("t1", "trt", 7, 100), ("t1", "trt", 14, 50),
            ("t2", "trt", 0, 100), ("t2", "trt", 7, 150), ("t2", "trt", 14, 100)]
    return pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol"])


def test_hand_computed_tgi_tc_auc():
    e = growth_endpoints(small(), "mouse", "arm", "day", "vol", control="ctl", n_boot=0)
    a = e.arms.set_index("arm")
    assert e.at == 14.0
    assert a.loc["trt", "tc_ratio"] == pytest.approx(0.75 / 4.5)          # mean RTV 0.75 vs 4.5
    assert a.loc["trt", "tgi_tc"] == pytest.approx(1 - 0.75 / 4.5)
    assert a.loc["trt", "tgi_delta"] == pytest.approx(1 - (-25.0) / 350.0)  # regression -> TGI > 1
    # AUC of RTV: c1 = 7*(1+2)/2 + 7*(2+4)/2 = 31.5 ; c2 = 7*(1+3)/2 + 7*(3+5)/2 = 42 ; t1 = 7 + 5.25 ; t2 = 8.75 + 8.75
    auc = e.animals.set_index("subject")["auc"]
    np.testing.assert_allclose(auc[["c1", "c2", "t1", "t2"]], [31.5, 42.0, 12.25, 17.5])
    assert a.loc["trt", "auc_ratio"] == pytest.approx((12.25 + 17.5) / (31.5 + 42.0))
    assert a.loc["trt", "tc_ci_low"] < a.loc["trt", "tc_ratio"] < a.loc["trt", "tc_ci_high"]
    # doubling time of c1: log-size slope ln(4)/14 exactly -> DT 7 days
    assert e.animals.set_index("subject").loc["c1", "doubling_time"] == pytest.approx(7.0)
    # growth delay: control reaches 2x at day 7 (c1) and 7*ln2/ln3 (c2); treated never -> censored
    ttt = e.animals.set_index("subject")["time_to_target"]
    assert ttt["c2"] == pytest.approx(7 * np.log(2) / np.log(3))
    assert not e.animals.set_index("subject").loc["t1", "reached_target"]


def test_gao_best_response_and_mrecist():
    t = np.array([0, 7, 14, 21.0])
    br, ba = best_response(t, np.array([100, 60, 40, 30.0]))
    assert br == pytest.approx(-70.0)                       # min over t >= 10 of (-60, -70)
    assert ba == pytest.approx(min((0 - 40 - 60) / 3, (0 - 40 - 60 - 70) / 4))
    assert mrecist_call(br, ba) == "mPR"
    cases = {(-96, -41): "mCR", (-96, -30): "mPR", (-60, -25): "mPR", (-60, -10): "mSD",
             (34, 29): "mSD", (36, 0): "mPD", (0, 31): "mPD", (np.nan, 0): "NE"}
    for (x, y), want in cases.items():
        assert mrecist_call(x, y) == want, (x, y)
    assert np.isnan(best_response([0, 7.0], [100, 50.0])[0])  # nothing at >= 10 days


def test_km_median_and_unit_invariance():
    # S(t) is exactly 1/2 on [2, 3): R survival's print.survfit median is the midpoint of that
    # interval, 2.5 (survival 3.5-3; the rule checked in tests/reference/r_survival, `median_even_n`)
    assert km_median([1, 2, 3, 4], [1, 1, 1, 1]) == 2.5
    assert km_median([1, 2, 3, 4], [1, 0, 0, 0]) == np.inf
    df = small()
    a = growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0).arms
    b = growth_endpoints(df.assign(vol=df["vol"] * 1e-3), "mouse", "arm", "day", "vol", control="ctl", n_boot=0).arms
    cols = ["tc_ratio", "tgi_tc", "tgi_delta", "auc_ratio", "doubling_time"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-10)
    c = growth_endpoints(df.assign(day=df["day"] + 10), "mouse", "arm", "day", "vol", control="ctl", n_boot=0).arms
    np.testing.assert_allclose(a[cols].to_numpy(float), c[cols].to_numpy(float), rtol=1e-10)


def test_mrecist_needs_day_units_and_to_xarray():
    from comboplan.exceptions import DataError

    df = small()
    with pytest.raises(DataError, match="min_time_response"):
        growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0, time_unit="week")
    e = growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0)
    ds = e.to_xarray()
    assert float(ds["tc_ratio"].sel(arm="trt")) == pytest.approx(0.75 / 4.5)
    # mRECIST table: counts add up to the evaluable animals per arm
    assert e.mrecist.groupby("arm")["count"].sum().tolist() == [2, 2]


def test_compare_arms_equals_scipy_t_tests_and_batch():
    from scipy import stats

    from comboplan.exceptions import DataError
    from comboplan.growth.endpoints import compare_arms, compare_arms_batch, mean_rtv, tgi_delta

    rng = np.random.default_rng(4)
    days = np.array([0.0, 7.0, 14.0])
    sizes = 100 * np.exp(np.array([0.0, 0.6, 1.2]) * rng.uniform(0.5, 1.5, (12, 1)) + rng.normal(0, 0.2, (12, 3)))
    arm = np.repeat([0, 1], 6)
    df = pd.DataFrame({"mouse": np.repeat(np.arange(12), 3), "arm": np.repeat(np.where(arm == 0, "ref", "new"), 3),
                       "day": np.tile(days, 12), "vol": sizes.ravel()})
    y = np.log(sizes[:, 2] / sizes[:, 0])
    tt = compare_arms(df, "mouse", "arm", "day", "vol", reference="ref", candidate="new", test="ttest")
    ref = stats.ttest_ind(y[arm == 1], y[arm == 0])
    assert tt.table["estimate"][0] == pytest.approx(y[arm == 1].mean() - y[arm == 0].mean())
    assert tt.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ni = compare_arms(df, "mouse", "arm", "day", "vol", reference="ref", candidate="new", test="noninferiority",
                      margin=0.25, at=14)
    ref = stats.ttest_ind(y[arm == 1] - np.log(1.25), y[arm == 0], alternative="less")
    assert ni.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert "non-inferiority" in ni.summary()
    batch = compare_arms_batch(np.stack([sizes, sizes[::-1]]), days, arm, ["ref", "new"], reference="ref",
                               candidate="new", test="noninferiority", margin=0.25)
    assert batch["p_value"][0] == pytest.approx(ni.p_value, rel=1e-12)
    with pytest.raises(DataError, match="not among"):
        compare_arms_batch(sizes[None], days, arm, ["ref", "new"], reference="ref", candidate="old")
    # arm-level formulas used by growth_endpoints
    e = growth_endpoints(small(), "mouse", "arm", "day", "vol", control="ctl", n_boot=0)
    a = e.arms.set_index("arm")
    v = small().pivot(index="mouse", columns="day", values="vol")
    assert a.loc["trt", "tgi_delta"] == pytest.approx(tgi_delta(v.loc[["t1", "t2"], 14], v.loc[["t1", "t2"], 0],
                                                                v.loc[["c1", "c2"], 14], v.loc[["c1", "c2"], 0]))
    assert mean_rtv(v.loc[["t1", "t2"], 14], v.loc[["t1", "t2"], 0]) == pytest.approx(0.75)


def test_waterfall_legend_has_one_colour_per_arm():
    import matplotlib

    matplotlib.use("Agg")
    e = growth_endpoints(small(), "mouse", "arm", "day", "vol", control="ctl", n_boot=0)
    ax = e.plot()
    handles = ax.get_legend().legend_handles
    assert [h.get_label() for h in handles] == ["ctl", "trt"]
    face = [tuple(h.get_facecolor()) for h in handles]
    assert len(set(face)) == 2
    bars = {tuple(p.get_facecolor()) for p in ax.patches}
    assert set(face) == bars  # the legend shows the colours the bars are drawn in


# --------------------------------------------------------------------------- silent results (issue 13)
def test_single_time_point_is_a_clear_error_not_tc_one():
    import warnings

    from comboplan.exceptions import DataError
    from comboplan.growth.endpoints import compare_arms

    df = pd.DataFrame({"mouse": list("abcdef"), "arm": ["c"] * 3 + ["t"] * 3, "day": 0.0,
                       "vol": [100, 120, 90, 110, 100, 95.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warnings either
        with pytest.raises(DataError, match="single time point"):
            growth_endpoints(df, "mouse", "arm", "day", "vol", control="c", n_boot=0)
        with pytest.raises(DataError, match="single time point"):
            compare_arms(df, "mouse", "arm", "day", "vol", reference="c", candidate="t")
    with pytest.raises(DataError, match="not after the baseline"):
        growth_endpoints(small(), "mouse", "arm", "day", "vol", control="ctl", n_boot=0, at=0)
    with pytest.raises(DataError, match="not after the baseline"):
        compare_arms(small(), "mouse", "arm", "day", "vol", reference="ctl", candidate="trt", at=0)


def test_infinite_growth_delay_gets_infinite_interval_with_a_reason():
    import warnings

    # treated never doubles: median not reached -> growth delay +inf; the bootstrap must not drop resamples
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = growth_endpoints(small(), "mouse", "arm", "day", "vol", control="ctl", n_boot=200, seed=1)
    a = e.arms.set_index("arm")
    assert a.loc["trt", "median_time_to_target"] == np.inf
    assert a.loc["trt", "growth_delay"] == np.inf
    assert a.loc["trt", "growth_delay_ci_high"] == np.inf          # never a finite upper bound
    assert "not reached" in a.loc["trt", "growth_delay_reason"]
    assert "not reached" in e.summary()
    # control: reference row, no interval
    assert a.loc["ctl", "growth_delay"] == 0 and np.isnan(a.loc["ctl", "growth_delay_ci_low"])


def test_growth_delay_undefined_when_neither_median_is_reached():
    df = small()
    df.loc[(df["arm"] == "ctl") & (df["day"] > 0), "vol"] = 150.0  # control never doubles either
    e = growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=50, seed=2)
    row = e.arms.set_index("arm").loc["trt"]
    assert np.isnan(row["growth_delay"]) and np.isnan(row["growth_delay_ci_low"])
    assert "neither" in row["growth_delay_reason"]


def test_finite_growth_delay_interval_keeps_every_resample():
    from comboplan.growth.endpoints import _growth_delay

    boot = np.array([[5.0, 1.0]] * 90 + [[np.inf, 1.0]] * 10)  # 10 % of resamples: treated median not reached
    g, lo, hi, why = _growth_delay(4.0, 1.0, boot, 0.05, 2.0, "day", False)
    assert g == 3.0 and lo == 4.0 and hi == np.inf and "10%" in why  # dropping them would give [4, 4]
    g, lo, hi, why = _growth_delay(4.0, 1.0, boot[:90], 0.05, 2.0, "day", False)
    assert (lo, hi, why) == (4.0, 4.0, "")


def test_mrecist_evaluation_window_is_configurable():
    from comboplan.exceptions import DataError

    t = np.array([0, 7, 14, 21, 28.0])
    v = np.array([100, 60, 40, 30, 200.0])
    assert best_response(t, v) == (pytest.approx(-70.0), pytest.approx(min(-100 / 3, -170 / 4, -70 / 5)))
    br, ba = best_response(t, v, 10, 14)  # window 10-14 days: only day 14
    assert br == pytest.approx(-60.0) and ba == pytest.approx(-100 / 3)
    df = small()
    e = growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0, response_window=(5, 8))
    an = e.animals.set_index("subject")
    assert an.loc["t1", "best_response"] == pytest.approx(0.0)  # day 7 only: 100 -> 100
    assert an.loc["t2", "best_avg_response"] == pytest.approx(25.0)  # mean(0, 50)
    assert "5 <= t <= 8 day" in e.definitions["best_response"]
    d = growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0)
    assert "10 <= t day" in d.definitions["best_response"]  # Gao et al. default
    assert d.animals.set_index("subject").loc["t1", "best_response"] == pytest.approx(-50.0)
    with pytest.raises(DataError, match="response_window"):
        growth_endpoints(df, "mouse", "arm", "day", "vol", control="ctl", n_boot=0, response_window=(8, 5))
