"""A cohort run: plan (skip what is done), run the rest, merge, summarise.

A case is skipped when its ``status.json`` exists and carries the same
fingerprint (inputs, preset hash, region settings); everything else runs.

Ctrl-C or SIGTERM (as ``KeyboardInterrupt``) ends the workers, removes the
staging folders of unfinished cases and raises ``Interrupted`` saying how
many finished cases are kept; the same command resumes from them.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tqdm import tqdm

from ..errors import InputError
from ..interrupt import Interrupted, shielded
from ..outputs import atomic_write_text
from .backends import Outcome, Task
from .result import FAILED, OK, CaseResult
from .manifest import CaseSpec
from .merge import CohortTables, merge
from .outdir import cases_dir, prepare_out_dir, remove_partial_cases
from .settings import BatchSettings, fingerprint

if TYPE_CHECKING:
    from ..models import ModelBundle  # scikit-learn: only with --models

logger = logging.getLogger(__name__)

# Exit code of a batch that ran to its end but with failed or lost cases (see docs/batch.md).
EXIT_CASES_FAILED = 3


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
    outcomes = backend.run(tasks, settings, str(folder))
    try:
        _collect(outcomes, len(specs), results, lost)
        tables = merge(folder, list(specs), results, list(bundles))
        tables.write(out)
    except KeyboardInterrupt:
        raise _stopped(outcomes, specs, settings, out, retry_failed) from None
    finally:
        outcomes.close()
    summary = _summary(specs, results, lost, len(tasks), tables, time.perf_counter() - started)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2, default=str))
    return summary


def _collect(outcomes: Iterator[Outcome], cases: int, results: dict[str, CaseResult], lost: dict[str, str]) -> None:
    """Record each case as its worker reports it, with a progress bar."""
    # disable=None: no bar when stderr is not a terminal (a log file would fill with carriage returns).
    with tqdm(total=cases, initial=len(results), desc="cases", unit="case",
              file=sys.stderr, dynamic_ncols=True, disable=None) as bar:
        for spec, outcome in outcomes:
            if isinstance(outcome, CaseResult):
                results[spec.case_id] = outcome
            else:
                lost[spec.case_id] = f"{type(outcome).__name__}: {outcome}"
                logger.warning("case %s did not complete: %s", spec.case_id, lost[spec.case_id])
            bar.update(1)


def _stopped(outcomes: Iterator[Outcome], specs: Sequence[CaseSpec], settings: BatchSettings, out: Path,
             retry_failed: bool) -> Interrupted:
    """After Ctrl-C or SIGTERM: end the workers, remove unfinished cases' stages, say what is kept."""
    with shielded():
        outcomes.close()  # ends the workers before their staging folders go
        remove_partial_cases(out)
        # Counted on disk: a worker may have finished a case the coordinator had not heard of yet.
        _, kept = plan(specs, settings, cases_dir(out), retry_failed)
    return Interrupted(f"{len(kept)} of {len(specs)} cases finished and are kept in {cases_dir(out)}; "
                       "run the same command again to resume")


def exit_code(summary: dict) -> int:
    """0 when every case completed, else ``EXIT_CASES_FAILED`` (some or all failed or lost)."""
    return 0 if summary["completed"] == summary["cases"] else EXIT_CASES_FAILED


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
