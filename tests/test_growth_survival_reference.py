"""Time-to-event analysis (survival_analysis) against frozen R survival 3.5.3 outputs.

tests/reference/r_survival/make_reference.R (run once with R 4.2.2; R is not needed here) wrote
events.csv (4 arms x 8 animals, tied event times, censoring, S = 1/2 exactly on flat stretches, a
control curve that falls to 0) and results.json from ``survfit(conf.type="log-log")``,
``survdiff``, ``coxph(ties="efron")`` and, for the Bliss scores, the formulas evaluated on R's
Kaplan-Meier estimates.

Tolerances: closed-form quantities (Kaplan-Meier, Greenwood, log(-log) limits, log-rank, Bliss)
1e-11 relative (R wrote 15 significant digits); Cox (iterative, coxph eps 1e-10) 1e-8 relative;
times and counts exactly.

Differences of definition, each tested explicitly below:

* median where S(t) equals 1/2 on a flat stretch running to the end of follow-up (arm B): R's
  ``print.survfit`` / ``summary(fit)$table`` give the first time S reaches 1/2 (12), R's
  ``quantile.survfit`` the midpoint with the last follow-up time (16.5); comboplan follows
  ``print.survfit``.  Where the flat stretch is followed by another event (control) both R
  functions and comboplan give the midpoint of the two event times (10).
* upper limit of the median where the curve falls to 0 (control, day 14): R's log(-log) limits are
  NA at S = 0, so survfit reports an NA upper limit; comboplan treats S = 0 as known exactly and
  closes the interval at that time (14).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from comboplan.growth.survival import survival_analysis

REF = Path(__file__).parent / "reference" / "r_survival"
R = json.loads((REF / "results.json").read_text())
EVENTS = pd.read_csv(REF / "events.csv")
ARMS = R["data"]["arms"]
CLOSED = 1e-11  # closed-form quantities, R printed 15 significant digits
COX = 1e-8  # Cox: iterative fit in both programs


def num(x) -> np.ndarray:
    """JSON value(s) as floats: "NA" -> nan, "NaN" -> nan, "Inf" -> inf."""
    return np.array([np.nan if v == "NA" else float(v) for v in np.atleast_1d(x)], float)


def analyse(level=0.95, covariates=(), scale="incidence"):
    return survival_analysis(EVENTS, time="time", event="event", arm="arm", control="control", subject="mouse",
                             covariates=covariates, ci_level=level, scale=scale)


def test_frozen_inputs_and_provenance():
    assert hashlib.md5((REF / "events.csv").read_bytes()).hexdigest() == R["data"]["md5"]
    assert R["run_info"]["survival"] == "3.5.3" and R["run_info"]["R"].startswith("R version 4.2.2")
    assert len(EVENTS) == R["data"]["n_rows"] == 32
    assert list(pd.unique(EVENTS["arm"])) == ARMS


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_kaplan_meier_equals_survfit_loglog(level):
    """Event times, numbers at risk and of events, S(t), Greenwood se of S and the pointwise
    log(-log) limits equal survfit(conf.type = "log-log"); NaN where R has NA/NaN (S = 0)."""
    r = analyse(level)
    for a in ARMS:
        ref = R["km"][f"{level:g}"][a]
        tab = r.km[r.km["arm"] == a]
        first, tab = tab.iloc[0], tab.iloc[1:]
        assert (first["time"], first["survival"], first["se"], first["ci_low"], first["ci_high"]) == (0, 1, 0, 1, 1)
        np.testing.assert_array_equal(tab["time"], num(ref["time"]))
        np.testing.assert_array_equal(tab["n_at_risk"], num(ref["n_risk"]))
        np.testing.assert_array_equal(tab["n_events"], num(ref["n_event"]))
        np.testing.assert_allclose(tab["survival"], num(ref["surv"]), rtol=CLOSED, atol=1e-15)
        np.testing.assert_allclose(tab["se"], num(ref["std_err"]), rtol=CLOSED)
        np.testing.assert_allclose(tab["ci_low"], num(ref["lower"]), rtol=CLOSED)
        np.testing.assert_allclose(tab["ci_high"], num(ref["upper"]), rtol=CLOSED)
    # the data reach the cases the reference was built for
    ctl = num(R["km"]["0.95"]["control"]["surv"])
    assert ctl[-1] == 0 and np.isnan(num(R["km"]["0.95"]["control"]["upper"])[-1])


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_medians_equal_print_survfit(level):
    """Median and its limits equal summary(survfit)$table (print.survfit), NA = not reached = inf,
    with the upper limit of a curve that falls to 0 closed at that time (see module docstring)."""
    r = analyse(level)
    med = r.medians.set_index("arm")
    for a in ARMS:
        ref = R["km"][f"{level:g}"][a]
        m, lo, hi = num(ref["median_table"])[0], num(ref["lcl_table"])[0], num(ref["ucl_table"])[0]
        assert med.loc[a, "median"] == (np.inf if np.isnan(m) else m), a
        assert (med.loc[a, "reason"] != "") == bool(np.isnan(m))
        assert med.loc[a, "ci_low"] == lo, a
        surv = num(ref["surv"])
        if np.isnan(hi) and surv[-1] == 0:
            # R: NA (log(-log) limit undefined at S = 0); comboplan: the time the curve reaches 0
            assert med.loc[a, "ci_high"] == num(ref["time"])[-1] == 14, a
        else:
            assert med.loc[a, "ci_high"] == (np.inf if np.isnan(hi) else hi), a
    r95 = R["km"]["0.95"]
    # S = 1/2 exactly from day 9 to the next event on day 11: midpoint in both R functions
    assert med.loc["control", "median"] == r95["control"]["median_table"] == r95["control"]["median_quantile"] == 10
    # S = 1/2 exactly from day 12 to the end of follow-up (21): print.survfit 12, quantile.survfit 16.5
    assert med.loc["B", "median"] == r95["B"]["median_table"] == 12
    assert r95["B"]["median_quantile"] == 16.5
    assert med.loc["A+B", "median"] == np.inf and r95["A+B"]["median_table"] == "NA"


@pytest.mark.parametrize("case", R["median_even_n"], ids=lambda c: f"n{c['n']}")
def test_median_where_half_is_hit_with_rounding(case):
    """n animals, one event a day: S = 1/2 after n/2 events is computed as 0.5 +- 1 ulp depending on
    n; the median is the midpoint n/2 + 1/2 for every n, as R."""
    n = case["n"]
    ev = pd.DataFrame({"arm": ["x"] * n + ["y"], "t": [*range(1, n + 1), 1.0], "e": [1] * n + [0]})
    r = survival_analysis(ev, time="t", event="e", arm="arm", control="x")
    assert r.medians.set_index("arm").loc["x", "median"] == case["median_table"] == n / 2 + 0.5


def test_logrank_equals_survdiff():
    """Chi-square, df, p-value and number of events of the overall and pairwise log-rank tests."""
    r = analyse()
    lr = r.logrank.set_index("comparison")
    assert list(lr.index) == list(R["logrank"])
    for name, ref in R["logrank"].items():
        row = lr.loc[name]
        assert row["arms"].split(", ") == sorted(ref["arms"], key=lambda a: (a != "control", a))  # control first, then by label
        assert row["chi2"] == pytest.approx(ref["chisq"], rel=CLOSED)
        assert row["p_value"] == pytest.approx(ref["pvalue"], rel=CLOSED)
        assert row["df"] == ref["df"] and row["n_events"] == ref["n_events"]
    assert lr.loc["all arms", "df"] == 3


@pytest.mark.parametrize("model,covariates", [("arm", ()), ("arm_logv0", ("logv0",))])
def test_cox_equals_coxph_efron(model, covariates):
    """Log hazard ratios, SEs, Wald z and p, hazard ratios and their 95% and 90% limits equal
    coxph(ties = "efron"), with and without a numeric covariate."""
    ref = R["cox"][model]
    assert ref["ties"] == "efron"
    terms = [f"arm[{t[3:]}]" if t.startswith("arm") else t for t in ref["terms"]]
    for level, lo, hi in ((0.95, "lower95", "upper95"), (0.90, "lower90", "upper90")):
        cox = analyse(level, covariates).cox
        assert list(cox["term"]) == terms
        assert (cox["reason"] == "").all()
        for col, key in (("coef", "coef"), ("stderr", "se"), ("z", "z"), ("p_value", "p"),
                         ("hazard_ratio", "hr"), ("ci_low", lo), ("ci_high", hi)):
            np.testing.assert_allclose(cox[col], num(ref[key]), rtol=COX, err_msg=f"{model} {col} {level}")


def test_cox_synergy_equals_coxph_contrast():
    """synergy_cox: coef(A) + coef(B) - coef(A+B) with the Wald SE from vcov(coxph)."""
    s = analyse().synergy_cox.iloc[0]
    ref = R["synergy_cox"]
    assert s["combination"] == "A+B"
    for col, key in (("score", "score"), ("stderr", "se"), ("z", "z"), ("p_value", "p_value"),
                     ("p_synergy", "p_synergy"), ("ci_low", "lower95"), ("ci_high", "upper95")):
        assert s[col] == pytest.approx(ref[key], rel=COX), col
    assert s["synergy_score"] == s["score"]


@pytest.mark.parametrize("scale", ["incidence", "survival"])
def test_bliss_synergy_on_survfit_estimates(scale):
    """Default time grid (every event time up to the shortest follow-up), observed and expected
    probabilities, score, delta-method SE, z, p-values and limits equal the formulas on R's
    Kaplan-Meier estimates and Greenwood variances; NaN exactly where R has NA."""
    ref = R["synergy"][scale]
    syn = analyse(scale=scale).synergy
    assert (syn["combination"] == "A+B").all() and (syn["scale"] == scale).all()
    np.testing.assert_array_equal(syn["time"], num(ref["time"]))
    np.testing.assert_allclose(syn["observed"], num(ref["observed"]), rtol=CLOSED, atol=1e-15)
    np.testing.assert_allclose(syn["expected"], num(ref["expected"]), rtol=CLOSED, atol=1e-15)
    for col, key in (("score", "score"), ("stderr", "se"), ("z", "z"), ("p_value", "p_value"),
                     ("p_synergy", "p_synergy"), ("ci_low", "lower95"), ("ci_high", "upper95")):
        np.testing.assert_allclose(syn[col], num(ref[key]), rtol=CLOSED, atol=1e-15, err_msg=col)
    defined = np.isfinite(num(ref["score"]))
    np.testing.assert_array_equal(syn["reason"] == "", defined)
    assert defined.sum() >= (9 if scale == "incidence" else 1)
