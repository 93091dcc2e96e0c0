"""Is the default Bayesian ODE fit's posterior accurate?  One recovery study fitted twice with
``fit_tgi_bayes_ode``: at the defaults of the recovery run (2 chains x 500 + 500) and with a long
reference run (default 4 chains x 2000 + 2000, another sampler seed); prints each population
parameter's median and 5 % / 95 % quantiles from both, with the reference's tail ESS.

    .venv/bin/python benchmarks/reference_posterior_tgi_ode.py SEED [--chains 4] [--draws 2000] [--tune 2000]

The study, priors and fit options are those of ``calibration_tgi_bayes_ode.py``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibration_tgi_bayes_ode import TRUE, fit_study  # noqa: E402


def fit(seed, draws, tune, chains, sampler_seed):
    t0 = time.perf_counter()
    b = fit_study(seed, draws, tune, chains, sampler_seed)
    return b.population.set_index("parameter"), time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seed", type=int)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--tune", type=int, default=2000)
    a = ap.parse_args(argv)
    d, td = fit(a.seed, 500, 500, 2, a.seed)
    r, tr = fit(a.seed, a.draws, a.tune, a.chains, a.seed + 100_000)
    print(f"study {a.seed}: defaults 2 x (500 + 500) in {td:.0f} s; reference {a.chains} x ({a.tune} + {a.draws}) "
          f"in {tr:.0f} s")
    print(f"{'parameter':<20}{'truth':>8}  {'defaults: median [5 %, 95 %]':>34}  {'reference: median [5 %, 95 %]':>34}"
          f"{'ref tail ESS':>13}")
    for k, t in TRUE.items():
        if k not in d.index:
            continue
        fmt = lambda p: f"{p.loc[k, 'estimate']:.4g} [{p.loc[k, 'ci_low']:.4g}, {p.loc[k, 'ci_high']:.4g}]"  # noqa: E731
        ess = r.loc[k, "ess_tail"] if "ess_tail" in r.columns else float("nan")
        print(f"{k:<20}{t:>8g}  {fmt(d):>34}  {fmt(r):>34}{ess:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
