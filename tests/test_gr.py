"""GR metrics (Hafner et al. 2016): GR values by hand, curve fit, GR50/GRmax/GR_AOC, static vs toxic."""
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import curve_fit

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.fitting.gr import gr50_from_params, gr_curve

DOSES = np.geomspace(0.001, 10, 9)
TRUTH = {"A": (-0.4, 0.1, 1.5), "B": (0.3, 0.5, 1.0), "C": (0.95, 1.0, 1.0)}


def _counts(sd=0.03, seed=0, x0=1000.0, xc=4000.0):
    rng = np.random.default_rng(seed)
    rows = []
    for line, (ginf, ec, h) in TRUTH.items():
        for d in DOSES:
            for _ in range(3):
                g = gr_curve(d, ginf, ec, h) + rng.normal(0, sd)
                # invert GR = 2^(log2(x/x0)/log2(xc/x0)) - 1 for the count
                rows.append({"line": line, "dose": d, "count": x0 * 2 ** (np.log2(xc / x0) * np.log2(1 + g)),
                             "x0": x0, "xc": xc})
    return pd.DataFrame(rows)


def test_gr_values_by_hand():
    # x0 = 1000 cells at treatment, controls reach 4000 (2 doublings)
    df = pd.DataFrame({"dose": [0.0, 1.0, 1.0, 1.0, 1.0], "count": [4000.0, 2000.0, 1000.0, 500.0, 4000.0],
                       "x0": 1000.0, "xc": 4000.0})
    out = cp.gr_values(df, "count", x0="x0", x_ctrl="xc")
    # 2000: log2(2)/log2(4) = 0.5 -> 2^0.5 - 1; 1000: cytostatic 0; 500: -1/2 -> 2^-0.5 - 1; 4000: 1
    np.testing.assert_allclose(out["GR"], [1.0, np.sqrt(2) - 1, 0.0, 1 / np.sqrt(2) - 1, 1.0], rtol=1e-15)


def test_gr50_formula():
    # GR(GR50) = 0.5 exactly, and GRinf >= 0.5 never reaches it
    for ginf, ec, h in [(-0.4, 0.1, 1.5), (0.3, 0.5, 1.0), (0.0, 2.0, 3.0)]:
        g50 = gr50_from_params(ginf, ec, h)
        assert gr_curve(g50, ginf, ec, h) == pytest.approx(0.5, abs=1e-14)
    assert gr50_from_params(0.0, 2.0, 1.0) == pytest.approx(2.0)       # GRinf = 0: GR50 = GEC50
    assert np.isinf(gr50_from_params(0.6, 1.0, 1.0))


def test_fit_gr_recovers_curves_and_metrics():
    res = cp.fit_gr(_counts(), dose="dose", count="count", x0="x0", x_ctrl="xc", by="line", dose_unit="uM")
    m = res.metrics.set_index("line")
    p = res.params.set_index(["line", "param"])
    for line in ("A", "B"):
        ginf, ec, h = TRUTH[line]
        assert p.loc[(line, "GRinf"), "ci_low"] <= ginf <= p.loc[(line, "GRinf"), "ci_high"]
        assert p.loc[(line, "GEC50"), "estimate"] == pytest.approx(ec, rel=0.35)
        # the same optimum as scipy's curve_fit (MINPACK) started at the truth
        v = res.values[res.values.line == line]
        ref, _ = curve_fit(gr_curve, v.dose, v.GR, p0=TRUTH[line])
        np.testing.assert_allclose([m.loc[line, "GRinf"], m.loc[line, "GEC50"], m.loc[line, "h_GR"]], ref, rtol=1e-5)
        assert m.loc[line, "GR50"] == pytest.approx(gr50_from_params(ginf, ec, h), rel=0.35)
        assert m.loc[line, "fit_type"] == "sigmoid"
    # GR50 consistent with the reported parameters
    assert m.loc["A", "GR50"] == pytest.approx(gr50_from_params(m.loc["A", "GRinf"], m.loc["A", "GEC50"],
                                                                m.loc["A", "h_GR"]), rel=1e-12)
    assert m.loc["A", "effect"] == "cytotoxic" and m.loc["B", "effect"] == "partial growth inhibition"
    assert m.loc["C", "GR50_flag"] == "not reached" and np.isinf(m.loc["C", "GR50"])
    # GRmax and GR_AOC from the mean GR per dose (GRmetrics definitions), checked by hand
    v = res.values[res.values.line == "A"].groupby("dose")["GR"].mean()
    assert m.loc["A", "GRmax"] == pytest.approx(min(v.iloc[-1], v.iloc[-2]), rel=1e-14)
    lc = np.log10(v.index.to_numpy())
    aoc = np.sum(np.diff(lc) * 0.5 * ((1 - v.to_numpy())[1:] + (1 - v.to_numpy())[:-1]))
    assert m.loc["A", "GR_AOC"] == pytest.approx(aoc, rel=1e-12)


def test_exact_curve_and_static_drug():
    # noise-free cytostatic drug: GRinf = 0, GR50 = GEC50
    df = pd.DataFrame({"dose": np.repeat(DOSES, 2), "GR": np.repeat(gr_curve(DOSES, 0.0, 0.2, 1.2), 2)})
    res = cp.fit_gr(df, dose="dose", gr="GR")
    m = res.metrics.iloc[0]
    assert m.GRinf == pytest.approx(0.0, abs=1e-6) and m.GEC50 == pytest.approx(0.2, rel=1e-6)
    assert m.h_GR == pytest.approx(1.2, rel=1e-6) and m.GR50 == pytest.approx(0.2, rel=1e-6)
    assert m.effect == "cytostatic"
    np.testing.assert_allclose(res.predict(DOSES), gr_curve(DOSES, 0.0, 0.2, 1.2), atol=1e-7)


def test_flat_curve_reported_as_flat():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"dose": np.repeat(DOSES, 3), "GR": 0.9 + rng.normal(0, 0.03, 27)})
    m = cp.fit_gr(df, dose="dose", gr="GR").metrics.iloc[0]
    assert m.fit_type == "flat" and m.f_pvalue > 0.05 and np.isinf(m.GR50) and m.GEC50 == 0.0
    assert m.GRinf == pytest.approx(df.GR.mean())


def test_fit_gr_errors_and_contract():
    import matplotlib

    matplotlib.use("Agg")
    df = pd.DataFrame({"dose": DOSES, "GR": gr_curve(DOSES, 0.2, 0.3, 1.0)})
    with pytest.raises(DataError, match="exactly one of gr="):
        cp.fit_gr(df, dose="dose")
    with pytest.raises(DataError, match="log10"):
        cp.fit_gr(df.assign(dose=np.log10(DOSES)), dose="dose", gr="GR")
    with pytest.raises(DataError, match="count="):
        cp.fit_gr(df.assign(GR=df.GR * 1000), dose="dose", gr="GR")
    with pytest.raises(DataError, match=">= 3"):
        cp.fit_gr(df.iloc[:2], dose="dose", gr="GR")
    res = cp.fit_gr(_counts(), dose="dose", count="count", x0="x0", x_ctrl="xc", by="line", dose_unit="uM")
    ds = res.to_xarray()
    assert ds.GR50.attrs["units"] == "uM" and ds.GR_AOC.attrs["units"] == "log10(uM)"
    assert "cytostatic" in res.summary()
    assert res.plot().get_ylabel() == "GR value"
