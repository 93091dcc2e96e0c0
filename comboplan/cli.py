"""Command-line interface: ``comboplan <command> ...``.

A thin layer over the Python API.  Each capability registers its sub-command from
its own module (``register(subparsers)``); the CLI prints, the library never does.
User errors print one line and exit with status 2 (see :func:`main`); output paths are
checked before any computing (:func:`check_output_folder`, :func:`check_output_file`).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import os
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

from .exceptions import ComboplanError, DataError

# modules that define ``register(subparsers)``; one per capability
_COMMAND_MODULES = (
    "comboplan.fitting.cli",      # comboplan fit
    "comboplan.combination.cli",  # comboplan synergy
    "comboplan.growth.cli",       # comboplan growth
    "comboplan.growth.tgi_cli",   # comboplan tgi
    "comboplan.simulate.cli",     # comboplan simulate / plan
    "comboplan.report",           # comboplan demo
)

_DESCRIPTION = """\
comboplan: quantitative pharmacology of combination therapies.

Typical first steps:
  comboplan fit data.csv --dose conc_uM --response viability --by agent -o params.csv
  comboplan synergy combo.csv --doses paclitaxel_uM secretome_ugml --response inhibition
  comboplan growth mice.csv --subject mouse --arm group --time day --size volume_mm3
  comboplan tgi mice.csv --design design.toml --subject mouse --arm group --time day --size volume_mm3
  comboplan plan scenario.toml      # [model] fit = "tgi_output/tgi.nc": plan from the fitted model
  comboplan demo --output demo_output

Input tables are tidy CSV files: one row per observation (well, animal-day...), with
the columns named on the command line.  Run `comboplan <command> --help` for details.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``comboplan fit: error: ... (see --help)``, exit 2)."""

    def error(self, message):  # noqa: D102 - argparse hook
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command.

    Returns
    -------
    argparse.ArgumentParser
    """
    from . import __version__

    parser = _Parser(prog="comboplan", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"comboplan {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the full Python traceback (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=_Parser)
    for modname in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # capability not installed in this version
            if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
                continue
            raise
        mod.register(sub)
    return parser


# ----------------------------------------------------------------------------- outputs
# Which options of each command name an output folder or an output file: all are checked
# before any computing, so that a typo in a path fails at once, not after the analysis.
_OUTPUT_FOLDERS = {"synergy": ("output",), "growth": ("output",), "simulate": ("output",), "plan": ("output",),
                   "demo": ("output",), "tgi": ("output",)}
_OUTPUT_FILES = {"fit": ("output", "ecx_output", "netcdf", "plot")}


def _option(dest: str) -> str:
    return "-o/--output" if dest == "output" else "--" + dest.replace("_", "-")


def _probe_writable(folder: Path, option: str, what: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise DataError(f"{option} {what}: folder {str(folder)!r} is not writable ({exc.strerror or exc}).") from None


def check_output_folder(path, option: str = "-o/--output") -> Path:
    """Check, before any computing, that ``path`` can be used (or created) as an output folder.

    The folder itself may be missing (the command creates it), but its parent must exist and
    be writable; an existing folder must be writable.  Nothing is created here.

    Parameters
    ----------
    path : str or pathlib.Path
        The output folder.
    option : str
        The command-line option that named it (used in the message).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        The path is a file, its parent folder does not exist or is not a folder, or the
        folder (or its parent) is not writable.
    """
    p = Path(path)
    what = repr(str(p))
    if p.exists():
        if not p.is_dir():
            raise DataError(f"{option} {what} is a file, not a folder; choose a folder name.")
        _probe_writable(p, option, what)
        return p
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise DataError(f"{option} {what}: its parent folder {str(parent)!r} does not exist; create it first "
                        "or choose another output folder.")
    if not parent.is_dir():
        raise DataError(f"{option} {what}: {str(parent)!r} is a file, not a folder.")
    _probe_writable(parent, option, what)
    return p


def check_output_file(path, option: str = "-o/--output") -> Path:
    """Check, before any computing, that the file ``path`` can be written.

    Parameters
    ----------
    path : str or pathlib.Path
        The output file (it may exist; it is overwritten).
    option : str
        The command-line option that named it (used in the message).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        The path is a folder, its folder does not exist, or that folder is not writable.
    """
    p = Path(path)
    what = repr(str(p))
    if p.is_dir():
        raise DataError(f"{option} {what} is a folder; give a file name.")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise DataError(f"{option} {what}: folder {str(parent)!r} does not exist; create it first.")
    if not parent.is_dir():
        raise DataError(f"{option} {what}: {str(parent)!r} is a file, not a folder.")
    _probe_writable(parent, option, what)
    return p


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    Parameters
    ----------
    text : str

    Returns
    -------
    int
    """
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0 (seeds, counts that may be zero).

    Parameters
    ----------
    text : str

    Returns
    -------
    int
    """
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < low:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= {low}")
    return v


# ----------------------------------------------------------------------------- Dask
_DASK_HELP = "pip install 'comboplan[dask]'"


def add_dask_options(parser) -> None:
    """Add ``--scheduler`` and ``--workers`` (run on Dask) to a sub-command's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    g = parser.add_argument_group(f"running on Dask (needs {_DASK_HELP})")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask scheduler at ADDRESS (e.g. tcp://host:8786), or 'local' for a "
                        "LocalCluster on this machine")
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="worker processes of the LocalCluster (implies --scheduler local; default: one per core)")


def check_dask_options(args) -> None:
    """Refuse ``--scheduler`` / ``--workers`` before any computing when they cannot work.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.

    Raises
    ------
    DataError
        Dask is not installed (the message says ``pip install 'comboplan[dask]'``), or
        ``--workers`` was given with a scheduler address (the cluster's size is set where
        it was started).
    """
    scheduler, workers = getattr(args, "scheduler", None), getattr(args, "workers", None)
    if scheduler is None and workers is None:
        return
    used = "--scheduler" if scheduler is not None else "--workers"
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise DataError(f"{used} runs on Dask, which is not installed: {_DASK_HELP}") from None
    if scheduler not in (None, "local") and workers is not None:
        raise DataError(f"--workers starts a LocalCluster; with --scheduler {scheduler} the cluster's workers are "
                        "set where it was started (drop --workers, or use --scheduler local).")


@contextlib.contextmanager
def dask_client(args):
    """The Dask client that ``--scheduler`` / ``--workers`` ask for, closed afterwards.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (``scheduler``, ``workers``).

    Yields
    ------
    dask.distributed.Client or None
        ``None`` when neither option was given (run in memory).

    Raises
    ------
    DataError
        Dask not installed, or no scheduler answers at the address.
    """
    check_dask_options(args)
    scheduler, workers = getattr(args, "scheduler", None), getattr(args, "workers", None)
    if scheduler is None and workers is None:
        yield None
        return
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    if scheduler in (None, "local"):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise DataError(f"--scheduler {scheduler}: no Dask scheduler answered ({_one_line(exc)}); check the "
                            "address (e.g. tcp://host:8786) or use --scheduler local.") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------- tables
def add_table_format(parser) -> None:
    """Add ``--table-format {csv,parquet}`` (the tables a command writes to its output folder).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    parser.add_argument("--table-format", choices=("csv", "parquet"), default="csv",
                        help="format of the tables written to the output folder (default csv; parquet keeps dtypes)")


def table_file(folder, stem: str, args) -> Path:
    """``folder/stem.csv`` or ``folder/stem.parquet`` as ``--table-format`` says.

    Parameters
    ----------
    folder : str or pathlib.Path
        Output folder.
    stem : str
        File name without extension.
    args : argparse.Namespace
        Parsed arguments (``table_format``; CSV when absent).

    Returns
    -------
    pathlib.Path
    """
    return Path(folder) / f"{stem}.{getattr(args, 'table_format', 'csv') or 'csv'}"


def save_table(table, path) -> Path:
    """Write a result table: Parquet when ``path`` ends in ``.parquet`` / ``.pq``, else CSV.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.
    path : str or pathlib.Path
        Output file.

    Returns
    -------
    pathlib.Path
    """
    from .data.io import write_table

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        return write_table(table, p)
    table.to_csv(p, index=False)
    return p


def _check_demo(args) -> None:
    """``comboplan demo --section WORD``: every word must select a section."""
    if not args.section:
        return
    from .report import _SECTIONS

    titles = [t for t, _ in _SECTIONS]
    bad = [w for w in args.section if not any(w.lower() in t.lower() for t in titles)]
    if bad:
        raise DataError(f"--section {', '.join(map(repr, bad))} matches no section; sections: {'; '.join(titles)}.")


_PRECHECKS = {"demo": _check_demo}


def _check_outputs(args) -> None:
    check_dask_options(args)
    if args.command in _PRECHECKS:
        _PRECHECKS[args.command](args)
    for dest in _OUTPUT_FOLDERS.get(args.command, ()):
        if getattr(args, dest, None):
            check_output_folder(getattr(args, dest), _option(dest))
    for dest in _OUTPUT_FILES.get(args.command, ()):
        if getattr(args, dest, None):
            check_output_file(getattr(args, dest), _option(dest))


# ----------------------------------------------------------------------------- errors
# Exceptions that come from the user's input (data, options, files, formats): exit status 2.
# ValueError covers pandas' parser errors, UnicodeDecodeError, tomllib's errors and the
# package's DataError / option errors; csv.Error is what csv.Sniffer raises on a non-table.
_USER_ERRORS = (ComboplanError, ValueError, OSError, KeyError, csv.Error, zipfile.BadZipFile)


def _one_line(message) -> str:
    """A message on one line (the lines of a multi-line message joined by '; ')."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    return "; ".join(lines) if lines else str(message)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"the input is not valid {exc.encoding} text ({exc.reason} at byte {exc.start}); save it as UTF-8"
    if isinstance(exc, OSError):
        where = f" {str(exc.filename)!r}" if getattr(exc, "filename", None) else ""
        return f"cannot access{where}: {exc.strerror or exc}"
    if isinstance(exc, KeyError):
        return f"no column or key {exc.args[0]!r}" if exc.args else "missing column or key"
    return _one_line(exc) or type(exc).__name__


def main(argv=None) -> int:
    """Entry point of the ``comboplan`` command.

    Every user error (bad option, unreadable or malformed input, invalid values, an output
    path that cannot be written) prints one line ``comboplan <command>: error: ...`` on
    stderr and returns 2, before any computing where it can be checked first; warnings print
    one line each.  Unexpected failures print one line and return 1; ``--traceback`` (or the
    environment variable ``COMBOPLAN_TRACEBACK=1``) shows the full traceback instead.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when the analysis itself failed (e.g. no curve converged), 2 for a
        user error, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (already printed, 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    prog = f"comboplan {args.command}"
    debug = args.traceback or os.environ.get("COMBOPLAN_TRACEBACK", "") not in ("", "0")

    def _show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {_one_line(message)}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show
            _check_outputs(args)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:  # user input: data, options, files
        if debug:
            raise
        print(f"{prog}: error: {_describe(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: one line, and how to see more
        if debug:
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {_describe(exc)} (a bug in comboplan; rerun with "
              "--traceback and report it)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
