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
    "check_finite_column",
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


def _fmt_label(label) -> str:
    """repr() of an index label, without numpy's ``np.int64(...)`` wrapper."""
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label)


def _first_row(data: pd.DataFrame, bad: np.ndarray) -> str:
    idx = np.flatnonzero(bad)
    return _fmt_label(data.index[idx[0]]) if len(idx) else "?"


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
            f"(first at row {_fmt_label(data.index[first])}: {_fmt_label(s.iloc[first])}). "
            "Remove units or text from the cells (e.g. '10 uM' -> 10) and record the unit separately."
        )
    return np.array(conv.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)


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
            f"(first at row {_first_row(data, neg)}: {float(x[neg][0])!r}). Did you pass log10(dose)? "
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
    return check_finite_column(data, col, role, f"Drop wells that were not read (data.dropna(subset=[{col!r}])) "
                               "before fitting; comboplan does not drop them silently.")


def check_finite_column(data: pd.DataFrame, col: str, role: str, fix: str) -> np.ndarray:
    """Validate a numeric column whose every value must be finite (NaN is refused, not dropped).

    Parameters
    ----------
    data : pandas.DataFrame
        The caller's table (not modified).
    col : str
        Column name.
    role : str
        What the column is for (``"response"``, ``"time"``, ``"size"``...), used in messages.
    fix : str
        The advice that ends the message of a missing or infinite value.

    Returns
    -------
    numpy.ndarray
        The column as floats (a copy; unit of the column).

    Raises
    ------
    DataError
        A value that is not numeric, missing or infinite (the message names the first row).
    """
    y = numeric_column(data, col, role)
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(
            f"column {col!r} ({role}) has {int(bad.sum())} missing or infinite value(s) (first at row "
            f"{_first_row(data, bad)}). {fix}"
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


# ---------------------------------------------------------------------------
# Checks added for the data layer (units, duplicates, controls, scales, selectors)
# ---------------------------------------------------------------------------

__all__ += [
    "check_units",
    "check_duplicates",
    "check_has_controls",
    "check_scale",
    "select_rows",
    "SCALE_BOUNDS",
]

#: Plausible range of normalised responses for each declared scale.  Values outside
#: these bounds are refused by :func:`check_scale` (override with ``bounds=``).
SCALE_BOUNDS: dict[str, tuple[float, float]] = {
    "fraction": (-1.5, 3.0),
    "percent": (-150.0, 300.0),
}


def _label(index, pos: int) -> str:
    return _fmt_label(index[pos])


def _group_label(by: Sequence[str], key) -> str:
    if not isinstance(key, tuple):
        key = (key,)
    return ", ".join(f"{c}={_fmt_label(k)}" for c, k in zip(by, key))


def check_units(data: pd.DataFrame, unit_col: str, agent_col: str) -> dict:
    """Check that every agent is reported in exactly one unit.

    A table that mixes ``uM`` and ``nM`` rows for the same agent would be fitted as if the
    numbers were comparable; comboplan never converts units silently, so this is refused.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    unit_col : str
        Column holding the dose unit of each row (e.g. ``"unit"`` with values ``"uM"``).
    agent_col : str
        Column naming the agent (drug, secretome...) of each row.

    Returns
    -------
    dict
        ``{agent: unit}`` for every agent in the table.

    Raises
    ------
    DataError
        If a unit is missing, or an agent appears with more than one unit (the message names
        the agent, the units and the first row with the second unit).
    """
    require_frame(data)
    require_columns(data, [unit_col, agent_col], role="unit / agent")
    check_groups_nonempty(data, [agent_col])
    units = data[unit_col]
    na = units.isna().to_numpy()
    if na.any():
        raise DataError(
            f"column {unit_col!r} (unit) has {int(na.sum())} missing value(s) (first at row "
            f"{_first_row(data, na)}). Every row needs its dose unit, e.g. 'uM'."
        )
    agents = data[agent_col].to_numpy()
    uvals = units.astype(str).str.strip().to_numpy()
    codes, uniq = pd.factorize(agents)
    first_pos = np.full(len(uniq), len(agents))
    np.minimum.at(first_pos, codes, np.arange(len(agents)))
    ref = uvals[first_pos][codes]
    bad = uvals != ref
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        a = agents[pos]
        raise DataError(
            f"column {unit_col!r}: agent {_fmt_label(a)} (column {agent_col!r}) is reported in more than "
            f"one unit: {ref[pos]!r} (first at row {_label(data.index, int(first_pos[codes[pos]]))}) "
            f"and {uvals[pos]!r} (first at row {_label(data.index, pos)}). comboplan never converts "
            f"units silently; convert the doses of {_fmt_label(a)} to one unit (e.g. nM -> uM: divide by "
            "1000) before analysis."
        )
    out = {a: uvals[p] for a, p in zip(uniq, first_pos)}
    return out


def check_duplicates(data: pd.DataFrame, key_cols, replicate: str | None = None) -> None:
    """Refuse rows that share all key values: they look like a join error.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    key_cols : str or sequence of str
        Columns that together identify one observation (e.g. ``["plate", "agent", "dose"]``).
    replicate : str, optional
        Column numbering replicate wells / animals.  When given it is added to the key, so
        labelled replicates are accepted; unlabelled identical keys are not.

    Raises
    ------
    DataError
        Naming the key columns, the first duplicated row and the row it repeats, and saying
        how to fix it: add a replicate column, or aggregate on purpose.
    """
    require_frame(data)
    keys = as_list(key_cols)
    if replicate is not None:
        keys = keys + [replicate]
    if not keys:
        raise DataError("check_duplicates needs at least one key column.")
    require_columns(data, keys, role="key")
    dup = data.duplicated(subset=keys, keep=False).to_numpy()
    if not dup.any():
        return
    later = data.duplicated(subset=keys, keep="first").to_numpy()
    pos = int(np.flatnonzero(later)[0])
    row = data.iloc[pos][keys]
    same = np.ones(len(data), dtype=bool)
    for c in keys:
        v = row[c]
        col = data[c]
        same &= (col.isna().to_numpy() if pd.isna(v) else (col == v).fillna(False).to_numpy(dtype=bool))
    first = int(np.flatnonzero(same)[0])
    vals = ", ".join(f"{c}={_fmt_label(row[c])}" for c in keys)
    n = int(later.sum())
    if replicate is None:
        fix = (
            "If these are replicate wells/animals, add a replicate column and pass "
            "replicate='<column>'; if you meant one value per key, aggregate on purpose "
            "(e.g. data.groupby(keys, as_index=False).mean()). Identical keys often come from a "
            "merge/join that matched rows more than once."
        )
    else:
        fix = (
            f"Replicate numbers in column {replicate!r} repeat within a key: renumber the "
            "replicates, or check the merge/join that built the table (rows matched twice)."
        )
    raise DataError(
        f"columns {keys!r}: {n} row(s) repeat the key of an earlier row (first at row "
        f"{_label(data.index, pos)}, same key as row {_label(data.index, first)}: {vals}). {fix}"
    )


def select_rows(data: pd.DataFrame, spec, role: str) -> np.ndarray:
    """Turn a caller's row selector into a boolean mask; nothing is guessed.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    spec : str, dict, pandas.Series or numpy.ndarray
        * ``str``: name of a **boolean** column (True marks the selected rows);
        * ``dict``: ``{column: value}`` or ``{column: [values]}``; a row is selected when every
          listed column equals the value (or one of the values), e.g.
          ``{"well_type": "blank"}`` or ``{"conc_uM": 0, "cm": "none"}``;
        * boolean ``Series`` with the same index as ``data``, or boolean array of length ``len(data)``.
    role : str
        What the rows are (``"blank"``, ``"untreated control"``, ``"time-zero"``), for messages.

    Returns
    -------
    numpy.ndarray
        Boolean mask of length ``len(data)``.

    Raises
    ------
    DataError
        If the selector is malformed, names a missing or non-boolean column, or matches no row.
    """
    if isinstance(spec, str):
        require_columns(data, [spec], role=role)
        s = data[spec]
        if not pd.api.types.is_bool_dtype(s) or s.isna().any():
            ex = s.dropna().iloc[0] if s.notna().any() else None
            raise DataError(
                f"column {spec!r} ({role} selector) must be boolean (True marks {role} rows); it has "
                f"dtype {s.dtype} (values like {_fmt_label(ex)}). To select rows by value pass a "
                f"dict instead, e.g. {{{spec!r}: {_fmt_label(ex)}}}."
            )
        mask = s.to_numpy(dtype=bool)
        desc = f"column {spec!r}"
    elif isinstance(spec, dict):
        if not spec:
            raise DataError(f"the {role} selector is an empty dict; name at least one column.")
        require_columns(data, list(spec), role=f"{role} selector")
        mask = np.ones(len(data), dtype=bool)
        for c, v in spec.items():
            vals = list(v) if isinstance(v, (list, tuple, set, frozenset)) else [v]
            mask &= data[c].isin(vals).to_numpy(dtype=bool)
        desc = f"{spec!r}"
    elif isinstance(spec, (pd.Series, np.ndarray, list)):
        if isinstance(spec, pd.Series):
            if not spec.index.equals(data.index):
                raise DataError(
                    f"the {role} mask (a Series) must have the same index as the data; "
                    "build it from the data, e.g. data['well_type'] == 'blank'."
                )
            arr = spec.to_numpy()
        else:
            arr = np.asarray(spec)
        if arr.shape != (len(data),) or arr.dtype != bool:
            raise DataError(
                f"the {role} mask must be boolean with one entry per row ({len(data)}); got "
                f"dtype {arr.dtype} and shape {arr.shape}."
            )
        mask = arr.astype(bool, copy=True)
        desc = "the given mask"
    else:
        raise DataError(
            f"cannot interpret the {role} selector of type {type(spec).__name__}; pass a boolean "
            "column name, a dict {column: value} or a boolean mask."
        )
    if not mask.any():
        raise DataError(
            f"the {role} selector ({desc}) matched no rows. Check the column name and the value "
            "(spelling, type: 0 vs '0')."
        )
    return mask


def check_has_controls(
    data: pd.DataFrame, is_control: np.ndarray, by=None, role: str = "untreated control"
) -> None:
    """Check that every group has at least one control row.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table (not modified).
    is_control : numpy.ndarray of bool
        Rows that are controls (see :func:`select_rows`).
    by : str or sequence of str, optional
        Grouping columns (e.g. ``"plate"``); controls are needed in every group.
    role : str
        Name of the control kind in messages (``"untreated control"``, ``"blank"``,
        ``"time-zero"``).

    Raises
    ------
    DataError
        Naming the first group without controls, its first row, and the fix.
    """
    by = as_list(by)
    mask = np.asarray(is_control, dtype=bool)
    if not mask.any():
        raise DataError(f"no {role} rows in the data; normalisation needs them.")
    if not by:
        return
    require_columns(data, by, role="by")
    check_groups_nonempty(data, by)
    g = data.groupby(by, sort=False, dropna=False)
    codes = g.ngroup().to_numpy()
    has = np.bincount(codes, weights=mask.astype(float), minlength=g.ngroups) > 0
    if has.all():
        return
    bad = int(np.flatnonzero(~has)[0])
    first = int(np.flatnonzero(codes == bad)[0])
    key = tuple(data.iloc[first][c] for c in by)
    raise DataError(
        f"group ({_group_label(by, key)}) of columns {by!r} has no {role} rows (the group starts at "
        f"row {_label(data.index, first)}); {int((~has).sum())} group(s) lack them. Each group "
        f"in by={by!r} is normalised to its own {role}s: add them, or group more coarsely."
    )


def check_scale(values, kind: str = "fraction", col: str = "response", *, bounds=None) -> None:
    """Check that responses lie in the plausible range of their declared scale.

    Parameters
    ----------
    values : pandas.Series or array-like
        Responses (NaN ignored).  With a Series the row label is reported.
    kind : {"fraction", "percent"}
        Declared scale: ``"fraction"`` means 1 = untreated (viability) or complete effect
        (inhibition); ``"percent"`` means 100.
    col : str
        Column name, for messages.
    bounds : (float, float), optional
        Plausible range; defaults to :data:`SCALE_BOUNDS` ``[kind]`` (fraction -1.5..3,
        percent -150..300).

    Raises
    ------
    DataError
        If a value lies outside the range (saying what was probably meant: percent data
        declared as fraction, or raw signal not yet normalised), or if data declared as
        percent all lie within -1.5..1.5 (probably fractions).
    """
    if kind not in SCALE_BOUNDS:
        raise DataError(f"scale must be 'fraction' or 'percent'; got {kind!r}.")
    lo, hi = SCALE_BOUNDS[kind] if bounds is None else bounds
    index = values.index if isinstance(values, pd.Series) else None
    v = np.asarray(pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce"), dtype=float)
    fin = np.isfinite(v)
    if not fin.any():
        return
    out = fin & ((v < lo) | (v > hi))

    def where(pos):
        return f"row {_fmt_label(index[pos])}" if index is not None else f"position {pos}"

    if out.any():
        pos = int(np.flatnonzero(out)[0])
        vmax = float(np.nanmax(np.abs(v[fin])))
        if kind == "fraction" and vmax <= SCALE_BOUNDS["percent"][1]:
            hint = ("These look like percentages: pass scale='percent', or divide by 100 "
                    "(comboplan.data.normalize.to_fraction).")
        else:
            hint = ("Normalised responses rarely lie there: if these are raw plate signals "
                    "(absorbance, counts), normalise to untreated controls first "
                    "(comboplan.normalize); otherwise check the untreated-control wells, or "
                    "widen bounds=... on purpose.")
        raise DataError(
            f"column {col!r} is declared as {kind} but {int(out.sum())} value(s) lie outside the "
            f"plausible range [{lo:g}, {hi:g}] (first at {where(pos)}: {float(v[pos])!r}). {hint}"
        )
    if kind == "percent" and bounds is None and fin.sum() >= 3:
        if float(np.nanmax(np.abs(v[fin]))) <= 1.5:
            pos = int(np.flatnonzero(fin)[0])
            raise DataError(
                f"column {col!r} is declared as percent but every value lies within -1.5..1.5 "
                f"(first at {where(pos)}: {float(v[pos])!r}); these look like fractions. Pass "
                "scale='fraction', or multiply by 100 (comboplan.data.normalize.to_percent)."
            )
