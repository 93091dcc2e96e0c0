"""SynergyFinder-3 ZIP slice fits: fast path equals the fits frozen before it (issue 12 benchmark).

``tests/reference/zip3/zip3_slices.npz`` was written by ``tests/reference/zip3/make_reference.py``
from the code before the degenerate-slice fall-back replaced the batch engine (commit 81e9ea8):
the inputs and outputs of ``fit_zip3_slices`` and the ZIP cell scores of ``synergy()`` on the
benchmark matrix (exact and noisy) and 60 random noisy matrices.  Slices whose first MINPACK fit
succeeded must give the same parameters; the degenerate slices (first fit failed: optimum on a
slope bound or at infinity) must converge where they did and reach the same or a smaller RSS.
"""
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.combination.fits import fit_zip3_slices

REF = os.path.join(os.path.dirname(__file__), "reference", "zip3")
sys.path.insert(0, REF)
from make_reference import slice_rss  # noqa: E402

Z = np.load(os.path.join(REF, "zip3_slices.npz"))
NAMES = sorted({k.split("/")[0] for k in Z.files})


def _get(name, *keys):
    return [Z[f"{name}/{k}"] for k in keys]


@pytest.mark.parametrize("name", NAMES)
def test_slices_match_frozen(name):
    x, y, mask, bottom, est0, conv0, ok, rss0 = _get(name, "x", "y", "mask", "bottom", "est", "converged",
                                                     "first_ok", "rss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, conv = fit_zip3_slices(x, y, mask, bottom)
    # regular slices: same parameters (ec50 and slope on the log scale)
    np.testing.assert_array_equal(conv[ok], conv0[ok])
    r = ok & conv0
    np.testing.assert_allclose(est[r, :2], est0[r, :2], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.log(est[r, 2:]), np.log(est0[r, 2:]), rtol=0, atol=1e-6)
    # degenerate slices: converged wherever they converged before, RSS not worse
    rss = slice_rss(x, y, mask & np.isfinite(x) & np.isfinite(y), est)
    for i in np.flatnonzero(~ok & conv0):
        assert conv[i]
        scale = float(np.sum(np.where(mask[i], y[i], 0.0) ** 2))
        assert rss[i] <= rss0[i] * (1 + 1e-7) + 1e-12 * scale, (name, i, rss[i], rss0[i])


@pytest.mark.parametrize("name", NAMES)
def test_zip_scores_match_frozen(name):
    (data, score0, x, ok) = _get(name, "data", "score", "x", "first_ok")
    df = pd.DataFrame(data, columns=["A", "B", "inh"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = cp.synergy(df, ["A", "B"], "inh", methods=("zip",), n_boot=0).cells["score"].to_numpy(float)
    if ok.all() or name.startswith("bench"):
        # every slice regular (and the benchmark matrices, whose degenerate slice ends at
        # the same limit): the same scores
        np.testing.assert_allclose(score, score0, rtol=0, atol=1e-6)
    else:
        assert np.array_equal(np.isnan(score), np.isnan(score0))


def test_degenerate_better_somewhere():
    """Documents the change: some degenerate slices now reach a smaller RSS than the engine did."""
    better = 0
    for name in NAMES:
        x, y, mask, bottom, conv0, ok, rss0 = _get(name, "x", "y", "mask", "bottom", "converged", "first_ok", "rss")
        if ok.all():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est, conv = fit_zip3_slices(x, y, mask, bottom)
        rss = slice_rss(x, y, mask & np.isfinite(x) & np.isfinite(y), est)
        better += int(np.sum((~ok & conv0) & (rss < rss0 * (1 - 1e-7))))
    assert better > 0


def test_bench_matrix_fast():
    """The benchmark matrix (one degenerate slice) fits in a few ms, not ~80 ms (loose bound: shared CI)."""
    args = _get("bench", "x", "y", "mask", "bottom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_zip3_slices(*args)
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            fit_zip3_slices(*args)
            ts.append(time.perf_counter() - t)
    assert min(ts) < 0.04
