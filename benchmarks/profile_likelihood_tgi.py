"""Profile likelihood of one population parameter of the Simeoni NLME fit on one simulated study of
the recovery runs (``calibration_tgi_simeoni.py``: same simulator, design and seed).

Fits the study by maximum likelihood (Laplace, ``method="ml"``), then with the parameter fixed at
each value of a grid (the other parameters re-estimated), and prints the profile of the objective
function value (-2 log L), the 90 % profile-likelihood interval (where the profile rises by less
than 2.706 above its minimum, interpolated on the log grid), the ML Wald interval, and the
interval's asymmetry on the log scale, ``log(hi / est) / log(est / lo)``.  It tells whether a
skewed Bayesian posterior of that parameter (``compare_bayes_nlme_intervals.py``) follows the
likelihood itself.

    .venv/bin/python benchmarks/profile_likelihood_tgi.py SEED [--param k1] [--grid 0.6 0.8 1 1.25 1.6 2 2.5 3.2 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_argv, sys.argv = sys.argv, sys.argv[:1]   # that script reads its own arguments at import
from calibration_tgi_simeoni import LLOQ, TRUE, simulate_study  # noqa: E402

sys.argv = _argv
CHI2_90 = 2.705543454095404        # chi-square(1) 90 % quantile


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seed", type=int)
    ap.add_argument("--param", default="k1")
    ap.add_argument("--grid", type=float, nargs="+", default=None,
                    help="values of the parameter (default: 0.4 to 2.5 times the ML estimate, 10 log-spaced)")
    ap.add_argument("--max-step", type=float, default=0.2)
    a = ap.parse_args(argv)
    import comboplan as cp

    df, arms, pk = simulate_study(a.seed)
    kw = dict(subject="mouse", arm="scenario", time="day", size="volume", treatments=arms, pk=pk, lloq=LLOQ,
              ci_level=0.90, growth="simeoni", n_transit=3, max_step=a.max_step, method="ml")
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = cp.fit_tgi(df, **kw)
    pop = full.population.set_index("parameter")
    est, lo_w, hi_w = (float(pop.loc[a.param, c]) for c in ("estimate", "ci_low", "ci_high"))
    grid = np.array(a.grid) if a.grid else est * np.geomspace(0.4, 2.5, 10)
    start = {k: float(v) for k, v in pop["estimate"].items() if not k.startswith(("omega.", "sigma."))}
    prof = []
    for v in grid:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = cp.fit_tgi(df, **kw, fixed={a.param: float(v)},
                           initial={k: x for k, x in start.items() if k != a.param}, compute_se=False)
        prof.append((float(v), float(f.ofv), bool(f.converged)))
    prof.append((est, float(full.ofv), bool(full.converged)))
    prof.sort()
    x = np.log([p[0] for p in prof])
    d = np.array([p[1] for p in prof]) - min(p[1] for p in prof)
    print(f"seed {a.seed}, {a.param} (truth {TRUE[a.param]:g}); ML fit converged {full.converged}, OFV {full.ofv:.3f}; "
          f"{time.perf_counter() - t0:.0f} s")
    for (v, o, c), dd in zip(prof, d):
        print(f"  {a.param} = {v:8.4g}   OFV {o:10.3f}   rise {dd:8.3f}{'' if c else '   (not converged)'}")
    imin = int(np.argmin(d))

    def crossing(side):
        idx = range(imin, -1, -1) if side < 0 else range(imin, len(d))
        prev = imin
        for i in idx:
            if d[i] > CHI2_90:
                f = (CHI2_90 - d[prev]) / (d[i] - d[prev])
                return float(np.exp(x[prev] + f * (x[i] - x[prev])))
            prev = i
        return float("nan")          # not reached inside the grid

    lo_p, hi_p = crossing(-1), crossing(+1)
    print(f"  90 % profile-likelihood interval [{lo_p:.4g}, {hi_p:.4g}]  (NaN: beyond the grid)")
    print(f"  90 % ML Wald interval            [{lo_w:.4g}, {hi_w:.4g}]  around {est:.4g}")
    if np.isfinite(lo_p) and np.isfinite(hi_p):
        print(f"  asymmetry log(hi/est)/log(est/lo): profile {np.log(hi_p / est) / np.log(est / lo_p):.2f}, "
              f"Wald {np.log(hi_w / est) / np.log(est / lo_w):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
