"""The kinds of job the child runs; each returns a JSON-able result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Progress = Callable[[str, float], None]


def run(folder: Path, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    kinds = {"features": features_job, "study-extract": study_extract_job}
    if job.get("kind") not in kinds:
        raise ValueError(f"{folder / 'job.json'}: unknown job kind {job.get('kind')!r}")
    return kinds[job["kind"]](folder, job, progress)


def features_job(folder: Path, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """``extract_case`` on the handed-over crop (``handover.py``)."""
    from .. import quiet_radiomics

    quiet_radiomics()
    from ..features.extract import extract_case
    from .handover import read_features_job
    from .results import features_to_json

    image, masks = read_features_job(folder, job)
    features = extract_case(image, masks, job["preset"], case_id=job["case_id"], progress=progress,
                            whole_image_extreme=job.get("whole_image_extreme"))
    return {"features": features_to_json(features)}


def study_extract_job(folder: Path, job: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """What Compute ICC extracts: each contour the study database lacks, one transaction each.

    Refuses first when the study's ratings cannot give the required ICCs, as
    ``compute_icc`` does, so nothing is extracted in vain.
    """
    from .. import quiet_radiomics

    quiet_radiomics()
    from ..reproducibility.stability import check_ratings
    from ..store import StudyStore
    from ..store.extraction import extract_missing

    options = {} if job.get("timeout") is None else {"timeout": job["timeout"]}
    with StudyStore(job["database"], create=False, **options) as store:
        check_ratings(store.ratings(), required=tuple(job["required"]))
        report = None
        if job.get("preset"):  # without one: the ICCs of what the database holds, nothing to extract
            report = extract_missing(store, job["preset"], progress=False, case_progress=progress)
        result = {"extracted": report.extracted if report else 0,
                  "already_present": report.already_present if report else None}
        if job.get("icc"):
            progress("Computing ICCs", 0.97)
            features, chosen = store.preset_features(job.get("preset"))
            result["icc"] = icc_result(features, chosen, job["icc"]["form"], job["icc"]["threshold"],
                                       tuple(job["required"]))
    return result


def icc_result(features, chosen: dict, form: str, threshold: float, required: tuple[str, ...]) -> dict[str, Any]:
    """The ICCs of a study's features as JSON (every float exact): the summary table, cases per kind, preset."""
    from ..reproducibility.stability import reliability

    computed = reliability(features, form=form, threshold=threshold, required=required)
    cases = {str(k): int(n) for k, n in computed.long.groupby("kind")["n_cases"].max().items()}
    return {"summary": computed.summary.to_dict(orient="list"), "cases": cases,
            "required": list(computed.required),
            "chosen": {"preset_name": str(chosen["preset_name"]), "preset_sha256": str(chosen["preset_sha256"])}}
