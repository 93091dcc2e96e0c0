"""Calibration of synergy tests under the null: a Bliss-independent surface with triplicates.

With the replicate bootstrap, block-mean tests must reject a true null at about the nominal
rate.  (Plain resampling of 3 replicates understates the variance of a cell mean by 1/3 and
rejected ~12 % of the time at a nominal 5 %; comboplan inflates deviations by sqrt(n/(n-1)).)
300 seeded datasets; binomial SE of a 5 % rate is 1.3 points.
"""
import warnings

import numpy as np
import pandas as pd

import comboplan as cp

A = [0, 0.1, 0.3, 1, 3]
B = [0, 1, 3, 10, 30]


def bliss_null(seed, sd=3.0):
    rng = np.random.default_rng(seed)
    a, b, r = (x.ravel() for x in np.meshgrid(A, B, range(3), indexing="ij"))
    fa, fb = a / (a + 0.5), b / (b + 8.0)
    inh = 100 * (1 - (1 - fa) * (1 - fb)) + rng.normal(0, sd, a.size)
    return pd.DataFrame({"ptx_uM": a, "sec_pct": b, "rep": r, "inh": inh})


def test_block_and_cell_tests_hold_their_level_under_bliss_independence():
    block_p, cell_p, boot_block_p = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(300):
            df = bliss_null(s)
            # default inference ("auto" = delta/Welch for Bliss/HSA with observed monotherapy)
            res = cp.synergy(df, doses=["ptx_uM", "sec_pct"], response="inh", replicate="rep",
                             methods=("bliss",), n_boot=0)
            block_p.append(float(res.blocks.p_value.iloc[0]))
            cell_p.append(res.cells.p_value.to_numpy())
            if s < 200:  # the replicate bootstrap (deviations inflated by sqrt(n/(n-1)))
                b = cp.synergy(df, doses=["ptx_uM", "sec_pct"], response="inh", replicate="rep",
                               methods=("bliss",), inference="bootstrap", n_boot=300, seed=s)
                boot_block_p.append(float(b.blocks.p_value.iloc[0]))
    block = np.mean(np.array(block_p) < 0.05)
    cells = np.mean(np.concatenate(cell_p) < 0.05)
    boot_block = np.mean(np.array(boot_block_p) < 0.05)
    assert 0.02 <= block <= 0.08, block          # was 0.12 when shared monotherapy cells were ignored
    assert 0.03 <= cells <= 0.07, cells
    assert 0.02 <= boot_block <= 0.10, boot_block  # plain resampling of triplicates gave 0.12
    assert "shared monotherapy" in res.blocks.inference.iloc[0]
