"""Normalisation of plate readouts and GR values: hand-computed numbers, properties, errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import comboplan as cp
from conftest import raises_with
from comboplan.data.normalize import (
    gr_values,
    normalize,
    percent_of_control,
    reference_subtract,
    subtract_blank,
    to_fraction,
    to_inhibition,
    to_percent,
    to_viability,
)


def _plate():
    """Two WST-1 plates (A450 with A655 reference); numbers chosen for hand computation.

    P1: blanks net 0.10, 0.10 -> B = 0.10; controls net 1.10, 1.30 -> corrected 1.0, 1.2,
        C = 1.1; treated corrected 0.55 (1 uM) and 0.11 (10 uM) -> 50 %, 10 %.
    P2: B = 0.2; controls corrected 2.0, 2.0 -> C = 2.0; treated 1.0, 0.5 -> 50 %, 25 %.
    """
    return pd.DataFrame(
        {
            "plate": ["P1"] * 6 + ["P2"] * 6,
            "well": ["blank", "blank", "cells", "cells", "cells", "cells"] * 2,
            "conc_uM": [0, 0, 0, 0, 1, 10] * 2,
            "A450": [0.12, 0.14, 1.10, 1.30, 0.65, 0.21, 0.2, 0.2, 2.2, 2.2, 1.2, 0.7],
            "A655": [0.02, 0.04, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        },
        index=[f"w{i}" for i in range(12)],
    )


@pytest.fixture
def plate():
    return _plate()


CTRL = {"conc_uM": 0, "well": "cells"}
BLANK = {"well": "blank"}


def test_normalize_wst1_hand_computed(plate):
    before = plate.copy(deep=True)
    res = normalize(plate, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate",
                    dose_cols="conc_uM")
    pd.testing.assert_frame_equal(plate, before)
    assert list(res.index) == ["w2", "w3", "w4", "w5", "w8", "w9", "w10", "w11"]
    expect = [100 / 1.1, 120 / 1.1, 50.0, 10.0, 100.0, 100.0, 50.0, 25.0]
    np.testing.assert_allclose(res["viability"], expect, rtol=1e-12)
    np.testing.assert_allclose(res["A450_net"], [1.1, 1.3, 0.65, 0.21, 2.2, 2.2, 1.2, 0.7])
    np.testing.assert_allclose(res["A450_blanked"], [1.0, 1.2, 0.55, 0.11, 2.0, 2.0, 1.0, 0.5])
    assert res.attrs["units"]["viability"] == "%"
    assert res.attrs["response_kind"] == "viability" and res.attrs["scale"] == "percent"
    assert len(res.attrs["normalization"]) == 3
    # controls average to exactly 100 % within each plate
    ctrl = res[res["conc_uM"] == 0].groupby("plate")["viability"].mean()
    np.testing.assert_allclose(ctrl, 100.0)


def test_normalize_inhibition_fraction(plate):
    res = normalize(plate, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate",
                    out="inhibition", scale="fraction", name="inh")
    np.testing.assert_allclose(res["inh"], [1 - 1 / 1.1, 1 - 1.2 / 1.1, 0.5, 0.9, 0, 0, 0.5, 0.75],
                               atol=1e-12)
    assert res.attrs["units"]["inh"] == "fraction"
    assert res.attrs["response_kind"] == "inhibition"


def test_normalize_keep_blanks_and_blank_by(plate):
    res = normalize(plate, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate",
                    drop_blanks=False)
    assert len(res) == 12
    np.testing.assert_allclose(res.loc[["w0", "w1", "w6", "w7"], "viability"], 0.0, atol=1e-12)
    # one blank mean for all plates: B = (0.1 + 0.1 + 0.2 + 0.2) / 4 = 0.15
    res2 = normalize(plate, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate",
                     blank_by=[])
    c1 = ((1.1 - 0.15) + (1.3 - 0.15)) / 2
    assert res2.loc["w4", "viability"] == pytest.approx(100 * (0.65 - 0.15) / c1, rel=1e-12)


def test_mtt_single_wavelength_no_blank():
    # MTT read at 570 nm only (Karimi 2025): viability = 100 * A570 / mean(control A570)
    d = pd.DataFrame({"dose": [0, 0, 25, 50], "A570": [0.8, 1.2, 0.751, 0.58]})
    res = normalize(d, "A570", control={"dose": 0})
    np.testing.assert_allclose(res["viability"], [80.0, 120.0, 75.1, 58.0])
    assert "A570_net" not in res and "A570_blanked" not in res


def test_building_blocks(plate):
    r = reference_subtract(plate, "A450", "A655")
    np.testing.assert_allclose(r["A450_net"], plate["A450"] - plate["A655"])
    b = subtract_blank(r, "A450_net", BLANK, by="plate", out="corr")
    np.testing.assert_allclose(b["corr"], [1.0, 1.2, 0.55, 0.11, 2.0, 2.0, 1.0, 0.5])
    p = percent_of_control(b, "corr", CTRL, by="plate", scale="fraction")
    np.testing.assert_allclose(p["viability"].iloc[2:4], [0.5, 0.1])
    assert p.attrs["units"] == {"viability": "fraction"}
    r_units = reference_subtract(plate.assign(), "A450", "A655")
    assert "A450_net" not in plate.columns and "A450_net" in r_units


def test_units_propagate_from_attrs(plate):
    d = plate.copy()
    d.attrs["units"] = {"A450": "AU"}
    r = reference_subtract(d, "A450", "A655")
    assert r.attrs["units"]["A450_net"] == "AU"
    assert d.attrs["units"] == {"A450": "AU"}  # caller's attrs untouched


@settings(max_examples=40, deadline=None)
@given(k=st.floats(1e-3, 1e3), off=st.floats(0, 5))
def test_normalize_invariant_to_signal_scale(k, off):
    """Viability does not depend on the absorbance scale or on a constant background."""
    plate = _plate()
    base = normalize(plate, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate")
    scaled = plate.assign(A450=plate["A450"] * k + off, A655=plate["A655"] * k)
    res = normalize(scaled, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate")
    np.testing.assert_allclose(res["viability"], base["viability"], rtol=1e-7, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(
    sig=hnp.arrays(float, 12, elements=st.floats(0.5, 1.2)),
    ref=hnp.arrays(float, 12, elements=st.floats(0.0, 0.1)),
)
def test_normalize_never_mutates(sig, ref):
    plate = _plate()
    d = plate.assign(A450=sig, A655=ref)
    d.loc[["w0", "w1", "w6", "w7"], "A450"] = 0.05
    d.attrs["units"] = {"A450": "AU"}
    before = d.copy(deep=True)
    attrs = {"units": {"A450": "AU"}}
    normalize(d, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate",
              out="inhibition")
    gr_values(d.assign(n=np.where(d["well"] == "blank", 10.0, sig * 100)), "n",
              time_zero=BLANK, control=CTRL, by="plate")
    to_inhibition(normalize(d, "A450", control=CTRL, blank=BLANK, by="plate"), "viability")
    pd.testing.assert_frame_equal(d, before)
    assert d.attrs == attrs


# --- errors -----------------------------------------------------------------------------------
def test_missing_controls_in_a_group(plate):
    d = plate.drop(index=["w8", "w9"])
    with raises_with("plate='P2'", "untreated control", "row 'w6'"):
        normalize(d, "A450", reference="A655", blank=BLANK, control=CTRL, by="plate")


def test_missing_blanks_in_a_group(plate):
    d = plate.drop(index=["w6", "w7"])
    with raises_with("plate='P2'", "blank", "row 'w8'"):
        normalize(d, "A450", blank=BLANK, control=CTRL, by="plate")


def test_blank_and_control_overlap(plate):
    with raises_with("both as blank and as untreated control", "row 'w0'"):
        normalize(plate, "A450", blank=BLANK, control={"conc_uM": 0}, by="plate")


def test_treated_rows_selected_as_controls(plate):
    with raises_with("'conc_uM'", "non-zero dose", "row 'w4'"):
        normalize(plate, "A450", blank=BLANK, control={"well": "cells"}, by="plate",
                  dose_cols="conc_uM")


def test_negative_dose(plate):
    d = plate.copy()
    d.loc["w5", "conc_uM"] = -1
    with raises_with("'conc_uM'", ">= 0", "row 'w5'"):
        normalize(d, "A450", blank=BLANK, control=CTRL, dose_cols=["conc_uM"])


def test_control_mean_not_positive(plate):
    d = plate.copy()
    d.loc[["w8", "w9"], "A450"] = 0.1  # below the blank of plate P2
    with raises_with("'A450_blanked'", "plate='P2'", "<= 0", "row 'w8'"):
        normalize(d, "A450", blank=BLANK, control=CTRL, by="plate")


@pytest.mark.parametrize("bad", [np.nan, np.inf, "high"])
def test_bad_signal_values(plate, bad):
    d = plate.astype({"A450": object})
    d.loc["w4", "A450"] = bad
    with raises_with("'A450'", "row 'w4'"):
        normalize(d, "A450", blank=BLANK, control=CTRL)


def test_bad_reference(plate):
    d = plate.copy()
    d.loc["w3", "A655"] = np.nan
    with raises_with("'A655'", "row 'w3'"):
        normalize(d, "A450", reference="A655", control=CTRL, blank=BLANK)


def test_missing_group_label(plate):
    d = plate.copy()
    d.loc["w10", "plate"] = None
    with raises_with("'plate'", "row 'w10'"):
        normalize(d, "A450", control=CTRL, blank=BLANK, by="plate")


def test_option_errors(plate):
    with raises_with("'viability' or 'inhibition'"):
        normalize(plate, "A450", control=CTRL, out="survival")
    with raises_with("'percent' or 'fraction'"):
        normalize(plate, "A450", control=CTRL, scale="ratio")
    with raises_with("'A655'", "already exists", "name="):
        normalize(plate, "A450", control=CTRL, blank=BLANK, name="A655")
    with raises_with("'A999'"):
        normalize(plate, "A999", control=CTRL)
    with raises_with("untreated control selector", "matched no rows"):
        normalize(plate, "A450", control={"well": "ctrl"})
    with raises_with("already exists", "out="):
        reference_subtract(plate.assign(A450_net=1.0), "A450", "A655")


# --- viability <-> inhibition, fraction <-> percent -----------------------------------------
def test_conversions_hand_values():
    assert to_inhibition(75.1) == pytest.approx(24.9)
    assert to_viability(0.864, scale="fraction") == pytest.approx(0.136)
    np.testing.assert_allclose(to_fraction([43.2, 86.4]), [0.432, 0.864])
    np.testing.assert_allclose(to_percent(np.array([0.374])), [37.4])
    s = pd.Series([100.0, 58.0], index=["c", "t"], name="viab")
    out = to_inhibition(s, out="inh")
    assert out.name == "inh" and list(out.index) == ["c", "t"]
    np.testing.assert_allclose(out, [0.0, 42.0])
    d = pd.DataFrame({"v": [100.0, 75.1]})
    d.attrs["units"] = {"v": "%"}
    r = to_inhibition(d, "v")
    np.testing.assert_allclose(r["inhibition"], [0.0, 24.9])
    assert r.attrs["units"]["inhibition"] == "%" and "inhibition" not in d
    f = to_fraction(d, "v")
    np.testing.assert_allclose(f["v_fraction"], [1.0, 0.751])
    assert f.attrs["units"]["v_fraction"] == "fraction"


def test_conversion_errors():
    d = pd.DataFrame({"v": [100.0, 75.1, 58.0]}, index=["a", "b", "c"])
    with raises_with("'v'", "declared as fraction", "row 'a'", "scale='percent'"):
        to_inhibition(d, "v", scale="fraction")
    with raises_with("'v'", "declared as fraction", "row 'a'", "percentages"):
        to_percent(d, "v")
    with raises_with("'f'", "declared as percent", "row 'a'", "fractions"):
        to_fraction(pd.DataFrame({"f": [0.9, 0.5, 0.2]}, index=list("abc")), "f")
    with raises_with("col="):
        to_inhibition(d)
    with raises_with("only used with a DataFrame"):
        to_inhibition([1.0], col="v")
    with raises_with("'x'", "row 'b'"):
        to_viability(pd.Series(["10", "ten"], index=["a", "b"], name="x"))
    with raises_with("'inhibition'", "already exists"):
        to_inhibition(d.assign(inhibition=0.0), "v")
    with raises_with("'percent' or 'fraction'"):
        to_inhibition(d, "v", scale="pct")
    # values far outside any scale: raw signal, not a viability
    with raises_with("raw plate signals"):
        to_inhibition(np.array([1200.0, 900.0]))
    to_inhibition(np.array([1200.0, 900.0]), check=False)  # explicit opt-out


@settings(max_examples=100, deadline=None)
@given(
    vals=hnp.arrays(float, st.integers(1, 30), elements=st.floats(-50, 250)),
    scale=st.sampled_from(["percent", "fraction"]),
)
def test_viability_inhibition_round_trip(vals, scale):
    if scale == "fraction":
        vals = vals / 100.0
    inh = to_inhibition(vals, scale=scale, check=False)
    np.testing.assert_allclose(to_viability(inh, scale=scale, check=False), vals, atol=1e-12)
    top = 100.0 if scale == "percent" else 1.0
    np.testing.assert_allclose(inh + vals, top)
    d = pd.DataFrame({"v": vals})
    back = to_viability(to_inhibition(d, "v", scale=scale, check=False), "inhibition",
                        scale=scale, out="v2", check=False)
    np.testing.assert_allclose(back["v2"], d["v"], atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(float, st.integers(1, 30), elements=st.floats(-1.5, 3.0)))
def test_fraction_percent_round_trip(vals):
    np.testing.assert_allclose(to_fraction(to_percent(vals), check=False), vals, atol=1e-12)


# --- GR values (Hafner et al. 2016) -----------------------------------------------------------
@pytest.fixture
def counts():
    # x0 = 100 cells at treatment, controls reach 400 (two doublings)
    return pd.DataFrame(
        {
            "cell_line": ["A"] * 8,
            "time_h": [0, 0, 72, 72, 72, 72, 72, 72],
            "conc_uM": [0, 0, 0, 0, 0.1, 1, 10, 100],
            "cells": [90.0, 110.0, 380.0, 420.0, 200.0, 100.0, 50.0, 0.0],
        },
        index=list("abcdefgh"),
    )


def test_gr_hand_computed(counts):
    before = counts.copy(deep=True)
    res = gr_values(counts, "cells", time_zero={"time_h": 0}, control={"time_h": 72, "conc_uM": 0},
                    by="cell_line", dose_cols="conc_uM")
    pd.testing.assert_frame_equal(counts, before)
    assert list(res.index) == list("cdefgh")
    np.testing.assert_allclose(res["cells_x0"], 100.0)
    np.testing.assert_allclose(res["cells_xctrl"], 400.0)
    # GR = 2**(log2(x/100)/log2(4)) - 1 = sqrt(x/100) - 1
    expect = np.sqrt(np.array([380, 420, 200, 100, 50, 0]) / 100.0) - 1
    np.testing.assert_allclose(res["GR"], expect, rtol=1e-12)
    assert res.loc["e", "GR"] == pytest.approx(np.sqrt(2) - 1)
    assert res.loc["f", "GR"] == 0.0  # cytostatic: x = x0
    assert res.loc["h", "GR"] == -1.0  # every cell died: x = 0
    assert res.attrs["response_kind"] == "GR"


def test_gr_from_columns_and_keep_time_zero(counts):
    d = counts.assign(t0=100.0, ctrl=400.0)
    res = gr_values(d, "cells", x0="t0", x_ctrl="ctrl")
    assert len(res) == 8
    np.testing.assert_allclose(res.loc["e":"h", "GR"], [np.sqrt(2) - 1, 0.0, np.sqrt(0.5) - 1, -1])
    kept = gr_values(counts, "cells", time_zero={"time_h": 0}, control={"time_h": 72, "conc_uM": 0},
                     drop_time_zero=False)
    assert kept.loc[["a", "b"], "GR"].isna().all() and len(kept) == 8


def test_gr_time_zero_by_other_grouping():
    d = pd.DataFrame(
        {
            "cl": ["A"] * 6,
            "plate": ["t0", "p1", "p1", "p2", "p2", "p2"],
            "t": [0, 72, 72, 72, 72, 72],
            "conc": [0, 0, 1, 0, 0, 1],
            "n": [100.0, 800.0, 100.0, 200.0, 200.0, 100.0],
        }
    )
    res = gr_values(d, "n", time_zero={"t": 0}, control={"t": 72, "conc": 0}, by="plate",
                    time_zero_by="cl")
    # plate p1: x_ctrl = 800 -> three doublings; plate p2: x_ctrl = 200 -> one doubling
    np.testing.assert_allclose(res["GR"], [1.0, 0.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(res["n_xctrl"], [800, 800, 200, 200, 200])


@settings(max_examples=60, deadline=None)
@given(
    x0=st.floats(1, 1e4),
    growth=st.floats(1.05, 50),
    frac=st.floats(0, 2),
    k=st.floats(1e-3, 1e3),
)
def test_gr_properties(x0, growth, frac, k):
    """GR(x0) = 0, GR(x_ctrl) = 1, GR(0) = -1, monotone in x, invariant to count units."""
    xc = x0 * growth
    x = np.array([0.0, x0, xc, frac * xc, frac * xc * 0.5])
    d = pd.DataFrame({"n": x, "t0": x0, "c": xc})
    gr = gr_values(d, "n", x0="t0", x_ctrl="c")["GR"].to_numpy()
    np.testing.assert_allclose(gr[:3], [-1.0, 0.0, 1.0], atol=1e-9)
    assert gr[4] <= gr[3] + 1e-12
    assert np.all(gr >= -1.0)
    gr_k = gr_values(d.assign(n=x * k, t0=x0 * k, c=xc * k), "n", x0="t0", x_ctrl="c")["GR"]
    np.testing.assert_allclose(gr_k, gr, atol=1e-9)


def test_gr_errors(counts):
    ctl = {"time_h": 72, "conc_uM": 0}
    with raises_with("time-zero", "time_zero=", "x0="):
        gr_values(counts, "cells", control=ctl)
    with raises_with("time-zero", "exactly once"):
        gr_values(counts.assign(t0=1.0), "cells", control=ctl, time_zero={"time_h": 0}, x0="t0")
    with raises_with("untreated-control", "control="):
        gr_values(counts, "cells", time_zero={"time_h": 0})
    two = pd.concat([counts, counts.assign(cell_line="B").rename(index=str.upper)])
    two = two.drop(index=["A", "B"])  # cell line B has no time-zero wells
    with raises_with("cell_line='B'", "time-zero", "row 'C'"):
        gr_values(two, "cells", time_zero={"time_h": 0}, control=ctl, by="cell_line")
    no_ctrl = pd.concat([counts, counts.assign(cell_line="B").rename(index=str.upper)])
    no_ctrl = no_ctrl.drop(index=["C", "D"])
    with raises_with("cell_line='B'", "untreated control", "row 'E'"):
        gr_values(no_ctrl, "cells", time_zero={"time_h": 0}, control=ctl, by="cell_line")
    neg = counts.copy()
    neg.loc["g", "cells"] = -5.0
    with raises_with("'cells'", ">= 0", "row 'g'"):
        gr_values(neg, "cells", time_zero={"time_h": 0}, control=ctl)
    nan = counts.copy()
    nan.loc["e", "cells"] = np.nan
    with raises_with("'cells'", "row 'e'"):
        gr_values(nan, "cells", time_zero={"time_h": 0}, control=ctl)
    with raises_with("'t0'", "row 'a'", "<= 0"):
        gr_values(counts.assign(t0=0.0), "cells", x0="t0", control=ctl)
    flat = counts.copy()
    flat.loc[["c", "d"], "cells"] = 100.0
    with raises_with("did not grow", "row 'c'", "cell_line='A'"):
        gr_values(flat, "cells", time_zero={"time_h": 0}, control=ctl, by="cell_line")
    with raises_with("both as time-zero and as untreated control", "row 'a'"):
        gr_values(counts, "cells", time_zero={"time_h": 0}, control={"conc_uM": 0})
    with raises_with("'conc_uM'", "non-zero dose", "row 'e'"):
        gr_values(counts, "cells", time_zero={"time_h": 0}, control={"time_h": 72},
                  dose_cols="conc_uM")
    with raises_with("'GR'", "already exists"):
        gr_values(counts.assign(GR=1.0), "cells", time_zero={"time_h": 0}, control=ctl)


def test_top_level_exports():
    assert cp.normalize is normalize
    assert cp.to_inhibition is to_inhibition and cp.to_viability is to_viability
    assert cp.gr_values is gr_values
