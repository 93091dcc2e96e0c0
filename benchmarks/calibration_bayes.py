"""Calibration of the hierarchical Bayesian growth model: coverage of 90 % credible intervals.

Simulates ``--datasets`` seeded 2x2 factorial xenograft studies (28 mice: 4 arms x 7,
5 measurement days, the defaults of ``simulate_growth_study``) from fixed true
parameters, fits each with the hierarchical model and counts how often the central
90 % credible interval contains the truth, for the four arm growth rates and the
interaction term (target 85-95 %).  The model is compiled once
(``GrowthRefitter``) and re-used for every data set.

Usage::

    python benchmarks/calibration_bayes.py                      # 100 data sets, 4 chains x 500 draws
    python benchmarks/calibration_bayes.py --datasets 50 --draws 1000 --tune 1000
    python benchmarks/calibration_bayes.py --lloq 40            # with left-censoring below 40 mm3
    python benchmarks/calibration_bayes.py --lloq 40 --naive    # same data, LLOQ values fitted as measured
    python benchmarks/calibration_bayes.py --model dose --datasets 100   # hierarchical Hill + Bliss kappa

Prints a table and writes ``bench_output/calibration_bayes.csv`` (per data set).
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=100)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--tune", type=int, default=500)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--lloq", type=float, default=None, help="detection limit (mm3); sizes below are censored")
    ap.add_argument("--naive", action="store_true",
                    help="with --lloq: record censored sizes as the LLOQ and fit them as measured (shows the bias)")
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--out", default="bench_output")
    ap.add_argument("--model", choices=("growth", "dose"), default="growth",
                    help="'dose': hierarchical Hill + Bliss combination (3 experiments, 5x5 dose grid)")
    args = ap.parse_args(argv)
    if args.model == "dose":
        return _dose(args)

    from comboplan.fitting.bayes.growth import GrowthRefitter, simulate_growth_study

    truth_kw = dict(r_control=0.15, effect_A=-0.05, effect_B=-0.06, interaction=-0.03, sigma_animal=0.02,
                    sigma=0.15, sigma_baseline=0.2)
    if args.lloq is not None:  # a regressing combination so that censoring matters
        truth_kw.update(effect_A=-0.1, effect_B=-0.1, interaction=-0.08, r_control=0.12)
    cols = dict(subject="mouse", arm="arm", time="day", size="volume_mm3")
    opts = dict(interaction=("drug_a", "drug_b"), draws=args.draws, tune=args.tune, chains=args.chains,
                ci_level=args.level)
    t0 = time.perf_counter()
    rows = []
    refitters = {}
    a = (1 - args.level) / 2
    for i in range(args.datasets):
        seed = args.first_seed + i
        df = simulate_growth_study(seed, lloq=args.lloq, **truth_kw)
        truth = df.attrs["truth"]
        key = int(df["below_lloq"].sum())
        lloq = args.lloq
        if args.naive and args.lloq is not None:
            df = df.assign(volume_mm3=df["volume_mm3"].where(~df["below_lloq"], args.lloq))
            key, lloq = 0, None
        if key not in refitters:  # one model per number of censored values (same design)
            refitters[key] = GrowthRefitter(df, **cols, lloq=lloq, **opts)
        res = refitters[key].fit(df, seed=seed, check=False)
        post = res.idata.posterior
        row = {"seed": seed, "n_censored": key, "divergences": res.diagnostics.n_divergent,
               "max_rhat": float(res.diagnostics.table["r_hat"].max()),
               "min_ess_bulk": float(res.diagnostics.table["ess_bulk"].min())}
        targets = {f"r_arm[{k}]": (post["r_arm"].sel(arm=k).values.ravel(), v) for k, v in truth["r_arm"].items()}
        targets["interaction"] = (post["interaction"].values.ravel(), truth["interaction"])
        targets["effect_A"] = (post["effect_A"].values.ravel(), truth["effect_A"])
        targets["effect_B"] = (post["effect_B"].values.ravel(), truth["effect_B"])
        targets["sigma_animal"] = (post["sigma_animal"].values.ravel(), truth["sigma_animal"])
        for name, (x, tv) in targets.items():
            lo, hi = np.quantile(x, [a, 1 - a])
            row[f"cover:{name}"] = bool(lo <= tv <= hi)
            row[f"err:{name}"] = float(np.mean(x) - tv)
        rows.append(row)
    elapsed = time.perf_counter() - t0
    df = pd.DataFrame(rows)
    os.makedirs(args.out, exist_ok=True)
    df.to_csv(os.path.join(args.out, "calibration_bayes.csv"), index=False)
    n = len(df)
    print(f"calibration of {int(args.level * 100)} % central credible intervals over {n} seeded data sets "
          f"(28 mice, 4 arms x 7, 5 days; {args.chains} chains x {args.draws} draws, {args.tune} tune; "
          f"lloq={args.lloq}{', NAIVE: censored values fitted as measured at the LLOQ' if args.naive else ''}); "
          f"{elapsed:.0f} s")
    print(f"{'quantity':<22}{'coverage':>10}{'MC s.e.':>9}{'mean error':>12}")
    cov_cols = [c for c in df.columns if c.startswith("cover:")]
    ok = True
    for c in cov_cols:
        name = c.split(":", 1)[1]
        p = df[c].mean()
        se = np.sqrt(p * (1 - p) / n)
        print(f"{name:<22}{100 * p:>9.1f}%{100 * se:>8.1f}%{df['err:' + name].mean():>12.4f}")
        if name.startswith("r_arm") or name == "interaction":
            ok &= 0.85 <= p <= 0.95
    pooled = df[[c for c in cov_cols if c.startswith("cover:r_arm")]].to_numpy().mean()
    print(f"pooled arm rates: {100 * pooled:.1f}%   interaction: {100 * df['cover:interaction'].mean():.1f}%")
    print(f"divergences: total {int(df['divergences'].sum())} (data sets with any: {(df['divergences'] > 0).sum()}); "
          f"max R-hat {df['max_rhat'].max():.3f}; min bulk ESS {df['min_ess_bulk'].min():.0f}")
    print("targets 85-95 % for arm rates and interaction:", "MET" if ok else "NOT MET")
    return 0


def _dose(args) -> int:
    """Coverage for the hierarchical Hill model with a Bliss interaction (population-level parameters)."""
    import comboplan as cp
    from comboplan.fitting.bayes.dose_response import simulate_dose_response_study

    a = (1 - args.level) / 2
    rows = []
    t0 = time.perf_counter()
    for i in range(args.datasets):
        seed = args.first_seed + i
        df = simulate_dose_response_study(seed, n_groups=3, replicates=1, interaction=1.0,
                                          doses=(0, 0.1, 0.5, 2, 10))
        truth = df.attrs["truth"]
        res = cp.bayes.fit_dose_response(df, dose=("dose_a", "dose_b"), response="viability", group="experiment",
                                         draws=args.draws, tune=args.tune, chains=args.chains, seed=seed,
                                         check=False)
        post = res.idata.posterior
        row = {"seed": seed, "divergences": res.diagnostics.n_divergent,
               "max_rhat": float(res.diagnostics.table["r_hat"].max())}
        targets = {"interaction": (post["interaction"].values.ravel(), truth["interaction"])}
        for k, ag in enumerate(("dose_a", "dose_b")):
            for name in ("ec50", "hill", "imax"):
                targets[f"{name}[{ag}]"] = (post[name].sel(agent=ag).values.ravel(), truth[name][k])
        for name, (x, tv) in targets.items():
            lo, hi = np.quantile(x, [a, 1 - a])
            row[f"cover:{name}"] = bool(lo <= tv <= hi)
        rows.append(row)
    df = pd.DataFrame(rows)
    os.makedirs(args.out, exist_ok=True)
    df.to_csv(os.path.join(args.out, "calibration_bayes_dose.csv"), index=False)
    print(f"calibration of {int(args.level * 100)} % intervals, hierarchical Hill + Bliss kappa, {len(df)} data sets "
          f"(3 experiments, 5x5 grid, 1 well; {args.chains} chains x {args.draws} draws); "
          f"{time.perf_counter() - t0:.0f} s")
    for c in [c for c in df.columns if c.startswith("cover:")]:
        p = df[c].mean()
        print(f"{c.split(':', 1)[1]:<16}{100 * p:>7.1f}%  (MC s.e. {100 * np.sqrt(p * (1 - p) / len(df)):.1f}%)")
    print(f"divergences: total {int(df['divergences'].sum())} (data sets with any: {(df['divergences'] > 0).sum()}); "
          f"max R-hat {df['max_rhat'].max():.3f}")
    return 0


if __name__ == "__main__":
    warnings.simplefilter("ignore", FutureWarning)
    raise SystemExit(main())
