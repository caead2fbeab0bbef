"""Compute ICC with its extraction in a worker process.

The slow part, extracting the features of every contour the study database
lacks, runs in the child (``TMERadiomicsLib.worker.jobs.study_extract_job``:
one transaction per contour, so a cancelled run keeps what it finished and
the next run does the rest), and so do the ICCs themselves (``jobs.icc_result``).
Everything that can refuse is checked here first, as
``reproducibility.compute_icc`` does; at the end the GUI thread only fills
the table node (``reproducibility.icc_table``).
"""

from __future__ import annotations

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
        "required": list(required), "timeout": timeout, "icc": {"form": form, "threshold": float(threshold)}})
    job.context.update(db_path=db_path, preset=preset, form=form, threshold=threshold, required=tuple(required),
                       table_node=table_node, timeout=timeout)
    return job


def finish_icc(scene, job: worker.Job) -> reproducibility.IccResult:
    import pandas as pd

    try:
        result = job.result()
        icc, c = result["icc"], job.context
        return reproducibility.icc_table(scene, pd.DataFrame(icc["summary"]), icc["chosen"], c["form"],
                                         c["threshold"], tuple(icc["required"]), icc["cases"], c["db_path"],
                                         c["table_node"], int(result["extracted"]))
    finally:
        job.close()
