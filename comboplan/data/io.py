"""Readers for tidy tables (CSV, TSV, Excel, Parquet) with validation and recorded units, and
:func:`write_table` for result tables (CSV, TSV or Parquet by extension)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ..exceptions import DataError
from .validate import (
    as_list,
    check_dose_column,
    check_duplicates,
    check_groups_nonempty,
    check_response_column,
    check_scale,
    check_units,
    require_columns,
    require_frame,
)

__all__ = ["read_table", "write_table", "read_parquet"]

_SEPARATORS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_EXCEL = {".xlsx", ".xlsm", ".xls"}
_PARQUET = {".parquet", ".pq"}


def _need_pyarrow(label: str):
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pyarrow comes with nutpie and dask[dataframe]
        raise ImportError(f"{label!r}: Parquet needs the package 'pyarrow' (pip install pyarrow).") from exc


def read_parquet(path, columns=None) -> pd.DataFrame:
    """Read a Parquet file (or a folder of Parquet files) into a pandas DataFrame.

    Parameters
    ----------
    path : str or os.PathLike
        ``.parquet`` / ``.pq`` file, or a folder of them (a partitioned dataset as Dask
        writes it).
    columns : list of str, optional
        Read only these columns.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The file does not exist or is not a Parquet file.
    """
    p = Path(path)
    label = str(p)
    if not p.exists():
        raise DataError(f"{label!r} does not exist.")
    _need_pyarrow(label)
    import pyarrow as pa

    try:
        return pd.read_parquet(p, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{label!r} could not be read as Parquet: {exc}") from exc


def write_table(table: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write a table as CSV, TSV or Parquet, chosen by the file's extension.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy table (e.g. ``DoseResponseResult.params``, ``SynergyResult.cells``,
        ``PowerResult.table``).
    path : str or os.PathLike
        ``.csv``, ``.tsv`` / ``.tab`` or ``.parquet`` / ``.pq``.
    index : bool
        Write the index too (default: no, as the CLI does).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    DataError
        Another extension, or a column Parquet cannot store (the message names it).

    Notes
    -----
    Parquet keeps dtypes (categories, integers, booleans, strings) and ``table.attrs``
    that are JSON-serialisable (e.g. ``attrs["units"]``); cells holding Python objects
    such as dicts or lists of mixed types cannot be written and raise.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _PARQUET:
        _need_pyarrow(str(p))
        import pyarrow as pa

        try:
            table.to_parquet(p, index=index)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"{str(p)!r}: the table cannot be written as Parquet ({exc}); write it as .csv.") from exc
    elif suffix in _SEPARATORS:
        table.to_csv(p, sep=_SEPARATORS[suffix], index=index)
    else:
        raise DataError(f"{str(p)!r}: cannot tell the format from the extension {suffix!r}; use .csv, .tsv or "
                        ".parquet.")
    return p


_MANGLED = re.compile(r"^(.*)\.(\d+)$")


def _check_unique_header(df: pd.DataFrame, label: str, read_header) -> None:
    """Refuse a header that names a column twice.

    pandas renames the second ``d7`` to ``d7.1`` while reading, which a wide growth sheet
    would then read as day 7.1; only names that look renamed are confirmed against the raw
    header (``read_header()``, or, when it cannot be re-read, taken as duplicates)."""
    cols = [str(c) for c in df.columns]
    seen = set(cols)
    suspects = [c for c in cols if (m := _MANGLED.match(c)) and m.group(1) in seen]
    if not suspects:
        return
    try:
        raw = [str(c) for c in read_header()]
    except Exception:  # noqa: BLE001 - a buffer that cannot be re-read: trust the renaming
        raw = [(_MANGLED.match(c).group(1) if c in suspects else c) for c in cols]
    bases = {_MANGLED.match(c).group(1) for c in suspects}
    dup = sorted(c for c in bases if raw.count(c) > 1)
    if dup:
        where = ", ".join(f"{c!r} (columns {', '.join(str(i + 1) for i, r in enumerate(raw) if r == c)})" for c in dup)
        raise DataError(f"{label!r}: the header names a column more than once: {where}; each column needs its own "
                        "name (a repeated measurement day is usually a typo: rename or remove one).")


def _read_raw(source, sep, sheet_name, encoding) -> tuple[pd.DataFrame, str]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        label = str(path)
        if suffix in _PARQUET:
            df = read_parquet(path)
            return df, label
        if path.is_dir():
            raise DataError(f"{label!r} is a folder, not a table file; give the path of a .csv, .tsv, .xlsx or "
                            ".parquet file.")
        if suffix in _EXCEL:
            try:
                import openpyxl  # noqa: F401
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError(
                    f"reading {label!r} needs the optional package 'openpyxl' "
                    "(pip install openpyxl), or save the sheet as CSV."
                ) from exc
            df = pd.read_excel(path, sheet_name=sheet_name)
            _check_unique_header(df, label, lambda: pd.read_excel(path, sheet_name=sheet_name, header=None,
                                                                  nrows=1).iloc[0].tolist())
            return df, label
        if sep is None:
            if suffix not in _SEPARATORS:
                raise DataError(
                    f"cannot tell the column separator of {label!r} from its extension "
                    f"{suffix!r}; pass sep=',' or sep='\\t' (or use .csv / .tsv / .xlsx)."
                )
            sep = _SEPARATORS[suffix]
        reader = path
    else:
        label = getattr(source, "name", None) or "<buffer>"
        sep = "," if sep is None else sep
        reader = source
    start = reader.tell() if hasattr(reader, "seek") and hasattr(reader, "tell") else None
    try:
        df = pd.read_csv(reader, sep=sep, encoding=encoding)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{label!r} is empty: no header and no rows.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{label!r} is not valid {encoding or 'UTF-8'} text ({exc.reason} at byte {exc.start}); "
                        "save it as UTF-8 or pass encoding= (e.g. 'latin-1').") from exc
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{label!r} could not be parsed with sep={sep!r}: {exc}. Check the separator and "
            "that every row has the same number of cells."
        ) from exc

    def header():
        if start is not None:
            reader.seek(start)
        elif not isinstance(reader, Path):
            raise OSError("cannot re-read")
        return pd.read_csv(reader, sep=sep, encoding=encoding, header=None, nrows=1, dtype=str).iloc[0].tolist()

    _check_unique_header(df, str(label), header)
    return df, str(label)


def read_table(
    source,
    *,
    dose=None,
    response=None,
    by=None,
    units: dict | None = None,
    scale: str | None = None,
    key=None,
    replicate: str | None = None,
    unit_col: str | None = None,
    agent_col: str | None = None,
    sep: str | None = None,
    sheet_name=0,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a tidy (long) table from CSV, TSV, Excel or Parquet and validate the named columns.

    One row per observation; the caller names the columns, nothing is guessed.

    Parameters
    ----------
    source : str, os.PathLike or file-like
        ``.csv`` (comma), ``.tsv``/``.tab`` (tab), ``.xlsx``/``.xls`` (needs ``openpyxl``)
        or ``.parquet``/``.pq`` (a file, or a folder of Parquet files; dtypes are kept);
        any other extension needs ``sep=``.  A file-like object / buffer is read as CSV
        (``sep=","`` unless given).
    dose : str or list of str, optional
        Dose/concentration column(s): numeric, finite, >= 0 (natural scale, not log).
    response : str or list of str, optional
        Response column(s): numeric and finite (missing readings are refused, not dropped).
    by : str or list of str, optional
        Grouping columns (agent, cell line, plate...): no missing values.
    units : dict, optional
        ``{column: unit}`` recorded in ``df.attrs["units"]`` (e.g. ``{"conc": "uM",
        "viability": "%"}``); every key must be a column.  Units are recorded, never converted.
    scale : {"fraction", "percent"}, optional
        Declared scale of the response column(s), checked against the values.
    key : str or list of str, optional
        Columns that identify one observation; repeated keys raise (see
        :func:`comboplan.data.validate.check_duplicates`).
    replicate : str, optional
        Replicate column, added to ``key`` when checking duplicates.
    unit_col, agent_col : str, optional
        Per-row unit column and agent column: each agent must use one unit.  The mapping is
        stored in ``df.attrs["agent_units"]``.
    sep : str, optional
        Column separator (overrides the extension).
    sheet_name : str or int, default 0
        Excel sheet.
    encoding : str, optional
        Text encoding for CSV/TSV (default UTF-8).

    Returns
    -------
    pandas.DataFrame
        The table, with dose and response columns as float; ``attrs["units"]`` (dict),
        ``attrs["source"]`` (path or ``"<buffer>"``).

    Raises
    ------
    DataError
        Empty or unparsable file, missing columns, invalid doses/responses, missing group
        labels, units for unknown columns, mixed units per agent, duplicated keys.
    """
    if isinstance(source, str) and "\n" in source:
        raise DataError(
            "read_table got a string with line breaks; pass a path, or wrap text in io.StringIO(...)."
        )
    df, label = _read_raw(source, sep, sheet_name, encoding)
    require_frame(df, what=f"table {label!r}")
    doses, resps, by = as_list(dose), as_list(response), as_list(by)
    require_columns(df, doses, role="dose")
    require_columns(df, resps, role="response")
    require_columns(df, by, role="by")
    units = dict(units or {})
    require_columns(df, list(units), role="units")
    saved = df.attrs.get("units")  # a Parquet file written by write_table keeps its units
    if isinstance(saved, dict):
        units = {**{k: v for k, v in saved.items() if k in df.columns}, **units}
    for c in doses:
        df[c] = check_dose_column(df, c)
    for c in resps:
        df[c] = check_response_column(df, c)
        if scale is not None:
            check_scale(df[c], scale, c)
    check_groups_nonempty(df, by)
    if scale is not None:
        for c in resps:
            units.setdefault(c, "%" if scale == "percent" else "fraction")
    if (unit_col is None) != (agent_col is None):
        raise DataError("pass unit_col and agent_col together (the unit of each agent's doses).")
    if unit_col is not None:
        df.attrs["agent_units"] = check_units(df, unit_col, agent_col)
    if key is not None or replicate is not None:
        check_duplicates(df, as_list(key) or doses + by, replicate=replicate)
    df.attrs["units"] = units
    df.attrs["source"] = label
    return df
