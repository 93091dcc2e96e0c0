"""Joint fits of several dose-response curves with shared parameters (drc's multi-curve models).

Reference numbers: tests/reference/r_nls_shared/ (R 4.2.2 nls + car::deltaMethod + anova +
optimHess on the same equations; drc itself is not packaged for Debian; see the README there).
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError, InvalidParameterError
from comboplan.fitting.shared import fit_dose_response_shared, load_shared_fit
from comboplan.models.dose_response import hill

REF = Path(__file__).parent / "reference" / "r_nls_shared"
R = json.loads((REF / "reference.json").read_text())


@pytest.fixture(scope="module")
def dnase():
    d = pd.read_csv(REF / "dnase.csv")
    return d, fit_dose_response_shared(d, dose="conc", response="density", by="Run", model="LL.3", shared=["b", "d"])


@pytest.fixture(scope="module")
def sim():
    d = pd.read_csv(REF / "sim_ll4.csv").rename(columns={"curve": "agent"})
    kw = dict(dose="dose", response="y", by="agent", model="LL.4")
    return (d, fit_dose_response_shared(d, shared=["c", "d"], **kw),
            fit_dose_response_shared(d, shared=["b", "c", "d"], **kw))


# ------------------------------------------------------------------ R references
def test_dnase_shared_slope_and_top_matches_r_nls(dnase):
    _, res = dnase
    ref = R["dnase"]["shared"]
    assert res.converged
    est = res.estimates
    np.testing.assert_allclose(est[:, 0], ref["coef"]["b"], rtol=1e-6)
    np.testing.assert_allclose(est[:, 2], ref["coef"]["d"], rtol=1e-6)
    np.testing.assert_allclose(est[:, 3], [ref["coef"][f"e{i}"] for i in range(1, 12)], rtol=1e-6)
    assert (est[:, 1] == 0).all()                                    # LL.3: c fixed at 0
    p = res.params
    se = p[p["curve"] == 0].set_index("param")["stderr"]
    assert se["b"] == pytest.approx(ref["se"]["b"], rel=1e-5)
    assert se["d"] == pytest.approx(ref["se"]["d"], rel=1e-5)
    assert np.isnan(se["c"])
    np.testing.assert_allclose(p[p["param"] == "e"]["stderr"], [ref["se"][f"e{i}"] for i in range(1, 12)], rtol=1e-5)
    assert res.rss == pytest.approx(ref["rss"], rel=1e-9)
    assert res.dof == ref["df"]
    assert res.sigma == pytest.approx(ref["sigma"], rel=1e-8)


def test_dnase_comparisons_and_test_against_separate_match_r(dnase):
    _, res = dnase
    ref = R["dnase"]
    t = res.test_shared().iloc[0]
    assert t["f_stat"] == pytest.approx(ref["anova"]["f"], rel=1e-6)
    assert t["f_pvalue"] == pytest.approx(ref["anova"]["p"], rel=1e-5)
    assert (t["f_df1"], t["f_df2"]) == (ref["anova"]["df_small"] - ref["anova"]["df_big"], ref["anova"]["df_big"])
    assert res.separate["rss"] == pytest.approx(ref["anova"]["rss_big"], rel=1e-7)
    c = res.compare_ecx(50, pairs=[(2, 1), (11, 4)])                 # by-values of Run
    for row, key in zip(c.itertuples(), ("ratio_e2_e1", "ratio_e11_e4")):
        assert row.estimate == pytest.approx(ref[key]["estimate"], rel=1e-6)
        assert row.stderr == pytest.approx(ref[key]["se"], rel=1e-5)
    d = res.compare_ecx(10, kind="difference", pairs=[(3, 1)]).iloc[0]
    assert d["estimate"] == pytest.approx(ref["diff_ed10_e3_e1"]["estimate"], rel=1e-6)
    assert d["stderr"] == pytest.approx(ref["diff_ed10_e3_e1"]["se"], rel=1e-5)
    e = res.ecx(10, ci_scale="natural")
    e5 = e[e["Run"] == 5].iloc[0]
    assert e5["estimate"] == pytest.approx(ref["ed10_run5"]["estimate"], rel=1e-6)
    assert e5["stderr"] == pytest.approx(ref["ed10_run5"]["se"], rel=1e-5)
    tq = __import__("scipy").stats.t.ppf(0.975, res.dof)
    assert e5["ci_low"] == pytest.approx(e5["estimate"] - tq * e5["stderr"], rel=1e-12)


def test_common_limits_ll4_matches_r_nls_with_drc_orientation(sim):
    _, cd, _ = sim
    ref = R["sim_ll4"]["common_limits"]
    est = cd.estimates
    # drc's naming: c lower limit < d upper limit, b > 0 for a falling curve
    np.testing.assert_allclose(est[:, 0], [ref["coef"][f"b{i}"] for i in (1, 2, 3)], rtol=1e-6)
    np.testing.assert_allclose(est[:, 1], ref["coef"]["c"], rtol=1e-6)
    np.testing.assert_allclose(est[:, 2], ref["coef"]["d"], rtol=1e-6)
    np.testing.assert_allclose(est[:, 3], [ref["coef"][f"e{i}"] for i in (1, 2, 3)], rtol=1e-6)
    # the whole joint covariance (R's order b1 b2 b3 c d e1 e2 e3)
    V = cd.vcov()
    order = ["b[A]", "b[B]", "b[C]", "c", "d", "e[A]", "e[B]", "e[C]"]
    np.testing.assert_allclose(V.loc[order, order].to_numpy(), np.array(ref["vcov"]), rtol=1e-5, atol=1e-12)
    assert cd.rss == pytest.approx(ref["rss"], rel=1e-9)


def test_ll4_edcomp_compparm_and_anova_match_r(sim):
    _, cd, par = sim
    ref = R["sim_ll4"]
    for (got, key) in ((cd.compare_ecx(50, pairs=[("B", "A")]), "ed50_ratio_B_A"),
                       (cd.compare_ecx(10, pairs=[("C", "A")]), "ed10_ratio_C_A"),
                       (cd.compare_ecx(10, kind="difference", pairs=[("C", "B")]), "ed10_diff_C_B"),
                       (cd.compare_params("b", pairs=[("A", "C")]), "b_ratio_A_C"),
                       (cd.compare_params("b", operator="-", pairs=[("B", "A")]), "b_diff_B_A")):
        assert got["estimate"].iloc[0] == pytest.approx(ref[key]["estimate"], rel=1e-6), key
        assert got["stderr"].iloc[0] == pytest.approx(ref[key]["se"], rel=1e-5), key
    with pytest.warns(cp.ExtrapolationWarning):                     # ED90 of curve C is above 30
        e90s = cd.ecx(90, ci_scale="natural")
    assert np.isnan(e90s["estimate"].iloc[2]) and e90s["status"].iloc[2] == "above tested range"
    with pytest.warns(cp.ExtrapolationWarning):
        assert np.isfinite(cd.ecx(90, extrapolate=True)["estimate"]).all()
    e90 = e90s.iloc[0]
    assert e90["estimate"] == pytest.approx(ref["ed90_A"]["estimate"], rel=1e-6)
    assert e90["stderr"] == pytest.approx(ref["ed90_A"]["se"], rel=1e-5)
    for res, key in ((cd, "anova_limits_vs_separate"), (par, "anova_parallel_vs_separate")):
        t = res.test_shared().iloc[0]
        assert t["f_stat"] == pytest.approx(ref[key]["f"], rel=1e-6)
        assert t["f_pvalue"] == pytest.approx(ref[key]["p"], rel=1e-5)
        assert t["rss"] == pytest.approx(ref[key]["rss_small"], rel=1e-9)
    assert par.estimates[0, 0] == pytest.approx(ref["parallel"]["coef"]["b"], rel=1e-6)


def test_relative_potency_of_parallel_curves_matches_r_and_does_not_depend_on_x(sim):
    _, _, par = sim
    ref = R["sim_ll4"]["parallel_potency_A_over_C"]            # e_A / e_C
    rp = par.relative_potency("A")
    row = rp[rp["curve_2"] == "agent=C"].iloc[0]                 # ECx(A) / ECx(C)
    assert row["estimate"] == pytest.approx(ref["estimate"], rel=1e-6)
    assert row["stderr"] == pytest.approx(ref["se"], rel=1e-5)
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["ci_low"] > 0      # log-scale interval
    assert rp["parallel"].all()
    for x in (10, 90):
        np.testing.assert_allclose(par.relative_potency("A", x=x)["estimate"], rp["estimate"], rtol=1e-9)


def test_hessian_covariance_matches_drc_style_vcov(sim):
    d, _, _ = sim
    res = fit_dose_response_shared(d, dose="dose", response="y", by="agent", model="LL.4", shared=["b", "c", "d"],
                                   cov="hessian")
    ref = R["sim_ll4"]["parallel_hessian_se"]
    p = res.params
    se = p[p["curve"] == 0].set_index("param")["stderr"]
    for k in ("b", "c", "d"):
        assert se[k] == pytest.approx(ref[k], rel=2e-4)      # R's optimHess: finite differences
    np.testing.assert_allclose(p[p["param"] == "e"]["stderr"], [ref[f"e{i}"] for i in (1, 2, 3)], rtol=2e-4)
    assert "Hessian" in p.attrs["cov_method"]


# ------------------------------------------------------------------ hand-built cases
def _hill_data(slopes=(1.3, 1.3, 1.3), ec50=(0.5, 2.0, 8.0), seed=0, sd=3.0):
    rng = np.random.default_rng(seed)
    doses = np.r_[0, np.geomspace(0.01, 100, 8)]
    rows = []
    for ag, h, ec in zip("ABC", slopes, ec50):
        for dd in doses:
            for _ in range(3):
                rows.append({"agent": ag, "conc": dd, "via": hill(dd, 100, 10, ec, h) + rng.normal(0, sd)})
    return pd.DataFrame(rows)


def test_recovers_shared_parameters_and_separate_model_is_the_sum_of_single_fits():
    # coverage of the 95 % Wald intervals of all six parameters over 20 simulated studies
    truth = np.array([100, 10, 1.3, 0.5, 2.0, 8.0])
    hits = []
    for seed in range(20):
        df = _hill_data(seed=100 + seed)
        res = fit_dose_response_shared(df, dose="conc", response="via", by="agent", shared=["e0", "einf", "h"],
                                       dose_unit="uM", response_unit="%")
        p = res.params
        p = pd.concat([p[(p["curve"] == 0) & p["shared"]].set_index("param").loc[["e0", "einf", "h"]],
                       p[p["param"] == "ec50"]])
        hits.append((p["ci_low"].to_numpy() < truth) & (truth < p["ci_high"].to_numpy()))
    cover = np.mean(hits)
    assert 0.88 <= cover <= 1.0, cover
    assert list(p["unit"])[-3:] == ["uM"] * 3 and p["shared"].sum() == 3
    # the separate model of the F test is exactly the three single-curve fits
    df = _hill_data()
    res = fit_dose_response_shared(df, dose="conc", response="via", by="agent", shared=["e0", "einf", "h"])
    single = cp.fit_dose_response(df, dose="conc", response="via", by="agent")
    assert res.separate["rss"] == pytest.approx(single.curves["rss"].sum(), rel=1e-8)
    assert res.test_shared().iloc[0]["f_pvalue"] > 0.05              # data are parallel
    steep = _hill_data(slopes=(0.7, 1.3, 3.0), seed=1)
    r2 = fit_dose_response_shared(steep, dose="conc", response="via", by="agent", shared=["e0", "einf", "h"])
    assert r2.test_shared().iloc[0]["f_pvalue"] < 1e-6              # slopes differ
    r3 = fit_dose_response_shared(steep, dose="conc", response="via", by="agent", shared=["e0", "einf"])
    assert not r3.relative_potency("A")["parallel"].any()           # slopes per curve: depends on x
    assert r3.test_shared().iloc[0]["f_pvalue"] > 1e-3


def test_nothing_shared_equals_separate_fits():
    df = _hill_data(seed=2)
    res = fit_dose_response_shared(df, dose="conc", response="via", by="agent", shared=[])
    single = cp.fit_dose_response(df, dose="conc", response="via", by="agent")
    np.testing.assert_allclose(res.estimates, single.estimates, rtol=1e-6)
    assert res.test_shared().iloc[0]["note"].startswith("no parameter is shared")
    # pooled variance: the SE differ from the single fits' by the ratio of residual SDs only
    assert res.sigma == pytest.approx(np.sqrt(single.curves["rss"].sum() / res.dof), rel=1e-10)


def test_hill4_and_ll4_parametrisations_agree():
    df = _hill_data(seed=3)
    a = fit_dose_response_shared(df, dose="conc", response="via", by="agent", shared=["e0", "einf", "h"])
    b = fit_dose_response_shared(df, dose="conc", response="via", by="agent", model="LL.4", shared=["b", "c", "d"])
    assert a.rss == pytest.approx(b.rss, rel=1e-9)
    np.testing.assert_allclose(a.estimates[:, 2], b.estimates[:, 3], rtol=1e-6)
    np.testing.assert_allclose(a.compare_ecx(50)["stderr"], b.compare_ecx(50)["stderr"], rtol=1e-5)


def test_dose_units_row_order_and_constant_weights_change_nothing_else():
    df = _hill_data(seed=4)
    kw = dict(response="via", by="agent", shared=["e0", "einf", "h"])
    base = fit_dose_response_shared(df, dose="conc", **kw)
    nm = df.assign(conc_nM=df["conc"] * 1000)
    scaled = fit_dose_response_shared(nm, dose="conc_nM", **kw)
    np.testing.assert_allclose(scaled.estimates[:, 2], 1000 * base.estimates[:, 2], rtol=1e-6)
    np.testing.assert_allclose(scaled.compare_ecx(50)["estimate"], base.compare_ecx(50)["estimate"], rtol=1e-6)
    np.testing.assert_allclose(scaled.compare_ecx(50)["stderr"], base.compare_ecx(50)["stderr"], rtol=1e-5)
    shuffled = fit_dose_response_shared(df.sample(frac=1, random_state=1), dose="conc", **kw)
    np.testing.assert_allclose(shuffled.estimates, base.estimates, rtol=1e-9)
    w = fit_dose_response_shared(df.assign(w=2.0), dose="conc", weights="w", **kw)
    np.testing.assert_allclose(w.estimates, base.estimates, rtol=1e-8)
    np.testing.assert_allclose(w.params["stderr"], base.params["stderr"], rtol=1e-6)


def test_result_contract_roundtrip_plot_summary(tmp_path, sim):
    _, cd, _ = sim
    s = cd.summary()
    assert "shared: c, d" in s and "F =" in s
    ds = cd.to_xarray()
    assert ds["dose_obs"].attrs["units"] and ds.attrs["model"] == "LL.4"
    path = tmp_path / "shared.nc"
    cd.to_netcdf(path)
    back = load_shared_fit(path)
    assert isinstance(cp.load_result(path), type(cd))
    assert back.summary() == cd.summary()
    pd.testing.assert_frame_equal(back.params, cd.params)
    pd.testing.assert_frame_equal(back.compare_ecx(50), cd.compare_ecx(50))
    pd.testing.assert_frame_equal(back.test_shared(), cd.test_shared())
    import matplotlib
    matplotlib.use("Agg")
    ax = cd.plot()
    assert len(ax.get_lines()) == 3
    pr = cd.predict([0.0, 1.0])
    assert pr.dims == ("curve", "dose") and pr.shape == (3, 2)
    assert cd.fit_table["npar"].iloc[0] == 8 and cd.cov.shape == (3, 4, 4)


def test_bad_options_raise():
    df = _hill_data(seed=5)
    kw = dict(dose="conc", response="via", by="agent")
    with pytest.raises(InvalidParameterError, match="shared"):
        fit_dose_response_shared(df, shared=["slope"], **kw)
    with pytest.raises(InvalidParameterError, match="fixed"):
        fit_dose_response_shared(df, shared=["e0"], fixed={"e0": 100}, **kw)
    with pytest.raises(InvalidParameterError, match="cov"):
        fit_dose_response_shared(df, shared=["h"], cov="sandwich", **kw)
    with pytest.raises(InvalidParameterError, match="ci_level"):
        fit_dose_response_shared(df, shared=["h"], ci_level=95, **kw)
    with pytest.raises(InvalidParameterError, match="rename the column"):
        fit_dose_response_shared(df.rename(columns={"agent": "curve"}), dose="conc", response="via", by="curve")
    with pytest.raises(DataError, match="at least two curves"):
        fit_dose_response_shared(df[df["agent"] == "A"], shared=["h"], **kw)
    res = fit_dose_response_shared(df, shared=["h"], fixed={"e0": 100}, **kw)
    with pytest.raises(InvalidParameterError, match="shared"):
        res.compare_params("h")
    with pytest.raises(InvalidParameterError, match="curve"):
        res.relative_potency("Z")
    with pytest.raises(InvalidParameterError, match="x"):
        res.compare_ecx(150)
    with pytest.raises(InvalidParameterError, match="kind"):
        res.compare_ecx(50, kind="log ratio")
