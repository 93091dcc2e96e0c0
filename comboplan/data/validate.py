"""Validation primitives for tidy tables.

Every check raises :class:`comboplan.exceptions.DataError` with a message that names the
column, the first offending row (by its index label in the caller's frame) and a fix.
Input frames are never modified.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = [
    "as_list",
    "require_frame",
    "require_columns",
    "numeric_column",
    "check_dose_column",
    "check_response_column",
    "check_weights_column",
    "check_groups_nonempty",
]


def as_list(cols) -> list[str]:
    """Normalise ``None``, a column name or a sequence of names to a list of names."""
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def require_frame(data, what: str = "data") -> pd.DataFrame:
    """Check that ``data`` is a non-empty :class:`pandas.DataFrame`."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{what} must be a pandas DataFrame in tidy (long) form, one row per observation; "
            f"got {type(data).__name__}. Build one with pandas.DataFrame({{...}}) or pandas.read_csv(...)."
        )
    if len(data) == 0:
        raise DataError(f"{what} has no rows; nothing to analyse.")
    return data


def require_columns(data: pd.DataFrame, columns: Iterable[str], role: str = "") -> None:
    """Raise a DataError naming every missing column and the columns that exist."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        have = ", ".join(map(repr, list(data.columns)[:20]))
        what = f" ({role})" if role else ""
        raise DataError(
            f"column(s) {', '.join(map(repr, missing))}{what} not found in the data; "
            f"available columns: {have}. Pass the name of the column exactly as in the table."
        )


def _first_row(data: pd.DataFrame, bad: np.ndarray) -> str:
    idx = np.flatnonzero(bad)
    return f"{data.index[idx[0]]!r}" if len(idx) else "?"


def numeric_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """Return ``data[col]`` as a float array, or raise if any value is not numeric.

    Parameters
    ----------
    data : pandas.DataFrame
        The caller's table (not modified).
    col : str
        Column name.
    role : str
        What the column is for (``"dose"``, ``"response"``...), used in messages.

    Returns
    -------
    numpy.ndarray
        Float copy of the column.
    """
    s = data[col]
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"column {col!r} ({role}) is boolean; it must hold numbers.")
    conv = pd.to_numeric(s, errors="coerce")
    bad = conv.isna().to_numpy() & s.notna().to_numpy()
    if bad.any():
        first = np.flatnonzero(bad)[0]
        raise DataError(
            f"column {col!r} ({role}) must be numeric; {int(bad.sum())} value(s) are not "
            f"(first at row {data.index[first]!r}: {s.iloc[first]!r}). "
            "Remove units or text from the cells (e.g. '10 uM' -> 10) and record the unit separately."
        )
    return conv.to_numpy(dtype=float, na_value=np.nan)


def check_dose_column(data: pd.DataFrame, col: str, role: str = "dose") -> np.ndarray:
    """Validate a dose/concentration column: numeric, finite, >= 0.

    Returns
    -------
    numpy.ndarray
        The doses as floats (a copy).
    """
    x = numeric_column(data, col, role)
    nan = np.isnan(x)
    if nan.any():
        raise DataError(
            f"column {col!r} ({role}) has {int(nan.sum())} missing value(s) (first at row "
            f"{_first_row(data, nan)}). Untreated controls need dose 0, not an empty cell; "
            "drop rows that were not measured."
        )
    inf = np.isinf(x)
    if inf.any():
        raise DataError(
            f"column {col!r} ({role}) has {int(inf.sum())} infinite value(s) (first at row "
            f"{_first_row(data, inf)}). Doses must be finite concentrations."
        )
    neg = x < 0
    if neg.any():
        raise DataError(
            f"column {col!r} ({role}) must be >= 0; got {int(neg.sum())} negative value(s) "
            f"(first at row {_first_row(data, neg)}: {x[neg][0]!r}). Did you pass log10(dose)? "
            "Pass doses on the natural scale (comboplan takes logs itself)."
        )
    return x


def check_response_column(data: pd.DataFrame, col: str, role: str = "response") -> np.ndarray:
    """Validate a response column: numeric and finite (NaN is refused, not dropped).

    Returns
    -------
    numpy.ndarray
        The responses as floats (a copy).
    """
    y = numeric_column(data, col, role)
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(
            f"column {col!r} ({role}) has {int(bad.sum())} missing or infinite value(s) (first at row "
            f"{_first_row(data, bad)}). Drop wells that were not read (data.dropna(subset=[{col!r}])) "
            "before fitting; comboplan does not drop them silently."
        )
    return y


def check_weights_column(data: pd.DataFrame, col: str) -> np.ndarray:
    """Validate a weights column: numeric, finite, > 0.

    Returns
    -------
    numpy.ndarray
        Weights (inverse variances, relative) as floats.
    """
    w = numeric_column(data, col, "weights")
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(
            f"column {col!r} (weights) must be finite and > 0; {int(bad.sum())} value(s) are not "
            f"(first at row {_first_row(data, bad)}). Weights are inverse variances; drop "
            "observations instead of giving them weight 0."
        )
    return w


def check_groups_nonempty(data: pd.DataFrame, by: Sequence[str]) -> None:
    """Refuse missing values in grouping columns (they would silently drop rows)."""
    for c in by:
        na = data[c].isna().to_numpy()
        if na.any():
            raise DataError(
                f"grouping column {c!r} has {int(na.sum())} missing value(s) (first at row "
                f"{_first_row(data, na)}); every row must belong to a group. Fill them in or drop the rows."
            )
