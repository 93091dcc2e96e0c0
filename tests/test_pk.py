"""Closed-form PK against a numerical ODE solution, superposition, schedules, errors."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from comboplan.exceptions import DataError
from comboplan.models.pk import (
    PACLITAXEL_MOUSE_SIMEONI2004,
    PKModel,
    Regimen,
    concentration,
    cumulative_auc,
    one_compartment,
    paclitaxel_mouse,
    parse_schedule,
    two_compartment,
)


def _ode_conc(reg, pk, t):
    """Reference: integrate depot/central/peripheral amounts with solve_ivp between dose events."""
    k10, k12, k21 = float(pk.k10), float(pk.k12), float(pk.k21)
    ka = float(pk.ka) if pk.ka is not None else 1.0
    F = pk.F(reg.route)
    kind = {"iv": "bolus", "iv_infusion": "infusion"}.get(reg.route, "first_order")
    D = reg.amount
    T = reg.duration

    def rhs(tt, y):
        rate = 0.0
        if kind == "infusion":
            rate = sum(F * D / T for td in reg.times if td <= tt < td + T)
        a0, a1, a2 = y
        return [-ka * a0, ka * a0 - (k10 + k12) * a1 + k21 * a2 + rate, k12 * a1 - k21 * a2]

    events = sorted(set(reg.times) | ({x + T for x in reg.times} if kind == "infusion" else set()))
    bounds = [0.0] + [e for e in events if e > 0] + [float(t[-1]) + 1e-9]
    y = np.zeros(3)
    out = np.empty(t.size)
    for a, b in zip(bounds[:-1], bounds[1:]):
        if kind != "infusion" and a in reg.times:
            y = y.copy()
            y[1 if kind == "bolus" else 0] += F * D
        sel = (t >= a) & (t < b)
        sol = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-12, atol=1e-16, dense_output=True,
                        max_step=(T / 4 if kind == "infusion" else np.inf))
        if sel.any():
            out[sel] = sol.sol(t[sel])[1]
        y = sol.y[:, -1]
    return out / float(pk.V1)


@pytest.mark.parametrize("route,duration", [("iv", 0.0), ("ip", 0.0), ("oral", 0.0), ("iv_infusion", 0.125)])
@pytest.mark.parametrize("ncmt", [1, 2])
def test_closed_form_matches_ode_multidose(route, duration, ncmt):
    if ncmt == 2:
        pk = two_compartment(0.81, 20.8, 3.0, 2.0, ka=24.0, bioavailability={"ip": 0.6, "oral": 0.3})
    else:
        pk = one_compartment(0.3, 5.0, ka=9.0, bioavailability={"ip": 0.6, "oral": 0.3})
    reg = Regimen.from_schedule(10.0, "mg/kg", "3x/week from day 0 to 10", route=route, duration=duration)
    t = np.linspace(0.0, 12.0, 241)
    c = concentration(reg, pk, t)[0]
    ref = _ode_conc(reg, pk, t)
    m = ref > 1e-8 * ref.max()
    np.testing.assert_allclose(c[m], ref[m], rtol=1e-6)


def test_auc_is_integral_of_concentration():
    pk = paclitaxel_mouse(bioavailability={"ip": 1.0})
    reg = Regimen.from_schedule(10.0, "mg/kg", "weekly from day 0 to 14", route="ip")
    t = np.linspace(0, 20, 200001)
    c = concentration(reg, pk, t)[0]
    auc = cumulative_auc(reg, pk, np.array([20.0]))[0, 0]
    num = np.sum((c[1:] + c[:-1]) * np.diff(t)) / 2
    assert auc == pytest.approx(num, rel=1e-5)
    # total AUC of an IV bolus = F D / CL
    auc_iv = cumulative_auc(Regimen(10.0, times=(0.0,), route="iv"), pk, np.array([200.0]))[0, 0]
    assert auc_iv == pytest.approx(10.0 / float(pk.clearance()), rel=1e-9)


def test_superposition_and_linearity():
    pk = PACLITAXEL_MOUSE_SIMEONI2004
    t = np.linspace(0, 21, 300)
    a = Regimen(10.0, times=(0.0, 7.0), route="iv")
    b = Regimen(10.0, times=(14.0,), route="iv")
    both = Regimen(10.0, times=(0.0, 7.0, 14.0), route="iv")
    np.testing.assert_allclose(concentration([a, b], pk, t), concentration(both, pk, t), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(concentration(both.with_amount(25.0), pk, t), 2.5 * concentration(both, pk, t),
                               rtol=1e-12)
    zero = concentration(both.with_amount(0.0), pk, t)
    assert np.all(zero == 0)


def test_absolute_dose_needs_body_weight_and_converts():
    pk = PACLITAXEL_MOUSE_SIMEONI2004
    t = np.array([0.1, 1.0])
    perkg = concentration(Regimen(10.0, "mg/kg", (0.0,)), pk, t)
    absolute = concentration(Regimen(0.25, "mg", (0.0,)), pk, t, body_weight=0.025)
    np.testing.assert_allclose(perkg, absolute, rtol=1e-12)
    with pytest.raises(DataError, match="body_weight"):
        concentration(Regimen(0.25, "mg", (0.0,)), pk, t)


def test_vectorised_over_animals():
    k10 = np.array([10.0, 20.0, 30.0])
    pk = PKModel(V1=0.8, k10=k10)
    t = np.linspace(0, 3, 7)
    c = concentration(Regimen(5.0, times=(0.0, 1.0)), pk, t)
    assert c.shape == (3, 7)
    for i, k in enumerate(k10):
        np.testing.assert_allclose(c[i], concentration(Regimen(5.0, times=(0.0, 1.0)), PKModel(V1=0.8, k10=k), t)[0])


def test_published_defaults():
    pk = PACLITAXEL_MOUSE_SIMEONI2004
    # Simeoni 2004 Table 1 in 1/h
    assert float(pk.k10) / 24 == pytest.approx(0.868)
    assert float(pk.k12) / 24 == pytest.approx(0.006)
    assert float(pk.k21) / 24 == pytest.approx(0.0838)
    assert pk.molecular_weight == pytest.approx(853.9)
    e = paclitaxel_mouse("eiseman1994")
    # Eiseman 1994: CL 4.54 mL/min/kg, t1/2 43 min
    assert float(e.clearance()) * 1000 / 1440 == pytest.approx(4.54, rel=1e-9)
    assert float(e.half_lives()[0]) * 1440 == pytest.approx(43.0, rel=1e-9)


@pytest.mark.parametrize("spec,expected", [
    ("weekly from day 0 to 21", [0, 7, 14, 21]),
    ("3x/week from day 0 to 13", [0, 2, 4, 7, 9, 11]),
    ("3×/week from day 0 to 6", [0, 2, 4]),
    ("3 times/week for 1 week", [0, 2, 4]),
    ("q4d x3 from day 9", [9, 13, 17]),
    ("every 2 days from day 1 to 7", [1, 3, 5, 7]),
    ("daily for 3 days", [0, 1, 2]),
    ("days 0, 7, 14", [0, 7, 14]),
    ([14, 0, 7], [0, 7, 14]),
    ("once on day 3", [3]),
])
def test_parse_schedule(spec, expected):
    np.testing.assert_array_equal(parse_schedule(spec), np.asarray(expected, float))


@pytest.mark.parametrize("spec,msg", [
    ("weekly", "no end"),
    ("fortnightly from day 0 to 20", "not understood"),
    ("weekly from day 10 to 3", "before the first"),
    ([-1, 3], "negative"),
    ("9x/week from day 0 to 7", "impossible"),
])
def test_parse_schedule_errors(spec, msg):
    with pytest.raises(DataError, match=msg):
        parse_schedule(spec)


def test_regimen_errors():
    with pytest.raises(DataError, match=">= 0"):
        Regimen(-5.0)
    with pytest.raises(DataError, match="unknown dose unit"):
        Regimen(5.0, unit="mg/m2")
    with pytest.raises(DataError, match="unknown route"):
        Regimen(5.0, route="intrathecal")
    with pytest.raises(DataError, match="overlap"):
        Regimen(5.0, times=(0.0, 0.05), route="iv_infusion", duration=0.1)
    with pytest.raises(DataError, match="ka"):
        concentration(Regimen(5.0, route="ip"), PKModel(V1=1.0, k10=1.0), np.array([1.0]))
