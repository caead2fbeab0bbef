"""What the GUI hands the child: the volume crop feature extraction needs, and its region masks.

The child must compute exactly what ``extract_case`` computes on the whole
field of view, so the crop is the one ``extract_case`` would make itself
(``features/prepare.py``: the union box of the regions, padded for the widest
filter kernel, an axis taken whole when the padding leaves the image); run
on it, the library finds the same box again. What a crop cannot carry is
passed along or avoided:

- the point-wise filters (Square, SquareRoot, Logarithm, Exponential) scale
  by the whole image's extreme intensity: it is computed here and passed;
- normalisation uses whole-image statistics and resampling a B-spline fit of
  the whole image: presets that use them get the whole image.

Files are uncompressed NRRD (fast to write and read, geometry exact).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from ..features.crop import SCALED_POINTWISE, Box, crop, kernel_reach, padded_box, union_box
from ..features.prepare import RegionMask, _extreme, _resampling
from ..features.presets import Preset, extraction_settings, load_preset


def handover_box(image: sitk.Image, masks: Mapping[str, sitk.Image], preset: Preset) -> Box | None:
    """The part of ``image`` the child needs for ``preset``, or None for the whole image."""
    settings = extraction_settings(preset)
    if settings.get("normalize", False) or _resampling(settings):
        return None
    label = int(settings.get("label", 1))
    boxes = [box for box in (RegionMask.find(m, label).box for m in masks.values()) if box is not None]
    if not boxes:
        return None  # nothing to crop to: the child records why each region has no features
    pad = kernel_reach(preset.image_types, settings, image.GetSpacing())
    if settings.get("preCrop", False):
        pad = tuple(max(p, int(settings.get("padDistance", 5))) for p in pad)
    return padded_box(union_box(boxes), pad, image.GetSize())


def whole_image_extreme(image: sitk.Image, preset: Preset) -> float | None:
    """The extreme the point-wise filters need, when the child gets a crop and they scale by it."""
    settings = extraction_settings(preset)
    if settings.get("preCrop", False) or not SCALED_POINTWISE & set(preset.image_types):
        return None
    return float(_extreme(image))


def write_features_job(folder: str | PathLike, image: sitk.Image, masks: Mapping[str, sitk.Image],
                       preset: str | PathLike | Preset, case_id: str) -> dict[str, Any]:
    """Write image crop and masks into ``folder``; returns the job description (``job.json``)."""
    folder = Path(folder)
    preset = load_preset(preset)
    box = handover_box(image, masks, preset)
    extreme = whole_image_extreme(image, preset) if box is not None else None
    part = (lambda i: crop(i, box)) if box is not None else (lambda i: i)
    sitk.WriteImage(part(image), str(folder / "image.nrrd"), useCompression=False)
    files = {}
    for index, (name, mask) in enumerate(masks.items()):
        files[name] = f"mask{index}.nrrd"
        sitk.WriteImage(part(mask), str(folder / files[name]), useCompression=False)
    return {"kind": "features", "case_id": case_id, "preset": str(preset.path), "image": "image.nrrd",
            "masks": files, "whole_image_extreme": extreme,
            "crop": None if box is None else {"lower": list(box.lower), "upper": list(box.upper)},
            "whole_size": list(image.GetSize())}


def read_features_job(folder: Path, job: Mapping[str, Any]) -> tuple[sitk.Image, dict[str, sitk.Image]]:
    image = sitk.ReadImage(str(folder / job["image"]))
    masks = {name: sitk.ReadImage(str(folder / path)) for name, path in job["masks"].items()}
    return image, masks
