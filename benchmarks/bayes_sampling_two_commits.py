"""nutpie sampling of the Bayesian growth model (``bench_bayes``'s fit) at two commits, interleaved.

Each round runs, for each of two source trees, one fresh process that fits the three
``bench_bayes`` data sets (``simulate_growth_study(200..202)``, 4 chains x 1000 + 1000 draws,
nutpie on the numba kernel) and reports per data set the sampling time (nutpie's own
``sampling_seconds``), the number of leapfrog steps of the kept draws and the posterior mean of
the interaction.  The two trees alternate round by round, so slow periods of a shared machine
fall on both.  Printed: per tree the median and minimum over rounds of the summed sampling time,
the ratio of the medians, and whether both trees drew the same chains (same step counts and
bit-equal posterior means), i.e. whether a difference in time can come from the sampler's path.

    .venv/bin/python benchmarks/bayes_sampling_two_commits.py OLD_TREE NEW_TREE [--rounds 6]

A tree is a directory holding a ``comboplan`` package (e.g. ``git archive REV | tar -x -C DIR``).
Exits 1 when the new tree's median is more than ``--tolerance`` (default 10 %) above the old one's.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _two_trees import interleaved  # noqa: E402

CHILD = r"""
import json, warnings
warnings.simplefilter("ignore")
import numpy as np
import comboplan as cp
from comboplan.fitting.bayes.growth import simulate_growth_study
out = []
for seed in (200, 201, 202):
    df = simulate_growth_study(seed)
    res = cp.bayes.fit_growth(df, subject="mouse", arm="arm", time="day", size="volume_mm3",
                              interaction=("drug_a", "drug_b"), draws=1000, tune=1000, chains=4,
                              sampler="nutpie", seed=seed, target_accept=0.9, check=False)
    out.append({"seed": seed, "sampling_s": res.meta["sampling_seconds"],
                "steps": int(np.asarray(res.idata.sample_stats["n_steps"]).sum()),
                "interaction": float(res.idata.posterior["interaction"].mean())})
print(json.dumps(out))
"""


def main(argv=None) -> int:
    def show(r, old, new):
        print(f"round {r + 1}: old {sum(x['sampling_s'] for x in old):.3f} s, "
              f"new {sum(x['sampling_s'] for x in new):.3f} s", flush=True)

    a, res = interleaved(__doc__, CHILD, 0.10, argv, show)
    tot = {t: np.array([sum(x["sampling_s"] for x in rr) for rr in v]) for t, v in res.items()}
    same = all((x["steps"], x["interaction"]) == (y["steps"], y["interaction"])
               for x, y in zip(res[a.old][0], res[a.new][0]))
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name, t in (("old", a.old), ("new", a.new)):
        print(f"{name} {t}: sampling of 3 data sets, median {np.median(tot[t]):.3f} s, min {tot[t].min():.3f} s "
              f"over {a.rounds} rounds; leapfrog steps {[x['steps'] for x in res[t][0]]}")
    ratio = np.median(tot[a.new]) / np.median(tot[a.old])
    print(f"same chains at both commits (step counts and posterior means bit-equal): {same}")
    print(f"median new / old: {ratio:.3f} (tolerance {1 + a.tolerance:.2f})")
    return 0 if ratio <= 1 + a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
