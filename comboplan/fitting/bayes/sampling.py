"""MCMC sampling (nutpie by default, PyMC NUTS as fallback) and diagnostics.

``sample_model`` compiles and samples a PyMC model and returns an
:class:`arviz.InferenceData`.  nutpie is used when importable; its compile step is
sped up (about 2x, see docs/benchmarks/bayes.md) by compiling the two small numba C
callbacks with element-wise copies instead of array assignments, which numba types
slowly.  The sampled draws are identical to ``nutpie.compile_pymc_model``; if the
internal helpers this relies on change in a future nutpie, the public
``nutpie.compile_pymc_model`` is used instead.

PyMC, pytensor, nutpie and arviz are imported inside functions only.
"""
from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...exceptions import DataError, DiagnosticsWarning

__all__ = ["sample_model", "check_diagnostics", "Diagnostics", "resolve_seed", "available_samplers"]

_PATCH_LOCK = threading.Lock()


def resolve_seed(seed) -> int:
    """Turn an int, a numpy Generator or None into an int seed for the samplers."""
    if seed is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31 - 1))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if seed < 0:
            raise DataError(f"seed must be a non-negative integer; got {seed}.")
        return int(seed)
    raise DataError(f"seed must be an int or a numpy.random.Generator; got {type(seed).__name__}.")


def available_samplers() -> list[str]:
    """Names of the samplers that can be used here (``"nutpie"`` if importable, ``"pymc"``)."""
    from importlib.util import find_spec

    out = []
    if find_spec("nutpie") is not None and find_spec("numba") is not None:
        out.append("nutpie")
    out.append("pymc")
    return out


def _fast_wrappers(ncp):
    """numba C-callback factories equivalent to nutpie's, but cheaper to compile."""

    def make_logp(n_dim, logp_fn, user_data, shared_logp, shared_data):
        import numba

        extract = ncp.make_extraction_fn(logp_fn, shared_data, shared_logp, user_data.dtype)
        c_sig = numba.types.int64(
            numba.types.uint64,
            numba.types.CPointer(numba.types.double),
            numba.types.CPointer(numba.types.double),
            numba.types.CPointer(numba.types.double),
            numba.types.voidptr,
        )

        def logp_numba(dim, x_, out_, logp_, user_data_):
            if dim != n_dim:
                return -1
            try:
                x = numba.carray(x_, (n_dim,))
                logp_val, grad = extract(x, user_data_)
                logp_[0] = logp_val
                finite = True
                for i in range(n_dim):
                    g = grad[i]
                    out_[i] = g
                    if not np.isfinite(g):
                        finite = False
                if not finite:
                    return 3
                if not np.isfinite(logp_val):
                    return 4
            except Exception:  # noqa: BLE001
                return 1
            return 0

        return logp_numba, c_sig

    def make_expand(n_dim, n_expanded, expand_fn, user_data, shared_vars, shared_data):
        import numba

        extract = ncp.make_extraction_fn(expand_fn, shared_data, shared_vars, user_data.dtype)
        c_sig = numba.types.int64(
            numba.types.uint64,
            numba.types.uint64,
            numba.types.CPointer(numba.types.double),
            numba.types.CPointer(numba.types.double),
            numba.types.voidptr,
        )

        def expand_numba(dim, expanded, x_, out_, user_data_):
            if dim != n_dim:
                return -1
            if expanded != n_expanded:
                return -1
            try:
                x = numba.carray(x_, (n_dim,))
                (values,) = extract(x, user_data_)
                for i in range(n_expanded):
                    out_[i] = values[i]
            except Exception:  # noqa: BLE001
                return -2
            return 0

        return expand_numba, c_sig

    return make_logp, make_expand


def compile_nutpie(model, fast: bool = True):
    """Compile a PyMC model for nutpie (numba backend).

    Parameters
    ----------
    model : pymc.Model
    fast : bool
        Use the cheaper-to-compile C callbacks (same numerical results).

    Returns
    -------
    nutpie.compiled_pyfunc.CompiledModel
    """
    import nutpie

    if not fast:
        return nutpie.compile_pymc_model(model)
    try:
        import nutpie.compile_pymc as ncp

        old = (ncp._make_c_logp_func, ncp._make_c_expand_func)
        ncp.make_extraction_fn  # noqa: B018  (attribute check)
    except (ImportError, AttributeError):  # pragma: no cover - nutpie internals moved
        return nutpie.compile_pymc_model(model)
    make_logp, make_expand = _fast_wrappers(ncp)
    with _PATCH_LOCK:
        ncp._make_c_logp_func, ncp._make_c_expand_func = make_logp, make_expand
        try:
            return nutpie.compile_pymc_model(model)
        finally:
            ncp._make_c_logp_func, ncp._make_c_expand_func = old


@dataclass(frozen=True)
class Diagnostics:
    """MCMC diagnostics of a posterior.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scalar quantity: ``variable``, ``r_hat``, ``ess_bulk``, ``ess_tail``.
    n_divergent : int
        Number of divergent transitions after warm-up.
    n_max_treedepth : int
        Number of transitions that hit the maximum tree depth.
    n_draws : int
        Total post-warm-up draws (chains x draws).
    problems : tuple of str
        Human-readable problems (empty when all checks pass).
    """

    table: pd.DataFrame
    n_divergent: int
    n_max_treedepth: int
    n_draws: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __str__(self) -> str:
        t = self.table
        head = (
            f"max R-hat {t['r_hat'].max():.3f}, min bulk ESS {t['ess_bulk'].min():.0f}, "
            f"min tail ESS {t['ess_tail'].min():.0f}, {self.n_divergent} divergent of {self.n_draws} draws"
        )
        if self.problems:
            return head + "\nproblems: " + "; ".join(self.problems)
        return head + " (all checks passed)"


def check_diagnostics(
    idata,
    var_names=None,
    *,
    rhat_max: float = 1.01,
    ess_min: float | None = None,
    warn: bool = True,
) -> Diagnostics:
    """Check R-hat, bulk/tail ESS and divergences; warn naming each problem.

    Parameters
    ----------
    idata : arviz.InferenceData
        Posterior with ``sample_stats``.
    var_names : list of str, optional
        Variables to check (default: every posterior variable).
    rhat_max : float
        Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021: 1.01).
    ess_min : float, optional
        Smallest acceptable bulk and tail ESS; default ``100 * n_chains``.
    warn : bool
        Emit one :class:`~comboplan.exceptions.DiagnosticsWarning` listing the problems.

    Returns
    -------
    Diagnostics
    """
    import arviz as az

    post = idata.posterior
    n_chains = post.sizes["chain"]
    n_draws = post.sizes["draw"]
    if ess_min is None:
        ess_min = 100.0 * n_chains
    names = list(var_names) if var_names is not None else list(post.data_vars)
    names = [n for n in names if n in post.data_vars]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(post, var_names=names) if n_chains > 1 else None
        ess_b = az.ess(post, var_names=names, method="bulk")
        ess_t = az.ess(post, var_names=names, method="tail")
    rows = []
    for n in names:
        eb = np.atleast_1d(ess_b[n].values).ravel()
        et = np.atleast_1d(ess_t[n].values).ravel()
        rh = np.atleast_1d(rhat[n].values).ravel() if rhat is not None else np.full(eb.shape, np.nan)
        labels = _flat_labels(post[n])
        for lab, r, b, t in zip(labels, rh, eb, et):
            rows.append({"variable": lab, "r_hat": float(r), "ess_bulk": float(b), "ess_tail": float(t)})
    table = pd.DataFrame(rows, columns=["variable", "r_hat", "ess_bulk", "ess_tail"])
    ss = getattr(idata, "sample_stats", None)
    n_div = 0
    n_depth = 0
    if ss is not None:
        if "diverging" in ss:
            n_div = int(np.asarray(ss["diverging"]).sum())
        for key in ("maxdepth_reached", "reached_max_treedepth"):
            if key in ss:
                n_depth = int(np.asarray(ss[key]).sum())
    problems = []
    if n_div:
        problems.append(
            f"{n_div} divergent transition(s) of {n_chains * n_draws}: the posterior geometry is hard; "
            "raise target_accept (e.g. 0.95), tighten priors or check the data"
        )
    if rhat is not None:
        bad = table[~(table["r_hat"] <= rhat_max)]
        if len(bad):
            worst = bad.sort_values("r_hat", ascending=False).iloc[0]
            problems.append(
                f"R-hat > {rhat_max} for {len(bad)} quantity(ies) (worst {worst['variable']}: "
                f"{worst['r_hat']:.3f}): chains disagree; run longer (more tune/draws)"
            )
    for col, what in (("ess_bulk", "bulk"), ("ess_tail", "tail")):
        bad = table[~(table[col] >= ess_min)]
        if len(bad):
            worst = bad.sort_values(col).iloc[0]
            problems.append(
                f"{what} ESS < {ess_min:.0f} for {len(bad)} quantity(ies) (worst {worst['variable']}: "
                f"{worst[col]:.0f}): increase draws"
            )
    if n_depth:
        problems.append(f"{n_depth} transition(s) hit the maximum tree depth (inefficient sampling)")
    diag = Diagnostics(table=table, n_divergent=n_div, n_max_treedepth=n_depth,
                       n_draws=int(n_chains * n_draws), problems=tuple(problems))
    if warn and problems:
        warnings.warn("MCMC diagnostics: " + "; ".join(problems), DiagnosticsWarning, stacklevel=3)
    return diag


def _flat_labels(da) -> list[str]:
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    if not dims:
        return [str(da.name)]
    import itertools

    coords = [list(map(str, da.coords[d].values)) if d in da.coords else list(map(str, range(da.sizes[d])))
              for d in dims]
    return [f"{da.name}[{', '.join(c)}]" for c in itertools.product(*coords)]


def sample_model(
    model,
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed=None,
    sampler: str = "nutpie",
    target_accept: float = 0.8,
    progress: bool = False,
    cores: int | None = None,
):
    """Compile and sample a PyMC model.

    Parameters
    ----------
    model : pymc.Model
    draws, tune, chains : int
        Post-warm-up draws per chain, warm-up iterations per chain, number of chains.
    seed : int or numpy.random.Generator
        Makes the run reproducible (same seed, same draws).
    sampler : {"nutpie", "pymc", "auto"}
        ``"nutpie"`` (default; falls back to PyMC with a note in ``attrs`` if nutpie is
        not installed), ``"pymc"`` (PyMC's NUTS), ``"auto"`` (same as ``"nutpie"``).
    target_accept : float
        Target acceptance rate of NUTS step-size adaptation (0.8; raise to 0.9-0.99
        when there are divergences).
    progress : bool
        Show a progress bar.
    cores : int, optional
        Chains run in parallel (default: all available, at most ``chains``).

    Returns
    -------
    arviz.InferenceData
        With ``attrs["sampler"]``, ``attrs["compile_seconds"]``, ``attrs["sampling_seconds"]``.
    """
    for name, v in (("draws", draws), ("tune", tune), ("chains", chains)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise DataError(f"{name} must be a positive integer; got {v!r}.")
    if not 0 < target_accept < 1:
        raise DataError(f"target_accept must be in (0, 1); got {target_accept}.")
    s = resolve_seed(seed)
    sampler = (sampler or "nutpie").lower()
    if sampler not in ("nutpie", "pymc", "auto"):
        raise DataError(f"sampler must be 'nutpie' or 'pymc'; got {sampler!r}.")
    used = sampler
    if sampler in ("nutpie", "auto"):
        used = "nutpie" if "nutpie" in available_samplers() else "pymc"
    t0 = time.perf_counter()
    if used == "nutpie":
        import nutpie

        compiled = compile_nutpie(model)
        t1 = time.perf_counter()
        kw = {} if cores is None else {"cores": int(cores)}
        idata = nutpie.sample(compiled, draws=int(draws), tune=int(tune), chains=int(chains), seed=s,
                              progress_bar=progress, save_warmup=False, target_accept=target_accept, **kw)
        t2 = time.perf_counter()
    else:
        import pymc as pm

        kw = {} if cores is None else {"cores": int(cores)}
        t1 = t0
        with model:
            idata = pm.sample(draws=int(draws), tune=int(tune), chains=int(chains), random_seed=s,
                              progressbar=progress, target_accept=target_accept,
                              compute_convergence_checks=False, return_inferencedata=True, **kw)
        t2 = time.perf_counter()
    for grp in ("posterior", "sample_stats"):
        if hasattr(idata, grp):
            getattr(idata, grp).attrs.update({"sampler": used, "seed": s})
    idata.attrs = {**getattr(idata, "attrs", {}), "sampler": used,
                   "compile_seconds": t1 - t0, "sampling_seconds": t2 - t1,
                   "requested_sampler": sampler}
    return idata
