"""What is the lowest paclitaxel dose that keeps full-dose efficacy with primed secretome?

Answers the question left open by Eiró et al. (2024): paclitaxel 10 mg/kg weekly works,
5 mg/kg alone does not, 5 mg/kg + secretome of paclitaxel-primed hUCESC (3x/week) seems to.

Fitted model: exponential growth with Bliss-independent kill hazards plus an interaction
term, fitted by least squares to the only published in-vivo numbers (day-14 tumour volume
relative to day 0: paclitaxel 5 mg/kg 274 %, CM-hUCESC_chemo 113 %, combination 131 %;
bundled as ``eiro2024_xenograft``).  Parameter uncertainty comes from the fit's covariance.

ASSUMPTIONS (each one is needed because the papers do not report the quantity):
A1  growth is exponential to day 21 and luminescence is proportional to tumour burden;
A2  untreated tumours grow like the 5 mg/kg arm ("similar tumor growth than control mice");
    the control's day-14 value is not printed, so control = 274 % at day 14 is an assumption;
A3  paclitaxel PK in mice = Simeoni et al. 2004 (2-compartment, IV) with complete IP
    absorption (Eiseman 1994 reported ~10 %; with 10 % no dose would work at all);
A4  paclitaxel potency k2 = 0.629 1/(day x ug/mL) (Simeoni 2004, A2780 cells, not MDA-MB-231);
A5  secretome effect decays with a 1-day half-life after each injection (no PK measured);
A6  no paclitaxel-equivalent is carried by vesicles (EV paclitaxel was detected, not quantified);
A7  each day-14 value has a log-scale standard error of 0.4/sqrt(7) (IVIS CV 40 %, n = 7);
A8  "full-dose efficacy" = relative size at day 14 within 20 % of 10 mg/kg alone, with 80 %
    posterior probability.
Runs in a few seconds; writes CSV/PNG under $COMBOPLAN_EXAMPLE_OUT (default: a temp dir).
"""
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import comboplan.simulate as cs
from comboplan.models.pk import Regimen, paclitaxel_mouse

OUT = Path(os.environ.get("COMBOPLAN_EXAMPLE_OUT") or tempfile.mkdtemp(prefix="comboplan_dose_"))
OUT.mkdir(parents=True, exist_ok=True)

data_path = Path(__file__).resolve().parents[1] / "comboplan" / "data" / "datasets" / "eiro2024_xenograft.csv"
data = pd.read_csv(data_path)
obs = {r.arm: r.tumor_volume_pct / 100.0 for r in data.itertuples()}  # day 14, fraction of day 0
y = np.log([obs["paclitaxel"], obs["CM-hUCESC_chemo"], obs["paclitaxel + CM-hUCESC_chemo"]])
se = 0.4 / np.sqrt(7)  # A7

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})  # A3
PTX5 = Regimen.from_schedule(5, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
PRIMED = cs.secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)  # A5, A6
ARMS = [cs.Arm("paclitaxel", [PTX5]), cs.Arm("primed", [], [PRIMED]), cs.Arm("combo", [PTX5], [PRIMED])]
DAYS = np.array([0.0, 14.0])


def model(theta):
    lam, ksec, gamma = theta
    return cs.PKPDModel(
        growth=cs.GrowthModel("exponential", {"lambda0": lam, "w0": 1.0}, size_unit="relative burden"),
        effects={"paclitaxel": cs.Effect("paclitaxel", cs.SIMEONI_K2_PACLITAXEL),  # A4
                 "secretome": cs.Effect("secretome", ksec)},
        interaction=cs.Interaction(gamma=gamma), pk={"paclitaxel": PK})


def predict(theta):
    m = model(theta)
    return np.array([np.log(cs.simulate_growth(DAYS, m.growth, a.exposures(m.pk), m.effects, m.interaction)[0, 1])
                     for a in ARMS])


# A2: control grows like the 5 mg/kg arm -> lambda0 solves the paclitaxel-arm equation
fit = least_squares(lambda th: (predict(th) - y) / se, x0=[0.08, 0.05, 0.0],
                    bounds=([1e-4, 0.0, -5.0], [1.0, 5.0, 5.0]))
theta = fit.x
cov = np.linalg.pinv(fit.jac.T @ fit.jac)  # residual scale fixed by A7
names = ["lambda0", "potency.secretome", "interaction.gamma"]
print("fitted:", {n: f"{v:.4g} +/- {s:.2g}" for n, v, s in zip(names, theta, np.sqrt(np.diag(cov)))})
print("observed vs fitted day-14 relative size:", np.round(np.exp(y), 3), np.round(np.exp(predict(theta)), 3))

draws = cs.draws_from_covariance(dict(zip(names, theta)), cov, 200, seed=1, log_scale=False)
draws = cs.ParameterDraws({k: (np.maximum(v, 1e-6) if k != "interaction.gamma" else v)
                           for k, v in draws.values.items()}, source=draws.source)
res = cs.dose_reduction(model(theta), [0, 2.5, 5, 7.5, 10], companions={"none": None, "primed": PRIMED},
                        reference=(10.0, "none"), days=[14.0, 21.0], margin=0.2, target_probability=0.8,
                        n_animals=50, draws=draws, variability=cs.Variability({"lambda0": 0.2}), seed=2)
print(res.summary())
res.table.to_csv(OUT / "dose_reduction.csv", index=False)
res.minimum_dose.to_csv(OUT / "minimum_dose.csv", index=False)
ax = res.plot(day=14.0)
ax.figure.savefig(OUT / "dose_efficacy_day14.png", dpi=110, bbox_inches="tight")

# how many mice per arm would confirm it (non-inferiority of the minimum dose + primed vs 10 mg/kg)?
md = res.minimum_dose.set_index(["companion", "day"])
cand = md.loc[("primed", 14.0), "min_dose"]
if np.isfinite(cand) and cand > 0:
    arms = [cs.Arm("ptx10", [PTX5.with_amount(10.0)]), cs.Arm("cand", [PTX5.with_amount(cand)], [PRIMED])]
    ss = cs.sample_size(model(theta), arms, [0, 7, 14], analysis="noninferiority", margin=0.2, endpoint_day=14,
                        n_values=(7, 10, 15, 20, 30), n_studies=400, variability=cs.Variability({"lambda0": 0.2}),
                        readout=cs.Readout("luminescence", cv=0.4), target_power=0.8, seed=3)
    print(ss.summary())
    print(f"n per arm for 80 % power: {ss.settings['n_required']}")
    ss.table.to_csv(OUT / "sample_size.csv", index=False)
print(f"outputs in {OUT}")
