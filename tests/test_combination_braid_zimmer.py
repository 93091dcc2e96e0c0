"""BRAID (Twarog et al. 2016) and Zimmer effective-dose (Zimmer et al. 2016) surfaces and fits.

Cross-checks against the `synergy` package 1.0.0 (test dependency): its models evaluated at
the same parameters agree to rounding; our fits reach an RSS no larger than its fits from
its own defaults (it fits with scipy curve_fit from single-agent Hill starts).
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.models.combination import braid, braid_reference, zimmer, zimmer_effective_doses

_LV1 = np.r_[0, np.geomspace(0.03, 30, 7)]
_LV2 = np.r_[0, np.geomspace(0.1, 100, 7)]
D1, D2 = (v.ravel() for v in np.meshgrid(_LV1, _LV2))
BRAID_TRUE = dict(E0=1.0, E1=0.15, E2=0.35, h1=1.4, h2=0.9, C1=0.8, C2=5.0, kappa=1.5)
ZIMMER_TRUE = dict(h1=1.4, h2=0.9, C1=0.8, C2=5.0, a12=-0.5, a21=-0.3)


def _matrix(fun, truth, sd=0.03, seed=3, reps=2):
    rng = np.random.default_rng(seed)
    d1, d2 = np.tile(D1, reps), np.tile(D2, reps)
    y = fun(d1, d2, **truth) + rng.normal(0, sd, len(d1))
    return pd.DataFrame({"a": d1, "b": d2, "v": y, "rep": np.repeat(np.arange(reps), len(D1))})


# ------------------------------------------------------------------ pure models
@pytest.mark.parametrize("kw", [
    dict(E0=1, E1=0.2, E2=0.4, E3=0.1, h1=1.3, h2=0.8, C1=0.5, C2=2.0, kappa=1.5),
    dict(E0=1, E1=0.2, E2=0.4, E3=0.2, h1=1.3, h2=0.8, C1=0.5, C2=2.0, kappa=-1.2),
    dict(E0=0, E1=80, E2=60, E3=95, h1=2, h2=0.7, C1=0.5, C2=2.0, kappa=0.3),
])
def test_braid_equals_synergy_package(kw):
    from synergy.combination import BRAID

    np.testing.assert_allclose(braid(D1, D2, **kw), BRAID(**kw).E(D1, D2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(braid(D1, D2, delta=1.7, **kw), BRAID(mode="both", delta=1.7, **kw).E(D1, D2),
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw", [dict(h1=1.3, h2=0.8, C1=0.5, C2=2.0, a12=-0.5, a21=0.7),
                                dict(h1=3, h2=0.5, C1=0.05, C2=20.0, a12=2.5, a21=-0.9)])
def test_zimmer_equals_synergy_package_and_solves_the_fixed_point(kw):
    from synergy.combination import Zimmer

    np.testing.assert_allclose(zimmer(D1, D2, **kw), Zimmer(**kw).E(D1, D2), rtol=0, atol=1e-13)
    u, v = zimmer_effective_doses(D1, D2, kw["C1"], kw["C2"], kw["a12"], kw["a21"])
    # the published definition: x1' = x1 / (1 + a12 x2'/(x2' + C2)), x2' = x2 / (1 + a21 x1'/(x1' + C1))
    np.testing.assert_allclose(u, D1 / (1 + kw["a12"] * v / (v + kw["C2"])), rtol=1e-12)
    np.testing.assert_allclose(v, D2 / (1 + kw["a21"] * u / (u + kw["C1"])), rtol=1e-12)


def test_braid_edges_are_hill_curves_and_kappa_orders_effect():
    kw = dict(E0=100.0, E1=10.0, E2=40.0, h1=1.4, h2=0.9, C1=0.8, C2=5.0)
    d = np.geomspace(0.01, 100, 9)
    np.testing.assert_allclose(braid(d, 0.0, **kw), 100 - 90 * d**1.4 / (0.8**1.4 + d**1.4), rtol=1e-13)
    np.testing.assert_allclose(braid(0.0, d, **kw), 100 - 60 * d**0.9 / (5.0**0.9 + d**0.9), rtol=1e-13)
    assert braid(0.0, 0.0, **kw) == 100.0
    lo, mid, hi = (braid(1.0, 3.0, kappa=k, **kw) for k in (-1.0, 0.0, 2.0))
    assert hi < mid < lo                         # falling response: synergy lowers it
    assert mid == braid_reference(1.0, 3.0, **kw)
    # BRAID-additive with identical agents (h = 1) is Loewe additivity: d1 + d2 at C acts as dose 2C... of one agent
    same = dict(E0=1.0, E1=0.0, E2=0.0, h1=1.0, h2=1.0, C1=2.0, C2=2.0)
    np.testing.assert_allclose(braid(1.0, 0.5, **same), braid(1.5, 0.0, **same), rtol=1e-14)


def test_zimmer_with_zero_interaction_is_bliss():
    kw = dict(h1=1.4, h2=0.9, C1=0.8, C2=5.0)
    f1 = 1 / (1 + (D1 / 0.8) ** 1.4)
    f2 = 1 / (1 + (D2 / 5.0) ** 0.9)
    np.testing.assert_allclose(zimmer(D1, D2, **kw), f1 * f2, rtol=1e-13)
    # a12 < 0 (drug 2 raises drug 1's effective dose) lowers the surviving fraction: synergy
    assert zimmer(1.0, 5.0, a12=-0.5, **kw) < zimmer(1.0, 5.0, **kw) < zimmer(1.0, 5.0, a12=0.5, **kw)


# ------------------------------------------------------------------ fits against the peer
def test_fit_braid_matches_synergy_package_and_recovers_truth():
    from synergy.combination import BRAID

    df = _matrix(braid, BRAID_TRUE)
    res = cp.fit_braid(df, doses=["a", "b"], response="v", replicate="rep", ef="free", n_boot=0)
    m = BRAID()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy())
    peer_rss = float(np.sum((m.E(df.a.to_numpy(), df.b.to_numpy()) - df.v.to_numpy()) ** 2))
    ours = float(res.fit.rss.iloc[0])
    assert ours <= peer_rss * (1 + 1e-9)
    assert ours == pytest.approx(0.1258787831, rel=1e-6)   # both reach this optimum
    assert res.estimates()["kappa"] == pytest.approx(m.kappa, rel=1e-4)
    np.testing.assert_allclose(res.predict(df.a, df.b), m.E(df.a.to_numpy(), df.b.to_numpy()), atol=1e-5)


def test_fit_braid_standard_model_ci_covers_truth_and_score_sign():
    df = _matrix(braid, BRAID_TRUE)
    res = cp.fit_braid(df, doses=["a", "b"], response="v", replicate="rep", n_boot=100, seed=1)
    p = res.params.set_index("param")
    for k in ("kappa", "C1", "C2", "h1", "E1"):
        assert p.loc[k, "ci_low"] <= BRAID_TRUE[k] <= p.loc[k, "ci_high"], k
    assert p.loc["delta", "fixed"] and p.loc["delta", "estimate"] == 1.0
    b = res.blocks.iloc[0]
    assert b.synergy_score > 0 and b.ci_low > 0 and b.p_value < 0.05
    # synergy_score is the mean over combination cells of the oriented excess in `cells`
    c = res.cells[(res.cells.a > 0) & (res.cells.b > 0)]
    assert b.synergy_score == pytest.approx(c.excess.mean(), rel=1e-12)
    assert "kappa > 0 synergy" in res.summary()
    # antagonism: negative score
    df2 = _matrix(braid, {**BRAID_TRUE, "kappa": -1.0})
    r2 = cp.fit_braid(df2, doses=["a", "b"], response="v", replicate="rep", n_boot=0)
    assert r2.estimates()["kappa"] < 0 and r2.blocks.synergy_score.iloc[0] < 0


def test_fit_braid_dose_units_invariance():
    df = _matrix(braid, BRAID_TRUE)
    r1 = cp.fit_braid(df, doses=["a", "b"], response="v", replicate="rep", n_boot=0)
    df2 = df.assign(a=df.a * 1000.0)
    r2 = cp.fit_braid(df2, doses=["a", "b"], response="v", replicate="rep", n_boot=0)
    e1, e2 = r1.estimates(), r2.estimates()
    assert e2["C1"] == pytest.approx(1000 * e1["C1"], rel=1e-5)
    for k in ("kappa", "h1", "h2", "C2", "E0"):
        assert e2[k] == pytest.approx(e1[k], rel=1e-5, abs=1e-7)


def test_fit_zimmer_matches_synergy_package():
    from synergy.combination import Zimmer

    df = _matrix(zimmer, ZIMMER_TRUE)
    res = cp.fit_zimmer(df, doses=["a", "b"], response="v", replicate="rep", n_boot=0)
    m = Zimmer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(df.a.to_numpy(), df.b.to_numpy(), df.v.to_numpy())
    peer_rss = float(np.sum((m.E(df.a.to_numpy(), df.b.to_numpy()) - df.v.to_numpy()) ** 2))
    assert float(res.fit.rss.iloc[0]) <= peer_rss * (1 + 1e-9)
    assert float(res.fit.rss.iloc[0]) == pytest.approx(peer_rss, rel=1e-6)     # the same optimum
    e = res.estimates()
    for k in ("a12", "a21", "C1", "h2"):
        assert e[k] == pytest.approx(getattr(m, k), rel=1e-3, abs=1e-4)


def test_fit_zimmer_synergy_sign_percent_inhibition_and_units():
    truth = {**ZIMMER_TRUE, "a12": -0.7, "a21": -0.7}
    df = _matrix(zimmer, truth, sd=0.02)
    df["inh"] = 100 * (1 - df.v)
    res = cp.fit_zimmer(df, doses=["a", "b"], response="inh", replicate="rep", response_kind="inhibition",
                        scale="percent", n_boot=60, seed=2, dose_units={"a": "uM", "b": "nM"})
    e = res.estimates()
    assert e["a12"] < 0 and e["a21"] < 0
    b = res.blocks.iloc[0]
    assert b.synergy_score > 0 and b.ci_low > 0
    p = res.params.set_index("param")
    assert p.loc["C1", "unit"] == "uM" and p.loc["C2", "unit"] == "nM"
    assert "< 0 synergy" in p.loc["a12", "sign"]
    # predictions in the caller's unit and kind
    d = np.array([0.0, 1.0])
    np.testing.assert_allclose(res.predict(d, d), 100 * (1 - zimmer(d, d, *(e[k] for k in
                                                                             ("h1", "h2", "C1", "C2", "a12", "a21")))))
    ds = res.to_xarray()
    assert ds.synergy_score.attrs["units"].startswith("percent")
    assert list(ds.param_unit.values[:4]) == ["1", "1", "uM", "nM"]


def test_unfittable_block_is_reported_not_raised():
    df = _matrix(braid, BRAID_TRUE).assign(line="ok")
    bad = df[df.a <= 0.1].assign(line="few")     # agent 1 alone at 3 levels (0 included)
    both = pd.concat([df, bad], ignore_index=True)
    with pytest.warns(cp.ComboplanWarning, match="could not be fitted"):
        res = cp.fit_braid(both, doses=["a", "b"], response="v", replicate="rep", by="line", n_boot=0)
    st = res.fit.set_index("line")
    assert st.loc["ok", "status"] == "ok" and st.loc["few", "status"] == "not_scored"
    assert "line='few'" in st.loc["few", "message"] and ">= 4 dose levels" in st.loc["few", "message"]
    with pytest.raises(DataError, match="line='few'"):
        cp.fit_braid(both, doses=["a", "b"], response="v", replicate="rep", by="line", n_boot=0, errors="raise")
    with pytest.raises(cp.InvalidParameterError, match="ef must be"):   # an option, not the data
        cp.fit_braid(df, doses=["a", "b"], response="v", replicate="rep", ef="kappa3")


def test_result_contract_braid():
    import matplotlib

    matplotlib.use("Agg")
    df = _matrix(braid, BRAID_TRUE)
    res = cp.fit_braid(df, doses=["a", "b"], response="v", replicate="rep", n_boot=20, seed=0)
    with pytest.raises(Exception):
        res.params = None                                        # frozen
    ds = res.to_xarray()
    assert ds.estimate.sel(param="kappa").item() == pytest.approx(res.estimates()["kappa"])
    for kind in ("surface", "excess", "observed"):
        ax = res.plot(kind=kind)
        assert ax.get_xlabel() == "a"
    assert res.settings["sign_convention"].startswith("kappa > 0 synergy")


@pytest.mark.parametrize("fit", ["fit_braid", "fit_zimmer"])
@pytest.mark.parametrize("opt,msg", [({"errors": "ignore"}, "errors must be one of"),
                                     ({"n_boot": -1}, "n_boot must be an integer >= 0"),
                                     ({"ci_level": 95}, "ci_level must be"),
                                     ({"bootstrap": "cases"}, "bootstrap must be one of")])
def test_bad_options_are_invalid_parameter_errors_naming_the_function(fit, opt, msg):
    """Options are refused before any fitting, as InvalidParameterError (not DataError) naming the call."""
    df = _matrix(braid, BRAID_TRUE)
    with pytest.raises(cp.InvalidParameterError, match=msg) as exc:
        getattr(cp, fit)(df, doses=["a", "b"], response="v", replicate="rep", **opt)
    assert not isinstance(exc.value, DataError) and str(exc.value).startswith(fit)
