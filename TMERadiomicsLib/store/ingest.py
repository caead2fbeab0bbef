"""Turning an image and a reader's mask on disk into a ``Segmentation`` record.

Everything that can be wrong with the files (unreadable, empty mask, mask on
another grid, regions that cannot be built) is found here, before the
database is opened, so bad input never touches it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..io.images import read_image
from ..io.segments import read_tumour
from ..regions import build
from .records import Geometry, RegionRecord, Segmentation

_CHUNK = 1 << 20


def content_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes; for a DICOM folder, of its files' names and bytes in order."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()


def segmentation_from_files(
    case_id: str,
    reader: str,
    session: str,
    image_path: str | os.PathLike,
    mask_path: str | os.PathLike,
    *,
    label: int | None = None,
    peritumoral_mm: float = 5.0,
    ring_mm: float = 2.0,
    segment: str | None = None,
) -> Segmentation:
    """Read, validate and summarise one session's contour of a case.

    ``segment`` picks a segment of a DICOM SEG, RTSTRUCT or ``.seg.nrrd``; its
    number is stored as the mask label, which re-reads the same segment.
    """
    image = read_image(image_path, case_id=case_id)
    tumour = read_tumour(mask_path, reference=image, label=label, segment=segment, case_id=case_id)
    mask = tumour.mask
    if tumour.segment is not None:
        label = tumour.segment.number
    elif "segment" in tumour.source:
        label = tumour.source["segment"]["number"]
    regions = build(mask, image, peritumoral_mm=peritumoral_mm, ring_mm=ring_mm, case_id=case_id)
    records = tuple(
        RegionRecord(name, s.voxels, s.volume_mm3, tuple(s.warnings)) for name, s in regions.summary.items()
    )
    return Segmentation(
        case_id=case_id,
        reader=reader,
        session=session,
        image_path=str(Path(image_path).resolve()),
        image_sha256=content_sha256(image_path),
        mask_path=str(Path(mask_path).resolve()),
        mask_sha256=content_sha256(mask_path),
        geometry=Geometry.of(image),
        mask_label=label,
        peritumoral_mm=peritumoral_mm,
        ring_mm=ring_mm,
        regions=records,
    )
