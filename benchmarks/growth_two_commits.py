"""``bench_growth``'s one-study row (``fit_growth_mixed`` + ``invivo_synergy``, gls backend, 28 animals
x 4 arms x 5 days) at two commits, interleaved.

Each round runs, for each of two source trees, one fresh process that simulates the same study
(``bench_growth.simulate``, seed 0), warms up, and times the two calls (best of 10); the trees
alternate round by round so slow periods of a shared machine fall on both.  Prints per tree the
median and minimum over rounds and the ratio of the medians (new / old).

    .venv/bin/python benchmarks/growth_two_commits.py OLD_TREE NEW_TREE [--rounds 6]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when the new tree's median is more than ``--tolerance`` (default 10 %) slower.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _two_trees import interleaved, report_rows  # noqa: E402

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, %(here)r)
import numpy as np
from bench_growth import simulate, frame
from comboplan.growth.api import fit_growth_mixed
from comboplan.growth.synergy import invivo_synergy
sizes, arm = simulate(np.random.default_rng(0), 1)
df = frame(sizes[0], arm)
f = lambda: (fit_growth_mixed(df, "mouse", "arm", "day", "vol", backend="gls"),
             invivo_synergy(df, "mouse", "arm", "day", "vol", control="control"))
f(); f()
ts = []
for _ in range(10):
    t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
print(json.dumps({"one study fit + synergy (gls)": 1e3 * min(ts)}))
""" % {"here": os.path.dirname(os.path.abspath(__file__))}


def main(argv=None) -> int:
    a, res = interleaved(__doc__, CHILD, 0.10, argv,
                         on_round=lambda r, o, n: print(f"round {r + 1}: old {list(o.values())[0]:.2f} ms, "
                                                        f"new {list(n.values())[0]:.2f} ms", flush=True))
    return report_rows(a, res, digits=2)


if __name__ == "__main__":
    sys.exit(main())
