"""Bayesian hierarchical Hill model: data handling, equations, wiring (fast, mocked sampling)."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.fitting.bayes import dose_response as DR


pytestmark = [
    pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning"),  # mock (prior) sampling only
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]


@pytest.fixture(scope="module")
def single():
    return DR.simulate_dose_response_study(5, n_groups=3, replicates=2)


@pytest.fixture(scope="module")
def combo():
    return DR.simulate_dose_response_study(6, n_groups=2, replicates=1, interaction=0.8,
                                           doses=(0.0, 0.1, 1.0, 10.0))


@pytest.fixture
def mock_pymc(monkeypatch):
    import pymc as pm
    from pymc.testing import mock_sample

    ss = {"diverging": lambda size: np.zeros(size, dtype=bool)}
    monkeypatch.setattr(pm, "sample", functools.partial(mock_sample, sample_stats=ss))
    yield


# ----------------------------------------------------------------------------- data
def test_prepare_single_and_scales(single):
    before = single.copy()
    a = DR.prepare_dose_response(single, "dose", "viability", group="experiment")
    pd.testing.assert_frame_equal(single, before)
    assert a.n_curves == 3 and a.n_populations == 1 and a.n_agents == 1
    pos = single["dose"][single["dose"] > 0]
    assert a.dose_ref[0] == pytest.approx(np.exp(np.log(pos).mean()))
    np.testing.assert_allclose(a.v, single["viability"])
    inh = single.assign(inhibition=100 * (1 - single["viability"]))
    b = DR.prepare_dose_response(inh, "dose", "inhibition", group="experiment", response_kind="inhibition",
                                 scale="percent")
    np.testing.assert_allclose(b.v, a.v)
    with pytest.raises(DataError, match="scale='percent'"):
        DR.prepare_dose_response(inh, "dose", "inhibition", response_kind="inhibition")
    with pytest.raises(DataError, match="scale='fraction'"):
        DR.prepare_dose_response(single, "dose", "viability", scale="percent")
    with pytest.raises(DataError, match=">= 0"):
        DR.prepare_dose_response(single.assign(dose=np.log10(single["dose"] + 1e-3)), "dose", "viability")
    with pytest.raises(DataError, match="not found"):
        DR.prepare_dose_response(single, "dose", "viability", group="plate")


def test_prepare_combination_and_populations(combo):
    df = pd.concat([combo.assign(line="HCC1806"), combo.assign(line="MDA-MB-231")], ignore_index=True)
    a = DR.prepare_dose_response(df, ("dose_a", "dose_b"), "viability", by="line", group="experiment")
    assert a.n_agents == 2 and list(a.population_labels) == ["HCC1806", "MDA-MB-231"]
    assert a.n_curves == 4 and list(a.curve_population) == [0, 0, 1, 1]
    assert list(a.agent_labels) == ["dose_a", "dose_b"]


# ----------------------------------------------------------------------------- equations
def test_response_equations():
    rng = np.random.default_rng(1)
    ldr = rng.normal(size=(50, 2))
    pos = rng.random((50, 2)) > 0.2
    ldr = np.where(pos, ldr, 0.0)
    lec, lh, li, e0 = rng.normal(size=2), rng.normal(0, 0.3, 2), rng.normal(1, 1, 2), 0.97
    single = [DR.response_fraction(ldr[:, [k]], pos[:, [k]], lec[[k]], lh[[k]], li[[k]], e0) / e0 for k in (0, 1)]
    bliss0 = DR.response_fraction(ldr, pos, lec, lh, li, e0, 0.0, "bliss")
    np.testing.assert_allclose(bliss0, e0 * single[0] * single[1])          # kappa = 0: Bliss independence
    pot0 = DR.response_fraction(ldr, pos, lec, lh, li, e0, 0.0, "potency")
    np.testing.assert_allclose(pot0, bliss0)                                  # alpha = 1: Bliss independence
    syn = DR.response_fraction(ldr, pos, lec, lh, li, e0, 1.0, "bliss")
    both = pos.all(axis=1)
    assert (syn[both] < bliss0[both]).all() and np.allclose(syn[~both], bliss0[~both])
    ps = DR.response_fraction(ldr, pos, lec, lh, li, e0, 1.0, "potency")
    assert (ps[both] < pot0[both]).all()
    # zero dose -> e0; EC50 -> half of imax
    z = DR.response_fraction(np.zeros((1, 1)), np.zeros((1, 1), bool), lec[:1], lh[:1], li[:1], e0)
    assert z.item() == pytest.approx(e0)
    half = DR.response_fraction(lec[:1][None], np.ones((1, 1), bool), lec[:1], lh[:1], li[:1], 1.0)
    assert half.item() == pytest.approx(1 - 0.5 / (1 + np.exp(-li[0])))


def test_dose_unit_invariance(single):
    a = DR.prepare_dose_response(single, "dose", "viability", group="experiment")
    b = DR.prepare_dose_response(single.assign(dose=single["dose"] * 1000), "dose", "viability", group="experiment")
    np.testing.assert_allclose(a.log_dose_rel, b.log_dose_rel, atol=1e-12)
    assert b.dose_ref[0] == pytest.approx(1000 * a.dose_ref[0])


@pytest.mark.parametrize("kind,lik", [("bliss", "normal"), ("potency", "student_t")])
def test_model_logp_matches_numpy(combo, kind, lik):
    import pytensor

    a = DR.prepare_dose_response(combo, ("dose_a", "dose_b"), "viability", group="experiment")
    pri = DR._default_priors(a, kind, lik)
    m = DR.build_dose_response_model(a, pri, combination=kind, likelihood=lik)
    rng = np.random.default_rng(2)
    pt0 = {k: v + 0.2 * rng.standard_normal(np.shape(v)) for k, v in m.initial_point().items()}
    fn = pytensor.function(m.value_vars, m.logp(vars=m.observed_RVs), mode="FAST_COMPILE",
                           on_unused_input="ignore")
    got = float(fn(**{v.name: pt0[v.name] for v in m.value_vars}))
    cp_ = a.curve_population
    par = {}
    for n, agent in (("log_ec50", True), ("log_hill", True), ("logit_imax", True), ("e0", False),
                     ("interaction", False)):
        mean = pt0[f"{n}_mean"][cp_]
        sd = np.exp(pt0[f"{n}_sd_log__"])
        par[n] = mean + sd * pt0[f"z_{n}"]
    oc = a.obs_curve
    mu = DR.response_fraction(a.log_dose_rel, a.dose > 0, par["log_ec50"][oc], par["log_hill"][oc],
                              par["logit_imax"][oc], par["e0"][oc], par["interaction"][oc], kind)
    sig = np.exp(pt0["sigma_log__"])
    dist = stats.t(np.exp(pt0["nu_log__"]), mu, sig) if lik == "student_t" else stats.norm(mu, sig)
    assert got == pytest.approx(dist.logpdf(a.v).sum(), rel=1e-9)


def test_prior_predictive(single):
    pp = DR.prior_predictive_dose_response(single, "dose", "viability", group="experiment", seed=0, samples=1000)
    assert pp.coverage > 0.95
    assert pp.draws["response"].shape == (1000, len(single))
    assert "prior predictive" in pp.summary()


# ----------------------------------------------------------------------------- wiring
def test_single_agent_wiring(single, mock_pymc, tmp_path):
    res = cp.bayes.fit_dose_response(single, dose="dose", response="viability", group="experiment",
                                     sampler="pymc", draws=20, chains=2, seed=0, check=False, dose_unit="uM")
    post = res.idata.posterior
    np.testing.assert_allclose(post["ec50"].values, np.exp(post["log_ec50_mean"].values) * res.arrays.dose_ref)
    p = res.params
    assert p.loc[p["param"] == "ec50", "unit"].item() == "uM"
    pr = res.predict([0.0, 1.0, 10.0], seed=1)
    assert pr.dims == ("chain", "draw", "population", "dose")
    # at dose 0 the prediction for the population is e0 (new_group=False: no experiment noise)
    p0 = res.predict([0.0], new_group=False)
    np.testing.assert_allclose(p0.isel(dose=0, population=0).values, post["e0"].isel(population=0).values)
    with pytest.raises(DataError, match="no combination"):
        res.p_synergy()
    back = cp.bayes.load_result(res.to_netcdf(tmp_path / "dr.nc"))
    pd.testing.assert_frame_equal(back.params, res.params)
    assert "single agent" in res.summary()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kind in ("curves", "ec50", "trace"):
        ax = res.plot(kind=kind)
        assert isinstance(ax, matplotlib.axes.Axes)
        plt.close(ax.figure)


def test_combination_wiring(combo, mock_pymc):
    res = cp.bayes.fit_dose_response(combo, dose=("dose_a", "dose_b"), response="viability", group="experiment",
                                     sampler="pymc", draws=20, chains=2, seed=0, check=False)
    post = res.idata.posterior
    assert post["interaction"].dims == ("chain", "draw", "population")
    assert post["ec50"].dims == ("chain", "draw", "population", "agent")
    ps = res.p_synergy()
    assert ps.iloc[0] == pytest.approx(float((post["interaction"].values > 0).mean()))
    s = res.synergy()
    assert "interaction > 0 = synergy" in s["sign_convention"].item()
    grid = res.predict([0.0, 1.0], dose_b=[0.0, 1.0], new_group=False)
    assert grid.dims == ("chain", "draw", "population", "dose", "dose_b")
    only_b = res.predict([1.0], agent="dose_b", new_group=False)
    np.testing.assert_allclose(only_b.values[..., 0], grid.sel(dose=0.0, dose_b=1.0).values)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kind in ("curves", "interaction"):
        ax = res.plot(kind=kind)
        assert isinstance(ax, matplotlib.axes.Axes)
        plt.close(ax.figure)


@pytest.mark.parametrize("case", ["single-pooled", "single-one-curve", "bliss-pooled", "bliss-two-lines"])
def test_numba_kernel_equals_pymc_density(single, combo, case):
    """The hand-written Hill density used with nutpie equals the PyMC model's (value up to a constant, gradient)."""
    import pytensor

    from comboplan.fitting.bayes.fastdose import FastDoseModel, supported

    two = pd.concat([combo.assign(line="x"), combo.assign(line="y")], ignore_index=True)
    df, dose, by, group, comb = {
        "single-pooled": (single, "dose", None, "experiment", None),
        "single-one-curve": (single, "dose", None, None, None),
        "bliss-pooled": (combo, ("dose_a", "dose_b"), None, "experiment", "bliss"),
        "bliss-two-lines": (two, ("dose_a", "dose_b"), "line", "experiment", "bliss"),
    }[case]
    a = DR.prepare_dose_response(df, dose, "viability", by=by, group=group)
    hier = a.n_curves > a.n_populations
    pri = DR._default_priors(a, comb, "normal")
    assert supported(pri, comb, "normal")
    fm = FastDoseModel(a, pri, comb, hier)
    m = DR.build_dose_response_model(a, pri, combination=comb, hierarchical=hier)
    vv = m.value_vars
    f = pytensor.function(vv, [m.logp(), *pytensor.grad(m.logp(), vv)], mode="FAST_COMPILE")
    rng = np.random.default_rng(1)
    consts = []
    for i in range(3):
        x = fm.initial_point(i) + 0.3 * rng.standard_normal(fm.ndim)
        vals, k = {}, 0
        for (name, n, shape), v in zip(fm.layout, vv):
            vals[v.name] = x[k:k + n].reshape(shape) if shape else x[k]
            k += n
        outs = f(**vals)
        lp, g = fm.logp_and_grad(x)
        np.testing.assert_allclose(g, np.concatenate([np.ravel(o) for o in outs[1:]]), rtol=1e-9, atol=1e-9)
        consts.append(float(outs[0]) - lp)
    assert np.ptp(consts) < 1e-8
    assert not supported(pri, "potency", "normal") and not supported(pri, comb, "student_t")
