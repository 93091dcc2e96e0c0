"""Bundled datasets: the numbers printed in the two anchor papers, with provenance.

Only values that the papers print in their text or tables are bundled: no replicate-level
values are invented and nothing is digitised from figures.  Every row carries a ``ref``
code that ``comboplan/data/datasets/PROVENANCE.md`` resolves to the paper, section, line
of the text and the sentence or table row it came from.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..exceptions import DataError

__all__ = ["load_dataset", "list_datasets"]

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

_REGISTRY: dict[str, dict] = {
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
    },
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
    },
    "eiro2024_xenograft_design": {
        "file": "eiro2024_xenograft_design.csv",
        "source": EIRO2024 + " Methods, Animal studies.",
        "description": (
            "Design of the two xenograft studies (NMRI Fox1 nu/nu mice, MDA-MB-231-luc in the "
            "mammary fat pad): arms, schedules, paclitaxel dose and group sizes."
        ),
        "units": {"paclitaxel_mg_per_kg": "mg/kg", "n_mice": "count"},
    },
    "eiro2024_tests": {
        "file": "eiro2024_tests.csv",
        "source": EIRO2024,
        "description": (
            "Every p-value printed in the Results of Eiro 2024 with its comparison: "
            "p_relation '<' or '=', p_value, and the Benjamini-Hochberg adjusted p-value."
        ),
        "units": {"p_value": "probability", "p_adjusted": "probability (BH-FDR)"},
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
        Columns ``name``, ``rows``, ``description``, ``source``.
    """
    rows = [
        {"name": k, "rows": len(_read(v["file"])), "description": v["description"],
         "source": v["source"]}
        for k, v in _REGISTRY.items()
    ]
    return pd.DataFrame(rows)


def load_dataset(name: str) -> pd.DataFrame:
    """Load a bundled dataset (a fresh copy; modify it freely).

    Parameters
    ----------
    name : str
        One of ``list_datasets()["name"]``: ``"karimi2025"``, ``"karimi2025_mcf10a"``,
        ``"karimi2025_apoptosis"``, ``"eiro2024_invitro"``, ``"eiro2024_xenograft"``,
        ``"eiro2024_xenograft_design"``, ``"eiro2024_tests"``.

    Returns
    -------
    pandas.DataFrame
        The table; ``attrs["units"]`` maps columns to units, ``attrs["source"]`` is the
        citation, ``attrs["description"]`` says what is (and is not) included and
        ``attrs["provenance"]`` points to PROVENANCE.md (resolve the ``ref`` column there).
        Empty cells are values the paper does not print (never zeros).

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
    df.attrs = {
        "name": name,
        "units": copy.deepcopy(meta["units"]),
        "source": meta["source"],
        "description": meta["description"],
        "provenance": _PROV,
    }
    for k in ("response_kind", "scale"):
        if k in meta:
            df.attrs[k] = meta[k]
    return df
