"""``bench_simulate``'s two rows at two commits, interleaved: 100,000 PK-driven Simeoni trajectories
(best of 3) and the power of 1,000 simulated 28-animal studies with the mixed-model Bliss test.

Each round runs, for each of two source trees, one fresh process that builds ``bench_simulate``'s
inputs, warms up and times both calls; the trees alternate round by round so slow periods of a
shared machine fall on both.  Prints per tree the median and minimum over rounds and the ratio of
the medians (new / old).

    .venv/bin/python benchmarks/simulate_two_commits.py OLD_TREE NEW_TREE [--rounds 6]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when a new tree's median is more than ``--tolerance`` (default 10 %) slower.
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
import comboplan.simulate as cs
from bench_simulate import power_inputs, trajectory_inputs
t, g, ex, eff, lam, k2, pk, reg = trajectory_inputs()
cs.simulate_growth(t, g, ex, eff, params={"lambda0": lam[:1000]}, potencies={"paclitaxel": k2[:1000]})
best = np.inf
for _ in range(3):
    t0 = time.perf_counter()
    cs.simulate_growth(t, g, ex, eff, params={"lambda0": lam}, potencies={"paclitaxel": k2})
    best = min(best, time.perf_counter() - t0)
model, arms, kw = power_inputs(pk, reg)
cs.study_power(model, arms, 7, [0, 7, 14, 21], analysis="bliss", n_studies=20, **kw)
t0 = time.perf_counter()
cs.study_power(model, arms, 7, [0, 7, 14, 21], analysis="bliss", n_studies=1000, **kw)
tp = time.perf_counter() - t0
print(json.dumps({"100,000 PK-driven trajectories": 1e3 * best, "power of 1,000 studies": 1e3 * tp}))
""" % {"here": os.path.dirname(os.path.abspath(__file__))}


def main(argv=None) -> int:
    a, res = interleaved(__doc__, CHILD, 0.10, argv,
                         on_round=lambda r, o, n: print(f"round {r + 1}: old {o}, new {n}", flush=True))
    return report_rows(a, res, digits=1)


if __name__ == "__main__":
    sys.exit(main())
