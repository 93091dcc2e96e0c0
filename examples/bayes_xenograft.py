"""Bayesian analysis of a 2x2 factorial xenograft study (paclitaxel x secretome).

The design follows Eiro et al. (2024, Stem Cell Res Ther, doi:10.1186/s13287-024-03717-0):
4 arms (control, conditioned medium "CM-hUCESC", paclitaxel, both) of 7 mice.  The
paper prints only group summaries, so the per-animal volumes are *simulated* from the
hierarchical model with plausible rates; a few tumours fall below the caliper
detection limit and one animal leaves the study with a necrotic tumour.

Steps: prior-predictive check -> hierarchical fit (nutpie) -> diagnostics -> synergy on
growth rates -> predictions for new animals -> save (netCDF) and plots.

Run:  MPLBACKEND=Agg python examples/bayes_xenograft.py
      COMBOPLAN_BAYES_DRAWS=300 to sample fewer draws (default 1000, 4 chains).
Outputs go to ./comboplan_output/bayes_xenograft/ (``--out DIR`` to change).
"""
from __future__ import annotations

import os

import numpy as np

import comboplan as cp
from comboplan.fitting.bayes.growth import simulate_growth_study
from _output import output_folder  # examples/_output.py, beside this script


out = output_folder(__file__, __doc__)
draws = int(os.environ.get("COMBOPLAN_BAYES_DRAWS", "1000"))

# --- a simulated study with the published design --------------------------------------
arms = ("control", "CM-hUCESC", "paclitaxel", "paclitaxel + CM-hUCESC")
df = simulate_growth_study(2024, n_per_arm=7, days=(0, 7, 14, 21, 28), r_control=0.11, effect_A=-0.03,
                           effect_B=-0.05, interaction=-0.07, lloq=40.0, arms=arms)
df = df.rename(columns={"drug_a": "secretome", "drug_b": "paclitaxel"})
# one animal leaves at day 21 with a necrotic tumour: its later rows are flagged, not deleted
df["necrotic"] = (df["mouse"] == "m05") & (df["day"] > 21)
print(f"{df['below_lloq'].sum()} measurements below the 40 mm3 detection limit; "
      f"{df['necrotic'].sum()} row(s) after necrosis")

cols = dict(subject="mouse", arm="arm", time="day", size="volume_mm3")
design = dict(interaction=("secretome", "paclitaxel"), lloq=40.0, dropout="necrotic")

# --- prior predictive check (no MCMC) --------------------------------------------------
pp = cp.bayes.prior_predictive_growth(df, **cols, **design, seed=1)
print(pp.summary().splitlines()[1])

# --- fit -----------------------------------------------------------------------------
res = cp.bayes.fit_growth(df, **cols, **design, size_unit="mm3", draws=draws, tune=draws, chains=4, seed=1,
                          check=draws >= 1000)
print(res.summary())
print(res.rates()[["arm", "rate_mean", "ci_low", "ci_high", "doubling_time"]].to_string(index=False))
syn = res.synergy().iloc[0]
print(f"Bliss interaction on growth rates: {syn['interaction_mean']:.3f} /day "
      f"[{syn['ci_low']:.3f}, {syn['ci_high']:.3f}], P(synergy) = {syn['p_synergy']:.2f} (negative = synergy)")

# --- predictions for new animals (e.g. planning the next study) -----------------------
pred = res.predict([28.0], arms=["control", "paclitaxel + CM-hUCESC"], seed=2)
med = pred.median(("chain", "draw")).values.ravel()
print(f"predicted day-28 volume of a new animal: control {med[0]:.0f} mm3, combination {med[1]:.0f} mm3")

# --- draws for the simulator -----------------------------------------------------------
ds = res.draws(["r_arm", "interaction", "sigma_animal", "sigma_baseline", "log_baseline_mean", "sigma"],
               stacked=True)
print(f"posterior draws for simulation: {dict(ds.sizes)}")

# --- save and plot -------------------------------------------------------------------
path = res.to_netcdf(os.path.join(out, "bayes_xenograft.nc"))
again = cp.bayes.load_result(path)
assert np.isclose(again.p_synergy(), res.p_synergy())

import matplotlib  # noqa: E402

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 3, figsize=(15, 4))
res.plot("fit", ax=axes[0])
res.plot("rates", ax=axes[1])
res.plot("interaction", ax=axes[2])
fig.tight_layout()
fig.savefig(os.path.join(out, "bayes_xenograft.png"), dpi=100)
ax = pp.plot()
ax.figure.savefig(os.path.join(out, "bayes_prior_predictive.png"), dpi=100)
print(f"outputs written to {out}")
