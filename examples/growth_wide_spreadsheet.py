"""A caliper study kept the way labs keep it: a wide spreadsheet, one row per mouse.

SIMULATED data (seeded, ``numpy.random.default_rng(6)``); nothing here is measured.
Subcutaneous xenografts, 4 arms x 8 mice (Vehicle, CM = stem-cell secretome, PTX =
paclitaxel, CM+PTX), randomised at about 100-150 mm^3 on day 0, caliper volumes
(mm^3, V = L x W^2 / 2) on days 0, 3, 7, 10, 14, 17, 21 and 24.  Truth: exponential
growth per animal with arm-mean rates Vehicle 0.100, CM 0.075, PTX 0.060 and CM+PTX
-0.020 per day (between-animal SD 0.012/day; 0.035/day in CM+PTX, so several tumours
regress), multiplicative measurement error (SD 0.10 on the log scale).  The Bliss
expectation for the combination's rate is 0.075 + 0.060 - 0.100 = 0.035/day, so the
combination is synergistic by construction (true in-vivo Bliss score 0.035 - (-0.020) =
+0.055/day, positive = synergy).

The sheet has what real sheets have:

* ``0`` where a tumour was not palpable (below the caliper's detection limit, taken
  as 30 mm^3: it is left-censored, not a zero volume);
* ``NA`` for a measurement that was missed (one mouse on day 10);
* blank cells after an animal left the study, with the reason in a ``Removed`` column:
  tumours over 1500 mm^3 (humane end point; mostly Vehicle) and one ulcerated tumour
  (PTX, after day 14).

The script writes the sheet (``caliper_wide.csv``), reads it with ``cp.read_growth_wide``,
validates it (``cp.validate_growth``: LLOQ, dropout reasons), fits per-animal growth
models (``cp.fit_growth``: exponential, exponential-linear, logistic, Gompertz, AICc) and
the random-slope mixed model (``cp.fit_growth_mixed``), computes endpoints
(``cp.growth_endpoints``: TGI, T/C, mRECIST), compares CM+PTX with PTX
(``cp.compare_arms``) and scores in-vivo synergy over time (``cp.invivo_synergy``).
Tables (CSV) and figures (PNG) go to ./comboplan_output/growth_wide_spreadsheet/
(``--out DIR`` to change).

Run:  MPLBACKEND=Agg python examples/growth_wide_spreadsheet.py
"""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
from _output import output_folder  # examples/_output.py, beside this script

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan.plot.growth import plot_spaghetti  # noqa: E402

SEED = 6
DAYS = [0, 3, 7, 10, 14, 17, 21, 24]
ARMS = {"Vehicle": (0.100, 0.012), "CM": (0.075, 0.012), "PTX": (0.060, 0.012), "CM+PTX": (-0.020, 0.035)}
N_PER_ARM = 8
LLOQ_MM3 = 30.0         # smallest volume the caliper resolves (mm^3)
SIZE_LIMIT_MM3 = 1500.0  # humane end point
TRUE_BLISS = (ARMS["CM"][0] + ARMS["PTX"][0] - ARMS["Vehicle"][0]) - ARMS["CM+PTX"][0]   # 1/day


def write_sheet(path: Path, seed: int = SEED) -> None:
    """Write the wide CSV exactly as a lab would keep it (text cells, blanks, NA, 0)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(DAYS, float)
    lines = ["Mouse,Group,Cage," + ",".join(f"Day {d}" for d in DAYS) + ",Removed"]
    k = 0
    for arm, (rate, sd) in ARMS.items():
        v0 = rng.uniform(100.0, 150.0, N_PER_ARM)
        r = rate + rng.normal(0.0, sd, N_PER_ARM)
        vol = v0[:, None] * np.exp(r[:, None] * t[None, :] + rng.normal(0.0, 0.10, (N_PER_ARM, t.size)))
        for i in range(N_PER_ARM):
            k += 1
            cells, removed = [], ""
            for j, d in enumerate(DAYS):
                if removed:
                    cells.append("")                       # not measured after removal
                elif arm == "CM" and i == 2 and d == 10:
                    cells.append("NA")                     # missed measurement
                elif vol[i, j] < LLOQ_MM3:
                    cells.append("0")                      # not palpable
                else:
                    cells.append(f"{vol[i, j]:.0f}")
                    if vol[i, j] > SIZE_LIMIT_MM3:
                        removed = "tumour > 1500 mm3"
                    elif arm == "PTX" and i == 5 and d == 14:
                        removed = "ulceration"
            lines.append(f"M{k:02d},{arm},C{(k - 1) // 4 + 1}," + ",".join(cells) + f",{removed}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> Path:
    out = output_folder(__file__, __doc__)
    sheet = out / "caliper_wide.csv"
    write_sheet(sheet)
    print("first rows of the sheet:\n" + "\n".join(sheet.read_text().splitlines()[:4]) + "\n...")

    # ---- 1. read and validate -------------------------------------------------------------------
    long = cp.read_growth_wide(sheet, subject="Mouse", arm="Group", size_name="volume_mm3")
    print(f"\n{len(long)} measurements in tidy form; {long.attrs['dropped_cells']} empty/NA cells dropped")
    long["Removed"] = long["Removed"].fillna("")
    long.to_csv(out / "caliper_long.csv", index=False)
    gd = cp.validate_growth(long, "Mouse", "Group", "day", "volume_mm3", kind="volume", size_unit="mm^3",
                            lloq=LLOQ_MM3, dropout="Removed", arm_order=list(ARMS))
    left = {str(s): f"{r} (day {t:g})" for s, r, t in zip(gd.subjects, gd.dropout_reason, gd.dropout_time) if r}
    print(f"{int(gd.censored.sum())} volumes below the LLOQ ({LLOQ_MM3:g} mm^3, left-censored); "
          f"{len(left)} animals left early: {left}")

    # ---- 2. per-animal growth models, and the mixed model ----------------------------------------
    with warnings.catch_warnings():   # failed per-animal fits are NaN rows (see fit.fits["message"])
        warnings.simplefilter("ignore", cp.exceptions.ConvergenceWarning)
        fit = cp.fit_growth(gd)
    fit.params.to_csv(out / "per_animal_params.csv", index=False)
    fit.fits.to_csv(out / "per_animal_fits.csv", index=False)
    print("\nPer-animal model comparison (AICc; n_best = animals for which the model is best):")
    print(fit.comparison.to_string(index=False))

    mixed = cp.fit_growth_mixed(gd)
    mixed.rates.to_csv(out / "mixed_model_rates.csv", index=False)
    print(f"\nMixed model (random slope per animal), growth rates in {mixed.units['rate']}; "
          f"dropout: {mixed.dropout}; undetectable: {mixed.below_lloq}")
    print(mixed.rates[["arm", "n_animals", "rate", "ci_low", "ci_high", "doubling_time"]].round(4)
          .to_string(index=False))

    # ---- 3. endpoints at day 14 (every animal still on study) ------------------------------------
    ep = cp.growth_endpoints(gd, control="Vehicle", at=14.0, n_boot=500, seed=SEED)
    ep.arms.to_csv(out / "endpoints_arms.csv", index=False)
    ep.animals.to_csv(out / "endpoints_animals.csv", index=False)
    print(f"\nEndpoints at day {ep.at:g} (T/C = treated / control mean relative volume; TGI = 1 - T/C):")
    print(ep.arms[["arm", "n", "mean_rtv", "tc_ratio", "tc_ci_low", "tc_ci_high", "tgi_tc", "tgi_delta"]]
          .round(3).to_string(index=False))
    print("mRECIST (Gao et al. 2015), animals per category:")
    print(ep.mrecist.pivot(index="arm", columns="category", values="count").fillna(0).astype(int).to_string())

    # ---- 4. CM+PTX vs PTX alone ------------------------------------------------------------------
    cmp_ = cp.compare_arms(gd, reference="PTX", candidate="CM+PTX", at=14.0)
    cmp_.table.to_csv(out / "compare_cmptx_vs_ptx.csv", index=False)
    r = cmp_.table.iloc[0]
    print(f"\nCM+PTX vs PTX at day 14: volume ratio {r['ratio']:.2f} (95 % CI {r['ratio_ci_low']:.2f}-"
          f"{r['ratio_ci_high']:.2f}), p = {r['p_value']:.2g}  [{r['sign']}]")

    # ---- 5. in-vivo synergy over time ------------------------------------------------------------
    syn = cp.invivo_synergy(gd, control="Vehicle", n_boot=300, seed=SEED)
    syn.over_time.to_csv(out / "invivo_synergy_over_time.csv", index=False)
    syn.bootstrap.to_csv(out / "invivo_synergy_bootstrap.csv", index=False)
    print(f"\nIn-vivo synergy on growth rates; sign: {syn.sign}")
    bl = syn.over_time[syn.over_time["reference"] == "bliss"]
    print(bl[["day", "score", "ci_low", "ci_high", "p_adjusted"]].round(4).to_string(index=False))
    final = syn.scores[syn.scores["reference"] == "bliss"].iloc[0]
    print(f"truth: +{TRUE_BLISS:.3f} /day; full-study estimate {final['score']:+.4f} "
          f"({final['ci_low']:+.4f} to {final['ci_high']:+.4f})")

    # ---- 6. figures ------------------------------------------------------------------------------
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    plot_spaghetti(gd, ax=axes[0, 0])
    axes[0, 0].set_title("caliper volumes (log scale)")
    mixed.plot(ax=axes[0, 1])
    axes[0, 1].set_title("mixed model: arm growth rates")
    ep.plot(ax=axes[1, 0])
    axes[1, 0].set_title("best response (waterfall)")
    syn.plot(ax=axes[1, 1])
    axes[1, 1].set_title("Bliss synergy over time (positive = synergy)")
    fig.tight_layout()
    fig.savefig(out / "growth_study.png", dpi=100)
    plt.close(fig)
    ax = fit.plot(model="gompertz")
    ax.figure.savefig(out / "per_animal_gompertz.png", dpi=100, bbox_inches="tight")
    plt.close(ax.figure)

    # ---- 7. self-check ---------------------------------------------------------------------------
    assert long.attrs["dropped_cells"] > 0 and gd.censored.any() and len(left) >= 2
    rates = mixed.rates.set_index("arm")["rate"]
    assert rates["CM+PTX"] < rates["PTX"] < rates["Vehicle"]
    assert final["score"] > 0 and final["ci_low"] <= TRUE_BLISS <= final["ci_high"], "synergy should be found"
    print(f"\noutputs in {out}")
    return out


if __name__ == "__main__":
    main()
