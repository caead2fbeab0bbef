"""What every case of a run shares, and the fingerprint that decides whether a case is still current."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..dce import DEFAULT_PHASE
from .manifest import CaseSpec


@dataclass(frozen=True)
class BatchSettings:
    """Picklable: it travels to process-pool and Dask workers with each case."""

    preset_path: str
    preset_sha256: str
    peritumoral_mm: float = 5.0
    ring_mm: float = 2.0
    exclude: tuple[str, ...] = ()  # exclusion masks applied to every case
    air_below: float | None = None
    largest_component: bool = False
    allow_empty_regions: bool = False  # else a case whose exclusions empty a region fails
    allow_small_regions: bool = False  # else a region too small for its features (NaN) fails the case
    phase: int = DEFAULT_PHASE
    resample_mask: bool = False
    threads: int = 1  # SimpleITK / BLAS / OpenMP threads per case
    write_masks: bool = True
    feature_regions: tuple[str, ...] = ()  # regions whose features are extracted; empty: all built
    acquisition_columns: bool = False  # acq_* columns (scanner, protocol, DCE phase) in the feature tables
    kinetics: bool = False  # the kinetic class of every region (every DCE phase and its time; docs/kinetics.md)

    def result_defining(self) -> dict[str, object]:
        """The settings that change a case's numbers (threads and mask output do not)."""
        values = asdict(self)
        for name in NOT_RESULT_DEFINING:
            values.pop(name)
        return _without_later_defaults(values)


# Settings that leave every number as it is (the preset counts by its content, preset_sha256).
NOT_RESULT_DEFINING = ("threads", "write_masks", "preset_path")
# Settings added after runs were recorded, with the value those runs had: at that value they are left
# out of fingerprints and comparisons, so an earlier run's folder still resumes.
ADDED_LATER = {"acquisition_columns": False, "kinetics": False}


def _without_later_defaults(values: dict) -> dict:
    return {name: value for name, value in values.items()
            if name not in ADDED_LATER or value != ADDED_LATER[name]}


def run_record(settings: BatchSettings, extra: dict | None = None) -> dict:
    """What ``batch.json`` records of a run: its settings plus manifest, preset name and models."""
    return {"settings": asdict(settings), **(extra or {})}


def record_differences(earlier: dict, now: dict) -> list[str]:
    """What differs, in a run's result-defining settings and models, between two ``batch.json``
    records, as ``name: earlier -> now`` (empty: the same run, which may resume)."""
    before, after = _defining(earlier), _defining(now)
    differences = []
    for name in sorted(set(before) | set(after)):
        if before.get(name, ADDED_LATER.get(name)) == after.get(name, ADDED_LATER.get(name)):
            continue
        if name == "preset_sha256":
            differences.append(f"preset: {earlier.get('preset')} (sha256 {str(before.get(name))[:12]}) -> "
                               f"{now.get('preset')} (sha256 {str(after.get(name))[:12]})")
        else:
            differences.append(f"{name}: {before.get(name, ADDED_LATER.get(name))} -> "
                               f"{after.get(name, ADDED_LATER.get(name))}")
    return differences


def _defining(record: dict) -> dict:
    values = _without_later_defaults(dict(record.get("settings") or {}))
    for name in NOT_RESULT_DEFINING:
        values.pop(name, None)
    values["models"] = record.get("models", [])
    # Through JSON, as batch.json stores it: tuples become lists.
    return json.loads(json.dumps(values, sort_keys=True, default=str))


def file_state(path: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of a file, or of every file in a (DICOM) folder.

    Size and modification time, as make does: hashing the content of tens of
    thousands of images on every resume would cost more than it protects.
    """
    path = Path(path).absolute()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    states = []
    for item in files:
        stat = item.stat()
        states.append((str(item), stat.st_size, stat.st_mtime_ns))
    return states


def fingerprint(spec: CaseSpec, settings: BatchSettings) -> str:
    """SHA-256 over the case's inputs, its manifest fields and the run's result-defining settings."""
    record = {
        "case_id": spec.case_id,
        "label": spec.label,
        "inputs": {role: file_state(p) for role, p in
                   (("image", spec.image), ("mask", spec.mask))},
        "exclude": [file_state(p) for p in spec.exclude],
        "settings": settings.result_defining(),
        "global_exclude": [file_state(Path(p)) for p in settings.exclude],
        **({"segment": spec.segment} if spec.segment else {}),  # absent: earlier runs' fingerprints hold
        **({"phase_times": list(spec.phase_times)} if spec.phase_times is not None else {}),
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity / container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
