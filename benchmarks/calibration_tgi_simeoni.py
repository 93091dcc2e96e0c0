"""Simulation-recovery of fit_tgi with Simeoni's TGI model (exponential-linear switch, three
transit compartments) over many studies simulated by ``comboplan.simulate``.

Each study: 4 arms x 7 mice x 9 caliper days (vehicle, PK-driven paclitaxel 10 mg/kg IP weekly,
a K-PD secretome 3x/week, both), Bliss kill plus interaction gamma = 0.5, log-normal
between-animal variability on w0 and lambda0, log-normal caliper noise (CV from sigma),
observations below an LLOQ of 60 mm^3 censored.  The simulator's split solver (default step)
generates the data; the fit uses its own compiled solver of the same scheme (``max_step``).
Prints, per population parameter, the coverage of the 90 % Wald intervals with its Monte-Carlo
error, the mean bias in SE units and the convergence rate; exits non-zero when a coverage lies
outside 85-95 % or a |bias| exceeds 0.3 SE.

    .venv/bin/python benchmarks/calibration_tgi_simeoni.py [n_studies] [n_workers] [max_step] [first_seed]
    CALIBRATION_DUMP=studies.jsonl ...   # also write one JSON line per finished study
    .venv/bin/python benchmarks/calibration_tgi_simeoni.py --summary a.jsonl [b.jsonl ...]   # table of dumps

Studies use the seeds first_seed, first_seed + 1, ... (default 2000); dumps of runs over disjoint
seed ranges can be pooled by ``--summary``.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _studies import coverage_row, omega_cvs, simulate_tgi_study

_ARGS = [] if (len(sys.argv) > 1 and sys.argv[1] == "--summary") else sys.argv[1:]
N_STUDIES = int(_ARGS[0]) if len(_ARGS) > 0 else 200
WORKERS = int(_ARGS[1]) if len(_ARGS) > 1 else 2
MAX_STEP = float(_ARGS[2]) if len(_ARGS) > 2 else 0.2
FIRST_SEED = int(_ARGS[3]) if len(_ARGS) > 3 else 2000
DUMP = os.environ.get("CALIBRATION_DUMP")   # optional: one JSON line per finished study
LLOQ = 60.0
TRUE = {"w0": 80.0, "lambda0": 0.25, "lambda1": 60.0, "k1": 1.0, "potency.paclitaxel": 0.5,
        "potency.secretome": 0.1, "interaction.gamma": 0.5, "omega.w0": 0.3, "omega.lambda0": 0.2,
        "sigma.add": 0.15}


def simulate_study(seed):
    """One simulated study: (tidy table with 'mouse', 'scenario', 'day', 'volume' (0 = below LLOQ),
    arms, pk)."""
    from comboplan.simulate.pd import GrowthModel

    growth = GrowthModel("simeoni", {k: TRUE[k] for k in ("lambda0", "lambda1", "k1", "w0")}, n_transit=3)
    return simulate_tgi_study(growth, TRUE, variability=omega_cvs(TRUE), cv=TRUE["sigma.add"], seed=seed, lloq=LLOQ)


def one(seed):
    import comboplan as cp

    df, arms, pk = simulate_study(seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cp.fit_tgi(df, subject="mouse", arm="scenario", time="day", size="volume", treatments=arms, pk=pk,
                         lloq=LLOQ, ci_level=0.90, growth="simeoni", n_transit=3, max_step=MAX_STEP)
    pop = fit.population.set_index("parameter")
    return ({k: (pop.loc[k, "estimate"], pop.loc[k, "stderr"], pop.loc[k, "ci_low"], pop.loc[k, "ci_high"])
             for k in TRUE}, fit.converged, int(fit.settings["n_censored"]), time.perf_counter() - t0)


def _safe(seed):
    """One study; an exception is recorded as a failed fit (it counts against the fit, not the run)."""
    try:
        return one(seed)
    except Exception as exc:  # noqa: BLE001 - reported below
        return f"{type(exc).__name__}: {exc}"


def summarize(paths) -> int:
    """Coverage table from CALIBRATION_DUMP files (runs over disjoint seed ranges, or one stopped early)."""
    rows = [json.loads(line) for path in paths for line in open(path)]
    seeds = [r[4] for r in rows if not isinstance(r, str) and len(r) > 4]
    if len(seeds) != len(set(seeds)):
        print("the dumps share seeds: they are not independent studies", file=sys.stderr)
        return 2
    errors = [r for r in rows if isinstance(r, str)]
    out = [(r[0], r[1], r[2], r[3]) for r in rows if not isinstance(r, str)]
    print(f"{len(rows)} studies finished (of a planned run; Simeoni TGI, 3 transit compartments); fits that raised: "
          f"{len(errors)}; converged {np.mean([o[1] for o in out]):.1%}; median {np.median([o[3] for o in out]):.0f} s "
          f"per fit; mean censored observations per study {np.mean([o[2] for o in out]):.1f}")
    return _table(out, errors, len(rows))


def _table(out, errors, n_total) -> int:
    print(f"{'parameter':<20} {'true':>7} {'cover90':>8} {'MC SE':>6} {'bias/SE':>8} {'mean SE':>8}")
    ok = True
    for k, v in TRUE.items():
        est, se, lo, hi, good, cover, mcse, bias, flag = coverage_row([o[0] for o in out], k, v)
        ok &= not flag
        print(f"{k:<20} {v:>7.3g} {cover:>8.3f} {mcse:>6.3f} {bias:>8.3f} {np.mean(se[good]):>8.3g}"
              f"  (SE available in {good.sum()}/{len(good)}){flag}")
    ok &= len(errors) <= 0.01 * n_total
    print("PASS" if ok else "FAIL: a coverage is outside 85-95 %, |bias| > 0.3 SE, or more than 1 % of fits raised")
    return 0 if ok else 1


def main() -> int:
    from concurrent.futures import as_completed

    t0 = time.perf_counter()
    out, errors = [], []
    with ProcessPoolExecutor(WORKERS) as ex:
        futs = {ex.submit(_safe, s): s for s in range(FIRST_SEED, FIRST_SEED + N_STUDIES)}
        for k, fu in enumerate(as_completed(futs), 1):
            r = fu.result()
            (errors if isinstance(r, str) else out).append(r)
            if DUMP:
                with open(DUMP, "a") as fh:
                    fh.write(json.dumps(r if isinstance(r, str) else
                                        [{k: [float(x) for x in v] for k, v in r[0].items()}, bool(r[1]), r[2],
                                         r[3], futs[fu]]) + "\n")
            if k % 10 == 0:
                print(f"  {k}/{N_STUDIES} studies done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    wall = time.perf_counter() - t0
    conv = np.mean([o[1] for o in out])
    cens = np.mean([o[2] for o in out])
    per = np.median([o[3] for o in out])
    print(f"{N_STUDIES} studies (seeds {FIRST_SEED}-{FIRST_SEED + N_STUDIES - 1}; Simeoni TGI, 3 transit compartments; 4 arms x 7 mice x 9 days), max_step "
          f"{MAX_STEP:g} d, {WORKERS} workers, {wall:.0f} s (median {per:.0f} s per fit); fits that raised: "
          f"{len(errors)}{' (' + errors[0] + ')' if errors else ''}; converged {conv:.1%} of the others; "
          f"mean censored observations per study {cens:.1f}")
    return _table(out, errors, N_STUDIES)


if __name__ == "__main__":
    sys.exit(summarize(sys.argv[2:]) if len(sys.argv) > 2 and sys.argv[1] == "--summary" else main())
