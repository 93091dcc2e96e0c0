"""Benchmark: comboplan.distributed on a LocalCluster with 1 and 2 workers vs the in-memory path.

Same run, same data: N hill4 curves (8 doses x 3 replicates, seeded) through
``comboplan.fit_dose_response`` (in memory) and ``comboplan.distributed.fit_dose_response``
on a ``LocalCluster(n_workers=k, threads_per_worker=1, processes=True)`` for k = 1, 2;
then B 6x6 blocks (3 replicates) through ``synergy(methods=..., n_boot=0)`` (Bliss and HSA by default)
the same three ways.  Prints wall time, curves (blocks) per second and the ratios, and
checks that the distributed fits equal the in-memory ones bit for bit.  Cluster start-up
is not timed.  On a loaded machine the ratios mean little: record the load with them.

Each path runs on a fresh cluster, warmed by a small call of the same kind (imports and compiled
caches; a user's second call), and every worker's resident memory is sampled every 50 ms during
the timed call (psutil): the printed peak is the largest of any worker.  Exits 1 unless every call timed (``--parts``) speeds up >= 1.7x
from 1 to 2 workers and no worker peaked above 2 GB (issue 15).

    python benchmarks/bench_distributed.py                 # 20,000 curves, 2,000 blocks
    python benchmarks/bench_distributed.py --n 5000 --blocks 500
    python benchmarks/bench_distributed.py --parts synergy --blocks 1000000 --replicates 1 --methods bliss hsa loewe zip
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


def blocks(nb, seed=1, replicates=3):
    rng = np.random.default_rng(seed)
    lv = np.array([0, 0.1, 0.3, 1, 3, 10.0])
    a, b = np.meshgrid(lv, lv, indexing="ij")
    a, b = np.repeat(a.ravel(), replicates), np.repeat(b.ravel(), replicates)
    e = 100 * (1 - 1 / (1 + a ** 1.2) / (1 + (b / 2) ** 1.5))
    return pd.DataFrame({"block": np.repeat(np.arange(nb), a.size), "a": np.tile(a, nb), "b": np.tile(b, nb),
                         "rep": np.tile(np.arange(a.size) % replicates, nb),
                         "inh": np.tile(e, nb) + rng.normal(0, 4, nb * a.size)})


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def _peak_rss_bytes():
    """Peak resident memory of this process (bytes; Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def on_cluster(k, work, warm=None):
    """Run ``work(client)`` on a fresh LocalCluster of ``k`` single-threaded worker processes:
    (seconds, result, the largest resident memory of a worker in bytes, sampled every 50 ms).
    ``warm(client)`` runs first, untimed (imports and compiled caches in the new workers).

    The workers' own ``ru_maxrss`` would not do: a worker process is spawned (fork + exec) from
    this process, and Linux carries the parent's peak at the fork into the child's."""
    import threading

    import psutil
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cl, Client(cl) as client:
        if warm is not None:
            warm(client)
        procs = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
        peak = [max(p.memory_info().rss for p in procs)]
        done = threading.Event()

        def sample():
            while not done.wait(0.05):
                try:
                    peak[0] = max(peak[0], *(p.memory_info().rss for p in procs))
                except psutil.Error:      # a worker that died: the call will say so
                    pass

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        try:
            t, out = timed(lambda: work(client))
        finally:
            done.set()
            th.join()
    return t, out, peak[0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20_000, help="curves")
    ap.add_argument("--blocks", type=int, default=2_000, help="6x6 blocks")
    ap.add_argument("--methods", nargs="+", default=["bliss", "hsa"], help="synergy methods")
    ap.add_argument("--replicates", type=int, default=3, help="replicates per well of the blocks")
    ap.add_argument("--npartitions", type=int, default=None,
                    help="partitions (default: comboplan's, at most ROWS_PER_PARTITION rows each)")
    ap.add_argument("--parts", nargs="+", choices=["fits", "synergy"], default=["fits", "synergy"],
                    help="which calls to time (the exit status checks only these)")
    ap.add_argument("--no-in-memory", action="store_true",
                    help="skip the in-memory path (and the equality check); ratios to it are then NaN")
    args = ap.parse_args(argv)
    import comboplan as cp
    from comboplan import distributed as cd

    warnings.simplefilter("ignore")
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    cdf = curves(args.n) if "fits" in args.parts else None
    bdf = blocks(args.blocks, replicates=args.replicates) if "synergy" in args.parts else None
    skw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0, methods=tuple(args.methods))
    nan = float("nan")
    t_fit = t_syn = nan
    mem = None
    do_fit, do_syn = "fits" in args.parts, "synergy" in args.parts
    if not args.no_in_memory:
        # warmed as the workers are, by a small call of the same kind
        if do_fit:
            cp.fit_dose_response(cdf[cdf.curve_id < 8], dose="dose", response="resp", by="curve_id")
        if do_syn:
            cp.synergy(bdf[bdf.block < 8], **skw)
        if do_fit:
            t_fit, mem = timed(lambda: cp.fit_dose_response(cdf, dose="dose", response="resp", by="curve_id"))
            mem = mem.params
        if do_syn:
            t_syn, out = timed(lambda: cp.synergy(bdf, **skw))
            del out
    rows = [("in-memory", t_fit, t_syn, nan, nan)]
    for k in (1, 2):
        # each worker warmed by a small call of the same kind (a user's second call on a cluster)
        cw = cdf[cdf.curve_id < 8 * k] if do_fit else None
        bw = bdf[bdf.block < 8 * k] if do_syn else None
        tf = ts = mf = ms = nan
        if do_fit:
            tf, res, mf = on_cluster(k, lambda c: cd.fit_dose_response(cdf, dose="dose", response="resp",
                                                                       by="curve_id", client=c,
                                                                       npartitions=args.npartitions),
                                     lambda c: cd.fit_dose_response(cw, dose="dose", response="resp", by="curve_id",
                                                                    client=c))
            if mem is not None:
                assert res.params.equals(mem), "distributed fits differ from in-memory"
            del res
        if do_syn:
            ts, out, ms = on_cluster(k, lambda c: cd.synergy(bdf, client=c, npartitions=args.npartitions, **skw),
                                     lambda c: cd.synergy(bw, client=c, **skw))
            del out
        rows.append((f"LocalCluster {k} worker(s)", tf, ts, mf, ms))
    print(f"{args.n} hill4 curves (8 doses x 3); {args.blocks} 6x6 blocks x {args.replicates} replicate(s), methods "
          f"{', '.join(args.methods)}; partitions: {args.npartitions or 'default'}")
    print(f"{'path':<26}{'curves/s':>12}{'blocks/s':>12}{'fit ratio':>11}{'synergy ratio':>15}"
          f"{'worker peak MB (fit, synergy)':>32}")
    for name, tf, ts, mf, ms in rows:
        print(f"{name:<26}{args.n / tf:>12.0f}{args.blocks / ts:>12.0f}{t_fit / tf:>11.2f}{t_syn / ts:>15.2f}"
              f"{mf / 2**20:>16.0f}{ms / 2**20:>10.0f}")
    sf, ss = rows[1][1] / rows[2][1], rows[1][2] / rows[2][2]
    peak = np.nanmax([v for r in rows[1:] for v in (r[3], r[4])])
    print(f"2 vs 1 worker: fits {sf:.2f}x, synergy {ss:.2f}x (target >= 1.7x); "
          f"largest worker peak {peak / 2**30:.2f} GB (target <= 2 GB)")
    print(f"client peak resident memory {_peak_rss_bytes() / 2**30:.2f} GB")
    print(f"load average after: {os.getloadavg()}")
    ok = (not do_fit or sf >= 1.7) and (not do_syn or ss >= 1.7) and peak <= 2 * 2**30
    print("targets: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
