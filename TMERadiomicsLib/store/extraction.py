"""Extracting the features the study database does not hold yet.

Each segmentation's features are one transaction, so an interrupted run
keeps what it finished and the next run computes only the rest. Every file
is checked against the SHA-256 recorded when it was added before anything is
computed: a file changed on disk since then is an input error, not a silent
mix of old contours and new features.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from ..errors import InputError
from ..features import Preset, extract_case, load_preset
from ..io.images import read_image, read_mask
from ..regions import build
from .ingest import content_sha256
from .records import StoredSegmentation
from .study import StudyStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractionReport:
    preset: str
    preset_sha256: str
    extracted: int
    already_present: int


def extract_missing(store: StudyStore, preset: str | Preset, *, progress: bool = True,
                    step: Callable[[int, int], None] | None = None,
                    case_progress: Callable[[str, float], None] | None = None) -> ExtractionReport:
    """Compute and store the features of every segmentation lacking ``preset``'s.

    ``step(done, total)`` is called before each segmentation: a GUI shows
    progress with it, and an exception it raises stops the run between two
    committed extractions. ``case_progress(message, fraction)`` is finer:
    per contour, region and image type ("contour 2 of 5: Ring: wavelet-HLL
    (30/39)"), the fraction over the whole run.
    """
    preset = load_preset(preset)
    todo = store.missing_extractions(preset.sha256)
    total = len(store.segmentations())
    for stored in todo:
        _check_unchanged(stored)
    extracted = 0
    for index, stored in enumerate(tqdm(todo, desc=f"extracting {preset.name}", unit="segmentation",
                                        disable=None if progress else True)):
        if step is not None:
            step(index, len(todo))
        rows = _features(stored, preset, _contour_progress(case_progress, index, len(todo)))
        if store.put_features(stored.segmentation_id, preset.name, preset.sha256, rows):
            extracted += 1
    return ExtractionReport(preset.name, preset.sha256, extracted, total - len(todo))


def _check_unchanged(stored: StoredSegmentation) -> None:
    seg = stored.segmentation
    for what, path, expected in (("image", seg.image_path, seg.image_sha256), ("mask", seg.mask_path, seg.mask_sha256)):
        try:
            actual = content_sha256(path)
        except OSError as error:
            raise InputError(f"{what} of reader {seg.reader}, session {seg.session} cannot be read: "
                             f"{error.strerror}", case=seg.case_id, file=path) from None
        if actual != expected:
            raise InputError(
                f"{what} of reader {seg.reader}, session {seg.session} changed on disk since it was added "
                "(SHA-256 differs); add it again with --replace",
                case=seg.case_id,
                file=path,
            )


def _contour_progress(progress, index: int, count: int):
    if progress is None:
        return None
    return lambda message, fraction: progress(f"contour {index + 1} of {count}: {message}", (index + fraction) / count)


def _features(stored: StoredSegmentation, preset: Preset, progress=None) -> list[tuple[str, str, float]]:
    seg = stored.segmentation
    image = read_image(seg.image_path, case_id=seg.case_id)
    mask = read_mask(seg.mask_path, reference=image, label=seg.mask_label, case_id=seg.case_id)
    regions = build(mask, image, peritumoral_mm=seg.peritumoral_mm, ring_mm=seg.ring_mm, case_id=seg.case_id)
    table = extract_case(image, regions, preset, case_id=seg.case_id, progress=progress).tidy()
    log.info("case %s, %s/%s: %d feature values", seg.case_id, seg.reader, seg.session, len(table))
    return list(zip(table["region"], table["feature"], table["value"]))
