"""Bliss excess of the papers' sparse combination data, with honest uncertainty.

Eiro et al. (2024): MDA-MB-231 proliferation inhibition by CM-hUCESC_chemo 37.4 %,
paclitaxel 43.2 %, combination 86.4 % (means reported in the text).  The paper gives no
numeric SDs for these bars, so the uncertainty here is *conditional on an assumed SD*
(n = 3 wells per arm, SD 5 or 10 percentage points): pseudo-replicates are built with
exactly the reported mean and the assumed SD, and the Bliss excess is tested with the
delta method (Welch t), which depends only on means, SDs and n.  Replace the assumed SD
with the real one (or the raw well data) to get the real interval.
"""
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import comboplan as cp

out = Path(os.environ.get("COMBOPLAN_EXAMPLE_OUT", tempfile.mkdtemp()))
out.mkdir(parents=True, exist_ok=True)
z = np.array([-1.0, 0.0, 1.0])          # sample mean 0, sample SD 1 (n = 3)
reported = {(0, 0): 0.0, (1, 0): 37.4, (0, 1): 43.2, (1, 1): 86.4}   # (secretome, paclitaxel uM)
rows = []
for sd in (5.0, 10.0):
    for (sec, pac), m in reported.items():
        for r, zz in enumerate(z):
            rows.append(dict(assumed_sd=sd, secretome=sec, paclitaxel_uM=pac, inhibition=m + sd * zz, rep=r))
df = pd.DataFrame(rows)
res = cp.synergy(df, doses=["secretome", "paclitaxel_uM"], response="inhibition", by="assumed_sd",
                 methods=("bliss", "hsa"), replicate="rep", inference="delta")
tab = res.cells[["assumed_sd", "method", "observed", "reference", "score", "ci_low", "ci_high", "p_value"]]
print("Bliss expected: 37.4 + 43.2 - 37.4*43.2/100 =", round(37.4 + 43.2 - 37.4 * 43.2 / 100, 2), "%")
print(tab.to_string(index=False))
tab.to_csv(out / "paper_sparse_synergy.csv", index=False)
print(res.sign_convention)
