"""fit_growth_mixed_batch: many studies with a variance function at once, equal to one-by-one fits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.exceptions import DataError
from comboplan.growth import fit_growth_mixed, fit_growth_mixed_batch

DAYS = np.array([0.0, 7.0, 14.0, 21.0, 28.0])
ARMS = ["control", "A", "B", "A+B"]
ARM = np.repeat(np.arange(4), 7)


def studies(n, seed=0, baseline_noise=True):
    """Log-linear growth, random slopes, residual SD 0.10-0.30 by arm (optionally none at baseline:
    then log(V/V0) is exactly the model's response, slope x t + independent error)."""
    rng = np.random.default_rng(seed)
    slope = np.array([0.10, 0.07, 0.06, 0.03])[ARM] + rng.normal(0, 0.015, (n, 28))
    sd = np.array([0.10, 0.15, 0.20, 0.30])[ARM]
    e = rng.normal(0, 1, (n, 28, 5)) * sd[:, None]
    if not baseline_noise:
        e[..., 0] = 0.0
    return np.exp(np.log(150) + slope[..., None] * DAYS + e)


def frame(sz):
    df = pd.DataFrame({"mouse": np.repeat(np.arange(28), 5), "arm": np.repeat(np.asarray(ARMS)[ARM], 5),
                       "day": np.tile(DAYS, 28), "vol": sz.ravel()})
    return df.dropna()


@pytest.mark.parametrize("variance,method", [("arm", "reml"), ("arm", "ml"), ("power_time", "reml"),
                                             (["arm", "power_time"], "reml")])
def test_batch_equals_one_study_at_a_time(variance, method):
    sizes = studies(6, seed=1)
    sizes[2, 4, 3:] = np.nan       # an animal lost after day 14
    sizes[5, 20, 2:] = np.nan
    out = fit_growth_mixed_batch(sizes, DAYS, ARM, ARMS, variance=variance, method=method)
    assert out["converged"].all()
    for b in range(6):
        f = fit_growth_mixed(frame(sizes[b]), "mouse", "arm", "day", "vol", variance=variance, method=method,
                             influence=False)
        r = f.rates.set_index("arm").loc[ARMS]
        np.testing.assert_allclose(out["rates"][b], r["rate"], rtol=0, atol=1e-7)
        np.testing.assert_allclose(out["rate_se"][b], r["stderr"], rtol=1e-5)
        np.testing.assert_allclose(out["ci_low"][b], r["ci_low"], rtol=0, atol=1e-6)
        assert out["df"][b] == r["df"].iloc[0]
        v = f.variance.set_index("component")["sd"]
        assert out["tau"][b] == pytest.approx(v["tau"], rel=1e-5)
        assert out["sigma"][b] == pytest.approx(v["sigma"], rel=1e-5)
        assert out["loglik"][b] == pytest.approx(f.loglik, abs=1e-6)
        if "arm" in np.atleast_1d(variance):
            sd = f.variance_function.query("function == 'arm'").set_index("stratum").loc[ARMS, "residual_sd"]
            np.testing.assert_allclose(out["sigma"][b] * out["sd_ratio"][b], sd, rtol=1e-5)


def test_recovers_the_simulated_residual_sds_by_arm():
    """Over 400 studies simulated from the model itself (no error at baseline, so that log(V/V0)
    has independent errors) the REML residual variance by arm averages to the simulated one
    (SD 0.10-0.30): ratio 1 within 5 % (Monte-Carlo SE of each mean ratio about 1.5 %; a 10 %
    bias would fail), the arm rates to theirs."""
    out = fit_growth_mixed_batch(studies(400, seed=7, baseline_noise=False), DAYS, ARM, ARMS, variance="arm")
    ratio = (out["sigma"][:, None] * out["sd_ratio"]) ** 2 / np.array([0.10, 0.15, 0.20, 0.30]) ** 2
    np.testing.assert_allclose(ratio.mean(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(out["rates"].mean(axis=0), [0.10, 0.07, 0.06, 0.03], atol=1e-3)


def test_bad_input_is_a_clear_error():
    sizes = studies(2)
    with pytest.raises(DataError, match="variance"):
        fit_growth_mixed_batch(sizes, DAYS, ARM, ARMS, variance="animal")
    with pytest.raises(DataError, match="subject_arm"):
        fit_growth_mixed_batch(sizes, DAYS, ARM[:10], ARMS)
    bad = sizes.copy()
    bad[1, ARM == 2, 1:] = np.nan
    with pytest.raises(DataError, match="study 1: arm 'B'"):
        fit_growth_mixed_batch(bad, DAYS, ARM, ARMS)
    with pytest.raises(DataError, match="ci_level"):
        fit_growth_mixed_batch(sizes, DAYS, ARM, ARMS, ci_level=95)


def test_studies_split_at_chunk_boundaries_give_the_same_bits(monkeypatch):
    """The batch fit runs in chunks of STUDY_CHUNK studies; a study's numbers depend only on its
    chunk, so splitting the studies at multiples of the chunk (as comboplan.distributed does)
    changes no bit, and the chunks bound the memory of large batches."""
    import comboplan.growth.mixed_batch as mb

    monkeypatch.setattr(mb, "STUDY_CHUNK", 8)
    sizes = studies(40, seed=3)
    sizes[2, 4, 3:] = np.nan
    kw = dict(variance=["arm", "power_time"])
    full = mb.fit_growth_mixed_batch(sizes, DAYS, ARM, ARMS, **kw)
    assert full["converged"].all()
    for cuts in ([0, 16, 40], [0, 8, 24, 32, 40]):
        parts = [mb.fit_growth_mixed_batch(sizes[a:b], DAYS, ARM, ARMS, **kw) for a, b in zip(cuts[:-1], cuts[1:])]
        for k in ("rates", "rate_se", "ci_low", "sigma", "tau", "sd_ratio", "power", "loglik", "converged"):
            assert np.array_equal(full[k], np.concatenate([p[k] for p in parts]), equal_nan=True), (cuts, k)
