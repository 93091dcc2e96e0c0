"""Variance functions, baseline models and correlated random effects of fit_growth_mixed.

Checked against frozen nlme::lme fits (tests/reference/nlme_varfunc, produced once by the
committed R script) and against a dense marginal (RE)ML likelihood written out here.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from comboplan.exceptions import DataError
from comboplan.growth.api import compare_mixed, fit_growth_mixed, padded_design
from conftest import dense_gls_loglik

REF = Path(__file__).parent / "reference" / "nlme_varfunc"
R = json.loads((REF / "results.json").read_text())
STUDY = pd.read_csv(REF / "study.csv")
CFG = {"homo": {}, "arm": {"variance": "arm"}, "animal": {"variance": "animal"},
       "power_time": {"variance": "power_time"}, "power": {"variance": "power"},
       "arm_power": {"variance": ["arm", "power"]}, "corr": {"random": "correlated"},
       "covariate": {"baseline_model": "covariate"}, "observation": {"baseline_model": "observation"}}


def fit(method="reml", data=STUDY, **kw):
    kw.setdefault("influence", False)
    return fit_growth_mixed(data, "mouse", "arm", "day", "vol", method=method, **kw)


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("name", list(CFG))
def test_equals_nlme_lme(name, method):
    """Arm rates, SEs, variance components, variance-function parameters, log-likelihood, AIC
    and random effects equal nlme 3.1-162 (lme, tight tolerances) to 5-6 significant digits."""
    r = R["fits"][f"{name}_{method}"]
    f = fit(method, **CFG[name])
    assert f.backend == ("gls" if name == "homo" else "iterative")
    arms = list(f.arms)
    np.testing.assert_allclose(f.rates["rate"], [r["fixef"][f"t:arm{a}"] for a in arms], rtol=2e-5)
    np.testing.assert_allclose(f.rates["stderr"], [r["se"][f"t:arm{a}"] for a in arms], rtol=3e-5)
    assert f._sd("sigma") == pytest.approx(r["sigma"], rel=2e-5)
    G = np.array(r["G"])
    assert f.variance.set_index("component").loc["tau", "variance"] == pytest.approx(G[-1, -1], rel=3e-4)
    if G.shape[0] == 2:
        v = f.variance.set_index("component")
        assert v.loc["tau_intercept", "variance"] == pytest.approx(G[0, 0], rel=3e-4)
        assert v.loc["cor_intercept_rate", "variance"] == pytest.approx(G[0, 1], rel=2e-3, abs=1e-6)
    # our maximum is at least nlme's (power of the fitted value: fixed point, 1e-5)
    assert f.loglik == pytest.approx(r["logLik"], abs=1e-5)
    assert f.loglik >= r["logLik"] - 5e-6
    assert -2 * f.loglik + 2 * f.n_params == pytest.approx(r["AIC"], abs=2e-5)
    assert f.n_params == r["df_logLik"]
    vs, vf = r["varStruct"], f.variance_function
    if "varPower" in vs:
        assert vf.loc[vf["function"] == "power", "estimate"].iloc[0] == pytest.approx(vs["varPower"]["power"], abs=2e-6)
    if "varIdent" in vs:
        which = "animal" if name == "animal" else "arm"
        got = vf[vf["function"] == which].set_index("stratum")["residual_sd"]
        ref = {k: r["sigma"] * v for k, v in vs["varIdent"].items()}
        np.testing.assert_allclose(got.loc[list(ref)].to_numpy(float), list(ref.values()), rtol=3e-5)
    # random effects (BLUPs), in the animal order of nlme's ranef table
    an = f.animals.set_index("subject").loc[r["ranef_rows"]]
    rate = an["arm"].map(dict(zip(f.rates["arm"], f.rates["rate"])))
    np.testing.assert_allclose(an["blup_rate"] - rate, r["ranef"]["t"], rtol=2e-3, atol=2e-6)
    if "(Intercept)" in r["ranef"]:
        np.testing.assert_allclose(an["blup_intercept"], r["ranef"]["(Intercept)"], rtol=2e-3, atol=2e-5)
    if name == "covariate":
        fx = f.fixed.set_index("term")["estimate"]
        assert fx["log_baseline"] == pytest.approx(r["fixef"]["c0"], rel=1e-4)
        assert fx["intercept"] == pytest.approx(r["fixef"]["(Intercept)"], rel=1e-6)


def test_likelihood_ratio_and_aic_equal_nlme_anova():
    a, b = fit("reml"), fit("reml", variance="arm")
    tab = compare_mixed(a, b, names=["homoscedastic", "varIdent(arm)"])
    ref = R["tests"]["homo_vs_arm_reml"]
    assert tab["lr_stat"].iloc[1] == pytest.approx(ref["L.Ratio"], rel=1e-6)
    assert tab["p_value"].iloc[1] == pytest.approx(ref["p"], rel=1e-4)
    assert list(tab["n_params"]) == ref["df"]
    assert tab["aic"].iloc[0] == pytest.approx(R["fits"]["homo_reml"]["AIC"], abs=1e-6)
    assert tab["bic"].iloc[1] == pytest.approx(R["fits"]["arm_reml"]["BIC"], abs=1e-4)
    assert a.compare(b).equals(compare_mixed(a, b))
    # REML is for variance structures only; fixed-effect comparisons need ML
    import dataclasses

    fewer = dataclasses.replace(b, fixed=b.fixed.iloc[:2])   # stands for a model with other fixed effects
    with pytest.raises(DataError, match="method='ml'"):
        compare_mixed(a, fewer)
    with pytest.raises(DataError, match="different data"):
        compare_mixed(fit("ml"), fit("ml", baseline_model="observation"))
    ml = compare_mixed(fit("ml", random="correlated"), fit("ml", random="correlated", variance="arm"))
    assert ml["loglik"].iloc[0] == pytest.approx(R["fits"]["corr_ml"]["logLik"], abs=1e-8)
    assert ml["lr_stat"].iloc[1] == pytest.approx(2 * (ml["loglik"].iloc[1] - ml["loglik"].iloc[0]))
    assert ml["lr_df"].iloc[1] == 3 and np.isnan(ml["lr_stat"].iloc[0])


def _dense(f, theta, reml):
    """Marginal (RE)ML of y = X beta + Z b + e, V = Z G Z' + sigma^2 diag(w^2), written out densely."""
    d = padded_design(f.data)
    m = d["mask"] & (d["t"] > 0)
    si, ji = np.nonzero(m)
    t, y = d["t"][si, ji], d["logrel"][si, ji]
    arm = d["arm"][si]
    K = len(f.arms)
    X = (arm[:, None] == np.arange(K)) * t[:, None]
    Z = (si[:, None] == np.unique(si)[None, :]) * t[:, None]
    log_tau2, log_s2, *log_ratio, power = theta
    ratio = np.exp(np.r_[0.0, log_ratio])
    w = ratio[arm] * t**power
    V = np.exp(log_s2) * np.diag(w**2) + np.exp(log_tau2) * Z @ Z.T
    return dense_gls_loglik(X, y, V, reml)


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_combined_variance_function_is_the_dense_marginal_maximum(method):
    """varIdent(arm) x varPower(time): the reported log-likelihood, rates and SEs equal the dense
    marginal (RE)ML at the reported parameters, and its gradient vanishes there."""
    f = fit(method, variance="arm+power_time")
    v = f.variance.set_index("component")["variance"]
    vf = f.variance_function
    ratios = vf.loc[vf["function"] == "arm", "estimate"].to_numpy()
    assert ratios[0] == 1.0
    th = np.r_[np.log(v["tau"]), np.log(v["sigma"]), np.log(ratios[1:]),
               vf.loc[vf["function"] == "power", "estimate"].iloc[0]]
    ll, beta, cov = _dense(f, th, method == "reml")
    assert f.loglik == pytest.approx(ll, abs=1e-8)
    np.testing.assert_allclose(f.rates["rate"], beta, rtol=1e-9)
    np.testing.assert_allclose(f.rates["stderr"], np.sqrt(np.diag(cov)), rtol=1e-7)
    h = 1e-5
    for k in range(th.size):
        e = np.eye(th.size)[k] * h
        assert abs((_dense(f, th + e, method == "reml")[0] - _dense(f, th - e, method == "reml")[0]) / (2 * h)) < 2e-4


def test_iterative_backend_equals_closed_form():
    a = fit("reml", backend="gls")
    b = fit("reml", backend="iterative")
    np.testing.assert_allclose(b.rates["rate"], a.rates["rate"], rtol=1e-8)
    np.testing.assert_allclose(b.rates["stderr"], a.rates["stderr"], rtol=1e-6)
    assert b.loglik == pytest.approx(a.loglik, abs=1e-9)
    assert a.n_params == b.n_params == 6


def test_bad_options_are_data_errors():
    with pytest.raises(DataError, match="unknown variance"):
        fit(variance="exp")
    with pytest.raises(DataError, match="not identifiable"):
        fit(variance=["arm", "animal"])
    with pytest.raises(DataError, match="statsmodels"):
        fit(variance="arm", backend="statsmodels")
    with pytest.raises(DataError, match="baseline_model"):
        fit(baseline_model="change")
    with pytest.raises(DataError, match="random"):
        fit(random="unstructured")


@pytest.mark.parametrize("name", ["arm", "animal", "power", "power_time", "arm_power", "corr", "observation"])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_exact_gradient_of_the_profiled_likelihood_equals_finite_differences(name, method, monkeypatch):
    """The analytic gradient the optimiser uses equals a Richardson-extrapolated central
    difference of the objective at a random point (relative 1e-6 of the largest component)."""
    import comboplan.growth.mixed as M

    probs = []
    real = M._minimise
    monkeypatch.setattr(M, "_minimise", lambda prob, th0, *a: probs.append(prob) or real(prob, th0, *a))
    fit(method, **CFG[name])
    prob = probs[-1]
    th = np.random.default_rng(3).normal(0.0, 0.3, prob.n_par)
    val, g = prob.objective_and_grad(th)
    assert val == pytest.approx(prob.objective(th), abs=1e-9)

    def fd(h):
        out = np.empty(prob.n_par)
        for k in range(prob.n_par):
            e = np.zeros(prob.n_par)
            e[k] = h
            out[k] = (prob.objective(th + e) - prob.objective(th - e)) / (2 * h)
        return out

    ref = (4 * fd(5e-4) - fd(1e-3)) / 3
    np.testing.assert_allclose(g, ref, atol=1e-6 * np.max(np.abs(ref)))


@pytest.mark.parametrize("name,who", [("animal", 0), ("animal", 5), ("power", 9), ("corr", 3)])
def test_leave_one_out_refits_equal_fits_without_the_animal(name, who):
    """Influence refits start at the full fit (re-referenced animal ratios, the full inverse
    Hessian, the full fit's fitted values for varPower) and still end at the fit without the
    animal: the same Cook's distance as a separate fit (animal 0 is the reference of varIdent)."""
    full = fit(influence=True, **CFG[name])
    sid = full.influence["subject"].iloc[who]
    loo = fit(data=STUDY[STUDY["mouse"] != sid], **CFG[name])
    delta = full.rates["rate"].to_numpy() - loo.rates["rate"].to_numpy()
    D = delta @ np.linalg.solve(full.cov, delta) / len(delta)
    assert full.influence.set_index("subject").loc[sid, "cooks_distance"] == pytest.approx(D, rel=1e-4)
