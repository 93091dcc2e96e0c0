"""Benchmark: the assurance grid on Dask (comboplan.distributed_plan.plan_grid) with 1 and 2 workers
vs the in-memory path, in one run.

Grid (issue 15): 5 paclitaxel doses x 3 companions (none, naive, primed secretome) x 4 group sizes
x 500 parameter draws x 200 studies per draw (plus 1,000 studies at the point estimate per
design), non-inferiority to 10 mg/kg alone at day 14 -- the model and designs of
``benchmarks/bench_assurance.py``.  The in-memory path is ``comboplan.simulate.sample_size`` per
design; the Dask path is one ``plan_grid`` job on a ``LocalCluster(n_workers=k,
threads_per_worker=1, processes=True)`` for k = 1, 2.  Every distributed result is checked to
equal the in-memory one bit for bit.  Cluster start-up and a warm-up task per worker are not
timed.  On a loaded machine the ratios mean little: the load average is printed with them.

    python benchmarks/bench_distributed_plan.py                       # the full grid (long)
    python benchmarks/bench_distributed_plan.py --draws 40 --studies 40 --n-values 5 7
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--studies", type=int, default=200, help="studies per draw")
    ap.add_argument("--n-studies", type=int, default=1000, help="studies at the point estimate per design")
    ap.add_argument("--n-values", type=int, nargs="+", default=[5, 7, 10, 15], help="group sizes")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)

    import comboplan.simulate as cs
    from bench_assurance import setup
    from comboplan import distributed_plan as dp
    from distributed import Client, LocalCluster

    model, draws, designs, kw = setup(args.draws)
    designs = dict(designs)
    days = [0.0, 7.0, 14.0]
    common = dict(n_values=args.n_values, draws=draws, studies_per_draw=args.studies, n_studies=args.n_studies,
                  seed=args.seed, **kw)
    n_sim = len(designs) * len(args.n_values) * (args.draws * args.studies + args.n_studies)
    print(f"grid: {len(designs)} designs x {len(args.n_values)} group sizes x {args.draws} draws x "
          f"{args.studies} studies (+{args.n_studies} at the point estimate) = {n_sim:,} simulated studies")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    first = next(iter(designs.values()))
    small = cs.ParameterDraws({k: v[:2] for k, v in draws.values.items()})
    cs.sample_size(model, first, days, n_values=[5], draws=small, studies_per_draw=4, n_studies=10, seed=0, **kw)

    t = time.perf_counter()
    mem = {k: cs.sample_size(model, arms, days, **common) for k, arms in designs.items()}
    t_mem = time.perf_counter() - t
    print(f"in memory: {t_mem:8.1f} s  ({n_sim / t_mem:,.0f} studies/s)")
    times = {}
    for k in args.workers:
        with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            dp.plan_grid(model, {"w": first}, days, n_values=[5], draws=small, studies_per_draw=4, n_studies=10,
                         seed=0, client=client, draws_per_task=1, **kw)   # warm-up on every worker
            t = time.perf_counter()
            res = dp.plan_grid(model, designs, days, client=client, **common)
            times[k] = time.perf_counter() - t
        for key in designs:
            pd.testing.assert_frame_equal(res[key].table, mem[key].table)
            for n in mem[key].per_draw:
                assert np.array_equal(res[key].per_draw[n], mem[key].per_draw[n])
        print(f"Dask, {k} worker(s): {times[k]:8.1f} s  ({n_sim / times[k]:,.0f} studies/s; "
              f"in memory / Dask {t_mem / times[k]:.2f}x); equal to in memory bit for bit")
    if 1 in times and 2 in times:
        print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
