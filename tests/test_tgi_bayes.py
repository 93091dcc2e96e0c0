"""Bayesian population TGI fit (comboplan.fitting.bayes.tgi.fit_tgi_bayes): same model as fit_tgi."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import comboplan as cp
from comboplan.exceptions import DataError, DiagnosticsWarning
from comboplan.fitting.bayes import tgi as btgi
from comboplan.fitting.bayes.tgi import FastTGIModel, build_tgi_model, fit_tgi_bayes, prepare_tgi, pymc_point

# the simulated study of tests/test_tgi.py
from test_tgi import ARMS, PK, TRUTH, study  # noqa: E402


KW = dict(subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK)


@pytest.fixture(scope="module")
def fitted():
    df = study(1)
    fit = fit_tgi_bayes(df, seed=1, **KW)
    nlme = cp.fit_tgi(df, method="ml", **KW)
    return df, fit, nlme


# --- (1) recovery and agreement with the NLME (Laplace / FOCE-I) fit --------------------------

def test_posterior_recovers_truth_and_agrees_with_nlme(fitted):
    df, fit, nlme = fitted
    assert fit.diagnostics.n_divergent == 0 and fit.diagnostics.ok, str(fit.diagnostics)
    pop = fit.population.set_index("parameter")
    ref = nlme.population.set_index("parameter")
    assert list(pop.index) == list(ref.index)            # same parameters, same order, same units
    assert list(pop["unit"]) == list(ref["unit"])
    for k, v in TRUTH.items():                            # truth inside the 90 % credible interval
        assert pop.loc[k, "ci_low"] <= v <= pop.loc[k, "ci_high"], k
    for k in ("w0", "lambda0", "potency.paclitaxel", "potency.secretome"):
        assert abs(pop.loc[k, "estimate"] - ref.loc[k, "estimate"]) <= pop.loc[k, "stderr"], k
    # gamma: the prior N(0, 1) shrinks it; compare with the nlme estimate combined with the same
    # prior (normal-normal), which is what TGIFit.draws(shrink_interaction=1) samples
    g, se = ref.loc["interaction.gamma", "estimate"], ref.loc["interaction.gamma", "stderr"]
    post_var = 1 / (1 / se**2 + 1)
    assert abs(pop.loc["interaction.gamma", "estimate"] - post_var * g / se**2) <= pop.loc["interaction.gamma", "stderr"]
    for k in ("omega.w0", "omega.lambda0", "sigma.add"):
        assert abs(pop.loc[k, "estimate"] - ref.loc[k, "estimate"]) <= pop.loc[k, "stderr"], k
    s = fit.summary()
    assert "0 divergences" in s and "0 = Bliss independence" in s and "> 0 = synergy" in s
    assert "log w0 ~ Normal(" in s and "HalfNormal(0.5)" in s
    assert set(fit.individual["subject"]) == set(df["mouse"])
    assert fit.predictions.shape[0] == len(df)
    assert {"pred", "ipred"} <= set(fit.predictions.columns)


def test_wide_interaction_prior_agrees_with_nlme():
    """With a wide prior on gamma (SD 10) the posterior medians of every typical value lie within
    one posterior SD of the Laplace / FOCE-I estimates (ML and REML) on the same data."""
    df = study(1)
    fit = fit_tgi_bayes(df, seed=2, interaction_prior_sd=10.0, **KW)
    pop = fit.population.set_index("parameter")
    for method in ("ml", "reml"):
        ref = cp.fit_tgi(df, method=method, **KW).population.set_index("parameter")
        for k in TRUTH:
            assert abs(pop.loc[k, "estimate"] - ref.loc[k, "estimate"]) <= pop.loc[k, "stderr"], (method, k)
    assert fit.diagnostics.n_divergent == 0


# --- (2) the numba log density equals PyMC's --------------------------------------------------

@pytest.mark.parametrize("opts", [dict(), dict(random=("w0", "lambda0", "potency.paclitaxel")),
                                  dict(interaction=False, random=())])
def test_kernel_equals_pymc_logp(opts):
    df = study(3, n=3)
    lloq = float(np.quantile(df["volume"], 0.1))
    d2 = df.assign(volume=np.where(df["volume"] < lloq, 0.0, df["volume"]))
    arr = prepare_tgi(d2, lloq=lloq, **KW, **opts)
    assert arr.cens.sum() >= 5
    fm = FastTGIModel(arr)
    m = build_tgi_model(arr)
    logp, dlogp = m.compile_logp(mode="FAST_COMPILE"), m.compile_dlogp(mode="FAST_COMPILE")  # no C compilation
    order = [v.name for v in m.value_vars]
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = fm.initial_point(int(rng.integers(1_000_000))) + 0.2 * rng.standard_normal(fm.ndim)
        pt = pymc_point(m, fm, x)
        lp, g = fm.logp_and_grad(x)
        assert lp + fm.log_constant == pytest.approx(float(logp(pt)), rel=1e-10, abs=1e-6)
        gr = np.split(dlogp(pt), np.cumsum([np.size(pt[nm]) for nm in order])[:-1])
        by_rv = {rv.name: gr[order.index(m.rvs_to_values[rv].name)] for rv in m.free_RVs}
        ref = np.concatenate([np.ravel(by_rv[nm]) for nm in ("log_w0", "log_lambda0", "log_potency", "gamma",
                                                              "omega", "sigma", "z") if nm in by_rv])
        np.testing.assert_allclose(g, ref, rtol=1e-7, atol=1e-6)


# --- (3) censoring ----------------------------------------------------------------------------

def test_censoring_enters_the_likelihood_and_changes_the_fit():
    df = study(5, n=5, cv=0.2)
    lloq = 60.0
    low = df["volume"] < lloq
    assert low.sum() >= 3
    d2 = df.assign(volume=np.where(low, 0.0, df["volume"]))
    fit = fit_tgi_bayes(d2, lloq=lloq, seed=3, draws=500, tune=500, check=False, **KW)
    assert fit.diagnostics.n_divergent == 0
    assert fit.settings["n_censored"] == int(low.sum()) == int(fit.predictions["censored"].sum())
    # the pointwise log-likelihood of a censored row is log Phi((log LLOQ - log w) / sigma)
    ll = fit.idata.log_likelihood["log_size"]
    cens = ll["obs_censored"].values
    post = fit.idata.posterior
    mu, _ = btgi._log_predictions(fit._arrays, {k: post[k].values for k in
                                                ("log_w0", "log_lambda0", "log_potency", "gamma", "omega", "z")}
                                  | {"sigma": post["sigma"].values})
    ref = stats.norm.logcdf((np.log(lloq) - mu[..., cens]) / post["sigma"].values[..., None])
    np.testing.assert_allclose(ll.values[..., cens], ref, rtol=1e-10)
    # treating the censored values as measured at the LLOQ gives another (biased-upwards) fit
    naive = fit_tgi_bayes(d2.assign(volume=np.where(low, lloq, d2["volume"])), seed=3, draws=500, tune=500,
                          check=False, **KW)
    ip_c = fit.predictions.loc[fit.predictions["censored"], "ipred"].to_numpy()
    key = fit.predictions.loc[fit.predictions["censored"], ["subject", "time"]]
    ip_n = naive.predictions.merge(key, on=["subject", "time"])["ipred"].to_numpy()
    assert len(ip_n) == len(ip_c)
    assert np.mean(np.log(ip_c)) < np.mean(np.log(ip_n))
    with pytest.raises(DataError, match="lloq="):
        fit_tgi_bayes(d2, **KW)


# --- (4) draws for the planner ----------------------------------------------------------------

def test_draws_reproduce_the_posterior(fitted):
    _, fit, _ = fitted
    allv = fit.posterior_draws()
    total = len(allv["w0"])
    d = fit.draws(total, seed=1)                     # a permutation of all posterior draws
    for k, v in allv.items():
        assert np.mean(d.values[k]) == pytest.approx(np.mean(v), rel=1e-12)
        assert np.std(d.values[k]) == pytest.approx(np.std(v), rel=1e-12)
    d = fit.draws(2000, seed=2)
    for k, v in allv.items():
        assert abs(np.mean(d.values[k]) - np.mean(v)) < 4 * np.std(v) / np.sqrt(2000) * np.sqrt(0.5), k
        assert np.std(d.values[k]) == pytest.approx(np.std(v), rel=0.08), k
    # joint draws: the correlation of the two potencies and gamma is the posterior's
    r_post = np.corrcoef(allv["potency.paclitaxel"], allv["interaction.gamma"])[0, 1]
    r_draw = np.corrcoef(d.values["potency.paclitaxel"], d.values["interaction.gamma"])[0, 1]
    assert abs(r_post) > 0.2 and r_draw == pytest.approx(r_post, abs=0.06)
    assert np.array_equal(fit.draws(50, seed=3).values["w0"], fit.draws(50, seed=3).values["w0"])
    # a tighter gamma prior by importance resampling: pulled towards 0, narrower
    ds = fit.draws(4000, seed=4, shrink_interaction=0.3)
    g = allv["interaction.gamma"]
    w = stats.norm.pdf(g, 0, 0.3) / stats.norm.pdf(g, 0, 1.0)
    assert np.mean(ds.values["interaction.gamma"]) == pytest.approx(np.sum(w * g) / np.sum(w), abs=0.03)
    assert np.std(ds.values["interaction.gamma"]) < 0.7 * np.std(g)
    with pytest.raises(DataError):
        fit.draws(0)


def test_planner_interface(fitted):
    _, fit, nlme = fitted
    pop = fit.population.set_index("parameter")
    m = fit.model()
    assert m.growth.params["w0"] == pytest.approx(pop.loc["w0", "estimate"])
    assert m.effects["paclitaxel"].potency == pytest.approx(pop.loc["potency.paclitaxel", "estimate"])
    assert m.interaction.gamma == pytest.approx(pop.loc["interaction.gamma", "estimate"])
    assert fit.model({"interaction.gamma": 0.0}).interaction.gamma == 0.0
    assert type(m) is type(nlme.model()) and m.pk == nlme.model().pk
    assert set(fit.typical) == set(nlme.typical) and set(fit.omega) == set(nlme.omega)
    assert fit.variability().cv["w0"] == pytest.approx(np.sqrt(np.expm1(pop.loc["omega.w0", "estimate"] ** 2)))
    # the planner runs on the Bayesian fit as on the NLME one
    import comboplan.simulate as cs
    res = cs.simulate_cohort(m, list(ARMS.values()), [0, 7, 14], n_animals=3, variability=fit.variability(),
                             draws=fit.draws(5, seed=1), seed=1)
    assert np.all(np.isfinite(res.to_frame()["observed"]))
    # the planning functions take the fit itself (model, posterior draws, variability)
    from comboplan.simulate.cohort import resolve_model
    m2, d2, v2, label = resolve_model(fit, n_draws=7, seed=1)
    assert d2.n_draws == 7 and "bayes" in label and v2.cv == fit.variability().cv


def test_idata_dims_and_netcdf_round_trip(fitted, tmp_path):
    import xarray as xr
    _, fit, _ = fitted
    post = fit.idata.posterior
    assert post["w0_i"].dims == ("chain", "draw", "subject")
    assert post["z"].dims == ("chain", "draw", "subject", "random")
    assert set(post["arm"].values) == set(ARMS)
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 1000
    assert fit.idata.log_likelihood["log_size"].sizes["obs"] == fit.settings["n_obs"]
    fit.to_netcdf(tmp_path / "b.nc")
    ds = xr.load_dataset(tmp_path / "b.nc", engine="h5netcdf")
    np.testing.assert_allclose(ds["estimate"].values, fit.population["estimate"])
    np.testing.assert_allclose(np.median(ds["posterior"].sel(parameter="lambda0").values),
                               fit.population.set_index("parameter").loc["lambda0", "estimate"])
    assert ds["rse_pct"].attrs["units"] == "%" and ds.attrs["n_divergent"] == 0
    assert list(ds["unit"].values) == list(fit.population["unit"])


def test_short_run_warns_with_diagnostics_warning():
    df = study(7, n=3)
    with pytest.warns(DiagnosticsWarning, match="ESS"):
        fit = fit_tgi_bayes(df, seed=1, draws=30, tune=30, chains=2, **KW)
    assert not fit.diagnostics.ok and "PROBLEMS" in fit.summary()


# --- (5) bad input ---------------------------------------------------------------------------

def test_bad_input_is_a_clear_error():
    df = study(6, n=2)
    kw = dict(subject="mouse", arm="arm", time="day", size="volume", pk=PK)
    with pytest.raises(DataError, match="error='log' only"):
        fit_tgi_bayes(df, treatments=ARMS, error="proportional", **kw)
    with pytest.raises(DataError, match="interaction_prior_sd"):
        fit_tgi_bayes(df, treatments=ARMS, interaction_prior_sd=0.0, **kw)
    with pytest.raises(DataError, match="either treatments"):
        fit_tgi_bayes(df, **kw)
    with pytest.raises(DataError, match="no treatment given for arm 'CM'"):
        fit_tgi_bayes(df, treatments={k: v for k, v in ARMS.items() if k != "CM"}, **kw)
    with pytest.raises(DataError, match="random effect on 'k1'"):
        fit_tgi_bayes(df, treatments=ARMS, random=("k1",), **kw)
    with pytest.raises(DataError, match="random effect on 'interaction.gamma'"):
        fit_tgi_bayes(df, treatments=ARMS, random=("interaction.gamma",), **kw)
    with pytest.raises(DataError, match="day 0"):
        fit_tgi_bayes(df.assign(day=df["day"] - 3), treatments=ARMS, **kw)
    with pytest.raises(DataError, match="ci_level"):
        fit_tgi_bayes(df, treatments=ARMS, ci_level=90, **kw)
    with pytest.raises(DataError, match="draws"):
        fit_tgi_bayes(df, treatments=ARMS, draws=0, **kw)
    with pytest.raises(DataError, match="sampler"):
        fit_tgi_bayes(df, treatments=ARMS, sampler="stan", **kw)
    with pytest.raises(DataError, match="seed"):
        fit_tgi_bayes(df, treatments=ARMS, seed=-1, **kw)
    before = df.copy()
    fit_tgi_bayes(df, treatments=ARMS, draws=50, tune=50, chains=2, seed=1, check=False, **kw)
    pd.testing.assert_frame_equal(df, before)


def test_seed_reproduces_the_draws():
    df = study(8, n=2)
    a = fit_tgi_bayes(df, seed=11, draws=100, tune=100, chains=2, check=False, **KW)
    b = fit_tgi_bayes(df, seed=11, draws=100, tune=100, chains=2, check=False, **KW)
    np.testing.assert_array_equal(a.idata.posterior["w0"].values, b.idata.posterior["w0"].values)


@pytest.mark.slow
def test_falls_back_to_pymc_when_nutpie_fails(monkeypatch):
    """A failing nutpie run is retried with PyMC's NUTS on the PyMC model (about 1 min on 2 cores)."""
    def boom(self, **kw):
        raise RuntimeError("nutpie unavailable")
    monkeypatch.setattr(FastTGIModel, "sample", boom)
    df = study(2, n=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_tgi_bayes(df, seed=1, draws=200, tune=200, chains=2, **KW)
    assert fit.settings["sampler"] == "pymc" and "nutpie failed" in fit.settings["fallback"]
    assert np.isfinite(fit.population["estimate"]).all()
