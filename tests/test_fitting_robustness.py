"""Robustness of the default dose-response engine (issue 12, items 1, 2 and 6).

Optima on a bound, flat RSS valleys, fall-back and multi-start, missing covariances
(NaN, never zero-width intervals), rejected NaN fixed values, and the robustness corpus
of benchmarks/robustness_dose_response.py on a seeded subset.
"""
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.fitting.batch import fit_curves
from comboplan.models.dose_response import get_model, ll4, w1

DOSES = np.array([0, 0.1, 0.3, 1, 3, 10, 30, 100.0])


def shallow(f, seed=3):
    """Data with a true slope of 0.5: a lower bound of 1 on the slope binds."""
    rng = np.random.default_rng(seed)
    x = np.repeat(DOSES, 3)
    return pd.DataFrame({"d": x, "y": f(x, 0.5, 5, 100, 5) + rng.normal(0, 3, x.size)})


@pytest.mark.parametrize("model,f", [("W1.4", w1), ("LL.4", ll4)])
def test_optimum_on_bound_is_reached_and_equals_fixing_the_slope(model, f):
    df = shallow(f)
    res = cp.fit_dose_response(df, dose="d", response="y", model=model, bounds={"b": (1.0, 10.0)}, errors="raise")
    fx = cp.fit_dose_response(df, dose="d", response="y", model=model, fixed={"b": 1.0}, errors="raise")
    assert res.converged.all() and res.estimates[0, 0] == 1.0
    # the other parameters are those of the fit with the slope fixed at the bound
    np.testing.assert_allclose(res.estimates[0, 1:], fx.estimates[0, 1:], rtol=1e-6)
    np.testing.assert_allclose(res.fit.rss, fx.fit.rss, rtol=1e-10)
    p = res.params.set_index("param")
    assert bool(p.loc["b", "on_bound"]) and not p.loc[["c", "d", "e"], "on_bound"].any()
    assert np.isnan(p.loc["b", "stderr"]) and np.isnan(p.loc["b", "ci_low"])
    # the others' standard errors are conditional on the bound: equal to the fixed fit's
    q = fx.params.set_index("param")
    np.testing.assert_allclose(p.loc[["c", "d", "e"], "stderr"], q.loc[["c", "d", "e"], "stderr"], rtol=1e-6)
    c = res.curves.iloc[0]
    assert c.on_bound == "b" and "b at its lower bound 1" in c.message
    e = res.ecx(50)
    assert np.isfinite(e.ci_low[0]) and "conditional on b at its bound" in e.status[0]
    np.testing.assert_allclose(e.estimate, fx.ecx(50).estimate, rtol=1e-6)
    np.testing.assert_allclose(e.stderr, fx.ecx(50).stderr, rtol=1e-5)


def test_lmfit_engine_stalled_on_bound_is_polished_and_reported():
    df = shallow(w1)
    lm = cp.fit_dose_response(df, dose="d", response="y", model="W1.4", bounds={"b": (1.0, 10.0)}, engine="lmfit")
    ref = cp.fit_dose_response(df, dose="d", response="y", model="W1.4", fixed={"b": 1.0})
    assert lm.converged.all() and "lmfit stalled on a bound" in lm.curves.message[0]
    np.testing.assert_allclose(lm.fit.rss, ref.fit.rss, rtol=1e-8)
    assert bool(lm.params.set_index("param").loc["b", "on_bound"])


def test_flat_valley_converges_where_lmfit_does():
    """Lee & Kong (2009) SCH66336 survival: LL.4 runs into a valley (e -> inf, c -> -inf)
    from the self-start; the first solve used to stop at the iteration limit."""
    x = np.array([[0, 0.1, 0.5, 1, 2, 4.0]])
    y = np.array([[1, 0.6701, 0.6289, 0.5577, 0.4550, 0.3755]])
    spec = get_model("LL.4")
    first = fit_curves(spec, x, y, multistart=False)
    assert not first.converged[0]
    bf = fit_curves(spec, x, y, multistart=True)
    assert bf.converged[0]
    # plain lmfit.minimize from the same start (benchmarks/robustness_dose_response.py) ends at
    # RSS 0.0032084417 after 7,869 evaluations; the engine follows the valley further
    assert bf.rss[0] <= 0.0032084417
    m = str(bf.message[0])
    assert "flat valley" in m and "c, e moved along it" in m and "limits, not point estimates" in m
    # the EC50 runs off far beyond the tested doses: no finite optimum
    assert bf.estimates[0, 3] > 1e6 * 4.0
    from comboplan.fitting.lmfit_engine import fit_curves_lmfit

    lm = fit_curves_lmfit(spec, x, y)
    assert bf.rss[0] <= lm.rss[0]
    # the parameters that ran along the valley have no standard error (a Wald interval for an
    # EC50 of 1e34 would be meaningless); the others keep theirs
    res = cp.fit_dose_response(pd.DataFrame({"d": x[0], "s": y[0]}), dose="d", response="s", model="LL.4")
    p = res.params.set_index("param")
    assert p.loc[["c", "e"], ["stderr", "ci_low", "ci_high"]].isna().all().all()
    assert np.isfinite(p.loc[["b", "d"], "stderr"]).all()
    with pytest.warns(Warning):
        e = res.ecx(50, extrapolate=True)
    assert "not determined by these data" in e.status[0] or "above tested range" in e.status[0]


def test_step_stopped_on_a_small_step_with_a_gradient_is_re_examined():
    """Corpus curve "flat 11" (W2.4 through flat data): the first solve stopped on a tiny,
    heavily damped step while the gradient cosine was 0.29 (not a stationary point) at RSS
    79.68899; the engine re-examines it (multi-start, valley walk) and ends below plain
    lmfit's 79.6752771 (benchmarks/robustness_dose_response.py), with a steeper slope."""
    bench = _load_bench()
    c = next(c for c in bench.build_corpus() if c.name == "flat 11")
    spec = get_model(c.model)
    p0 = bench._start(spec, c)[None]
    first = fit_curves(spec, c.x[None], c.y[None], p0=p0, multistart=False)
    assert first.converged[0] and "relative step below xtol" in first.message[0]
    assert first.rss[0] > 79.6889
    bf = fit_curves(spec, c.x[None], c.y[None], p0=p0, multistart=True)
    assert bf.converged[0] and "the first solve from the self-start ended at a higher RSS" in bf.message[0]
    assert bf.rss[0] <= 79.6752771


def test_exact_fit_approached_while_the_slope_diverges_is_convergence():
    """Karimi 2025 MCF10A early apoptosis (four printed means): hill4 interpolates them only
    as the slope runs to infinity; the engine stops with residuals below 1e-6 of the data's
    RMS and says so (it used to report "maximum number of iterations reached")."""
    x = np.array([[0, 10, 25, 50.0]])
    y = np.array([[1.01, 1.01, 1.04, 1.11]])
    bf = fit_curves(get_model("hill4"), x, y, multistart=True, min_dof=0)
    assert bf.converged[0]
    assert "residuals negligible (exact fit approached" in bf.message[0]
    assert bf.rss[0] <= 1e-12 * np.sum(y ** 2)
    assert bf.estimates[0, 3] > 5  # the slope has run steep


def test_started_at_the_optimum_stays_converged():
    """Started at lmfit's optimum, the engine converges at the same RSS (no false failure)."""
    from comboplan.fitting.lmfit_engine import fit_curves_lmfit

    x = np.array([[0, 0.1, 0.5, 1, 2, 4.0]])
    y = np.array([[1, 0.6701, 0.6289, 0.5577, 0.4550, 0.3755]])
    for model in ("LL.4", "W1.4", "W2.4"):
        spec = get_model(model)
        lm = fit_curves_lmfit(spec, x, y)
        assert lm.converged[0]
        bf = fit_curves(spec, x, y, p0=lm.estimates, multistart=False)
        assert bf.converged[0], (model, bf.message[0])
        assert bf.rss[0] <= lm.rss[0] * (1 + 1e-8), model


def test_damping_exhausted_at_a_minimum_is_convergence():
    """At the exact optimum no step lowers the RSS; that is a minimum, not a failure."""
    df = shallow(ll4)
    spec = get_model("LL.4")
    x = df.d.to_numpy()[None]
    y = df.y.to_numpy()[None]
    opt = fit_curves(spec, x, y)
    again = fit_curves(spec, x, y, p0=opt.estimates, multistart=False, gtol=0.0, xtol=0.0, ftol=0.0)
    assert again.converged[0]
    np.testing.assert_allclose(again.rss, opt.rss, rtol=1e-12)


def test_inactive_agent_has_nan_standard_errors_not_zero_width_intervals():
    """MCF10A viability (Karimi 2025, Table 2: means +- SD, n = 5): no effect; the Hill
    parameters are not identifiable, so every SE and CI is NaN and status says why."""
    mc = cp.load_dataset("karimi2025_mcf10a").query("measure == 'viability'")
    rng = np.random.default_rng(0)
    df = pd.DataFrame([{"dose": r.dose_ug_per_mL, "y": r["mean"] + r.sd * rng.standard_normal()}
                       for _, r in mc.iterrows() for _ in range(5)])
    res = cp.fit_dose_response(df, dose="dose", response="y")
    assert res.converged.all()
    p = res.params
    assert p[["stderr", "ci_low", "ci_high"]].isna().all().all()
    assert "not identifiable" in res.curves.message[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = res.ecx(50, extrapolate=True)
    assert np.isfinite(e.estimate[0])
    assert np.isnan(e.stderr[0]) and np.isnan(e.ci_low[0]) and np.isnan(e.ci_high[0])
    assert e.status[0].startswith("no standard error: singular information matrix")
    band = res.predict([1.0, 10.0], interval="confidence")
    assert np.isnan(band.ci_low.values).all() and np.isnan(band.ci_high.values).all()


def test_exact_fit_ecx_status_names_the_reason():
    df = cp.load_dataset("karimi2025").query("cell_line == 'SKBR3' and time_h == 24")
    res = cp.fit_dose_response(df, dose="dose_ug_per_mL", response="viability_pct", fixed={"e0": 100, "einf": 0})
    e = res.ecx(30)  # 30 % effect: between the two tested doses
    assert np.isfinite(e.estimate[0]) and np.isnan(e.ci_low[0]) and e.status[0] == "no standard error: exact fit (residual SD ~ 0)"


@pytest.mark.parametrize("bad", [{"fixed": {"e0": np.nan}}, {"fixed": {"einf": np.inf}}, {"p0": {"ec50": np.nan}},
                                 {"fixed": {"e0": "high"}}])
def test_non_finite_fixed_or_start_is_a_data_error_naming_the_parameter(bad):
    df = shallow(ll4).rename(columns={"d": "conc", "y": "viab"})
    name = next(iter(next(iter(bad.values()))))
    with pytest.raises(DataError, match=f"\\['{name}'\\] must be a finite number"):
        cp.fit_dose_response(df, dose="conc", response="viab", **bad)


@pytest.mark.parametrize("b", [(np.nan, 1.0), (2.0, 1.0), (1.0,)])
def test_bad_bounds_are_data_errors(b):
    df = shallow(ll4)
    with pytest.raises(DataError, match="bounds\\['h'\\]"):
        cp.fit_dose_response(df, dose="d", response="y", bounds={"h": b})


def test_as_many_observations_as_parameters_fits_without_standard_errors():
    """Four printed means, four Hill parameters (Karimi 2025 MCF10A late apoptosis): lmfit
    interpolates them; so does the engine now, with no SEs (no residual degrees of freedom)."""
    mc = cp.load_dataset("karimi2025_mcf10a").query("measure == 'late_apoptosis'")
    res = cp.fit_dose_response(mc, dose="dose_ug_per_mL", response="mean")
    assert res.converged.all() and res.fit.rss[0] < 1e-12
    np.testing.assert_allclose(res.predict(mc.dose_ug_per_mL.to_numpy()).values[0], mc["mean"], atol=1e-6)
    assert "no residual degrees of freedom" in res.curves.message[0]
    assert res.params.stderr.isna().all()


def _load_bench():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "robustness_dose_response.py"
    spec = importlib.util.spec_from_file_location("robustness_dose_response", path)
    if spec.name not in sys.modules:  # dataclasses need the module registered
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[spec.name]


def test_corpus_has_every_hard_category_and_at_least_200_fits():
    bench = _load_bench()
    corpus = bench.build_corpus()
    assert len(corpus) >= 200
    cats = {c.category for c in corpus}
    for need in ("hormesis", "no plateau", "flat (inactive agent)", "outliers", "optimum on a bound",
                 "three doses only"):
        assert need in cats
    assert sum(c.source == "real" for c in corpus) >= 60


def test_engine_converges_wherever_curve_fit_does_on_the_corpus_subset():
    """Every 4th corpus curve (61 fits): the engine converges on each one curve_fit or lmfit
    converges on, at an RSS no worse than curve_fit's or lmfit's (1e-6 relative)."""
    bench = _load_bench()
    corpus = bench.build_corpus()[::4]
    starts = [bench._start(get_model(c.model), c) for c in corpus]
    conv, rss, msgs = bench.fit_engine(corpus, starts)
    cf = bench.fit_curve_fit(corpus, starts)
    lm = bench.fit_lmfit(corpus, starts)
    assert conv.all(), [m for m, ok in zip(msgs, conv) if not ok]
    assert conv.sum() >= max(cf[0].sum(), lm[0].sum())
    assert not bench.compare(corpus, (conv, rss, msgs), {"curve_fit": cf, "lmfit": lm}, 1e-6)
