"""comboplan against R drc's documented examples (printed outputs and full-precision fitted
objects, frozen in ``tests/reference/drc_documented/``; provenance and tolerances in the README
there): ryegrass LL.4 / LL.3 / W1.4 with ED delta intervals, and spinach's five curves with
drc's ``compParm`` ratios and differences of ED50."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.fitting.shared import fit_dose_response_shared

REF = Path(__file__).parent / "reference" / "drc_documented"
P = json.loads((REF / "printed.json").read_text())
RTOL_EST = 1e-4      # drc's optimiser stops within its relative tolerance of the optimum
RTOL_SE = 2e-3       # a Hessian evaluated at that slightly different point


@pytest.fixture(scope="module")
def ryegrass():
    return pd.read_csv(REF / "ryegrass.csv")


def _fit(data, model):
    return cp.fit_dose_response(data, "conc", "rootl", model=model, cov="hessian")


@pytest.mark.parametrize("model,key", [("LL.4", "ryegrass_LL4"), ("LL.3", "ryegrass_LL3"), ("W1.4", "ryegrass_W14")])
def test_ryegrass_fits_equal_drc(ryegrass, model, key):
    ref = P[key]
    f = _fit(ryegrass, model)
    assert bool(np.all(f.converged))
    p = f.params.set_index("param")
    coef = ref.get("coef_full", ref.get("coef"))
    for name, v in coef.items():
        assert p.loc[name, "estimate"] == pytest.approx(v, rel=RTOL_EST), name
        assert p.loc[name, "stderr"] == pytest.approx(ref["se"][name], rel=RTOL_SE), name
    rss = float(np.asarray(f.fit.rss).ravel()[0])
    drc_rss = ref.get("rss_full", ref.get("rss"))
    # at least as good a least-squares fit as drc's (printed RSS rounded to its last digit)
    assert rss <= drc_rss + (1e-9 * drc_rss if "rss_full" in ref else 5e-5 * 10 ** np.floor(np.log10(drc_rss)))
    dof = len(ryegrass) - len(coef)
    assert dof == ref["df"]
    if "rse" in ref:
        assert np.sqrt(rss / dof) == pytest.approx(ref["rse"], rel=1e-5)


@pytest.mark.parametrize("model,key", [("LL.4", "ryegrass_LL4"), ("W1.4", "ryegrass_W14")])
def test_ryegrass_ed_delta_intervals_equal_drc(ryegrass, model, key):
    """drc's ED(..., interval = "delta"): estimate +- t(0.975, df) SE on the natural scale."""
    ref = P[key]["ed"]
    f = _fit(ryegrass, model)
    e = f.ecx([float(k) for k in ref], ci_scale="natural").set_index("x")
    for k, (est, se, lo, hi) in ref.items():
        row = e.loc[float(k)]
        assert row["estimate"] == pytest.approx(est, rel=RTOL_EST)
        assert row["stderr"] == pytest.approx(se, rel=RTOL_SE)
        assert row["ci_low"] == pytest.approx(lo, rel=RTOL_SE)
        assert row["ci_high"] == pytest.approx(hi, rel=RTOL_SE)


def test_ryegrass_ll3_ed50_equals_drc(ryegrass):
    est, se, lo, hi = P["ryegrass_LL3"]["ed50"]
    row = _fit(ryegrass, "LL.3").ecx([50.0], ci_scale="natural").iloc[0]
    assert (row["estimate"], row["stderr"]) == (pytest.approx(est, rel=RTOL_EST), pytest.approx(se, rel=RTOL_SE))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo, rel=RTOL_SE), pytest.approx(hi, rel=RTOL_SE))


def test_gauss_newton_errors_would_not_pass(ryegrass):
    """The SE tolerance can tell drc's Hessian covariance from the Gauss-Newton one."""
    g = cp.fit_dose_response(ryegrass, "conc", "rootl", model="LL.4").params.set_index("param")
    assert abs(g.loc["b", "stderr"] / P["ryegrass_LL4"]["se"]["b"] - 1) > 5 * RTOL_SE


@pytest.fixture(scope="module")
def spinach():
    d = pd.read_csv(REF / "spinach.csv")
    return fit_dose_response_shared(d, dose="DOSE", response="SLOPE", by="CURVE", model="LL.4", shared=[],
                                    cov="hessian")


def test_spinach_joint_fit_equals_drc(spinach):
    ref = P["spinach_LL4_by_curve"]
    full = np.array(ref["coef_full"]).reshape(4, 5).T          # (curve, b c d e)
    np.testing.assert_allclose(spinach.estimates, full, rtol=RTOL_EST, atol=1e-5)
    assert spinach.dof == ref["df"]
    assert spinach.rss <= ref["rss_full"] * (1 + 1e-9)


@pytest.mark.parametrize("operator,key", [("/", "compparm_ratio"), ("-", "compparm_difference")])
def test_spinach_compparm_equals_drc(spinach, operator, key):
    ref = P["spinach_LL4_by_curve"][key]
    t = spinach.compare_params("e", operator=operator)
    pairs = [f"{a.split('=')[1]}/{b.split('=')[1]}" for a, b in zip(t["curve_1"], t["curve_2"])]
    assert pairs == P["spinach_LL4_by_curve"]["compparm_ratio"]["pairs"]           # drc's order of pairs
    np.testing.assert_allclose(t["estimate"], ref["estimate"], rtol=RTOL_EST, atol=1e-5)
    np.testing.assert_allclose(t["stderr"], ref["se"], rtol=RTOL_SE)
    np.testing.assert_allclose(t["t_stat"], ref["t"], rtol=RTOL_SE, atol=1e-3)
    np.testing.assert_allclose(t["p_value"], ref["p"], rtol=5e-3, atol=2e-4)
    assert (t["df"] == 85).all()


def test_ryegrass_w14_slope_fixed_equals_drc(ryegrass):
    """drc's W1.4 with the slope fixed at 1: a flat direction (drc stops within 1e-3 of c's
    optimum), so estimates are compared in units of their standard error."""
    ref = P["ryegrass_W14_b_fixed_1"]
    f = cp.fit_dose_response(ryegrass, "conc", "rootl", model="W1.4", fixed={"b": 1.0}, cov="hessian")
    p = f.params.set_index("param")
    for name, v in ref["coef"].items():
        assert abs(p.loc[name, "estimate"] - v) <= 0.01 * ref["se"][name], name
        assert p.loc[name, "stderr"] == pytest.approx(ref["se"][name], rel=RTOL_SE), name
    assert bool(p.loc["b", "fixed"]) and p.loc["b", "estimate"] == 1.0
    assert np.sqrt(float(np.asarray(f.fit.rss).ravel()[0]) / ref["df"]) == pytest.approx(ref["rse"], rel=1e-6)


def test_ryegrass_w14_optimum_on_the_slope_bound_equals_drc(ryegrass):
    """Issue 12 (optimum on a bound): W1.4 with b >= 3 reaches drc's constrained optimum, with b
    reported on its bound."""
    ref = P["ryegrass_W14_b_at_least_3"]
    f = cp.fit_dose_response(ryegrass, "conc", "rootl", model="W1.4", bounds={"b": (3.0, np.inf)}, cov="hessian")
    assert bool(np.all(f.converged))
    p = f.params.set_index("param")
    assert bool(p.loc["b", "on_bound"]) and p.loc["b", "estimate"] == pytest.approx(3.0, abs=1e-9)
    for name in ("c", "d", "e"):
        assert p.loc[name, "estimate"] == pytest.approx(ref["coef"][name], rel=RTOL_EST), name
    assert np.sqrt(float(np.asarray(f.fit.rss).ravel()[0]) / ref["df"]) == pytest.approx(ref["rse"], rel=1e-6)
