"""Run every benchmark script (benchmarks/bench_*.py) in turn and print their reports.

    python benchmarks/run_all.py            # all
    python benchmarks/run_all.py growth     # only scripts whose name contains 'growth'

The Bayesian calibration study (benchmarks/calibration_bayes.py) is long and runs only when
named explicitly: python benchmarks/run_all.py calibration
"""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [p for p in sorted(HERE.glob("*.py")) if p.name != "run_all.py" and any(a in p.name for a in argv)]
    rc = 0
    for p in scripts:
        print(f"\n===== {p.name} =====", flush=True)
        env = {**os.environ, "MPLBACKEND": "Agg"}
        rc |= subprocess.call([sys.executable, str(p)], env=env)
    return rc


if __name__ == "__main__":
    sys.exit(main())
