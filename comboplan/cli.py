"""Command-line interface: ``comboplan <command> ...``.

A thin layer over the Python API.  Each capability registers its sub-command from
its own module (``register(subparsers)``); the CLI prints, the library never does.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .exceptions import ComboplanError

# modules that define ``register(subparsers)``; one per capability
_COMMAND_MODULES = (
    "comboplan.fitting.cli",      # comboplan fit
    "comboplan.combination.cli",  # comboplan synergy
    "comboplan.growth.cli",       # comboplan growth
    "comboplan.simulate.cli",     # comboplan simulate / plan
    "comboplan.report",           # comboplan demo
)

_DESCRIPTION = """\
comboplan: quantitative pharmacology of combination therapies.

Typical first steps:
  comboplan fit data.csv --dose conc_uM --response viability --by agent -o params.csv
  comboplan synergy combo.csv --doses paclitaxel_uM secretome_ugml --response inhibition
  comboplan growth mice.csv --subject mouse --arm group --time day --size volume_mm3
  comboplan demo --output demo_output

Input tables are tidy CSV files: one row per observation (well, animal-day...), with
the columns named on the command line.  Run `comboplan <command> --help` for details.
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="comboplan", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"comboplan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for modname in _COMMAND_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # capability not installed in this version
            if exc.name and (modname == exc.name or modname.startswith(exc.name + ".")):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``comboplan`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ComboplanError as exc:
        print(f"comboplan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # missing, unreadable or unwritable files are user errors too
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        print(f"comboplan {args.command}: error: cannot access{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
