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
