"""Tests of the tumour-growth models (comboplan.models.growth)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from comboplan.models import growth as g
from comboplan.models.spec import numeric_jacobian

pos = st.floats(1e-2, 1e3)
rate = st.floats(0.01, 1.0)


# --------------------------------------------------------------------------- closed forms
@settings(max_examples=50, deadline=None)
@given(v0=pos, r=st.floats(-0.5, 1.0), vmax_mult=st.floats(1.5, 100.0), rr=rate)
def test_all_models_start_at_v0(v0, r, vmax_mult, rr):
    vmax = v0 * vmax_mult
    assert g.exponential(0.0, v0, r) == pytest.approx(v0, rel=1e-12)
    assert g.logistic(0.0, v0, rr, vmax) == pytest.approx(v0, rel=1e-12)
    assert g.gompertz(0.0, v0, rr, vmax) == pytest.approx(v0, rel=1e-12)
    assert g.exponential_linear(0.0, v0, rr, rr * vmax) == pytest.approx(v0, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(v0=pos, k=st.floats(1e-3, 1e3), rr=rate, mult=st.floats(1.5, 50.0))
def test_size_unit_invariance(v0, k, rr, mult):
    """Rescaling the size unit by k scales every size parameter (and lambda1) by k."""
    t = np.linspace(0, 40, 9)
    np.testing.assert_allclose(g.exponential(t, k * v0, rr), k * g.exponential(t, v0, rr), rtol=1e-12)
    np.testing.assert_allclose(g.logistic(t, k * v0, rr, k * mult * v0), k * g.logistic(t, v0, rr, mult * v0),
                               rtol=1e-10)
    np.testing.assert_allclose(g.gompertz(t, k * v0, rr, k * mult * v0), k * g.gompertz(t, v0, rr, mult * v0),
                               rtol=1e-10)
    np.testing.assert_allclose(g.exponential_linear(t, k * v0, rr, k * mult * v0 * rr),
                               k * g.exponential_linear(t, v0, rr, mult * v0 * rr), rtol=1e-10)


@pytest.mark.parametrize("name", ["logistic", "gompertz"])
def test_sigmoid_models_solve_their_odes(name):
    v0, r, vmax = 50.0, 0.2, 2000.0
    t = np.linspace(0, 60, 601)
    f = getattr(g, name)
    v = f(t, v0, r, vmax)
    h = 1e-5
    dv = (f(t + h, v0, r, vmax) - f(t - h, v0, r, vmax)) / (2 * h)
    rhs = r * v * (1 - v / vmax) if name == "logistic" else r * v * np.log(vmax / v)
    np.testing.assert_allclose(dv, rhs, rtol=1e-6, atol=1e-6)
    assert v[-1] == pytest.approx(vmax, rel=0.02)  # plateau


@pytest.mark.parametrize("name", ["exponential", "exp_linear", "logistic", "gompertz"])
def test_log_scale_specs_are_logs(name):
    size, log = g.GROWTH_MODELS[name]
    t = np.linspace(0, 30, 7)[None, :]
    p = {"exponential": (80.0, 0.1), "exp_linear": (80.0, 0.2, 30.0)}.get(name, (80.0, 0.15, 3000.0))
    np.testing.assert_allclose(log.func(t, *p), np.log(size.func(t, *p)), rtol=1e-12)
    assert log.param("v0").transform == "log"
    assert g.get_growth_model(name, "size") is size and g.get_growth_model(name) is log


def test_log_logistic_no_overflow_and_shrinking_case():
    t = np.array([0.0, 1e4])
    # v0 > vmax: shrinks towards vmax; no warnings, finite
    assert np.all(np.isfinite(g.log_logistic_growth(t, 500.0, 0.3, 100.0)))
    assert g.log_logistic_growth(1e4, 500.0, 0.3, 100.0) == pytest.approx(np.log(100.0))
    assert g.log_logistic_growth(1e4, 1.0, 0.3, 100.0) == pytest.approx(np.log(100.0))


@pytest.mark.parametrize("spec", [g.EXPONENTIAL, g.LOG_EXPONENTIAL, g.LOG_GOMPERTZ])
def test_analytic_jacobians_match_numeric(spec):
    t = np.tile(np.linspace(0, 28, 5), (3, 1))
    p = [np.array([[60.0], [100.0], [200.0]]), np.array([[0.1], [0.2], [0.05]])]
    if spec is g.LOG_GOMPERTZ:
        p.append(np.array([[3000.0], [5000.0], [800.0]]))
    np.testing.assert_allclose(spec.jacobian(t, *p), numeric_jacobian(spec.func, t, p), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["exponential", "exp_linear", "logistic", "gompertz"])
def test_selfstarts_are_finite_and_near_truth(name):
    spec = g.get_growth_model(name, "log")
    t = np.tile(np.array([0.0, 7, 14, 21, 28]), (2, 1))
    truth = {"exponential": (100.0, 0.1), "exp_linear": (100.0, 0.15, 40.0),
             "logistic": (100.0, 0.2, 3000.0), "gompertz": (100.0, 0.1, 3000.0)}[name]
    y = spec.func(t, *[np.full((2, 1), v) for v in truth])
    mask = np.ones_like(t, bool)
    mask[1, -1] = False
    p0 = spec.selfstart(t, y, mask)
    assert p0.shape == (2, len(truth)) and np.all(np.isfinite(p0)) and np.all(p0[:, 0] > 0)
    assert p0[0, 0] == pytest.approx(truth[0], rel=0.6)
    if name == "exponential":
        np.testing.assert_allclose(p0[0], truth, rtol=1e-10)


# --------------------------------------------------------------------------- exp-linear switch
def test_exponential_linear_switches_at_lambda1_over_lambda0():
    v0, l0, l1 = 20.0, 0.3, 45.0
    w_th = l1 / l0  # 150
    tau = np.log(w_th / v0) / l0
    t = np.linspace(0, 40, 4001)
    v = g.exponential_linear(t, v0, l0, l1)
    early = t < tau
    np.testing.assert_allclose(v[early], v0 * np.exp(l0 * t[early]), rtol=1e-12)
    np.testing.assert_allclose(v[~early], w_th + l1 * (t[~early] - tau), rtol=1e-12)
    # C1 at the switch: left derivative lambda0 * w_th equals the right one lambda1
    h = 1e-6
    left = (g.exponential_linear(tau, v0, l0, l1) - g.exponential_linear(tau - h, v0, l0, l1)) / h
    right = (g.exponential_linear(tau + h, v0, l0, l1) - g.exponential_linear(tau, v0, l0, l1)) / h
    assert left == pytest.approx(l1, rel=1e-4) and right == pytest.approx(l1, rel=1e-6)
    # already above the threshold: linear from the start
    np.testing.assert_allclose(g.exponential_linear(t, 300.0, l0, l1), 300.0 + l1 * t, rtol=1e-12)


# --------------------------------------------------------------------------- Simeoni TGI
def _simeoni_reference(t, conc, l0, l1, k1, k2, w0, psi=20.0):
    """scipy solve_ivp (DOP853, rtol 1e-13), restarted at every grid point (exposure kinks)."""
    out = np.empty((len(l0), len(t)))
    for i in range(len(l0)):
        x = np.array([w0[i], 0.0, 0.0, 0.0])
        out[i, 0] = x.sum()
        for j in range(len(t) - 1):
            def f(tt, x, i=i, j=j):
                c = conc[i, j] + (conc[i, j + 1] - conc[i, j]) * (tt - t[j]) / (t[j + 1] - t[j])
                grow = l0[i] * x[0] / (1 + (l0[i] / l1[i] * x.sum()) ** psi) ** (1 / psi)
                return [grow - k2[i] * c * x[0], k2[i] * c * x[0] - k1[i] * x[1],
                        k1[i] * (x[1] - x[2]), k1[i] * (x[2] - x[3])]
            x = solve_ivp(f, (t[j], t[j + 1]), x, rtol=1e-13, atol=1e-16, method="DOP853").y[:, -1]
            out[i, j + 1] = x.sum()
    return out


def test_simeoni_matches_solve_ivp_to_1e6():
    rng = np.random.default_rng(11)
    n = 8
    t = np.linspace(0.0, 30.0, 16)
    l0 = rng.uniform(0.1, 0.8, n)
    l1 = rng.uniform(0.05, 0.5, n)
    k1 = rng.uniform(0.2, 3.0, n)
    k2 = rng.uniform(0.0, 0.1, n)
    w0 = rng.uniform(0.02, 0.2, n)
    conc = np.clip(5 * np.sin(t / 3)[None, :] + 5, 0, None) * rng.uniform(0.5, 2, (n, 1))
    ref = _simeoni_reference(t, conc, l0, l1, k1, k2, w0)
    w = g.simeoni_tgi(t, conc, l0, l1, k1, k2, w0)
    assert np.max(np.abs(w - ref) / ref) <= 1e-6


def test_simeoni_zero_drug_is_unperturbed_growth():
    t = np.linspace(0, 25, 26)
    p = dict(lambda0=np.array([0.3, 0.5]), lambda1=np.array([0.2, 0.4]), w0=np.array([0.05, 0.1]))
    w_c0 = g.simeoni_tgi(t, 0.0, k1=1.0, k2=0.05, **p)
    w_k0 = g.simeoni_tgi(t, 7.0, k1=1.0, k2=0.0, **p)
    w_u = g.simeoni_unperturbed(t, **p)
    np.testing.assert_allclose(w_c0, w_u, rtol=1e-14)
    np.testing.assert_allclose(w_k0, w_u, rtol=1e-14)
    _, x = g.simeoni_tgi(t, 0.0, k1=1.0, k2=0.05, return_compartments=True, **p)
    assert np.all(x[1:] == 0.0)


def test_simeoni_unperturbed_exponential_then_linear():
    """Published unperturbed behaviour: w0 e^{lambda0 t} while w << lambda1/lambda0, slope lambda1 after."""
    l0, l1, w0, psi = 0.35, 0.15, 0.01, 20.0
    w_th = l1 / l0
    t = np.linspace(0, 40, 4001)
    w = g.simeoni_unperturbed(t, l0, l1, w0, psi=psi)
    early = w < 0.5 * w_th  # (lambda0 w / lambda1)^20 < 1e-6 here
    np.testing.assert_allclose(w[early], w0 * np.exp(l0 * t[early]), rtol=2e-6)
    slope = np.gradient(w, t)
    late = w > 3 * w_th
    np.testing.assert_allclose(slope[late], l1, rtol=1e-4)
    # at w = lambda1 / lambda0 the formula gives dw/dt = lambda1 * 2^(-1/psi) (the switch point)
    i = np.argmin(np.abs(w - w_th))
    rate_at_th = l0 * w[i] / (1 + (l0 * w[i] / l1) ** psi) ** (1 / psi)
    assert slope[i] == pytest.approx(rate_at_th, rel=1e-4)
    assert rate_at_th == pytest.approx(l1 * 2 ** (-1 / psi), rel=0.01)
    # psi -> infinity: the closed-form exponential-linear model
    w_big = g.simeoni_unperturbed(t, l0, l1, w0, psi=400.0)
    np.testing.assert_allclose(w_big, g.exponential_linear(t, w0, l0, l1), rtol=3e-3)


def test_simeoni_linear_regime_matches_matrix_exponential():
    """With lambda1 huge the growth is first order: the system is linear, solved by expm."""
    l0, k1, k2, c, w0 = 0.25, 0.8, 0.04, 10.0, 0.1
    A = np.array([[l0 - k2 * c, 0, 0, 0], [k2 * c, -k1, 0, 0], [0, k1, -k1, 0], [0, 0, k1, -k1]])
    t = np.linspace(0, 20, 11)
    ref = np.array([expm(A * ti) @ np.array([w0, 0, 0, 0]) for ti in t]).T
    w, x = g.simeoni_tgi(t, c, l0, 1e9, k1, k2, w0, return_compartments=True)
    np.testing.assert_allclose(x, ref, rtol=1e-6, atol=1e-14)
    np.testing.assert_allclose(w, ref.sum(0), rtol=1e-7)
    # x1 closed form
    np.testing.assert_allclose(x[0], w0 * np.exp((l0 - k2 * c) * t), rtol=1e-8)


def test_simeoni_threshold_concentration():
    l0, l1, k1, k2, w0 = 0.3, 1e6, 1.0, 0.05, 0.2
    ct = g.simeoni_threshold_concentration(l0, k2)
    assert ct == pytest.approx(6.0)
    t = np.linspace(0, 80, 81)
    w = g.simeoni_tgi(t, np.array([[0.9 * ct] * 81, [1.1 * ct] * 81]), l0, l1, k1, k2, w0)
    assert w[0, -1] > w[0, 40] > w0      # below C_T: keeps growing
    assert w[1, -1] < w[1, 40] < w0      # above C_T: eradication


def test_simeoni_vectorised_equals_per_animal_and_shapes():
    t = np.linspace(0, 10, 6)
    l0 = np.array([0.2, 0.4, 0.6])
    conc = np.array([np.linspace(0, 5, 6), np.zeros(6), np.full(6, 3.0)])
    batch = g.simeoni_tgi(t, conc, l0, 0.5, 1.0, 0.05, 0.1)
    assert batch.shape == (3, 6)
    for i in range(3):
        np.testing.assert_allclose(batch[i], g.simeoni_tgi(t, conc[i], l0[i], 0.5, 1.0, 0.05, 0.1),
                                   rtol=1e-6)
    assert g.simeoni_tgi(t, 2.0, 0.3, 0.5, 1.0, 0.05, 0.1).shape == (6,)
    with pytest.raises(ValueError):
        g.simeoni_tgi(t, -1.0, 0.3, 0.5, 1.0, 0.05, 0.1)
    with pytest.raises(ValueError):
        g.simeoni_tgi(t[::-1], 1.0, 0.3, 0.5, 1.0, 0.05, 0.1)


# --------------------------------------------------------------------------- Simeoni: split solver
def _simeoni_case(seed=11, n=8):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 30.0, 16)
    p = dict(lambda0=rng.uniform(0.1, 0.8, n), lambda1=rng.uniform(0.05, 0.5, n), k1=rng.uniform(0.2, 3.0, n),
             k2=rng.uniform(0.0, 0.1, n), w0=rng.uniform(0.02, 0.2, n))
    conc = np.clip(5 * np.sin(t / 3)[None, :] + 5, 0, None) * rng.uniform(0.5, 2, (n, 1))
    return t, conc, p


def test_simeoni_split_matches_solve_ivp_to_1e6_at_fine_steps():
    t, conc, p = _simeoni_case()
    ref = _simeoni_reference(t, conc, p["lambda0"], p["lambda1"], p["k1"], p["k2"], p["w0"])
    w = g.simeoni_tgi(t, conc, method="split", max_step=0.002, **p)
    assert np.max(np.abs(w - ref) / ref) <= 1e-6
    # second order: halving the step divides the error by ~4
    e1 = np.max(np.abs(g.simeoni_tgi(t, conc, method="split", max_step=0.1, **p) / ref - 1))
    e2 = np.max(np.abs(g.simeoni_tgi(t, conc, method="split", max_step=0.05, **p) / ref - 1))
    assert 3.0 < e1 / e2 < 5.0
    assert e2 < 5e-4  # default step


def test_simeoni_split_and_rk4_agree():
    t, conc, p = _simeoni_case(seed=3, n=50)
    w_rk, x_rk = g.simeoni_tgi(t, conc, return_compartments=True, **p)
    w_sp, x_sp = g.simeoni_tgi(t, conc, method="split", max_step=0.01, return_compartments=True, **p)
    np.testing.assert_allclose(w_sp, w_rk, rtol=2e-5)
    np.testing.assert_allclose(x_sp.sum(0), w_sp, rtol=1e-12)
    np.testing.assert_allclose(x_sp, x_rk, rtol=5e-4, atol=1e-9 * np.max(w_rk))
    # scalar inputs keep the 1-D shape; zero drug is the unperturbed model
    assert g.simeoni_tgi(t, 2.0, 0.3, 0.5, 1.0, 0.05, 0.1, method="split").shape == t.shape
    u = dict(lambda0=np.array([0.3, 0.5]), lambda1=np.array([0.2, 0.4]), w0=np.array([0.05, 0.1]))
    np.testing.assert_allclose(g.simeoni_tgi(t, 0.0, k1=1.0, k2=0.05, method="split", **u),
                               g.simeoni_unperturbed(t, method="split", **u), rtol=1e-14)
    with pytest.raises(ValueError, match="method"):
        g.simeoni_tgi(t, 1.0, 0.3, 0.5, 1.0, 0.05, 0.1, method="euler")


def test_simeoni_split_linear_regime_is_exact():
    """lambda1 huge and constant exposure: growth rate constant, so kill/transit/growth commute
    only approximately, but the exponential x1 is exact and the chain is second-order accurate."""
    l0, k1, k2, c, w0 = 0.25, 0.8, 0.04, 10.0, 0.1
    A = np.array([[l0 - k2 * c, 0, 0, 0], [k2 * c, -k1, 0, 0], [0, k1, -k1, 0], [0, 0, k1, -k1]])
    t = np.linspace(0, 20, 11)
    ref = np.array([expm(A * ti) @ np.array([w0, 0, 0, 0]) for ti in t]).T
    w, x = g.simeoni_tgi(t, c, l0, 1e9, k1, k2, w0, return_compartments=True, method="split", max_step=0.01)
    np.testing.assert_allclose(x[0], w0 * np.exp((l0 - k2 * c) * t), rtol=1e-10)
    np.testing.assert_allclose(w, ref.sum(0), rtol=1e-5)


@settings(max_examples=60, deadline=None)
@given(w=st.floats(1e-6, 1e6), l0=rate, l1=st.floats(1e-3, 10.0), psi=st.sampled_from([1.0, 2.5, 20.0, 30.0, 31.0,
                                                                                           100.0, 400.0]))
def test_simeoni_growth_rate_formula_and_limits(w, l0, l1, psi):
    gr = float(g.simeoni_growth_rate(w, l0, l1, psi))
    z = l0 * w / l1
    # direct formula in logs (no overflow): log g = log l0 - log1p(z^psi)/psi
    lz = psi * np.log(z)
    expected = l0 * np.exp(-(np.logaddexp(0.0, lz)) / psi)
    assert gr == pytest.approx(expected, rel=1e-9)
    assert 0 < gr <= l0
    if psi >= 20 and z < 0.3:
        assert gr == pytest.approx(l0, rel=1e-9)          # exponential phase
    if psi >= 20 and z > 5 and z < 1e9:
        assert gr * w == pytest.approx(l1, rel=1e-9)      # linear phase: dw/dt = lambda1


def test_gompertz_growth_rate_is_the_closed_form_derivative():
    t = np.linspace(0.0, 20.0, 2001)
    v0, r, vmax = 5.0, 0.2, 800.0
    v = g.gompertz(t, v0, r, vmax)
    np.testing.assert_allclose(np.gradient(v, t)[1:-1], (g.gompertz_growth_rate(v, r, vmax) * v)[1:-1], rtol=1e-4)


def test_transit_split_solve_exponential_and_kill_exact():
    """Constant rate and constant hazard, no transit: x(t) = w0 exp((r - h) t) exactly."""
    t = np.linspace(0, 10, 6)
    grid, idx = g.split_step_grid(t, 0.3)
    assert np.all(np.diff(grid) <= 0.3 + 1e-12) and np.allclose(grid[idx], t)
    r = np.array([0.1, 0.3])
    hz = np.array([[0.05], [0.4]]) * 0.5 * np.diff(grid)[None, :]
    w = g.transit_split_solve(grid, idx, np.array([1.0, 2.0]), r, hz, hz)
    np.testing.assert_allclose(w, np.array([1.0, 2.0])[:, None] * np.exp((r - np.array([0.05, 0.4]))[:, None] * t),
                               rtol=1e-12)
