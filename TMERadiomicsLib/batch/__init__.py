"""Cohort batch: many cases over a manifest, on local processes or Dask, resumable.

``read_manifest`` validates the manifest, ``run_batch`` plans, runs and
merges; ``LocalPool`` and ``DaskCluster`` are where cases run; ``run_case``
is the per-case function both use.
"""

from .backends import DaskCluster, LocalPool
from .case import CaseResult, run_case
from .manifest import CaseSpec, read_manifest
from .runner import run_batch
from .settings import BatchSettings

__all__ = ["BatchSettings", "CaseResult", "CaseSpec", "DaskCluster", "LocalPool", "read_manifest",
           "run_batch", "run_case"]
