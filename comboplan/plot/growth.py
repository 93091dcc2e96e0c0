"""Tumour-growth plots: spaghetti with arm mean +/- SE, fitted curves, waterfall, synergy over time.

Every function takes ``ax=None`` (a new figure is made) and returns the Axes; none fits.
"""
from __future__ import annotations

import numpy as np

from ._common import colors as _colors
from ._common import new_axes as _ax

#: what the size column measures, in words for axis labels
_SIZE_WORDS = {"volume": "tumour volume", "luminescence": "tumour bioluminescence"}


def _size_label(kind: str, unit) -> str:
    return f"{_SIZE_WORDS.get(kind, kind)} ({unit})" if unit else _SIZE_WORDS.get(kind, kind)


def _legend(ax, extra, fontsize=8):
    """Legend of the labelled artists plus ``extra`` handles (markers that have no artist of their own)."""
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *extra], fontsize=fontsize)

__all__ = ["plot_spaghetti", "plot_fitted_curves", "plot_fitted_rates", "plot_waterfall",
           "plot_synergy_over_time"]


def plot_spaghetti(data, ax=None, relative: bool = False, log: bool = True, mean: bool = True):
    """Per-animal trajectories (thin) with the arm mean +/- SE (thick) per measurement time.

    Parameters
    ----------
    data : GrowthData
        Validated data (:func:`comboplan.growth.data.validate_growth`).
    ax : matplotlib Axes, optional
    relative : bool
        Plot size relative to baseline instead of the size.
    log : bool
        Logarithmic y axis.
    mean : bool
        Overlay arm mean +/- standard error at each time.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.lines import Line2D

    ax = _ax(ax)
    y = data.relative_size() if relative else data.size
    cols = _colors(data.n_arms)
    extra = [Line2D([], [], color="0.5", alpha=0.5, lw=0.8, label="individual animals")]
    if any(data.dropout_reason[s] for s in range(data.n_subjects)):
        extra.append(Line2D([], [], ls="none", marker="x", color="0.3", label="left the study (last measurement)"))
    for s in range(data.n_subjects):
        sel = data.subject_idx == s
        ax.plot(data.time[sel], y[sel], color=cols[data.subject_arm[s]], alpha=0.35, lw=0.8)
        if data.dropout_reason[s]:
            ax.plot(data.time[sel][-1], y[sel][-1], "x", color=cols[data.subject_arm[s]])
    if mean:
        for k, a in enumerate(data.arms):
            ts, ms, ss = [], [], []
            for t in data.times:
                v = y[(data.arm_idx == k) & (data.time == t)]
                if v.size:
                    ts.append(t)
                    ms.append(v.mean())
                    ss.append(v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0)
            ax.errorbar(ts, ms, yerr=ss, color=cols[k], lw=2, capsize=3, label=f"{a} (mean ± SE)")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(f"time ({data.time_unit})")
    what = _SIZE_WORDS.get(data.kind, data.kind)
    ax.set_ylabel(f"{what} relative to baseline (fold)" if relative else _size_label(data.kind, data.size_unit))
    _legend(ax, extra)
    return ax


def plot_fitted_curves(fit, ax=None, model: str = "exponential", n_points: int = 100, log: bool = True):
    """Data and per-animal fitted curves of a :class:`~comboplan.growth.api.GrowthFit`, coloured by arm."""
    from matplotlib.lines import Line2D

    ax = _ax(ax)
    gd = fit.data
    cols = _colors(gd.n_arms)
    grid = np.linspace(gd.time.min(), gd.time.max(), n_points)
    pred = fit.predict(grid, model=model).values
    for s in range(gd.n_subjects):
        c = cols[gd.subject_arm[s]]
        sel = gd.subject_idx == s
        ax.plot(gd.time[sel], gd.size[sel], "o", color=c, ms=3, alpha=0.6)
        ax.plot(grid, pred[s], color=c, lw=0.8, alpha=0.7)
    for k, a in enumerate(gd.arms):
        ax.plot([], [], color=cols[k], label=str(a))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(f"time ({gd.time_unit})")
    ax.set_ylabel(_size_label(gd.kind, gd.size_unit))
    ax.set_title(f"{model} fits per animal")
    _legend(ax, [Line2D([], [], ls="none", marker="o", ms=3, color="0.4", label="observed"),
                 Line2D([], [], color="0.4", lw=0.8, label=f"{model} fit per animal")])
    return ax


def plot_fitted_rates(mixed, ax=None):
    """Observed log relative size with each arm's mixed-model growth line (± 95% band)."""
    ax = _ax(ax)
    r = mixed.residuals
    arms = list(mixed.arms)
    cols = _colors(len(arms))
    tmax = float(r["t"].max()) if len(r) else 1.0
    tt = np.linspace(0, tmax, 50)
    for k, a in enumerate(arms):
        sub = r[r["arm"] == a]
        for _, g in sub.groupby("subject", sort=False):
            ax.plot(np.r_[0, g["t"]], np.r_[0, g["observed"]], color=cols[k], alpha=0.3, lw=0.7)
        row = mixed.rates.iloc[k]
        ax.plot(tt, row["rate"] * tt, color=cols[k], lw=2, label=f"{a}: {row['rate']:.3f} {row['unit']}")
        ax.fill_between(tt, row["ci_low"] * tt, row["ci_high"] * tt, color=cols[k], alpha=0.15)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax.set_xlabel(f"time since baseline ({mixed.units['time']})")
    ax.set_ylabel("ln(size / baseline)")
    level = getattr(mixed, "ci_level", None)
    _legend(ax, [Line2D([], [], color="0.5", alpha=0.5, lw=0.7, label="individual animals"),
                 Patch(color="0.5", alpha=0.15, label=(f"{100 * level:g} % " if level else "") + "CI of the arm's rate")])
    return ax


def plot_waterfall(endpoints, ax=None, column: str = "best_response"):
    """Waterfall of best response (percent change from baseline) per animal, coloured by arm."""
    ax = _ax(ax)
    a = endpoints.animals.sort_values(column, ascending=False, na_position="first").reset_index(drop=True)
    arms = list(dict.fromkeys(endpoints.arms["arm"]))
    cols = _colors(len(arms))
    colour = [cols[arms.index(x)] for x in a["arm"]]
    ax.bar(np.arange(len(a)), a[column].fillna(0.0), color=colour)
    for thr, name in ((35, "mRECIST best-response cut-offs: +35 % (mSD)"), (-50, "-50 % (mPR)"),
                      (-95, "-95 % (mCR)")):
        ax.axhline(thr, color="grey", ls=":", lw=0.8)
        ax.annotate(name, xy=(1.0, thr), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                    textcoords="offset points", ha="right", va="bottom", fontsize=7, color="0.35")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(facecolor=cols[k], label=str(arm)) for k, arm in enumerate(arms)], fontsize=8)
    ax.set_xticks([])
    ax.set_xlabel("animals (sorted by response)")
    ax.set_ylabel(f"{column.replace('_', ' ')} (% change from baseline)")
    return ax


def plot_synergy_over_time(result, ax=None, reference: str = "bliss", combination=None):
    """Synergy score over time with its confidence band (positive = synergy)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ax = _ax(ax)
    ot = result.over_time
    ot = ot[ot["reference"] == reference]
    combos = [combination] if combination is not None else list(dict.fromkeys(ot["combination"]))
    cols = _colors(len(combos))
    for c, col in zip(combos, cols):
        g = ot[ot["combination"] == c]
        ax.plot(g["day"], g["score"], "o-", color=col, label=f"{c} ({reference})")
        ax.fill_between(g["day"], g["ci_low"], g["ci_high"], color=col, alpha=0.2)
        for d, s, p in zip(g["day"], g["score"], g["p_adjusted"]):
            if np.isfinite(p) and p < 0.05:
                ax.annotate("*", (d, s), textcoords="offset points", xytext=(0, 6), ha="center")
    ax.axhline(0, color="k", lw=0.8, label="0 = additive (no interaction)")
    level = getattr(result, "ci_level", None) or (result.settings.get("ci_level") if hasattr(result, "settings") else None)
    band = f"{100 * level:g} % CI" if level else "confidence interval"
    ax.set_xlabel(f"time ({result.units['time']})")
    ax.set_ylabel(f"synergy score ({result.units['rate']}); > 0 synergy")
    _legend(ax, [Patch(color="0.5", alpha=0.2, label=band),
                 Line2D([], [], ls="none", marker="$*$", color="k", label="adjusted p < 0.05")])
    return ax
