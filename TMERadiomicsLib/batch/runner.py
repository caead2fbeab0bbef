"""A cohort run: plan (skip what is done), run the rest, merge, summarise.

A case is skipped when its ``status.json`` exists and carries the same
fingerprint (inputs, preset hash, region settings); everything else runs. A
folder of a run with other settings is refused (``outdir``), never mixed.

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
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tqdm import tqdm

from ..errors import InputError
from ..interrupt import Interrupted, shielded
from ..outputs import atomic_write_text, command_inputs
from .backends import Outcome, Task
from .result import FAILED, OK, CaseResult
from .manifest import CaseSpec
from .merge import CohortTables, merge
from .outdir import BatchFolder, abandon, cases_dir, finish, open_batch_folder, remove_partial_cases, start
from .settings import BatchSettings, fingerprint
from .settings import run_record as make_run_record

if TYPE_CHECKING:
    from ..models import ModelBundle  # scikit-learn: only with --models

logger = logging.getLogger(__name__)

# Exit code of a batch that ran to its end but with failed or lost cases (see docs/batch.md).
EXIT_CASES_FAILED = 3


class Backend(Protocol):
    """``run`` yields ``backends.READY`` once it can take cases (nothing submitted yet), then the outcomes."""

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
    """Run every case not already done, merge the cohort tables, write and return the summary.

    Nothing is written before the backend is up (``outdir``); an ``overwrite``
    run builds a new folder beside ``out`` and swaps it in at the end.
    """
    started = time.perf_counter()
    check_bundles(bundles, settings)
    with command_inputs(_case_inputs(specs, settings), replace=False):
        return _run(specs, settings, backend, out, bundles, retry_failed, overwrite,
                    make_run_record(settings, run_record), started)


def _run(specs, settings, backend, out, bundles, retry_failed, overwrite, record, started) -> dict:
    folder = open_batch_folder(out, record, overwrite)
    cases = cases_dir(folder.work)
    tasks, results = plan(specs, settings, cases, retry_failed)
    lost: dict[str, str] = {}
    outcomes = backend.run(tasks, settings, str(cases))
    try:
        next(outcomes)  # READY: the scheduler answered, the pool exists; only now is anything written
        start(folder, record)
        _collect(outcomes, len(specs), results, lost)
        tables = merge(cases, list(specs), results, list(bundles))
        tables.write(folder.work)
        summary = _summary(specs, results, lost, len(tasks), tables, time.perf_counter() - started)
        atomic_write_text(folder.work / "summary.json", json.dumps(summary, indent=2, default=str))
        finish(folder)
    except KeyboardInterrupt:
        raise _stopped(outcomes, specs, settings, folder, retry_failed) from None
    except BaseException:
        outcomes.close()
        abandon(folder)
        raise
    finally:
        outcomes.close()
    return summary


def _case_inputs(specs: Sequence[CaseSpec], settings: BatchSettings) -> list[Path]:
    """What the run reads: no output may be, or (replaced with ``--overwrite``) hold, any of it."""
    paths = [Path(settings.preset_path), *(Path(p) for p in settings.exclude)]
    for spec in specs:
        paths += [Path(spec.image), Path(spec.mask), *(Path(p) for p in spec.exclude)]
    return paths


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


def _stopped(outcomes: Iterator[Outcome], specs: Sequence[CaseSpec], settings: BatchSettings,
             folder: BatchFolder, retry_failed: bool) -> Interrupted:
    """After Ctrl-C or SIGTERM: end the workers, remove unfinished cases' stages, say what is kept."""
    with shielded():
        outcomes.close()  # ends the workers before their staging folders go
        if folder.replacing:
            abandon(folder)
            return Interrupted(f"{folder.final} is as it was before (--overwrite replaces it only when the run "
                               "completes); run the command again")
        if not cases_dir(folder.work).is_dir():  # stopped while the backend was starting
            return Interrupted(f"nothing was written to {folder.final}; run the command again")
        remove_partial_cases(folder.work)
        # Counted on disk: a worker may have finished a case the coordinator had not heard of yet.
        _, kept = plan(specs, settings, cases_dir(folder.work), retry_failed)
    return Interrupted(f"{len(kept)} of {len(specs)} cases finished and are kept in {cases_dir(folder.work)}; "
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
