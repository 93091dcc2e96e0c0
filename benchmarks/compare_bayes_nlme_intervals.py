"""Compare, study by study, the Bayesian ODE fit's 90 % credible intervals with the NLME fit's
90 % Wald intervals on the same simulated studies (recorded JSON lines; no fitting here).

For one parameter (default ``k1``) prints: the studies each interval misses (and on which side),
the misses of one estimator only, and the asymmetry of the Bayesian interval on the log scale,
``log(q95 / median) / log(median / q05)`` (1 for the NLME's intervals, symmetric on the log scale),
split by the side of the truth on which the posterior median fell.

    .venv/bin/python benchmarks/compare_bayes_nlme_intervals.py BAYES.jsonl [BAYES2.jsonl ...] \\
        --nlme benchmarks/records/simeoni_nlme_seeds3000_fb216d3.jsonl [--param k1]

Bayesian records: ``calibration_tgi_bayes_ode.py --out``; NLME records: ``calibration_tgi_simeoni.py``
with ``CALIBRATION_DUMP`` (lines ``[estimates, converged, ..., seed]``).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bayes", nargs="+")
    ap.add_argument("--nlme", required=True)
    ap.add_argument("--param", default="k1")
    a = ap.parse_args(argv)
    _argv, sys.argv = sys.argv, sys.argv[:1]
    from calibration_tgi_simeoni import TRUE
    sys.argv = _argv
    t = TRUE[a.param]
    bayes = {}
    for f in a.bayes:
        for line in open(f):
            if line.strip():
                r = json.loads(line)
                if "est" in r:
                    bayes[r["seed"]] = r["est"][a.param]
    nlme = {}
    for line in open(a.nlme):
        if line.strip():
            r = json.loads(line)
            est = r[0].get(a.param) if isinstance(r[0], dict) else None
            if est is not None and np.all(np.isfinite(est)):
                nlme[r[-1]] = est
    seeds = sorted(set(bayes) & set(nlme))
    if not seeds:
        print("no study in both records")
        return 1
    miss = lambda e: e[2] > t or e[3] < t  # noqa: E731
    mb = np.array([miss(bayes[s]) for s in seeds])
    mn = np.array([miss(nlme[s]) for s in seeds])
    print(f"{a.param} (truth {t:g}), {len(seeds)} studies in both records")
    print(f"  90 % interval misses: Bayesian {mb.sum()} ({mb.mean():.3f}), NLME Wald {mn.sum()} ({mn.mean():.3f}); "
          f"both {int((mb & mn).sum())}, Bayesian only {int((mb & ~mn).sum())}, NLME only {int((~mb & mn).sum())}")
    lo_side = [s for s in seeds if bayes[s][2] > t]
    hi_side = [s for s in seeds if bayes[s][3] < t]
    print(f"  Bayesian misses with the truth below the interval: {len(lo_side)}, above it: {len(hi_side)}")

    def asym(e):
        return np.log(e[3] / e[0]) / np.log(e[0] / e[2])

    above = [s for s in seeds if bayes[s][0] > t]
    below = [s for s in seeds if bayes[s][0] <= t]
    for name, grp in (("median above the truth", above), ("median at or below the truth", below)):
        v = np.array([asym(bayes[s]) for s in grp])
        print(f"  Bayesian interval asymmetry log(q95/med)/log(med/q05), {name} ({len(grp)} studies): "
              f"median {np.median(v):.2f} (quartiles {np.quantile(v, 0.25):.2f}-{np.quantile(v, 0.75):.2f})")
    only = [s for s in seeds if miss(bayes[s]) and not miss(nlme[s])]
    if only:
        print("  Bayesian-only misses (seed: NLME estimate [90 % Wald]  |  Bayesian median [q05, q95]):")
        for s in only:
            n, b = nlme[s], bayes[s]
            print(f"    {s}: {n[0]:.3g} [{n[2]:.3g}, {n[3]:.3g}]  |  {b[0]:.3g} [{b[2]:.3g}, {b[3]:.3g}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
