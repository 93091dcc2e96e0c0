"""Cohorts: reproducibility, structure, simulate -> fit -> recover, scenario files, CLI."""
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
    assert a.dataset["size"].dims == ("scenario", "draw", "animal", "time")
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
