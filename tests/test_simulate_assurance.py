"""Assurance (power averaged over parameter uncertainty), its Monte-Carlo error, seeds, summaries."""
import math

import numpy as np
import pytest

import comboplan.simulate as cs
import comboplan.simulate.power as P
from comboplan.exceptions import DataError
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.power import assurance, format_assurance, format_power, study_power
from comboplan.simulate.seeds import as_generator, as_seed_sequence, draw_seeds

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
PTX = Regimen.from_schedule(5, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
SEC = cs.secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)
DAYS = [0, 7, 14]


def _model(gamma=-1.0):
    g = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 1.0}, size_unit="relative burden")
    return cs.PKPDModel(growth=g, effects={"paclitaxel": cs.Effect("paclitaxel", 0.629),
                                           "secretome": cs.Effect("secretome", 0.15)},
                        interaction=cs.Interaction(gamma=gamma), pk={"paclitaxel": PK})


ARMS = [cs.Arm("ptx10", [PTX.with_amount(10)]), cs.Arm("ptx5+sec", [PTX], [SEC])]
DRAWS = cs.ParameterDraws({"lambda0": [0.08, 0.1, 0.12, 0.09, 0.11, 0.1],
                           "potency.secretome": [0.1, 0.2, 0.15, 0.05, 0.25, 0.12],
                           "interaction.gamma": [-3.0, -1.0, 0.0, 0.5, 1.5, -2.2]})
KW = dict(analysis="noninferiority", margin=0.2, endpoint_day=14, variability=cs.Variability({"lambda0": 0.2}),
          readout=cs.Readout("luminescence", cv=0.4), dropout=cs.Dropout(start=7.0, hazard=0.02))


def test_assurance_is_the_mean_of_per_draw_conditional_powers():
    """Exact equality with the public per-draw loop a user would write (same seeds)."""
    res = assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=30, n_studies=120, seed=7, **KW)
    seeds = draw_seeds(7, DRAWS.n_draws)
    loop = np.array([study_power(_model().with_values(DRAWS.row(d)), ARMS, 5, DAYS, n_studies=30, seed=seeds[d],
                                 **KW).power for d in range(DRAWS.n_draws)])
    per = res.per_draw[(5, 14.0)]
    np.testing.assert_array_equal(per, loop)
    assert res.assurance == np.mean(loop)
    assert 0 < res.assurance < 1 and np.ptp(per) > 0  # the draws matter
    # the conditional power beside it is the power at the typical values with the same seed
    typical = study_power(_model(), ARMS, 5, DAYS, n_studies=120, seed=7, **KW)
    assert res.power == typical.power and res.mc_se == typical.mc_se
    tab = res.table.iloc[0]
    assert tab["n_draws"] == 6 and tab["studies_per_draw"] == 30 and tab["n_studies"] == 120


def test_mc_se_by_hand():
    # assurance: sd of the per-draw powers / sqrt(D)
    row = P._assurance_row(np.array([0.5, 0.7, 0.9]), 10, 0)
    assert row["assurance"] == pytest.approx(0.7)
    assert row["assurance_se"] == pytest.approx(0.2 / math.sqrt(3), rel=1e-12)  # sd = 0.2 (ddof 1)
    assert row["assurance_low"] == pytest.approx(0.7 - 1.96 * 0.2 / math.sqrt(3))
    # one draw: binomial SE of its studies
    one = P._assurance_row(np.array([0.3]), 50, 0)
    assert one["assurance_se"] == pytest.approx(math.sqrt(0.3 * 0.7 / 50))
    # the result's columns follow the formulas
    res = assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=20, n_studies=80, seed=3, **KW)
    r = res.table.iloc[0]
    per = res.per_draw[(5, 14.0)]
    assert r["assurance_se"] == pytest.approx(np.std(per, ddof=1) / math.sqrt(6), rel=1e-12)
    assert r["mc_se"] == pytest.approx(math.sqrt(r["power"] * (1 - r["power"]) / 80), rel=1e-12)
    # conditional power: sqrt(p (1 - p) / n), printed with it
    assert format_power(73, 100) == "0.73 ± 0.044 (MC SE, 100 sims)"  # sqrt(.73 * .27 / 100) = 0.0444
    assert format_assurance(0.7, 0.2 / math.sqrt(3), 3, 10) == "0.70 ± 0.12 (MC SE; 3 draws x 10 studies)"


def test_extremes_print_bounds_never_one_or_zero():
    strong = cs.PKPDModel(growth=_model().growth, effects={"paclitaxel": cs.Effect("paclitaxel", 20.0)},
                          pk={"paclitaxel": PK})
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX])]
    draws = cs.ParameterDraws({"potency.paclitaxel": [15.0, 20.0, 25.0]})
    kw = dict(analysis="ttest", readout=cs.Readout("volume", cv=0.1), seed=1)
    res = assurance(strong, arms, 6, DAYS, draws=draws, studies_per_draw=40, n_studies=200, **kw)
    assert res.power == 1.0 and res.assurance == 1.0  # every simulated study succeeded
    text = res.summary()
    assert "1.00" not in text and "1.0 " not in text
    assert "> 0.981 (200/200 sims)" in text            # exact 95 % bound for the conditional power
    assert "> 0.292 (all 120 simulated studies over 3 draws)" in text  # bound from the 3 independent draws
    assert res.table["assurance_low"][0] == pytest.approx(0.025 ** (1 / 3))
    # no success at all: an upper bound, not 0.00
    none = study_power(_model(), ARMS, 3, DAYS, n_studies=50, **{**KW, "margin": 0.0}, alpha=1e-12, seed=2)
    assert none.power == 0.0
    assert "< 0.072 (0/50 sims)" in none.summary() and "0.00" not in none.summary()
    # a probability just below 1 is printed with enough digits not to read as 1
    assert format_power(1999, 2000).startswith("0.9995 ±")


def test_seeds_do_not_depend_on_grid_order_batching_or_number_of_draws(monkeypatch):
    m = _model()
    kw = dict(KW, n_studies=60, draws=DRAWS, studies_per_draw=15)
    a = cs.power_grid(m, ARMS, 5, durations=(14.0, 21.0), intervals=(7.0,), seed=4,
                      **{k: v for k, v in kw.items() if k != "endpoint_day"})
    b = cs.power_grid(m, ARMS, 5, durations=(21.0, 14.0), intervals=(7.0,), seed=4,
                      **{k: v for k, v in kw.items() if k != "endpoint_day"})
    cols = ["duration", "power", "assurance", "assurance_se"]
    np.testing.assert_array_equal(a.table.sort_values("duration")[cols].to_numpy(),
                                  b.table.sort_values("duration")[cols].to_numpy())
    s1 = cs.sample_size(m, ARMS, DAYS, n_values=(4, 6), seed=4, target_power=0.3, **kw)
    s2 = cs.sample_size(m, ARMS, DAYS, n_values=(6,), seed=4, target_power=0.3, **kw)
    assert s1.table.set_index("n_per_arm").loc[6, "assurance"] == s2.table["assurance"][0]
    assert "n_required_assurance" in s1.settings
    full = assurance(m, ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=15, n_studies=60, seed=4, **KW)
    monkeypatch.setattr(P, "_BLOCK_ANIMALS", 2 * 5 * 15)  # one draw per block
    small = assurance(m, ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=15, n_studies=60, seed=4, **KW)
    np.testing.assert_array_equal(full.per_draw[(5, 14.0)], small.per_draw[(5, 14.0)])
    first = cs.ParameterDraws({k: v[:3] for k, v in DRAWS.values.items()})
    part = assurance(m, ARMS, 5, DAYS, draws=first, studies_per_draw=15, n_studies=60, seed=4, **KW)
    np.testing.assert_array_equal(part.per_draw[(5, 14.0)], full.per_draw[(5, 14.0)][:3])


def test_seed_helpers():
    ss = np.random.SeedSequence(12)
    assert as_seed_sequence(ss).generate_state(2).tolist() == ss.generate_state(2).tolist()
    ss.spawn(3)  # spawning does not change what a copy gives
    assert as_seed_sequence(ss).spawn(1)[0].spawn_key == (0,)
    g = as_generator(5)
    assert isinstance(g, np.random.Generator) and as_generator(g) is g
    assert as_generator(5).random() == as_generator(5).random()
    s = draw_seeds(9, 3, start=2)
    assert [x.spawn_key for x in s] == [(3, 2), (3, 3), (3, 4)]
    assert draw_seeds(9, 5)[2].generate_state(1) == s[0].generate_state(1)


def test_assurance_synergy_analysis_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    arms = [cs.Arm("control"), cs.Arm("ptx", [PTX]), cs.Arm("sec", [], [SEC]), cs.Arm("combo", [PTX], [SEC])]
    draws = cs.ParameterDraws({"interaction.gamma": [0.5, 2.0, 4.0]})
    res = cs.sample_size(_model(2.0), arms, [0, 7, 14, 21], n_values=(4, 8), analysis="bliss", draws=draws,
                         studies_per_draw=20, n_studies=40, seed=1, readout=cs.Readout("luminescence", cv=0.3))
    per = res.per_draw[(8, 21.0)]
    assert per[2] >= per[0]  # stronger synergy, more power
    ax = res.plot()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["conditional power", "assurance"]
    assert "assurance" in res.summary()


def test_assurance_errors():
    with pytest.raises(DataError, match="draws=ParameterDraws"):
        assurance(_model(), ARMS, 5, DAYS, draws=None, **KW)
    with pytest.raises(DataError, match="studies_per_draw"):
        assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=0, **KW)
    with pytest.raises(DataError, match="draws must be ParameterDraws"):
        study_power(_model(), ARMS, 5, DAYS, draws={"lambda0": [0.1]}, **KW)
    with pytest.raises(DataError, match="margin"):
        study_power(_model(), ARMS, 5, DAYS, **{**KW, "margin": -0.1})
