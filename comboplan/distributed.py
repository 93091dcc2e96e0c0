"""Run comboplan's batch analyses partition by partition on Dask (optional extra ``comboplan[dask]``).

The functions here take a Dask DataFrame (or a pandas DataFrame plus a
:class:`dask.distributed.Client`), bring every group (curve, block) together in one
partition, call the ordinary in-memory function on each partition's pandas frame on the
workers, and merge the pieces into the same result type as the in-memory path.

What is equal to the in-memory path, and why
--------------------------------------------
* Rows are routed to partitions by a hash of the group key (``pandas.util.hash_pandas_object``),
  and keep their original order inside each group, so each group sees exactly the rows
  (in the same order) that it sees in memory.
* :func:`fit_dose_response`: the batch engine's result for a curve depends on the padded
  width of the batch (the largest group's size) as well as on the curve's own rows.  Each
  partition therefore fits one extra padding curve as wide as the largest group of the
  whole input and drops it, which makes every fit bit-for-bit equal to the in-memory fit
  whatever the partitioning (``tests/test_distributed.py``).
* :func:`synergy`: Bliss and HSA scores, their delta-method intervals and p-values are
  bit-for-bit equal; q-values are recomputed across all blocks after the merge.  Loewe and
  ZIP depend on single-agent Hill fits and ZIP-slice fits whose engine the in-memory path
  chooses by the size of the call (MINPACK curve by curve for at most 8 Hill curves or 32
  slices, the batch engine above, whose result for a curve also depends on the padded width
  of the batch).  Without bootstrap, a first pass sizes the whole screen's call
  (:func:`comboplan.combination.api.synergy_fit_sizes` per partition: counts add up, widths
  are maxima) and every partition fits under that plan
  (:func:`comboplan.combination.fits.batch_plan`), and the Loewe solver takes the same
  number of Newton steps for every cell; so Loewe and ZIP scores, their monotherapy fits
  and every other column are bit-for-bit the in-memory ones whatever the partitioning
  (``tests/test_distributed.py``, partitions of one to three blocks).
* Randomness: with ``n_boot > 0`` :func:`synergy` runs each block on its own with a seed
  derived from ``(seed, stable hash of the block key)`` (:func:`group_seed`), so the
  bootstrap does not depend on partitioning or row order.  It is *not* the stream of the
  in-memory call (which draws once for the whole screen).

Failures never lose the job: a partition whose call raises is retried group by group,
and a group that still fails becomes rows with ``converged=False`` (fits) or
``status="not_scored"`` (synergy, score_matrix) and a ``message`` giving the reason.
"""
from __future__ import annotations

import hashlib
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._params import Integral, Interval, Real, StrOptions, validate_params
from .combination.merge import block_order as _block_order
from ._worker import tune_worker_malloc
from .combination.merge import merge_split_tables, split_tables
from .data.validate import as_list
from .distributed_plan import _n_workers, _reason, active_client
from .exceptions import ConvergenceWarning, DataError

__all__ = [
    "is_dask_frame",
    "get_client",
    "group_seed",
    "fit_dose_response",
    "synergy",
    "score_matrix",
    "chou_talalay",
    "fit_growth_mixed_batch",
    "compare_arms_batch",
    "invivo_synergy_batch",
    "read_combinations",
    "DRUGCOMB_COLUMNS",
]

_PART, _POS, _PAD = "__cp_part", "__cp_pos", "__cp_pad"


# ----------------------------------------------------------------------------- helpers
def _require_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise DataError("comboplan.distributed needs Dask: pip install 'comboplan[dask]'") from exc
    return dd


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (checked without importing Dask).

    Parameters
    ----------
    data : object
        Anything.

    Returns
    -------
    bool
    """
    mod = type(data).__module__ or ""
    return mod.split(".")[0] in ("dask", "dask_expr") and hasattr(data, "npartitions") and hasattr(data, "columns")


def get_client(client=None):
    """The Dask client to run on: ``client`` if given, else the active one, else ``None``.

    Parameters
    ----------
    client : dask.distributed.Client, optional
        An explicit client.

    Returns
    -------
    dask.distributed.Client or None
        ``None`` means Dask's default local scheduler.
    """
    return active_client(client)


def _stable_key_hash(key: tuple) -> int:
    parts = []
    for v in key:
        if isinstance(v, np.generic):
            v = v.item()
        parts.append(f"{type(v).__name__}:{v!r}")
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "little")


def _base_entropy(seed) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, np.random.SeedSequence):
        return int(np.asarray(seed.generate_state(2, np.uint64)).view(np.uint64)[0])
    if seed is None:
        return int(np.random.SeedSequence().generate_state(2, np.uint64)[0])
    return int(seed)


def group_seed(seed, key) -> np.random.SeedSequence:
    """The random stream of one group (curve, block, study): a function of ``seed`` and the key only.

    Parameters
    ----------
    seed : int
        Base seed (non-negative).
    key : tuple or scalar
        The group's key values (the ``by`` columns' values).

    Returns
    -------
    numpy.random.SeedSequence
        ``SeedSequence(seed, spawn_key=(blake2b-64 of the key,))``: independent of row
        order, partitioning and the other groups.
    """
    key = key if isinstance(key, tuple) else (key,)
    return np.random.SeedSequence(int(seed), spawn_key=(_stable_key_hash(key),))


def _workers(client) -> int:
    """Workers of ``client`` (1 without a client: the local scheduler gets one partition)."""
    return _n_workers(client) if client is not None else 1


def _to_dask(data, client, npartitions):
    dd = _require_dask()
    if is_dask_frame(data):
        return data if npartitions is None else data.repartition(npartitions=npartitions)
    if isinstance(data, pd.DataFrame):
        n = npartitions
        if n is None:
            n = _workers(client)
        import dask

        with dask.config.set({"dataframe.convert-string": False}):  # keep the caller's dtypes
            return dd.from_pandas(data, npartitions=int(n), sort=False)
    raise DataError(f"data must be a pandas or Dask DataFrame; got {type(data).__name__}")


def _split(frame: pd.DataFrame, part: int, by: list[str], k: int):
    """Route the rows of ``frame`` to ``k`` buckets by a hash of their group key.

    Returns ``(len(frame), pieces)``: piece ``i`` holds the rows whose key hashes to ``i``, in
    their original order, with two columns added: ``_PART`` (``part``) and ``_POS`` (the row's
    position in ``frame``).  One stable counting sort of the bucket numbers and one gather of the
    whole frame (the pieces are consecutive slices of it), instead of ``k`` boolean filters that
    each read every row; the caller's frame is not modified.
    """
    n = len(frame)
    if k == 1 or n == 0:
        out = frame.copy()
        out[_PART] = part
        out[_POS] = np.arange(n)
        return n, [out]
    h = pd.util.hash_pandas_object(frame[by], index=False).to_numpy() % np.uint64(k)
    # (numpy's stable sort of 16-bit integers is a radix sort: linear in the rows)
    h = h.astype(np.uint16) if k <= np.iinfo(np.uint16).max else h.astype(np.int64)
    order = np.argsort(h, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(h, minlength=k))])
    out = frame.take(order)
    out[_PART] = part
    out[_POS] = order.astype(np.int64)
    return n, [out.iloc[bounds[i]:bounds[i + 1]] for i in range(k)]


def _group_runs(frame: pd.DataFrame, by: list[str]):
    """``(number of groups, run starts or None, largest group's row count)`` of ``frame``: the
    run starts (row positions where a new group begins) when every group's rows are consecutive
    (the usual layout of a tidy table: curve after curve, block after block), ``None`` when some
    group's rows are not (the caller then routes rows by hash, :func:`_split`).  Consecutive
    groups are cut into row ranges (:func:`_cut_ranges`) with no gather of the table: each range
    is a slice of it, and its row positions are its start plus 0, 1, 2, ... (added on the
    worker, :func:`_position`)."""
    n = len(frame)
    if n == 0:
        return 0, None, 0
    codes = frame.groupby(by, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    ngroups = int(codes.max()) + 1
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    if len(starts) != ngroups:      # a group comes back after another one
        return ngroups, None, int(np.bincount(codes).max())
    return ngroups, starts, int(np.diff(np.append(starts, n)).max())


def _cut_ranges(starts: np.ndarray, n: int, k: int) -> list:
    """At most ``k`` consecutive, non-empty row ranges ``(start, stop)`` covering ``n`` rows, cut
    only at the run starts ``starts``, each near ``n / k`` rows."""
    cuts = starts[np.minimum(np.searchsorted(starts, np.arange(1, k) * (n / k)), len(starts) - 1)]
    bounds = np.unique(np.concatenate([[0], cuts, [n]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


class _Rows:
    """A consecutive range of an in-memory table's rows (``frame``, a slice of it) that starts at
    row ``start``; :func:`_position` adds the ``_PART`` / ``_POS`` columns on the worker."""

    __slots__ = ("frame", "start")

    def __init__(self, frame: pd.DataFrame, start: int):
        self.frame, self.start = frame, start


def _position(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    """The rows of a :class:`_Rows` range with their part (0) and positions in the whole table."""
    out = frame.reset_index(drop=True)
    out[_PART] = 0
    out[_POS] = np.arange(start, start + len(out), dtype=np.int64)
    return out


def _positioned_call(fn, frame, start, *args):
    return fn(_position(frame, start), *args)


def _bucket(pieces, i):
    return pd.concat([p[1][i] if len(p[1]) > i else p[1][0].iloc[:0] for p in pieces], ignore_index=True)


def _max_group(frame, by):
    return int(frame.groupby(by, sort=False, dropna=False, observed=True).size().max()) if len(frame) else 0


def _compute(client, *objs, progress: bool = False):
    """Compute Dask objects on ``client`` (or the local scheduler), with a progress bar if asked:
    distributed's progress bar with a client (text in a terminal, a widget in Jupyter), Dask's
    ``ProgressBar`` on the local scheduler."""
    import dask

    if client is not None:
        if not progress:
            return tuple(client.compute(list(objs), sync=True))
        from distributed import progress as show_progress

        futures = client.compute(list(objs))
        show_progress(futures)      # a text bar in a terminal (blocks until done), a widget in Jupyter
        return tuple(client.gather(futures))
    if not progress:
        return dask.compute(*objs)
    from dask.diagnostics import ProgressBar

    with ProgressBar():
        return dask.compute(*objs)


#: With an in-memory table and a client, and ``npartitions`` not given: at most this many rows per
#: partition, and a multiple of the number of workers.  With more partitions than workers, each
#: worker holds one or two partitions' inputs and results at a time (:func:`_map_parts`), whatever
#: the size of the table; with one partition per worker, all are sent at once.
ROWS_PER_PARTITION = 500_000

#: With an in-memory table, a client and ``npartitions`` not given, :func:`synergy` with Loewe,
#: ZIP or a bootstrap also puts at most about this many blocks in a partition: a worker's peak
#: memory grows by ~60 KB a block with all four methods (1.79 GB at 13,900 6x6 blocks of one
#: replicate, the 500,000 rows of one partition; 1.1-1.3 GB at 4,600 blocks of three).
BLOCKS_PER_PARTITION = 5_000


def _map_parts(client, fn, buckets, *args, progress: bool = False) -> list:
    """``fn(bucket, *args)`` for every bucket, results in bucket order.

    Buckets held here as pandas frames (an in-memory table with a client) are sent one at a
    time as workers free up: at most two per worker are in flight, and every result is
    fetched and released on the workers as soon as it is done, so a worker holds one or two
    partitions' inputs and results whatever the size of the table.  Other buckets (Dask
    objects) are computed together (:func:`_compute`).
    """
    import dask

    if client is None or not buckets or not isinstance(buckets[0], (pd.DataFrame, _Rows)):
        return list(_compute(client, *[dask.delayed(fn)(b, *args) for b in buckets], progress=progress))
    from distributed import as_completed

    results: list = [None] * len(buckets)
    index: dict = {}
    todo = iter(range(len(buckets)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(buckets), desc=f"{len(buckets)} partitions", unit="partition")

    def submit(pool):
        i = next(todo, None)
        if i is None:
            return
        # hash=False: fresh keys per call (content-hashed keys could be shared with an earlier call
        # on the same rows, whose release may reach the scheduler after this scatter)
        b = buckets[i]
        if isinstance(b, _Rows):
            [data] = client.scatter([b.frame], hash=False)
            fut = client.submit(_positioned_call, fn, data, b.start, *args, pure=False)
        else:
            [data] = client.scatter([b], hash=False)
            fut = client.submit(fn, data, *args, pure=False)
        index[fut.key] = (i, data)
        pool.add(fut)

    pool = as_completed()
    for _ in range(2 * _workers(client)):
        submit(pool)
    for fut in pool:
        i, data = index.pop(fut.key)
        results[i] = fut.result()
        fut.release()
        data.release()
        del fut, data
        if bar is not None:
            bar.update(1)
        submit(pool)
    if bar is not None:
        bar.close()
    return results


def _shuffle(data, by, client, npartitions, max_groups: int | None = None):
    """Group-complete pandas partitions (as Dask delayed objects, or pandas frames kept on the
    client for :func:`_map_parts`), their max group sizes and the row offsets.

    With an in-memory table and ``npartitions`` not given, a partition holds at most
    :data:`ROWS_PER_PARTITION` rows and (``max_groups``) that many groups, about."""
    import dask

    if client is not None and isinstance(data, pd.DataFrame):
        # an in-memory table: hash it into its buckets here (one pass of pandas); each bucket is
        # sent to a worker only when its turn comes (_map_parts), instead of a from_pandas -> split ->
        # bucket graph with three round trips; the buckets hold the same rows in the same order as
        # that graph would give them
        missing = [c for c in by if c not in data.columns]
        if missing:
            raise DataError(f"by column(s) {missing} not in the data; columns are {list(data.columns)}")
        # a multiple of the worker count, so that the last round of partitions keeps every worker busy
        nw = _workers(client)
        ngroups, starts, width = _group_runs(data, by)
        rounds = -(-len(data) // (ROWS_PER_PARTITION * nw))
        if max_groups:
            rounds = max(rounds, -(-ngroups // (int(max_groups) * nw)))
        k = int(npartitions or nw * max(1, rounds))
        if starts is not None:
            # every group's rows are consecutive: consecutive row ranges, cut at group boundaries,
            # are sent as they are (no gather of the table, no position columns to send)
            pieces = [_Rows(data.iloc[a:b], a) for a, b in _cut_ranges(starts, len(data), k)]
            if len(pieces) <= nw:
                sent = client.scatter([p.frame for p in pieces], hash=False)
                return (client.map(_position, sent, [p.start for p in pieces], pure=False), int(width),
                        np.zeros(1, dtype=np.int64))
            return pieces, int(width), np.zeros(1, dtype=np.int64)
        _, pieces = _split(data, 0, by, k)
        pieces = [p.reset_index(drop=True) for p in pieces]
        if k <= nw:
            # one round: every partition is sent at once and stays on its worker for every pass of
            # the call (synergy's sizing pass, then its scoring pass); hash=False: fresh keys per call,
            # as content-hashed keys would be shared with an earlier call on the same rows, whose
            # release can then reach the scheduler after this scatter ("lost dependencies")
            return client.scatter(pieces, hash=False), int(width), np.zeros(1, dtype=np.int64)
        return pieces, int(width), np.zeros(1, dtype=np.int64)
    ddf = _to_dask(data, client, npartitions)
    missing = [c for c in by if c not in ddf.columns]
    if missing:
        raise DataError(f"by column(s) {missing} not in the data; columns are {list(ddf.columns)}")
    k = int(npartitions or ddf.npartitions)
    parts = ddf.to_delayed()
    pieces = [dask.delayed(_split)(p, i, by, k) for i, p in enumerate(parts)]
    buckets = [dask.delayed(_bucket)(pieces, i) for i in range(k)]
    if client is not None:
        buckets = client.persist(buckets)
        pieces = client.persist(pieces)
    else:
        buckets = dask.persist(*buckets)
        pieces = dask.persist(*pieces)
    lens, sizes = _compute(client, [dask.delayed(lambda p: p[0])(p) for p in pieces],
                           [dask.delayed(_max_group)(b, by) for b in buckets])
    offsets = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    return list(buckets), int(max(sizes) if len(sizes) else 0), offsets


def _concat_in_order(arrays, order):
    """``np.concatenate(arrays)[order]`` for a permutation ``order``, without the intermediate
    concatenation: each piece is written straight to its final rows (one copy instead of two,
    and no second array of the full size on the client)."""
    n = len(order)
    if np.array_equal(order, np.arange(n)):   # pieces already in order (consecutive ranges of a sorted table)
        return np.concatenate(arrays)
    dest = np.empty(n, dtype=np.intp)
    dest[order] = np.arange(n, dtype=np.intp)
    out = np.empty((n, *arrays[0].shape[1:]), dtype=np.result_type(*arrays))
    start = 0
    for a in arrays:
        out[dest[start:start + len(a)]] = a
        start += len(a)
    return out


def _groups(frame, by):
    return frame.groupby(by, sort=True, dropna=False, observed=True)


def _key_tuple(key):
    return key if isinstance(key, tuple) else (key,)


def _sorted_order(keys: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Positions that put unique ``keys`` rows in the in-memory (groupby sort=True) order."""
    if not by or len(keys) == 0:
        return np.arange(len(keys))
    g = keys.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    return np.argsort(g, kind="stable")


# ----------------------------------------------------------------------------- dose-response
def _dr_partition(frame: pd.DataFrame, by, width, kwargs, offsets):
    tune_worker_malloc()
    from .fitting.dose_response import fit_dose_response as _fit

    def run(sub):
        if len(sub) == 0:
            return None
        # padding curve: the largest group's rows, tiled to the global width, in its own group
        ng = _groups(sub, by).ngroup().to_numpy()
        grp = sub[ng == int(np.argmax(np.bincount(ng)))]
        pad = grp.iloc[np.resize(np.arange(len(grp)), width)].copy()
        pad[_PAD] = True
        body = sub.copy()
        body[_PAD] = False
        both = pd.concat([body, pad], ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = _fit(both, by=[*by, _PAD], errors="warn", **kwargs)
        keep = ~res.keys[_PAD].to_numpy(dtype=bool)
        rows = res.packed.rows[keep]
        part = both[_PART].to_numpy()
        pos = both[_POS].to_numpy()
        f = res.fit
        sl = lambda a: None if a is None else np.asarray(a)[keep]  # noqa: E731
        return {
            "keys": res.keys.loc[keep, by].reset_index(drop=True),
            "estimates": f.estimates[keep], "cov": f.cov[keep], "rss": f.rss[keep], "nobs": f.nobs[keep],
            "converged": f.converged[keep], "message": np.asarray(f.message, dtype=object)[keep],
            "niter": f.niter[keep], "sum_log_w": sl(f.sum_log_w), "on_bound": sl(f.bound_flags),
            "free": f.free, "npar": f.npar, "cov_method": f.cov_method, "loss": f.loss,
            "x": res.packed.x[keep], "y": res.packed.y[keep], "w": res.packed.w[keep],
            "mask": res.packed.mask[keep],
            # each observation's row in the whole input (-1: padding of the packed arrays)
            "rows": np.where(rows >= 0, np.asarray(offsets)[part[np.maximum(rows, 0)]] + pos[np.maximum(rows, 0)], -1),
            "spec": res.spec, "fixed": dict(res.fixed), "failed": None,
        }

    try:
        return [run(frame)]
    except Exception:  # noqa: BLE001 - one bad curve must not lose the partition
        out = []
        for key, g in _groups(frame, by):
            try:
                out.append(run(g))
            except Exception as exc:  # noqa: BLE001
                reason = _reason(exc)
                try:  # the message of the curve alone (no padding rows), as the in-memory call words it
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        _fit(g.drop(columns=[_PART, _POS]).reset_index(drop=True), by=by, errors="warn", **kwargs)
                except Exception as exc2:  # noqa: BLE001
                    reason = _reason(exc2)
                keys = pd.DataFrame([_key_tuple(key)], columns=by)
                out.append({"keys": keys, "failed": reason, "nobs": np.array([len(g)])})
        return out


@validate_params({"errors": [StrOptions({"warn", "raise"})], "progress": ["boolean"],
                  "npartitions": [None, Interval(Integral, 1, None, closed="left")]})
def fit_dose_response(data, dose: str, response: str, by, *, client=None, npartitions: int | None = None,
                      errors: str = "warn", progress: bool = False, **kwargs):
    """:func:`comboplan.fit_dose_response` partition by partition on Dask, by curve.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or pandas.DataFrame
        Tidy table, one row per observation.  A pandas frame is split into
        ``npartitions`` (default: one per worker of ``client``).
    dose, response : str
        Columns, as in :func:`comboplan.fit_dose_response`.
    by : str or list of str
        Curve identity (required: the unit of distribution).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    npartitions : int, optional
        Number of group-complete partitions the work is split into (default: the
        input's number of partitions).
    errors : {"warn", "raise"}
        As in the in-memory path, applied after the merge: failed curves (including
        curves whose data raised, e.g. a negative dose) are NaN rows with
        ``converged=False`` and the reason in ``curves.message``; ``"raise"`` raises
        :class:`~comboplan.exceptions.FitError` listing them.
    progress : bool
        Show the progress of the partitions (Dask's progress bar: text in a terminal, a
        widget in Jupyter; ``dask.diagnostics.ProgressBar`` without a client).
    **kwargs
        Every other keyword of :func:`comboplan.fit_dose_response` (``model``,
        ``fixed``, ``bounds``, ``weights``, ``cov``, ...).

    Returns
    -------
    DoseResponseResult
        The in-memory result type, curves in the in-memory order; ``packed.rows`` index
        the rows of ``data`` in its global order (``data.compute()`` for a Dask frame).
        Fits are bit-for-bit those of the in-memory path on the same rows.

    Raises
    ------
    DataError
        Dask missing, ``by`` not given or not in the data, bad ``errors``.
    FitError
        With ``errors="raise"``, when any curve failed.
    """
    from .fitting.batch import BatchFit
    from .fitting.dose_response import DoseResponseResult, report_failed_curves
    from .fitting.packing import Packed
    from .models.dose_response import get_model

    by_l = as_list(by)
    if not by_l:
        raise DataError("by= is required: the curves are the unit of distribution")
    spec = get_model(kwargs.get("model", "hill4"))
    client = get_client(client)
    buckets, width, offsets = _shuffle(data, by_l, client, npartitions)
    kw = dict(kwargs, dose=dose, response=response)
    outs = _map_parts(client, _dr_partition, buckets, by_l, width, kw, offsets, progress=progress)
    pieces = [p for out in outs for p in out if p is not None]
    if not pieces:
        raise DataError("the input has no rows")
    ok = [p for p in pieces if p["failed"] is None]
    p_ = len(spec.params)
    allfixed = {**spec.fixed_defaults, **(kwargs.get("fixed") or {})}
    free = ok[0]["free"] if ok else np.array([n not in allfixed for n in spec.param_names])
    cols: dict[str, list] = {k: [] for k in ("estimates", "cov", "rss", "nobs", "converged", "message", "niter",
                                              "sum_log_w", "on_bound", "x", "y", "w", "mask", "rows")}
    keys = []
    for p in pieces:
        keys.append(p["keys"])
        if p["failed"] is None:
            for k in ("estimates", "cov", "rss", "nobs", "converged", "message", "niter", "x", "y", "w", "mask"):
                cols[k].append(p[k])
            cols["sum_log_w"].append(p["sum_log_w"] if p["sum_log_w"] is not None else np.full(len(p["rss"]), np.nan))
            cols["on_bound"].append(p["on_bound"])
            cols["rows"].append(p["rows"])
        else:
            cols["estimates"].append(np.full((1, p_), np.nan))
            cols["cov"].append(np.full((1, p_, p_), np.nan))
            cols["rss"].append(np.full(1, np.nan))
            cols["nobs"].append(np.asarray(p["nobs"], dtype=int))
            cols["converged"].append(np.zeros(1, dtype=bool))
            cols["message"].append(np.array([p["failed"]], dtype=object))
            cols["niter"].append(np.zeros(1, dtype=int))
            cols["sum_log_w"].append(np.full(1, np.nan))
            cols["on_bound"].append(np.zeros((1, p_), dtype=bool))
            for k in ("x", "y", "w"):
                cols[k].append(np.full((1, max(width, 1)), np.nan))
            cols["mask"].append(np.zeros((1, max(width, 1)), dtype=bool))
            cols["rows"].append(np.full((1, max(width, 1)), -1, dtype=np.int64))
    keys_df = pd.concat(keys, ignore_index=True)
    order = _sorted_order(keys_df, by_l)
    cat = {k: _concat_in_order(v, order) for k, v in cols.items()}
    keys_df = keys_df.iloc[order].reset_index(drop=True)
    ref = ok[0] if ok else {"npar": int(np.sum(free)), "cov_method": kwargs.get("cov", "gauss-newton"),
                            "loss": kwargs.get("loss", "linear"), "spec": spec, "fixed": allfixed}
    bf = BatchFit(spec=ref["spec"], estimates=cat["estimates"], cov=cat["cov"], rss=cat["rss"], nobs=cat["nobs"],
                  npar=ref["npar"], converged=cat["converged"], message=cat["message"], niter=cat["niter"],
                  free=free, cov_method=ref["cov_method"], loss=ref["loss"], sum_log_w=cat["sum_log_w"],
                  on_bound=cat["on_bound"])
    packed = Packed(keys=keys_df, x=cat["x"], y=cat["y"], w=cat["w"], mask=cat["mask"], rows=cat["rows"])
    res = DoseResponseResult(spec=ref["spec"], fit=bf, keys=keys_df, by=tuple(by_l), dose=dose, response=response,
                             dose_unit=kwargs.get("dose_unit"), response_unit=kwargs.get("response_unit"),
                             ci_level=kwargs.get("ci_level", 0.95), ci_scale=kwargs.get("ci_scale", "log"),
                             packed=packed, fixed=dict(ref["fixed"]), bounds=kwargs.get("bounds"))
    failed = ~bf.converged
    if failed.any():
        report_failed_curves(res.curves.loc[failed], by_l, bf.n_curves, errors, fmt=repr,
                             what="did not converge or could not be fitted")
    return res


# ----------------------------------------------------------------------------- synergy
def _strip(frame):
    return frame.drop(columns=[_PART, _POS]).reset_index(drop=True)


def _not_scored_blocks(by, key, methods, reason):
    rows = [{**dict(zip(by, _key_tuple(key))), "method": m, "n_scored": 0, "status": "not_scored",
             "message": reason} for m in methods]
    return pd.DataFrame(rows)


def _syn_sizes(frame: pd.DataFrame, by, kwargs) -> dict:
    """Sizes of the batched fits of one :func:`comboplan.synergy` call on this partition
    (``{}`` when the partition is empty or its table is rejected: it is then scored block by
    block)."""
    tune_worker_malloc()
    from .combination.api import synergy_fit_sizes

    if len(frame) == 0:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return synergy_fit_sizes(_strip(frame), by=by, **kwargs)
    except Exception:  # noqa: BLE001 - the scoring pass reports it, block by block
        return {}


def _in_block_order(blocks: pd.DataFrame, by, methods) -> bool:
    """Whether the rows of a merged blocks table are in one call's order already: by method (in
    ``methods`` order), then by block (sorted ``by`` labels).  Every block has a row for every
    method, so the cells table, merged from the same pieces, is then in that order too."""
    if len(blocks) == 0:
        return True
    if "method" not in blocks.columns or any(c not in blocks.columns for c in by):
        return False
    mc = pd.Categorical(blocks["method"])
    if any(c not in methods for c in mc.categories):
        return False
    meth = np.array([list(methods).index(c) for c in mc.categories] + [-1], dtype=np.int64)[mc.codes]
    code = blocks.groupby(by, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    dm, dc = np.diff(meth), np.diff(code)
    return bool((meth >= 0).all() and np.all((dm > 0) | ((dm == 0) & (dc >= 0))))


def _syn_partition(frame: pd.DataFrame, by, kwargs, base_seed, per_block, plan=None):
    tune_worker_malloc()
    from .combination.api import synergy as _syn
    from .combination.fits import batch_plan

    methods = kwargs["methods"]

    def call(sub, seed):
        with warnings.catch_warnings(), batch_plan(**(plan or {})):
            warnings.simplefilter("ignore")
            r = _syn(_strip(sub), by=by, errors="warn", seed=seed, **kwargs)
        # the tables as column arrays per method (merge.split_tables): the client merges them one
        # column at a time, as the in-memory path merges its chunks
        return split_tables(r, methods), r.settings

    if len(frame) == 0:
        return []
    if not per_block:
        try:
            return [call(frame, None)]
        except Exception:  # noqa: BLE001 - retried block by block below
            pass
    out = []
    for key, g in _groups(frame, by):
        seed = group_seed(base_seed, _key_tuple(key)) if per_block else None
        try:
            out.append(call(g, seed))
        except Exception as exc:  # noqa: BLE001
            out.append((split_tables((None, _not_scored_blocks(by, key, methods, _reason(exc)), None), methods),
                        None))
    return out


@validate_params({"progress": ["boolean"], "npartitions": [None, Interval(Integral, 1, None, closed="left")],
                  "n_boot": [Interval(Integral, 0, None, closed="left")]})
def synergy(data, doses: Sequence[str], response: str, by, *, client=None, npartitions: int | None = None,
            methods=("bliss", "hsa", "loewe", "zip"), n_boot: int = 1000, seed=None, progress: bool = False,
            **kwargs):
    """:func:`comboplan.synergy` partition by partition on Dask, by block.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or pandas.DataFrame
        Tidy table, one row per well.
    doses : list of str
        One dose column per agent.
    response : str
        Response column.
    by : str or list of str
        Block identity (required: the unit of distribution).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    npartitions : int, optional
        Number of block-complete partitions (default: the input's).
    methods : sequence of str
        As in :func:`comboplan.synergy`.
    n_boot : int
        Bootstrap replicates.  With ``n_boot > 0`` each block runs on its own with the
        seed :func:`group_seed` ``(seed, block key)``: independent of partitioning and row
        order, but not the in-memory call's stream.  ``0``: each partition is one
        vectorised call.
    seed : int, optional
        Base seed (``None``: drawn once here, on the client).
    progress : bool
        Show the progress of the partitions (as in :func:`fit_dose_response`).
    **kwargs
        Every other keyword of :func:`comboplan.synergy` except ``errors`` (blocks that
        cannot be scored, or whose data raise, are always rows with
        ``status="not_scored"`` and a ``message``).

    Returns
    -------
    SynergyResult
        Tables in the in-memory order; q-values recomputed across all blocks.  Bliss and
        HSA scores with delta-method intervals are bit-for-bit the in-memory ones, and so
        (without bootstrap) are Loewe and ZIP (see the module notes).

    Raises
    ------
    DataError
        Dask missing, ``by`` missing, or an option the in-memory function rejects.
    """

    from .combination.api import SynergyResult, normalise_methods

    by_l = as_list(by)
    if not by_l:
        raise DataError("by= is required: the blocks are the unit of distribution")
    kwargs.pop("errors", None)
    methods = normalise_methods(methods)
    base = _base_entropy(seed)
    client = get_client(client)
    # Loewe and ZIP fit curves per block and a bootstrap refits or resamples every block: their
    # working memory grows with the blocks of a partition more than with its rows
    heavy = int(n_boot) > 0 or bool(set(methods) & {"loewe", "zip"})
    buckets, _, _ = _shuffle(data, by_l, client, npartitions, max_groups=BLOCKS_PER_PARTITION if heavy else None)
    kw = dict(kwargs, doses=list(doses), response=response, methods=methods, n_boot=int(n_boot))
    plan = None
    if int(n_boot) == 0:
        # the engine and padded width of the single-agent Hill and ZIP-slice fits depend on the
        # size of the call: a first pass sizes the whole screen's call, and every partition then
        # fits as that call does (comboplan.combination.fits.batch_plan)
        from .combination.fits import whole_call_sizes

        plan = whole_call_sizes(_map_parts(client, _syn_sizes, buckets, by_l, kw))
    outs = _map_parts(client, _syn_partition, buckets, by_l, kw, base, int(n_boot) > 0, plan, progress=progress)
    pieces = [p for out in outs for p in out]
    del outs
    good = [p for p in pieces if p[1] is not None]
    if not good:
        reasons = "; ".join(str(next(iter(p[0]["blocks"].values()))["message"][0]) for p in pieces[:3])
        raise DataError(f"no block could be scored: {reasons}")
    settings = dict(good[0][1])
    del good
    # method by method, partition by partition, one column at a time (q-values recomputed over
    # the screen); that is one call's order when the partitions hold consecutive blocks in
    # sorted order (row ranges of a sorted table), else the rows are put in that order
    tables = merge_split_tables([p[0] for p in pieces], methods, trim=True)
    del pieces
    cells, blocks, mono = tables["cells"], tables["blocks"], tables["monotherapy"]
    del tables
    if not _in_block_order(blocks, by_l, methods):
        cells = _block_order(cells, by_l, methods)
        blocks = _block_order(blocks, by_l, methods)
    mono = _block_order(mono, by_l, methods)
    settings.update(seed=seed, n_boot=int(n_boot), errors="warn",
                    distributed={"seeding": "per block: group_seed(seed, key)" if n_boot > 0 else "none",
                                 "n_partitions": len(buckets)})
    n_bad = int((blocks["status"].astype(object) == "not_scored").sum()) if "status" in blocks else 0
    if n_bad:
        from .exceptions import ComboplanWarning

        warnings.warn(f"{n_bad} block x method row(s) not scored; see result.blocks['message'].",
                      ComboplanWarning, stacklevel=2)
    return SynergyResult(cells=cells, blocks=blocks, monotherapy=mono, settings=settings)


# ----------------------------------------------------------------------------- score_matrix
_SM_COLS = ["dose1", "dose2", "n", "observed", "reference", "score", "synergy_score", "loewe_ci", "status", "message"]


def _sm_partition(frame: pd.DataFrame, by, d1, d2, response, kwargs):
    tune_worker_malloc()
    from .combination.matrix import score_matrix as _sm

    out = []
    for key, g in _groups(frame, by):
        kd = dict(zip(by, _key_tuple(key)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = _sm(g[d1].to_numpy(), g[d2].to_numpy(), g[response].to_numpy(), **kwargs)
            t = pd.DataFrame({"dose1": r.dose1, "dose2": r.dose2, "n": r.n, "observed": r.observed,
                              "reference": r.reference, "score": r.score, "synergy_score": r.synergy_score,
                              "loewe_ci": r.loewe_ci, "status": "ok", "message": ""})
        except Exception as exc:  # noqa: BLE001
            t = pd.DataFrame({c: [np.nan] for c in _SM_COLS[:-2]})
            t["n"] = 0
            t["status"], t["message"] = "not_scored", _reason(exc)
        for c in reversed(by):
            t.insert(0, c, kd[c])
        out.append(t)
    return pd.concat(out, ignore_index=True) if out else None


@validate_params({"progress": ["boolean"], "npartitions": [None, Interval(Integral, 1, None, closed="left")]})
def score_matrix(data, d1: str, d2: str, response: str, by, *, client=None, npartitions: int | None = None,
                 progress: bool = False, **kwargs) -> pd.DataFrame:
    """:func:`comboplan.score_matrix` (Loewe or ZIP) for every block of a table, on Dask.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or pandas.DataFrame
        Tidy table, one row per observation.
    d1, d2 : str
        Dose columns of agent 1 and agent 2.
    response : str
        Response column.
    by : str or list of str
        Block identity (required).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    npartitions : int, optional
        Number of block-complete partitions (default: the input's).
    progress : bool
        Show the progress of the partitions (as in :func:`fit_dose_response`).
    **kwargs
        ``method``, ``response_kind``, ``scale``, ``zip_version`` of
        :func:`comboplan.score_matrix`.

    Returns
    -------
    pandas.DataFrame
        One row per block and combination cell: the ``by`` columns, ``dose1``,
        ``dose2``, ``n``, ``observed``, ``reference``, ``score``, ``synergy_score`` (= ``score``,
        > 0 means synergy), ``loewe_ci``, ``status`` (``"ok"`` or ``"not_scored"``) and ``message`` (the reason a block
        could not be scored: one NaN row per such block).  Blocks in sorted key order;
        every score is bit-for-bit :func:`comboplan.score_matrix` on the block's rows.

    Raises
    ------
    DataError
        Dask missing or ``by`` missing.
    """

    by_l = as_list(by)
    if not by_l:
        raise DataError("by= is required: the blocks are the unit of distribution")
    client = get_client(client)
    buckets, _, _ = _shuffle(data, by_l, client, npartitions)
    outs = _map_parts(client, _sm_partition, buckets, by_l, d1, d2, response, kwargs, progress=progress)
    tab = pd.concat([o for o in outs if o is not None], ignore_index=True)
    ordinal = tab.groupby(by_l, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    return tab.iloc[np.argsort(ordinal, kind="stable")].reset_index(drop=True)



# ----------------------------------------------------------------------------- chou_talalay
def _ct_partition(frame: pd.DataFrame, by, kw):
    """Per-block rows of :func:`comboplan.chou_talalay` for one partition (blocks whose data are
    refused become ``not_scored`` params rows with the reason)."""
    tune_worker_malloc()
    from .combination.chou_talalay import _ct_blocks, _ct_skip
    from .combination.design import prepare

    def run(sub):
        design = prepare(_strip(sub), kw["doses"], kw["response"], by=by, replicate=kw["replicate"],
                         response_kind=kw["response_kind"], scale=kw["scale"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _ct_blocks(design, kw["fa_levels"], kw["mutually_exclusive"], kw["ci_level"], kw["dose_units"],
                              "warn")

    if len(frame) == 0:
        return []
    try:
        return run(frame)
    except Exception:  # noqa: BLE001 - retried block by block below
        pass
    out = []
    for key, g in _groups(frame, by):
        try:
            out.extend(run(g))
        except Exception as exc:  # noqa: BLE001
            bname = dict(zip(by, _key_tuple(key)))
            P: list = []
            _ct_skip(P, bname, list(kw["doses"]), "warn", _reason(exc))
            out.append((bname, P, [], [], []))
    return out


@validate_params({"ci_level": [Interval(Real, 0, 1, closed="neither")], "mutually_exclusive": ["boolean"],
                  "errors": [StrOptions({"warn", "raise"})], "progress": ["boolean"],
                  "npartitions": [None, Interval(Integral, 1, None, closed="left")]})
def chou_talalay(data, doses: Sequence[str], response: str, by, *, client=None, npartitions: int | None = None,
                 response_kind: str = "inhibition", scale: str = "percent", fa_levels=(0.5, 0.75, 0.9, 0.95),
                 mutually_exclusive: bool = True, ci_level: float = 0.95, replicate: str | None = None,
                 dose_units=None, errors: str = "warn", progress: bool = False):
    """:func:`comboplan.chou_talalay` partition by partition on Dask, by block.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or pandas.DataFrame
        Tidy table, one row per well (not modified).
    doses : list of str
        One dose column per agent (dose units as recorded in ``dose_units``).
    response : str
        Response column (inhibition or viability, percent or fraction: ``response_kind``,
        ``scale``).
    by : str or list of str
        Block identity (required: the unit of distribution).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    npartitions : int, optional
        Number of block-complete partitions (default: the input's).
    response_kind, scale, fa_levels, mutually_exclusive, ci_level, replicate, dose_units
        As in :func:`comboplan.chou_talalay` (``fa_levels`` are fractions affected, 0-1;
        ``ci_level`` a probability).
    errors : {"warn", "raise"}
        Applied after the merge.  A block that cannot be analysed (no mixture, an agent with
        fewer than 2 dose levels with 0 < fa < 1, or data the in-memory call refuses, e.g. a
        negative dose) is one ``params`` row per agent with ``status="not_scored"`` and the
        reason in ``message``, with a warning; ``"raise"`` raises :class:`DataError`
        naming the first such block instead.
    progress : bool
        Show the progress of the partitions (as in :func:`fit_dose_response`).

    Returns
    -------
    ChouTalalayResult
        The in-memory result type; every table bit-for-bit that of the in-memory call on the
        same rows, in the same order, whatever the partitioning (blocks are analysed
        independently: each block's median-effect fits use only its own rows).  ``CI`` < 1
        means synergy; ``synergy_score = -log10(CI)`` > 0 means synergy.

    Raises
    ------
    DataError
        Dask missing, ``by`` missing, bad ``fa_levels``; with ``errors="raise"``, a block
        that cannot be analysed.
    InvalidParameterError
        An option outside its allowed values (a ``ValueError``).
    """

    from .combination.chou_talalay import _check_fa_levels, _ct_result

    by_l = as_list(by)
    if not by_l:
        raise DataError("by= is required: the blocks are the unit of distribution")
    fa = _check_fa_levels(fa_levels)
    client = get_client(client)
    buckets, _, _ = _shuffle(data, by_l, client, npartitions)
    kw = {"doses": list(doses), "response": response, "replicate": replicate, "response_kind": response_kind,
          "scale": scale, "fa_levels": fa, "mutually_exclusive": bool(mutually_exclusive),
          "ci_level": float(ci_level), "dose_units": dose_units}
    outs = _map_parts(client, _ct_partition, buckets, by_l, kw, progress=progress)
    blocks = [blk for out in outs for blk in out]
    if not blocks:
        raise DataError("the input has no rows")
    keys = pd.DataFrame([blk[0] for blk in blocks], columns=by_l)
    blocks = [blocks[i] for i in _sorted_order(keys, by_l)]
    bad = [r for blk in blocks for r in blk[1] if r["status"] != "ok"]
    if bad and errors == "raise":
        raise DataError(f"chou_talalay: {len({r['message'] for r in bad})} block(s) could not be analysed; "
                        f"the first: {bad[0]['message']}")
    res = _ct_result(blocks, list(doses), by_l, response, response_kind, scale, fa, bool(mutually_exclusive),
                     float(ci_level), dose_units)
    res.settings["distributed"] = {"n_partitions": len(buckets)}
    return res


# ----------------------------------------------------------------------------- growth batches
def _per_study(value, n) -> bool:
    return isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n


def _merge_study_dicts(outs: list, ns: list):
    """Concatenate per-study arrays (leading axis = the piece's studies) over the pieces; sum
    integer counts; keep everything else (labels, days) from the first piece."""
    first = outs[0]
    merged = {}
    for k, v in first.items():
        if isinstance(v, dict):
            merged[k] = _merge_study_dicts([o[k] for o in outs], ns)
        elif _per_study(v, ns[0]) and all(_per_study(o[k], n) for o, n in zip(outs, ns)):
            merged[k] = np.concatenate([o[k] for o in outs])
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            merged[k] = int(sum(o[k] for o in outs))
        else:
            merged[k] = v
    return merged


def _failed_like(template, n_template: int, n: int):
    """The per-study arrays of ``template`` as ``n`` failed studies: NaN (float), False (bool),
    0 (integer); counts 0; labels kept."""
    out = {}
    for k, v in template.items():
        if isinstance(v, dict):
            out[k] = _failed_like(v, n_template, n)
        elif _per_study(v, n_template):
            shape = (n,) + v.shape[1:]
            if v.dtype == bool:
                out[k] = np.zeros(shape, dtype=bool)
            elif np.issubdtype(v.dtype, np.floating):
                out[k] = np.full(shape, np.nan, dtype=v.dtype)
            elif np.issubdtype(v.dtype, np.integer):
                out[k] = np.zeros(shape, dtype=v.dtype)
            else:
                out[k] = np.full(shape, None, dtype=object)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out[k] = 0
        else:
            out[k] = v
    return out


def _growth_partition(fn, sizes, observed, args, kwargs, offset=0):
    """One partition of studies (the first is study ``offset``): the in-memory batch call ``fn``; if it
    raises, study by study, and a study that still raises is ``(None, 1, reason)``.  Returns a
    list of ``(dict or None, n, reason)``."""
    tune_worker_malloc()
    import re

    sizes = np.asarray(sizes, dtype=float)
    obs = None if observed is None else np.asarray(observed, dtype=bool)

    def call(a, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(sizes[a:b], *args, observed=None if obs is None else obs[a:b], **kwargs)

    n = sizes.shape[0]
    try:
        return [(call(0, n), n, "")]
    except Exception:  # noqa: BLE001 - retried study by study below
        pass
    out = []
    for i in range(n):
        try:
            out.append((call(i, i + 1), 1, ""))
        except Exception as exc:  # noqa: BLE001
            # the single-study call numbers its study 0: name the study of the whole input
            reason = re.sub(r"^(\w+: )study 0: ", r"\1", _reason(exc))
            out.append((None, 1, f"study {offset + i}: {reason}"))
    return out


def _growth_batch(fn, sizes, time, subject_arm, arms, *, observed, client, studies_per_partition, progress,
                  align, kwargs):
    """Run the in-memory batch analysis ``fn`` over partitions of studies and merge the pieces."""
    _require_dask()
    import dask
    import dask.array as da
    lazy = isinstance(sizes, da.Array)
    if not lazy:
        sizes = np.asarray(sizes, dtype=float)
    if sizes.ndim != 3:
        raise DataError(f"sizes must have shape (n_studies, n_subjects, n_times); got {tuple(sizes.shape)}.")
    B = int(sizes.shape[0])
    if B == 0:
        raise DataError("sizes holds no study (n_studies = 0).")
    if observed is not None and tuple(np.shape(observed)) != tuple(sizes.shape):
        raise DataError(f"observed must have the shape of sizes {tuple(sizes.shape)}; got {tuple(np.shape(observed))}.")
    client = get_client(client)
    if studies_per_partition is None:
        studies_per_partition = -(-B // _workers(client))
    step = int(studies_per_partition)
    if align > 1:   # whole chunks of the in-memory batch fit (its results depend on chunk membership)
        step = -(-step // align) * align
    bounds = [(a, min(a + step, B)) for a in range(0, B, step)]
    args = (np.asarray(time, dtype=float), np.asarray(subject_arm), list(arms))
    # a Dask array's slices are dependencies of the tasks (computed where the task runs)
    tasks = [dask.delayed(_growth_partition)(fn, sizes[a:b], None if observed is None else observed[a:b], args,
                                             kwargs, a) for a, b in bounds]
    outs = _compute(client, *tasks, progress=progress)
    pieces = [p for out in outs for p in out]
    good = [p for p in pieces if p[0] is not None]
    if not good:
        raise DataError(f"no study could be analysed: {pieces[0][2]}")
    tmpl, n_t = good[0][0], good[0][1]
    dicts = [p[0] if p[0] is not None else _failed_like(tmpl, n_t, p[1]) for p in pieces]
    res = _merge_study_dicts(dicts, [p[1] for p in pieces])
    res["message"] = np.array([r for p in pieces for r in [p[2]] * p[1]], dtype=object)
    if "converged" in res:
        res["converged"] = np.where(res["message"] != "", False, res["converged"])
    res["n_partitions"] = len(bounds)
    n_bad = int(np.sum(res["message"] != ""))
    if n_bad:
        from .exceptions import ComboplanWarning

        warnings.warn(f"{n_bad} of {B} studies could not be analysed (NaN rows); see result['message'].",
                      ComboplanWarning, stacklevel=3)
    return res


_GROWTH_DOC = """{what} partition by partition on Dask, by study.

    Parameters
    ----------
    sizes : ndarray or dask.array.Array, shape (n_studies, n_subjects, n_times)
        Tumour sizes (> 0, any unit; NaN = not measured), one study per leading index; every
        study shares the design.  A Dask array is read partition by partition.
    time, subject_arm, arms
        As in :func:`{ref}` (time unit; arm index per animal; arm labels).
    observed : ndarray of bool, optional
        Which sizes were measured (default: finite ``sizes``).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    studies_per_partition : int, optional
        Studies per task (default: the studies split evenly over the workers){align}.
    progress : bool
        Show the progress of the partitions.
    **kwargs
        Every other keyword of :func:`{ref}`.

    Returns
    -------
    dict
        The in-memory result: per-study arrays concatenated in study order, bit-for-bit those
        of :func:`{ref}` on all studies at once whatever ``studies_per_partition``{exact}.
        Added: ``message`` (n_studies,) -- ``""``, or why a study could not be analysed (its
        arrays are then NaN and ``converged`` False; a warning counts them), and
        ``n_partitions``.

    Raises
    ------
    DataError
        Dask missing, ``sizes`` not 3-D or empty, ``observed`` of another shape, or no study
        could be analysed.
    InvalidParameterError
        ``studies_per_partition`` not a positive integer, ``progress`` not a bool.
    """


def _growth_batch_api(module: str, name: str, doc: dict, chunk_attr: str | None = None):
    """The public distributed counterpart of the in-memory batch function ``module.name``."""
    def run(sizes, time, subject_arm, arms, *, observed=None, client=None, studies_per_partition: int | None = None,
            progress: bool = False, **kwargs) -> dict:
        import importlib

        mod = importlib.import_module(module)
        return _growth_batch(getattr(mod, name), sizes, time, subject_arm, arms, observed=observed, client=client,
                             studies_per_partition=studies_per_partition, progress=progress,
                             align=getattr(mod, chunk_attr) if chunk_attr else 1, kwargs=kwargs)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = _GROWTH_DOC.format(ref=f"comboplan.{module.split('comboplan.', 1)[1]}.{name}", **doc)
    return validate_params({"studies_per_partition": [None, Interval(Integral, 1, None, closed="left")],
                            "progress": ["boolean"]})(run)


fit_growth_mixed_batch = _growth_batch_api(
    "comboplan.growth.mixed_batch", "fit_growth_mixed_batch", chunk_attr="STUDY_CHUNK", doc=dict(
        what=":func:`comboplan.growth.fit_growth_mixed_batch` (rates per arm of many simulated studies, "
             "1/time unit)",
        align=(", rounded up to a whole number of the in-memory fit's chunks of studies "
               "(:data:`comboplan.growth.mixed_batch.STUDY_CHUNK`, 128), whose members' results depend on each "
               "other at round-off"),
        exact=" (the partitions are whole chunks of the in-memory fit)"))
compare_arms_batch = _growth_batch_api(
    "comboplan.growth.endpoints", "compare_arms_batch", doc=dict(
        what=":func:`comboplan.growth.endpoints.compare_arms_batch` (candidate vs reference on log RTV)",
        align="", exact=" (each study is computed alone)"))
invivo_synergy_batch = _growth_batch_api(
    "comboplan.growth.synergy", "invivo_synergy_batch", doc=dict(
        what=":func:`comboplan.growth.synergy.invivo_synergy_batch` (growth-rate synergy; score > 0 = synergy)",
        align="", exact=" (each study is computed alone)"))


# ----------------------------------------------------------------------------- lazy readers
#: DrugComb's response table (the TidyComb template that DrugComb ingests, and the rows of
#: ``api.drugcomb.org/response``) -> comboplan's tidy columns; ``response`` is accepted for
#: ``inhibition`` (TidyComb's manual names it so), both in percent inhibition.
DRUGCOMB_COLUMNS = {"block": "block_id", "drug_row": "drug_row", "drug_col": "drug_col", "conc_row": "conc_r",
                    "conc_col": "conc_c", "response": "inhibition", "conc_row_unit": "conc_r_unit",
                    "conc_col_unit": "conc_c_unit"}
_DRUGCOMB_KEEP = {"cell_line": "cell_line_name"}
_PARQUET_EXT = (".parquet", ".pq", ".parq")
_TABLE_EXT = _PARQUET_EXT + (".csv", ".tsv", ".tab", ".txt", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.xz")
_HEAD_ROWS = 50


class _Failed:
    """A partition whose rows were refused (the finishing step re-raises with file row numbers)."""

    def __init__(self, n):
        self.n = n


def _spec_for(fmt: str, columns) -> dict:
    from .combination.io import SF_COLUMNS

    if fmt == "synergyfinder":
        return {"cols": dict(SF_COLUMNS), "fallback": "ConcUnit", "role": "SynergyFinder long format", "keep": {},
                "aliases": True}
    cols = dict(DRUGCOMB_COLUMNS)
    if "inhibition" not in columns and "response" in columns:
        cols["response"] = "response"
    return {"cols": cols, "fallback": None, "role": "DrugComb response table", "keep": dict(_DRUGCOMB_KEEP),
            "aliases": False}


def _expand_paths(path) -> list[str]:
    import glob
    from pathlib import Path

    paths = path if isinstance(path, (list, tuple)) else [path]
    files: list[str] = []
    for one in paths:
        s = str(one)
        p = Path(s)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_"))
                           and f.name.lower().endswith(_TABLE_EXT))
            if not found:
                raise DataError(f"folder {s!r} holds no .csv/.tsv/.parquet file.")
            files += found
        elif any(ch in s for ch in "*?["):
            found = sorted(f for f in glob.glob(s) if Path(f).is_file())
            if not found:
                raise DataError(f"no file matches {s!r}.")
            files += found
        elif p.exists():
            files.append(s)
        else:
            raise DataError(f"file {s!r} not found.")
    return files


def _is_parquet(f: str) -> bool:
    return f.lower().endswith(_PARQUET_EXT)


def _sniff_sep(f: str) -> str:
    import csv

    import fsspec

    with fsspec.open(f, "rt", compression="infer") as fh:
        line = fh.readline()
    try:
        return csv.Sniffer().sniff(line, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _head(f: str, sep) -> pd.DataFrame:
    """The first rows of one file (the only data read when the reader is called)."""
    try:
        if _is_parquet(f):
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(f)
            batch = next(pf.iter_batches(batch_size=_HEAD_ROWS), None)
            return batch.to_pandas() if batch is not None else pf.schema_arrow.empty_table().to_pandas()
        return pd.read_csv(f, sep=sep, nrows=_HEAD_ROWS)
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - not a table at all
        raise DataError(f"file {f!r} could not be read as {'Parquet' if _is_parquet(f) else 'CSV'}: {exc}") from exc


def _block_kind(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "text"


def _prepare(raw: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """A raw partition with SynergyFinder's aliases renamed and the block ids in the head's type."""
    from .combination.io import synergyfinder_aliases

    if spec["aliases"]:
        raw = synergyfinder_aliases(raw)
    col = spec["cols"]["block"]
    kind = spec["block_kind"]
    if kind != "text" and col in raw.columns and not pd.api.types.is_numeric_dtype(raw[col].dtype):
        num = pd.to_numeric(raw[col], errors="coerce")
        bad = num.isna().to_numpy() & raw[col].notna().to_numpy()
        if kind == "int":
            bad |= num.notna().to_numpy() & (num.fillna(0) % 1 != 0).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            from .data.validate import _fmt_label

            raise DataError(f"column {col!r} holds {'integers' if kind == 'int' else 'numbers'} in the first rows "
                            f"of the file but row {_fmt_label(raw.index[i])} has {_fmt_label(raw[col].iloc[i])}; "
                            "block ids must be of one type (all numbers or all text).")
        raw = raw.copy()
        raw[col] = num.astype("int64") if kind == "int" and not num.isna().any() else num
    return raw


def _tidy(raw: pd.DataFrame, spec: dict, index=None) -> pd.DataFrame:
    from .combination.io import tidy_long_table

    if index is not None:
        raw = raw.set_axis(index, axis=0)
    out = tidy_long_table(_prepare(raw, spec), spec["cols"], unit_fallback=spec["fallback"], role=spec["role"],
                          keep=spec["keep"], check_units=False)  # checked with the earlier partitions' units
    for c in ("conc_row", "conc_col", "response"):
        out[c] = out[c].astype("float64")
    return out


def _tidy_part(raw: pd.DataFrame, spec: dict):
    try:
        return _tidy(raw.reset_index(drop=True), spec)
    except DataError:
        return _Failed(len(raw))


def _part_summary(tidy, spec: dict) -> dict:
    """What the partitions after this one need to know of it: its length, its blocks, the
    replicate counts of its cells and the first row of each (block, drug, unit)."""
    from .combination.io import REPLICATE_KEYS, unit_table

    if isinstance(tidy, _Failed):
        return {"n": tidy.n, "failed": True}
    counts = tidy.groupby(REPLICATE_KEYS, sort=False, dropna=False).size().rename("n").reset_index()
    unit_cols = (spec["cols"]["conc_row_unit"], spec["cols"]["conc_col_unit"])
    units = unit_table(tidy, np.arange(len(tidy)), unit_cols).drop_duplicates(["block", "drug", "unit"])
    return {"n": len(tidy), "failed": False, "blocks": set(pd.unique(tidy["block"]).tolist()), "counts": counts,
            "units": units}


def _carry_start() -> dict:
    return {"file": None, "offset": 0, "blocks": set(), "seen": set(), "counts": None, "units": None,
            "failed": None}


def _advance(carry: dict, summ: dict, file: str) -> dict:
    """The state after one more partition (of ``file``) has been read."""
    from .combination.io import REPLICATE_KEYS

    offset = carry["offset"] if carry["file"] == file else 0
    if carry["failed"] or summ["failed"]:
        return {**_carry_start(), "file": file, "offset": offset + summ["n"],
                "failed": carry["failed"] or (file, offset, summ["n"])}
    blocks = summ["blocks"]
    counts, units = summ["counts"], summ["units"].copy()
    units["row"] = units["row"] + offset
    if carry["counts"] is not None:
        keep = carry["counts"]["block"].isin(blocks)
        counts = (pd.concat([carry["counts"][keep], counts], ignore_index=True)
                  .groupby(REPLICATE_KEYS, sort=False, dropna=False)["n"].sum().reset_index())
        units = pd.concat([carry["units"][carry["units"]["block"].isin(blocks)], units], ignore_index=True)
        units = units.drop_duplicates(["block", "drug", "unit"])
    return {"file": file, "offset": offset + summ["n"], "blocks": set(blocks),
            "seen": carry["seen"] | carry["blocks"], "counts": counts, "units": units, "failed": None}


def _finish(raw: pd.DataFrame, tidy, carry: dict, file: str, spec: dict) -> pd.DataFrame:
    """The tidy partition with file row labels, replicate numbers continued from the partitions
    before it, and units checked across the boundary; DataError naming the file otherwise."""
    from .combination.io import REPLICATE_KEYS, check_unit_table, replicate_numbers, unit_table

    offset = carry["offset"] if carry["file"] == file else 0
    try:
        if carry["failed"]:
            f0, off0, n0 = carry["failed"]
            raise DataError(f"rows {off0}-{off0 + n0 - 1} of file {f0!r} were refused (computing that partition "
                            "names the row and column); the partitions after it cannot be numbered.")
        index = pd.RangeIndex(offset, offset + len(raw))
        if isinstance(tidy, _Failed):
            _tidy(raw, spec, index=index)  # raises the message with this file's row labels
            raise DataError("rows refused")  # pragma: no cover - _tidy raised above
        tidy = tidy.set_axis(index, axis=0)
        blocks = set(pd.unique(tidy["block"]).tolist())
        back = blocks & (carry["seen"] - carry["blocks"])
        if back:
            b = sorted(back, key=repr)[0]
            row = int(np.flatnonzero((tidy["block"] == b).to_numpy())[0]) + offset
            raise DataError(f"block {b!r} appears again at row {row} after other blocks' rows, past a partition "
                            "boundary: the lazy reader numbers replicates and checks units block by block in file "
                            "order, so each block's rows must be contiguous (block ids unique across files). Sort "
                            "the file by block, or read it with comboplan.read_synergyfinder.")
        rep = replicate_numbers(tidy).to_numpy()
        unit_cols = (spec["cols"]["conc_row_unit"], spec["cols"]["conc_col_unit"])
        long = unit_table(tidy, index, unit_cols)
        if carry["counts"] is not None and len(carry["counts"]):
            prior = tidy[REPLICATE_KEYS].merge(carry["counts"], how="left", on=REPLICATE_KEYS)["n"]
            rep = rep + prior.fillna(0).to_numpy(dtype=np.int64)
            pu = carry["units"]
            pu = pu[pu["block"].isin(blocks)]
            if len(pu):
                long = pd.concat([pu, long], ignore_index=True)
        check_unit_table(long)
        tidy["replicate"] = rep.astype(np.int64)
        return tidy
    except DataError as exc:
        raise DataError(f"file {file!r}: {exc}") from None


def read_combinations(path, *, format: str = "synergyfinder", blocksize="64MB", sep: str | None = None):
    """Read a large combination screen's long table lazily, as a Dask DataFrame in comboplan's tidy form.

    Parameters
    ----------
    path : str, pathlib.Path or list of them
        A file, a glob pattern (``"screens/*.csv"``) or a folder (every ``.csv``, ``.tsv`` and
        ``.parquet`` / ``.pq`` file in it, as ``dask.dataframe.to_csv`` / ``to_parquet`` write
        them), read in sorted name order.  Each file is read as Parquet or as CSV by its
        extension (CSV may be comma, semicolon, tab or pipe separated, optionally compressed).
    format : {"synergyfinder", "drugcomb"}
        ``"synergyfinder"``: SynergyFinder's long format, the columns
        :func:`comboplan.read_synergyfinder` accepts (``BlockID``/``PairIndex``, ``DrugRow``,
        ``DrugCol``, ``ConcRow``, ``ConcCol``, ``Response``, ``ConcRowUnit``/``ConcColUnit`` or
        ``ConcUnit``; or ``Drug1``/``Conc1``...).  ``"drugcomb"``: DrugComb's response table,
        ``block_id``, ``drug_row``, ``drug_col``, ``conc_r``, ``conc_c``, ``inhibition`` (or
        ``response``), optional ``conc_r_unit``, ``conc_c_unit`` and ``cell_line_name``
        (:data:`DRUGCOMB_COLUMNS`).
    blocksize : str or int or None
        Bytes per partition (``"64MB"``), passed to ``dask.dataframe.read_csv`` and
        ``read_parquet`` (Parquet files are split at row groups).  ``None``: one partition per
        file.
    sep : str, optional
        CSV separator (default: sniffed from each file's header line).

    Returns
    -------
    dask.dataframe.DataFrame
        One row per well, in file order, the columns of :func:`comboplan.read_synergyfinder`:
        ``block``, ``drug_row``, ``drug_col``, ``conc_row``, ``conc_col`` (concentrations in the
        file's units, float64), ``response`` (float64; percent inhibition in both databases),
        ``conc_row_unit``, ``conc_col_unit`` (the stated units, ``""`` when the file has none),
        ``cell_line`` (DrugComb files with ``cell_line_name``) and ``replicate`` (1, 2, ... over the
        repeated rows of a cell of a block, numbered across partitions).  The index is the row
        number within each file (0 = first data row), the label error messages use.  Score it with
        ``comboplan.distributed.synergy(ddf, doses=["conc_row", "conc_col"], response="response",
        by=["block", "drug_row", "drug_col"], replicate="replicate")``.

    Raises
    ------
    DataError
        At call time: no such file, a file that is not a table, a missing column, a bad format
        name, or bad values in the first rows.  At compute time (the rest of the file is read only
        then): non-numeric concentrations or responses, missing, infinite or negative
        concentrations, a drug in more than one unit within one block (never converted), block
        ids of two types, or a block whose rows are not contiguous across a partition boundary;
        the message names the file, the column and the row.

    Notes
    -----
    Nothing but the first rows of each file (and Dask's sample of the first file) is read at
    call time.  Replicate numbers and the one-unit-per-drug check span partitions: each
    partition's state (its blocks' cell counts and units) is handed to the next one, so the
    result equals the pandas reader's whatever the blocksize.  A block's rows must be
    contiguous (both databases write them so); a block that reappears after other blocks'
    rows in a later partition is refused rather than numbered wrongly.
    """
    import dask
    import dask.dataframe as dd

    _require_dask()
    fmt = str(format).lower()
    if fmt not in ("synergyfinder", "drugcomb"):
        raise DataError(f"format must be 'synergyfinder' or 'drugcomb'; got {format!r}")
    files = _expand_paths(path)
    parts, metas = [], []
    spec0 = None
    for f in files:
        fsep = None if _is_parquet(f) else (sep or _sniff_sep(f))
        head = _head(f, fsep)
        if fmt == "synergyfinder":
            from .combination.io import synergyfinder_aliases

            cols_seen = synergyfinder_aliases(head).columns
        else:
            cols_seen = head.columns
        spec = _spec_for(fmt, cols_seen)
        bcol = spec["cols"]["block"]
        spec["block_kind"] = _block_kind(head[bcol].dtype) if bcol in cols_seen else "text"
        try:
            metas.append(_tidy(head, spec).iloc[:0])
        except DataError as exc:
            raise DataError(f"file {f!r}: {exc}") from None
        if spec0 is None:
            spec0 = spec
        if _is_parquet(f):
            ddf = dd.read_parquet(f, index=False, blocksize=blocksize, split_row_groups="infer" if blocksize else False)
        else:
            with dask.config.set({"dataframe.convert-string": False}):
                ddf = dd.read_csv(f, sep=fsep, blocksize=blocksize, dtype=object, sample_rows=10)
        parts += [(f, spec, p) for p in ddf.to_delayed()]
    for f, m in zip(files, metas):
        if list(m.columns) != list(metas[0].columns) or not m.dtypes.equals(metas[0].dtypes):
            raise DataError(f"file {f!r} does not read into the same columns and types as {files[0]!r} "
                            f"({dict(m.dtypes.astype(str))} vs {dict(metas[0].dtypes.astype(str))}); read the "
                            "files separately.")
    meta = metas[0].assign(replicate=np.array([], dtype=np.int64))
    carry = dask.delayed(_carry_start)()
    outs = []
    for f, spec, raw in parts:
        tidy = dask.delayed(_tidy_part)(raw, spec)
        outs.append(dask.delayed(_finish)(raw, tidy, carry, f, spec))
        carry = dask.delayed(_advance)(carry, dask.delayed(_part_summary)(tidy, spec), f)
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed(outs, meta=meta, verify_meta=False)
