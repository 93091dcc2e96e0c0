"""A xenograft study shaped like Eiro et al. (2024)'s low-dose experiment, analysed end to end.

Design as printed (bundled as ``eiro2024_xenograft_design`` / ``eiro2024_text_values``,
PROVENANCE.md E5, E24, E25): NMRI nude mice with MDA-MB-231-luc tumours, control (n = 4),
CM-hUCESC_chemo 200 uL i.p. 3 times/week (n = 7), paclitaxel 5 mg/kg i.p. once/week (n = 7) and
the combination (n = 7); bioluminescence on days 0, 7, 14, 21 and 30; growth analysable only to
day 21 because many tumours were necrotic at day 28/30.  Printed results (``eiro2024_xenograft``,
E3): day-14 tumour volume 274 % (paclitaxel), 113 % (CM-hUCESC_chemo), 131 % (combination).

The per-mouse data are SYNTHETIC (``eiro2024_xenograft_synthetic``, PROVENANCE.md S3): seeded,
exponential growth of log luminescence, each arm's geometric-mean day-14 signal relative to
day 0 equal to the printed value exactly; the control's 280 % is an assumption (the paper
says only that paclitaxel 5 mg/kg grew "similar" to control); between-mouse SD of the rate
0.015/day, residual SD of log signal 0.25, baseline log-normal around 1e6 photons/s; at day 30
the 3 largest tumours of each 7-mouse arm (2 of the 4 controls) are necrotic (no day-30 image,
dropout reason ``necrosis``).  Nothing here is the paper's raw data.

Run:  MPLBACKEND=Agg python examples/xenograft_study.py   (outputs in ./comboplan_output/xenograft_study/; --out DIR)
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
from comboplan import datasets  # noqa: E402
from comboplan.growth.data import validate_growth  # noqa: E402
from comboplan.plot.growth import plot_spaghetti  # noqa: E402

ARMS = ["control", "CM-hUCESC_chemo", "paclitaxel", "paclitaxel + CM-hUCESC_chemo"]
DESIGN = {"control": [], "CM-hUCESC_chemo": ["CM"], "paclitaxel": ["PTX"],
          "paclitaxel + CM-hUCESC_chemo": ["CM", "PTX"]}


def load() -> pd.DataFrame:
    """The bundled SYNTHETIC study (simulated; see the module docstring)."""
    df = datasets.load_eiro2024_xenograft_synthetic()
    assert df.attrs["synthetic"]
    return df


def check_against_printed(df: pd.DataFrame) -> pd.DataFrame:
    """Arm geometric-mean day-14 relative signal of the synthetic mice next to the printed values."""
    w = df.pivot(index="mouse", columns="day", values="lum_ps")
    arm = df.groupby("mouse")["arm"].first()
    gm = np.exp(np.log(w[14.0] / w[0.0]).groupby(arm).mean()) * 100
    printed = datasets.load_eiro2024_xenograft().set_index("arm")["tumor_volume_pct"]
    return pd.DataFrame({"synthetic_geo_mean_pct": gm, "printed_pct": printed}).reindex(ARMS)


def main() -> Path:
    out = output_folder(__file__, __doc__)
    df = load()
    df.to_csv(out / "xenograft_luminescence.csv", index=False)
    check = check_against_printed(df)
    check.to_csv(out / "day14_vs_printed.csv")
    gd = validate_growth(df, "mouse", "arm", "day", "lum_ps", kind="luminescence", dropout="dropout",
                         arm_order=ARMS)

    with warnings.catch_warnings():   # failed per-animal fits are NaN rows (see fit.fits["message"])
        warnings.simplefilter("ignore", cp.exceptions.ConvergenceWarning)
        fit = cp.fit_growth(gd)
    mixed = cp.fit_growth_mixed(gd)                       # random-slope LMM (exact REML), all observed data (MAR)
    ep = cp.growth_endpoints(gd, control="control", at=14.0, seed=1)
    syn = cp.invivo_synergy(gd, design=DESIGN, n_boot=1000, seed=1)

    fit.fits.to_csv(out / "per_animal_fits.csv", index=False)
    mixed.rates.to_csv(out / "mixed_rates.csv", index=False)
    ep.arms.to_csv(out / "endpoints_day14.csv", index=False)
    syn.over_time.to_csv(out / "synergy_over_time.csv", index=False)
    head = ("SYNTHETIC study (simulated, not the paper's mice). Day-14 luminescence relative to day 0, "
            "arm geometric mean (%):\n" + check.to_string(float_format=lambda v: f"{v:.1f}")
            + "\n(control: not printed, 280 % assumed)")
    text = "\n\n".join([head, fit.summary(), mixed.summary(), ep.summary(), syn.summary()])
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
