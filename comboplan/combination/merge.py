"""Merge the tables of synergy calls made on parts of a screen (chunks of blocks in memory,
partitions on Dask) into the tables of one call."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["concat_like", "block_order", "recompute_qvalues"]


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


def recompute_qvalues(tab: pd.DataFrame, methods) -> None:
    """Set ``tab["q_value"]`` (in place) to the Benjamini-Hochberg q-values of ``p_value`` over
    all rows of each method, as one call over the whole screen computes them; no-op without a
    ``q_value`` column.

    Parameters
    ----------
    tab : pandas.DataFrame
        A merged cells or blocks table (``method``, ``p_value``, ``q_value``).
    methods : sequence of str
    """
    from .stats import bh_fdr

    if "q_value" not in tab.columns:
        return
    q = np.full(len(tab), np.nan)
    meth = tab["method"].astype(object).to_numpy()
    p = tab["p_value"].to_numpy(dtype=float)
    for m in methods:
        sel = meth == m
        q[sel] = bh_fdr(p[sel])
    tab["q_value"] = q
