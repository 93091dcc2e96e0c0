"""``comboplan synergy``: score a combination table from the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``synergy`` sub-command to the comboplan CLI."""
    p = subparsers.add_parser(
        "synergy", help="Bliss/HSA/Loewe/ZIP synergy scores (and optional Chou-Talalay CI, MuSyC)",
        description="Score a tidy combination table (one row per well). Positive excess = synergy; "
                    "CI < 1 = synergy. Writes cells.csv, blocks.csv, monotherapy.csv and heatmaps.")
    p.add_argument("data", help="tidy CSV file, or a SynergyFinder long-format CSV with --synergyfinder")
    p.add_argument("--doses", nargs="+", help="dose column per agent (not needed with --synergyfinder)")
    p.add_argument("--response", help="response column")
    p.add_argument("--by", nargs="*", default=None, help="block columns")
    p.add_argument("--replicate", default=None, help="replicate column (required if cells repeat)")
    p.add_argument("--methods", nargs="+", default=["bliss", "hsa", "loewe", "zip"])
    p.add_argument("--response-kind", choices=["inhibition", "viability"], default="inhibition")
    p.add_argument("--scale", choices=["percent", "fraction"], default="percent")
    p.add_argument("--monotherapy", choices=["observed", "fitted"], default="observed")
    p.add_argument("--baseline-correction", action="store_true")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--ci", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--inference", choices=["bootstrap", "delta"], default="bootstrap")
    p.add_argument("--zip-version", choices=["3", "2"], default="3",
                   help="ZIP as SynergyFinder >= 3.0 (default) or as SynergyFinder 1-2")
    p.add_argument("--errors", choices=["warn", "raise"], default="warn",
                   help="a block a method cannot score: rows with status/message (warn) or stop (raise)")
    p.add_argument("--chou-talalay", action="store_true", help="also run the Chou-Talalay CI analysis")
    p.add_argument("--musyc", action="store_true", help="also fit MuSyC")
    p.add_argument("--synergyfinder", action="store_true", help="input is SynergyFinder long format")
    p.add_argument("-o", "--output", default="synergy_output", help="output directory")
    p.add_argument("--no-plots", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    """Execute ``comboplan synergy``; returns the exit status."""

    from ..data.io import read_table
    from ..exceptions import DataError
    from .api import chou_talalay, fit_musyc, synergy
    from .io import read_synergyfinder

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if args.synergyfinder:
        df = read_synergyfinder(args.data)
        doses, response = ["conc_row", "conc_col"], "response"
        by = ["block", "drug_row", "drug_col"]
        replicate = "replicate"
    else:
        df = read_table(args.data)
        if not args.doses or not args.response:
            raise DataError("--doses and --response are required for a tidy CSV (or pass --synergyfinder).")
        doses, response, by, replicate = args.doses, args.response, args.by, args.replicate
    res = synergy(df, doses=doses, response=response, by=by, methods=tuple(args.methods),
                  response_kind=args.response_kind, scale=args.scale, monotherapy=args.monotherapy,
                  baseline_correction=args.baseline_correction, n_boot=args.n_boot, ci=args.ci, seed=args.seed,
                  replicate=replicate, inference=args.inference, zip_version=args.zip_version, errors=args.errors)
    res.cells.to_csv(out / "cells.csv", index=False)
    res.blocks.to_csv(out / "blocks.csv", index=False)
    res.monotherapy.to_csv(out / "monotherapy.csv", index=False)
    (out / "settings.json").write_text(json.dumps(res.settings, default=str, indent=2))
    print(res.summary())
    if args.chou_talalay:
        ct = chou_talalay(df, doses=doses, response=response, by=by, response_kind=args.response_kind,
                          scale=args.scale, replicate=replicate, ci=args.ci, errors=args.errors)
        ct.params.to_csv(out / "chou_talalay_params.csv", index=False)
        ct.points.to_csv(out / "chou_talalay_points.csv", index=False)
        ct.levels.to_csv(out / "chou_talalay_levels.csv", index=False)
        print(ct.summary())
    if args.musyc:
        mu = fit_musyc(df, doses=doses, response=response, by=by, replicate=replicate, seed=args.seed,
                       response_kind=args.response_kind, scale=args.scale, errors=args.errors)
        mu.params.to_csv(out / "musyc_params.csv", index=False)
        print(mu.summary())
    if not args.no_plots and len(doses) == 2:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        nblocks = len(res.blocks) // len(res.settings["methods"])
        for m in res.settings["methods"]:
            for b in range(nblocks):
                try:
                    ax = res.plot(m, kind="heatmap", block=b)
                except DataError:
                    continue
                ax.figure.savefig(out / f"heatmap_{m}_block{b}.png", dpi=100)
                plt.close(ax.figure)
    print(f"wrote tables and plots to {out}/", file=sys.stdout)
    return 0
