"""Published worked examples of the median-effect / combination-index method, reproduced
to the printed digits.

Source: Lee JJ, Kong M (2009). Confidence intervals of interaction index for assessing
multiple drug interaction. Statistics in Biopharmaceutical Research 1(1):4-17,
doi:10.1198/sbr.2009.0001 (open access: PMC2796809), Section 4.2,
Table 2 (UMSCC22B cells, SCH66336 + 4-HPR at the 1:1 ray) and Table 3 (o-phenanthroline +
ADP at the 17.4:1 ray).  Both tables print the raw dose-effect data, the median-effect
regression of ``logit(response)`` on ``log(dose)`` (natural logs) for each agent and for
the mixture (intercept +- SE, slope +- SE, median dose, residual SD), and Table 2 also the
interaction index (= Chou-Talalay mutually exclusive CI) with 95 % interval at each observed
combination.  The journal page of each table could not be checked from this environment
(article pages 4-17); provenance and what is (not) asserted: tests/reference/chou_talalay/
README.md.

Conventions mapped to comboplan:
* median-effect slope ``m`` and median dose ``Dm`` do not depend on the log base; the
  printed intercept is on the natural-log scale, ``-m ln Dm`` for an inhibition response
  (Table 3) and ``+m ln Dm`` with slope ``-m`` for a survival response (Table 2, where
  ``logit(fu) = -logit(fa)``);
* the mixture's median dose is in total dose of the mixture;
* the printed interaction index is ``d1/Dx1 + d2/Dx2``, comboplan's mutually exclusive CI.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan.models.combination import chou_talalay as ct

REF = Path(__file__).parent / "reference" / "chou_talalay"
LN10 = np.log(10.0)


def assert_printed(value, printed: str, what: str):
    """``value`` rounds to the printed string (half a unit of its last digit)."""
    dec = -Decimal(printed).as_tuple().exponent
    tol = 0.5 * 10.0 ** (-dec) + 1e-12
    assert abs(float(value) - float(printed)) <= tol, (
        f"{what}: comboplan {float(value):.6g} does not round to printed {printed}")


@pytest.fixture(scope="module")
def umscc22b():
    df = pd.read_csv(REF / "lee_kong_2009_umscc22b.csv")
    res = cp.chou_talalay(df, ["SCH66336", "4-HPR"], "survival", response_kind="viability",
                          scale="fraction", dose_units={"SCH66336": "uM", "4-HPR": "uM"})
    return df, res


@pytest.fixture(scope="module")
def phenanthroline_adp():
    df = pd.read_csv(REF / "lee_kong_2009_phenanthroline_adp.csv")
    res = cp.chou_talalay(df, ["o-phenanthroline", "ADP"], "inhibition",
                          response_kind="inhibition", scale="fraction")
    return df, res


# Printed values as typeset (strings keep the printed number of digits).
# Order: agent 1, agent 2, mixture (median dose of the mixture in total dose).
TABLE2 = {  # response = fractional survival, so slope = -m and intercept = +m ln Dm
    "intercept": ["0.094", "0.217", "-0.225"],
    "intercept_se": ["0.085", "0.073", "0.092"],
    "slope": ["-0.335", "-0.398", "-0.596"],
    "slope_se": ["0.066", "0.058", "0.082"],
    "median_dose": ["1.326", "1.726", "0.686"],
    "residual_sd": ["0.187", "0.129", "0.182"],
}
TABLE3 = {  # response = fractional inhibition, so slope = m and intercept = -m ln Dm
    "intercept": ["-4.696", "-0.601", "-3.843"],
    "intercept_se": ["0.145", "0.079", "0.038"],
    "slope": ["1.302", "1.178", "1.739"],
    "slope_se": ["0.046", "0.127", "0.012"],
    "median_dose": ["36.803", "1.666", "9.117"],
    "residual_sd": ["0.058", "0.161", "0.015"],
}
# Table 2: interaction index at the four observed 1:1 combinations
# (0.1+0.1, 0.5+0.5, 1+1, 2+2 uM) and its printed 95 % interval.
TABLE2_INDEX = ["0.791", "0.609", "0.256", "0.103"]
TABLE2_INTERVAL = [("0.202", "3.091"), ("0.169", "2.193"), ("0.060", "1.087"), ("0.018", "0.581")]


def _ordered_params(res, agents):
    p = res.params
    rows = [p[(p["kind"] == "agent") & (p["entity"] == a)].iloc[0] for a in agents]
    mix = p[p["kind"] == "mixture"]
    assert len(mix) == 1
    return rows + [mix.iloc[0]]


@pytest.mark.parametrize("case", ["table2", "table3"])
def test_lee_kong_2009_median_effect_parameters(case, umscc22b, phenanthroline_adp):
    """Lee & Kong (2009) Stat Biopharm Res 1:4-17, Tables 2 and 3: slope (m), its SE,
    median dose (Dm) and intercept of the median-effect fits of each agent and of the
    fixed-ratio mixture, from comboplan's public ``chou_talalay`` result table."""
    if case == "table2":
        (_, res), agents, printed, sign = umscc22b, ["SCH66336", "4-HPR"], TABLE2, -1.0
    else:
        (_, res), agents, printed, sign = phenanthroline_adp, ["o-phenanthroline", "ADP"], TABLE3, 1.0
    rows = _ordered_params(res, agents)
    for k, row in enumerate(rows):
        name = f"{case} {row['entity']}"
        assert_printed(sign * row["m"], printed["slope"][k], name + " slope")
        assert_printed(row["m_se"], printed["slope_se"][k], name + " slope SE")
        assert_printed(row["Dm"], printed["median_dose"][k], name + " median dose")
        assert_printed(-sign * row["m"] * np.log(row["Dm"]), printed["intercept"][k], name + " intercept")
        assert row["n"] == (4 if (case == "table2" and k > 0) else 5)
    if case == "table3":
        assert rows[2]["ratio"] == f"{17.4 / 18.4:g}:{1 / 18.4:g}"


@pytest.mark.parametrize("case", ["table2", "table3"])
def test_lee_kong_2009_regression_se_and_residual_sd(case, umscc22b, phenanthroline_adp):
    """Lee & Kong (2009) Tables 2 and 3: intercept SE and residual SD of the median-effect
    regressions.  The public result table has no column for these two, so this checks the
    model-level ``median_effect_fit`` (log10 scale, converted to natural logs) that feeds the
    delta-method intervals of ``chou_talalay``."""
    if case == "table2":
        (df, _), agents, resp, printed = umscc22b, ["SCH66336", "4-HPR"], "survival", TABLE2
        fa = 1.0 - df[resp].to_numpy()
    else:
        (df, _), agents, resp, printed = phenanthroline_adp, ["o-phenanthroline", "ADP"], "inhibition", TABLE3
        fa = df[resp].to_numpy()
    d = df[agents].to_numpy()
    sel = [(d[:, 0] > 0) & (d[:, 1] == 0), (d[:, 0] == 0) & (d[:, 1] > 0), (d[:, 0] > 0) & (d[:, 1] > 0)]
    doses = [d[sel[0], 0], d[sel[1], 1], d[sel[2]].sum(axis=1)]
    L = max(len(x) for x in doses)
    X = np.full((3, L), np.nan)
    Y = np.full((3, L), np.nan)
    for i, s in enumerate(sel):
        X[i, : s.sum()] = doses[i]
        Y[i, : s.sum()] = fa[s]
    fit = ct.median_effect_fit(X, Y, np.isfinite(X))
    for k in range(3):
        name = f"{case} curve {k}"
        assert_printed(np.sqrt(fit["cov"][k, 0, 0]) * LN10, printed["intercept_se"][k], name + " intercept SE")
        assert_printed(fit["sigma"][k] * LN10, printed["residual_sd"][k], name + " residual SD")
        assert_printed(np.sqrt(fit["cov"][k, 1, 1]), printed["slope_se"][k], name + " slope SE")


def test_lee_kong_2009_table2_interaction_index(umscc22b):
    """Lee & Kong (2009) Table 2: interaction index (Chou-Talalay CI, mutually exclusive)
    at the four observed SCH66336 + 4-HPR combinations, to the 3 printed decimals."""
    _, res = umscc22b
    pts = res.points.sort_values("SCH66336").reset_index(drop=True)
    assert pts["SCH66336"].tolist() == [0.1, 0.5, 1.0, 2.0]
    assert np.allclose(pts["4-HPR"], pts["SCH66336"])
    for k, printed in enumerate(TABLE2_INDEX):
        assert_printed(pts["CI"].iloc[k], printed, f"interaction index, row {k + 1}")
    # the observed fa are 1 - printed survival
    assert np.allclose(pts["fa"], 1 - np.array([0.6539, 0.4919, 0.3551, 0.2341]))


_ROW1_LOW_REASON = (
    "comboplan (Lee & Kong's own rule: delta method on log CI, fit covariance plus the "
    "df-pooled residual variance of the single-agent fits for the observed response, t with "
    "sum(n_i - 2) = 5 df) gives 0.2026 for row 1's lower limit; the transcription of the "
    "paper prints 0.202, while the other 7 printed limits are reproduced to 3 decimals.  "
    "Not explained without the original table (a typo or truncation is possible); kept as a "
    "strict xfail so that a change of the interval method is noticed.")


@pytest.mark.parametrize("row,bound", [
    pytest.param(r, b, marks=pytest.mark.xfail(strict=True, reason=_ROW1_LOW_REASON)) if (r, b) == (0, 0)
    else (r, b) for r in range(4) for b in (0, 1)])
def test_lee_kong_2009_table2_interaction_index_interval(row, bound, umscc22b):
    """Lee & Kong (2009) Table 2: printed 95 % interval of the interaction index at each
    observed combination, to the 3 printed decimals (7 of 8 limits; row 1's lower limit is
    a documented strict xfail: 0.2026 vs printed 0.202)."""
    _, res = umscc22b
    pts = res.points.sort_values("SCH66336").reset_index(drop=True)
    col = ("CI_ci_low", "CI_ci_high")[bound]
    assert_printed(pts[col].iloc[row], TABLE2_INTERVAL[row][bound], f"row {row + 1} {col}")


def test_lee_kong_2009_row1_lower_limit_is_off_by_rounding_only(umscc22b):
    """The one limit not reproduced differs from the printed 0.202 by 0.0006 (0.2026): pin it,
    so the strict xfail above stays about the printed digit and not about a method change."""
    _, res = umscc22b
    low = res.points.sort_values("SCH66336")["CI_ci_low"].iloc[0]
    assert abs(low - 0.2026) < 5e-5 and abs(low - float(TABLE2_INTERVAL[0][0])) < 1e-3
