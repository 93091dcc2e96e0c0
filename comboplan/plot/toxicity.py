"""Toxicity plots: body-weight change, Kaplan-Meier time to humane endpoint, weight-model fits,
and the therapeutic window of the dose-reduction explorer.

Every function takes ``ax=None`` (a new figure is made) and returns the Axes; none fits or
simulates.
"""
from __future__ import annotations

import numpy as np

from ._common import colors as _colors
from ._common import new_axes as _ax

__all__ = ["plot_bodyweight_change", "plot_bodyweight_km", "plot_bodyweight_fit", "plot_therapeutic_window"]


def plot_bodyweight_change(result, ax=None, individual: bool = True, mean: bool = True, limit: bool = True):
    """% change of body weight from baseline: animals (thin), arm mean +/- SEM (thick).

    Parameters
    ----------
    result : BodyWeightEndpoints
        From :func:`comboplan.growth.bodyweight.bodyweight_endpoints`.
    ax : matplotlib Axes, optional
    individual : bool
        Draw one thin line per animal (a cross marks an animal at its humane endpoint).
    mean : bool
        Draw the arm mean +/- standard error of the mean at each time.
    limit : bool
        Dotted line at the humane-endpoint loss.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    s = result.settings
    arms = list(result.arms)
    cols = dict(zip(arms, _colors(len(arms))))
    ch = result.changes
    if individual:
        for subj, g in ch.groupby("subject", sort=False):
            c = cols[g["arm"].iloc[0]]
            ax.plot(g["time"], g["change_pct"], color=c, alpha=0.35, lw=0.8)
        hit = result.nadir[result.nadir["event"]]
        for _, r in hit.iterrows():
            v = ch[(ch["subject"] == r["subject"]) & (ch["time"] == r["endpoint_time"])]["change_pct"]
            ax.plot(r["endpoint_time"], float(v.iloc[0]), "x", color=cols[r["arm"]])
    if mean:
        for a in arms:
            m = result.arm_means[result.arm_means["arm"] == a]
            ax.errorbar(m["time"], m["mean_change_pct"], yerr=np.nan_to_num(m["sem_change_pct"].to_numpy()),
                        color=cols[a], lw=2, capsize=3, label=f"{a} (mean ± SEM)")
    ax.axhline(0.0, color="0.5", lw=0.8)
    if limit:
        ax.axhline(-100.0 * s["humane_loss"], color="k", ls=":", lw=1,
                   label=f"humane endpoint (-{100 * s['humane_loss']:g} %)")
    ax.set_xlabel(f"time ({s['time_unit']})")
    ax.set_ylabel("body weight change from baseline (%)")
    ax.legend(fontsize=8)
    return ax


def plot_bodyweight_km(result, ax=None, ci: bool = True):
    """Kaplan-Meier probability of not having reached the humane endpoint, per arm.

    Parameters
    ----------
    result : BodyWeightEndpoints
    ax : matplotlib Axes, optional
    ci : bool
        Shade the pointwise log(-log) confidence band.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    s = result.settings
    arms = list(result.arms)
    for a, c in zip(arms, _colors(len(arms))):
        k = result.km[result.km["arm"] == a]
        ax.step(k["time"], k["survival"], where="post", color=c, label=str(a))
        cens = k[k["n_censored"] > 0]
        ax.plot(cens["time"], cens["survival"], "|", color=c, ms=8)
        if ci:
            ax.fill_between(k["time"], k["ci_low"], k["ci_high"], step="post", color=c, alpha=0.15)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel(f"time since baseline ({s['time_unit']})")
    ax.set_ylabel(f"P(loss < {100 * s['humane_loss']:g} %) (fraction)")
    ax.set_title("Kaplan-Meier, censored at last weighing (|)")
    ax.legend(fontsize=8)
    return ax


def plot_bodyweight_fit(fit, ax=None):
    """Observed arm-mean body-weight change (+/- SEM) with the fitted turnover model.

    Parameters
    ----------
    fit : BodyWeightFit
        From :func:`comboplan.simulate.toxicity.fit_body_weight_model`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    f = fit.fitted
    arms = list(dict.fromkeys(f["arm"]))
    curves = fit.curves
    for a, c in zip(arms, _colors(len(arms))):
        g = f[f["arm"] == a]
        ax.errorbar(g["time"], g["observed_pct"], yerr=np.nan_to_num(g["sem_pct"].to_numpy()), fmt="o", color=c,
                    capsize=3, label=f"{a} (observed mean ± SEM)")
        cc = curves[curves["arm"] == a]
        ax.plot(cc["time"], cc["predicted_pct"], color=c, lw=1.5)
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(f"time ({fit.settings.get('time_unit', 'day')})")
    ax.set_ylabel("body weight change from baseline (%)")
    ax.set_title("turnover model fit (lines)")
    ax.legend(fontsize=8)
    return ax


def plot_therapeutic_window(result, ax=None, day=None):
    """P(non-inferior efficacy) and P(tolerable toxicity) against dose, per companion.

    Parameters
    ----------
    result : DoseReductionResult
        From :func:`comboplan.simulate.dose_reduction` called with ``toxicity=``.
    ax : matplotlib Axes, optional
    day : float, optional
        Efficacy day (default: the last one).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..exceptions import DataError

    if result.toxicity is None:
        raise DataError("this dose-reduction result has no toxicity; call dose_reduction(..., toxicity=...).")
    ax = _ax(ax)
    s = result.settings
    day = float(s["days"][-1]) if day is None else float(day)
    tab = result.table[result.table["day"] == day]
    tox = result.toxicity
    for comp, c in zip(s["companions"], _colors(len(s["companions"]))):
        e = tab[tab["companion"] == comp].sort_values("dose")
        t = tox[tox["companion"] == comp].sort_values("dose")
        ax.plot(e["dose"], e["p_noninferior"], marker="o", color=c, label=f"{comp}: P(non-inferior)")
        ax.plot(t["dose"], t["p_tolerable"], marker="s", ls="--", color=c, label=f"{comp}: P(tolerable)")
    ax.axhline(s["target_probability"], color="k", ls=":", lw=1, label="efficacy target")
    ts = s["toxicity"]["target_probability"]
    if ts != s["target_probability"]:
        ax.axhline(ts, color="0.4", ls="-.", lw=1, label="tolerability target")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel(f"{s['agent']} dose ({s['unit']})")
    ax.set_ylabel("probability over parameter draws (fraction)")
    ax.set_title(f"therapeutic window (efficacy day {day:g}; {s['toxicity']['criterion_text']})")
    ax.legend(fontsize=7)
    return ax
