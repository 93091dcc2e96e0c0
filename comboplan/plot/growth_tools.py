"""Plot of the reference tools' in-vivo synergy (:class:`~comboplan.growth.synergy_tools.ToolSynergy`).

Takes ``ax=None`` (a new figure is made) and returns the Axes; it never computes a score.
"""
from __future__ import annotations

import numpy as np

from ._common import colors as _colors
from ._common import new_axes as _ax

__all__ = ["plot_tool_synergy"]


def plot_tool_synergy(result, ax=None, reference: str = "bliss", combination=None):
    """Synergy score by day with its interval; CombPDX's global index drawn right of the last day.

    Parameters
    ----------
    result : ToolSynergy
        The result of :func:`~comboplan.growth.synergy_tools.invivosyn_synergy` or
        :func:`~comboplan.growth.synergy_tools.combpdx_synergy`.
    ax : matplotlib Axes, optional
    reference : {"bliss", "hsa", "ra"}
        Which reference model.
    combination : label, optional
        One combination arm (default all).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    sc = result.scores[result.scores["reference"] == reference]
    combos = [combination] if combination is not None else list(dict.fromkeys(sc["combination"]))
    daily_all = sc[sc["window"] == "day"]
    x_glob = None
    if len(daily_all):
        days = np.sort(daily_all["day"].unique())
        step = np.diff(days).mean() if days.size > 1 else 1.0
        x_glob = days[-1] + step
    for c, col in zip(combos, _colors(len(combos))):
        g = sc[(sc["combination"] == c) & (sc["window"] == "day")]
        ax.plot(g["day"], g["synergy_score"], "o-", color=col, label=f"{c} ({reference}, {result.definition})")
        ax.fill_between(g["day"], g["ci_low"], g["ci_high"], color=col, alpha=0.2)
        glob = sc[(sc["combination"] == c) & (sc["window"] == "global")]
        if len(glob) and x_glob is not None:
            r = glob.iloc[0]
            yerr = np.array([[r["synergy_score"] - r["ci_low"]], [r["ci_high"] - r["synergy_score"]]])
            ax.errorbar([x_glob], [r["synergy_score"]], yerr=np.where(np.isfinite(yerr), yerr, 0), fmt="s",
                        color=col, capsize=3)
    if x_glob is not None and (sc["window"] == "global").any():
        ax.annotate("global", (x_glob, 0), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel(f"day ({result.units['time']})")
    ax.set_ylabel(f"synergy score ({result.units['score']}); > 0 synergy")
    ax.legend(fontsize=8)
    return ax
