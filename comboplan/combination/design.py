"""Validation and cell layout of combination experiments (internal)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from ..data.validate import SCALE_BOUNDS, _fmt_label
from ..data.validate import (
    as_list,
    check_dose_column,
    check_groups_nonempty,
    check_response_column,
    require_columns,
    require_frame,
)
from ..exceptions import DataError
from .stats import factorize, pad_groups

__all__ = ["Design", "prepare", "SIGN_EXCESS", "SIGN_CI"]

SIGN_EXCESS = ("positive = synergy (observed effect exceeds the reference), negative = antagonism; "
               "scores are in inhibition units of the response scale")
SIGN_CI = "CI < 1 synergy, CI = 1 additive, CI > 1 antagonism"
_KINDS = ("inhibition", "viability")
_SCALES = {"percent": 100.0, "fraction": 1.0}
_ROLES = ["control", "mono", "combo"]


@lru_cache(maxsize=1)
def _role_dtype():
    return pd.CategoricalDtype(_ROLES)


@lru_cache(maxsize=64)
def _agent_dtype(doses: tuple):
    return pd.CategoricalDtype(list(doses))


def _cell_codes(bcodes, dmat):
    """Cell code of every observation (cells sorted by block, then doses), each cell's first row,
    and the dose levels: ``(codes, first, levels, level codes (n_obs, N))``.

    Each dose column is factorised on its own (exact float equality, sorted), and the
    codes are combined in mixed radix into one int64 key, so a single 1-D sort orders
    the cells lexicographically by (block, dose 1, dose 2, ...).
    """
    n = dmat.shape[0]
    key = np.asarray(bcodes, dtype=np.int64).copy()
    span = float(key.max() + 1 if n else 1)
    levels = []
    lcodes = np.empty(dmat.shape, dtype=np.int64)
    for k in range(dmat.shape[1]):
        lv, _, inv = factorize(dmat[:, k], stable=False)
        levels.append(lv)
        lcodes[:, k] = inv
        span *= max(len(lv), 1)
    if span < 2.0**62:
        for k, lv in enumerate(levels):
            key = key * len(lv) + lcodes[:, k]
        _, first, ccodes = factorize(key)
    else:  # pragma: no cover - astronomically many distinct dose levels
        _, first, ccodes = np.unique(np.column_stack([key.astype(float), dmat]), axis=0, return_index=True,
                                     return_inverse=True)
    return np.asarray(ccodes).ravel().astype(np.int64, copy=False), np.asarray(first), levels, lcodes


@dataclass(frozen=True, eq=False)
class Design:
    """Validated combination data laid out by block and cell.

    The layout is held as numpy arrays (``obs_data``, ``cell_data``), which is what the
    scoring code reads; the tables below are built from them on first access (other
    analyses read them; one ``synergy()`` call on a small matrix never needs them).

    Attributes
    ----------
    obs : pandas.DataFrame
        One row per observation: dose columns, ``by`` columns, ``_rep`` (with a replicate
        column), ``_effect`` (inhibition in the caller's unit: ``top - viability`` for
        viability input), ``_row`` (the caller's index label), ``_block`` (int), ``_cell``
        (int); rows in a canonical order (by cell, then value).
    cells : pandas.DataFrame
        One row per cell: ``_block``, ``_cell``, dose columns, ``n`` (replicates),
        ``mean``, ``sd``, ``n_agents`` (agents with dose > 0), ``role``
        (``"control"``, ``"mono"``, ``"combo"``), ``agent`` (for monotherapy cells),
        ``agent_k`` (its position in ``doses``, -1 for other cells).
    blocks : pandas.DataFrame
        One row per block: ``_block`` and the ``by`` columns.
    obs_data, cell_data : dict of numpy.ndarray
        The columns of ``obs`` and of ``cells`` (without ``role``/``agent``) as arrays.
    n_blocks : int
        Number of blocks.
    dose_levels : tuple of numpy.ndarray
        The sorted distinct doses of each agent; ``cell_data["_levels"]`` (n_cells, N)
        holds each cell's level codes.
    """

    obs_data: dict
    cell_data: dict
    n_blocks: int
    doses: tuple
    by: tuple
    response: str
    response_kind: str
    scale: str
    top: float
    replicate: str | None
    dose_levels: tuple = ()
    block_frame: pd.DataFrame | None = None

    @cached_property
    def obs(self) -> pd.DataFrame:
        return pd.DataFrame(self.obs_data, copy=False)

    @cached_property
    def cells(self) -> pd.DataFrame:
        c = self.cell_data
        agent_k = c["agent_k"]
        cols = {k: c[k] for k in ("_block", "_cell", *self.doses, "n", "mean", "sd", "n_agents")}
        cols["role"] = pd.Categorical.from_codes(np.minimum(c["n_agents"], 2), dtype=_role_dtype())
        cols["agent"] = pd.Categorical.from_codes(agent_k, dtype=_agent_dtype(tuple(self.doses)))
        cols["agent_k"] = agent_k
        return pd.DataFrame(cols, copy=False)

    @cached_property
    def blocks(self) -> pd.DataFrame:
        if self.block_frame is not None:
            return self.block_frame
        return pd.DataFrame({"_block": np.arange(self.n_blocks, dtype=np.int64)})

    @property
    def n_cells(self) -> int:
        return len(self.cell_data["n"])

    def block_column(self, col) -> np.ndarray:
        """The values of ``by`` column ``col`` of every block (array, block order)."""
        return self.blocks[col].to_numpy()

    def cell_values(self):
        """(n_cells, max_rep) padded replicate values and counts per cell."""
        return pad_groups(self.obs_data["_cell"], self.obs_data["_effect"], self.n_cells)

    def with_effect(self, eff) -> Design:
        """The same design with new effects (canonical observation order): cell means and SDs
        recomputed (pandas' grouped mean/SD, as the tables report them)."""
        from dataclasses import replace

        obs = dict(self.obs_data)
        obs["_effect"] = eff
        g = pd.DataFrame({"_cell": obs["_cell"], "_effect": eff}).groupby("_cell", sort=True)["_effect"]
        cells = dict(self.cell_data)
        cells["mean"] = g.mean().to_numpy()
        cells["sd"] = g.std(ddof=1).to_numpy()
        return replace(self, obs_data=obs, cell_data=cells)


def _column(df, col):
    """The values of column ``col`` (numpy array or extension array), cheaply.

    ``DataFrame.__getitem__`` builds a Series (~10 us under pandas 3); the block manager's
    column array is the same data.  Falls back to the public path for anything unusual
    (duplicate names, another pandas).
    """
    try:
        loc = df.columns.get_loc(col)
        if isinstance(loc, int):
            return df._get_column_array(loc)
    except (AttributeError, TypeError, KeyError):  # pragma: no cover - other pandas versions
        pass
    return df[col].array  # pragma: no cover


def _plain_numeric(df, col):
    """Fast path of the column checks: a float copy of a plain numpy int/float column.

    Returns ``None`` for anything else -- bool, object, nullable or extension dtypes -- so
    that the caller runs the full checks of :mod:`comboplan.data.validate`, which also
    produce the error messages.
    """
    a = _column(df, col)
    if isinstance(a, np.ndarray) and a.dtype.kind in "fiu":
        return np.array(a, dtype=float)
    return None


def prepare(data, doses, response, by=None, replicate=None, response_kind="inhibition",
            scale="percent", min_agents: int = 2) -> Design:
    """Validate a tidy combination table and lay it out by block and cell.

    Raises
    ------
    DataError
        On any malformed input (see the module's checks); never silently drops rows.
    """
    df = require_frame(data)
    doses = as_list(doses)
    by = as_list(by)
    if len(doses) < min_agents:
        raise DataError(f"doses must name at least {min_agents} dose columns (one per agent); got {doses!r}. "
                        "Pass doses=['drugA_uM', 'drugB_uM'].")
    if len(set(doses)) != len(doses):
        raise DataError(f"doses lists a column twice: {doses!r}; name each agent's dose column once.")
    if response_kind not in _KINDS:
        raise DataError(f"response_kind must be one of {_KINDS}; got {response_kind!r}.")
    if scale not in _SCALES:
        raise DataError(f"scale must be 'percent' (0-100) or 'fraction' (0-1); got {scale!r}.")
    cols = [*doses, response, *by] + ([replicate] if replicate else [])
    require_columns(df, cols)
    top = _SCALES[scale]
    dl = [_plain_numeric(df, c) for c in doses]
    dmat = None if any(d is None for d in dl) else np.array(dl).T        # (n_obs, N); columns contiguous
    if dmat is None or not (np.isfinite(dmat).all() and (dmat >= 0).all()):
        dmat = np.column_stack([check_dose_column(df, c, role=f"dose of agent {c!r}") for c in doses])
    y = _plain_numeric(df, response)
    if y is None or not np.isfinite(y).all():
        y = check_response_column(df, response)
    if by or replicate:
        check_groups_nonempty(df, by + ([replicate] if replicate else []))
    # the package-wide plausible range of normalised responses (SynergyFinder accepts any value;
    # real viability readouts reach 187 %): -1.5..3 x top; beyond it the data are raw signal or
    # on another scale
    lo_ok, hi_ok = SCALE_BOUNDS[scale]
    bad = (y < lo_ok) | (y > hi_ok)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        hint = ("; the values look like percent: pass scale='percent'" if scale == "fraction" and np.nanmax(np.abs(y)) > 3
                else "")
        raise DataError(
            f"column {response!r} ({response_kind}, scale={scale!r}) must lie within [{lo_ok:g}, {hi_ok:g}]; "
            f"{int(bad.sum())} value(s) do not (first at row {_fmt_label(df.index[i])}: {_fmt_label(y[i])}){hint}. "
            "Normalise to the untreated control first (comboplan.normalize) or declare the right scale.")
    if scale == "percent" and len(y) > 3 and np.abs(y).max() <= 1.5:      # y is finite here
        raise DataError(
            f"column {response!r}: every value is within [-1.5, 1.5] but scale='percent' was declared; "
            "these look like fractions. Pass scale='fraction' (or multiply by 100).")
    eff = y if response_kind == "inhibition" else top - y
    cols = {c: dmat[:, k] for k, c in enumerate(doses)}
    for c in by:
        cols[c] = df[c].to_numpy()
    if replicate:
        cols["_rep"] = df[replicate].to_numpy()
    cols["_effect"] = eff
    cols["_row"] = df.index.to_numpy()
    if by:
        # blocks sorted by their labels (as pandas' groupby and fit_dose_response order curves), so
        # that neither the block order nor the bootstrap streams depend on the row order
        bkeys = pd.DataFrame({c: cols[c] for c in by})
        grp = bkeys.groupby(by, sort=True, dropna=False)
        bcodes = grp.ngroup().to_numpy()
        _, first_of = np.unique(bcodes, return_index=True)
        blocks = bkeys.iloc[first_of].reset_index(drop=True)
        blocks.insert(0, "_block", np.arange(len(blocks)))
        n_blocks = len(blocks)
    else:
        bcodes = np.zeros(len(eff), dtype=np.int64)
        blocks = None
        n_blocks = 1
    cols["_block"] = bcodes
    ccodes, first_row, levels, lcodes = _cell_codes(bcodes, dmat)
    cols["_cell"] = ccodes
    # duplicated cells need a replicate column; with one, (cell, replicate) must be unique
    counts = np.bincount(ccodes)
    has_reps = bool(counts.max() > 1)
    if replicate is None and has_reps:
        first = int(np.flatnonzero(counts[ccodes] > 1)[0])
        raise DataError(
            f"{int((counts > 1).sum())} cell(s) (same block and doses) appear more than once without a replicate "
            f"column (first at row {_fmt_label(df.index[first])}: " +
            ", ".join(f"{c}={_fmt_label(dmat[first, k])}" for k, c in enumerate(doses)) +
            "). Name the column that identifies replicates (replicate='rep'); comboplan never averages "
            "duplicates silently.")
    if replicate is not None:
        dup = pd.MultiIndex.from_arrays([ccodes, cols["_rep"]]).duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise DataError(
                f"replicate {_fmt_label(pd.Series(cols['_rep']).iloc[i])} appears twice in the same cell (row "
                f"{_fmt_label(df.index[i])}); column {replicate!r} must identify each replicate of a cell once.")
    n_cells = len(counts)
    ccols = {"_block": bcodes[first_row].astype(np.int64), "_cell": np.arange(n_cells)}
    for k, c in enumerate(doses):
        ccols[c] = dmat[first_row, k]
    sums = np.bincount(ccodes, weights=eff, minlength=n_cells)
    mean = sums / counts
    if has_reps:
        ss = np.bincount(ccodes, weights=(eff - mean[ccodes]) ** 2, minlength=n_cells)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(counts > 1, np.sqrt(ss / np.maximum(counts - 1, 1)), np.nan)
    else:                   # one observation per cell: no SD anywhere
        sd = np.full(n_cells, np.nan)
    nz = dmat[first_row] > 0
    n_agents = nz.sum(axis=1)
    agent_k = np.where(n_agents == 1, np.argmax(nz, axis=1), -1)
    ccols.update({"n": counts, "mean": mean, "sd": sd, "n_agents": n_agents, "agent_k": agent_k,
                  "_levels": lcodes[first_row]})
    # observations in a canonical order (by cell, then value), so that whatever is drawn per
    # observation (bootstrap resamples) does not depend on the caller's row order
    # (rows already in that order -- cells in sorted order, values non-decreasing within each cell,
    # as a screen laid out block by block usually is -- need no sort: the stable sort would return
    # them as they are, and sorting cost half of this function)
    ordered = len(ccodes) < 2 or bool((ccodes[1:] >= ccodes[:-1]).all())
    if ordered and has_reps:
        ordered = not ((ccodes[1:] == ccodes[:-1]) & (eff[1:] < eff[:-1])).any()
    if not ordered:
        perm = np.lexsort((eff, ccodes))
        cols = {k: v[perm] for k, v in cols.items()}
    return Design(obs_data=cols, cell_data=ccols, n_blocks=n_blocks, doses=tuple(doses), by=tuple(by),
                  response=response, response_kind=response_kind, scale=scale, top=top, replicate=replicate,
                  dose_levels=tuple(levels), block_frame=blocks)
