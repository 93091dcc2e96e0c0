"""Plots of dose-response fits (data points and fitted curves on a log dose axis)."""
from __future__ import annotations

import numpy as np

from ._common import axis_label, new_axes, readable

__all__ = ["plot_dose_response"]


def _key_label(column, value) -> str:
    """A curve's by-value in words: ``time_h``, 24.0 -> "time 24 h"; ``cell_line``, "SKBR3" -> "cell line SKBR3"."""
    words, unit = readable(column)
    v = f"{value:g}" if isinstance(value, (int, float, np.integer, np.floating)) else str(value)
    return f"{words} {v}" + (f" {unit}" if unit else "")


def _blank_left_of(inner, brk: float):
    """A tick formatter that writes nothing left of ``brk`` and defers to ``inner`` elsewhere."""
    from matplotlib.ticker import Formatter

    class BlankLeftOf(Formatter):
        def set_axis(self, axis):
            super().set_axis(axis)
            inner.set_axis(axis)

        def set_locs(self, locs):
            inner.set_locs(locs)

        def __call__(self, x, pos=None):
            return "" if x < brk else inner(x, pos)

    return BlankLeftOf()


def plot_dose_response(result, ax=None, curves=None, show_data: bool = True, band: bool = False, n_points: int = 200):
    """Plot observations and fitted curves of a :class:`~comboplan.fitting.dose_response.DoseResponseResult`.

    Dose 0 (untreated controls) cannot sit on a log axis; those points are drawn as open squares
    one decade below the lowest positive dose, left of a dotted axis break, labelled "control"
    (no dose tick is shown there) and named in the legend.

    Axis labels are the column names in words with their units (``viability_pct`` with
    ``response_unit="%"`` -> "viability (%)"); the legend names every curve and marker.

    Parameters
    ----------
    result : DoseResponseResult
        A fitted result (never refitted here).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created if None.
    curves : sequence of int, optional
        Curve indices to draw (default all, at most 12).
    show_data : bool
        Draw the observations.
    band : bool
        Draw the delta-method 95 % confidence band of the mean response.
    n_points : int
        Points per fitted curve.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if ax is None:
        ax = new_axes(None, figsize=(5.5, 4))
    P = result.packed
    idx = list(range(min(result.n_curves, 12))) if curves is None else list(curves)
    pos = P.x[P.mask & (P.x > 0)]
    lo = pos.min() if pos.size else 1e-3
    hi = pos.max() if pos.size else 1.0
    zero_at = lo / 10.0
    grid = np.geomspace(lo / 3.0, hi * 3.0, n_points)
    pred = result.predict(grid, interval="confidence" if band else None)
    has_control = False
    handles = []
    for k, i in enumerate(idx):
        color = f"C{k % 10}"
        label = ", ".join(_key_label(c, result.keys[c].iloc[i]) for c in result.by) or f"{result.spec.name} fit"
        if show_data:
            m = P.mask[i]
            xi, yi = P.x[i, m], P.y[i, m]
            ax.scatter(xi[xi > 0], yi[xi > 0], s=14, color=color, alpha=0.7)
            if np.any(xi == 0):
                has_control = True
                ax.scatter(np.full(int(np.sum(xi == 0)), zero_at), yi[xi == 0], s=18, marker="s",
                           facecolors="none", edgecolors=color, alpha=0.8)
        if band:
            yv = pred["estimate"].values[i]
            ax.fill_between(grid, pred["ci_low"].values[i], pred["ci_high"].values[i], color=color, alpha=0.2)
        else:
            yv = pred.values[i]
        status = "" if result.fit.converged[i] else " (not converged)"
        (line,) = ax.plot(grid, yv, color=color, label=label + status)
        handles.append(line)
    ax.set_xscale("log")
    if show_data:
        handles.append(Line2D([], [], ls="none", marker="o", ms=4, color="0.4", label="observations"))
    if band:
        handles.append(Patch(color="0.4", alpha=0.2, label=f"{100 * result.ci_level:g} % confidence band"))
    if has_control:
        brk = zero_at * 1.8
        ax.axvline(brk, color="0.8", lw=0.8, ls=":")
        # the control is not at a dose: no log-dose tick labels left of the break, the word "control" instead
        ax.xaxis.set_major_formatter(_blank_left_of(ax.xaxis.get_major_formatter(), brk))
        ax.xaxis.set_minor_formatter(_blank_left_of(ax.xaxis.get_minor_formatter(), brk))
        ax.annotate("control", xy=(zero_at, 0), xycoords=("data", "axes fraction"), xytext=(0, -4),
                    textcoords="offset points", ha="center", va="top", fontsize=8)
        handles.append(Line2D([], [], ls="none", marker="s", ms=5, mfc="none", mec="0.4",
                              label="untreated control (dose 0; left of the break)"))
    ax.set_xlabel(axis_label(result.dose, result.dose_unit))
    ax.set_ylabel(axis_label(result.response, result.response_unit))
    ax.set_title(f"{result.spec.name} fit")
    ax.legend(handles=handles, fontsize=7, frameon=False)
    return ax
