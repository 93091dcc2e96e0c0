"""Bundled datasets: published values, provenance, synthetic data, loaders, copies and attrs."""
from __future__ import annotations

import inspect
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
import comboplan.datasets as cds
from comboplan.data import datasets as dsmod
from comboplan.data import synthetic
from comboplan.data.datasets import list_datasets, load_dataset
from comboplan.exceptions import DataError

LISTING = list_datasets()
NAMES = list(LISTING["name"])
SYNTHETIC = [n for n, s in zip(LISTING["name"], LISTING["synthetic"]) if s]
PRINTED = [n for n in NAMES if n not in SYNTHETIC]
DATADIR = resources.files("comboplan.data").joinpath("datasets")
PROV = DATADIR.joinpath("PROVENANCE.md").read_text("utf-8")
PAPERS = Path(__file__).resolve().parents[1].parent / "shared" / "papers"

# columns holding numbers taken from the papers (checked against PROVENANCE.md quotes);
# tables with a `printed` column are checked through it instead (see test_printed_column_*)
VALUE_COLS = {
    "karimi2025": ["viability_pct", "sd_pct"],
    "karimi2025_mcf10a": ["mean", "sd"],
    "karimi2025_apoptosis": ["value"],
    "karimi2025_tests": ["p_value"],
    "karimi2025_primers": ["annealing_C"],
    "karimi2025_text_values": [],
    "eiro2024_invitro": ["inhibition_pct"],
    "eiro2024_xenograft": ["tumor_volume_pct", "n_mice"],
    "eiro2024_xenograft_design": ["n_mice", "paclitaxel_mg_per_kg"],
    "eiro2024_tests": ["p_value", "p_adjusted"],
    "eiro2024_vesicles": [],
    "eiro2024_text_values": [],
}
PRINTED_COL = {"karimi2025_text_values": ["value"], "eiro2024_text_values": ["value"],
               "eiro2024_vesicles": ["mean", "sd"]}


def _prov_rows(prefix: str = "KE") -> dict[str, str]:
    rows = {}
    for line in PROV.splitlines():
        m = re.match(rf"\|\s*([{prefix}]\d+)\s*\|", line)
        if m:
            assert m.group(1) not in rows, f"duplicate ref {m.group(1)}"
            rows[m.group(1)] = line
    return rows


def _quotes(line: str) -> list[str]:
    """The verbatim quotes of a provenance row (the double-quoted parts of its 4th cell)."""
    return re.findall(r'"([^"]*)"', line.split("|")[4])


def _norm(s: str) -> str:
    s = s.replace("μ", "µ").replace("−", "-").replace("\\mu", "µ").replace("\\text", "")
    return re.sub(r"[\s${}\\_]", "", s).lower()


_WORDS = {"once": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "thirty": 30,
          "twenty-eight": 28, "forty-eight": 48, "duplicate": 2, "triplicate": 3, "third": 3,
          "fourth": 4}


def _numbers_in(text: str) -> list[float]:
    """Numbers written in a printed fragment, including 2.5x10^6, 1.34 E11, '50,000' and words."""
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.replace("−", "-"))
    nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", t)]
    exps = [int(e) for e in re.findall(r"(?:10\^|E)(\d+)", t)]
    out = nums + [n * 10.0 ** e for n in nums for e in exps]
    out += [v for w, v in _WORDS.items() if re.search(rf"\b{w}\b", t, re.I)]
    return out


# ---------------------------------------------------------------------------- registry/loaders
def test_registry_lists_all_and_value_cols_cover_all():
    assert set(PRINTED) == set(VALUE_COLS)
    assert set(SYNTHETIC) == set(synthetic.SEEDS) == set(synthetic.ASSUMPTIONS)
    assert {"karimi2025", "eiro2024_invitro", "eiro2024_xenograft"} <= set(NAMES)
    assert (LISTING["rows"] > 0).all()
    assert list(LISTING.columns) == ["name", "rows", "synthetic", "loader", "description", "source"]
    assert all(n.endswith("_synthetic") for n in SYNTHETIC)
    assert not any(n.endswith("_synthetic") for n in PRINTED)


def test_csv_files_match_registry():
    files = {p.name for p in DATADIR.iterdir() if p.name.endswith(".csv")}
    assert files == {f"{n}.csv" for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_load_returns_fresh_copy_with_attrs(name):
    df = load_dataset(name)
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    assert set(df.attrs["units"]) <= set(df.columns)
    assert list(df.attrs["columns"]) == list(df.columns)  # every column documented, in order
    assert df.attrs["source"] and df.attrs["provenance"].endswith("PROVENANCE.md")
    assert df.attrs["name"] == name
    df.iloc[0, 0] = "changed"
    df.attrs["units"]["x"] = "y"
    df.attrs["columns"]["x"] = "y"
    again = load_dataset(name)
    assert again.iloc[0, 0] != "changed" and "x" not in again.attrs["units"]
    assert "x" not in again.attrs["columns"]
    assert cp.load_dataset is load_dataset


@pytest.mark.parametrize("name", NAMES)
def test_named_loader(name):
    fn = getattr(cds, f"load_{name}")
    assert fn is getattr(dsmod, f"load_{name}") and f"load_{name}" in cds.__all__
    assert f"load_{name}" == LISTING.set_index("name").loc[name, "loader"]
    df = fn()
    pd.testing.assert_frame_equal(df, load_dataset(name))
    assert df.attrs == load_dataset(name).attrs
    doc = inspect.getdoc(fn)
    assert "Returns\n-------\npandas.DataFrame" in doc and "Notes\n-----" in doc
    for c in df.columns:
        assert f"``{c}``" in doc, (name, c)
    syn = name in SYNTHETIC
    assert ("SYNTHETIC" in doc) == syn and (f"Synthetic: {'yes' if syn else 'no'}." in doc)
    # a new object every call, no shared buffers
    a, b = fn(), fn()
    assert a is not b
    num = a.select_dtypes("number").columns
    if len(num):
        a.loc[a.index[0], num[0]] = -12345
        assert b.loc[b.index[0], num[0]] != -12345 and fn().loc[b.index[0], num[0]] != -12345


def test_all_exports_exist():
    for n in dsmod.__all__:
        assert callable(getattr(dsmod, n))
        assert callable(getattr(cds, n))
    assert {"load_dataset", "list_datasets"} <= set(dsmod.__all__)


# ---------------------------------------------------------------------------- provenance
@pytest.mark.parametrize("name", PRINTED)
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


@pytest.mark.parametrize("name", sorted(PRINTED_COL))
def test_printed_column_is_quoted_and_matches_value(name):
    rows = _prov_rows()
    df = load_dataset(name)
    for idx, r in df.iterrows():
        quote = _norm(" ".join(_quotes(rows[r["ref"]])))
        assert _norm(r["printed"]) in quote, (name, idx, r["printed"])
        nums = _numbers_in(r["printed"])
        for c in PRINTED_COL[name]:
            assert any(np.isclose(float(r[c]), x, rtol=1e-9, atol=0) for x in nums), (name, idx, c, nums)


def test_primer_sequences_are_quoted():
    rows = _prov_rows()
    for _, r in load_dataset("karimi2025_primers").iterrows():
        assert r["sequence"] in rows[r["ref"]]
        assert f"{r['direction'].capitalize()}\t{r['sequence']}\t{r['annealing_C']:g}" in rows[r["ref"]]


@pytest.mark.skipif(not PAPERS.is_dir(), reason="paper texts not available here")
def test_provenance_quotes_are_verbatim_in_papers():
    texts = {
        "K": _norm((PAPERS / "karimi2025-wjmsc-secretome-skbr3.txt").read_text("utf-8")),
        "E": _norm((PAPERS / "eiro2024-hucesc-secretome-paclitaxel-tnbc.txt").read_text("utf-8")),
    }
    missing = []
    for ref, line in _prov_rows().items():
        qs = _quotes(line)
        assert qs, ref
        for quote in qs:
            for frag in quote.split("..."):
                frag = frag.strip()
                if len(frag) >= 8 and _norm(frag) not in texts[ref[0]]:
                    missing.append((ref, frag))
    assert not missing, missing


@pytest.mark.skipif(not PAPERS.is_dir(), reason="paper texts not available here")
def test_provenance_line_numbers_point_at_the_quote():
    files = {"K": "karimi2025-wjmsc-secretome-skbr3.txt", "E": "eiro2024-hucesc-secretome-paclitaxel-tnbc.txt"}
    lines = {k: (PAPERS / f).read_text("utf-8").splitlines() for k, f in files.items()}
    for ref, row in _prov_rows().items():
        cited = [int(x) for x in re.findall(r"\d+", row.split("|")[3])]
        lo, hi = min(cited), max(cited)
        window = _norm(" ".join(lines[ref[0]][lo - 1:hi]))
        first = _quotes(row)[0].split("...")[0].strip()[:40]
        assert _norm(first) in window, (ref, first)


def test_unknown_dataset():
    with pytest.raises(DataError, match="'nope'.*available: 'karimi2025'"):
        load_dataset("nope")


# ---------------------------------------------------------------------------- printed values
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


def test_karimi_tests_primers_and_text_values():
    t = load_dataset("karimi2025_tests")
    assert (t["p_relation"] == "<").all() and t["p_value"].isin([0.05, 0.01, 0.001]).all()
    ab = t[(t.section == "Abstract") & t.endpoint.str.contains("apoptosis")].set_index("endpoint")["p_value"]
    s43 = t[t.section.str.startswith("4.3") & (t.dose_ug_per_mL == 25)].set_index("endpoint")["p_value"]
    assert ab["early apoptosis"] == 0.01 and s43["early apoptosis"] == 0.05  # the paper disagrees with itself
    # section 4.3 thresholds agree with the karimi2025_apoptosis table
    ap = load_dataset("karimi2025_apoptosis").dropna(subset=["p_value"])
    for _, r in ap.iterrows():
        kind = r["measure"].replace("_fold", "").replace("_", " ")
        hit = t[t.section.str.startswith("4.3") & (t.endpoint == kind) & (t.dose_ug_per_mL == r["dose_ug_per_mL"])]
        assert f"< {hit['p_value'].item():g}" == r["p_value"]
    pr = load_dataset("karimi2025_primers")
    assert len(pr) == 12 and set(pr.gene) == {"GAPDH", "Bax", "Bcl-2", "Caspase-3", "Caspase-8", "Caspase-9"}
    assert pr["annealing_C"].between(55, 61).all()
    tv = load_dataset("karimi2025_text_values")
    doses = tv[tv.quantity == "WJ-MSC secretome dose"]["value"].tolist()
    assert doses == [10.0, 25.0, 50.0]
    q = tv.set_index("quantity")["value"]
    assert q["cells seeded per well (96-well plate)"] == 5000 and q["SKBR-3 cells per plate"] == 1e6
    assert q["SKBR3 MTT assays (Figure 1)"] == 6 and q["SKBR3 MTT wells per assay (Figure 1)"] == 3


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


def test_eiro_vesicles_and_text_values():
    ev = load_dataset("eiro2024_vesicles").set_index(["sample", "measure"])
    assert ev.loc[("paclitaxel-loaded EVs", "diameter_mean"), "mean"] == 190
    assert ev.loc[("control EVs", "diameter_mode"), ["mean", "sd"]].tolist() == [97, 14]
    assert ev.loc[("paclitaxel-loaded EVs", "particle_concentration"), "mean"] == 1.34e11
    assert ev.loc[("control EVs", "particle_concentration"), "sd"] == 0.03e11
    assert ev.loc[("control EVs", "total_protein"), "mean"] == 14.4
    # loaded EVs are larger, more numerous and carry more protein (the paper's statement)
    for m in ("diameter_mean", "diameter_mode", "particle_concentration", "total_protein"):
        assert ev.loc[("paclitaxel-loaded EVs", m), "mean"] > ev.loc[("control EVs", m), "mean"]
    tv = load_dataset("eiro2024_text_values")
    assert tv[tv.quantity == "imaging day"]["value"].tolist() == [0, 7, 14, 21, 30]
    assert sorted(tv[tv.topic == "proliferation assay"].query("quantity == 'paclitaxel concentration'")
                  ["value"]) == [1, 3, 5]
    q = tv.drop_duplicates("quantity").set_index("quantity")["value"]
    assert q["MDA-MB-231-luc cells injected (mammary fat pad)"] == 2.5e6
    assert q["cells seeded per upper chamber"] == 50000
    assert q["last day analysed (both studies)"] == 21
    assert q["paclitaxel priming concentration (sub-lethal)"] == 10
    # the derived reductions: 60 % and 50 % are close to what 113/131/274 imply, 20 % is not
    x = load_dataset("eiro2024_xenograft").set_index("arm")["tumor_volume_pct"]
    red = tv[tv.ref == "E26"].set_index("quantity")["value"]
    assert abs(100 * (1 - x["CM-hUCESC_chemo"] / x["paclitaxel"]) - red.iloc[0]) < 2.5
    assert abs(100 * (1 - x["paclitaxel + CM-hUCESC_chemo"] / x["paclitaxel"]) - red.iloc[2]) < 2.5
    assert abs(100 * (1 - x["CM-hUCESC_chemo"] / x["paclitaxel + CM-hUCESC_chemo"]) - red.iloc[1]) > 5


# ---------------------------------------------------------------------------- synthetic data
@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_markers(name):
    df = load_dataset(name)
    assert df.attrs["synthetic"] is True
    assert df.attrs["description"].startswith("SYNTHETIC")
    assert df["synthetic"].dtype == bool and df["synthetic"].all()
    assert df.attrs["seed"] == synthetic.SEEDS[name]
    assert df.attrs["assumptions"] == synthetic.ASSUMPTIONS[name]
    assert df.attrs["generator"].startswith("comboplan.data.synthetic.")
    assert "basis" not in df.columns or df["basis"].str.contains("printed|assumed|definition").all()
    # its S code is documented in PROVENANCE.md's synthetic section with the seed
    srows = _prov_rows("S")
    (ref,) = df["ref"].unique()
    assert f"`{name}`" in srows[ref] and str(synthetic.SEEDS[name]) in srows[ref]


@pytest.mark.parametrize("name", PRINTED)
def test_printed_datasets_are_not_marked_synthetic(name):
    df = load_dataset(name)
    assert df.attrs["synthetic"] is False and "synthetic" not in df.columns
    assert not df.attrs["description"].upper().startswith("SYNTHETIC")


def test_synthetic_generator_reproduces_bundled_bytes():
    for name, df in synthetic.generate_all().items():
        bundled = DATADIR.joinpath(f"{name}.csv").read_bytes()
        assert synthetic.to_csv_text(df).encode("utf-8") == bundled, name
        loaded = load_dataset(name)
        if "dropout" in df:
            df = df.assign(dropout=df["dropout"].astype(str))
        num = df.select_dtypes("number").columns
        np.testing.assert_allclose(loaded[num].to_numpy(float), df[num].to_numpy(float), rtol=1e-12, atol=0)


def test_synthetic_generators_are_seeded():
    a = synthetic.eiro2024_proliferation(1)
    pd.testing.assert_frame_equal(a, synthetic.eiro2024_proliferation(1))
    assert not a["proliferation_pct"].equals(synthetic.eiro2024_proliferation(2)["proliferation_pct"])
    # a different seed still reproduces the printed means (they are fixed by construction)
    g = synthetic.eiro2024_proliferation(np.random.default_rng(7)).groupby(["cm_fraction", "paclitaxel_uM"])
    assert g["inhibition_pct"].mean()[(1.0, 1.0)] == pytest.approx(86.4, abs=1e-9)


def _printed_prolif():
    d = load_dataset("eiro2024_invitro")
    return d[d.assay.str.startswith("proliferation")].set_index("treatment")["inhibition_pct"]


def test_synthetic_proliferation_matches_printed():
    df = load_dataset("eiro2024_proliferation_synthetic")
    p = _printed_prolif()
    assert df.groupby(["cm_fraction", "paclitaxel_uM"]).size().eq(6).all() and len(df) == 48
    m = df.groupby(["cm_fraction", "paclitaxel_uM"])["inhibition_pct"].mean()
    assert m[(0.0, 0.0)] == pytest.approx(0.0, abs=1e-9)
    assert m[(1.0, 0.0)] == pytest.approx(p["CM-hUCESC_chemo"], abs=1e-9)
    assert m[(0.0, 1.0)] == pytest.approx(p["paclitaxel"], abs=1e-9)
    assert m[(1.0, 1.0)] == pytest.approx(p["paclitaxel + CM-hUCESC_chemo"], abs=1e-9)
    np.testing.assert_allclose(df["inhibition_pct"] + df["proliferation_pct"], 100.0, atol=1e-9)
    # the assumed SD model holds per cell (to the 0.01 rounding)
    mod = synthetic.PROLIFERATION_MODEL
    g = df.groupby(["cm_fraction", "paclitaxel_uM"])["proliferation_pct"]
    sd_expected = np.hypot(mod["cv"] * g.mean(), mod["sd_floor_pct"])
    np.testing.assert_allclose(g.std(), sd_expected, atol=0.01)
    # figure-only cells follow the stated model: paclitaxel Hill curve, Bliss x psi
    ic50, imax = mod["paclitaxel_ic50_uM"], mod["paclitaxel_imax_pct"]
    for d in (1.0, 3.0, 5.0):
        ip = imax * d / (d + ic50)
        assert m[(0.0, d)] == pytest.approx(ip, abs=0.05)
        bliss = 100 * (1 - (1 - m[(1.0, 0.0)] / 100) * (1 - ip / 100))
        combo = 100 - mod["psi"] * (100 - bliss)
        assert m[(1.0, d)] == pytest.approx(combo, abs=0.05)
    assert (m.xs(1.0) > m.xs(0.0)).all() and m.xs(0.0).is_monotonic_increasing
    # printed cells are labelled printed, the others assumed
    lab = df.groupby(["cm_fraction", "paclitaxel_uM"])["basis"].first()
    assert lab[(1.0, 1.0)].startswith("printed") and lab[(1.0, 3.0)].startswith("assumed")


def test_synthetic_invasion_matches_printed_and_significance():
    from scipy import stats

    df = load_dataset("eiro2024_invasion_synthetic")
    d = load_dataset("eiro2024_invitro")
    inv = d[d.assay.str.startswith("invasion")].set_index("treatment")["inhibition_pct"]
    assert pd.api.types.is_integer_dtype(df["cells_per_field"]) and (df["cells_per_field"] >= 0).all()
    assert df.groupby(["panel", "condition"]).size().eq(8).all()
    assert df.groupby(["panel", "condition", "experiment"]).size().eq(4).all()
    c = df[df.panel == "Fig. 2C"].groupby("condition")
    ctrl = c["cells_per_field"].mean()["control"]
    inh = 100 * (1 - c["cells_per_field"].mean() / ctrl)
    assert inh["CM-hUCESC"] == pytest.approx(inv["CM-hUCESC"], abs=1e-9)
    assert inh["paclitaxel"] == pytest.approx(inv["paclitaxel"], abs=1e-9)
    assert c["inhibition_pct"].mean()["paclitaxel"] == pytest.approx(inv["paclitaxel"], abs=1e-9)
    assert inh["paclitaxel + CM-hUCESC"] > inh["paclitaxel"]  # "the highest inhibition"

    def counts(panel, cond):
        return df[(df.panel == panel) & (df.condition == cond)]["cells_per_field"]

    def p(a, b):
        return stats.ttest_ind(counts(*a), counts(*b), equal_var=False).pvalue

    C, D = "Fig. 2C", "Fig. 2D"
    # significance as printed (E2, E7) and "no significant difference" where the text says so
    assert p((C, "control"), (C, "CM-hUCESC")) < 0.001
    assert p((C, "paclitaxel"), (C, "CM-hUCESC")) < 0.001
    assert p((C, "paclitaxel"), (C, "paclitaxel + CM-hUCESC")) > 0.05
    assert p((D, "control"), (D, "CM-hUCESC")) < 0.001
    assert p((D, "CM-hUCESC IP TIMP-1/2"), (D, "CM-hUCESC")) < 0.05
    assert p((D, "CM-hUCESC IP TIMP-1/2"), (D, "control")) > 0.05  # "similar to ... control"


def test_synthetic_xenograft_matches_printed_design_and_volumes():
    df = load_dataset("eiro2024_xenograft_synthetic")
    printed = load_dataset("eiro2024_xenograft").set_index("arm")["tumor_volume_pct"] / 100
    design = load_dataset("eiro2024_xenograft_design")
    n_design = design[design.study == "CM-hUCESC_chemo + paclitaxel 5 mg/kg"].set_index("arm")["n_mice"]
    n_syn = df.groupby("arm")["mouse"].nunique()
    assert n_syn.to_dict() == n_design.to_dict()
    tv = load_dataset("eiro2024_text_values")
    imaging = tv[tv.quantity == "imaging day"]["value"].tolist()
    assert sorted(df["day"].unique()) == imaging
    w = df.pivot(index="mouse", columns="day", values="lum_ps")
    arm = df.groupby("mouse")["arm"].first()
    gm = np.exp(np.log(w[14.0] / w[0.0]).groupby(arm).mean())
    for a, v in printed.items():
        assert gm[a] == pytest.approx(v, rel=1e-12)
    assert gm["control"] == pytest.approx(synthetic.XENOGRAFT_RTV14["control"], rel=1e-12)
    # every mouse imaged on days 0-21; necrotic mice lose the day-30 image, flagged on day 21
    assert w[[0.0, 7.0, 14.0, 21.0]].notna().all().all()
    nec = df[df.dropout == "necrosis"]
    assert (nec["day"] == 21.0).all() and w.loc[nec["mouse"], 30.0].isna().all()
    assert set(df["dropout"]) == {"", "necrosis"} and len(nec) == 11
    assert w[30.0].notna().sum() == len(w) - len(nec)
    # usable by the growth layer as is
    gd = cp.validate_growth(df, "mouse", "arm", "day", "lum_ps", kind="luminescence", dropout="dropout")
    assert gd is not None


def test_synthetic_mtt_matches_printed():
    df = load_dataset("karimi2025_mtt_synthetic")
    k = load_dataset("karimi2025")
    sk = k[k.cell_line == "SKBR3"].set_index(["time_h", "dose_ug_per_mL"])["viability_pct"]
    assert df.groupby(["time_h", "dose_ug_per_mL"]).size().eq(18).all() and len(df) == 144
    assert df.groupby(["time_h", "dose_ug_per_mL", "experiment"]).size().eq(3).all()
    m = df.groupby(["time_h", "dose_ug_per_mL"])["viability_pct"].mean()
    for key, v in sk.items():
        assert m[key] == pytest.approx(v, abs=1e-9), key
    # each assay's controls average exactly 100 % (viability is % of the same assay's control)
    ctrl = df[df.dose_ug_per_mL == 0].groupby(["time_h", "experiment"])["viability_pct"].mean()
    np.testing.assert_allclose(ctrl, 100.0, atol=1e-9)
    # the assumed 10 ug/mL value lies on the Hill curve through the printed 24-h means
    km = synthetic.KARIMI_MODEL
    hill = 100 / (1 + (np.array([25.0, 50.0, 10.0]) / km["ec50_ug_per_mL"]) ** km["hill"])
    np.testing.assert_allclose(hill[:2], [75.1, 58.0], atol=1e-9)
    assert m[(24.0, 10.0)] == pytest.approx(hill[2], abs=0.05)
    # a plausible spread (the assumption: total SD about 5 %)
    sd = df[df.dose_ug_per_mL > 0].groupby(["time_h", "dose_ug_per_mL"])["viability_pct"].std()
    assert sd.between(2, 9).all()


def test_docs_table_lists_every_dataset():
    doc = Path(__file__).resolve().parents[1] / "docs" / "data.md"
    if not doc.exists():  # pragma: no cover - docs not shipped here
        pytest.skip("docs/data.md not available")
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| (\d+) \|", doc.read_text("utf-8"), re.M))
    assert {k: int(v) for k, v in rows.items()} == LISTING.set_index("name")["rows"].to_dict()
    for name, synth in zip(LISTING["name"], LISTING["synthetic"]):
        line = next(ln for ln in doc.read_text("utf-8").splitlines() if ln.startswith(f"| `{name}` |"))
        assert ("**synthetic**" in line) == bool(synth) and f"`load_{name}()`" in line
