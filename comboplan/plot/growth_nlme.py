"""Plots of nonlinear mixed-effects growth fits (:class:`~comboplan.growth.nlme_growth.GrowthNLMEFit`).

Every function takes ``ax=None`` (a new figure) and returns the Axes; none fits.
"""
from __future__ import annotations

from ..results import check_kind
from ._common import colors, new_axes

__all__ = ["plot_growth_nlme"]

KINDS = ("curves", "individual", "residuals")


def plot_growth_nlme(result, *, kind: str = "curves", ax=None, max_animals: int = 60):
    """Plot a :class:`~comboplan.growth.nlme_growth.GrowthNLMEFit`.

    Parameters
    ----------
    result : GrowthNLMEFit
    kind : {"curves", "individual", "residuals"}
        ``"curves"``: observed sizes (thin lines, one per animal) and the typical-animal curve of
        every arm (thick), log size axis; ``"individual"``: observed sizes (points) against
        each animal's own fitted curve (lines); ``"residuals"``: individual weighted residuals
        against time, coloured by arm.
    ax : matplotlib Axes, optional
    max_animals : int
        At most this many animals in the ``"individual"`` plot.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_kind(kind, KINDS, "GrowthNLMEFit")
    ax = new_axes(ax)
    pr = result.predictions
    s = result.settings
    arms = result.arms
    col = dict(zip(arms, colors(len(arms))))
    if kind == "curves":
        for (subj, arm), g in pr.groupby(["subject", "arm"], sort=False):
            ax.plot(g["time"], g["observed"], color=col[str(arm)], lw=0.6, alpha=0.4, marker=".", ms=3)
        curves = result.predict()
        for a in arms:
            ax.plot(curves["time"], curves.sel(arm=a), color=col[a], lw=2.5, label=f"{a} (typical)")
        ax.set_yscale("log")
        ax.set_ylabel(f"size ({s['size_unit']})")
        ax.legend(fontsize="small")
        ax.set_title(f"{s['model']} NLME: typical curves per arm")
    elif kind == "individual":
        subjects = list(dict.fromkeys(pr["subject"]))[:max_animals]
        for subj in subjects:
            g = pr[pr["subject"] == subj]
            c = col[str(g["arm"].iloc[0])]
            ax.plot(g["time"], g["observed"], "o", color=c, ms=3)
            ax.plot(g["time"], g["ipred"], "-", color=c, lw=0.8)
        ax.set_yscale("log")
        ax.set_ylabel(f"size ({s['size_unit']})")
        ax.set_title("observed (points) and individual fits (lines)")
    else:
        for a in arms:
            g = pr[pr["arm"].astype(str) == a]
            ax.plot(g["time"], g["iwres"], "o", color=col[a], ms=3, label=a)
        ax.axhline(0.0, color="k", lw=0.8)
        for v in (-2, 2):
            ax.axhline(v, color="k", lw=0.5, ls="--")
        ax.set_ylabel("individual weighted residual")
        ax.legend(fontsize="small")
    ax.set_xlabel(f"time ({s['time_unit']})")
    return ax
