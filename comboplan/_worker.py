"""Settings of Dask worker processes that comboplan's partition functions apply once per process.

Dask's nanny starts every worker process with ``MALLOC_TRIM_THRESHOLD_=65536`` (its
``distributed.nanny.pre-spawn-environ``), so that freed memory goes back to the system.  Setting
any such variable turns off glibc's dynamic mmap threshold: every block above 128 KiB is then
mapped and unmapped on each allocation, and each new temporary array is page-faulted in again.
The batch engines allocate many such temporaries; on 100,000 hill4 curves this doubled the fit
time (8.2 s in a plain process, 16.2-17.5 s with that variable set; the same partitions run in
one process, 2026-12-07).  :func:`tune_worker_malloc` raises the mmap threshold to 32 MiB in
such a process (``mallopt(M_MMAP_THRESHOLD)``), which brought the time back to 10.2-10.5 s with
the peak resident memory 4 % higher (541 against 521 MB).  Memory above the trim threshold is
still returned to the system.  ``COMBOPLAN_WORKER_MALLOPT=0`` in the workers' environment turns
this off.
"""
from __future__ import annotations

import os
import sys

#: glibc's M_MMAP_THRESHOLD parameter of mallopt(3), and the value set (its maximum on 64-bit)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024

_done = False


def tune_worker_malloc() -> bool:
    """Raise glibc's mmap threshold in a process started with ``MALLOC_TRIM_THRESHOLD_`` (a Dask
    worker), once per process.

    Returns
    -------
    bool
        True when the threshold was set by this call or an earlier one; False elsewhere (not
        Linux/glibc, no ``MALLOC_TRIM_THRESHOLD_`` in the environment, or turned off with
        ``COMBOPLAN_WORKER_MALLOPT=0``).
    """
    global _done
    if _done:
        return True
    if (not sys.platform.startswith("linux") or "MALLOC_TRIM_THRESHOLD_" not in os.environ
            or os.environ.get("COMBOPLAN_WORKER_MALLOPT", "1") == "0"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):      # not glibc
        return False
    return _done


_libc = None


def release_free_memory() -> bool:
    """Return the free memory of every malloc arena to the system (glibc's ``malloc_trim(0)``).

    A merge that copies many small arrays into one large one and frees them leaves the freed
    blocks inside glibc's heaps (interleaved with live ones), so the process keeps them: a
    distributed synergy call on 50,000 blocks with four methods held the gathered partition
    results (0.5 GB) on top of the merged tables after the merge.  Called between the columns
    of a merge, this hands them back as they are freed.

    Returns
    -------
    bool
        True when glibc's ``malloc_trim`` was called (Linux with glibc), False elsewhere.
    """
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    try:
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):      # not glibc
        return False
    return True
