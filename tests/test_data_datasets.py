"""Bundled datasets: published values, provenance, copies and attrs."""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.data.datasets import list_datasets, load_dataset

NAMES = list(list_datasets()["name"])
PROV = resources.files("comboplan.data").joinpath("datasets", "PROVENANCE.md").read_text("utf-8")
PAPERS = Path(__file__).resolve().parents[1].parent / "shared" / "papers"

# columns holding numbers taken from the papers (checked against PROVENANCE.md quotes)
VALUE_COLS = {
    "karimi2025": ["viability_pct", "sd_pct"],
    "karimi2025_mcf10a": ["mean", "sd"],
    "karimi2025_apoptosis": ["value"],
    "eiro2024_invitro": ["inhibition_pct"],
    "eiro2024_xenograft": ["tumor_volume_pct", "n_mice"],
    "eiro2024_xenograft_design": ["n_mice", "paclitaxel_mg_per_kg"],
    "eiro2024_tests": ["p_value", "p_adjusted"],
}


def _prov_rows() -> dict[str, str]:
    rows = {}
    for line in PROV.splitlines():
        m = re.match(r"\|\s*([KE]\d+)\s*\|", line)
        if m:
            rows[m.group(1)] = line
    return rows


def test_registry_lists_all_and_value_cols_cover_all():
    assert set(NAMES) == set(VALUE_COLS)
    assert {"karimi2025", "eiro2024_invitro", "eiro2024_xenograft"} <= set(NAMES)
    assert (list_datasets()["rows"] > 0).all()


@pytest.mark.parametrize("name", NAMES)
def test_load_returns_fresh_copy_with_attrs(name):
    df = load_dataset(name)
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    assert set(df.attrs["units"]) <= set(df.columns)
    assert df.attrs["source"] and df.attrs["provenance"].endswith("PROVENANCE.md")
    assert df.attrs["name"] == name
    df.iloc[0, 0] = "changed"
    df.attrs["units"]["x"] = "y"
    again = load_dataset(name)
    assert again.iloc[0, 0] != "changed" and "x" not in again.attrs["units"]
    assert cp.load_dataset is load_dataset


@pytest.mark.parametrize("name", NAMES)
def test_every_value_is_quoted_in_provenance(name):
    rows = _prov_rows()
    df = load_dataset(name)
    assert df["ref"].isin(list(rows)).all(), set(df["ref"]) - set(rows)
    for _, r in df.iterrows():
        text = rows[r["ref"]]
        for c in VALUE_COLS[name]:
            v = r[c]
            if pd.isna(v):
                continue
            s = f"{float(v):g}"
            assert s in text, f"{name}: {c}={s} not in PROVENANCE row {r['ref']}"


def _norm(s: str) -> str:
    s = s.replace("μ", "µ").replace("−", "-").replace("\\mu", "µ").replace("\\text", "")
    return re.sub(r"[\s${}\\_]", "", s).lower()


@pytest.mark.skipif(not PAPERS.is_dir(), reason="paper texts not available here")
def test_provenance_quotes_are_verbatim_in_papers():
    texts = {
        "K": _norm((PAPERS / "karimi2025-wjmsc-secretome-skbr3.txt").read_text("utf-8")),
        "E": _norm((PAPERS / "eiro2024-hucesc-secretome-paclitaxel-tnbc.txt").read_text("utf-8")),
    }
    missing = []
    for ref, line in _prov_rows().items():
        quote = line.split("|")[4].strip().strip('"')
        for frag in re.split(r"\.\.\.|\(l\. \d+\)|\" \"|\(columns.*?\)", quote):
            frag = frag.strip().strip('"').strip()
            if len(frag) >= 8 and _norm(frag) not in texts[ref[0]]:
                missing.append((ref, frag))
    assert not missing, missing


def test_karimi_published_values():
    df = load_dataset("karimi2025")
    sk = df[df.cell_line == "SKBR3"].set_index(["time_h", "dose_ug_per_mL"])["viability_pct"]
    assert sk[(24.0, 0.0)] == 100.0 and sk[(24.0, 25.0)] == 75.1 and sk[(24.0, 50.0)] == 58.0
    assert sk[(48.0, 50.0)] == 72.2
    assert df.loc[df.cell_line == "SKBR3", "sd_pct"].isna().all()  # SDs only in Figure 1
    mc = df[df.cell_line == "MCF10A"]
    np.testing.assert_array_equal(mc["dose_ug_per_mL"], [0, 10, 25, 50])
    np.testing.assert_array_equal(mc["viability_pct"], [100.0, 100.0, 98.2, 98.8])
    np.testing.assert_array_equal(mc["sd_pct"], [0.0, 0.0, 1.1, 1.3])
    assert (mc["n"] == 5).all() and mc["time_h"].isna().all()
    assert df.attrs["response_kind"] == "viability" and df.attrs["units"]["viability_pct"] == "%"
    assert df["dose_ug_per_mL"].dtype == float
    # a usable tidy table: validates as doses >= 0 and responses on the percent scale
    from comboplan.data.validate import check_dose_column, check_scale

    check_dose_column(df, "dose_ug_per_mL")
    check_scale(df["viability_pct"], "percent", "viability_pct")


def test_karimi_table2_and_apoptosis():
    t2 = load_dataset("karimi2025_mcf10a").set_index(["measure", "dose_ug_per_mL"])
    assert t2.loc[("colony_count", 25.0), "mean"] == 1.15
    assert t2.loc[("late_apoptosis", 50.0), "sd"] == 0.19
    assert len(t2) == 16 and (t2["n"] == 5).all()
    ap = load_dataset("karimi2025_apoptosis")
    ctrl = ap[ap.dose_ug_per_mL == 0].set_index("measure")["value"]
    assert ctrl["necrotic"] == 31.82 and ctrl["viable"] == 59.2
    fold = ap[ap.measure == "early_apoptosis_fold"].set_index("dose_ug_per_mL")
    assert fold.loc[25.0, "value"] == 3.3 and fold.loc[50.0, "p_value"] == "< 0.01"


def test_eiro_invitro_published_values():
    df = load_dataset("eiro2024_invitro")
    prolif = df[df.assay.str.startswith("proliferation")].set_index("treatment")["inhibition_pct"]
    assert prolif["CM-hUCESC_chemo"] == 37.4
    assert prolif["paclitaxel"] == 43.2
    assert prolif["paclitaxel + CM-hUCESC_chemo"] == 86.4
    inv = df[df.assay.str.startswith("invasion")].set_index("treatment")["inhibition_pct"]
    assert inv["CM-hUCESC"] == 28.0 and inv["paclitaxel"] == 61.0
    assert (df["paclitaxel_uM"].isin([0.0, 1.0])).all()
    assert df.attrs["response_kind"] == "inhibition"
    # viability view of the same numbers: 100 - inhibition
    v = cp.to_viability(df, "inhibition_pct")
    np.testing.assert_allclose(v["viability"], 100 - df["inhibition_pct"])


def test_eiro_xenograft_published_values():
    df = load_dataset("eiro2024_xenograft").set_index("arm")
    assert df.loc["paclitaxel", "tumor_volume_pct"] == 274
    assert df.loc["CM-hUCESC_chemo", "tumor_volume_pct"] == 113
    assert df.loc["paclitaxel + CM-hUCESC_chemo", "tumor_volume_pct"] == 131
    assert (df["day"] == 14).all() and (df["n_mice"] == 7).all()
    assert (df.loc[df.index.str.contains("paclitaxel"), "paclitaxel_mg_per_kg"] == 5).all()
    design = load_dataset("eiro2024_xenograft_design")
    by_study = design.groupby("study")["n_mice"].apply(list).to_dict()
    assert by_study["CM-hUCESC + paclitaxel 10 mg/kg"] == [7, 7, 7, 7]  # 28 mice
    assert by_study["CM-hUCESC_chemo + paclitaxel 5 mg/kg"] == [4, 7, 7, 7]
    tests = load_dataset("eiro2024_tests")
    assert len(tests) == 12
    row = tests[tests.comparison.str.startswith("paclitaxel 5 mg/kg + CM-hUCESC_chemo vs")]
    assert row["p_value"].item() == 0.016 and row["p_adjusted"].item() == 0.029
    assert tests["p_relation"].isin(["<", "="]).all()
    assert ((tests["p_adjusted"] >= tests["p_value"]) | (tests["p_relation"] == "<")).all()


def test_unknown_dataset():
    with pytest.raises(DataError, match="'nope'.*available: 'karimi2025'"):
        load_dataset("nope")
