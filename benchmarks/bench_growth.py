"""Benchmark: 28-animal, 4-arm, 5-time-point xenograft study.

Targets (issue 4): fit + in-vivo synergy over all days <= 50 ms for one study; 1,000 studies
<= 10 s (the power-analysis path).  Baselines measured in the same run: statsmodels MixedLM
per cut-off day (the reference implementation) and a Python loop of single-study calls.

Run:  MPLBACKEND=Agg .venv/bin/python benchmarks/bench_growth.py
"""
from __future__ import annotations

import warnings

import numpy as np
from _studies import timings
import pandas as pd

from comboplan.growth.api import fit_growth_mixed
from comboplan.growth.synergy import invivo_synergy, invivo_synergy_batch
from comboplan.models.growth import simeoni_tgi

DAYS = np.array([0.0, 7.0, 14.0, 21.0, 28.0])
ARMS = ["control", "A", "B", "A+B"]
RATES = np.array([0.10, 0.07, 0.06, 0.03])


def simulate(rng, n_st):
    arm = np.repeat(np.arange(4), 7)
    b = RATES[arm][None, :] + rng.normal(0, 0.015, (n_st, 28))
    logv = np.log(150) + rng.normal(0, 0.3, (n_st, 28, 1)) + b[..., None] * DAYS + rng.normal(0, 0.15, (n_st, 28, 5))
    return np.exp(logv), arm


def frame(sizes, arm):
    return pd.DataFrame({"mouse": np.repeat(np.arange(28), 5), "arm": np.repeat(np.asarray(ARMS)[arm], 5),
                         "day": np.tile(DAYS, 28), "vol": sizes.ravel()})


def best_of(f, n=5):
    return min(timings(f, n))


def main():
    rng = np.random.default_rng(0)
    sizes, arm = simulate(rng, 1000)
    df = frame(sizes[0], arm)
    invivo_synergy(df, "mouse", "arm", "day", "vol", control="control")  # warm up imports

    t_one = best_of(lambda: (fit_growth_mixed(df, "mouse", "arm", "day", "vol", backend="gls"),
                             invivo_synergy(df, "mouse", "arm", "day", "vol", control="control")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sm = best_of(lambda: invivo_synergy(df, "mouse", "arm", "day", "vol", control="control",
                                              backend="statsmodels"), n=2)
    t_batch = best_of(lambda: invivo_synergy_batch(sizes, DAYS, arm, ARMS, control="control"), n=3)
    t_loop10 = best_of(lambda: [invivo_synergy(frame(s, arm), "mouse", "arm", "day", "vol", control="control")
                                for s in sizes[:10]], n=1)
    print("28 animals x 4 arms x 5 times; synergy over all 4 cut-off days")
    print(f"  one study, fit_growth_mixed + invivo_synergy (gls):   {1e3 * t_one:8.1f} ms   (target <= 50 ms)")
    print(f"  one study, invivo_synergy backend=statsmodels:       {1e3 * t_sm:8.1f} ms   (ratio {t_sm / t_one:.0f}x)")
    print(f"  1,000 studies, invivo_synergy_batch:                 {t_batch:8.3f} s    (target <= 10 s)")
    print(f"  1,000 studies, loop of invivo_synergy (extrapolated): {100 * t_loop10:8.3f} s    "
          f"(ratio {100 * t_loop10 / t_batch:.0f}x)")
    # Simeoni TGI: 100,000 animals, 30 days
    n = 100_000
    p = dict(lambda0=rng.uniform(0.1, 0.5, n), lambda1=rng.uniform(0.05, 0.5, n), k1=rng.uniform(0.2, 2, n),
             k2=rng.uniform(0.0, 0.1, n), w0=rng.uniform(0.02, 0.2, n))
    t = np.linspace(0, 30, 31)
    t_sim = best_of(lambda: simeoni_tgi(t, 5.0, **p), n=1)
    t_fast = best_of(lambda: simeoni_tgi(t, 5.0, max_step=0.1, **p), n=1)
    t_split = best_of(lambda: simeoni_tgi(t, 5.0, method="split", **p), n=1)
    t_split2 = best_of(lambda: simeoni_tgi(t, 5.0, method="split", max_step=0.2, **p), n=1)
    print(f"  simeoni_tgi 100,000 animals x 30 days, rk4 default step:  {t_sim:8.2f} s    (<= 1e-6 relative error)")
    print(f"  simeoni_tgi 100,000 animals x 30 days, rk4 max_step=0.1:  {t_fast:8.2f} s    (~1e-5; ratio {t_sim / t_fast:.1f}x)")
    print(f"  simeoni_tgi 100,000 animals x 30 days, split (0.05):      {t_split:8.2f} s    (~3e-4; ratio {t_sim / t_split:.1f}x)")
    print(f"  simeoni_tgi 100,000 animals x 30 days, split max_step=0.2:{t_split2:8.2f} s    (~4e-3; ratio {t_sim / t_split2:.1f}x)")

if __name__ == "__main__":
    main()
