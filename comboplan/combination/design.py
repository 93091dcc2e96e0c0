"""Validation and cell layout of combination experiments (internal)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    """Cell code of every observation (cells sorted by block, then doses) and each cell's first row.

    Each dose column is factorised on its own (exact float equality, sorted), and the
    codes are combined in mixed radix into one int64 key, so a single 1-D sort orders
    the cells lexicographically by (block, dose 1, dose 2, ...).
    """
    n = dmat.shape[0]
    key = np.asarray(bcodes, dtype=np.int64).copy()
    span = float(key.max() + 1 if n else 1)
    cols = []
    for k in range(dmat.shape[1]):
        lv, inv = np.unique(dmat[:, k], return_inverse=True)
        cols.append((len(lv), np.asarray(inv).ravel()))
        span *= max(len(lv), 1)
    if span < 2.0**62:
        for L, inv in cols:
            key = key * L + inv
        _, first, ccodes = np.unique(key, return_index=True, return_inverse=True)
    else:  # pragma: no cover - astronomically many distinct dose levels
        _, first, ccodes = np.unique(np.column_stack([key.astype(float), dmat]), axis=0, return_index=True,
                                     return_inverse=True)
    return np.asarray(ccodes).ravel().astype(np.int64), np.asarray(first)


@dataclass(frozen=True)
class Design:
    """Validated combination data laid out by block and cell.

    Attributes
    ----------
    obs : pandas.DataFrame
        One row per observation: ``_block`` (int), ``_cell`` (int), dose columns,
        ``_effect`` (inhibition in the caller's unit: ``top - viability`` for viability
        input), ``_row`` (the caller's index label).
    cells : pandas.DataFrame
        One row per cell: ``_block``, ``_cell``, dose columns, ``n`` (replicates),
        ``mean``, ``sd``, ``n_agents`` (agents with dose > 0), ``role``
        (``"control"``, ``"mono"``, ``"combo"``), ``agent`` (for monotherapy cells).
    blocks : pandas.DataFrame
        One row per block: ``_block`` and the ``by`` columns.
    """

    obs: pd.DataFrame
    cells: pd.DataFrame
    blocks: pd.DataFrame
    doses: tuple
    by: tuple
    response: str
    response_kind: str
    scale: str
    top: float
    replicate: str | None

    def cell_values(self):
        """(n_cells, max_rep) padded replicate values and counts per cell."""
        from .stats import pad_groups

        return pad_groups(self.obs["_cell"].to_numpy(), self.obs["_effect"].to_numpy(), len(self.cells))


def _plain_numeric(df, col, role):
    """Fast path of the column checks: a float copy of a plain numpy int/float column.

    Returns ``None`` (or an object array) for anything else -- bool, object, nullable or
    extension dtypes -- so that the caller runs the full checks of
    :mod:`comboplan.data.validate`, which also produce the error messages.
    """
    s = df[col]
    dt = s.dtype
    if isinstance(dt, np.dtype) and dt.kind in "fiu":
        return np.array(s.to_numpy(), dtype=float)
    return None if role == "response" else np.full(len(df), None, dtype=object)


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
    dmat = np.column_stack([_plain_numeric(df, c, "dose") for c in doses])
    if dmat.dtype != float or not (np.isfinite(dmat).all() and (dmat >= 0).all()):
        dmat = np.column_stack([check_dose_column(df, c, role=f"dose of agent {c!r}") for c in doses])
    y = _plain_numeric(df, response, "response")
    if y is None or not np.isfinite(y).all():
        y = check_response_column(df, response)
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
    if scale == "percent" and np.nanmax(np.abs(y)) <= 1.5 and len(y) > 3:
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
    else:
        bcodes = np.zeros(len(eff), dtype=np.int64)
        blocks = pd.DataFrame({"_block": np.zeros(1, dtype=np.int64)})
    cols["_block"] = bcodes
    ccodes, first_row = _cell_codes(bcodes, dmat)
    cols["_cell"] = ccodes
    obs = pd.DataFrame(cols, copy=False)
    # duplicated cells need a replicate column; with one, (cell, replicate) must be unique
    counts = np.bincount(ccodes)
    if replicate is None and (counts > 1).any():
        first = int(np.flatnonzero(counts[ccodes] > 1)[0])
        raise DataError(
            f"{int((counts > 1).sum())} cell(s) (same block and doses) appear more than once without a replicate "
            f"column (first at row {_fmt_label(df.index[first])}: " +
            ", ".join(f"{c}={_fmt_label(obs[c].iloc[first])}" for c in doses) +
            "). Name the column that identifies replicates (replicate='rep'); comboplan never averages "
            "duplicates silently.")
    if replicate is not None:
        dup = pd.MultiIndex.from_arrays([ccodes, obs["_rep"].to_numpy()]).duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise DataError(
                f"replicate {_fmt_label(obs['_rep'].iloc[i])} appears twice in the same cell (row {_fmt_label(df.index[i])}); "
                f"column {replicate!r} must identify each replicate of a cell once.")
    n_cells = len(counts)
    ccols = {"_block": bcodes[first_row].astype(np.int64), "_cell": np.arange(n_cells)}
    for k, c in enumerate(doses):
        ccols[c] = dmat[first_row, k]
    sums = np.bincount(ccodes, weights=eff, minlength=n_cells)
    mean = sums / counts
    ss = np.bincount(ccodes, weights=(eff - mean[ccodes]) ** 2, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.where(counts > 1, np.sqrt(ss / np.maximum(counts - 1, 1)), np.nan)
    nz = dmat[first_row] > 0
    n_agents = nz.sum(axis=1)
    agent_k = np.where(n_agents == 1, np.argmax(nz, axis=1), -1)
    ccols.update({"n": counts, "mean": mean, "sd": sd, "n_agents": n_agents,
                  "role": pd.Categorical.from_codes(np.minimum(n_agents, 2), dtype=_role_dtype()),
                  "agent": pd.Categorical.from_codes(agent_k, dtype=_agent_dtype(tuple(doses))),
                  "agent_k": agent_k})
    cells = pd.DataFrame(ccols, copy=False)
    # observations in a canonical order (by cell, then value), so that whatever is drawn per
    # observation (bootstrap resamples) does not depend on the caller's row order
    perm = np.lexsort((eff, ccodes))
    if np.any(perm != np.arange(len(perm))):
        obs = obs.iloc[perm].reset_index(drop=True)
    return Design(obs=obs, cells=cells, blocks=blocks, doses=tuple(doses), by=tuple(by), response=response,
                  response_kind=response_kind, scale=scale, top=top, replicate=replicate)
