"""Two rows of ``bench_synergy`` at two commits, interleaved: the two single-agent Hill fits of the
8x8 matrix (``fit_hill``) and Loewe on the noisy 8x8 matrix through ``score_matrix()``.

Each round runs, for each of two source trees, one fresh process that times both calls (best of
200 after 20 warm-up calls, the way ``bench_synergy`` times them); the trees alternate round by
round so slow periods of a shared machine fall on both.  Prints per tree and row the median and
minimum over rounds and the ratio of the medians (new / old).

    .venv/bin/python benchmarks/synergy_rows_two_commits.py OLD_TREE NEW_TREE [--rounds 6]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when a row's median is more than ``--tolerance`` (default 5 %) slower in the new tree.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _two_trees import interleaved, report_rows  # noqa: E402

CHILD = r"""
import json, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from comboplan.combination import score_matrix
from comboplan.combination.fits import fit_hill
from comboplan.models.dose_response import hill


def best_of(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


d = np.r_[0, np.geomspace(0.05, 20, 7)]
X1, X2 = np.meshgrid(d, d, indexing="ij")
inh = 100 * (1 - (1 - hill(X1, 0, 1, 1, 1.2)) * (1 - hill(X2, 0, 0.8, 2, 1.0))) + 5 * (X1 > 0) * (X2 > 0)
a, b = X1.ravel(), X2.ravel()
vn = 1 - (inh.ravel() + np.random.default_rng(7).normal(0, 3.0, inh.size)) / 100
X = np.vstack([a[b == 0], b[a == 0]])
Y = np.vstack([inh.ravel()[b == 0], inh.ravel()[a == 0]])
loewe = lambda: score_matrix(a, b, vn, "loewe", response_kind="viability", scale="fraction")
fits = lambda: fit_hill(X, Y)
for _ in range(20):
    loewe()
    fits()
print(json.dumps({"2 single-agent Hill fits": 1e3 * best_of(fits, 200),
                  "Loewe 8x8 noisy score_matrix()": 1e3 * best_of(loewe, 200)}))
"""


def main(argv=None) -> int:
    a, res = interleaved(__doc__, CHILD, 0.05, argv)
    return report_rows(a, res, digits=3)

if __name__ == "__main__":
    sys.exit(main())
