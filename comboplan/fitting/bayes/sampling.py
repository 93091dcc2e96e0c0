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

import functools
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
        c_sig = _callback_signatures()[0]

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
        c_sig = _callback_signatures()[1]

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


# ---------------------------------------------------------------- hand-written numba kernels
# fastgrowth, fastdose and tgi each evaluate their log density and gradient with a numba
# kernel that takes the data as arguments.  nutpie calls it through two C callbacks that
# read the data from one flat float64 buffer (nutpie's ``user_data``).  The callbacks are
# written once here; each kernel module supplies ``_kernel()``, which compiles (or loads)
# its kernel and sets the module global ``_EVALUATE(x, out, buf) -> logp``: the kernel
# evaluated on the data unpacked from the buffer, writing the gradient into ``out``.

_CALLBACKS: dict = {}
_EXPAND = None


def _callback_signatures():
    """nutpie's C signatures of the log density and expand callbacks (numba types).

    Returns
    -------
    tuple
        ``(logp, expand)``: ``int64(uint64 dim, double* x, double* grad, double* logp, void* data)``
        and ``int64(uint64 dim, uint64 n_expanded, double* x, double* out, void* data)``.
    """
    from numba import types

    ptr = types.CPointer(types.double)
    return (types.int64(types.uint64, ptr, ptr, ptr, types.voidptr),
            types.int64(types.uint64, types.uint64, ptr, ptr, types.voidptr))


def _expand_callback():
    """The identity expand callback shared by every kernel model (the draws are ``x`` itself)."""
    global _EXPAND
    if _EXPAND is None:
        import numba

        @numba.cfunc(_callback_signatures()[1], cache=True)
        def expand_c(dim, expanded, x_, out_, ud_):
            if dim != expanded:
                return -1
            for i in range(dim):
                out_[i] = x_[i]
            return 0

        _EXPAND = expand_c
    return _EXPAND


def build_once(build):
    """Decorator for a kernel module's ``_kernel()``: compile (or load) its functions once per process.

    Parameters
    ----------
    build : callable
        ``build() -> (kernel, evaluate)``, two numba functions (see :func:`kernel_callbacks`).
        They are stored as the module globals ``_KERNEL`` and ``_EVALUATE``: the functions
        that call them refer to them as globals, never through a closure (a pickled
        dispatcher in a closure would defeat numba's on-disk cache).

    Returns
    -------
    callable
        ``_kernel() -> kernel``, building on the first call only.
    """
    namespace = build.__globals__

    @functools.wraps(build)
    def kernel():
        if namespace["_KERNEL"] is None:
            namespace["_KERNEL"], namespace["_EVALUATE"] = build()
        return namespace["_KERNEL"]

    return kernel


def kernel_callbacks(module_name: str):
    """numba C callbacks (log density, expand) for nutpie over a kernel module's density.

    Parameters
    ----------
    module_name : str
        A kernel module (:mod:`.fastgrowth`, :mod:`.fastdose`, :mod:`.tgi`): its ``_kernel()``
        (see :func:`build_once`) compiles the kernel and ``_EVALUATE(x, out, buf) -> logp``,
        which unpacks the data from the flat buffer built by :func:`pack_buffer` (``buf[0]``
        its length, ``buf[5]`` the dimension of ``x``) and writes the gradient into ``out``.

    Returns
    -------
    tuple of numba.core.ccallback.CFunc
        ``(logp_c, expand_c)`` with nutpie's C signatures; no Python runs in the sampling loop.

    Notes
    -----
    Compiled once per machine and loaded from numba's on-disk cache afterwards.  numba keys
    that cache on the function's bytecode and its pickled closure: the closure holds modules
    only (pickled by name), never a dispatcher, whose pickle carries a per-process uuid and
    would write a new cache file in every process (``tests/test_numba_cache.py``).  The log
    density callback is filed under the kernel module's source file, so that editing that
    module (its kernel) invalidates the cached callback, which links the kernel's code in;
    an edit of the callback's own body changes its bytecode and is detected as well.
    """
    if module_name not in _CALLBACKS:
        import importlib
        import types

        import numba

        module = importlib.import_module(module_name)
        module._kernel()

        def logp_c(dim, x_, out_, logp_, ud_):
            buf = numba.carray(ud_, (int(numba.carray(ud_, (1,), np.float64)[0]),), np.float64)
            if dim != int(buf[5]):
                return -1
            x = numba.carray(x_, (dim,))
            out = numba.carray(out_, (dim,))
            lp = module._EVALUATE(x, out, buf)
            logp_[0] = lp
            for i in range(dim):
                if not np.isfinite(out[i]):
                    return 3
            if not np.isfinite(lp):
                return 4
            return 0

        code = logp_c.__code__.replace(co_filename=module.__file__)
        filed = types.FunctionType(code, logp_c.__globals__, logp_c.__name__, None, logp_c.__closure__)
        filed.__qualname__ = "kernel_callbacks.<locals>.logp_c"
        _CALLBACKS[module_name] = (numba.cfunc(_callback_signatures()[0], cache=True)(filed),
                                   _expand_callback())
    return _CALLBACKS[module_name]


def pack_buffer(n_header: int, header, parts) -> np.ndarray:
    """The flat float64 buffer the kernel callbacks read (nutpie's ``user_data``).

    Parameters
    ----------
    n_header : int
        Length of the header block.
    header : sequence of float
        Header values from position 1 on; position 0 is set to the buffer's total length
        and position 5 must hold the dimension of the parameter vector.
    parts : sequence of array_like
        Data blocks, flattened and appended after the header in this order.

    Returns
    -------
    numpy.ndarray
        Contiguous and read-only.
    """
    parts = [np.asarray(p, float).ravel() for p in parts]
    hdr = np.zeros(n_header)
    hdr[0] = n_header + sum(len(p) for p in parts)
    hdr[1:1 + len(header)] = header
    buf = np.ascontiguousarray(np.concatenate([hdr, *parts]))
    buf.flags.writeable = False
    return buf


class KernelModel:
    """nutpie compilation and sampling of a hand-written numba density (a mixin).

    The subclass lives in its kernel module (see :func:`kernel_callbacks`) and provides
    ``ndim``, ``initial_point(seed)``, ``logp_and_grad(x)`` and ``_buffer()`` (from
    :func:`pack_buffer`).
    """

    def compile_cfunc(self):
        """nutpie model calling the numba C callbacks directly (nutpie's numba interface).

        Uses nutpie's ``CompiledPyMCModel`` container with our own callbacks; raises if that
        internal interface is not available (:meth:`run_nutpie` then uses :meth:`compile_pyfunc`).
        """
        from nutpie.compile_pymc import CompiledPyMCModel

        logp_c, expand_c = kernel_callbacks(type(self).__module__)
        buf = self._buffer()
        n = self.ndim
        return CompiledPyMCModel(
            _n_dim=n, dims={"x": ("unconstrained",)}, _coords={"unconstrained": np.arange(n)},
            _shapes={"x": (n,)}, compiled_logp_func=logp_c, compiled_expand_func=expand_c,
            initial_point_func=self.initial_point, shared_data={"buffer": buf}, user_data=buf, n_expanded=n,
            shape_info=(["x"], [slice(0, n)], [(n,)]), logp_func=None, expand_func=None,
        )

    def compile_pyfunc(self):
        """nutpie model through the public ``from_pyfunc`` interface (slower: Python per gradient)."""
        from nutpie.compiled_pyfunc import from_pyfunc

        ndim = self.ndim
        self.logp_and_grad(self.initial_point(0))  # compile / load the kernel now

        def make_logp_fn():
            def logp(x, **unused):
                return self.logp_and_grad(x)

            return logp

        def make_expand_fn(*unused):
            def expand(x, **unused):
                return {"x": np.array(x, copy=True)}

            return expand

        return from_pyfunc(ndim, make_logp_fn, make_expand_fn, [np.dtype("float64")], [(ndim,)], ["x"],
                           coords={"unconstrained": np.arange(ndim)}, dims={"x": ("unconstrained",)},
                           make_initial_point_fn=self.initial_point)

    def run_nutpie(self, *, draws, tune, chains, seed, target_accept=0.9, progress=False, cores=None) -> dict:
        """Compile (C callbacks, else the public pyfunc interface) and sample with nutpie.

        Parameters
        ----------
        draws, tune, chains, seed : int
            As :func:`nutpie.sample`.
        target_accept : float
            Target acceptance rate of the step-size adaptation.
        progress : bool
            Show nutpie's progress bar.
        cores : int, optional
            Chains run in parallel (nutpie's default when None).

        Returns
        -------
        dict
            ``raw`` (nutpie's InferenceData, draws of ``x``), ``compile_seconds``,
            ``sampling_seconds`` and ``interface`` (``"cfunc"`` or ``"pyfunc"``).
        """
        import nutpie

        t0 = time.perf_counter()
        try:
            compiled = self.compile_cfunc()
            interface = "cfunc"
        except Exception:  # pragma: no cover - nutpie internals changed: public pyfunc interface
            compiled = self.compile_pyfunc()
            interface = "pyfunc"
        t1 = time.perf_counter()
        kw = {} if cores is None else {"cores": int(cores)}
        raw = nutpie.sample(compiled, draws=int(draws), tune=int(tune), chains=int(chains), seed=int(seed),
                            progress_bar=progress, save_warmup=False, target_accept=target_accept, **kw)
        t2 = time.perf_counter()
        return {"raw": raw, "compile_seconds": t1 - t0, "sampling_seconds": t2 - t1, "interface": interface}

    @staticmethod
    def inference_data(posterior, run: dict):
        """``arviz.InferenceData`` of a posterior built from :meth:`run_nutpie`'s draws.

        Parameters
        ----------
        posterior : xarray.Dataset
            The model's variables with leading (chain, draw).
        run : dict
            From :meth:`run_nutpie` (its sample statistics and timings are kept).

        Returns
        -------
        arviz.InferenceData
            With ``attrs`` naming the sampler, the kernel backend and the timings.
        """
        import arviz as az

        idata = az.InferenceData(posterior=posterior, sample_stats=run["raw"].sample_stats)
        idata.attrs = {"sampler": "nutpie", "compile_seconds": run["compile_seconds"],
                       "sampling_seconds": run["sampling_seconds"], "requested_sampler": "nutpie",
                       "backend": "numba-kernel"}
        return idata


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
    low_rank_mass_matrix: bool = False,
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
    low_rank_mass_matrix : bool
        nutpie only: adapt a diagonal mass matrix plus a low-rank correction estimated from the
        draws and gradients (nutpie's ``low_rank_modified_mass_matrix``), for posteriors with
        strongly correlated parameters.  Ignored by PyMC's NUTS.

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
        if low_rank_mass_matrix:
            kw["low_rank_modified_mass_matrix"] = True
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
