"""One vocabulary for options (DESIGN.md section 8, issue 14 item 2).

The confidence level is ``ci_level`` everywhere and ``errors`` takes {"warn", "raise"}.  Old
names stay as deprecated aliases: they still work, with a ``FutureWarning`` that names the
replacement; giving both the old and the new name is an ``InvalidParameterError``.
"""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
import comboplan.simulate as cs
from comboplan.exceptions import FitError, InvalidParameterError
from comboplan.fitting.summary_stats import equivalence_from_summary
from comboplan.models.dose_response import hill

pytestmark = [pytest.mark.filterwarnings("ignore::comboplan.exceptions.ComboplanWarning"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def _grid(seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for a in (0, 0.1, 0.3, 1, 3, 10.0):
        for b in (0, 0.2, 0.6, 2, 6, 20.0):
            e = 100 * (1 - (1 - hill(a, 0, 1, 1, 1.2)) * (1 - hill(b, 0, 0.8, 2, 1.0)))
            for r in range(3):
                inh = float(np.clip(e + rng.normal(0, 2.0), 0.5, 99.5))
                rows.append(dict(A=a, B=b, inh=inh, v=1 - inh / 100, rep=r))
    return pd.DataFrame(rows)


def _deprecated(call, old, new):
    """``call()`` warns once that ``old=`` is deprecated in favour of ``new=``; returns its result."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = call()
    msgs = [str(x.message) for x in w if issubclass(x.category, FutureWarning)]
    assert len(msgs) == 1 and f"{old}= is deprecated" in msgs[0] and f"use {new}=" in msgs[0], msgs
    return out


GRID = _grid()


@pytest.mark.parametrize("func, kw, table", [
    (cp.synergy, dict(methods=("bliss",), n_boot=0), "blocks"),
    (cp.chou_talalay, dict(), "levels"),
    (cp.fit_musyc, dict(n_boot=5, seed=1, response_kind="inhibition", scale="percent"), "params"),
])
def test_ci_is_a_deprecated_alias_of_ci_level(func, kw, table):
    args = (GRID, ["A", "B"], "inh")
    new = func(*args, replicate="rep", ci_level=0.8, **kw)
    old = _deprecated(lambda: func(*args, replicate="rep", ci=0.8, **kw), "ci", "ci_level")
    pd.testing.assert_frame_equal(getattr(new, table), getattr(old, table))
    assert new.settings["ci_level"] == 0.8
    with pytest.raises(InvalidParameterError, match="deprecated alias of ci_level"):
        func(*args, replicate="rep", ci=0.8, ci_level=0.9, **kw)
    assert "ci_level" in inspect.signature(func).parameters and "ci" not in inspect.signature(func).parameters


def test_equivalent_dose_ci_alias():
    kw = dict(agent="A", combination={"A": 1.0, "B": 2.0}, replicate="rep", n_boot=20, seed=1)
    new = cp.equivalent_dose(GRID, ["A", "B"], "inh", ci_level=0.8, **kw)
    old = _deprecated(lambda: cp.equivalent_dose(GRID, ["A", "B"], "inh", ci=0.8, **kw), "ci", "ci_level")
    pd.testing.assert_frame_equal(new, old)


@pytest.fixture(scope="module")
def dr():
    wells = cp.load_dataset("karimi2025_mtt_synthetic")
    return cp.fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                                fixed={"e0": 100.0, "einf": 0.0}, dose_unit="ug/mL", response_unit="%")


def test_dose_response_methods_take_ci_level(dr):
    pd.testing.assert_frame_equal(_deprecated(lambda: dr.ecx(50, level=0.8), "level", "ci_level"),
                                  dr.ecx(50, ci_level=0.8))
    a = _deprecated(lambda: dr.predict([1.0, 10.0], interval="confidence", level=0.8), "level", "ci_level")
    b = dr.predict([1.0, 10.0], interval="confidence", ci_level=0.8)
    np.testing.assert_array_equal(a["ci_low"].values, b["ci_low"].values)
    assert not np.allclose(b["ci_low"].values, dr.predict([1.0, 10.0], interval="confidence")["ci_low"].values)
    with pytest.raises(InvalidParameterError, match="ci_level must be"):
        dr.predict([1.0], interval="confidence", ci_level=95)


def test_shared_dose_response_methods_take_ci_level():
    wells = cp.load_dataset("karimi2025_mtt_synthetic")
    res = cp.fit_dose_response_shared(wells, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                                      shared=["e0", "einf", "h"], dose_unit="ug/mL", response_unit="%")
    ref = res.keys["time_h"].iloc[0]
    for name, args in (("ecx", (50,)), ("compare_ecx", (50,)), ("relative_potency", (ref,))):
        m = getattr(res, name)
        pd.testing.assert_frame_equal(_deprecated(lambda: m(*args, level=0.8), "level", "ci_level"),
                                      m(*args, ci_level=0.8))
    pd.testing.assert_frame_equal(_deprecated(lambda: res.compare_params("ec50", level=0.8), "level", "ci_level"),
                                  res.compare_params("ec50", ci_level=0.8))
    with pytest.raises(InvalidParameterError, match="ci_level must be"):
        res.ecx(50, ci_level=1.5)


def test_equivalence_from_summary_ci_level():
    a = equivalence_from_summary((100.0, 4.0, 6), [97.0], [5.0], [8], margin=8.0, ci_level=0.8)
    b = _deprecated(lambda: equivalence_from_summary((100.0, 4.0, 6), [97.0], [5.0], [8], margin=8.0, level=0.8),
                    "level", "ci_level")
    pd.testing.assert_frame_equal(a, b)


def test_dose_reduction_ci_level():
    from comboplan.models.pk import paclitaxel_mouse

    model = cs.PKPDModel(growth=cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0}),
                         effects={"paclitaxel": cs.Effect("paclitaxel", 0.629)},
                         pk={"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})})
    kw = dict(days=(14.0,), n_animals=20, seed=1)
    a = cs.dose_reduction(model, [5, 10], ci_level=0.8, **kw)
    b = _deprecated(lambda: cs.dose_reduction(model, [5, 10], level=0.8, **kw), "level", "ci_level")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.settings["ci_level"] == 0.8
    with pytest.raises(InvalidParameterError, match="ci_level must be"):
        cs.dose_reduction(model, [5, 10], ci_level=90, **kw)


def _xenograft():
    return cp.load_dataset("eiro2024_xenograft_synthetic")[["mouse", "arm", "day", "lum_ps"]]


def test_fit_growth_errors_warn_raise_and_deprecated_ignore():
    cols = dict(subject="mouse", arm="arm", time="day", size="lum_ps", kind="luminescence")
    with pytest.raises(FitError, match="did not converge"):
        cp.fit_growth(_xenograft(), **cols, models=("gompertz",), maxiter=1, errors="raise")
    with pytest.warns(cp.exceptions.ConvergenceWarning):
        warned = cp.fit_growth(_xenograft(), **cols, models=("gompertz",), maxiter=1, errors="warn")
    assert not warned.fits["converged"].all()
    with pytest.warns(FutureWarning, match="errors='ignore' is deprecated.*use errors='warn'"):
        ignored = cp.fit_growth(_xenograft(), **cols, models=("gompertz",), maxiter=1, errors="ignore")
    pd.testing.assert_frame_equal(ignored.params, warned.params)
    with pytest.raises(InvalidParameterError, match="errors must be"):
        cp.fit_growth(_xenograft(), **cols, errors="skip")
