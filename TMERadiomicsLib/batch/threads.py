"""Per-worker thread limits, so that N workers do not each start one thread per core."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

import SimpleITK as sitk

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_applied: int | None = None


def limit_threads(threads: int) -> None:
    """Cap SimpleITK, BLAS and OpenMP threads in this process (once per process)."""
    global _applied
    if _applied == threads:
        return
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)  # for libraries loaded later
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # for BLAS / OpenMP already loaded
    _applied = threads


def die_with_parent(parent_pid: int | None = None) -> None:
    """Linux: a pool worker gets SIGKILL when the batch process dies.

    Without it a worker orphaned by ``kill -9`` of the batch would go on
    writing a case that the resumed run is writing too. A worker still
    starting up when the batch died would never get the signal (prctl only
    covers deaths after it is called), so it checks that its parent is still
    ``parent_pid`` and exits at once if not; CI caught such a survivor once,
    on a loaded machine.
    """
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
