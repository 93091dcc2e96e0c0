"""``comboplan growth data.csv --subject COL --arm COL --time COL --size COL ... -o outdir``."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from ..cli import nonnegative_int

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``growth`` sub-command to ``subparsers``."""
    p = subparsers.add_parser(
        "growth",
        help="tumour growth: per-animal and mixed-model fits, TGI/mRECIST endpoints, in-vivo synergy",
        description=(
            "Analyse a longitudinal xenograft study (tidy CSV: one row per animal and time, or --wide for "
            "one column per day). Writes tables (CSV) and plots (PNG) to the output directory."
        ),
    )
    p.add_argument("data", help="CSV/TSV/XLSX file")
    p.add_argument("--subject", required=True, help="animal identifier column")
    p.add_argument("--arm", required=True, help="treatment arm column")
    p.add_argument("--time", help="time column (tidy layout); not needed with --wide")
    p.add_argument("--size", help="size column (tidy layout); not needed with --wide")
    p.add_argument("--wide", action="store_true", help="one column per day (e.g. day0, day7, ...)")
    p.add_argument("--kind", choices=["volume", "luminescence"], default="volume")
    p.add_argument("--size-unit", default=None)
    p.add_argument("--time-unit", default="day")
    p.add_argument("--lloq", type=float, default=None, help="detection limit (size unit)")
    p.add_argument("--dropout", default=None, help="column with the reason an animal left the study")
    p.add_argument("--control", default=None, help="control arm (enables endpoints and synergy)")
    p.add_argument("--combination", action="append", default=None, metavar="ARM=A+B",
                   help="design of a combination arm, e.g. 'combo=CM+PTX' (repeatable); singles are arms "
                        "named after each agent, unless given as 'CM=CM'")
    p.add_argument("--dropout-rule", choices=["likelihood", "last-common-day"], default="likelihood")
    p.add_argument("--models", default="exponential,exp_linear,logistic,gompertz")
    p.add_argument("--n-boot", type=nonnegative_int, default=1000)
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("-o", "--output", default="growth_output", help="output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the growth analysis for parsed CLI arguments; returns the exit status."""
    import matplotlib

    matplotlib.use("Agg")

    from ..data.io import read_table
    from ..exceptions import ConvergenceWarning, DataError
    from ..plot import growth as gplot
    from .api import fit_growth, fit_growth_mixed
    from .data import read_growth_wide, validate_growth
    from .endpoints import growth_endpoints
    from .synergy import invivo_synergy

    out = Path(args.output)  # checked before computing by comboplan.cli.main
    if args.wide:
        df = read_growth_wide(args.data, args.subject, args.arm)
        time_col, size_col = "day", "size"
    else:
        if not args.time or not args.size:
            raise DataError("pass --time and --size (or --wide for one column per day).")
        df = read_table(args.data)
        time_col, size_col = args.time, args.size
    gd = validate_growth(df, args.subject, args.arm, time_col, size_col, kind=args.kind,
                         size_unit=args.size_unit, time_unit=args.time_unit, lloq=args.lloq,
                         dropout=args.dropout)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise DataError("--models is empty; give e.g. --models exponential,gompertz.")
    design = _design(args, gd)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():        # failed per-animal fits are NaN rows of the tables written
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = fit_growth(gd, models=models)
    _save(out, {"growth_params.csv": fit.params, "growth_model_comparison.csv": fit.fits})
    mixed = fit_growth_mixed(gd, dropout=args.dropout_rule)
    _save(out, {"growth_rates_mixed.csv": mixed.rates, "growth_variance_components.csv": mixed.variance,
                "growth_residual_diagnostics.csv": mixed.diagnostics})
    _save(out, {}, {"spaghetti.png": lambda: gplot.plot_spaghetti(gd)})
    _save(out, {}, {"fitted_curves.png": fit.plot})
    text = [mixed.summary()]
    if args.control is not None:
        ep = growth_endpoints(gd, control=args.control, n_boot=args.n_boot, seed=args.seed)
        _save(out, {"endpoints_animals.csv": ep.animals, "endpoints_arms.csv": ep.arms, "mrecist.csv": ep.mrecist},
              {"waterfall.png": ep.plot})
        text.append(ep.summary())
        try:
            syn = invivo_synergy(gd, control=args.control, design=design, dropout=args.dropout_rule,
                                 n_boot=args.n_boot, seed=args.seed)
        except DataError as exc:
            text.append(f"(no in-vivo synergy: {exc})")
        else:
            _save(out, {"synergy_over_time.csv": syn.over_time, "synergy.csv": syn.scores,
                        "synergy_bootstrap.csv": syn.bootstrap}, {"synergy_over_time.png": syn.plot})
            text.append(syn.summary())
    (out / "growth_summary.txt").write_text("\n\n".join(text) + "\n")
    print("\n\n".join(text))
    print(f"\nwrote tables and plots to {out}/")
    return 0


def _save(out: Path, tables: dict, figures: dict | None = None) -> None:
    """Write result tables and figures into the output folder.

    Parameters
    ----------
    out : pathlib.Path
        Output folder (exists).
    tables : dict
        File name (``.csv``) -> pandas.DataFrame, written without the index.
    figures : dict, optional
        File name (``.png``) -> function of no argument that draws the plot and returns its
        matplotlib Axes (called after the tables are written); the figure is saved at 120 dpi
        (tight bounding box) and closed.
    """
    import matplotlib.pyplot as plt

    for name, tab in tables.items():
        tab.to_csv(out / name, index=False)
    for name, draw in (figures or {}).items():
        ax = draw()
        ax.figure.savefig(out / name, dpi=120, bbox_inches="tight")
        plt.close(ax.figure)


def _design(args, gd):
    """The arm design of ``--combination ARM=A+B`` options (checked before any fitting)."""
    from ..exceptions import DataError

    arms = sorted({str(a) for a in gd.arms})
    if args.control is not None and str(args.control) not in arms:
        raise DataError(f"--control {args.control!r} is not an arm of the data; arms: {', '.join(arms)}.")
    if not args.combination:
        return None
    if args.control is None:
        raise DataError("--combination needs --control (the untreated arm).")
    design = {args.control: []}
    for item in args.combination:
        if "=" not in item:
            raise DataError(f"--combination takes ARM=AGENT+AGENT, got {item!r}.")
        a, agents = item.split("=", 1)
        design[a] = [x.strip() for x in agents.split("+")]
        for x in design[a]:
            if len(design[a]) > 1 and x in set(gd.arms) and x not in design:
                design[x] = [x]
    return design
