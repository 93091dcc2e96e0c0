"""Planning grids and cohorts on a dask.distributed LocalCluster (2 worker processes): results equal
the in-memory path bit for bit whatever the partitioning; a failing design is rows with a reason."""
import warnings

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

import comboplan.simulate as cs  # noqa: E402
from comboplan import distributed_plan as dp  # noqa: E402
from comboplan.exceptions import ComboplanWarning, DataError  # noqa: E402
from comboplan.models.pk import Regimen, paclitaxel_mouse  # noqa: E402

PK = paclitaxel_mouse(bioavailability={"ip": 1.0})
DAYS = [0, 7, 14]
SEC = {c: cs.secretome(c, "3x/week from day 0 to 14", half_life=1.0, potency=1.0) for c in ("naive", "primed")}


def _ptx(dose, agent="paclitaxel"):
    return Regimen.from_schedule(dose, "mg/kg", "weekly from day 0 to 14", route="ip", agent=agent)


def _model():
    g = cs.GrowthModel("exponential", {"lambda0": 0.1, "w0": 1.0}, size_unit="relative burden")
    return cs.PKPDModel(growth=g, effects={"paclitaxel": cs.Effect("paclitaxel", 0.629),
                                           "naive": cs.Effect("naive", 0.1), "primed": cs.Effect("primed", 0.15)},
                        interaction=cs.Interaction(gamma=-1.0), pk={"paclitaxel": PK})


def _design(dose, companion):
    """control, paclitaxel alone, the companion alone, the combination: a Bliss design."""
    return [cs.Arm("control"), cs.Arm("ptx", [_ptx(dose)]), cs.Arm("sec", [], [SEC[companion]]),
            cs.Arm("combo", [_ptx(dose)], [SEC[companion]])]


ARMS = [cs.Arm("ptx10", [_ptx(10)]), cs.Arm("ptx5+sec", [_ptx(5)], [SEC["primed"]])]
DRAWS = cs.ParameterDraws({"lambda0": [0.08, 0.1, 0.12, 0.09, 0.11, 0.1],
                           "potency.primed": [0.1, 0.2, 0.15, 0.05, 0.25, 0.12],
                           "interaction.gamma": [-3.0, -1.0, 0.0, 0.5, 1.5, -2.2]})
NI = dict(analysis="noninferiority", margin=0.2, endpoint_day=14, variability=cs.Variability({"lambda0": 0.2}),
          readout=cs.Readout("luminescence", cv=0.4), dropout=cs.Dropout(start=7.0, hazard=0.02))


@pytest.fixture(scope="module")
def client():
    """Not the default client: the in-memory references below run in memory; tests that want the
    active-client hook use ``client.as_current()``."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster, set_as_default=False) as c:
        yield c


def _same(a, b):
    """Two PowerResults equal bit for bit (settings apart from the distributed bookkeeping)."""
    pd.testing.assert_frame_equal(a.table, b.table)
    assert {k: v for k, v in a.settings.items() if k != "distributed"} == b.settings
    assert a.per_draw.keys() == b.per_draw.keys() and a.estimates.keys() == b.estimates.keys()
    for k in b.per_draw:
        np.testing.assert_array_equal(a.per_draw[k], b.per_draw[k])
    for k in b.estimates:
        for x, y in zip(a.estimates[k], b.estimates[k]):
            np.testing.assert_array_equal(x, y)


def test_no_client_means_in_memory():
    assert dp.active_client() is None


@pytest.mark.parametrize("draws_per_task", [1, 4])
def test_sample_size_with_assurance_equals_in_memory(client, draws_per_task):
    kw = dict(NI, n_values=(4, 6), seed=4, target_power=0.3, n_studies=40, draws=DRAWS, studies_per_draw=10)
    mem = cs.sample_size(_model(), ARMS, DAYS, **kw)
    res = dp.sample_size(_model(), ARMS, DAYS, client=client, draws_per_task=draws_per_task, **kw)
    _same(res, mem)
    assert res.settings["distributed"]["draws_per_task"] == draws_per_task
    assert "n_required_assurance" in res.settings and "status" not in res.table


def test_study_power_and_assurance_through_the_in_memory_api(client):
    """``comboplan.simulate`` functions run on the active client (the hook) with the same numbers."""
    mem_p = cs.study_power(_model(), ARMS, 5, DAYS, n_studies=30, seed=2, **NI)
    mem_a = cs.assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=8, n_studies=30, seed=2, **NI)
    with client.as_current():
        assert dp.active_client() is client
        got_p = cs.study_power(_model(), ARMS, 5, DAYS, n_studies=30, seed=2, **NI)
        got_a = cs.assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=8, n_studies=30, seed=2, **NI)
    assert "distributed" in got_p.settings and "distributed" in got_a.settings
    _same(got_p, mem_p)
    _same(got_a, mem_a)
    # explicit client=, another partitioning
    _same(dp.assurance(_model(), ARMS, 5, DAYS, draws=DRAWS, studies_per_draw=8, n_studies=30, seed=2,
                       client=client, draws_per_task=5, **NI), mem_a)


def test_dose_companion_grid_with_a_failing_design(client):
    designs = {(d, c): _design(d, c) for d in (5.0, 10.0) for c in ("naive", "primed")}
    bad = _design(5.0, "naive")
    bad[1] = cs.Arm("ptx", [_ptx(5.0, agent="docetaxel")])   # no PK model for docetaxel: fails on a worker
    designs[("docetaxel", "naive")] = bad
    draws = cs.ParameterDraws({"lambda0": [0.09, 0.1, 0.11], "interaction.gamma": [-2.0, -1.0, 0.0]})
    kw = dict(analysis="bliss", n_values=(4, 5), n_studies=12, draws=draws, studies_per_draw=4, seed=11,
              variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("volume", cv=0.2))
    with pytest.warns(ComboplanWarning, match="2 design x n per arm combination"):
        res = dp.plan_grid(_model(), designs, DAYS, client=client, draws_per_task=2, **kw)
    assert list(res) == list(designs)
    for key in [(5.0, "primed"), (10.0, "naive")]:   # two designs are enough to show equality
        assert res[key].table["power"].notna().all() and res[key].table["assurance"].notna().all()
        _same(res[key], cs.sample_size(_model(), designs[key], DAYS, **kw))
    t = res[("docetaxel", "naive")].table
    assert (t["status"] == "failed").all() and t["power"].isna().all() and t["assurance"].isna().all()
    assert t["message"].str.contains("no PK model for drug 'docetaxel'").all()
    assert t["message"].str.contains(r"conditional power, draws 0-2 of 3").all()
    assert res[("docetaxel", "naive")].settings["n_required"] is None
    stacked = pd.concat({k: r.table for k, r in res.items()}, names=["dose", "companion", "row"])
    assert len(stacked) == 10


def test_option_errors_raise_before_anything_runs(client):
    with pytest.raises(DataError, match="analysis must be one of"):
        dp.sample_size(_model(), ARMS, DAYS, n_values=(4,), analysis="nope", client=client)
    with pytest.raises(DataError, match="target_power"):
        dp.plan_grid(_model(), {"a": ARMS}, DAYS, n_values=(4,), target_power=80, client=client)
    with pytest.raises(DataError, match="draws_per_task"):
        dp.study_power(_model(), ARMS, 4, DAYS, draws=DRAWS, draws_per_task=0, client=client, **NI)
    with pytest.raises(DataError, match="assurance needs draws"):
        dp.assurance(_model(), ARMS, 4, DAYS, draws=None, client=client)


@pytest.mark.parametrize("common_animals", [True, False])
def test_cohort_equals_in_memory(client, common_animals):
    draws = cs.ParameterDraws({"lambda0": [0.08, 0.1, 0.12, 0.09, 0.11],
                               "interaction.gamma": [-3.0, -1.0, 0.0, 0.5, 1.5],
                               "pk.paclitaxel.V1": [1.0, 1.1, 0.9, 1.2, 0.8]})
    arms = _design(10.0, "primed")
    kw = dict(variability=cs.Variability({"lambda0": 0.2}), readout=cs.Readout("volume", cv=0.2), draws=draws,
              seed=3, n_animals=4, common_animals=common_animals)
    mem = cs.simulate_cohort(_model(), arms, [0, 7, 14], **kw)
    got = cs.simulate_cohort(_model(), arms, [0, 7, 14], client=client, **kw)
    assert got.dataset.identical(mem.dataset)
    from comboplan.simulate.cohort import simulate_arms

    ref = simulate_arms(_model(), arms, [0, 7, 14], 4, draws=draws, seed=9)
    for dpt in (1, 3):
        np.testing.assert_array_equal(dp.simulate_arms(_model(), arms, [0, 7, 14], 4, draws=draws, seed=9,
                                                       client=client, draws_per_task=dpt), ref)


def test_warning_free_when_nothing_fails(client):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComboplanWarning)
        dp.study_power(_model(), ARMS, 4, DAYS, n_studies=10, seed=1, client=client, **NI)
