"""Multiple-testing adjustment: the package's one implementation (Holm, Bonferroni,
Benjamini-Hochberg), equal to SciPy's ``false_discovery_control`` and statsmodels'
``multipletests`` (``tests/test_multitest.py``)."""
from __future__ import annotations

import numpy as np

from .exceptions import DataError

__all__ = ["adjust_pvalues"]


def adjust_pvalues(p: np.ndarray, method: str = "holm", axis: int = -1) -> np.ndarray:
    """Adjust p-values along ``axis`` for multiple testing.

    Parameters
    ----------
    p : ndarray
        Raw p-values (NaN entries are left as NaN and not counted).
    method : {"holm", "bonferroni", "fdr_bh", "none"}
        Holm step-down (family-wise error), Bonferroni, Benjamini-Hochberg (false discovery
        rate) or no adjustment.

    Returns
    -------
    ndarray
        Adjusted p-values, same shape.
    """
    p = np.moveaxis(np.asarray(p, float), axis, -1)
    if method == "none":
        return np.moveaxis(p.copy(), -1, axis)
    if method not in ("holm", "bonferroni", "fdr_bh"):
        raise DataError(f"adjust must be 'holm', 'bonferroni', 'fdr_bh' or 'none', got {method!r}.")
    ok = np.isfinite(p)
    m = ok.sum(axis=-1, keepdims=True).astype(float)
    order = np.argsort(np.where(ok, p, np.inf), axis=-1)
    srt = np.take_along_axis(np.where(ok, p, np.inf), order, -1)
    srt = np.where(np.isfinite(srt), srt, np.nan)
    rank = np.arange(p.shape[-1])  # 0-based rank among finite values (NaNs sort last)
    if method == "bonferroni":
        adj = srt * m
    elif method == "holm":
        adj = np.maximum.accumulate(np.where(np.isfinite(srt), srt * (m - rank), -np.inf), axis=-1)
        adj = np.where(np.isfinite(srt), adj, np.nan)
    else:
        raw = np.where(np.isfinite(srt), srt * m / (rank + 1), np.inf)
        raw = np.where(np.isnan(raw), np.inf, raw)
        adj = np.flip(np.minimum.accumulate(np.flip(raw, -1), axis=-1), -1)
    adj = np.minimum(adj, 1.0)
    out = np.empty_like(p)
    adj = np.where(np.isfinite(srt), adj, np.nan)
    np.put_along_axis(out, order, adj, -1)
    out = np.where(ok, out, np.nan)
    return np.moveaxis(out, -1, axis)
