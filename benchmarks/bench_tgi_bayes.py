"""End-to-end speed of the Bayesian population TGI fit (comboplan.fitting.bayes.tgi.fit_tgi_bayes).

The study of ``tests/test_tgi.py::study``: 4 arms (vehicle, paclitaxel 10 mg/kg IP weekly with the
Simeoni 2004 mouse PK, primed secretome 3x/week as a K-PD exposure, the combination) x 7 mice,
calipers on days 0-28 (9 times), simulated by ``comboplan.simulate`` with w0 = 100 mm^3,
lambda0 = 0.12 /day, potencies 0.4 and 0.08, gamma = 0.5, between-animal CVs 30 % / 20 %, caliper
log-SD 0.15. Fitted with the defaults: 4 chains x 1000 draws (1000 tune), nutpie on the numba
kernel.

Each run is a *fresh Python process* (``python -c ...``) timed by this script from start to exit:
interpreter start-up, imports, simulation of the study, the fit (design, sampling, result tables,
diagnostics) and exit. Inside the child the phases are timed as well.

ESS/s = smallest bulk ESS over the population parameters (typical values, omegas, sigma) divided
by the whole-process wall time (and, in brackets, by the sampling time alone).

Usage::

    .venv/bin/python benchmarks/bench_tgi_bayes.py               # one warm-cache run
    .venv/bin/python benchmarks/bench_tgi_bayes.py --repeat 3    # three fresh processes (new data seeds)
    .venv/bin/python benchmarks/bench_tgi_bayes.py --cold        # also a run with an empty numba cache

Target: every fresh process <= 30 s with 0 divergences (exit status 1 otherwise). The load
average of the machine is printed before and after: timings under load are pessimistic.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time, warnings
t0 = time.perf_counter()
import numpy as np
import comboplan.simulate as cs
from comboplan.models.pk import Regimen, paclitaxel_mouse
from comboplan.simulate.exposure import secretome
from comboplan.simulate.pd import Effect, GrowthModel, Interaction
from comboplan.fitting.bayes.tgi import fit_tgi_bayes
t1 = time.perf_counter()
seed = int(sys.argv[1])
pk = {"paclitaxel": paclitaxel_mouse(bioavailability={"ip": 1.0})}
ptx = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
sec = secretome("primed", "3x/week from day 0 to 21", half_life=1.0, potency=1.0)
arms = {"vehicle": cs.Arm("vehicle"), "PTX": cs.Arm("PTX", [ptx]), "CM": cs.Arm("CM", [], [sec]),
        "PTX+CM": cs.Arm("PTX+CM", [ptx], [sec])}
truth = cs.PKPDModel(growth=GrowthModel("exponential", {"lambda0": 0.12, "w0": 100.0}, size_unit="mm3"),
                     effects={"paclitaxel": Effect("paclitaxel", 0.4), "secretome": Effect("secretome", 0.08)},
                     interaction=Interaction(gamma=0.5), pk=pk)
res = cs.simulate_cohort(truth, list(arms.values()), (0, 3, 7, 10, 14, 17, 21, 24, 28), n_animals=7,
                         variability=cs.Variability({"w0": 0.3, "lambda0": 0.2}),
                         readout=cs.Readout("volume", cv=0.15), seed=seed, common_animals=False)
df = res.to_frame()
df["mouse"] = df["scenario"] + "-" + df["animal"].astype(str)
df = df.rename(columns={"scenario": "arm", "observed": "volume"})[["mouse", "arm", "day", "volume"]]
t2 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = fit_tgi_bayes(df, subject="mouse", arm="arm", time="day", size="volume", treatments=arms, pk=pk,
                        draws=1000, tune=1000, chains=4, seed=seed)
t3 = time.perf_counter()
d = fit.diagnostics
s = fit.settings
print(json.dumps({"import_s": t1 - t0, "simulate_s": t2 - t1, "fit_s": t3 - t2, "compile_s": s["compile_seconds"],
                  "sampling_s": s["sampling_seconds"], "divergences": int(d.n_divergent),
                  "min_ess_bulk": float(d.table["ess_bulk"].min()), "min_ess_tail": float(d.table["ess_tail"].min()),
                  "max_rhat": float(d.table["r_hat"].max()), "sampler": s["sampler"], "backend": s["backend"],
                  "n_obs": s["n_obs"], "n_subjects": s["n_subjects"],
                  "gamma_median": float(fit.typical["interaction.gamma"])}))
"""


def _run(seed: int, env_extra=None) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", **(env_extra or {}))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(seed)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["process_s"] = wall
    return r


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description="fresh-process timing of fit_tgi_bayes (28 mice, 4 arms)")
    ap.add_argument("--repeat", type=int, default=1, help="fresh processes with the warm numba cache")
    ap.add_argument("--seed", type=int, default=1, help="data seed of the first run (then +1, +2, ...)")
    ap.add_argument("--cold", action="store_true", help="first run with an empty numba cache (first use)")
    ap.add_argument("--limit", type=float, default=30.0, help="target seconds per fresh process")
    a = ap.parse_args()
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average before: {_load()}")
    runs = []
    if a.cold:
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(("empty numba cache (first use)", _run(a.seed, {"NUMBA_CACHE_DIR": tmp})))
    for k in range(a.repeat):
        runs.append((f"warm cache, data seed {a.seed + k}", _run(a.seed + k)))
    hdr = (f"{'run':<32} {'process s':>9} {'import':>7} {'simul.':>7} {'fit':>6} {'compile':>7} {'sample':>7} "
           f"{'div':>4} {'minESS':>7} {'ESS/s':>13} {'R-hat':>6}")
    print(hdr)
    ok = True
    for label, r in runs:
        ess_s = r["min_ess_bulk"] / r["process_s"]
        ess_ss = r["min_ess_bulk"] / r["sampling_s"]
        bad = r["process_s"] > a.limit or r["divergences"] > 0
        ok &= not bad
        print(f"{label:<32} {r['process_s']:>9.2f} {r['import_s']:>7.2f} {r['simulate_s']:>7.2f} {r['fit_s']:>6.2f} "
              f"{r['compile_s']:>7.2f} {r['sampling_s']:>7.2f} {r['divergences']:>4d} {r['min_ess_bulk']:>7.0f} "
              f"{ess_s:>6.0f} ({ess_ss:>4.0f}) {r['max_rhat']:>6.3f}" + ("  <-- MISS" if bad else ""))
    r0 = runs[-1][1]
    print(f"{r0['n_subjects']} animals, {r0['n_obs']} observations; sampler {r0['sampler']} [{r0['backend']}]; "
          f"4 chains x 1000 draws (+1000 tune)")
    print(f"load average after: {_load()}")
    print("PASS" if ok else f"FAIL: a fresh process took > {a.limit:g} s or had divergences")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
