"""Reverse-mode gradient of the compiled TGI ODE solver (comboplan.models.tgi_ode.solve_log_size_vjp)
and the Bayesian ODE fit's gradient Op built on it."""
from __future__ import annotations

import numpy as np
import pytest

from comboplan.growth.tgi import validated_design
from comboplan.models.tgi_ode import solve_log_size, solve_log_size_sens, solve_log_size_vjp

from test_tgi_ode import ARMS, PK, TH, study


def _design(law, n_transit, max_step=0.2, n=3, seed=1):
    df = study(law, n_transit, seed, n=n, cv=0.1)
    return df, validated_design(df, subject="mouse", arm="scenario", time="day", size="observed", treatments=ARMS,
                                pk=PK, growth=law, n_transit=n_transit, max_step=max_step)


def _solver_args(ode, rng):
    """The solver's positional arguments for every animal of the design, with parameters drawn
    around typical values (w0 80, lambda0 0.25, lambda1 60, k1 1, potencies 0.3)."""
    n, nc = ode["I1"].shape[0], ode["I1"].shape[2]
    return (ode["dt"], ode["I1"], ode["I2"], ode["out_step"], np.arange(n), 80 * np.exp(rng.normal(0, 0.2, n)),
            0.25 * np.exp(rng.normal(0, 0.2, n)), 60 * np.exp(rng.normal(0, 0.2, n)),
            np.exp(rng.normal(0, 0.3, n)), 0.3 * np.exp(rng.normal(0, 0.3, (n, nc))))


@pytest.mark.parametrize("law,n_transit", [("simeoni", 3), ("simeoni", 0), ("koch", 2), ("koch", 0),
                                           ("exponential", 3), ("exponential", 1)])
def test_vjp_equals_the_forward_sensitivities(law, n_transit):
    """sum_o w_o d log w_o / d theta by the adjoint equals the forward sensitivities contracted with
    the same weights (two independent derivations of the same discrete scheme), and the values equal
    the plain solver's."""
    _, v = _design(law, n_transit)
    ode = v["design"]["ode"]
    rng = np.random.default_rng(7)
    args = _solver_args(ode, rng)
    lw, jac = solve_log_size_sens(*args, law=law, n_transit=n_transit)
    w = rng.normal(size=lw.shape) * (ode["out_step"][:lw.shape[0]] >= 0)
    lw2, g = solve_log_size_vjp(*args, w, law=law, n_transit=n_transit)
    np.testing.assert_allclose(lw2, solve_log_size(*args, law=law, n_transit=n_transit), rtol=1e-12, atol=1e-12)
    ref = np.einsum("ro,rop->rp", w, jac)
    np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-10 * np.abs(ref).max())
    # and a parameter the law does not use has a zero derivative
    if law == "exponential":
        assert np.all(g[:, 2] == 0.0)
    if n_transit == 0:
        assert np.all(g[:, 3] == 0.0)


def test_bayesian_op_gradient_equals_finite_differences():
    """The gradient the Bayesian ODE fit hands to NUTS (natural-scale phi and gamma, through the
    interaction coefficient gamma sqrt(kA kB)) equals central differences of the solver."""
    from comboplan.fitting.bayes.tgi_ode import _Structural

    _, v = _design("koch", 0, max_step=0.1)
    n = v["gd"].n_subjects
    st = _Structural(v["design"], v["names"], v["agents"], v["pair"], v["use_int"], n, "koch", 0, 20.0)
    phi = np.tile([TH[nm] for nm in st.names], (n, 1)) * np.exp(np.random.default_rng(3).normal(0, 0.1, (n, 1)))
    w = np.random.default_rng(4).normal(size=st.value(phi, 0.5).shape)
    lw, gp, gg = st.value_and_grad(phi, 0.5, w)
    np.testing.assert_allclose(lw, st.value(phi, 0.5), rtol=1e-12)
    f = lambda p, gam: float(np.sum(w * st.value(p, gam)))  # noqa: E731
    for j in range(phi.shape[1]):
        h = 1e-6 * phi[0, j]
        pp, pm_ = phi.copy(), phi.copy()
        pp[:, j] += h
        pm_[:, j] -= h
        fd = (f(pp, 0.5) - f(pm_, 0.5)) / (2 * h)
        np.testing.assert_allclose(gp[:, j].sum(), fd, rtol=1e-5)
    np.testing.assert_allclose(gg, (f(phi, 0.5 + 1e-6) - f(phi, 0.5 - 1e-6)) / 2e-6, rtol=1e-5)


@pytest.mark.parametrize("law,n_transit", [("simeoni", 3), ("koch", 0), ("exponential", 1)])
def test_taped_forward_and_backward_equal_the_one_pass_vjp_bit_for_bit(law, n_transit):
    """A value (solve_log_size_taped) then a gradient from its tape (log_size_vjp_from_tape) give
    exactly the numbers of solve_log_size and solve_log_size_vjp; the Bayesian Op's value_and_grad
    takes the tape only when value was last called at the same parameters."""
    from comboplan.fitting.bayes.tgi_ode import _Structural
    from comboplan.models.tgi_ode import log_size_vjp_from_tape, solve_log_size_taped

    _, v = _design(law, n_transit)
    ode = v["design"]["ode"]
    n = ode["I1"].shape[0]
    rng = np.random.default_rng(11)
    args = _solver_args(ode, rng)
    w = rng.normal(size=(n, ode["out_step"].shape[1])) * (ode["out_step"][:n] >= 0)
    lw, tape = solve_log_size_taped(*args, law=law, n_transit=n_transit)
    assert np.array_equal(lw, solve_log_size(*args, law=law, n_transit=n_transit))
    lw2, g = solve_log_size_vjp(*args, w, law=law, n_transit=n_transit)
    assert np.array_equal(lw2, lw)
    assert np.array_equal(log_size_vjp_from_tape(*args, w, tape, lw, law=law, n_transit=n_transit), g)

    st = _Structural(v["design"], v["names"], v["agents"], v["pair"], v["use_int"], n, law, n_transit, 20.0)
    phi = np.tile([TH[nm] for nm in st.names], (n, 1)) * np.exp(rng.normal(0, 0.1, (n, 1)))
    ref = st.value_and_grad(phi, 0.5, w)              # no value yet: the one-pass VJP
    out = st.value(phi, 0.5)
    out[:] = 0.0                                      # a caller reusing the buffer must not spoil the tape
    calls = []
    import comboplan.models.tgi_ode as mod

    orig = mod.solve_log_size_vjp
    try:
        mod.solve_log_size_vjp = lambda *a, **k: calls.append(1) or orig(*a, **k)
        got = st.value_and_grad(phi, 0.5, w)          # from the tape
        assert calls == []
        for a, b in zip(got[:2], ref[:2]):
            assert np.array_equal(a, b)
        assert got[2] == ref[2]
        phi2 = phi * 1.01
        st.value_and_grad(phi2, 0.5, w)               # other parameters: a full solve
        assert calls == [1]
    finally:
        mod.solve_log_size_vjp = orig
