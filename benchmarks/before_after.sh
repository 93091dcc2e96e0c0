#!/bin/bash
# make bench for two commits, interleaved script by script on one machine (issue 14's
# "make bench before and after the change"):
#     bash benchmarks/before_after.sh BEFORE_COMMIT AFTER_COMMIT [OUT_FOLDER]
# Each commit is exported (git archive) to a temporary folder and run with this checkout's
# .venv and PYTHONPATH pointing at the export; each snapshot's numba caches are warmed once
# (bench_tgi_bayes.py, output discarded) so that both sides are a user's second run.  Every
# bench_*.py of the BEFORE commit runs before, then after; scripts only AFTER has run at the end.
# Outputs: OUT_FOLDER/<script>.<side>.txt (with rc=) and OUT_FOLDER/summary.txt.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
py=$repo/.venv/bin/python
out=${3:-/tmp/bench_before_after}
mkdir -p "$out"
for side in before after; do
  c=$([ $side = before ] && echo "$1" || echo "$2")
  rm -rf "$out/$side" && mkdir -p "$out/$side" && git -C "$repo" archive "$c" | tar -x -C "$out/$side"
  (cd "$out/$side" && MPLBACKEND=Agg PYTHONPATH="$out/$side" timeout 900 "$py" benchmarks/bench_tgi_bayes.py > "$out/warm.$side.txt" 2>&1)
done
run() {  # side script
  local d=$out/$1 s=$2 t0 t1
  t0=$(date +%s.%N)
  (cd "$d" && MPLBACKEND=Agg PYTHONPATH="$d" timeout 1500 "$py" "benchmarks/$s" > "$out/${s%.py}.$1.txt" 2>&1; echo "rc=$?" >> "$out/${s%.py}.$1.txt")
  t1=$(date +%s.%N)
  echo "$s $1 $(echo "$t1 - $t0" | bc) s $(tail -1 "$out/${s%.py}.$1.txt")" | tee -a "$out/summary.txt"
}
for s in $(ls "$out"/before/benchmarks/bench_*.py | xargs -n1 basename); do
  run before "$s"
  [ -f "$out/after/benchmarks/$s" ] && run after "$s"
done
for s in $(ls "$out"/after/benchmarks/bench_*.py | xargs -n1 basename); do
  [ -f "$out/before/benchmarks/$s" ] || run after "$s"
done
