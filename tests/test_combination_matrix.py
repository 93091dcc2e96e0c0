"""Small-batch MINPACK fits (= the batch engine) and the array-level ``score_matrix``
(= ``synergy()``), checked against the engine and the tidy call on random data."""
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.combination import fits
from comboplan.combination.matrix import MatrixScores, score_matrix
from comboplan.exceptions import DataError
from comboplan.models.dose_response import hill


def _random_hill_batch(rng, n=8, noise=2.0):
    """Well-posed random Hill curves (EC50 inside the tested range), two controls each."""
    x = np.tile(np.r_[0, 0, np.geomspace(0.01, 100, 8)], (n, 1)) * rng.uniform(0.5, 2, (n, 1))
    tr = np.column_stack([rng.uniform(-5, 5, n), rng.uniform(60, 100, n), rng.uniform(0.3, 3, n),
                          rng.uniform(0.7, 2.5, n)])
    y = hill(x, *[tr[:, k:k + 1] for k in range(4)]) + rng.normal(0, noise, x.shape)
    return x, y


def _engine_hill(x, y, mask, p0, fixed=None):
    return fits._engine()(fits.HILL4, x, y, mask=mask, p0=p0, fixed=fixed, maxiter=200, xtol=fits.FIT_TOL,
                          gtol=fits.FIT_GTOL)


@pytest.mark.parametrize("fixed", [None, {"einf": 100.0}])
def test_minpack_hill_fits_equal_engine_fits(fixed):
    """Same estimates (to 1e-4 standard errors), covariance, convergence flags and messages."""
    rng = np.random.default_rng(11)
    for _ in range(12):
        x, y = _random_hill_batch(rng)
        mask = np.ones_like(x, bool)
        mask[0, 8:] = False                                   # a ragged curve
        p0 = fits.hill_start(x, y, mask)
        a = fits._fit_hill_minpack(x, y, mask, p0, fixed, 200, fits.FIT_TOL, fits.FIT_GTOL)
        b = _engine_hill(x, y, mask, p0, fixed)
        assert np.array_equal(a.converged, b.converged)
        assert list(a.message) == list(b.message)
        assert np.array_equal(a.free, b.free) and a.npar == b.npar and np.array_equal(a.nobs, b.nobs)
        free = b.free
        se = b.stderr[:, free]
        ok = np.isfinite(se).all(axis=1)                      # identified curves (a few steep ones are not)
        assert ok.sum() >= 5
        assert np.all(np.abs(a.estimates - b.estimates)[ok][:, free] <= 1e-4 * se[ok])
        assert np.all(a.estimates[:, ~free] == b.estimates[:, ~free])
        scale = np.sqrt(np.abs(np.diagonal(b.cov, 0, 1, 2)[:, :, None] * np.diagonal(b.cov, 0, 1, 2)[:, None, :]))
        assert np.all(np.abs(a.cov - b.cov)[ok] <= 1e-4 * scale[ok] + 1e-300)
        assert np.allclose(a.rss[ok], b.rss[ok], rtol=1e-9)
        assert np.all(a.rss[~ok] <= b.rss[~ok] * (1 + 1e-6))  # flat ridge: both at (or near) the minimum


def test_minpack_hill_failure_messages_equal_engine():
    """Too few observations and an unusable start: NaN rows with the engine's messages."""
    x = np.tile(np.r_[0, 0.1, 1, 10, 100.0], (2, 1))
    y = hill(x, 0, 100, 2.0, 1.0)
    mask = np.ones_like(x, bool)
    mask[0, 4:] = False                                       # 4 observations, 4 parameters
    p0 = fits.hill_start(x, y, mask)
    p0[1, 2] = -1.0                                           # EC50 < 0: log not finite
    a = fits._fit_hill_minpack(x, y, mask, p0, None, 200, fits.FIT_TOL, fits.FIT_GTOL)
    b = _engine_hill(x, y, mask, p0)
    assert list(a.message) == list(b.message)
    assert not a.converged.any() and np.isnan(a.estimates).all() and np.isnan(a.cov).all()


def test_fit_hill_switches_paths_by_batch_size():
    rng = np.random.default_rng(5)
    x, y = _random_hill_batch(rng, n=fits.SMALL_BATCH + 4)
    big = fits.fit_hill(x, y)                                  # engine
    small = fits.fit_hill(x[:fits.SMALL_BATCH], y[:fits.SMALL_BATCH])   # MINPACK
    assert np.allclose(small.estimates, big.estimates[:fits.SMALL_BATCH], rtol=1e-5, atol=1e-4)
    assert list(small.message) == list(big.message[:fits.SMALL_BATCH])


def test_minpack_zip_slices_agree_with_engine():
    """Identified slices: same (c, b); every slice: RSS no worse than the engine's."""
    rng = np.random.default_rng(2)
    n, m = 14, 7
    x = np.tile(np.geomspace(0.05, 20, m), (n, 1))
    bottom = rng.uniform(0, 40, n)
    ec = np.exp(rng.uniform(-1.5, 1.5, n))
    b = rng.uniform(0.7, 2.0, n)
    y = bottom[:, None] + (100 - bottom[:, None]) / (1 + (ec[:, None] / x) ** b[:, None]) + rng.normal(0, 2, x.shape)
    mask = np.ones_like(x, bool)
    lx = np.log(x)
    u = lx - lx.mean(axis=1, keepdims=True)
    start = np.column_stack([bottom, np.full(n, 100.0), np.zeros(n), np.ones(n)])
    a, ca = fits._fit_zip_minpack(u, y, mask, start, 100.0)
    e = fits._engine()(fits.ZIP_SLICE_CENTRED, u, y, mask=mask, p0=start,
                       fixed={"bottom": bottom, "top": np.full(n, 100.0)}, maxiter=200, xtol=fits.FIT_TOL,
                       gtol=fits.FIT_GTOL)
    assert ca.all() and e.converged.all()
    assert np.all(np.abs(a[:, 2:] - e.estimates[:, 2:]) <= 1e-4 * e.stderr[:, 2:])

    def rss(p):
        f = p[:, :1] + (p[:, 1:2] - p[:, :1]) / (1 + np.exp(-(p[:, 3:] * u + p[:, 2:3])))
        return np.sum((y - f) ** 2, axis=1)

    assert np.all(rss(a) <= rss(e.estimates) * (1 + 1e-9))


def _matrix_frame(seed, reps):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(5, 8, 2)
    d1 = np.r_[0, np.geomspace(0.05, 20, n1 - 1)]
    d2 = np.r_[0, np.geomspace(0.1, 50, n2 - 1)]
    X1, X2 = (np.repeat(v.ravel(), reps) for v in np.meshgrid(d1, d2, indexing="ij"))
    inh = 100 * (1 - (1 - hill(X1, 0, 1, rng.uniform(0.5, 3), 1.2)) * (1 - hill(X2, 0, 0.8, 2, 1.0)))
    inh = inh + 6 * (X1 > 0) * (X2 > 0) + rng.normal(0, 3, X1.shape)
    perm = rng.permutation(len(X1))                            # rows in arbitrary order
    df = pd.DataFrame({"A": X1[perm], "B": X2[perm], "inh": inh[perm]})
    df["rep"] = df.groupby(["A", "B"]).cumcount()
    return df


@pytest.mark.parametrize("method", ["loewe", "zip:3", "zip:2"])
@pytest.mark.parametrize("kind", ["inhibition", "viability"])
def test_score_matrix_equals_synergy_cells(method, kind):
    method, _, zv = method.partition(":")
    zv = zv or "3"
    for seed, reps in ((0, 1), (1, 2), (2, 3)):
        df = _matrix_frame(seed, reps)
        df["r"] = df["inh"] if kind == "inhibition" else 100 - df["inh"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tidy = cp.synergy(df, ["A", "B"], "r", methods=(method,), n_boot=0, replicate="rep",
                              response_kind=kind, zip_version=zv).cells
            arr = score_matrix(df.A.to_numpy(), df.B.to_numpy(), df.r.to_numpy(), method=method,
                               response_kind=kind, zip_version=zv)
        assert isinstance(arr, MatrixScores)
        assert np.array_equal(tidy.A.to_numpy(), arr.dose1) and np.array_equal(tidy.B.to_numpy(), arr.dose2)
        assert np.array_equal(tidy.n.to_numpy(), arr.n)
        for col in ("observed", "reference", "score"):
            assert np.allclose(tidy[col].to_numpy(), getattr(arr, col), rtol=0, atol=1e-10), col
        if method == "loewe":
            assert np.allclose(tidy.loewe_ci.to_numpy(), arr.loewe_ci, rtol=1e-10, atol=0, equal_nan=True)
        # fraction scale: the same scores divided by 100
        frac = score_matrix(df.A.to_numpy(), df.B.to_numpy(), df.r.to_numpy() / 100, method=method,
                            response_kind=kind, scale="fraction", zip_version=zv)
        assert np.allclose(frac.score * 100, arr.score, atol=1e-6)


def test_score_matrix_outputs_carry_sign_convention():
    df = _matrix_frame(4, 2)
    res = score_matrix(df.A, df.B, df.inh, method="loewe")
    assert "positive = synergy" in res.sign_convention and "positive = synergy" in res.summary()
    ds = res.to_xarray()
    assert ds.attrs["sign_convention"] == res.sign_convention and ds.attrs["units"].startswith("percentage points")
    assert ds["score"].shape == (len(np.unique(res.dose1)), len(np.unique(res.dose2)))
    i = np.argmax(res.score)
    assert ds["score"].sel(dose1=res.dose1[i], dose2=res.dose2[i]).item() == res.score[i]
    fr = res.to_frame()
    assert len(fr) == len(res.score) and (fr["sign_convention"] == res.sign_convention).all()
    assert res.monotherapy.shape == (2, 4) and res.converged.all()


def test_score_matrix_validation_errors():
    df = _matrix_frame(5, 1)
    a, b, y = df.A.to_numpy(), df.B.to_numpy(), df.inh.to_numpy()
    neg = a.copy()
    neg[7] = -1.0
    with pytest.raises(DataError, match=r"d1 .* must be >= 0.*first at position 7.*log10"):
        score_matrix(neg, b, y)
    nan = y.copy()
    nan[3] = np.nan
    with pytest.raises(DataError, match=r"response has 1 missing.*position 3"):
        score_matrix(a, b, nan)
    with pytest.raises(DataError, match="same shape"):
        score_matrix(a[:-1], b, y)
    with pytest.raises(DataError, match="d2 must be numeric"):
        score_matrix(a, b.astype(str).astype(object) + "uM", y)
    with pytest.raises(DataError, match="d1 is boolean"):
        score_matrix(a > 0, b, y)
    with pytest.raises(DataError, match="method must be one of"):
        score_matrix(a, b, y, method="bliss")
    with pytest.raises(DataError, match="look like fractions"):
        score_matrix(a, b, y / 100)
    with pytest.raises(DataError, match="must lie within"):
        score_matrix(a, b, y, scale="fraction")
    few = (b > 0) | (a <= np.unique(a)[2])                    # agent 1 alone at 3 levels only (0 included)
    with pytest.raises(DataError, match=r"agent 1 \(d1\) needs >= 4 dose levels"):
        score_matrix(a[few], b[few], y[few])
    hole = ~((a == np.unique(a)[2]) & (b == np.unique(b)[3]))
    with pytest.raises(DataError, match="ZIP needs a complete dose matrix.*1 cell"):
        score_matrix(a[hole], b[hole], y[hole], method="zip")
    assert np.isfinite(score_matrix(a[hole], b[hole], y[hole], method="loewe").score).all()   # Loewe: any design
    with pytest.raises(DataError, match="no combination cells"):
        mono = (a == 0) | (b == 0)
        score_matrix(a[mono], b[mono], y[mono])
