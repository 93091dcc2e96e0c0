"""Shared by the ``*_two_commits.py`` scripts: one timing child run in a fresh process per source
tree, the trees alternating round by round (so slow periods of a shared machine fall on both)."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def run_in_tree(tree: str, child: str):
    """Run the Python source ``child`` in a fresh process with ``tree`` first on the path; its last
    stdout line, parsed as JSON."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        raise SystemExit(f"{tree}: {p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def interleaved(doc: str, child: str, tolerance: float, argv=None, on_round=None):
    """Parse ``OLD NEW [--rounds] [--tolerance]`` and run ``child`` in both trees, alternating.

    Returns ``(args, {tree: [result of each round]})``; ``on_round(r, old_result, new_result)`` is
    called after each round.
    """
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--tolerance", type=float, default=tolerance)
    a = ap.parse_args(argv)
    res = {a.old: [], a.new: []}
    for r in range(a.rounds):
        for t in (a.old, a.new):
            res[t].append(run_in_tree(t, child))
        if on_round is not None:
            on_round(r, res[a.old][-1], res[a.new][-1])
    return a, res


def report_rows(a, res, digits: int = 3) -> int:
    """Print, per row of the child's JSON (milliseconds), the median and minimum over rounds of each
    tree and the ratio of the medians (new / old); return 1 when a ratio exceeds ``1 + tolerance``."""
    import numpy as np

    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {a.rounds} rounds")
    worst = 0.0
    for row in res[a.old][0]:
        o = np.array([r[row] for r in res[a.old]])
        n = np.array([r[row] for r in res[a.new]])
        ratio = np.median(n) / np.median(o)
        worst = max(worst, ratio)
        print(f"{row:34s} old median {np.median(o):.{digits}f} ms (min {o.min():.{digits}f})  new median "
              f"{np.median(n):.{digits}f} ms (min {n.min():.{digits}f})  new/old {ratio:.3f}")
    return 0 if worst <= 1 + a.tolerance else 1
