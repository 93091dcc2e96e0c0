"""Plate-effect correction: Tukey median polish and B-score (Brideau et al. 2003)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.data.normalize import _median_polish, plate_correction
from comboplan.exceptions import DataError


def _plate(rng, effects=True, n_rows=8, n_cols=12, plate="P1"):
    rows = np.array(list("ABCDEFGH"[:n_rows]))
    r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    a = np.linspace(-6, 6, n_rows) if effects else np.zeros(n_rows)       # row gradient
    b = np.where(np.isin(np.arange(n_cols), [0, n_cols - 1]), 8.0, 0.0) if effects else np.zeros(n_cols)  # edges
    x = 100.0 + a[r] + b[c] + rng.normal(0, 2.0, r.shape)
    return pd.DataFrame({"plate": plate, "row": rows[r.ravel()], "col": c.ravel() + 1, "signal": x.ravel()}), a, b


def test_median_polish_by_hand():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 9.0], [7.0, 8.0, 9.0]])
    m, a, b = _median_polish(x)
    e = x - m - a[:, None] - b[None, :]
    # Tukey's conditions at convergence: residual medians 0 along rows and columns, effects centred
    assert np.allclose(np.median(e, axis=1), 0, atol=1e-9) and np.allclose(np.median(e, axis=0), 0, atol=1e-9)
    assert abs(np.median(a)) < 1e-9 and abs(np.median(b)) < 1e-9
    assert m == pytest.approx(5.0) and np.allclose(a, [-3, 0, 3]) and np.allclose(b, [-1, 0, 1])
    assert np.allclose(e, [[0, 0, 0], [0, 0, 3], [0, 0, 0]])     # the outlier stays in the residual


def test_row_and_edge_effects_removed_and_bscore_scaled():
    rng = np.random.default_rng(1)
    df, a, b = _plate(rng)
    before = df.copy()
    out = plate_correction(df, "signal", row="row", column="col", plate="plate")
    pd.testing.assert_frame_equal(df, before)                          # input not modified
    # the structured effects are recovered (up to centring) and removed
    eff = out.drop_duplicates("row").set_index("row")["row_effect"].to_numpy()
    assert np.allclose(eff - eff.mean(), a - a.mean(), atol=1.5)
    corr = out["signal_plate_corrected"].to_numpy()
    by_row = out.assign(c=corr).groupby("row")["c"].mean()
    assert by_row.max() - by_row.min() < 3.0 < df.groupby("row")["signal"].mean().pipe(lambda s: s.max() - s.min())
    bs = plate_correction(df, "signal", row="row", column="col", method="bscore")["signal_bscore"].to_numpy()
    mad = 1.4826 * np.median(np.abs(bs - np.median(bs)))
    assert mad == pytest.approx(1.0, abs=1e-9)
    assert "plate_correction" in out.attrs["normalization"][-1]


def test_effects_from_control_wells_keep_a_dose_gradient():
    """Dose along the columns: fitting on all wells would remove the dose effect; fitting on the
    control wells (spread over rows and columns) removes only the plate's row effect."""
    rng = np.random.default_rng(2)
    df, a, _ = _plate(rng, effects=True)
    df["signal"] -= df["col"] * 5.0 * (df["col"].between(2, 11))          # dose effect on columns 2-11
    df["control"] = df["col"].isin([1, 12]) | ((df["row"] == "D") & df["col"].isin([4, 8]))
    naive = plate_correction(df, "signal", row="row", column="col")
    ctrl = plate_correction(df, "signal", row="row", column="col", fit_on="control")
    dose_effect = lambda d, c: d[d["col"] == 11][c].mean() - d[d["col"] == 2][c].mean()  # noqa: E731
    assert dose_effect(ctrl, "signal_plate_corrected") == pytest.approx(-45.0, abs=3.0)
    assert abs(dose_effect(naive, "signal_plate_corrected")) < 5.0      # the naive fit removes the dose effect


def test_bad_input_is_a_clear_error():
    rng = np.random.default_rng(3)
    df, _, _ = _plate(rng, n_rows=2, n_cols=3)
    with pytest.raises(DataError, match="each well must appear once"):
        plate_correction(pd.concat([df, df]), "signal", row="row", column="col")
    bad = df.copy()
    bad.loc[2, "signal"] = np.nan
    with pytest.raises(DataError, match="column 'signal': row 2"):
        plate_correction(bad, "signal", row="row", column="col")
    with pytest.raises(DataError, match="method"):
        plate_correction(df, "signal", row="row", column="col", method="loess")
    const = df.assign(signal=1.0)
    with pytest.raises(DataError, match="MAD 0"):
        plate_correction(const, "signal", row="row", column="col", method="bscore")
