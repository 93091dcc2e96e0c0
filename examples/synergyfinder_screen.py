"""A drug-combination screen in SynergyFinder's long format, scored with uncertainty.

SIMULATED data (seeded, ``numpy.random.default_rng(7)``); nothing here is measured.
One cell line, paclitaxel (rows, 0 + 7 doses, 1 nM to 0.73 uM in 3-fold steps) against
four partner compounds (columns, 0 + 7 doses, 10 nM to 7.3 uM), each pair an 8 x 8
matrix in triplicate (one block per pair, ``BlockID`` 1-4).  The true response surface
of every block is MuSyC (Meyer et al. 2019) with viability plateaus E0 = 1, E1 = 0.15
(paclitaxel), E2 = 0.35 (partner), E3 = E1 x E2, slopes 1.3 and 1.0, potencies
C1 = 0.05 uM, C2 = 1 uM, gamma = 1; only the potency-synergy parameter alpha differs:

* block 1 (cmpd-101): alpha = 8    -> **synergistic** by construction;
* block 2 (cmpd-102): alpha = 1    -> exactly Bliss-independent (additive);
* block 3 (cmpd-103): alpha = 0.15 -> antagonistic;
* block 4 (cmpd-104): alpha = 1, but the wells of cmpd-104 alone at 0.03 uM failed (a
  missing monotherapy cell, as happens in real screens).

Readout: % inhibition = 100 x (1 - viability) + Gaussian noise (SD 4 points per well).
Block 2 is additive by construction, yet with this seed its Bliss interval just excludes 0
(p = 0.04): a 5 % test does that to about one additive block in twenty (the block test holds
its level here: 3 % rejections in 400 simulated additive blocks), which is why a screen is
read through FDR q-values and effect sizes, not p < 0.05 alone.

The script writes the screen with ``cp.write_synergyfinder`` (the file you would upload to
SynergyFinder), reads it back with ``cp.read_synergyfinder``, scores it with
``cp.synergy`` (Bliss, HSA, Loewe, ZIP; per-cell and per-block intervals, p-values and
Benjamini-Hochberg q-values), shows what comboplan does with the incomplete block, runs
``cp.chou_talalay`` and ``cp.fit_musyc`` on block 1, saves CSV tables and PNG plots under
./comboplan_output/synergyfinder_screen/ (``--out DIR`` to change) and checks that the block
built to be synergistic is found.

Run:  MPLBACKEND=Agg python examples/synergyfinder_screen.py
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
from _output import output_folder  # examples/_output.py, beside this script

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.models.combination.musyc import musyc  # noqa: E402

SEED = 7
PTX_UM = np.r_[0.0, 0.001 * 3.0 ** np.arange(7)]        # paclitaxel, uM
PARTNER_UM = np.r_[0.0, 0.01 * 3.0 ** np.arange(7)]     # partner compound, uM
BLOCKS = {  # BlockID: (partner, alpha, truth)
    1: ("cmpd-101", 8.0, "synergistic"),
    2: ("cmpd-102", 1.0, "additive"),
    3: ("cmpd-103", 0.15, "antagonistic"),
    4: ("cmpd-104", 1.0, "additive, one monotherapy cell missing"),
}
MISSING = (4, 0.0, PARTNER_UM[2])                       # block, paclitaxel dose, partner dose


def simulate_screen(seed: int = SEED) -> pd.DataFrame:
    """Tidy table of the simulated screen: one row per well."""
    rng = np.random.default_rng(seed)
    d1, d2 = np.meshgrid(PTX_UM, PARTNER_UM, indexing="ij")
    rows = []
    for block, (partner, alpha, _) in BLOCKS.items():
        viab = musyc(d1, d2, 1.0, 0.15, 0.35, 0.15 * 0.35, 1.3, 1.0, 0.05, 1.0, alpha, alpha)
        for rep in range(3):
            inh = 100.0 * (1.0 - viab) + rng.normal(0.0, 4.0, viab.shape)
            for (i, j), y in np.ndenumerate(inh):
                if (block, d1[i, j], d2[i, j]) == MISSING:
                    continue
                rows.append({"block": block, "partner": partner, "paclitaxel_uM": d1[i, j],
                             "partner_uM": d2[i, j], "inhibition_pct": y})
    return pd.DataFrame(rows)


def main() -> Path:
    out = output_folder(__file__, __doc__)

    # ---- 1. write the screen in SynergyFinder's long format (one call per drug pair) -------------
    tidy = simulate_screen()
    parts = [cp.write_synergyfinder(g, None, doses=["paclitaxel_uM", "partner_uM"], response="inhibition_pct",
                                    drugs=["paclitaxel", partner], block="block", units=["uM", "uM"])
             for partner, g in tidy.groupby("partner", sort=True)]
    sf_file = out / "screen_synergyfinder.csv"
    pd.concat(parts, ignore_index=True).to_csv(sf_file, index=False)

    # ---- 2. read it back (repeated wells become replicate 1, 2, 3) ------------------------------
    screen = cp.read_synergyfinder(sf_file)
    print(f"read {len(screen)} wells, {screen['block'].nunique()} blocks from {sf_file.name}")
    by = ["block", "drug_row", "drug_col"]
    kw = dict(doses=["conc_row", "conc_col"], response="response", by=by,
              replicate="replicate", response_kind="inhibition", scale="percent",
              dose_units={"conc_row": "uM", "conc_col": "uM"}, n_boot=300, seed=SEED)

    # ---- 3. the incomplete block: comboplan refuses to invent the missing cell ------------------
    complete = screen[screen["block"] != MISSING[0]]
    holed = screen[screen["block"] == MISSING[0]]
    try:
        cp.synergy(holed, methods=("bliss", "hsa", "loewe", "zip"), **kw)
    except cp.DataError as exc:
        print(f"\nblock {MISSING[0]} with observed monotherapy -> DataError:\n  {exc}")

    # ---- 4. score the complete blocks with all four references ----------------------------------
    res = cp.synergy(complete, methods=("bliss", "hsa", "loewe", "zip"), **kw)
    # block 4: Bliss/HSA against the fitted single-agent curves (Hill fits use every
    # monotherapy well, so the missing cell is not needed); ZIP needs the full matrix.
    res4 = cp.synergy(holed, methods=("bliss", "hsa", "loewe"), monotherapy="fitted", **kw)

    blocks = pd.concat([res.blocks, res4.blocks], ignore_index=True)
    cells = pd.concat([res.cells, res4.cells], ignore_index=True)
    blocks.to_csv(out / "screen_blocks.csv", index=False)
    cells.to_csv(out / "screen_cells.csv", index=False)
    pd.concat([res.monotherapy, res4.monotherapy], ignore_index=True).to_csv(out / "screen_monotherapy.csv",
                                                                            index=False)
    res.to_xarray().to_netcdf(out / "screen_scores.nc", engine="h5netcdf")

    # ---- 5. ranked summary ----------------------------------------------------------------------
    print(f"\nSign convention: {res.sign_convention}")
    print("Blocks 1-3: observed monotherapy; Bliss/HSA by the delta method, Loewe/ZIP by a replicate bootstrap; "
          "q = BH across the blocks of one call.\nBlock 4: fitted monotherapy, bootstrap (scored in its own call).")
    bl = blocks[blocks["method"] == "bliss"].sort_values("mean", ascending=False)
    cols = ["block", "drug_col", "mean", "ci_low", "ci_high", "p_value", "q_value", "most_synergistic_area"]
    print("\nBliss excess per block (mean over the 49 combination cells, % inhibition points), ranked:")
    print(bl[cols].round(4).to_string(index=False))
    wide = blocks.pivot_table(index="block", columns="method", values="mean").round(2)
    print("\nMean excess per block and reference (points; positive = synergy):")
    print(wide.to_string())

    # ---- 6. Chou-Talalay and MuSyC on the synergistic block -------------------------------------
    b1 = screen[screen["block"] == 1].rename(columns={"conc_row": "paclitaxel", "conc_col": "cmpd-101"})
    pair = ["paclitaxel", "cmpd-101"]
    ct = cp.chou_talalay(b1, pair, "response", replicate="replicate", fa_levels=(0.5, 0.75, 0.9),
                         dose_units={"paclitaxel": "uM", "cmpd-101": "uM"})
    ct.params.to_csv(out / "block1_chou_talalay_params.csv", index=False)
    ct.levels.to_csv(out / "block1_chou_talalay_ci.csv", index=False)
    lv = ct.levels[ct.levels["fa"] == 0.5]
    print(f"\nChou-Talalay, block 1 ({ct.sign_convention}): CI at fa = 0.5 per constant-ratio ray")
    print(lv[["ray", "CI", "CI_ci_low", "CI_ci_high"]].round(3).to_string(index=False))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cp.ConvergenceWarning)   # reported in ms.fit['converged']
        ms = cp.fit_musyc(b1, pair, "response", replicate="replicate", response_kind="inhibition",
                          scale="percent", n_boot=100, seed=SEED, dose_units={"paclitaxel": "uM", "cmpd-101": "uM"})
    ms.params.to_csv(out / "block1_musyc_params.csv", index=False)
    est = ms.params.set_index("param")
    print(f"\nMuSyC, block 1 ({ms.sign_convention}); true alpha12 = alpha21 = 8:")
    print(est.loc[["alpha12", "alpha21", "beta"], ["estimate", "ci_low", "ci_high"]].round(3).to_string())

    # ---- 7. plots --------------------------------------------------------------------------------
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, b in zip(axes, range(3)):
        res.plot("bliss", kind="heatmap", block=b, ax=ax)
        ax.set_title(f"Bliss excess, block {b + 1} ({BLOCKS[b + 1][2]})")
        ax.set_xlabel(f"{BLOCKS[b + 1][0]} (uM)")
        ax.set_ylabel("paclitaxel (uM)")
    fig.tight_layout()
    fig.savefig(out / "screen_bliss_heatmaps.png", dpi=100)
    plt.close(fig)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    res.plot("loewe", kind="isobologram", block=0, ax=axes[0])
    axes[0].set_title("Loewe isobologram, block 1")
    axes[0].set_xlabel("paclitaxel / paclitaxel alone for the same effect")
    axes[0].set_ylabel("cmpd-101 / cmpd-101 alone for the same effect")
    ct.plot("fa_ci", ax=axes[1])
    axes[1].set_title("Chou-Talalay CI vs fa, block 1")
    ms.plot("heatmap", ax=axes[2])
    axes[2].set_title("MuSyC fit, block 1")
    fig.tight_layout()
    fig.savefig(out / "block1_isobologram_ci_musyc.png", dpi=100)
    plt.close(fig)

    # ---- 8. self-check: the block built to be synergistic is found ------------------------------
    top = bl.iloc[0]
    assert int(top["block"]) == 1, f"expected block 1 to rank first, got {top['block']}"
    assert top["ci_low"] > 0 and top["q_value"] < 0.05, "block 1 should be significantly synergistic"
    b3 = blocks[(blocks["block"] == 3) & (blocks["method"] == "bliss")].iloc[0]
    assert b3["mean"] < 0, "block 3 was built to be antagonistic"
    assert est.loc["alpha12", "estimate"] > 1 and est.loc["alpha21", "estimate"] > 1
    print(f"\nself-check passed: block 1 ranks first (Bliss {top['mean']:+.2f} points, q = {top['q_value']:.2g}).")
    print(f"outputs in {out}")
    return out


if __name__ == "__main__":
    main()
