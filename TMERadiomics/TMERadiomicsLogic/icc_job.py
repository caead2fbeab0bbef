"""Compute ICC with its extraction in a worker process.

The slow part, extracting the features of every contour the study database
lacks, runs in the child (``TMERadiomicsLib.worker.jobs.study_extract_job``:
one transaction per contour, so a cancelled run keeps what it finished and
the next run does the rest). Everything that can refuse is checked here
first, as ``reproducibility.compute_icc`` does; the ICCs themselves and the
table node are computed at the end by ``compute_icc``, which then finds
nothing left to extract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from . import dependencies, reproducibility, worker


def start_icc(db_path: str | PathLike, preset: str | PathLike | None = None, *, form: str = "A,1",
              threshold: float = 0.75, required: Sequence[str] = reproducibility.DEFAULT_REQUIRED,
              table_node=None, timeout: float | None = None) -> worker.Job:
    dependencies.require("study")
    if preset:
        dependencies.require("features")
    reproducibility._check_options(form, threshold, table_node)
    blocker = reproducibility.icc_blocker(db_path)
    if blocker:
        raise ValueError(blocker)
    folder = worker.new_folder()
    job = worker.start_library_job("Compute ICC", folder, {
        "kind": "study-extract", "database": str(Path(db_path).absolute()), "preset": str(preset) if preset else None,
        "required": list(required), "timeout": timeout})
    job.context.update(db_path=db_path, preset=preset, form=form, threshold=threshold, required=tuple(required),
                       table_node=table_node, timeout=timeout)
    return job


def finish_icc(scene, job: worker.Job) -> reproducibility.IccResult:
    try:
        extracted = int(job.result()["extracted"])
        c = job.context
        result = reproducibility.compute_icc(scene, c["db_path"], c["preset"], form=c["form"],
                                             threshold=c["threshold"], required=c["required"],
                                             table_node=c["table_node"], timeout=c["timeout"])
        return dataclasses.replace(result, extracted=extracted)
    finally:
        job.close()
