"""One case of a batch: regions, features, written atomically with a done-marker last.

``run_case`` is the single function that process-pool and Dask workers run
(through ``backends.run_case``, which imports this module in the worker).
It never raises for a problem of the case itself: the reason is recorded in
the case's ``status.json`` and the run goes on.

Layout of ``DIR/cases/<case_id>/``: ``features_wide.csv``,
``features_combined.csv``, ``feature_failures.csv``, ``diagnostics.json``,
``regions/`` (masks and summary) and ``status.json``, written last: a folder
without ``status.json`` is an interrupted case and is computed again.
"""

from __future__ import annotations

import json
import logging
import resource
import shutil
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from ..errors import InputError
from ..features.extract import extract_case
from ..io.acquisition_cells import acquisition_cells, dicom_records, with_columns
from ..io.preprocessing import read_dce
from ..io.segments import read_tumour
from ..kinetics.reading import read_kinetic_series
from ..outputs import atomic_write_text, staged_dir
from ..regions.options import RegionOptions
from ..regions.outputs import write_regions
from .manifest import CaseSpec
from .result import FAILED, OK, STATUS_FILE, CaseResult
from .settings import BatchSettings
from .threads import limit_threads

logger = logging.getLogger(__name__)

def run_case(spec: CaseSpec, settings: BatchSettings, cases_dir: str, fingerprint: str) -> CaseResult:
    """Compute and write one case; record a failure instead of raising it."""
    limit_threads(settings.threads)
    started = time.perf_counter()
    case_dir = Path(cases_dir) / spec.case_id
    shutil.rmtree(case_dir, ignore_errors=True)  # left by an interrupted attempt
    try:
        with staged_dir(case_dir) as stage:
            _compute_into(spec, settings, stage)
        status, reason = OK, ""
    except InputError as error:
        status, reason = FAILED, str(error)
    except Exception as error:  # noqa: BLE001 - any crash of one case must not stop the cohort
        logger.debug("case %s failed:\n%s", spec.case_id, traceback.format_exc())
        status, reason = FAILED, f"case {spec.case_id}: {type(error).__name__}: {error}"
    result = CaseResult(spec.case_id, status, reason, fingerprint,
                        round(time.perf_counter() - started, 3), _peak_rss_mb())
    atomic_write_text(case_dir / STATUS_FILE, json.dumps(asdict(result), indent=2))
    return result


def _compute_into(spec: CaseSpec, settings: BatchSettings, stage: Path) -> None:
    seconds, started = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = round(now - started, 3)
        started = now

    series = read_kinetic_series(spec.image, times_s=spec.phase_times, case_id=spec.case_id) \
        if settings.kinetics else None  # every phase and its time (DICOM, phantom.json or phase_times)
    image = series.phase(settings.phase, file=spec.image, case_id=spec.case_id) if series is not None \
        else read_dce(spec.image, settings.phase, case_id=spec.case_id)
    tumour = read_tumour(spec.mask, reference=image, label=spec.label, segment=spec.segment, case_id=spec.case_id,
                         resample=settings.resample_mask)
    lap("read")
    regions = _region_options(spec, settings).build(spec.case_id, image, tumour.mask)
    lap("regions")
    masks = {name: mask for name, mask in regions.masks.items()
             if not settings.feature_regions or name in settings.feature_regions}
    features = extract_case(image, masks, settings.preset_path, case_id=spec.case_id,
                            allow_small_regions=settings.allow_small_regions, kinetics=series)
    lap("extract")
    acquisition, dce = dicom_records(spec.image, None, settings.phase, case_id=spec.case_id)
    # Every case gets the acq_* cells (empty without DICOM metadata), so the cohort table has one header.
    extra = acquisition_cells(acquisition, dce) if settings.acquisition_columns else {}
    # The CSV writers of CaseFeatures, not pandas: the text is the same and a worker never imports pandas.
    (stage / "features_wide.csv").write_text(with_columns(features.wide_csv(), extra), encoding="utf-8")
    (stage / "features_combined.csv").write_text(with_columns(features.combined_csv(), extra), encoding="utf-8")
    (stage / "feature_failures.csv").write_text(features.failures_csv(), encoding="utf-8")
    lap("write_tables")
    if settings.write_masks:
        write_regions(regions, stage / "regions", mask_source=tumour.source)
        lap("write_masks")
    (stage / "diagnostics.json").write_text(json.dumps(
        {"features": features.diagnostics, "regions": regions.summary_dict(), "mask": tumour.source,
         "acquisition": acquisition, **({"dce": dce} if dce else {}),
         "stage_seconds": seconds},
        indent=2, default=str))


def _region_options(spec: CaseSpec, settings: BatchSettings) -> RegionOptions:
    """The run's options plus this case's own exclusion masks."""
    return RegionOptions(
        peritumoral_mm=settings.peritumoral_mm,
        ring_mm=settings.ring_mm,
        exclude=tuple(Path(p) for p in settings.exclude) + tuple(spec.exclude),
        air_below=settings.air_below,
        largest_component=settings.largest_component,
        allow_empty=settings.allow_empty_regions,
        resample_mask=settings.resample_mask,
    )


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
