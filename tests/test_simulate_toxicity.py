"""Body-weight turnover model: ODE against solve_ivp, drug-free growth, parameter recovery, limits."""
import math
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

matplotlib.use("Agg")

import comboplan.simulate as cs  # noqa: E402
from comboplan.exceptions import ComboplanWarning, DataError  # noqa: E402
from comboplan.models.pk import Regimen, concentration, one_compartment, paclitaxel_mouse  # noqa: E402
from comboplan.simulate.toxicity import (BodyWeightModel, ToxicityLimit, fit_body_weight_model,  # noqa: E402
                                         simulate_body_weight)

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})


def _reference(model, conc, t_end, t_eval, breaks):
    """Independent solution: solve_ivp (DOP853, tight tolerances), restarted at every dose."""
    def rhs(t, y):
        c = conc(t)
        drive = y[1] if model.ke0 is not None else c
        x = (max(drive, 0.0) / model.ec50) ** model.hill
        e = model.emax * x / (1 + x)
        kin = model.kout * model.bw0 * (1 + model.growth * t) + model.bw0 * model.growth
        if model.mechanism == "inhibit_kin":
            dw = kin * (1 - e) - model.kout * y[0]
        else:
            dw = kin - model.kout * (1 + e) * y[0]
        return [dw, (model.ke0 or 0.0) * (c - y[1])]

    y = np.array([model.bw0, 0.0])
    out = {0.0: model.bw0}
    edges = np.unique(np.concatenate([[0.0], breaks, [t_end]]))
    for a, b in zip(edges[:-1], edges[1:]):
        te = [t for t in t_eval if a < t <= b]
        if not te or te[-1] != b:
            te = te + [b]
        sol = solve_ivp(rhs, (a, b), y, t_eval=te, method="DOP853", rtol=1e-11, atol=1e-12, max_step=0.05)
        for t, w in zip(sol.t, sol.y[0]):
            out[float(t)] = w
        y = sol.y[:, -1]
    return np.array([out[float(t)] for t in t_eval])


@pytest.mark.parametrize("mechanism, emax, ke0, hill, growth", [
    ("inhibit_kin", 0.8, None, 1.5, 0.004),
    ("inhibit_kin", 1.0, 1.2, 1.0, 0.0),
    ("stimulate_kout", 2.0, 0.7, 2.0, 0.003),
    ("stimulate_kout", 1.5, None, 1.0, -0.002),
])
def test_ode_matches_solve_ivp_one_compartment_iv(mechanism, emax, ke0, hill, growth):
    """IV bolus one-compartment PK written out here (C = F D / V exp(-k (t - t_d)) summed)."""
    V, k = 0.5, 3.0
    pk = one_compartment(V=V, k=k)
    reg = Regimen(amount=4.0, unit="mg/kg", times=(1.0, 3.5, 6.0), route="iv", agent="paclitaxel")
    model = BodyWeightModel(kout=0.3, emax=emax, ec50=2.0, hill=hill, growth=growth, bw0=22.0, ke0=ke0,
                            mechanism=mechanism)

    def conc(t):
        return sum(4.0 / V * math.exp(-k * (t - td)) for td in reg.times if t >= td)

    t_eval = np.array([0.0, 0.5, 1.0, 1.3, 2.0, 3.5, 4.0, 5.0, 7.0, 9.0, 12.0])
    ref = _reference(model, conc, 12.0, t_eval, np.array(reg.times))
    sim = simulate_body_weight(reg, pk, t_eval, model).dataset["weight"].values[0, 0, 0]
    np.testing.assert_allclose(sim, ref, rtol=1e-5)
    assert sim.min() < 0.97 * model.bw0 * (1 + growth * 12) or growth < 0  # the drug really acts


@pytest.mark.parametrize("ke0", [None, 1.0])
def test_ode_matches_solve_ivp_paclitaxel_ip(ke0):
    reg = Regimen.from_schedule(30, "mg/kg", "q4d x3 from day 1", route="ip", agent="paclitaxel")
    model = BodyWeightModel(kout=0.25, emax=0.9, ec50=0.8, hill=1.3, growth=0.003, ke0=ke0)
    t_eval = np.arange(0.0, 15.0)
    ref = _reference(model, lambda t: float(concentration(reg, PK, [t])[0, 0]), 14.0, t_eval, np.array(reg.times))
    sim = simulate_body_weight(reg, PK, t_eval, model).dataset["weight"].values[0, 0, 0]
    np.testing.assert_allclose(sim, ref, rtol=1e-5)
    assert sim.min() < 0.97 * model.bw0  # the drug really acts


def test_drug_free_weight_is_baseline_or_linear_growth():
    t = np.linspace(0, 28, 29)
    flat = simulate_body_weight(None, None, t, BodyWeightModel(bw0=25.0)).dataset["weight"].values.ravel()
    np.testing.assert_allclose(flat, 25.0, rtol=1e-12)
    grow = simulate_body_weight({"vehicle": None, "zero": Regimen(0.0, times=(0, 7))}, PK, t,
                                BodyWeightModel(bw0=20.0, growth=0.005))
    w = grow.dataset["weight"].values
    np.testing.assert_allclose(w[0, 0, 0], 20.0 * (1 + 0.005 * t), rtol=1e-10)
    np.testing.assert_allclose(w[1], w[0])


def test_dose_ordering_variability_and_seeds():
    doses = {f"{d:g}": Regimen.from_schedule(d, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")
             for d in (5, 10, 20)}
    var = cs.Variability({"kout": 0.3, "ec50": 0.4, "bw0": 0.1, "emax": 0.5})
    model = BodyWeightModel(emax=0.9)
    kw = dict(n_animals=30, variability=var, residual_cv=0.01)
    a = simulate_body_weight(doses, PK, np.arange(15.0), model, seed=4, **kw)
    b = simulate_body_weight(doses, PK, np.arange(15.0), model, seed=4, **kw)
    c = simulate_body_weight(doses, PK, np.arange(15.0), model, seed=5, **kw)
    np.testing.assert_array_equal(a.dataset["observed"].values, b.dataset["observed"].values)
    assert not np.allclose(a.dataset["observed"].values, c.dataset["observed"].values)
    nadir = a.dataset["change_pct"].min("time").values[:, 0]  # (arm, animal)
    # common virtual animals: every animal loses more weight at a higher dose
    assert np.all(nadir[0] > nadir[1]) and np.all(nadir[1] > nadir[2])
    emax_ind = a.dataset["change_pct"].values  # logit-normal emax never exceeds 1: weight stays positive
    assert np.all(emax_ind > -100)
    df = a.to_frame()
    assert {"arm", "subject", "time", "weight", "true_weight"} <= set(df.columns)
    assert df["subject"].nunique() == 90
    assert "nadir" in a.summary()
    assert a.dataset["weight"].attrs["units"] == "g" and a.dataset["change_pct"].attrs["units"] == "%"
    assert a.plot().get_ylabel() == "body weight change from baseline (%)"


def test_simulated_cohort_feeds_bodyweight_endpoints():
    reg = {"vehicle": None,
           "ptx": Regimen.from_schedule(20, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")}
    sim = simulate_body_weight(reg, PK, np.arange(15.0), BodyWeightModel(), n_animals=40,
                               variability=cs.Variability({"kout": 0.3, "ec50": 0.5}), seed=2)
    ep = sim.endpoints(observed=False, humane_loss=0.15)
    true_min = sim.dataset["weight"].min("time") / sim.dataset["weight"].isel(time=0)
    expected = float((true_min.sel(arm="ptx").values <= 0.85).mean())
    assert 0 < expected < 1
    assert ep.endpoint.set_index("arm").loc["ptx", "share"] == pytest.approx(expected)
    assert ep.endpoint.set_index("arm").loc["vehicle", "share"] == 0.0


def _study(truth, seed, n_animals=8, residual_cv=0.01):
    dosing = {"vehicle": None}
    for d in (10, 20, 40):
        dosing[f"ptx{d}"] = Regimen.from_schedule(d, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")
    # between-animal variability in bw0 only: relative courses are then the typical one plus weighing noise
    sim = simulate_body_weight(dosing, PK, np.arange(0.0, 15.0), truth, n_animals=n_animals,
                               variability=cs.Variability({"bw0": 0.1}), residual_cv=residual_cv, seed=seed)
    return sim.to_frame(), dosing


def test_fit_recovers_parameters_within_their_intervals(tmp_path):
    truth = BodyWeightModel(kout=0.25, emax=0.9, ec50=2.0, ke0=1.0)
    df, dosing = _study(truth, seed=11)
    before = df.copy(deep=True)
    fit = fit_body_weight_model(df, dosing, pk=PK, subject="subject", arm="arm", time="time", weight="weight",
                                initial=BodyWeightModel(kout=0.1, emax=0.5, ec50=10.0, ke0=1.0))
    pd.testing.assert_frame_equal(df, before)
    p = fit.params.set_index("param")
    for name in ("kout", "emax", "ec50"):
        v = getattr(truth, name)
        assert p.loc[name, "ci_low"] < v < p.loc[name, "ci_high"], (name, p.loc[name].to_dict())
        assert p.loc[name, "estimate"] == pytest.approx(v, rel=0.15)
        assert not p.loc[name, "fixed"] and p.loc[name, "stderr"] > 0
    assert p.loc["ke0", "fixed"] and p.loc["ke0", "estimate"] == 1.0
    assert fit.identifiable
    assert fit.settings["sigma"] < 1.0  # % points; the weighing CV was 1 %
    assert abs(fit.fitted["residual_pct"]).max() < 3
    ds = fit.to_xarray()
    assert ds["observed_pct"].attrs["units"] == "%"
    fit.to_netcdf(tmp_path / "fit.nc")
    assert (tmp_path / "fit.nc").stat().st_size > 0
    assert dict(zip(ds["param"].values, ds["unit"].values))["ec50"] == "ug/mL"
    d = fit.draws(200, seed=1)
    assert d.n_draws == 200 and np.all((d.values["emax"] > 0) & (d.values["emax"] < 1))
    assert np.std(np.log(d.values["kout"])) == pytest.approx(p.loc["kout", "stderr"] / p.loc["kout", "estimate"],
                                                              rel=0.25)
    assert "kout" in fit.summary() and fit.plot().get_ylabel().endswith("(%)")
    # the result of bodyweight_endpoints is accepted as data, with the same answer
    from comboplan.growth.bodyweight import bodyweight_endpoints

    bw = bodyweight_endpoints(df, subject="subject", arm="arm", time="time", weight="weight")
    fit2 = fit_body_weight_model(bw, dosing, pk=PK, initial=BodyWeightModel(kout=0.1, emax=0.5, ec50=10.0, ke0=1.0))
    np.testing.assert_allclose(fit2.params["estimate"], fit.params["estimate"], rtol=1e-6)


def test_fit_interval_coverage_over_replicate_studies():
    """SEs are honest when the weighing noise is the only noise: ~95 % of the intervals cover kout."""
    truth = BodyWeightModel(kout=0.25, emax=0.9, ec50=2.0, ke0=1.0)
    hits = []
    for seed in range(12):
        df, dosing = _study(truth, seed=100 + seed, n_animals=4, residual_cv=0.02)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ComboplanWarning)
            fit = fit_body_weight_model(df, dosing, pk=PK, subject="subject", arm="arm", time="time",
                                        weight="weight", initial=truth, estimate=("kout", "ec50"))
        p = fit.params.set_index("param")
        hits.append(p.loc["kout", "ci_low"] < truth.kout < p.loc["kout", "ci_high"])
    assert sum(hits) >= 9  # P(<= 8 of 12 | 0.95) < 0.003


def test_poorly_identified_parameters_warn():
    """One low dose far below EC50: emax and ec50 act only through their ratio."""
    truth = BodyWeightModel(kout=0.25, emax=0.9, ec50=50.0, ke0=1.0)
    dosing = {"vehicle": None,
              "ptx": Regimen.from_schedule(20, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")}
    sim = simulate_body_weight(dosing, PK, np.arange(0.0, 15.0), truth, n_animals=6, residual_cv=0.01, seed=3)
    with pytest.warns(ComboplanWarning, match="poorly identified"):
        fit = fit_body_weight_model(sim.to_frame(), dosing, pk=PK, subject="subject", arm="arm", time="time",
                                    weight="weight", initial=BodyWeightModel(ke0=1.0))
    assert not fit.identifiable
    assert any("poorly identified" in n for n in fit.notes)
    assert "poorly identified" in fit.summary()


def test_fit_input_errors():
    df, dosing = _study(BodyWeightModel(), seed=1, n_animals=2)
    kw = dict(subject="subject", arm="arm", time="time", weight="weight")
    with pytest.raises(DataError, match="no entry for arm"):
        fit_body_weight_model(df, {"vehicle": None}, pk=PK, **kw)
    with pytest.raises(DataError, match="not in the data"):
        fit_body_weight_model(df, {**dosing, "other": None}, pk=PK, **kw)
    with pytest.raises(DataError, match="cannot estimate"):
        fit_body_weight_model(df, dosing, pk=PK, estimate=("kout", "V1"), **kw)
    with pytest.raises(DataError, match="column names"):
        fit_body_weight_model(df, dosing, pk=PK)
    with pytest.raises(DataError, match="PK"):
        fit_body_weight_model(df, dosing, pk=None, **kw)


def test_model_and_simulation_errors():
    with pytest.raises(DataError, match="Imax"):
        BodyWeightModel(emax=1.5)
    assert BodyWeightModel(emax=1.5, mechanism="stimulate_kout").emax == 1.5
    with pytest.raises(DataError, match="kout"):
        BodyWeightModel(kout=0)
    with pytest.raises(DataError, match="mechanism"):
        BodyWeightModel(mechanism="direct")
    reg = Regimen(10.0, times=(0,), route="ip", agent="paclitaxel")
    with pytest.raises(DataError, match="PK model"):
        simulate_body_weight(reg, None, [0, 1, 2])
    with pytest.raises(DataError, match="unknown parameter"):
        simulate_body_weight(reg, PK, [0, 1], variability=cs.Variability({"lambda0": 0.2}))
    with pytest.raises(DataError, match="increasing"):
        simulate_body_weight(reg, PK, [0, 2, 1])


def test_toxicity_limit_phrases_and_evaluation():
    m = BodyWeightModel()
    a = ToxicityLimit.parse(m, "mean nadir loss <= 15 %")
    assert (a.criterion, a.limit) == ("mean_nadir", pytest.approx(0.15))
    b = ToxicityLimit.parse(m, "P(animal reaches ≥20 % loss) ≤ 10 %")
    assert (b.criterion, b.humane_loss, b.limit) == ("p_endpoint", pytest.approx(0.2), pytest.approx(0.1))
    c = ToxicityLimit.parse(m, "P(loss >= 15%) <= 0.05", n_animals=7)
    assert (c.humane_loss, c.limit, c.n_animals) == (pytest.approx(0.15), pytest.approx(0.05), 7)
    with pytest.raises(DataError, match="not understood"):
        ToxicityLimit.parse(m, "weight loss is fine")
    with pytest.raises(DataError, match="Did you mean 0.15"):
        ToxicityLimit(m, criterion="mean_nadir", limit=15)
    # deterministic typical animals: the metrics equal the simulated nadir
    arms = {"low": Regimen.from_schedule(5, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel"),
            "high": Regimen.from_schedule(30, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")}
    days = np.arange(0.0, 15.0)
    sim = simulate_body_weight(arms, PK, days, m)
    loss = -sim.dataset["change_pct"].min("time").values[:, 0, 0] / 100
    lim = ToxicityLimit(m, criterion="mean_nadir", limit=float(loss.mean()), n_animals=3)
    tab, metric = cs.evaluate_toxicity(lim, arms, PK, days=days, seed=0)
    np.testing.assert_allclose(tab["metric"], loss, rtol=1e-12)
    assert list(tab["tolerated"]) == [True, False]
    lim2 = ToxicityLimit(m, criterion="p_endpoint", humane_loss=float(loss.mean()), limit=0.5, n_animals=3)
    tab2, _ = lim2.evaluate(arms, PK, days=days, seed=0)
    assert list(tab2["p_endpoint"]) == [0.0, 1.0]


def test_bootstrap_over_animals_reflects_between_animal_variability():
    truth = BodyWeightModel(kout=0.25, emax=0.9, ec50=2.0, ke0=1.0)
    dosing = {"vehicle": None}
    for d in (10, 20, 40):
        dosing[f"ptx{d}"] = Regimen.from_schedule(d, "mg/kg", "daily x5 from day 0", route="ip", agent="paclitaxel")
    sim = simulate_body_weight(dosing, PK, np.arange(0.0, 15.0), truth, n_animals=6,
                               variability=cs.Variability({"kout": 0.3}), residual_cv=0.005, seed=8,
                               common_animals=False)
    fit = fit_body_weight_model(sim.to_frame(), dosing, pk=PK, subject="subject", arm="arm", time="time",
                                weight="weight", initial=truth, estimate=("kout",), n_boot=40, seed=2)
    k = fit.params.set_index("param").loc["kout"]
    assert fit.settings["n_boot_ok"] >= 35
    assert k["boot_se"] > 2 * k["stderr"]  # the asymptotic SE ignores that animals differ
    assert k["boot_low"] < truth.kout < k["boot_high"]
    assert "bootstrap over animals" in fit.summary()
    assert np.isnan(fit.params.set_index("param").loc["ec50", "boot_se"])  # fixed
