"""Diagnostic plots of :class:`comboplan.growth.api.MixedGrowthFit` (residuals, QQ, influence)."""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..exceptions import DataError

__all__ = ["plot_mixed_diagnostic"]

KINDS = ("residuals", "residuals_time", "qq", "qq_ranef", "influence")


def _ax(ax):
    from ..plot._common import new_axes

    return new_axes(ax)


def plot_mixed_diagnostic(fit, *, kind: str = "residuals", ax=None):
    """Residual, QQ and influence plots of a mixed growth fit.

    Parameters
    ----------
    fit : MixedGrowthFit
        The fit.
    kind : {"residuals", "residuals_time", "qq", "qq_ranef", "influence"}
        Standardized (Pearson) residuals against the conditional fitted value (log size) or
        against time since baseline (time unit), coloured by arm; normal QQ plot of the
        standardized residuals or of the standardized predicted random growth rates
        (BLUP deviation from the arm rate / tau); Cook's distance per animal (dimensionless)
        with the ``4 / n_animals`` flagging line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if kind not in KINDS:
        raise DataError(f"kind must be 'rates' or one of {KINDS}, got {kind!r}.")
    ax = _ax(ax)
    r = fit.residuals
    arms = list(fit.arms)
    cmap = __import__("matplotlib").colormaps["tab10"]
    if kind in ("residuals", "residuals_time"):
        xcol = "fitted_conditional" if kind == "residuals" else "t"
        for k, a in enumerate(arms):
            sub = r[r["arm"] == a]
            ax.scatter(sub[xcol], sub["standardized"], s=12, color=cmap(k % 10), label=str(a))
        ax.axhline(0, color="grey", lw=0.8)
        for h in (-2, 2):
            ax.axhline(h, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("conditional fitted value (log size)" if kind == "residuals"
                      else f"time since baseline ({fit.units['time']})")
        ax.set_ylabel("standardized residual")
        ax.legend(fontsize=8)
    elif kind in ("qq", "qq_ranef"):
        if kind == "qq":
            z = r["standardized"].to_numpy()
            lab = "standardized residual"
        else:
            an = fit.animals
            rate = dict(zip(fit.rates["arm"], fit.rates["rate"]))
            tau = fit._sd("tau")
            z = (an["blup_rate"] - an["arm"].map(rate)).to_numpy() / (tau if tau > 0 else np.nan)
            lab = "standardized random growth rate"
        z = np.sort(z[np.isfinite(z)])
        n = z.size
        qth = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n) if n else np.array([])
        ax.scatter(qth, z, s=12)
        lim = [min(qth.min(initial=0), z.min(initial=0)), max(qth.max(initial=0), z.max(initial=0))]
        ax.plot(lim, lim, color="grey", lw=0.8)
        ax.set_xlabel("normal quantile")
        ax.set_ylabel(lab)
    else:
        inf = fit.influence
        if inf is None:
            raise DataError("the fit has no influence table; refit with influence=True.")
        cols = [cmap(arms.index(a) % 10) for a in inf["arm"]]
        ax.bar(np.arange(len(inf)), inf["cooks_distance"].fillna(0.0), color=cols)
        ax.axhline(4.0 / max(int(inf["cooks_distance"].notna().sum()), 1), color="red", ls="--", lw=0.8)
        ax.set_xticks(np.arange(len(inf)))
        ax.set_xticklabels(inf["subject"].astype(str), rotation=90, fontsize=6)
        ax.set_ylabel("Cook's distance (arm rates)")
    return ax
