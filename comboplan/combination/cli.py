"""``comboplan synergy``: score a combination table from the command line."""
from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

from ..cli import add_dask_options, add_table_format, dask_client, nonnegative_int, save_table, table_file

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``synergy`` sub-command to the comboplan CLI."""
    p = subparsers.add_parser(
        "synergy", help="Bliss/HSA/Loewe/ZIP synergy scores (and optional Chou-Talalay CI, MuSyC)",
        description="Score a tidy combination table (one row per well). Positive excess = synergy; "
                    "CI < 1 = synergy. Writes cells.csv, blocks.csv, monotherapy.csv and heatmaps "
                    "(.parquet with --table-format parquet). With --scheduler/--workers the blocks are scored "
                    "on Dask (comboplan.distributed.synergy; --by required); --chou-talalay and --musyc run "
                    "in memory.")
    p.add_argument("data", help="tidy CSV or Parquet file, or a SynergyFinder long-format file with --synergyfinder")
    p.add_argument("--doses", nargs="+", help="dose column per agent (not needed with --synergyfinder)")
    p.add_argument("--response", help="response column")
    p.add_argument("--by", nargs="*", default=None, help="block columns")
    p.add_argument("--replicate", default=None, help="replicate column (required if cells repeat)")
    # Options left out are not passed: comboplan.synergy()'s own defaults apply (one source of truth).
    api = "(default: as comboplan.synergy())"
    p.add_argument("--methods", nargs="+", default=argparse.SUPPRESS, choices=["bliss", "hsa", "loewe", "zip"],
                   help=f"reference models {api}")
    p.add_argument("--response-kind", choices=["inhibition", "viability"], default=argparse.SUPPRESS, help=api)
    p.add_argument("--scale", choices=["percent", "fraction"], default=argparse.SUPPRESS, help=api)
    p.add_argument("--monotherapy", choices=["observed", "fitted"], default=argparse.SUPPRESS, help=api)
    p.add_argument("--baseline-correction", action="store_true", default=argparse.SUPPRESS,
                   help="SynergyFinder's baseline correction")
    p.add_argument("--n-boot", type=nonnegative_int, default=argparse.SUPPRESS, help=f"bootstrap resamples {api}")
    p.add_argument("--ci", "--ci-level", dest="ci", type=float, default=argparse.SUPPRESS,
                   help=f"confidence level in (0, 1) {api}")
    p.add_argument("--seed", type=nonnegative_int, default=None)
    p.add_argument("--inference", choices=["auto", "bootstrap", "delta"], default=argparse.SUPPRESS,
                   help=f"cell-wise uncertainty {api}")
    p.add_argument("--zip-version", choices=["3", "2"], default=argparse.SUPPRESS,
                   help=f"ZIP as SynergyFinder >= 3.0 or as SynergyFinder 1-2 {api}")
    p.add_argument("--errors", choices=["warn", "raise"], default=argparse.SUPPRESS,
                   help=f"a block a method cannot score: rows with status/message (warn) or stop (raise) {api}")
    p.add_argument("--chou-talalay", action="store_true", help="also run the Chou-Talalay CI analysis")
    p.add_argument("--musyc", action="store_true", help="also fit MuSyC")
    p.add_argument("--synergyfinder", action="store_true", help="input is SynergyFinder long format")
    p.add_argument("-o", "--output", default="synergy_output", help="output directory")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (shown for large screens: chunks in memory, partitions on Dask)")
    add_table_format(p)
    add_dask_options(p)
    p.set_defaults(func=run)


_API_OPTIONS = ("methods", "response_kind", "scale", "monotherapy", "baseline_correction", "n_boot", "ci",
                "inference", "zip_version", "errors")


def _given(args, func, only=None, data_from=None) -> dict:
    """The options given on the command line that ``func`` takes (``ci`` as ``ci_level`` where so named).

    ``response_kind`` and ``scale`` describe the data, so every analysis gets the same: the
    given value, else ``data_from``'s default (``synergy``'s).
    """
    params = inspect.signature(func).parameters
    ref = inspect.signature(data_from).parameters if data_from is not None else {}
    out = {}
    for name in only or _API_OPTIONS:
        if name not in vars(args):
            if name in ("response_kind", "scale") and name in ref and name in params:
                out[name] = ref[name].default
            continue
        value = getattr(args, name)
        if name == "methods":
            value = tuple(value)
        key = "ci_level" if name == "ci" and "ci_level" in params else name
        if key in params:
            out[key] = value
    return out


def run(args) -> int:
    """Execute ``comboplan synergy``; returns the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of the ``synergy`` sub-command.

    Returns
    -------
    int
        0 on success.
    """

    from ..data.io import read_table
    from ..exceptions import DataError
    from .api import chou_talalay, fit_musyc, synergy
    from .io import read_synergyfinder

    out = Path(args.output)
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
    given = _given(args, synergy)
    with dask_client(args) as client:
        if client is None:
            res = synergy(df, doses=doses, response=response, by=by, seed=args.seed, replicate=replicate,
                          progress=not args.no_progress, **given)
        else:
            if not by:
                raise DataError("--scheduler/--workers need --by: the blocks are what is spread over the workers.")
            from ..distributed import synergy as synergy_on_dask

            defaults = {k: v.default for k, v in inspect.signature(synergy).parameters.items()
                        if k in ("methods", "n_boot")}   # the in-memory defaults, not the Dask function's
            res = synergy_on_dask(df, doses=doses, response=response, by=by, seed=args.seed, replicate=replicate,
                                  client=client, progress=not args.no_progress, **{**defaults, **given})
    out.mkdir(parents=True, exist_ok=True)
    save_table(res.cells, table_file(out, "cells", args))
    save_table(res.blocks, table_file(out, "blocks", args))
    save_table(res.monotherapy, table_file(out, "monotherapy", args))
    (out / "settings.json").write_text(json.dumps(res.settings, default=str, indent=2))
    print(res.summary())
    if args.chou_talalay:
        ct = chou_talalay(df, doses=doses, response=response, by=by, replicate=replicate,
                          **_given(args, chou_talalay, ("response_kind", "scale", "ci", "errors"), synergy))
        save_table(ct.params, table_file(out, "chou_talalay_params", args))
        save_table(ct.points, table_file(out, "chou_talalay_points", args))
        save_table(ct.levels, table_file(out, "chou_talalay_levels", args))
        print(ct.summary())
    if args.musyc:
        mu = fit_musyc(df, doses=doses, response=response, by=by, replicate=replicate, seed=args.seed,
                       **_given(args, fit_musyc, ("response_kind", "scale", "errors"), synergy))
        save_table(mu.params, table_file(out, "musyc_params", args))
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
