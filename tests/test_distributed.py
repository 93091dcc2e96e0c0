"""comboplan.distributed on a real dask.distributed LocalCluster (2 worker processes):
results equal the in-memory path whatever the partitioning; a bad curve/block is rows with a reason."""
import time
import warnings

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import comboplan as cp  # noqa: E402
from comboplan import distributed as cd  # noqa: E402
from comboplan.exceptions import ComboplanWarning, ConvergenceWarning  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def curves():
    """30 hill curves of unequal sizes (6, 8, 10 doses x 2), so the padded width matters."""
    rng = np.random.default_rng(0)
    rows = []
    for c in range(30):
        ec50, h = 10 ** rng.uniform(-1, 1), rng.uniform(0.5, 3)
        d = np.repeat(np.logspace(-2, 2, 6 + (c % 3) * 2), 2)
        rows.append(pd.DataFrame({"cid": f"c{c:03d}", "dose": d,
                                  "resp": 100 / (1 + (d / ec50) ** h) + rng.normal(0, 5, d.size)}))
    return pd.concat(rows, ignore_index=True).sample(frac=1, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def screen():
    """8 blocks, 6x6 and 6x5 matrices, 3 replicates, inhibition in percent."""
    rng = np.random.default_rng(1)
    rows = []
    for b in range(8):
        for a in [0, 0.1, 0.3, 1, 3, 10]:
            for bb in [0, 0.1, 0.3, 1, 3, 10][: 6 if b % 2 == 0 else 5]:
                e = 100 * (1 - 1 / (1 + (a / 1.0) ** 1.2) / (1 + (bb / 2.0) ** 1.5))
                for r in range(3):
                    rows.append(dict(block=f"b{b:02d}", a=a, b=bb, rep=r, inh=e + rng.normal(0, 4)))
    return pd.DataFrame(rows)


def test_group_seed_depends_on_seed_and_key_only():
    a = cd.group_seed(7, ("x", 1)).generate_state(4)
    assert np.array_equal(a, cd.group_seed(7, ("x", np.int64(1))).generate_state(4))
    assert not np.array_equal(a, cd.group_seed(7, ("x", 2)).generate_state(4))
    assert not np.array_equal(a, cd.group_seed(8, ("x", 1)).generate_state(4))


def test_detection(client, curves):
    assert cd.is_dask_frame(dd.from_pandas(curves, npartitions=2))
    assert not cd.is_dask_frame(curves)
    assert cd.get_client() is client


@pytest.mark.parametrize("npartitions", [1, 3])
def test_fit_dose_response_equals_in_memory(client, curves, npartitions):
    ddf = dd.from_pandas(curves, npartitions=npartitions)
    mem = cp.fit_dose_response(ddf.compute(), dose="dose", response="resp", by="cid")
    res = cd.fit_dose_response(ddf, dose="dose", response="resp", by="cid", client=client)
    assert isinstance(res, cp.DoseResponseResult)
    pd.testing.assert_frame_equal(res.params, mem.params)   # bit for bit: no tolerance
    pd.testing.assert_frame_equal(res.curves, mem.curves)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)  # one EC50 outside the tested range, in both
        pd.testing.assert_frame_equal(res.ecx(50, ci="delta"), mem.ecx(50, ci="delta"))
    assert np.array_equal(res.packed.rows, mem.packed.rows)


def test_fit_dose_response_pandas_input_other_partitioning(client, curves):
    mem = cp.fit_dose_response(curves, dose="dose", response="resp", by="cid")
    res = cd.fit_dose_response(curves, dose="dose", response="resp", by="cid", npartitions=2)
    pd.testing.assert_frame_equal(res.params, mem.params)


@pytest.mark.parametrize("npartitions", [2, 3, None])
def test_consecutive_curves_are_sent_as_row_ranges_and_fit_as_in_memory(client, curves, npartitions, monkeypatch):
    """Curves stored one after another (the usual layout) take the row-range route (no hash, no
    gather): fits, curve order and packed row positions equal the in-memory call's, for a sorted
    table and for one whose curves are consecutive but not in key order."""
    monkeypatch.setattr(cd, "ROWS_PER_PARTITION", 60)
    for frame in (curves.sort_values("cid", kind="stable").reset_index(drop=True),
                  curves.sort_values("cid", kind="stable", ascending=False).reset_index(drop=True)):
        assert cd._group_runs(frame, ["cid"])[1] is not None          # the row-range route
        mem = cp.fit_dose_response(frame, dose="dose", response="resp", by="cid")
        res = cd.fit_dose_response(frame, dose="dose", response="resp", by="cid", client=client,
                                   npartitions=npartitions)
        pd.testing.assert_frame_equal(res.params, mem.params)
        pd.testing.assert_frame_equal(res.curves, mem.curves)
        assert np.array_equal(res.packed.rows, mem.packed.rows)


def test_pandas_input_is_split_by_size_and_sent_partition_by_partition(client, curves, screen, monkeypatch):
    """An in-memory table with a client and no npartitions gets at least one partition per
    ROWS_PER_PARTITION rows (so each worker holds a bounded part of it), sent a few at a time:
    the results equal the in-memory ones bit for bit, and no data stays on the workers."""
    monkeypatch.setattr(cd, "ROWS_PER_PARTITION", 100)
    mem = cp.fit_dose_response(curves, dose="dose", response="resp", by="cid")
    res = cd.fit_dose_response(curves, dose="dose", response="resp", by="cid", client=client)
    pd.testing.assert_frame_equal(res.params, mem.params)
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0, methods=("bliss", "hsa"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        smem = cp.synergy(screen, **kw)
        sres = cd.synergy(screen, client=client, **kw)
    # at most 100 rows per partition, a multiple of the 2 workers
    assert sres.settings["distributed"]["n_partitions"] == 2 * -(-len(screen) // 200)
    for name in ("cells", "blocks"):
        pd.testing.assert_frame_equal(getattr(sres, name), getattr(smem, name), check_categorical=False)
    for _ in range(50):           # releases reach the workers asynchronously
        held = client.run(lambda dask_worker: len(dask_worker.data))
        if sum(held.values()) == 0:
            break
        time.sleep(0.1)
    assert sum(held.values()) == 0, held


def test_bad_curve_is_a_row_with_a_reason(client, curves):
    bad = curves.copy()
    bad.loc[bad.cid == "c007", "dose"] = -1.0
    with pytest.warns(ConvergenceWarning, match="c007"):
        res = cd.fit_dose_response(bad, dose="dose", response="resp", by="cid", npartitions=3)
    row = res.curves.set_index("cid").loc["c007"]
    assert not row.converged and "must be >= 0" in row.message
    mem = cp.fit_dose_response(curves[curves.cid != "c007"], dose="dose", response="resp", by="cid")
    got = res.params[res.params.cid != "c007"].drop(columns="curve").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, mem.params.drop(columns="curve"))


@pytest.mark.parametrize("npartitions", [1, 3])
def test_synergy_equals_in_memory(client, screen, npartitions):
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        mem = cp.synergy(screen, **kw)
    res = cd.synergy(dd.from_pandas(screen, npartitions=npartitions), client=client, **kw)
    for name in ("cells", "blocks"):
        a, b = getattr(mem, name), getattr(res, name)
        assert list(a.columns) == list(b.columns) and len(a) == len(b)
        for m in ("bliss", "hsa"):   # no fits: bit for bit, delta CIs, p- and q-values included
            pd.testing.assert_frame_equal(b[b.method == m].reset_index(drop=True),
                                          a[a.method == m].reset_index(drop=True), check_categorical=False)
        if npartitions == 1:
            # Loewe/ZIP: single-agent Hill fits by the same engine as in memory: round-off only
            col = "score" if name == "cells" else "mean"
            np.testing.assert_allclose(b[col].to_numpy(float), a[col].to_numpy(float), rtol=1e-6, atol=1e-4)
    assert len(res.monotherapy) == len(mem.monotherapy)


@pytest.mark.parametrize("npartitions", [3, 8])
def test_synergy_loewe_zip_equal_under_small_partitions(client, screen, npartitions):
    """Partitions of 1-3 blocks fit their single-agent curves and ZIP slices with the engine and
    padded width of the whole screen's call (fits.batch_plan), so Loewe and ZIP equal the
    in-memory scores bit for bit.  (Before: a partition of <= 4 blocks used MINPACK where the
    whole screen used the batch engine, and could reach another optimum.)"""
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0, methods=("loewe", "zip"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        mem = cp.synergy(screen, **kw)
    res = cd.synergy(dd.from_pandas(screen, npartitions=npartitions), client=client, **kw)
    pd.testing.assert_frame_equal(res.cells.reset_index(drop=True), mem.cells.reset_index(drop=True),
                                  check_categorical=False, check_exact=True)
    pd.testing.assert_frame_equal(res.monotherapy.reset_index(drop=True), mem.monotherapy.reset_index(drop=True),
                                  check_categorical=False, check_exact=True)


@pytest.mark.parametrize("layout", ["sorted", "reversed", "interleaved"])
def test_synergy_pandas_layouts_merge_in_one_calls_order(client, screen, layout, monkeypatch):
    """Blocks stored in sorted order (row ranges, merged without a re-sort), one after another
    in reverse order (row ranges, re-sorted after the merge) or interleaved (hash routing): all
    four methods' tables equal the in-memory call's, rows in its order, bit for bit."""
    monkeypatch.setattr(cd, "ROWS_PER_PARTITION", 150)
    frame = {"sorted": screen,
             "reversed": screen.iloc[::-1].sort_values("block", ascending=False, kind="stable"),
             "interleaved": screen.sample(frac=1, random_state=3)}[layout].reset_index(drop=True)
    assert (cd._group_runs(frame, ["block"])[1] is None) == (layout == "interleaved")
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0,
              methods=("bliss", "hsa", "loewe", "zip"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        mem = cp.synergy(frame, **kw)
        res = cd.synergy(frame, client=client, **kw)
    assert res.settings["distributed"]["n_partitions"] > 2
    for name in ("cells", "blocks", "monotherapy"):
        pd.testing.assert_frame_equal(getattr(res, name), getattr(mem, name), check_categorical=False,
                                      check_exact=True)


def test_synergy_with_fits_caps_the_blocks_per_partition(client, screen, monkeypatch):
    """Loewe/ZIP (or a bootstrap) put at most about BLOCKS_PER_PARTITION blocks in a partition
    (worker memory grows with blocks, not rows); Bliss/HSA alone are cut by rows only."""
    monkeypatch.setattr(cd, "BLOCKS_PER_PARTITION", 2)
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        mem = cp.synergy(screen, methods=("loewe",), **kw)
        res = cd.synergy(screen, client=client, methods=("loewe",), **kw)
        cheap = cd.synergy(screen, client=client, methods=("bliss",), **kw)
    assert res.settings["distributed"]["n_partitions"] == 4            # 8 blocks, <= 2 per partition, 2 workers
    assert cheap.settings["distributed"]["n_partitions"] == 2
    pd.testing.assert_frame_equal(res.cells, mem.cells, check_categorical=False, check_exact=True)


def test_in_block_order_detects_the_order_of_one_call():
    blocks = pd.DataFrame({"block": ["b1", "b2", "b1", "b2"], "method": ["bliss", "bliss", "hsa", "hsa"]})
    assert cd._in_block_order(blocks, ["block"], ["bliss", "hsa"])
    assert not cd._in_block_order(blocks, ["block"], ["hsa", "bliss"])          # methods out of order
    assert not cd._in_block_order(blocks.iloc[[1, 0, 2, 3]], ["block"], ["bliss", "hsa"])   # blocks out of order
    assert not cd._in_block_order(blocks, ["block"], ["bliss"])                  # a method not asked for
    assert not cd._in_block_order(blocks.drop(columns="method"), ["block"], ["bliss", "hsa"])


def test_batch_plan_makes_a_subset_fit_as_the_whole_call():
    """In memory: a block scored alone under the whole screen's plan equals its rows of the whole
    screen's call; without the plan it is fitted by MINPACK (a different engine) and may not."""
    from comboplan.combination.api import synergy_fit_sizes
    from comboplan.combination.fits import batch_plan

    rng = np.random.default_rng(3)
    rows = []
    for b in range(6):
        for a in [0, 0.1, 0.3, 1, 3, 10]:
            for bb in [0, 0.1, 0.3, 1, 3, 10][: 6 if b % 2 == 0 else 5]:
                e = 100 * (1 - 1 / (1 + (a / 1.0) ** 1.2) / (1 + (bb / 2.0) ** 1.5))
                rows.append(dict(block=f"b{b}", a=a, b=bb, inh=e + rng.normal(0, 4)))
    df = pd.DataFrame(rows)
    kw = dict(doses=["a", "b"], response="inh", by="block", n_boot=0, methods=("loewe", "zip"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComboplanWarning)
        whole = cp.synergy(df, **kw)
        sizes = synergy_fit_sizes(df, **kw)
        assert sizes["hill"][0] == 12 and sizes["zip"][0] > 32
        one = df[df.block == "b1"]
        with batch_plan(**sizes):
            alone = cp.synergy(one, **kw)
    mine = whole.cells[whole.cells.block.astype(str) == "b1"].reset_index(drop=True)
    got = alone.cells.reset_index(drop=True)
    assert list(got.columns) == list(mine.columns) and len(got) == len(mine)
    for c in got.columns:   # numbers bit for bit; labels as text (categories list the call's own labels)
        if got[c].dtype.kind in "fiub":
            np.testing.assert_array_equal(got[c].to_numpy(), mine[c].to_numpy(), err_msg=c)
        else:
            assert got[c].astype(str).tolist() == mine[c].astype(str).tolist(), c


def test_synergy_bootstrap_does_not_depend_on_partitioning(client, screen):
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=30, seed=5,
              methods=("bliss", "loewe"), inference="bootstrap")
    sub = screen[screen.block.isin(["b00", "b01", "b02"])]
    r1 = cd.synergy(sub, npartitions=1, **kw)
    r3 = cd.synergy(dd.from_pandas(sub.iloc[::-1], npartitions=3), **kw)
    cols = ["block", "method", "a", "b", "score", "ci_low", "ci_high", "p_value"]
    r3c = r3.cells[cols].sort_values(["method", "block", "a", "b"]).reset_index(drop=True)
    r1c = r1.cells[cols].sort_values(["method", "block", "a", "b"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(r3c, r1c, check_categorical=False)


def test_synergy_bad_block_is_rows_with_a_reason(client, screen):
    bad = screen.copy()
    bad.loc[bad.block == "b03", "inh"] = np.nan
    with pytest.warns(ComboplanWarning, match="not scored"):
        res = cd.synergy(bad, doses=["a", "b"], response="inh", by="block", replicate="rep", n_boot=0,
                         methods=("bliss", "hsa"), npartitions=2)
    b3 = res.blocks[res.blocks.block == "b03"]
    assert len(b3) == 2 and (b3.status.astype(str) == "not_scored").all()
    assert b3.message.astype(str).str.contains("missing").all()
    assert (res.blocks[res.blocks.block != "b03"].status.astype(str) == "ok").all()


@pytest.mark.parametrize("npartitions", [1, 3])
def test_score_matrix_per_block_equals_in_memory(client, screen, npartitions):
    bad = screen.copy()
    bad.loc[(bad.block == "b05") & (bad.b == 0) & (bad.a > 0), "a"] = -1.0  # negative dose: block fails
    tab = cd.score_matrix(dd.from_pandas(bad, npartitions=npartitions), "a", "b", "inh", by="block",
                          method="loewe", client=client)
    assert list(tab.block.unique()) == sorted(bad.block.unique())
    for blk, g in bad.groupby("block"):
        rows = tab[tab.block == blk]
        if blk == "b05":
            assert len(rows) == 1 and rows.status.iloc[0] == "not_scored"
            assert "DataError" in rows.message.iloc[0]
            continue
        ref = cp.score_matrix(g.a.to_numpy(), g.b.to_numpy(), g.inh.to_numpy(), method="loewe")
        assert np.array_equal(rows.score.to_numpy(), ref.score)
        assert np.array_equal(rows.reference.to_numpy(), ref.reference)


def test_missing_by_is_a_data_error(client, curves):
    with pytest.raises(cp.DataError, match="by="):
        cd.fit_dose_response(curves, dose="dose", response="resp", by=None)
    with pytest.raises(cp.DataError, match="not in the data"):
        cd.fit_dose_response(curves, dose="dose", response="resp", by="nope")


def test_progress_bar_is_shown_and_changes_nothing(client, curves, screen, capsys):
    """progress=True shows Dask's progress (distributed's text bar with a client, the local
    scheduler's ProgressBar without one) and returns the same numbers (the same rows twice: the
    second call must not lose the data scattered for the first); a non-bool is refused."""
    import dask

    plain = cd.fit_dose_response(curves, dose="dose", response="resp", by="cid", client=client)
    capsys.readouterr()
    shown = cd.fit_dose_response(curves, dose="dose", response="resp", by="cid", client=client, progress=True)
    out = capsys.readouterr()
    assert "100%" in out.out + out.err
    assert np.array_equal(shown.params.estimate.to_numpy(), plain.params.estimate.to_numpy(), equal_nan=True)
    # without a client (here the module's client is the default: route around it): the local
    # scheduler's ProgressBar
    with dask.config.set(scheduler="threads"):
        got = cd._compute(None, dask.delayed(sum)([1, 2, 3]), progress=True)
    out = capsys.readouterr()
    assert got == (6,) and "Completed" in out.out + out.err
    from comboplan.exceptions import InvalidParameterError

    for fn, args in ((cd.synergy, (screen, ["a", "b"], "inh")), (cd.fit_dose_response, (curves, "dose", "resp")),
                     (cd.score_matrix, (screen, "a", "b", "inh")), (cd.chou_talalay, (screen, ["a", "b"], "inh"))):
        by = "cid" if fn is cd.fit_dose_response else "block"
        with pytest.raises(InvalidParameterError, match="progress"):
            fn(*args, by=by, client=client, progress="yes")
        with pytest.raises(InvalidParameterError, match="npartitions"):
            fn(*args, by=by, client=client, npartitions=0)


def _ct_tables(res):
    return {name: getattr(res, name) for name in ("params", "points", "levels", "isobologram")}


@pytest.mark.parametrize("npartitions", [1, 3, 8])
def test_chou_talalay_equals_in_memory(client, screen, npartitions):
    """Every table bit-for-bit the in-memory call's, rows and columns in the same order, for
    partitions of one to eight blocks, from a pandas and from a Dask input."""
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep")
    ref = cp.chou_talalay(screen, **kw)
    assert (ref.params.status == "ok").all() and len(ref.points) and len(ref.levels)
    for data in (screen, dd.from_pandas(screen.iloc[::-1], npartitions=npartitions)):
        got = cd.chou_talalay(data, client=client, npartitions=npartitions, **kw)
        # the in-memory call on the rows as the Dask frame holds them (from_pandas sorts by index)
        ref_r = ref if data is screen else cp.chou_talalay(data.compute().reset_index(drop=True), **kw)
        for name, tab in _ct_tables(got).items():
            pd.testing.assert_frame_equal(tab, getattr(ref_r, name), check_exact=True, obj=name)
        assert got.settings["distributed"]["n_partitions"] == npartitions
        assert {k: v for k, v in got.settings.items() if k != "distributed"} == ref.settings


def test_chou_talalay_bad_blocks_are_rows_with_a_reason(client, screen):
    """A block without mixture and a block with a negative dose are not-scored rows naming the
    cause; the other blocks equal the in-memory analysis of the clean blocks; errors="raise"
    raises a DataError."""
    bad = screen.copy()
    bad = bad[~((bad.block == "b02") & (bad.a > 0) & (bad.b > 0))]            # no combination cells
    bad.loc[(bad.block == "b05") & (bad.b == 0) & (bad.a > 0), "a"] = -1.0     # refused by the data checks
    kw = dict(doses=["a", "b"], response="inh", by="block", replicate="rep")
    with pytest.warns(ComboplanWarning, match="could not be analysed"):
        got = cd.chou_talalay(bad, client=client, npartitions=3, **kw)
    p = got.params
    b2, b5 = p[p.block == "b02"], p[p.block == "b05"]
    assert (b2.status == "not_scored").all() and b2.message.str.contains("no mixture").all()
    assert (b5.status == "not_scored").all() and b5.message.str.contains("DataError").all()
    assert len(b2) == len(b5) == 2 and np.isnan(b5.Dm).all()
    clean = bad[~bad.block.isin(["b02", "b05"])]
    ref = cp.chou_talalay(clean, **kw)
    ok = p[~p.block.isin(["b02", "b05"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(ok, ref.params, check_exact=True)
    pd.testing.assert_frame_equal(got.levels, ref.levels, check_exact=True)
    with pytest.raises(cp.DataError, match="could not be analysed"):
        cd.chou_talalay(bad, client=client, errors="raise", **kw)
    with pytest.raises(ValueError, match="ci_level"):
        cd.chou_talalay(screen, client=client, ci_level=95, **kw)


# ----------------------------------------------------------------------------- growth batches
G_DAYS = np.array([0.0, 7.0, 14.0, 21.0, 28.0])
G_ARMS = ["control", "A", "B", "A+B"]
G_ARM = np.repeat(np.arange(4), 7)


def _g_studies(n, seed):
    rng = np.random.default_rng(seed)
    slope = np.array([0.10, 0.07, 0.06, 0.03])[G_ARM] + rng.normal(0, 0.015, (n, 28))
    e = rng.normal(0, 1, (n, 28, 5)) * np.array([0.10, 0.15, 0.20, 0.30])[G_ARM][:, None]
    sz = np.exp(np.log(150) + slope[..., None] * G_DAYS + e)
    sz[3, 5, 3:] = np.nan     # an animal lost after day 14
    return sz


def _same_dict(a, b):
    assert set(a) <= set(b)
    for k, v in a.items():
        if isinstance(v, dict):
            _same_dict(v, b[k])
        elif isinstance(v, np.ndarray):
            assert v.shape == b[k].shape and np.array_equal(v, b[k], equal_nan=True), k
        else:
            assert v == b[k] or list(v) == list(b[k]), k


def test_growth_mixed_batch_equals_in_memory_whatever_the_partitioning(client):
    """300 studies: bit-for-bit the in-memory batch fit for any studies_per_partition (rounded up
    to whole chunks of the in-memory fit, 128 studies), from numpy and from a Dask array."""
    import dask.array as da

    from comboplan.growth import fit_growth_mixed_batch

    sz = _g_studies(300, 5)
    ref = fit_growth_mixed_batch(sz, G_DAYS, G_ARM, G_ARMS, variance="arm")
    for data, spp, parts in ((sz, 100, 3), (da.from_array(sz, chunks=(70, 28, 5)), 200, 2), (sz, None, 2)):
        got = cd.fit_growth_mixed_batch(data, G_DAYS, G_ARM, G_ARMS, variance="arm", client=client,
                                        studies_per_partition=spp)
        _same_dict(ref, got)
        assert (got["message"] == "").all() and got["n_partitions"] == parts


@pytest.mark.parametrize("name", ["compare_arms_batch", "invivo_synergy_batch"])
def test_growth_batches_equal_in_memory_and_a_bad_study_is_a_row(client, name):
    """Each study is computed alone: any split gives the in-memory arrays bit for bit; a study
    the in-memory call refuses is NaN with the reason, the others unchanged."""
    from comboplan.growth.endpoints import compare_arms_batch
    from comboplan.growth.synergy import invivo_synergy_batch

    fn = {"compare_arms_batch": compare_arms_batch, "invivo_synergy_batch": invivo_synergy_batch}[name]
    kw = {"reference": "A", "candidate": "A+B"} if name == "compare_arms_batch" else {"control": "control"}
    sz = _g_studies(60, 6)
    ref = fn(sz, G_DAYS, G_ARM, G_ARMS, **kw)
    for spp in (7, 60):
        _same_dict(ref, getattr(cd, name)(sz, G_DAYS, G_ARM, G_ARMS, client=client, studies_per_partition=spp, **kw))
    bad = sz.copy()
    bad[11, 2, 3] = -5.0            # a negative size: the in-memory call refuses the whole batch
    with pytest.raises(cp.DataError):
        fn(bad, G_DAYS, G_ARM, G_ARMS, **kw)
    with pytest.warns(ComboplanWarning, match="1 of 60 studies"):
        got = getattr(cd, name)(bad, G_DAYS, G_ARM, G_ARMS, client=client, studies_per_partition=20, **kw)
    assert got["message"][11].startswith("study 11: DataError")
    assert (np.delete(got["message"], 11) == "").all()
    keep = np.delete(np.arange(60), 11)
    ok = fn(bad[keep], G_DAYS, G_ARM, G_ARMS, **kw)
    for k, v in ok.items():
        if isinstance(v, np.ndarray) and v.shape[:1] == (59,):
            assert np.array_equal(got[k][keep], v, equal_nan=True), k
            assert np.all(np.isnan(got[k][11])) if v.dtype.kind == "f" else True


def test_growth_batch_bad_options(client):
    with pytest.raises(ValueError, match="studies_per_partition"):
        cd.compare_arms_batch(_g_studies(4, 1), G_DAYS, G_ARM, G_ARMS, reference="A", candidate="B", client=client,
                              studies_per_partition=0)
    with pytest.raises(cp.DataError, match="shape"):
        cd.compare_arms_batch(np.ones((4, 28)), G_DAYS, G_ARM, G_ARMS, reference="A", candidate="B", client=client)
