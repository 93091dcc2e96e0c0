"""Tests from printed summary statistics, and compare()'s nesting rule with fixed parameters."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import comboplan as cp
from comboplan.exceptions import DataError
from comboplan.fitting.summary_stats import anova_from_summary, equivalence_from_summary


def _exact_sample(mean, sd, n, rng):
    """n values with exactly this mean and sample SD."""
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def test_anova_from_summary_equals_scipy_on_data_with_those_summaries():
    rng = np.random.default_rng(4)
    means, sds, ns = [10.0, 12.5, 9.0, 11.0], [2.0, 1.5, 3.0, 2.5], [5, 6, 4, 7]
    groups = [_exact_sample(m, s, n, rng) for m, s, n in zip(means, sds, ns)]
    ref = stats.f_oneway(*groups)
    got = anova_from_summary(means, sds, ns)
    assert got["f_stat"] == pytest.approx(ref.statistic, rel=1e-10)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert (got["df_between"], got["df_within"]) == (3, 18)


def test_tost_by_hand_and_against_welch():
    rng = np.random.default_rng(5)
    a, b = _exact_sample(100.0, 4.0, 6, rng), _exact_sample(97.0, 5.0, 8, rng)
    eq = equivalence_from_summary((100.0, 4.0, 6), [97.0], [5.0], [8], margin=8.0, ci_level=0.9)
    w = stats.ttest_ind(b, a, equal_var=False)
    se = float(np.sqrt(25 / 8 + 16 / 6))
    assert float(eq["se"].iloc[0]) == pytest.approx(se, rel=1e-12)
    assert -3.0 / se == pytest.approx(w.statistic, rel=1e-10)              # same Welch statistic
    df = float(eq["df"].iloc[0])
    p_lo = stats.t.sf((-3.0 + 8.0) / se, df)
    p_hi = stats.t.cdf((-3.0 - 8.0) / se, df)
    assert float(eq["p_tost"].iloc[0]) == pytest.approx(max(p_lo, p_hi), rel=1e-10)
    assert bool(eq["equivalent"].iloc[0]) == (max(p_lo, p_hi) < 0.05)
    # a narrow margin is not met
    assert not bool(equivalence_from_summary((100.0, 4.0, 6), [97.0], [5.0], [8], margin=2.0)["equivalent"].iloc[0])


def test_summary_inputs_are_checked():
    with pytest.raises(DataError, match="every SD is 0"):
        anova_from_summary([1, 2], [0, 0], [3, 3])
    with pytest.raises(DataError, match="integer >= 2"):
        anova_from_summary([1, 2], [1, 1], [1, 3])
    with pytest.raises(DataError, match="pooled"):
        equivalence_from_summary((100.0, 0.0, 5), [100.0], [0.0], [5], margin=10.0)
    with pytest.raises(DataError, match="margin"):
        equivalence_from_summary((100.0, 1.0, 5), [100.0], [1.0], [5], margin=0)


def test_compare_gives_no_f_test_for_pairs_that_are_not_nested():
    """A constant with a free baseline is not nested in a Hill curve whose baseline is fixed."""
    mc = cp.load_dataset("karimi2025").query("cell_line == 'MCF10A'")
    kw = dict(dose="dose_ug_per_mL", response="viability_pct")
    hill = cp.fit_dose_response(mc, model="hill4", fixed={"e0": 100.0, "einf": 0.0}, **kw)
    free = cp.fit_dose_response(mc, model="no_effect", **kw)
    t = cp.compare(free, hill)
    assert np.isnan(t["f_pvalue"]).all() and "not nested" in t["test_note"].iloc[0]
    # a properly nested pair (same model, more fixed) keeps its F test
    h2 = cp.fit_dose_response(mc, model="hill4", fixed={"e0": 100.0}, **kw)
    t2 = cp.compare(hill, h2)
    row = t2[t2["vs"] != ""]
    assert len(row) == 1 and np.isfinite(row["f_stat"]).all()
    # fixed at different values: not nested
    h3 = cp.fit_dose_response(mc, model="hill4", fixed={"e0": 95.0, "einf": 0.0}, **kw)
    assert "not nested" in cp.compare(h3, h2)["test_note"].iloc[0]
