"""The 10,000-curve batch fit of ``bench_dose_response`` at two commits, interleaved.

Each round runs, for each of two source trees, one fresh process that fits the same 10,000 seeded
hill4 curves (8 doses x 3 replicates, ``bench_dose_response.make``) with
``comboplan.fitting.batch.fit_curves`` (best of 3 after one warm-up call) and with the fall-backs
of ``fit_dose_response`` turned on (``multistart=True``, best of 3); the trees alternate round by
round so slow periods of a shared machine fall on both.  Prints per tree and row the median and
minimum over rounds and the ratio of the medians (new / old).

    .venv/bin/python benchmarks/batch_engine_two_commits.py OLD_TREE NEW_TREE [--rounds 4]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when a row's median is more than ``--tolerance`` (default 5 %) slower in the new tree.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _two_trees import interleaved, report_rows  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, %r)
from bench_dose_response import make
from comboplan.models.dose_response import HILL4
from comboplan.fitting.batch import fit_curves
x, y = make(10000)
fit_curves(HILL4, x[:50], y[:50])
out = {}
for label, kw in (("fit_curves, 10,000 hill4 curves", {}), ("same, multistart=True", {"multistart": True})):
    ts = []
    for _ in range(3):
        t = time.perf_counter()
        bf = fit_curves(HILL4, x, y, **kw)
        ts.append(time.perf_counter() - t)
    assert bf.converged.all()
    out[label] = 1e3 * min(ts)
print(json.dumps(out))
""" % HERE


def main(argv=None) -> int:
    a, res = interleaved(__doc__, CHILD, 0.05, argv)
    return report_rows(a, res, digits=1)

if __name__ == "__main__":
    sys.exit(main())
