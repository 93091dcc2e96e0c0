"""Non-inferiority margins (effect preservation), three-arm designs, structural sensitivity."""
import math

import matplotlib
import numpy as np
import pytest
from scipy import stats

import comboplan.simulate as cs
from comboplan.exceptions import DataError
from comboplan.growth.endpoints import compare_arms
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.noninferiority import (EIRO2024_SENSITIVITY_BASELINE, NIMargin, _typical_relative_size,
                                               eiro2024_sensitivity, margin_effect_preservation, margin_from_data,
                                               noninferiority_analysis, noninferiority_design, structural_sensitivity)

matplotlib.use("Agg")

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
G = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0})
PTX = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
SEC = cs.secretome("naive", "3x/week from day 0 to 21")
VEH, REF, CAND = cs.Arm("vehicle"), cs.Arm("ptx10", [PTX]), cs.Arm("ptx5+cm", [PTX.with_amount(5)], [SEC])


def _model(k2=0.629, sec=0.02):
    return cs.PKPDModel(growth=G, effects={"paclitaxel": cs.Effect("paclitaxel", k2),
                                           "secretome": cs.Effect("secretome", sec)}, pk={"paclitaxel": PK})


def _log_rtv(model, arm, day=14.0):
    return math.log(_typical_relative_size(model, arm, day))


# --------------------------------------------------------------------------- margins by hand
def test_margin_arithmetic_by_hand_t_and_normal():
    # t quantile, 12 df, one-sided 95 %: 1.782287556
    m = margin_effect_preservation(0.8, 0.2, df=12, preserve=0.5, level=0.95)
    assert m.quantile == pytest.approx(1.782287556, abs=1e-8)
    assert m.m1 == pytest.approx(0.8 - 1.782287556 * 0.2, abs=1e-8)     # 0.4435424888
    assert m.m2 == pytest.approx(0.5 * 0.4435424888, abs=1e-8)           # 0.2217712444
    assert m.ratio == pytest.approx(math.exp(0.2217712444), abs=1e-8)    # 1.2482...
    assert isinstance(m, NIMargin) and m.M1 == m.m1 and m.M2 == m.m2 and m.established
    assert m.relative_margin == pytest.approx(m.ratio - 1)
    # normal quantile (df=None), FDA convention (two-sided 95 % -> one-sided 97.5 %), preserve 60 %
    n = margin_effect_preservation(0.8, 0.2, preserve=0.6, level=0.975)
    assert n.quantile == pytest.approx(1.959963985, abs=1e-8)
    assert n.m1 == pytest.approx(0.8 - 0.391992797, abs=1e-8)
    assert n.m2 == pytest.approx(0.4 * 0.408007203, abs=1e-8)
    # the t bound is always below the normal bound at the same level
    assert margin_effect_preservation(0.8, 0.2, df=12).m1 < margin_effect_preservation(0.8, 0.2).m1
    # ratio scale: reference/vehicle geometric-mean ratio 0.5 is an effect of log 2
    r = margin_effect_preservation(0.5, 0.2, df=12, scale="ratio")
    assert r.effect == pytest.approx(math.log(2)) and r.m1 == pytest.approx(math.log(2) - 1.782287556 * 0.2, abs=1e-8)
    assert "1.25 times the reference's" in m.summary()


def test_margin_not_established_and_bad_input():
    m = margin_effect_preservation(0.2, 0.2, df=12)
    assert m.m1 < 0 and not m.established
    assert "not established" in m.summary()
    for kw in (dict(se=0.0), dict(se=float("nan")), dict(preserve=1.5), dict(level=0.4), dict(level=1.0),
               dict(df=0), dict(scale="percent")):
        args = {"effect": 0.8, "se": 0.2, **kw}
        with pytest.raises(DataError):
            margin_effect_preservation(args.pop("effect"), args.pop("se"), **args)
    with pytest.raises(DataError):
        margin_effect_preservation(-0.5, 0.2, scale="ratio")


def test_margin_from_data_recovers_true_effect():
    model = _model()
    true = _log_rtv(model, VEH) - _log_rtv(model, REF)
    df = cs.simulate_study(model, [VEH, REF], 25, [0, 7, 14], n_studies=1, readout=cs.Readout("volume", cv=0.3),
                           seed=4)
    kw = dict(subject="animal", arm="arm", time="day", size="size", reference="ptx10", vehicle="vehicle", day=14)
    m = margin_from_data(df, **kw)
    q = stats.t.ppf(0.975, m.df)
    assert m.effect - q * m.se < true < m.effect + q * m.se
    assert m.df == 48
    # pooled path = compare_arms (whose estimate is reference - vehicle)
    ca = compare_arms(df, "animal", "arm", "day", "size", reference="vehicle", candidate="ptx10", at=14)
    assert m.effect == pytest.approx(-ca.table["estimate"][0], rel=1e-12)
    assert m.se == pytest.approx(ca.table["stderr"][0], rel=1e-12)
    assert m.m2 == pytest.approx(0.5 * (m.effect - stats.t.ppf(0.95, 48) * m.se))
    w = margin_from_data(df, **kw, variance="welch")
    assert w.effect == pytest.approx(m.effect) and 24 < w.df <= 48
    with pytest.raises(DataError):
        margin_from_data(df, **{**kw, "vehicle": "nope"})
    with pytest.raises(DataError):
        margin_from_data(df, **kw, variance="exact")


# --------------------------------------------------------------------------- designs
DESIGN = dict(reference_arm=REF, candidate_arm=CAND, vehicle_arm=VEH, days=[0, 7, 14], endpoint_day=14,
              readout=cs.Readout("volume", cv=0.4))


def test_type_one_error_at_the_margin_boundary():
    """Truth exactly on the boundary (candidate - reference = M2): rejection rate = alpha."""
    model = _model()
    d = _log_rtv(model, CAND) - _log_rtv(model, REF)
    assert 0.05 < d < 0.5
    n_sim = 400
    band = 3 * math.sqrt(0.05 * 0.95 / n_sim)
    fixed = noninferiority_design(model, **DESIGN, margin=d, n_values=[6], n_studies=n_sim, seed=21)
    assert abs(fixed.power - 0.05) < band
    # retention test on its boundary (strong reference so that the superiority step always passes)
    strong = _model(k2=2.0)
    lv, lr, lc = (_log_rtv(strong, a) for a in (VEH, REF, CAND))
    keep = 1 - (lc - lr) / (lv - lr)
    assert 0.2 < keep < 0.95
    ret = noninferiority_design(strong, **DESIGN, method="retention", preserve=keep, n_values=[8], n_studies=n_sim,
                                seed=22)
    assert ret.table["p_established"][0] > 0.99
    assert abs(ret.power - 0.05) < band
    # the within-study 95-95 method is conservative at the same truth
    nn = noninferiority_design(strong, **DESIGN, preserve=keep, n_values=[8], n_studies=n_sim, seed=22)
    assert nn.power < 0.05


def test_power_increases_with_n_and_assurance():
    model = _model(k2=2.0, sec=0.08)
    draws = cs.draws_from_covariance({"potency.secretome": 0.08}, [[0.01 ** 2]], 40, seed=1)
    res = noninferiority_design(model, **DESIGN, n_values=[4, 8, 16], n_studies=400, seed=5, draws=draws,
                                variability=cs.Variability({"lambda0": 0.2}))
    p = res.table["power"].to_numpy()
    assert np.all(np.diff(p) > 0) and p[-1] > 0.5
    assert "assurance" in res.table and res.settings["n_draws"] == 40
    assert np.all((res.table["assurance"] >= 0) & (res.table["assurance"] <= 1))
    assert res.table["assurance"].iloc[-1] > res.table["assurance"].iloc[0]
    assert res.table["p_established"].is_monotonic_increasing
    text = res.summary()
    assert "95-95" in text and "geometric-mean RTV" in text
    assert " 1.00 " not in text and " 0.00 " not in text
    assert res.plot() is not None


def test_design_decisions_equal_the_analysis_of_the_simulated_table():
    model = _model(k2=2.0, sec=0.08)
    kw = dict(readout=cs.Readout("volume", cv=0.4))
    for method, extra in (("95-95", {}), ("fixed", {"margin": math.log(1.25)}), ("retention", {"preserve": 0.5})):
        res = noninferiority_design(model, **DESIGN, method=method, n_values=[5], n_studies=6, seed=9, **extra)
        est, p = res.estimates[(5, 14.0)]
        tab = cs.simulate_study(model, [VEH, REF, CAND], 5, [0, 7, 14], n_studies=6, seed=9, **kw)
        for s in range(6):
            one = tab[tab["study"] == s]
            a = noninferiority_analysis(one, subject="animal", arm="arm", time="day", size="size", reference="ptx10",
                                        candidate="ptx5+cm", vehicle="vehicle", day=14, method=method, **extra)
            assert a.table["estimate"][0] == pytest.approx(est[s], rel=1e-10)
            assert a.p_value == pytest.approx(p[s], rel=1e-9, abs=1e-12)
        if method == "fixed":  # = compare_arms' non-inferiority test with margin exp(M2) - 1
            ca = compare_arms(one, "animal", "arm", "day", "size", reference="ptx10", candidate="ptx5+cm", at=14,
                              test="noninferiority", margin=math.expm1(math.log(1.25)))
            assert a.p_value == pytest.approx(ca.p_value, rel=1e-9)
        assert isinstance(a.summary(), str)


def test_design_input_errors():
    model = _model()
    with pytest.raises(DataError):
        noninferiority_design(model, **DESIGN, method="fixed", n_values=[5], n_studies=10)  # no margin
    with pytest.raises(DataError):
        noninferiority_design(model, **DESIGN, method="retention", margin=0.2, n_values=[5], n_studies=10)
    with pytest.raises(DataError):
        noninferiority_design(model, **{**DESIGN, "endpoint_day": 10}, n_values=[5], n_studies=10)
    with pytest.raises(DataError):
        noninferiority_design(model, **{**DESIGN, "candidate_arm": cs.Arm("ptx10")}, n_values=[5], n_studies=10)
    with pytest.raises(DataError):
        noninferiority_design(model, **DESIGN, n_values=[1], n_studies=10)
    with pytest.raises(DataError):
        noninferiority_design(model, **DESIGN, n_values=[5], n_studies=10, alpha=0.7)


# --------------------------------------------------------------------------- structural sensitivity
def test_structural_sensitivity_generic():
    def make_model(k2=0.629, lam=0.1):
        return cs.PKPDModel(growth=cs.GrowthModel("exponential", {"lambda0": lam, "w0": 1.0}),
                            effects={"paclitaxel": cs.Effect("paclitaxel", k2)}, pk={"paclitaxel": PK})

    arms = [VEH, REF, cs.Arm("ptx5", [PTX.with_amount(5)])]
    tab = structural_sensitivity(make_model, {"k2": 0.629, "lam": 0.1}, {"k2": [0.3, 1.2], "lam": {0.05: "slow"}},
                                 arms, candidate="ptx5", reference="ptx10", day=14)
    assert tab.shape == (4, 3 + 3 + 2) and list(tab["assumption"]) == ["baseline", "k2", "k2", "lam"]
    assert tab["label"].tolist()[1:] == ["k2 = 0.3", "k2 = 1.2", "slow"]
    assert np.all(np.isfinite(tab["ratio"])) and tab["delta_vs_base"][0] == 0
    # exponential growth: the ratio does not depend on the growth rate; it grows with the potency
    assert tab["ratio"][3] == pytest.approx(tab["ratio"][0], rel=1e-9)
    assert tab["ratio"][1] < tab["ratio"][0] < tab["ratio"][2]
    with pytest.raises(DataError):
        structural_sensitivity(make_model, {"k2": 0.629}, {"lam": [0.05]}, arms, candidate="ptx5", reference="ptx10")


@pytest.fixture(scope="module")
def eiro():
    return eiro2024_sensitivity()


def test_eiro2024_sensitivity_baseline_reproduces_the_calibration(eiro):
    pa = cs.predicted_arms(cs.calibrate_eiro2024(), day=14.0)
    val = {(r.paclitaxel_mg_per_kg, r.companion): r.relative_size for r in pa.itertuples()}
    b = eiro.iloc[0]
    assert b["assumption"] == "baseline"
    # the same exact (3 values, 3 parameters) least-squares fit, reached by its own optimiser run
    tol = dict(rel=1e-8)
    assert b["vehicle"] == pytest.approx(val[(0.0, "none")], **tol)
    assert b["ptx10"] == pytest.approx(val[(10.0, "none")], **tol)
    assert b["ptx5"] == pytest.approx(val[(5.0, "none")], **tol)
    assert b["primed"] == pytest.approx(val[(0.0, "primed")], **tol)
    assert b["ptx5+primed"] == pytest.approx(val[(5.0, "primed")], **tol)
    assert b["ratio"] == pytest.approx(val[(5.0, "primed")] / val[(10.0, "none")], **tol)
    theta = cs.calibrate_eiro2024().theta
    assert b["lambda0"] == pytest.approx(theta["lambda0"], rel=1e-8)
    assert b["gamma"] == pytest.approx(theta["interaction.gamma"], rel=1e-6)


def test_eiro2024_sensitivity_table(eiro):
    assert eiro.shape[0] == 1 + 2 + 1 + 2 + 2
    assert set(eiro["assumption"]) == {"baseline", *EIRO2024_SENSITIVITY_BASELINE}
    cols = ["vehicle", "ptx10", "ptx5", "primed", "ptx5+primed", "ratio"]
    assert np.all(np.isfinite(eiro[cols].to_numpy(float))) and np.all(eiro[cols].to_numpy(float) > 0)
    assert np.allclose(eiro["ratio"], eiro["ptx5+primed"] / eiro["ptx10"])
    k2 = eiro[eiro["assumption"] == "k2_factor"].set_index("value")
    assert k2.loc[2.0, "ratio"] > eiro["ratio"][0] > k2.loc[0.5, "ratio"]  # a stronger drug makes 10 mg/kg harder to match
    # only k2 x F_ip enters (linear kill on linear PK): halving F = halving k2
    f = eiro[eiro["assumption"] == "ip_bioavailability"].set_index("value")
    assert f.loc[0.5, "ratio"] == pytest.approx(k2.loc[0.5, "ratio"], rel=1e-6)
    # re-calibrated: every alternative still fits the printed 5 mg/kg value closely except where stated
    assert eiro["max_abs_log_residual"][0] < 1e-6
    assert eiro.attrs["candidate"] == "ptx5+primed" and eiro.attrs["reference"] == "ptx10"


def test_plot_tornado_returns_axes(eiro):
    from comboplan.plot.sensitivity import plot_tornado

    ax = plot_tornado(eiro, margin_ratio=1.25)
    assert hasattr(ax, "barh") and "ptx5+primed / ptx10" in ax.get_xlabel() and "dimensionless" in ax.get_xlabel()
    assert len(ax.get_yticklabels()) == 4
    ax2 = plot_tornado(eiro, column="ptx10")
    assert "fold of day 0" in ax2.get_xlabel()
    with pytest.raises(DataError):
        plot_tornado(eiro.drop(columns=["ratio"]))
    import matplotlib.pyplot as plt

    plt.close("all")
