"""A xenograft study shaped like Eiro et al. (2024): 4 arms x 7 NMRI nude mice, MDA-MB-231-luc.

Tumour burden is bioluminescence (photons/s) on days 0, 7, 14, 21 (and 28, when many tumours
became necrotic: those animals leave the study after day 21, flagged ``necrosis``).

The data are SIMULATED (seeded); nothing here is the papers' raw data.  Assumptions:

* arm growth rates are set from the relative tumour volumes the paper reports at day 14 for the
  low-dose experiment (paclitaxel 5 mg/kg 274 %, primed secretome CM-hUCESC_chemo 113 %,
  combination 131 %; control "similar to paclitaxel 5 mg/kg", taken as 280 %):
  r = log(RTV_14) / 14 per day, i.e. exponential growth on the log scale;
* between-animal SD of the growth rate 0.015/day, residual SD of log luminescence 0.25
  (bioluminescence is noisy), baseline signal log-normal around 1e6 photons/s (SD 0.4 on log);
* at day 28 the 3 largest tumours of every arm are necrotic (no reading, dropout reason set).

Run:  MPLBACKEND=Agg python examples/xenograft_study.py   (outputs in $COMBOPLAN_EXAMPLE_OUT)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.growth.data import validate_growth  # noqa: E402
from comboplan.plot.growth import plot_spaghetti  # noqa: E402

RTV14 = {"control": 2.80, "CM": 1.13, "PTX": 2.74, "CM+PTX": 1.31}   # fractions at day 14 (paper, Fig. 4G)
DAYS = np.array([0.0, 7.0, 14.0, 21.0, 28.0])


def simulate(seed: int = 2024) -> pd.DataFrame:
    """Seeded luminescence study: 4 arms x 7 mice, necrosis dropout after day 21."""
    rng = np.random.default_rng(seed)
    rows = []
    for arm, rtv in RTV14.items():
        rate = np.log(rtv) / 14.0
        b = rate + rng.normal(0.0, 0.015, 7)
        lum0 = np.exp(rng.normal(np.log(1e6), 0.4, 7))
        lum = lum0[:, None] * np.exp(b[:, None] * DAYS[None, :] + rng.normal(0.0, 0.25, (7, DAYS.size)))
        necrotic = np.argsort(lum[:, 3])[-3:]  # largest at day 21 become necrotic
        for i in range(7):
            mouse = f"{arm}-{i + 1}"
            for j, d in enumerate(DAYS):
                if d == 28.0 and i in necrotic:
                    rows[-1]["dropout"] = "necrosis"  # flag on the last measurement (day 21)
                    continue
                rows.append({"mouse": mouse, "group": arm, "day": d, "lum_ps": float(lum[i, j]), "dropout": ""})
    return pd.DataFrame(rows)


def main() -> Path:
    out = Path(os.environ.get("COMBOPLAN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="comboplan_xenograft_"))
    out.mkdir(parents=True, exist_ok=True)
    df = simulate()
    df.to_csv(out / "xenograft_luminescence.csv", index=False)
    gd = validate_growth(df, "mouse", "group", "day", "lum_ps", kind="luminescence", dropout="dropout",
                         arm_order=list(RTV14))

    fit = cp.fit_growth(gd, errors="ignore")
    mixed = cp.fit_growth_mixed(gd)                       # statsmodels MixedLM, all observed data (MAR)
    ep = cp.growth_endpoints(gd, control="control", at=14.0, seed=1)
    design = {"control": [], "CM": ["CM"], "PTX": ["PTX"], "CM+PTX": ["CM", "PTX"]}
    syn = cp.invivo_synergy(gd, design=design, n_boot=1000, seed=1)

    fit.fits.to_csv(out / "per_animal_fits.csv", index=False)
    mixed.rates.to_csv(out / "mixed_rates.csv", index=False)
    ep.arms.to_csv(out / "endpoints_day14.csv", index=False)
    syn.over_time.to_csv(out / "synergy_over_time.csv", index=False)
    text = "\n\n".join([fit.summary(), mixed.summary(), ep.summary(), syn.summary()])
    (out / "summary.txt").write_text(text + "\n")

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    plot_spaghetti(gd, ax=axes[0, 0], relative=True)
    mixed.plot(ax=axes[0, 1])
    ep.plot(ax=axes[1, 0])
    syn.plot(ax=axes[1, 1])
    fig.tight_layout()
    fig.savefig(out / "xenograft_study.png", dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    where = main()
    print((where / "summary.txt").read_text())
    print(f"outputs in {where}")
