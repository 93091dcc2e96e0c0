"""Every CLI user error is one line on stderr and exit status 2, never a traceback (issue 14).

Runs in-process (``comboplan.cli.main``) with small inputs; output paths are checked before
any computing, TOML scenarios refuse unknown keys and wrong value types, ``--ecx`` is always
printed or saved, and the CLI's synergy defaults are the API's.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from comboplan.cli import main
from comboplan.models.dose_response import hill

SCENARIO = "examples/scenario_paclitaxel.toml"


def _fails(argv, capsys, *needles, rc=2):
    """Run the CLI; assert exit status ``rc``, exactly one stderr line naming every needle, no traceback."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == rc, (code, err)
    assert "Traceback" not in err and "Traceback" not in out
    assert len(lines) == 1, lines
    assert lines[0].startswith("comboplan"), lines
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def plate_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    d = np.repeat([0, 0.1, 1, 10.0], 3)
    path = tmp_path_factory.mktemp("plate") / "plate.csv"
    pd.DataFrame({"conc": d, "viab": hill(d, 100, 5, 1.0, 1) + rng.normal(0, 3, d.size)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def combo_csv(tmp_path_factory):
    rng = np.random.default_rng(1)
    rows = [{"a": x, "b": y, "rep": r, "inh": 100 * (1 - 1 / (1 + x / 3) / (1 + y / 6)) + rng.normal(0, 2)}
            for r in range(3) for x in (0, 1, 3, 10) for y in (0, 2, 6, 20)]
    path = tmp_path_factory.mktemp("combo") / "combo.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.csv").write_text("")
    (d / "latin.csv").write_bytes(b"\xff\xfe\x00dose")
    (d / "ragged.csv").write_text('a,b\n1,2\n3,"4\n')
    return {"empty": (d / "empty.csv", "empty"), "missing": (d / "nope.csv", "No such file"),
            "folder": (d, "folder"), "encoding": (d / "latin.csv", "UTF-8")}


# ----------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("argv", [["fit"], ["synergy"], ["growth", "x.csv"], ["simulate"], ["plan"],
                                  ["demo", "--seed", "abc"], ["nosuchcommand"],
                                  ["fit", "x.csv", "--dose", "d", "--response", "r", "--loss", "l3"],
                                  ["simulate", SCENARIO, "-n", "0"], ["simulate", SCENARIO, "-n", "2.5"],
                                  ["plan", SCENARIO, "--n-studies", "-3"], ["synergy", "x.csv", "--seed", "-1"],
                                  ["growth", "x.csv", "--subject", "s", "--arm", "a", "--n-boot", "-5"]])
def test_usage_errors_are_one_line(argv, capsys):
    line = _fails(argv, capsys, "error:")
    assert "--help" in line


def test_help_and_version_exit_0(capsys):
    assert main(["--help"]) == 0
    assert main(["fit", "--help"]) == 0
    assert main(["--version"]) == 0
    capsys.readouterr()


# ----------------------------------------------------------------------------- inputs
@pytest.mark.parametrize("kind", ["empty", "missing", "folder", "encoding"])
def test_growth_unreadable_input(kind, bad_inputs, tmp_path, capsys):
    path, msg = bad_inputs[kind]
    _fails(["growth", path, "--subject", "s", "--arm", "a", "--time", "t", "--size", "v", "-o", tmp_path / "o"],
           capsys, "comboplan growth: error:", msg)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["empty", "missing", "encoding"])
def test_growth_wide_unreadable_input(kind, bad_inputs, tmp_path, capsys):
    path, msg = bad_inputs[kind]
    _fails(["growth", path, "--subject", "s", "--arm", "a", "--wide", "-o", tmp_path / "o"], capsys,
           "comboplan growth: error:")


def test_synergyfinder_unreadable_input(bad_inputs, tmp_path, capsys):
    _fails(["synergy", bad_inputs["empty"][0], "--synergyfinder", "-o", tmp_path / "o"], capsys,
           "comboplan synergy: error:")


def test_bad_values_and_columns(plate_csv, combo_csv, tmp_path, capsys):
    _fails(["fit", plate_csv, "--dose", "conc", "--response", "viab", "--fix", "e0=abc"], capsys, "--fix", "abc")
    _fails(["fit", plate_csv, "--dose", "conc", "--response", "nope"], capsys, "nope")
    _fails(["synergy", combo_csv, "--response", "inh", "-o", tmp_path / "s"], capsys, "--doses")
    _fails(["growth", combo_csv, "--subject", "rep", "--arm", "a", "-o", tmp_path / "g"], capsys, "--time")


# ----------------------------------------------------------------------------- outputs, before computing
def test_fit_output_files_checked_before_reading(tmp_path, capsys):
    """The input does not even exist: the output error comes first, so nothing was computed."""
    base = ["fit", tmp_path / "no_input.csv", "--dose", "d", "--response", "r"]
    _fails(base + ["-o", tmp_path / "missing" / "p.csv"], capsys, "-o/--output", "does not exist")
    _fails(base + ["--ecx-output", tmp_path / "missing" / "e.csv"], capsys, "--ecx-output", "does not exist")
    _fails(base + ["--netcdf", tmp_path], capsys, "--netcdf", "is a folder")
    (tmp_path / "afile").write_text("x")
    _fails(base + ["--plot", tmp_path / "afile" / "p.png"], capsys, "--plot", "not a folder")


@pytest.mark.parametrize("command", [
    ["synergy", "{input}", "--doses", "a", "b", "--response", "r"],
    ["growth", "{input}", "--subject", "s", "--arm", "a", "--time", "t", "--size", "v"],
    ["simulate", SCENARIO], ["plan", SCENARIO], ["demo"]])
def test_output_folder_checked_before_computing(command, tmp_path, capsys):
    argv = [str(tmp_path / "no_input.csv") if a == "{input}" else a for a in command]
    _fails(argv + ["-o", tmp_path / "missing" / "out"], capsys, "-o/--output", "does not exist")
    (tmp_path / "afile").write_text("x")
    _fails(argv + ["-o", tmp_path / "afile"], capsys, "is a file")
    _fails(argv + ["-o", tmp_path / "afile" / "out"], capsys, "not a folder")
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _fails(["simulate", SCENARIO, "-o", ro / "out"], capsys, "not writable")
        _fails(["fit", tmp_path / "x.csv", "--dose", "d", "--response", "r", "-o", ro / "p.csv"], capsys,
               "not writable")
    finally:
        ro.chmod(0o755)


# ----------------------------------------------------------------------------- TOML scenarios
@pytest.mark.parametrize("old, new, needles", [
    ("n_per_arm = 7", "n_per_armm = 3", ["[study]", "'n_per_armm'", "allowed:", "n_per_arm"]),
    ("n_per_arm = 7", "n_per_arm = 7.9", ["[study]", "n_per_arm = 7.9", "integer"]),
    ("n_per_arm = 7", 'n_per_arm = "7"', ["n_per_arm", "integer", "string"]),
    ("seed = 2024", "seed = true", ["seed", "integer", "boolean"]),
    ("hazard = 0.1", "hazrd = 0.1", ["[study.dropout]", "'hazrd'", "allowed:"]),
    ("cv = 0.4", "cv = '0.4'", ["[study.readout]", "cv", "number"]),
    ("params = { lambda0 = 0.072, w0 = 1.0 }", "params = { lambda0 = '0.072', w0 = 1.0 }",
     ["params.lambda0", "number"]),
    ('preset = "simeoni2004"', 'preset = "simeoni2004"\nV2 = 1.0', ["[pk.paclitaxel]", "'V2'", "allowed:"]),
    ("potency = 0.629", "potency = 0.629\nec5 = 1.0", ["[effects.paclitaxel]", "'ec5'", "allowed:"]),
    ("gamma = 0.0", "gama = 0.0", ["[interaction]", "'gama'", "gamma"]),
    ("half_life = 1.0                       # ASSUMPTION", "halflife = 1.0  #",
     ["[products.naive]", "'halflife'", "half_life"]),
    ('name = "control"', 'name = "control"\ndrug = []', ["[arms #1]", "'drug'", "drugs"]),
    ('amount = 10, unit', 'amount = 10, dose = 3, unit', ["drugs]", "'dose'", "allowed:"]),
    ('amount = 10, unit', 'amount = "10", unit', ["amount", "number"]),
    ("n_draws = 200", "n_draws = 200.5", ["[uncertainty]", "n_draws", "integer"]),
    ("covariance = { params", "covariance = { parms = [], params", ["[uncertainty.covariance]", "'parms'"]),
    ("margin = 0.2\ntarget_probability", "margn = 0.2\ntarget_probability", ["[explore]", "'margn'", "margin"]),
    ('companion = "none" }', 'compnion = "none" }', ["[explore.reference]", "'compnion'"]),
    ("n_studies = 1000", "n_studies = 10.0", ["[power]", "n_studies", "integer"]),
    ("n_per_arm = [5, 7, 10, 15, 20]", "n_per_arm = [5, 7.5]", ["[power]", "n_per_arm"]),
    ("[interaction]", "[interactions]", ["'interactions'", "allowed:"]),
    ("days = [0, 7, 14, 21]", "days = 21", ["days", "list"]),
])
@pytest.mark.parametrize("command", ["simulate", "plan"])
def test_scenario_keys_and_types(old, new, needles, command, tmp_path, capsys):
    text = open(SCENARIO).read()
    assert old in text, old
    path = tmp_path / "s.toml"
    path.write_text(text.replace(old, new, 1))
    _fails([command, path, "-o", tmp_path / "out"], capsys, f"comboplan {command}: error: scenario:", *needles)
    assert not (tmp_path / "out").exists()


def test_scenario_syntax_and_nothing_to_plan(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\ndays = [0, 7]\n")
    _fails(["simulate", bad], capsys, "not valid TOML")
    _fails(["simulate", tmp_path / "none.toml"], capsys, "not found")
    text = open(SCENARIO).read()
    no_plan = tmp_path / "noplan.toml"
    no_plan.write_text(text[:text.index("[explore]")])
    _fails(["plan", no_plan, "-o", tmp_path / "p"], capsys, "nothing to do", "[explore]")
    assert not (tmp_path / "p").exists()


def test_demo_unknown_section(tmp_path, capsys):
    _fails(["demo", "--section", "no-such-section", "-o", tmp_path / "d"], capsys, "'no-such-section'", "sections:")


# ----------------------------------------------------------------------------- unexpected errors
def test_internal_error_is_one_line_exit_1_and_traceback_on_request(plate_csv, monkeypatch, capsys):
    import comboplan.fitting.dose_response as dr

    def boom(*a, **k):
        raise RuntimeError("simulated bug\nsecond line")

    monkeypatch.setattr(dr, "fit_dose_response", boom)
    argv = ["fit", plate_csv, "--dose", "conc", "--response", "viab"]
    _fails(argv, capsys, "internal error", "RuntimeError", "simulated bug; second line", "--traceback", rc=1)
    with pytest.raises(RuntimeError):
        main(["--traceback", *map(str, argv)])


# ----------------------------------------------------------------------------- outputs are never lost
def test_fit_ecx_printed_with_output_file(plate_csv, tmp_path, capsys):
    """`--ecx 50 -o params.csv` without --ecx-output prints the ECx table (it was computed and dropped)."""
    assert main(["fit", str(plate_csv), "--dose", "conc", "--response", "viab", "--ecx", "50", "90",
                 "-o", str(tmp_path / "p.csv"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "estimate" in out and "90" in out.split("estimate", 1)[1]
    assert main(["fit", str(plate_csv), "--dose", "conc", "--response", "viab", "--ecx", "50",
                 "--ecx-output", str(tmp_path / "e.csv"), "--no-progress"]) == 0
    assert list(pd.read_csv(tmp_path / "e.csv")["x"]) == [50]


def test_synergy_cli_defaults_are_the_api_defaults(combo_csv, tmp_path, capsys):
    """No option given: the CLI passes none of the API's options, so the API's defaults apply."""
    import inspect

    from comboplan.combination import api

    out = tmp_path / "s"
    assert main(["synergy", str(combo_csv), "--doses", "a", "b", "--response", "inh", "--replicate", "rep",
                 "--methods", "bliss", "--n-boot", "20", "--no-plots", "-o", str(out)]) == 0
    capsys.readouterr()
    cli = json.loads((out / "settings.json").read_text())
    res = api.synergy(pd.read_csv(combo_csv), doses=["a", "b"], response="inh", replicate="rep",
                      methods=("bliss",), n_boot=20)
    assert cli["inference"] == res.settings["inference"]
    default = inspect.signature(api.synergy).parameters["inference"].default
    assert default in ("auto", cli["inference"])

    seen = {}

    def spy(*a, **k):
        seen.update(k)
        raise api.DataError("stop here")

    import unittest.mock as um

    with um.patch.object(api, "synergy", spy):
        _fails(["synergy", combo_csv, "--doses", "a", "b", "--response", "inh", "-o", tmp_path / "t"], capsys,
               "stop here")
    for name in ("inference", "n_boot", "ci", "ci_level", "methods", "response_kind", "scale", "errors"):
        assert name not in seen, name
