"""Cohorts: reproducibility, structure, simulate -> fit -> recover, scenario files, CLI, vectorised draws."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import least_squares

import comboplan.simulate as cs
from comboplan.exceptions import DataError
from comboplan.models.pk import Regimen, paclitaxel_mouse

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
PTX10 = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")


def _model(lambda0=0.1, k=0.629):
    g = cs.GrowthModel("exponential", {"lambda0": lambda0, "w0": 100.0}, size_unit="mm3")
    return cs.PKPDModel(growth=g, effects={"paclitaxel": cs.Effect("paclitaxel", k)}, pk={"paclitaxel": PK})


def test_same_seed_identical_and_dims():
    m = _model()
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX10])]
    kw = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("volume", cv=0.2),
              dropout=cs.Dropout(10, 0.2), seed=7,
              draws=cs.draws_from_covariance({"lambda0": 0.1}, [[1e-4]], 3, seed=1))
    a = cs.simulate_cohort(m, arms, [0, 7, 14, 21], 5, **kw)
    b = cs.simulate_cohort(m, arms, [0, 7, 14, 21], 5, **kw)
    assert a.dataset.identical(b.dataset)
    assert a.dataset["size"].dims == ("scenario", "draw", "subject", "time")
    assert a.dataset["size"].shape == (2, 3, 5, 4)
    c = cs.simulate_cohort(m, arms, [0, 7, 14, 21], 5, **{**kw, "seed": 8})
    assert not np.allclose(a.dataset["observed"].fillna(0), c.dataset["observed"].fillna(0))
    # dropped animals have NaN after their dropout day
    ds = a.dataset
    after = ds["time"].values[None, None, None, :] > ds["dropout_day"].values[..., None]
    assert after.any() and np.all(np.isnan(ds["observed"].values[after]))
    assert np.all(np.isfinite(ds["observed"].values[~after]))


def test_simulate_fit_recover():
    """Simulate a two-arm cohort with noise, fit lambda0 and the paclitaxel potency back."""
    true = (0.12, 0.8)
    m = _model(*true)
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX10])]
    days = np.arange(0.0, 22.0, 3.5)
    res = cs.simulate_cohort(m, arms, days, 40, readout=cs.Readout("volume", cv=0.1), seed=3)
    y = np.log(res.dataset["observed"].values[:, 0])  # (arm, animal, time)

    def resid(theta):
        mm = _model(*np.exp(theta))
        pred = [np.log(cs.simulate_growth(days, mm.growth, a.exposures(mm.pk), mm.effects)[0]) for a in arms]
        return (y - np.asarray(pred)[:, None, :]).ravel()

    fit = least_squares(resid, np.log([0.05, 0.3]))
    est = np.exp(fit.x)
    J = fit.jac
    s2 = np.sum(fit.fun ** 2) / (fit.fun.size - 2)
    se = np.sqrt(np.diag(np.linalg.inv(J.T @ J) * s2)) * est
    assert np.all(np.abs(est - np.asarray(true)) < 4 * se)
    assert est == pytest.approx(true, rel=0.05)


def test_posterior_draws_feed_cohort():
    post = {"r": np.full((2, 50), 0.1) + np.linspace(-0.01, 0.01, 100).reshape(2, 50)}
    d = cs.draws_from_posterior(post, {"lambda0": "r"}, n_draws=10, seed=0)
    assert d.n_draws == 10
    res = cs.simulate_cohort(_model(), [cs.Arm("control")], [0, 7], 2, draws=d, seed=0,
                             readout=cs.Readout("none"))
    lam = np.log(res.dataset["size"].values[0, :, 0, 1] / 100.0) / 7
    np.testing.assert_allclose(np.sort(lam), np.sort(d.values["lambda0"]), rtol=1e-12)
    with pytest.raises(DataError, match="no variable"):
        cs.draws_from_posterior(post, {"lambda0": "nope"})


def test_scenario_file_and_errors(tmp_path):
    sc = cs.load_scenario("examples/scenario_paclitaxel.toml")
    assert [a.name for a in sc.arms][:2] == ["control", "paclitaxel_10"]
    res = sc.simulate(seed=1)
    assert res.dataset.sizes["scenario"] == 4
    base = open("examples/scenario_paclitaxel.toml").read()
    cases = [
        (base.replace('amount = 10, unit = "mg/kg"', 'amount = -10, unit = "mg/kg"'), "negative"),
        (base.replace('amount = 10, unit = "mg/kg"', 'amount = 10, unit = "mg/m2"'), "unknown dose unit"),
        (base.replace('schedule = "weekly from day 0 to 21" }]\n\n[[arms]]\nname = "primed"',
                      'schedule = "weekly from day 9 to 2" }]\n\n[[arms]]\nname = "primed"'), "before the first"),
        (base.replace("params = { lambda0 = 0.072, w0 = 1.0 }", "params = { w0 = 1.0 }"), "needs parameter"),
        (base.replace('growth = "exponential"', 'growth = "simeoni"'), "lambda1"),
    ]
    for text, msg in cases:
        p = tmp_path / "s.toml"
        p.write_text(text)
        with pytest.raises(DataError, match=msg):
            cs.load_scenario(p)


def test_cli_simulate_and_plan(tmp_path):
    from comboplan.cli import main

    assert main(["simulate", "examples/scenario_paclitaxel.toml", "-o", str(tmp_path / "sim"), "-n", "3"]) == 0
    assert (tmp_path / "sim" / "cohort.csv").exists()
    assert main(["plan", "examples/scenario_paclitaxel.toml", "-o", str(tmp_path / "plan"), "--what", "power",
                 "--n-studies", "50"]) == 0
    assert (tmp_path / "plan" / "power.csv").exists()


def _two_agent_model(gamma=0.0, alpha=1.0, emax=False):
    g = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 1.0}, size_unit="relative burden")
    eff = {"paclitaxel": cs.Effect("paclitaxel", 2.0, ec50=1.0) if emax else cs.Effect("paclitaxel", 0.629),
           "secretome": cs.Effect("secretome", 0.15)}
    inter = cs.Interaction(gamma=gamma, alpha=alpha, target="paclitaxel", companion="secretome")
    return cs.PKPDModel(growth=g, effects=eff, interaction=inter, pk={"paclitaxel": PK})


SEC = cs.secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)
PTX5 = PTX10.with_amount(5)


def test_interaction_draws_are_vectorised_and_equal_the_per_draw_loop():
    """Draws of gamma (both sides of -2, where the hazard is clipped at 0), potency and lambda0 run as one
    batch; each draw equals a separate simulation at that draw's values (the former per-draw loop)."""
    m = _two_agent_model(gamma=-1.0)
    draws = cs.ParameterDraws({"interaction.gamma": [-3.5, -1.0, 0.0, 0.7, 2.0],
                               "potency.secretome": [0.1, 0.2, 0.15, 0.12, 0.3],
                               "lambda0": [0.08, 0.1, 0.12, 0.09, 0.11]})
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX5]), cs.Arm("sec", [], [SEC]), cs.Arm("combo", [PTX5], [SEC])]
    days = [0, 7, 14, 21]
    vec = cs.cohort.simulate_arms(m, arms, days, 3, draws=draws, seed=1)
    assert vec.shape == (4, 5, 3, 4)
    for d in range(draws.n_draws):
        md = m.with_values(draws.row(d))
        for i, arm in enumerate(arms):
            one = cs.simulate_growth(days, md.growth, arm.exposures(md.pk), md.effects, md.interaction, n_animals=3)
            np.testing.assert_allclose(vec[i, d], one, rtol=1e-10, atol=0)
    # gamma acts in the combination arm only, and more gamma means smaller tumours there
    gd = cs.ParameterDraws({"interaction.gamma": [-3.5, -1.0, 0.0, 0.7, 2.0]})
    w = cs.cohort.simulate_arms(m, arms, days, 1, draws=gd, seed=1)[:, :, 0, -1]
    assert np.all(np.diff(w[3]) < 0)
    np.testing.assert_array_equal(w[:3], w[:3, :1].repeat(5, axis=1))


@pytest.mark.parametrize("emax,per_animal_pk", [(False, False), (True, False), (False, True)])
def test_per_animal_interaction_arrays_equal_loop(emax, per_animal_pk):
    """simulate_growth(interaction_params=...) with per-animal gamma/alpha (and potency, lambda0, PK)
    equals one call per animal group with a scalar Interaction, to 1e-10."""
    rng = np.random.default_rng(3)
    n_draws, n = 4, 3
    gam = np.repeat([-2.5, 0.0, 0.8, 1.5], n)
    alp = np.repeat([1.0, 2.0, 0.5, 1.0], n)
    lam = 0.1 * np.exp(0.2 * rng.standard_normal(n_draws * n))
    k = 0.629 * np.exp(0.3 * rng.standard_normal(n_draws * n))
    pk = PK.with_params(k10=float(PK.k10) * np.exp(0.2 * rng.standard_normal(n_draws * n))) if per_animal_pk else None
    m = _two_agent_model(emax=emax)
    ex = cs.Arm("combo", [PTX10], [SEC]).exposures(m.pk)
    days = np.array([0.0, 3.0, 10.0, 21.0])
    for growth in (m.growth, cs.SIMEONI2004_PACLITAXEL):
        vec = cs.simulate_growth(days, growth, ex, m.effects, m.interaction, params={"lambda0": lam},
                                 potencies={"paclitaxel": k}, pk_override={"paclitaxel": pk} if pk else None,
                                 interaction_params={"gamma": gam, "alpha": alp})
        for d in range(n_draws):
            sl = slice(d * n, (d + 1) * n)
            inter = replace(m.interaction, gamma=float(gam[sl][0]), alpha=float(alp[sl][0]))
            one = cs.simulate_growth(days, growth, ex, m.effects, inter, params={"lambda0": lam[sl]},
                                     potencies={"paclitaxel": k[sl]},
                                     pk_override={"paclitaxel": PK.with_params(k10=pk.k10[sl])} if pk else None)
            np.testing.assert_allclose(vec[sl], one, rtol=1e-10, atol=0)


def test_draws_with_variability_equal_per_draw_simulation():
    """With between-animal variability the batch reuses each draw's animals exactly: the normals of
    common animals come from SeedSequence(seed), one (n_draws, n_animals) block per parameter in model order."""
    m = _two_agent_model(gamma=0.5)
    draws = cs.ParameterDraws({"interaction.gamma": [-2.8, 0.5, 1.7], "potency.secretome": [0.1, 0.2, 0.15]})
    var = cs.Variability({"lambda0": 0.3})
    days = [0, 7, 14]
    arm = cs.Arm("combo", [PTX5], [SEC])
    vec = cs.cohort.simulate_arms(m, [arm], days, 6, variability=var, draws=draws, seed=5)[0]
    z = np.random.default_rng(np.random.SeedSequence(5)).standard_normal((3, 6))  # lambda0 is the first name
    lam = 0.1 * np.exp(var.omega("lambda0") * z)
    for d in range(3):
        md = m.with_values(draws.row(d))
        one = cs.simulate_growth(days, md.growth, arm.exposures(md.pk), md.effects, md.interaction,
                                 params={"lambda0": lam[d]})
        np.testing.assert_allclose(vec[d], one, rtol=1e-10, atol=0)


def test_interaction_draw_errors():
    m = _two_agent_model()
    with pytest.raises(DataError, match="interaction is a population parameter"):
        cs.cohort.simulate_arms(m, [cs.Arm("c")], [0, 7], 2, variability=cs.Variability({"interaction.gamma": 0.3}))
    no_target = cs.PKPDModel(growth=m.growth, effects=m.effects, pk=m.pk)
    with pytest.raises(DataError, match="target and companion"):
        cs.cohort.simulate_arms(no_target, [cs.Arm("combo", [PTX5], [SEC])], [0, 7], 2,
                                draws=cs.ParameterDraws({"interaction.alpha": [1.0, 2.0]}))
    with pytest.raises(DataError, match="unknown key"):
        cs.simulate_growth([0, 7], m.growth, interaction_params={"beta": [1.0]})


def test_eiro2024_calibration_states_what_it_implements():
    """A2 / A7 as implemented: the control is predicted (and printed), or set like 5 mg/kg on request;
    the SEs come from the printed p-values."""
    import comboplan.simulate as cs
    from comboplan.simulate.paper import backed_out_sd
    cal = cs.calibrate_eiro2024()
    assert np.allclose(cal.fitted, cal.observed, rtol=1e-4)
    # A7: SE of log(274 %) from the SD backed out of p = 0.032 and 0.016 (pooled t-tests, n = 7)
    sd = np.sqrt((backed_out_sd(113, 274, 0.032, 7, 7) ** 2 + backed_out_sd(131, 274, 0.016, 7, 7) ** 2) / 2) / 100
    assert cal.se[0] == pytest.approx(np.sqrt(np.log1p((sd / 2.74) ** 2)) / np.sqrt(7), rel=1e-12)
    assert 1.0 < sd < 1.2                                        # "about 1.0-1.2" in relative-volume units
    # the predicted control is what the model gives for an untreated arm, and it is not 5 mg/kg's 2.74
    pa = cs.predicted_arms(cal, 14.0, doses=(0.0, 5.0))
    assert cal.predicted_control == pytest.approx(float(pa["relative_size"].iloc[0]), rel=1e-12)
    assert cal.predicted_control > 3.5
    assert any(a.startswith("A2") and "predicts" in a for a in cal.assumptions)
    # control = 5 mg/kg implemented literally: within half an SE of 2.74 and paclitaxel potency free
    lit = cs.calibrate_eiro2024(control="like_5mg")
    assert abs(np.log(lit.predicted_control) - np.log(2.74)) < 0.5 * lit.se[3]
    assert "potency.paclitaxel" in lit.theta and lit.theta["potency.paclitaxel"] < 0.629 / 5
    with pytest.raises(Exception, match="control must be"):
        cs.calibrate_eiro2024(control="A2")


def test_dose_reduction_flags_non_monotone_predictions():
    import comboplan.simulate as cs
    cal = cs.calibrate_eiro2024()       # negative gamma: with primed secretome more paclitaxel -> larger tumour
    r = cs.dose_reduction(cal.model(), [0, 2.5, 5, 10], companions={"none": None, "primed": cal.regimens["primed"]},
                          days=[14.0], draws=cal.draws(30, seed=1), n_animals=10)
    md = r.minimum_dose.set_index("companion")
    assert bool(md.loc["none", "monotone"]) and not bool(md.loc["primed", "monotone"])
    assert "FLAG: the predicted efficacy is not monotone" in r.summary()
    est = r.table.query("companion == 'primed'").sort_values("dose")["estimate"].to_numpy()
    assert np.any(np.diff(est) > 0)     # the flag is what the table shows


def test_dose_reduction_geometric_endpoint_is_the_power_scale():
    """endpoint="geometric_relative_size" is the geometric mean over the same virtual animals: below the
    arithmetic mean (AM-GM) whenever the animals differ; the same lower-is-better margin rule."""
    import comboplan.simulate as cs
    cal = cs.calibrate_eiro2024()
    kw = dict(companions={"none": None}, days=[14.0], draws=cal.draws(5, seed=1), n_animals=8,
              variability=cs.Variability({"lambda0": 0.3}), seed=4)
    g = cs.dose_reduction(cal.model(), [5, 10], endpoint="geometric_relative_size", **kw)
    a = cs.dose_reduction(cal.model(), [5, 10], endpoint="relative_size", **kw)
    ga, aa = g.draws[0, :, 0, :], a.draws[0, :, 0, :]       # (dose, draw)
    assert np.all(ga < aa)                                  # geometric < arithmetic mean with spread (AM-GM)
    assert "lower is better" in g.summary()
    with pytest.raises(DataError, match="endpoint must be"):
        cs.dose_reduction(cal.model(), [5, 10], endpoint="median", **kw)
