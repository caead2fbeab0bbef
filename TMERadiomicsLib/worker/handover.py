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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import SimpleITK as sitk

from ..features.crop import SCALED_POINTWISE, Box, crop, kernel_reach, padded_box, union_box
from ..features.prepare import RegionMask, _extreme, _resampling
from ..features.presets import Preset, extraction_settings, load_preset


@dataclass(frozen=True)
class Handover:
    """A crop already made by the caller (the Slicer Logic reads only this part of a volume).

    ``box`` is the crop in the whole image's index space, ``whole_size`` the
    whole image's size and ``extreme`` its extreme intensity, or None when
    the preset's filters do not scale by it.
    """

    box: Box
    whole_size: tuple[int, ...]
    extreme: float | None


def needs_whole_image(preset: Preset) -> bool:
    """Normalisation and resampling use the whole image: no crop can stand for it."""
    settings = extraction_settings(preset)
    return bool(settings.get("normalize", False)) or _resampling(settings)


def handover_box(image: sitk.Image, masks: Mapping[str, sitk.Image], preset: Preset) -> Box | None:
    """The part of ``image`` the child needs for ``preset``, or None for the whole image."""
    if needs_whole_image(preset):
        return None
    label = int(extraction_settings(preset).get("label", 1))
    boxes = [box for box in (RegionMask.find(m, label).box for m in masks.values()) if box is not None]
    if not boxes:
        return None  # nothing to crop to: the child records why each region has no features
    return box_around(boxes, image.GetSize(), image.GetSpacing(), preset)


def box_around(boxes: Sequence[Box], size: Sequence[int], spacing: Sequence[float], preset: Preset) -> Box:
    """The regions' union box padded for the widest filter (an axis taken whole when it would leave the image)."""
    settings = extraction_settings(preset)
    pad = kernel_reach(preset.image_types, settings, spacing)
    if settings.get("preCrop", False):
        pad = tuple(max(p, int(settings.get("padDistance", 5))) for p in pad)
    return padded_box(union_box(boxes), pad, size)


def plan_handover(boxes: Sequence[tuple[Sequence[int], Sequence[int]]], size: Sequence[int],
                  spacing: Sequence[float], preset: str | PathLike | Preset,
                  extreme: Callable[[], float]) -> Handover | None:
    """The crop a caller should read for regions whose boxes (inclusive ``(lower, upper)``, x y z) it knows.

    The box ``handover_box`` would find on the whole image, so a caller that
    reads only this part hands over what ``write_features_job`` would have
    cut. ``extreme`` is asked only when the preset's filters need it. None:
    the preset needs the whole image.
    """
    preset = load_preset(preset)
    if needs_whole_image(preset) or not boxes:
        return None
    box = box_around([Box(tuple(lo), tuple(hi)) for lo, hi in boxes], size, spacing, preset)
    return Handover(box, tuple(int(n) for n in size), float(extreme()) if _scales_by_extreme(preset) else None)


def whole_image_extreme(image: sitk.Image, preset: Preset) -> float | None:
    """The extreme the point-wise filters need, when the child gets a crop and they scale by it."""
    return float(_extreme(image)) if _scales_by_extreme(preset) else None


def _scales_by_extreme(preset: Preset) -> bool:
    return not extraction_settings(preset).get("preCrop", False) and bool(SCALED_POINTWISE & set(preset.image_types))


def array_extreme(array) -> float:
    """``features.prepare._extreme`` of an image held as a numpy array (a view of a Slicer volume)."""
    low, high = array.min().item(), array.max().item()
    return high if abs(high) >= abs(low) else low


def write_features_job(folder: str | PathLike, image: sitk.Image, masks: Mapping[str, sitk.Image],
                       preset: str | PathLike | Preset, case_id: str, *,
                       handed: Handover | None = None) -> dict[str, Any]:
    """Write image crop and masks into ``folder``; returns the job description (``job.json``).

    With ``handed``, ``image`` and ``masks`` are that crop already (``plan_handover``) and are written as they are.
    """
    folder = Path(folder)
    preset = load_preset(preset)
    if handed is not None:
        box, extreme, whole_size = handed.box, handed.extreme, list(handed.whole_size)
        part = lambda i: i  # noqa: E731
    else:
        box = handover_box(image, masks, preset)
        extreme = whole_image_extreme(image, preset) if box is not None else None
        whole_size = list(image.GetSize())
        part = (lambda i: crop(i, box)) if box is not None else (lambda i: i)
    sitk.WriteImage(part(image), str(folder / "image.nrrd"), useCompression=False)
    files = {}
    for index, (name, mask) in enumerate(masks.items()):
        files[name] = f"mask{index}.nrrd"
        sitk.WriteImage(part(mask), str(folder / files[name]), useCompression=False)
    return {"kind": "features", "case_id": case_id, "preset": str(preset.path), "image": "image.nrrd",
            "masks": files, "whole_image_extreme": extreme,
            "crop": None if box is None else {"lower": list(box.lower), "upper": list(box.upper)},
            "whole_size": whole_size}


def read_features_job(folder: Path, job: Mapping[str, Any]) -> tuple[sitk.Image, dict[str, sitk.Image]]:
    image = sitk.ReadImage(str(folder / job["image"]))
    masks = {name: sitk.ReadImage(str(folder / path)) for name, path in job["masks"].items()}
    return image, masks
