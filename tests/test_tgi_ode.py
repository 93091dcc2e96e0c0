"""fit_tgi with ODE growth laws: Simeoni's exponential-linear switch, Koch's smooth form and
Simeoni 2004's transit compartments (comboplan.models.tgi_ode)."""
from __future__ import annotations

import numpy as np
import pytest

import comboplan as cp
import comboplan.simulate as cs
from comboplan.exceptions import DataError
from comboplan.growth.tgi import _predictor, validated_design
from comboplan.models.growth import koch_growth_rate, simeoni_growth_rate
from comboplan.simulate.pd import Effect, GrowthModel, Interaction, simulate_growth

from _tgi_study import ARMS, DAYS, PK

TH = {"w0": 80.0, "lambda0": 0.25, "lambda1": 60.0, "k1": 1.0, "potency.paclitaxel": 0.5, "potency.secretome": 0.1,
      "interaction.gamma": 0.5}


def model(law, n_transit, **kw):
    th = {**TH, **kw}
    gp = {k: th[k] for k in ("w0", "lambda0", "lambda1") + (("k1",) if n_transit else ())}
    return cs.PKPDModel(growth=GrowthModel(law, gp, n_transit=n_transit),
                        effects={"paclitaxel": Effect("paclitaxel", th["potency.paclitaxel"]),
                                 "secretome": Effect("secretome", th["potency.secretome"])},
                        interaction=Interaction(gamma=th["interaction.gamma"]), pk=PK)


def study(law, n_transit, seed, n=4, cv=0.1, omega=None):
    res = cs.simulate_cohort(model(law, n_transit), list(ARMS.values()), DAYS, n_animals=n,
                             variability=cs.Variability(omega or {"w0": 0.2}), readout=cs.Readout("volume", cv=cv),
                             seed=seed, common_animals=False)
    df = res.to_frame()
    df["mouse"] = df["scenario"] + "-" + df["animal"].astype(str)
    return df


def test_koch_growth_rate_limits():
    w = np.array([1e-9, 1e9])
    g = koch_growth_rate(w, 0.3, 50.0)
    assert g[0] == pytest.approx(0.3, rel=1e-8)            # exponential phase: lambda0
    assert g[1] * w[1] == pytest.approx(50.0, rel=1e-6)    # linear phase: lambda1 (size/day)
    # Koch et al.'s own parameterisation 2 l0' l1 w / (l1 + 2 l0' w) with l0' = lambda0 / 2
    w = np.linspace(1, 2000, 50)
    assert np.allclose(koch_growth_rate(w, 0.3, 50.0) * w, 2 * 0.15 * 50.0 * w / (50.0 + 2 * 0.15 * w), rtol=1e-12)


@pytest.mark.parametrize("law,n_transit", [("simeoni", 3), ("simeoni", 0), ("koch", 0), ("exponential", 2)])
def test_fit_solver_equals_the_reference_ode_solution(law, n_transit):
    """The fit's compiled solver, at given parameters, equals the simulator's reference RK4
    (closed-form exposures at every stage) for every arm, including the combination."""
    df = study(law, n_transit, 1, n=2, cv=0.0, omega={})
    v = validated_design(df, subject="mouse", arm="scenario", time="day", size="size", treatments=ARMS, pk=PK,
                         growth=law, n_transit=n_transit, max_step=0.05)
    names = v["names"]
    assert ("lambda1" in names) == (law != "exponential") and ("k1" in names) == (n_transit > 0)
    pred = _predictor(v["design"], names, v["agents"], v["pair"], v["use_int"], v["gd"].n_subjects, True, law,
                      n_transit, 20.0)
    phi = np.tile([TH[nm] for nm in names], (v["gd"].n_subjects, 1))
    lw = pred(phi)
    m = model(law, n_transit)
    arm_of = np.asarray(v["gd"].arms)[v["gd"].subject_arm]
    for i, a in enumerate(arm_of):
        ref = simulate_growth(np.array(DAYS, float), m.growth, ARMS[a].exposures(PK), m.effects, m.interaction,
                              solver="reference")[0]
        np.testing.assert_allclose(np.exp(lw[i]), ref, rtol=2e-4)
    # rows for arbitrary subjects (the mode search's subsets) give the same numbers
    idx = np.array([3, 0, 3])
    np.testing.assert_allclose(pred(phi[idx], idx), lw[idx], rtol=1e-14)


def test_simeoni_switch_limits_of_the_compiled_rate():
    """The compiled Simeoni rate (integer psi by squaring) equals models.growth's everywhere."""
    df = study("simeoni", 0, 2, n=2, cv=0.0, omega={})
    v = validated_design(df, subject="mouse", arm="scenario", time="day", size="size", treatments=ARMS, pk=PK,
                         growth="simeoni", max_step=0.05)
    for psi in (20.0, 7.5):
        pred = _predictor(v["design"], v["names"], v["agents"], v["pair"], v["use_int"], 8, True, "simeoni", 0, psi)
        phi = np.tile([TH[nm] for nm in v["names"]], (8, 1))
        gm = GrowthModel("simeoni", {k: TH[k] for k in ("w0", "lambda0", "lambda1")}, n_transit=0, psi=psi)
        ref = simulate_growth(np.array(DAYS, float), gm, solver="reference")[0]
        i = list(np.asarray(v["gd"].arms)[v["gd"].subject_arm]).index("vehicle")
        np.testing.assert_allclose(np.exp(pred(phi)[i]), ref, rtol=2e-4)
    assert simeoni_growth_rate(1e-3, 0.25, 60.0) == pytest.approx(0.25)


@pytest.fixture(scope="module")
def koch_fit():
    df = study("koch", 0, 5, n=5, cv=0.08)
    return df, cp.fit_tgi(df, subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK,
                          growth="koch", random=("w0",))


def test_koch_fit_recovers_the_simulated_truth(koch_fit):
    df, fit = koch_fit
    assert fit.converged and fit.settings["growth"] == "koch"
    pop = fit.population.set_index("parameter")
    for k in ("w0", "lambda0", "lambda1", "potency.paclitaxel", "potency.secretome"):
        est, se = pop.loc[k, "estimate"], pop.loc[k, "stderr"]
        assert np.isfinite(se) and se > 0
        assert abs(est - TH[k]) < 4 * se, (k, est, se)
    assert abs(pop.loc["interaction.gamma", "estimate"] - 0.5) < 4 * pop.loc["interaction.gamma", "stderr"]
    assert pop.loc["sigma.add", "estimate"] == pytest.approx(np.sqrt(np.log1p(0.08 ** 2)), rel=0.25)


def test_koch_fit_model_is_the_simulators_and_reproduces_pred(koch_fit, tmp_path):
    df, fit = koch_fit
    m = fit.model()
    assert m.growth.name == "koch" and m.growth.n_transit == 0
    pr = fit.predictions
    for arm in ARMS:
        sel = pr[pr["arm"] == arm].drop_duplicates("time").sort_values("time")
        sim = simulate_growth(sel["time"].to_numpy(float), m.growth, ARMS[arm].exposures(PK), m.effects,
                              m.interaction, solver="reference")[0]
        np.testing.assert_allclose(sel["pred"].to_numpy(float), sim, rtol=5e-4)
    path = tmp_path / "koch.nc"
    fit.to_netcdf(path)
    back = cp.load_tgi_fit(path, pk=PK)
    assert back.settings["growth"] == "koch" and back.model().growth.name == "koch"
    assert back.typical["lambda1"] == pytest.approx(fit.typical["lambda1"])


def test_bad_growth_options_are_clear_errors():
    df = study("koch", 0, 5, n=2, cv=0.05)
    kw = dict(subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK)
    with pytest.raises(DataError, match="growth must be one of"):
        cp.fit_tgi(df, growth="gompertz", **kw)
    with pytest.raises(DataError, match="n_transit"):
        cp.fit_tgi(df, growth="simeoni", n_transit=-1, **kw)
    with pytest.raises(DataError, match="max_step"):
        cp.fit_tgi(df, growth="simeoni", max_step=0.0, **kw)
    with pytest.raises(DataError, match="error='log' only"):
        cp.fit_tgi(df, growth="simeoni", estimator="bayes", error="proportional", **kw)
    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode
    with pytest.raises(DataError, match="needs no ODE"):
        fit_tgi_bayes_ode(df, growth="exponential", **kw)
    with pytest.raises(DataError, match="random effect on 'interaction.gamma'"):
        cp.fit_tgi(df, growth="simeoni", n_transit=3, random=("w0", "interaction.gamma"), **kw)


def test_bayesian_ode_fit_recovery():
    """A short NUTS run of the Bayesian ODE fit on a Koch study recovers the simulated truth inside
    its credible intervals (its gradient is checked in tests/test_tgi_ode_vjp.py)."""
    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode

    df = study("koch", 0, 5, n=3, cv=0.08)
    import warnings
    with warnings.catch_warnings():   # a short run: the diagnostics (ESS) may warn, as they should
        warnings.simplefilter("ignore")
        fit = fit_tgi_bayes_ode(df, subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS,
                                pk=PK, growth="koch", random=("w0",), draws=60, tune=60, chains=2, seed=3)
    pop = fit.population.set_index("parameter")
    for k in ("lambda0", "lambda1", "potency.paclitaxel", "potency.secretome"):
        lo, hi, sd = pop.loc[k, "ci_low"], pop.loc[k, "ci_high"], pop.loc[k, "stderr"]
        assert lo - 2 * sd <= TH[k] <= hi + 2 * sd, (k, lo, hi, TH[k])
    assert fit.model().growth.name == "koch" and "lambda1" in fit.draws(5, seed=1).values
    assert fit.settings["growth"] == "koch" and "koch growth" in fit.summary()
    ds = fit.to_xarray()   # the TGIBayesFit method, with lambda1 among the posterior draws
    assert ds.attrs["growth"] == "koch"
    np.testing.assert_allclose(ds["posterior"].sel(parameter="lambda1").values.ravel(),
                               fit.posterior_draws()["lambda1"])


def test_bayesian_ode_prior_is_not_centred_at_a_pooled_estimate_on_its_bound(monkeypatch):
    """Regression (calibration seeds 3011, 3031, 3043): when the naive-pooled least-squares fit that
    centres the priors puts k1 on its bound 0, the log-normal prior used to be centred at log(1e-8)
    and the posterior followed (k1 = 0.0000 +- 0.0001 for a truth of 1).  Such a parameter is now
    centred at fit_tgi's default start (k1 = 1/day), the prior table says why, and the posterior
    of k1 stays away from 0."""
    import warnings

    import comboplan.growth.tgi as gt
    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode

    pooled = gt._pooled_start

    def k1_on_bound(pred, y, mask, cens, names, *args, **kw):
        out = np.array(pooled(pred, y, mask, cens, names, *args, **kw), dtype=float)
        out[list(names).index("k1")] = 0.0
        return out

    monkeypatch.setattr(gt, "_pooled_start", k1_on_bound)
    df = study("exponential", 1, 4, n=3, cv=0.08)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_tgi_bayes_ode(df, subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS,
                                pk=PK, growth="exponential", n_transit=1, random=("w0",), draws=60, tune=100,
                                chains=1, seed=2, prior_centre="pooled")
    k1 = fit.population.set_index("parameter").loc["k1"]
    assert k1["ci_low"] > 0.05, k1   # before the fix: the whole posterior below 1e-3
    prior = {r["parameter"]: r for r in fit.settings["priors"]}
    assert "default start" in prior["k1"]["why"] and prior["k1"]["centre"].startswith("1 ")
    assert "pooled" in prior["lambda0"]["why"] and "default" not in prior["lambda0"]["why"]


def test_bayesian_ode_priors_are_centred_at_the_nlme_estimates(monkeypatch):
    """Regression (calibration seeds 3055, 3074, 3094, 3128, 3133 of 154): the naive-pooled fit
    that used to centre the priors put k1 near its k1 -> 0 corner (0.05 1/day for a truth of 1 in
    study 3074) and the posterior followed (k1 = 0.04 [0.01, 0.10]; the NLME fit: 0.96).  The
    priors are now centred at fit_tgi's NLME estimates: a TGIFit passed as prior_centre gives
    exactly its typical values as centres, the default refits it, a fit of another model is a
    clear error, and a fit that did not converge falls back to the pooled centres, saying so."""
    import dataclasses
    import math
    import warnings

    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode

    df = study("exponential", 1, 4, n=3, cv=0.08)
    kw = dict(subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK,
              growth="exponential", n_transit=1, random=("w0",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nl = cp.fit_tgi(df, compute_se=False, **kw)
        assert nl.converged
        fit = fit_tgi_bayes_ode(df, draws=30, tune=30, chains=1, seed=2, prior_centre=nl, **kw)
    est = nl.population.set_index("parameter")["estimate"]
    prior = {r["parameter"]: r for r in fit.settings["priors"]}
    for nm in ("w0", "lambda0", "k1", "potency.paclitaxel", "potency.secretome"):
        assert prior[nm]["why"] == "NLME (REML) estimate of fit_tgi", prior[nm]
        m = float(prior[nm]["prior"].split("Normal(")[1].split(",")[0])
        assert m == pytest.approx(math.log(est[nm]), abs=5e-4), (nm, m, est[nm])   # printed to 4 digits
    with pytest.raises(DataError, match="same model"):
        fit_tgi_bayes_ode(df, **{**kw, "growth": "simeoni"}, draws=5, tune=5, chains=1, prior_centre=nl)
    with pytest.raises(DataError, match="prior_centre must be"):
        fit_tgi_bayes_ode(df, draws=5, tune=5, chains=1, prior_centre="median", **kw)
    failed = dataclasses.replace(nl, converged=False) if dataclasses.is_dataclass(nl) else None
    if failed is None:   # not a dataclass: a stand-in with the attributes read
        class _F:
            population, settings, converged = nl.population, nl.settings, False
        failed = _F()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fb = fit_tgi_bayes_ode(df, draws=5, tune=5, chains=1, seed=2, prior_centre=failed, **kw)
    why = {r["parameter"]: r["why"] for r in fb.settings["priors"]}
    assert why["lambda0"] == "naive-pooled least-squares fit (the NLME fit did not converge)"


def test_fixed_prior_centres_from_a_mapping():
    """prior_centre={typical value: centre} fixes the log-normal priors' centres (prior knowledge, or
    data-independent priors for simulation-based calibration): the prior table shows exactly those
    centres and says where they came from; an incomplete mapping, an unknown name or a centre <= 0
    is a clear error before any sampling."""
    import math
    import warnings

    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode

    df = study("exponential", 1, 4, n=3, cv=0.08)
    kw = dict(subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK,
              growth="exponential", n_transit=1, random=("w0",))
    centres = {"w0": 70.0, "lambda0": 0.2, "k1": 1.5, "potency.paclitaxel": 0.4, "potency.secretome": 0.05}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_tgi_bayes_ode(df, draws=20, tune=20, chains=1, seed=3, prior_centre=centres, **kw)
    prior = {r["parameter"]: r for r in fit.settings["priors"]}
    for nm, c in centres.items():
        assert prior[nm]["why"] == "given by the caller (prior_centre)"
        m = float(prior[nm]["prior"].split("Normal(")[1].split(",")[0])
        assert m == pytest.approx(math.log(c), abs=5e-4), (nm, m)
    for bad, msg in (({k: v for k, v in centres.items() if k != "k1"}, "missing or unknown: \\['k1'\\]"),
                     ({**centres, "lambda1": 60.0}, "missing or unknown: \\['lambda1'\\]"),
                     ({**centres, "k1": 0.0}, "finite number > 0")):
        with pytest.raises(DataError, match=msg):
            fit_tgi_bayes_ode(df, draws=5, tune=5, chains=1, prior_centre=bad, **kw)


def test_instant_clearance_puts_k1_on_its_bound_with_conditional_standard_errors():
    """Data where killed cells vanish at once (no transit compartments; caliper CV 0.5 %), fitted
    with three on a fine step: the likelihood keeps rising as k1 -> infinity; the transit rate stops
    on its upper bound, says so, stays there through the REML stage, and the other parameters keep
    finite standard errors (conditional on it) that cover the truth.  (With 5 % noise and a coarse
    step the ML estimate of the same design is finite, k1 ~ 10 1/day with SE ~ 7.)"""
    import warnings

    from comboplan.growth.tgi import K1_MAX

    df = study("simeoni", 0, 1, n=3, cv=0.005)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the ODE fit's convergence chatter is not under test here
        fit = cp.fit_tgi(df, subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK,
                         growth="simeoni", n_transit=3, random=("w0",), max_step=0.05)
    pop = fit.population.set_index("parameter")
    assert pop.loc["k1", "estimate"] == pytest.approx(K1_MAX)
    assert np.isnan(pop.loc["k1", "stderr"]) and "upper bound" in pop.loc["k1", "note"]
    others = pop.drop(index="k1")
    assert np.all(np.isfinite(others["stderr"])) and np.all(others["stderr"] > 0)
    for nm in ("w0", "lambda0", "lambda1", "potency.paclitaxel", "potency.secretome"):
        assert abs(pop.loc[nm, "estimate"] - TH[nm]) < 3.5 * pop.loc[nm, "stderr"], nm



def test_degenerate_parameters_give_numbers_or_nan_not_an_exception():
    """A trial point of the optimiser far out on the log scale underflows lambda1 to 0 (the
    Simeoni switch divides by it; calibration seed 3181 raised ZeroDivisionError from the compiled
    kernel there): the kernels give numbers (no growth in the linear phase) or NaN derivatives the
    search rejects, not an exception."""
    from comboplan.models.tgi_ode import solve_log_size, solve_log_size_sens

    df = study("simeoni", 3, 1, n=2, cv=0.0, omega={})
    v = validated_design(df, subject="mouse", arm="scenario", time="day", size="size", treatments=ARMS, pk=PK,
                         growth="simeoni", n_transit=3, max_step=0.5)
    ode = v["design"]["ode"]
    r = 2
    one = np.ones(r)
    args = (ode["dt"], ode["I1"], ode["I2"], ode["out_step"], np.arange(r), 80 * one, 0.25 * one, 0.0 * one, one,
            np.zeros((r, 3)))
    lw = solve_log_size(*args, law="simeoni", n_transit=3)
    lw2, jac = solve_log_size_sens(*args, law="simeoni", n_transit=3)
    np.testing.assert_allclose(lw2, lw, rtol=1e-12)
    assert lw.shape == jac.shape[:2]
    # a zero linear growth rate: no growth at all, every size stays 80 (untreated: zero potencies)
    np.testing.assert_allclose(lw[ode["out_step"][:r] >= 0], np.log(80), atol=1e-9)


def test_auto_parametrization_samples_again_non_centred_when_the_centred_run_diverges(monkeypatch):
    """parametrization="auto" (default): a centred run in trouble (divergences in more than 1 % of
    the kept draws, marked here by a wrapper around the real sampler, or a population R-hat above
    1.1) is sampled again non-centred with the same seed, and the run with fewer divergences is kept
    and named; a centred run without trouble is kept as it is, draw for draw the
    parametrization="centred" run; an explicit form never switches."""
    import re
    import warnings

    from comboplan.fitting.bayes import sampling, tgi_ode

    df = study("exponential", 1, 4, n=3, cv=0.08)
    kw = dict(subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS, pk=PK,
              growth="exponential", n_transit=1, random=("w0",), draws=20, tune=20, chains=2, seed=3,
              prior_centre={"w0": 70.0, "lambda0": 0.2, "k1": 1.5, "potency.paclitaxel": 0.4,
                            "potency.secretome": 0.05})
    real = sampling.sample_model
    forms = []

    def diverging_centred(model, **k):
        idata = real(model, **k)
        centred = "log_phi" in model.named_vars
        forms.append("centred" if centred else "non-centred")
        if centred:       # 3 more divergences in 40 kept draws: more than 1 %
            div = idata.sample_stats["diverging"].values.copy()
            div.ravel()[-3:] = True
            idata.sample_stats["diverging"] = (("chain", "draw"), div)
        return idata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centred = tgi_ode.fit_tgi_bayes_ode(df, parametrization="centred", **kw)
        with monkeypatch.context() as m:      # a centred run that passes the checks is kept
            m.setattr(tgi_ode, "_sampling_trouble", lambda idata, n: (False, "", (0, 0.0)))
            clean = tgi_ode.fit_tgi_bayes_ode(df, **kw)
        monkeypatch.setattr(sampling, "sample_model", diverging_centred)
        switched = tgi_ode.fit_tgi_bayes_ode(df, **kw)
        forms_auto = list(forms)
        forms.clear()
        kept = tgi_ode.fit_tgi_bayes_ode(df, parametrization="centred", **kw)
    assert clean.settings["parametrization"] == "centred" and clean.settings["parametrization_note"] == ""
    np.testing.assert_array_equal(clean.posterior_draws()["lambda0"], centred.posterior_draws()["lambda0"])
    # trouble: sampled twice, the non-centred run kept and the reason given
    assert forms_auto == ["centred", "non-centred"]
    assert switched.settings["parametrization"] == "non-centred"
    assert switched.settings["requested_parametrization"] == "auto"
    note = switched.settings["parametrization_note"]
    assert re.search(r"centred form: ([3-9]|\d\d) divergences in 40 draws", note), note
    assert "sampled again non-centred and kept" in note
    assert int(switched.idata.sample_stats["diverging"].values.sum()) < 3
    # an explicit form is never switched
    assert forms == ["centred"] and kept.settings["parametrization"] == "centred"
    with pytest.raises(DataError, match="parametrization must be"):
        tgi_ode.fit_tgi_bayes_ode(df, parametrization="centered", **kw)
