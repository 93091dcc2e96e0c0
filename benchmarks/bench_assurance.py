"""Benchmark: assurance over a dose x companion grid (comboplan.simulate.power.assurance).

Question (Eiro et al. 2024 planning): for paclitaxel 0, 2.5, 5, 7.5, 10 mg/kg weekly IP with no
companion, naive or primed secretome (3x/week), what is the probability that a 7-per-arm study
shows non-inferiority to 10 mg/kg alone (day-14 log relative size, margin 20 %, one-sided
alpha 0.05), averaged over the uncertainty of the calibrated model?

* Model: ``calibrate_eiro2024()`` (exponential growth, Simeoni 2004 paclitaxel PK and potency,
  secretome potency and interaction gamma fitted to the printed day-14 values); 500 parameter
  draws from its covariance (lambda0, secretome potency, gamma); between-animal CV 20 % on
  lambda0; luminescence CV 40 %; imaging days 0, 7, 14.
* Work: 5 doses x 3 companions = 15 designs, each 500 draws x 200 simulated studies
  (1.5 million studies, 21 million virtual animals) plus 1,000 studies at the point estimate,
  every study analysed with ``compare_arms_batch`` (the batch path of ``compare_arms``).
* Target: <= 60 s on the 2-core development machine; the script exits with status 1 when missed.
* Baseline, in the same run: the loop a user would write with the public API,
  ``study_power(model.with_values(draws.row(d)), ..., n_studies=200, seed=draw_seeds(seed, 500)[d])``
  for every draw, timed on a subset (``--baseline-draws`` draws x 2 designs) and scaled to
  15 x 500 draws.  The subset's per-draw powers are checked to equal the assurance's.

Run:  .venv/bin/python benchmarks/bench_assurance.py
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import comboplan.simulate as cs
from comboplan.simulate.paper import calibrate_eiro2024
from comboplan.simulate.power import assurance, format_assurance, format_power, study_power
from comboplan.simulate.seeds import draw_seeds

DOSES = (0.0, 2.5, 5.0, 7.5, 10.0)
TARGET_S = 60.0


def setup(n_draws: int):
    cal = calibrate_eiro2024()
    model = cal.model()
    draws = cal.draws(n_draws, seed=1)
    ptx5, primed = cal.regimens["paclitaxel_5"], cal.regimens["primed"]
    companions = {"none": None, "naive": cs.secretome("naive", "3x/week from day 0 to 21", half_life=1.0,
                                                      potency=1.0 / 1.5),  # naive = primed / 1.5 (assumption)
                  "primed": primed}
    reference = cs.Arm("ptx10", [ptx5.with_amount(10.0)])
    designs = []
    for cname, prod in companions.items():
        for dose in DOSES:
            regs = [ptx5.with_amount(dose)] if dose > 0 else []
            designs.append(((cname, dose), [reference, cs.Arm(f"{cname}:{dose:g}", regs, [prod] if prod else [])]))
    kw = dict(analysis="noninferiority", margin=0.2, endpoint_day=14, variability=cs.Variability({"lambda0": 0.2}),
              readout=cs.Readout("luminescence", cv=0.4))
    return model, draws, designs, kw


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--studies", type=int, default=200, help="studies per draw")
    ap.add_argument("--n-per-arm", type=int, default=7)
    ap.add_argument("--baseline-draws", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    model, draws, designs, kw = setup(args.draws)
    days = [0.0, 7.0, 14.0]
    n = args.n_per_arm
    assurance(model, designs[0][1], n, days, draws=cs.ParameterDraws({k: v[:2] for k, v in draws.values.items()}),
              studies_per_draw=4, n_studies=10, seed=0, **kw)  # warm-up (imports)

    t0 = time.perf_counter()
    results = {}
    for key, arms in designs:
        results[key] = assurance(model, arms, n, days, draws=draws, studies_per_draw=args.studies, n_studies=1000,
                                 seed=args.seed, **kw)
    total = time.perf_counter() - t0
    n_studies = len(designs) * args.draws * args.studies
    print(f"assurance, {len(designs)} designs (5 doses x 3 companions) x {args.draws} draws x {args.studies} studies "
          f"({n_studies:,} studies, {n_studies * 2 * n:,} virtual animals; + 1,000 studies per design at the point "
          f"estimate): {total:.1f} s (target <= {TARGET_S:g} s: {'PASS' if total <= TARGET_S else 'FAIL'})")

    # baseline: the per-draw loop with the public API, on a subset, scaled
    seeds = draw_seeds(args.seed, args.draws)
    nb = min(args.baseline_draws, args.draws)
    sub = [designs[7], designs[12]]  # naive 5 mg/kg, primed 5 mg/kg
    same = True
    t0 = time.perf_counter()
    for key, arms in sub:
        loop = [study_power(model.with_values(draws.row(d)), arms, n, days, n_studies=args.studies, seed=seeds[d],
                            **kw).power for d in range(nb)]
        same &= bool(np.array_equal(loop, results[key].per_draw[(n, 14.0)][:nb]))
    per_call = (time.perf_counter() - t0) / (len(sub) * nb)
    scaled = per_call * len(designs) * args.draws
    print(f"    baseline (per-draw loop over study_power, {per_call * 1000:.1f} ms per draw, timed on {nb} draws x "
          f"{len(sub)} designs and scaled to {len(designs)} x {args.draws}): ~{scaled:.0f} s; ratio x{scaled / total:.1f}; "
          f"per-draw powers identical to the assurance's: {same}")

    print(f"    P(day-14 non-inferiority to 10 mg/kg alone), {n} mice per arm:")
    for cname in ("none", "naive", "primed"):
        for dose in DOSES:
            r = results[(cname, dose)].table.iloc[0]
            k = int(round(r["power"] * r["n_studies"]))
            print(f"      {cname:>6} + {dose:>4g} mg/kg: assurance "
                  f"{format_assurance(r['assurance'], r['assurance_se'], int(r['n_draws']), int(r['studies_per_draw']))}"
                  f"; conditional power {format_power(k, int(r['n_studies']))}")
    return 0 if (total <= TARGET_S and same) else 1


if __name__ == "__main__":
    sys.exit(main())
