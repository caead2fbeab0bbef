"""Writing one case's regions: NRRD masks, a Slicer segmentation, the summary and an overlay."""

from __future__ import annotations

import json
from pathlib import Path

import SimpleITK as sitk

from ..io.images import write_image
from ..io.seg_nrrd import Segment, write_seg_nrrd
from .builder import REGION_COLOURS, REGION_NAMES, Regions


def write_regions(regions: Regions, out_dir: Path, image: sitk.Image | None = None, *,
                  mask_source: dict | None = None) -> dict[str, Path]:
    """Write ``<region>.nrrd``, ``regions.seg.nrrd``, ``summary.json`` and, with an image, ``overlay.png``.

    ``mask_source`` (what the tumour mask was read from: format, segment, grid) goes into the summary.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: write_image(regions.masks[name], out_dir / f"{name}.nrrd") for name in REGION_NAMES}
    segments = [Segment(name, name.capitalize(), REGION_COLOURS[name], regions.masks[name]) for name in REGION_NAMES]
    paths["segmentation"] = write_seg_nrrd(segments, out_dir / "regions.seg.nrrd")
    paths["summary"] = out_dir / "summary.json"
    paths["summary"].write_text(json.dumps(summary_with_source(regions, mask_source), indent=2))
    if image is not None:
        from .overlay import render_overlay  # matplotlib: not for batch workers, which write no overlay

        title = f"case {regions.case_id}" if regions.case_id else "regions"
        paths["overlay"] = render_overlay(image, regions.masks, out_dir / "overlay.png", title=title)
    return paths


def summary_with_source(regions: Regions, mask_source: dict | None) -> dict:
    """The regions' summary, with what the tumour mask was read from when known."""
    summary = regions.summary_dict()
    if mask_source:
        summary["mask"] = dict(mask_source)
    return summary
