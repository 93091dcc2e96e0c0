"""SYNTHETIC replicate-level datasets shaped like the two anchor papers (seeded, reproducible).

The papers print means (and a few SDs); their replicate-level data are not published.  To
show how comboplan analyses replicate data (dose-response with confidence intervals, Bliss/
HSA with uncertainty, per-animal growth models), this module *simulates* replicate-level
tables whose summaries equal the printed numbers exactly (or to the printed rounding):

* :func:`eiro2024_proliferation` - WST-1 wells, paclitaxel 0/1/3/5 uM x CM-hUCESC_chemo
  absent/present (MDA-MB-231, 48 h); the 1-uM cells reproduce 37.4 / 43.2 / 86.4 %
  inhibition, the 3/5-uM cells follow stated model assumptions.
* :func:`eiro2024_invasion` - Matrigel invasion counts per microscopic field (Fig. 2C and 2D
  designs): 28 % (CM-hUCESC) and 61 % (paclitaxel 1 uM) inhibition exactly.
* :func:`eiro2024_xenograft` - bioluminescence per mouse and imaging day for the low-dose
  study (arms of n = 4/7/7/7), arm geometric-mean day-14 relative signal 274 / 113 / 131 %
  exactly, necrosis dropout after day 21.
* :func:`karimi2025_mtt` - SKBR3 MTT wells, 6 assays x 3 wells per dose and time; 24-h means
  100 / 75.1 / 58 % and 48-h 72.2 % at 50 ug/mL exactly.

Every table has a ``synthetic`` column (True), ``ref`` codes (``S1``-``S4``) resolved in the
"Synthetic datasets" section of ``comboplan/data/datasets/PROVENANCE.md``, and a ``basis``
column saying, cell by cell, whether its mean is printed in the paper or assumed.  **None of
these values were measured**; they must never be presented as the papers' data.

The bundled CSV files are written by ``python -m comboplan.data.synthetic`` (see
:func:`write_all`); a test checks that rerunning the generator reproduces them byte for byte.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "SEEDS",
    "ASSUMPTIONS",
    "eiro2024_proliferation",
    "eiro2024_invasion",
    "eiro2024_xenograft",
    "karimi2025_mtt",
    "generate_all",
    "to_csv_text",
    "write_all",
    "PROLIFERATION_MODEL",
    "KARIMI_MODEL",
    "XENOGRAFT_RTV14",
]

#: seed of each synthetic dataset (the bundled CSVs are generated with these)
SEEDS = {
    "eiro2024_proliferation_synthetic": 2024_0425,
    "eiro2024_invasion_synthetic": 2024_0426,
    "eiro2024_xenograft_synthetic": 2024_0427,
    "karimi2025_mtt_synthetic": 2025_0105,
}

# --------------------------------------------------------------------------------------
# Assumed models (figure-only values)
# --------------------------------------------------------------------------------------
_E_CM, _E_PTX1, _E_COMBO1 = 37.4, 43.2, 86.4  # printed, Eiro 2024 (E1), % inhibition

#: Eiro 2024 proliferation model for the figure-only cells (3 and 5 uM)
PROLIFERATION_MODEL = {
    # paclitaxel alone: I(d) = imax * d / (d + ic50) (Hill slope 1), through 43.2 % at 1 uM
    "paclitaxel_imax_pct": 80.0,
    "paclitaxel_hill": 1.0,
    "paclitaxel_ic50_uM": 80.0 / _E_PTX1 - 1.0,  # = 0.852 uM, so that I(1 uM) = 43.2 %
    # combination: Bliss expectation times a constant survival ratio psi, estimated from the
    # printed 1-uM cell: psi = (1 - 0.864) / ((1 - 0.374) (1 - 0.432)) = 0.382
    "psi": (1 - _E_COMBO1 / 100) / ((1 - _E_CM / 100) * (1 - _E_PTX1 / 100)),
    "n_wells": 6,
    # SD of proliferation (% of control) per well: sqrt((cv * V)^2 + floor^2)
    "cv": 0.08,
    "sd_floor_pct": 2.0,
}

#: Karimi 2025 SKBR3 MTT model (Hill curve with e0 = 100 %, einf = 0 % through 75.1 and 58 %)
KARIMI_MODEL = {
    "hill": float(np.log2((100 / 58.0 - 1) / (100 / 75.1 - 1))),
    "n_assays": 6,
    "n_wells": 3,
    "sd_between_assay_pct": 3.0,
    "sd_within_assay_pct": 4.0,
}
KARIMI_MODEL["ec50_ug_per_mL"] = float(25.0 / (100 / 75.1 - 1) ** (1 / KARIMI_MODEL["hill"]))

#: day-14 relative signal (fraction of day 0) per arm of the Eiro 2024 low-dose study; the
#: control is not printed ("similar tumor growth than control mice" to paclitaxel 5 mg/kg):
#: 2.80 is an assumption (also used by ``comboplan.report.paper_rtv14``)
XENOGRAFT_RTV14 = {
    "control": 2.80,
    "CM-hUCESC_chemo": 1.13,
    "paclitaxel": 2.74,
    "paclitaxel + CM-hUCESC_chemo": 1.31,
}

ASSUMPTIONS = {
    "eiro2024_proliferation_synthetic": (
        "n = 6 wells per cell (not printed); proliferation SD per well sqrt((0.08 V)^2 + 2^2) "
        "% of control (proportional absorbance noise with a floor); wells standardised so each "
        "cell's sample mean and SD equal the targets, then rounded to 0.01 with the exact sum; "
        "paclitaxel alone I(d) = 80 d / (d + 0.852 uM) (Hill slope 1, through the printed 43.2 % "
        "at 1 uM); combination = Bliss expectation x constant survival ratio psi = 0.382 "
        "(from the printed 1-uM cell); the 3 and 5 uM cells are model values (Fig. 1 used "
        "CM-hUCESC, Fig. 4A only 1 uM)."
    ),
    "eiro2024_invasion_synthetic": (
        "2 experiments x 4 fields per condition (Methods: four fields per filter, duplicate "
        "experiments); control mean 100 cells/field (not printed); counts per field multinomial "
        "(= Poisson given the total) with each condition's total fixed so that its mean is exact; "
        "no extra between-field or between-experiment variation; combination 66 % (not printed: "
        "'highest' and not significantly different from paclitaxel), Fig. 2D: CM-hUCESC and IgG "
        "IP 28 % (as Fig. 2C), CM lacking TIMP-1/2 4 % ('similar to control')."
    ),
    "eiro2024_xenograft_synthetic": (
        "exponential growth of log bioluminescence: baseline log-normal around 1e6 photons/s "
        "(SD 0.4 on the log scale), per-mouse rate log(RTV14)/14 + N(0, 0.015) 1/day, residual SD "
        "0.25 on the log scale; each arm's rates then shifted so that its geometric-mean day-14 "
        "signal relative to day 0 is exact; control RTV14 2.80 (not printed); at day 30 the 3 "
        "largest tumours at day 21 of each 7-mouse arm (2 of the 4 controls) are necrotic: no "
        "day-30 reading, dropout 'necrosis' on their day-21 row."
    ),
    "karimi2025_mtt_synthetic": (
        "6 assays x 3 wells per dose and time (Figure 1 legend); viability = % of the same "
        "assay's control mean (controls: within-assay SD 4 %, centred per assay); treated wells: "
        "between-assay SD 3 %, within-assay SD 4 %, centred so each cell's mean over 18 wells is "
        "exact (rounded to 0.01 with the exact sum); 10 ug/mL at 24 h from the Hill curve through "
        "75.1 and 58 % (e0 100, einf 0: EC50 66.5 ug/mL, h 1.13) = 89.4 %; 48 h at 10 and 25 "
        "ug/mL as at 24 h (text: no significant difference), 50 ug/mL 72.2 % (printed)."
    ),
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _standardise(z: np.ndarray) -> np.ndarray:
    """Shift and scale ``z`` to sample mean 0 and sample SD 1 (ddof = 1)."""
    z = np.asarray(z, dtype=float)
    z = z - z.mean()
    return z / z.std(ddof=1)


def _hundredths_with_sum(values: np.ndarray, target_mean: float) -> np.ndarray:
    """Round ``values`` to 0.01 so that their mean is exactly ``target_mean`` (itself on 0.01).

    The rounding residual (a few hundredths) goes to the values whose rounding moved them
    furthest, one hundredth each (largest-remainder rounding), so no value moves by more
    than 0.01 from its unrounded value.
    """
    x = np.asarray(values, dtype=float) * 100.0
    total = int(round(target_mean * 100.0)) * x.size
    base = np.floor(x).astype(np.int64)
    short = total - int(base.sum())
    frac = x - base
    order = np.argsort(-frac, kind="stable")
    if short >= 0:
        base[order[:short]] += 1
    else:  # pragma: no cover - flooring never overshoots the total; kept for safety
        base[order[short:]] -= 1
    return base / 100.0


def _round1(x: float) -> float:
    return float(np.round(x, 1))


# --------------------------------------------------------------------------------------
# Eiro 2024: proliferation
# --------------------------------------------------------------------------------------
def _proliferation_targets() -> list[tuple[float, float, float, str]]:
    """(cm_fraction, paclitaxel_uM, inhibition %, basis) per cell."""
    m = PROLIFERATION_MODEL

    def i_ptx(d: float) -> float:
        return m["paclitaxel_imax_pct"] * d ** m["paclitaxel_hill"] / (
            d ** m["paclitaxel_hill"] + m["paclitaxel_ic50_uM"] ** m["paclitaxel_hill"])

    cells = [(0.0, 0.0, 0.0, "control (0 % inhibition by definition)"),
             (1.0, 0.0, _E_CM, "printed mean (Eiro 2024, E1)"),
             (0.0, 1.0, _E_PTX1, "printed mean (Eiro 2024, E1)"),
             (1.0, 1.0, _E_COMBO1, "printed mean (Eiro 2024, E1)")]
    for d in (3.0, 5.0):
        ip = _round1(i_ptx(d))
        cells.append((0.0, d, ip, "assumed: paclitaxel Hill curve (figure-only)"))
        surv = m["psi"] * (1 - _E_CM / 100) * (1 - i_ptx(d) / 100)
        cells.append((1.0, d, _round1(100 * (1 - surv)), "assumed: Bliss x psi (not in the paper)"))
    return sorted(cells, key=lambda c: (c[0], c[1]))


def eiro2024_proliferation(seed: int | np.random.Generator = SEEDS["eiro2024_proliferation_synthetic"]
                           ) -> pd.DataFrame:
    """SYNTHETIC WST-1 wells: paclitaxel 0/1/3/5 uM x CM-hUCESC_chemo absent/present.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Random seed (the bundled table uses ``SEEDS["eiro2024_proliferation_synthetic"]``).

    Returns
    -------
    pandas.DataFrame
        One row per well: ``cell_line``, ``assay``, ``time_h`` (h), ``secretome``,
        ``cm_fraction`` (fraction of the medium that is CM-hUCESC_chemo: 0 or 1),
        ``paclitaxel_uM`` (uM), ``well``, ``proliferation_pct`` (% of the DMEM-F12 control),
        ``inhibition_pct`` (100 - proliferation, %), ``basis``, ``synthetic``, ``ref``.
        Assumptions: :data:`ASSUMPTIONS` and :data:`PROLIFERATION_MODEL`.
    """
    rng = np.random.default_rng(seed)
    m = PROLIFERATION_MODEL
    n = m["n_wells"]
    rows = []
    for cm, d, inh, basis in _proliferation_targets():
        v = 100.0 - inh
        sd = float(np.hypot(m["cv"] * v, m["sd_floor_pct"]))
        prolif = _hundredths_with_sum(v + sd * _standardise(rng.standard_normal(n)), v)
        for k in range(n):
            rows.append({
                "cell_line": "MDA-MB-231", "assay": "proliferation (WST-1 A450-A655)", "time_h": 48.0,
                "secretome": "CM-hUCESC_chemo" if cm else "none", "cm_fraction": cm, "paclitaxel_uM": d,
                "well": k + 1, "proliferation_pct": float(prolif[k]),
                "inhibition_pct": float(np.round(100.0 - prolif[k], 2)),
                "basis": basis, "synthetic": True, "ref": "S1"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Eiro 2024: invasion
# --------------------------------------------------------------------------------------
_INVASION_CELLS = (
    # panel, condition, cm_fraction, paclitaxel_uM, immunoprecipitation, mean cells/field, basis
    ("Fig. 2C", "control", 0.0, 0.0, "none", 100, "assumed control level (not printed)"),
    ("Fig. 2C", "CM-hUCESC", 1.0, 0.0, "none", 72, "printed: 28 % inhibition (Eiro 2024, E2)"),
    ("Fig. 2C", "paclitaxel", 0.0, 1.0, "none", 39, "printed: 61 % inhibition (Eiro 2024, E2)"),
    ("Fig. 2C", "paclitaxel + CM-hUCESC", 1.0, 1.0, "none", 34,
     "assumed 66 % ('highest', n.s. vs paclitaxel; figure-only)"),
    ("Fig. 2D", "control", 0.0, 0.0, "none", 100, "assumed control level (not printed)"),
    ("Fig. 2D", "CM-hUCESC", 1.0, 0.0, "none", 72, "assumed 28 % as in Fig. 2C (figure-only)"),
    ("Fig. 2D", "CM-hUCESC IgG IP", 1.0, 0.0, "IgG (IP control)", 72,
     "assumed 28 %: control IP removes nothing specific (figure-only)"),
    ("Fig. 2D", "CM-hUCESC IP TIMP-1/2", 1.0, 0.0, "TIMP-1 + TIMP-2", 96,
     "assumed 4 % ('similar to that induced by control'; figure-only)"),
)


def eiro2024_invasion(seed: int | np.random.Generator = SEEDS["eiro2024_invasion_synthetic"]) -> pd.DataFrame:
    """SYNTHETIC Matrigel invasion counts per microscopic field (Eiro 2024 Fig. 2C/2D designs).

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Random seed (the bundled table uses ``SEEDS["eiro2024_invasion_synthetic"]``).

    Returns
    -------
    pandas.DataFrame
        One row per field: ``cell_line``, ``panel`` ("Fig. 2C" or "Fig. 2D"), ``condition``,
        ``cm_fraction`` (0 or 1), ``paclitaxel_uM`` (uM), ``immunoprecipitation``,
        ``experiment`` (1-2), ``field`` (1-4), ``cells_per_field`` (count),
        ``inhibition_pct`` (100 x (1 - count / mean control count of the panel), %),
        ``basis``, ``synthetic``, ``ref``.
    """
    rng = np.random.default_rng(seed)
    n_exp, n_field = 2, 4
    n = n_exp * n_field
    ctrl = {p: mean for p, c, *_, mean, _b in _INVASION_CELLS if c == "control"}
    rows = []
    for panel, cond, cm, d, ip, mean, basis in _INVASION_CELLS:
        counts = rng.multinomial(mean * n, np.full(n, 1.0 / n))
        for k in range(n):
            rows.append({
                "cell_line": "MDA-MB-231", "panel": panel, "condition": cond, "cm_fraction": cm,
                "paclitaxel_uM": d, "immunoprecipitation": ip, "experiment": k // n_field + 1,
                "field": k % n_field + 1, "cells_per_field": int(counts[k]),
                "inhibition_pct": float(np.round(100.0 * (1.0 - counts[k] / ctrl[panel]), 10)),
                "basis": basis, "synthetic": True, "ref": "S2"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Eiro 2024: xenograft (low-dose study)
# --------------------------------------------------------------------------------------
_XENO_ARMS = (
    # arm, secretome, paclitaxel mg/kg, n mice, short id, necrotic at day 30
    ("control", "none", 0.0, 4, "ctrl", 2),
    ("CM-hUCESC_chemo", "CM-hUCESC_chemo", 0.0, 7, "cm", 3),
    ("paclitaxel", "none", 5.0, 7, "ptx", 3),
    ("paclitaxel + CM-hUCESC_chemo", "CM-hUCESC_chemo", 5.0, 7, "ptxcm", 3),
)
XENOGRAFT_DAYS = (0.0, 7.0, 14.0, 21.0, 30.0)


def eiro2024_xenograft(seed: int | np.random.Generator = SEEDS["eiro2024_xenograft_synthetic"],
                       rate_sd: float = 0.015, noise_sd: float = 0.25) -> pd.DataFrame:
    """SYNTHETIC per-mouse bioluminescence of a study shaped like Eiro 2024's low-dose experiment.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Random seed (the bundled table uses ``SEEDS["eiro2024_xenograft_synthetic"]``).
    rate_sd : float
        Between-mouse SD of the exponential growth rate (1/day).
    noise_sd : float
        Residual SD of log luminescence (log photons/s).

    Returns
    -------
    pandas.DataFrame
        One row per mouse and imaging day (0, 7, 14, 21, 30): ``study``, ``arm``,
        ``secretome``, ``paclitaxel_mg_per_kg`` (mg/kg, weekly i.p.), ``mouse``, ``day``
        (days since the start of treatment), ``lum_ps`` (photons/s), ``dropout``
        ("necrosis" on the last reading of mice lost at day 30, else empty), ``synthetic``,
        ``ref``.  Each arm's geometric mean of ``lum(14) / lum(0)`` equals
        :data:`XENOGRAFT_RTV14` exactly.
    """
    rng = np.random.default_rng(seed)
    days = np.asarray(XENOGRAFT_DAYS)
    j14, j21 = int(np.flatnonzero(days == 14.0)[0]), int(np.flatnonzero(days == 21.0)[0])
    rows = []
    for arm, sec, ptx, n, short, n_nec in _XENO_ARMS:
        target = XENOGRAFT_RTV14[arm]
        b = np.log(target) / 14.0 + rng.normal(0.0, rate_sd, n)
        log0 = rng.normal(np.log(1e6), 0.4, n)
        loglum = log0[:, None] + b[:, None] * days[None, :] + rng.normal(0.0, noise_sd, (n, days.size))
        shift = np.log(target) - np.mean(loglum[:, j14] - loglum[:, 0])
        loglum = loglum + shift * days[None, :] / 14.0  # = rate shift of shift/14 per day
        necrotic = set(np.argsort(loglum[:, j21], kind="stable")[n - n_nec:].tolist())
        for i in range(n):
            for j, d in enumerate(days):
                if d > 21.0 and i in necrotic:
                    rows[-1]["dropout"] = "necrosis"
                    break
                rows.append({"study": "CM-hUCESC_chemo + paclitaxel 5 mg/kg", "arm": arm, "secretome": sec,
                             "paclitaxel_mg_per_kg": ptx, "mouse": f"{short}-{i + 1}", "day": float(d),
                             "lum_ps": float(np.exp(loglum[i, j])), "dropout": "", "synthetic": True,
                             "ref": "S3"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Karimi 2025: SKBR3 MTT
# --------------------------------------------------------------------------------------
def _karimi_targets() -> list[tuple[float, float, float, str]]:
    """(time_h, dose ug/mL, mean viability %, basis)."""
    k = KARIMI_MODEL
    v10 = _round1(100.0 / (1.0 + (10.0 / k["ec50_ug_per_mL"]) ** k["hill"]))
    return [
        (24.0, 0.0, 100.0, "control (100 % by definition)"),
        (24.0, 10.0, v10, "assumed: Hill curve through the printed 24-h means (figure-only)"),
        (24.0, 25.0, 75.1, "printed mean (Karimi 2025, K1)"),
        (24.0, 50.0, 58.0, "printed mean (Karimi 2025, K1)"),
        (48.0, 0.0, 100.0, "control (100 % by definition)"),
        (48.0, 10.0, v10, "assumed: as at 24 h (text: no significant difference; figure-only)"),
        (48.0, 25.0, 75.1, "assumed: as at 24 h (text: no significant difference; figure-only)"),
        (48.0, 50.0, 72.2, "printed mean (Karimi 2025, K2)"),
    ]


def karimi2025_mtt(seed: int | np.random.Generator = SEEDS["karimi2025_mtt_synthetic"]) -> pd.DataFrame:
    """SYNTHETIC SKBR3 MTT wells: 6 assays x 3 wells at 0/10/25/50 ug/mL, 24 and 48 h.

    Parameters
    ----------
    seed : int or numpy.random.Generator
        Random seed (the bundled table uses ``SEEDS["karimi2025_mtt_synthetic"]``).

    Returns
    -------
    pandas.DataFrame
        One row per well: ``cell_line``, ``assay`` ("MTT A570"), ``time_h`` (h),
        ``dose_ug_per_mL`` (ug/mL WJ-MSC secretome protein), ``experiment`` (assay run 1-6),
        ``well`` (1-3), ``viability_pct`` (% of the same run's untreated-control mean),
        ``basis``, ``synthetic``, ``ref``.
    """
    rng = np.random.default_rng(seed)
    k = KARIMI_MODEL
    na, nw = k["n_assays"], k["n_wells"]
    rows = []
    for t, d, v, basis in _karimi_targets():
        if d == 0.0:
            vals = np.concatenate([
                _hundredths_with_sum(100.0 + k["sd_within_assay_pct"] * _standardise(rng.standard_normal(nw)),
                                     100.0) for _ in range(na)])
        else:
            u = (np.repeat(rng.normal(0.0, k["sd_between_assay_pct"], na), nw)
                 + rng.normal(0.0, k["sd_within_assay_pct"], na * nw))
            vals = _hundredths_with_sum(v + u - u.mean(), v)
        for i in range(na * nw):
            rows.append({"cell_line": "SKBR3", "assay": "MTT A570", "time_h": t, "dose_ug_per_mL": d,
                         "experiment": i // nw + 1, "well": i % nw + 1, "viability_pct": float(vals[i]),
                         "basis": basis, "synthetic": True, "ref": "S4"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
_GENERATORS = {
    "eiro2024_proliferation_synthetic": eiro2024_proliferation,
    "eiro2024_invasion_synthetic": eiro2024_invasion,
    "eiro2024_xenograft_synthetic": eiro2024_xenograft,
    "karimi2025_mtt_synthetic": karimi2025_mtt,
}


def generate_all() -> dict[str, pd.DataFrame]:
    """Generate every synthetic dataset with its bundled seed.

    Returns
    -------
    dict of str to pandas.DataFrame
        Dataset name (as in ``list_datasets()``) -> table.
    """
    return {name: gen(SEEDS[name]) for name, gen in _GENERATORS.items()}


def to_csv_text(df: pd.DataFrame) -> str:
    """The exact CSV text the bundled files contain (``\\n`` line ends, shortest float repr)."""
    return df.to_csv(index=False, lineterminator="\n")


def write_all(directory: str | Path | None = None) -> list[Path]:
    """(Re)write the bundled synthetic CSV files.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        Target folder; default ``comboplan/data/datasets`` next to this module.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    folder = Path(directory) if directory is not None else Path(__file__).with_name("datasets")
    written = []
    for name, df in generate_all().items():
        path = folder / f"{name}.csv"
        path.write_text(to_csv_text(df), encoding="utf-8", newline="")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point (rewrites the bundled CSVs)
    write_all()
