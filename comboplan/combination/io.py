"""Read and write combination data: SynergyFinder long format and plain tidy CSV.

SynergyFinder's long ("table") format has one row per well with the columns
``BlockID, DrugRow, DrugCol, ConcRow, ConcCol, Response, ConcRowUnit, ConcColUnit``
(SynergyFinder+ also accepts ``PairIndex`` for ``BlockID`` and ``Drug1``/``Conc1``...
for higher-order combinations; those names are accepted too).  Its ``Response`` is
percent inhibition by default (viability when the user says so).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.validate import _fmt_label
from ..data.validate import check_dose_column, require_columns, require_frame
from ..exceptions import DataError

__all__ = ["read_synergyfinder", "write_synergyfinder", "read_combination_csv", "write_combination_csv"]

_SF_REQUIRED = ("BlockID", "DrugRow", "DrugCol", "ConcRow", "ConcCol", "Response")


def read_synergyfinder(path_or_frame, replicate: bool = True) -> pd.DataFrame:
    """Read a SynergyFinder long-format table into comboplan's tidy form.

    Parameters
    ----------
    path_or_frame : str, pathlib.Path or pandas.DataFrame
        CSV file (comma, semicolon or tab separated), Parquet file (``.parquet`` / ``.pq``)
        or an already-read frame.
    replicate : bool
        Add a ``replicate`` column numbering repeated wells of a cell (SynergyFinder
        allows repeated rows as replicates).

    Returns
    -------
    pandas.DataFrame
        Columns ``block``, ``drug_row``, ``drug_col``, ``conc_row``, ``conc_col``,
        ``response``, ``conc_row_unit``, ``conc_col_unit`` (and ``replicate``); the unit
        columns come from ``ConcRowUnit``/``ConcColUnit`` or, in SynergyFinder 2/3 files,
        from the single ``ConcUnit`` column (empty when the file has none).  Score it
        with ``synergy(df, doses=["conc_row", "conc_col"], response="response",
        by=["block", "drug_row", "drug_col"], replicate="replicate")``.

    Raises
    ------
    DataError
        Missing columns; concentrations or responses that are not numbers; concentrations
        that are missing, infinite or negative (log10 doses?); a drug whose concentrations
        within one block are given in more than one unit (comboplan never converts units).
    """
    if isinstance(path_or_frame, pd.DataFrame):
        df = path_or_frame.copy()
    else:
        p = Path(path_or_frame)
        if not p.exists():
            raise DataError(f"file {str(p)!r} not found.")
        if p.suffix.lower() in (".parquet", ".pq"):
            from ..data.io import read_parquet

            df = read_parquet(p)
        else:
            df = pd.read_csv(p, sep=None, engine="python")
    require_frame(df, "SynergyFinder table")
    out = tidy_long_table(synergyfinder_aliases(df))
    if replicate:
        out["replicate"] = replicate_numbers(out)
    return out


#: the tidy columns of a two-agent long table -> SynergyFinder's names for them
SF_COLUMNS = {"block": "BlockID", "drug_row": "DrugRow", "drug_col": "DrugCol", "conc_row": "ConcRow",
              "conc_col": "ConcCol", "response": "Response", "conc_row_unit": "ConcRowUnit",
              "conc_col_unit": "ConcColUnit"}
#: the cells of a block whose repeated rows are replicates
REPLICATE_KEYS = ["block", "drug_row", "drug_col", "conc_row", "conc_col"]


def synergyfinder_aliases(df: pd.DataFrame) -> pd.DataFrame:
    """SynergyFinder+'s other names (``PairIndex``, ``Drug1``/``Conc1``...) renamed to the long format's."""
    if "BlockID" not in df.columns and "PairIndex" in df.columns:
        df = df.rename(columns={"PairIndex": "BlockID"})
    if "DrugRow" not in df.columns and {"Drug1", "Drug2", "Conc1", "Conc2"} <= set(df.columns):
        df = df.rename(columns={"Drug1": "DrugRow", "Drug2": "DrugCol", "Conc1": "ConcRow", "Conc2": "ConcCol",
                                "ConcUnit1": "ConcRowUnit", "ConcUnit2": "ConcColUnit"})
    return df


def tidy_long_table(df: pd.DataFrame, columns: dict | None = None, *, unit_fallback: str | None = "ConcUnit",
                    role: str = "SynergyFinder long format", keep: dict | None = None,
                    check_units: bool = True) -> pd.DataFrame:
    """One two-agent long table (one row per well) -> comboplan's tidy columns, validated row by row.

    The one implementation behind :func:`read_synergyfinder` and the lazy readers of
    :func:`comboplan.distributed.read_combinations` (called there on every partition).

    Parameters
    ----------
    df : pandas.DataFrame
        The table as read; its index labels are the row labels named in error messages.
    columns : dict, optional
        Tidy name -> the table's column (default :data:`SF_COLUMNS`).  The two unit columns are
        optional: missing, they fall back to ``unit_fallback`` (one unit column for both drugs)
        or read as empty.
    unit_fallback : str or None
        Column giving the unit of both drugs when a per-drug unit column is absent.
    role : str
        What the table is, for the missing-column message.
    keep : dict, optional
        Tidy name -> table column of further text columns copied when present (e.g. the cell line).
    check_units : bool
        Refuse a drug whose concentrations in one block come in more than one unit.

    Returns
    -------
    pandas.DataFrame
        ``block``, ``drug_row``, ``drug_col``, ``conc_row``, ``conc_col``, ``response`` (the
        table's numbers, as read), ``conc_row_unit``, ``conc_col_unit`` and the ``keep`` columns,
        with the index of ``df``.

    Raises
    ------
    DataError
        Missing columns, non-numeric concentrations or responses, missing/infinite/negative
        concentrations, a drug in two units within one block.
    """
    cols = dict(SF_COLUMNS if columns is None else columns)
    require_columns(df, [cols[k] for k in ("block", "drug_row", "drug_col", "conc_row", "conc_col", "response")],
                    role=role)
    out = pd.DataFrame({
        "block": df[cols["block"]].to_numpy(),
        "drug_row": df[cols["drug_row"]].astype(str).to_numpy(),
        "drug_col": df[cols["drug_col"]].astype(str).to_numpy(),
        "conc_row": pd.to_numeric(df[cols["conc_row"]], errors="coerce").to_numpy(),
        "conc_col": pd.to_numeric(df[cols["conc_col"]], errors="coerce").to_numpy(),
        "response": pd.to_numeric(df[cols["response"]], errors="coerce").to_numpy(),
        # SynergyFinder 2/3 files carry one ConcUnit column for both drugs; older ones one per drug
        "conc_row_unit": _unit_column(df, cols["conc_row_unit"], unit_fallback),
        "conc_col_unit": _unit_column(df, cols["conc_col_unit"], unit_fallback),
    }, index=df.index)
    for c in ("conc_row", "conc_col", "response"):
        src = cols[c]
        bad = out[c].isna().to_numpy() & df[src].notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"column {src!r} must be numeric; row {_fmt_label(df.index[i])} has {_fmt_label(df[src].iloc[i])}.")
    for c, who in (("conc_row", "drug_row"), ("conc_col", "drug_col")):
        src = cols[c]
        check_dose_column(pd.DataFrame({src: out[c]}, index=df.index), src, role=f"concentration of {cols[who]}")
    for name, src in (keep or {}).items():
        if src in df.columns:
            out[name] = df[src].astype(object).fillna("").astype(str).to_numpy()
    if check_units:
        _check_one_unit_per_drug(out, df.index, (cols["conc_row_unit"], cols["conc_col_unit"]))
    return out


def replicate_numbers(out: pd.DataFrame) -> pd.Series:
    """1, 2, ... over the repeated rows of each cell (:data:`REPLICATE_KEYS`), in row order."""
    return out.groupby(REPLICATE_KEYS).cumcount() + 1


def unit_table(out: pd.DataFrame, index, unit_cols=("ConcRowUnit", "ConcColUnit")) -> pd.DataFrame:
    """Each drug's stated unit per row, long (``block, drug, unit, col, row``), blank units dropped."""
    long = pd.DataFrame({
        "block": np.concatenate([out["block"].to_numpy(), out["block"].to_numpy()]),
        "drug": np.concatenate([out["drug_row"].to_numpy(), out["drug_col"].to_numpy()]),
        "unit": np.concatenate([out["conc_row_unit"].astype(str).to_numpy(), out["conc_col_unit"].astype(str).to_numpy()]),
        "col": np.repeat(list(unit_cols), len(out)),
        "row": np.concatenate([np.asarray(index), np.asarray(index)]),
    })
    return long[long["unit"].astype(str).str.strip() != ""]


def check_unit_table(long: pd.DataFrame) -> None:
    """Raise if a drug has more than one unit within a block of a :func:`unit_table`."""
    n_units = long.groupby(["block", "drug"], sort=True, dropna=False)["unit"].nunique()
    mixed = n_units[n_units > 1]
    if mixed.empty:
        return
    block, drug = mixed.index[0]
    sub = long[(long["block"] == block) & (long["drug"] == drug)]
    first = sub.drop_duplicates("unit")
    where = "; ".join(f"{u!r} (first in column {c!r}, row {_fmt_label(r)})"
                      for u, c, r in zip(first["unit"], first["col"], first["row"]))
    raise DataError(f"block {_fmt_label(block)}: drug {drug!r} has concentrations in more than one unit: {where}"
                    + (f" (and {len(mixed) - 1} more drug(s))" if len(mixed) > 1 else "")
                    + ". comboplan never converts units: convert every concentration of a drug to one unit "
                      "(1 uM = 1000 nM) before reading.")


def _check_one_unit_per_drug(out: pd.DataFrame, index, unit_cols=("ConcRowUnit", "ConcColUnit")) -> None:
    """Within a block, each drug's concentrations in one unit (in either position); blocks from
    different screens may use different units, since each block is scored on its own."""
    check_unit_table(unit_table(out, index, unit_cols))


def _unit_column(df: pd.DataFrame, name: str, fallback: str | None = "ConcUnit"):
    src = name if name in df.columns else (fallback if fallback is not None and fallback in df.columns else None)
    if src is None:
        return ""
    return df[src].astype(object).fillna("").astype(str).to_numpy()  # an all-empty column reads as float NaN


def write_synergyfinder(data, path, doses, response, drugs=None, block=None, units=None) -> pd.DataFrame:
    """Write a two-agent tidy table in SynergyFinder's long format.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    path : str or pathlib.Path or None
        Output CSV; ``None`` only returns the frame.
    doses : list of two str
        Dose columns written as ``ConcRow`` and ``ConcCol``.
    response : str
        Response column (write percent inhibition for SynergyFinder's default).
    drugs : list of two str, optional
        Drug names for ``DrugRow``/``DrugCol`` (default: the dose column names).
    block : str, optional
        Column giving ``BlockID`` (default 1 for all rows).
    units : list of two str, optional
        ``ConcRowUnit``/``ConcColUnit``.

    Returns
    -------
    pandas.DataFrame
        The written table.
    """
    require_frame(data)
    if len(doses) != 2:
        raise DataError("SynergyFinder's long format holds two agents per row; pass doses=[row_col, col_col].")
    require_columns(data, [*doses, response] + ([block] if block else []))
    drugs = drugs or list(doses)
    units = units or ["", ""]
    out = pd.DataFrame({
        "BlockID": data[block].to_numpy() if block else 1,
        "DrugRow": drugs[0], "DrugCol": drugs[1],
        "ConcRow": data[doses[0]].to_numpy(), "ConcCol": data[doses[1]].to_numpy(),
        "Response": data[response].to_numpy(), "ConcRowUnit": units[0], "ConcColUnit": units[1],
    })
    if path is not None:
        out.to_csv(path, index=False)
    return out


def read_combination_csv(path) -> pd.DataFrame:
    """Read a plain tidy CSV or Parquet file (one row per observation; columns named by the caller).

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` file, or ``.parquet`` / ``.pq``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The file does not exist.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"file {str(p)!r} not found.")
    if p.suffix.lower() in (".parquet", ".pq"):
        from ..data.io import read_parquet

        return read_parquet(p)
    return pd.read_csv(p)


def write_combination_csv(table: pd.DataFrame, path) -> None:
    """Write a result table (e.g. ``SynergyResult.cells``) as tidy CSV."""
    table.to_csv(path, index=False)
