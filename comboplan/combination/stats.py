"""Resampling, p-values and multiple-testing helpers for combination scoring."""
from __future__ import annotations

import numpy as np

from .._multitest import adjust_pvalues
from .._random import as_generator

__all__ = ["as_rng", "bh_fdr", "boot_pvalue", "percentile_ci", "resample_cell_means", "pad_groups", "dense_rank_within",
           "factorize"]


def factorize(x, stable: bool = True):
    """``np.unique(x, return_index=True, return_inverse=True)`` of a 1-D array without NaN,
    lean for small arrays: ``(levels, first index of each level, code of every element)``.

    The same levels and codes as :func:`numpy.unique` (and, with ``stable=True``, the same
    first indices: the stable sort that ``np.unique`` uses with ``return_index``), without its
    fixed cost (~8 us a call), which dominated one small matrix.  ``stable=False`` sorts with
    quicksort (as ``np.unique`` does without ``return_index``); its first indices are then
    some index of each level.
    """
    n = len(x)
    order = np.argsort(x, kind="stable" if stable else "quicksort")
    xs = x[order]
    new = np.empty(n, dtype=bool)
    if n:
        new[0] = True
        np.not_equal(xs[1:], xs[:-1], out=new[1:])
    inv = np.empty(n, dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    return xs[new], order[new], inv


#: a Generator from ``seed`` (None, int, SeedSequence or Generator): the package's one helper
as_rng = as_generator


def bh_fdr(p, axis=None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN entries stay NaN.

    Parameters
    ----------
    p : array_like
        p-values.
    axis : int, optional
        Adjust each 1-D slice along ``axis`` separately (one family per slice, e.g. one per
        method: the same values as a call per slice).  ``None`` (default): one family of all
        entries.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape (:func:`comboplan._multitest.adjust_pvalues` with
        ``method="fdr_bh"``).  Without any finite p-value there is nothing to adjust: all NaN.
    """
    p = np.asarray(p, dtype=float)
    if not np.isfinite(p).any():
        return np.full(p.shape, np.nan)
    if axis is None:
        return adjust_pvalues(p.ravel(), "fdr_bh").reshape(p.shape)
    return adjust_pvalues(p, "fdr_bh", axis=axis)


def boot_pvalue(samples, axis: int = 0) -> np.ndarray:
    """Two-sided bootstrap p-value for H0: score = 0.

    ``p = min(1, 2 min(#(b <= 0) + 1, #(b >= 0) + 1) / (B + 1))`` over the finite
    bootstrap replicates ``b`` (the percentile-interval inversion with the usual +1
    correction, so p is never exactly 0).
    """
    s = np.asarray(samples, dtype=float)
    fin = np.isfinite(s)
    B = fin.sum(axis=axis)
    le = ((s <= 0) & fin).sum(axis=axis)
    ge = ((s >= 0) & fin).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2.0 * (np.minimum(le, ge) + 1.0) / (B + 1.0))
    return np.where(B >= 2, p, np.nan)


def percentile_ci(samples, level: float, axis: int = 0):
    """Percentile bootstrap interval ignoring non-finite replicates."""
    s = np.asarray(samples, dtype=float)
    a = (1.0 - level) / 2.0
    with np.errstate(all="ignore"):
        s = np.where(np.isfinite(s), s, np.nan)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanquantile(s, a, axis=axis)
            hi = np.nanquantile(s, 1.0 - a, axis=axis)
    return lo, hi


def pad_groups(codes: np.ndarray, values: np.ndarray, n_groups: int):
    """Scatter ``values`` into a NaN-padded (n_groups, max_size) array by group code."""
    codes = np.asarray(codes)
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    counts = np.bincount(sc, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(sc)) - starts[sc]
    width = max(int(counts.max()) if len(counts) else 1, 1)
    out = np.full((n_groups, width), np.nan)
    out[sc, pos] = np.asarray(values, dtype=float)[order]
    return out, counts


def resample_cell_means(padded: np.ndarray, counts: np.ndarray, n_boot: int, rng, mode: str = "mean",
                        chunk: int | None = None):
    """Bootstrap cell means by resampling replicates within each cell.

    Parameters
    ----------
    padded : ndarray, shape (n_cells, max_rep)
        Replicate values (NaN padded).
    counts : ndarray, shape (n_cells,)
        Replicates per cell.
    n_boot : int
        Bootstrap replicates.
    rng : numpy.random.Generator
        Random source.
    mode : {"mean", "single"}
        ``"mean"``: draw ``n`` replicates with replacement and average them (the
        bootstrap distribution of the cell mean); ``"single"``: draw one replicate per
        cell, as SynergyFinder does (the distribution of single-replicate scores).

    Returns
    -------
    ndarray, shape (n_boot, n_cells)
    """
    n_cells, width = padded.shape
    cnt = np.maximum(counts, 1)
    if mode == "single":
        idx = (rng.random((n_boot, n_cells)) * cnt).astype(np.int64)
        return padded[np.arange(n_cells)[None, :], idx]
    chunk = chunk or max(1, int(2e7 // max(n_cells * width, 1)))
    out = np.empty((n_boot, n_cells))
    valid = np.arange(width)[None, :] < counts[:, None]
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        idx = (rng.random((b, n_cells, width)) * cnt[None, :, None]).astype(np.int64)
        vals = np.take_along_axis(np.broadcast_to(padded, (b, n_cells, width)), idx, axis=2)
        vals = np.where(valid[None], vals, 0.0)
        out[s:s + b] = vals.sum(axis=2) / cnt[None, :]
    return out


def dense_rank_within(group, values, n_groups):
    """0-based dense rank of ``values`` within each ``group`` (vectorised).

    Parameters
    ----------
    group : ndarray of int
        Group code (0 .. n_groups-1) of every element.
    values : ndarray
        Values ranked within their group (ties share a rank).
    n_groups : int
        Number of groups.

    Returns
    -------
    ndarray of int
        Rank of each value among the distinct values of its group (``values`` hold no NaN).
    """
    lv, _, code = factorize(values, stable=False)
    key = group.astype(np.int64) * len(lv) + code
    _, _, inv = factorize(key, stable=False)
    first = np.full(n_groups, np.iinfo(np.int64).max)
    np.minimum.at(first, group, inv)
    return inv - first[group]
