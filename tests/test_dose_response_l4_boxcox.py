"""drc's logistic-in-dose models L.4 / L.5, the natural-scale delta interval for ECx and the
transform-both-sides Box-Cox option of fit_dose_response (issue 12, Deliver item 2)."""
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import comboplan as cp
from comboplan.exceptions import DataError, InvalidParameterError
from comboplan.interop import as_lmfit_model
from comboplan.models.dose_response import ecx_relative, get_model, l4, l5, ll4


def _l4_data(seed=1, b=0.9, c=5.0, d=95.0, e=4.0, sd=2.0, reps=4):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.linspace(0.0, 10.0, 11), reps)
    y = l4(x, b, c, d, e) + rng.normal(0.0, sd, x.size)
    return pd.DataFrame({"x": x, "y": y})


# ------------------------------------------------------------------ L.4 / L.5
def test_l4_l5_equations_and_registry():
    x = np.array([0.0, 1.0, 4.0, 9.0])
    np.testing.assert_allclose(l4(x, 0.9, 5, 95, 4), 5 + 90 / (1 + np.exp(0.9 * (x - 4))))
    np.testing.assert_allclose(l5(x, 0.9, 5, 95, 4, 0.7), 5 + 90 / (1 + np.exp(0.9 * (x - 4))) ** 0.7)
    np.testing.assert_allclose(l5(x, 0.9, 5, 95, 4, 1.0), l4(x, 0.9, 5, 95, 4))
    for name, alias in (("L.4", "l4"), ("L.5", "l5")):
        spec = get_model(name)
        assert get_model(alias) is spec
        units = {p.name: p.unit for p in spec.params}
        assert units["e"] == "dose" and units["b"] == "1/dose"
        assert spec.params[spec.param_names.index("e")].transform == "identity"
    assert "L.4" in get_model("no_effect").nested_in
    m = as_lmfit_model("L.4")
    assert list(m.param_names) == ["b", "c", "d", "e"]


@pytest.mark.parametrize("engine", ["batch", "lmfit"])
def test_l4_recovers_simulated_parameters(engine):
    truth = np.array([0.9, 5.0, 95.0, 4.0])
    covered = 0
    n_sim = 20
    for seed in range(n_sim):
        res = cp.fit_dose_response(_l4_data(seed), dose="x", response="y", model="L.4", engine=engine,
                                   errors="raise")
        p = res.params
        assert res.converged.all()
        covered += int(np.all((p["ci_low"].to_numpy() <= truth) & (truth <= p["ci_high"].to_numpy())))
        if seed == 0:
            np.testing.assert_allclose(res.estimates[0], truth, rtol=0.1)
            assert list(p["unit"]) == ["1/dose unit", "response unit", "response unit", "dose unit"]
    # all four 95 % intervals cover the truth together in most runs (>= 0.95^4 ~ 0.81 expected)
    assert covered >= 13


def test_l4_ecx_closed_form_equals_numerical_root():
    res = cp.fit_dose_response(_l4_data(2), dose="x", response="y", model="L.4")
    b, c, d, e = res.estimates[0]
    for xv in (10.0, 50.0, 90.0):
        closed = res.ecx(xv)["estimate"].iloc[0]
        # the dose where the curve has moved xv % of the way from d to c
        target = d + (c - d) * xv / 100.0
        root = optimize.brentq(lambda t: l4(t, b, c, d, e) - target, -50.0, 50.0, xtol=1e-13)
        assert closed == pytest.approx(root, rel=1e-9)
    assert res.ecx(50)["estimate"].iloc[0] == pytest.approx(e, rel=1e-12)
    # either representation of the same curve, (b, c, d, e) and (-b, d, c, e), gives the same ECx
    np.testing.assert_allclose(ecx_relative(get_model("L.4"), 30.0, [-b, d, c, e]),
                               ecx_relative(get_model("L.4"), 30.0, [b, c, d, e]))
    # L.5: closed form against a root too
    p5 = np.array([0.8, 5.0, 95.0, 4.0, 0.6])
    for xv in (20.0, 50.0, 80.0):
        target = p5[2] + (p5[1] - p5[2]) * xv / 100.0
        root = optimize.brentq(lambda t: l5(t, *p5) - target, -50.0, 50.0, xtol=1e-13)
        assert float(ecx_relative(get_model("L.5"), xv, p5)) == pytest.approx(root, rel=1e-9)


def test_l4_ecx_absolute_level():
    res = cp.fit_dose_response(_l4_data(3), dose="x", response="y", model="L.4")
    b, c, d, e = res.estimates[0]
    est = res.ecx(40.0, kind="absolute")["estimate"].iloc[0]
    assert l4(est, b, c, d, e) == pytest.approx(40.0, rel=1e-9)


def test_l4_dose_rescaling_scales_e_and_b():
    df = _l4_data(4)
    r1 = cp.fit_dose_response(df, dose="x", response="y", model="L.4")
    r2 = cp.fit_dose_response(df.assign(x=df["x"] * 1000.0), dose="x", response="y", model="L.4")
    b1, c1, d1, e1 = r1.estimates[0]
    b2, c2, d2, e2 = r2.estimates[0]
    assert e2 == pytest.approx(1000 * e1, rel=1e-5)
    assert b2 == pytest.approx(b1 / 1000, rel=1e-5)
    assert (c2, d2) == pytest.approx((c1, d1), rel=1e-5)


# ------------------------------------------------------------------ natural-scale ECx interval
@pytest.mark.parametrize("model,data", [
    ("LL.4", lambda: pd.DataFrame({"x": np.repeat(np.geomspace(0.01, 100, 8), 3),
                                   "y": ll4(np.repeat(np.geomspace(0.01, 100, 8), 3), 1.1, 3, 98, 0.8)
                                   + np.random.default_rng(5).normal(0, 3, 24)})),
    ("L.4", lambda: _l4_data(5)),
])
def test_natural_scale_ci_equals_delta_method_by_hand(model, data):
    res = cp.fit_dose_response(data(), dose="x", response="y", model=model)
    spec = get_model(model)
    est = res.estimates[0]
    V = res.cov[0]
    for xv in (20.0, 50.0):
        tab = res.ecx(xv, ci_scale="natural")
        assert tab.attrs["ci_scale"] == "natural"
        point = float(ecx_relative(spec, xv, est))
        g = np.zeros(est.size)
        for j in range(est.size):  # gradient of ECx by central differences, independently of the package
            h = 1e-5 * max(abs(est[j]), 1e-3)
            up, dn = est.copy(), est.copy()
            up[j] += h
            dn[j] -= h
            g[j] = (float(ecx_relative(spec, xv, up)) - float(ecx_relative(spec, xv, dn))) / (2 * h)
        se = np.sqrt(g @ V @ g)
        t = stats.t.ppf(0.975, res.fit.dof[0])
        row = tab.iloc[0]
        assert row["estimate"] == pytest.approx(point, rel=1e-10)
        assert row["stderr"] == pytest.approx(se, rel=1e-5)
        assert row["ci_low"] == pytest.approx(point - t * se, rel=1e-5)
        assert row["ci_high"] == pytest.approx(point + t * se, rel=1e-5)
        # the default stays the log-scale interval, with the same standard error
        log_row = res.ecx(xv).iloc[0]
        assert log_row["stderr"] == pytest.approx(se, rel=1e-5)
        assert log_row["ci_low"] == pytest.approx(point * np.exp(-t * se / point), rel=1e-5)
        assert res.ecx(xv).attrs["ci_scale"] == "log"


def test_ecx_ci_scale_validated():
    res = cp.fit_dose_response(_l4_data(6), dose="x", response="y", model="L.4")
    with pytest.raises(InvalidParameterError, match="ci_scale"):
        res.ecx(50, ci_scale="linear")


# ------------------------------------------------------------------ Box-Cox
def _lognormal_data(seed=11, n_per=20):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.geomspace(0.01, 100, 10), n_per)
    y = ll4(x, 1.2, 5.0, 100.0, 1.0) * np.exp(rng.normal(0.0, 0.15, x.size))
    return pd.DataFrame({"x": x, "y": y})


def test_boxcox_one_equals_plain_fit():
    df = _lognormal_data()
    plain = cp.fit_dose_response(df, dose="x", response="y", model="LL.4")
    bc1 = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=1.0)
    assert bc1.boxcox == 1.0
    np.testing.assert_allclose(bc1.estimates, plain.estimates, rtol=1e-7)
    np.testing.assert_allclose(bc1.cov, plain.cov, rtol=1e-5)
    np.testing.assert_allclose(bc1.fit.rss, plain.fit.rss, rtol=1e-9)
    np.testing.assert_allclose(bc1.curves["loglik"], plain.curves["loglik"], rtol=1e-9)
    pd.testing.assert_frame_equal(bc1.ecx(50), plain.ecx(50), rtol=1e-6)


def test_boxcox_zero_equals_log_fit_by_hand():
    df = _lognormal_data(12)
    res = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=0)
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    start = res.estimates[0] * np.array([1.1, 0.9, 1.05, 1.2])
    by_hand = optimize.least_squares(lambda p: np.log(y) - np.log(ll4(x, *p)), start, xtol=1e-15, ftol=1e-15,
                                     gtol=1e-15)
    np.testing.assert_allclose(res.estimates[0], by_hand.x, rtol=1e-6)
    rss = float(np.sum(by_hand.fun ** 2))
    assert res.fit.rss[0] == pytest.approx(rss, rel=1e-8)
    # covariance s^2 (J'J)^-1 on the log scale
    J = by_hand.jac
    cov = rss / (len(y) - 4) * np.linalg.inv(J.T @ J)
    np.testing.assert_allclose(res.cov[0], cov, rtol=1e-3)
    # loglik on the original responses: the Jacobian term -sum(log y) is included
    n = len(y)
    ll = -0.5 * n * (np.log(2 * np.pi) + np.log(rss / n) + 1) - np.sum(np.log(y))
    assert res.curves["loglik"].iloc[0] == pytest.approx(ll, rel=1e-9)
    assert "lambda = 0" in res.summary()


def test_boxcox_fixed_lambda_by_hand():
    df = _lognormal_data(13)
    lam = 0.5
    res = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=lam)
    x, y = df["x"].to_numpy(), df["y"].to_numpy()

    def bc(v):
        return (v ** lam - 1) / lam

    by_hand = optimize.least_squares(lambda p: bc(y) - bc(ll4(x, *p)), res.estimates[0] * 1.05,
                                     xtol=1e-15, ftol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(res.estimates[0], by_hand.x, rtol=1e-6)


def test_boxcox_estimate_recovers_log_for_lognormal_errors():
    df = _lognormal_data(14)  # 200 points, multiplicative (log-normal) errors: lambda = 0
    res = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox="estimate")
    assert abs(res.boxcox) < 0.3
    info = res.boxcox_info
    assert info["method"] == "estimate"
    assert info["ci_low"] <= 0.0 <= info["ci_high"] or abs(res.boxcox) < 0.3
    prof = res.boxcox_profile
    assert list(prof.columns) == ["lambda", "loglik"] and len(prof) == 41
    # lambda = 1 (no transform) is clearly worse than the estimate on these data
    ll1 = float(prof.loc[np.isclose(prof["lambda"], 1.0), "loglik"].iloc[0])
    assert res.curves["loglik"].iloc[0] > ll1 + 10
    # the reported fit is the fit at the estimated lambda
    again = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=res.boxcox)
    np.testing.assert_allclose(again.estimates, res.estimates, rtol=1e-6)
    # an estimated lambda is a parameter of the AIC / BIC; the same lambda given fixed is not
    n = float(res.curves["nobs"].iloc[0])
    assert res.curves["aic"].iloc[0] - again.curves["aic"].iloc[0] == pytest.approx(2.0, abs=1e-6)
    assert res.curves["bic"].iloc[0] - again.curves["bic"].iloc[0] == pytest.approx(np.log(n), abs=1e-6)
    assert "estimated by profile likelihood" in res.summary()
    # additive normal errors: lambda near 1 instead
    rng = np.random.default_rng(15)
    x = np.repeat(np.geomspace(0.01, 100, 10), 20)
    add = pd.DataFrame({"x": x, "y": ll4(x, 1.2, 20.0, 100.0, 1.0) + rng.normal(0, 4, x.size)})
    r_add = cp.fit_dose_response(add, dose="x", response="y", model="LL.4", boxcox="estimate")
    assert abs(r_add.boxcox - 1.0) < 0.5


def test_boxcox_with_by_and_l4_and_netcdf(tmp_path):
    a, b = _l4_data(20, sd=1.0), _l4_data(21, sd=1.0)
    df = pd.concat([a.assign(g="a"), b.assign(g="b")], ignore_index=True)
    res = cp.fit_dose_response(df, dose="x", response="y", by="g", model="L.4", boxcox=0.5)
    one = cp.fit_dose_response(b, dose="x", response="y", model="L.4", boxcox=0.5)
    np.testing.assert_allclose(res.estimates[1], one.estimates[0], rtol=1e-6)
    assert res.to_xarray().attrs["boxcox_lambda"] == 0.5
    path = tmp_path / "bc.nc"
    res.to_netcdf(path)
    back = cp.load_result(path)
    assert back.boxcox == 0.5
    assert back.summary() == res.summary()


def test_boxcox_validation_and_data_errors():
    df = _lognormal_data(16)
    for bad in ("log", 10, float("nan"), True):
        with pytest.raises(InvalidParameterError, match="boxcox"):
            cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=bad)
    with pytest.raises(DataError, match="responses > 0"):
        cp.fit_dose_response(df.assign(y=df["y"] - 10), dose="x", response="y", model="LL.4", boxcox=0)
    res = cp.fit_dose_response(df, dose="x", response="y", model="LL.4", boxcox=0)
    with pytest.raises(InvalidParameterError, match="ci"):
        res.ecx(50, ci="bootstrap")
    plain = cp.fit_dose_response(df, dose="x", response="y", model="LL.4")
    with pytest.raises(DataError, match="Box-Cox"):
        cp.compare(plain, res)
