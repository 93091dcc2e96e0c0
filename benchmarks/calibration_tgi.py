"""Simulation-recovery of fit_tgi (Laplace / FOCE-I) over many simulated studies.

Each study is simulated by ``comboplan.simulate`` (PK-driven paclitaxel, K-PD secretome, Bliss
kill plus interaction gamma = 0.5, log-normal between-animal variability on w0 and lambda0,
proportional caliper noise, observations below an LLOQ of 70 mm^3 censored), then fitted.
Prints, per population parameter, the coverage of the 90 % Wald intervals with its Monte-Carlo
error, the mean bias in SE units and the convergence rate; exits non-zero when a coverage lies
outside 85-95 % or a |bias| exceeds 0.3 SE.

    .venv/bin/python benchmarks/calibration_tgi.py [n_studies] [n_workers] [reml|ml]
"""
from __future__ import annotations

import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _studies import coverage_row, omega_cvs, simulate_tgi_study

N_STUDIES = int(sys.argv[1]) if len(sys.argv) > 1 else 200
WORKERS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
METHOD = sys.argv[3] if len(sys.argv) > 3 else "reml"
LLOQ = 70.0
TRUE = {"w0": 100.0, "lambda0": 0.12, "potency.paclitaxel": 0.4, "potency.secretome": 0.08,
        "interaction.gamma": 0.5, "omega.w0": 0.3, "omega.lambda0": 0.2, "sigma.add": 0.15}


def one(seed):
    import comboplan as cp
    from comboplan.simulate.pd import GrowthModel

    # readout: log-normal noise with the CV whose log-SD is sigma (cv = sqrt(exp(s^2) - 1))
    df, arms, pk = simulate_tgi_study(GrowthModel("exponential", {"lambda0": TRUE["lambda0"], "w0": TRUE["w0"]}),
                                      TRUE, variability=omega_cvs(TRUE), cv=TRUE["sigma.add"], seed=seed, lloq=LLOQ)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = cp.fit_tgi(df, subject="mouse", arm="scenario", time="day", size="volume", treatments=arms, pk=pk,
                         lloq=LLOQ, ci_level=0.90, method=METHOD)
    pop = fit.population.set_index("parameter")
    return {k: (pop.loc[k, "estimate"], pop.loc[k, "stderr"], pop.loc[k, "ci_low"], pop.loc[k, "ci_high"])
            for k in TRUE}, fit.converged, int(fit.settings["n_censored"])


def main() -> int:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(WORKERS) as ex:
        out = list(ex.map(one, range(1000, 1000 + N_STUDIES)))
    wall = time.perf_counter() - t0
    conv = np.mean([c for _, c, _ in out])
    cens = np.mean([n for _, _, n in out])
    print(f"{N_STUDIES} studies (4 arms x 7 mice x 9 days), method {METHOD}, {WORKERS} workers, {wall:.0f} s; "
          f"converged {conv:.1%}; mean censored observations per study {cens:.1f}")
    print(f"{'parameter':<20} {'true':>7} {'cover90':>8} {'MC SE':>6} {'bias/SE':>8} {'mean SE':>8}")
    ok = True
    for k, v in TRUE.items():
        est, se, lo, hi, good, cover, mcse, bias, flag = coverage_row([r for r, _, _ in out], k, v)
        ok &= not flag
        print(f"{k:<20} {v:>7.3g} {cover:>8.3f} {mcse:>6.3f} {bias:>8.3f} {np.mean(se[good]):>8.3g}{flag}")
    print("PASS" if ok else "FAIL: a coverage is outside 85-95 % or |bias| > 0.3 SE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
