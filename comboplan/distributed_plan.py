"""The simulator's planning grids on Dask (optional extra ``comboplan[dask]``).

:func:`study_power`, :func:`assurance`, :func:`sample_size` and :func:`plan_grid` (designs,
e.g. doses x companions, x n per arm) split their work into tasks and run them on a
:class:`dask.distributed.Client` (the ``client=`` given, else the active one, else Dask's
local scheduler); :func:`simulate_arms` does the same for virtual cohorts.  The in-memory
functions of :mod:`comboplan.simulate` call these when they are given a ``client=`` or
when a client is active, so ``comboplan.simulate.sample_size(..., client=client)`` and
``comboplan.distributed_plan.sample_size(..., client=client)`` are the same call.

Units of work, and why the numbers equal the in-memory path
-----------------------------------------------------------
* **Conditional power** (``n_studies`` studies at the typical values) of one design and
  one n per arm is one task: in memory its studies are consecutive blocks of one random
  stream per arm (the design's seed), so splitting them would change the numbers.
* **Assurance**: the parameter draws of a design and n are split into blocks of
  ``draws_per_task`` draws.  Draw ``d`` uses its own stream
  :func:`comboplan.simulate.seeds.draw_seeds` ``(seed, D)[d]`` whatever block it is in,
  and its ``studies_per_draw`` studies are simulated and analysed exactly as in memory, so
  the per-draw powers (and hence the assurance, its SE and quantiles) are equal bit for
  bit whatever ``draws_per_task`` and the number of workers
  (``tests/test_distributed_plan.py``).
* Every design and n uses the same root seed, as :func:`comboplan.simulate.sample_size`
  does (common random numbers): a design's result does not depend on which other designs
  are in the grid.
* **Cohorts** (:func:`simulate_arms`): the virtual animals' normals are drawn on the caller
  with the in-memory streams; each task integrates one arm for a block of draws.

Failures never lose the job: a task that raises on a worker (e.g. an arm that names a drug
without a PK model) is retried draw by draw, and what still fails becomes the design's
rows with ``status="failed"`` and the reason in ``message`` (those columns appear only
when something failed, so a table without failures is the in-memory table); options that
are wrong for every design (analysis, alpha, n per arm, days, roles) raise at once, before
anything runs, as in memory.
"""
from __future__ import annotations

import math
import os
import sys
import uuid
import warnings
from typing import Any, Hashable, Mapping, Sequence

import numpy as np

from ._worker import tune_worker_malloc
from .exceptions import ComboplanWarning, DataError

__all__ = ["active_client", "study_power", "assurance", "sample_size", "plan_grid", "simulate_arms"]


# ----------------------------------------------------------------------------- client
def active_client(client=None):
    """The Dask client to run on: ``client`` if given, else the active one, else ``None``.

    Cheap when Dask is not in use: the active client is looked up only when ``distributed``
    is already imported (creating a ``Client`` imports it), so the in-memory functions can
    call this on every call.

    Parameters
    ----------
    client : dask.distributed.Client, optional
        An explicit client.

    Returns
    -------
    dask.distributed.Client or None
        ``None``: run in memory.
    """
    if client is not None:
        return client
    mod = sys.modules.get("distributed")
    if mod is None:
        return None
    try:
        return mod.default_client()
    except (ValueError, AttributeError):
        return None


def _require_dask():
    try:
        import dask  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise DataError("running on Dask needs the optional extra: pip install 'comboplan[dask]'") from exc
    return dask


def _n_workers(client) -> int:
    if client is not None:
        try:
            return max(1, len(client.scheduler_info().get("workers", {})))
        except Exception:  # noqa: BLE001 - a client without scheduler info: one worker
            return 1
    return max(1, os.cpu_count() or 1)


def _compute(client, tasks):
    dask = _require_dask()
    if not tasks:
        return []
    if client is not None:
        return list(client.compute(tasks, sync=True))
    return list(dask.compute(*tasks))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- tasks (run on workers)
def _task_setup(ctx, arms, n):
    from .simulate.power import _setup

    o = ctx["opts"]
    return _setup(arms, n, ctx["days"], o["analysis"], o["roles"], o["alpha"], o["margin"], o["endpoint_day"],
                  o["n_studies"])


def _conditional_task(ctx, arms, n):
    """Conditional power of one design and n: ``("ok", row, (est, p))`` or ``("failed", reason)``."""
    tune_worker_malloc()
    from .simulate.power import _conditional

    o = ctx["opts"]
    try:
        setup = _task_setup(ctx, arms, n)
        row, ep = _conditional(ctx["model"], setup, n, o["n_studies"], o["alpha"], ctx["root"], ctx["variability"],
                               o["readout"], o["dropout"], o["max_step"])
        return ("ok", row, ep)
    except Exception as exc:  # noqa: BLE001 - a failing design is rows with a reason
        return ("failed", _reason(exc))


def _draws_task(ctx, arms, n, rows):
    """Per-draw conditional powers of ``rows``: (powers, failed studies, {draw: reason})."""
    tune_worker_malloc()
    from .simulate.power import _per_draw_power

    o = ctx["opts"]
    rows = np.asarray(rows, dtype=int)

    def run(sel):
        setup = _task_setup(ctx, arms, n)
        return _per_draw_power(ctx["model"], setup, n, ctx["draws"], ctx["spd"], o["alpha"], ctx["root"],
                               ctx["variability"], o["readout"], o["dropout"], o["max_step"], draw_rows=sel)

    try:
        powers, failed = run(rows)
        return powers, failed, {}
    except Exception:  # noqa: BLE001 - retried draw by draw below
        pass
    powers = np.full(rows.size, np.nan)
    failed, bad = 0, {}
    for j, d in enumerate(rows):
        try:
            p, f = run(rows[j:j + 1])
            powers[j], failed = p[0], failed + f
        except Exception as exc:  # noqa: BLE001
            bad[int(d)] = _reason(exc)
    return powers, failed, bad


def _arm_task(model, arm, days, var, pop, z, max_step):
    tune_worker_malloc()
    from .simulate.cohort import _simulate_from_normals

    return _simulate_from_normals(model, [arm], days, var, pop, [z], max_step)[0]


# ----------------------------------------------------------------------------- the grid engine
_OPTS = ("analysis", "roles", "n_studies", "alpha", "margin", "endpoint_day", "readout", "dropout", "max_step")


def _blocks(n_draws: int, size: int):
    return [np.arange(lo, min(n_draws, lo + size)) for lo in range(0, n_draws, size)]


def _failed_row(n, days, n_studies):
    """The conditional-power columns of a design whose task failed (as ``_conditional`` names them)."""
    return {"n_per_arm": int(n), "duration": float(days[-1]), "interval": float(np.median(np.diff(days))),
            "power": np.nan, "mc_se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_studies": int(n_studies),
            "failed": int(n_studies), "mean_estimate": np.nan}


def _nan_assurance(draws_info):
    n_draws, spd = draws_info
    return {"assurance": np.nan, "assurance_se": np.nan, "assurance_low": np.nan, "assurance_high": np.nan,
            "n_draws": int(n_draws), "studies_per_draw": int(spd), "assurance_failed": 0,
            "cp_q10": np.nan, "cp_median": np.nan, "cp_q90": np.nan}


def _run_grid(model, designs: list, n_values: list, days, *, draws, variability, studies_per_draw, seed, client,
              draws_per_task, opts: dict):
    """Run every (design, n) of the grid: ``{label: [PowerResult per n]}`` (unmerged, sorted by n)."""
    from .simulate.cohort import resolve_model
    from .simulate.power import (_assurance_row, _power_result, _settings, _setup, _studies_per_draw)
    from .simulate.seeds import as_seed_sequence

    dask = _require_dask()
    client = active_client(client)
    # the same order of seed use as in memory (a fit's draws first, then the root)
    model, draws, variability, _source = resolve_model(model, draws, variability, seed=seed)
    root = as_seed_sequence(seed)
    setups = {}
    for i, (_label, arms) in enumerate(designs):   # options wrong for a design raise here, before any work
        for n in n_values:
            setups[i, n] = _setup(arms, n, days, opts["analysis"], opts["roles"], opts["alpha"], opts["margin"],
                                  opts["endpoint_day"], opts["n_studies"])
    spd = None
    if draws is not None:
        spd = _studies_per_draw(draws, opts["n_studies"], studies_per_draw)
    units = len(designs) * len(n_values)
    D = draws.n_draws if draws is not None else 0
    if draws_per_task is None:
        target = 4 * _n_workers(client)   # about four tasks of draws per worker over the grid
        draws_per_task = max(1, math.ceil(units * D / target)) if D else 1
    elif int(draws_per_task) < 1:
        raise DataError(f"draws_per_task must be >= 1; got {draws_per_task!r}.")
    draws_per_task = int(draws_per_task)
    ctx = dask.delayed({"model": model, "draws": draws, "variability": variability, "root": root, "spd": spd,
                        "days": np.asarray(days, dtype=float), "opts": {k: opts[k] for k in _OPTS}},
                       traverse=False, name=f"comboplan-plan-context-{uuid.uuid4().hex}")
    tasks, index = [], []
    for i, (_label, arms) in enumerate(designs):
        for n in n_values:
            tasks.append(dask.delayed(_conditional_task, pure=False)(ctx, arms, n))
            index.append((i, n, None))
            if D:
                for rows in _blocks(D, draws_per_task):
                    tasks.append(dask.delayed(_draws_task, pure=False)(ctx, arms, n, rows))
                    index.append((i, n, rows))
    outs = _compute(client, tasks)
    cond, per = {}, {}
    for (i, n, rows), out in zip(index, outs):
        if rows is None:
            cond[i, n] = out
        else:
            per.setdefault((i, n), []).append((rows, out))
    results, n_failed = {}, 0
    for i, (label, _arms) in enumerate(designs):
        res = []
        for n in n_values:
            setup = setups[i, n]
            key = (int(n), float(setup.days[-1]))
            settings = _settings(opts["analysis"], opts["alpha"], opts["n_studies"], seed, opts["margin"], setup,
                                 opts["readout"])
            reasons: dict[str, list] = {}   # reason -> what failed with it
            c = cond[i, n]
            if c[0] == "ok":
                row, ep = c[1], c[2]
                estimates = {key: ep}
            else:
                row = _failed_row(n, setup.days, opts["n_studies"])
                estimates = {}
                reasons.setdefault(c[1], []).append("conditional power")
            per_draw = {}
            if D:
                powers = np.empty(D)
                failed, bad = 0, {}
                for rows, (p, f, b) in per[i, n]:
                    powers[rows] = p
                    failed += f
                    bad.update(b)
                if bad:
                    by_reason: dict[str, list] = {}
                    for d in sorted(bad):
                        by_reason.setdefault(bad[d], []).append(d)
                    for why, ds in by_reason.items():
                        reasons.setdefault(why, []).append(f"{_draw_list(ds)} of {D} (no assurance)")
                    row.update(_nan_assurance((D, spd)))
                else:
                    row.update(_assurance_row(powers, spd, failed))
                    per_draw[key] = powers
                settings.update({"n_draws": D, "studies_per_draw": spd, "uncertainty": draws.source or "draws"})
            settings["distributed"] = {"draws_per_task": draws_per_task if D else None, "tasks": len(tasks)}
            r = _power_result([row], settings, estimates, per_draw)
            if reasons:
                n_failed += 1
                r = _with_status(r, "; ".join(f"{why} [{', '.join(what)}]" for why, what in reasons.items()))
            res.append(r)
        results[label] = res
    if n_failed:
        warnings.warn(f"{n_failed} design x n per arm combination(s) failed; see the 'status' and 'message' "
                      "columns of the result's table.", ComboplanWarning, stacklevel=3)
    return results


def _draw_list(ds) -> str:
    """``draws 0-5`` / ``draw 3`` / ``draws 1, 4, 7, 9, 12 and 3 more``."""
    if len(ds) == 1:
        return f"draw {ds[0]}"
    if ds[-1] - ds[0] == len(ds) - 1:
        return f"draws {ds[0]}-{ds[-1]}"
    more = f" and {len(ds) - 5} more" if len(ds) > 5 else ""
    return "draws " + ", ".join(str(d) for d in ds[:5]) + more


def _with_status(r, reason):
    from .simulate.power import PowerResult

    t = r.table.copy()
    t["status"] = "failed"
    t["message"] = reason
    return PowerResult(table=t, settings=r.settings, estimates=r.estimates, per_draw=r.per_draw)


def _merged(res: list):
    """Merge per-n results; a table with some failed rows gets status/message on every row."""
    from .simulate.power import PowerResult, _merge

    if any("status" in r.table for r in res):
        fixed = []
        for r in res:
            if "status" not in r.table:
                t = r.table.copy()
                t["status"], t["message"] = "ok", ""
                r = PowerResult(table=t, settings=r.settings, estimates=r.estimates, per_draw=r.per_draw)
            fixed.append(r)
        res = fixed
    return _merge(res)


def _opts(kwargs: dict) -> dict:
    o = {"analysis": "bliss", "roles": None, "n_studies": 1000, "alpha": 0.05, "margin": 0.2, "endpoint_day": None,
         "readout": None, "dropout": None, "max_step": 0.2}
    unknown = set(kwargs) - set(o)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
    o.update(kwargs)
    return o


# ----------------------------------------------------------------------------- public
def study_power(model, arms: Sequence, n_per_arm: int, days, *, draws=None, variability=None,
                studies_per_draw: int | None = None, seed=None, client=None, draws_per_task: int | None = None,
                **kwargs):
    """:func:`comboplan.simulate.study_power` as tasks on Dask.

    Parameters
    ----------
    model : PKPDModel or a population fit
        As in :func:`comboplan.simulate.study_power`.
    arms : sequence of Arm
        The design's arms.
    n_per_arm : int
        Animals per arm (>= 2).
    days : array_like
        Imaging days, starting at 0.
    draws : ParameterDraws, optional
        Parameter uncertainty: adds the assurance; its draws are split into tasks.
    variability : Variability, optional
        Between-animal variability.
    studies_per_draw : int, optional
        Studies per draw (default ``ceil(n_studies / n_draws)``).
    seed : None, int, SeedSequence or Generator
        Root seed, used as in memory.
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    draws_per_task : int, optional
        Parameter draws per task (default: about four tasks per worker).  The numbers do
        not depend on it.
    **kwargs
        ``analysis``, ``roles``, ``n_studies``, ``alpha``, ``margin``, ``endpoint_day``,
        ``readout``, ``dropout``, ``max_step`` of :func:`comboplan.simulate.study_power`.

    Returns
    -------
    PowerResult
        Equal to the in-memory result (``settings["distributed"]`` added).  A task that
        failed on a worker gives NaN numbers, ``status="failed"`` and the reason in
        ``message`` (and a :class:`~comboplan.exceptions.ComboplanWarning`).

    Raises
    ------
    DataError
        Dask missing; the in-memory function's option errors.
    """
    opts = _opts(kwargs)
    res = _run_grid(model, [("design", list(arms))], [int(n_per_arm)], days, draws=draws, variability=variability,
                    studies_per_draw=studies_per_draw, seed=seed, client=client, draws_per_task=draws_per_task,
                    opts=opts)
    return res["design"][0]


def assurance(model, arms: Sequence, n_per_arm: int, days, *, draws, studies_per_draw: int = 100, variability=None,
              seed=None, client=None, draws_per_task: int | None = None, **kwargs):
    """:func:`comboplan.simulate.assurance` as tasks on Dask (blocks of parameter draws).

    Parameters
    ----------
    model : PKPDModel or a population fit
        Model at its typical values.
    arms : sequence of Arm
        The design's arms.
    n_per_arm : int
        Animals per arm (>= 2).
    days : array_like
        Imaging days, starting at 0.
    draws : ParameterDraws
        Parameter uncertainty (required; for a fit, ``None`` takes the fit's draws).
    studies_per_draw : int
        Simulated studies per draw.
    variability : Variability, optional
        Between-animal variability.
    seed : None, int, SeedSequence or Generator
        Root seed.
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    draws_per_task : int, optional
        Parameter draws per task; the numbers do not depend on it.
    **kwargs
        The other options of :func:`comboplan.simulate.assurance`.

    Returns
    -------
    PowerResult
        Equal to the in-memory result; failures as in :func:`study_power`.

    Raises
    ------
    DataError
        No draws, ``studies_per_draw < 1``, Dask missing, or an option error.
    """
    from .simulate.power import _assurance_inputs

    # as in memory: resolve a fit (its draws use the seed first), check, then run study_power
    model, draws, variability = _assurance_inputs(model, draws, variability, seed, studies_per_draw)
    return study_power(model, arms, n_per_arm, days, draws=draws, variability=variability,
                       studies_per_draw=int(studies_per_draw), seed=seed, client=client,
                       draws_per_task=draws_per_task, **kwargs)


def _check_n_values(target_power, n_values):
    if not 0 < target_power < 1:
        raise DataError(f"target_power must be in (0, 1); got {target_power!r}.")
    if not len(n_values):
        raise DataError("n_values must hold at least one group size (animals per arm).")
    return sorted(int(n) for n in n_values)


def sample_size(model, arms: Sequence, days, *, target_power: float = 0.8,
                n_values: Sequence[int] = (4, 5, 6, 7, 8, 10, 12, 15, 20), draws=None, variability=None,
                studies_per_draw: int | None = None, seed=None, client=None, draws_per_task: int | None = None,
                **kwargs):
    """:func:`comboplan.simulate.sample_size` as tasks on Dask (every n and blocks of draws).

    Parameters
    ----------
    model : PKPDModel or a population fit
        Model at its typical values.
    arms : sequence of Arm
        The design's arms.
    days : array_like
        Imaging days, starting at 0.
    target_power : float
        Required power (0-1).
    n_values : sequence of int
        Animals per arm to evaluate.
    draws : ParameterDraws, optional
        Parameter uncertainty: adds the assurance.
    variability : Variability, optional
        Between-animal variability.
    studies_per_draw : int, optional
        Studies per draw.
    seed : None, int, SeedSequence or Generator
        The same root seed for every n (common random numbers), as in memory.
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    draws_per_task : int, optional
        Parameter draws per task; the numbers do not depend on it.
    **kwargs
        The other options of :func:`comboplan.simulate.study_power`.

    Returns
    -------
    PowerResult
        Equal to the in-memory result, with ``settings["n_required"]`` (and
        ``"n_required_assurance"``); failures as in :func:`study_power`.

    Raises
    ------
    DataError
        Dask missing, ``target_power`` outside (0, 1), no ``n_values``, or an option error.
    """
    out = plan_grid(model, {"design": list(arms)}, days, target_power=target_power, n_values=n_values, draws=draws,
                    variability=variability, studies_per_draw=studies_per_draw, seed=seed, client=client,
                    draws_per_task=draws_per_task, **kwargs)
    return out["design"]


def plan_grid(model, designs: Mapping[Hashable, Sequence], days, *, n_values: Sequence[int],
              target_power: float = 0.8, draws=None, variability=None, studies_per_draw: int | None = None,
              seed=None, client=None, draws_per_task: int | None = None, **kwargs) -> dict[Hashable, Any]:
    """Power and assurance over designs (e.g. doses x companions) x n per arm, as one Dask job.

    Parameters
    ----------
    model : PKPDModel or a population fit
        Model at its typical values.
    designs : mapping
        ``{label: arms}``: one list of :class:`~comboplan.simulate.Arm` per design, e.g.
        ``{(5.0, "primed"): [control, ptx5, primed, ptx5 + primed], ...}`` for a dose x
        companion grid.  Arm roles (``roles=``) must fit every design.
    days : array_like
        Imaging days, starting at 0.
    n_values : sequence of int
        Animals per arm to evaluate for every design.
    target_power : float
        Required power (0-1), for ``settings["n_required"]``.
    draws : ParameterDraws, optional
        Parameter uncertainty: adds the assurance.
    variability : Variability, optional
        Between-animal variability.
    studies_per_draw : int, optional
        Studies per draw (default ``ceil(n_studies / n_draws)``).
    seed : None, int, SeedSequence or Generator
        The same root seed for every design and n (common random numbers).
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    draws_per_task : int, optional
        Parameter draws per task; the numbers do not depend on it.
    **kwargs
        ``analysis``, ``roles``, ``n_studies``, ``alpha``, ``margin``, ``endpoint_day``,
        ``readout``, ``dropout``, ``max_step`` of :func:`comboplan.simulate.study_power`.

    Returns
    -------
    dict
        ``{label: PowerResult}`` in the order of ``designs``; each equals
        ``comboplan.simulate.sample_size(model, arms, days, n_values=n_values, seed=seed,
        ...)`` in memory.  A design whose tasks failed on a worker has NaN rows with
        ``status="failed"`` and the reason in ``message``.  Stack the tables with
        ``pandas.concat({k: r.table for k, r in res.items()}, names=[...])``.

    Raises
    ------
    DataError
        Dask missing, no designs, ``target_power`` outside (0, 1), no ``n_values``, or an
        option error of any design (raised before anything runs).
    """
    from .simulate.power import _sample_size_result

    ns = _check_n_values(target_power, n_values)
    items = list(dict(designs).items())
    if not items:
        raise DataError("designs must hold at least one {label: arms} entry.")
    opts = _opts(kwargs)
    res = _run_grid(model, [(k, list(v)) for k, v in items], ns, days, draws=draws, variability=variability,
                    studies_per_draw=studies_per_draw, seed=seed, client=client, draws_per_task=draws_per_task,
                    opts=opts)
    return {k: _sample_size_result(_merged(v), target_power, seed) for k, v in res.items()}


def simulate_arms(model, arms: Sequence, days, n_animals: int, *, variability=None, draws=None, seed=None,
                  common_animals: bool = True, max_step: float = 0.2, client=None,
                  draws_per_task: int | None = None) -> np.ndarray:
    """:func:`comboplan.simulate.cohort.simulate_arms` with arms and blocks of draws as Dask tasks.

    The virtual animals' standard normals are drawn here, with the in-memory streams, and
    each task integrates one arm for a block of draws, so the sizes equal the in-memory
    ones whatever ``draws_per_task``.

    Parameters
    ----------
    model : PKPDModel
        The model.
    arms : sequence of Arm
        Arms (scenarios).
    days : array_like
        Output days.
    n_animals : int
        Virtual animals per arm and draw.
    variability : Variability, optional
        Between-animal CVs.
    draws : ParameterDraws, optional
        Population-parameter draws.
    seed : None, int, SeedSequence or Generator
        As in memory.
    common_animals : bool
        Same virtual animals in every arm.
    max_step : float
        Integration step, days.
    client : dask.distributed.Client, optional
        Where to run; default the active client, else Dask's local scheduler.
    draws_per_task : int, optional
        Draws per task (default: about four tasks per worker).

    Returns
    -------
    numpy.ndarray, shape (n_arms, n_draws, n_animals, n_days)
        Sizes in ``model.growth.size_unit``.

    Raises
    ------
    DataError
        Dask missing, ``draws_per_task < 1``, or the in-memory function's errors.
    """
    from .simulate.cohort import _cohort_inputs

    dask = _require_dask()
    client = active_client(client)
    days = np.asarray(days, dtype=float)
    arms = list(arms)
    var, pop, z = _cohort_inputs(model, len(arms), n_animals, variability, draws, seed, common_animals)
    n_draws = draws.n_draws if draws is not None else 1
    if draws_per_task is None:
        draws_per_task = max(1, math.ceil(len(arms) * n_draws / (4 * _n_workers(client))))
    elif int(draws_per_task) < 1:
        raise DataError(f"draws_per_task must be >= 1; got {draws_per_task!r}.")
    m = dask.delayed(model, traverse=False, name=f"comboplan-model-{uuid.uuid4().hex}")
    tasks, index = [], []
    for i, arm in enumerate(arms):
        for rows in _blocks(n_draws, int(draws_per_task)):
            sl = slice(int(rows[0]), int(rows[-1]) + 1)
            tasks.append(dask.delayed(_arm_task, pure=False)(m, arm, days, var, {k: v[sl] for k, v in pop.items()},
                                                             {k: v[sl] for k, v in z[i].items()}, max_step))
            index.append((i, sl))
    out = np.empty((len(arms), n_draws, int(n_animals), days.size))
    for (i, sl), w in zip(index, _compute(client, tasks)):
        out[i, sl] = w
    return out
