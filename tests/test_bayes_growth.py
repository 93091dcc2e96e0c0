"""Bayesian hierarchical growth model: data handling, model wiring, results (fast).

Real MCMC fits are in tests/test_bayes_slow.py (marked slow).  Here sampling is
replaced by PyMC's ``mock_sample`` (prior draws) so the wiring is tested in seconds.
"""
from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import comboplan as cp
from comboplan.exceptions import DataError, DiagnosticsWarning
from comboplan.fitting.bayes import growth as G
from comboplan.fitting.bayes.priors import Prior, growth_priors, prior_table, resolve_priors

pytestmark = [
    pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning"),  # mock (prior) sampling only
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]

COLS = dict(subject="mouse", arm="arm", time="day", size="volume_mm3")


@pytest.fixture(scope="module")
def study():
    return G.simulate_growth_study(3)


@pytest.fixture
def mock_pymc(monkeypatch):
    """Replace pymc.sample by prior sampling (pymc.testing.mock_sample), 2 chains x 20 draws."""
    import pymc as pm
    from pymc.testing import mock_sample

    ss = {"diverging": lambda size: np.zeros(size, dtype=bool)}
    monkeypatch.setattr(pm, "sample", functools.partial(mock_sample, sample_stats=ss))
    yield


def test_import_does_not_load_pymc():
    code = ("import sys, comboplan; b = comboplan.bayes; b.fit_growth; b.fit_dose_response; b.Prior; "
            "import comboplan.fitting.bayes.priors, comboplan.fitting.bayes.sampling; "
            "bad=[m for m in ('pymc','pytensor','nutpie','arviz','numba') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------------- data layer
def test_prepare_arrays(study):
    before = study.copy()
    a = G.prepare_growth(study, **COLS)
    pd.testing.assert_frame_equal(study, before)  # caller's frame untouched
    assert a.n_animals == 28 and a.n_arms == 4 and a.n_obs == 140
    assert list(a.arm_labels) == ["control", "A", "B", "A+B"]
    np.testing.assert_allclose(np.exp(a.obs_log_size), study["volume_mm3"].to_numpy())
    assert a.obs_time.min() == 0 and not a.obs_censored.any()
    # every animal's arm index matches the table
    arm_of = dict(zip(study["mouse"], study["arm"]))
    assert all(a.arm_labels[a.animal_arm[i]] == arm_of[lab] for i, lab in enumerate(a.animal_labels))


def test_censoring_and_dropout_are_explicit(study):
    df = study.copy()
    df.loc[df.index[4], "volume_mm3"] = 0.0          # below detection (reads 0)
    df.loc[df.index[9], "volume_mm3"] = 15.0         # below lloq=20
    df.loc[df.index[10], "volume_mm3"] = 20.0        # at the lloq: measured (as validate_growth)
    df["necrotic"] = False
    df.loc[df.index[13:15], "necrotic"] = True        # animal 3: last two days after necrosis
    df.loc[df.index[14], "volume_mm3"] = np.nan       # missing after dropout is allowed
    a = G.prepare_growth(df, **COLS, lloq=20.0, dropout="necrotic")
    assert a.n_obs == 138
    assert a.obs_censored.sum() == 2
    np.testing.assert_allclose(a.obs_log_size[a.obs_censored], np.log(20.0))
    assert list(a.excluded["row"]) == [13, 14]
    assert (a.excluded["subject"] == df.loc[13, "mouse"]).all()
    # dropout as a per-animal time: rows after that time are excluded
    df2 = study.assign(drop_day=np.where(study["mouse"] == "m01", 8.0, np.nan))
    a2 = G.prepare_growth(df2, **COLS, dropout="drop_day")
    assert len(a2.excluded) == 2 and set(a2.excluded["time"]) == {12.0, 16.0}


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: d.assign(volume_mm3=d["volume_mm3"].where(d.index != 5, 0.0)), "lloq"),
        (lambda d: d.assign(volume_mm3=d["volume_mm3"].where(d.index != 6, np.nan)), "missing"),
        (lambda d: d.assign(day=d["day"].where(d.index != 7, np.nan)), "time"),
        (lambda d: d.assign(arm=d["arm"].where(d.index != 0, "B")), "more than one arm"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), "two rows"),
        (lambda d: d.drop(columns="arm"), "not found"),
    ],
)
def test_prepare_errors_name_the_problem(study, mutate, match):
    with pytest.raises(DataError, match=match):
        G.prepare_growth(mutate(study), **COLS)


def test_design_from_columns_and_mapping(study):
    a = G.prepare_growth(study, **COLS)
    d1 = G.growth_design(study, a, ("drug_a", "drug_b"), "arm")
    d2 = G.growth_design(study, a, {"control": "control", "A": "A", "B": "B", "AB": "A+B"}, "arm")
    np.testing.assert_array_equal(d1.X, d2.X)
    np.testing.assert_array_equal(d1.X, [[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1]])
    assert d1.roles["AB"] == "A+B" and d1.agents == ("drug_a", "drug_b")
    with pytest.raises(DataError, match="names arms"):
        G.growth_design(study, a, ("A", "B"), "arm")
    no_combo = study[study["arm"] != "A+B"]
    a3 = G.prepare_growth(no_combo, **COLS)
    with pytest.raises(DataError, match="not identified"):
        G.growth_design(no_combo, a3, ("drug_a", "drug_b"), "arm")
    with pytest.raises(DataError, match="keys"):
        G.growth_design(study, a, {"control": "control", "A": "A"}, "arm")


# ------------------------------------------------------------------------- priors
def test_priors_override_and_rescale():
    p = growth_priors(time_unit="day")
    assert p["interaction"].params == {"mu": 0.0, "sigma": 0.1}
    ph = growth_priors(time_unit="h")
    assert ph["r_control"].params["sigma"] == pytest.approx(0.1 / 24)  # same prior, per hour
    r = resolve_priors(p, {"interaction": ("normal", 0.0, 0.05), "sigma": {"sigma": 0.2},
                           "beta": Prior("halfnormal", {"sigma": 1.0})} if "beta" in p else
                       {"interaction": ("normal", 0.0, 0.05), "sigma": {"sigma": 0.2}})
    assert r["interaction"].params["sigma"] == 0.05 and r["sigma"].params["sigma"] == 0.2
    assert r["sigma"].dist == "halfnormal" and r["sigma"].unit == "log(size)"
    with pytest.raises(DataError, match="unknown prior"):
        resolve_priors(p, {"gamma_rate": ("normal", 0, 1)})
    with pytest.raises(DataError, match="positive support"):
        resolve_priors(p, {"sigma": ("normal", 0, 1)})
    with pytest.raises(DataError, match="takes parameters"):
        Prior("normal", {"mu": 0})
    t = prior_table(p)
    lo, hi = t.set_index("name").loc["interaction", ["low_90", "high_90"]]
    assert lo == pytest.approx(-0.1 * 1.6449, rel=1e-3) and hi == pytest.approx(0.1 * 1.6449, rel=1e-3)


def test_prior_predictive_covers_data(study):
    pp = G.prior_predictive_growth(study, **COLS, interaction=("drug_a", "drug_b"), seed=1, samples=2000)
    assert pp.coverage > 0.95  # weakly informative: data well inside the prior predictive
    assert pp.draws["log_size"].shape == (2000, 140)
    # prior draws follow the declared priors
    assert pp.draws["interaction"].std().item() == pytest.approx(0.1, rel=0.1)
    tight = G.prior_predictive_growth(study, **COLS, seed=1, samples=500,
                                      priors={"log_baseline_mean": ("normal", 12.0, 0.01),
                                              "sigma": {"sigma": 0.01}})
    assert tight.coverage < 0.1  # a wrong prior is flagged by the check
    assert "prior predictive" in pp.summary()


# ------------------------------------------------------------------------- model logp
def _obs_logp(model, point):
    import pytensor

    fn = pytensor.function(model.value_vars, [model.logp(vars=v, sum=True) for v in model.observed_RVs],
                           mode="FAST_COMPILE", on_unused_input="ignore")
    return [float(x) for x in fn(**{v.name: point[v.name] for v in model.value_vars})]


@pytest.mark.parametrize("model_name,likelihood", [("exponential", "normal"), ("gompertz", "student_t")])
def test_model_likelihood_matches_scipy(study, model_name, likelihood):
    """The PyMC log-likelihood (incl. the censored normal/Student-t log-CDF) equals a scipy computation."""
    df = study.copy()
    a = G.prepare_growth(df, **COLS, lloq=90.0)
    assert 0 < a.obs_censored.sum() < a.n_obs
    des = G.growth_design(df, a, ("drug_a", "drug_b"), "arm")
    pri = G._default_priors(a, des, model_name, likelihood, "day")
    m = G.build_growth_model(a, des, pri, model=model_name, likelihood=likelihood)
    rng = np.random.default_rng(0)
    pt_ = m.initial_point()
    pt_ = {k: v + 0.1 * rng.standard_normal(np.shape(v)) for k, v in pt_.items()}
    got = _obs_logp(m, pt_)
    # numpy reconstruction of mu from the same point
    v = pt_["rate_factorial"]  # rates of the patterns none, A, B, AB
    coef = np.array([v[0], v[1] - v[0], v[2] - v[0], v[3] - v[2] - v[1] + v[0]])
    r_arm = des.X @ coef
    sb, sa, sig = (np.exp(pt_[f"{n}_log__"]) for n in ("sigma_baseline", "sigma_animal", "sigma"))
    lb = pt_["log_baseline_mean"] + sb * pt_["z_baseline"]
    r = r_arm[a.animal_arm] + sa * pt_["z_rate"]
    beta = np.exp(pt_["beta_log__"]) if model_name == "gompertz" else None
    mu = G.growth_curve(a.obs_time, lb[a.obs_animal], r[a.obs_animal], beta)
    z = (a.obs_log_size - mu) / sig
    dist = stats.t(np.exp(pt_["nu_log__"])) if likelihood == "student_t" else stats.norm()
    c = a.obs_censored
    want_obs = np.sum(dist.logpdf(z[~c]) - np.log(sig))
    want_cens = np.sum(dist.logcdf(z[c]))
    np.testing.assert_allclose(got, [want_obs, want_cens], rtol=1e-8)


def test_factorial_prior_is_exact(study):
    """The pattern-rate parametrisation carries exactly the independent normal priors on the coefficients."""
    import pytensor

    a = G.prepare_growth(study, **COLS)
    des = G.growth_design(study, a, ("drug_a", "drug_b"), "arm")
    pri = G._default_priors(a, des, "exponential", "normal", "day")
    pri = resolve_priors(pri, {"r_control": ("normal", 0.12, 0.08), "interaction": ("normal", -0.01, 0.03)})
    m = G.build_growth_model(a, des, pri)
    names = ("r_control", "effect_A", "effect_B", "interaction")
    rv = m["rate_factorial"]
    terms = [m.logp(vars=[rv], sum=True), m.potentiallogp]
    fn = pytensor.function([m.rvs_to_values[rv]], terms, mode="FAST_COMPILE", on_unused_input="ignore")
    coefs = [np.array([0.1, -0.02, 0.03, 0.0]), np.array([0.3, -0.2, 0.1, -0.1])]
    vals = []
    for c in coefs:
        v = np.array([c[0], c[0] + c[1], c[0] + c[2], c.sum()])
        got = sum(float(x) for x in fn(v))
        want = sum(stats.norm(pri[n].params["mu"], pri[n].params["sigma"]).logpdf(ci) for n, ci in zip(names, c))
        vals.append(got - want)  # equal up to the constant Jacobian of the linear map
    assert vals[0] == pytest.approx(vals[1], abs=1e-9)


def test_gompertz_curve_limits():
    t = np.array([0.0, 1.0, 10.0, 100.0])
    np.testing.assert_allclose(G.growth_curve(t, 1.0, 0.2, 1e-12), 1.0 + 0.2 * t, rtol=1e-9)
    # plateau: log V -> log V0 + r / beta
    np.testing.assert_allclose(G.growth_curve(1e4, 0.0, 0.3, 0.1), 3.0)


# ------------------------------------------------------------------------- results wiring
@pytest.fixture
def mock_fit(study, mock_pymc):
    df = study.copy()
    df["necrotic"] = df["day"].gt(12) & df["mouse"].eq("m02")
    return G.fit_growth(df, **COLS, interaction=("drug_a", "drug_b"), sampler="pymc", draws=20, chains=2,
                        seed=1, check=False, lloq=60.0, dropout="necrotic", size_unit="mm3")


def test_result_wiring(mock_fit, tmp_path):
    res = mock_fit
    post = res.idata.posterior
    assert set(post.coords["arm"].values) == {"control", "A", "B", "A+B"}
    assert post.sizes["animal"] == 28 and post.sizes["chain"] == 2
    # r_arm is exactly the factorial combination of the coefficients
    X = np.array(res.meta["X"])
    coef = np.stack([post[k].values for k in ("r_control", "effect_A", "effect_B", "interaction")], -1)
    np.testing.assert_allclose(post["r_arm"].values, coef @ X.T)
    p = res.params
    assert {"param", "index", "mean", "ci_low", "ci_high", "r_hat", "ess_bulk", "unit"} <= set(p.columns)
    assert p.loc[p["param"] == "interaction", "unit"].item() == "1/day"
    assert res.p_synergy() == pytest.approx(float((post["interaction"].values < 0).mean()))
    syn = res.synergy()
    assert "< 0 = synergy" in syn["sign_convention"].item()
    # the same quantity on comboplan's in-vivo scale (positive = synergy, as invivo_synergy)
    assert syn["score_mean"].item() == pytest.approx(-syn["interaction_mean"].item())
    assert syn["score_ci_low"].item() == pytest.approx(-syn["ci_high"].item())
    assert "> 0 = synergy" in syn["sign_convention"].item()
    ds = res.draws(["r_arm", "interaction", "sigma_animal"], stacked=True)
    assert ds["r_arm"].dims == ("sample", "arm") and ds["r_arm"].attrs["unit"] == "1/day"
    assert len(res.excluded) == 1 and "after dropout" in res.excluded["reason"].item()
    s = res.summary()
    assert "1 rows after dropout excluded" in s and "left-censored" in s and "P(synergy)" in s
    assert set(res.idata.groups()) >= {"posterior", "log_likelihood", "posterior_predictive", "observed_data",
                                       "constant_data"}
    # replicated censored observations respect the detection limit
    yrep = res.idata.posterior_predictive["log_size"].values[..., res.arrays.obs_censored]
    assert (yrep >= np.log(60.0) - 1e-12).all()
    path = res.to_netcdf(tmp_path / "fit.nc")
    back = cp.bayes.load_result(path)
    assert type(back) is type(res)
    np.testing.assert_allclose(back.idata.posterior["r_arm"].values, post["r_arm"].values)
    assert back.p_synergy() == res.p_synergy()
    np.testing.assert_array_equal(back.arrays.obs_censored, res.arrays.obs_censored)
    pd.testing.assert_frame_equal(back.params, res.params)


def test_predict_new_and_observed_animals(mock_fit):
    res = mock_fit
    pr = res.predict([0.0, 8.0], arms=["control", "A+B"], seed=2)
    assert pr.dims == ("chain", "draw", "arm", "time") and pr.attrs["unit"] == "mm3"
    post = res.idata.posterior
    # at the origin a new animal's log size is the population baseline draw
    lb0 = np.log(pr.sel(time=0.0, arm="control").values)
    assert abs(np.mean(lb0 - post["log_baseline_mean"].values)) < 5 * post["sigma_baseline"].values.mean()
    po = res.predict([8.0], animals=["m01"], scale="log")
    want = post["log_baseline"].sel(animal="m01") + 8.0 * post["r_animal"].sel(animal="m01")
    np.testing.assert_allclose(po.sel(animal="m01", time=8.0).values, want.values)
    with pytest.raises(DataError, match="unknown arm"):
        res.predict([1.0], arms=["placebo"])


def test_plots_return_axes(mock_fit):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for kind in ("fit", "rates", "interaction", "ppc", "trace"):
        ax = mock_fit.plot(kind=kind)
        assert isinstance(ax, matplotlib.axes.Axes)
        plt.close(ax.figure)
    with pytest.raises(DataError):
        mock_fit.plot(kind="nope")


def test_no_interaction_design(study, mock_pymc):
    res = G.fit_growth(study, **COLS, sampler="pymc", draws=10, chains=1, seed=1, check=False)
    assert not res.factorial and "interaction" not in res.idata.posterior
    with pytest.raises(DataError, match="no interaction"):
        res.p_synergy()


# ------------------------------------------------------------------------- diagnostics
def test_diagnostics_warn_and_name_the_problem():
    import arviz as az

    from comboplan.fitting.bayes.sampling import check_diagnostics

    rng = np.random.default_rng(0)
    good = rng.standard_normal((4, 500))
    bad = good + np.arange(4)[:, None]  # chains disagree -> R-hat >> 1
    div = np.zeros((4, 500), bool)
    div[0, :3] = True
    idata = az.from_dict(posterior={"a": good, "b": bad}, sample_stats={"diverging": div})
    with pytest.warns(DiagnosticsWarning, match=r"R-hat > 1.01 for 1 quantity\(ies\) \(worst b") as w:
        d = check_diagnostics(idata)
    assert "3 divergent" in str(w[0].message)
    assert d.n_divergent == 3 and not d.ok
    ok = az.from_dict(posterior={"a": good}, sample_stats={"diverging": np.zeros((4, 500), bool)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d2 = check_diagnostics(ok)
    assert d2.ok and d2.table["ess_bulk"].min() > 1000


def test_bad_arguments(study):
    with pytest.raises(DataError, match="model"):
        G.fit_growth(study, **COLS, model="logistic")
    with pytest.raises(DataError, match="seed"):
        from comboplan.fitting.bayes.sampling import resolve_seed

        resolve_seed("abc")
    with pytest.raises(DataError, match="lloq"):
        G.prepare_growth(study, **COLS, lloq=-1)


def test_accepts_validated_growth_data(study, mock_pymc):
    """A GrowthData from comboplan.growth.data.validate_growth gives the same arrays as the tidy table."""
    from comboplan.growth.data import validate_growth

    df = study.copy()
    df["why"] = np.where(df["mouse"] == "m03", "necrosis", "")
    df = df[~((df["mouse"] == "m03") & (df["day"] > 8))]  # measurements up to dropout only
    df.loc[df.index[0], "volume_mm3"] = 0.0  # undetectable
    gd = validate_growth(df, "mouse", "arm", "day", "volume_mm3", lloq=50.0, dropout="why")
    a_gd = G.GrowthArrays.from_growth_data(gd)
    a_df = G.prepare_growth(df, **COLS, lloq=50.0, dropout="why")
    k1, k2 = np.lexsort((a_gd.obs_time, a_gd.obs_animal)), np.lexsort((a_df.obs_time, a_df.obs_animal))
    np.testing.assert_allclose(a_gd.obs_log_size[k1], a_df.obs_log_size[k2])
    np.testing.assert_array_equal(a_gd.obs_censored[k1], a_df.obs_censored[k2])
    assert a_gd.obs_censored.sum() >= 1 and a_gd.n_dropouts == a_df.n_dropouts == 1
    mapping = {"control": "control", "A": "A", "B": "B", "AB": "A+B"}
    res = G.fit_growth(gd, interaction=mapping, sampler="pymc", draws=10, chains=1, seed=0, check=False)
    assert res.meta["size_unit"] == gd.size_unit
    assert "1 animal(s) left early (necrosis: 1)" in res.summary()
    with pytest.raises(DataError, match="arm mapping"):
        G.fit_growth(gd, interaction=("drug_a", "drug_b"))
    with pytest.raises(DataError, match="required"):
        G.fit_growth(df, subject="mouse")


# ------------------------------------------------------------------------- numba kernel
def _pm_point(fm, x, model_name):
    p, k = {}, 0
    for name, n in fm.rate_names:
        p[name] = x[k:k + n]
        k += n
    p.update({"log_baseline_mean": x[k], "sigma_baseline_log__": x[k + 1], "sigma_animal_log__": x[k + 2],
              "sigma_log__": x[k + 3], "z_baseline": x[k + 4:k + 4 + fm.n_an],
              "z_rate": x[k + 4 + fm.n_an:k + 4 + 2 * fm.n_an]})
    if model_name == "gompertz":
        p["beta_log__"] = x[-1]
    return p


@pytest.mark.parametrize("model_name", ["exponential", "gompertz"])
@pytest.mark.parametrize("design_kind", ["columns", "free", "mapping+extra"])
def test_numba_kernel_equals_pymc_density(study, model_name, design_kind):
    """The hand-written density used with nutpie equals the PyMC model's (value up to a constant, gradient)."""
    import pytensor

    from comboplan.fitting.bayes.fastgrowth import FastGrowthModel, supported

    df = study
    inter = {"columns": ("drug_a", "drug_b"), "free": None,
             "mapping+extra": {"control": "control", "A": "A", "B": "B", "AB": "A+B"}}[design_kind]
    if design_kind == "mapping+extra":
        df = study.assign(arm=study["arm"].where(~study["mouse"].isin(["m01", "m02"]), "extra"))
    a = G.prepare_growth(df, **COLS, lloq=90.0)
    assert a.obs_censored.any()
    des = G.growth_design(df, a, inter, "arm")
    pri = G._default_priors(a, des, model_name, "normal", "day")
    assert supported(des, pri, model_name, "normal")
    fm = FastGrowthModel(a, des, pri, model_name)
    m = G.build_growth_model(a, des, pri, model=model_name)
    vv = m.value_vars
    f = pytensor.function(vv, [m.logp(), *pytensor.grad(m.logp(), vv)], mode="FAST_COMPILE")
    order = [n for n, _ in fm.rate_names] + ["log_baseline_mean", "sigma_baseline_log__", "sigma_animal_log__",
                                             "sigma_log__", "z_baseline", "z_rate"]
    order += ["beta_log__"] if model_name == "gompertz" else []
    rng = np.random.default_rng(4)
    vals = []
    for i in range(3):
        x = fm.initial_point(i) + 0.3 * rng.standard_normal(fm.ndim)
        p = _pm_point(fm, x, model_name)
        outs = f(**{v.name: p[v.name] for v in vv})
        g_pm = dict(zip([v.name for v in vv], outs[1:]))
        lp, g = fm.logp_and_grad(x)
        np.testing.assert_allclose(g, np.concatenate([np.atleast_1d(g_pm[n]) for n in order]), rtol=1e-6,
                                   atol=1e-6)
        vals.append(float(outs[0]) - lp)
    assert np.ptp(vals) < 1e-6 * max(1.0, abs(vals[0]))  # same density up to a constant
    # not covered -> the PyMC graph is used
    assert not supported(des, pri, model_name, "student_t")
    assert not supported(des, resolve_priors(pri, {"sigma": ("exponential", 3.0)}), model_name, "normal")


def test_demo_section_runs(tmp_path):
    """The report section (real nutpie fit on the numba kernel, a few seconds) writes its figure and posterior."""
    from comboplan.report_bayes import demo_section
    from comboplan.reportkit import ReportContext

    ctx = ReportContext(outdir=tmp_path, seed=3)
    md = demo_section(ctx)
    assert [a.name for a in ctx.artifacts] == ["bayes_growth.png", "bayes_growth_posterior.nc", "bayes_growth_rates.csv"]
    assert any("P(synergy)" in line for _, line in ctx.summary)
    assert "P(synergy) = P(interaction < 0)" in md and "| CM+PTX |" in md
    assert (tmp_path / "bayes_growth.png").exists()
    res = cp.bayes.load_result(tmp_path / "bayes_growth_posterior.nc")
    assert res.meta["backend"] == "numba-kernel" and res.diagnostics.n_divergent == 0
    assert res.arrays.n_dropouts > 0  # necrotic animals kept up to dropout
