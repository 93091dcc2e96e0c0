"""Bundled datasets of the two anchor papers, with provenance.

Two kinds of table are bundled, never mixed:

* **printed** datasets hold only numbers that the papers print in their text or tables
  (nothing digitised from figures).  Every row carries a ``ref`` code that
  ``comboplan/data/datasets/PROVENANCE.md`` resolves to the paper, section, line of the
  text and the sentence or table row it came from;
* **synthetic** datasets (names ending in ``_synthetic``) are seeded *simulations* of
  replicate-level data whose summaries equal the printed means by construction
  (:mod:`comboplan.data.synthetic`).  They carry ``attrs["synthetic"] = True``, a
  ``synthetic`` column, a description starting with "SYNTHETIC" and the list of
  assumptions; they were never measured.

Load a table with ``load_dataset(name)`` or its own loader ``load_<name>()`` (listed in
``list_datasets()["loader"]``); each call returns a fresh copy.
"""
from __future__ import annotations

import copy
import textwrap
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..exceptions import DataError

KARIMI2025 = (
    "Karimi S, Ahmadpour F, Mohammadi M. Assessing the Protective Role of Wharton's Jelly-Derived "
    "Mesenchymal Stem Cell Secretomes in Inducing Apoptosis in SKBR3 Breast Carcinoma Cells. "
    "2025 (received 3 Nov 2024, accepted 5 Jan 2025)."
)
EIRO2024 = (
    "Eiro N, Fraile M, Escudero-Cernuda S, Sendon-Lago J, Gonzalez LO, Fernandez-Sanchez ML, "
    "Vizoso FJ. Synergistic effect of human uterine cervical mesenchymal stem cell secretome and "
    "paclitaxel on triple negative breast cancer. 2024 (published online 25 Apr 2024). "
    "doi:10.1186/s13287-024-03717-0"
)

_PROV = "comboplan/data/datasets/PROVENANCE.md"
_REF = "code resolved in PROVENANCE.md"
_SYN = "True on every row (simulated, not measured)"
_BASIS = "whether this cell's mean is printed in the paper or assumed"

_REGISTRY: dict[str, dict] = {
    # ----------------------------------------------------------------- printed: Karimi 2025
    "karimi2025": {
        "file": "karimi2025.csv",
        "source": KARIMI2025,
        "description": (
            "MTT viability (% of untreated control, mean) of SKBR3 (24 h, 48 h) and MCF10A "
            "(Table 2) cells treated with WJ-MSC secretome at 0-50 ug/mL. SKBR3 SDs are only in "
            "Figure 1 (sd_pct empty); MCF10A incubation time is not stated (time_h empty); the "
            "SKBR3 24-h value at 10 ug/mL and 48-h values at 0/10/25 ug/mL are not printed."
        ),
        "units": {"time_h": "h", "dose_ug_per_mL": "ug/mL", "viability_pct": "%",
                  "sd_pct": "%", "n": "count"},
        "columns": {
            "cell_line": "SKBR3 or MCF10A",
            "assay": "readout ('MTT A570')",
            "time_h": "incubation with secretome (h); empty = not stated",
            "dose_ug_per_mL": "WJ-MSC secretome (ug/mL protein)",
            "viability_pct": "mean viability (% of untreated control)",
            "sd_pct": "SD (%), empty where only in a figure",
            "n": "replicates as printed (count)",
            "n_note": "what n counts",
            "ref": _REF,
        },
        "response_kind": "viability",
        "scale": "percent",
    },
    "karimi2025_mcf10a": {
        "file": "karimi2025_mcf10a.csv",
        "source": KARIMI2025 + " Table 2.",
        "description": (
            "Table 2 of Karimi 2025 in long form: MCF10A viability (%), colony counts (as "
            "printed), early and late apoptosis (%), mean and SD, n = 5, at 0/10/25/50 ug/mL."
        ),
        "units": {"dose_ug_per_mL": "ug/mL", "mean": "see column 'unit'",
                  "sd": "see column 'unit'", "n": "count"},
        "columns": {
            "cell_line": "MCF10A",
            "dose_ug_per_mL": "WJ-MSC secretome (ug/mL)",
            "measure": "viability, colony_count, early_apoptosis or late_apoptosis",
            "mean": "mean (unit in column 'unit')",
            "sd": "SD (unit in column 'unit')",
            "unit": "unit of mean and sd",
            "n": "replicates (count)",
            "ref": _REF,
        },
    },
    "karimi2025_apoptosis": {
        "file": "karimi2025_apoptosis.csv",
        "source": KARIMI2025 + " Section 4.3.",
        "description": (
            "Annexin V/PI flow cytometry of SKBR3 cells after 48 h of WJ-MSC secretome, as "
            "printed in section 4.3: % of cells per quadrant (control), % viable (25, 50 ug/mL) "
            "and fold changes of early/late apoptosis vs control with their P thresholds."
        ),
        "units": {"time_h": "h", "dose_ug_per_mL": "ug/mL", "value": "see column 'unit'"},
        "columns": {
            "cell_line": "SKBR3",
            "time_h": "exposure (h)",
            "dose_ug_per_mL": "WJ-MSC secretome (ug/mL)",
            "measure": "quadrant (necrotic, late_apoptosis, early_apoptosis, viable) or fold change",
            "value": "value (unit in column 'unit')",
            "unit": "'%' or 'fold vs control'",
            "p_value": "printed P threshold (text, e.g. '< 0.05'), empty if none",
            "ref": _REF,
        },
    },
    "karimi2025_tests": {
        "file": "karimi2025_tests.csv",
        "source": KARIMI2025,
        "description": (
            "Every P threshold printed in the text of Karimi 2025 (Abstract, sections 4.2 and "
            "4.3) with its comparison; the Abstract and section 4.3 disagree on early/late "
            "apoptosis at 25 ug/mL (both kept, see 'section')."
        ),
        "units": {"dose_ug_per_mL": "ug/mL", "p_value": "probability"},
        "columns": {
            "experiment": "assay and figure",
            "cell_line": "SKBR3",
            "endpoint": "what was compared",
            "dose_ug_per_mL": "WJ-MSC secretome dose of the treated group (ug/mL)",
            "comparison": "the two groups compared",
            "p_relation": "'<' (only thresholds are printed)",
            "p_value": "the printed threshold (probability)",
            "section": "where in the paper it is printed",
            "ref": _REF,
        },
    },
    "karimi2025_primers": {
        "file": "karimi2025_primers.csv",
        "source": KARIMI2025 + " Table 1.",
        "description": "Table 1 of Karimi 2025: qPCR primer sequences and annealing temperatures.",
        "units": {"annealing_C": "degC"},
        "columns": {
            "gene": "target gene (GAPDH = housekeeping)",
            "direction": "forward or reverse",
            "sequence": "primer sequence 5'-3' as printed",
            "annealing_C": "annealing temperature (degC)",
            "ref": _REF,
        },
    },
    "karimi2025_text_values": {
        "file": "karimi2025_text_values.csv",
        "source": KARIMI2025,
        "description": (
            "Every other number printed in Karimi 2025's Methods, figure legends and table "
            "captions (doses, times, cell numbers, volumes, temperatures, replicate counts), one "
            "row per number, with the text as printed."
        ),
        "units": {"value": "see column 'unit'"},
        "columns": {
            "topic": "experiment or protocol step",
            "quantity": "what the number is",
            "value": "the number (unit in column 'unit')",
            "unit": "unit of value",
            "printed": "the number as printed in the paper (verbatim)",
            "note": "remarks (empty if none)",
            "ref": _REF,
        },
    },
    # ----------------------------------------------------------------- printed: Eiro 2024
    "eiro2024_invitro": {
        "file": "eiro2024_invitro.csv",
        "source": EIRO2024,
        "description": (
            "MDA-MB-231 in-vitro effects printed in the text: inhibition of proliferation (WST-1, "
            "48 h) by CM-hUCESC_chemo, paclitaxel 1 uM and their combination, and inhibition of "
            "invasion (Matrigel, 48 h) by CM-hUCESC and paclitaxel 1 uM. The per-dose values at "
            "1/3/5 uM (Fig. 1) and the combination's invasion value (Fig. 2C) are only in figures."
        ),
        "units": {"time_h": "h", "paclitaxel_uM": "uM", "inhibition_pct": "%"},
        "columns": {
            "cell_line": "MDA-MB-231",
            "assay": "proliferation (WST-1 A450-A655) or invasion (Matrigel chamber)",
            "time_h": "treatment (h)",
            "treatment": "treatment label",
            "secretome": "none, CM-hUCESC or CM-hUCESC_chemo",
            "paclitaxel_uM": "paclitaxel (uM)",
            "inhibition_pct": "mean inhibition vs DMEM-F12 control (%)",
            "ref": _REF,
        },
        "response_kind": "inhibition",
        "scale": "percent",
    },
    "eiro2024_xenograft": {
        "file": "eiro2024_xenograft.csv",
        "source": EIRO2024,
        "description": (
            "Day-14 tumour volume (% as printed, quantified by bioluminescence; the text does not "
            "name the reference, presumably day 0, the first imaging day) per arm of the "
            "CM-hUCESC_chemo + paclitaxel 5 mg/kg xenograft study (n per arm from Methods). The "
            "control arm's value and all other days are only in Fig. 4G; the 10 mg/kg study's "
            "volumes are only in Fig. 3."
        ),
        "units": {"paclitaxel_mg_per_kg": "mg/kg", "n_mice": "count", "day": "day",
                  "tumor_volume_pct": "%"},
        "columns": {
            "study": "which of the two xenograft studies",
            "arm": "treatment arm",
            "secretome": "none or CM-hUCESC_chemo",
            "paclitaxel_mg_per_kg": "weekly i.p. paclitaxel (mg/kg)",
            "n_mice": "mice in the arm (count)",
            "day": "day of the value (day)",
            "tumor_volume_pct": "tumour volume (% as printed, presumably of day 0)",
            "ref": _REF,
        },
    },
    "eiro2024_xenograft_design": {
        "file": "eiro2024_xenograft_design.csv",
        "source": EIRO2024 + " Methods, Animal studies.",
        "description": (
            "Design of the two xenograft studies (NMRI Fox1 nu/nu mice, MDA-MB-231-luc in the "
            "mammary fat pad): arms, schedules, paclitaxel dose and group sizes."
        ),
        "units": {"paclitaxel_mg_per_kg": "mg/kg", "n_mice": "count"},
        "columns": {
            "study": "which of the two xenograft studies",
            "group": "group number as printed",
            "arm": "treatment arm",
            "secretome": "secretome given",
            "secretome_schedule": "secretome dose and schedule",
            "paclitaxel_mg_per_kg": "paclitaxel dose (mg/kg)",
            "paclitaxel_schedule": "paclitaxel schedule",
            "n_mice": "mice in the group (count)",
            "ref": _REF,
        },
    },
    "eiro2024_tests": {
        "file": "eiro2024_tests.csv",
        "source": EIRO2024,
        "description": (
            "Every p-value printed in the Results of Eiro 2024 with its comparison: "
            "p_relation '<' or '=', p_value, and the Benjamini-Hochberg adjusted p-value."
        ),
        "units": {"p_value": "probability", "p_adjusted": "probability (BH-FDR)"},
        "columns": {
            "experiment": "assay and figure",
            "cell_line": "cells",
            "endpoint": "what was compared",
            "comparison": "the groups compared",
            "p_relation": "'<' (threshold) or '=' (exact)",
            "p_value": "printed p-value (probability)",
            "p_adjusted": "printed Benjamini-Hochberg adjusted p-value (probability)",
            "ref": _REF,
        },
    },
    "eiro2024_vesicles": {
        "file": "eiro2024_vesicles.csv",
        "source": EIRO2024 + " Results, Characterization of CM-hUCESC_chemo extracellular vesicles.",
        "description": (
            "Extracellular vesicles of hUCESC with and without paclitaxel loading: NTA diameter "
            "(mean, mode), particle concentration and BCA total protein, mean and SD as printed "
            "(n not printed; the particle concentrations are printed garbled and read as "
            "(1.34 +- 0.21) x 10^11 and (0.47 +- 0.03) x 10^11 particles/mL)."
        ),
        "units": {"mean": "see column 'unit'", "sd": "see column 'unit'"},
        "columns": {
            "sample": "control EVs or paclitaxel-loaded EVs",
            "measure": "diameter_mean, diameter_mode, particle_concentration or total_protein",
            "method": "NTA (Nanosight LM10) or BCA assay",
            "mean": "mean (unit in column 'unit')",
            "sd": "SD (unit in column 'unit')",
            "unit": "nm, particles/mL or ug/mL",
            "printed": "the numbers as printed (verbatim)",
            "ref": _REF,
        },
    },
    "eiro2024_text_values": {
        "file": "eiro2024_text_values.csv",
        "source": EIRO2024,
        "description": (
            "Every other number printed in Eiro 2024's Methods, Results and Discussion that "
            "describes the experiments: concentrations, volumes, times, cell numbers, schedules, "
            "imaging days (0, 7, 14, 21, 30), necrosis (day 28/30), TIMP-1/2 depletion protocol, "
            "instrument settings and the text's derived reductions; one row per number, with the "
            "text as printed."
        ),
        "units": {"value": "see column 'unit'"},
        "columns": {
            "topic": "experiment or protocol step",
            "quantity": "what the number is",
            "value": "the number (unit in column 'unit')",
            "unit": "unit of value",
            "printed": "the number as printed in the paper (verbatim)",
            "note": "remarks (empty if none)",
            "ref": _REF,
        },
    },
    # ----------------------------------------------------------------- synthetic
    "eiro2024_proliferation_synthetic": {
        "file": "eiro2024_proliferation_synthetic.csv",
        "source": EIRO2024 + " (summaries only; wells simulated)",
        "description": (
            "SYNTHETIC (simulated, not measured) WST-1 proliferation wells of MDA-MB-231 cells, "
            "48 h: paclitaxel 0/1/3/5 uM x CM-hUCESC_chemo absent/present, 6 wells per cell. The "
            "1-uM cell means equal the printed 37.4 / 43.2 / 86.4 % inhibition exactly; the 3 and "
            "5 uM cells come from an assumed Hill curve (paclitaxel) and Bliss x constant survival "
            "ratio (combination). Assumptions: attrs['assumptions'] and PROVENANCE.md (S1)."
        ),
        "units": {"time_h": "h", "cm_fraction": "fraction of medium", "paclitaxel_uM": "uM",
                  "proliferation_pct": "%", "inhibition_pct": "%"},
        "columns": {
            "cell_line": "MDA-MB-231",
            "assay": "proliferation (WST-1 A450-A655)",
            "time_h": "treatment (h)",
            "secretome": "none or CM-hUCESC_chemo",
            "cm_fraction": "fraction of the medium that is CM-hUCESC_chemo (0 or 1)",
            "paclitaxel_uM": "paclitaxel (uM)",
            "well": "replicate well (1-6)",
            "proliferation_pct": "proliferation (% of the DMEM-F12 control mean)",
            "inhibition_pct": "inhibition = 100 - proliferation (%)",
            "basis": _BASIS,
            "synthetic": _SYN,
            "ref": _REF,
        },
        "response_kind": "inhibition",
        "scale": "percent",
        "synthetic": True,
        "generator": "eiro2024_proliferation",
    },
    "eiro2024_invasion_synthetic": {
        "file": "eiro2024_invasion_synthetic.csv",
        "source": EIRO2024 + " (summaries only; fields simulated)",
        "description": (
            "SYNTHETIC (simulated, not measured) Matrigel invasion counts of MDA-MB-231 cells per "
            "microscopic field, 2 experiments x 4 fields per condition: Fig. 2C design (control, "
            "CM-hUCESC, paclitaxel 1 uM, combination; CM-hUCESC and paclitaxel means equal the "
            "printed 28 % and 61 % inhibition exactly) and Fig. 2D design (control, CM-hUCESC, IgG "
            "IP, CM-hUCESC lacking TIMP-1/2). Assumptions: attrs['assumptions'] and PROVENANCE.md (S2)."
        ),
        "units": {"cm_fraction": "fraction of medium", "paclitaxel_uM": "uM",
                  "cells_per_field": "count", "inhibition_pct": "%"},
        "columns": {
            "cell_line": "MDA-MB-231",
            "panel": "'Fig. 2C' (combination) or 'Fig. 2D' (TIMP-1/2 depletion); separate controls",
            "condition": "treatment label",
            "cm_fraction": "fraction of the medium that is CM-hUCESC (0 or 1)",
            "paclitaxel_uM": "paclitaxel (uM)",
            "immunoprecipitation": "what was immunoprecipitated from the CM ('none', IgG, TIMP-1 + TIMP-2)",
            "experiment": "independent experiment (1-2)",
            "field": "microscopic field (1-4)",
            "cells_per_field": "invading cells counted in the field (count)",
            "inhibition_pct": "100 x (1 - count / mean control count of the panel) (%)",
            "basis": _BASIS,
            "synthetic": _SYN,
            "ref": _REF,
        },
        "response_kind": "inhibition",
        "scale": "percent",
        "synthetic": True,
        "generator": "eiro2024_invasion",
    },
    "eiro2024_xenograft_synthetic": {
        "file": "eiro2024_xenograft_synthetic.csv",
        "source": EIRO2024 + " (summaries and design only; mice simulated)",
        "description": (
            "SYNTHETIC (simulated, not measured) per-mouse bioluminescence of a study shaped like "
            "Eiro 2024's low-dose xenograft experiment: control (n = 4), CM-hUCESC_chemo, "
            "paclitaxel 5 mg/kg and the combination (n = 7 each), imaging days 0/7/14/21/30, "
            "necrosis dropout after day 21. Arm geometric-mean day-14 signal relative to day 0 "
            "equals the printed 274 / 113 / 131 % exactly (control assumed 280 %). Assumptions: "
            "attrs['assumptions'] and PROVENANCE.md (S3)."
        ),
        "units": {"paclitaxel_mg_per_kg": "mg/kg", "day": "day", "lum_ps": "photons/s"},
        "columns": {
            "study": "CM-hUCESC_chemo + paclitaxel 5 mg/kg",
            "arm": "treatment arm (labels as in eiro2024_xenograft, plus 'control')",
            "secretome": "none or CM-hUCESC_chemo (200 uL i.p. 3 times/week)",
            "paclitaxel_mg_per_kg": "paclitaxel i.p. once/week (mg/kg)",
            "mouse": "animal id",
            "day": "days since the start of treatment (day)",
            "lum_ps": "total flux (photons/s)",
            "dropout": "'necrosis' on the last reading of a mouse lost after day 21, else ''",
            "synthetic": _SYN,
            "ref": _REF,
        },
        "fill_empty": {"dropout": ""},
        "synthetic": True,
        "generator": "eiro2024_xenograft",
    },
    "karimi2025_mtt_synthetic": {
        "file": "karimi2025_mtt_synthetic.csv",
        "source": KARIMI2025 + " (summaries and design only; wells simulated)",
        "description": (
            "SYNTHETIC (simulated, not measured) MTT wells of SKBR3 cells with WJ-MSC secretome "
            "at 0/10/25/50 ug/mL for 24 and 48 h, 6 assays x 3 wells per dose (Figure 1 legend). "
            "Means equal the printed 100 / 75.1 / 58 % (24 h) and 72.2 % (48 h, 50 ug/mL) "
            "exactly; 10 ug/mL and 48 h at 10/25 ug/mL are assumed. Assumptions: "
            "attrs['assumptions'] and PROVENANCE.md (S4)."
        ),
        "units": {"time_h": "h", "dose_ug_per_mL": "ug/mL", "viability_pct": "%"},
        "columns": {
            "cell_line": "SKBR3",
            "assay": "MTT A570",
            "time_h": "incubation with secretome (h)",
            "dose_ug_per_mL": "WJ-MSC secretome (ug/mL protein)",
            "experiment": "independent assay (1-6)",
            "well": "replicate well within the assay (1-3)",
            "viability_pct": "viability (% of the same assay's untreated-control mean)",
            "basis": _BASIS,
            "synthetic": _SYN,
            "ref": _REF,
        },
        "response_kind": "viability",
        "scale": "percent",
        "synthetic": True,
        "generator": "karimi2025_mtt",
    },
}


@lru_cache(maxsize=None)
def _read(fname: str) -> pd.DataFrame:
    with resources.files("comboplan.data").joinpath("datasets", fname).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def list_datasets() -> pd.DataFrame:
    """Table of the bundled datasets.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``rows`` (count), ``synthetic`` (bool: True = simulated data, not
        printed numbers), ``loader`` (name of the ``load_<name>`` function),
        ``description``, ``source``.
    """
    rows = [
        {"name": k, "rows": len(_read(v["file"])), "synthetic": bool(v.get("synthetic", False)),
         "loader": f"load_{k}", "description": v["description"], "source": v["source"]}
        for k, v in _REGISTRY.items()
    ]
    return pd.DataFrame(rows)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset (a fresh copy; modify it freely).

    Parameters
    ----------
    name : str
        One of ``list_datasets()["name"]``, e.g. ``"karimi2025"``, ``"eiro2024_invitro"``,
        ``"eiro2024_xenograft"`` (printed numbers) or ``"eiro2024_proliferation_synthetic"``
        (simulated replicate-level data).

    Returns
    -------
    pandas.DataFrame
        The table; ``attrs["units"]`` maps columns to units, ``attrs["columns"]`` describes
        every column, ``attrs["source"]`` is the citation, ``attrs["description"]`` says what
        is (and is not) included, ``attrs["provenance"]`` points to PROVENANCE.md (resolve
        the ``ref`` column there) and ``attrs["synthetic"]`` is True for simulated tables
        (which also carry ``attrs["seed"]``, ``attrs["assumptions"]`` and
        ``attrs["generator"]``).  In printed tables, empty cells are values the paper does
        not print (never zeros).

    Raises
    ------
    DataError
        If ``name`` is unknown (the message lists the available names).
    """
    if name not in _REGISTRY:
        raise DataError(
            f"unknown dataset {name!r}; available: {', '.join(map(repr, _REGISTRY))}."
        )
    meta = _REGISTRY[name]
    df = _read(meta["file"]).copy(deep=True)
    for c, u in meta["units"].items():  # measured quantities as float, counts stay integer
        if c in df.columns and u != "count" and pd.api.types.is_integer_dtype(df[c]):
            df[c] = df[c].astype(float)
    for c, v in meta.get("fill_empty", {}).items():
        df[c] = df[c].fillna(v).astype(str)
    synthetic = bool(meta.get("synthetic", False))
    df.attrs = {
        "name": name,
        "units": copy.deepcopy(meta["units"]),
        "columns": dict(meta["columns"]),
        "source": meta["source"],
        "description": meta["description"],
        "provenance": _PROV,
        "synthetic": synthetic,
    }
    for k in ("response_kind", "scale"):
        if k in meta:
            df.attrs[k] = meta[k]
    if synthetic:
        from . import synthetic as _syn

        df.attrs["seed"] = _syn.SEEDS[name]
        df.attrs["assumptions"] = _syn.ASSUMPTIONS[name]
        df.attrs["generator"] = f"comboplan.data.synthetic.{meta['generator']}"
    return df


# --------------------------------------------------------------------------------------
# one loader per dataset
# --------------------------------------------------------------------------------------
def _loader_doc(name: str) -> str:
    meta = _REGISTRY[name]
    synthetic = bool(meta.get("synthetic", False))
    kind = ("SYNTHETIC replicate-level data (simulated, not measured)" if synthetic
            else "numbers printed in the paper")
    cols = "\n".join(
        f"        * ``{c}``"
        + (f" [{meta['units'][c]}]" if c in meta["units"] else "")
        + f": {d}"
        for c, d in meta["columns"].items()
    )
    extra = (
        "\n    ``attrs`` also holds ``seed``, ``assumptions`` and ``generator`` (the function of\n"
        "    :mod:`comboplan.data.synthetic` that rewrites the bundled CSV)."
        if synthetic else ""
    )
    return (
        f"Load the bundled dataset ``{name}``: {kind}.\n\n"
        f"{textwrap.fill(meta['description'], 88, initial_indent='    ', subsequent_indent='    ')}\n\n"
        "    Returns\n"
        "    -------\n"
        "    pandas.DataFrame\n"
        "        A fresh copy (modify it freely) with columns:\n\n"
        f"{cols}\n\n"
        "        ``attrs``: ``name``, ``units``, ``columns``, ``source``, ``description``,\n"
        f"        ``provenance``, ``synthetic`` (= {synthetic}).\n\n"
        "    Notes\n"
        "    -----\n"
        f"{textwrap.fill('Source: ' + meta['source'], 88, initial_indent='    ', subsequent_indent='    ')}\n"
        f"    Every row's ``ref`` is resolved in ``{_PROV}``.\n"
        f"    Synthetic: {'yes' if synthetic else 'no'}.{extra}\n\n"
        "    See Also\n"
        "    --------\n"
        "    load_dataset, list_datasets\n"
    )


def _make_loader(name: str):
    def loader() -> pd.DataFrame:
        return load_dataset(name)

    loader.__name__ = loader.__qualname__ = f"load_{name}"
    loader.__module__ = __name__
    loader.__doc__ = _loader_doc(name)
    return loader


load_karimi2025 = _make_loader("karimi2025")
load_karimi2025_mcf10a = _make_loader("karimi2025_mcf10a")
load_karimi2025_apoptosis = _make_loader("karimi2025_apoptosis")
load_karimi2025_tests = _make_loader("karimi2025_tests")
load_karimi2025_primers = _make_loader("karimi2025_primers")
load_karimi2025_text_values = _make_loader("karimi2025_text_values")
load_eiro2024_invitro = _make_loader("eiro2024_invitro")
load_eiro2024_xenograft = _make_loader("eiro2024_xenograft")
load_eiro2024_xenograft_design = _make_loader("eiro2024_xenograft_design")
load_eiro2024_tests = _make_loader("eiro2024_tests")
load_eiro2024_vesicles = _make_loader("eiro2024_vesicles")
load_eiro2024_text_values = _make_loader("eiro2024_text_values")
load_eiro2024_proliferation_synthetic = _make_loader("eiro2024_proliferation_synthetic")
load_eiro2024_invasion_synthetic = _make_loader("eiro2024_invasion_synthetic")
load_eiro2024_xenograft_synthetic = _make_loader("eiro2024_xenograft_synthetic")
load_karimi2025_mtt_synthetic = _make_loader("karimi2025_mtt_synthetic")

__all__ = ["load_dataset", "list_datasets", *(f"load_{k}" for k in _REGISTRY)]
