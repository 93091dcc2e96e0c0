"""CLI (`comboplan fit`, `comboplan demo`, `--help`) and import time."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from comboplan.cli import main
from comboplan.models.dose_response import hill


@pytest.fixture
def plate_csv(tmp_path):
    rng = np.random.default_rng(0)
    d = np.repeat([0, 0.01, 0.1, 1, 10, 100.0], 3)
    df = pd.concat([pd.DataFrame({"agent": a, "conc": d, "viab": hill(d, 100, 5, ec, 1) + rng.normal(0, 3, d.size)})
                    for a, ec in (("paclitaxel", 0.5), ("secretome", 8.0))])
    path = tmp_path / "plate.csv"
    df.to_csv(path, index=False)
    return path


def test_cli_fit_writes_tables_netcdf_and_plot(plate_csv, tmp_path, capsys):
    out = tmp_path / "params.csv"
    rc = main(["fit", str(plate_csv), "--dose", "conc", "--response", "viab", "--by", "agent", "-o", str(out),
               "--ecx", "50", "90", "--ecx-output", str(tmp_path / "ecx.csv"), "--netcdf", str(tmp_path / "f.nc"),
               "--plot", str(tmp_path / "f.png"), "--dose-unit", "uM"])
    assert rc == 0
    p = pd.read_csv(out)
    ec = p[(p.agent == "paclitaxel") & (p.param == "ec50")].estimate.iloc[0]
    assert 0.25 < ec < 1.0
    assert set(pd.read_csv(tmp_path / "ecx.csv").x) == {50, 90}
    assert xr.open_dataset(tmp_path / "f.nc", engine="h5netcdf").attrs["dose_unit"] == "uM"
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_cli_bad_column_is_a_clear_error(plate_csv, capsys):
    rc = main(["fit", str(plate_csv), "--dose", "dose_uM", "--response", "viab"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "column(s) 'dose_uM'" in err and "available columns" in err


@pytest.mark.parametrize("command", [["fit", "--dose", "d", "--response", "r"],
                                     ["synergy", "--doses", "a", "b", "--response", "r"]])
def test_cli_unreadable_input_is_one_line_exit_2(command, tmp_path, capsys):
    """Empty, missing, folder and non-UTF-8 inputs: one 'comboplan <cmd>: error: ...' line, exit code 2."""
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "latin.csv"
    binary.write_bytes(b"\xff\xfe\x00dose")
    cases = {empty: "is empty", tmp_path / "nope.csv": "No such file", tmp_path: "is a folder", binary: "UTF-8"}
    for path, msg in cases.items():
        rc = main([command[0], str(path), *command[1:], "-o", str(tmp_path / "out")] if command[0] == "synergy"
                  else [command[0], str(path), *command[1:]])
        err = capsys.readouterr().err.strip().splitlines()
        assert rc == 2
        assert len(err) == 1 and err[0].startswith(f"comboplan {command[0]}: error:") and msg in err[0], err
        assert "Traceback" not in "".join(err)


def test_cli_help_lists_commands(capsys):
    assert main(["--help"]) == 0  # main returns the status (the console script exits with it)
    text = capsys.readouterr().out
    assert "fit" in text and "demo" in text and "tidy CSV" in text


def test_demo_writes_report(tmp_path):
    rc = main(["demo", "--output", str(tmp_path), "--section", "Dose-response"])
    assert rc == 0
    text = (tmp_path / "report.md").read_text()
    assert "EC50" in text and "ug/mL" in text and (tmp_path / "dose_response_skbr3.png").exists()


def test_import_is_lazy_and_fast():
    code = ("import sys, time; t=time.perf_counter(); import comboplan; dt=time.perf_counter()-t; "
            "print(dt, 'pymc' in sys.modules, 'scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1] == "False" and out[2] == "False"  # heavy modules are not imported by `import comboplan`
