"""comboplan.distributed.read_combinations: SynergyFinder- and DrugComb-style long tables read
lazily (CSV and Parquet, split over several partitions) equal the pandas reader / the documented
mapping, score like the in-memory screen, and refuse bad rows at compute time naming file, column and row."""
import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import comboplan as cp  # noqa: E402
from comboplan import distributed as cd  # noqa: E402
from comboplan.exceptions import DataError  # noqa: E402

CONC_A = [0.0, 0.1, 0.3, 1.0, 3.0]
CONC_B = [0.0, 0.2, 0.5, 2.0]


def _sf_table(n_blocks=6, reps=2, seed=0):
    """SynergyFinder long format, 40 rows per block (5 x 4 cells x 2 replicates), blocks contiguous."""
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(n_blocks):
        for _ in range(reps):  # replicate 1 of every cell, then replicate 2: a block split anywhere
            for a in CONC_A:   # numbers some replicates from the partition before
                for c in CONC_B:
                    e = 100 * (1 - 1 / (1 + (a / 0.8) ** 1.2) / (1 + (c / 0.6) ** 1.5))
                    rows.append(dict(BlockID=b + 1, DrugRow=f"drug{b % 3}", DrugCol="partner", ConcRow=a, ConcCol=c,
                                     Response=round(float(e + rng.normal(0, 4)), 4),
                                     ConcRowUnit="uM", ConcColUnit="nM" if b % 2 else "uM"))
    return pd.DataFrame(rows)


def _drugcomb_table(n_blocks=5, seed=1):
    sf = _sf_table(n_blocks, reps=1, seed=seed)
    return pd.DataFrame({"block_id": sf.BlockID + 100, "drug_row": sf.DrugRow, "drug_col": sf.DrugCol,
                         "conc_r": sf.ConcRow, "conc_c": sf.ConcCol, "inhibition": sf.Response,
                         "conc_r_unit": sf.ConcRowUnit, "conc_c_unit": sf.ConcColUnit,
                         "cell_line_name": np.where(sf.BlockID % 2 == 0, "A549", "MCF7")})


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


def _write(df, path):
    if str(path).endswith(".parquet"):
        df.to_parquet(path, index=False, row_group_size=37)
    else:
        df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_synergyfinder_lazy_equals_pandas_reader(tmp_path, ext):
    f = _write(_sf_table(), tmp_path / f"sf.{ext}")
    lazy = cd.read_combinations(f, format="synergyfinder", blocksize=2000)
    assert lazy.npartitions >= 3  # blocks of 40 rows split across partitions
    got = lazy.compute(scheduler="sync")
    ref = cp.read_synergyfinder(f)
    parts = [lazy.partitions[i].compute(scheduler="sync") for i in range(lazy.npartitions)]
    assert any(p.block.iloc[0] == q.block.iloc[-1] for q, p in zip(parts, parts[1:]))  # a block is split
    pd.testing.assert_frame_equal(got, ref, check_index_type=False)
    assert got["replicate"].max() == 2


def test_glob_and_folder_and_semicolon_csv(tmp_path):
    t = _sf_table()
    (tmp_path / "parts").mkdir()
    t.iloc[:100].to_csv(tmp_path / "parts" / "a.csv", index=False, sep=";")
    t.iloc[100:].to_csv(tmp_path / "parts" / "b.csv", index=False, sep=";")
    ref = cp.read_synergyfinder(_write(t, tmp_path / "all.csv"))
    for path in (tmp_path / "parts", str(tmp_path / "parts" / "*.csv")):
        got = cd.read_combinations(path, blocksize=1500).compute(scheduler="sync")
        # the index restarts in each file (the row number error messages give)
        assert got.index[100] == 0
        pd.testing.assert_frame_equal(got.reset_index(drop=True), ref)


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_drugcomb_mapping(tmp_path, ext):
    raw = _drugcomb_table()
    f = _write(raw, tmp_path / f"dc.{ext}")
    lazy = cd.read_combinations(f, format="drugcomb", blocksize=1500)
    assert lazy.npartitions >= 2
    got = lazy.compute(scheduler="sync")
    expect = pd.DataFrame({
        "block": raw.block_id.to_numpy(), "drug_row": raw.drug_row.to_numpy(), "drug_col": raw.drug_col.to_numpy(),
        "conc_row": raw.conc_r.to_numpy(float), "conc_col": raw.conc_c.to_numpy(float),
        "response": raw.inhibition.to_numpy(float), "conc_row_unit": raw.conc_r_unit.to_numpy(),
        "conc_col_unit": raw.conc_c_unit.to_numpy(), "cell_line": raw.cell_line_name.to_numpy(),
        "replicate": np.ones(len(raw), dtype=np.int64)})
    pd.testing.assert_frame_equal(got, expect, check_index_type=False)
    # TidyComb's template calls the inhibition column "response"
    f2 = _write(raw.rename(columns={"inhibition": "response"}), tmp_path / f"dc2.{ext}")
    got2 = cd.read_combinations(f2, format="drugcomb", blocksize=1500).compute(scheduler="sync")
    pd.testing.assert_frame_equal(got2, got)


@pytest.mark.parametrize("fmt", ["synergyfinder", "drugcomb"])
def test_distributed_synergy_on_the_lazy_frame_equals_in_memory(tmp_path, client, fmt):
    raw = _sf_table() if fmt == "synergyfinder" else _drugcomb_table()
    f = _write(raw, tmp_path / "t.csv")
    lazy = cd.read_combinations(f, format=fmt, blocksize=2500)
    kw = dict(doses=["conc_row", "conc_col"], response="response", by=["block", "drug_row", "drug_col"],
              replicate="replicate", methods=("bliss", "hsa"), n_boot=0)
    res = cd.synergy(lazy, client=client, **kw)
    ref = cp.synergy(lazy.compute(), **kw)
    pd.testing.assert_frame_equal(res.cells, ref.cells)
    pd.testing.assert_frame_equal(res.blocks, ref.blocks)


def test_missing_column_is_refused_at_call_time(tmp_path):
    f = _write(_sf_table().drop(columns="ConcCol"), tmp_path / "sf.csv")
    with pytest.raises(DataError, match=r"sf\.csv.*'ConcCol'.*not found"):
        cd.read_combinations(f)
    g = _write(_drugcomb_table().drop(columns="conc_r"), tmp_path / "dc.parquet")
    with pytest.raises(DataError, match=r"'conc_r' \(DrugComb response table\) not found"):
        cd.read_combinations(g, format="drugcomb")
    with pytest.raises(DataError, match="not found"):
        cd.read_combinations(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="format must be"):
        cd.read_combinations(f, format="almanac")


def test_bad_row_in_a_later_partition_raises_only_on_compute(tmp_path):
    t = _sf_table()
    t["ConcRow"] = t["ConcRow"].astype(object)
    t.loc[203, "ConcRow"] = -1.0
    f = _write(t, tmp_path / "sf.csv")
    lazy = cd.read_combinations(f, blocksize=2000)  # nothing beyond the first rows read: no error yet
    assert lazy.npartitions >= 3
    with pytest.raises(DataError, match=r"sf\.csv.*column 'ConcRow' .*must be >= 0.*first at row 203"):
        lazy.compute(scheduler="sync")
    # the same message as the pandas reader, plus the file
    with pytest.raises(DataError, match=r"column 'ConcRow' .*must be >= 0.*first at row 203"):
        cp.read_synergyfinder(f)
    t.loc[203, "ConcRow"] = "10 uM"
    f = _write(t, tmp_path / "sf2.csv")
    with pytest.raises(DataError, match=r"sf2\.csv.*column 'ConcRow' must be numeric; row 203 has '10 uM'"):
        cd.read_combinations(f, blocksize=2000).compute(scheduler="sync")


@pytest.mark.parametrize("where", ["within", "across"])
def test_mixed_units_in_one_drug_are_refused(tmp_path, where):
    t = _sf_table()
    # block 3 spans rows 80-119; with 2000-byte partitions (about 35 rows) it is split
    row = 85 if where == "within" else 118
    t.loc[row, "ConcRowUnit"] = "nM"
    f = _write(t, tmp_path / "sf.csv")
    lazy = cd.read_combinations(f, blocksize=2000)
    with pytest.raises(DataError, match=rf"sf\.csv.*block 3: drug 'drug2' has concentrations in more than one unit: "
                                        rf"'uM' \(first in column 'ConcRowUnit', row 80\); 'nM' .*row {row}\)"):
        lazy.compute(scheduler="sync")
    d = _drugcomb_table()  # 100 rows, blocks of 20, about 33 rows per partition
    row = 85 if where == "within" else 78
    d.loc[row, "conc_r_unit"] = "nM"
    g = _write(d, tmp_path / "dc.csv")
    b = row // 20  # 20 rows per DrugComb block
    with pytest.raises(DataError, match=rf"block {101 + b}: drug 'drug{b % 3}' .*more than one unit: 'uM' "
                                        rf"\(first in column 'conc_r_unit', row {20 * b}\); 'nM' .*row {row}\)"):
        cd.read_combinations(g, format="drugcomb", blocksize=1500).compute(scheduler="sync")


def test_non_contiguous_block_across_partitions_is_refused(tmp_path):
    t = _sf_table()
    t = pd.concat([t.iloc[:40], t.iloc[40:200], t.iloc[:2]], ignore_index=True)  # block 1 again at the end
    f = _write(t, tmp_path / "sf.csv")
    with pytest.raises(DataError, match=r"block 1 appears again at row 200.*contiguous"):
        cd.read_combinations(f, blocksize=2000).compute(scheduler="sync")
