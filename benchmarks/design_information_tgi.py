"""How much the recovery runs' design tells about one Simeoni parameter, as a function of its value.

The design of ``calibration_tgi_simeoni.py`` / ``calibration_tgi_bayes_ode.py`` (4 arms x 7 mice,
caliper days 0-28, paclitaxel 10 mg/kg IP weekly, secretome 3x/week, caliper log-SD 0.15) at
the true parameters, except the one parameter (default ``k1``) moved over a grid.  For each
value, the expected Fisher information of the typical animal's log sizes (first-order: no
between-animal variability, no censoring; 7 animals per arm; derivatives by central differences
of ``comboplan.simulate`` at ``max_step=0.05``) over the seven structural parameters (log w0,
log lambda0, log lambda1, log k1, log potencies, gamma) gives the standard error of the log
parameter with the others estimated (marginal) and with the others known.

It answers one question: is the information about the parameter highest where its true value
lies?  If it is, an estimate on either side of the truth sees a likelihood that is steep
towards the truth and flat away from it, so equal-tailed likelihood or posterior intervals
stop short of the truth more often than their level says (``docs/benchmarks.md``, Bayesian
ODE recovery).  No target: a diagnostic; it prints the table and exits 0.

    .venv/bin/python benchmarks/design_information_tgi.py [--param k1] [--grid 0.2 0.3 0.5 0.7 1 1.4 2 3 5 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _studies import DAYS, tgi_arms  # noqa: E402

TRUE = {"w0": 80.0, "lambda0": 0.25, "lambda1": 60.0, "k1": 1.0, "potency.paclitaxel": 0.5,
        "potency.secretome": 0.1, "interaction.gamma": 0.5}
SIGMA = 0.15            # caliper log-SD of the recovery runs
N_PER_ARM = 7
LOG_PARAMS = ["w0", "lambda0", "lambda1", "k1", "potency.paclitaxel", "potency.secretome"]


def log_sizes(p, arms, pk):
    """Log tumour size (mm^3) of the typical animal of every arm at the caliper days."""
    import comboplan.simulate as cs
    from comboplan.simulate.pd import Effect, GrowthModel, Interaction

    g = GrowthModel("simeoni", {k: p[k] for k in ("lambda0", "lambda1", "k1", "w0")}, n_transit=3)
    m = cs.PKPDModel(growth=g, effects={"paclitaxel": Effect("paclitaxel", p["potency.paclitaxel"]),
                                        "secretome": Effect("secretome", p["potency.secretome"])},
                     interaction=Interaction(gamma=p["interaction.gamma"]), pk=pk)
    r = cs.simulate_cohort(m, list(arms.values()), DAYS, n_animals=1, seed=0, max_step=0.05)
    return np.log(r.to_frame()["size"].to_numpy())


def information(p, arms, pk, h=1e-4):
    """Expected Fisher information (7 x 7) of the design at ``p``: log scale for the positive
    parameters, natural scale for gamma."""
    cols = []
    for nm in LOG_PARAMS + ["interaction.gamma"]:
        if nm == "interaction.gamma":
            up, dn = dict(p, **{nm: p[nm] + h}), dict(p, **{nm: p[nm] - h})
        else:
            up, dn = dict(p, **{nm: p[nm] * np.exp(h)}), dict(p, **{nm: p[nm] * np.exp(-h)})
        cols.append((log_sizes(up, arms, pk) - log_sizes(dn, arms, pk)) / (2 * h))
    J = np.column_stack(cols)
    return N_PER_ARM * J.T @ J / SIGMA ** 2


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--param", default="k1", choices=LOG_PARAMS)
    ap.add_argument("--grid", type=float, nargs="+", default=None,
                    help="values of the parameter (default 0.2 to 10 times its true value)")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    arms, pk = tgi_arms()
    j = LOG_PARAMS.index(a.param)
    grid = a.grid or [TRUE[a.param] * f for f in (0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 10.0)]
    print(f"design of the recovery runs (4 arms x {N_PER_ARM} mice, days {DAYS}, log-SD {SIGMA}); "
          f"{a.param} moved, the rest at the truth {TRUE}")
    print(f"{a.param:>10}  {'SE(log ' + a.param + '), others estimated':>34}  {'others known':>13}")
    ses = []
    for v in grid:
        F = information(dict(TRUE, **{a.param: v}), arms, pk)
        try:
            se = float(np.sqrt(np.linalg.inv(F)[j, j])) if np.linalg.cond(F) < 1e13 else np.inf
        except np.linalg.LinAlgError:
            se = np.inf          # some parameter is not identified at this value (e.g. no switch to linear growth)
        ses.append(se)
        marg = f"{se:.3f}" if np.isfinite(se) else "not identified"
        print(f"{v:10.3g}  {marg:>34}  {1 / np.sqrt(F[j, j]):13.3f}")
    best = grid[int(np.argmin(ses))]
    print(f"smallest marginal SE at {a.param} = {best:g} (true value {TRUE[a.param]:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
