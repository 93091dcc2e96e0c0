"""Normalisation of plate readouts: blanks, controls, viability/inhibition, GR values.

Every function returns a **new** object; the caller's DataFrame is never modified.
Rows are identified only by what the caller names (a boolean column, a ``{column: value}``
dict or a boolean mask: see :func:`comboplan.data.validate.select_rows`); nothing is guessed
from column names or values.

Formulas (``s`` = signal of a well, ``r`` = reference-wavelength signal,
``B`` = mean blank signal of the well's blank group, ``C`` = mean corrected signal of the
untreated controls of the well's group):

* two-wavelength readout (e.g. WST-1, A450 - A655):  ``s_net = s - r``
* blank subtraction:                                ``s_corr = s_net - B``
* percent of untreated control (viability):         ``V = 100 * s_corr / C``  (fraction: ``s_corr / C``)
* inhibition:                                       ``I = 100 - V``           (fraction: ``1 - V``)
* GR value (Hafner et al. 2016, Nat Methods 13:521): ``GR = 2 ** (log2(x / x0) / log2(x_ctrl / x0)) - 1``
* plate effects (Tukey's median polish per plate; B-score, Brideau et al. 2003):
  ``x_ij = m + a_i + b_j + e_ij``; corrected value ``m + e_ij``, B-score ``e_ij / (1.4826 MAD(e))``
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError
from .validate import (
    _fmt_label,
    _group_label,
    as_list,
    check_dose_column,
    check_groups_nonempty,
    check_has_controls,
    check_response_column,
    check_scale,
    require_columns,
    require_frame,
    select_rows,
)

__all__ = [
    "normalize",
    "to_inhibition",
    "to_viability",
    "to_fraction",
    "to_percent",
    "gr_values",
    "reference_subtract",
    "subtract_blank",
    "percent_of_control",
    "plate_correction",
]

_SCALE_UNIT = {"percent": "%", "fraction": "fraction"}
_KINDS = ("viability", "inhibition")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _new_frame(data: pd.DataFrame) -> pd.DataFrame:
    out = data.copy(deep=True)
    out.attrs = copy.deepcopy(dict(data.attrs))
    out.attrs.setdefault("units", {})
    out.attrs.setdefault("normalization", [])
    out.attrs["normalization"] = list(out.attrs["normalization"])
    out.attrs["units"] = dict(out.attrs["units"])
    return out


def _check_scale_name(scale: str) -> None:
    if scale not in _SCALE_UNIT:
        raise DataError(f"scale must be 'percent' or 'fraction'; got {scale!r}.")


def _check_new_column(data: pd.DataFrame, name: str, param: str, allowed=()) -> None:
    if name in data.columns and name not in allowed:
        raise DataError(
            f"column {name!r} already exists in the data; comboplan does not overwrite it. "
            f"Pass another name with {param}=..."
        )


def _codes(data: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, int]:
    if not by:
        return np.zeros(len(data), dtype=np.intp), 1
    g = data.groupby(by, sort=False, observed=True, dropna=False)
    return g.ngroup().to_numpy(), g.ngroups


def _group_mean(data: pd.DataFrame, values: np.ndarray, mask: np.ndarray, by: list[str]):
    """Mean of ``values[mask]`` within each group of ``by``, broadcast to every row."""
    codes, n = _codes(data, by)
    m = mask.astype(float)
    s = np.bincount(codes, weights=np.where(mask, values, 0.0), minlength=n)
    c = np.bincount(codes, weights=m, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / c
    return mean[codes], codes


def _first_bad_group(data, by, codes, bad_group: np.ndarray, mask=None) -> tuple[str, Any]:
    g = int(np.flatnonzero(bad_group)[0])
    rows = codes == g
    if mask is not None and (rows & mask).any():
        rows = rows & mask
    pos = int(np.flatnonzero(rows)[0])
    if by:
        key = tuple(data.iloc[pos][c] for c in by)
        return f"group ({_group_label(by, key)})", _fmt_label(data.index[pos])
    return "the data", _fmt_label(data.index[pos])


def _signal(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    require_columns(data, [col], role=role)
    return check_response_column(data, col, role=role)


def _check_disjoint(data, a, b, name_a, name_b) -> None:
    both = a & b
    if both.any():
        pos = int(np.flatnonzero(both)[0])
        raise DataError(
            f"{int(both.sum())} row(s) are selected both as {name_a} and as {name_b} (first at row "
            f"{_fmt_label(data.index[pos])}); each well is one or the other. Fix the selectors."
        )


def _check_untreated(data, mask, dose_cols, role) -> None:
    for c in dose_cols:
        x = data[c].to_numpy()
        xn = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(dtype=float)
        bad = mask & (xn != 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"column {c!r}: {int(bad.sum())} {role} row(s) have a non-zero dose (first at row "
                f"{_fmt_label(data.index[pos])}: {x[pos]!r}); {role} wells must be untreated "
                "(dose 0 of every agent). Check the control selector."
            )


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------
def reference_subtract(
    data: pd.DataFrame, signal: str, reference: str, *, out: str | None = None
) -> pd.DataFrame:
    """Subtract a reference-wavelength reading (two-wavelength absorbance readouts).

    WST-1 plates are read at 450 nm with a 620-690 nm reference (e.g. Eiro et al. 2024:
    "absorbance at 450 nm ... subtracting the absorbance value at 655 nm"); the reference
    removes plate and well optical background.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    signal : str
        Column with the measurement wavelength (absorbance units, e.g. ``"A450"``).
    reference : str
        Column with the reference wavelength (same units, e.g. ``"A655"``).
    out : str, optional
        Name of the new column; default ``f"{signal}_net"``.

    Returns
    -------
    pandas.DataFrame
        A copy with the added column ``out = signal - reference`` (absorbance units).
    """
    require_frame(data)
    s = _signal(data, signal, "signal")
    r = _signal(data, reference, "reference signal")
    out = out or f"{signal}_net"
    _check_new_column(data, out, "out")
    res = _new_frame(data)
    res[out] = s - r
    unit = res.attrs["units"].get(signal)
    if unit is not None:
        res.attrs["units"][out] = unit
    res.attrs["normalization"].append(f"{out} = {signal} - {reference}")
    return res


def subtract_blank(
    data: pd.DataFrame,
    signal: str,
    blank,
    *,
    by=None,
    out: str | None = None,
    drop_blanks: bool = True,
) -> pd.DataFrame:
    """Subtract the mean blank (medium-only, no cells) signal of each group.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    signal : str
        Column with the signal (e.g. absorbance, AU).
    blank : str, dict or boolean mask
        Which rows are blank wells: a boolean column name, ``{column: value}`` (e.g.
        ``{"well_type": "blank"}``) or a boolean mask; see
        :func:`comboplan.data.validate.select_rows`.
    by : str or list of str, optional
        Blanks are averaged within each group (e.g. ``"plate"``); every group needs blanks.
        Default: one blank mean for the whole table.
    out : str, optional
        Name of the new column; default ``f"{signal}_blanked"``.
    drop_blanks : bool, default True
        Remove the blank rows from the result (they are not observations).

    Returns
    -------
    pandas.DataFrame
        A copy with ``out = signal - mean(blank signal of the row's group)`` (signal units).
    """
    require_frame(data)
    by = as_list(by)
    s = _signal(data, signal, "signal")
    mask = select_rows(data, blank, "blank")
    check_has_controls(data, mask, by, role="blank")
    out = out or f"{signal}_blanked"
    _check_new_column(data, out, "out")
    bmean, _ = _group_mean(data, s, mask, by)
    res = _new_frame(data)
    res[out] = s - bmean
    unit = res.attrs["units"].get(signal)
    if unit is not None:
        res.attrs["units"][out] = unit
    res.attrs["normalization"].append(
        f"{out} = {signal} - mean(blank {signal}" + (f" per {by})" if by else ")")
    )
    if drop_blanks:
        res = res.loc[~mask]
    return res


def percent_of_control(
    data: pd.DataFrame,
    signal: str,
    control,
    *,
    by=None,
    out: str = "viability",
    scale: str = "percent",
    dose_cols=None,
) -> pd.DataFrame:
    """Express a (blank-corrected) signal relative to the mean untreated control of its group.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    signal : str
        Column with the blank-corrected signal (any unit; it cancels).
    control : str, dict or boolean mask
        Which rows are untreated controls (boolean column, ``{column: value}`` or mask).
    by : str or list of str, optional
        Each group (e.g. plate, or plate and cell line) is divided by its own control mean.
    out : str, default "viability"
        Name of the new column.
    scale : {"percent", "fraction"}, default "percent"
        Controls average to 100 (%) or to 1 (fraction).
    dose_cols : str or list of str, optional
        Dose columns; when given, they are validated (finite, >= 0) and control rows must
        have dose 0 in every one of them.

    Returns
    -------
    pandas.DataFrame
        A copy with ``out = signal / mean(control signal of the group)`` (x 100 for percent);
        ``attrs["units"][out]`` is ``"%"`` or ``"fraction"``.

    Raises
    ------
    DataError
        If a group has no controls, or its control mean is <= 0 (nothing to divide by).
    """
    require_frame(data)
    _check_scale_name(scale)
    by = as_list(by)
    s = _signal(data, signal, "signal")
    mask = select_rows(data, control, "untreated control")
    check_has_controls(data, mask, by, role="untreated control")
    dose_cols = as_list(dose_cols)
    if dose_cols:
        require_columns(data, dose_cols, role="dose")
        for c in dose_cols:
            check_dose_column(data, c)
        _check_untreated(data, mask, dose_cols, "untreated control")
    _check_new_column(data, out, "out", allowed=(signal,))
    cmean, codes = _group_mean(data, s, mask, by)
    _, n = _codes(data, by)
    gm = np.full(n, np.nan)
    gm[codes] = cmean
    if (gm <= 0).any():
        where, row = _first_bad_group(data, by, codes, gm <= 0, mask)
        raise DataError(
            f"column {signal!r}: the mean untreated-control signal of {where} is "
            f"{float(gm[gm <= 0][0]):.4g} <= 0 (first control at row {row}); cannot normalise "
            "to it. Check the blank subtraction (were blanks read higher than cells?) and the "
            "control selector."
        )
    factor = 100.0 if scale == "percent" else 1.0
    res = _new_frame(data)
    res[out] = factor * s / cmean
    res.attrs["units"][out] = _SCALE_UNIT[scale]
    res.attrs["normalization"].append(
        f"{out} = {'100 * ' if scale == 'percent' else ''}{signal} / mean(untreated control "
        f"{signal}" + (f" per {by})" if by else ")")
    )
    return res


# ---------------------------------------------------------------------------
# scale and direction conversions
# ---------------------------------------------------------------------------
def _convert(data, col, out, default_out, func, check_kind, unit_out, label, check):
    if isinstance(data, pd.DataFrame):
        require_frame(data)
        if col is None:
            raise DataError(f"{label}: pass the column to convert, col='...'.")
        require_columns(data, [col], role="response")
        v = check_response_column(data, col)
        if check:
            check_scale(data[col].astype(float), check_kind, col)
        name = out or default_out
        _check_new_column(data, name, "out", allowed=(col,))
        res = _new_frame(data)
        res[name] = func(v)
        if unit_out is not None:
            res.attrs["units"][name] = unit_out
        elif col in res.attrs["units"]:
            res.attrs["units"][name] = res.attrs["units"][col]
        res.attrs["normalization"].append(f"{name} = {label}({col})")
        return res
    if col is not None:
        raise DataError(f"{label}: col= is only used with a DataFrame; got {type(data).__name__}.")
    if isinstance(data, pd.Series):
        vals = pd.to_numeric(data, errors="coerce")
        bad = vals.isna() & data.notna()
        if bad.any():
            raise DataError(
                f"{label}: Series {data.name!r} must be numeric (first non-numeric at row "
                f"{_fmt_label(data.index[np.flatnonzero(bad.to_numpy())[0]])})."
            )
        if check:
            check_scale(vals.astype(float), check_kind, str(data.name))
        return pd.Series(func(vals.to_numpy(dtype=float)), index=data.index.copy(),
                         name=out if out is not None else data.name)
    arr = np.asarray(data, dtype=float)
    if check:
        check_scale(arr, check_kind, "values")
    res = func(arr.copy())
    return float(res) if res.ndim == 0 else res


def _flip(scale: str):
    _check_scale_name(scale)
    top = 100.0 if scale == "percent" else 1.0
    return lambda v: top - v


def to_inhibition(data, col: str | None = None, *, scale: str = "percent",
                  out: str | None = None, check: bool = True):
    """Convert viability to inhibition: ``I = 100 - V`` (percent) or ``I = 1 - V`` (fraction).

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, array-like or float
        Viabilities (100 % / 1 = untreated control).  Not modified.
    col : str, optional
        Column to convert (required for a DataFrame).
    scale : {"percent", "fraction"}, default "percent"
        Scale of the input; the output has the same scale.
    out : str, optional
        New column name (DataFrame; default ``"inhibition"``) or Series name.
    check : bool, default True
        Check the values against the declared scale (:func:`check_scale`).

    Returns
    -------
    Same kind as ``data``
        DataFrame copy with the new column, new Series, array or float.
    """
    f = _flip(scale)
    return _convert(data, col, out, "inhibition", f, scale,
                    _SCALE_UNIT[scale], "to_inhibition", check)


def to_viability(data, col: str | None = None, *, scale: str = "percent",
                 out: str | None = None, check: bool = True):
    """Convert inhibition to viability: ``V = 100 - I`` (percent) or ``V = 1 - I`` (fraction).

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, array-like or float
        Inhibitions (0 = no effect, 100 % / 1 = complete effect).  Not modified.
    col : str, optional
        Column to convert (required for a DataFrame).
    scale : {"percent", "fraction"}, default "percent"
        Scale of the input; the output has the same scale.
    out : str, optional
        New column name (DataFrame; default ``"viability"``) or Series name.
    check : bool, default True
        Check the values against the declared scale.

    Returns
    -------
    Same kind as ``data``
    """
    f = _flip(scale)
    return _convert(data, col, out, "viability", f, scale,
                    _SCALE_UNIT[scale], "to_viability", check)


def to_fraction(data, col: str | None = None, *, out: str | None = None, check: bool = True):
    """Convert percent to fraction (divide by 100).

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, array-like or float
        Values in percent.  Not modified.
    col : str, optional
        Column to convert (required for a DataFrame).
    out : str, optional
        New column name (DataFrame; default ``f"{col}_fraction"``) or Series name.
    check : bool, default True
        Check that the input looks like percent (see :func:`check_scale`).

    Returns
    -------
    Same kind as ``data``, in fraction units.
    """
    return _convert(data, col, out, f"{col}_fraction", lambda v: v / 100.0, "percent",
                    "fraction", "to_fraction", check)


def to_percent(data, col: str | None = None, *, out: str | None = None, check: bool = True):
    """Convert fraction to percent (multiply by 100).

    Parameters
    ----------
    data : pandas.DataFrame, pandas.Series, array-like or float
        Values as fractions.  Not modified.
    col : str, optional
        Column to convert (required for a DataFrame).
    out : str, optional
        New column name (DataFrame; default ``f"{col}_percent"``) or Series name.
    check : bool, default True
        Check that the input looks like a fraction.

    Returns
    -------
    Same kind as ``data``, in percent.
    """
    return _convert(data, col, out, f"{col}_percent", lambda v: v * 100.0, "fraction",
                    "%", "to_percent", check)


# ---------------------------------------------------------------------------
# one-call plate normalisation
# ---------------------------------------------------------------------------
def normalize(
    data: pd.DataFrame,
    signal: str,
    *,
    control,
    reference: str | None = None,
    blank=None,
    by=None,
    blank_by=None,
    dose_cols=None,
    out: str = "viability",
    scale: str = "percent",
    name: str | None = None,
    drop_blanks: bool = True,
) -> pd.DataFrame:
    """Normalise a plate readout to untreated controls (viability or inhibition).

    Steps, each optional except the last:

    1. ``reference``: two-wavelength correction ``s_net = signal - reference``
       (WST-1: A450 - A655); column ``f"{signal}_net"``.
    2. ``blank``: subtract the mean blank (medium, no cells) of the row's ``blank_by`` group;
       column ``f"{signal}_blanked"``.
    3. divide by the mean corrected signal of the untreated controls of the row's ``by`` group:
       ``V = 100 * s_corr / C`` (``scale="percent"``) or ``s_corr / C`` (``"fraction"``).
    4. ``out="inhibition"``: ``I = 100 - V`` (or ``1 - V``).

    Blanks and controls are identified only by the caller, never guessed: each is a boolean
    column name, a ``{column: value}`` dict (e.g. ``{"well_type": "blank"}``,
    ``{"conc_uM": 0}``) or a boolean mask.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    signal : str
        Raw readout column (absorbance units, luminescence counts...), e.g. ``"A450"`` for
        WST-1 or ``"A570"`` for MTT.
    control : str, dict or boolean mask
        Untreated-control rows (required).
    reference : str, optional
        Reference-wavelength column subtracted from ``signal`` (e.g. ``"A655"``).
    blank : str, dict or boolean mask, optional
        Blank rows (medium without cells).  Without blanks, no background is subtracted.
    by : str or list of str, optional
        Groups normalised separately (e.g. ``["plate"]`` or ``["plate", "cell_line"]``); every
        group needs untreated controls.
    blank_by : str or list of str, optional
        Groups for the blank means; default ``by``.
    dose_cols : str or list of str, optional
        Dose columns: validated (finite, >= 0 on non-blank rows) and control rows must be
        dose 0 in all of them.
    out : {"viability", "inhibition"}, default "viability"
        Response kind of the result.
    scale : {"percent", "fraction"}, default "percent"
        Controls average to 100 % (or 1).
    name : str, optional
        Name of the result column; default ``out``.
    drop_blanks : bool, default True
        Remove blank rows from the result.

    Returns
    -------
    pandas.DataFrame
        A new table with the intermediate and result columns added;
        ``attrs["units"][name]`` is ``"%"`` or ``"fraction"``, ``attrs["response_kind"]``
        is ``out`` and ``attrs["normalization"]`` lists the steps applied.

    Raises
    ------
    DataError
        Non-numeric/NaN/inf signals, missing controls or blanks in a group, rows selected as
        both blank and control, treated controls, control mean <= 0.

    Examples
    --------
    >>> res = normalize(plate, "A450", reference="A655", blank={"well": "blank"},
    ...                 control={"conc_uM": 0, "well": "cells"}, by="plate")  # doctest: +SKIP
    """
    require_frame(data)
    if out not in _KINDS:
        raise DataError(f"out must be 'viability' or 'inhibition'; got {out!r}.")
    _check_scale_name(scale)
    by = as_list(by)
    blank_by = by if blank_by is None else as_list(blank_by)
    require_columns(data, [signal] + ([reference] if reference else []) + by + blank_by)
    check_groups_nonempty(data, list(dict.fromkeys(by + blank_by)))
    name = name or out
    _check_new_column(data, name, "name")

    cmask = select_rows(data, control, "untreated control")
    bmask = np.zeros(len(data), dtype=bool)
    if blank is not None:
        bmask = select_rows(data, blank, "blank")
        _check_disjoint(data, bmask, cmask, "blank", "untreated control")
    dose_cols = as_list(dose_cols)
    if dose_cols:
        require_columns(data, dose_cols, role="dose")
        sub = data.loc[~bmask]
        for c in dose_cols:
            check_dose_column(sub, c)
        _check_untreated(data, cmask, dose_cols, "untreated control")

    cur = data
    col = signal
    if reference is not None:
        cur = reference_subtract(cur, signal, reference)
        col = f"{signal}_net"
    if blank is not None:
        cur = subtract_blank(cur, col, bmask, by=blank_by, out=f"{signal}_blanked",
                             drop_blanks=False)
        col = f"{signal}_blanked"
    res = percent_of_control(cur, col, cmask, by=by, out=name, scale=scale)
    if out == "inhibition":
        top = 100.0 if scale == "percent" else 1.0
        res[name] = top - res[name].to_numpy()
        res.attrs["normalization"].append(f"{name} = {top:g} - {name} (inhibition)")
    if blank is not None and drop_blanks:
        res = res.loc[~bmask]
    res.attrs["response_kind"] = out
    res.attrs["scale"] = scale
    return res


# ---------------------------------------------------------------------------
# GR values (Hafner et al. 2016)
# ---------------------------------------------------------------------------
def _count_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    x = check_response_column(data, col, role=role)
    neg = x < 0
    if neg.any():
        pos = int(np.flatnonzero(neg)[0])
        raise DataError(
            f"column {col!r} ({role}) must be >= 0; got {int(neg.sum())} negative value(s) "
            f"(first at row {_fmt_label(data.index[pos])}: {float(x[pos])!r}). Cell counts (or "
            "blank-corrected signals proportional to them) cannot be negative; check the blank "
            "subtraction."
        )
    return x


def gr_values(
    data: pd.DataFrame,
    count: str,
    *,
    control=None,
    time_zero=None,
    x0: str | None = None,
    x_ctrl: str | None = None,
    by=None,
    time_zero_by=None,
    dose_cols=None,
    name: str = "GR",
    drop_time_zero: bool = True,
) -> pd.DataFrame:
    """Growth-rate inhibition (GR) values (Hafner, Niepel, Chung & Sorger 2016).

    ``GR(c) = 2 ** (log2(x(c) / x0) / log2(x_ctrl / x0)) - 1``

    where ``x(c)`` is the cell count (or a readout proportional to it) after treatment at
    concentration ``c``, ``x0`` the count at the time of treatment (time zero) and
    ``x_ctrl`` the count of untreated controls at the end of the assay.  GR = 1: no effect;
    GR = 0: complete cytostasis (``x(c) = x0``); GR = -1: every cell died (``x(c) = 0``).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    count : str
        Column with end-point counts (cells, or blank-corrected signal proportional to the
        number of cells; >= 0).
    control : str, dict or boolean mask, optional
        Untreated end-point rows; ``x_ctrl`` is their mean ``count`` in the row's ``by``
        group.  Give either ``control`` or ``x_ctrl``.
    time_zero : str, dict or boolean mask, optional
        Time-zero rows (read when the drug was added); ``x0`` is their mean ``count`` in
        the row's ``time_zero_by`` group.  Give either ``time_zero`` or ``x0``.
    x0 : str, optional
        Column holding the time-zero count of each row's population.
    x_ctrl : str, optional
        Column holding the untreated-control count matching each row.
    by : str or list of str, optional
        Groups for the control means (e.g. ``["cell_line", "plate"]``).
    time_zero_by : str or list of str, optional
        Groups for the time-zero means (time-zero plates are often separate: e.g.
        ``"cell_line"``); default ``by``.
    dose_cols : str or list of str, optional
        Dose columns; validated, and control rows must be dose 0.
    name : str, default "GR"
        Name of the result column.
    drop_time_zero : bool, default True
        Remove the time-zero rows from the result.

    Returns
    -------
    pandas.DataFrame
        A copy with columns ``f"{count}_x0"``, ``f"{count}_xctrl"`` (the counts used) and
        ``name`` (dimensionless, -1..1 for the usual range; above 1 if treatment
        stimulates growth).

    Raises
    ------
    DataError
        Missing time-zero or control counts (per group), negative/NaN counts, ``x0 <= 0``,
        or controls that did not grow (``x_ctrl <= x0``; GR is undefined then).

    References
    ----------
    Hafner M, Niepel M, Chung M, Sorger PK. Growth rate inhibition metrics correct for
    confounders in measuring sensitivity to cancer drugs. Nat Methods 2016;13:521-527.
    """
    require_frame(data)
    by = as_list(by)
    tz_by = by if time_zero_by is None else as_list(time_zero_by)
    if (time_zero is None) == (x0 is None):
        raise DataError(
            "gr_values needs the time-zero counts exactly once: pass time_zero=<selector of "
            "time-zero rows> or x0=<column with each row's time-zero count>. GR values are "
            "undefined without them (use normalize() for relative viability instead)."
        )
    if (control is None) == (x_ctrl is None):
        raise DataError(
            "gr_values needs the untreated-control counts exactly once: pass control="
            "<selector of untreated rows> or x_ctrl=<column with each row's control count>."
        )
    require_columns(data, [count] + by + tz_by)
    check_groups_nonempty(data, list(dict.fromkeys(by + tz_by)))
    _check_new_column(data, name, "name")
    for c in (f"{count}_x0", f"{count}_xctrl"):
        _check_new_column(data, c, "count (rename the column)")
    x = _count_column(data, count, "count")

    tmask = np.zeros(len(data), dtype=bool)
    if time_zero is not None:
        tmask = select_rows(data, time_zero, "time-zero")
        check_has_controls(data, tmask, tz_by, role="time-zero")
        x0v, _ = _group_mean(data, x, tmask, tz_by)
    else:
        require_columns(data, [x0], role="time-zero count")
        x0v = _count_column(data, x0, "time-zero count")
    if control is not None:
        cmask = select_rows(data, control, "untreated control")
        _check_disjoint(data, tmask, cmask, "time-zero", "untreated control")
        check_has_controls(data.loc[~tmask], cmask[~tmask], by, role="untreated control")
        xcv, _ = _group_mean(data, x, cmask & ~tmask, by)
    else:
        require_columns(data, [x_ctrl], role="control count")
        xcv = _count_column(data, x_ctrl, "control count")
        cmask = np.zeros(len(data), dtype=bool)
    dose_cols = as_list(dose_cols)
    if dose_cols:
        require_columns(data, dose_cols, role="dose")
        for c in dose_cols:
            check_dose_column(data.loc[~tmask], c)
        _check_untreated(data, cmask, dose_cols, "untreated control")

    keep = ~tmask
    bad = keep & (x0v <= 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"column {x0 or count!r}: the time-zero count for row {_fmt_label(data.index[pos])} is "
            f"{float(x0v[pos]):.4g} <= 0; GR values need a positive count at the time of "
            "treatment."
        )
    bad = keep & (xcv <= x0v)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        grp = _group_label(by, tuple(data.iloc[pos][c] for c in by)) if by else "all rows"
        raise DataError(
            f"column {x_ctrl or count!r}: untreated controls did not grow for row "
            f"{_fmt_label(data.index[pos])} ({grp}): x_ctrl = {float(xcv[pos]):.4g} <= x0 = "
            f"{float(x0v[pos]):.4g}. GR values are undefined when controls do not divide; check "
            "the time-zero and control selectors or the assay duration."
        )
    with np.errstate(divide="ignore"):
        gr = np.exp2(np.log2(x / x0v) / np.log2(xcv / x0v)) - 1.0
    res = _new_frame(data)
    res[f"{count}_x0"] = x0v
    res[f"{count}_xctrl"] = xcv
    res[name] = np.where(keep, gr, np.nan)
    res.attrs["units"][name] = "dimensionless (GR, Hafner 2016)"
    res.attrs["normalization"].append(
        f"{name} = 2**(log2({count}/x0)/log2(x_ctrl/x0)) - 1 (Hafner et al. 2016)"
    )
    res.attrs["response_kind"] = "GR"
    if drop_time_zero:
        res = res.loc[keep]
    return res


# ---------------------------------------------------------------------------
# plate effects

def _median_polish(x: np.ndarray, max_iter: int = 20, tol: float = 1e-10):
    """Tukey's median polish of a (rows, columns) matrix with NaN for missing cells.

    Returns overall, row effects, column effects (NaN-aware medians; rows or columns without a
    value get effect 0)."""
    r = x.copy()
    overall = 0.0
    row = np.zeros(x.shape[0])
    col = np.zeros(x.shape[1])
    import warnings

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN rows/columns: effect 0
        for _ in range(max_iter):
            rm = np.nan_to_num(np.nanmedian(r, axis=1))
            r -= rm[:, None]
            row += rm
            d = np.nanmedian(col)
            col -= d
            overall += d
            cm = np.nan_to_num(np.nanmedian(r, axis=0))
            r -= cm[None, :]
            col += cm
            d = np.nanmedian(row)
            row -= d
            overall += d
            if max(np.max(np.abs(rm)), np.max(np.abs(cm))) < tol * (1.0 + abs(overall)):
                break
    return overall, row, col


def plate_correction(data: pd.DataFrame, value: str, *, row: str, column: str, plate=None,
                     method: str = "median_polish", fit_on=None, out: str | None = None) -> pd.DataFrame:
    """Remove row and column (edge, gradient) effects of each plate.

    Tukey's median polish fits ``x_ij = m + a_i + b_j + e_ij`` to every plate (rows ``i``,
    columns ``j``; medians, so a few active wells do not bias the effects).  ``method=
    "median_polish"`` returns ``m + e_ij`` (the plate's overall level plus the residual, in the
    unit of ``value``); ``"bscore"`` returns ``e_ij / (1.4826 MAD(e))`` (dimensionless; Brideau C,
    Gunter B, Pikounis B, Liaw A. J Biomol Screen 2003;8:634-647).

    The additive model assumes that treatments are not aligned with rows or columns: on a
    plate where dose increases along the columns, the column effects *are* the dose effect and
    must not be removed.  For such layouts estimate the effects on wells spread over the plate
    whose true response is the same (untreated controls, or a randomised layout) with
    ``fit_on``; the correction is then applied to every well.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy table, one row per well (not modified).
    value : str
        Column with the readout (signal, % viability...).
    row, column : str
        Columns with the well's row (e.g. "A".."H") and column (1..12) labels.
    plate : str or list of str, optional
        Column(s) identifying the plate; default: one plate.
    method : {"median_polish", "bscore"}
    fit_on : selector, optional
        Wells used to estimate the effects (boolean column name, ``{column: value}`` dict or a
        boolean mask; see :func:`comboplan.data.validate.select_rows`); default all wells.
    out : str, optional
        Name of the new column (default ``value + "_plate_corrected"`` or ``value + "_bscore"``).

    Returns
    -------
    pandas.DataFrame
        A copy with the new column and columns ``row_effect`` and ``column_effect`` (unit of
        ``value``), and an entry in ``attrs["normalization"]``.
    """
    require_frame(data)
    if method not in ("median_polish", "bscore"):
        raise DataError(f"method must be 'median_polish' or 'bscore'; got {method!r}.")
    plates = as_list(plate)
    require_columns(data, [value, row, column] + plates, role="plate layout")
    x = pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {value!r}: row {_fmt_label(data.index[pos])} is not a finite number "
                        f"({data[value].iloc[pos]!r}); fix or drop it before the plate correction.")
    key = plates + [row, column]
    dup = data.duplicated(key, keep=False).to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        raise DataError(f"two rows share plate/row/column {tuple(data[key].iloc[pos])} (row "
                        f"{_fmt_label(data.index[pos])}); each well must appear once per plate. Add the plate "
                        "column(s) with plate=...")
    use = np.ones(len(data), bool) if fit_on is None else select_rows(data, fit_on, "wells for the plate effects")
    name = out or (f"{value}_plate_corrected" if method == "median_polish" else f"{value}_bscore")
    _check_new_column(data, name, "out")
    for c in ("row_effect", "column_effect"):
        _check_new_column(data, c, "out")
    res = _new_frame(data)
    corrected = np.empty(len(data))
    reff = np.empty(len(data))
    ceff = np.empty(len(data))
    codes, n_plates = _codes(data, plates)
    for g in range(n_plates):
        idx = np.flatnonzero(codes == g)
        rl, ri = np.unique(data[row].to_numpy()[idx].astype(str), return_inverse=True)
        cl, ci = np.unique(data[column].to_numpy()[idx].astype(str), return_inverse=True)
        m = np.full((rl.size, cl.size), np.nan)
        sel = use[idx]
        m[ri[sel], ci[sel]] = x[idx][sel]
        if np.isfinite(m).sum() < 3:
            where = f"plate ({_group_label(plates, tuple(data.iloc[idx[0]][plates]))})" if plates else "the plate"
            raise DataError(f"{where} has fewer than 3 wells to estimate row and column effects from.")
        overall, a, b = _median_polish(m)
        e = x[idx] - overall - a[ri] - b[ci]
        reff[idx], ceff[idx] = a[ri], b[ci]
        if method == "median_polish":
            corrected[idx] = overall + e
        else:
            mad = 1.4826 * float(np.median(np.abs(e[sel] - np.median(e[sel]))))
            if not mad > 0:
                raise DataError("the residuals of a plate have MAD 0 (constant wells): the B-score is undefined; "
                                "use method='median_polish'.")
            corrected[idx] = e / mad
    res[name] = corrected
    res["row_effect"] = reff
    res["column_effect"] = ceff
    unit = dict(data.attrs.get("units", {})).get(value, "")
    res.attrs["units"][name] = unit if method == "median_polish" else "1 (B-score)"
    res.attrs["units"]["row_effect"] = unit
    res.attrs["units"]["column_effect"] = unit
    res.attrs["normalization"].append(
        f"plate_correction({value!r} -> {name!r}, {method}, Tukey median polish per plate"
        + (", effects estimated on selected wells" if fit_on is not None else "") + ")")
    return res
