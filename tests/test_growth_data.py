"""Validation, wide reading, relative size and log rules of comboplan.growth.data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from comboplan.exceptions import DataError
from comboplan.growth.data import read_growth_wide, validate_growth


def _df():
    return pd.DataFrame({
        "mouse": ["a", "a", "a", "b", "b", "b", "c", "c", "d", "d"],
        "group": ["C", "C", "C", "C", "C", "C", "T", "T", "T", "T"],
        "day": [0, 7, 14, 0, 7, 14, 0, 7, 0, 7],
        "vol": [100.0, 200, 400, 50, 75, 150, 80, 60, 120, 90],
    }, index=[f"r{i}" for i in range(10)])


def test_valid_table_and_not_mutated():
    df = _df()
    before = df.copy()
    gd = validate_growth(df, "mouse", "group", "day", "vol")
    pd.testing.assert_frame_equal(df, before)
    assert gd.n_subjects == 4 and gd.n_arms == 2 and gd.size_unit == "mm^3"
    np.testing.assert_allclose(gd.relative_size()[:3], [1.0, 2.0, 4.0])
    np.testing.assert_allclose(gd.relative_size(scale="percent")[3:6], [100.0, 150.0, 300.0])
    assert list(gd.animals_per_arm) == [2, 2]
    assert gd.last_common_time() == 7.0


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.assign(vol=d["vol"].where(d.index != "r4", -5.0)), ["'vol'", ">= 0", "'r4'"]),
    (lambda d: pd.concat([d, d.loc[["r1"]].rename(index={"r1": "dup"})]), ["repeat", "'dup'", "'r1'"]),
    (lambda d: d.assign(group=d["group"].where(d.index != "r2", "T")), ["two arms", "'a'", "unique"]),
    (lambda d: d.assign(day=d["day"].astype(object).where(d.index != "r5", "day 14")), ["'day'", "numeric", "'r5'"]),
    (lambda d: d.assign(group=d["group"].where(~d.index.isin(["r8", "r9"]), "X")), ["1 animal", "'T'"]),
    (lambda d: d.assign(vol=d["vol"].where(d.index != "r7", 0.0)), ["lloq", "'r7'", "never adds 1"]),
    (lambda d: d.assign(vol=d["vol"].where(d.index != "r7", np.nan)), ["missing", "'r7'"]),
])
def test_bad_inputs_raise_clear_errors(mutate, words):
    with pytest.raises(DataError) as e:
        validate_growth(mutate(_df()), "mouse", "group", "day", "vol")
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_dates_and_kind_errors():
    d = _df().assign(day=pd.to_datetime("2024-01-01") + pd.to_timedelta(_df()["day"], unit="D"))
    with pytest.raises(DataError, match="days since"):
        validate_growth(d, "mouse", "group", "day", "vol")
    with pytest.raises(DataError, match="kind"):
        validate_growth(_df(), "mouse", "group", "day", "vol", kind="weight")


def test_lloq_left_censoring_and_log_rules():
    d = _df()
    d.loc["r7", "vol"] = 0.0
    gd = validate_growth(d, "mouse", "group", "day", "vol", lloq=10.0)
    assert gd.censored.sum() == 1
    v, use = gd.log_size("lloq")
    i = np.flatnonzero(gd.censored)[0]
    assert v[i] == pytest.approx(np.log(10.0)) and use.all()
    v, _ = gd.log_size("half-lloq")
    assert v[i] == pytest.approx(np.log(5.0))
    _, use = gd.log_size("drop")
    assert not use[i] and use.sum() == gd.n_obs - 1
    # baseline undetectable -> relative size undefined
    d.loc["r6", "vol"] = 0.0
    gd = validate_growth(d, "mouse", "group", "day", "vol", lloq=10.0)
    with pytest.raises(DataError, match="baseline"):
        gd.relative_size()


def test_dropout_column():
    d = _df().assign(why="")
    d.loc["r7", "why"] = "Necrosis"
    gd = validate_growth(d, "mouse", "group", "day", "vol", dropout="why")
    tab = gd.dropout_table()
    assert tab.set_index("subject").loc["c", "dropout_reason"] == "necrosis"
    assert gd.dropout_time[list(gd.subjects).index("c")] == 7.0
    assert np.isnan(gd.dropout_time[list(gd.subjects).index("a")])
    d.loc["r6", "why"] = "death"
    with pytest.raises(DataError, match="two different reasons"):
        validate_growth(d, "mouse", "group", "day", "vol", dropout="why")


def test_read_growth_wide_round_trip():
    wide = pd.DataFrame({"mouse": ["a", "b", "c", "d"], "group": ["C", "C", "T", "T"],
                         "Day 0": [100, 50, 80, 120], "day7": [200, 75, 60, 90], "D14": [400, 150, None, "NA"]})
    before = wide.copy()
    long = read_growth_wide(wide, "mouse", "group")
    pd.testing.assert_frame_equal(wide, before)
    assert long.attrs["dropped_cells"] == 2
    assert list(long.columns[:4]) == ["mouse", "group", "day", "size"]
    gd = validate_growth(long, "mouse", "group", "day", "size")
    ref = validate_growth(_df(), "mouse", "group", "day", "vol")
    order = np.lexsort((gd.time, gd.subjects[gd.subject_idx].astype(str)))
    order_r = np.lexsort((ref.time, ref.subjects[ref.subject_idx].astype(str)))
    np.testing.assert_allclose(gd.size[order], ref.size[order_r])
    with pytest.raises(DataError, match="not a number"):
        read_growth_wide(wide.assign(D14=[1, 2, "necrosis", 3]), "mouse", "group")
    with pytest.raises(DataError, match="no measurement columns"):
        read_growth_wide(wide[["mouse", "group"]].assign(x=1), "mouse", "group")


def test_read_growth_wide_from_csv(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text("mouse,group,d0,d7\n1,A,10,20\n2,A,12,30\n")
    long = read_growth_wide(p, "mouse", "group")
    assert long["day"].tolist() == [0.0, 7.0, 0.0, 7.0]
