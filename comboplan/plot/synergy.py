"""Plots of combination results: heatmap, surface, isobologram, Fa-CI.

Every function takes ``ax=None`` (a new figure is made) and returns the Axes.  Plots
never fit: they read result tables only.
"""
from __future__ import annotations

import numpy as np

from ..exceptions import DataError

from ._common import axis_label, new_axes

__all__ = ["heatmap", "surface", "isobologram", "fa_ci", "ct_fa_ci", "ct_isobologram", "ct_median_effect",
           "musyc_plot", "matrix_heatmap"]


def _ax(ax, projection=None):
    return new_axes(ax, figsize=(5.5, 4.5), projection=projection)


def _dose_label(result, k: int) -> str:
    """Axis label of agent ``k``'s dose column: its name in words and its unit."""
    s = result.settings
    col = s["doses"][k]
    return axis_label(col, (s.get("dose_units") or {}).get(col))


def _block_cells(result, method, block):
    s = result.settings
    if method not in s["methods"]:
        raise DataError(f"method {method!r} was not computed; available: {list(s['methods'])}.")
    t = result.cells[result.cells["method"] == method]
    if s["by"]:
        keys = result.blocks[result.blocks["method"] == method].iloc[block][s["by"]]
        for c in s["by"]:
            t = t[t[c] == keys[c]]
    return t


def _grid(t, doses):
    if len(doses) != 2:
        raise DataError("heatmap/surface show two agents; for more agents plot result.cells directly.")
    a, b = doses
    u1 = np.unique(t[a])
    u2 = np.unique(t[b])
    g = np.full((len(u1), len(u2)), np.nan)
    g[np.searchsorted(u1, t[a]), np.searchsorted(u2, t[b])] = t["score"].to_numpy()
    return u1, u2, g


def heatmap(result, method="bliss", block=0, ax=None, annotate=True, cmap="RdBu_r"):
    """Heatmap of per-cell scores (rows: first agent; columns: second agent).

    Parameters
    ----------
    result : SynergyResult
    method : str
    block : int
    ax : matplotlib Axes, optional
    annotate : bool
        Write the score (and CI when available) in each cell.
    cmap : str
        Diverging colormap centred at 0 (red = synergy).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    doses = result.settings["doses"]
    t = _block_cells(result, method, block)
    u1, u2, g = _grid(t, doses)
    return _score_grid(ax, g, u1, u2, xlabel=_dose_label(result, 1), ylabel=_dose_label(result, 0),
                       vmax=np.nanmax(np.abs(g)) or 1.0, cmap=cmap, annotate=annotate,
                       label=f"{method} excess (positive = synergy)",
                       title=f"{method} ({result.settings['response_kind']} scale)")


def _score_grid(ax, g, rows, cols, *, xlabel: str, ylabel: str, vmax: float, cmap: str, annotate: bool, label: str,
                title: str):
    """Draw a grid of synergy scores as a heatmap centred at 0; the drawing of :func:`heatmap` and
    :func:`matrix_heatmap`.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    g : ndarray, shape (n_rows, n_cols)
        Scores (unit of the score; NaN = no cell), rows: first agent's doses, columns: second's.
    rows, cols : sequence of float
        Dose of each row / column (dose unit of each agent), written as tick labels.
    xlabel, ylabel : str
        Axis labels (the agents and their dose units).
    vmax : float
        Colour range ``[-vmax, vmax]`` (unit of the score).
    cmap : str
        Diverging colormap.
    annotate : bool
        Write each finite score in its cell (1 decimal).
    label : str
        Colour-bar label.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    im = ax.imshow(g, cmap=cmap, vmin=-vmax, vmax=vmax, origin="lower", aspect="auto")
    ax.set_xticks(range(len(cols)), [f"{v:g}" for v in cols])
    ax.set_yticks(range(len(rows)), [f"{v:g}" for v in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotate:
        for (i, j), v in np.ndenumerate(g):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=8)
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set_title(title)
    return ax


def surface(result, method="bliss", block=0, ax=None, cmap="RdBu_r"):
    """3-D surface of per-cell scores over log-spaced dose positions; returns the Axes."""
    ax = _ax(ax, projection="3d") if ax is None else ax
    doses = result.settings["doses"]
    t = _block_cells(result, method, block)
    u1, u2, g = _grid(t, doses)
    X, Y = np.meshgrid(np.arange(len(u2)), np.arange(len(u1)))
    vmax = np.nanmax(np.abs(g)) or 1.0
    ax.plot_surface(X, Y, np.nan_to_num(g), cmap=cmap, vmin=-vmax, vmax=vmax)
    ax.set_xticks(range(len(u2)), [f"{v:g}" for v in u2])
    ax.set_yticks(range(len(u1)), [f"{v:g}" for v in u1])
    ax.set_xlabel(_dose_label(result, 1))
    ax.set_ylabel(_dose_label(result, 0))
    ax.set_zlabel(f"{method} (positive = synergy)")
    return ax


def _loewe_norm(result, block):
    if "loewe" not in result.settings["methods"]:
        raise DataError("isobologram and fa_ci plots of a SynergyResult use the Loewe fits; "
                        "include 'loewe' in methods (or use chou_talalay(...).plot).")
    t = _block_cells(result, "loewe", block)
    mono = result.monotherapy
    s = result.settings
    if s["by"]:
        keys = t.iloc[0][s["by"]]
        for c in s["by"]:
            mono = mono[mono[c] == keys[c]]
    from ..models.combination.loewe import hill_dose_for_effect

    out = {}
    for a in s["doses"]:
        p = mono[mono["agent"] == a].set_index("param")["estimate"]
        out[a] = hill_dose_for_effect(t["observed"].to_numpy(), p["e0"], p["einf"], p["ec50"], p["h"])
    return t, out


def isobologram(result, method="loewe", block=0, ax=None):
    """Normalised isobologram: each combination cell at (d1/D1(E), d2/D2(E)).

    ``Di(E)`` is the dose of agent i alone giving the cell's observed effect (from the
    single-agent Hill fits).  Points below the line x + y = 1 are synergistic.
    """
    ax = _ax(ax)
    t, dx = _loewe_norm(result, block)
    a, b = result.settings["doses"][:2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = t[a].to_numpy() / dx[a]
        y = t[b].to_numpy() / dx[b]
    ax.scatter(x, y, c=t["loewe_ci"].to_numpy() < 1, cmap="coolwarm_r", edgecolor="k")
    ax.plot([0, 1], [1, 0], "k--", lw=1, label="Loewe additivity")
    ax.set_xlabel(f"{a} / {a} alone for the same effect")
    ax.set_ylabel(f"{b} / {b} alone for the same effect")
    ax.set_xlim(0, max(1.2, np.nanmax(np.where(np.isfinite(x), x, 0)) * 1.05))
    ax.set_ylim(0, max(1.2, np.nanmax(np.where(np.isfinite(y), y, 0)) * 1.05))
    ax.legend(title="below line = synergy")
    return ax


def fa_ci(result, method="loewe", block=0, ax=None):
    """Loewe interaction index of each combination cell against its fraction affected."""
    ax = _ax(ax)
    t = _block_cells(result, "loewe", block) if "loewe" in result.settings["methods"] else None
    if t is None:
        raise DataError("fa_ci of a SynergyResult needs 'loewe' in methods (or use chou_talalay(...).plot('fa_ci')).")
    ax.scatter(t["observed"] / result.settings["top"], t["loewe_ci"], edgecolor="k")
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set_xlabel("fraction affected (fa)")
    ax.set_ylabel("Loewe interaction index (CI < 1 synergy)")
    return ax


def ct_fa_ci(result, ax=None):
    """Fa-CI plot of a ChouTalalayResult (points at fa levels with delta-method CIs)."""
    ax = _ax(ax)
    for ray, g in result.levels.groupby("ray"):
        ax.errorbar(g["fa"], g["CI"], yerr=[g["CI"] - g["CI_ci_low"], g["CI_ci_high"] - g["CI"]], marker="o",
                    capsize=3, label=ray)
    p = result.points
    if len(p):
        ax.scatter(p["fa"], p["CI"], marker="x", color="k", label="observed cells")
    ax.axhline(1.0, color="k", ls="--", lw=1)
    ax.set_xlabel("fraction affected (fa)")
    ax.set_ylabel("combination index (CI < 1 synergy)")
    ax.legend(fontsize=8)
    return ax


def ct_isobologram(result, ax=None, fa=None):
    """Classical isobologram of a ChouTalalayResult (first two agents)."""
    ax = _ax(ax)
    iso = result.isobologram
    a, b = result.settings["doses"][:2]
    for (ray, f), g in iso.groupby(["ray", "fa"]):
        if fa is not None and not np.isclose(f, fa):
            continue
        g = g.set_index("agent")
        line = ax.plot([g.loc[a, "Dx"], 0], [0, g.loc[b, "Dx"]], "--", lw=1)
        ax.plot(g.loc[a, "D"], g.loc[b, "D"], "o", color=line[0].get_color(), label=f"fa={f:g} {ray}")
    ax.set_xlabel(f"dose of {a}")
    ax.set_ylabel(f"dose of {b}")
    ax.legend(fontsize=7, title="points below their line = synergy")
    return ax


def ct_median_effect(result, ax=None):
    """Median-effect lines log10(fa/fu) = m log10 D - m log10 Dm of agents and rays."""
    ax = _ax(ax)
    for _, r in result.params.iterrows():
        x = np.linspace(np.log10(r["Dm"]) - 2 / max(r["m"], 0.2), np.log10(r["Dm"]) + 2 / max(r["m"], 0.2), 20)
        ax.plot(x, r["m"] * (x - np.log10(r["Dm"])), label=f"{r['entity']} (m={r['m']:.2f})")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("log10 dose")
    ax.set_ylabel("log10(fa/fu)")
    ax.legend(fontsize=8)
    return ax


def musyc_plot(result, kind="surface", block=0, ax=None):
    """Fitted MuSyC surface (heatmap over log-dose grid or 3-D surface)."""
    e = result.estimates(block)
    g1 = np.geomspace(e["C1"] / 100, e["C1"] * 100, 30)
    g2 = np.geomspace(e["C2"] / 100, e["C2"] * 100, 30)
    D1, D2 = np.meshgrid(g1, g2, indexing="ij")
    Z = result.predict(D1, D2, block)
    if kind == "surface":
        ax = _ax(ax, projection="3d") if ax is None else ax
        ax.plot_surface(np.log10(D2), np.log10(D1), Z, cmap="viridis")
        ax.set_zlabel(axis_label(result.settings["response"]))
    else:
        ax = _ax(ax)
        im = ax.pcolormesh(np.log10(g2), np.log10(g1), Z, shading="auto")
        ax.figure.colorbar(im, ax=ax, label=axis_label(result.settings["response"]))
    ax.set_xlabel(f"log10 {_dose_label(result, 1)}")
    ax.set_ylabel(f"log10 {_dose_label(result, 0)}")
    return ax


def matrix_heatmap(result, ax=None, annotate=True, cmap="RdBu_r"):
    """Heatmap of the scores of a :class:`~comboplan.combination.matrix.MatrixScores`.

    Rows: agent 1 doses; columns: agent 2 doses; diverging colours centred at 0 (red = synergy).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _ax(ax)
    ds = result.to_xarray()
    g = ds["score"].values
    vmax = np.nanmax(np.abs(g)) if np.isfinite(g).any() else 1.0
    return _score_grid(ax, g, ds["dose1"].values, ds["dose2"].values, xlabel="agent 2 dose", ylabel="agent 1 dose",
                       vmax=vmax or 1.0, cmap=cmap, annotate=annotate,
                       label=f"{result.method} excess ({result.settings['units']}; positive = synergy)",
                       title=f"{result.method} ({result.settings['response_kind']} scale)")
