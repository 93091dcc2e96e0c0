"""``comboplan simulate scenario.toml`` and ``comboplan plan scenario.toml``.

``simulate`` writes the virtual cohort (``cohort.csv``, ``cohort.nc``, ``summary.txt``,
``trajectories.png``); ``plan`` runs the ``[explore]`` and ``[power]`` tables of the scenario
(``dose_reduction.csv``, ``minimum_dose.csv``, ``dose_efficacy.png``, ``power.csv``,
``power.png``, ``plan.txt``).  ``--table-format parquet`` writes the tables as ``.parquet``;
``--scheduler`` / ``--workers`` run the cohort's arms and the power / assurance grid on Dask
(:mod:`comboplan.distributed_plan`; same numbers); the ``[explore]`` table runs in memory.
"""
from __future__ import annotations

from pathlib import Path

from ..cli import add_dask_options, add_table_format, dask_client, nonnegative_int, positive_int, save_table, table_file

__all__ = ["register"]


def _out(args) -> Path:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _save(ax, path: Path) -> None:
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def _given(**options) -> dict:
    """The options given on the command line: those that are not None (the rest keep the scenario's values)."""
    return {k: v for k, v in options.items() if v is not None}


def _on_dask(args, func, options: dict):
    """``func(**options)``, with ``client=`` the Dask client of ``--scheduler`` / ``--workers`` when one is asked for.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (the Dask options of :func:`comboplan.cli.add_dask_options`).
    func : callable
        A scenario method that takes ``client=`` (``simulate``, ``power_analysis``).
    options : dict
        Its other keyword arguments (not modified).

    Returns
    -------
    What ``func`` returns; the client is closed after the call.
    """
    with dask_client(args) as client:
        if client is not None:
            options = {**options, "client": client}
        return func(**options)


def _simulate(args) -> int:
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    res = _on_dask(args, sc.simulate, _given(seed=args.seed, n_animals=args.n))
    out = _out(args)
    cohort = save_table(res.to_frame(), table_file(out, "cohort", args))
    try:
        res.dataset.to_netcdf(out / "cohort.nc", engine="h5netcdf")
    except Exception:  # pragma: no cover - optional writer
        pass
    text = res.summary()
    (out / "summary.txt").write_text(text + "\n")
    _save(res.plot(), out / "trajectories.png")
    print(text)
    print(f"wrote {out}/{cohort.name}, cohort.nc, summary.txt, trajectories.png")
    return 0


def _plan(args) -> int:
    from ..exceptions import DataError
    from .scenario import load_scenario

    sc = load_scenario(args.scenario)
    what = args.what
    do_explore = what in ("explore", "all") and bool(sc.explore)
    do_power = what in ("power", "all") and bool(sc.power)
    if not (do_explore or do_power):
        need = {"explore": "an [explore]", "power": "a [power]", "all": "an [explore] or a [power]"}[what]
        raise DataError(f"nothing to do: the scenario {args.scenario!r} has no {need} table (--what {what}).")
    out = _out(args)
    texts = []
    if do_explore:
        r = sc.dose_reduction(**_given(seed=args.seed))
        save_table(r.table, table_file(out, "dose_reduction", args))
        save_table(r.minimum_dose, table_file(out, "minimum_dose", args))
        _save(r.plot(), out / "dose_efficacy.png")
        texts.append(r.summary())
    if do_power:
        p = _on_dask(args, sc.power_analysis, _given(seed=args.seed, n_studies=args.n_studies))
        save_table(p.table, table_file(out, "power", args))
        _save(p.plot(), out / "power.png")
        texts.append(p.summary() + f"\nn per arm for {p.settings['target_power']:.0%} power: "
                     f"{p.settings['n_required'] if p.settings['n_required'] is not None else 'not reached'}")
    text = "\n\n".join(texts)
    (out / "plan.txt").write_text(text + "\n")
    print(text)
    print(f"wrote results to {out}")
    return 0


def register(subparsers) -> None:
    """Add ``simulate`` and ``plan`` to the ``comboplan`` command."""
    p = subparsers.add_parser("simulate", help="simulate a virtual cohort from a TOML scenario",
                              description="Simulate the arms of a TOML scenario (see docs/simulate.md).")
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument("-o", "--output", default="simulate_output", help="output directory")
    p.add_argument("--seed", type=nonnegative_int, default=None, help="override the scenario seed")
    p.add_argument("-n", type=positive_int, default=None, help="animals per arm (overrides [study] n_per_arm)")
    add_table_format(p)
    add_dask_options(p)
    p.set_defaults(func=_simulate)

    q = subparsers.add_parser("plan", help="dose-reduction explorer and power / sample size from a TOML scenario",
                              description="Run the [explore] and [power] tables of a TOML scenario.")
    q.add_argument("scenario", help="scenario file (.toml)")
    q.add_argument("-o", "--output", default="plan_output", help="output directory")
    q.add_argument("--what", choices=("explore", "power", "all"), default="all")
    q.add_argument("--seed", type=nonnegative_int, default=None)
    q.add_argument("--n-studies", type=positive_int, default=None, help="simulated studies per design")
    add_table_format(q)
    add_dask_options(q)
    q.set_defaults(func=_plan)
