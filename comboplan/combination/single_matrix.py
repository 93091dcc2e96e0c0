"""The cheap path of :func:`comboplan.synergy` for one complete dose matrix (Bliss, HSA, Loewe).

A single two-agent matrix without replicates, scored with Bliss, HSA (from the observed
monotherapy) and/or classic Loewe (from single-agent Hill fits), is the commonest small call (issue 12: "one 8x8 matrix through ``synergy()``").
The general path lays the data out for any number of blocks, replicates, sparse designs and
fitted references; for this one case most of that machinery has nothing to do, and its fixed
cost (about 0.6 ms) is several times the arithmetic.  :func:`score_single_matrix` computes the
same tables directly from the matrix:

* the same checks decide whether it applies, and anything it does not recognise -- a missing
  or non-numeric column, a non-finite or negative dose, a response outside the plausible range,
  an incomplete grid, duplicated cells, a matrix without the dose-0 row and column -- returns
  ``None``, so that the general path runs and raises its own error;
* the same formulas (:func:`~comboplan.models.combination.bliss_reference`,
  :func:`~comboplan.models.combination.hsa_reference`), the same order of summation for the
  block means and the same 3x3 window sums, so the tables are equal to the general path's
  bit for bit (``tests/test_combination_single_matrix.py`` checks this on random matrices);
* for Loewe, the same two single-agent Hill fits (:func:`~comboplan.combination.fits.fit_hill`
  on the same padded arrays: each agent's dose-0 control and its monotherapy cells in dose
  order) and the same solver (:func:`~comboplan.models.combination.loewe_reference`,
  :func:`~comboplan.models.combination.loewe_index`); whenever a fit did not converge, is flat
  or unidentified, has fewer than ``MIN_HILL_LEVELS`` dose levels, or any cell's score is not
  finite, it returns ``None`` and the general path scores the matrix and writes the reasons.
"""
from __future__ import annotations

import numpy as np

from ..data.validate import SCALE_BOUNDS
from ..models.combination import bliss_reference, hsa_reference, loewe_index, loewe_reference
from .design import _KINDS, _SCALES, SIGN_EXCESS, _plain_numeric
from .fits import fit_hill
from .scoring import MIN_HILL_LEVELS, hill_identified
from .stats import factorize

__all__ = ["score_single_matrix"]

#: the ``inference`` text of cells without replicates (as the general path writes it)
NO_REPLICATES = ("none: every cell has a single observation, so no replicate-level uncertainty can be "
                 "estimated")


_API = None


def _api():
    """:mod:`comboplan.combination.api` (which imports this module: resolved on first use)."""
    global _API
    if _API is None:
        from . import api as _API_module

        _API = _API_module
    return _API


def score_single_matrix(data, doses, response, methods, response_kind, scale, loewe_method="classic"):
    """Cell, block and monotherapy tables of one complete two-agent matrix (Bliss, HSA, Loewe).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per well: the two dose columns and the response (not modified).
    doses : list of str
        The two dose columns (each agent in its own unit, >= 0).
    response : str
        Response column (inhibition or viability, on ``scale``).
    methods : tuple of {"bliss", "hsa", "loewe"}
        Normalised method names.
    response_kind : {"inhibition", "viability"}
        Direction of the response.
    scale : {"percent", "fraction"}
        Response scale (top 100 or 1).
    loewe_method : str
        Only ``"classic"`` is handled here (any other returns ``None``).

    Returns
    -------
    tuple or None
        ``(cells, blocks, monotherapy, top)`` as :func:`comboplan.synergy` builds them
        (inhibition units of ``scale``, positive = synergy; ``monotherapy`` is ``None`` without
        Loewe), or ``None`` when the data are not one complete matrix with finite, plausible
        values and clean single-agent fits -- the general path then scores them or names the problem.
    """
    a = _api()
    _const, _frame, _labels, _method_codes, _reference_model, _rows, _tile, statuses = (
        a._const, a._frame, a._labels, a._method_codes, a._reference_model, a._rows, a._tile, a.STATUSES)
    if (len(doses) != 2 or doses[0] == doses[1] or response_kind not in _KINDS or scale not in _SCALES
            or not set(methods) <= {"bliss", "hsa", "loewe"} or not methods or len(set(methods)) != len(methods)
            or ("loewe" in methods and loewe_method != "classic")):
        return None
    cols_in = data.columns
    if any(c not in cols_in for c in (*doses, response)) or not cols_in.is_unique:
        return None
    d1, d2, y = (_plain_numeric(data, c) for c in (*doses, response))
    if d1 is None or d2 is None or y is None:
        return None
    n = len(y)
    top = _SCALES[scale]
    lo_ok, hi_ok = SCALE_BOUNDS[scale]
    if (n < 4 or not (np.isfinite(d1).all() and np.isfinite(d2).all() and np.isfinite(y).all())
            or d1.min() < 0 or d2.min() < 0 or y.min() < lo_ok or y.max() > hi_ok
            or (scale == "percent" and np.abs(y).max() <= 1.5)):
        return None
    lv1, _, i1 = factorize(d1, stable=False)
    lv2, _, i2 = factorize(d2, stable=False)
    n1, n2 = len(lv1), len(lv2)
    if n1 < 2 or n2 < 2 or n1 * n2 != n or lv1[0] != 0 or lv2[0] != 0:
        return None
    if "loewe" in methods and min(n1, n2) < MIN_HILL_LEVELS:
        return None
    key = i1 * n2 + i2
    if not (np.bincount(key, minlength=n) == 1).all():      # every cell of the grid exactly once
        return None
    eff = np.empty(n)
    eff[key] = y if response_kind == "inhibition" else top - y
    E = eff.reshape(n1, n2)
    obs = E[1:, 1:].ravel()                                   # combination cells, sorted by (dose 1, dose 2)
    R, C = n1 - 1, n2 - 1
    nc = R * C
    if "bliss" in methods or "hsa" in methods:
        mono = np.array([np.repeat(E[1:, 0], C), np.tile(E[0, 1:], R)])    # (agent, cell)
    M = len(methods)
    mono_tab = lci = None
    if "loewe" in methods:
        loewe = _loewe(E, lv1, lv2, R, C, top)
        if loewe is None:
            return None
        ref_l, lci, P = loewe
        mono_tab = _mono_frame(P, doses, _labels)
    refs = [bliss_reference(mono, top=top, axis=0) if m == "bliss" else hsa_reference(mono, axis=0) if m == "hsa"
            else ref_l for m in methods]
    ref = _rows(refs)                                         # (M, nc)
    score = obs[None, :] - ref
    if lci is not None and not np.isfinite(score).all():      # (Bliss/HSA: finite by the checks above)
        return None

    # ---- cells: the columns of api._cell_table for one block without replicates
    nan_c = np.full(M * nc, np.nan)
    cols = {"method": _labels(methods, _method_codes(M, nc)),
            doses[0]: _tile(np.repeat(lv1[1:], C), M),
            doses[1]: _tile(np.tile(lv2[1:], R), M),
            "n": np.ones(M * nc, dtype=np.int64),
            "observed": _tile(obs, M),
            "reference": ref.ravel(),
            "score": score.ravel(),
            "synergy_score": score.ravel().copy(),
            "se": nan_c, "ci_low": nan_c.copy(), "ci_high": nan_c.copy(), "p_value": nan_c.copy(),
            "q_value": nan_c.copy(),          # (Benjamini-Hochberg of no p-values)
            "inference": _labels((NO_REPLICATES,), np.zeros(M * nc, dtype=np.int8))}
    if lci is not None:                   # the general path's column order: loewe_ci after inference
        k = methods.index("loewe")
        col = np.full(M * nc, np.nan)
        col[k * nc:(k + 1) * nc] = lci
        cols["loewe_ci"] = col
    cols.update({
            "status": _labels(statuses, np.zeros(M * nc, dtype=np.int8)),
            "message": _const("", M * nc),
            "reference_model": _labels([_reference_model(m, "3") for m in methods], _method_codes(M, nc)),
            "sign_convention": _const(SIGN_EXCESS, M * nc),
            "response_kind": _const(response_kind, M * nc)})
    cells = _frame(cols)

    # ---- blocks: api._block_table's columns (sums in cell order, as np.bincount adds them)
    sums = np.bincount(np.repeat(np.arange(M), nc), weights=score.ravel(), minlength=M)
    means = sums / nc
    if R >= 3 and C >= 3:
        # the most synergistic 3x3 area: the general path's window sums, on the (method, R, C) grid
        area = a.grid_window_sums(score.reshape(M, R, C)).reshape(M, -1).max(axis=1) / 9.0
        area = np.where(np.isfinite(area), area, np.nan)
    else:
        area = np.full(M, np.nan)
    nan_b = np.full(M, np.nan)
    counts = np.full(M, nc, dtype=np.int64)
    bcols = {"method": _labels(methods, _method_codes(M, 1)),
             "n_cells": counts, "n_scored": counts.copy(),
             "mean": means, "synergy_score": means.copy(),
             "max": score.max(axis=1), "min": score.min(axis=1),
             "most_synergistic_area": area,
             "ci_low": nan_b, "ci_high": nan_b.copy(), "p_value": nan_b.copy(), "area_ci_low": nan_b.copy(),
             "area_ci_high": nan_b.copy(), "q_value": nan_b.copy(),
             "inference": _labels(("none",), np.zeros(M, dtype=np.int8)),
             "status": _labels(statuses, np.zeros(M, dtype=np.int8)),
             "message": _const("", M),
             "reference_model": _labels([_reference_model(m, "3") for m in methods], _method_codes(M, 1)),
             "sign_convention": _const(SIGN_EXCESS, M),
             "response_kind": _const(response_kind, M)}
    return cells, _frame(bcols), mono_tab, top


def _loewe(E, lv1, lv2, R, C, top):
    """Classic Loewe reference and index of the combination cells from the two single-agent fits.

    The fits get exactly the general path's arrays (:meth:`~.scoring.Layout._build_curves`): per
    agent the dose-0 control and the agent's monotherapy cells in dose order, NaN padded to the
    longer curve.  Returns ``(reference, loewe_ci, params)`` or ``None`` when a fit did not
    converge, is flat or has an undetermined potency/slope (the general path explains those).
    """
    L = max(len(lv1), len(lv2))
    x = np.full((2, L), np.nan)
    y = np.full((2, L), np.nan)
    x[0, :len(lv1)], y[0, :len(lv1)] = lv1, E[:, 0]
    x[1, :len(lv2)], y[1, :len(lv2)] = lv2, E[0, :]
    mask = np.isfinite(x)
    fit = fit_hill(x, y, mask)
    P = fit.estimates
    if not hill_identified(fit, top).all():
        return None
    doses = np.empty((1, R * C, 2))
    doses[0, :, 0] = np.repeat(lv1[1:], C)
    doses[0, :, 1] = np.tile(lv2[1:], R)
    e0, einf, ec50, h = (np.broadcast_to(P[:, k], (1, R * C, 2)) for k in range(4))
    ref = loewe_reference(doses, e0, einf, ec50, h)[0]
    obs = E[1:, 1:].reshape(1, -1)
    lci = loewe_index(doses, obs, e0, einf, ec50, h)[0]
    return ref, lci, P


def _mono_frame(P, doses, labels):
    """The monotherapy table of two converged, identified fits without a bootstrap (the general
    path's :func:`~.api._mono_table` for one block: no intervals)."""
    a = _api()
    est = P.reshape(-1)
    nan = np.full(8, np.nan)
    par = np.tile(np.arange(4), 2)
    agent = np.repeat(np.arange(2), 4)
    units, ucode = a.mono_units(doses, agent, par)
    return a._frame({"agent": labels(doses, agent), "param": labels(("e0", "einf", "ec50", "h"), par),
                     "estimate": est, "converged": np.ones(8, dtype=bool), "ci_low": nan, "ci_high": nan.copy(),
                     "unit": labels(units, ucode), "status": labels(a.MONO_STATUSES, np.zeros(8, dtype=np.int8))})
