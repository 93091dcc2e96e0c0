"""Bad-input suite (issue 14): every silent wrong result or obscure crash found by fuzzing the
public API is now a named error -- :class:`InvalidParameterError` for an option,
:class:`DataError` for the data -- whose message names the parameter (or column), or a result
that no longer depends on what it must not depend on (row order)."""
import warnings

import numpy as np
import pandas as pd
import pytest

import comboplan as cp
from comboplan._params import Integral, Interval, Real, StrOptions, check_param, validate_params
from comboplan.exceptions import DataError, InvalidParameterError


def _dose_table(seed=0):
    rng = np.random.default_rng(seed)
    d = np.repeat([0, 0.1, 0.3, 1, 3, 10, 30], 3)
    return pd.DataFrame({"dose": d, "resp": 100 / (1 + (d / 2) ** 1.2) + rng.normal(0, 3, d.size)})


@pytest.fixture(scope="module")
def dr_fit():
    return cp.fit_dose_response(_dose_table(), dose="dose", response="resp")


# ---------------------------------------------------------------- the mechanism
def test_invalid_parameter_error_is_a_value_error_distinct_from_data_error():
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, cp.ComboplanError)
    assert not issubclass(InvalidParameterError, DataError) and not issubclass(DataError, InvalidParameterError)
    assert cp.InvalidParameterError is InvalidParameterError and "InvalidParameterError" in cp.__all__


def test_validate_params_message_names_function_parameter_fix_and_value():
    @validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither")],
                      "n": [Interval(Integral, 1, None)],
                      "how": [StrOptions({"two-sided", "less"}), None]})
    def f(data, *, ci_level=0.95, n=1, how=None):
        return "ran"

    with pytest.raises(InvalidParameterError) as e:
        f(1, ci_level=95)
    assert str(e.value) == "f(): ci_level must be a number in (0, 1), e.g. 0.95; got 95 (a percentage? pass 0.95)."
    for bad in (0, 1, float("nan"), True, "0.9"):
        with pytest.raises(InvalidParameterError, match="ci_level"):
            f(1, ci_level=bad)
    for bad in (0, -3, 7.9, 2.0, True):  # integers only: 7.9 is not silently truncated to 7
        with pytest.raises(InvalidParameterError, match="n must be an integer >= 1"):
            f(1, n=bad)
    with pytest.raises(InvalidParameterError, match=r"how must be one of 'less', 'two-sided' or None.*did you mean 'two-sided'"):
        f(1, how="two_sided")
    assert f(1, ci_level=0.9, n=np.int64(3), how="less") == "ran" and f(1) == "ran"
    with pytest.raises(InvalidParameterError, match="seed"):
        check_param(-1, ["seed"], name="seed", func="g")
    with pytest.raises(TypeError, match="no parameter"):
        validate_params({"nope": [None]})(f)


# ---------------------------------------------------------------- dose-response
def test_ecx_level_outside_0_1_is_refused_not_nan_with_status_ok(dr_fit):
    with pytest.raises(InvalidParameterError, match=r"ecx\(\): ci_level must be a number in \(0, 1\).*got 1.5"):
        dr_fit.ecx(50, ci_level=1.5)
    assert np.isfinite(dr_fit.ecx(50, ci_level=0.9)["ci_low"]).all()


def test_ecx_empty_x_is_refused(dr_fit):
    with pytest.raises(InvalidParameterError, match=r"x must be a number or a non-empty list"):
        dr_fit.ecx([])
    with pytest.raises(InvalidParameterError, match="x must be strictly between 0 and 100"):
        dr_fit.ecx(150)


def test_ecx_negative_n_boot_is_refused(dr_fit):
    with pytest.raises(InvalidParameterError, match="n_boot must be an integer >= 1"):
        dr_fit.ecx(50, ci="bootstrap", n_boot=-5)
    with pytest.raises(InvalidParameterError, match="ci must be one of"):
        dr_fit.ecx(50, ci="wald")


def test_ecx_bootstrap_ci_does_not_depend_on_row_order():
    df = _dose_table(1)
    a = cp.fit_dose_response(df, dose="dose", response="resp").ecx(50, ci="bootstrap", n_boot=40, seed=3)
    shuffled = df.sample(frac=1, random_state=7)
    b = cp.fit_dose_response(shuffled, dose="dose", response="resp").ecx(50, ci="bootstrap", n_boot=40, seed=3)
    np.testing.assert_allclose(a[["ci_low", "ci_high"]].to_numpy(), b[["ci_low", "ci_high"]].to_numpy(), rtol=1e-9)


def test_fit_dose_response_by_column_named_like_a_result_column_is_refused():
    df = _dose_table().assign(curve="a")
    with pytest.raises(InvalidParameterError, match=r"by must .*'curve'.*rename"):
        cp.fit_dose_response(df, dose="dose", response="resp", by="curve")
    res = cp.fit_dose_response(df.rename(columns={"curve": "curve_id"}), dose="dose", response="resp", by="curve_id")
    assert not res.params.columns.duplicated().any()


def test_fit_dose_response_options(dr_fit):
    df = _dose_table()
    with pytest.raises(InvalidParameterError, match="ci_level.*got 95"):
        cp.fit_dose_response(df, dose="dose", response="resp", ci_level=95)
    with pytest.raises(InvalidParameterError, match="errors must be one of 'raise', 'warn'"):
        cp.fit_dose_response(df, dose="dose", response="resp", errors="ignore")


def test_compare_with_a_dataframe_names_the_argument(dr_fit):
    df = _dose_table()
    with pytest.raises(InvalidParameterError, match=r"compare\(\): results\[1\] must be a DoseResponseResult.*DataFrame"):
        cp.compare(dr_fit, df)
    with pytest.raises(InvalidParameterError, match=r"results\[1\]"):
        dr_fit.compare(df)
    with pytest.raises(InvalidParameterError, match="two or more"):
        cp.compare(dr_fit)


def test_fit_dose_response_does_not_mutate_the_callers_table():
    df = _dose_table().sample(frac=1, random_state=2)
    before = df.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp.fit_dose_response(df, dose="dose", response="resp").ecx(50, ci="bootstrap", n_boot=10, seed=0)
    pd.testing.assert_frame_equal(df, before)


# ---------------------------------------------------------------- planning
def test_ttest_power_alpha_outside_0_1_is_refused_not_returned_as_power():
    from comboplan.simulate.power import ttest_power

    with pytest.raises(InvalidParameterError, match=r"ttest_power\(\): alpha must be a number in \(0, 1\).*got 2.0"):
        ttest_power(0.8, 10, 2.0)
    assert 0 < ttest_power(0.8, 10, 0.05) < 1


def test_ttest_power_unknown_alternative_is_refused_not_read_as_less():
    from comboplan.simulate.power import ttest_power

    with pytest.raises(InvalidParameterError, match="alternative must be one of 'greater', 'less', 'two-sided'.*'bigger'"):
        ttest_power(0.8, 10, alternative="bigger")
    with pytest.raises(InvalidParameterError, match="n_per_arm must be an integer >= 2.*7.9"):
        ttest_power(0.8, 7.9)
    assert ttest_power(0.8, 10, alternative="greater") > 0.5 > ttest_power(0.8, 10, alternative="less")


def _cohort_model():
    import comboplan.simulate as cs

    g = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0}, size_unit="mm3")
    return cs.PKPDModel(growth=g, effects={}, pk={})


def test_simulate_cohort_days_are_bounded():
    import comboplan.simulate as cs

    with pytest.raises(InvalidParameterError, match=r"simulate_cohort\(\): days must be .* at most 3650.*1000000"):
        cs.simulate_cohort(_cohort_model(), [cs.Arm("control")], [0, 1e6], 2, seed=0)
    with pytest.raises(InvalidParameterError, match="days must be increasing"):
        cs.simulate_cohort(_cohort_model(), [cs.Arm("control")], [0, 14, 7], 2, seed=0)
    with pytest.raises(InvalidParameterError, match="n_animals must be an integer >= 1"):
        cs.simulate_cohort(_cohort_model(), [cs.Arm("control")], [0, 7], 0, seed=0)
    ok = cs.simulate_cohort(_cohort_model(), [cs.Arm("control")], [0, 7, 3650], 2, seed=0)
    assert ok.dataset.sizes["time"] == 3


@pytest.mark.parametrize("edit, key", [("n_per_arm = 7", "n_per_armm = 3"), ("n_per_arm = 7", "n_per_arm = 7.9")])
def test_scenario_file_misspelled_or_mistyped_key_is_refused(tmp_path, edit, key):
    # fixed before this suite (comboplan.simulate.scenario checks keys and TOML types); kept as a regression test
    import comboplan.simulate as cs

    text = open("examples/scenario_paclitaxel.toml").read()
    assert edit in text
    p = tmp_path / "s.toml"
    p.write_text(text.replace(edit, key, 1))
    with pytest.raises(DataError, match="n_per_arm"):
        cs.load_scenario(p)


# ---------------------------------------------------------------- growth
@pytest.fixture(scope="module")
def growth_table():
    rng = np.random.default_rng(4)
    rows = []
    for arm, rate in (("control", 0.12), ("treated", 0.05)):
        for k in range(4):
            for day in (0, 4, 7, 11, 14):
                rows.append(dict(mouse=f"{arm}-{k}", arm=arm, day=day,
                                 vol=100 * np.exp(rate * day + rng.normal(0, 0.08))))
    return pd.DataFrame(rows)


def test_fit_growth_ci_level_as_percent_is_refused_not_all_nan(growth_table):
    with pytest.raises(InvalidParameterError, match=r"fit_growth\(\): ci_level must be .*got 95 \(a percentage\? pass 0.95\)"):
        cp.fit_growth(growth_table, "mouse", "arm", "day", "vol", models=("exponential",), ci_level=95)
    with pytest.raises(InvalidParameterError, match="scale must be one of 'log', 'size'"):
        cp.fit_growth(growth_table, "mouse", "arm", "day", "vol", scale="linear")
    before = growth_table.copy()
    res = cp.fit_growth(growth_table, "mouse", "arm", "day", "vol", models=("exponential",), ci_level=0.9)
    assert np.isfinite(res.params["ci_low"]).all()
    pd.testing.assert_frame_equal(growth_table, before)


def test_fit_growth_mixed_ci_level_as_percent_is_refused(growth_table):
    with pytest.raises(InvalidParameterError, match=r"fit_growth_mixed\(\): ci_level"):
        cp.fit_growth_mixed(growth_table, "mouse", "arm", "day", "vol", ci_level=95)


def test_wide_sheet_with_a_repeated_day_header_is_refused_not_read_as_day_7_1(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text("mouse,group,d0,d7,d7\na,C,1,2,4\nb,T,2,3,5\n")
    with pytest.raises(DataError, match=r"names a column more than once: 'd7' \(columns 4, 5\)"):
        cp.read_growth_wide(p, "mouse", "group")
    frame = pd.concat([pd.DataFrame({"mouse": ["a", "b"], "group": ["C", "T"], "d0": [1, 2], "d7": [2, 3]}),
                       pd.DataFrame({"d7": [4, 5]})], axis=1)
    with pytest.raises(DataError, match=r"\['d7'\] appear more than once"):
        cp.read_growth_wide(frame, "mouse", "group")
    # a genuine half-day column next to its day is still read as such
    q = tmp_path / "half.csv"
    q.write_text("mouse,group,d7,d7.5\na,C,1,2\n")
    assert cp.read_growth_wide(q, "mouse", "group")["day"].tolist() == [7.0, 7.5]


def test_growth_endpoints_and_invivo_synergy_refuse_negative_n_boot_and_percent_ci(growth_table):
    with pytest.raises(InvalidParameterError, match=r"growth_endpoints\(\): n_boot must be an integer >= 0.*got -5"):
        cp.growth_endpoints(growth_table, "mouse", "arm", "day", "vol", control="control", n_boot=-5)
    with pytest.raises(InvalidParameterError, match=r"growth_endpoints\(\): ci_level .*got 95"):
        cp.growth_endpoints(growth_table, "mouse", "arm", "day", "vol", control="control", ci_level=95)
    with pytest.raises(InvalidParameterError, match=r"invivo_synergy\(\): n_boot must be an integer >= 0"):
        cp.invivo_synergy(growth_table, "mouse", "arm", "day", "vol", control="control", n_boot=-1)


# ---------------------------------------------------------------- combination
def _sf(**cols):
    base = dict(BlockID=1, DrugRow="A", DrugCol="B", ConcRow=[0, 1, 1000, 0], ConcCol=[0, 1, 0, 1],
                Response=[0, 50, 30, 20], ConcRowUnit="uM", ConcColUnit="uM")
    base.update(cols)
    return pd.DataFrame(base)


def test_synergyfinder_mixed_units_in_one_block_are_refused():
    with pytest.raises(DataError, match=r"block 1: drug 'A' has concentrations in more than one unit: 'uM'.*'nM'.*ConcRowUnit"):
        cp.read_synergyfinder(_sf(ConcRowUnit=["uM", "uM", "nM", "uM"]))
    # the same drug in another unit in another block (another screen) is allowed
    two = pd.concat([_sf(), _sf(BlockID=2, ConcRowUnit="nM")], ignore_index=True)
    assert set(cp.read_synergyfinder(two)["conc_row_unit"]) == {"uM", "nM"}


def test_synergyfinder_negative_concentrations_are_refused():
    with pytest.raises(DataError, match=r"column 'ConcRow' .*must be >= 0.*first at row 1.*log10"):
        cp.read_synergyfinder(_sf(ConcRow=[0, -1, 1, 0]))
    frame = _sf()
    before = frame.copy()
    cp.read_synergyfinder(frame)
    pd.testing.assert_frame_equal(frame, before)


def _combo_table():
    rng = np.random.default_rng(0)
    rows = [dict(A=a, B=b, inh=100 * (1 - (1 / (1 + a / 3)) * (1 / (1 + b / 3))) + rng.normal(0, 4), rep=r)
            for a in (0, 1, 3, 10.0) for b in (0, 1, 3, 10.0) for r in range(3)]
    return pd.DataFrame(rows)


def test_equivalent_dose_incomplete_combination_is_refused_not_filled_with_0():
    df = _combo_table()
    with pytest.raises(InvalidParameterError,
                       match=r"equivalent_dose\(\): combination must be a dict giving a dose for every dose column \(\['B'\] missing\).*'B': 0"):
        cp.equivalent_dose(df, ["A", "B"], "inh", agent="A", combination={"A": 3}, replicate="rep", n_boot=0)
    with pytest.raises(InvalidParameterError, match=r"combination must be a dict over the dose columns only \(\['C'\]"):
        cp.equivalent_dose(df, ["A", "B"], "inh", agent="A", combination={"A": 3, "B": 3, "C": 1}, replicate="rep")
    with pytest.raises(InvalidParameterError, match="n_boot must be an integer >= 0"):
        cp.equivalent_dose(df, ["A", "B"], "inh", agent="A", combination={"A": 3, "B": 3}, replicate="rep", n_boot=-1)
    ok = cp.equivalent_dose(df, ["A", "B"], "inh", agent="A", combination={"A": 3, "B": 0}, replicate="rep", n_boot=0)
    assert ok["combination"].iloc[0] == "A=3, B=0"


def test_synergy_negative_n_boot_and_percent_ci_are_refused():
    df = _combo_table()
    with pytest.raises(InvalidParameterError, match=r"synergy\(\): n_boot must be an integer >= 0.*got -3"):
        cp.synergy(df, ["A", "B"], "inh", replicate="rep", methods=("bliss",), n_boot=-3)
    with pytest.raises(InvalidParameterError, match=r"synergy\(\): ci_level must be a number in \(0, 1\).*got 95"):
        cp.synergy(df, ["A", "B"], "inh", replicate="rep", methods=("bliss",), ci_level=95)
    with pytest.raises(InvalidParameterError, match=r"fit_musyc\(\): n_boot"):
        cp.fit_musyc(df, ["A", "B"], "inh", replicate="rep", n_boot=-1, response_kind="inhibition", scale="percent")


@pytest.mark.parametrize("method", ["bliss", "loewe"])
def test_synergy_bootstrap_does_not_depend_on_row_order(method):
    df = _combo_table()
    df = pd.concat([df.assign(blk="x"), df.assign(blk="y", inh=df.inh + 1)], ignore_index=True)
    kw = dict(replicate="rep", by="blk", methods=(method,), n_boot=40, seed=1, inference="bootstrap")
    a = cp.synergy(df, ["A", "B"], "inh", **kw).blocks
    shuffled = df.sample(frac=1, random_state=5)
    before = shuffled.copy()
    b = cp.synergy(shuffled, ["A", "B"], "inh", **kw).blocks
    pd.testing.assert_frame_equal(shuffled, before)                 # the caller's table is not modified
    assert a["blk"].tolist() == b["blk"].tolist() == ["x", "y"]
    cols = ["mean", "ci_low", "ci_high", "p_value"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-12)
