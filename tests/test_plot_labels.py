"""Plots speak to people: axis labels are names with units (not raw column names), the untreated
control is marked as such (not at a fake log-dose tick), and legends name every marker."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.plot._common import axis_label, readable  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _legend(ax) -> list[str]:
    leg = ax.get_legend()
    assert leg is not None, "no legend"
    return [t.get_text() for t in leg.get_texts()]


@pytest.mark.parametrize("column, unit, label", [
    ("viability_pct", "%", "viability (%)"),
    ("viability_pct", None, "viability (%)"),
    ("dose_ug_per_mL", "ug/mL", "dose (ug/mL)"),
    ("paclitaxel_uM", None, "paclitaxel (uM)"),
    ("conc_uM", "uM", "concentration (uM)"),
    ("inhibition_pct", None, "inhibition (%)"),
    ("volume_mm3", None, "volume (mm^3)"),
    ("lum_ps", None, "luminescence (photons/s)"),
    ("time_h", None, "time (h)"),
    ("viability", None, "viability"),
    ("dose", "nM", "dose (nM)"),
    ("cm_fraction", None, "cm fraction"),
])
def test_axis_label_from_column_names(column, unit, label):
    assert axis_label(column, unit) == label


def test_readable_keeps_a_word():
    assert readable("um") == ("um", None)          # a lone unit-like name stays a name


def test_dose_response_plot_labels_control_and_legend():
    wells = cp.load_dataset("karimi2025_mtt_synthetic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cp.fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                                   model="hill4", fixed={"einf": 0}, dose_unit="ug/mL", response_unit="%")
    ax = res.plot(band=True)
    assert ax.get_xlabel() == "dose (ug/mL)"
    assert ax.get_ylabel() == "viability (%)"
    names = _legend(ax)
    assert names[:2] == ["time 24 h", "time 48 h"]
    assert "observations" in names and any("confidence band" in n for n in names)
    assert any(n.startswith("untreated control") for n in names)
    # the control sits left of the axis break under the word "control", with no dose tick label there
    ax.figure.canvas.draw()
    assert "control" in [t.get_text() for t in ax.texts]
    lo = wells.loc[wells["dose_ug_per_mL"] > 0, "dose_ug_per_mL"].min()
    for ticks in (ax.xaxis.get_major_ticks(), ax.xaxis.get_minor_ticks()):
        for tick in ticks:
            if tick.get_loc() < lo / 2:
                assert tick.label1.get_text() == ""
    assert any(t.get_text() for t in ax.get_xticklabels())         # real doses keep their labels
    # undeclared units: no "(dose unit)" filler, the column's own suffix where it spells one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bare = cp.fit_dose_response(wells.query("time_h == 24"), dose="dose_ug_per_mL", response="viability_pct",
                                    model="hill4", fixed={"einf": 0})
    ax2 = bare.plot()
    assert (ax2.get_xlabel(), ax2.get_ylabel()) == ("dose (ug/mL)", "viability (%)")
    assert _legend(ax2)[0] == "hill4 fit"


@pytest.fixture(scope="module")
def growth():
    mice = cp.load_dataset("eiro2024_xenograft_synthetic")
    gd = cp.validate_growth(mice, subject="mouse", arm="arm", time="day", size="lum_ps", kind="luminescence",
                            dropout="dropout")
    vol = cp.validate_growth(mice.rename(columns={"lum_ps": "volume_mm3"}), subject="mouse", arm="arm",
                             time="day", size="volume_mm3", dropout="dropout")
    return gd, vol


def test_growth_plot_labels_and_legends(growth):
    from comboplan.plot.growth import plot_spaghetti

    gd, vol = growth
    ax = plot_spaghetti(vol)
    assert ax.get_xlabel() == "time (day)"
    assert ax.get_ylabel() == "tumour volume (mm^3)"
    names = _legend(ax)
    assert "individual animals" in names and any("left the study" in n for n in names)
    assert plot_spaghetti(gd).get_ylabel() == "tumour bioluminescence (photons/s)"
    assert "relative to baseline" in plot_spaghetti(gd, relative=True).get_ylabel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ep = cp.growth_endpoints(gd, control="control", at=14, n_boot=50, seed=1)
        syn = cp.invivo_synergy(gd, design={"control": [], "CM-hUCESC_chemo": ["CM"], "paclitaxel": ["PTX"],
                                            "paclitaxel + CM-hUCESC_chemo": ["CM", "PTX"]})
        mixed = cp.fit_growth_mixed(gd)
    ax = ep.plot()
    assert "% change from baseline" in ax.get_ylabel() and any("mRECIST" in t.get_text() for t in ax.texts)
    ax = syn.plot()
    assert ax.get_xlabel() == "time (day)" and "> 0 synergy" in ax.get_ylabel()
    assert {"adjusted p < 0.05", "0 = additive (no interaction)"} <= set(_legend(ax))
    ax = mixed.plot()
    assert "individual animals" in _legend(ax) and any("CI of the arm's rate" in n for n in _legend(ax))


def test_synergy_heatmap_axis_labels():
    prolif = cp.load_dataset("eiro2024_proliferation_synthetic")
    res = cp.synergy(prolif, doses=["paclitaxel_uM", "cm_fraction"], response="inhibition_pct",
                     replicate="well", methods=("bliss", "hsa"), n_boot=20, seed=1)
    ax = res.plot("bliss", kind="heatmap")
    assert ax.get_ylabel() == "paclitaxel (uM)"
    assert ax.get_xlabel() == "cm fraction"
    assert np.isfinite(ax.images[0].get_array()).any()
