"""read_table: formats, validation errors naming column and row, recorded units."""
from __future__ import annotations

import io
import importlib.util

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from conftest import raises_with
from comboplan.data.io import read_table

CSV = """agent,conc,unit,plate,rep,viability
pac,0,uM,1,1,100
pac,1,uM,1,1,56.8
pac,1,uM,1,2,60.1
cm,0,ug/mL,1,1,99.0
cm,25,ug/mL,1,1,75.1
"""


def test_read_csv_path_with_units(tmp_path):
    p = tmp_path / "plate.csv"
    p.write_text(CSV)
    df = read_table(p, dose="conc", response="viability", by=["agent", "plate"],
                    units={"conc": "uM", "viability": "%"}, scale="percent",
                    unit_col="unit", agent_col="agent", key=["agent", "conc"], replicate="rep")
    assert df.shape == (5, 6)
    assert df["conc"].dtype == float and df["viability"].dtype == float
    np.testing.assert_allclose(df["viability"], [100, 56.8, 60.1, 99.0, 75.1])
    assert df.attrs["units"] == {"conc": "uM", "viability": "%"}
    assert df.attrs["source"] == str(p)
    assert df.attrs["agent_units"] == {"pac": "uM", "cm": "ug/mL"}
    assert cp.read_table is read_table


def test_read_tsv_and_buffer(tmp_path):
    p = tmp_path / "plate.tsv"
    p.write_text(CSV.replace(",", "\t"))
    a = read_table(p, dose="conc", response="viability")
    b = read_table(io.StringIO(CSV), dose="conc", response="viability", scale="percent")
    pd.testing.assert_frame_equal(a, b)
    assert b.attrs["source"] == "<buffer>"
    assert b.attrs["units"] == {"viability": "%"}  # declared scale recorded as unit
    c = read_table(io.StringIO(CSV.replace(",", ";")), sep=";", dose="conc")
    assert list(c.columns) == list(a.columns)
    d = tmp_path / "plate.txt"
    d.write_text(CSV.replace(",", "|"))
    assert read_table(d, sep="|").shape == (5, 6)


def test_excel_needs_openpyxl(tmp_path):
    p = tmp_path / "plate.xlsx"
    if importlib.util.find_spec("openpyxl") is None:
        p.write_bytes(b"")
        with pytest.raises(ImportError, match="openpyxl"):
            read_table(p)
    else:  # pragma: no cover - depends on the environment
        pd.read_csv(io.StringIO(CSV)).to_excel(p, index=False)
        df = read_table(p, dose="conc", response="viability")
        assert df.shape == (5, 6)


def test_file_errors(tmp_path):
    with raises_with("sep="):
        p = tmp_path / "plate.dat"
        p.write_text(CSV)
        read_table(p)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with raises_with("empty"):
        read_table(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    with raises_with("could not be parsed", "sep=','"):
        read_table(ragged)
    with raises_with("io.StringIO"):
        read_table(CSV)
    with raises_with("no rows"):
        read_table(io.StringIO("a,b\n"))
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")


def test_column_errors():
    with raises_with("'dose'", "available columns", "'conc'"):
        read_table(io.StringIO(CSV), dose="dose")
    with raises_with("'viab'", "units"):
        read_table(io.StringIO(CSV), units={"viab": "%"})
    with raises_with("unit_col and agent_col together"):
        read_table(io.StringIO(CSV), unit_col="unit")


@pytest.mark.parametrize(
    "old, new, kwargs, parts",
    [
        ("pac,1,uM,1,2,60.1", "pac,-1,uM,1,2,60.1", {"dose": "conc"},
         ("'conc'", ">= 0", "row 2", "log10")),
        ("pac,1,uM,1,2,60.1", "pac,,uM,1,2,60.1", {"dose": "conc"},
         ("'conc'", "missing", "row 2")),
        ("pac,1,uM,1,2,60.1", "pac,inf,uM,1,2,60.1", {"dose": "conc"},
         ("'conc'", "infinite", "row 2")),
        ("pac,1,uM,1,2,60.1", "pac,1 uM,uM,1,2,60.1", {"dose": "conc"},
         ("'conc'", "numeric", "row 2", "'1 uM'")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,1,2,", {"response": "viability"},
         ("'viability'", "row 2", "dropna")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,1,2,sixty", {"response": "viability"},
         ("'viability'", "numeric", "row 2", "'sixty'")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,,2,60.1", {"by": "plate"},
         ("'plate'", "row 2", "missing")),
        ("pac,1,uM,1,2,60.1", "pac,1,nM,1,2,60.1", {"unit_col": "unit", "agent_col": "agent"},
         ("'unit'", "'pac'", "'uM'", "'nM'", "row 0", "row 2")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,1,1,60.1", {"key": ["agent", "conc"], "replicate": "rep"},
         ("'rep'", "row 2", "row 1")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,1,2,60.1", {"key": ["agent", "conc"]},
         ("['agent', 'conc']", "row 2", "row 1", "replicate")),
        ("pac,1,uM,1,2,60.1", "pac,1,uM,1,2,0.601", {"response": "viability", "scale": "fraction"},
         ("'viability'", "declared as fraction", "row 0", "scale='percent'")),
    ],
)
def test_validation_errors_name_column_and_row(old, new, kwargs, parts):
    text = CSV.replace(old, new)
    with raises_with(*parts):
        read_table(io.StringIO(text), **kwargs)


def test_duplicates_default_key_is_dose_and_by():
    text = CSV + "pac,1,uM,1,1,58.0\n"
    with raises_with("['conc', 'agent', 'rep']", "row 5", "row 1"):
        read_table(io.StringIO(text), dose="conc", by="agent", replicate="rep")
    ok = CSV + "pac,1,uM,1,3,58.0\n"
    assert len(read_table(io.StringIO(ok), dose="conc", by="agent", replicate="rep")) == 6
