"""Plots of Bayesian fits (growth, dose-response, prior predictive checks).

Every function takes ``ax=None`` (a new figure is made) and returns the Axes; nothing
is fitted here and ``plt.show()`` is never called.
"""
from __future__ import annotations

import json

import numpy as np

from ._common import colors as _colors
from ._common import new_axes as _ax

__all__ = ["plot_growth", "plot_dose_response", "plot_prior_predictive", "plot_posterior_interval",
           "plot_trace"]


def plot_posterior_interval(result, var: str, ax=None, level: float = 0.9, log: bool = False):
    """Posterior medians with central credible intervals of one (vector) variable.

    Parameters
    ----------
    result : BayesResult
    var : str
        Posterior variable, e.g. ``"r_arm"`` or ``"ec50"``.
    ax : matplotlib.axes.Axes, optional
    level : float
        Interval level (0.9).
    log : bool
        Log x axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    da = result.idata.posterior[var]
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    flat = da.stack(sample=("chain", "draw"))
    if dims:
        flat = flat.stack(item=dims).transpose("item", "sample")
        labels = [", ".join(map(str, v if isinstance(v, tuple) else (v,))) for v in flat.coords["item"].values]
        x = flat.values
    else:
        labels, x = [var], flat.values[None, :]
    a = (1 - level) / 2
    q = np.quantile(x, [a, 0.5, 1 - a], axis=1)
    y = np.arange(len(labels))
    ax.hlines(y, q[0], q[2], color="C0", lw=2)
    ax.plot(q[1], y, "o", color="C0")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    unit = result.draws([var])[var].attrs.get("unit", "")
    ax.set_xlabel(f"{var} ({unit})" if unit else var)
    ax.set_title(f"posterior median and {int(level * 100)} % credible interval")
    if log:
        ax.set_xscale("log")
    return ax


def plot_trace(result, var: str | None = None, ax=None):
    """Trace of a scalar posterior quantity, one line per chain; returns the Axes."""
    ax = _ax(ax)
    post = result.idata.posterior
    if var is None:
        var = next(v for v in result.key_vars if post[v].ndim == 2)
    da = post[var]
    if da.ndim > 2:
        da = da.isel({d: 0 for d in da.dims if d not in ("chain", "draw")})
    for c in range(da.sizes["chain"]):
        ax.plot(da.isel(chain=c).values, lw=0.5, alpha=0.8, label=f"chain {c}")
    ax.set_xlabel("draw")
    ax.set_ylabel(var)
    ax.legend(fontsize="small", ncol=2)
    return ax


def _interaction_hist(x, ax, positive_is_synergy: bool, unit: str, label: str):
    ax.hist(x, bins=50, density=True, color="C0", alpha=0.6)
    ax.axvline(0.0, color="k", lw=1, ls="--")
    p = float((x > 0).mean()) if positive_is_synergy else float((x < 0).mean())
    side = "> 0" if positive_is_synergy else "< 0"
    ax.set_xlabel(f"{label} ({unit})" if unit else label)
    ax.set_ylabel("posterior density")
    ax.set_title(f"P(synergy) = P({label} {side}) = {p:.3f}")
    return ax


# ------------------------------------------------------------------------------- growth
def plot_growth(result, kind: str = "fit", ax=None, arms=None, level: float = 0.9, seed: int = 0):
    """Plot a :class:`~comboplan.bayes.BayesGrowthResult`.

    Parameters
    ----------
    result : BayesGrowthResult
    kind : {"fit", "rates", "interaction", "ppc", "trace"}
    ax : matplotlib.axes.Axes, optional
    arms : list, optional
        Arms to draw (``fit``).
    level : float
        Band / interval level (0.9).
    seed : int
        Seed of the new-animal draws in the predictive bands.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..exceptions import DataError

    if kind == "rates":
        return plot_posterior_interval(result, "r_arm", ax=ax, level=level)
    if kind == "trace":
        return plot_trace(result, "interaction" if result.factorial else None, ax=ax)
    if kind == "interaction":
        ax = _ax(ax)
        x = result.idata.posterior["interaction"].values.ravel()
        return _interaction_hist(x, ax, False, f"1/{result.meta.get('time_unit', 'day')}", "interaction")
    a = result.arrays
    ax = _ax(ax)
    if kind == "ppc":
        obs = a.obs_log_size
        rep = result.idata.posterior_predictive["log_size"].stack(s=("chain", "draw")).values
        lo, med, hi = np.quantile(rep, [(1 - level) / 2, 0.5, 1 - (1 - level) / 2], axis=1)
        ax.errorbar(obs, med, yerr=[med - lo, hi - med], fmt="o", ms=3, alpha=0.6, lw=0.8)
        lim = [min(obs.min(), lo.min()), max(obs.max(), hi.max())]
        ax.plot(lim, lim, "k--", lw=1)
        ax.set_xlabel("observed log size")
        ax.set_ylabel(f"replicated log size (median, {int(level * 100)} %)")
        return ax
    if kind != "fit":
        raise DataError(f"kind must be 'fit', 'rates', 'interaction', 'ppc' or 'trace'; got {kind!r}.")
    labels = [str(x) for x in a.arm_labels]
    show = labels if arms is None else [str(x) for x in arms]
    cols = dict(zip(labels, _colors(len(labels))))
    tmax = a.obs_time.max() + a.time_origin
    grid = np.linspace(a.time_origin, tmax, 40)
    pred = result.predict(grid, arms=show, seed=seed, thin=max(1, result.idata.posterior.sizes["draw"] // 250))
    q = pred.quantile([(1 - level) / 2, 0.5, 1 - (1 - level) / 2], dim=("chain", "draw"))
    for arm in show:
        k = labels.index(arm)
        c = cols[arm]
        ax.fill_between(grid, q.sel(quantile=q["quantile"][0], arm=arm), q.sel(quantile=q["quantile"][2], arm=arm),
                        color=c, alpha=0.15)
        ax.plot(grid, q.sel(quantile=q["quantile"][1], arm=arm), color=c, lw=2, label=arm)
        sel = a.animal_arm[a.obs_animal] == k
        unc = sel & ~a.obs_censored
        ax.plot(a.obs_time[unc] + a.time_origin, np.exp(a.obs_log_size[unc]), "o", color=c, ms=3, alpha=0.7)
        cen = sel & a.obs_censored
        if cen.any():
            ax.plot(a.obs_time[cen] + a.time_origin, np.exp(a.obs_log_size[cen]), "v", mfc="none", color=c, ms=5)
    ax.set_yscale("log")
    ax.set_xlabel(f"{a.columns.get('time', 'time')} ({result.meta.get('time_unit', '')})")
    su = result.meta.get("size_unit") or ""
    ax.set_ylabel(f"{a.columns.get('size', 'size')}" + (f" ({su})" if su else ""))
    ax.set_title(f"{result.meta['model']}: median, {int(level * 100)} % band (new animal)")
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------ dose-response
def plot_dose_response(result, kind: str = "curves", ax=None, population=None, level: float = 0.9, seed: int = 0):
    """Plot a :class:`~comboplan.bayes.BayesDoseResponseResult`.

    Parameters
    ----------
    result : BayesDoseResponseResult
    kind : {"curves", "ec50", "interaction", "trace"}
        ``curves``: data with posterior median and band of the population curve for a
        new experiment (single agent: one line per population; combination: response
        vs dose A at each tested dose of B).
    ax : matplotlib.axes.Axes, optional
    population : str, optional
        Population to draw (default: all, or the first for combinations).
    level : float
    seed : int

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..exceptions import DataError

    if kind == "ec50":
        return plot_posterior_interval(result, "ec50", ax=ax, level=level, log=True)
    if kind == "trace":
        return plot_trace(result, None, ax=ax)
    if kind == "interaction":
        ax = _ax(ax)
        x = result.idata.posterior["interaction"]
        if population is not None:
            x = x.sel(population=str(population))
        return _interaction_hist(x.values.ravel(), ax, True, "", "interaction")
    if kind != "curves":
        raise DataError(f"kind must be 'curves', 'ec50', 'interaction' or 'trace'; got {kind!r}.")
    ax = _ax(ax)
    a, meta = result.arrays, result.meta
    pops = list(map(str, a.population_labels))
    thin = max(1, result.idata.posterior.sizes["draw"] // 250)
    y_obs = a.v
    from ..fitting.bayes.dose_response import _to_user_scale

    y_obs = _to_user_scale(y_obs, meta)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    da_ = a.dose[:, 0]
    pos = da_[da_ > 0]
    grid = np.geomspace(pos.min() / 3, pos.max() * 3, 60)
    x0 = pos.min() / 6  # where dose 0 is drawn on the log axis
    if a.n_agents == 1:
        show = pops if population is None else [str(population)]
        cols = dict(zip(pops, _colors(len(pops))))
        pred = result.predict(grid, population=show, seed=seed, thin=thin)
        q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values
        for i, p in enumerate(show):
            c = cols[p]
            ax.fill_between(grid, q[0, i], q[2, i], color=c, alpha=0.15)
            ax.plot(grid, q[1, i], color=c, lw=2, label=p)
            m = a.curve_population[a.obs_curve] == pops.index(p)
            ax.plot(np.where(da_[m] > 0, da_[m], x0), y_obs[m], "o", color=c, ms=3, alpha=0.6)
        ax.set_xlabel(f"{a.columns['dose'][0]} ({meta.get('dose_unit') or 'dose unit'})")
    else:
        p = pops[0] if population is None else str(population)
        db_levels = np.unique(a.dose[:, 1])
        cols = _colors(len(db_levels))
        pred = result.predict(grid, dose_b=db_levels, population=p, seed=seed, thin=thin)
        q = pred.quantile([lo_q, 0.5, hi_q], dim=("chain", "draw")).values[:, 0]
        m_pop = a.curve_population[a.obs_curve] == pops.index(p)
        for j, db in enumerate(db_levels):
            ax.fill_between(grid, q[0, :, j], q[2, :, j], color=cols[j], alpha=0.12)
            ax.plot(grid, q[1, :, j], color=cols[j], lw=2, label=f"{a.columns['dose'][1]} = {db:g}")
            m = m_pop & (a.dose[:, 1] == db)
            ax.plot(np.where(da_[m] > 0, da_[m], x0), y_obs[m], "o", color=cols[j], ms=3, alpha=0.6)
        ax.set_xlabel(f"{a.columns['dose'][0]} ({meta.get('dose_unit') or 'dose unit'})")
        ax.set_title(f"{p}: posterior median and {int(level * 100)} % band (new experiment)")
    ax.set_xscale("log")
    ax.set_ylabel(f"{a.columns['response']} ({meta['response_kind']}, {meta['scale']})")
    ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------ prior predictive
def plot_prior_predictive(pp, ax=None, level: float = 0.95):
    """Prior-predictive intervals against the observations, one column per observation.

    Parameters
    ----------
    pp : PriorPredictive or DosePriorPredictive
    ax : matplotlib.axes.Axes, optional
    level : float

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    ds = pp.draws
    var = "log_size" if "log_size" in ds else "response"
    y = ds[var].values
    obs = np.asarray(json.loads(ds.attrs["observed_log_size" if var == "log_size" else "observed_response"]))
    order = np.argsort(obs)
    lo, med, hi = np.quantile(y[:, order], [(1 - level) / 2, 0.5, 1 - (1 - level) / 2], axis=0)
    x = np.arange(len(order))
    ax.fill_between(x, lo, hi, color="C1", alpha=0.3, label=f"prior predictive {int(level * 100)} %")
    ax.plot(x, med, color="C1", lw=1)
    ax.plot(x, obs[order], "k.", ms=3, label="observed")
    ax.set_xlabel("observation (sorted)")
    ax.set_ylabel("log size" if var == "log_size" else "viability fraction")
    ax.set_title(f"prior predictive check: {100 * pp.coverage:.0f} % of data inside")
    ax.legend(fontsize="small")
    return ax
