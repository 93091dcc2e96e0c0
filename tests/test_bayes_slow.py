"""Real MCMC fits (nutpie) on seeded simulated data: recovery and the censoring bias.

Marked slow: each fit compiles a model with numba (about 10-40 s on 2 cores with a
cold cache) and samples 4 chains x 500 draws (about 1-5 s).  Coverage at the nominal
rate over many data sets is shown by benchmarks/calibration_bayes.py.
"""
from __future__ import annotations

import numpy as np
import pytest

import comboplan as cp
from comboplan.fitting.bayes.dose_response import simulate_dose_response_study
from comboplan.fitting.bayes.growth import simulate_growth_study

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]

COLS = dict(subject="mouse", arm="arm", time="day", size="volume_mm3")
# a regressing combination arm: its tumours fall below the detection limit late in the study
TRUTH = dict(r_control=0.12, effect_A=-0.1, effect_B=-0.1, interaction=-0.08)
LLOQ = 30.0  # mm3


@pytest.fixture(scope="module")
def censored_study():
    df = simulate_growth_study(21, lloq=LLOQ, **TRUTH)
    assert 10 <= df["below_lloq"].sum() <= 30  # the design really has censored values
    return df


@pytest.fixture(scope="module")
def censored_fit(censored_study):
    return cp.bayes.fit_growth(censored_study, **COLS, interaction=("drug_a", "drug_b"), lloq=LLOQ,
                               draws=500, tune=500, chains=4, seed=1, check=False, size_unit="mm3")


def _row(res, param, index=""):
    t = res.params.set_index(["param", "index"])
    return t.loc[(param, index)]


def test_growth_fit_recovers_known_parameters(censored_study, censored_fit):
    res = censored_fit
    truth = censored_study.attrs["truth"]
    d = res.diagnostics
    assert d.n_divergent == 0 and d.table["r_hat"].max() < 1.02
    assert res.meta["sampler"] == "nutpie"
    for arm, r in truth["r_arm"].items():  # every arm rate inside its 90 % interval
        row = _row(res, "r_arm", arm)
        assert row["ci_low"] <= r <= row["ci_high"], (arm, r, row.to_dict())
        assert abs(row["mean"] - r) < 0.02  # 1/day
    row = _row(res, "interaction")
    assert row["ci_low"] <= TRUTH["interaction"] <= row["ci_high"]
    assert res.p_synergy() > 0.99  # strong true synergy is detected
    for name in ("sigma", "sigma_baseline", "sigma_animal"):
        row = _row(res, name)
        assert abs(row["mean"] - truth[name]) < 3 * row["sd"], name
    # per-animal rates track the simulated ones
    r_an = res.idata.posterior["r_animal"].mean(("chain", "draw")).to_pandas()
    true_an = np.array([truth["r_animal"][a] for a in r_an.index])
    assert np.corrcoef(r_an.to_numpy(), true_an)[0, 1] > 0.95
    # posterior predictive for a new control animal brackets the true median trajectory
    pr = res.predict([16.0], arms=["control"], seed=3)
    lo, hi = np.quantile(pr.values, [0.05, 0.95])
    assert lo < np.exp(truth["log_baseline_mean"] + 16 * truth["r_arm"]["control"]) < hi


def test_censored_likelihood_removes_bias(censored_study, censored_fit):
    """Treating values at the LLOQ as observed flattens the regressing arm; the censored likelihood does not."""
    as_observed = censored_study.assign(  # the common shortcut: undetectable tumours recorded at the LLOQ
        volume_mm3=censored_study["volume_mm3"].where(~censored_study["below_lloq"], LLOQ))
    naive = cp.bayes.fit_growth(as_observed, **COLS, interaction=("drug_a", "drug_b"), draws=500, tune=500,
                                chains=4, seed=1, check=False)
    true_rab = censored_study.attrs["truth"]["r_arm"]["A+B"]
    cens_rab, naive_rab = _row(censored_fit, "r_arm", "A+B"), _row(naive, "r_arm", "A+B")
    assert naive_rab["mean"] - true_rab > 0.05                 # naive: strongly biased towards no regression
    assert not naive_rab["ci_low"] <= true_rab <= naive_rab["ci_high"]
    assert abs(cens_rab["mean"] - true_rab) < 0.25 * abs(naive_rab["mean"] - true_rab)
    cens_i, naive_i = _row(censored_fit, "interaction"), _row(naive, "interaction")
    assert not naive_i["ci_low"] <= TRUTH["interaction"] <= naive_i["ci_high"]  # synergy underestimated
    assert cens_i["ci_low"] <= TRUTH["interaction"] <= cens_i["ci_high"]
    assert naive.p_synergy() < censored_fit.p_synergy()


def test_dose_response_combination_recovers_interaction():
    df = simulate_dose_response_study(7, n_groups=3, replicates=1, interaction=1.0, doses=(0, 0.1, 0.5, 2, 10))
    truth = df.attrs["truth"]
    res = cp.bayes.fit_dose_response(df, dose=("dose_a", "dose_b"), response="viability", group="experiment",
                                     draws=500, tune=500, chains=4, seed=3, check=False, dose_unit="uM")
    assert res.diagnostics.table["r_hat"].max() < 1.02 and res.diagnostics.n_divergent <= 2
    t = res.params.set_index(["param", "index"])
    for k, agent in enumerate(("dose_a", "dose_b")):
        for name in ("ec50", "hill", "imax"):
            row = t.loc[(name, f"all, {agent}")]
            assert abs(row["mean"] - truth[name][k]) < 3 * row["sd"], (name, agent, row.to_dict())
    syn = res.synergy().iloc[0]
    assert syn["ci_low"] <= truth["interaction"] <= syn["ci_high"]
    assert syn["p_synergy"] > 0.95


def test_numba_kernel_and_pymc_graph_give_the_same_posterior(censored_study, censored_fit):
    """The default (numba-kernel) sampler and nutpie on the compiled PyMC model agree (censored data)."""
    assert censored_fit.meta["backend"] == "numba-kernel"
    graph = cp.bayes.fit_growth(censored_study, **COLS, interaction=("drug_a", "drug_b"), lloq=LLOQ,
                                draws=500, tune=500, chains=4, seed=2, check=False, sampler="nutpie-graph")
    assert graph.meta["backend"] == "pymc-graph"
    for param, index in [("r_arm", arm) for arm in censored_study["arm"].unique()] + [("interaction", ""),
                                                                                       ("sigma", "")]:
        a, b = _row(censored_fit, param, index), _row(graph, param, index)
        assert abs(a["mean"] - b["mean"]) < 0.25 * a["sd"], (param, index)
        assert b["sd"] == pytest.approx(a["sd"], rel=0.2)


def test_dose_response_potency_interaction_on_pymc_graph():
    """The potency (MuSyC-style) model runs on nutpie's compilation of the PyMC graph and recovers log alpha."""
    df = simulate_dose_response_study(8, n_groups=3, replicates=1, interaction=1.0, combination="potency",
                                      doses=(0, 0.1, 0.5, 2, 10))
    res = cp.bayes.fit_dose_response(df, dose=("dose_a", "dose_b"), response="viability", group="experiment",
                                     combination="potency", draws=500, tune=500, chains=4, seed=4, check=False)
    assert res.meta["backend"] == "pymc-graph"
    assert res.diagnostics.table["r_hat"].max() < 1.02 and res.diagnostics.n_divergent <= 2
    syn = res.synergy().iloc[0]
    assert syn["ci_low"] <= 1.0 <= syn["ci_high"] and syn["p_synergy"] > 0.9
    alpha = res.idata.posterior["alpha"]
    np.testing.assert_allclose(alpha.values, np.exp(res.idata.posterior["interaction"].values))
