"""Bliss excess of the papers' sparse combination data, with honest uncertainty.

What is printed (Eiro et al. 2024, bundled as ``eiro2024_invitro``, PROVENANCE.md E1):
MDA-MB-231 proliferation inhibition (WST-1, 48 h) by CM-hUCESC_chemo 37.4 %, paclitaxel 1 uM
43.2 % and their combination 86.4 % (means; no SDs, no n).

Part 1 uses only those printed means.  The paper gives no SDs, so the uncertainty is
*conditional on an assumed SD* (n = 3 wells per arm, SD 5 or 10 percentage points):
pseudo-replicates are built with exactly the printed mean and the assumed SD, and the Bliss
excess is tested with the delta method (Welch t), which depends only on means, SDs and n.

Part 2 uses the SYNTHETIC replicate-level table ``eiro2024_proliferation_synthetic``
(PROVENANCE.md S1): 6 simulated wells per cell of paclitaxel 0/1/3/5 uM x CM-hUCESC_chemo
absent/present.  Its 1-uM cells reproduce the printed means exactly; its spread and the 3 and
5 uM cells (Hill curve for paclitaxel, Bliss x a constant survival ratio for the combination)
are assumptions, so the 3/5-uM scores only restate those assumptions.  It shows the analysis
real wells would get: Bliss and HSA per cell and for the whole block, with intervals.

Sign convention: response = inhibition (%), positive excess = synergy.

Outputs go to ./comboplan_output/paper_sparse_synergy/ (``--out DIR`` to change).
"""

import numpy as np
import pandas as pd

import comboplan as cp
from comboplan import datasets
from _output import output_folder  # examples/_output.py, beside this script


out = output_folder(__file__, __doc__)

# ---- Part 1: printed means, assumed SDs
inv = datasets.load_eiro2024_invitro()
prol = inv[inv.assay.str.startswith("proliferation")].set_index("treatment")["inhibition_pct"]
sec, pac, combo = prol["CM-hUCESC_chemo"], prol["paclitaxel"], prol["paclitaxel + CM-hUCESC_chemo"]
reported = {(0, 0): 0.0, (1, 0): sec, (0, 1): pac, (1, 1): combo}   # (secretome, paclitaxel uM)
z = np.array([-1.0, 0.0, 1.0])          # sample mean 0, sample SD 1 (n = 3)
rows = []
for sd in (5.0, 10.0):
    for (s_, p_), m in reported.items():
        for r, zz in enumerate(z):
            rows.append(dict(assumed_sd=sd, secretome=s_, paclitaxel_uM=p_, inhibition=m + sd * zz, rep=r))
df = pd.DataFrame(rows)
res = cp.synergy(df, doses=["secretome", "paclitaxel_uM"], response="inhibition", by="assumed_sd",
                 methods=("bliss", "hsa"), replicate="rep", inference="delta")
tab = res.cells[["assumed_sd", "method", "observed", "reference", "score", "ci_low", "ci_high", "p_value"]]
print(f"Printed means: CM-hUCESC_chemo {sec:g} %, paclitaxel 1 uM {pac:g} %, combination {combo:g} %")
print(f"Bliss expected: {sec:g} + {pac:g} - {sec:g}*{pac:g}/100 = {sec + pac - sec * pac / 100:.2f} %")
print("Part 1 (printed means, ASSUMED SDs):")
print(tab.to_string(index=False))
tab.to_csv(out / "paper_sparse_synergy.csv", index=False)
print(res.sign_convention)

# ---- Part 2: SYNTHETIC wells (6 per cell), full 4 x 2 design
wells = datasets.load_eiro2024_proliferation_synthetic()
assert wells.attrs["synthetic"]
res2 = cp.synergy(wells, doses=["cm_fraction", "paclitaxel_uM"], response="inhibition_pct",
                  methods=("bliss", "hsa"), replicate="well", inference="delta",
                  dose_units={"cm_fraction": "fraction of medium", "paclitaxel_uM": "uM"})
cells = res2.cells[["method", "paclitaxel_uM", "observed", "reference", "score", "ci_low", "ci_high", "p_value"]]
basis = wells.groupby("paclitaxel_uM")["basis"].last()
cells = cells.assign(basis=cells["paclitaxel_uM"].map(lambda d: "printed" if basis[d].startswith("printed")
                                                      else "assumed"))
print("\nPart 2 (SYNTHETIC wells; 3 and 5 uM cells are model assumptions):")
print(cells.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
cells.to_csv(out / "paper_sparse_synergy_synthetic.csv", index=False)
block = res2.blocks
print("\nWhole block (mean excess over the 3 combination cells; SYNTHETIC wells):")
print(block[["method", "n_cells", "mean", "ci_low", "ci_high", "p_value"]]
      .to_string(index=False, float_format=lambda v: f"{v:.3g}"))
block.to_csv(out / "paper_sparse_synergy_block.csv", index=False)
