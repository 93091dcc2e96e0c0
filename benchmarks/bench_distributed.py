"""Benchmark: comboplan.distributed on a LocalCluster with 1 and 2 workers vs the in-memory path.

Same run, same data: N hill4 curves (8 doses x 3 replicates, seeded) through
``comboplan.fit_dose_response`` (in memory) and ``comboplan.distributed.fit_dose_response``
on a ``LocalCluster(n_workers=k, threads_per_worker=1, processes=True)`` for k = 1, 2;
then B 6x6 blocks (3 replicates) through ``synergy(methods=("bliss", "hsa"), n_boot=0)``
the same three ways.  Prints wall time, curves (blocks) per second and the ratios, and
checks that the distributed fits equal the in-memory ones bit for bit.  Cluster start-up
is not timed.  On a loaded machine the ratios mean little: record the load with them.

    python benchmarks/bench_distributed.py                 # 20,000 curves, 2,000 blocks
    python benchmarks/bench_distributed.py --n 5000 --blocks 500
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd


def curves(n, seed=0):
    from comboplan.models.dose_response import hill

    rng = np.random.default_rng(seed)
    d = np.repeat(np.array([0, 0.01, 0.03, 0.1, 0.3, 1, 3, 10.0]), 3)
    ec50 = np.exp(rng.normal(np.log(0.3), 0.7, (n, 1)))
    y = hill(d[None, :], 100, 10, ec50, 1.0) + rng.normal(0, 5, (n, d.size))
    return pd.DataFrame({"curve_id": np.repeat(np.arange(n), d.size), "dose": np.tile(d, n), "resp": y.ravel()})


def blocks(nb, seed=1):
    rng = np.random.default_rng(seed)
    lv = np.array([0, 0.1, 0.3, 1, 3, 10.0])
    a, b = np.meshgrid(lv, lv, indexing="ij")
    a, b = np.repeat(a.ravel(), 3), np.repeat(b.ravel(), 3)
    e = 100 * (1 - 1 / (1 + a ** 1.2) / (1 + (b / 2) ** 1.5))
    return pd.DataFrame({"block": np.repeat(np.arange(nb), a.size), "a": np.tile(a, nb), "b": np.tile(b, nb),
                         "rep": np.tile(np.arange(a.size) % 3, nb),
                         "inh": np.tile(e, nb) + rng.normal(0, 4, nb * a.size)})


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20_000, help="curves")
    ap.add_argument("--blocks", type=int, default=2_000, help="6x6 blocks")
    args = ap.parse_args(argv)
    import comboplan as cp
    from comboplan import distributed as cd
    from distributed import Client, LocalCluster

    warnings.simplefilter("ignore")
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    cdf, bdf = curves(args.n), blocks(args.blocks)
    skw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0, methods=("bliss", "hsa"))
    t_fit, mem = timed(lambda: cp.fit_dose_response(cdf, dose="dose", response="resp", by="curve_id"))
    t_syn, _ = timed(lambda: cp.synergy(bdf, **skw))
    rows = [("in-memory", t_fit, t_syn)]
    for k in (1, 2):
        with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cl, Client(cl) as client:
            tf, res = timed(lambda: cd.fit_dose_response(cdf, dose="dose", response="resp", by="curve_id",
                                                         client=client, npartitions=4 * k))
            ts, _ = timed(lambda: cd.synergy(bdf, client=client, npartitions=4 * k, **skw))
            assert res.params.equals(mem.params), "distributed fits differ from in-memory"
        rows.append((f"LocalCluster {k} worker(s)", tf, ts))
    print(f"{'path':<26}{'curves/s':>12}{'blocks/s':>12}{'fit ratio':>11}{'synergy ratio':>15}")
    for name, tf, ts in rows:
        print(f"{name:<26}{args.n / tf:>12.0f}{args.blocks / ts:>12.0f}{t_fit / tf:>11.2f}{t_syn / ts:>15.2f}")
    print(f"2 vs 1 worker: fits {rows[1][1] / rows[2][1]:.2f}x, synergy {rows[1][2] / rows[2][2]:.2f}x")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
