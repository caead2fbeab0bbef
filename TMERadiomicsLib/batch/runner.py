"""A cohort run: plan (skip what is done), run the rest, merge, summarise.

A case is skipped when its ``status.json`` exists and carries the same
fingerprint (inputs, preset hash, region settings); everything else runs.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from ..errors import InputError
from ..models import ModelBundle
from ..outputs import atomic_write_text
from .backends import Outcome, Task
from .case import FAILED, OK, CaseResult
from .manifest import CaseSpec
from .merge import CohortTables, merge
from .outdir import cases_dir, prepare_out_dir
from .settings import BatchSettings, fingerprint

logger = logging.getLogger(__name__)


class Backend(Protocol):
    def run(self, tasks: Sequence[Task], settings: BatchSettings, cases_dir: str) -> Iterator[Outcome]: ...


def check_bundles(bundles: Sequence[ModelBundle], settings: BatchSettings) -> None:
    """Every bundle must have been built on the run's preset, or its scores would be refused at the end."""
    for bundle in bundles:
        expected = bundle.manifest.preset.get("sha256")
        if expected != settings.preset_sha256:
            raise InputError(f"bundle {bundle.manifest.name} was built on preset "
                             f"{bundle.manifest.preset.get('name')} (sha256 {str(expected)[:12]}...), "
                             f"not on the run's preset (sha256 {settings.preset_sha256[:12]}...)")


def plan(specs: Sequence[CaseSpec], settings: BatchSettings, folder: Path,
         retry_failed: bool) -> tuple[list[Task], dict[str, CaseResult]]:
    """(tasks to run, results kept from an earlier run)."""
    tasks, kept = [], {}
    for spec in specs:
        key = fingerprint(spec, settings)
        done = CaseResult.read(folder / spec.case_id)
        if done and done.fingerprint == key and not (retry_failed and done.status == FAILED):
            kept[spec.case_id] = done
        else:
            tasks.append((spec, key))
    return tasks, kept


def run_batch(specs: Sequence[CaseSpec], settings: BatchSettings, backend: Backend, out: Path,
              bundles: Sequence[ModelBundle] = (), *, retry_failed: bool = False,
              overwrite: bool = False, run_record: dict | None = None) -> dict:
    """Run every case not already done, merge the cohort tables, write and return the summary."""
    started = time.perf_counter()
    check_bundles(bundles, settings)
    out = prepare_out_dir(out, {"settings": asdict(settings), **(run_record or {})}, overwrite)
    folder = cases_dir(out)
    tasks, results = plan(specs, settings, folder, retry_failed)
    lost: dict[str, str] = {}
    with tqdm(total=len(specs), initial=len(results), desc="cases", unit="case",
              file=sys.stderr, dynamic_ncols=True) as bar:
        for spec, outcome in backend.run(tasks, settings, str(folder)):
            if isinstance(outcome, CaseResult):
                results[spec.case_id] = outcome
            else:
                lost[spec.case_id] = f"{type(outcome).__name__}: {outcome}"
                logger.warning("case %s did not complete: %s", spec.case_id, lost[spec.case_id])
            bar.update(1)
    tables = merge(folder, list(specs), results, list(bundles))
    tables.write(out)
    summary = _summary(specs, results, lost, len(tasks), tables, time.perf_counter() - started)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary


def _summary(specs, results, lost, ran: int, tables: CohortTables, seconds: float) -> dict:
    failed = {cid: r.reason for cid, r in results.items() if r.status == FAILED}
    return {
        "cases": len(specs),
        "completed": sum(r.status == OK for r in results.values()),
        "failed": len(failed),
        "not_completed": len(specs) - len(results),
        "computed_this_run": ran - len(lost),
        "resumed_from_earlier_runs": len(specs) - ran,
        "scored_rows": len(tables.scores),
        "seconds": round(seconds, 1),
        "cases_per_hour_this_run": round(3600 * (ran - len(lost)) / seconds, 1) if seconds and ran else None,
        "worker_peak_rss_mb": max((r.worker_peak_rss_mb for r in results.values()), default=None),
        "failures": failed,
        "lost": lost,
    }
