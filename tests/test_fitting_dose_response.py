"""fit_dose_response: API, invariances, engines, errors, ECx, compare, xarray."""
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import least_squares

import comboplan as cp
from comboplan.exceptions import ConvergenceWarning, DataError, ExtrapolationWarning, FitError
from comboplan.models.dose_response import hill

DOSES = np.array([0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10.0])


def make(seed=1, agents={"A": (0.3, 1.2), "B": (2.0, 0.8)}, sd=4.0, reps=3):
    rng = np.random.default_rng(seed)
    rows = []
    for ag, (ec, h) in agents.items():
        for d in DOSES:
            for r in range(reps):
                rows.append(dict(agent=ag, conc=d, viab=hill(d, 100, 10, ec, h) + rng.normal(0, sd), rep=r))
    return pd.DataFrame(rows)


def test_recovers_parameters_and_reports_units():
    df = make(sd=1.0)
    res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent", dose_unit="uM", response_unit="%")
    p = res.params.set_index(["agent", "param"])
    assert p.loc[("A", "ec50"), "estimate"] == pytest.approx(0.3, rel=0.1)
    assert p.loc[("B", "h"), "estimate"] == pytest.approx(0.8, rel=0.15)
    assert p.loc[("A", "ec50"), "unit"] == "uM" and p.loc[("A", "e0"), "unit"] == "%"
    assert (p["ci_low"] < p["estimate"]).all() and (p["estimate"] < p["ci_high"]).all()
    assert res.curves.converged.all()
    assert "standard errors" in res.summary()


def test_input_frame_not_mutated():
    df = make()
    before = df.copy(deep=True)
    cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    pd.testing.assert_frame_equal(df, before)


@settings(max_examples=15, deadline=None)
@given(k=st.floats(1e-4, 1e4), a=st.floats(1e-3, 1e3), b=st.floats(-50, 50))
def test_dose_unit_and_response_scale_invariance(k, a, b):
    df = make(seed=3)
    base = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    df2 = df.assign(conc=df.conc * k, viab=a * df.viab + b)
    res = cp.fit_dose_response(df2, dose="conc", response="viab", by="agent")
    e, e2 = base.estimates, res.estimates
    np.testing.assert_allclose(e2[:, 2], k * e[:, 2], rtol=1e-5)  # EC50 scales with dose unit
    np.testing.assert_allclose(e2[:, 3], e[:, 3], rtol=1e-5)  # slope unchanged
    np.testing.assert_allclose(e2[:, :2], a * e[:, :2] + b, rtol=1e-5, atol=1e-6 * a)
    np.testing.assert_allclose(res.fit.sigma, a * base.fit.sigma, rtol=1e-5)
    se, se2 = base.fit.stderr, res.fit.stderr
    np.testing.assert_allclose(se2[:, 2], k * se[:, 2], rtol=1e-4)
    np.testing.assert_allclose(se2[:, 3], se[:, 3], rtol=1e-4)


def test_batch_equals_lmfit_and_curve_fit():
    df = make(seed=5)
    a = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    b = cp.fit_dose_response(df, dose="conc", response="viab", by="agent", engine="lmfit")
    np.testing.assert_allclose(a.fit.rss, b.fit.rss, rtol=1e-6)
    np.testing.assert_allclose(a.estimates, b.estimates, rtol=1e-4)
    from scipy.optimize import curve_fit

    sub = df[df.agent == "A"]
    p, pc = curve_fit(lambda d, *q: hill(d, *q), sub.conc, sub.viab, p0=[100, 10, 0.3, 1])
    np.testing.assert_allclose(a.estimates[0], p, rtol=1e-5)
    np.testing.assert_allclose(a.fit.stderr[0], np.sqrt(np.diag(pc)), rtol=1e-4)


def test_robust_loss_matches_scipy_least_squares():
    df = make(seed=7)
    df.loc[5, "viab"] += 60.0  # an outlier
    sub = df[df.agent == "A"]
    res = cp.fit_dose_response(sub, dose="conc", response="viab", loss="soft_l1", f_scale=3.0)
    x, y = sub.conc.to_numpy(), sub.viab.to_numpy()

    def r(t):
        return hill(x, t[0], t[1], np.exp(t[2]), np.exp(t[3])) - y

    ls = least_squares(r, [100, 10, np.log(0.3), 0.0], loss="soft_l1", f_scale=3.0, xtol=1e-14, ftol=1e-14, gtol=1e-14)
    ref = np.array([ls.x[0], ls.x[1], np.exp(ls.x[2]), np.exp(ls.x[3])])
    np.testing.assert_allclose(res.estimates[0], ref, rtol=1e-5)
    ols = cp.fit_dose_response(sub, dose="conc", response="viab")
    # the robust fit is pulled less by the outlier at the control
    assert abs(res.estimates[0, 0] - 100) < abs(ols.estimates[0, 0] - 100)


def test_hessian_covariance_matches_numerical_hessian_of_rss():
    df = make(seed=11)
    sub = df[df.agent == "B"]
    res = cp.fit_dose_response(sub, dose="conc", response="viab", cov="hessian")
    x, y = sub.conc.to_numpy(), sub.viab.to_numpy()
    p = res.estimates[0]

    def rss(q):
        return np.sum((y - hill(x, *q)) ** 2)

    H = np.zeros((4, 4))
    h = 1e-4 * np.abs(p)
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            H[i, j] = (rss(p + ei + ej) - rss(p + ei - ej) - rss(p - ei + ej) + rss(p - ei - ej)) / (4 * h[i] * h[j])
    s2 = rss(p) / (len(y) - 4)
    ref = s2 * np.linalg.inv(H / 2)
    np.testing.assert_allclose(res.cov[0], ref, rtol=2e-3)
    gn = cp.fit_dose_response(sub, dose="conc", response="viab")
    assert not np.allclose(gn.cov[0], res.cov[0], rtol=1e-3)  # the estimators genuinely differ


def test_fixed_parameters_and_hill3():
    df = make(seed=2)
    res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent", model="hill4", fixed={"e0": 100.0})
    p = res.params
    assert (p.loc[p.param == "e0", "estimate"] == 100.0).all()
    assert p.loc[p.param == "e0", "stderr"].isna().all() and p.loc[p.param == "e0", "fixed"].all()
    r3 = cp.fit_dose_response(df, dose="conc", response="viab", by="agent", model="hill3")
    assert (r3.params.loc[r3.params.param == "einf", "estimate"] == 0.0).all()


def test_ecx_delta_profile_bootstrap_agree_roughly():
    df = make(seed=13, sd=3.0)
    res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    d = res.ecx(50, ci="delta")
    p = res.ecx(50, ci="profile")
    b = res.ecx(50, ci="bootstrap", n_boot=400, seed=4)
    np.testing.assert_allclose(d.estimate, res.estimates[:, 2], rtol=1e-9)  # EC50 of hill4 is ec50
    for other in (p, b):
        assert (other.ci_low < d.estimate).all() and (d.estimate < other.ci_high).all()
        np.testing.assert_allclose(np.log(other.ci_low), np.log(d.ci_low), atol=0.25)
        np.testing.assert_allclose(np.log(other.ci_high), np.log(d.ci_high), atol=0.25)
    b2 = res.ecx(50, ci="bootstrap", n_boot=400, seed=4)
    pd.testing.assert_frame_equal(b, b2)  # same seed, same answer


def test_ecx_outside_tested_range_is_flagged_not_invented():
    df = make(agents={"C": (3.0, 1.0)}, sd=1.0)  # EC95 = 57 lies above the top dose (10)
    res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    with pytest.warns(ExtrapolationWarning):
        e = res.ecx(95)
    assert e.extrapolated.all() and e.estimate.isna().all() and "above tested range" in e.status[0]
    with pytest.warns(ExtrapolationWarning):
        e2 = res.ecx(95, extrapolate=True)
    assert np.isfinite(e2.estimate).all()


def test_absolute_ecx_never_reached():
    df = make(sd=1.0)
    res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    e = res.ecx(5.0, kind="absolute")  # below einf = 10
    assert e.estimate.isna().all() and (e.status == "response level never reached by the fitted curve").all()


def test_failed_curve_is_nan_row_with_one_warning():
    df = make()
    bad = pd.DataFrame({"agent": "Z", "conc": [1.0, 1.0], "viab": [50.0, 51.0], "rep": [0, 1]})
    df = pd.concat([df, bad], ignore_index=True)
    with pytest.warns(ConvergenceWarning, match="1 of 3 curve"):
        res = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    c = res.curves.set_index("agent")
    assert not c.loc["Z", "converged"] and "too few observations" in c.loc["Z", "message"]
    assert res.params.set_index(["agent", "param"]).loc["Z", "estimate"].isna().all()
    assert c.loc[["A", "B"], "converged"].all()
    with pytest.raises(FitError, match="agent='Z'"):
        cp.fit_dose_response(df, dose="conc", response="viab", by="agent", errors="raise")


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.assign(conc=-d.conc), "must be >= 0.*row"),
        (lambda d: d.assign(conc=d.conc.where(d.index != 3, np.nan)), "missing value.*row 3"),
        (lambda d: d.assign(conc=d.conc.where(d.index != 4, np.inf)), "infinite.*row 4"),
        (lambda d: d.assign(viab=d.viab.astype(object).where(d.index != 2, "12%")), "must be numeric.*row 2"),
        (lambda d: d.assign(viab=d.viab.where(d.index != 6, np.nan)), "missing or infinite.*row 6"),
        (lambda d: d.assign(agent=d.agent.where(d.index != 1, None)), "grouping column 'agent'.*row 1"),
        (lambda d: d.rename(columns={"conc": "dose_uM"}), "column\\(s\\) 'conc'"),
        (lambda d: d.iloc[0:0], "no rows"),
    ],
)
def test_data_errors_name_column_row_and_fix(mutate, match):
    df = mutate(make())
    with pytest.raises(DataError, match=match):
        cp.fit_dose_response(df, dose="conc", response="viab", by="agent")


def test_bad_arguments_are_data_errors():
    df = make()
    with pytest.raises(DataError, match="unknown dose-response model"):
        cp.fit_dose_response(df, dose="conc", response="viab", model="hill7")
    with pytest.raises(DataError, match="no parameter 'top'"):
        cp.fit_dose_response(df, dose="conc", response="viab", fixed={"top": 1})
    with pytest.raises(cp.InvalidParameterError, match="loss"):  # an option, not the data
        cp.fit_dose_response(df, dose="conc", response="viab", loss="l1")
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        cp.fit_dose_response(df.to_dict(), dose="conc", response="viab")
    with pytest.raises(DataError, match="weights"):
        cp.fit_dose_response(df.assign(w=0.0), dose="conc", response="viab", weights="w")


def test_weights_are_inverse_variances():
    df = make(seed=17)
    res1 = cp.fit_dose_response(df.assign(w=1.0), dose="conc", response="viab", by="agent", weights="w")
    res4 = cp.fit_dose_response(df.assign(w=4.0), dose="conc", response="viab", by="agent", weights="w")
    np.testing.assert_allclose(res1.estimates, res4.estimates, rtol=1e-6)
    np.testing.assert_allclose(res1.fit.stderr, res4.fit.stderr, rtol=1e-5)  # relative weights


def test_compare_lack_of_effect_and_nested_f_test():
    df = make(seed=19)
    flat = df.assign(viab=100 + np.random.default_rng(0).normal(0, 4, len(df)))
    r4 = cp.fit_dose_response(flat, dose="conc", response="viab", by="agent")
    r0 = cp.fit_dose_response(flat, dose="conc", response="viab", by="agent", model="no_effect")
    t = cp.compare(r0, r4)
    row = t[t.model == "no_effect"]
    # F statistic by hand
    f = ((r0.fit.rss - r4.fit.rss) / 3) / (r4.fit.rss / r4.fit.dof)
    np.testing.assert_allclose(row.f_stat, f, rtol=1e-10)
    e4 = cp.fit_dose_response(df, dose="conc", response="viab", by="agent")
    e0 = cp.fit_dose_response(df, dose="conc", response="viab", by="agent", model="no_effect")
    assert (cp.compare(e0, e4).query("model == 'no_effect'").f_pvalue < 1e-6).all()
    other = make(seed=99)
    o4 = cp.fit_dose_response(other, dose="conc", response="viab", by="agent")
    with pytest.raises(DataError, match="different data"):
        cp.compare(e0, o4)


def test_to_xarray_netcdf_round_trip(tmp_path):
    import xarray as xr

    res = cp.fit_dose_response(make(), dose="conc", response="viab", by="agent", dose_unit="uM")
    ds = res.to_xarray()
    assert ds.estimate.dims == ("curve", "param") and ds["cov"].dims == ("curve", "param", "param_j")
    assert list(ds.agent.values) == ["A", "B"] and ds.attrs["dose_unit"] == "uM"
    path = tmp_path / "fit.nc"
    res.to_netcdf(path)
    back = xr.open_dataset(path, engine="h5netcdf").load()
    # the root group is to_xarray(), plus the attributes that comboplan.load_result dispatches on
    assert back.attrs.pop("result") == "DoseResponseResult"
    for k in ("result_class", "comboplan_format", "comboplan_version"):
        back.attrs.pop(k)
    xr.testing.assert_identical(back, ds)
    again = cp.load_result(path)
    pd.testing.assert_frame_equal(again.params, res.params)


def test_predict_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    res = cp.fit_dose_response(make(), dose="conc", response="viab", by="agent")
    pr = res.predict([0, 0.3, 1e6])
    assert pr.dims == ("curve", "dose")
    np.testing.assert_allclose(pr.sel(dose=0).values, res.estimates[:, 0])
    band = res.predict([0.1, 1.0], interval="confidence")
    assert (band.ci_low < band.estimate).all() and (band.estimate < band.ci_high).all()
    ax = res.plot(band=True)
    assert ax.get_xscale() == "log" and len(ax.lines) >= 2


def test_many_curves_progress_and_chunks():
    rng = np.random.default_rng(0)
    n = 300
    ec = np.exp(rng.normal(-1, 0.5, n))
    x = np.tile(np.repeat(DOSES, 2), n)
    cid = np.repeat(np.arange(n), len(DOSES) * 2)
    y = hill(x, 100, 0, ec[cid], 1.0) + rng.normal(0, 3, x.size)
    df = pd.DataFrame({"cid": cid, "x": x, "y": y})
    from comboplan.fitting import batch

    res = cp.fit_dose_response(df, dose="x", response="y", by="cid")
    small = batch.fit_curves(res.spec, res.packed.x, res.packed.y, res.packed.mask, chunk_size=64)
    np.testing.assert_allclose(small.estimates, res.estimates, rtol=1e-8)
    assert res.curves.converged.all()


def test_exact_fit_through_as_many_points_as_parameters_reports_no_standard_errors():
    """Two informative means and two free Hill parameters: the curve passes through the points,
    s^2 (J'J)^-1 is ~1e-28 and would print SEs of 1e-14; they are reported as not estimable."""
    import comboplan as cp

    df = cp.load_dataset("karimi2025").query("cell_line == 'SKBR3' and time_h == 24")
    res = cp.fit_dose_response(df, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                               fixed={"e0": 100, "einf": 0})
    p = res.params.set_index("param")
    assert p.loc["ec50", "estimate"] == pytest.approx(25 / (100 / 75.1 - 1) ** (1 / p.loc["h", "estimate"]), rel=1e-8)
    assert p[["stderr", "ci_low", "ci_high"]].isna().all().all()
    assert "exact fit" in res.curves.message.iloc[0] and bool(res.curves.converged.iloc[0])
    # with noise the same model has finite standard errors
    noisy = df.assign(viability_pct=df.viability_pct + [0.0, 1.0, -1.0])
    noisy = pd.concat([noisy, df.assign(viability_pct=df.viability_pct + [0.0, -1.0, 1.0])])
    r2 = cp.fit_dose_response(noisy, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                              fixed={"e0": 100, "einf": 0})
    assert np.isfinite(r2.params.set_index("param").loc["ec50", "stderr"])


def test_on_bound_names_equal_a_join_per_row():
    """curves['on_bound'] is built once per distinct pattern of bound flags: the same strings as a
    join of each row's flagged parameter names."""
    from comboplan.fitting.dose_response import _flag_names

    rng = np.random.default_rng(0)
    names = ("b", "c", "d", "e")
    for p in (0.0, 0.05, 0.5):
        flags = rng.random((500, 4)) < p
        assert list(_flag_names(flags, names)) == [", ".join(np.asarray(names)[r]) for r in flags]
    assert _flag_names(np.zeros((0, 4), bool), names).shape == (0,)
