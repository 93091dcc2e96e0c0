"""``comboplan fit``: fit dose-response curves from a tidy CSV file."""
from __future__ import annotations

import argparse
import sys

from ..cli import add_dask_options, dask_client, save_table

__all__ = ["register"]

_HELP = """\
Fit dose-response curves (Hill / drc log-logistic / Weibull) to a tidy CSV file:
one row per well, with a dose column, a response column and optional grouping
columns (one curve per group).

examples:
  comboplan fit plate.csv --dose conc_uM --response viability --by agent -o params.csv
  comboplan fit plate.csv --dose conc --response inh --model LL.4 --cov hessian --ecx 10 50 90
  comboplan fit big.csv --dose d --response y --by curve_id --netcdf fits.nc --no-progress
  comboplan fit screen.parquet --dose d --response y --by curve_id --workers 2 -o params.parquet
"""


def register(subparsers) -> None:
    """Add the ``fit`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("fit", help="fit dose-response curves (one per --by group)", description=_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="tidy CSV or Parquet file (one row per observation)")
    p.add_argument("--dose", required=True, help="dose / concentration column (natural scale, >= 0)")
    p.add_argument("--response", required=True, help="response column")
    p.add_argument("--by", nargs="*", default=None, help="column(s) identifying separate curves")
    p.add_argument("--model", default="hill4",
                   help="hill4 (default), hill3, hill5, LL.4, LL.3, LL.5, W1.4, W2.4, L.4, L.5, no_effect")
    p.add_argument("--weights", default=None, help="column of observation weights (inverse variances)")
    p.add_argument("--loss", default="linear", choices=["linear", "soft_l1", "huber", "cauchy"])
    p.add_argument("--fix", nargs="*", default=[], metavar="PARAM=VALUE", help="hold parameters fixed, e.g. e0=100")
    p.add_argument("--cov", default="gauss-newton", choices=["gauss-newton", "hessian", "sandwich"],
                   help="covariance estimator (hessian = R drc's standard errors)")
    p.add_argument("--ecx", nargs="*", type=float, default=[50.0],
                   help="ECx levels (percent of effect) to report (default 50); printed, or written with --ecx-output")
    p.add_argument("--ecx-ci", default="delta", choices=["delta", "profile", "bootstrap"])
    p.add_argument("--dose-unit", default=None, help="unit of the dose column, recorded in outputs (e.g. uM)")
    p.add_argument("--response-unit", default=None, help="unit of the response column (e.g. %%)")
    p.add_argument("-o", "--output", default=None,
                   help="file for the parameter table: CSV, or Parquet if it ends in .parquet (default: print)")
    p.add_argument("--ecx-output", default=None, help="CSV (or .parquet) file for the ECx table (default: print it)")
    p.add_argument("--netcdf", default=None, help="also write the full result (covariances...) as netCDF")
    p.add_argument("--plot", default=None, help="PNG file with data and fitted curves")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_dask_options(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    import warnings


    from ..data.io import read_table
    from ..exceptions import ComboplanWarning, DataError
    from .dose_response import fit_dose_response

    fixed = {}
    for item in args.fix:
        if "=" not in item:
            raise DataError(f"--fix expects PARAM=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            fixed[k.strip()] = float(v)
        except ValueError:
            raise DataError(f"--fix {item!r}: {v!r} is not a number.") from None
    on_dask = args.scheduler is not None or args.workers is not None
    if on_dask and not args.by:
        raise DataError("--scheduler/--workers need --by: the curves are what is spread over the workers.")
    df = read_table(args.data)
    kw = dict(dose=args.dose, response=args.response, by=args.by, model=args.model, weights=args.weights,
              loss=args.loss, fixed=fixed or None, cov=args.cov, dose_unit=args.dose_unit,
              response_unit=args.response_unit)
    with warnings.catch_warnings(record=True) as caught, dask_client(args) as client:
        warnings.simplefilter("always", ComboplanWarning)
        if client is not None:
            from ..distributed import fit_dose_response as fit_on_dask

            res = fit_on_dask(df, client=client, **kw)
        else:
            res = fit_dose_response(df, progress=not args.no_progress, **kw)
        ecx = res.ecx(args.ecx, ci=args.ecx_ci) if args.ecx and res.spec.inverse is not None else None
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    params = res.params
    if args.output:
        save_table(params, args.output)
        print(f"wrote {len(params)} parameter rows for {res.n_curves} curve(s) to {args.output}")
    else:
        print(res.summary())
    if ecx is not None:
        if args.ecx_output:
            save_table(ecx, args.ecx_output)
            print(f"wrote ECx table to {args.ecx_output}")
        else:  # printed also when the parameters went to a file (-o)
            print()
            print(ecx.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    elif args.ecx:
        print(f"no ECx table: model {args.model!r} has no inverse", file=sys.stderr)
    if args.netcdf:
        res.to_netcdf(args.netcdf)
        print(f"wrote netCDF to {args.netcdf}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = res.plot()
        ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote plot to {args.plot}")
    n_bad = int((~res.converged).sum())
    return 1 if n_bad == res.n_curves else 0
