"""Diagnostic plots of population TGI fits: individual fits, visual predictive check, CWRES.

Every function takes ``ax=None`` (a new figure) and returns the Axes; none fits.
"""
from __future__ import annotations

from ..results import check_kind
from ._common import new_axes as _ax

__all__ = ["plot_tgi"]

KINDS = ("individual", "vpc", "cwres", "cwres_pred")


def plot_tgi(result, *, kind: str = "individual", ax=None, n_sim: int = 200, seed=0, max_animals: int = 40):
    """Diagnostics of a :class:`~comboplan.growth.tgi.TGIFit`.

    Parameters
    ----------
    result : TGIFit
    kind : {"individual", "vpc", "cwres", "cwres_pred"}
        Observed sizes with the individual (solid) and typical-animal (dashed) predictions;
        visual predictive check (observed 5/50/95th percentiles against the simulated 90 %
        bands, per arm); conditional weighted residuals against time or against the
        population prediction.
    ax : matplotlib Axes, optional
    n_sim : int
        Simulated studies for the VPC.
    seed : int
        Seed of the VPC simulation.
    max_animals : int
        At most this many animals in the individual plot.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidParameterError
        An unknown ``kind``.
    """
    check_kind(kind, KINDS, type(result).__name__)
    ax = _ax(ax)
    s = result.settings
    unit = s["size_unit"]
    tu = s["time_unit"]
    pr = result.predictions
    arms = list(dict.fromkeys(pr["arm"]))
    colours = {a: f"C{i % 10}" for i, a in enumerate(arms)}
    if kind == "individual":
        for subj in list(dict.fromkeys(pr["subject"]))[:max_animals]:
            g = pr[pr["subject"] == subj]
            c = colours[g["arm"].iloc[0]]
            ax.plot(g["time"], g["ipred"], color=c, lw=0.8, alpha=0.7)
            ax.plot(g["time"][~g["censored"]], g["observed"][~g["censored"]], "o", ms=2.5, color=c, alpha=0.7)
        for a in arms:
            g = pr[pr["arm"] == a].groupby("time")["pred"].first()
            ax.plot(g.index, g.to_numpy(), "--", color=colours[a], lw=2, label=f"{a} (typical animal)")
        ax.set_yscale("log")
        ax.set_xlabel(f"time ({tu})")
        ax.set_ylabel(f"tumour size ({unit})")
        ax.set_title("Individual fits (lines), observations (dots)")
        ax.legend(fontsize=7)
    elif kind == "vpc":
        v = result.vpc(n_sim=n_sim, seed=seed)
        for a in arms:
            c = colours[a]
            for qq, g in v[v["arm"] == a].groupby("quantile"):
                ax.fill_between(g["time"], g["sim_low"], g["sim_high"], color=c, alpha=0.15, lw=0)
                ax.plot(g["time"], g["observed"], "-" if qq == 0.5 else ":", color=c,
                        label=f"{a}: observed median" if qq == 0.5 else None)
        ax.set_yscale("log")
        ax.set_xlabel(f"time ({tu})")
        ax.set_ylabel(f"tumour size ({unit})")
        ax.set_title("VPC: observed 5/50/95th percentiles (lines) vs simulated 90 % bands")
        ax.legend(fontsize=7)
    else:
        x = pr["time"] if kind == "cwres" else pr["pred"]
        for a in arms:
            sel = pr["arm"] == a
            ax.plot(x[sel], pr["cwres"][sel], "o", ms=3, color=colours[a], label=a)
        ax.axhline(0, color="k", lw=0.8)
        for yv in (-2, 2):
            ax.axhline(yv, color="k", lw=0.5, ls=":")
        ax.set_xlabel(f"time ({tu})" if kind == "cwres" else f"population prediction ({unit})")
        if kind == "cwres_pred":
            ax.set_xscale("log")
        ax.set_ylabel("CWRES (conditional weighted residual, SD units)")
        ax.legend(fontsize=7)
    return ax
