"""Benchmark: the batch engine vs a per-curve lmfit loop vs scipy curve_fit, same run.

10,000 synthetic Hill curves (8 doses x 3 replicates, seeded).  Prints wall time,
time per curve, the speed-up ratios, peak memory of the batch fit (tracemalloc), and
the agreement of the optima (relative RSS difference per curve).

    python benchmarks/bench_dose_response.py            # full (10,000 curves, ~2-3 min)
    python benchmarks/bench_dose_response.py --n 2000   # quicker
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np


def make(n, seed=0):
    from comboplan.models.dose_response import hill

    rng = np.random.default_rng(seed)
    doses = np.array([0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10.0])
    x = np.tile(np.repeat(doses, 3), (n, 1))
    e0 = rng.normal(100, 5, n)
    einf = rng.normal(10, 5, n)
    ec50 = np.exp(rng.normal(np.log(0.3), 0.7, n))
    h = np.exp(rng.normal(0, 0.3, n))
    y = hill(x, e0[:, None], einf[:, None], ec50[:, None], h[:, None]) + rng.normal(0, 5, x.shape)
    return x, y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the batch fit (best time reported)")
    args = ap.parse_args(argv)
    from scipy.optimize import curve_fit

    from comboplan.fitting.batch import fit_curves
    from comboplan.fitting.lmfit_engine import fit_curves_lmfit
    from comboplan.models.dose_response import HILL4, hill

    x, y = make(args.n)
    n = args.n
    fit_curves(HILL4, x[:50], y[:50])  # warm-up (imports, caches)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        bf = fit_curves(HILL4, x, y)
        times.append(time.perf_counter() - t0)
    t_batch = min(times)
    tracemalloc.start()
    fit_curves(HILL4, x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    t0 = time.perf_counter()
    lm = fit_curves_lmfit(HILL4, x, y)
    t_lmfit = time.perf_counter() - t0

    t0 = time.perf_counter()
    rss_cf = np.full(n, np.nan)
    p0 = HILL4.selfstart(x, y, np.ones_like(x, dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            try:
                p, _ = curve_fit(hill, x[i], y[i], p0=p0[i], maxfev=10_000)
                rss_cf[i] = np.sum((y[i] - hill(x[i], *p)) ** 2)
            except RuntimeError:
                pass
    t_cf = time.perf_counter() - t0

    def agree(other, name):
        ok = np.isfinite(other) & np.isfinite(bf.rss)
        rel = (bf.rss[ok] - other[ok]) / other[ok]
        worse = int(np.sum(rel > 1e-6))
        better = int(np.sum(rel < -1e-6))
        print(f"  vs {name:10s}: {ok.sum()} curves compared; |rel RSS diff| median {np.median(np.abs(rel)):.1e}, "
              f"max {np.max(np.abs(rel)):.1e}; batch worse by >1e-6 on {worse}, better by >1e-6 on {better}")

    print(f"comboplan batch engine vs baselines, {n} curves (8 doses x 3 replicates, hill4)")
    print(f"  batch engine : {t_batch:8.3f} s  ({1e3 * t_batch / n:.4f} ms/curve), converged {bf.converged.mean():.2%}, "
          f"peak memory {peak / 2**20:.1f} MiB")
    print(f"  lmfit loop   : {t_lmfit:8.3f} s  ({1e3 * t_lmfit / n:.4f} ms/curve), converged {lm.converged.mean():.2%}")
    print(f"  curve_fit    : {t_cf:8.3f} s  ({1e3 * t_cf / n:.4f} ms/curve)")
    print(f"  speed-up vs lmfit loop: {t_lmfit / t_batch:.1f}x   vs curve_fit loop: {t_cf / t_batch:.1f}x")
    agree(lm.rss, "lmfit")
    agree(rss_cf, "curve_fit")
    return {"t_batch": t_batch, "t_lmfit": t_lmfit, "t_cf": t_cf, "peak_mib": peak / 2**20}


if __name__ == "__main__":
    main()
