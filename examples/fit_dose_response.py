"""Fit paclitaxel and secretome dose-response curves from a plate readout (WST-1, A450 - A655).

A seeded, simulated 96-well experiment shaped like Eiro et al. (2024): paclitaxel at
0-10 uM and conditioned medium (secretome) at 0-100 % v/v, triplicate wells, blanks and
untreated controls.  The script normalises the raw absorbances to % viability, fits
Hill curves per agent, reports EC50 with three kinds of confidence interval, compares
models, and saves tables, a netCDF file and a plot in ./comboplan_output/fit_dose_response/
(``--out DIR`` to change).
"""

import numpy as np
import pandas as pd

import comboplan as cp
from comboplan.models.dose_response import hill
from _output import output_folder  # examples/_output.py, beside this script


out = output_folder(__file__, __doc__)
rng = np.random.default_rng(42)

# --- a simulated plate: true viability curves, converted to absorbance with background
truth = {"paclitaxel": dict(unit="uM", doses=[0.01, 0.03, 0.1, 0.3, 1, 3, 10], ec50=0.4, h=1.1, einf=15.0),
         "secretome": dict(unit="% v/v", doses=[3, 6, 12.5, 25, 50, 100], ec50=30.0, h=1.5, einf=40.0)}
rows = []
for agent, t in truth.items():
    for d in [0.0, *t["doses"]]:
        for rep in range(3):
            v = hill(d, 100.0, t["einf"], t["ec50"], t["h"]) / 100.0
            rows.append(dict(agent=agent, dose=d, unit=t["unit"], well_type="sample" if d > 0 else "control",
                             A450=0.08 + 1.2 * v * rng.lognormal(0, 0.05), A655=0.04 + rng.normal(0, 0.003)))
    for rep in range(3):  # medium-only blanks
        rows.append(dict(agent=agent, dose=0.0, unit=t["unit"], well_type="blank",
                         A450=0.08 + rng.normal(0, 0.004), A655=0.04 + rng.normal(0, 0.003)))
plate = pd.DataFrame(rows)

# --- normalise: reference wavelength, blank subtraction, % of untreated control per agent
signal = cp.data.reference_subtract(plate, signal="A450", reference="A655", out="A")
blanked = cp.data.subtract_blank(signal, signal="A", blank={"well_type": "blank"}, by=["agent"], out="A_blank")
norm = cp.data.percent_of_control(blanked[blanked.well_type != "blank"], signal="A_blank",
                                  control={"well_type": "control"}, by=["agent"], out="viability_pct")

# --- fit one Hill curve per agent (dose units differ per agent: fit them separately)
for agent, t in truth.items():
    sub = norm[norm.agent == agent]
    res = cp.fit_dose_response(sub, dose="dose", response="viability_pct", model="hill4",
                               dose_unit=t["unit"], response_unit="% viability")
    print(res.summary())
    for ci in ("delta", "profile", "bootstrap"):
        e = res.ecx(50, ci=ci, n_boot=500, seed=1)
        print(f"{agent}: EC50 = {e.estimate[0]:.3g} {t['unit']} "
              f"({ci} 95 % CI {e.ci_low[0]:.3g} - {e.ci_high[0]:.3g}; truth {t['ec50']})")
    none = cp.fit_dose_response(sub, dose="dose", response="viability_pct", model="no_effect")
    print(cp.compare(none, res)[["model", "npar", "aic", "f_pvalue"]].to_string(index=False))
    res.params.to_csv(out / f"params_{agent}.csv", index=False)
    res.to_netcdf(out / f"fit_{agent}.nc")
    ax = res.plot(band=True)
    ax.figure.savefig(out / f"fit_{agent}.png", dpi=100)
print(f"outputs in {out}")
