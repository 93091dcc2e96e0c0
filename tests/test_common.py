"""One contract for every result (DESIGN.md section 8, issue 14 items 1 and 6).

Each public fit / analysis function runs once on small bundled or simulated data (module-scoped
cache), and every result answers the same checks:

* the input DataFrame is not modified;
* the same seed gives the same result, also with the input rows permuted;
* ``summary()`` is a non-empty str;
* ``to_xarray()`` carries a ``units`` attribute on every data variable;
* ``to_netcdf(path)`` -> ``comboplan.load_result(path)`` gives back equal tables and summary;
* ``plot(kind=..., ax=None)`` returns a matplotlib Axes (Agg backend), and an unknown kind raises.

Bayesian fits sample with PyMC's ``mock_sample`` (prior draws): the wiring is what is tested here.
"""
from __future__ import annotations

import dataclasses
import functools
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import comboplan as cp  # noqa: E402
import comboplan.simulate as cs  # noqa: E402
from comboplan.exceptions import ComboplanError, ComboplanWarning  # noqa: E402
from comboplan.models.dose_response import hill  # noqa: E402
from comboplan.models.pk import Regimen, paclitaxel_mouse  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning"),
    pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning"),
]


# ===================================================================================== data
def _grid(seed=1, reps=3, sd=3.0, excess=6.0):
    rng = np.random.default_rng(seed)
    rows = []
    for a in (0, 0.1, 0.3, 1, 3, 10.0):
        for b in (0, 0.2, 0.6, 2, 6, 20.0):
            f1, f2 = hill(a, 0, 1, 1, 1.2), hill(b, 0, 0.8, 2, 1.0)
            e = 100 * (1 - (1 - f1) * (1 - f2)) + (excess if a > 0 and b > 0 else 0)
            for r in range(reps):
                inh = float(np.clip(e + rng.normal(0, sd), 0.5, 99.5))
                rows.append(dict(A=a, B=b, inh=inh, v=1 - inh / 100, rep=r))
    return pd.DataFrame(rows)


def _gr_data(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for line, (ginf, ec, h) in {"L1": (-0.3, 0.5, 1.5), "L2": (0.2, 2.0, 1.0)}.items():
        for d in (0.01, 0.03, 0.1, 0.3, 1, 3, 10.0):
            for _ in range(3):
                g = ginf + (1 - ginf) / (1 + (d / ec) ** h) + rng.normal(0, 0.03)
                rows.append({"line": line, "dose": d, "GR": g})
    return pd.DataFrame(rows)


def _mtt():
    d = cp.load_dataset("karimi2025_mtt_synthetic")
    return d[["time_h", "experiment", "well", "dose_ug_per_mL", "viability_pct"]]


def _xenograft():
    d = cp.load_dataset("eiro2024_xenograft_synthetic")
    return d[["mouse", "arm", "day", "lum_ps", "dropout"]]


XCOLS = dict(subject="mouse", arm="arm", time="day", size="lum_ps", kind="luminescence")
XDESIGN = {"control": [], "CM-hUCESC_chemo": ["CM"], "paclitaxel": ["PTX"],
           "paclitaxel + CM-hUCESC_chemo": ["CM", "PTX"]}


def _bodyweight():
    rows = []
    rng = np.random.default_rng(4)
    for arm, drop in (("vehicle", 0.0), ("ptx", 0.04)):
        for k in range(5):
            w = 20 + rng.normal(0, 1)
            for t in (0, 2, 4, 6, 8):
                rows.append((f"{arm}{k}", arm, float(t), w * (1 + 0.01 * t - drop * t * (1 + 0.3 * rng.random()))))
    return pd.DataFrame(rows, columns=["mouse", "group", "day", "bw"])


PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
PTX = Regimen.from_schedule(10, "mg/kg", "weekly from day 0 to 21", route="ip", agent="paclitaxel")
SEC = cs.secretome("naive", "3x/week from day 0 to 21")
ARMS = [cs.Arm("control"), cs.Arm("ptx", [PTX]), cs.Arm("cm", [], [SEC]), cs.Arm("combo", [PTX], [SEC])]


def _pkpd(gamma=0.5):
    return cs.PKPDModel(growth=cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 100.0}),
                        effects={"paclitaxel": cs.Effect("paclitaxel", 0.629), "secretome": cs.Effect("secretome", 0.02)},
                        interaction=cs.Interaction(gamma=gamma), pk={"paclitaxel": PK})


SIMKW = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("luminescence", cv=0.4))


def _draws():
    rng = np.random.default_rng(0)
    return cs.ParameterDraws({"interaction.gamma": rng.normal(0.5, 0.3, 8)}, source="test")


def _tgi_data():
    from test_tgi import study  # the simulated study of tests/test_tgi.py

    return study(1, n=4)


def _bw_dosing():
    return {"vehicle": None, "ptx40": Regimen.from_schedule(40, "mg/kg", "daily x5 from day 0", route="ip",
                                                          agent="paclitaxel")}


def _bw_study():
    truth = cs.BodyWeightModel(kout=0.25, emax=0.9, ec50=2.0, ke0=1.0)
    sim = cs.simulate_body_weight(_bw_dosing(), PK, np.arange(0.0, 11.0, 2.0), truth, n_animals=4,
                                  variability=cs.Variability({"bw0": 0.1}), residual_cv=0.02, seed=3)
    return sim.to_frame()


def _ni_data():
    veh, ref, cand = cs.Arm("vehicle"), cs.Arm("ptx10", [PTX]), cs.Arm("ptx5+cm", [PTX.with_amount(5)], [SEC])
    res = cs.simulate_cohort(_pkpd(0.0), [veh, ref, cand], [0, 7, 14], 6, readout=cs.Readout("volume", cv=0.3),
                             seed=5, common_animals=False)
    df = res.to_frame()
    df["animal"] = df["scenario"] + "-" + df["animal"].astype(str)
    return df[["animal", "scenario", "day", "observed"]].rename(columns={"scenario": "arm", "observed": "size"})


@pytest.fixture
def mock_pymc(monkeypatch):
    """pymc.sample replaced by prior draws (pymc.testing.mock_sample)."""
    import pymc as pm
    from pymc.testing import mock_sample

    ss = {"diverging": lambda size: np.zeros(size, dtype=bool)}
    monkeypatch.setattr(pm, "sample", functools.partial(mock_sample, sample_stats=ss))


# ===================================================================================== cases
@dataclasses.dataclass(frozen=True)
class Case:
    """One public function on its data: ``run(data, seed)`` -> result."""

    run: object
    data: object = None          # () -> DataFrame, or None when the function takes no table
    seeded: bool = False         # the function draws random numbers (seed= matters)
    kinds: tuple = ()            # plot kinds to try (the first is the default)
    tables: tuple = ()           # main tables compared after the netCDF round trip
    bayes: bool = False          # needs the mock sampler
    partial_reload: bool = False  # the file keeps the main tables only (TGIFit: no data, no predictions)


CASES = {
    "fit_dose_response": Case(
        lambda d, s: cp.fit_dose_response(d, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                                          model="hill4", fixed={"e0": 100.0, "einf": 0.0}, dose_unit="ug/mL",
                                          response_unit="%"),
        _mtt, kinds=("curves",), tables=("params",)),
    "fit_dose_response_shared": Case(
        lambda d, s: cp.fit_dose_response_shared(d, dose="dose_ug_per_mL", response="viability_pct", by="time_h",
                                                 shared=["e0", "einf", "h"], dose_unit="ug/mL", response_unit="%"),
        _mtt, kinds=("curves",), tables=("params",)),
    "fit_gr": Case(lambda d, s: cp.fit_gr(d, dose="dose", gr="GR", by="line", dose_unit="uM"), _gr_data,
                   kinds=("curves",), tables=("metrics", "params", "values")),
    "synergy": Case(
        lambda d, s: cp.synergy(d, ["A", "B"], "inh", methods=("bliss", "hsa", "loewe", "zip"), replicate="rep",
                                n_boot=30, seed=s),
        _grid, seeded=True, kinds=("heatmap", "surface"), tables=("cells", "blocks", "monotherapy")),
    "chou_talalay": Case(lambda d, s: cp.chou_talalay(d, ["A", "B"], "inh", replicate="rep"), _grid,
                         kinds=("fa_ci", "isobologram", "median_effect"),
                         tables=("params", "points", "levels", "isobologram")),
    "fit_musyc": Case(lambda d, s: cp.fit_musyc(d, ["A", "B"], "v", replicate="rep", n_boot=8, seed=s), _grid,
                      seeded=True, kinds=("heatmap", "surface"), tables=("params", "fit")),
    "score_matrix": Case(lambda d, s: cp.score_matrix(d.A.to_numpy(), d.B.to_numpy(), d.inh.to_numpy(),
                                                      method="loewe"),
                         lambda: _grid(reps=1, sd=0.0), kinds=("heatmap",), tables=()),
    "fit_braid": Case(lambda d, s: cp.fit_braid(d, doses=["A", "B"], response="v", replicate="rep", n_boot=8, seed=s),
                      _grid, seeded=True, kinds=("surface", "excess", "observed"), tables=("params", "blocks", "cells", "fit")),
    "fit_zimmer": Case(lambda d, s: cp.fit_zimmer(d, doses=["A", "B"], response="v", replicate="rep", n_boot=8,
                                                  seed=s),
                       _grid, seeded=True, kinds=("surface", "excess"), tables=("params", "blocks", "cells", "fit")),
    "fit_growth": Case(lambda d, s: cp.fit_growth(d, **XCOLS, models=("exponential", "gompertz")), _xenograft,
                       kinds=("curves",), tables=("params", "fits", "comparison", "arm_summary")),
    "fit_growth_mixed": Case(lambda d, s: cp.fit_growth_mixed(d, **XCOLS, dropout="likelihood"), _xenograft,
                             kinds=("rates", "residuals", "qq"), tables=("rates", "variance", "animals", "residuals")),
    "growth_endpoints": Case(lambda d, s: cp.growth_endpoints(d, **XCOLS, control="control", at=14.0, n_boot=40,
                                                              seed=s),
                             _xenograft, seeded=True, kinds=("waterfall",), tables=("animals", "arms", "mrecist")),
    "compare_arms": Case(lambda d, s: cp.compare_arms(d, **XCOLS, reference="paclitaxel",
                                                      candidate="paclitaxel + CM-hUCESC_chemo", at=14.0),
                         _xenograft, kinds=("interval",), tables=("table",)),
    "invivo_synergy": Case(lambda d, s: cp.invivo_synergy(d, **XCOLS, control="control", design=XDESIGN, n_boot=20,
                                                          seed=s),
                           _xenograft, seeded=True, kinds=("over_time",), tables=("scores", "over_time", "rates", "bootstrap")),
    "time_to_event": Case(lambda d, s: cp.time_to_event(d, **XCOLS, control="control", fold=4.0), _xenograft,
                          kinds=("km",), tables=("events", "km", "medians", "logrank", "cox")),
    "bodyweight_endpoints": Case(lambda d, s: cp.growth.bodyweight_endpoints(d, subject="mouse", arm="group",
                                                                             time="day", weight="bw"),
                                 _bodyweight, kinds=("change", "km"), tables=("changes", "nadir", "endpoint", "km")),
    "fit_tgi": Case(lambda d, s: cp.fit_tgi(d, subject="mouse", arm="arm", time="day", size="volume",
                                            treatments=_tgi_arms(), pk=_tgi_pk()),
                    _tgi_data, kinds=("individual", "cwres"), tables=("population", "individual"), partial_reload=True),
    "bayes.fit_growth": Case(
        lambda d, s: cp.bayes.fit_growth(d, subject="mouse", arm="arm", time="day", size="lum_ps",
                                         interaction={"control": "control", "A": "CM-hUCESC_chemo", "B": "paclitaxel",
                                                      "AB": "paclitaxel + CM-hUCESC_chemo"}, sampler="pymc", draws=20,
                                         chains=2, seed=s, check=False),
        _xenograft, seeded=True, kinds=("fit", "rates"), tables=("params",), bayes=True),
    "bayes.fit_dose_response": Case(
        lambda d, s: cp.bayes.fit_dose_response(d, dose="dose", response="viability", group="experiment",
                                                sampler="pymc", draws=20, chains=2, seed=s, check=False,
                                                dose_unit="uM"),
        lambda: cp.bayes.simulate_dose_response_study(5, n_groups=2, replicates=2), seeded=True, kinds=("curves",),
        tables=("params",), bayes=True),
    "fit_tgi_bayes": Case(
        lambda d, s: cp.fit_tgi_bayes(d, subject="mouse", arm="arm", time="day", size="volume", treatments=_tgi_arms(),
                                      pk=_tgi_pk(), sampler="pymc", draws=20, tune=20, chains=2, seed=s, check=False),
        _tgi_data, seeded=True, kinds=("individual",), tables=("population", "individual", "predictions"), bayes=True),
    "simulate_cohort": Case(lambda d, s: cs.simulate_cohort(_pkpd(), ARMS, [0, 7, 14], 4, seed=s, **SIMKW),
                            seeded=True, kinds=("trajectories",), tables=()),
    "study_power": Case(lambda d, s: cs.study_power(_pkpd(), ARMS, 4, [0, 7, 14], n_studies=20, seed=s, **SIMKW),
                        seeded=True, kinds=("power",), tables=("table",)),
    "assurance": Case(lambda d, s: cs.assurance(_pkpd(), ARMS, 4, [0, 7, 14], draws=_draws(), studies_per_draw=3,
                                                n_studies=24, seed=s, **SIMKW),
                      seeded=True, kinds=("power",), tables=("table",)),
    "noninferiority_design": Case(
        lambda d, s: cs.noninferiority_design(_pkpd(0.0), reference_arm=cs.Arm("ptx10", [PTX]),
                                              candidate_arm=cs.Arm("ptx5+cm", [PTX.with_amount(5)], [SEC]),
                                              vehicle_arm=cs.Arm("vehicle"), days=[0, 7, 14], n_values=[5],
                                              n_studies=10, seed=s, readout=cs.Readout("volume", cv=0.4)),
        seeded=True, kinds=("power",), tables=("table",)),
    "noninferiority_analysis": Case(
        lambda d, s: cs.noninferiority_analysis(d, subject="animal", arm="arm", time="day", size="size",
                                                reference="ptx10", candidate="ptx5+cm", vehicle="vehicle", day=14),
        _ni_data, kinds=("interval",), tables=("table",)),
    "dose_reduction": Case(
        lambda d, s: cs.dose_reduction(_pkpd(), [5, 10], companions={"none": None, "cm": SEC}, days=(14.0,),
                                       n_animals=30, variability=cs.Variability({"lambda0": 0.2}), seed=s),
        seeded=True, kinds=("efficacy",), tables=("table", "minimum_dose")),
    "simulate_body_weight": Case(
        lambda d, s: cs.simulate_body_weight(_bw_dosing(), PK, np.arange(0.0, 11.0, 2.0),
                                             cs.BodyWeightModel(kout=0.25, emax=0.9, ec50=2.0, ke0=1.0), n_animals=3,
                                             variability=cs.Variability({"bw0": 0.1}), residual_cv=0.02, seed=s),
        seeded=True, kinds=("change",), tables=()),
    "calibrate_eiro2024": Case(lambda d, s: cs.calibrate_eiro2024(), kinds=("fit",), tables=()),
    "fit_body_weight_model": Case(
        lambda d, s: cs.fit_body_weight_model(d, _bw_dosing(), pk=PK, subject="subject", arm="arm", time="time",
                                              weight="weight", initial=cs.BodyWeightModel(kout=0.25, emax=0.9,
                                                                                           ec50=2.0, ke0=1.0),
                                              estimate=("kout", "ec50"), n_starts=1),
        _bw_study, kinds=("fit",), tables=("params", "fitted")),
}


def _tgi_arms():
    from test_tgi import ARMS as TGI_ARMS

    return TGI_ARMS


def _tgi_pk():
    from test_tgi import PK as TGI_PK

    return TGI_PK


_CACHE: dict = {}


def _build(name, request, seed=1, data=None):
    case = CASES[name]
    if case.bayes:
        request.getfixturevalue("mock_pymc")
    if data is None and case.data is not None:
        data = case.data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return case.run(data, seed)


def result(name, request):
    """The result of case ``name`` with seed 1 (built once per session)."""
    if name not in _CACHE:
        _CACHE[name] = _build(name, request)
    return _CACHE[name]


# ===================================================================================== helpers
def _tables(res, name):
    return {t: getattr(res, t) for t in CASES[name].tables}


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (labels first, then numbers rounded), index dropped."""
    df = df.reset_index(drop=True)
    if not len(df) or not len(df.columns):
        return df
    key = pd.DataFrame(index=df.index)
    for j, c in enumerate(df.columns):
        v = df[c]
        if v.dtype.kind == "f":
            key[j] = [f"{x:.6g}" for x in v]
        else:
            key[j] = v.astype(str)
    order = key.sort_values(list(key.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _same_tables(a, b, name, *, any_order=False, rtol=1e-9, atol=0.0):
    for t, x in _tables(a, name).items():
        y = getattr(b, t)
        if any_order:
            x, y = _canonical(x), _canonical(y)
        pd.testing.assert_frame_equal(x, y, check_exact=rtol == 0 and atol == 0, rtol=rtol, atol=atol,
                                      obj=f"{name}.{t}")


def _sorted_ds(ds):
    return ds.sortby([d for d in ds.dims if d in ds.indexes]) if ds.indexes else ds


def _same_result(a, b, name, *, any_order=False, rtol=0.0, atol=0.0):
    import xarray as xr

    _same_tables(a, b, name, any_order=any_order, rtol=rtol, atol=atol)
    xa, xb = a.to_xarray(), b.to_xarray()
    if any_order:
        xa, xb = _sorted_ds(xa), _sorted_ds(xb)
    xr.testing.assert_allclose(xa, xb, rtol=rtol, atol=atol)


NAMES = list(CASES)
WITH_DATA = [n for n, c in CASES.items() if c.data is not None]
SEEDED = [n for n, c in CASES.items() if c.seeded]


def _xfail(name, reasons):
    if name in reasons:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=reasons[name]))
    return name


# ===================================================================================== checks
@pytest.mark.parametrize("name", WITH_DATA)
def test_input_frame_not_modified(name, request):
    data = CASES[name].data()
    before = data.copy(deep=True)
    attrs = dict(data.attrs)
    res = _build(name, request, data=data)
    pd.testing.assert_frame_equal(data, before)
    assert data.attrs == attrs
    _CACHE.setdefault(name, res)           # the same call as result(name): reuse it


@pytest.mark.parametrize("name", SEEDED)
def test_same_seed_same_result(name, request):
    a = result(name, request)
    b = _build(name, request, seed=1)
    _same_result(a, b, name)
    c = _build(name, request, seed=2)          # and the seed is used: another seed, other numbers
    with pytest.raises(AssertionError):
        _same_result(a, c, name)


PERMUTATION_XFAIL = {
}


@pytest.mark.parametrize("name", [_xfail(n, PERMUTATION_XFAIL) for n in WITH_DATA])
def test_same_result_under_row_permutation(name, request):
    data = CASES[name].data()
    perm = data.sample(frac=1.0, random_state=7)
    order = perm.index.to_numpy()              # permuted row i was row order[i] of the original
    perm = perm.reset_index(drop=True)
    assert not perm.equals(data)
    a = result(name, request)
    b = _build(name, request, data=perm)
    for t in CASES[name].tables:              # a 'row' column points back into the input: map it
        tab = getattr(b, t)
        if "row" in tab.columns:
            tab["row"] = order[tab["row"].to_numpy()]
    # the same numbers up to rounding and optimiser tolerance (sums in another order): 1e-6
    _same_result(a, b, name, any_order=True, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_text(name, request):
    s = result(name, request).summary()
    assert isinstance(s, str) and s.strip()


@pytest.mark.parametrize("name", NAMES)
def test_to_xarray_variables_carry_units(name, request):
    import xarray as xr

    ds = result(name, request).to_xarray()
    assert isinstance(ds, xr.Dataset)
    missing = [v for v in ds.data_vars if not isinstance(ds[v].attrs.get("units"), str)]
    assert not missing, f"variables without a units attribute: {missing}"


# dims named with the package's vocabulary (DESIGN.md section 8): subject, not animal or mouse; time, not day
DIM_SYNONYMS = {"animal": "subject", "mouse": "subject", "day": "time"}


@pytest.mark.parametrize("name", NAMES)
def test_to_xarray_dims_use_the_vocabulary(name, request):
    ds = result(name, request).to_xarray()
    bad = {d: DIM_SYNONYMS[d] for d in ds.dims if d in DIM_SYNONYMS}
    assert not bad, f"dims {sorted(bad)} should be named {sorted(set(bad.values()))}"


@pytest.mark.parametrize("name", NAMES)
def test_netcdf_round_trip(name, request, tmp_path):
    import xarray as xr

    res = result(name, request)
    path = tmp_path / f"{name}.nc"
    res.to_netcdf(path)
    back = cp.load_result(path)
    root = xr.open_dataset(path, engine="h5netcdf")
    try:
        assert set(res.to_xarray().data_vars) <= set(root.data_vars)   # the root group is to_xarray()
    finally:
        root.close()
    case = CASES[name]
    if case.partial_reload:
        for t in case.tables:
            x, y = getattr(res, t), getattr(back, t)
            cols = [c for c in x.columns if c in y.columns]
            assert len(cols) >= len(x.columns) - 1
            pd.testing.assert_frame_equal(x[cols].reset_index(drop=True), y[cols].reset_index(drop=True),
                                          check_dtype=False)
        assert isinstance(back.summary(), str)
        return
    assert type(back) is type(res)
    _same_tables(res, back, name)
    assert back.summary() == res.summary()
    xr.testing.assert_allclose(back.to_xarray(), res.to_xarray(), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_plot_returns_axes(name, request):
    res = result(name, request)
    kinds = CASES[name].kinds
    assert kinds, "every case names the plot kinds it checks"
    try:
        ax = res.plot()
        assert isinstance(ax, matplotlib.axes.Axes)
        for kind in kinds:
            ax = res.plot(kind=kind, ax=None)
            assert isinstance(ax, matplotlib.axes.Axes), kind
        fig, given = plt.subplots()
        assert res.plot(kind=kinds[0], ax=given) is given
        with pytest.raises(ValueError):
            res.plot(kind="no-such-kind")
    finally:
        plt.close("all")


def test_reloaded_tgi_fit_plans_like_the_fit(request, tmp_path):
    """A TGIFit file (its own format, read by load_tgi_fit) comes back with the protocol and the planner."""
    fit = result("fit_tgi", request)
    fit.to_netcdf(tmp_path / "tgi.nc")
    back = cp.load_result(tmp_path / "tgi.nc", pk=_tgi_pk())
    assert back.model() == fit.model()
    a, b = fit.draws(20, seed=3), back.draws(20, seed=3)
    for k in a.values:
        np.testing.assert_allclose(a.values[k], b.values[k])
    assert "OFV" in back.summary() and "lambda0" in back.summary()
    assert set(back.to_xarray().data_vars) == set(fit.to_xarray().data_vars)
    back.to_netcdf(tmp_path / "again.nc")
    pd.testing.assert_frame_equal(cp.load_result(tmp_path / "again.nc").population, back.population)
    ax = back.plot()
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close("all")


def test_reloaded_result_keeps_working(request, tmp_path):
    """Beyond the tables: methods that compute from the stored fields work on the reloaded result."""
    dr = result("fit_dose_response", request)
    dr.to_netcdf(tmp_path / "dr.nc")
    back = cp.load_result(tmp_path / "dr.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        pd.testing.assert_frame_equal(back.ecx(50), dr.ecx(50))
    np.testing.assert_array_equal(back.predict(dose=[0.1, 1.0]).values, dr.predict(dose=[0.1, 1.0]).values)
    gm = result("fit_growth_mixed", request)
    gm.to_netcdf(tmp_path / "gm.nc")
    w = {"paclitaxel + CM-hUCESC_chemo": 1, "paclitaxel": -1, "CM-hUCESC_chemo": -1, "control": 1}
    assert cp.load_result(tmp_path / "gm.nc").contrast(w) == gm.contrast(w)


def test_load_result_refuses_other_files(tmp_path):
    import xarray as xr

    p = tmp_path / "plain.nc"
    xr.Dataset({"a": ("x", [1.0, 2.0])}).to_netcdf(p, engine="h5netcdf")
    with pytest.raises(ComboplanError, match="not written by"):
        cp.load_result(p)
    with pytest.raises(ComboplanError, match="no result file"):
        cp.load_result(tmp_path / "missing.nc")
    (tmp_path / "text.nc").write_text("not netCDF")
    with pytest.raises(ComboplanError, match="cannot read"):
        cp.load_result(tmp_path / "text.nc")


# the public result classes: each is produced by at least one case above
RESULT_CLASSES = (
    "DoseResponseResult", "SharedDoseResponseResult", "GRResult", "SynergyResult", "ChouTalalayResult", "MuSyCResult", "MatrixScores",
    "BraidResult", "ZimmerResult", "GrowthFit", "MixedGrowthFit", "GrowthEndpoints", "ArmComparison",
    "InVivoSynergy", "SurvivalResult", "BodyWeightEndpoints", "TGIFit", "BayesGrowthResult",
    "BayesDoseResponseResult", "TGIBayesFit", "CohortResult", "PowerResult", "NIDesignResult", "NIAnalysis",
    "DoseReductionResult", "BodyWeightSimulation", "BodyWeightFit", "PaperCalibration",
)


def test_every_result_class_is_covered(request):
    made = {type(result(n, request)).__name__ for n in NAMES}
    assert set(RESULT_CLASSES) <= made, sorted(set(RESULT_CLASSES) - made)
