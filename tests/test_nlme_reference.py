"""The NLME engine against frozen R references (tests/reference/nlme_theoph, nlme_tgi).

Theophylline (R's datasets::Theoph, Boeckmann, Sheiner & Beal 1994; Pinheiro & Bates 2000
sec. 8.2): one-compartment first-order absorption in log parameters, random effects on lKa and
lCl (diagonal), additive error.  References: lme4::nlmer 1.1-31 (Laplace, nAGQ = 1, tight
tolerance) and an in-script R Laplace with the Gauss-Newton Hessian (FOCE-I form), both
frozen in results.json by tests/reference/nlme_theoph/fit_theoph.R.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from comboplan.fitting.nlme import NLMEProblem, fit_nlme, laplace_objective

REF = Path(__file__).parent / "reference"


def _theoph_problem(random=("lKa", "lCl")):
    d = pd.read_csv(REF / "nlme_theoph" / "theoph.csv")
    subjects = list(dict.fromkeys(d["Subject"]))
    n = len(subjects)
    m = int(d.groupby("Subject").size().max())
    t = np.zeros((n, m))
    y = np.zeros((n, m))
    dose = np.zeros((n, 1))
    mask = np.zeros((n, m), bool)
    for i, s in enumerate(subjects):
        g = d[d["Subject"] == s]
        k = len(g)
        t[i, :k], y[i, :k], mask[i, :k] = g["Time"], g["conc"], True
        dose[i, 0] = g["Dose"].iloc[0]

    def predict(phi):
        r = phi.shape[0] // n
        tt, dd = np.tile(t, (r, 1)), np.tile(dose, (r, 1))
        lke, lka, lcl = phi[:, [0]], phi[:, [1]], phi[:, [2]]
        ke, ka = np.exp(lke), np.exp(lka)
        return dd * np.exp(lke + lka - lcl) * (np.exp(-ke * tt) - np.exp(-ka * tt)) / (ka - ke)

    names = ("lKe", "lKa", "lCl")
    return NLMEProblem(predict, y, mask, names, ("identity",) * 3, tuple(nm in random for nm in names))


@pytest.fixture(scope="module")
def ref():
    return json.loads((REF / "nlme_theoph" / "results.json").read_text())["fits"]


def test_theoph_objective_equals_r_laplace_at_the_r_optimum(ref):
    """Same parameters -> same -2 log L as R's Laplace (FOCE-I form) to 1e-6."""
    r = ref["inscript_laplace_re2diag"]
    fe, sd = r["fixed_effects"], r["random_effect_sd"]
    ofv, _ = laplace_objective(_theoph_problem(), [fe["lKe"], fe["lKa"], fe["lCl"]], [sd["lKa"], sd["lCl"]],
                               [r["residual_sd"]])
    assert ofv == pytest.approx(-2 * r["logLik"], abs=1e-6)


def test_theoph_fit_reproduces_r_laplace_and_nlmer(ref):
    prob = _theoph_problem()
    fit = fit_nlme(prob, [-2.4, 0.45, -3.2], [0.5, 0.2], [0.7])
    assert fit.converged
    r = ref["inscript_laplace_re2diag"]
    fe = r["fixed_effects"]
    # estimates: equal to R's optimum of the same objective (to optimiser precision)
    np.testing.assert_allclose(fit.theta, [fe["lKe"], fe["lKa"], fe["lCl"]], atol=2e-4)
    np.testing.assert_allclose(fit.omega, [r["random_effect_sd"]["lKa"], r["random_effect_sd"]["lCl"]], rtol=1e-3)
    assert fit.sigma[0] == pytest.approx(r["residual_sd"], rel=1e-4)
    assert fit.ofv == pytest.approx(-2 * r["logLik"], abs=1e-5)
    assert fit.aic == pytest.approx(r["AIC"], abs=1e-5)
    # standard errors: the inverse Hessian of -log L in the same (log-SD) parametrisation
    se_r = np.sqrt(np.diag(np.asarray(r["vcov_optim_scale"]["values"])))
    np.testing.assert_allclose(fit.se_x, se_r, rtol=0.02)
    # lme4::nlmer (Laplace, tight tolerance): within a hundredth of a standard error
    nl = ref["nlmer_laplace_re2diag"]
    nfe = nl["fixed_effects"]
    assert np.all(np.abs(fit.theta - [nfe["lKe"], nfe["lKa"], nfe["lCl"]]) < 0.01 * se_r[:3])
    assert fit.ofv == pytest.approx(-2 * nl["logLik"], abs=1e-4)
    # Pinheiro & Bates' final model fm3Theo.nlme (nlme's Lindstrom-Bates ML), as produced by the book's
    # own script (nlme/scripts/ch08.R) under R 4.2.2: a different approximation of the same likelihood,
    # so the estimates agree within nlme's standard errors, not to the digit
    book = json.loads((REF / "nlme_theoph" / "results.json").read_text())["book_route_check"]["fm3Theo.nlme"]
    nse = ref["nlme_ml_re2diag"]["fixed_effects_se"]
    for j, k in enumerate(("lKe", "lKa", "lCl")):
        assert abs(fit.theta[j] - book["fixed_effects"][k]) < 0.5 * nse[k]


def test_theoph_one_random_effect_and_quadrature(ref):
    """lCl-only model: Laplace equals R's Laplace; the exact (AGQ-25) ML is a different, lower optimum."""
    prob = _theoph_problem(random=("lCl",))
    fit = fit_nlme(prob, [-2.4, 0.45, -3.2], [0.2], [0.7])
    r = ref["inscript_laplace_re1"]
    assert fit.ofv == pytest.approx(-2 * r["logLik"], abs=1e-5)
    fe = r["fixed_effects"]
    np.testing.assert_allclose(fit.theta, [fe["lKe"], fe["lKa"], fe["lCl"]], atol=2e-4)
    agq = ref["inscript_agq25_re1"]
    assert -2 * agq["logLik"] > fit.ofv - 1.0   # the approximation error is stated, not hidden


def test_simulated_tgi_reference():
    """The R-simulated TGI study (tests/reference/nlme_tgi: log V = lw0_i + exp(llam_i) t - kA AUC_A
    - kB AUC_B, random effects on lw0 and llam): our Laplace optimum equals R's Laplace optimum
    (in-script, FOCE-I form) and lme4::nlmer's."""
    res = json.loads((REF / "nlme_tgi" / "results.json").read_text())["fits"]
    d = pd.read_csv(REF / "nlme_tgi" / "tgi.csv")
    animals = list(dict.fromkeys(d["Animal"]))
    n, m = len(animals), int(d.groupby("Animal").size().max())
    arr = {c: np.zeros((n, m)) for c in ("Day", "aucA", "aucB", "logV")}
    mask = np.zeros((n, m), bool)
    for i, a in enumerate(animals):
        g = d[d["Animal"] == a]
        for c in arr:
            arr[c][i, :len(g)] = g[c]
        mask[i, :len(g)] = True

    def predict(phi):
        r = phi.shape[0] // n
        t, A, B = (np.tile(arr[c], (r, 1)) for c in ("Day", "aucA", "aucB"))
        return phi[:, [0]] + np.exp(phi[:, [1]]) * t - phi[:, [2]] * A - phi[:, [3]] * B

    prob = NLMEProblem(predict, arr["logV"], mask, ("lw0", "llam", "kA", "kB"), ("identity",) * 4,
                       (True, True, False, False))
    fit = fit_nlme(prob, [4.5, -2.3, 0.05, 0.05], [0.3, 0.3], [0.2])
    ref = res["inscript_laplace"]
    fe = ref["fixed_effects"]
    np.testing.assert_allclose(fit.theta, [fe["lw0"], fe["llam"], fe["kA"], fe["kB"]], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(fit.omega, [ref["random_effect_sd"]["lw0"], ref["random_effect_sd"]["llam"]], rtol=1e-3)
    assert fit.sigma[0] == pytest.approx(ref["residual_sd"], rel=1e-4)
    assert fit.ofv == pytest.approx(-2 * ref["logLik"], abs=1e-5)
    np.testing.assert_allclose(fit.se_x[:4], [ref["fixed_effects_se"][k] for k in ("lw0", "llam", "kA", "kB")],
                               rtol=0.03)
    assert fit.ofv == pytest.approx(-2 * res["nlmer_laplace"]["logLik"], abs=1e-4)
