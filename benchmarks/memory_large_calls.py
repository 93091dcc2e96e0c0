"""Memory of the two large in-memory calls: how peak memory grows with the number of curves/blocks.

Measures, with :mod:`tracemalloc` (numpy's buffers included), the peak memory allocated during

* ``comboplan.fit_dose_response(df, by="cid")`` on seeded hill4 curves (8 doses x 3 replicates,
  ``bench_dose_response.make``), and
* ``comboplan.synergy(screen, by="block", methods=("bliss", "hsa"), n_boot=0)`` on seeded 6x6
  blocks (as ``bench_synergy``'s screen row), and
* ``comboplan.synergy(screen, by="block", methods=("bliss", "hsa", "loewe", "zip"), n_boot=0)``
  on seeded 6x6 blocks with one replicate per well (``bench_distributed.blocks``; ``fitblocks``),

each at two sizes, in fresh processes, and the memory still held afterwards (the result).  The
growth per curve/block between the two sizes separates what scales with the input from fixed
working memory (one chunk of the batch engine):

* ``peak growth``: (peak(n2) - peak(n1)) / (n2 - n1), bytes per curve or block;
* ``result growth``: the same for the memory the result holds;
* ``transient growth``: the difference, i.e. working memory that grows with the input beyond
  the result itself (the issue 12/15 targets: <= 0.5 KB per curve, <= 2 KB per block).

The input table is built before the measurement and is not counted.  Exits 1 when a transient
growth exceeds its target.  tracemalloc slows allocation-heavy code, so the timings printed are
not those of a plain call.

    .venv/bin/python benchmarks/memory_large_calls.py [--curves 20000 60000] [--blocks 20000 60000]
        [--fit-blocks 10000 30000] [--kinds curves blocks fitblocks]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, time, tracemalloc, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
sys.path.insert(0, %(here)r)
import comboplan as cp
kind, n = sys.argv[1], int(sys.argv[2])
if kind == "curves":
    from bench_dose_response import make
    x, y = make(n)
    df = pd.DataFrame({"cid": np.repeat(np.arange(n), x.shape[1]), "dose": x.ravel(), "resp": y.ravel()})
    del x, y
    call = lambda d: cp.fit_dose_response(d, dose="dose", response="resp", by="cid")
    call(df.iloc[:2400])
elif kind == "fitblocks":
    from bench_distributed import blocks
    df = blocks(n, replicates=1)
    call = lambda d: cp.synergy(d, ["a", "b"], "inh", by="block", methods=("bliss", "hsa", "loewe", "zip"),
                                n_boot=0)
    call(df.iloc[:3600])
else:
    rng = np.random.default_rng(0)
    d6 = np.r_[0, np.geomspace(0.1, 10, 5)]
    A, B = np.meshgrid(d6, d6, indexing="ij")
    df = pd.DataFrame({"block": np.repeat(np.arange(n), 36), "A": np.tile(A.ravel(), n), "B": np.tile(B.ravel(), n),
                       "inh": rng.uniform(0, 100, n * 36)})
    call = lambda d: cp.synergy(d, ["A", "B"], "inh", by="block", methods=("bliss", "hsa"), n_boot=0)
    call(df.iloc[:3600])
tracemalloc.start()
b0 = tracemalloc.get_traced_memory()[0]
t = time.perf_counter()
res = call(df)
secs = time.perf_counter() - t
cur, peak = tracemalloc.get_traced_memory()
print(json.dumps({"n": n, "peak": peak - b0, "held": cur - b0, "seconds": secs,
                  "input": int(df.memory_usage(deep=True).sum())}))
""" % {"here": HERE}

TARGET = {"curves": 512, "blocks": 2048, "fitblocks": 2048}


def measure(kind: str, n: int) -> dict:
    p = subprocess.run([sys.executable, "-c", CHILD, kind, str(n)], capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--curves", type=int, nargs=2, default=[20_000, 60_000])
    ap.add_argument("--blocks", type=int, nargs=2, default=[20_000, 60_000])
    ap.add_argument("--fit-blocks", type=int, nargs=2, default=[10_000, 30_000],
                    help="sizes for synergy with Bliss, HSA, Loewe and ZIP (one replicate per well)")
    ap.add_argument("--kinds", nargs="+", default=["curves", "blocks", "fitblocks"],
                    choices=["curves", "blocks", "fitblocks"])
    a = ap.parse_args(argv)
    ok = True
    sizes = {"curves": a.curves, "blocks": a.blocks, "fitblocks": a.fit_blocks}
    for kind in a.kinds:
        n1, n2 = sizes[kind]
        r1, r2 = measure(kind, n1), measure(kind, n2)
        unit = "curve" if kind == "curves" else "block"
        for r in (r1, r2):
            print(f"{kind} {r['n']:>9,}: peak {r['peak'] / 2**20:8.1f} MiB ({r['peak'] / r['n']:6.0f} B/{unit}), "
                  f"held by the result {r['held'] / 2**20:8.1f} MiB ({r['held'] / r['n']:6.0f} B/{unit}), "
                  f"input {r['input'] / r['n']:5.0f} B/{unit} (not counted); {r['seconds']:.1f} s under tracemalloc")
        dp = (r2["peak"] - r1["peak"]) / (n2 - n1)
        dh = (r2["held"] - r1["held"]) / (n2 - n1)
        fixed = r2["peak"] - dp * n2
        tr = dp - dh
        hit = tr <= TARGET[kind]
        ok &= hit
        print(f"{kind}: peak growth {dp:.0f} B/{unit}, result growth {dh:.0f} B/{unit}, transient growth {tr:.0f} "
              f"B/{unit} (target <= {TARGET[kind]}: {'met' if hit else 'MISSED'}); fixed working memory "
              f"{fixed / 2**20:.1f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
