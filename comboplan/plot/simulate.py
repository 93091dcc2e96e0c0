"""Plots of simulations: trajectories, dose-efficacy curves with bands, power curves.

Every function takes ``ax=None`` (a new figure) and returns the Axes; none simulates.
"""
from __future__ import annotations

import numpy as np

from ._common import new_axes as _ax

__all__ = ["plot_trajectories", "plot_dose_efficacy", "plot_power", "plot_ratio_intervals"]


def plot_trajectories(result, ax=None, variable: str = "size", level: float = 0.9, log: bool = True):
    """Median trajectory and ``level`` band over draws x animals, one line per scenario.

    Parameters
    ----------
    result : CohortResult
    ax : matplotlib Axes, optional
    variable : {"size", "observed"}
    level : float
        Central band coverage.
    log : bool
        Log y axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    ds = result.dataset
    t = ds["time"].values
    for s in ds["scenario"].values:
        v = ds[variable].sel(scenario=s).values.reshape(-1, t.size)
        med = np.nanmedian(v, axis=0)
        lo, hi = np.nanquantile(v, [(1 - level) / 2, 1 - (1 - level) / 2], axis=0)
        (line,) = ax.plot(t, med, marker="o", label=str(s))
        ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.15)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("day")
    unit = ds.attrs.get("size_unit" if variable == "size" else "observed_unit", "")
    ax.set_ylabel(f"tumour {variable} ({unit})")
    ax.set_title(f"median and {level:.0%} band")
    ax.legend(fontsize=8)
    return ax


def plot_dose_efficacy(result, ax=None, day=None):
    """Dose-efficacy curves (median and credible band) per companion, with the reference.

    Parameters
    ----------
    result : DoseReductionResult
    ax : matplotlib Axes, optional
    day : float, optional
        Evaluation day (default: the last one).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    s = result.settings
    tab = result.table
    day = float(s["days"][-1]) if day is None else float(day)
    sub = tab[tab["day"] == day]
    for comp in s["companions"]:
        c = sub[sub["companion"] == comp].sort_values("dose")
        (line,) = ax.plot(c["dose"], c["estimate"], marker="o", label=f"companion: {comp}")
        ax.fill_between(c["dose"], c["low"], c["high"], color=line.get_color(), alpha=0.15)
    ref = sub[(sub["companion"] == s["reference_companion"]) & (sub["dose"] == s["reference_dose"])]
    if len(ref):
        r = float(ref["estimate"].iloc[0])
        thr = r * (1 + s["margin"]) if s["endpoint"] != "tgi" else r - s["margin"]
        ax.axhline(r, color="k", lw=1, ls="--", label="reference")
        ax.axhline(thr, color="k", lw=1, ls=":", label="non-inferiority margin")
    ax.set_xlabel(f"{s['agent']} dose ({s['unit']})")
    ax.set_ylabel({"relative_size": "mean relative tumour size V/V0 (fold of day 0)", "geometric_relative_size": "geometric-mean relative tumour size V/V0 (fold of day 0)"}.get(s["endpoint"], "TGI (fraction)"))
    ax.set_title(f"day {day:g}: median and {s['level']:.0%} credible band")
    ax.legend(fontsize=8)
    return ax


def plot_power(result, ax=None, x: str = "n_per_arm", target: float | None = None, assurance: bool = True):
    """Conditional power (and assurance) against a design variable, with Monte-Carlo intervals.

    Parameters
    ----------
    result : PowerResult
    ax : matplotlib Axes, optional
    x : {"n_per_arm", "duration", "interval"}
        Design variable on the x axis (animals per arm, or days).
    target : float, optional
        Horizontal line at the target power (default: the result's target if any).
    assurance : bool
        Also draw the assurance (power averaged over parameter uncertainty) with its 95 %
        Monte-Carlo interval, when the result has it (``draws=`` was given).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    tab = result.table.sort_values(x)
    others = [c for c in ("n_per_arm", "duration", "interval") if c != x and tab[c].nunique() > 1]
    groups = tab.groupby(others) if others else [((), tab)]
    show_a = assurance and "assurance" in tab
    for key, g in groups:
        lab = ", ".join(f"{o}={k:g}" for o, k in zip(others, key if isinstance(key, tuple) else (key,))) or None
        cp_lab = "conditional power" + (f" ({lab})" if lab else "") if show_a else lab
        bars = ax.errorbar(g[x], g["power"], yerr=[g["power"] - g["ci_low"], g["ci_high"] - g["power"]], marker="o",
                           capsize=3, label=cp_lab)
        if show_a:
            ax.errorbar(g[x], g["assurance"], yerr=[g["assurance"] - g["assurance_low"],
                                                    g["assurance_high"] - g["assurance"]],
                        marker="s", ls="--", capsize=3, color=bars[0].get_color(),
                        label="assurance" + (f" ({lab})" if lab else ""))
    target = target if target is not None else result.settings.get("target_power")
    if target:
        ax.axhline(target, color="k", ls=":", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(x.replace("_", " ") + (" (days)" if x in ("duration", "interval") else ""))
    ax.set_ylabel("probability of success" if show_a else "power")
    ax.set_title(f"{result.settings['analysis']} (alpha {result.settings['alpha']:g})")
    if others or show_a:
        ax.legend(fontsize=8)
    return ax


def plot_ratio_intervals(ratio, lower, upper, labels, *, label: str, xlabel: str, margin: float | None = None,
                         margin_label: str = "non-inferiority margin", ax=None, **kwargs):
    """Ratios (candidate / reference) with their intervals on a log axis, against no difference and a margin.

    One row per comparison; the plot of ``ArmComparison`` and of ``NIAnalysis``.

    Parameters
    ----------
    ratio, lower, upper : array_like, shape (k,)
        Ratios and the bounds of their intervals (dimensionless, > 0; e.g. geometric-mean RTV ratios).
    labels : sequence of str, length k
        Y tick label of each row.
    label : str
        Legend entry of the intervals.
    xlabel : str
        X-axis label (what the ratio is, with its evaluation time).
    margin : float, optional
        Non-inferiority margin as a ratio (dimensionless); drawn as a dotted line when given.
    margin_label : str
        Legend entry of the margin.
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax, figsize=(5.5, 2.5))
    r, lo, hi = (np.asarray(v, dtype=float) for v in (ratio, lower, upper))
    y = np.arange(r.size)
    ax.errorbar(r, y, xerr=[r - lo, hi - r], fmt="o", capsize=4, label=label, **kwargs)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--", label="no difference")
    if margin is not None:
        ax.axvline(float(margin), color="C3", lw=0.8, ls=":", label=margin_label)
    ax.set_yticks(y, list(labels))
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=8)
    return ax
