"""Simulation-recovery of the Bayesian ODE fit (``fit_tgi_bayes_ode``, Simeoni TGI with three
transit compartments): coverage of the 90 % equal-tailed credible intervals over many studies.

The studies are those of ``benchmarks/calibration_tgi_simeoni.py`` (same simulator, design, truth and
seeds: 4 arms x 7 mice x 9 caliper days, PK-driven paclitaxel, K-PD secretome, interaction gamma 0.5,
log-normal variability on w0 and lambda0, LLOQ 60 mm^3), so the NLME and Bayesian estimators are
judged on the same data.  Each study is fitted with ``fit_tgi_bayes_ode`` (NUTS, ``--draws`` /
``--tune`` per chain, ``--chains`` chains, the fit's default priors; gamma's prior N(0, 1) shrinks
it towards 0, so gamma's coverage of the fixed truth 0.5 is printed but not judged, as in
``calibration_tgi_bayes.py --gamma fixed``).  Prints per parameter the coverage with its
Monte-Carlo SE, the mean (median - truth) / posterior SD and the fits with divergences or
R-hat > 1.01; exits non-zero when a judged coverage lies outside 85-95 %.  One JSON line per
finished study goes to ``--out``; ``--summarise FILE [FILE ...]`` prints the table of dumps.

``--draw-from-prior k1 interaction.gamma`` is the calibration a credible interval promises
(Cook, Gelman & Rubin 2006; Talts et al. 2018): each study draws the named parameters from the
fit's own priors (log k1 ~ Normal(log 1, 1); gamma ~ Normal(0, 1) truncated at -2), simulates
with them, and is fitted with the priors' centres fixed at the design values
(``prior_centre={typical value: design value}``, data-independent priors, so that the prior
the truths come from is the prior of the fit); the other parameters stay at the design values
(as ``calibration_tgi_bayes.py`` draws gamma alone).  Coverage is then judged for the drawn
parameters too, gamma included.  The truths of every study are recorded in its JSON line.

    .venv/bin/python benchmarks/calibration_tgi_bayes_ode.py N_STUDIES [--workers 2] [--first-seed 3000]
        [--draws 500] [--tune 500] [--chains 2] [--out FILE] [--resume FILE [FILE ...]]
        [--draw-from-prior k1 interaction.gamma]
    .venv/bin/python benchmarks/calibration_tgi_bayes_ode.py --summarise FILE [FILE ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_argv, sys.argv = sys.argv, sys.argv[:1]   # that script reads its own arguments at import
from calibration_tgi_simeoni import LLOQ, TRUE, simulate_study  # noqa: E402

sys.argv = _argv

NOT_JUDGED = ("interaction.gamma",)
#: parameters --draw-from-prior can draw
DRAWABLE = ("k1", "interaction.gamma")
TYPICAL = ("w0", "lambda0", "lambda1", "k1", "potency.paclitaxel", "potency.secretome")


def prior_truth(seed, draw):
    """The study's true values: the design values, with the parameters in ``draw`` drawn from the
    fit's priors centred at the design values (a stream of its own per study seed)."""
    from comboplan.fitting.bayes.tgi_ode import _PRIOR_SD

    truth = dict(TRUE)
    rng = np.random.default_rng([int(seed), 20261207])
    for k in DRAWABLE:                     # fixed order: the draws do not depend on the option's order
        if k not in draw:
            continue
        if k == "interaction.gamma":       # Normal(0, 1) truncated to >= -2 (the fit's default prior)
            g = rng.normal(0.0, 1.0)
            while g < -2.0:
                g = rng.normal(0.0, 1.0)
            truth[k] = float(g)
        else:
            truth[k] = float(TRUE[k] * np.exp(rng.normal(0.0, _PRIOR_SD[k])))
    return truth


def simulate_with(seed, truth):
    """``calibration_tgi_simeoni.simulate_study`` at other true values."""
    from _studies import omega_cvs, simulate_tgi_study

    from comboplan.simulate.pd import GrowthModel

    growth = GrowthModel("simeoni", {k: truth[k] for k in ("lambda0", "lambda1", "k1", "w0")}, n_transit=3)
    return simulate_tgi_study(growth, truth, variability=omega_cvs(truth), cv=truth["sigma.add"], seed=seed,
                              lloq=LLOQ)


def fit_study(seed, draws, tune, chains, sampler_seed=None, draw=()):
    """Study ``seed`` fitted as this run fits it (``fit_tgi_bayes_ode``, the fit's priors, sampler seed
    ``sampler_seed``, default the study's seed); with ``draw``, truths drawn from the priors and the
    prior centres fixed at the design values.  Returns the fit (and, with ``draw``, the truths)."""
    from comboplan.fitting.bayes.tgi_ode import fit_tgi_bayes_ode

    if draw:
        truth = prior_truth(seed, draw)
        df, arms, pk = simulate_with(seed, truth)
        extra = {"prior_centre": {k: TRUE[k] for k in TYPICAL}}
    else:
        df, arms, pk = simulate_study(seed)
        extra = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_tgi_bayes_ode(df, subject="mouse", arm="scenario", time="day", size="volume", treatments=arms,
                                pk=pk, lloq=LLOQ, growth="simeoni", n_transit=3, max_step=0.2, draws=draws,
                                tune=tune, chains=chains, seed=seed if sampler_seed is None else sampler_seed,
                                ci_level=0.90, check=False, **extra)
    return (fit, truth) if draw else fit


def one(seed, draws, tune, chains, draw=()):
    t0 = time.perf_counter()
    b = fit_study(seed, draws, tune, chains, draw=draw)
    truth = None
    if draw:
        b, truth = b
    pop = b.population.set_index("parameter")
    ss = b.idata.sample_stats
    div = int(np.asarray(ss["diverging"]).sum())
    import arviz as az

    rhat = float(np.nanmax(az.rhat(b.idata.posterior).to_array().values))
    steps = float(np.asarray(ss["n_steps"]).mean()) if "n_steps" in ss else float("nan")
    return {"seed": seed, "seconds": time.perf_counter() - t0, "divergences": div, "rhat_max": rhat,
            "sampler": b.settings["sampler"], "draws": draws, "tune": tune, "chains": chains,
            "steps_per_draw": steps, "compile_seconds": b.settings["compile_seconds"],
            "prior_centre_k1": {r["parameter"]: r for r in b.settings["priors"]}.get("k1", {}).get("why", ""),
            "ess_tail": {k: float(pop.loc[k, "ess_tail"]) for k in TRUE if k in pop.index and "ess_tail" in pop},
            "est": {k: [float(pop.loc[k, "estimate"]), float(pop.loc[k, "stderr"]), float(pop.loc[k, "ci_low"]),
                        float(pop.loc[k, "ci_high"])] for k in TRUE if k in pop.index},
            **({"truth": truth, "drawn": sorted(draw), "prior_centre": "design values"} if draw else {})}


def _safe(args):
    try:
        return one(*args)
    except Exception as e:  # a failed fit counts against the fit, not the run
        return {"seed": args[0], "error": f"{type(e).__name__}: {e}"}


def summarise(rows) -> int:
    ok = [r for r in rows if "error" not in r]
    bad = [r for r in rows if "error" in r]
    kinds = {tuple(r.get("drawn", ())) for r in ok}
    if len(kinds) > 1:
        raise SystemExit(f"records of different runs mixed (parameters drawn from the prior: {sorted(kinds)}); "
                         "summarise each kind on its own")
    drawn = kinds.pop() if kinds else ()
    if drawn:
        print(f"truths drawn from the fit's priors for {', '.join(drawn)} (prior centres fixed at the design "
              "values); the table's 'true' column is the design value, coverage uses each study's own truth")
    print(f"{len(rows)} studies (Simeoni TGI, 3 transit compartments, Bayesian NUTS fit); fits that raised: "
          f"{len(bad)}{' (' + bad[0]['error'][:80] + ')' if bad else ''}; with divergences: "
          f"{sum(r['divergences'] > 0 for r in ok)}; R-hat > 1.01: {sum(r['rhat_max'] > 1.01 for r in ok)} "
          f"(not computed for {sum(not np.isfinite(r['rhat_max']) for r in ok)} one-chain fits); "
          f"median {np.median([r['seconds'] for r in ok]) if ok else float('nan'):.0f} s per fit")
    print(f"{'parameter':<22}{'true':>6}{'cover90':>9}{'MC SE':>7}{'z-bias':>8}  (z-bias = mean (median - truth) / posterior SD)")
    fail = False
    for k, t in TRUE.items():
        sel = [r for r in ok if k in r["est"]]
        if not sel:
            continue
        v = np.array([r["est"][k] for r in sel])
        tt = np.array([r.get("truth", TRUE)[k] for r in sel])
        cov = float(np.mean((v[:, 2] <= tt) & (tt <= v[:, 3])))
        mc = float(np.sqrt(0.9 * 0.1 / len(v)))
        z = float(np.mean((v[:, 0] - tt) / v[:, 1]))
        judged = k not in NOT_JUDGED or k in drawn
        miss = judged and not (0.85 <= cov <= 0.95)
        fail |= miss
        print(f"{k:<22}{t:>6g}{cov:>9.3f}{mc:>7.3f}{z:>8.3f}" + ("" if judged else "  (prior-shrunk; not judged)")
              + ("  <-- MISS" if miss else ""))
    print("FAIL" if fail else "PASS")
    return 1 if fail else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--first-seed", type=int, default=3000)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--summarise", nargs="+", default=None)
    ap.add_argument("--draw-from-prior", nargs="+", default=(), choices=DRAWABLE,
                    help="draw these true values per study from the fit's priors (prior centres fixed at the "
                         "design values)")
    ap.add_argument("--resume", nargs="+", default=None,
                    help="record files of an interrupted run: their seeds are not fitted again (their rows count "
                         "in the summary printed at the end)")
    a = ap.parse_args()
    if a.summarise:
        rows = [json.loads(line) for f in a.summarise for line in open(f) if line.strip()]
        return summarise(rows)
    rows = [json.loads(line) for f in (a.resume or []) for line in open(f) if line.strip()]
    done = {r["seed"] for r in rows}
    if {tuple(r.get("drawn", ())) for r in rows if "error" not in r} - {tuple(sorted(a.draw_from_prior))}:
        raise SystemExit("--resume: those records were made with other --draw-from-prior settings")
    draw = tuple(sorted(a.draw_from_prior))
    jobs = [(s, a.draws, a.tune, a.chains, draw) for s in range(a.first_seed, a.first_seed + a.n) if s not in done]
    with ProcessPoolExecutor(a.workers) as ex:
        for k, fu in enumerate(as_completed([ex.submit(_safe, j) for j in jobs]), 1):
            r = fu.result()
            rows.append(r)
            if a.out:
                with open(a.out, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
            print(f"  {k + len(done)}/{a.n} studies done", file=sys.stderr, flush=True)
    return summarise(rows)


if __name__ == "__main__":
    sys.exit(main())
