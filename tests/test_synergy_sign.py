"""One sign convention (DESIGN.md section 8, issue 14 item 2).

Every synergy output has a ``synergy_score`` where > 0 means synergy and < 0 antagonism, next
to the raw model quantity, which keeps its own name and sign; every ``summary()`` says so in
the same sentence (:func:`comboplan._sign.sign_sentence`).  For each family a strongly
synergistic simulated case scores > 0 and an antagonistic one < 0.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan._sign import SYNERGY_SCORE_SIGN, sign_sentence
from comboplan.models.combination.musyc import musyc
from comboplan.models.dose_response import hill

pytestmark = [pytest.mark.filterwarnings("ignore::comboplan.exceptions.ComboplanWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]

SYN, ANT = "synergy", "antagonism"
SIGN = {SYN: 1.0, ANT: -1.0}


def _states(res):
    """The sentence is in the summary (word for word the package-wide part)."""
    text = res.summary()
    assert "Sign: " + SYNERGY_SCORE_SIGN + "; here synergy_score = " in text
    return text


def test_sign_sentence_is_one_sentence():
    s = sign_sentence("observed - reference", "CI < 1 = synergy")
    assert s == ("Sign: synergy_score > 0 means synergy and < 0 antagonism (in every comboplan result); here "
                 "synergy_score = observed - reference; raw: CI < 1 = synergy.")
    assert sign_sentence("x").endswith("here synergy_score = x.")


# ===================================================================================== in vitro
def _grid(excess, seed=1, reps=3, sd=1.0):
    """Bliss-independent Hill pair plus ``excess`` inhibition points in every combination cell."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in (0, 0.1, 0.3, 1, 3, 10.0):
        for b in (0, 0.2, 0.6, 2, 6, 20.0):
            f1, f2 = hill(a, 0, 1, 1, 1.2), hill(b, 0, 0.8, 2, 1.0)
            e = 100 * (1 - (1 - f1) * (1 - f2)) + (excess if a > 0 and b > 0 else 0)
            for r in range(reps):
                inh = float(np.clip(e + rng.normal(0, sd), 0.5, 99.5))
                rows.append(dict(A=a, B=b, inh=inh, v=1 - inh / 100, rep=r))
    return pd.DataFrame(rows)


GRIDS = {SYN: 20.0, ANT: -20.0}


@pytest.mark.parametrize("case", [SYN, ANT])
def test_synergy_scores(case):
    res = cp.synergy(_grid(GRIDS[case]), ["A", "B"], "inh", methods=("bliss", "hsa", "loewe", "zip"),
                     replicate="rep", n_boot=0)
    s = SIGN[case]
    assert (s * res.blocks["synergy_score"] > 0).all()
    np.testing.assert_array_equal(res.blocks["synergy_score"], res.blocks["mean"])       # raw column kept
    np.testing.assert_array_equal(res.cells["synergy_score"], res.cells["score"])
    assert s * res.cells["synergy_score"].mean() > 0
    loewe = res.cells[res.cells["method"] == "loewe"]
    assert s * (1 - loewe["loewe_ci"].median()) > 0                                          # raw: < 1 synergy
    assert "raw: loewe_ci < 1 = synergy" in _states(res)


@pytest.mark.parametrize("case", [SYN, ANT])
def test_score_matrix(case):
    d = _grid(GRIDS[case], reps=1, sd=0.0)
    res = cp.score_matrix(d.A.to_numpy(), d.B.to_numpy(), d.inh.to_numpy(), method="loewe")
    assert SIGN[case] * np.mean(res.synergy_score) > 0
    np.testing.assert_array_equal(res.synergy_score, res.score)
    assert "synergy_score" in res.to_frame() and "synergy_score" in res.to_xarray()
    _states(res)


@pytest.mark.parametrize("case", [SYN, ANT])
def test_chou_talalay(case):
    res = cp.chou_talalay(_grid(GRIDS[case]), ["A", "B"], "inh", replicate="rep")
    s = SIGN[case]
    for tab in (res.levels, res.points):
        ok = tab["CI"].notna()
        assert ok.any()
        np.testing.assert_allclose(tab.loc[ok, "synergy_score"], -np.log10(tab.loc[ok, "CI"]))
        assert s * tab.loc[ok, "synergy_score"].median() > 0
        assert s * (1 - tab.loc[ok, "CI"].median()) > 0                     # the raw CI keeps its sign
        assert (tab.loc[ok, "synergy_score_ci_low"] <= tab.loc[ok, "synergy_score_ci_high"]).all()
    assert "synergy_score" in res.to_xarray()
    assert "synergy_score = -log10(CI); raw: CI < 1 = synergy" in _states(res)


def _musyc_data(alpha, e3, seed=2):
    rng = np.random.default_rng(seed)
    d1, d2 = np.meshgrid([0, 0.1, 0.3, 1, 3, 10.0], [0, 0.1, 0.3, 1, 3, 10.0])
    d1, d2 = np.repeat(d1.ravel(), 2), np.repeat(d2.ravel(), 2)
    y = musyc(d1, d2, 1.0, 0.3, 0.4, e3, 1.5, 1.2, 1.0, 1.5, alpha, alpha)
    return pd.DataFrame({"A": d1, "B": d2, "v": y + rng.normal(0, 0.01, y.size), "rep": np.tile([0, 1], y.size // 2)})


@pytest.mark.parametrize("case", [SYN, ANT])
def test_musyc(case):
    alpha, e3 = (10.0, 0.05) if case == SYN else (0.1, 0.6)
    res = cp.fit_musyc(_musyc_data(alpha, e3), ["A", "B"], "v", replicate="rep", n_boot=0)
    p = res.params.set_index("param")
    s = SIGN[case]
    for nm in ("alpha12", "alpha21"):
        assert p.loc[nm, "synergy_score"] == pytest.approx(np.log10(p.loc[nm, "estimate"]))
        assert s * p.loc[nm, "synergy_score"] > 0
    assert s * p.loc["beta", "synergy_score"] > 0 and p.loc["beta", "synergy_score"] == p.loc["beta", "estimate"]
    assert np.isnan(p.loc["E0", "synergy_score"]) and p.loc["alpha12", "sign"].startswith("> 1 synergy")
    _states(res)


@pytest.mark.parametrize("fit", ["fit_braid", "fit_zimmer"])
@pytest.mark.parametrize("case", [SYN, ANT])
def test_response_surfaces(fit, case):
    res = getattr(cp, fit)(_grid(GRIDS[case]), doses=["A", "B"], response="v", replicate="rep", n_boot=0)
    s = SIGN[case]
    assert s * res.blocks["synergy_score"].iloc[0] > 0
    np.testing.assert_array_equal(res.cells["synergy_score"], res.cells["excess"])
    est = res.estimates()
    raw = est["kappa"] if fit == "fit_braid" else -(est["a12"] + est["a21"])   # Zimmer: a < 0 = synergy
    assert s * raw > 0
    assert "raw: " in _states(res)


# ===================================================================================== in vivo
DAYS = np.array([0.0, 4, 7, 11, 14, 18, 21])
# growth rates (1/day) of control, A, B and A+B: Bliss expects 0.07 + 0.06 - 0.10 = 0.03 for A+B
RATES = {SYN: [0.10, 0.07, 0.06, -0.01], ANT: [0.10, 0.07, 0.06, 0.07]}
ARMS = ("control", "A", "B", "A+B")


def _growth(case, n=8, seed=4):
    rng = np.random.default_rng(seed)
    rows = []
    for a, r in zip(ARMS, RATES[case]):
        for i in range(n):
            b, v0 = r + rng.normal(0, 0.01), 100 * np.exp(rng.normal(0, 0.2))
            e = np.r_[0.0, rng.normal(0, 0.05, DAYS.size - 1)]
            rows += [(f"{a}-{i}", a, d, v0 * np.exp(b * d + ee)) for d, ee in zip(DAYS, e)]
    return pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol"])


@pytest.mark.parametrize("case", [SYN, ANT])
def test_invivo_synergy_rates(case):
    res = cp.invivo_synergy(_growth(case), "mouse", "arm", "day", "vol", control="control", n_boot=50, seed=1)
    s = SIGN[case]
    for tab in (res.scores, res.over_time, res.bootstrap):
        np.testing.assert_array_equal(tab["synergy_score"], tab["score"])
    bl = res.scores.set_index("reference")
    assert s * bl.loc["bliss", "synergy_score"] > 0 and s * bl.loc["hsa", "synergy_score"] > 0
    assert s * (1 - bl.loc["bliss", "ci_index"]) > 0                          # raw: index < 1 synergy
    boot = res.bootstrap.set_index(["metric", "reference"])
    assert s * boot.loc[("tc_rtv", "bliss"), "synergy_score"] > 0
    ds = res.to_xarray()
    assert "synergy_score" in ds and "time" in ds.dims and "day" not in ds.dims
    assert "raw: ci_index < 1 = synergy" in _states(res)


@pytest.mark.parametrize("definition", ["invivosyn", "combpdx"])
@pytest.mark.parametrize("case", [SYN, ANT])
def test_invivo_synergy_tools(definition, case):
    res = cp.invivo_synergy(_growth(case), "mouse", "arm", "day", "vol", control="control", definition=definition,
                            n_boot=50, seed=1, days=None)
    s = SIGN[case]
    sc = res.scores[res.scores["window"] == "day"].set_index("reference")
    assert s * sc.loc["bliss", "synergy_score"] > 0 and s * sc.loc["hsa", "synergy_score"] > 0
    if definition == "invivosyn":                                              # raw: index = S_obs/S_exp < 1
        assert s * (1 - sc.loc["bliss", "index"]) > 0
    assert "time" in res.to_xarray().dims
    _states(res)


def _events(case, n=40):
    """Event times (tumour reaching a size) at exponential quantiles: hazards per arm."""
    haz = {"v": 0.3, "a": 0.15, "b": 0.15, "a+b": 0.02 if case == SYN else 0.3}
    q = -np.log(1 - (np.arange(n) + 0.5) / n)
    rows = [(f"{a}{i}", a, min(t / h, 20.0), t / h < 20.0) for a, h in haz.items() for i, t in enumerate(q)]
    return pd.DataFrame(rows, columns=["id", "arm", "t", "e"])


@pytest.mark.parametrize("case", [SYN, ANT])
def test_survival_bliss(case):
    res = cp.growth.survival_analysis(_events(case), time="t", event="e", arm="arm", control="v",
                                      synergy_times=[3.0, 6.0])
    s = SIGN[case]
    np.testing.assert_array_equal(res.synergy["synergy_score"], res.synergy["score"])
    assert (s * res.synergy["synergy_score"] > 0).all()
    assert s * res.synergy_cox["synergy_score"].iloc[0] > 0
    assert "synergy_score" in res.to_xarray()
    _states(res)


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning")
@pytest.mark.parametrize("case", [SYN, ANT])
def test_bayes_growth_interaction(case):
    from comboplan.fitting.bayes.growth import simulate_growth_study

    pytest.importorskip("nutpie")
    d = simulate_growth_study(3, interaction=-0.05 if case == SYN else 0.05, sigma=0.05)
    res = cp.bayes.fit_growth(d, subject="mouse", arm="arm", time="day", size="volume_mm3",
                              interaction={"control": "control", "A": "A", "B": "B", "AB": "A+B"}, draws=200,
                              tune=200, chains=2, seed=1, check=False)
    syn = res.synergy().iloc[0]
    s = SIGN[case]
    assert s * syn["synergy_score"] > 0 and s * syn["interaction_mean"] < 0    # raw: interaction < 0 = synergy
    assert syn["synergy_score"] == pytest.approx(-syn["interaction_mean"])
    ds = res.to_xarray()
    np.testing.assert_array_equal(ds["synergy_score"].values, -ds["interaction"].values)
    assert ds["synergy_score"].attrs["units"] == "1/day"
    assert "raw: interaction = r_AB - r_A - r_B + r_0 < 0 = synergy" in _states(res)


@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning")
@pytest.mark.parametrize("case", [SYN, ANT])
def test_bayes_dose_response_interaction(case):
    pytest.importorskip("nutpie")
    d = cp.bayes.simulate_dose_response_study(3, interaction=0.8 if case == SYN else -0.8, n_groups=2)
    res = cp.bayes.fit_dose_response(d, dose=("dose_a", "dose_b"), response="viability", group="experiment",
                                     draws=200, tune=200, chains=2, seed=1, check=False)
    syn = res.synergy()
    assert (SIGN[case] * syn["synergy_score"] > 0).all()
    np.testing.assert_array_equal(syn["synergy_score"], syn["mean"])          # interaction already > 0 = synergy
    assert "raw: interaction > 0 = synergy" in _states(res)
