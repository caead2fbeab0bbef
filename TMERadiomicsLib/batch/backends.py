"""Where cases run: a local process pool, or a Dask distributed cluster.

Both run the same ``run_case`` and yield its results as cases finish. A
task that dies without a result (worker killed, out of memory) is yielded
as an exception paired with its case, so the coordinator records it as not
completed and a resume computes it again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from ..errors import InputError
from .case import CaseResult, run_case
from .manifest import CaseSpec
from .settings import BatchSettings
from .threads import die_with_parent

Task = tuple[CaseSpec, str]  # a case and its fingerprint
Outcome = tuple[CaseSpec, "CaseResult | BaseException"]
DASK_CONNECT_TIMEOUT_S = 30


@dataclass(frozen=True)
class LocalPool:
    """``jobs`` worker processes on this machine, one case per worker at a time."""

    jobs: int

    def run(self, tasks: Sequence[Task], settings: BatchSettings, cases_dir: str) -> Iterator[Outcome]:
        # spawn, not fork: the coordinator holds threads (tqdm) and SimpleITK state.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=context,
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(run_case, spec, settings, cases_dir, key): spec for spec, key in tasks}
            for future in as_completed(futures):
                yield futures[future], _outcome(future)


@dataclass(frozen=True)
class DaskCluster:
    """A running scheduler (``address``) or a LocalCluster of ``local_workers`` processes."""

    address: str | None = None
    local_workers: int = 0

    def run(self, tasks: Sequence[Task], settings: BatchSettings, cases_dir: str) -> Iterator[Outcome]:
        from distributed import as_completed as dask_completed

        with self._client() as client:
            futures = {client.submit(run_case, spec, settings, cases_dir, key, pure=False,
                                     key=f"tmeradiomics-case-{spec.case_id}-{key[:12]}"): spec
                       for spec, key in tasks}
            for future in dask_completed(futures):
                yield futures[future], _outcome(future)

    @contextlib.contextmanager
    def _client(self):
        from distributed import Client, LocalCluster

        if self.address:
            try:
                client = Client(self.address, timeout=DASK_CONNECT_TIMEOUT_S)
            except OSError as error:
                raise InputError(f"cannot reach the Dask scheduler: {error}", value=self.address) from None
            with client:
                yield client
            return
        with LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, host="127.0.0.1",
                          silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
            yield client


def _outcome(future) -> CaseResult | BaseException:
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - reported per case, the run goes on
        return error
