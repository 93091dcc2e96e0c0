"""Every DataError path of comboplan.data.validate names the column, the row and a fix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comboplan.exceptions import DataError
from conftest import raises_with
from comboplan.data import validate as v


@pytest.fixture
def df():
    # non-default index labels so that "row" in messages is the label, not the position
    return pd.DataFrame(
        {
            "agent": ["a", "a", "b", "b"],
            "dose": [0.0, 1.0, 0.0, 2.0],
            "resp": [100.0, 80.0, 99.0, 50.0],
            "unit": ["uM", "uM", "nM", "nM"],
            "w": [1.0, 1.0, 2.0, 1.0],
        },
        index=[10, 11, 12, 13],
    )


# --- primitives that existed before -------------------------------------------------------
def test_require_frame_errors():
    with raises_with("pandas DataFrame", "list"):
        v.require_frame([1, 2])
    with raises_with("no rows"):
        v.require_frame(pd.DataFrame({"x": []}))


def test_require_columns_lists_missing_and_available(df):
    with raises_with("'conc'", "'dose'", "available columns"):
        v.require_columns(df, ["conc"], role="dose")


def test_numeric_column_errors(df):
    d = df.assign(dose=["0", "1", "10 uM", "2"])
    with raises_with("'dose'", "row 12", "'10 uM'", "record the unit separately"):
        v.numeric_column(d, "dose", "dose")
    with raises_with("'flag'", "boolean"):
        v.numeric_column(df.assign(flag=[True, False, True, False]), "flag", "dose")


@pytest.mark.parametrize(
    "bad, parts",
    [
        (np.nan, ("'dose'", "missing", "row 12", "dose 0")),
        (np.inf, ("'dose'", "infinite", "row 12")),
        (-1.0, ("'dose'", ">= 0", "row 12", "-1.0", "log10")),
    ],
)
def test_dose_column_errors(df, bad, parts):
    d = df.copy()
    d.loc[12, "dose"] = bad
    with raises_with(*parts):
        v.check_dose_column(d, "dose")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_response_column_errors(df, bad):
    d = df.copy()
    d.loc[13, "resp"] = bad
    with raises_with("'resp'", "row 13", "dropna"):
        v.check_response_column(d, "resp")


def test_response_column_non_numeric(df):
    d = df.assign(resp=["100", "80", "n/a", "50"])
    with raises_with("'resp'", "row 12", "'n/a'"):
        v.check_response_column(d, "resp")


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_weights_errors(df, bad):
    d = df.copy()
    d.loc[11, "w"] = bad
    with raises_with("'w'", "row 11", "> 0"):
        v.check_weights_column(d, "w")


def test_groups_nonempty(df):
    d = df.copy()
    d.loc[13, "agent"] = None
    with raises_with("'agent'", "row 13", "missing"):
        v.check_groups_nonempty(d, ["agent"])


def test_valid_columns_pass_and_return_copies(df):
    x = v.check_dose_column(df, "dose")
    x[:] = -5
    assert (df["dose"] >= 0).all()
    np.testing.assert_array_equal(v.check_response_column(df, "resp"), df["resp"].to_numpy())


# --- units ----------------------------------------------------------------------------------
def test_check_units_ok(df):
    assert v.check_units(df, "unit", "agent") == {"a": "uM", "b": "nM"}


def test_check_units_mixed(df):
    d = df.copy()
    d.loc[11, "unit"] = "nM"
    with raises_with("'unit'", "'a'", "'uM'", "'nM'", "row 10", "row 11", "convert"):
        v.check_units(d, "unit", "agent")


def test_check_units_missing(df):
    d = df.copy()
    d.loc[12, "unit"] = None
    with raises_with("'unit'", "row 12", "missing"):
        v.check_units(d, "unit", "agent")


def test_check_units_whitespace_is_same_unit(df):
    d = df.assign(unit=["uM", "uM ", "nM", "nM"])
    assert v.check_units(d, "unit", "agent") == {"a": "uM", "b": "nM"}


# --- duplicates -----------------------------------------------------------------------------
def test_check_duplicates_join_error(df):
    d = pd.concat([df, df.loc[[11]].rename(index={11: 99})])
    with raises_with("['agent', 'dose']", "row 99", "row 11", "replicate", "aggregate on purpose"):
        v.check_duplicates(d, ["agent", "dose"])


def test_check_duplicates_with_replicate(df):
    d = pd.concat([df.assign(rep=1), df.assign(rep=2).rename(index=lambda i: i + 100)])
    v.check_duplicates(d, ["agent", "dose"], replicate="rep")  # labelled replicates are fine
    with pytest.raises(DataError):
        v.check_duplicates(d, ["agent", "dose"])  # unlabelled: refused
    d2 = pd.concat([d, d.loc[[110]].rename(index={110: 500})])
    with raises_with("'rep'", "row 500", "row 110", "renumber"):
        v.check_duplicates(d2, ["agent", "dose"], replicate="rep")


def test_check_duplicates_nan_keys_and_no_keys(df):
    d = pd.DataFrame({"k": [np.nan, np.nan, 1.0]}, index=["x", "y", "z"])
    with raises_with("row 'y'", "row 'x'"):
        v.check_duplicates(d, "k")
    with raises_with("at least one key"):
        v.check_duplicates(df, [])
    with raises_with("'nope'"):
        v.check_duplicates(df, ["nope"])


# --- selectors and controls -----------------------------------------------------------------
def test_select_rows_forms(df):
    d = df.assign(ctrl=df["dose"] == 0)
    expect = np.array([True, False, True, False])
    np.testing.assert_array_equal(v.select_rows(d, "ctrl", "control"), expect)
    np.testing.assert_array_equal(v.select_rows(d, {"dose": 0}, "control"), expect)
    np.testing.assert_array_equal(v.select_rows(d, {"dose": [0, 2]}, "control"),
                                  [True, False, True, True])
    np.testing.assert_array_equal(v.select_rows(d, {"dose": 0, "agent": "b"}, "control"),
                                  [False, False, True, False])
    np.testing.assert_array_equal(v.select_rows(d, d["dose"] == 0, "control"), expect)
    np.testing.assert_array_equal(v.select_rows(d, expect, "control"), expect)


def test_select_rows_errors(df):
    with raises_with("'agent'", "must be boolean", "{'agent': 'a'}"):
        v.select_rows(df, "agent", "blank")
    with raises_with("empty dict"):
        v.select_rows(df, {}, "blank")
    with raises_with("'nope'"):
        v.select_rows(df, {"nope": 1}, "blank")
    with raises_with("same index"):
        v.select_rows(df, pd.Series([True] * 4), "blank")
    with raises_with("boolean", "(4)"):
        v.select_rows(df, np.array([1, 0, 1, 0]), "blank")
    with raises_with("type int"):
        v.select_rows(df, 3, "blank")
    with raises_with("blank selector", "matched no rows", "'0'"):
        v.select_rows(df, {"dose": "0"}, "blank")


def test_check_has_controls(df):
    mask = np.array([True, False, False, False])
    v.check_has_controls(df, mask)  # without groups one control is enough
    with raises_with("agent='b'", "row 12", "no untreated control rows"):
        v.check_has_controls(df, mask, by="agent")
    with raises_with("no blank rows"):
        v.check_has_controls(df, np.zeros(4, bool), role="blank")


# --- scales ---------------------------------------------------------------------------------
def test_check_scale_percent_as_fraction():
    s = pd.Series([0.95, 0.5, 85.0], index=["w1", "w2", "w3"])
    with raises_with("'viab'", "fraction", "row 'w3'", "85.0", "scale='percent'"):
        v.check_scale(s, "fraction", "viab")


def test_check_scale_raw_signal():
    with raises_with("'A450'", "position 1", "raw plate signals", "normalise"):
        v.check_scale(np.array([10.0, 1500.0]), "percent", "A450")


def test_check_scale_fraction_as_percent():
    s = pd.Series([0.9, 0.5, 0.2, 1.05], index=list("abcd"))
    with raises_with("'v'", "declared as percent", "row 'a'", "scale='fraction'"):
        v.check_scale(s, "percent", "v")


def test_check_scale_bad_kind_and_ok_values():
    with raises_with("'fraction' or 'percent'"):
        v.check_scale([1.0], "ratio")
    v.check_scale([1.0, 0.5, -0.2, 1.3, np.nan], "fraction")
    v.check_scale([100.0, 50.0, -20.0, 130.0], "percent")
    v.check_scale([0.5, 0.5], "percent")  # too few values to call it a fraction
    v.check_scale([500.0], "percent", bounds=(0, 1000))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1.5, 3.0), min_size=1, max_size=20))
def test_check_scale_accepts_plausible_fractions(vals):
    v.check_scale(np.array(vals), "fraction")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=12),
    st.data(),
)
def test_validators_never_mutate(agents, data):
    n = len(agents)
    d = pd.DataFrame(
        {
            "agent": agents,
            "dose": data.draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)),
            "unit": ["uM"] * n,
            "rep": list(range(n)),
        }
    )
    before = d.copy(deep=True)
    v.check_units(d, "unit", "agent")
    v.check_duplicates(d, ["agent", "dose"], replicate="rep")
    v.check_dose_column(d, "dose")
    v.check_has_controls(d, np.ones(n, bool), by="agent")
    pd.testing.assert_frame_equal(d, before)


def test_check_scale_accepts_viability_above_150_percent():
    """Real screens contain 187 % viability (issue 12): inside the plausible range -150..300 %."""
    v.check_scale(pd.Series([12.0, 95.0, 187.0]), "percent", "viab")
    v.check_scale(pd.Series([0.12, 0.95, 1.87]), "fraction", "viab")
    with pytest.raises(DataError, match="plausible range"):
        v.check_scale(pd.Series([12.0, 95.0, 1870.0]), "percent", "viab")
