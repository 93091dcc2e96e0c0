"""Helpers shared by the plotting modules (private)."""
from __future__ import annotations

import re

__all__ = ["new_axes", "colors", "axis_label", "readable"]


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


# unit suffixes of column names (lower case, "_"-separated) -> the unit they spell
_SUFFIX_UNITS = {
    "pct": "%", "percent": "%",
    "um": "uM", "nm": "nM", "mm": "mM", "pm": "pM", "m": "M",
    "ug_per_ml": "ug/mL", "mg_per_ml": "mg/mL", "ng_per_ml": "ng/mL", "ug_ml": "ug/mL", "ng_ml": "ng/mL",
    "mg_per_kg": "mg/kg", "mg_kg": "mg/kg", "mm3": "mm^3", "ps": "photons/s", "h": "h", "hr": "h",
}
# abbreviations of column names -> words
_WORDS = {"conc": "concentration", "lum": "luminescence", "vol": "volume", "resp": "response",
          "inh": "inhibition", "viab": "viability"}
# how units are shown
_SHOW_UNIT = {"mm3": "mm^3", "pct": "%", "percent": "%"}


def readable(column) -> tuple[str, str | None]:
    """Split a column name into words and the unit its suffix spells.

    ``"viability_pct"`` -> ``("viability", "%")``; ``"dose_ug_per_mL"`` -> ``("dose", "ug/mL")``;
    ``"paclitaxel_uM"`` -> ``("paclitaxel", "uM")``; ``"conc_uM"`` -> ``("concentration", "uM")``;
    a name without a unit suffix -> ``(name with spaces, None)``.
    """
    name = str(column)
    tokens = [t for t in re.split(r"[_\s]+", name) if t]
    unit = None
    for k in range(min(3, len(tokens) - 1), 0, -1):          # longest suffix first; keep >= 1 word
        suffix = "_".join(tokens[-k:]).lower()
        if suffix in _SUFFIX_UNITS:
            unit = _SUFFIX_UNITS[suffix]
            tokens = tokens[:-k]
            break
    words = " ".join(_WORDS.get(t.lower(), t) for t in tokens)
    return words or name, unit


def axis_label(column, unit=None, *, name: str | None = None) -> str:
    """An axis label "name (unit)" for a column: words instead of the raw column name, the declared
    ``unit`` (else the unit the column's suffix spells); no empty or repeated unit."""
    words, suffix_unit = readable(column)
    u = unit if unit not in (None, "") else suffix_unit
    u = _SHOW_UNIT.get(u, u) if u is not None else None
    label = name or words
    return f"{label} ({u})" if u else label
