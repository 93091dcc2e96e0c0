"""Property tests (hypothesis) for the dose-response model functions and inverses."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comboplan.models.dose_response import (
    DOSE_RESPONSE_MODELS, HILL4, HILL5, LL4, LL5, W14, W24, ecx_absolute, ecx_relative, get_model, hill,
    response_limits,
)
from comboplan.models.spec import numeric_jacobian

resp = st.floats(-200, 200, allow_nan=False)
pos = st.floats(1e-3, 1e3)
slope = st.floats(0.2, 8.0)
pct = st.floats(1.0, 99.0)


@given(e0=resp, einf=resp, ec50=pos, h=slope)
def test_hill_at_zero_is_e0_and_midpoint_at_ec50(e0, einf, ec50, h):
    assert hill(0.0, e0, einf, ec50, h) == pytest.approx(e0)
    assert hill(ec50, e0, einf, ec50, h) == pytest.approx((e0 + einf) / 2, abs=1e-9 * (1 + abs(e0) + abs(einf)))


@given(e0=resp, einf=resp, ec50=pos, h=slope)
def test_hill_monotone_towards_einf(e0, einf, ec50, h):
    d = np.geomspace(ec50 / 100, ec50 * 100, 50)
    y = hill(d, e0, einf, ec50, h)
    steps = np.diff(y) * np.sign(einf - e0)
    assert np.all(steps >= -1e-9)


@pytest.mark.parametrize("name", ["hill4", "hill5", "LL.4", "LL.5", "W1.4", "W2.4"])
@settings(max_examples=40, deadline=None)
@given(x=pct, pot=pos, sl=slope, sgn=st.sampled_from([-1.0, 1.0]), f=st.floats(0.3, 3.0))
def test_inverse_recovers_dose(name, x, pot, sl, sgn, f):
    spec = get_model(name)
    if name.startswith("hill"):
        p = [100.0, 5.0, pot, sl] + ([f] if name == "hill5" else [])
    else:
        p = [sgn * sl, 5.0, 100.0, pot] + ([f] if name == "LL.5" else [])
    p = np.array(p)
    d = ecx_relative(spec, x, p)
    y = spec.func(d, *p)
    f0, finf = response_limits(spec, p)
    frac = (y - f0) / (finf - f0)
    assert frac == pytest.approx(x / 100, abs=1e-7)
    # absolute inverse: E(dose) -> dose
    assert ecx_absolute(spec, y, p) == pytest.approx(d, rel=1e-6)


@given(e0=resp, ec50=pos, h=slope)
def test_absolute_level_outside_range_is_nan(e0, ec50, h):
    p = np.array([e0, e0 - 50.0, ec50, h])
    assert np.isnan(ecx_absolute(HILL4, e0 + 1.0, p))
    assert np.isnan(ecx_absolute(HILL4, e0 - 60.0, p))


@given(k=st.floats(1e-3, 1e3), ec50=pos, h=slope)
def test_dose_scaling_equivariance(k, ec50, h):
    d = np.geomspace(1e-3, 1e3, 20)
    np.testing.assert_allclose(hill(d, 100, 0, ec50, h), hill(k * d, 100, 0, k * ec50, h), rtol=1e-9, atol=1e-9)


def test_hill_equals_drc_ll4_mapping():
    d = np.geomspace(1e-3, 1e3, 30)
    np.testing.assert_allclose(hill(d, 100, 5, 2.0, 1.3), LL4.func(d, 1.3, 5, 100, 2.0), rtol=1e-12)
    np.testing.assert_allclose(HILL5.func(d, 100, 5, 2.0, 1.3, 0.7), LL5.func(d, 1.3, 5, 100, 2.0, 0.7), rtol=1e-12)


@pytest.mark.parametrize("spec", [s for s in DOSE_RESPONSE_MODELS.values() if s.jacobian is not None])
def test_analytic_jacobians_match_numeric(spec):
    d = np.array([0, 0.01, 0.3, 1, 7, 100.0])
    p = {"hill4": (100, 5, 2, 1.3), "hill3": (100, 5, 2, 1.3), "hill5": (100, 5, 2, 1.3, 0.7), "no_effect": (3.0,),
         "L.4": (0.9, 5, 95, 4.0)}[spec.name]
    pa = [np.float64(v) for v in p]
    np.testing.assert_allclose(spec.jacobian(d, *pa), numeric_jacobian(spec.func, d, pa), rtol=1e-6, atol=1e-7)


def test_weibull_limits():
    d = np.array([0.0, 1e12])
    np.testing.assert_allclose(W14.func(d, 1.5, 5, 100, 2), [100, 5], atol=1e-9)
    np.testing.assert_allclose(W24.func(d, 1.5, 5, 100, 2), [5, 100], atol=1e-9)
