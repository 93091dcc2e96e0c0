"""comboplan._worker: glibc's mmap threshold raised in processes started as Dask workers are."""
import os
import subprocess
import sys

import pytest

CODE = r"""
import comboplan._worker as w
print(w.tune_worker_malloc(), w.tune_worker_malloc())
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_TRIM_THRESHOLD_", "COMBOPLAN_WORKER_MALLOPT")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuned_only_in_processes_started_like_dask_workers():
    assert _run({}) == ["False", "False"]                                   # a plain process: untouched
    assert _run({"MALLOC_TRIM_THRESHOLD_": "65536"}) == ["True", "True"]    # as Dask's nanny starts workers
    assert _run({"MALLOC_TRIM_THRESHOLD_": "65536", "COMBOPLAN_WORKER_MALLOPT": "0"}) == ["False", "False"]


def test_dask_still_sets_the_variable_we_correct():
    """The premise: distributed starts workers with MALLOC_TRIM_THRESHOLD_ (if a later version
    drops it, the tuning becomes a no-op and this test says so)."""
    pytest.importorskip("distributed")
    import dask

    env = dask.config.get("distributed.nanny.pre-spawn-environ")
    assert "MALLOC_TRIM_THRESHOLD_" in env
