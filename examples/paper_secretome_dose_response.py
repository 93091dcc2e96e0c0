"""Dose-response and IC50 of the WJ-MSC secretome on SKBR3 cells (Karimi et al. 2025).

What is printed in the paper (bundled as ``karimi2025``, see PROVENANCE.md K1, K2):
SKBR3 MTT viability 100 / 75.1 / 58 % at 0 / 25 / 50 ug/mL after 24 h and 72.2 % at 50 ug/mL
after 48 h (means only; SDs and the other doses are in Figure 1), from six assays of three
wells each (Figure 1 legend).  The IC50 is mentioned but not printed.

What is SYNTHETIC here (``karimi2025_mtt_synthetic``, PROVENANCE.md S4): the replicate wells.
They are simulated (seeded) so that every printed mean is reproduced exactly; the spread (SD
3 % between assays, 4 % within), the 10 ug/mL level (89.4 %, from a Hill curve through the
printed 24-h means) and the 48-h values at 10/25 ug/mL (taken equal to 24 h, as the text
reports no significant difference) are assumptions.  The IC50 intervals below therefore show
*how* comboplan quantifies uncertainty from replicate wells; they are not the paper's result.

Analyses: (1) printed means vs synthetic cell means; (2) Hill fit (viability 100 % untreated,
0 % at saturating secretome) per incubation time on all wells, IC50 with profile-likelihood
and delta-method 95 % CIs, flagged when above the tested range (> 50 ug/mL); (3) the same per
independent assay at 24 h (the wells of one assay are not independent replicates), summarised
as a geometric mean IC20/IC50 with a t interval over the six assays.

Run:  MPLBACKEND=Agg python examples/paper_secretome_dose_response.py
(outputs in ./comboplan_output/paper_secretome_dose_response/; ``--out DIR`` to change)
"""
from __future__ import annotations

import warnings

import matplotlib
from _output import output_folder  # examples/_output.py, beside this script

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan import datasets  # noqa: E402
from comboplan.exceptions import ExtrapolationWarning  # noqa: E402


out = output_folder(__file__, __doc__)

printed = datasets.load_karimi2025()
printed = printed[printed.cell_line == "SKBR3"]
wells = datasets.load_karimi2025_mtt_synthetic()
assert wells.attrs["synthetic"]  # simulated wells, never the paper's measurements

# (1) printed means next to the synthetic cell means
cells = (wells.groupby(["time_h", "dose_ug_per_mL"])
         .agg(mean_pct=("viability_pct", "mean"), sd_pct=("viability_pct", "std"),
              n_wells=("viability_pct", "size"), basis=("basis", "first"))
         .reset_index())
cells = cells.merge(printed[["time_h", "dose_ug_per_mL", "viability_pct"]]
                    .rename(columns={"viability_pct": "printed_pct"}), how="left")
print("SKBR3 MTT viability (%): printed means vs synthetic wells (6 assays x 3 wells)")
print(cells.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
cells.to_csv(out / "karimi_cells.csv", index=False)

# (2) Hill fit per time on all wells (e0 = 100 %, einf = 0 % fixed)
fixed = {"e0": 100.0, "einf": 0.0}
res = cp.fit_dose_response(wells, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                           model="hill4", fixed=fixed, dose_unit="ug/mL", response_unit="%")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ExtrapolationWarning)  # flagged in the 'status' column
    ic = pd.concat([res.ecx([20, 50], ci="profile", extrapolate=True),
                    res.ecx([50], ci="delta", extrapolate=True)], ignore_index=True)
print("\nHill fit on all wells (SYNTHETIC data): IC20 / IC50 with 95 % CIs")
print(ic[["time_h", "x", "estimate", "ci_low", "ci_high", "unit", "ci_method", "status"]]
      .to_string(index=False, float_format=lambda v: f"{v:.3g}"))
ic.to_csv(out / "karimi_icx.csv", index=False)
res.params.to_csv(out / "karimi_hill_params.csv", index=False)

# the means-only fit the printed numbers allow: 2 means, 2 parameters, no residual df
means_only = printed[printed.time_h == 24]
r0 = cp.fit_dose_response(means_only, dose="dose_ug_per_mL", response="viability_pct", model="hill4",
                          fixed=fixed, dose_unit="ug/mL", response_unit="%")
ec50_means = r0.params.set_index("param").loc["ec50", "estimate"]
print(f"\nPrinted 24-h means only: IC50 = {ec50_means:.3g} ug/mL, a curve through 100, 75.1 and 58 % "
      f"({int(r0.fit.dof[0])} residual df: the means say nothing about the spread, no defensible CI).")

# (3) one curve per independent assay, then a t interval over the assays (log scale)
from comboplan.exceptions import ConvergenceWarning  # noqa: E402

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    per = cp.fit_dose_response(wells[wells.time_h == 24], dose="dose_ug_per_mL", response="viability_pct",
                               by=["time_h", "experiment"], model="hill4", fixed=fixed, dose_unit="ug/mL")
failed = per.curves[~per.curves.converged]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ExtrapolationWarning)
    eper = per.ecx([20, 50], ci="delta", extrapolate=True)
rows = []
for (t, x), g in eper.dropna(subset=["estimate"]).groupby(["time_h", "x"]):
    lg = np.log(g["estimate"].to_numpy())
    half = stats.t.ppf(0.975, lg.size - 1) * lg.std(ddof=1) / np.sqrt(lg.size)
    rows.append({"time_h": t, "x": x, "n_assays": lg.size, "geo_mean": np.exp(lg.mean()),
                 "ci_low": np.exp(lg.mean() - half), "ci_high": np.exp(lg.mean() + half),
                 "n_above_range": int(g["extrapolated"].sum())})
two_stage = pd.DataFrame(rows)
print("\n24 h, ICx per assay, geometric mean over the assays with a t 95 % CI (ug/mL; SYNTHETIC data):")
print(two_stage.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
if len(failed):
    print("  not converged (left out): " + ", ".join(f"assay {r.experiment}" for r in failed.itertuples()))
print("  The per-assay IC50 interval is wider than the all-wells one: the wells of one assay share its "
      "plate effect, so the assay (n = 6), not the well (n = 18), is the independent replicate.\n"
      "  At 48 h the curve is flat (72.2 % at the top dose): a single assay cannot locate its IC50, "
      "and even the pooled IC50 is an extrapolation far beyond 50 ug/mL.")
two_stage.to_csv(out / "karimi_icx_per_assay.csv", index=False)

fig, ax = plt.subplots(figsize=(6, 4.2))
res.plot(ax=ax)
ax.plot(printed.dose_ug_per_mL, printed.viability_pct, "k*", ms=12, label="printed means")
ax.set_title("SKBR3 + WJ-MSC secretome: SYNTHETIC wells, printed means (*)")
ax.legend(fontsize=8)
fig.savefig(out / "karimi_dose_response.png", dpi=110, bbox_inches="tight")
plt.close(fig)
print(f"\noutputs in {out}")
