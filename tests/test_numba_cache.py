"""The numba callbacks are compiled once per machine, and nutpie's internals we rely on exist.

* numba keys its on-disk cache on the function's bytecode *and its pickled closure*; a closure
  over a numba dispatcher pickles a per-process uuid, so such a function wrote a new ``.nbc``
  file on every run (issue 14: 28 files in 20 minutes).  Two fresh processes compile against
  one empty cache folder: the second must load everything and write nothing new.
* ``comboplan.fitting.bayes`` builds nutpie models through nutpie internals (pinned in
  pyproject.toml); if a nutpie release drops or changes one of them, these tests fail naming it.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("numba")

_COMPILE_ALL = textwrap.dedent("""
    import numpy as np
    from comboplan.fitting.bayes import fastdose, fastgrowth, tgi
    from comboplan.models import tgi_ode

    for m in (fastgrowth, fastdose, tgi):
        m._cfuncs()
    tgi_ode.solve_log_size(np.ones(3), np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), np.array([[1, 3]]),
                           np.array([0]), np.array([100.0]), np.array([0.1]), np.array([50.0]),
                           np.array([0.5]), np.zeros((1, 1)))
    tgi_ode.solve_log_size_sens(np.ones(3), np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), np.array([[1, 3]]),
                                np.array([0]), np.array([100.0]), np.array([0.1]), np.array([50.0]),
                                np.array([0.5]), np.zeros((1, 1)))
    tgi_ode.solve_log_size_vjp(np.ones(3), np.zeros((1, 3, 1)), np.zeros((1, 3, 1)), np.array([[1, 3]]),
                               np.array([0]), np.array([100.0]), np.array([0.1]), np.array([50.0]),
                               np.array([0.5]), np.zeros((1, 1)), np.ones((1, 2)))
""")


def _cache_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_compiled_callbacks_are_cached_once_per_machine(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DISABLE_JIT": "0"}
    runs = []
    for _ in range(2):
        subprocess.run([sys.executable, "-c", _COMPILE_ALL], env=env, check=True, capture_output=True,
                       timeout=600)
        runs.append(_cache_files(tmp_path))
    first, second = runs
    data = [f for f in first if f.endswith(".nbc")]
    # fastgrowth, fastdose, tgi: kernel + two callbacks each; tgi_ode: the solver, its sensitivities, its adjoint
    assert len(data) >= 10, first
    assert second == first, f"new numba cache files in a second process: {sorted(set(second) - set(first))}"
    # one compiled version per function (a file numbered .2.nbc means a second, unused version),
    # except the TGI solver, compiled for its two signatures on purpose (without and with the
    # tape the adjoint records: solve_log_size and solve_log_size_vjp); never a third
    two = ("tgi_ode._kernel.locals.solve-",)
    assert not [f for f in second if f.endswith(".2.nbc") and not any(t in f for t in two)], second
    assert not [f for f in second if f.endswith(".3.nbc")], second
    assert [f for f in second if f.endswith(".2.nbc") and two[0] in f], second


def test_callbacks_have_no_dispatcher_in_their_closure():
    """The cause, checked directly: nothing process-specific in a cached function's closure."""
    pytest.importorskip("nutpie")
    from comboplan.fitting.bayes import fastdose, fastgrowth, tgi

    for m in (fastgrowth, fastdose, tgi):
        for cf in m._cfuncs():
            cells = cf._pyfunc.__closure__ or ()
            kinds = {type(c.cell_contents).__name__ for c in cells}
            assert kinds <= {"module"}, f"{m.__name__}.{cf._pyfunc.__name__} closes over {kinds}"


# ---------------------------------------------------------------------------- nutpie internals
_PRIVATE = {
    # name in nutpie.compile_pymc -> parameters comboplan relies on
    "_make_c_logp_func": ["n_dim", "logp_fn", "user_data", "shared_logp", "shared_data"],
    "_make_c_expand_func": ["n_dim", "n_expanded", "expand_fn", "user_data", "shared_vars", "shared_data"],
    "make_extraction_fn": ["inner", "shared_data", "shared_vars", "record_dtype"],
}


@pytest.mark.parametrize("name", sorted(_PRIVATE))
def test_nutpie_private_helpers_exist(name):
    """comboplan.fitting.bayes.sampling.compile_nutpie replaces these two factories (and calls the third)."""
    ncp = pytest.importorskip("nutpie.compile_pymc")
    fn = getattr(ncp, name, None)
    assert fn is not None, (
        f"nutpie.compile_pymc.{name} is gone (nutpie {_nutpie_version()}): "
        "comboplan.fitting.bayes.sampling.compile_nutpie relies on it; update it or the nutpie pin")
    params = list(inspect.signature(fn).parameters)
    assert params == _PRIVATE[name], (
        f"nutpie.compile_pymc.{name} changed its parameters to {params} (nutpie {_nutpie_version()}); "
        "comboplan.fitting.bayes.sampling.compile_nutpie relies on them")


def test_nutpie_compiled_pymc_model_fields():
    """fastgrowth / fastdose / tgi build nutpie's CompiledPyMCModel with their own callbacks."""
    ncp = pytest.importorskip("nutpie.compile_pymc")
    cls = getattr(ncp, "CompiledPyMCModel", None)
    assert cls is not None, f"nutpie.compile_pymc.CompiledPyMCModel is gone (nutpie {_nutpie_version()})"
    fields = {f.name for f in dataclasses.fields(cls)}
    used = {"_n_dim", "dims", "_coords", "_shapes", "compiled_logp_func", "compiled_expand_func",
            "initial_point_func", "shared_data", "user_data", "n_expanded", "shape_info", "logp_func",
            "expand_func"}
    assert used <= fields, (
        f"nutpie.compile_pymc.CompiledPyMCModel lost the fields {sorted(used - fields)} "
        f"(nutpie {_nutpie_version()}); comboplan.fitting.bayes.fast*.compile_cfunc relies on them")


def test_fast_compile_uses_the_private_path(monkeypatch):
    """compile_nutpie really goes through the patched factories (not the silent public fallback)."""
    ncp = pytest.importorskip("nutpie.compile_pymc")
    from comboplan.fitting.bayes import sampling

    seen = []

    def fake_compile(model):
        seen.append(ncp._make_c_logp_func.__qualname__)
        return "compiled"

    monkeypatch.setattr("nutpie.compile_pymc_model", fake_compile)
    assert sampling.compile_nutpie(object()) == "compiled"
    assert seen and seen[0].startswith("_fast_wrappers"), seen
    assert ncp._make_c_logp_func.__module__ == "nutpie.compile_pymc"  # restored


def _nutpie_version() -> str:
    from importlib.metadata import version

    return version("nutpie")
