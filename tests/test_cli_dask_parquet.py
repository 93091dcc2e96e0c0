"""Parquet in and out (read_table, write_table, the readers and the CLI's --table-format), and the CLI's
--scheduler / --workers: one-line errors (exit 2) and, on a 2-process LocalCluster, the same tables as
the in-memory CLI."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.cli import main
from comboplan.combination.io import read_combination_csv, read_synergyfinder, write_synergyfinder
from comboplan.data.io import read_table, write_table
from comboplan.models.dose_response import hill

SCENARIO = "examples/scenario_paclitaxel.toml"


def _fails(argv, capsys, *needles):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert "Traceback" not in err + out and len(lines) == 1, lines
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def curves():
    rng = np.random.default_rng(0)
    rows = []
    for c in range(12):
        d = np.repeat(np.logspace(-2, 2, 6 + 2 * (c % 2)), 2)
        rows.append(pd.DataFrame({"cid": f"c{c:02d}", "dose": d,
                                  "resp": hill(d, 100, 5, 10 ** rng.uniform(-1, 1), rng.uniform(0.7, 2.5))
                                  + rng.normal(0, 4, d.size)}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def screen():
    rng = np.random.default_rng(1)
    rows = [dict(block=f"b{b}", a=a, b=bb, rep=r,
                 inh=100 * (1 - 1 / (1 + a / 1.0) / (1 + bb / 2.0)) + rng.normal(0, 3))
            for b in range(6) for a in (0, 0.3, 1, 3) for bb in (0, 0.5, 2, 8) for r in range(2)]
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- Parquet
def test_parquet_round_trip_keeps_dtypes_and_units(tmp_path):
    df = pd.DataFrame({"agent": pd.Categorical(["x", "y", "x"]), "n": [1, 2, 3], "conc": [0.0, 0.5, 2.0],
                       "ok": [True, False, True], "note": ["a", None, "c"]})
    df.attrs["units"] = {"conc": "uM"}
    path = write_table(df, tmp_path / "t.parquet")
    back = read_table(path, dose="conc", by="agent")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["agent"].dtype == "category" and back["n"].dtype == np.int64 and back["ok"].dtype == bool
    assert back.attrs["units"] == {"conc": "uM"} and back.attrs["source"].endswith("t.parquet")
    # CSV and TSV by extension; anything else is refused naming the formats
    write_table(df, tmp_path / "t.tsv")
    assert list(pd.read_csv(tmp_path / "t.tsv", sep="\t").columns) == list(df.columns)
    with pytest.raises(cp.DataError, match=r"\.parquet"):
        write_table(df, tmp_path / "t.xyz")


def test_parquet_readers_validate_like_csv(tmp_path, screen):
    bad = pd.DataFrame({"dose": [0.0, -1.0], "resp": [1.0, 2.0]})
    write_table(bad, tmp_path / "bad.parquet")
    with pytest.raises(cp.DataError, match="must be >= 0"):
        read_table(tmp_path / "bad.parquet", dose="dose")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(cp.DataError, match="could not be read as Parquet"):
        read_table(tmp_path / "junk.parquet")
    # a folder of Parquet files (as dask.dataframe.to_parquet("ds.parquet") writes it) reads as one table
    (tmp_path / "ds.parquet").mkdir()
    write_table(screen.iloc[:40], tmp_path / "ds.parquet" / "part.0.parquet")
    write_table(screen.iloc[40:], tmp_path / "ds.parquet" / "part.1.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "ds.parquet", dose=["a", "b"]), screen)
    # the combination readers take Parquet where they take CSV
    sf = write_synergyfinder(screen[screen.block == "b0"], None, doses=["a", "b"], response="inh", block="block")
    write_table(sf, tmp_path / "sf.parquet")
    write_table(sf, tmp_path / "sf.csv")
    pd.testing.assert_frame_equal(read_synergyfinder(tmp_path / "sf.parquet"), read_synergyfinder(tmp_path / "sf.csv"),
                                  check_dtype=False)
    write_table(screen, tmp_path / "screen.parquet")
    pd.testing.assert_frame_equal(read_combination_csv(tmp_path / "screen.parquet"), screen)


def test_cli_reads_and_writes_parquet(tmp_path, curves, screen, capsys):
    write_table(curves, tmp_path / "plate.parquet")
    curves.to_csv(tmp_path / "plate.csv", index=False)
    assert main(["fit", str(tmp_path / "plate.parquet"), "--dose", "dose", "--response", "resp", "--by", "cid",
                 "--no-progress", "-o", str(tmp_path / "p.parquet"), "--ecx-output", str(tmp_path / "e.parquet")]) == 0
    assert main(["fit", str(tmp_path / "plate.csv"), "--dose", "dose", "--response", "resp", "--by", "cid",
                 "--no-progress", "-o", str(tmp_path / "p.csv")]) == 0
    capsys.readouterr()
    a, b = pd.read_parquet(tmp_path / "p.parquet"), pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_array_equal(a["estimate"].to_numpy(), b["estimate"].to_numpy())
    assert len(pd.read_parquet(tmp_path / "e.parquet")) == 12
    write_table(screen, tmp_path / "screen.parquet")
    out = tmp_path / "syn"
    assert main(["synergy", str(tmp_path / "screen.parquet"), "--doses", "a", "b", "--response", "inh", "--by",
                 "block", "--replicate", "rep", "--methods", "bliss", "--n-boot", "0", "--no-plots",
                 "--table-format", "parquet", "-o", str(out)]) == 0
    capsys.readouterr()
    assert {p.name for p in out.glob("*.parquet")} == {"cells.parquet", "blocks.parquet", "monotherapy.parquet"}
    assert not list(out.glob("*.csv"))


# ----------------------------------------------------------------------------- --scheduler / --workers errors
@pytest.mark.parametrize("argv", [["fit", "x.csv", "--dose", "d", "--response", "r", "--by", "c", "--workers", "2"],
                                  ["synergy", "x.csv", "--doses", "a", "b", "--response", "r", "--scheduler", "local"],
                                  ["simulate", SCENARIO, "--workers", "2"],
                                  ["plan", SCENARIO, "--scheduler", "tcp://127.0.0.1:8786"]])
def test_without_dask_the_flags_say_how_to_install_it(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "dask", None)   # import dask -> ImportError, as without the extra
    monkeypatch.setitem(sys.modules, "distributed", None)
    if "-o" not in argv and argv[0] in ("simulate", "plan", "synergy"):
        argv = [*argv, "-o", tmp_path / "out"]
    _fails(argv, capsys, "is not installed", "pip install 'comboplan[dask]'")
    assert not (tmp_path / "out").exists()


def test_flag_usage_errors(capsys, tmp_path):
    pytest.importorskip("distributed")
    _fails(["plan", SCENARIO, "--scheduler", "tcp://10.0.0.1:8786", "--workers", "2", "-o", tmp_path / "o"],
           capsys, "--workers starts a LocalCluster")
    _fails(["fit", "x.csv", "--dose", "d", "--response", "r", "--workers", "0"], capsys, "must be >= 1")
    (tmp_path / "x.csv").write_text("d,r\n1,2\n")
    _fails(["fit", tmp_path / "x.csv", "--dose", "d", "--response", "r", "--workers", "2"], capsys, "need --by")


# ----------------------------------------------------------------------------- on a LocalCluster
@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        yield cluster.scheduler_address


def test_fit_and_synergy_on_a_scheduler_equal_in_memory(scheduler, tmp_path, curves, screen, capsys):
    write_table(curves, tmp_path / "plate.parquet")
    base = ["fit", str(tmp_path / "plate.parquet"), "--dose", "dose", "--response", "resp", "--by", "cid",
            "--no-progress", "--ecx"]
    assert main([*base, "-o", str(tmp_path / "mem.parquet")]) == 0
    assert main([*base, "-o", str(tmp_path / "dask.parquet"), "--scheduler", scheduler]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask.parquet"), pd.read_parquet(tmp_path / "mem.parquet"))
    write_table(screen, tmp_path / "screen.parquet")
    base = ["synergy", str(tmp_path / "screen.parquet"), "--doses", "a", "b", "--response", "inh", "--by", "block",
            "--replicate", "rep", "--methods", "bliss", "hsa", "--n-boot", "0", "--no-plots", "--table-format",
            "parquet"]
    assert main([*base, "-o", str(tmp_path / "s_mem")]) == 0
    assert main([*base, "-o", str(tmp_path / "s_dask"), "--scheduler", scheduler]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s_dask" / "cells.parquet"),
                                  pd.read_parquet(tmp_path / "s_mem" / "cells.parquet"))


def test_simulate_and_plan_on_a_scheduler_equal_in_memory(scheduler, tmp_path, capsys):
    for flags, sub in (([], "mem"), (["--scheduler", scheduler], "dask")):
        assert main(["simulate", SCENARIO, "-n", "3", "--table-format", "parquet", "-o", str(tmp_path / f"c_{sub}"),
                     *flags]) == 0
        assert main(["plan", SCENARIO, "--what", "power", "--n-studies", "10", "--table-format", "parquet",
                     "-o", str(tmp_path / f"p_{sub}"), *flags]) == 0
    capsys.readouterr()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "c_dask" / "cohort.parquet"),
                                  pd.read_parquet(tmp_path / "c_mem" / "cohort.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p_dask" / "power.parquet"),
                                  pd.read_parquet(tmp_path / "p_mem" / "power.parquet"))


def test_workers_starts_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert main(["simulate", SCENARIO, "-n", "2", "--workers", "1", "-o", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "cohort.csv").exists()
    capsys.readouterr()
