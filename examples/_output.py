"""The output folder of the example scripts (shared by every script in this folder)."""
import argparse
import os
from pathlib import Path


def output_folder(script: str, doc: str | None) -> Path:
    """Where an example writes: ``--out DIR``, else ``$COMBOPLAN_EXAMPLE_OUT``, else
    ``./comboplan_output/<script name>/`` (created).

    Parameters
    ----------
    script : str
        The script's ``__file__``.
    doc : str or None
        The script's ``__doc__`` (its first line is the ``--help`` description).
    """
    default = Path("comboplan_output", Path(script).stem)
    ap = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    ap.add_argument("--out", type=Path, help=f"output folder (default: ./{default.as_posix()}/)")
    folder = ap.parse_args().out or Path(os.environ.get("COMBOPLAN_EXAMPLE_OUT") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
