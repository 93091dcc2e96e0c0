"""Plots of structural sensitivity analyses (tornado plots).

Every function takes ``ax=None`` (a new figure) and returns the Axes; none simulates.
"""
from __future__ import annotations

import numpy as np

from ..exceptions import DataError
from ._common import new_axes as _ax

__all__ = ["plot_tornado"]


def plot_tornado(table, *, ax=None, column: str = "ratio", margin_ratio: float | None = None,
                 annotate: bool = True):
    """Tornado plot of a one-at-a-time sensitivity table.

    One horizontal bar per assumption, spanning the predictions under its alternative values
    and the baseline (vertical line); the assumption with the widest span is on top.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`comboplan.simulate.noninferiority.structural_sensitivity` (or
        :func:`~comboplan.simulate.noninferiority.eiro2024_sensitivity`): columns
        ``assumption`` (first row ``"baseline"``), ``label`` and ``column``.
    ax : matplotlib Axes, optional
    column : str
        What to show: ``"ratio"`` (candidate / reference of the typical-animal relative size,
        dimensionless) or an arm's column (typical-animal ``V(day)/V(0)``, fold of day 0).
    margin_ratio : float, optional
        A vertical dotted line, e.g. the non-inferiority bound ``exp(M2)`` (ratio scale).
    annotate : bool
        Write each alternative's label next to its marker.

    Returns
    -------
    matplotlib.axes.Axes
    """
    for c in ("assumption", "label", column):
        if c not in table.columns:
            raise DataError(f"the sensitivity table has no column {c!r}; columns are {list(table.columns)}.")
    base_rows = table[table["assumption"] == "baseline"]
    if not len(base_rows):
        raise DataError("the sensitivity table needs its 'baseline' row (from structural_sensitivity).")
    base = float(base_rows[column].iloc[0])
    alts = table[table["assumption"] != "baseline"]
    groups = [(name, g) for name, g in alts.groupby("assumption", sort=False)]
    groups.sort(key=lambda kv: float(np.max(np.abs(kv[1][column].to_numpy(float) - base))))
    ax = _ax(ax, figsize=(7, 1.0 + 0.7 * max(1, len(groups))))
    for i, (name, g) in enumerate(groups):
        v = g[column].to_numpy(float)
        lo, hi = min(v.min(), base), max(v.max(), base)
        ax.barh(i, hi - lo, left=lo, height=0.5, color="C0", alpha=0.35, edgecolor="C0")
        ax.plot(v, np.full(v.size, i), "o", color="C0")
        if annotate:  # alternatives with the same prediction share one label; labels alternate above / below
            merged: dict = {}
            for x, lab in zip(v, g["label"]):
                key = next((k for k in merged if abs(k - x) <= 1e-9 * max(1.0, abs(x))), x)
                merged.setdefault(key, []).append(str(lab))
            for j, (x, labs) in enumerate(sorted(merged.items())):
                ax.annotate(" | ".join(labs), (x, i), xytext=(0, 9 if j % 2 == 0 else -15),
                            textcoords="offset points", ha="center", fontsize=7)
    ax.axvline(base, color="k", lw=1.2, label=f"baseline {base:.3g}")
    if margin_ratio is not None:
        ax.axvline(float(margin_ratio), color="C3", ls=":", lw=1.2, label=f"margin {float(margin_ratio):.3g}")
    xs = np.append(table[column].to_numpy(float), [base] + ([float(margin_ratio)] if margin_ratio is not None else []))
    xs = xs[np.isfinite(xs)]
    pad = 0.08 * max(float(xs.max() - xs.min()), 1e-3 * max(1.0, abs(base)))
    ax.set_xlim(float(xs.min()) - pad, float(xs.max()) + pad)
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels([str(n) for n, _ in groups])
    ax.set_ylim(-0.6, len(groups) - 0.4)
    attrs = getattr(table, "attrs", {}) or {}
    day = attrs.get("day")
    dtxt = f"day-{day:g} " if day is not None else ""
    if column == "ratio":
        cand, ref = attrs.get("candidate", "candidate"), attrs.get("reference", "reference")
        ax.set_xlabel(f"predicted {dtxt}relative size, {cand} / {ref} (ratio of typical-animal V(t)/V(0), "
                      "dimensionless)")
    else:
        ax.set_xlabel(f"predicted {dtxt}relative size of {column} (typical animal V(t)/V(0), fold of day 0)")
    ax.set_ylabel("assumption changed (one at a time)")
    ax.set_title("structural sensitivity (re-calibrated per alternative)")
    ax.legend(fontsize=8, loc="best")
    return ax
