"""Benchmarks for comboplan.simulate (plain script; prints timings and ratios).

1. PK-driven Simeoni trajectories: 100,000 virtual animals, 21 days, daily output,
   paclitaxel 10 mg/kg IP weekly (Simeoni 2004 PK + PD), per-animal lambda0 and k2.
   Target: >= 100,000 trajectories / s.  Baseline in the same run: the RK4 reference
   solver (comboplan.models.growth.simeoni_tgi on a 15-min exposure grid) on 2,000 animals.
2. Power of 1,000 simulated 28-animal studies (4 arms x 7) analysed with the mixed-model
   Bliss synergy test.  Target: <= 10 s.

Run:  .venv/bin/python benchmarks/bench_simulate.py
"""
import time

import numpy as np

import comboplan.simulate as cs
from comboplan.models.pk import Regimen, paclitaxel_mouse


def trajectory_inputs(n=100_000):
    """Row 1's inputs: (days, growth model, exposures, effects, lambda0 and k2 of ``n`` animals,
    the PK model, the paclitaxel regimen)."""
    pk = paclitaxel_mouse(bioavailability={"ip": 1.0})
    reg = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
    ex = {"paclitaxel": cs.DrugExposure("paclitaxel", (reg,), pk)}
    eff = {"paclitaxel": cs.Effect("paclitaxel", cs.SIMEONI_K2_PACLITAXEL)}
    g = cs.SIMEONI2004_PACLITAXEL
    t = np.arange(0.0, 22.0)
    rng = np.random.default_rng(0)
    lam = 0.273 * np.exp(0.2 * rng.standard_normal(n))
    k2 = 0.629 * np.exp(0.3 * rng.standard_normal(n))
    return t, g, ex, eff, lam, k2, pk, reg


def power_inputs(pk, reg):
    """Row 2's inputs: (model, arms, keyword options of ``study_power``)."""
    gexp = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0})
    model = cs.PKPDModel(growth=gexp, effects={"paclitaxel": cs.Effect("paclitaxel", 0.629),
                                               "secretome": cs.Effect("secretome", 0.02)},
                         interaction=cs.Interaction(gamma=1.0), pk={"paclitaxel": pk})
    sec = cs.secretome("naive", "3x/week from day 0 to 21")
    arms = [cs.Arm("control"), cs.Arm("ptx", [reg]), cs.Arm("cm", [], [sec]), cs.Arm("combo", [reg], [sec])]
    kw = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("luminescence", cv=0.4), seed=1)
    return model, arms, kw


def main():
    t, g, ex, eff, lam, k2, pk, reg = trajectory_inputs()
    n = len(lam)
    cs.simulate_growth(t, g, ex, eff, params={"lambda0": lam[:1000]}, potencies={"paclitaxel": k2[:1000]})  # warm-up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        w = cs.simulate_growth(t, g, ex, eff, params={"lambda0": lam}, potencies={"paclitaxel": k2})
        best = min(best, time.perf_counter() - t0)
    rate = n / best
    nb = 2000
    t0 = time.perf_counter()
    ref = cs.simulate_growth(t, g, ex, eff, params={"lambda0": lam[:nb]}, potencies={"paclitaxel": k2[:nb]},
                             solver="reference")
    tb = time.perf_counter() - t0
    rate_b = nb / tb
    err = float(np.max(np.abs(w[:nb] / ref - 1)))
    print(f"[1] PK-driven Simeoni, {n} animals x 21 days: {best:.3f} s -> {rate:,.0f} trajectories/s "
          f"(target >= 100,000: {'PASS' if rate >= 1e5 else 'FAIL'})")
    print(f"    baseline RK4 reference solver: {rate_b:,.0f} trajectories/s; speed-up x{rate / rate_b:.0f}; "
          f"max relative difference {err:.1e}")

    model, arms, kw = power_inputs(pk, reg)
    t0 = time.perf_counter()
    res = cs.study_power(model, arms, 7, [0, 7, 14, 21], analysis="bliss", n_studies=1000, **kw)
    tp = time.perf_counter() - t0
    print(f"[2] power of 1,000 x 28-animal studies, mixed-model Bliss test: {tp:.2f} s "
          f"(target <= 10 s: {'PASS' if tp <= 10 else 'FAIL'}); power {res.power:.3f} +/- {res.mc_se:.3f}")
    # baseline: the same analysis through statsmodels MixedLM on 20 studies, extrapolated
    try:
        import warnings

        import statsmodels.formula.api as smf

        df = cs.simulate_study(model, arms, 7, [0, 7, 14, 21], n_studies=20, **kw)
        t0 = time.perf_counter()
        for s, d in df.groupby("study"):
            d = d.copy()
            d["y"] = np.log(d["size"] / d.groupby("animal")["size"].transform("first"))
            d = d[d["day"] > 0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                smf.mixedlm("y ~ 0 + C(arm):day", d, groups=d["animal"], re_formula="0 + day").fit(reml=True)
        per = (time.perf_counter() - t0) / 20
        print(f"    baseline statsmodels MixedLM per study: {per * 1000:.0f} ms -> 1,000 studies ~{per * 1000:.0f} s; "
              f"ratio x{per * 1000 / tp:.0f}")
    except Exception as exc:  # pragma: no cover
        print(f"    baseline skipped: {exc}")


if __name__ == "__main__":
    main()
