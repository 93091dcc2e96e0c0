"""Plots of dose-response fits (data points and fitted curves on a log dose axis)."""
from __future__ import annotations

import numpy as np

from ._common import new_axes

__all__ = ["plot_dose_response"]


def plot_dose_response(result, ax=None, curves=None, show_data: bool = True, band: bool = False, n_points: int = 200):
    """Plot observations and fitted curves of a :class:`~comboplan.fitting.dose_response.DoseResponseResult`.

    Dose 0 (untreated controls) cannot sit on a log axis; those points are drawn at
    one decade below the lowest positive dose and the tick is labelled ``0``.

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
    for k, i in enumerate(idx):
        color = f"C{k % 10}"
        label = ", ".join(f"{c}={result.keys[c].iloc[i]}" for c in result.by) or f"curve {i}"
        if show_data:
            xi = P.x[i, P.mask[i]]
            yi = P.y[i, P.mask[i]]
            ax.scatter(np.where(xi > 0, xi, zero_at), yi, s=14, color=color, alpha=0.7)
        if band:
            yv = pred["estimate"].values[i]
            ax.fill_between(grid, pred["ci_low"].values[i], pred["ci_high"].values[i], color=color, alpha=0.2)
        else:
            yv = pred.values[i]
        status = "" if result.fit.converged[i] else " (not converged)"
        ax.plot(grid, yv, color=color, label=label + status)
    ax.set_xscale("log")
    if show_data and np.any(P.mask & (P.x == 0)):
        ax.axvline(zero_at * 1.8, color="0.8", lw=0.8, ls=":")
    ax.set_xlabel(f"{result.dose} ({result.dose_unit or 'dose unit'})")
    ax.set_ylabel(f"{result.response} ({result.response_unit or 'response unit'})")
    ax.set_title(f"{result.spec.name} fit")
    if len(idx) > 1 or result.by:
        ax.legend(fontsize=7, frameon=False)
    return ax
