"""Body-weight endpoints: % change, nadir, humane-endpoint share and Kaplan-Meier, checked by hand."""
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

matplotlib.use("Agg")

from comboplan.exceptions import DataError  # noqa: E402
from comboplan.growth.bodyweight import bodyweight_endpoints, kaplan_meier  # noqa: E402

COLS = dict(subject="mouse", arm="group", time="day", weight="bw")


def tiny() -> pd.DataFrame:
    """Two arms; by hand (baseline = day 0):

    vehicle m1 20 -> 21 -> 22 (only gains: nadir 0 % at day 0); m2 25 -> 24 -> 25 (nadir -4 % day 2)
    ptx     m3 20 -> 18 -> 15 (-10, -25 %: endpoint at day 4); m4 20 -> 16 -> 17 (-20 % exactly at day 2:
            endpoint at day 2); m5 20 -> 19 (-5 %, last weighed day 2: censored at 2);
            m6 24 -> 21 -> 20.4 (-12.5, -15 %: censored at 4)
    """
    rows = [("m1", "vehicle", 0, 20), ("m1", "vehicle", 2, 21), ("m1", "vehicle", 4, 22),
            ("m2", "vehicle", 0, 25), ("m2", "vehicle", 2, 24), ("m2", "vehicle", 4, 25),
            ("m3", "ptx", 0, 20), ("m3", "ptx", 2, 18), ("m3", "ptx", 4, 15),
            ("m4", "ptx", 0, 20), ("m4", "ptx", 2, 16), ("m4", "ptx", 4, 17),
            ("m5", "ptx", 0, 20), ("m5", "ptx", 2, 19),
            ("m6", "ptx", 0, 24), ("m6", "ptx", 2, 21), ("m6", "ptx", 4, 20.4)]
    df = pd.DataFrame(rows, columns=["mouse", "group", "day", "bw"])
    df.index = [f"r{i}" for i in range(len(df))]  # labels, so messages must name them
    return df


def test_percent_change_nadir_and_endpoint_by_hand():
    df = tiny()
    before = df.copy(deep=True)
    res = bodyweight_endpoints(df, **COLS)
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is untouched

    ch = res.changes.set_index(["subject", "time"])["change_pct"]
    assert ch[("m3", 2.0)] == pytest.approx(-10.0)
    assert ch[("m3", 4.0)] == pytest.approx(-25.0)
    assert ch[("m6", 2.0)] == pytest.approx(-12.5)
    assert ch[("m6", 4.0)] == pytest.approx(-15.0)
    assert ch[("m1", 4.0)] == pytest.approx(10.0)

    nad = res.nadir.set_index("subject")
    assert nad.loc["m1", "nadir_change_pct"] == 0.0 and nad.loc["m1", "nadir_time"] == 0.0
    assert nad.loc["m2", "nadir_change_pct"] == pytest.approx(-4.0) and nad.loc["m2", "nadir_time"] == 2.0
    assert nad.loc["m3", "nadir_change_pct"] == pytest.approx(-25.0) and nad.loc["m3", "nadir_time"] == 4.0
    assert nad.loc["m6", "max_loss_pct"] == pytest.approx(15.0)
    # 16/20 is exactly a 20 % loss: it counts (floating point must not hide it)
    assert bool(nad.loc["m4", "event"]) and nad.loc["m4", "endpoint_time"] == 2.0
    assert bool(nad.loc["m3", "event"]) and nad.loc["m3", "endpoint_time"] == 4.0
    assert not nad.loc["m5", "event"] and nad.loc["m5", "time_to_event"] == 2.0
    assert not nad.loc["m6", "event"] and nad.loc["m6", "time_to_event"] == 4.0

    ep = res.endpoint.set_index("arm")
    assert ep.loc["ptx", "n_reached"] == 2 and ep.loc["ptx", "share"] == 0.5
    # exact Clopper-Pearson interval for 2/4 from the beta quantiles
    assert ep.loc["ptx", "ci_low"] == pytest.approx(stats.beta.ppf(0.025, 2, 3), rel=1e-9)
    assert ep.loc["ptx", "ci_high"] == pytest.approx(stats.beta.ppf(0.975, 3, 2), rel=1e-9)
    assert ep.loc["vehicle", "share"] == 0.0
    assert ep.loc["vehicle", "ci_high"] == pytest.approx(1 - 0.025 ** 0.5, rel=1e-9)  # 0/2: 1 - (alpha/2)^(1/n)
    assert ep.loc["ptx", "mean_nadir_pct"] == pytest.approx((-25 - 20 - 5 - 15) / 4)
    assert ep.loc["vehicle", "mean_nadir_pct"] == pytest.approx(-2.0)
    assert ep.loc["ptx", "n_left_early"] == 1
    assert ep.loc["ptx", "km_incidence"] == pytest.approx(1 - 3 / 8)
    assert ep.loc["ptx", "median_time_to_endpoint"] == 4.0
    assert math.isnan(ep.loc["vehicle", "median_time_to_endpoint"])

    # arm means: ptx day 2 = mean(-10, -20, -5, -12.5)
    am = res.arm_means.set_index(["arm", "time"])
    assert am.loc[("ptx", 2.0), "mean_change_pct"] == pytest.approx((-10 - 20 - 5 - 12.5) / 4)
    assert am.loc[("ptx", 4.0), "n"] == 3


def test_kaplan_meier_by_hand_and_against_statsmodels():
    res = bodyweight_endpoints(tiny(), **COLS)
    km = res.km[res.km["arm"] == "ptx"].set_index("time")
    # t = 2: 4 at risk, 1 event (m4), 1 censored (m5): S = 3/4; t = 4: 2 at risk (m3, m6), 1 event: S = 3/8
    assert km.loc[2.0, "n_at_risk"] == 4 and km.loc[2.0, "n_events"] == 1 and km.loc[2.0, "n_censored"] == 1
    assert km.loc[2.0, "survival"] == pytest.approx(0.75)
    assert km.loc[4.0, "n_at_risk"] == 2 and km.loc[4.0, "survival"] == pytest.approx(3 / 8)
    gw = 1 / (4 * 3) + 1 / (2 * 1)  # Greenwood sum
    assert km.loc[4.0, "se"] == pytest.approx(3 / 8 * math.sqrt(gw))
    se_ll = math.sqrt(gw) / abs(math.log(3 / 8))
    z = stats.norm.ppf(0.975)
    assert km.loc[4.0, "ci_low"] == pytest.approx((3 / 8) ** math.exp(z * se_ll))
    assert km.loc[4.0, "ci_high"] == pytest.approx((3 / 8) ** math.exp(-z * se_ll))
    assert km.loc[0.0, "survival"] == 1.0

    from statsmodels.duration.survfunc import SurvfuncRight

    rng = np.random.default_rng(3)
    t = rng.integers(1, 12, size=40).astype(float)
    e = rng.random(40) < 0.6
    mine = kaplan_meier(t, e)
    sf = SurvfuncRight(t, e.astype(int))
    ev = mine[mine["n_events"] > 0]
    np.testing.assert_allclose(ev["time"], sf.surv_times)
    np.testing.assert_allclose(ev["survival"], sf.surv_prob, rtol=1e-12)
    np.testing.assert_allclose(ev["se"], sf.surv_prob_se, rtol=1e-10)
    np.testing.assert_array_equal(ev["n_at_risk"], sf.n_risk)


def test_logrank_by_hand():
    res = bodyweight_endpoints(tiny(), **COLS, reference="vehicle")
    # t=2: n=6 (ptx 4), d=1 -> E = 4/6, V = (4/6)(2/6); t=4: n=4 (ptx 2), d=1 -> E = 1/2, V = 1/4
    o_minus_e = 2 - (4 / 6 + 1 / 2)
    v = (4 / 6) * (2 / 6) + 1 / 4
    chi2 = o_minus_e ** 2 / v
    lr = res.logrank.set_index("comparison")
    assert lr.loc["all arms", "chi2"] == pytest.approx(chi2, rel=1e-9)
    assert lr.loc["all arms", "p_value"] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-9)
    assert lr.loc["ptx vs vehicle", "chi2"] == pytest.approx(chi2, rel=1e-9)
    assert "log-rank" in res.summary()


def test_numeric_baseline_and_weighings_before_it():
    df = tiny()
    extra = pd.DataFrame({"mouse": ["m3"], "group": ["ptx"], "day": [-1], "bw": [30.0]}, index=["pre"])
    df = pd.concat([df, extra])
    res = bodyweight_endpoints(df, **COLS, baseline=0)
    ch = res.changes.set_index(["subject", "time"])
    assert ch.loc[("m3", -1.0), "time_from_baseline"] == -1.0
    assert ch.loc[("m3", -1.0), "change_pct"] == pytest.approx(50.0)  # kept in the table ...
    nad = res.nadir.set_index("subject")
    assert nad.loc["m3", "nadir_change_pct"] == pytest.approx(-25.0)  # ... but not in the nadir
    assert nad.loc["m3", "n_weighings"] == 3
    # 'first' would take day -1 (30 g) as m3's baseline instead
    first = bodyweight_endpoints(df, **COLS).nadir.set_index("subject")
    assert first.loc["m3", "baseline_weight"] == 30.0


@pytest.mark.parametrize("edit, match", [
    (lambda d: d.assign(bw=d["bw"].where(d.index != "r4", -1.0)), r"'bw'.*> 0.*row 'r4'"),
    (lambda d: d.assign(bw=d["bw"].where(d.index != "r7", 0.0)), r"'bw'.*> 0.*row 'r7'"),
    (lambda d: d.assign(bw=d["bw"].astype(object).where(d.index != "r2", "22 g")), r"'bw'.*numeric.*row 'r2'"),
    (lambda d: d.assign(bw=d["bw"].where(d.index != "r5", np.nan)), r"'bw'.*missing.*row 'r5'"),
    (lambda d: pd.concat([d, d.loc[["r4"]].rename(index={"r4": "dup"})]), r"'mouse', 'day'.*row 'dup'.*row 'r4'"),
    (lambda d: d.assign(group=d["group"].where(d.index != "r2", "ptx")), r"animal 'm1'.*more than one arm"),
    (lambda d: d.drop(columns="bw"), r"'bw'.*not found"),
])
def test_bad_tables_raise_clear_errors(edit, match):
    df = edit(tiny())
    before = df.copy(deep=True)
    with pytest.raises(DataError, match=match):
        bodyweight_endpoints(df, **COLS)
    pd.testing.assert_frame_equal(df, before)


def test_missing_baseline_and_bad_options():
    df = tiny()
    df = df[~((df["mouse"] == "m2") & (df["day"] == 0))]
    with pytest.raises(DataError, match=r"animal 'm2'.*no weighing at the baseline day 0.*baseline='first'"):
        bodyweight_endpoints(df, **COLS, baseline=0)
    with pytest.raises(DataError, match=r"Did you mean 0.2"):
        bodyweight_endpoints(tiny(), **COLS, humane_loss=20)
    with pytest.raises(DataError, match="reference arm"):
        bodyweight_endpoints(tiny(), **COLS, reference="control")
    with pytest.raises(DataError, match="arms="):
        bodyweight_endpoints(tiny(), **COLS, arms=["ptx"])


def test_humane_loss_option_changes_the_events():
    res = bodyweight_endpoints(tiny(), **COLS, humane_loss=0.10)
    ep = res.endpoint.set_index("arm")
    assert ep.loc["ptx", "n_reached"] == 3  # m3 (-10 % at day 2), m4, m6 (-12.5 %)
    assert res.nadir.set_index("subject").loc["m3", "endpoint_time"] == 2.0


def test_xarray_units_netcdf_and_plots(tmp_path):
    res = bodyweight_endpoints(tiny(), **COLS, weight_unit="g")
    ds = res.to_xarray()
    assert ds["weight"].attrs["units"] == "g"
    assert ds["change_pct"].attrs["units"] == "%"
    assert ds["nadir_time"].attrs["units"] == "day"
    assert ds["endpoint_share"].sel(arm="ptx").item() == 0.5
    assert np.isnan(ds["weight"].sel(subject="m5", time=4.0).item())
    np.testing.assert_allclose(ds["km_survival"].sel(arm="ptx").values, [1.0, 0.75, 3 / 8])
    res.to_netcdf(tmp_path / "bw.nc")
    assert (tmp_path / "bw.nc").exists()
    ax = res.plot(kind="change")
    assert "%" in ax.get_ylabel() and "day" in ax.get_xlabel()
    ax = res.plot(kind="km")
    assert "fraction" in ax.get_ylabel() and "day" in ax.get_xlabel()
    with pytest.raises(DataError, match="kind"):
        res.plot(kind="waterfall")
    s = res.summary()
    assert "2/4" in s and "ptx" in s
