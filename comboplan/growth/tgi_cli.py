"""``comboplan tgi data.csv --design design.toml --subject COL --arm COL --time COL --size COL -o outdir``.

Fits the population PK/PD tumour-growth-inhibition model (:func:`comboplan.fit_tgi`) to a
xenograft study with the doses given, and writes what ``comboplan plan`` needs to plan the next
study from it (``tgi.nc``, referenced from a scenario as ``[model] fit = "tgi.nc"``).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["register"]

_HELP = """\
Fit a population PK/PD tumour-growth-inhibition model (Laplace / FOCE-I, or Bayesian) to a
xenograft study, with the doses each arm received.

The design file (TOML) holds the [pk.<drug>], [products.<name>] and [[arms]] tables of a
scenario (docs/simulate.md), with every arm named as in the data's --arm column, e.g.

  [pk.paclitaxel]
  preset = "simeoni2004"
  bioavailability = { ip = 1.0 }
  [products.primed]
  kind = "primed"
  schedule = "3x/week from day 0 to 21"
  half_life = 1.0
  [[arms]]
  name = "vehicle"
  [[arms]]
  name = "PTX"
  drugs = [{ agent = "paclitaxel", amount = 10, unit = "mg/kg", route = "ip", schedule = "weekly from day 0 to 21" }]

Writes population.csv, individual.csv, predictions.csv, summary.txt, tgi.nc (for
`comboplan plan`: [model] fit = "tgi.nc" with the same [pk] tables) and diagnostic plots.
"""


def _run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..data.io import read_table
    from ..exceptions import DataError
    from ..simulate.scenario import load_design
    from .tgi import fit_tgi

    df = read_table(args.data)
    for opt in ("subject", "arm", "time", "size"):
        col = getattr(args, opt)
        if col not in df.columns:
            raise DataError(f"--{opt} {col!r} is not a column of {args.data!r}; columns: {', '.join(map(str, df.columns))}.")
    t = df[args.time].to_numpy(dtype=float, na_value=np.nan)
    if not np.any(np.isfinite(t)):
        raise DataError(f"column {args.time!r} holds no numeric day.")
    treatments, pk = load_design(args.design, float(np.nanmax(t)))
    labels = sorted(set(map(str, df[args.arm].dropna().unique())))
    missing = [a for a in labels if a not in treatments]
    if missing:
        raise DataError(f"arm(s) {missing} of column {args.arm!r} have no [[arms]] entry in {args.design!r}; name "
                        f"every arm as in the data (design arms: {', '.join(treatments)}).")
    kw = {}
    if args.random:
        kw["random"] = tuple(r.strip() for r in args.random.split(",") if r.strip())
    fit = fit_tgi(df, subject=args.subject, arm=args.arm, time=args.time, size=args.size,
                  treatments={a: treatments[a] for a in labels}, pk=pk, kind=args.kind, size_unit=args.size_unit,
                  lloq=args.lloq, interaction=not args.no_interaction, error=args.error, growth=args.growth,
                  n_transit=args.n_transit, estimator=args.estimator, ci_level=args.ci_level, **kw)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    fit.population.to_csv(out / "population.csv", index=False)
    fit.individual.to_csv(out / "individual.csv", index=False)
    fit.predictions.to_csv(out / "predictions.csv", index=False)
    fit.to_netcdf(out / "tgi.nc")
    text = fit.summary()
    (out / "summary.txt").write_text(text + "\n")
    written = ["population.csv", "individual.csv", "predictions.csv", "summary.txt", "tgi.nc"]
    if hasattr(fit, "vpc"):
        for kind in ("individual", "vpc", "cwres"):
            ax = fit.plot(kind=kind)
            fig = ax.figure if hasattr(ax, "figure") else np.ravel(ax)[0].figure
            fig.savefig(out / f"tgi_{kind}.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            written.append(f"tgi_{kind}.png")
    print(text)
    print(f"wrote {', '.join(written)} to {out}")
    return 0


def register(subparsers) -> None:
    """Add the ``tgi`` sub-command to ``subparsers``."""
    import argparse

    from ..cli import positive_int  # noqa: F401  (shared option types live there)

    p = subparsers.add_parser("tgi", help="population PK/PD tumour-growth-inhibition fit with the doses given "
                                          "(for `comboplan plan`)",
                              description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="tidy CSV/TSV/XLSX: one row per animal and day (day 0 = first dose)")
    p.add_argument("--design", required=True, help="TOML file with the [pk], [products] and [[arms]] tables")
    p.add_argument("--subject", required=True, help="animal identifier column")
    p.add_argument("--arm", required=True, help="treatment arm column (labels = the design's arm names)")
    p.add_argument("--time", required=True, help="day column (days from the first dose)")
    p.add_argument("--size", required=True, help="tumour size column (volume or luminescence)")
    p.add_argument("--kind", choices=["volume", "luminescence"], default="volume")
    p.add_argument("--size-unit", default=None)
    p.add_argument("--lloq", type=float, default=None, help="limit of quantification (size unit): smaller "
                                                            "values and zeros are censored (M3)")
    p.add_argument("--growth", choices=["exponential", "simeoni", "koch"], default="exponential")
    p.add_argument("--n-transit", type=int, default=0, help="damaged compartments (Simeoni 2004: 3)")
    p.add_argument("--error", choices=["log", "additive", "proportional", "combined"], default="log")
    p.add_argument("--random", default=None, help="parameters with between-animal variability, comma-separated "
                                                  "(default w0,lambda0)")
    p.add_argument("--no-interaction", action="store_true", help="Bliss independence (no gamma)")
    p.add_argument("--estimator", choices=["nlme", "bayes"], default="nlme")
    p.add_argument("--ci-level", type=float, default=0.95)
    p.add_argument("-o", "--output", default="tgi_output", help="output folder (default tgi_output)")
    p.set_defaults(func=_run)
