"""lmfit interop: comboplan models as lmfit.Model give comboplan's estimates; results as lmfit.Parameters."""
from __future__ import annotations

import types
import warnings

import numpy as np
import pandas as pd
import pytest

lmfit = pytest.importorskip("lmfit")

import comboplan as cp  # noqa: E402
from comboplan.exceptions import InvalidParameterError  # noqa: E402
from comboplan.interop import as_lmfit_model, to_lmfit_parameters  # noqa: E402
from comboplan.models.dose_response import hill  # noqa: E402


@pytest.fixture(scope="module")
def wells():
    return cp.load_dataset("karimi2025_mtt_synthetic")


def _simulated(seed=3):
    """Three noisy Hill curves with every parameter identifiable (dose 0 plus 8 doses, triplicates)."""
    rng = np.random.default_rng(seed)
    doses = np.r_[0.0, 0.01 * 3.0 ** np.arange(8)]
    rows = []
    for line, (ec50, h, einf) in {"A": (0.3, 1.2, 10.0), "B": (2.0, 0.8, 30.0), "C": (0.05, 2.0, 5.0)}.items():
        for d in doses:
            for _ in range(3):
                rows.append((line, d, hill(d, 100.0, einf, ec50, h) + rng.normal(0, 3.0)))
    return pd.DataFrame(rows, columns=["line", "conc_uM", "viability"])


def _lmfit_fit(model, x, y):
    params = model.guess(y, dose=x)
    return model.fit(y, params, dose=x)


def test_lmfit_model_reproduces_comboplan_fit_on_bundled_wells(wells):
    sub = wells.query("time_h == 24")
    res = cp.fit_dose_response(sub, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                               fixed={"einf": 0})
    model = as_lmfit_model("hill4", fixed={"einf": 0})
    assert isinstance(model, lmfit.Model)
    assert model.independent_vars == ["dose"] and model.param_names == ["e0", "einf", "ec50", "h"]
    out = _lmfit_fit(model, sub["dose_ug_per_mL"].to_numpy(), sub["viability_pct"].to_numpy())
    assert out.success
    tab = res.params.set_index("param")
    for name in ("e0", "ec50", "h"):
        assert out.params[name].value == pytest.approx(tab.loc[name, "estimate"], rel=1e-5)
        assert out.params[name].stderr == pytest.approx(tab.loc[name, "stderr"], rel=1e-3)
    assert out.params["einf"].value == 0 and not out.params["einf"].vary
    assert out.chisqr == pytest.approx(float(res.curves["rss"].iloc[0]), rel=1e-8)


@pytest.mark.parametrize("name", ["hill4", "LL.4", "W1.4"])
def test_lmfit_model_reproduces_comboplan_fit_every_parameter_free(name):
    df = _simulated()
    res = cp.fit_dose_response(df, dose="conc_uM", response="viability", by="line", model=name)
    model = as_lmfit_model(name)
    for i, (line, sub) in enumerate(df.groupby("line", sort=True)):
        out = _lmfit_fit(model, sub["conc_uM"].to_numpy(), sub["viability"].to_numpy())
        tab = res.params.query("curve == @i").set_index("param")
        assert tab["line"].iloc[0] == line
        assert out.chisqr == pytest.approx(float(res.curves["rss"].iloc[i]), rel=1e-6)
        for p in model.param_names:
            est = tab.loc[p, "estimate"]
            assert out.params[p].value == pytest.approx(est, rel=1e-3, abs=1e-6), (name, line, p)
            assert out.params[p].stderr == pytest.approx(tab.loc[p, "stderr"], rel=2e-2), (name, line, p)


def test_model_fixed_defaults_bounds_and_errors():
    m3 = as_lmfit_model("hill3")              # einf = 0 by definition of hill3
    pars = m3.make_params()
    assert pars["einf"].value == 0 and not pars["einf"].vary
    assert pars["ec50"].min == 0 and pars["h"].min == 0
    assert as_lmfit_model("LL.3").make_params()["c"].vary is False
    m = as_lmfit_model("4pl", prefix="a_")     # aliases and prefixes (composite models)
    assert m.param_names == ["a_e0", "a_einf", "a_ec50", "a_h"]
    with pytest.raises(InvalidParameterError, match="ec5"):
        as_lmfit_model("hill4", fixed={"ec5": 1.0})
    with pytest.raises(cp.DataError):
        as_lmfit_model("hill7")


def test_parameters_carry_values_stderr_bounds_and_correlations():
    df = _simulated()
    res = cp.fit_dose_response(df, dose="conc_uM", response="viability", by="line", model="hill4",
                               bounds={"einf": (0.0, 50.0)}, dose_unit="uM", response_unit="%")
    pars = to_lmfit_parameters(res, curve={"line": "B"})
    assert isinstance(pars, lmfit.Parameters)
    tab = res.params.query("line == 'B'").set_index("param")
    i = int(tab["curve"].iloc[0])
    for p in ("e0", "einf", "ec50", "h"):
        assert pars[p].value == tab.loc[p, "estimate"]
        assert pars[p].stderr == pytest.approx(tab.loc[p, "stderr"])
        assert pars[p].vary
        assert pars[p].user_data["ci_low"] == pytest.approx(tab.loc[p, "ci_low"])
    assert (pars["einf"].min, pars["einf"].max) == (0.0, 50.0)        # the bounds the fit used
    assert pars["ec50"].min == 0 and pars["ec50"].user_data["unit"] == "uM"
    cov = res.cov[i]
    r = cov[2, 3] / np.sqrt(cov[2, 2] * cov[3, 3])
    assert pars["ec50"].correl["h"] == pytest.approx(r) == pars["h"].correl["ec50"]
    # the same curve by index; the parameters evaluate through the lmfit model as comboplan predicts
    same = to_lmfit_parameters(res, curve=i)
    assert [same[p].value for p in same] == [pars[p].value for p in pars]
    d = np.array([0.0, 0.1, 1.0, 10.0])
    np.testing.assert_allclose(as_lmfit_model("hill4").eval(pars, dose=d), res.predict(d).values[i], rtol=1e-12)


def test_parameters_of_fixed_and_inestimable_parameters():
    sub = cp.load_dataset("karimi2025")                                # three means: exact fit, no SEs
    sub = sub.query("cell_line == 'SKBR3' and time_h == 24")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cp.fit_dose_response(sub, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                                   fixed={"e0": 100, "einf": 0})
    pars = to_lmfit_parameters(res)
    assert not pars["e0"].vary and pars["e0"].value == 100 and pars["e0"].stderr is None
    assert pars["ec50"].vary and pars["ec50"].stderr is None           # NaN in comboplan -> None in lmfit


def test_curve_selection_errors(wells):
    res = cp.fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                               model="hill4", fixed={"einf": 0})
    assert to_lmfit_parameters(res, curve={"time_h": 48.0})["h"].value == pytest.approx(
        res.params.query("time_h == 48 and param == 'h'")["estimate"].iloc[0])
    with pytest.raises(InvalidParameterError, match="no curve"):
        to_lmfit_parameters(res, curve=5)
    with pytest.raises(InvalidParameterError, match="cell_line"):
        to_lmfit_parameters(res, curve={"cell_line": "SKBR3"})
    with pytest.raises(InvalidParameterError, match="integer index"):
        to_lmfit_parameters(res, curve="24")
    with pytest.raises(InvalidParameterError, match="no parameter table"):
        to_lmfit_parameters(object())


def test_parameters_from_another_family_table():
    """Results of other families convert through their tidy params table; names become identifiers."""
    table = pd.DataFrame({"parameter": ["w0", "potency.paclitaxel", "interaction.gamma"],
                          "estimate": [99.0, 0.27, 2.2], "stderr": [5.2, 0.08, np.nan],
                          "unit": ["mm^3", "1/(day x ug/mL)", "1"]})
    pars = to_lmfit_parameters(types.SimpleNamespace(params=table))
    assert list(pars) == ["w0", "potency_paclitaxel", "interaction_gamma"]
    assert pars["potency_paclitaxel"].user_data["name"] == "potency.paclitaxel"
    assert pars["w0"].stderr == 5.2 and pars["interaction_gamma"].stderr is None
    per_animal = pd.DataFrame({"subject": ["m1", "m1", "m2", "m2"], "param": ["v0", "r"] * 2,
                               "estimate": [1.0, 0.1, 2.0, 0.2], "stderr": [0.1, 0.01, 0.2, 0.02]})
    res = types.SimpleNamespace(params=per_animal)
    assert to_lmfit_parameters(res, curve={"subject": "m2"})["r"].value == 0.2
    with pytest.raises(InvalidParameterError, match="several sets"):
        to_lmfit_parameters(res)


def test_docs_example_runs():
    """The lmfit interop example of docs/models/dose_response.md runs as written and agrees."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "models" / "dose_response.md").read_text(encoding="utf-8")
    section = text.split("### lmfit interop", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", section, re.S | re.M)
    assert blocks
    ns: dict = {}
    exec(compile("\n".join(blocks), "docs/models/dose_response.md (lmfit interop)", "exec"), ns)
    for p in ("e0", "ec50", "h"):
        assert ns["out"].params[p].value == pytest.approx(ns["pars"][p].value, rel=1e-5)
