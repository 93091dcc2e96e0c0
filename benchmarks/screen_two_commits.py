"""100,000 seeded 6x6 blocks scored with Bliss + HSA through ``synergy()`` at two commits, interleaved.

Each round runs, for each of two source trees, one fresh process that builds the screen (36 wells
per block, uniform inhibition in percent, seed 0, as ``bench_synergy``'s screen row) and times
``synergy(df, ["A", "B"], "inh", by="block", methods=("bliss", "hsa"), n_boot=0)`` (best of 2);
the trees alternate round by round so slow periods of a shared machine fall on both.  Prints per
tree the median and minimum over rounds and the ratio of the medians (new / old).

    .venv/bin/python benchmarks/screen_two_commits.py OLD_TREE NEW_TREE [--rounds 3]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when the new tree's median is more than ``--tolerance`` (default 5 %) slower.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _two_trees import interleaved, report_rows  # noqa: E402

CHILD = r"""
import json, time, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
import comboplan as cp
n = 100_000
rng = np.random.default_rng(0)
d6 = np.r_[0, np.geomspace(0.1, 10, 5)]
A, B = np.meshgrid(d6, d6, indexing="ij")
df = pd.DataFrame({"block": np.repeat(np.arange(n), 36), "A": np.tile(A.ravel(), n), "B": np.tile(B.ravel(), n),
                   "inh": rng.uniform(0, 100, n * 36)})
ts = []
for _ in range(2):
    t = time.perf_counter()
    cp.synergy(df, ["A", "B"], "inh", by="block", methods=("bliss", "hsa"), n_boot=0)
    ts.append(time.perf_counter() - t)
print(json.dumps({"100,000 6x6 blocks Bliss+HSA": 1e3 * min(ts)}))
"""


def main(argv=None) -> int:
    a, res = interleaved(__doc__, CHILD, 0.05, argv)
    return report_rows(a, res, digits=0)


if __name__ == "__main__":
    sys.exit(main())
