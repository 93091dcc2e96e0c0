"""PD: zero dose = untreated, Simeoni published behaviour, solver accuracy, combination nulls."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from comboplan.exceptions import DataError
from comboplan.models.growth import simeoni_threshold_concentration, simeoni_unperturbed
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.exposure import DrugExposure, ProductExposure, secretome
from comboplan.simulate.pd import (
    SIMEONI2004_PACLITAXEL,
    SIMEONI_K2_PACLITAXEL,
    Effect,
    GrowthModel,
    Interaction,
    simulate_growth,
    total_hazard,
)

PK = paclitaxel_mouse()
T = np.arange(0.0, 22.0)


def _ptx(amount, schedule="q4d x3 from day 0", route="iv"):
    reg = Regimen.from_schedule(amount, "mg/kg", schedule, route=route, agent="paclitaxel")
    return {"paclitaxel": DrugExposure("paclitaxel", (reg,), PK)}


EFF = {"paclitaxel": Effect("paclitaxel", SIMEONI_K2_PACLITAXEL)}


def test_zero_dose_is_untreated_growth():
    g = SIMEONI2004_PACLITAXEL
    untreated = simulate_growth(T, g)
    zero = simulate_growth(T, g, _ptx(0.0), EFF)
    np.testing.assert_array_equal(untreated, zero)
    p = g.params
    ref = simeoni_unperturbed(T, p["lambda0"], p["lambda1"], p["w0"])
    np.testing.assert_allclose(untreated[0], ref, rtol=2e-4)
    ge = GrowthModel("exponential", {"lambda0": 0.1, "w0": 50.0})
    np.testing.assert_allclose(simulate_growth(T, ge, _ptx(0.0), EFF)[0], 50 * np.exp(0.1 * T), rtol=1e-12)


def test_simeoni_published_behaviour():
    """Simeoni 2004 paclitaxel parameters: exponential phase at lambda0, linear phase at lambda1,
    and tumour regression iff the concentration exceeds C_T = lambda0 / k2 = 0.434 ug/mL."""
    g = SIMEONI2004_PACLITAXEL
    p = g.params
    t = np.linspace(0, 30, 301)
    w = simulate_growth(t, g, max_step=0.05)[0]
    early = np.log(w[10] / w[0]) / (t[10] - t[0])
    assert early == pytest.approx(p["lambda0"], rel=1e-3)
    late = (w[-1] - w[-11]) / (t[-1] - t[-11])
    assert late == pytest.approx(p["lambda1"], rel=1e-3)
    ct = float(simeoni_threshold_concentration(p["lambda0"], SIMEONI_K2_PACLITAXEL))
    assert ct == pytest.approx(0.434, abs=1e-3)
    for factor, shrinks in ((1.2, True), (0.8, False)):
        prod = ProductExposure(amount=1.0, unit="dose", times=(0.0,), mode="while_present", duration=100.0,
                               potency=factor * ct, agent="paclitaxel")
        ww = simulate_growth(np.linspace(0, 40, 41), g, {"paclitaxel": prod}, EFF)[0]
        assert (ww[-1] < ww[20]) == shrinks


def _ode(amount, times, g, k2):
    p = g.params
    l0, l1, k1, w0 = p["lambda0"], p["lambda1"], p["k1"], p["w0"]

    def rhs(tt, y):
        a1, a2, x1, x2, x3, x4 = y
        c = a1 / float(PK.V1)
        w = x1 + x2 + x3 + x4
        gr = l0 * x1 / (1 + (l0 * w / l1) ** 20) ** (1 / 20)
        return [-(float(PK.k10) + float(PK.k12)) * a1 + float(PK.k21) * a2, float(PK.k12) * a1 - float(PK.k21) * a2,
                gr - k2 * c * x1, k2 * c * x1 - k1 * x2, k1 * (x2 - x3), k1 * (x3 - x4)]

    y = np.array([0, 0, w0, 0, 0, 0.0])
    out = [w0]
    for a, b in zip(T[:-1], T[1:]):
        if a in times:
            y = y.copy()
            y[0] += amount
        y = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-10, atol=1e-13).y[:, -1]
        out.append(y[2:].sum())
    return np.array(out)


def test_split_solver_matches_ode_and_reference():
    g = SIMEONI2004_PACLITAXEL
    ex = _ptx(30.0)
    ode = _ode(30.0, (0.0, 4.0, 8.0), g, SIMEONI_K2_PACLITAXEL)
    split = simulate_growth(T, g, ex, EFF, max_step=0.05)[0]
    np.testing.assert_allclose(split, ode, rtol=5e-4)
    ref = simulate_growth(T, g, ex, EFF, solver="reference", quad_step=1 / 800)[0]
    np.testing.assert_allclose(ref, ode, rtol=5e-4)
    coarse = simulate_growth(T, g, ex, EFF)[0]  # default step
    np.testing.assert_allclose(coarse, ode, rtol=5e-3)


def test_bliss_null_and_interaction_sign():
    g = GrowthModel("exponential", {"lambda0": 0.1, "w0": 1.0})
    sec = secretome("naive", "3x/week from day 0 to 21")
    ex = {**_ptx(10.0, "weekly from day 0 to 21", "ip"), "secretome": sec}
    eff = {**EFF, "secretome": Effect("secretome", 0.05)}
    pk_ip = {"paclitaxel": DrugExposure("paclitaxel", ex["paclitaxel"].regimens, paclitaxel_mouse(bioavailability={"ip": 1.0}))}
    ex.update(pk_ip)
    v0 = simulate_growth(T, g)[0]
    va = simulate_growth(T, g, {"paclitaxel": ex["paclitaxel"]}, eff)[0]
    vb = simulate_growth(T, g, {"secretome": sec}, eff)[0]
    vab = simulate_growth(T, g, ex, eff)[0]
    # Bliss independence for exponential growth: relative sizes multiply
    np.testing.assert_allclose(vab / v0, (va / v0) * (vb / v0), rtol=1e-9)
    syn = simulate_growth(T, g, ex, eff, Interaction(gamma=1.0))[0]
    ant = simulate_growth(T, g, ex, eff, Interaction(gamma=-0.5))[0]
    assert syn[-1] < vab[-1] < ant[-1]
    # interaction terms vanish when one agent is absent
    np.testing.assert_allclose(simulate_growth(T, g, {"secretome": sec}, eff, Interaction(gamma=1.0))[0], vb,
                               rtol=1e-9)
    shift = Interaction(alpha=3.0, target="paclitaxel", companion="secretome")
    assert simulate_growth(T, g, ex, eff, shift)[0][-1] < vab[-1]


def test_total_hazard_null():
    e = {"a": np.array([[1.0, 2.0]]), "b": np.array([[0.5, 0.0]])}
    eff = {"a": Effect("a", 0.3), "b": Effect("b", 2.0, ec50=1.0)}
    h = total_hazard(e, eff)
    np.testing.assert_allclose(h, 0.3 * e["a"] + 2.0 * e["b"] / (1 + e["b"]))


def test_primed_secretome_carries_paclitaxel():
    prim = secretome("primed", "3x/week from day 0 to 21", paclitaxel_equivalent=0.5)
    reg = prim.carried_regimen()
    assert reg.agent == "paclitaxel" and reg.amount == 0.5 and reg.times == prim.times
    assert secretome("primed", "3x/week from day 0 to 21").carried_regimen() is None


def test_pd_errors():
    with pytest.raises(DataError, match="lambda1"):
        GrowthModel("simeoni", {"lambda0": 0.2, "w0": 1.0, "k1": 1.0})
    with pytest.raises(DataError, match="unknown growth model"):
        GrowthModel("logistic2", {})
    with pytest.raises(DataError, match="potency"):
        Effect("x", -1.0)
    with pytest.raises(DataError, match="target"):
        Interaction(alpha=2.0)


def _simeoni_pk_ivp(dose, bolus_days, t_out, k2):
    """Independent solution: two-compartment paclitaxel amounts (mg/kg) + Simeoni compartments,
    solve_ivp (rtol 1e-10) restarted at every IV bolus, sizes read at ``t_out`` through t_eval."""
    p = SIMEONI2004_PACLITAXEL.params
    l0, l1, k1 = p["lambda0"], p["lambda1"], p["k1"]
    V1, k10, k12, k21 = (float(getattr(PK, f)) for f in ("V1", "k10", "k12", "k21"))

    def rhs(_, y):
        a1, a2, x1, x2, x3, x4 = y
        kill = k2 * (a1 / V1) * x1  # a1 / V1: mg/L = ug/mL
        w = x1 + x2 + x3 + x4
        grow = l0 * x1 / (1.0 + (l0 * w / l1) ** 20) ** (1.0 / 20)
        return [-(k10 + k12) * a1 + k21 * a2, k12 * a1 - k21 * a2, grow - kill, kill - k1 * x2,
                k1 * (x2 - x3), k1 * (x3 - x4)]

    y = np.array([0.0, 0.0, p["w0"], 0.0, 0.0, 0.0])
    edges = list(bolus_days) + [t_out[-1]]
    sizes = []
    for a, b in zip(edges[:-1], edges[1:]):
        y = y.copy()
        y[0] += dose  # the bolus enters the central compartment at once
        te = np.append(t_out[(t_out >= a) & (t_out < b)], b)
        sol = solve_ivp(rhs, (a, b), y, method="DOP853", rtol=1e-10, atol=1e-14, t_eval=te)
        sizes.append(sol.y[2:, :-1].sum(axis=0))
        y = sol.y[:, -1]
    sizes.append([y[2:].sum()])  # t_out[-1]
    return np.concatenate(sizes)


@pytest.mark.parametrize("dose", [20.0, 60.0])
def test_reference_solver_matches_solve_ivp_after_iv_boluses(dose):
    """solver='reference' is the solver for checks: <= 1e-5 relative against a tight solve_ivp after
    paclitaxel IV boluses (48-min distribution half-life), q7d, Simeoni 2004 model."""
    t_out = np.arange(0.0, 29.0)
    reg = Regimen.from_schedule(dose, "mg/kg", "weekly from day 0 to 21", route="iv", agent="paclitaxel")
    assert reg.times == (0.0, 7.0, 14.0, 21.0)
    ex = {"paclitaxel": DrugExposure("paclitaxel", (reg,), PK)}
    ode = _simeoni_pk_ivp(dose, reg.times, t_out, SIMEONI_K2_PACLITAXEL)
    ref = simulate_growth(t_out, SIMEONI2004_PACLITAXEL, ex, EFF, solver="reference")[0]
    assert ode[-1] < simulate_growth(t_out, SIMEONI2004_PACLITAXEL)[0, -1] * 0.9  # the drug acts
    np.testing.assert_allclose(ref, ode, rtol=1e-5, atol=0)
    # per-animal arrays give the same numbers animal by animal
    k2 = np.array([0.5, SIMEONI_K2_PACLITAXEL])
    two = simulate_growth(t_out, SIMEONI2004_PACLITAXEL, ex, EFF, solver="reference", potencies={"paclitaxel": k2})
    np.testing.assert_allclose(two[1], ref, rtol=1e-12)
    np.testing.assert_allclose(two[0], _simeoni_pk_ivp(dose, reg.times, t_out, 0.5), rtol=1e-5)


@pytest.mark.parametrize("inter", [Interaction(gamma=1.0), Interaction(gamma=-0.8), Interaction(gamma=-3.0),
                                   Interaction(alpha=2.5, target="paclitaxel", companion="secretome"),
                                   Interaction(gamma=0.6, alpha=0.5, target="paclitaxel", companion="secretome")])
def test_hazard_shortcuts_equal_quadrature_of_total_hazard(inter):
    """The separable sum of exposure integrals and the once-per-coefficient-set quadrature equal the
    composite Simpson of total_hazard animal by animal (forced by per-animal PK arrays of equal values)."""
    from comboplan.simulate.pd import hazard_increments

    sec = secretome("naive", "3x/week from day 0 to 21")
    ex = {**_ptx(10.0, "weekly from day 0 to 21", "ip"), "secretome": sec}
    ex["paclitaxel"] = DrugExposure("paclitaxel", ex["paclitaxel"].regimens, paclitaxel_mouse(bioavailability={"ip": 1.0}))
    eff = {**EFF, "secretome": Effect("secretome", 0.05)}
    grid = np.union1d(np.linspace(0, 21, 43), [0.01, 0.05, 7.01, 7.05])
    k = np.array([[0.3], [0.629], [0.629], [1.1]])
    fast = hazard_increments(grid, ex, eff, inter, {"paclitaxel": k})
    pk = ex["paclitaxel"].pk
    per_animal = {"paclitaxel": pk.with_params(k10=np.full(4, float(pk.k10)))}
    slow = hazard_increments(grid, ex, eff, inter, {"paclitaxel": k}, pk_override=per_animal)
    assert fast.shape == slow.shape == (4, grid.size - 1)
    np.testing.assert_allclose(fast, slow, rtol=1e-11, atol=1e-14)
    np.testing.assert_array_equal(fast[1], fast[2])  # same coefficients, same numbers
