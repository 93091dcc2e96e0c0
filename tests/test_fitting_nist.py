"""NIST StRD certified nonlinear regression problems (Rat42, Rat43) through the engine.

Provenance of every number: tests/reference/nist/README.md.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp

REF = Path(__file__).parent / "reference" / "nist"

RAT42_B = np.array([7.2462237576e01, 2.6180768402e00, 6.7359200066e-02])
RAT42_SE = np.array([1.7340283401e00, 8.8295217536e-02, 3.4465663377e-03])
RAT42_RSS = 8.0565229338e00
RAT43_B = np.array([6.9964151270e02, 5.2771253025e00, 7.5962938329e-01, 1.2792483859e00])
RAT43_SE = np.array([1.6302297817e01, 2.0828735829e00, 1.9566123451e-01, 6.8761936385e-01])
RAT43_RSS = 8.7864049080e03


def _data(name):
    df = pd.read_csv(REF / f"{name}.csv")
    df["dose"] = np.exp(df["x"])
    return df


def _delta(g, cov):
    return np.sqrt(g @ cov @ g)


def assert_sig(a, b, digits=6):
    np.testing.assert_allclose(a, b, rtol=0.5 * 10 ** (1 - digits), atol=0)


@pytest.mark.parametrize("engine", ["batch", "lmfit"])
def test_rat42_hill4_certified(engine):
    res = cp.fit_dose_response(_data("rat42"), dose="dose", response="y", model="hill4", fixed={"e0": 0.0},
                               engine=engine)
    assert res.converged.all()
    e0, einf, ec50, h = res.estimates[0]
    cov = res.cov[0]
    b = np.array([einf, h * np.log(ec50), h])
    assert_sig(b, RAT42_B)
    assert_sig(res.fit.rss[0], RAT42_RSS)
    # delta method (exact under reparametrisation) for b2 = h * log(ec50)
    se = np.array([
        np.sqrt(cov[1, 1]),
        _delta(np.array([0, 0, h / ec50, np.log(ec50)]), cov),
        np.sqrt(cov[3, 3]),
    ])
    assert_sig(se, RAT42_SE)
    assert_sig(res.fit.sigma[0], 1.1587725499)


def test_rat42_drc_ll4_parametrisation():
    res = cp.fit_dose_response(_data("rat42"), dose="dose", response="y", model="LL.4", fixed={"c": 0.0})
    b, c, d, e = res.estimates[0]
    assert_sig(np.array([d, -b * np.log(e), -b]), RAT42_B)


def test_rat43_nist_start1_degenerate_point_is_flagged():
    """From NIST start 1, LM on the (log e, log f) scale reaches a degenerate step-function
    stationary point (RSS 21819.6 > certified 8786.4); the engine must not pass it off as a
    clean fit: the result says the information matrix is singular."""
    p0 = {"d": 100.0, "b": -1.0, "e": np.exp(10.0), "f": 1.0}
    res = cp.fit_dose_response(_data("rat43"), dose="dose", response="y", model="LL.5", fixed={"c": 0.0}, p0=p0)
    if abs(res.fit.rss[0] - RAT43_RSS) > 1e-6 * RAT43_RSS:
        assert "singular" in res.curves.message[0]
        assert not np.isfinite(res.params.stderr[~res.params.fixed]).any()


@pytest.mark.parametrize("start", ["selfstart", "nist2"])
def test_rat43_ll5_certified(start):
    p0 = None
    if start == "nist2":  # NIST start 2: b = (700, 5, 0.75, 1.3)
        p0 = {"d": 700.0, "b": -0.75, "e": np.exp(5 / 0.75), "f": 1 / 1.3}
    res = cp.fit_dose_response(_data("rat43"), dose="dose", response="y", model="LL.5", fixed={"c": 0.0}, p0=p0)
    assert res.converged.all(), res.curves.message.tolist()
    b, c, d, e, f = res.estimates[0]
    cov = res.cov[0]
    est = np.array([d, -b * np.log(e), -b, 1 / f])
    assert_sig(est, RAT43_B)
    assert_sig(res.fit.rss[0], RAT43_RSS)
    se = np.array([
        np.sqrt(cov[2, 2]),
        _delta(np.array([-np.log(e), 0, 0, -b / e, 0]), cov),
        np.sqrt(cov[0, 0]),
        np.sqrt(cov[4, 4]) / f**2,
    ])
    assert_sig(se, RAT43_SE)
