"""Loewe additivity by dose equivalence for partial agonists (Grabovsky & Tallarida 2004)."""
import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.models.dose_response import hill
from comboplan.models.combination import loewe_index, loewe_reference
from comboplan.models.combination.loewe_equivalence import (
    classic_loewe_undefined,
    equivalent_reference_dose,
    loewe_equivalence_index,
    loewe_equivalence_reference,
    reference_agent,
)


def _p(*agents):
    """(e0, einf, ec50, h) arrays, one entry per agent."""
    return [np.array(v, dtype=float) for v in zip(*agents)]


# ---------------------------------------------------------------- reduction to classic Loewe
@pytest.mark.parametrize("agents", [
    [(0, 100, 1.0, 1.5), (0, 100, 3.0, 1.5)],
    [(5, 80, 0.2, 0.7), (5, 80, 40.0, 0.7), (5, 80, 2.0, 0.7)],       # three agents
])
def test_equals_classic_loewe_when_maxima_baselines_and_slopes_are_equal(agents):
    e0, einf, ec50, h = _p(*agents)
    rng = np.random.default_rng(3)
    D = rng.uniform(0, 5, (200, len(agents))) * ec50
    D[:10, 0] = 0.0
    new = loewe_equivalence_reference(D, e0, einf, ec50, h)
    old = loewe_reference(D, e0, einf, ec50, h)
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-9)
    obs = old + rng.normal(0, 5, len(old))
    obs = np.clip(obs, e0[0] + 1, einf[0] - 1)
    np.testing.assert_allclose(loewe_equivalence_index(D, obs, e0, einf, ec50, h),
                               loewe_index(D, obs, e0, einf, ec50, h), rtol=1e-9)


def test_equal_maxima_with_unequal_slopes_gives_the_curved_isobole_not_classic():
    # documented limitation (Tallarida 2006): with a varying potency ratio the dose-equivalence
    # isobole is curved even though classic Loewe is defined; numbers by hand:
    # A: ec50 1, h 1 (reference by the slope tie-break? no: B is steeper, so B is the reference)
    e0, einf, ec50, h = _p((0, 100, 1.0, 1.0), (0, 100, 1.0, 2.0))
    assert reference_agent([1.0, 1.0], e0, einf, ec50, h) == 1
    # E_A(1) = 50 -> B-equivalent D_B(50) = 1; total 2 -> E_B(2) = 100 * 4 / 5 = 80
    assert loewe_equivalence_reference([1.0, 1.0], e0, einf, ec50, h) == pytest.approx(80.0, abs=1e-12)
    # classic: 1/D_A(E) + 1/D_B(E) = 1 with D_A = E/(100-E), D_B = sqrt(E/(100-E)); u = sqrt(...):
    # 1/u^2 + 1/u = 1 -> u = (1 + sqrt 5)/2, E = 100 u^2 / (1 + u^2)
    u = (1 + np.sqrt(5)) / 2
    assert loewe_reference([1.0, 1.0], e0, einf, ec50, h) == pytest.approx(100 * u**2 / (1 + u**2), abs=1e-9)


# ---------------------------------------------------------------- hand-computed values
def test_hand_computed_full_and_partial_agonist():
    # full agonist A: Emax 100, A50 1, p 1; partial agonist B: Emax 50, B50 2, q 2
    e0, einf, ec50, h = _p((0, 100, 1.0, 1.0), (0, 50, 2.0, 2.0))
    # b = 2: E_B = 25 -> a_eq = 1 * 25/75 = 1/3; a = 1: E = 100 (4/3)/(4/3 + 1) = 400/7
    assert equivalent_reference_dose(2.0, 0, 50, 2.0, 2.0, 0, 100, 1.0, 1.0) == pytest.approx(1 / 3, rel=1e-14)
    assert loewe_equivalence_reference([1.0, 2.0], e0, einf, ec50, h) == pytest.approx(400 / 7, rel=1e-14)
    # classic Loewe is undefined above B's maximum (50): comboplan's classic solver lets B add nothing
    assert loewe_reference([1.0, 2.0], e0, einf, ec50, h) == pytest.approx(50.0, abs=1e-9)
    # b = 1: E_B = 50/5 = 10 -> a_eq = 10/90 = 1/9; a = 0.5: total 11/18, E = 100 * 11/29
    assert loewe_equivalence_reference([0.5, 1.0], e0, einf, ec50, h) == pytest.approx(1100 / 29, rel=1e-14)
    # the order of the agents does not matter
    assert loewe_equivalence_reference([2.0, 1.0], *(v[::-1] for v in (e0, einf, ec50, h))) == \
        pytest.approx(400 / 7, rel=1e-14)
    # interaction index at an observed 75 %: D_A(75) = 3, total 4/3 -> 4/9 (synergy)
    assert loewe_equivalence_index([1.0, 2.0], 75.0, e0, einf, ec50, h) == pytest.approx(4 / 9, rel=1e-13)
    assert classic_loewe_undefined([1.0, 2.0], 400 / 7, e0, einf)
    assert not classic_loewe_undefined([0.5, 1.0], 1100 / 29, e0, einf)


def test_paper_closed_form_with_unequal_slopes():
    # Grabovsky & Tallarida's a_eq(b) = A50 / [(EA/EB)(1 + (B50/b)^q) - 1]^(1/p)
    EA, A50, p = 100.0, 1.5, 2.0
    EB, B50, q = 40.0, 0.5, 0.8
    b = np.array([0.01, 0.3, 1.0, 7.0, 300.0])
    aeq = A50 / ((EA / EB) * (1 + (B50 / b) ** q) - 1) ** (1 / p)
    np.testing.assert_allclose(equivalent_reference_dose(b, 0, EB, B50, q, 0, EA, A50, p), aeq, rtol=1e-12)
    a = 0.7
    tot = a + aeq
    expect = EA * tot**p / (tot**p + A50**p)
    D = np.column_stack([np.full_like(b, a), b])
    np.testing.assert_allclose(loewe_equivalence_reference(D, [0, 0], [EA, EB], [A50, B50], [p, q]), expect,
                               rtol=1e-12)
    # p = 2, a = 1, b = 1 with E_B(1) = 25 of 50... (the worked numbers: D_A(25) = sqrt(1/3))
    assert loewe_equivalence_reference([1.0, 1.0], [0, 0], [100, 50], [1.0, 1.0], [2.0, 1.0]) == pytest.approx(
        100 * (1 + 3**-0.5) ** 2 / ((1 + 3**-0.5) ** 2 + 1), rel=1e-13)


# ---------------------------------------------------------------- properties
def test_surface_is_monotone_and_bounded_by_the_full_agonist():
    rng = np.random.default_rng(11)
    g = np.r_[0.0, np.geomspace(1e-3, 1e3, 40)]
    for _ in range(25):
        e0 = rng.uniform(0, 10, 2)
        einf = rng.uniform(20, 100, 2)
        ec50 = np.exp(rng.normal(0, 2, 2))
        h = np.exp(rng.normal(0, 0.6, 2))
        A, B = np.meshgrid(g * ec50[0], g * ec50[1], indexing="ij")
        E = loewe_equivalence_reference(np.stack([A, B], -1), e0, einf, ec50, h)
        assert np.isfinite(E).all()
        # the untreated corner is the largest baseline (as classic Loewe); compare from below it
        assert E[0, 0] == e0.max()
        E[0, 0] = e0.min()
        assert (np.diff(E, axis=0) >= -1e-9).all() and (np.diff(E, axis=1) >= -1e-9).all()
        assert E.max() <= einf.max() + 1e-9
        assert E[1:, 1:].min() >= e0.max() - 1e-9


def test_self_combination_scores_zero():
    # sham experiment: a partial agonist (max 50 %) combined with itself, and with a 4-fold dilution
    e0, einf, ec50, h = 2.0, 50.0, 1.3, 1.7
    rng = np.random.default_rng(5)
    D = rng.uniform(0, 6, (100, 2))
    P = _p((e0, einf, ec50, h), (e0, einf, ec50, h))
    obs = hill(D.sum(1), e0, einf, ec50, h)
    np.testing.assert_allclose(loewe_equivalence_reference(D, *P), obs, atol=1e-12)
    np.testing.assert_allclose(loewe_equivalence_index(D[D.sum(1) > 0], obs[D.sum(1) > 0], *P), 1.0, rtol=1e-10)
    P4 = _p((e0, einf, ec50, h), (e0, einf, 4 * ec50, h))
    D4 = D * [1, 4]
    np.testing.assert_allclose(loewe_equivalence_reference(D4, *P4) - obs, 0.0, atol=1e-12)


def test_missing_parameters_propagate_and_no_agent_gives_the_baseline():
    e0, einf, ec50, h = _p((0, 100, 1, 1), (0, np.nan, 1, 1))
    assert np.isnan(loewe_equivalence_reference([1, 1], e0, einf, ec50, h))
    assert loewe_equivalence_reference([1, 0], e0, einf, ec50, h) == pytest.approx(50)
    assert loewe_equivalence_reference([0, 0], [3, 7], [100, 50], [1, 1], [1, 1]) == 7


# ---------------------------------------------------------------- through synergy()
def _additive_matrix(agents, noise=0.5, viability=False):
    (a0, a1, a2, a3), (b0, b1, b2, b3) = agents
    lv1 = np.array([0, 0.1, 0.3, 1, 3, 10]) * a2
    lv2 = np.array([0, 0.1, 0.3, 1, 3, 10]) * b2
    rows = []
    for a in lv1:
        for b in lv2:
            E = float(loewe_equivalence_reference([a, b], [a0, b0], [a1, b1], [a2, b2], [a3, b3]))
            for r in range(3):
                y = E + (r - 1) * noise
                rows.append({"a": a, "b": b, "rep": r, "y": 100 - y if viability else y})
    return pd.DataFrame(rows)


def test_synergy_option_scores_dose_equivalent_additive_data_zero_where_classic_does_not():
    df = _additive_matrix([(0, 100, 1.0, 1.2), (0, 50, 2.0, 1.5)])
    kw = dict(methods=["loewe"], replicate="rep", n_boot=30, seed=1)
    classic = cp.synergy(df, ["a", "b"], "y", **kw)
    eq = cp.synergy(df, ["a", "b"], "y", loewe_method="dose_equivalence", **kw)
    assert "beyond_single_max" not in classic.cells.columns          # default unchanged
    assert classic.cells["reference_model"].iloc[0] == "loewe"
    assert classic.cells["score"].abs().max() > 10                    # classic: spurious "synergy"
    assert eq.cells["score"].abs().max() < 1e-3
    assert abs(eq.blocks["mean"].iloc[0]) < 1e-3
    c = eq.cells
    assert set(c["loewe_reference_agent"]) == {"a"}
    assert c["beyond_single_max"].any() and not c["beyond_single_max"].all()
    # flagged exactly where the additive effect reaches B's fitted maximum
    assert (c.loc[c["beyond_single_max"], "reference"] >= 49).all()
    assert c["sign_convention"].iloc[0].startswith("positive = synergy")
    assert c["response_kind"].iloc[0] == "inhibition"
    assert "Grabovsky" in eq.settings["references"]["loewe"] and eq.settings["loewe_method"] == "dose_equivalence"
    assert "Grabovsky" in eq.summary() and eq.to_xarray().attrs["loewe_method"] == "dose_equivalence"


def test_synergy_option_viability_input_and_bad_value():
    agents = [(0, 100, 1.0, 1.2), (0, 50, 2.0, 1.5)]
    inh = cp.synergy(_additive_matrix(agents), ["a", "b"], "y", methods=["loewe"], replicate="rep", n_boot=0,
                     loewe_method="dose_equivalence")
    via = cp.synergy(_additive_matrix(agents, viability=True), ["a", "b"], "y", methods=["loewe"], replicate="rep",
                     n_boot=0, loewe_method="dose_equivalence", response_kind="viability")
    np.testing.assert_allclose(via.cells["score"], inh.cells["score"], atol=1e-6)
    assert via.cells["response_kind"].iloc[0] == "viability"
    with pytest.raises(DataError, match="loewe_method"):
        cp.synergy(_additive_matrix(agents), ["a", "b"], "y", methods=["loewe"], replicate="rep",
                   loewe_method="equivalence")


def test_synergy_self_combination_sham_scores_zero():
    # a partial agonist (max 60 %) "combined" with itself under two names
    e = (0, 60, 1.0, 1.4)
    lv = np.array([0, 0.1, 0.3, 1, 3, 10])
    rows = [{"a": a, "b": b, "rep": r, "y": float(hill(a + b, *e)) + (r - 1) * 0.3}
            for a in lv for b in lv for r in range(3)]
    res = cp.synergy(pd.DataFrame(rows), ["a", "b"], "y", methods=["loewe"], replicate="rep", n_boot=0,
                     loewe_method="dose_equivalence")
    assert res.cells["score"].abs().max() < 1e-3
    np.testing.assert_allclose(res.cells["loewe_ci"], 1.0, atol=1e-4)


def test_score_matrix_option():
    df = _additive_matrix([(0, 100, 1.0, 1.2), (0, 50, 2.0, 1.5)])
    r = cp.score_matrix(df["a"], df["b"], df["y"], method="loewe", loewe_method="dose_equivalence")
    assert np.abs(r.score).max() < 1e-3
    assert r.settings["beyond_single_max"].any()
    assert set(r.settings["loewe_reference_agent"]) == {1}
    assert "Grabovsky" in r.to_xarray().attrs["reference"]
    assert np.abs(cp.score_matrix(df["a"], df["b"], df["y"], method="loewe").score).max() > 10
