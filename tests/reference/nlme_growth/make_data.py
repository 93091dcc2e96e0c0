"""Simulate the two growth studies of the frozen Gompertz / logistic NLME references.

Writes ``gompertz.csv`` and ``logistic.csv`` next to this script (17 significant digits for the
log volume, so that R and Python read the same numbers).  Needs numpy only; seeded.

Design (both studies): 4 arms (control, A, B, AB) x 8 animals, volume measured every 2 days
from day 0 to day 28 (15 times, 480 rows); additive normal error on log volume (SD 0.1);
log-normal random effects on the initial volume and on the growth rate (independent).

Gompertz:  log V = log v0_i + (alpha_i / beta) (1 - exp(-beta t))
Logistic:  log V = log K - log(1 + (K / v0_i - 1) exp(-r_i t))
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
ARMS = ("control", "A", "B", "AB")
N_PER_ARM = 8
DAYS = np.arange(0.0, 29.0, 2.0)
TRUTH = {
    "gompertz": {"seed": 20261207, "v0": 100.0, "rate": {"control": 0.20, "A": 0.15, "B": 0.13, "AB": 0.08},
                 "beta": 0.07, "omega_v0": 0.20, "omega_rate": 0.15, "sigma": 0.10},
    "logistic": {"seed": 20261208, "v0": 100.0, "rate": {"control": 0.25, "A": 0.19, "B": 0.16, "AB": 0.10},
                 "vmax": 3000.0, "omega_v0": 0.20, "omega_rate": 0.15, "sigma": 0.10},
}


def simulate(model: str) -> list[str]:
    tr = TRUTH[model]
    rng = np.random.default_rng(tr["seed"])
    n = len(ARMS) * N_PER_ARM
    arm = np.repeat(ARMS, N_PER_ARM)
    # draw order: all eta_v0, then all eta_rate, then the residuals in row order (animal-major)
    eta_v0 = rng.normal(0.0, tr["omega_v0"], n)
    eta_rate = rng.normal(0.0, tr["omega_rate"], n)
    eps = rng.normal(0.0, tr["sigma"], (n, DAYS.size))
    lv0 = np.log(tr["v0"]) + eta_v0
    rate = np.array([tr["rate"][a] for a in arm]) * np.exp(eta_rate)
    t = DAYS[None, :]
    if model == "gompertz":
        logv = lv0[:, None] + rate[:, None] / tr["beta"] * (1.0 - np.exp(-tr["beta"] * t))
    else:
        k = tr["vmax"]
        logv = np.log(k) - np.log1p((k / np.exp(lv0[:, None]) - 1.0) * np.exp(-rate[:, None] * t))
    logv = logv + eps
    lines = ["animal,arm,day,logV"]
    for i in range(n):
        for j, d in enumerate(DAYS):
            lines.append(f"m{i + 1:02d},{arm[i]},{d:g},{logv[i, j]:.17g}")
    return lines


if __name__ == "__main__":
    for m in TRUTH:
        (HERE / f"{m}.csv").write_text("\n".join(simulate(m)) + "\n")
