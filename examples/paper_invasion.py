"""Invasion inhibition by CM-hUCESC, paclitaxel and their combination; the TIMP-1/2 depletion (Eiro et al. 2024).

What is printed in the paper (bundled as ``eiro2024_invitro`` and ``eiro2024_tests``; see
PROVENANCE.md E2, E7, E18, E21): in Matrigel chambers (48 h, four fields per filter, duplicate
experiments) CM-hUCESC inhibited MDA-MB-231 invasion by 28 % and paclitaxel 1 uM by 61 %; the
combination showed "the highest inhibition" with no significant difference from paclitaxel
(no number).  Removing TIMP-1 and -2 from the CM by immunoprecipitation abolished its effect:
complete CM vs control p < 0.0001 (adjusted 0.0007), complete CM vs CM lacking TIMP-1/2
p = 0.004 (adjusted 0.008), and the depleted CM was "similar to ... control" (no numbers).

What is SYNTHETIC here (``eiro2024_invasion_synthetic``, PROVENANCE.md S2): the counts per
microscopic field (2 experiments x 4 fields per condition), simulated so that the CM-hUCESC
and paclitaxel means give exactly 28 % and 61 %.  The control level (100 cells/field), the
Poisson counting noise, the combination (66 %) and all Fig. 2D levels (CM and IgG IP 28 %,
CM lacking TIMP-1/2 4 %) are assumptions.  So the *sign* of the Bliss score below is an
assumption, not a finding: the example shows how comboplan attaches uncertainty to it.

Analyses: (1) inhibition per condition with a delta-method 95 % CI for the ratio of means
(control uncertainty included); (2) Bliss and HSA excess of the combination with delta-method
(Welch) intervals, **positive = synergy**, response = inhibition (%); (3) the TIMP-1/2
depletion: difference in inhibition between complete and TIMP-depleted CM, and the fraction of
the CM effect that depends on TIMP-1/2, with a seeded field bootstrap.

Run:  MPLBACKEND=Agg python examples/paper_invasion.py
(outputs in ./comboplan_output/paper_invasion/; ``--out DIR`` to change)
"""
from __future__ import annotations


import matplotlib
from _output import output_folder  # examples/_output.py, beside this script

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

import comboplan as cp  # noqa: E402
from comboplan import datasets  # noqa: E402


out = output_folder(__file__, __doc__)

fields = datasets.load_eiro2024_invasion_synthetic()
assert fields.attrs["synthetic"]  # simulated counts, never the paper's measurements
printed = datasets.load_eiro2024_invitro()
printed = printed[printed.assay.str.startswith("invasion")].set_index("treatment")["inhibition_pct"]
tests = datasets.load_eiro2024_tests()


# (1) inhibition per condition: I = 100 (1 - mean_T / mean_C), delta-method CI on the ratio
def inhibition_table(panel: pd.DataFrame) -> pd.DataFrame:
    c = panel.loc[panel.condition == "control", "cells_per_field"].to_numpy(float)
    rows = []
    for cond, g in panel.groupby("condition", sort=False):
        t = g["cells_per_field"].to_numpy(float)
        r = t.mean() / c.mean()
        se_r = r * np.sqrt(t.var(ddof=1) / (t.size * t.mean() ** 2) + c.var(ddof=1) / (c.size * c.mean() ** 2))
        half = stats.t.ppf(0.975, t.size + c.size - 2) * se_r
        rows.append({"condition": cond, "mean_cells_per_field": t.mean(), "n_fields": t.size,
                     "inhibition_pct": 100 * (1 - r), "ci_low": 100 * (1 - r - half),
                     "ci_high": 100 * (1 - r + half), "basis": g["basis"].iloc[0]})
    return pd.DataFrame(rows)


fig2c = fields[fields.panel == "Fig. 2C"]
tab = inhibition_table(fig2c)
tab["printed_pct"] = tab["condition"].map(printed)
print("Fig. 2C design, inhibition of invasion (%; SYNTHETIC fields, 95 % CI):")
print(tab.drop(columns="basis").to_string(index=False, float_format=lambda v: f"{v:.1f}"))
tab.to_csv(out / "invasion_inhibition.csv", index=False)

# (2) Bliss and HSA on the per-field inhibition values (each field is a replicate)
syn = cp.synergy(fig2c.assign(rep=fig2c["experiment"] * 10 + fig2c["field"]),
                 doses=["cm_fraction", "paclitaxel_uM"], response="inhibition_pct",
                 methods=("bliss", "hsa"), replicate="rep", inference="delta",
                 dose_units={"cm_fraction": "fraction of medium", "paclitaxel_uM": "uM"})
cells = syn.cells[["method", "observed", "reference", "score", "ci_low", "ci_high", "p_value"]]
bliss_printed = printed["CM-hUCESC"] + printed["paclitaxel"] - printed["CM-hUCESC"] * printed["paclitaxel"] / 100
print(f"\nBliss expectation from the printed single agents: 28 + 61 - 28 x 61 / 100 = {bliss_printed:.2f} %;"
      " HSA expectation: 61 %.")
print("Combination excess (points of inhibition; the combination's level is ASSUMED, 66 %):")
print(cells.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
print(syn.sign_convention)
print("With counting noise like that of these synthetic fields, a combination at the Bliss level (71.9 %) would "
      "differ significantly from paclitaxel alone (61 %); the printed 'no significant difference' therefore points "
      "to HSA-level additivity rather than Bliss synergy for invasion, unless the real fields were much noisier.")
cells.to_csv(out / "invasion_synergy.csv", index=False)

# (3) TIMP-1/2 depletion (Fig. 2D design)
fig2d = fields[fields.panel == "Fig. 2D"]
tab_d = inhibition_table(fig2d)
print("\nFig. 2D design, inhibition of invasion (%; SYNTHETIC fields, 95 % CI):")
print(tab_d.drop(columns="basis").to_string(index=False, float_format=lambda v: f"{v:.1f}"))
tab_d.to_csv(out / "invasion_timp_inhibition.csv", index=False)


def counts(cond):
    return fig2d.loc[fig2d.condition == cond, "cells_per_field"].to_numpy(float)


ctrl, cm, ip, igg = (counts(c) for c in ("control", "CM-hUCESC", "CM-hUCESC IP TIMP-1/2", "CM-hUCESC IgG IP"))
rng = np.random.default_rng(2024)
B = 4000


def boot(x):
    return x[rng.integers(0, x.size, (B, x.size))].mean(axis=1)


bc, bcm, bip = boot(ctrl), boot(cm), boot(ip)
i_cm, i_ip = 100 * (1 - bcm / bc), 100 * (1 - bip / bc)
diff, frac = i_cm - i_ip, (i_cm - i_ip) / i_cm
est_diff = 100 * (ip.mean() - cm.mean()) / ctrl.mean()
est_frac = (ip.mean() - cm.mean()) / (ctrl.mean() - cm.mean())
print(f"Loss of inhibition when TIMP-1/2 are removed: {est_diff:.1f} points "
      f"(bootstrap 95 % CI {np.percentile(diff, 2.5):.1f} to {np.percentile(diff, 97.5):.1f});")
print(f"share of the CM effect that depends on TIMP-1/2: {100 * est_frac:.0f} % "
      f"(95 % CI {100 * np.percentile(frac, 2.5):.0f} to {100 * np.percentile(frac, 97.5):.0f} %).")
p_syn = {  # comparison as written in eiro2024_tests -> synthetic Welch p
    "CM-hUCESC vs control": stats.ttest_ind(cm, ctrl, equal_var=False).pvalue,
    "CM-hUCESC vs CM-hUCESC lacking TIMP-1 and -2 (IP TIMP-1/2)": stats.ttest_ind(cm, ip, equal_var=False).pvalue,
    "CM-hUCESC IgG IP vs CM-hUCESC (IP control; not tested in the paper)":
        stats.ttest_ind(igg, cm, equal_var=False).pvalue,
}
pr = tests[tests.experiment == "invasion (Fig. 2D)"].set_index("comparison")
print("\nWelch t tests on the SYNTHETIC fields next to the printed p-values (Fig. 2D):")
for comp, p in p_syn.items():
    printed_p = (f"printed p {pr.loc[comp, 'p_relation']} {pr.loc[comp, 'p_value']:g} "
                 f"(BH-adjusted {pr.loc[comp, 'p_adjusted']:g})" if comp in pr.index else "no p printed")
    print(f"  {comp}: synthetic p = {p:.2g}; {printed_p}")

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, t, title in ((axes[0], tab, "Fig. 2C design"), (axes[1], tab_d, "Fig. 2D design (TIMP-1/2)")):
    y = np.arange(len(t))
    ax.barh(y, t["inhibition_pct"], xerr=[t["inhibition_pct"] - t["ci_low"], t["ci_high"] - t["inhibition_pct"]],
            color="0.7", capsize=3)
    ax.set_yticks(y, t["condition"])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_title(f"{title}: SYNTHETIC fields")
    ax.set_xlabel("inhibition of invasion (%)")
axes[0].axvline(bliss_printed, color="C3", ls="--", label=f"Bliss expectation {bliss_printed:.1f} %")
axes[0].legend(fontsize=8, loc="lower right")
fig.tight_layout()
fig.savefig(out / "invasion.png", dpi=110)
plt.close(fig)
print(f"\noutputs in {out}")
