"""Pack a tidy long table into NaN-padded ``(n_curves, n_obs)`` arrays for the batch engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Packed", "pack_groups"]


@dataclass(frozen=True)
class Packed:
    """Curves packed for :func:`comboplan.fitting.batch.fit_curves`.

    Attributes
    ----------
    keys : pandas.DataFrame
        One row per curve: the ``by`` columns (empty frame with one row if no ``by``).
    x, y, w : ndarray, shape (n_curves, max_obs)
        NaN-padded independent variable, response and weights.
    mask : ndarray of bool
        True where an observation exists.  Within a curve the observations are sorted by
        ``x``, then ``y`` (then ``w``), whatever the row order of the table.
    rows : ndarray of int, shape (n_curves, max_obs)
        Positional row of each observation in the caller's table (-1 for padding).
    """

    keys: pd.DataFrame
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    mask: np.ndarray
    rows: np.ndarray


def pack_groups(data: pd.DataFrame, x: np.ndarray, y: np.ndarray, by: list[str], w: np.ndarray | None = None) -> Packed:
    """Group rows of ``data`` by ``by`` and scatter ``x``/``y``/``w`` into padded arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        The caller's table (only the ``by`` columns are read; not modified).
    x, y : ndarray, shape (n_rows,)
        Already validated numeric columns.
    by : list of str
        Grouping columns (curve identity); ``[]`` for a single curve.
    w : ndarray, optional
        Weights per row.

    Returns
    -------
    Packed
    """
    n = len(data)
    # int32 positions where they fit: the index arrays below are per row and transient
    it = np.int32 if n < 2**31 - 1 else np.int64
    if by:
        grp = data.groupby(by, sort=True, dropna=False, observed=True)
        gid = grp.ngroup().to_numpy().astype(it, copy=False)
        keys = grp.size().reset_index()[by]
        del grp
    else:
        gid = np.zeros(n, dtype=it)
        keys = pd.DataFrame(index=[0])
    # within a curve, observations in a canonical order (dose, then response, then weight), so
    # that anything drawn per position (bootstrap residuals) does not depend on the row order
    keys_ = (y, x, gid) if w is None else (w, y, x, gid)
    order = np.lexsort(keys_).astype(it, copy=False)
    g_sorted = gid[order]
    counts = np.bincount(gid, minlength=len(keys))
    del gid, keys_
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(it)
    pos = np.arange(n, dtype=it)
    pos -= starts[g_sorted]
    m = int(counts.max()) if len(counts) else 0
    X = np.full((len(keys), m), np.nan)
    Y = np.full((len(keys), m), np.nan)
    W = np.full((len(keys), m), np.nan)
    R = np.full((len(keys), m), -1, dtype=int)
    X[g_sorted, pos] = x[order]
    Y[g_sorted, pos] = y[order]
    W[g_sorted, pos] = 1.0 if w is None else w[order]
    R[g_sorted, pos] = order
    return Packed(keys=keys.reset_index(drop=True), x=X, y=Y, w=W, mask=R >= 0, rows=R)
