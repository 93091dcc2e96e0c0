"""Population TGI fits (comboplan.fit_tgi) and the Laplace / FOCE-I engine (comboplan.fitting.nlme)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import comboplan as cp
import comboplan.simulate as cs
from comboplan.exceptions import DataError, InvalidParameterError
from comboplan.fitting.nlme import NLMEProblem, fit_nlme, laplace_objective
from comboplan.models.pk import paclitaxel_mouse
from comboplan.simulate.pd import Effect, GrowthModel, Interaction, simulate_growth

from _tgi_study import ARMS, DAYS, PK, PK_TOML, PTX, SEC, arm_toml, primed_toml

TRUTH = {"w0": 100.0, "lambda0": 0.12, "potency.paclitaxel": 0.4, "potency.secretome": 0.08, "interaction.gamma": 0.5}


def truth_model(**kw):
    th = {**TRUTH, **kw}
    return cs.PKPDModel(growth=GrowthModel("exponential", {"lambda0": th["lambda0"], "w0": th["w0"]}, size_unit="mm3"),
                        effects={"paclitaxel": Effect("paclitaxel", th["potency.paclitaxel"]),
                                 "secretome": Effect("secretome", th["potency.secretome"])},
                        interaction=Interaction(gamma=th["interaction.gamma"]), pk=PK)


def study(seed, n=7, cv=0.15, omega=None, **kw):
    omega = {"w0": 0.3, "lambda0": 0.2} if omega is None else omega
    res = cs.simulate_cohort(truth_model(**kw), list(ARMS.values()), DAYS, n_animals=n,
                             variability=cs.Variability(omega), readout=cs.Readout("volume", cv=cv), seed=seed,
                             common_animals=False)
    df = res.to_frame()
    df["mouse"] = df["scenario"] + "-" + df["animal"].astype(str)
    return df[["mouse", "scenario", "day", "observed"]].rename(columns={"scenario": "arm", "observed": "volume"})


@pytest.fixture(scope="module")
def fitted():
    df = study(1)
    return df, cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK)


# --- the engine against independent computations -------------------------------------------

def _quadrature_ofv(y, t, a, theta, omega, sigma, re, n_nodes=20001):
    """-2 log L by brute-force quadrature (a fine trapezoid grid over +-10 SD) over one random
    effect (on log w0 or log lambda): an independent computation of the marginal likelihood."""
    eta = np.linspace(-10 * omega, 10 * omega, n_nodes)
    logprior = stats.norm.logpdf(eta, 0, omega) + np.log(eta[1] - eta[0])
    total = 0.0
    for i in range(y.shape[0]):
        lw0 = np.log(theta[0]) + (eta if re == "w0" else np.zeros_like(eta))
        lam = theta[1] * (np.exp(eta) if re == "lambda0" else np.ones_like(eta))
        f = lw0[:, None] + lam[:, None] * t[i] - theta[2] * a[i]
        ll = stats.norm.logpdf(y[i], f, sigma).sum(axis=1) + logprior
        total += special.logsumexp(ll)
    return -2.0 * total


def _small_problem(re, seed=3, n=8):
    rng = np.random.default_rng(seed)
    t = np.tile(np.array([0.0, 4, 8, 12, 16]), (n, 1))
    a = np.tile(np.array([0.0, 0.5, 1.5, 2.0, 3.0]), (n, 1)) * (np.arange(n)[:, None] % 2)
    eta = rng.normal(0, 0.25, n)
    lw0 = np.log(100) + (eta if re == "w0" else np.zeros(n))
    lam = 0.1 * (np.exp(eta) if re == "lambda0" else np.ones(n))
    y = lw0[:, None] + lam[:, None] * t - 0.3 * a + rng.normal(0, 0.1, t.shape)

    def predict(phi):
        k = phi.shape[0] // n
        return np.log(phi[:, [0]]) + phi[:, [1]] * np.tile(t, (k, 1)) - phi[:, [2]] * np.tile(a, (k, 1))
    prob = NLMEProblem(predict, y, np.ones_like(y, bool), ("w0", "lambda0", "k"), ("log", "log", "log"),
                       (re == "w0", re == "lambda0", False))
    return prob, y, t, a


def test_laplace_is_exact_for_a_model_linear_in_eta():
    """Random effect on log w0 with log-scale error: the Laplace objective is the exact marginal likelihood."""
    prob, y, t, a = _small_problem("w0")
    for theta, om, sg in [((100, 0.1, 0.3), 0.25, 0.1), ((80, 0.12, 0.2), 0.6, 0.3)]:
        ofv, _ = laplace_objective(prob, theta, [om], [sg])
        assert ofv == pytest.approx(_quadrature_ofv(y, t, a, theta, om, sg, "w0"), abs=1e-7)


def test_laplace_close_to_quadrature_and_estimates_match_the_quadrature_mle():
    """Random effect on the growth rate (nonlinear in eta): the FOCE-I objective (Gauss-Newton
    Hessian, no second derivative of f in eta) is within 0.02 per animal of the exact one, and its
    estimates within a fifth of a standard error of maximising the exact likelihood."""
    prob, y, t, a = _small_problem("lambda0")
    ofv, _ = laplace_objective(prob, (100, 0.1, 0.3), [0.25], [0.1])
    exact = _quadrature_ofv(y, t, a, (100, 0.1, 0.3), 0.25, 0.1, "lambda0")
    assert 0 < abs(ofv - exact) < 0.02 * 8
    fit = fit_nlme(prob, [90, 0.08, 0.2], [0.3], [0.2])
    assert fit.converged

    def negll(x):
        return _quadrature_ofv(y, t, a, np.exp(x[:3]), np.exp(x[3]), np.exp(x[4]), "lambda0")
    ref = optimize.minimize(negll, np.log([90, 0.08, 0.2, 0.3, 0.2]), method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000})
    assert np.all(np.abs(fit.x - ref.x) < 0.2 * fit.se_x), (fit.x - ref.x) / fit.se_x
    assert abs(fit.ofv - ref.fun) < 0.02 * 8


def _lmm(method):
    """A linear random-intercept model fitted by the engine and by statsmodels (same start)."""
    import statsmodels.api as sm
    rng = np.random.default_rng(1)
    n, m = 30, 6
    t = np.tile(np.linspace(0, 10, m), (n, 1))
    y = np.log(2.0) + rng.normal(0, 0.3, n)[:, None] + 0.1 * t + rng.normal(0, 0.2, (n, m))

    def predict(phi):
        return np.log(phi[:, [0]]) + phi[:, [1]] * np.tile(t, (phi.shape[0] // n, 1))
    prob = NLMEProblem(predict, y, np.ones_like(y, bool), ("w0", "r"), ("log", "identity"), (True, False))
    fit = fit_nlme(prob, [1.0, 0.05], [0.5], [0.5], method=method)
    X = np.column_stack([np.ones(n * m), t.ravel()])
    r = sm.MixedLM(y.ravel(), X, groups=np.repeat(np.arange(n), m)).fit(
        reml=method == "reml",
        start_params=np.r_[np.log(fit.theta[0]), fit.theta[1], (fit.omega[0] / fit.sigma[0]) ** 2])
    return prob, fit, r


def test_engine_equals_exact_linear_mixed_model():
    """A linear random-intercept model: estimates, SEs and -2 log L equal statsmodels' exact ML."""
    prob, fit, r = _lmm("ml")
    assert fit.ofv == pytest.approx(-2 * r.llf, abs=1e-6)
    np.testing.assert_allclose([np.log(fit.theta[0]), fit.theta[1]], r.fe_params, atol=1e-6)
    assert fit.omega[0] == pytest.approx(np.sqrt(float(np.asarray(r.cov_re).ravel()[0])), rel=1e-4)
    assert fit.sigma[0] == pytest.approx(np.sqrt(r.scale), rel=1e-4)
    np.testing.assert_allclose(fit.se_x[:2], r.bse_fe, rtol=1e-3)


def test_censored_m3_likelihood_matches_quadrature():
    """Observations below a limit enter as Phi((LLOQ - f)/sigma); Laplace vs quadrature."""
    prob, y, t, a = _small_problem("w0", seed=5)
    lim = np.quantile(y, 0.2)
    cens = y < lim
    yc = np.where(cens, lim, y)
    pc = NLMEProblem(prob.predict, yc, np.ones_like(y, bool), prob.names, prob.transform, prob.random, censored=cens)
    ofv, _ = laplace_objective(pc, (100, 0.1, 0.3), [0.25], [0.1])
    eg = np.linspace(-2.5, 2.5, 20001)
    tot = 0.0
    for i in range(y.shape[0]):
        f = np.log(100) + eg[:, None] + 0.1 * t[i] - 0.3 * a[i]
        ll = np.where(cens[i], stats.norm.logcdf((lim - f) / 0.1), stats.norm.logpdf(yc[i], f, 0.1)).sum(axis=1)
        tot += special.logsumexp(ll + stats.norm.logpdf(eg, 0, 0.25) + np.log(eg[1] - eg[0]))
    assert cens.sum() >= 5
    assert ofv == pytest.approx(-2 * tot, abs=0.05)


# --- fit_tgi -------------------------------------------------------------------------------------

def test_fit_recovers_truth_within_its_intervals(fitted):
    df, fit = fitted
    assert fit.converged
    pop = fit.population.set_index("parameter")
    for k, v in TRUTH.items():
        assert pop.loc[k, "ci_low"] <= v <= pop.loc[k, "ci_high"], k
    assert pop.loc["omega.w0", "ci_low"] <= 0.3 <= pop.loc["omega.w0", "ci_high"]
    assert pop.loc["sigma.add", "estimate"] == pytest.approx(0.15, rel=0.15)
    assert set(fit.individual["subject"]) == set(df["mouse"])
    assert "0 = Bliss independence" in fit.summary() and "> 0 = synergy" in fit.summary()


def test_model_predictions_equal_the_simulator(fitted):
    """The typical-animal predictions of the fit are what the simulator gives for fit.model()."""
    _, fit = fitted
    m = fit.model()
    for name, arm in ARMS.items():
        sim = simulate_growth(np.array(DAYS, float), m.growth, arm.exposures(m.pk), m.effects, m.interaction)[0]
        pred = fit.predictions.query("arm == @name").groupby("time")["pred"].first().to_numpy()
        tol = 1e-10 if name != "PTX+CM" else 5e-3   # the simulator's Simpson quadrature of sqrt(hA hB)
        np.testing.assert_allclose(sim, pred, rtol=tol)


def test_design_interaction_integral_equals_adaptive_quadrature():
    from scipy.integrate import quad

    from comboplan.growth.data import validate_growth
    from comboplan.growth.tgi import tgi_design
    df = study(2, n=2)
    gd = validate_growth(df, "mouse", "arm", "day", "volume")
    d = tgi_design(gd, ARMS, PK)
    i = list(gd.subjects).index("PTX+CM-0")
    ex = ARMS["PTX+CM"].exposures(PK)

    def f(s):
        return np.sqrt(ex["paclitaxel"].concentration(np.array([s]))[0, 0] * ex["secretome"].level(np.array([s]))[0])
    brk = sorted(set(np.arange(0, 29.0)) | set(SEC.times) | set(PTX.times))
    cum, ref = 0.0, [0.0]
    for lo, hi in zip(brk[:-1], brk[1:]):
        cum += quad(f, lo, hi, limit=200, epsabs=1e-13, epsrel=1e-12)[0]
        if hi in DAYS:
            ref.append(cum)
    np.testing.assert_allclose(d["cross"][i], ref, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(d["auc"]["secretome"][i], ex["secretome"].cumulative(np.array(DAYS, float)))


def test_dosing_table_equals_regimens_per_arm():
    df = study(4, n=3)
    a = cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK,
                   interaction=False, compute_se=False)
    rows = []
    for mouse, arm in df.groupby("mouse")["arm"].first().items():
        for reg in ARMS[arm].regimens:
            rows += [(mouse, t, reg.amount * 0.025, "mg", reg.route, reg.agent, 0.025) for t in reg.times]
    dosing = pd.DataFrame(rows, columns=["subject", "time", "amount", "unit", "route", "agent", "body_weight"])
    # the secretome has no PK: it stays an arm-level product, so fit paclitaxel-only arms here
    sub = df[df["arm"].isin(["vehicle", "PTX"])]
    arms2 = {k: ARMS[k] for k in ("vehicle", "PTX")}
    a = cp.fit_tgi(sub, subject="mouse", arm="arm", time="day", size="volume", treatments=arms2, pk=PK, compute_se=False)
    b = cp.fit_tgi(sub, subject="mouse", arm="arm", time="day", size="volume",
                   dosing=dosing[dosing["subject"].isin(sub["mouse"])], pk=PK, compute_se=False)
    np.testing.assert_allclose(b.population["estimate"], a.population["estimate"], rtol=1e-6)


def test_censoring_below_lloq_is_used_not_dropped():
    df = study(5, n=5, cv=0.2)
    lloq = 60.0
    low = df["volume"] < lloq
    d2 = df.assign(volume=np.where(low, 0.0, df["volume"]))
    assert low.sum() >= 3
    fit = cp.fit_tgi(d2, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK, lloq=lloq)
    assert fit.settings["n_censored"] == int(low.sum())
    assert fit.predictions["censored"].sum() == int(low.sum())
    with pytest.raises(DataError, match="lloq="):
        cp.fit_tgi(d2, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK)


def test_bad_input_is_a_clear_error():
    df = study(6, n=2)
    kw = dict(subject="mouse", arm="arm", time="day", size="volume", pk=PK)
    with pytest.raises(DataError, match="either treatments"):
        cp.fit_tgi(df, **kw)
    with pytest.raises(DataError, match="no treatment given for arm 'CM'"):
        cp.fit_tgi(df, treatments={k: v for k, v in ARMS.items() if k != "CM"}, **kw)
    with pytest.raises(DataError, match="random effect on 'k1'"):
        cp.fit_tgi(df, treatments=ARMS, random=("k1",), **kw)
    with pytest.raises(DataError, match="day 0"):
        cp.fit_tgi(df.assign(day=df["day"] - 3), treatments=ARMS, **kw)
    with pytest.raises(DataError, match="ci_level"):
        cp.fit_tgi(df, treatments=ARMS, ci_level=95, **kw)
    before = df.copy()
    cp.fit_tgi(df, treatments=ARMS, compute_se=False, **kw)
    pd.testing.assert_frame_equal(df, before)


def test_draws_and_interaction_shrinkage(fitted):
    _, fit = fitted
    d = fit.draws(4000, seed=1)
    pop = fit.population.set_index("parameter")
    assert np.median(d.values["lambda0"]) == pytest.approx(pop.loc["lambda0", "estimate"], rel=0.01)
    assert np.std(np.log(d.values["lambda0"])) == pytest.approx(pop.loc["lambda0", "stderr"] / pop.loc["lambda0", "estimate"], rel=0.05)
    g, se = pop.loc["interaction.gamma", "estimate"], pop.loc["interaction.gamma", "stderr"]
    ds = fit.draws(20000, seed=2, shrink_interaction=1.0)
    post_var = 1 / (1 / se**2 + 1)           # normal-normal: prior N(0, 1), likelihood N(g, se^2)
    assert np.mean(ds.values["interaction.gamma"]) == pytest.approx(post_var * g / se**2, abs=0.03)
    assert np.std(ds.values["interaction.gamma"]) == pytest.approx(np.sqrt(post_var), rel=0.05)
    assert fit.variability().cv["w0"] == pytest.approx(np.sqrt(np.expm1(pop.loc["omega.w0", "estimate"] ** 2)))


def test_netcdf_round_trip_and_plots(fitted, tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import xarray as xr
    _, fit = fitted
    fit.to_netcdf(tmp_path / "tgi.nc")
    ds = xr.load_dataset(tmp_path / "tgi.nc", engine="h5netcdf")
    np.testing.assert_allclose(ds["estimate"].values, fit.population["estimate"])
    assert ds["rse_pct"].attrs["units"] == "%"
    for kind in ("individual", "vpc", "cwres", "cwres_pred"):
        ax = fit.plot(kind=kind)
        assert "(" in ax.get_ylabel()
    v = fit.vpc(n_sim=100, seed=3)
    inside = ((v["observed"] >= v["sim_low"]) & (v["observed"] <= v["sim_high"]))[v["observed"].notna()]
    assert inside.mean() > 0.8          # a correctly specified model: observed percentiles inside the bands
    with pytest.raises(InvalidParameterError):
        fit.plot(kind="qq")


def test_reml_equals_exact_restricted_likelihood_of_a_linear_mixed_model():
    """method='reml': for a model linear in its parameters, the restricted likelihood is exact."""
    prob, fit, r = _lmm("reml")
    assert fit.ofv == pytest.approx(-2 * r.llf, abs=1e-6)
    assert fit.omega[0] == pytest.approx(np.sqrt(float(np.asarray(r.cov_re).ravel()[0])), rel=1e-4)
    assert fit.sigma[0] == pytest.approx(np.sqrt(r.scale), rel=1e-4)
    ml = fit_nlme(prob, [1.0, 0.05], [0.5], [0.5], method="ml")
    assert fit.omega[0] > ml.omega[0]          # REML removes ML's downward bias
    with pytest.raises(DataError, match="method"):
        fit_nlme(prob, [1.0, 0.05], [0.5], [0.5], method="foce")


def test_planner_takes_the_fit_and_names_it(fitted, tmp_path):
    """dose_reduction / study_power accept a fit: its model, its uncertainty draws and variability."""
    from comboplan.growth.tgi import load_tgi_fit
    _, fit = fitted
    res = cs.dose_reduction(fit, [0, 5, 10], companions={"none": None, "primed": SEC}, reference=(10.0, "none"),
                            days=[21.0], n_animals=20, seed=1, route="ip", schedule="weekly from day 0 to 21")
    assert "fitted population model" in res.summary()
    assert res.settings["n_draws"] == 200
    # the same as passing the pieces by hand
    res2 = cs.dose_reduction(fit.model(), [0, 5, 10], companions={"none": None, "primed": SEC},
                             reference=(10.0, "none"), days=[21.0], n_animals=20, seed=1, route="ip",
                             schedule="weekly from day 0 to 21", draws=fit.draws(200, seed=1),
                             variability=fit.variability())
    np.testing.assert_allclose(res.table["estimate"], res2.table["estimate"])
    arms = [cs.Arm("ptx10", [PTX]), cs.Arm("ptx5+CM", [PTX.with_amount(5)], [SEC])]
    pw = cs.study_power(fit, arms, 5, [0, 7, 14, 21], analysis="noninferiority", n_studies=100, seed=2)
    assert np.isfinite(pw.assurance) and "assurance" in pw.summary().lower()
    # a fit written to netCDF plans the same way after loading
    fit.to_netcdf(tmp_path / "tgi.nc")
    back = load_tgi_fit(tmp_path / "tgi.nc", pk=PK)
    assert back.model() == fit.model()
    a, b = fit.draws(30, seed=4), back.draws(30, seed=4)
    for k in a.values:
        np.testing.assert_allclose(a.values[k], b.values[k])
    assert back.variability().cv == pytest.approx(fit.variability().cv)
    with pytest.raises(DataError, match="PKPDModel or a population fit"):
        cs.dose_reduction("not a model", [0, 5])


def test_toml_scenario_runs_from_a_fit_file(fitted, tmp_path):
    from comboplan.simulate.scenario import load_scenario
    _, fit = fitted
    fit.to_netcdf(tmp_path / "tgi.nc")
    (tmp_path / "s.toml").write_text("""
[study]
days = [0, 7, 14, 21]
n_per_arm = 5
seed = 3
[model]
fit = "tgi.nc"
""" + PK_TOML + primed_toml() + arm_toml("ptx10", 10) + arm_toml("ptx5+primed", 5, ["primed"]) + """
[uncertainty]
n_draws = 50
""")
    sc = load_scenario(tmp_path / "s.toml")
    assert sc.model.typical()["lambda0"] == pytest.approx(fit.typical["lambda0"])
    assert sc.draws.n_draws == 50 and sc.variability.cv == pytest.approx(fit.variability().cv)
    res = sc.simulate(n_animals=3)
    assert res.dataset["size"].shape[:2] == (2, 50)
    bad = (tmp_path / "s.toml").read_text().replace('fit = "tgi.nc"', 'fit = "tgi.nc"\ngrowth = "exponential"')
    (tmp_path / "bad.toml").write_text(bad)
    with pytest.raises(DataError, match="growth and potencies come from the fit"):
        load_scenario(tmp_path / "bad.toml")


def test_estimator_bayes_dispatch_refuses_nlme_options():
    df = study(6, n=2)
    with pytest.raises(DataError, match="options of the NLME estimator"):
        cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK,
                   estimator="bayes", method="ml")
    with pytest.raises(DataError, match="estimator must be"):
        cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK,
                   estimator="saem")


def test_pk_given_per_animal():
    """subject_pk: an animal's own PK replaces the population PK in its exposure integrals."""
    from comboplan.growth.data import validate_growth
    from comboplan.growth.tgi import tgi_design
    df = study(7, n=3)
    gd = validate_growth(df, "mouse", "arm", "day", "volume")
    fast = {"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0}).with_params(k10=2 * PK["paclitaxel"].k10)}
    base = tgi_design(gd, ARMS, PK)
    same = tgi_design(gd, ARMS, PK, subject_pk={"PTX-0": PK})
    per = tgi_design(gd, ARMS, PK, subject_pk={"PTX-0": fast})
    i = list(gd.subjects).index("PTX-0")
    j = list(gd.subjects).index("PTX-1")
    np.testing.assert_array_equal(same["auc"]["paclitaxel"], base["auc"]["paclitaxel"])
    ref = ARMS["PTX"].exposures(fast)["paclitaxel"].cumulative(base["t"][i])[0]
    np.testing.assert_allclose(per["auc"]["paclitaxel"][i], ref, rtol=1e-12)
    assert per["auc"]["paclitaxel"][i][-1] < base["auc"]["paclitaxel"][i][-1]        # faster clearance, less AUC
    np.testing.assert_array_equal(per["auc"]["paclitaxel"][j], base["auc"]["paclitaxel"][j])
    fit = cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK,
                     subject_pk={"PTX-0": fast}, compute_se=False)
    assert fit.model().pk["paclitaxel"] == PK["paclitaxel"]                          # planning uses the population PK
    with pytest.raises(DataError, match="subject_pk names animal"):
        cp.fit_tgi(df, subject="mouse", arm="arm", time="day", size="volume", treatments=ARMS, pk=PK,
                   subject_pk={"nobody": fast})


def test_draws_carry_between_animal_variability(fitted, tmp_path):
    """fit.draws() includes the omegas (their uncertainty reaches the planner) and the simulator
    uses a draw's omega in place of the Variability."""
    from comboplan.simulate.cohort import ParameterDraws, simulate_arms

    _, fit = fitted
    d = fit.draws(4000, seed=2)
    pop = fit.population.set_index("parameter")
    for nm in ("w0", "lambda0"):
        v = d.values[f"omega.{nm}"]
        est, se = pop.loc[f"omega.{nm}", "estimate"], pop.loc[f"omega.{nm}", "stderr"]
        assert np.median(v) == pytest.approx(est, rel=0.03)          # log-normal around the estimate
        assert np.std(np.log(v)) == pytest.approx(se / est, rel=0.08)  # with the fit's SE (delta method)
    assert not any(k.startswith("omega.") for k in fit.draws(5, seed=2, between_animal=False).values)
    fit.to_netcdf(tmp_path / "f.nc")
    back = cp.load_tgi_fit(tmp_path / "f.nc", pk=PK).draws(4000, seed=2)
    np.testing.assert_allclose(back.values["omega.lambda0"], d.values["omega.lambda0"], rtol=1e-10)
    m = fit.model()
    dd = ParameterDraws({"omega.w0": np.array([0.0, 0.5])})
    size = simulate_arms(m, [ARMS["vehicle"]], [0.0], 4000, draws=dd, seed=1)
    sd = np.log(size[0, :, :, 0]).std(axis=1)
    assert sd[0] == pytest.approx(0.0, abs=1e-12)
    assert sd[1] == pytest.approx(0.5, rel=0.05)
    with pytest.raises(DataError, match="unknown parameter"):
        simulate_arms(m, [ARMS["vehicle"]], [0.0], 3, draws=ParameterDraws({"omega.interaction.gamma": [0.1]}))
    with pytest.raises(DataError, match="must be >= 0"):
        simulate_arms(m, [ARMS["vehicle"]], [0.0], 3, draws=ParameterDraws({"omega.w0": [-0.1]}))


def test_nlme_search_next_to_a_region_where_the_model_fails_stays_finite():
    """The objective is not finite beyond b = 0.25 (truth 0.3): L-BFGS-B must backtrack from that
    region (large finite value, zero gradient) instead of carrying inf/NaN into its iterate, and
    the estimates must move from the start to the edge of the region, never be NaN."""
    import warnings

    from comboplan.fitting.nlme import NLMEProblem, fit_nlme

    rng = np.random.default_rng(0)
    n, m = 12, 5
    t = np.linspace(0, 4, m)
    y = np.log(5.0) + 0.2 * rng.standard_normal(n)[:, None] + 0.3 * t[None] + 0.05 * rng.standard_normal((n, m))

    def predict(phi):
        f = np.log(phi[:, 0])[:, None] + phi[:, 1][:, None] * t[None]
        return np.where((phi[:, 1] > 0.25)[:, None], np.nan, f)

    prob = NLMEProblem(predict, y, np.ones_like(y, bool), ("a", "b"), ("log", "identity"), (True, False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_nlme(prob, [1.0, 0.1], [0.3], [0.3])
    assert np.all(np.isfinite(fit.theta)) and np.isfinite(fit.ofv)
    assert 0.24 < fit.theta[1] <= 0.25          # went as far as the model can be evaluated
    assert "not estimable" in fit.message       # and does not pretend to have standard errors there


def test_summary_states_the_one_synergy_sign(fitted):
    """The package's one sign sentence, with gamma named as the raw quantity (> 0 = synergy)."""
    from comboplan._sign import SYNERGY_SCORE_SIGN

    text = fitted[1].summary()
    assert SYNERGY_SCORE_SIGN in text and "interaction.gamma > 0 = synergy" in text
