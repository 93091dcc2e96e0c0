"""Write the simulated study used by fit_varfunc.R (run once; output committed as study.csv).

    .venv/bin/python tests/reference/nlme_varfunc/make_data.py

Heteroscedastic exponential growth: residual SD of log volume differs by arm, random growth
rate per animal, noisy baseline, two animals leave early.  Numbers are written with 17
significant digits so R and Python read identical doubles.
"""
from pathlib import Path

import numpy as np
import pandas as pd

DAYS = np.array([0.0, 3.0, 7.0, 10.0, 14.0, 17.0, 21.0])
ARMS = {"control": (0.10, 0.10), "A": (0.07, 0.15), "B": (0.06, 0.20), "AB": (0.03, 0.30)}  # rate, sigma


def main(seed=20261207, n=8, tau=0.02):
    rng = np.random.default_rng(seed)
    rows = []
    for arm, (r, sig) in ARMS.items():
        for i in range(n):
            b = r + rng.normal(0, tau)
            logv0 = np.log(150.0) + rng.normal(0, 0.25)
            for d in DAYS:
                if (arm, i) in {("A", 2), ("AB", 5)} and d > 10:
                    continue
                rows.append((f"{arm}-{i + 1}", arm, d, logv0 + b * d + rng.normal(0, sig)))
    df = pd.DataFrame(rows, columns=["mouse", "arm", "day", "logV"])
    df["vol"] = np.exp(df["logV"])
    out = Path(__file__).with_name("study.csv")
    df.to_csv(out, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
