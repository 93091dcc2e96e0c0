"""The one multiple-testing adjustment (comboplan._multitest.adjust_pvalues, also behind
combination.stats.bh_fdr and the growth synergy tables) equals SciPy and statsmodels."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control

from comboplan._multitest import adjust_pvalues
from comboplan.combination.stats import bh_fdr

pvals = st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.01, 0.05, 0.5, np.nan])), min_size=1,
                 max_size=40)


@settings(max_examples=200, deadline=None)
@given(pvals)
def test_bh_equals_scipy_false_discovery_control(p):
    p = np.array(p)
    ok = np.isfinite(p)
    got = bh_fdr(p)
    assert np.all(np.isnan(got[~ok]))
    if ok.any():
        np.testing.assert_allclose(got[ok], false_discovery_control(p[ok], method="bh"), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got, adjust_pvalues(p, "fdr_bh"))


@settings(max_examples=200, deadline=None)
@given(pvals, st.sampled_from(["holm", "bonferroni", "fdr_bh"]))
def test_adjustments_equal_statsmodels_multipletests(p, method):
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = np.array(p)
    ok = np.isfinite(p)
    got = adjust_pvalues(p, method)
    assert np.all(np.isnan(got[~ok]))
    if ok.any():
        np.testing.assert_allclose(got[ok], multipletests(p[ok], method=method)[1], rtol=1e-12, atol=0)


def test_adjust_along_an_axis_and_bad_method():
    from comboplan.exceptions import DataError

    p = np.array([[0.01, 0.04, 0.03], [0.2, np.nan, 0.01]])
    out = adjust_pvalues(p, "holm", axis=-1)
    np.testing.assert_allclose(out[0], [0.03, 0.06, 0.06])
    np.testing.assert_allclose(out[1], [0.2, np.nan, 0.02])
    with pytest.raises(DataError, match="adjust must be"):
        adjust_pvalues(p, "hochberg")
