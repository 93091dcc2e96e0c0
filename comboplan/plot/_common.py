"""Helpers shared by the plotting modules (private)."""
from __future__ import annotations

__all__ = ["new_axes", "colors"]


def new_axes(ax=None, figsize=(6, 4), projection=None):
    """Return ``ax``, or a new Axes on a new figure of size ``figsize`` (inches) if None."""
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize)
        ax = fig.add_subplot(111, projection=projection)
    return ax


def colors(n: int) -> list:
    """The first ``n`` colours of matplotlib's current property cycle (repeating)."""
    import matplotlib.pyplot as plt

    cyc = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2", "C3"])
    return [cyc[i % len(cyc)] for i in range(n)]
