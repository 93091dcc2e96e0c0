"""Pure combination models: properties (hypothesis) and cross-checks against `synergy` 1.0.0."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comboplan.models.combination import (
    bliss_excess, bliss_reference, hsa_reference, loewe_index, loewe_reference, median_effect_fit, musyc,
)
from comboplan.models.dose_response import hill

pos = st.floats(0.05, 20.0)
frac = st.floats(0.0, 0.99)


@given(st.lists(frac, min_size=2, max_size=4))
def test_bliss_zero_on_multiplicative_survival(effects):
    e = np.array(effects)
    observed = 1 - np.prod(1 - e)
    assert abs(bliss_excess(observed, e)) < 1e-12
    # percent scale gives the same in percentage points
    assert abs(bliss_excess(100 * observed, 100 * e, top=100)) < 1e-9


@given(st.lists(frac, min_size=2, max_size=4), st.randoms())
def test_agent_order_does_not_change_bliss_hsa(effects, rnd):
    e = np.array(effects)
    perm = np.array(rnd.sample(range(len(e)), len(e)))
    assert np.isclose(bliss_reference(e), bliss_reference(e[perm]))
    assert hsa_reference(e) == hsa_reference(e[perm])


@settings(max_examples=50, deadline=None)
@given(pos, pos, st.floats(0.3, 4.0), st.floats(50, 100), st.floats(0.01, 0.99))
def test_drug_with_itself_is_loewe_additive(d1, d2, h, emax, share):
    """Agent A combined with itself: reference = E_A(d1 + d2) and CI = 1."""
    ec50 = 2.0
    ref = loewe_reference(np.array([d1, d2]), [0, 0], [emax, emax], [ec50, ec50], [h, h])
    assert np.isclose(ref, hill(d1 + d2, 0, emax, ec50, h), rtol=1e-9, atol=1e-9)
    obs = hill(d1 + d2, 0, emax, ec50, h)
    assert np.isclose(loewe_index(np.array([d1, d2]), obs, [0, 0], [emax, emax], [ec50, ec50], [h, h]), 1.0,
                      rtol=1e-8)


@settings(max_examples=30, deadline=None)
@given(pos, pos, pos, st.floats(0.5, 3), st.floats(0.5, 3))
def test_loewe_agent_order_and_three_agents(d1, d2, d3, h1, h2):
    p = dict(e0=[0, 0, 0], einf=[1, 0.7, 0.9], ec50=[1, 3, 0.5], h=[h1, h2, 1.0])
    d = np.array([d1, d2, d3])
    r = loewe_reference(d, **p)
    perm = [2, 0, 1]
    r2 = loewe_reference(d[perm], **{k: np.array(v)[perm] for k, v in p.items()})
    assert np.isclose(r, r2, atol=1e-12)
    assert 0 < r < 1


def test_loewe_beyond_weaker_agent_maximum():
    """Effects above agent 2's maximum are produced by agent 1 alone (agent 2 contributes 0)."""
    p = dict(e0=[0, 0], einf=[1.0, 0.3], ec50=[1, 1], h=[1, 1])
    big = loewe_reference(np.array([[9.0, 1e6]]), **p)
    # agent 1 alone at 9 gives 0.9 > 0.3: agent 2 adds nothing there
    assert np.isclose(big, hill(9.0, 0, 1, 1, 1), atol=1e-10)
    assert np.all(np.isfinite(loewe_reference(np.array([[0.0, 0.0], [1e-9, 1e9]]), **p)))


def test_median_effect_dose_unit_invariance():
    rng = np.random.default_rng(0)
    d = np.geomspace(0.1, 10, 6)
    fa = 1 / (1 + (1.5 / d) ** 1.3) + rng.normal(0, 0.01, 6)
    f1 = median_effect_fit(d, fa)
    f2 = median_effect_fit(d * 1000, fa)
    assert np.isclose(f1["m"][0], f2["m"][0]) and np.isclose(f2["Dm"][0], 1000 * f1["Dm"][0])
    assert np.isclose(f1["r"][0], f2["r"][0])


@settings(max_examples=30, deadline=None)
@given(st.floats(0.3, 3), st.floats(0.3, 3), st.floats(0.2, 5), st.floats(0.2, 5), st.floats(0.1, 10),
       st.floats(0.1, 10), st.floats(0.5, 2), st.floats(0.5, 2))
def test_musyc_matches_synergy_package_and_reduces_to_hill(h1, h2, C1, C2, a12, a21, g12, g21):
    from synergy.combination import MuSyC

    d1 = np.array([0, 0.3, 1, 3, 0, 2.0])
    d2 = np.array([0, 0, 0.5, 2, 5, 0.7])
    p = dict(E0=1, E1=0.5, E2=0.3, E3=0.1, h1=h1, h2=h2, C1=C1, C2=C2, alpha12=a12, alpha21=a21,
             gamma12=g12, gamma21=g21)
    ref = MuSyC(**p).E(d1, d2)
    assert np.allclose(musyc(d1, d2, **p), ref, rtol=1e-9, atol=1e-12)
    # one agent absent -> Hill curve of the other
    assert np.allclose(musyc(d1, 0 * d1, **p), hill(d1, 1, 0.5, C1, h1), atol=1e-12)
    # dose-unit invariance: scale d1 and C1 by k
    assert np.allclose(musyc(10 * d1, d2, **{**p, "C1": 10 * C1}), musyc(d1, d2, **p), atol=1e-12)


def test_bliss_hsa_match_synergy_package_on_grid():
    """Same monotherapy values: comboplan Bliss/HSA excess = `synergy` (viability) scores."""
    from synergy.combination import HSA, Bliss

    rng = np.random.default_rng(3)
    d = np.array([0, 0.1, 0.5, 2.0])
    D1, D2 = np.meshgrid(d, d, indexing="ij")
    v1 = hill(D1, 1, 0.2, 0.4, 1.0)
    v2 = hill(D2, 1, 0.5, 0.8, 1.5)
    V = v1 * v2 - 0.05 * (D1 > 0) * (D2 > 0) + rng.normal(0, 0.01, D1.shape) * (D1 > 0) * (D2 > 0)
    V[D1 + D2 == 0] = 1.0
    V[(D1 > 0) & (D2 == 0)] = v1[(D1 > 0) & (D2 == 0)]
    V[(D2 > 0) & (D1 == 0)] = v2[(D2 > 0) & (D1 == 0)]
    b = Bliss()
    sb = b.fit(D1.ravel(), D2.ravel(), V.ravel())
    h = HSA()
    sh = h.fit(D1.ravel(), D2.ravel(), V.ravel())
    comb = (D1 > 0) & (D2 > 0)
    mono1 = np.array([V[i, 0] for i in range(4)])
    mono2 = np.array([V[0, j] for j in range(4)])
    e = np.stack([1 - mono1[:, None] + 0 * D1, 1 - mono2[None, :] + 0 * D1], -1)
    ours_b = bliss_excess(1 - V, e)
    ours_h = (1 - V) - hsa_reference(e)
    assert np.allclose(ours_b[comb], sb.reshape(4, 4)[comb], atol=1e-12)
    assert np.allclose(ours_h[comb], sh.reshape(4, 4)[comb], atol=1e-12)
