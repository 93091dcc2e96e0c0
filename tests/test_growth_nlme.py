"""fit_growth_nlme: Gompertz / logistic / exponential NLME growth models against frozen R references.

References: tests/reference/nlme_growth (make_data.py simulates the two studies; make_reference.R fits
them with nlme::nlme 3.1-162 under R 4.2.2 and computes the Laplace ML optimum in-script; see its README).

What is compared, and to what precision:

* Gompertz with a random effect on v0 only, ML: the model is linear in its random effect with a
  constant Jacobian, so nlme's Lindstrom-Bates (LB) estimate and our Laplace estimate are both exact
  ML.  Estimates, nlme-style SEs, SDs, logLik, AIC/BIC and the likelihood-ratio test of per-arm vs
  common rate equal nlme's to its printed digits (7 significant).
* Random effects on v0 and the rate (Gompertz, logistic): the two criteria coincide as functions (our
  Laplace objective at nlme's estimates equals nlme's logLik to 1e-6), but nlme's estimate is the LB
  fixed point, which ignores how the random-effect Jacobian moves with the parameters, not the
  maximiser.  Our estimates equal the in-script R Laplace optimum to ~1e-6 and differ from nlme's by
  less than 0.3 standard errors (stated tolerance, reason above); our log-likelihood is higher.
* REML: at nlme's REML estimates our restricted likelihood (Laplace + log|sum X' V^-1 X|, the model
  linearised at the modes) equals nlme's reported REML logLik to 1e-6 (with a central-difference X;
  the engine's forward differences move it by ~3e-6).  nlme's estimates are not the maximiser of that
  function: its REML fixed effects are its ML ones (same PNLS step), and its REML SD of the random rate
  (0.1385) stays near its ML value times sqrt(N / (N - p)), whereas the restricted likelihood it reports
  is maximised, at nlme's own fixed effects, at 0.149 -- the usual REML correction for 4 per-arm rates
  over 32 animals.  Ours maximises it, and equals exact REML for the linear (exponential) model.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from comboplan.exceptions import DataError, InvalidParameterError
from comboplan.fitting.nlme import _Objective, laplace_objective
from comboplan.growth import nlme_growth as ng
from comboplan.growth.nlme_growth import compare_growth_nlme, fit_growth_nlme

REF = Path(__file__).parent / "reference" / "nlme_growth"
ARMS = ["control", "A", "B", "AB"]
KW = dict(subject="animal", arm="arm", time="day", size="volume", arm_order=ARMS)
R_FE = {"gompertz": ["lv0", "lr.armcontrol", "lr.armA", "lr.armB", "lr.armAB", "ld"],
        "logistic": ["lv0", "lr.armcontrol", "lr.armA", "lr.armB", "lr.armAB", "lk"]}


def _study(model):
    d = pd.read_csv(REF / f"{model}.csv")
    d["volume"] = np.exp(d["logV"])
    return d


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "results.json").read_text())


@pytest.fixture(scope="module")
def gomp():
    return _study("gompertz")


@pytest.fixture(scope="module")
def logi():
    return _study("logistic")


@pytest.fixture(scope="module")
def fits(gomp, logi):
    """Every fit the tests compare, computed once."""
    return {
        "gompertz_v0_ml": fit_growth_nlme(gomp, random=("v0",), method="ml", se="nlme", **KW),
        "gompertz_v0_common_ml": fit_growth_nlme(gomp, random=("v0",), by_arm=(), method="ml", se="nlme", **KW),
        "gompertz_v0_reml": fit_growth_nlme(gomp, random=("v0",), method="reml", se="nlme", **KW),
        "gompertz_ml": fit_growth_nlme(gomp, method="ml", **KW),
        "gompertz_reml": fit_growth_nlme(gomp, method="reml", **KW),
        "logistic_ml": fit_growth_nlme(logi, model="logistic", method="ml", **KW),
    }


def _r_sds(r):
    """Random-effect SDs to full precision (diagonal of nlme's Psi; VarCorr is rounded to 7 digits)."""
    v = r["random_effect_cov"]["values"]
    return [math.sqrt(v[i][i]) for i in range(len(v))]


def _objective_at(data, model, random, method, fe, sds, sigma, central=False):
    """Our -2 log L (Laplace; restricted for REML) at given parameters, on the problem fit_growth_nlme builds.

    REML: the engine's objective (``central=False``), or the same restricted likelihood with the design
    matrix X = df/dtheta from central differences (``central=True``; the engine uses forward differences,
    step 1e-6, which moves the REML log-likelihood by ~3e-6)."""
    st = ng._prepare(data, **{k: v for k, v in KW.items()}, model=model, by_arm=("rate",), random=random,
                     error="log", kind="volume", size_unit=None, time_unit="day", lloq=None, censored=None,
                     dropout=None, time_origin=None, initial=None)
    prob = st["prob"]
    theta = list(fe) + [0.0] * len(random)
    if method == "ml":
        return laplace_objective(prob, theta, sds, [sigma])[0]
    if not central:
        x = np.array(theta + list(np.log(sds)) + [math.log(sigma)])
        fixed = np.zeros(len(x), bool)
        fixed[len(fe):len(theta)] = True
        return _Objective(prob, fixed, x.copy(), reml=True)(x[~fixed])
    # -2 l_R = -2 l_Laplace + log|sum_i X_i' V_i^-1 X_i| - p log(2 pi),  V_i = sigma^2 I + J_i Omega J_i'
    ofv, eta = laplace_objective(prob, theta, sds, [sigma])
    th, p = np.asarray(theta, float), len(fe)
    phi = prob.phi(th, eta)
    h = 1e-5

    def shifted(j, step):
        q = phi.copy()
        q[:, j] += step
        return prob.predict(q)
    X = np.stack([(shifted(j, h) - shifted(j, -h)) / (2 * h) for j in range(p)], axis=-1)
    J = np.stack([(shifted(j, h) - shifted(j, -h)) / (2 * h) for j in prob.random_index], axis=-1)
    A = np.zeros((p, p))
    for i in range(prob.n_subjects):
        V = sigma ** 2 * np.eye(J.shape[1]) + J[i] @ np.diag(np.square(sds)) @ J[i].T
        A += X[i].T @ np.linalg.solve(V, X[i])
    return ofv + np.linalg.slogdet(A)[1] - p * math.log(2 * math.pi)


# ------------------------------------------------------------------ exact design: nlme to its printed digits
def test_gompertz_v0_ml_equals_nlme_to_printed_digits(fits, ref):
    f, r = fits["gompertz_v0_ml"], ref["fits"]["gompertz_v0_ml"]
    assert f.converged
    fe = [r["fixed_effects"][k] for k in R_FE["gompertz"]]
    # nlme prints 7 significant digits (4.547965, -1.687443 ...): agreement within half a unit of the last
    np.testing.assert_allclose(f.estimates[:6], fe, rtol=0, atol=5e-7)
    se = [r["fixed_effects_se"][k] for k in R_FE["gompertz"]]
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov))[:6], se, rtol=5e-6)
    om = f.params.set_index("parameter").loc["omega.v0", "estimate"]
    sg = f.params.set_index("parameter").loc["sigma.add", "estimate"]
    assert om == pytest.approx(_r_sds(r)[0], rel=1e-6)
    assert sg == pytest.approx(r["residual_sd"], rel=1e-6)
    assert f.loglik == pytest.approx(r["logLik"], abs=1e-6)
    assert f.n_params == r["logLik_df"]
    assert f.aic == pytest.approx(r["AIC"], abs=1e-5)
    assert f.bic == pytest.approx(r["BIC"], abs=1e-5)
    # natural-scale table: exp of the log-scale estimates, delta-method SE
    rate = f.params[(f.params["parameter"] == "rate") & (f.params["arm"] == "B")].iloc[0]
    assert rate["estimate"] == pytest.approx(math.exp(r["fixed_effects"]["lr.armB"]), rel=1e-6)
    assert rate["stderr"] == pytest.approx(rate["estimate"] * r["fixed_effects_se"]["lr.armB"], rel=1e-5)
    # the empirical Bayes random effects equal nlme's conditional modes
    modes = np.asarray(r["conditional_modes"]["values"]["lv0"])
    np.testing.assert_allclose(f.animals["eta.v0"].to_numpy(), modes, atol=2e-6)


def test_lrt_common_vs_per_arm_rate_equals_nlme_anova(fits, ref):
    r = ref["tests"]["lrt_common_vs_per_arm_rate"]
    c0 = ref["fits"]["gompertz_v0_common_ml"]
    f0 = fits["gompertz_v0_common_ml"]
    # the optimum is flat to ~1e-10 in log-likelihood over ~1e-6 in these log-scale estimates
    # (their SEs are ~1e-2): 2e-6 is the optimisers' shared precision, not a loose match
    np.testing.assert_allclose(f0.estimates[:3], [c0["fixed_effects"][k] for k in ("lv0", "lr", "ld")], atol=2e-6)
    assert f0.loglik == pytest.approx(c0["logLik"], abs=1e-6)
    tab = compare_growth_nlme(f0, fits["gompertz_v0_ml"])
    assert list(tab["n_params"]) == r["df"]
    np.testing.assert_allclose(tab["loglik"], r["logLik"], atol=1e-6)
    assert tab["lr_stat"].iloc[1] == pytest.approx(r["L.Ratio"], abs=1e-5)
    assert tab["lr_df"].iloc[1] == 3
    assert tab["p_value"].iloc[1] == pytest.approx(r["p_value"], rel=1e-4)


def test_gompertz_v0_reml_objective_equals_nlme(fits, ref, gomp):
    """REML: the same restricted likelihood at nlme's estimates; our maximiser is at least as high."""
    r = ref["fits"]["gompertz_v0_reml"]
    fe = [r["fixed_effects"][k] for k in R_FE["gompertz"]]
    ofv = _objective_at(gomp, "gompertz", ("v0",), "reml", fe, _r_sds(r), r["residual_sd"], central=True)
    assert -0.5 * ofv == pytest.approx(r["logLik"], abs=1e-6)
    ofv_engine = _objective_at(gomp, "gompertz", ("v0",), "reml", fe, _r_sds(r), r["residual_sd"])
    assert -0.5 * ofv_engine == pytest.approx(r["logLik"], abs=1e-5)   # forward-difference X: ~3e-6
    f = fits["gompertz_v0_reml"]
    assert f.loglik >= r["logLik"] - 1e-7
    se = np.sqrt(np.diag(f.cov))[:6]
    assert np.all(np.abs(f.estimates[:6] - fe) < 0.1 * se)   # nlme's REML fixed effects are its ML ones
    # nlme's REML SEs (no N/(N-p) factor) evaluated at our (slightly different) estimates: within 1.5 %
    np.testing.assert_allclose(se, [r["fixed_effects_se"][k] for k in R_FE["gompertz"]], rtol=0.015)


# ------------------------------------------------------------------ random effects on v0 and rate
@pytest.mark.parametrize("model", ["gompertz", "logistic"])
def test_ml_laplace_optimum_and_nlme(fits, ref, gomp, logi, model):
    data = gomp if model == "gompertz" else logi
    r = ref["fits"][f"{model}_ml"]
    ins = ref["fits"][f"inscript_laplace_{model}"]
    f = fits[f"{model}_ml"]
    assert f.converged
    # (1) the same likelihood: our Laplace objective at nlme's estimates equals nlme's logLik
    fe_r = [r["fixed_effects"][k] for k in R_FE[model]]
    ofv = _objective_at(data, model, ("v0", "rate"), "ml", fe_r, _r_sds(r), r["residual_sd"])
    assert -0.5 * ofv == pytest.approx(r["logLik"], abs=1e-6)
    assert -0.5 * ofv == pytest.approx(r["laplace_loglik_at_nlme_estimates"], abs=1e-7)
    # (2) the same optimum as R's in-script Laplace maximisation (the criterion we maximise)
    fe_i = [ins["fixed_effects"][k] for k in R_FE[model]]
    np.testing.assert_allclose(f.estimates[:6], fe_i, rtol=0, atol=5e-6)
    p = f.params.set_index("parameter")
    assert p.loc["omega.v0", "estimate"] == pytest.approx(ins["random_effect_sd"]["lv0"], rel=2e-5)
    assert p.loc["omega.rate", "estimate"] == pytest.approx(ins["random_effect_sd"]["lr"], rel=2e-5)
    assert p.loc["sigma.add", "estimate"] == pytest.approx(ins["residual_sd"], rel=2e-6)
    assert f.loglik == pytest.approx(ins["logLik"], abs=1e-6)
    se_i = np.sqrt(np.diag(np.asarray(ins["vcov_optim_scale"]["values"])))
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov)), se_i, rtol=0.02)   # two numerical Hessians
    # (3) nlme's Lindstrom-Bates fixed point: a different estimator of the same model, within 0.3 SE
    se_r = np.asarray([r["fixed_effects_se"][k] for k in R_FE[model]])
    assert np.all(np.abs(f.estimates[:6] - fe_r) < 0.3 * se_r)
    assert f.loglik > r["logLik"]
    # ... and the exact likelihood (adaptive Gauss-Hermite, R) is higher at the Laplace optimum too
    assert ins["loglik_agq7"] > r["agq7_loglik_at_nlme_estimates"]


def test_gompertz_reml_objective_equals_nlme(fits, ref, gomp):
    r = ref["fits"]["gompertz_reml"]
    fe = [r["fixed_effects"][k] for k in R_FE["gompertz"]]
    ofv = _objective_at(gomp, "gompertz", ("v0", "rate"), "reml", fe, _r_sds(r), r["residual_sd"], central=True)
    assert -0.5 * ofv == pytest.approx(r["logLik"], abs=1e-6)
    ofv_engine = _objective_at(gomp, "gompertz", ("v0", "rate"), "reml", fe, _r_sds(r), r["residual_sd"])
    assert -0.5 * ofv_engine == pytest.approx(r["logLik"], abs=1e-5)
    f = fits["gompertz_reml"]
    assert f.loglik >= r["logLik"]
    se = np.sqrt(np.diag(f.cov))[:6]
    assert np.all(np.abs(f.estimates[:6] - fe) < 0.3 * se)


# ------------------------------------------------------------------ recovery
def test_truth_recovered(fits):
    """The reference studies are simulations (make_data.py): over both studies, the 95 % intervals of the
    typical values, SDs, residual SDs and rate ratios cover the simulated truth at about the nominal rate
    (at least 20 of 24; a binomial(24, 0.95) count is below 20 with probability 0.6 %), and no estimate
    is more than 3.5 standard errors from the truth.  The largest deviation is the Gompertz rate of arm A
    (3.0 SE): make_data.py's seed gave arm A's eight animals a mean random rate effect of +0.153, 2.9
    times the SD of an 8-animal mean (0.15 / sqrt(8)); the estimate follows those animals, and it is
    within one SE of the truth times exp(their mean effect)."""
    truths = {"gompertz": {"v0": 100.0, "rate": {"control": 0.20, "A": 0.15, "B": 0.13, "AB": 0.08},
                           "decay": 0.07, "omega.v0": 0.20, "omega.rate": 0.15, "sigma.add": 0.10},
              "logistic": {"v0": 100.0, "rate": {"control": 0.25, "A": 0.19, "B": 0.16, "AB": 0.10},
                           "vmax": 3000.0, "omega.v0": 0.20, "omega.rate": 0.15, "sigma.add": 0.10}}
    covered, n, worst = 0, 0, 0.0
    for model, truth in truths.items():
        f = fits[f"{model}_ml"]
        for _, row in f.params[f.params["kind"] != "derived"].iterrows():
            tv = truth[row["parameter"]]
            tv = tv[row["arm"]] if isinstance(tv, dict) else tv
            covered += row["ci_low"] <= tv <= row["ci_high"]
            n += 1
            worst = max(worst, abs(math.log(row["estimate"] / tv)) / (row["stderr"] / row["estimate"]))
        c = f.contrasts.set_index("arm")
        for a in ("A", "B", "AB"):
            ratio = truth["rate"][a] / truth["rate"]["control"]
            covered += c.loc[a, "ratio_ci_low"] <= ratio <= c.loc[a, "ratio_ci_high"]
            n += 1
    assert n == 24
    assert covered >= 20, covered
    assert worst < 3.5, worst
    rng = np.random.default_rng(20261207)            # make_data.py's draws for the Gompertz study
    rng.normal(0.0, 0.20, 32)
    eta_rate = rng.normal(0.0, 0.15, 32)
    f = fits["gompertz_ml"].params.set_index(["parameter", "arm"])
    realised = 0.15 * math.exp(eta_rate[8:16].mean())
    assert abs(f.loc[("rate", "A"), "estimate"] - realised) < f.loc[("rate", "A"), "stderr"]


def test_exponential_equals_the_linear_mixed_model():
    """The exponential NLME is a linear mixed model: its Laplace ML equals fit_growth_mixed's exact ML
    (log V with the baseline as an observation, independent random intercept and rate)."""
    from comboplan import fit_growth_mixed

    rng = np.random.default_rng(7)
    rows = []
    for i in range(24):
        a = ["vehicle", "drug", "combo"][i // 8]
        lv0 = math.log(120) + rng.normal(0, 0.25)
        r = {"vehicle": 0.12, "drug": 0.08, "combo": 0.03}[a] + rng.normal(0, 0.02)
        for t in range(0, 22, 3):
            rows.append({"animal": f"m{i}", "arm": a, "day": t, "volume": math.exp(lv0 + r * t + rng.normal(0, 0.1))})
    df = pd.DataFrame(rows)
    kw = dict(subject="animal", arm="arm", time="day", size="volume")
    f = fit_growth_nlme(df, model="exponential", method="ml", se="nlme", **kw)
    m = fit_growth_mixed(df, **kw, method="ml", baseline_model="observation", random="intercept+slope",
                         influence=False)
    assert f.loglik == pytest.approx(m.loglik, abs=1e-5)
    rates = f.params[(f.params["parameter"] == "rate")].set_index("arm")["estimate"]
    np.testing.assert_allclose(rates[list(m.rates["arm"])], m.rates["rate"], atol=1e-6)
    np.testing.assert_allclose(f.params[f.params["parameter"] == "rate"]["stderr"].to_numpy(),
                               m.rates["stderr"].to_numpy() * math.sqrt(len(df) / (len(df) - 4)), rtol=1e-4)
    # REML: the restricted likelihood of the linearised model is exact REML here (equal to nlme::lme's)
    fr = fit_growth_nlme(df, model="exponential", method="reml", se="nlme", **kw)
    mr = fit_growth_mixed(df, **kw, method="reml", baseline_model="observation", random="intercept+slope",
                          influence=False)
    assert fr.loglik == pytest.approx(mr.loglik, abs=1e-6)
    np.testing.assert_allclose(fr.params[fr.params["parameter"] == "rate"]["stderr"].to_numpy(),
                               mr.rates["stderr"].to_numpy(), rtol=1e-4)
    tau = mr.variance.set_index("component").loc["tau", "sd"]
    assert fr.params.set_index("parameter").loc["omega.rate", "estimate"] == pytest.approx(tau, rel=1e-4)


# ------------------------------------------------------------------ result contract
def test_result_contract(fits, gomp, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = fits["gompertz_v0_ml"]
    s = f.summary()
    assert "gompertz" in s and "log V = log v0 + (rate / decay)" in s and "ML log-likelihood 258.3800" in s
    assert "Arm comparisons" in s
    assert set(f.params.columns) >= {"parameter", "arm", "kind", "estimate", "stderr", "ci_low", "ci_high", "unit"}
    assert set(f.params.loc[f.params["parameter"] == "rate", "unit"]) == {"1/day"}
    ds = f.to_xarray()
    for v in ds.data_vars:
        assert "units" in ds[v].attrs, v
    assert ds["typical"].sel(arm="B", parameter="rate") == pytest.approx(
        math.exp(f.estimates[f.labels.index("rate[B]")]))
    pred = f.predict(time=[0.0, 10.0, 28.0])
    assert pred.dims == ("arm", "time") and pred.attrs["units"] == "mm^3"
    v0 = f.params.set_index("parameter").loc["v0", "estimate"]
    np.testing.assert_allclose(pred.sel(time=0.0), v0)
    assert len(f.predictions) == len(gomp) and len(f.animals) == 32
    for kind in ("curves", "individual", "residuals"):
        ax = f.plot(kind=kind)
        assert isinstance(ax, matplotlib.axes.Axes)
        plt.close(ax.figure)
    with pytest.raises(InvalidParameterError):
        f.plot(kind="vpc")
    allp = f.compare_arms("rate", pairs="all")
    assert len(allp) == 6
    c = f.compare_arms("rate", reference="AB")
    assert set(c["reference"]) == {"AB"} and (c["ratio"] > 1).all()
    pytest.importorskip("h5netcdf")
    try:
        from comboplan.results import load_result
    except ImportError:
        pytest.skip("comboplan.results (netCDF result protocol) not available")
    f.to_netcdf(tmp_path / "fit.nc")
    back = load_result(tmp_path / "fit.nc")
    assert back.summary() == f.summary()


# ------------------------------------------------------------------ bad input
def test_bad_input_errors_and_input_not_modified(gomp):
    d = gomp.copy()
    before = d.copy(deep=True)
    with pytest.raises(DataError, match="'mass'"):
        fit_growth_nlme(d, subject="animal", arm="arm", time="day", size="mass")
    neg = d.copy()
    neg.loc[5, "volume"] = -1.0
    with pytest.raises(DataError, match="row 5"):
        fit_growth_nlme(neg, **KW)
    zero = d.copy()
    zero.loc[7, "volume"] = 0.0
    with pytest.raises(DataError, match="lloq"):
        fit_growth_nlme(zero, **KW)
    with pytest.raises(InvalidParameterError, match="model"):
        fit_growth_nlme(d, model="richards", **KW)
    with pytest.raises(InvalidParameterError, match="by_arm"):
        fit_growth_nlme(d, by_arm=("decay_rate",), **KW)
    with pytest.raises(InvalidParameterError, match="random"):
        fit_growth_nlme(d, model="logistic", random=("decay",), **KW)
    with pytest.raises(InvalidParameterError, match="ci_level"):
        fit_growth_nlme(d, ci_level=95, **KW)
    with pytest.raises(InvalidParameterError, match="initial"):
        fit_growth_nlme(d, initial={"rate": -0.1}, **KW)
    few = d[d["day"].isin([0, 2, 4])]
    with pytest.raises(DataError, match="distinct time"):
        fit_growth_nlme(few, **KW)
    one = d[~((d["arm"] == "B") & (d["day"] > 0))]
    with pytest.raises(DataError, match="arm 'B'"):
        fit_growth_nlme(one, **KW)
    pd.testing.assert_frame_equal(d, before)


def test_same_result_under_row_permutation(fits, gomp):
    f = fits["gompertz_v0_ml"]
    g = fit_growth_nlme(gomp.sample(frac=1.0, random_state=11), random=("v0",), method="ml", se="nlme", **KW)
    np.testing.assert_array_equal(g.estimates, f.estimates)
    pd.testing.assert_frame_equal(g.params, f.params)
    pd.testing.assert_frame_equal(g.animals, f.animals)


def test_compare_refuses_incomparable_fits(fits):
    with pytest.raises(DataError, match="REML and ML"):
        compare_growth_nlme(fits["gompertz_v0_ml"], fits["gompertz_v0_reml"])
    with pytest.raises(DataError, match="different data"):
        compare_growth_nlme(fits["gompertz_ml"], fits["logistic_ml"])
    with pytest.raises(DataError, match="at least two"):
        compare_growth_nlme(fits["gompertz_ml"])
    with pytest.raises(InvalidParameterError, match="by_arm"):
        fits["gompertz_v0_common_ml"].compare_arms("rate")
    tab = compare_growth_nlme(fits["gompertz_v0_ml"], fits["gompertz_ml"])
    assert tab["note"].iloc[1].startswith("random effect tested on its boundary")


def test_data_without_saturation_give_notes_not_crashes():
    """The bundled luminescence xenograft (two arms barely grow, none saturates): the Gompertz fit reduces to
    exponential growth and says so -- decay ~ 0 with no standard error, an infinite plateau with a note --
    instead of overflowing or inventing a plateau."""
    import comboplan as cp

    d = cp.load_dataset("eiro2024_xenograft_synthetic")[["mouse", "arm", "day", "lum_ps"]]
    f = fit_growth_nlme(d, subject="mouse", arm="arm", time="day", size="lum_ps", kind="luminescence", method="ml")
    p = f.params.set_index(["parameter", "arm"])
    assert "no detectable deceleration" in p.loc[("decay", "all"), "note"]
    assert np.isnan(p.loc[("decay", "all"), "stderr"])
    vmax = f.params[f.params["parameter"] == "vmax"]
    assert np.isinf(vmax["estimate"]).all() and vmax["note"].str.contains("no detectable deceleration").all()
    assert np.isfinite(f.params.loc[f.params["parameter"] == "rate", "stderr"]).all()
    assert "no detectable deceleration" in f.summary()
    assert f.settings["units"]["v0"] == "photons/s"
