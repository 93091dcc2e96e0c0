"""Dose-reduction explorer with a toxicity limit: therapeutic window, MTD, both criteria."""
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import comboplan.simulate as cs  # noqa: E402
from comboplan.exceptions import DataError  # noqa: E402
from comboplan.models.pk import paclitaxel_mouse  # noqa: E402
from comboplan.simulate.toxicity import BodyWeightModel, ToxicityLimit  # noqa: E402

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
G = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0})
SEC = cs.secretome("naive", "3x/week from day 0 to 14")
PRIMED = cs.secretome("primed", "3x/week from day 0 to 14", paclitaxel_equivalent=3.0)
MODEL = cs.PKPDModel(growth=G, effects={"paclitaxel": cs.Effect("paclitaxel", 0.629),
                                        "secretome": cs.Effect("secretome", 0.02)}, pk={"paclitaxel": PK})
DOSES = [0, 2.5, 5, 10, 20, 40]
KW = dict(companions={"none": None, "naive": SEC, "primed": PRIMED}, reference=(10.0, "none"), days=[14.0],
          schedule="daily x5 from day 0", n_animals=10, seed=3,
          draws=cs.draws_from_covariance({"potency.paclitaxel": 0.629}, [[0.15 ** 2]], 40, seed=2))


def _limit(**kw):
    tdraws = cs.draws_from_covariance({"kout": 0.2, "ec50": 3.0}, np.diag([0.04 ** 2, 0.8 ** 2]), 40, seed=5)
    args = dict(variability=cs.Variability({"kout": 0.3, "ec50": 0.4}), draws=tdraws, n_animals=40)
    args.update(kw)
    return ToxicityLimit.parse(BodyWeightModel(), "P(animal reaches >= 20 % loss) <= 10 %", **args)


@pytest.fixture(scope="module")
def with_tox():
    return cs.dose_reduction(MODEL, DOSES, toxicity=_limit(), **KW)


def test_efficacy_part_is_unchanged_by_toxicity(with_tox):
    plain = cs.dose_reduction(MODEL, DOSES, **KW)
    cols = list(plain.table.columns)
    np.testing.assert_array_equal(with_tox.table[cols].to_numpy(), plain.table[cols].to_numpy())
    np.testing.assert_array_equal(with_tox.draws, plain.draws)
    md, mp = with_tox.minimum_dose.set_index("companion"), plain.minimum_dose.set_index("companion")
    np.testing.assert_array_equal(md["min_dose_efficacy"], mp["min_dose"])
    np.testing.assert_array_equal(md["min_dose_efficacy_interp"], mp["min_dose_interp"])
    assert plain.toxicity is None and "Toxicity" not in plain.summary()


def test_toxicity_columns_monotone_and_carried_drug(with_tox):
    t = with_tox.table
    for col in ("tox_metric", "mean_nadir_pct", "p_endpoint", "p_tolerable", "tolerated"):
        assert col in t.columns
    tox = with_tox.toxicity
    for comp in ("none", "naive", "primed"):
        s = tox[tox.companion == comp].sort_values("dose")
        assert np.all(np.diff(s["mean_nadir_pct"]) > 0)  # more drug, more weight loss
        assert np.all(np.diff(s["p_tolerable"]) <= 0)
    by = tox.set_index(["companion", "dose"])
    # naive secretome carries no paclitaxel: identical toxicity; primed carries some: more loss
    assert by.loc[("naive", 10.0), "mean_nadir_pct"] == by.loc[("none", 10.0), "mean_nadir_pct"]
    assert by.loc[("primed", 10.0), "mean_nadir_pct"] > by.loc[("none", 10.0), "mean_nadir_pct"]
    assert by.loc[("none", 0.0), "mean_nadir_pct"] == 0.0
    assert with_tox.toxicity_draws.shape == (3, len(DOSES), 40)
    da = with_tox.toxicity_to_xarray()
    assert da.attrs["units"] == "1" and da.attrs["dose_unit"] == "mg/kg"
    np.testing.assert_allclose(da.sel(companion="none", dose=10.0).median().item(),
                               by.loc[("none", 10.0), "tox_metric"])


def test_mtd_and_minimum_dose_require_both(with_tox):
    t = with_tox.table
    target = with_tox.settings["target_probability"]
    seen_no_window = False
    for _, r in with_tox.minimum_dose.iterrows():
        sub = t[(t.companion == r["companion"]) & (t.day == r["day"])].sort_values("dose")
        tol = sub["tolerated"].to_numpy(bool)
        dd = sub["dose"].to_numpy()
        lead = np.cumprod(tol).astype(bool)
        assert r["mtd"] == (dd[lead].max() if lead.any() else np.nan) or (np.isnan(r["mtd"]) and not lead.any())
        both = dd[(sub["p_noninferior"].to_numpy() >= target) & tol]
        if both.size:
            assert r["min_dose"] == both.min() and r["window"]
            assert r["min_dose"] >= r["min_dose_efficacy"]
        else:
            assert np.isnan(r["min_dose"]) and not r["window"]
            seen_no_window = True
    assert with_tox.minimum_dose["mtd"].notna().all()
    # the grid and limit were chosen so the answer is not trivial: the MTD is inside the grid
    assert (with_tox.minimum_dose["mtd"] < max(DOSES)).all()
    assert seen_no_window or with_tox.minimum_dose["window"].all()


def test_require_tolerable_false_keeps_efficacy_answer(with_tox):
    r = cs.dose_reduction(MODEL, DOSES, toxicity=_limit(), require_tolerable=False, **KW)
    np.testing.assert_array_equal(r.minimum_dose["min_dose"], with_tox.minimum_dose["min_dose_efficacy"])
    np.testing.assert_array_equal(r.minimum_dose["mtd"], with_tox.minimum_dose["mtd"])
    assert "efficacy alone" in r.summary()


def test_summary_prints_probabilities_with_mc_error(with_tox):
    s = with_tox.summary()
    assert "maximum tolerated dose" in s and "P(tolerable)" in s
    assert "illustrative" in s  # the default body-weight parameters are declared as assumptions
    # a simulated probability is never printed as exactly 0 or 1
    for m in re.finditer(r"P\((?:tolerable|non-inferior)\) ([^,(]+)", s):
        assert not re.match(r"\s*(1\.00?|0\.00?)\b", m.group(1)), m.group(0)
    assert "sims)" in s


def test_tuple_form_mean_nadir_and_errors():
    r = cs.dose_reduction(MODEL, [0, 10, 40], toxicity=(BodyWeightModel(), "mean nadir loss <= 15 %"),
                          **{**KW, "companions": {"none": None}})
    assert r.settings["toxicity"]["criterion"] == "mean_nadir"
    tox = r.toxicity.set_index("dose")
    np.testing.assert_allclose(tox["tox_metric"], tox["mean_nadir_pct"] / 100, rtol=1e-12)
    assert "WARNING: no body-weight parameter uncertainty" in r.summary()
    assert set(r.toxicity["p_tolerable"]) <= {0.0, 1.0}
    with pytest.raises(DataError, match="ToxicityLimit"):
        cs.dose_reduction(MODEL, [0, 10], toxicity="mean nadir <= 15 %")
    with pytest.raises(DataError, match="driven by"):
        cs.dose_reduction(MODEL, [0, 10], toxicity=ToxicityLimit(BodyWeightModel(agent="docetaxel")))


def test_no_therapeutic_window_is_reported():
    lim = ToxicityLimit(BodyWeightModel(), criterion="mean_nadir", limit=0.045)  # tolerates 2.5, not 5 mg/kg
    r = cs.dose_reduction(MODEL, DOSES, toxicity=lim, **{**KW, "companions": {"none": None}})
    md = r.minimum_dose.iloc[0]
    assert md["mtd"] == 2.5 and md["min_dose_efficacy"] == 10.0
    assert np.isnan(md["min_dose"]) and np.isnan(md["dri_in_vivo"]) and not md["window"]
    assert "no therapeutic window" in r.summary()


def test_window_plot(with_tox):
    ax = with_tox.plot(kind="window")
    assert "fraction" in ax.get_ylabel() and "mg/kg" in ax.get_xlabel()
    plain = cs.dose_reduction(MODEL, [0, 10], **{**KW, "companions": {"none": None}})
    with pytest.raises(DataError, match="no toxicity"):
        plain.plot(kind="window")
    assert plain.plot().get_xlabel().startswith("paclitaxel dose")
