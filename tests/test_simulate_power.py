"""Power by simulation against closed forms; type-I error of the synergy test; explorer."""
import numpy as np
import pytest

import comboplan.simulate as cs
from comboplan.exceptions import DataError
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.power import ttest_power

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
G = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0})
PTX = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
SEC = cs.secretome("naive", "3x/week from day 0 to 21")


def _model(gamma=0.0):
    return cs.PKPDModel(growth=G, effects={"paclitaxel": cs.Effect("paclitaxel", 0.629),
                                           "secretome": cs.Effect("secretome", 0.02)},
                        interaction=cs.Interaction(gamma=gamma), pk={"paclitaxel": PK})


@pytest.mark.parametrize("n", [4, 7])
def test_two_arm_power_equals_noncentral_t(n):
    """Readout noise only: log(V14/V0) is normal with sd cv*sqrt(2), so the t-test power is closed form."""
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX])]
    cv = 0.4
    r = cs.study_power(_model(), arms, n, [0, 14], analysis="ttest", n_studies=3000,
                       readout=cs.Readout("volume", cv=cv), seed=11)
    # true effect: the paclitaxel kill over 14 days (deterministic)
    true = np.log(cs.simulate_growth([0, 14], G, arms[1].exposures({"paclitaxel": PK}), _model().effects)[0, 1]
                  / cs.simulate_growth([0, 14], G)[0, 1])
    expected = ttest_power(abs(true) / (cv * np.sqrt(2)), n)
    assert 0.05 < expected < 0.95
    assert abs(r.power - expected) < 4 * np.sqrt(expected * (1 - expected) / 3000)
    assert r.table["mean_estimate"][0] == pytest.approx(true, abs=0.02)


def test_bliss_test_type_one_error_and_power():
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX]), cs.Arm("cm", [], [SEC]), cs.Arm("combo", [PTX], [SEC])]
    kw = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("luminescence", cv=0.4),
              n_studies=2000, seed=5)
    null = cs.study_power(_model(0.0), arms, 7, [0, 7, 14, 21], analysis="bliss", **kw)
    assert abs(null.power - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 2000)
    alt = cs.study_power(_model(3.0), arms, 7, [0, 7, 14, 21], analysis="bliss", **kw)
    assert alt.power > null.power + 0.1
    assert alt.table["mean_estimate"][0] > 0  # positive = synergy
    ss = cs.sample_size(_model(3.0), arms, [0, 7, 14, 21], n_values=(4, 8, 16), analysis="bliss", target_power=0.5,
                        **{k: v for k, v in kw.items() if k != "seed"}, seed=5)
    assert list(ss.table["power"]) == sorted(ss.table["power"])
    grid = cs.power_grid(_model(3.0), arms, 7, durations=(14, 21), intervals=(3.5, 7), analysis="bliss",
                         **{k: v for k, v in kw.items() if k != "n_studies"}, n_studies=300)
    assert len(grid.table) == 4


def test_dose_reduction_monotone_and_answer():
    m = _model()
    draws = cs.draws_from_covariance({"potency.paclitaxel": 0.629}, [[0.15 ** 2]], 60, seed=2)
    res = cs.dose_reduction(m, [0, 2.5, 5, 7.5, 10], companions={"none": None, "naive": SEC}, draws=draws,
                            n_animals=20, seed=1, in_vitro_dri={"naive": 2.0})
    t = res.table
    for comp in ("none", "naive"):
        sub = t[(t.companion == comp) & (t.day == 21)].sort_values("dose")
        assert np.all(np.diff(sub["estimate"]) < 0)          # more drug, smaller tumours
        assert np.all(np.diff(sub["p_noninferior"]) >= 0)
    md = res.minimum_dose.set_index(["companion", "day"])
    assert md.loc[("none", 21.0), "min_dose"] == 10.0
    assert md.loc[("naive", 21.0), "min_dose"] < 10.0
    assert md.loc[("naive", 21.0), "in_vitro_dri"] == 2.0
    assert "minimum dose" in res.summary()
    with pytest.raises(DataError, match="reference companion"):
        cs.dose_reduction(m, [0, 10], reference=(10, "primed"))


def test_power_errors():
    with pytest.raises(DataError, match="roles"):
        cs.study_power(_model(), [cs.Arm("a"), cs.Arm("b"), cs.Arm("c")], 5, [0, 7], analysis="ttest")
    with pytest.raises(DataError, match="analysis"):
        cs.study_power(_model(), [cs.Arm("a"), cs.Arm("b")], 5, [0, 7], analysis="anova")


def test_power_path_equals_user_analysis_per_study():
    """The power path's per-study statistic is what the user-facing analysis returns on that study."""
    from comboplan.growth.endpoints import compare_arms
    from comboplan.growth.synergy import invivo_synergy

    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX]), cs.Arm("cm", [], [SEC]), cs.Arm("combo", [PTX], [SEC])]
    kw = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("luminescence", cv=0.4),
              dropout=cs.Dropout(start=10.0, hazard=0.03), n_studies=4, seed=9)
    days = [0, 7, 14, 21]
    design = {"control": [], "ptx": ["A"], "cm": ["B"], "combo": ["A", "B"]}
    df = cs.simulate_study(_model(1.0), arms, 7, days, **kw)
    assert df.groupby("study")["size"].count().min() < 4 * 7 * 4  # some dropout happened
    for ref in ("bliss", "hsa"):
        r = cs.study_power(_model(1.0), arms, 7, days, analysis=ref, **kw)
        est, p = r.estimates[(7, 21.0)]
        for s, d in df.groupby("study"):
            one = invivo_synergy(d, "animal", "arm", "day", "size", design=design, days=None)
            row = one.scores[(one.scores["combination"] == "combo") & (one.scores["reference"] == ref)].iloc[0]
            assert est[s] == pytest.approx(row["score"], rel=1e-7, abs=1e-12)
            assert p[s] == pytest.approx(row["p_synergy"], rel=1e-6, abs=1e-12)
    two = arms[:2]
    df2 = cs.simulate_study(_model(), two, 5, days, **kw)
    for test in ("ttest", "noninferiority"):
        r = cs.study_power(_model(), two, 5, days, analysis=test, endpoint_day=14, margin=0.3, **kw)
        est, p = r.estimates[(5, 21.0)]
        for s, d in df2.groupby("study"):
            one = compare_arms(d, "animal", "arm", "day", "size", reference="control", candidate="ptx", at=14.0,
                               test=test, margin=0.3)
            assert est[s] == pytest.approx(one.table["estimate"][0], rel=1e-10)
            assert p[s] == pytest.approx(one.p_value, rel=1e-8)
