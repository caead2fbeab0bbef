"""Where cases run: a local process pool, or a Dask distributed cluster.

Both run the same ``run_case`` and yield its results as cases finish. A
task that dies without a result (worker killed, out of memory) is yielded
as an exception paired with its case, so the coordinator records it as not
completed and a resume computes it again.

When the caller stops early (Ctrl-C, SIGTERM, an error, or closing the
generator), queued cases are cancelled and the workers are ended at once:
the process pool's own exit would wait for every queued case, which is
what made Ctrl-C take 80 s. Workers ignore Ctrl-C themselves
(``interrupt.children_ignore_sigint``); their owner ends them.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from ..errors import InputError
from ..interrupt import children_ignore_sigint, shielded
from .result import CaseResult
from .manifest import CaseSpec
from .settings import BatchSettings
from .threads import die_with_parent

Task = tuple[CaseSpec, str]  # a case and its fingerprint
# The first item every ``run`` yields: the backend is up (scheduler reached, pool made), nothing submitted yet,
# so the caller can make its output folder only once the run can really start.
READY = None
Outcome = tuple[CaseSpec, "CaseResult | BaseException"]
DASK_CONNECT_TIMEOUT_S = 30
# A terminated worker exits at once; the wait only bounds a worker stuck in the kernel.
WORKER_EXIT_WAIT_S = 1.0
LOOP_DID_NOT_START = "Dask's event loop did not start within its 10 s (is the machine overloaded?)"


@dataclass(frozen=True)
class LocalPool:
    """``jobs`` worker processes on this machine, one case per worker at a time."""

    jobs: int

    def run(self, tasks: Sequence[Task], settings: BatchSettings, cases_dir: str) -> Iterator[Outcome]:
        # spawn, not fork: the coordinator holds threads (tqdm) and SimpleITK state.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            yield READY
            with children_ignore_sigint():  # submit starts the workers
                futures = {pool.submit(run_case, spec, settings, cases_dir, key): spec for spec, key in tasks}
            for future in as_completed(futures):
                yield futures[future], _outcome(future)
        except BaseException:  # KeyboardInterrupt here, or GeneratorExit when the caller stops
            _end_pool(pool)
            raise
        pool.shutdown()


@dataclass(frozen=True)
class DaskCluster:
    """A running scheduler (``address``) or a LocalCluster of ``local_workers`` processes."""

    address: str | None = None
    local_workers: int = 0

    def run(self, tasks: Sequence[Task], settings: BatchSettings, cases_dir: str) -> Iterator[Outcome]:
        from distributed import as_completed as dask_completed

        with self._client() as client:
            futures = {}
            try:
                yield READY
                for spec, key in tasks:
                    futures[client.submit(run_case, spec, settings, cases_dir, key, pure=False,
                                          key=f"tmeradiomics-case-{spec.case_id}-{key[:12]}")] = spec
                for future in dask_completed(futures):
                    yield futures[future], _outcome(future)
            except BaseException:
                # Queued cases never start. A remote worker cannot stop a running case,
                # which ends on its own (atomically); our own LocalCluster's workers are ended.
                with shielded():
                    client.cancel(list(futures), force=True)
                    if not self.address:
                        _end_local_workers(client)
                raise

    @contextlib.contextmanager
    def _client(self):
        with _distributed_logs_follow_root(), self._connected() as client:
            yield client

    @contextlib.contextmanager
    def _connected(self):
        from distributed import Client, LocalCluster

        if self.address:
            try:
                client = Client(self.address, timeout=DASK_CONNECT_TIMEOUT_S)
            except (OSError, ValueError) as error:  # ValueError: not an address ("missing port number")
                raise InputError(f"cannot reach the Dask scheduler: {error}", value=self.address) from None
            except AssertionError:
                # distributed waits 10 s for its client's event-loop thread and then fails a bare
                # ``assert loop is not None`` (utils.LoopRunner): seen on a saturated machine.
                raise InputError(f"cannot reach the Dask scheduler: {LOOP_DID_NOT_START}",
                                 value=self.address) from None
            with client:
                yield client
            return
        try:
            cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1", silence_logs=logging.WARNING)
        except AssertionError:  # the same start-up check as above
            raise RuntimeError(f"the local Dask cluster did not start: {LOOP_DID_NOT_START}") from None
        with cluster, Client(cluster) as client:
            # Ctrl-C reaches the workers too; only this process should act on it.
            client.run(_ignore_sigint)
            yield client


@contextlib.contextmanager
def _distributed_logs_follow_root() -> Iterator[None]:
    """Dask's INFO logs (and the tracebacks of connections that ending workers close)
    only with ``--verbose``: its own config sets INFO, which our root handler would print."""
    logger = logging.getLogger("distributed")
    previous = logger.level
    logger.setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))
    try:
        yield
    finally:
        logger.setLevel(previous)


def _end_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued cases and end the workers now, running cases included."""
    with shielded():
        # No public handle on the workers before Python 3.14 (terminate_workers).
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.join(WORKER_EXIT_WAIT_S)
            if worker.is_alive():
                worker.kill()
                worker.join(WORKER_EXIT_WAIT_S)


def _ignore_sigint() -> None:
    """Run on each LocalCluster worker (in its main thread)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _end_local_workers(client) -> None:
    """Kill our LocalCluster's worker processes: a graceful close waits for running cases."""
    for worker in client.cluster.scheduler.workers.values():
        with contextlib.suppress(ProcessLookupError, TypeError):  # gone already, or no pid yet
            os.kill(worker.pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows has no SIGKILL


def run_case(spec: CaseSpec, settings: BatchSettings, cases_dir: str, fingerprint: str) -> CaseResult:
    """What the workers run: ``case.run_case``, imported in the worker on its first case.

    The coordinator pickles only this function's name, so it never imports
    the extraction code itself.
    """
    from .case import run_case as run

    return run(spec, settings, cases_dir, fingerprint)


def _outcome(future) -> CaseResult | BaseException:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - reported per case, the run goes on
        return error
