"""Cluster-robust CR2 standard errors, influence (Cook's distance), diagnostics plots, baseline
efficiency and coverage of heteroscedastic fits for fit_growth_mixed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.growth.api import fit_growth_mixed, padded_design
from comboplan.growth.mixed import cr2_vcov

RATES = {"control": 0.10, "A": 0.07, "B": 0.06, "AB": 0.03}
DAYS = np.array([0.0, 3.0, 7.0, 10.0, 14.0, 17.0, 21.0])


def simulate(seed, n=8, tau=0.015, sigma=(0.15, 0.15, 0.15, 0.15), base_sd=0.25, days=DAYS, outlier=None):
    """Log volume = true baseline + rate * t + measurement error (the baseline is measured too)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, (arm, r) in enumerate(RATES.items()):
        for i in range(n):
            b = r + rng.normal(0, tau)
            if outlier == (arm, i):
                b = 0.16
            l0 = np.log(150.0) + rng.normal(0, base_sd)
            for d in days:
                rows.append((f"{arm}-{i}", arm, d, np.exp(l0 + b * d + rng.normal(0, sigma[k]))))
    return pd.DataFrame(rows, columns=["mouse", "arm", "day", "vol"])


def fit(df, **kw):
    return fit_growth_mixed(df, "mouse", "arm", "day", "vol", **kw)


def _design(f):
    d = padded_design(f.data)
    m = d["mask"] & (d["t"] > 0)
    t = np.where(m, d["t"], 0.0)
    X = (d["arm"][:, None, None] == np.arange(len(f.arms))) * t[..., None]
    return d, m, t, X


def test_cr2_is_unbiased_under_the_working_model():
    """E[V_CR2] = (X' W X)^-1 exactly when the working covariance is true (the defining property
    of CR2): E[e e'] = Phi - X M X' is decomposed into rank-one terms and CR2 is linear in e e'."""
    f = fit(simulate(1, sigma=(0.1, 0.15, 0.2, 0.3)), variance="arm", influence=False)
    d, m, t, X = _design(f)
    v = f.variance.set_index("component")["variance"]
    ratio = f.variance_function.set_index("stratum")["estimate"].reindex(f.arms).to_numpy()
    w2 = np.where(m, ratio[d["arm"]][:, None] ** 2, 1.0)
    Phi = v["sigma"] * (np.eye(t.shape[1]) * w2[:, :, None]) + v["tau"] * np.einsum("st,su->stu", t, t)
    Phi = np.where(m[:, :, None] & m[:, None, :], Phi, np.eye(t.shape[1]))
    si, ji = np.nonzero(m)
    N = si.size
    Xf = X[si, ji]
    Pf = np.zeros((N, N))
    for s in np.unique(si):
        ii = np.flatnonzero(si == s)
        Pf[np.ix_(ii, ii)] = Phi[s][np.ix_(ji[ii], ji[ii])]
    M = np.linalg.inv(Xf.T @ np.linalg.solve(Pf, Xf))
    np.testing.assert_allclose(M, f.cov, rtol=1e-6)
    lam, U = np.linalg.eigh(Pf - Xf @ M @ Xf.T)
    expect = np.zeros_like(M)
    for k in np.flatnonzero(lam > 1e-12 * lam.max()):
        e = np.zeros(m.shape)
        e[si, ji] = np.sqrt(lam[k]) * U[:, k]
        expect += cr2_vcov(X, Phi, e, m)[0]
    np.testing.assert_allclose(expect, M, rtol=1e-8)


def test_cr2_ols_equals_textbook_bell_mccaffrey():
    """Identity working covariance: A_i = (I - H_ii)^(-1/2) (Bell & McCaffrey 2002, eq. 3)."""
    rng = np.random.default_rng(4)
    S, T, p = 9, 4, 2
    X = np.concatenate([np.ones((S, T, 1)), rng.normal(size=(S, T, 1))], axis=-1)
    e = rng.normal(size=(S, T))
    m = np.ones((S, T), bool)
    m[2, 3] = False
    got, _ = cr2_vcov(X, np.broadcast_to(np.eye(T), (S, T, T)).copy(), e, m)
    Xs = [X[s][m[s]] for s in range(S)]
    Xf = np.vstack(Xs)
    M = np.linalg.inv(Xf.T @ Xf)
    meat = np.zeros((p, p))
    for s, x in enumerate(Xs):
        H = x @ M @ x.T
        w, U = np.linalg.eigh(np.eye(len(x)) - H)
        A = (U / np.sqrt(w)) @ U.T
        u = x.T @ A @ e[s][m[s]]
        meat += np.outer(u, u)
    np.testing.assert_allclose(got, M @ meat @ M, rtol=1e-10)


def test_cr2_balanced_arm_rate_is_the_t_test_of_animal_slopes():
    """Balanced random-slope design: CR2 SE of an arm rate = SD of its animals' slopes / sqrt(n),
    with n - 1 Bell-McCaffrey degrees of freedom."""
    df = simulate(5)
    f = fit(df, se="cr2")
    base = df.groupby("mouse")["vol"].transform("first")
    df = df.assign(y=np.log(df["vol"] / base))
    slopes = df.groupby("mouse").apply(lambda g: (g["day"] * g["y"]).sum() / (g["day"] ** 2).sum(),
                                       include_groups=False)
    arm = df.groupby("mouse")["arm"].first()
    sd = slopes.groupby(arm).std(ddof=1) / np.sqrt(8)
    r = f.rates.set_index("arm")
    np.testing.assert_allclose(r["stderr"], sd.loc[r.index], rtol=1e-8)
    np.testing.assert_allclose(r["df"], 7.0, rtol=1e-8)
    assert "CR2" in f.summary() and (r["stderr_model"] > 0).all()
    c = f.contrast({"AB": 1, "A": -1, "B": -1, "control": 1})
    assert c["stderr"] == pytest.approx(np.sqrt((sd**2).sum()), rel=1e-8)


def test_cooks_distance_flags_a_planted_outlier_and_equals_a_manual_refit():
    df = simulate(7, outlier=("AB", 3))
    f = fit(df)
    inf = f.influence.set_index("subject")
    assert inf["flagged"].sum() >= 1 and inf.loc["AB-3", "flagged"]
    assert inf["cooks_distance"].idxmax() == "AB-3"
    assert "AB-3" in f.summary() and "Influential animals" in f.summary()
    row = f.diagnostics.set_index("check").loc["influential_animals"]
    assert row["statistic"] == inf["flagged"].sum() and "AB-3" in row["comment"]
    for who, kw in (("AB-3", {}), ("A-1", {"variance": "arm"})):
        full = fit(df, **kw) if kw else f
        loo = fit(df[df["mouse"] != who], influence=False, **kw)
        delta = full.rates["rate"].to_numpy() - loo.rates["rate"].to_numpy()
        cov = full.cov
        D = delta @ np.linalg.solve(cov, delta) / 4
        assert full.influence.set_index("subject").loc[who, "cooks_distance"] == pytest.approx(D, rel=1e-5)


def test_baseline_adjusted_models_are_more_efficient_with_a_noisy_baseline():
    """Measurement error on log volume (SD 0.3, as in bioluminescence) also hits the baseline that
    log(V/V0) divides by; the baseline-as-observation and baseline-covariate models have smaller
    SEs on every study, and the truth stays inside their intervals at the nominal rate."""
    se = {"ratio": [], "observation": [], "covariate": []}
    cover = []
    for seed in range(6):
        df = simulate(100 + seed, tau=0.01, sigma=(0.3,) * 4, base_sd=0.3)
        for bm in se:
            f = fit(df, baseline_model=bm, influence=False)
            se[bm].append(f.rates["stderr"].to_numpy())
            if bm == "observation":
                cover += list((f.rates["ci_low"] < f.rates["arm"].map(RATES)) & (f.rates["arm"].map(RATES) < f.rates["ci_high"]))
    ratio = np.array(se["ratio"])
    for bm in ("observation", "covariate"):
        assert np.all(np.array(se[bm]) < ratio), bm
    assert np.mean(np.array(se["observation"]) / ratio) < 0.8
    assert np.mean(cover) >= 0.85


def test_heteroscedastic_studies_ci_coverage():
    """100 studies with residual SD 0.1-0.3 by arm, fitted with variance='arm': the 95% CIs of the
    arm rates cover the truth 90-98% of the time (400 intervals)."""
    hits = []
    for seed in range(100):
        df = simulate(1000 + seed, sigma=(0.1, 0.15, 0.2, 0.3), days=DAYS[::2])
        f = fit(df, variance="arm", influence=False)
        truth = f.rates["arm"].map(RATES)
        hits += list((f.rates["ci_low"] < truth) & (truth < f.rates["ci_high"]))
    assert 0.90 <= np.mean(hits) <= 0.98, np.mean(hits)


def test_diagnostic_plots_and_tables():
    import matplotlib

    matplotlib.use("Agg")
    f = fit(simulate(3), random="correlated", variance="power_time")
    for kind in ("rates", "residuals", "residuals_time", "qq", "qq_ranef", "influence"):
        ax = f.plot(kind=kind)
        assert ax.has_data(), kind
    assert f.plot(kind="residuals").get_ylabel() == "standardized residual"
    assert {"blup_intercept", "blup_rate"} <= set(f.animals.columns)
    assert set(f.influence.columns) >= {"cooks_distance", "rate_change", "flagged"}
    z = f.residuals["standardized"]
    assert abs(z.std() - 1) < 0.25
    s = f.summary()
    assert "power" in s and "correlated" in s
