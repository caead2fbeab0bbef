"""Cohort batch: many cases over a manifest, on local processes or Dask, resumable.

``read_manifest`` validates the manifest, ``run_batch`` plans, runs and
merges; ``LocalPool`` and ``DaskCluster`` are where cases run; ``run_case``
is the per-case function both use.

The names load on first use (PEP 562): a pool worker unpickling
``batch.backends.run_case`` imports this package first, and importing the
runner eagerly would load pandas and Dask into every worker, and the
coordinator would load the extraction code it never runs.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "DaskCluster": "backends", "LocalPool": "backends",
    "CaseResult": "result", "run_case": "case",
    "CaseSpec": "manifest", "read_manifest": "manifest",
    "run_batch": "runner",
    "BatchSettings": "settings",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
