"""The panel's Cohort section: ``tmeradiomics batch`` as a child process, its tables into the scene.

The source is a manifest CSV or a cohort folder: the folder's manifest.csv,
or, without one, the cases batch finds by layout (one sub-folder per case,
or ``<case>_image``/``<case>_mask`` pairs; ``TMERadiomicsLib/batch/discover.py``).

The child is the CLI itself (``python -m TMERadiomicsLib batch ...``), so a
cohort run from the panel is the command a user would type, with its checks,
its resume (run again: finished cases are skipped) and its Ctrl-C manners
(Cancel sends SIGTERM: finished cases are kept and it exits 130). Per-case
progress is read from the batch folder, where each finished case leaves
``cases/<case_id>/status.json``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from .i18n import tr as _
from . import tables, worker

MANIFEST_IN_FOLDER = "manifest.csv"
RESULT_TABLES = ("features_combined.csv", "scores.csv", "failures.csv")
EXIT_OK, EXIT_SOME_FAILED = 0, 3
COHORT_GRACE_S = 1.5  # batch stops its pool and exits 130 well within this; then it is killed


def manifest_path(source: str | PathLike) -> Path:
    """The manifest itself, or ``manifest.csv`` of a folder (which may not exist: batch then finds the cases)."""
    path = Path(source)
    return path / MANIFEST_IN_FOLDER if path.is_dir() else path


def cohort_blocker(source, out, preset) -> str | None:
    """Why Run cohort cannot start yet, or None (a folder's cases are checked when the run starts)."""
    if not str(source or "").strip():
        return _("Choose a cohort manifest (CSV) or a cohort folder.")
    path = Path(source)
    if not path.is_dir() and not path.is_file():
        return _("No manifest or folder at {path}.").format(path=path)
    if not str(out or "").strip():
        return _("Choose an output folder for the cohort.")
    if not preset:
        return _("Choose a preset.")
    return None


def source_cases(source: str | PathLike) -> int:
    """Cases of the manifest or folder (batch validates them in full; this only sizes the progress bar).

    A folder the layout rules cannot pair raises the library's ``InputError``,
    naming each case, before any child starts.
    """
    manifest = manifest_path(source)
    if manifest.is_file():
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            return sum(1 for row in csv.DictReader(handle) if any((v or "").strip() for v in row.values()))
    from TMERadiomicsLib.batch.discover import discover_rows

    return len(discover_rows(Path(source)))


class CohortJob(worker.Job):
    """A batch child; its progress events come from the cases the batch folder holds."""

    def __init__(self, argv: Sequence[str], folder: Path, out: Path, total: int) -> None:
        super().__init__("Run cohort", argv, folder)
        self.grace = COHORT_GRACE_S
        self.out, self.total, self._finished = out, total, -1

    def finishedCases(self) -> int:
        cases = self.out / "cases"
        return sum(1 for status in cases.glob("*/status.json")) if cases.is_dir() else 0

    def poll(self) -> list[dict[str, Any]]:
        events = super().poll()
        finished = self.finishedCases()
        if finished != self._finished:
            self._finished = finished
            event = {"event": "progress", "message": _("Cohort: {finished} of {total} cases finished").format(finished=finished, total=self.total),
                     "fraction": min(1.0, finished / max(1, self.total))}
            self.events.append(event)
            events.append(event)
        return events


def start_cohort(source: str | PathLike, out: str | PathLike, preset: str, models: Sequence[str | PathLike] = (),
                 *, peritumoralMm: float = 5.0, ringMm: float = 2.0, jobs: int = 1) -> CohortJob:
    blocker = cohort_blocker(source, out, preset)
    if blocker:
        raise ValueError(blocker)
    source, out = Path(source).absolute(), Path(out).absolute()
    total = source_cases(source)
    argv = [worker.child_python(), "-m", "TMERadiomicsLib", "batch", str(source), "--preset", str(preset),
            "--out", str(out), "--jobs", str(jobs), "--peritumoral-mm", f"{peritumoralMm:g}",
            "--ring-mm", f"{ringMm:g}"]
    if models:
        argv += ["--models", *(str(m) for m in models)]
    return CohortJob(argv, worker.new_folder("tmeradiomics-cohort-"), out, total)


def finish_cohort(scene, job: CohortJob) -> dict[str, Any]:
    """Table nodes of the batch's cohort tables; {"tables": [...], "summary": ..., "message": ...}.

    Exit 0 and 3 (some cases failed: see failures.csv) give tables; any other
    ends in ``JobFailed`` with the CLI's own one-line message.
    """
    import pandas as pd

    try:
        code = job.process.returncode
        if code not in (EXIT_OK, EXIT_SOME_FAILED):
            raise worker.JobFailed(job.logTail(1) or f"tmeradiomics batch stopped (exit status {code})")
        summary = _summary(job.out)
        nodes = []
        try:
            for name in RESULT_TABLES:
                path = job.out / name
                if not path.is_file():
                    continue
                frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
                node = scene.AddNewNodeByClass("vtkMRMLTableNode", f"Cohort {Path(name).stem}")
                nodes.append(node)
                tables.frame_to_table(frame, node, {"Kind": f"cohort-{Path(name).stem}", "BatchFolder": str(job.out),
                                                    "SourceFile": str(path)})
        except BaseException:
            for node in nodes:  # all tables or none
                scene.RemoveNode(node)
            raise
        message = job.logTail(1)
        return {"tables": nodes, "summary": summary, "message": message}
    finally:
        job.close()


def _summary(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
