"""Merge the tables of synergy calls made on parts of a screen (chunks of blocks in memory,
partitions on Dask) into the tables of one call."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .._worker import release_free_memory

__all__ = ["concat_like", "block_order", "recompute_qvalues", "split_columns", "merge_columns", "frame_of_columns",
           "split_tables", "merge_split_tables"]


def concat_like(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate table pieces (``None`` skipped), categorical columns kept categorical with one
    category list per column (the categories in the order first seen).

    Parameters
    ----------
    frames : list of pandas.DataFrame or None

    Returns
    -------
    pandas.DataFrame
        The rows of every piece, in order, with a fresh index.
    """
    frames = [f for f in frames if f is not None]
    if not frames:
        return pd.DataFrame()
    cats: dict[str, list] = {}
    for f in frames:
        for c in f.columns:
            if isinstance(f[c].dtype, pd.CategoricalDtype):
                cats.setdefault(c, [])
                cats[c].extend(f[c].cat.categories.tolist())
    if not cats:
        return pd.concat([f for f in frames if len(f.columns)], ignore_index=True)
    # one category list per column (first seen first), set on every piece: pd.concat then keeps the
    # categorical columns as they are (recoding codes, no round trip through Python objects)
    union = {c: list(dict.fromkeys(vals)) for c, vals in cats.items()}
    plain = []
    for f in frames:
        if not len(f.columns):
            continue
        f = f.copy(deep=False)
        for c, vals in union.items():
            if c not in f.columns:
                continue
            if isinstance(f[c].dtype, pd.CategoricalDtype):
                f[c] = f[c].cat.set_categories(vals)
            else:   # a piece where the column is not categorical (e.g. all missing): as categories
                extra = [v for v in pd.unique(f[c].dropna()) if v not in set(vals)]
                if extra:
                    vals.extend(extra)
                    for g in plain:
                        if c in g.columns:
                            g[c] = g[c].cat.set_categories(vals)
                f[c] = pd.Categorical(f[c], categories=vals)
        plain.append(f)
    return pd.concat(plain, ignore_index=True)


def block_order(tab: pd.DataFrame, by, methods) -> pd.DataFrame:
    """Reorder a merged synergy table as one call orders it: by method (in ``methods`` order),
    then by block (sorted ``by`` labels), then in the pieces' own row order.

    Parameters
    ----------
    tab : pandas.DataFrame
    by : list of str
        Block columns.
    methods : sequence of str

    Returns
    -------
    pandas.DataFrame
    """
    if len(tab) == 0:
        return tab
    keys = [np.arange(len(tab))]
    if by and all(c in tab.columns for c in by):
        keys.insert(0, tab.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy())
    if "method" in tab.columns:
        keys.insert(0, pd.Categorical(tab["method"].astype(object), categories=list(methods)).codes)
    return tab.iloc[np.lexsort(keys[::-1])].reset_index(drop=True)


def recompute_qvalues(tab, methods) -> None:
    """Set the ``q_value`` column (in place) to the Benjamini-Hochberg q-values of ``p_value`` over
    all rows of each method, as one call over the whole screen computes them; no-op without a
    ``q_value`` column.

    Parameters
    ----------
    tab : pandas.DataFrame or dict
        A merged cells or blocks table (``method``, ``p_value``, ``q_value``), or its columns as
        :func:`merge_columns` returns them (the ``q_value`` array is then overwritten in place).
    methods : sequence of str
    """
    from .stats import bh_fdr

    if "q_value" not in (tab.columns if isinstance(tab, pd.DataFrame) else tab):
        return
    meth = pd.Categorical(tab["method"])
    p = np.asarray(tab["p_value"], dtype=float)
    q = np.full(len(p), np.nan) if isinstance(tab, pd.DataFrame) else tab["q_value"]
    cats = list(meth.categories)
    for m in methods:
        if m not in cats:
            continue
        sel = meth.codes == cats.index(m)
        q[sel] = bh_fdr(p[sel])
    if isinstance(tab, pd.DataFrame):
        tab["q_value"] = q


def split_columns(tab: pd.DataFrame, rows=None) -> dict:
    """The columns of ``tab`` (rows ``rows``: a boolean mask or ``None`` for all) as separate arrays,
    each its own copy, so that each can be released on its own when merged.

    Parameters
    ----------
    tab : pandas.DataFrame
    rows : numpy.ndarray of bool, optional

    Returns
    -------
    dict
        Column name -> numpy array or pandas extension array (categoricals stay categorical).
    """
    out = {}
    for c in tab.columns:
        a = tab[c].array
        if isinstance(a, pd.arrays.NumpyExtensionArray):
            a = a.to_numpy()
        out[c] = a[rows] if rows is not None else a.copy()
    return out


def _codes_dtype(n_categories: int):
    for dt in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dt).max:
            return dt
    return np.int64


def merge_columns(pieces: list, trim: bool = False) -> dict | None:
    """Concatenate table pieces given as column dicts (:func:`split_columns`), one column at a time,
    releasing each piece's column as soon as it is copied: the working memory of the merge is one
    column of the result, not a second copy of it.

    Categorical columns keep one category list (first seen first, as :func:`concat_like`); the
    other columns take the pieces' common numpy dtype, or pandas' concatenation of their arrays
    (extension types such as strings).  The dicts in ``pieces`` are emptied.

    Parameters
    ----------
    pieces : list of dict
        Every dict has the same column names in the same order.
    trim : bool
        Return the freed memory to the system after each column
        (:func:`comboplan._worker.release_free_memory`; for merges of large results).

    Returns
    -------
    dict or None
        Column name -> merged array (:func:`frame_of_columns` makes the table); ``None`` when the
        pieces disagree in their columns or column kinds (the caller then concatenates frames).
    """
    pieces = [p for p in pieces if p is not None]
    if not pieces:
        return None
    names = list(pieces[0])
    if any(list(p) != names for p in pieces):
        return None
    for c in names:
        kinds = {type(p[c]) if not isinstance(p[c], np.ndarray) else np.ndarray for p in pieces}
        if len(kinds) != 1:
            return None
    n = sum(len(p[names[0]]) for p in pieces) if names else 0
    out = {}
    for c in names:
        parts = [p.pop(c) for p in pieces]
        first = parts[0]
        if isinstance(first, pd.Categorical):
            union = list(dict.fromkeys(v for x in parts for v in x.categories))
            index = {v: i for i, v in enumerate(union)}
            codes = np.empty(n, dtype=_codes_dtype(len(union)))
            pos = 0
            for i, x in enumerate(parts):
                remap = np.array([index[v] for v in x.categories] + [-1], dtype=codes.dtype)
                codes[pos:pos + len(x)] = remap[x.codes]          # code -1 (missing) maps to the appended -1
                pos += len(x)
                parts[i] = None
            out[c] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(union, ordered=first.ordered),
                                               validate=False)
        elif isinstance(first, np.ndarray):
            col = np.empty(n, dtype=np.result_type(*parts))
            pos = 0
            for i, x in enumerate(parts):
                col[pos:pos + len(x)] = x
                pos += len(x)
                parts[i] = None
            out[c] = col
        else:
            out[c] = pd.concat([pd.Series(x, copy=False) for x in parts], ignore_index=True).array
        del parts
        if trim:
            release_free_memory()       # the pieces' column, freed, back to the system
    return out


def frame_of_columns(cols: dict) -> pd.DataFrame:
    """A DataFrame over the arrays of ``cols`` without copying them (one block per column).

    Parameters
    ----------
    cols : dict
        Column name -> 1-D numpy array or pandas extension array, all of one length.

    Returns
    -------
    pandas.DataFrame
    """
    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pragma: no cover - pandas < 3
        return pd.DataFrame(cols, copy=False)
    n = len(next(iter(cols.values()))) if cols else 0
    blocks = []
    for j, v in enumerate(cols.values()):
        if isinstance(v, np.ndarray):
            if v.dtype == object:           # as the constructor infers it (e.g. strings)
                return pd.DataFrame(cols, copy=False)
            v = v[None, :]
        blocks.append((v, np.array([j], dtype=np.intp)))
    return create_dataframe_from_blocks(blocks, pd.RangeIndex(n), pd.Index(list(cols)))


TABLES = ("cells", "blocks", "monotherapy")


def split_tables(result, methods) -> dict:
    """The tables of one synergy call on part of a screen, as column arrays per table and method.

    Parameters
    ----------
    result : SynergyResult or tuple
        A result, or its ``(cells, blocks, monotherapy)`` tables (any may be ``None``).
    methods : sequence of str

    Returns
    -------
    dict
        ``{"cells": {method: columns}, "blocks": {method: columns}, "monotherapy": {None: columns}}``
        with ``columns`` as :func:`split_columns` gives them (each its own copy, so that the
        merge can release them one by one); a table that is ``None`` is left out.
    """
    tabs = (result.cells, result.blocks, result.monotherapy) if hasattr(result, "cells") else result
    out: dict = {}
    for name, tab in zip(TABLES, tabs):
        if tab is None:
            continue
        if "method" in tab.columns and name != "monotherapy":
            meth = pd.Categorical(tab["method"])
            cats = list(meth.categories)
            out[name] = {m: split_columns(tab, meth.codes == (cats.index(m) if m in cats else -2)) for m in methods}
        else:
            out[name] = {None: split_columns(tab)}
    return out


def merge_split_tables(parts: list, methods, trim: bool = False) -> dict:
    """Merge parts of a screen (:func:`split_tables` of each, in order) into the tables of one call.

    Rows come method by method (in ``methods`` order), and within a method in the order of
    ``parts``: the order of one call when the parts hold consecutive blocks in sorted label
    order.  q-values are recomputed over all rows of each method.  The merge works one column
    at a time and releases each part's column once copied (:func:`merge_columns`); parts whose
    columns disagree (e.g. a block that could not be scored at all) are concatenated as frames.
    The dicts in ``parts`` are emptied.

    Parameters
    ----------
    parts : list of dict
        :func:`split_tables` outputs.
    methods : sequence of str
    trim : bool
        Return freed memory to the system between columns (see :func:`merge_columns`).

    Returns
    -------
    dict
        ``{"cells": DataFrame, "blocks": DataFrame, "monotherapy": DataFrame}``.
    """
    tables = {}
    for name in TABLES:
        keys = [None] if name == "monotherapy" else [*methods, None]
        pieces = [p[name].pop(k) for k in keys for p in parts if name in p and k in p[name]]
        for p in parts:
            p.pop(name, None)
        cols = merge_columns(pieces, trim=trim)
        if cols is None:
            tab = concat_like([frame_of_columns(c) for c in pieces if c])
            if name != "monotherapy":
                recompute_qvalues(tab, methods)
        else:
            if name != "monotherapy":
                recompute_qvalues(cols, methods)
            tab = frame_of_columns(cols)
        del pieces, cols
        tables[name] = tab
    return tables
