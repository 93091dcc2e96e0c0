"""The main job (``comboplan demo`` / ``make demo``): analyse the anchor papers' data and write a report.

Each capability contributes one section: a function ``section(ctx) -> str`` that receives a
:class:`comboplan.reportkit.ReportContext`, saves its figures and tables through it, records
every number it takes from the papers (``ctx.paper_value``: dataset, row reference, value)
and returns markdown.  :func:`run_demo` writes ``report.html`` (self-contained, figures
embedded), ``report.md``, the tables (CSV, netCDF), ``paper_values.csv`` (every printed
paper number used, with its dataset and provenance reference) and ``manifest.json``.
Everything is computed from the numbers printed in the papers (bundled datasets, see
``comboplan/data/datasets/PROVENANCE.md``) or from seeded simulations that say so.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import warnings
from pathlib import Path

__all__ = ["run_demo", "register", "dose_response_section", "synergy_section", "growth_section",
           "planning_section", "paper_xenograft", "paper_rtv14"]

# (title, "module:function") in report order; a missing module is skipped with a note
_SECTIONS = (
    ("Dose-response of the WJ-MSC secretome (Karimi 2025)", "comboplan.report:dose_response_section"),
    ("In-vitro synergy: paclitaxel + secretome (Eiro 2024)", "comboplan.report:synergy_section"),
    ("Xenograft growth and in-vivo synergy", "comboplan.report:growth_section"),
    ("Bayesian hierarchical growth model", "comboplan.report_bayes:demo_section"),
    ("Dose-reduction planning and power", "comboplan.report:planning_section"),
)


def dose_response_section(ctx) -> str:
    """Fit the WJ-MSC secretome dose-response of SKBR3 and MCF10A cells (Karimi 2025).

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Output folder, seed and collectors of figures, tables and paper values.

    Returns
    -------
    str
        Markdown text of the section.
    """
    import matplotlib.pyplot as plt

    from .data.datasets import load_dataset
    from .exceptions import ComboplanWarning
    import numpy as np
    from scipy import stats

    from .fitting.dose_response import compare, fit_dose_response
    from .fitting.summary_stats import anova_from_summary, equivalence_from_summary

    sk = ctx.paper_rows("karimi2025", "viability_pct", "SKBR3 MTT viability (%) at 24 h", ["dose_ug_per_mL"],
                        cell_line="SKBR3", time_h=24.0)
    out = []
    out.append(
        "Data: MTT viability (% of untreated control) of SKBR3 cells after 24 h with WJ-MSC secretome at "
        f"{', '.join(f'{d:g}' for d in sk.dose_ug_per_mL)} ug/mL, as printed in the paper "
        f"({', '.join(f'{v:g} %' for v in sk.viability_pct)}); the paper prints means only (SDs are in a figure), "
        "so each dose contributes one value.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        res = fit_dose_response(sk, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                                fixed={"e0": 100.0, "einf": 0.0}, dose_unit="ug/mL", response_unit="%")
        e = res.ecx([20, 50], ci=None, extrapolate=True)
    p = res.params.set_index("param")
    ec50, h = p.loc["ec50", "estimate"], p.loc["h", "estimate"]
    out.append("Model: Hill curve with viability fixed at 100 % untreated and 0 % at saturating secretome "
               "(`hill4`, fixed e0 = 100, einf = 0), fitted on log EC50 by least squares.\n")
    out.append("ECx outside the tested positive doses (25-50 ug/mL) are model extrapolations and flagged as such.\n")
    out.append("| quantity | estimate | unit | note |\n|---|---|---|---|")
    out.append(f"| EC50 | {ec50:.3g} | ug/mL | {e.status.iloc[1]} |")
    out.append(f"| Hill slope h | {h:.3g} | 1 | |")
    out.append(f"| EC20 | {e.estimate.iloc[0]:.3g} | ug/mL | {e.status.iloc[0]} |")
    dof = int(res.fit.dof[0])
    out.append(f"| residual degrees of freedom | {dof} | | {'no uncertainty can be estimated from means alone' if dof < 2 else ''} |\n")
    out.append(
        f"With {int(res.fit.nobs[0])} means and 2 free parameters the curve passes (almost) exactly through the "
        "printed values: the EC50 is a point estimate without a defensible confidence interval. Replicate-level "
        "data (6 assays x 3 wells per dose) would give one; comboplan fits them directly (`by=` per assay, "
        "`ci='profile'`).\n")
    ctx.say(f"SKBR3 (Karimi 2025, 24 h printed means): secretome EC50 {ec50:.3g} ug/mL ({e.status.iloc[1]}: an "
            f"extrapolation), Hill slope {h:.3g} (point estimates: 2 means per free parameter, no CI)")
    wells = load_dataset("karimi2025_mtt_synthetic")
    wells = wells[(wells.cell_line == "SKBR3") & (wells.time_h == 24)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        rw = fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                               fixed={"e0": 100.0, "einf": 0.0}, dose_unit="ug/mL", response_unit="%")
        ew = rw.ecx(50, ci="profile", extrapolate=True).iloc[0]
        # the assay is the experimental unit: one EC50 per assay, then a t interval over assays
        ra = fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", by="experiment",
                               model="hill4", fixed={"e0": 100.0, "einf": 0.0}, dose_unit="ug/mL",
                               response_unit="%")
        ea = ra.ecx(50, ci=None, extrapolate=True)
    lec = np.log(ea["estimate"].to_numpy(float))
    lec = lec[np.isfinite(lec)]
    k_assay = lec.size
    tq = float(stats.t.ppf(0.975, k_assay - 1))
    se_l = float(np.std(lec, ddof=1) / np.sqrt(k_assay))
    gm, glo, ghi = (float(np.exp(v)) for v in (lec.mean(), lec.mean() - tq * se_l, lec.mean() + tq * se_l))
    n_wells = len(wells) // wells.experiment.nunique() // wells.dose_ug_per_mL.nunique()
    out.append(
        f"What replicate wells would add: the **synthetic** dataset `karimi2025_mtt_synthetic` (ref S4: "
        f"{wells.experiment.nunique()} assays x {n_wells} "
        "wells per dose as the Figure 1 legend describes, assumed between-assay SD 3 % and within-assay SD 4 %, dose "
        "means equal to the printed values). Pooling all wells as if independent gives EC50 "
        f"{ew['estimate']:.3g} ug/mL, 95 % profile CI {ew['ci_low']:.3g} to {ew['ci_high']:.3g} ug/mL "
        f"({ew['status']}); but wells of one assay share that assay's plate, cells and secretome batch, so they are "
        "not independent (pseudo-replication) and that interval is too narrow. With the assay as the unit (one EC50 "
        f"per assay, a t interval over the {k_assay} assays on the log scale): geometric-mean EC50 {gm:.3g} ug/mL, 95 % "
        f"CI {glo:.3g} to {ghi:.3g} ug/mL ({ghi / glo:.2g}-fold wide against {ew['ci_high'] / ew['ci_low']:.2g}-fold "
        "pooled). The intervals are only as real as the assumed SDs; with the lab's wells they are the real ones.\n")
    ctx.say(f"SKBR3 on SYNTHETIC wells (means = printed, assumed SDs): EC50 {gm:.3g} ug/mL, 95 % CI {glo:.3g} to "
            f"{ghi:.3g} ug/mL with the assay as the unit ({k_assay} assays; pooling the wells as independent would "
            f"give {ew['ci_low']:.3g} to {ew['ci_high']:.3g})")
    mc = ctx.paper_rows("karimi2025", "viability_pct", "MCF10A viability (%), Table 2", ["dose_ug_per_mL"],
                        cell_line="MCF10A")
    sd_mc = ctx.paper_rows("karimi2025", "sd_pct", "MCF10A viability SD (%), Table 2", ["dose_ug_per_mL"],
                           cell_line="MCF10A")["sd_pct"].to_numpy(float)
    n_mc = mc["n"].to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        # nested pair: a constant at the control's 100 % inside a Hill curve from 100 % (e0 fixed in both)
        r0 = fit_dose_response(mc, dose="dose_ug_per_mL", response="viability_pct", model="no_effect",
                               fixed={"e0": 100.0})
        r1 = fit_dose_response(mc, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                               fixed={"e0": 100.0, "einf": 0.0})
        cmp_ = compare(r0, r1)
    aov = anova_from_summary(mc.viability_pct, sd_mc, n_mc)
    margin = 10.0
    treated = mc.dose_ug_per_mL.to_numpy(float) > 0
    eq = equivalence_from_summary((100.0, 0.0, int(n_mc[~treated][0])), mc.viability_pct[treated], sd_mc[treated],
                                  n_mc[treated], margin, labels=mc.dose_ug_per_mL[treated],
                                  pooled=(aov["pooled_sd"], aov["df_within"]))
    worst = eq.iloc[int(np.argmax(np.abs(eq["difference"].to_numpy())))]
    detect = "a statistically detectable" if aov["p_value"] < 0.05 else "no statistically detectable"
    all_eq = bool(eq["equivalent"].all())
    out.append(
        f"Lack-of-effect check on non-tumorigenic MCF10A cells (Table 2, mean +- SD, n = {int(n_mc[0])}: "
        + ", ".join(f"{d:g} ug/mL {v:g} +- {sd:g} %" for d, v, sd in zip(mc.dose_ug_per_mL, mc.viability_pct, sd_mc))
        + f"). One-way ANOVA from these summary statistics: F({aov['df_between']}, {aov['df_within']}) = "
        f"{aov['f_stat']:.2f}, p = {aov['p_value']:.2g}: {detect} difference between doses (pooled SD "
        f"{aov['pooled_sd']:.2f} %; the SD of 0 printed for the control and 10 ug/mL reflects normalisation to the "
        "control, so the pooled SD rests on the two higher doses). Absence of an effect is an equivalence claim: "
        f"with a margin of +-{margin:g} % viability (our stated choice), every dose is "
        f"{'equivalent' if all_eq else 'NOT shown equivalent'} to the control by two one-sided tests (largest "
        f"difference {worst['difference']:+.1f} % at {worst['label']:g} ug/mL, 90 % CI {worst['ci_low']:+.1f} to "
        f"{worst['ci_high']:+.1f} %, TOST p = {worst['p_tost']:.1g}). So the data support the paper's statement "
        f"that MCF10A cells were unaffected in the sense that any effect is smaller than {margin:g} points"
        + (", although a difference of this size is detectable with these SDs" if aov["p_value"] < 0.05 else "")
        + f". (On the four means alone, ignoring the SDs: AIC {float(cmp_.aic.iloc[0]):.1f} for a constant at 100 % "
        f"against {float(cmp_.aic.iloc[1]):.1f} for a Hill curve from 100 % to 0 %; the constant is that curve's limit "
        "EC50 -> infinity, a boundary of its parameter space, so an F or likelihood-ratio test would not have its "
        "nominal distribution and none is reported.)\n")
    ctx.say(f"MCF10A (Karimi 2025 Table 2): ANOVA from summary statistics p = {aov['p_value']:.2g}; every dose within "
            f"+-{margin:g} % of control by TOST: {all_eq} (largest difference {worst['difference']:+.1f} %)")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    res.plot(ax=ax)
    ax.set_title("SKBR3, 24 h, WJ-MSC secretome (Karimi 2025)")
    out.append(ctx.figure(fig, "dose_response_skbr3.png",
                          "SKBR3 viability (% of control) vs WJ-MSC secretome (ug/mL, log axis), 24 h, printed "
                          "means and the fitted Hill curve"))
    out.append(ctx.table(res.params, "dose_response_params.csv",
                         "Hill parameters of the SKBR3 fit: estimate, SE, CI, unit"))
    out.append(ctx.table(res.to_xarray(), "dose_response_fit.nc", "the SKBR3 fit as an xarray Dataset (netCDF)"))
    out.append(ctx.table(cmp_, "dose_response_mcf10a_compare.csv",
                         "MCF10A: constant at 100 % vs Hill curve from 100 % to 0 %, AIC on the means (no F test: "
                         "the constant is a boundary limit of the curve, see test_note)"))
    out.append(ctx.table(eq, "dose_response_mcf10a_equivalence.csv",
                         f"MCF10A: each dose vs control, difference (% viability), 90 % CI, TOST p (margin +-{margin:g} %)"))
    return "\n".join(out)


def synergy_section(ctx) -> str:
    """Bliss and HSA excess of the Eiro 2024 sparse combination (paclitaxel 1 uM + CM-hUCESC_chemo).

    The paper prints means only; the interval is therefore conditional on an assumed
    SD (5 or 10 inhibition points, n = 3 wells), and the section says so.

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Output folder, seed and collectors of figures, tables and paper values.

    Returns
    -------
    str
        Markdown text.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from .combination.api import synergy

    assay = "proliferation (WST-1 A450-A655)"
    sec = ctx.paper_value("eiro2024_invitro", "inhibition_pct", "MDA-MB-231 proliferation inhibition (%), "
                          "CM-hUCESC_chemo", assay=assay, treatment="CM-hUCESC_chemo")
    pac = ctx.paper_value("eiro2024_invitro", "inhibition_pct", "MDA-MB-231 proliferation inhibition (%), "
                          "paclitaxel 1 uM", assay=assay, treatment="paclitaxel")
    combo = ctx.paper_value("eiro2024_invitro", "inhibition_pct", "MDA-MB-231 proliferation inhibition (%), "
                            "paclitaxel 1 uM + CM-hUCESC_chemo", assay=assay,
                            treatment="paclitaxel + CM-hUCESC_chemo")
    z = np.array([-1.0, 0.0, 1.0])  # three pseudo-wells with exactly the reported mean and the assumed SD
    rows = []
    for sd in (5.0, 10.0):
        for (s_, p_), m in {(0, 0): 0.0, (1, 0): sec, (0, 1): pac, (1, 1): combo}.items():
            rows += [dict(assumed_sd=sd, secretome=s_, paclitaxel_uM=p_, inhibition=m + sd * zz, rep=r)
                     for r, zz in enumerate(z)]
    res = synergy(pd.DataFrame(rows), doses=["secretome", "paclitaxel_uM"], response="inhibition",
                  by="assumed_sd", methods=("bliss", "hsa"), replicate="rep", inference="delta")
    cells = res.cells
    out = [f"Data (Eiro 2024, MDA-MB-231 proliferation, WST-1): CM-hUCESC_chemo {sec:g} %, paclitaxel 1 uM {pac:g} %, "
           f"combination {combo:g} % inhibition (means printed in the text; no SDs printed).\n",
           f"Bliss expectation: {sec:g} + {pac:g} - {sec:g} x {pac:g} / 100 = {sec + pac - sec * pac / 100:.2f} %. "
           "Sign convention: response is **inhibition** (%); a **positive excess means synergy**.\n",
           "| method | assumed SD (points, n = 3) | excess (points) | 95 % CI | p |", "|---|---|---|---|---|"]
    for _, r in cells.sort_values(["method", "assumed_sd"]).iterrows():
        out.append(f"| {r['method']} | {r['assumed_sd']:g} | {r['score']:.2f} | {r['ci_low']:.2f} to {r['ci_high']:.2f} "
                   f"| {r['p_value']:.2g} |")
        if r["method"] == "bliss":
            ctx.say(f"Eiro 2024 in vitro: Bliss excess {r['score']:+.1f} inhibition points (positive = synergy), "
                    f"95 % CI {r['ci_low']:.1f} to {r['ci_high']:.1f} if the SD were {r['assumed_sd']:g} points (n = 3)")
    out.append("\nThe excess itself is fixed by the printed means; its interval is not, because the paper does not "
               "print the SDs: the table shows how the conclusion depends on them (delta method, Welch t). With the "
               "raw wells, `cp.synergy(..., replicate=...)` gives the real interval (replicate bootstrap or delta "
               "method). Loewe, ZIP and Chou-Talalay CI need single-agent dose-response curves, which this design "
               "(one dose of each agent) does not have; comboplan says exactly which cells are missing.\n")
    from .data.datasets import load_dataset

    wells = load_dataset("eiro2024_proliferation_synthetic")
    rs = synergy(wells, doses=["cm_fraction", "paclitaxel_uM"], response="inhibition_pct", replicate="well",
                 methods=("bliss", "hsa"))
    sc = rs.cells[rs.cells.method == "bliss"].sort_values("paclitaxel_uM")
    n_w = int(wells.groupby(["cm_fraction", "paclitaxel_uM"]).size().iloc[0])
    out.append(f"The sparse design the lab runs, one secretome level x paclitaxel 1/3/5 uM with replicates, on the "
               f"**synthetic** dataset `eiro2024_proliferation_synthetic` (ref S1: {n_w} wells per cell, assumed SDs; "
               "the 1-uM cells equal the printed means; the 3- and 5-uM cells come from an assumed paclitaxel curve and "
               "a constant survival ratio, because the paper prints no such values). Bliss excess per observed "
               "combination (inhibition points, **positive = synergy**), delta-method 95 % CI, BH q-value across cells:\n")
    out.append("| paclitaxel (uM) | observed (%) | Bliss expected (%) | excess (points) | 95 % CI | q |\n"
               "|---|---|---|---|---|---|")
    for _, r in sc.iterrows():
        out.append(f"| {r['paclitaxel_uM']:g} | {r['observed']:.1f} | {r['reference']:.1f} | {r['score']:.2f} | "
                   f"{r['ci_low']:.2f} to {r['ci_high']:.2f} | {r['q_value']:.2g} |")
    ctx.say("SYNTHETIC 1/3/5 uM wells (1 uM = printed means): Bliss excess (points, positive = synergy) " + "; ".join(
        f"{r['paclitaxel_uM']:g} uM {r['score']:+.1f} ({r['ci_low']:.1f} to {r['ci_high']:.1f})" for _, r in sc.iterrows()))
    out.append("")
    out.append(ctx.table(rs.cells, "synergy_synthetic_1_3_5uM.csv",
                         "SYNTHETIC sparse design: Bliss/HSA excess per cell with CI, p and q (inhibition %, "
                         "positive = synergy)"))
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    bl = cells[cells.method == "bliss"].sort_values("assumed_sd")
    hs = cells[cells.method == "hsa"].sort_values("assumed_sd")
    for k, (tab, lab) in enumerate(((bl, "Bliss"), (hs, "HSA"))):
        y = np.arange(len(tab)) + 0.18 * (1 - 2 * k)
        ax.errorbar(tab.score, y, xerr=[tab.score - tab.ci_low, tab.ci_high - tab.score], fmt="o", capsize=4,
                    label=lab)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(np.arange(len(bl)), [f"assumed SD {v:g} points" for v in bl.assumed_sd])
    ax.set_xlabel("excess inhibition (percentage points; positive = synergy)")
    ax.legend(frameon=False)
    ax.set_title("Paclitaxel 1 uM + CM-hUCESC_chemo (Eiro 2024)")
    out.append(ctx.figure(fig, "synergy_eiro2024.png",
                          "Bliss and HSA excess inhibition (percentage points, positive = synergy) of paclitaxel "
                          "1 uM + CM-hUCESC_chemo with 95 % CIs under two assumed SDs"))
    out.append(ctx.table(cells, "synergy_eiro2024.csv",
                         "per-cell Bliss/HSA excess, CI and p (inhibition %, positive = synergy)"))
    out.append(ctx.table(res.to_xarray(), "synergy_eiro2024.nc", "the same scores as an xarray Dataset (netCDF)"))
    return "\n".join(out)


_ARM_ROWS = {"CM": "CM-hUCESC_chemo", "PTX": "paclitaxel", "CM+PTX": "paclitaxel + CM-hUCESC_chemo"}


def paper_rtv14(ctx) -> dict:
    """Day-14 relative tumour volume per arm of Eiro 2024's low-dose xenograft study.

    The treated arms are read from the bundled dataset ``eiro2024_xenograft`` (printed
    274 %, 113 %, 131 %; ref E3) and recorded as paper values of the report; the control's
    value is not printed and is the assumption of the synthetic study
    (``comboplan.data.synthetic.XENOGRAFT_RTV14["control"]``, 2.80).

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Collector of the report's paper values.

    Returns
    -------
    dict
        ``{"control", "CM", "PTX", "CM+PTX"} -> relative volume`` (fraction of day 0).
    """
    from .data.synthetic import XENOGRAFT_RTV14

    out = {"control": XENOGRAFT_RTV14["control"]}
    for arm, row in _ARM_ROWS.items():
        out[arm] = ctx.paper_value("eiro2024_xenograft", "tumor_volume_pct",
                                   f"day-14 tumour volume (% of day 0), {row}", arm=row, day=14.0) / 100.0
    return out


def paper_xenograft(ctx):
    """The bundled SYNTHETIC per-mouse study shaped like Eiro 2024, validated, with short arm labels.

    ``comboplan.datasets.load_eiro2024_xenograft_synthetic()`` (n = 4/7/7/7, luminescence on
    days 0/7/14/21/30, necrosis dropout after day 21; arm geometric-mean day-14 relative
    signal equal to the printed values) with a ``group`` column: control, CM, PTX, CM+PTX.

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Collector of the report's paper values (the printed day-14 values are recorded).

    Returns
    -------
    rtv : dict
        :func:`paper_rtv14`.
    df : pandas.DataFrame
        The study table (a fresh copy).
    gd : comboplan.growth.data.GrowthData
        The validated study (luminescence, dropout column ``dropout``, arms in ``rtv`` order).
    """
    from .data.datasets import load_dataset
    from .growth.data import validate_growth

    rtv = paper_rtv14(ctx)
    df = load_dataset("eiro2024_xenograft_synthetic")
    df["group"] = df["arm"].map({"control": "control", **{v: k for k, v in _ARM_ROWS.items()}})
    gd = validate_growth(df, "mouse", "group", "day", "lum_ps", kind="luminescence", dropout="dropout",
                         arm_order=list(rtv))
    return rtv, df, gd


def growth_section(ctx) -> str:
    """Analyse the synthetic xenograft study shaped like Eiro 2024: mixed model, TGI, in-vivo Bliss over time.

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Output folder, seed (of the endpoint and synergy bootstraps) and collectors.

    Returns
    -------
    str
        Markdown text.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from .growth.api import fit_growth_mixed
    from .growth.endpoints import growth_endpoints
    from .growth.synergy import invivo_synergy
    from .plot.growth import plot_spaghetti

    seed = ctx.seed
    rtv, df, gd = paper_xenograft(ctx)
    mixed = fit_growth_mixed(gd)
    ep = growth_endpoints(gd, control="control", at=14.0, seed=seed)
    syn = invivo_synergy(gd, design={"control": [], "CM": ["CM"], "PTX": ["PTX"], "CM+PTX": ["CM", "PTX"]},
                         n_boot=1000, seed=seed)
    rates = mixed.rates
    n_arm = df.groupby("group").mouse.nunique()
    out = ["**Synthetic data** (bundled dataset `eiro2024_xenograft_synthetic`, seeded; see PROVENANCE.md, ref S3): "
           f"the paper's low-dose study design ({'/'.join(str(n_arm[g]) for g in rtv)} mice for "
           f"{'/'.join(rtv)}), luminescence on days {'/'.join(f'{d:g}' for d in sorted(df.day.unique()))}, necrosis "
           "dropout after day 21; each arm's geometric-mean day-14 signal relative to day 0 equals the printed value "
           f"(paclitaxel 5 mg/kg {100 * rtv['PTX']:g} %, primed secretome {100 * rtv['CM']:g} %, combination "
           f"{100 * rtv['CM+PTX']:g} %; control assumed {100 * rtv['control']:g} %, not printed). This shows the analysis "
           "the papers' raw data would get; it is not a re-analysis of their animals.\n",
           "Exponential growth as a linear mixed model on log relative signal with a random slope per animal "
           "(REML); every observed measurement is used (dropout handled in the likelihood: valid if missing at "
           "random given the observed sizes).\n",
           "| arm | growth rate (1/day) | 95 % CI | doubling time (day) |", "|---|---|---|---|"]
    for _, r in rates.iterrows():
        out.append(f"| {r['arm']} | {r['rate']:.4f} | {r['ci_low']:.4f} to {r['ci_high']:.4f} | {r['doubling_time']:.1f} |")
    ctx.say("Synthetic Eiro-shaped xenograft, mixed-model growth rates (1/day, 95 % CI): " + "; ".join(
        f"{r['arm']} {r['rate']:.3f} ({r['ci_low']:.3f} to {r['ci_high']:.3f})" for _, r in rates.iterrows()))
    arms = ep.arms.set_index("arm")
    out.append("\nDay-14 endpoints (T/C of mean relative volume; TGI = 1 - T/C):\n")
    out.append("| arm | mean RTV | T/C | TGI (1 - T/C) |\n|---|---|---|---|")
    for arm, r in arms.iterrows():
        out.append(f"| {arm} | {r['mean_rtv']:.2f} | {r['tc_ratio']:.2f} ({r['tc_ci_low']:.2f}-{r['tc_ci_high']:.2f}) "
                   f"| {r['tgi_tc']:.2f} |")
    ot = syn.over_time
    bl = ot[ot.reference == "bliss"]
    out.append("\nIn-vivo Bliss synergy on growth rates, refitted up to each day (score = expected - observed "
               "combination rate; **positive = synergy**; p adjusted across days):\n")
    out.append("| day | Bliss score (1/day) | 95 % CI | adjusted p |\n|---|---|---|---|")
    for _, r in bl.iterrows():
        out.append(f"| {r['day']:g} | {r['score']:.4f} | {r['ci_low']:.4f} to {r['ci_high']:.4f} | {r['p_adjusted']:.2g} |")
    ctx.say("In-vivo Bliss score over time (1/day, positive = synergy): " + "; ".join(
        f"day {r['day']:g} {r['score']:+.4f} ({r['ci_low']:+.4f} to {r['ci_high']:+.4f})" for _, r in bl.iterrows()))
    r = {k: np.log(v) / 14.0 for k, v in rtv.items()}
    true_score = (r["CM"] + r["PTX"] - r["control"]) - r["CM+PTX"]
    last = bl.iloc[-1]
    covered = last["ci_low"] <= true_score <= last["ci_high"]
    out.append(f"\nThe simulation's true Bliss score is {true_score:+.4f} /day (the printed day-14 values imply that the "
               f"combination grows {'slower' if true_score > 0 else 'faster'} than independence predicts); the "
               f"full-study estimate is {last['score']:+.4f} /day, whose 95 % CI "
               f"{'covers' if covered else 'misses'} it. Four to seven mice per arm and noisy bioluminescence leave this "
               "interaction poorly determined, which is exactly what the planning section below quantifies.\n")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_spaghetti(gd, ax=axes[0], relative=True)
    syn.plot(ax=axes[1])
    fig.tight_layout()
    out.append(ctx.figure(fig, "xenograft.png",
                          "left: relative luminescence (fold of day 0, log axis) per mouse over days; right: "
                          "in-vivo Bliss score on growth rates (1/day, positive = synergy) by day, with 95 % CIs"))
    out.append(ctx.table(df, "xenograft_synthetic.csv",
                         "the synthetic study: mouse, arm, day, luminescence (photons/s), dropout reason"))
    out.append(ctx.table(rates, "xenograft_rates.csv", "mixed-model growth rate per arm (1/day) with 95 % CI"))
    out.append(ctx.table(ep.arms, "xenograft_endpoints_day14.csv", "day-14 T/C, TGI and mean relative volume per arm"))
    out.append(ctx.table(ot, "xenograft_invivo_synergy.csv",
                         "in-vivo Bliss/HSA scores on growth rates per day (1/day, positive = synergy)"))
    out.append(ctx.table(syn.to_xarray(), "xenograft_invivo_synergy.nc", "the same scores as netCDF"))
    return "\n".join(out)


def planning_section(ctx) -> str:
    """Dose-reduction explorer and sample size, from the simulator calibrated to Eiro 2024's day-14 values.

    Parameters
    ----------
    ctx : comboplan.reportkit.ReportContext
        Output folder, seed (parameter draws, virtual animals, simulated studies) and collectors.

    Returns
    -------
    str
        Markdown text.
    """
    import numpy as np

    from .simulate.cohort import Arm, Readout, Variability
    from .simulate.explore import dose_reduction
    from .simulate.paper import calibrate_eiro2024
    from .simulate.power import sample_size

    seed = ctx.seed
    cal = calibrate_eiro2024()
    printed = paper_rtv14(ctx)
    hi, lo = "CM-hUCESC + paclitaxel 10 mg/kg", "CM-hUCESC_chemo + paclitaxel 5 mg/kg"
    full = ctx.paper_value("eiro2024_xenograft_design", "paclitaxel_mg_per_kg", "full paclitaxel dose (mg/kg, i.p. "
                           "weekly), study 1", study=hi, group=3)
    low = ctx.paper_value("eiro2024_xenograft_design", "paclitaxel_mg_per_kg", "low paclitaxel dose (mg/kg, i.p. "
                          "weekly), study 2", study=lo, group=3)
    n_paper = int(ctx.paper_value("eiro2024_xenograft_design", "n_mice", "mice per treated arm, study 2",
                                  study=lo, group=4))
    if not np.allclose(sorted(cal.observed), sorted(printed[k] for k in ("CM", "PTX", "CM+PTX"))):
        raise RuntimeError("calibrate_eiro2024 did not use the printed day-14 values")  # pragma: no cover
    ptx5, primed = cal.regimens["paclitaxel_5"], cal.regimens["primed"]
    if low != ptx5.amount or full != 2 * low:
        raise RuntimeError("the simulator's regimens do not match the printed doses")  # pragma: no cover
    out = ["Question (Eiro 2024): paclitaxel 10 mg/kg weekly works, 5 mg/kg alone does not, 5 mg/kg with secretome "
           "of paclitaxel-primed stem cells (3x/week) seems to. Which lower dose keeps full-dose efficacy, with what "
           "probability, and how many mice would confirm it?\n",
           "Model: exponential growth with Bliss-independent kill hazards (paclitaxel through Simeoni 2004 mouse PK, "
           "secretome as a decaying exposure) plus an interaction gamma (0 = no interaction), calibrated by least "
           "squares to the three printed day-14 values "
           f"({', '.join(f'{v:.2f}' for v in cal.observed)} x day 0; fitted {', '.join(f'{v:.2f}' for v in cal.fitted)}):",
           "",
           "| parameter | estimate | SE |", "|---|---|---|"]
    for (k, v), se_ in zip(cal.theta.items(), np.sqrt(np.diag(cal.cov))):
        out.append(f"| {k} | {v:.4g} | {se_:.2g} |")
    out.append("\nAssumptions this answer rests on (the paper does not report these quantities):\n")
    out += [f"- {a}" for a in cal.assumptions]
    res = dose_reduction(cal.model(), [0, 2.5, 5, 7.5, 10], companions={"none": None, "primed": primed},
                         reference=(10.0, "none"), days=[14.0], margin=0.2, target_probability=0.8, n_animals=50,
                         draws=cal.draws(200, seed=seed), variability=Variability({"lambda0": 0.2}), seed=seed + 1)
    tables = [ctx.table(res.table, "dose_reduction.csv",
                        "day-14 geometric-mean relative size (fold of day 0) per paclitaxel dose (mg/kg) and "
                        "companion: median, credible band, P(non-inferior to 10 mg/kg)"),
              ctx.table(res.to_xarray(), "dose_reduction.nc",
                        "posterior draws of day-14 geometric-mean relative size per companion and dose (netCDF)")]
    md = res.minimum_dose
    out.append("\nNon-inferiority: day-14 geometric-mean relative size (the log scale of the power analysis below) "
               "within 20 % of 10 mg/kg alone, required with 80 % probability over parameter uncertainty (200 draws x "
               "50 virtual animals):\n")
    out.append("| companion | minimum paclitaxel dose (mg/kg) |\n|---|---|")
    for _, r in md.iterrows():
        out.append(f"| {r['companion']} | {r['min_dose']:g} |")
    primed_min = md.loc[md.companion == "primed", "min_dose"]
    # what the calibrated model predicts for every arm, the untreated control included
    from .simulate.mcerror import format_probability
    from .simulate.paper import eiro2024_evidence, predicted_arms
    from .simulate.power import ttest_power
    pa = predicted_arms(cal, 14.0, doses=(0.0, 2.5, 5.0, 7.5, 10.0))
    lit = calibrate_eiro2024(control="like_5mg")
    ctrl = float(pa.loc[(pa.companion == "none") & (pa.paclitaxel_mg_per_kg == 0), "relative_size"].iloc[0])
    rs5 = float(pa.loc[(pa.companion == "none") & (pa.paclitaxel_mg_per_kg == 5), "relative_size"].iloc[0])
    tables.append(ctx.table(pa, "predicted_arms.csv", "typical-animal day-14 relative size per paclitaxel dose "
                            "(mg/kg) and companion, with the monotonicity flag"))
    out.append("\nPredicted day-14 relative size of a typical animal (fold of day 0), the untreated control "
               "included:\n")
    out.append("| paclitaxel (mg/kg) | alone | with primed secretome |\n|---|---|---|")
    for dose in sorted(set(pa.paclitaxel_mg_per_kg)):
        a = pa[pa.paclitaxel_mg_per_kg == dose].set_index("companion")["relative_size"]
        out.append(f"| {dose:g} | {a['none']:.2f} | {a['primed']:.2f} |")
    out.append(f"\n**The untreated control is predicted, not assumed (A2)**: {ctrl:.2f} x day 0 by day 14, against "
               f"{rs5:.2f} at 5 mg/kg, whereas the paper says 5 mg/kg grew 'similar' to control. With the paclitaxel "
               "potency fixed from Simeoni 2004 (A3, A4) the model cannot agree with that sentence; taking it "
               "literally (`calibrate_eiro2024(control='like_5mg')`) leaves paclitaxel with almost no effect "
               f"(potency {lit.theta['potency.paclitaxel']:.3f} vs Simeoni's 0.629 1/(day x ug/mL); predicted "
               f"control {lit.predicted_control:.2f}), which contradicts study 1's 10 mg/kg result. The two papers' "
               "numbers do not pin this down.")
    nonmono = sorted(set(pa.loc[~pa.monotone, "companion"]))
    if nonmono:
        out.append(f"\n**Flag: non-monotone dose-efficacy** with companion(s) {', '.join(nonmono)}: more paclitaxel "
                   "predicts a larger tumour on part of the grid, an artefact of the negative fitted interaction "
                   f"(gamma = {cal.theta['interaction.gamma']:.2f}, SE "
                   f"{float(np.sqrt(cal.cov[2, 2])):.2f}; three parameters fitted to three means leave no residual "
                   "degrees of freedom).")
        if len(primed_min) and float(primed_min.iloc[0]) == 0.0:
            out.append(" The 'minimum dose 0 mg/kg' above is that artefact, not a finding.")
    ev = eiro2024_evidence().set_index("quantity")["value"]
    vals = ev.to_numpy()
    sd_pool = float(vals[2])
    out.append("\n**What the printed numbers imply by themselves** (study 2, n = 7 per arm; the p-values are assumed "
               "to come from pooled two-sample t-tests on day-14 relative volume, which the paper does not state):\n")
    out.append(f"- the p-values 0.032 and 0.016 imply an SD of relative volume of {vals[0]:.0f} % and {vals[1]:.0f} % "
               f"of day 0 (pooled {sd_pool:.0f} %), i.e. about {sd_pool / 100:.1f} in fold units;")
    out.append(f"- the paper's central in-vivo claim, combination 131 % vs paclitaxel 5 mg/kg 274 %: difference "
               f"{vals[3]:.0f} points, 95 % CI {vals[4]:.0f} to {vals[5]:.0f} points: the combination beat 5 mg/kg alone, "
               "but by anything from a few points to the whole growth;")
    out.append(f"- combination vs primed secretome alone, 131 % vs 113 %: p = {vals[7]:.2f}: the data cannot tell "
               "whether paclitaxel added anything to the secretome;")
    out.append(f"- Bliss interaction on log relative volume under A2: {vals[8]:+.2f} (> 0 means the combination grew "
               "more than independent action predicts): no evidence of synergy in vivo; the control arm (n = 4) and "
               "a 10 mg/kg arm were not printed for this study, so non-inferiority to 10 mg/kg is not observed, only "
               "modelled.")
    # the experiment that would decide: one-sided non-inferiority t-test on log relative size, if the two
    # regimens were truly equal, with the variability implied by the printed p-values
    sd_logs = [float(np.sqrt(np.log1p((sd_pool / m) ** 2))) for m in (274.0, 131.0)]
    n_eq = []
    for sdl in sd_logs:
        es = np.log(1.2) / sdl
        n_eq.append(next((n for n in range(3, 1000) if ttest_power(es, n, 0.05, "greater") >= 0.8), None))
    out.append(f"\nIf 5 mg/kg + primed secretome and 10 mg/kg were truly equal, a one-sided non-inferiority test "
               f"(alpha 0.05, margin 20 % on relative size) with the implied log-scale SD ({sd_logs[0]:.2f} at 274 %, "
               f"{sd_logs[1]:.2f} at 131 %) needs **{n_eq[0]} to {n_eq[1]} mice per arm** for 80 % power "
               f"(t-test power, closed form). The simulated sample size below is conditional on the calibrated point "
               "estimate, in which the combination beats 10 mg/kg: it is optimistic. A deciding study has a vehicle "
               "arm (to derive the margin by effect preservation: M1 = lower 95 % bound of the 10 mg/kg effect over "
               "vehicle), 10 mg/kg, 5 mg/kg, primed secretome and the combination, imaging to day 21.")
    ctx.say(f"Printed numbers (study 2): implied SD {sd_pool / 100:.1f} fold; combination vs 5 mg/kg "
            f"{vals[3]:.0f} points (95 % CI {vals[4]:.0f} to {vals[5]:.0f}); combination vs secretome alone "
            f"p = {vals[7]:.2f}; Bliss under A2 {vals[8]:+.2f} (> 0 = no synergy); mice per arm to show "
            f"non-inferiority if truly equal: {n_eq[0]}-{n_eq[1]}")
    # structural sensitivity: one stated assumption at a time, the model re-calibrated each time
    from .plot.sensitivity import plot_tornado
    from .simulate.noninferiority import eiro2024_sensitivity, noninferiority_design
    sens = eiro2024_sensitivity(day=14.0)
    tables.append(ctx.table(sens, "sensitivity.csv", "structural sensitivity: typical-animal day-14 relative size "
                            "per arm and the ratio (5 mg/kg + primed) / (10 mg/kg) under each alternative assumption, "
                            "the model re-calibrated to the printed values each time"))
    base_ratio = float(sens["ratio"].iloc[0])
    out.append("\n**Structural sensitivity** (one assumption changed at a time, the three free parameters re-fitted "
               "to the printed values each time): predicted day-14 ratio of the geometric-mean relative size, "
               "5 mg/kg + primed secretome over 10 mg/kg alone (< 1 = the combination does better):\n")
    out.append("| assumption | alternative | ratio | change |\n|---|---|---|---|")
    for _, r in sens.iterrows():
        out.append(f"| {r['assumption']} | {r['label']} | {r['ratio']:.2f} | {r['delta_vs_base']:+.2f} |")
    span = (float(sens["ratio"].min()), float(sens["ratio"].max()))
    top = sens.iloc[1:].assign(a=lambda t: t["delta_vs_base"].abs()).sort_values("a").iloc[-1]
    out.append(f"\nThe ratio runs from {span[0]:.2f} to {span[1]:.2f} over these assumptions (baseline "
               f"{base_ratio:.2f}); it moves most with {top['assumption']} ({top['label']}: {top['ratio']:.2f}). "
               "Where it approaches 1 the 'dose reduction' is not supported: the answer rests on the "
               "assumptions more than on the data.")
    axt = plot_tornado(sens)
    out.append(ctx.figure(axt.figure, "sensitivity_tornado.png", "tornado plot: predicted day-14 ratio (5 mg/kg + "
                          "primed) / (10 mg/kg) under each alternative assumption"))
    # the experiment that decides: vehicle + reference + candidate, margin from the study's own vehicle arm
    ni = noninferiority_design(cal.model(), vehicle_arm=Arm("vehicle"), reference_arm=Arm("ptx10", [ptx5.with_amount(full)]),
                               candidate_arm=Arm("ptx5+primed", [ptx5], [primed]), days=[0, 7, 14], endpoint_day=14,
                               n_values=[7, 10, 15, 20], n_studies=400, draws=cal.draws(200, seed=seed + 3),
                               variability=Variability({"lambda0": 0.2}), readout=Readout("luminescence", cv=0.4),
                               seed=seed + 4, method="retention", preserve=0.5)
    tables.append(ctx.table(ni.table, "noninferiority_design.csv", "three-arm design (vehicle, 10 mg/kg, 5 mg/kg + "
                            "primed): power and assurance of the retention-of-effect test per mice per arm"))
    out.append("\n**The experiment that would decide it**: vehicle, paclitaxel 10 mg/kg and 5 mg/kg + primed secretome, "
               "imaging days 0/7/14, endpoint log relative size at day 14 (geometric-mean scale); non-inferiority "
               "as retention of at least half of the 10 mg/kg effect over vehicle measured in the same study "
               "(Pigeot et al. 2003), one-sided alpha 0.05, luminescence CV 40 %, between-animal CV 20 % on "
               "growth. Under the calibrated model (in which the combination is predicted better than 10 mg/kg, "
               "so these numbers are optimistic):\n")
    out.append("| mice per arm | conditional power | assurance (200 draws) | reference beat vehicle |\n|---|---|---|---|")
    for _, r in ni.table.iterrows():
        out.append(f"| {int(r['n_per_arm'])} | {format_probability(r['power'], int(r['n_studies']))} | {r['assurance']:.2f} ± "
                   f"{r['assurance_se']:.2f} | {r['p_established']:.2f} |")
    n_ni = ni.settings.get("n_required_assurance")
    out.append(f"\n{n_ni or 'More than 20'} mice per arm give 80 % assurance under the calibrated model; if the "
               f"regimens were truly equal the closed-form numbers above ({n_eq[0]} to {n_eq[1]} per arm) apply. "
               "The parameter draws carry only the measurement error implied by the printed p-values, not the structural "
               "uncertainty of the "
               "table above: a pilot with a vehicle arm and a 10 mg/kg arm (n = 7 each) would pin down the growth rate "
               "and the paclitaxel potency that dominate it.")
    ctx.say(f"Structural sensitivity: predicted (5 mg/kg + primed)/(10 mg/kg) day-14 ratio {span[0]:.2f} to "
            f"{span[1]:.2f} (baseline {base_ratio:.2f}); three-arm retention design: {n_ni or '> 20'} mice per arm "
            "for 80 % assurance under the calibrated (optimistic) model")
    arms = [Arm("ptx10", [ptx5.with_amount(full)]), Arm("ptx5+primed", [ptx5], [primed])]
    ss = sample_size(cal.model(), arms, [0, 7, 14], analysis="noninferiority", margin=0.2, endpoint_day=14,
                     n_values=tuple(sorted({5, n_paper, 10, 15, 20, 30})), n_studies=400, variability=Variability({"lambda0": 0.2}),
                     readout=Readout("luminescence", cv=0.4), target_power=0.8, seed=seed + 2)
    tables.append(ctx.table(ss.table, "sample_size.csv", "simulated power per group size (mice per arm)"))
    out.append("\nHow many mice per arm confirm that 5 mg/kg + primed secretome is non-inferior to 10 mg/kg (one-sided "
               "alpha 0.05 on log relative size at day 14, margin 20 %, luminescence CV 40 %, imaging days 0/7/14)? "
               "Power by simulation, each simulated study analysed with comboplan's own test:\n")
    out.append("| mice per arm | power | Monte-Carlo SE |\n|---|---|---|")
    for _, r in ss.table.iterrows():
        out.append(f"| {int(r['n_per_arm'])} | {r['power']:.2f} | {r['mc_se']:.2f} |")
    n_req = ss.settings.get("n_required")
    out.append(f"\n**{n_req} mice per arm** give >= 80 % power." if n_req else
               "\nNo tested group size reaches 80 % power.")
    p7 = ss.table.loc[ss.table.n_per_arm == n_paper, "power"]
    if len(p7):
        out.append(f" With the papers' {n_paper} mice per arm the power is {float(p7.iloc[0]):.0%}.\n")
    tab = res.table
    p5 = tab.loc[(tab.companion == "primed") & (tab.dose == 5.0), "p_noninferior"]
    p5_alone = tab.loc[(tab.companion == "none") & (tab.dose == 5.0), "p_noninferior"]
    n_dr = int(res.settings["n_draws"])
    ctx.say("Dose reduction (model calibrated to the printed day-14 values, assumptions A1-A7; the model's control "
            f"grows {ctrl:.2f}-fold by day 14 vs 2.74 at 5 mg/kg): "
            f"P(5 mg/kg + primed secretome non-inferior to 10 mg/kg at day 14) = "
            f"{format_probability(float(p5.iloc[0]), n_dr)} "
            f"(5 mg/kg alone: {format_probability(float(p5_alone.iloc[0]), n_dr)}) over parameter draws that carry "
            "only the measurement error implied by the printed p-values (A7), no structural uncertainty; minimum "
            "non-inferior dose with primed secretome "
            f"{float(primed_min.iloc[0]):g} mg/kg" + (" (an artefact of the non-monotone prediction)" if nonmono else ""))
    ctx.say(f"Mice per arm for 80 % power to confirm 5 mg/kg + primed vs 10 mg/kg, conditional on the calibrated point "
            f"estimate (optimistic): {n_req or 'more than 30'}"
            + (f" (the papers' {n_paper} per arm give {float(p7.iloc[0]):.0%})" if len(p7) else ""))
    ax = res.plot(day=14.0)
    out.append(ctx.figure(ax.figure, "dose_efficacy_day14.png",
                          "predicted day-14 relative tumour size (fold of day 0) vs paclitaxel dose (mg/kg), "
                          "alone and with primed secretome, median and credible band"))
    out += tables
    return "\n".join(out)


def run_demo(outdir="demo_output", seed: int = 20240425, sections=None, progress: bool = True,
             stream=None) -> Path:
    """Run every report section and write the report (HTML, markdown, tables, figures).

    Parameters
    ----------
    outdir : str or pathlib.Path
        Output folder (created).  It receives ``report.html`` (self-contained: figures
        embedded), ``report.md`` (same text, figures as PNG files beside it), every table
        as CSV or netCDF, ``paper_values.csv`` (each number taken from the papers, with its
        dataset and provenance reference) and ``manifest.json`` (what the report promises).
    seed : int
        Seed for the simulation-based sections.
    sections : sequence of str, optional
        Titles (substrings, case-insensitive) of the sections to run; default all.
    progress : bool
        Print one progress line per section and the summary to ``stream``.
    stream : file-like, optional
        Where progress and summary go (default ``sys.stdout``).

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.
    """
    from . import __version__
    from .reportkit import ReportContext, render_html

    import matplotlib

    matplotlib.use("Agg")  # the report only writes files
    stream = stream or sys.stdout
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ctx = ReportContext(outdir=outdir, seed=seed)
    todo = [(t, target) for t, target in _SECTIONS
            if not sections or any(s.lower() in t.lower() for s in sections)]
    bodies = []
    t_all = time.perf_counter()
    for k, (title, target) in enumerate(todo, 1):
        mod, fn = target.split(":")
        func = getattr(importlib.import_module(mod), fn)
        if progress:
            print(f"[{k}/{len(todo)}] {title} ...", end="", file=stream, flush=True)
        ctx.section = title
        t0 = time.perf_counter()
        body = func(ctx)
        dt = time.perf_counter() - t0
        if progress:
            print(f" done in {dt:.1f} s", file=stream, flush=True)
        bodies.append(f"## {title}\n\n{body}\n\n_(section computed in {dt:.1f} s)_\n")
    ctx.section = "Paper numbers used in this report"
    import pandas as pd

    pv = pd.DataFrame(ctx.paper_values, columns=["section", "quantity", "value", "unit", "dataset", "column",
                                                 "ref", "row"])
    # one line per printed number, listing every section that uses it
    pv = (pv.groupby(["dataset", "column", "row"], sort=False)
            .agg(section=("section", lambda x: "; ".join(dict.fromkeys(x))), quantity=("quantity", "first"),
                 value=("value", "first"), unit=("unit", "first"), ref=("ref", "first"))
            .reset_index()[["section", "quantity", "value", "unit", "dataset", "column", "ref", "row"]])
    pv_link = ctx.table(pv, "paper_values.csv", "every number taken from the papers, with dataset and reference")
    head = [f"# comboplan report\n\ncomboplan {__version__}; seed {seed}; {len(todo)} analyses in "
            f"{time.perf_counter() - t_all:.0f} s. Every number below is computed by comboplan from the numbers "
            "printed in the anchor papers (bundled datasets with provenance, listed at the end) or from seeded "
            "simulations that say so. Sign conventions are stated with every synergy number.\n",
            "## Summary\n"]
    head += [f"- {line}" for _, line in ctx.summary]
    head.append("\n## Contents\n")
    head += [f"{k}. [{t}](#{_slug(t)})" for k, (t, _) in enumerate(todo, 1)]
    head.append(f"{len(todo) + 1}. [Paper numbers used in this report](#{_slug(ctx.section)})")
    head.append(f"{len(todo) + 2}. [Files of this report](#files-of-this-report)\n")
    tail = ["## Paper numbers used in this report\n",
            "Each number the report takes from the two papers, read from a bundled dataset "
            "(`comboplan.datasets.load_dataset(name)`); `ref` resolves to the paper's section, line and quoted text "
            "in `comboplan/data/datasets/PROVENANCE.md`.\n",
            "| quantity | value | unit | dataset | ref | used in |", "|---|---|---|---|---|---|"]
    tail += [f"| {r.quantity} | {r.value:g} | {r.unit} | `{r.dataset}` | {r.ref} | {r.section} |"
             for r in pv.itertuples()]
    tail += ["", pv_link, "## Files of this report\n", "| file | kind | section | content |", "|---|---|---|---|"]
    tail += [f"| [{a.name}]({a.name}) | {a.kind} | {a.section} | {a.caption} |" for a in ctx.artifacts]
    text = "\n".join(head) + "\n" + "\n".join(bodies) + "\n" + "\n".join(tail) + "\n"
    (outdir / "report.md").write_text(text, encoding="utf-8")
    page = outdir / "report.html"
    page.write_text(render_html(text, outdir), encoding="utf-8")
    manifest = {"comboplan": __version__, "seed": seed, "sections": [t for t, _ in todo],
                "figures": [a.name for a in ctx.artifacts if a.kind == "figure"],
                "tables": [a.name for a in ctx.artifacts if a.kind != "figure"],
                "summary": [line for _, line in ctx.summary], "paper_values": len(pv)}
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if progress:
        print("\nSummary", file=stream)
        for line in manifest["summary"]:
            print(f"  - {line}", file=stream)
        print(f"\nReport: {page} (open in a browser); tables and figures in {outdir}/", file=stream, flush=True)
    return page


def _slug(title: str) -> str:
    """The anchor id that the markdown ``toc`` extension gives a heading."""
    import markdown.extensions.toc as toc

    return toc.slugify(title, "-")


def register(subparsers) -> None:
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser("demo", help="run the main job: analyse the papers' data and write a report",
                              description="Analyse the anchor papers' data (bundled) and write report.html "
                                          "(figures embedded), report.md, tables (CSV, netCDF) and a summary.")
    p.add_argument("--out", "--output", "-o", dest="output", default="demo_output",
                   help="output folder (default demo_output)")
    p.add_argument("--seed", type=int, default=20240425, help="seed for simulation-based sections")
    p.add_argument("--section", nargs="*", default=None, help="run only sections whose title contains these words")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines or summary")
    p.set_defaults(func=_run)


def _run(args) -> int:
    run_demo(args.output, seed=args.seed, sections=args.section, progress=not args.quiet)
    return 0


def main(argv=None) -> int:  # pragma: no cover - convenience
    parser = argparse.ArgumentParser(prog="comboplan-demo")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    return _run(parser.parse_args(["demo", *(argv or [])]))
