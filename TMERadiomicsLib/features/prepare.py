"""Preprocess a case once and crop it once, for all of its regions.

``prepare_case`` does what ``RadiomicsFeatureExtractor.loadImage`` and
``checkMask`` do per region, but once per case: normalisation of the whole
image, then either resampling (PyRadiomics' ``resampleImage`` on the union of
the regions, which samples the same lattice it would sample for each region)
or a crop to the union bounding box padded for the widest filter kernel
(``crop.py``). Each region keeps its mask on that grid, its bounding box, and
the box of the image PyRadiomics would have filtered for it when that is not
the whole image (resampling or ``preCrop``), so that the point-wise filters
can take their scale from the same voxels PyRadiomics does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import SimpleITK as sitk
from radiomics import imageoperations

from .crop import Box, box_from_radiomics, crop, kernel_reach, padded_box, union_box

logger = logging.getLogger(__name__)


@dataclass
class PreparedRegion:
    """One region on the prepared grid."""

    mask: sitk.Image  # UInt8 0/1, texture and first-order mask (resegmented if asked)
    box: Box  # bounding box of ``mask`` in the prepared grid
    shape_mask: sitk.Image
    shape_box: Box
    scale_box: Box | None  # what PyRadiomics would filter, when not the whole image
    voxels: int


@dataclass
class PreparedCase:
    """The preprocessed, cropped image and the regions on its grid."""

    image: sitk.Image
    regions: dict[str, PreparedRegion]
    failures: dict[str, str]  # region -> why it has no features
    extreme: float | None  # signed intensity of largest magnitude in the whole preprocessed image
    crop_box: Box | None  # where ``image`` sits in the whole image
    diagnostics: dict[str, Any] = field(default_factory=dict)


def prepare_case(image: sitk.Image, masks: Mapping[str, sitk.Image],
                 image_types: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any]) -> PreparedCase:
    """Normalise once, check every region, resample or crop once."""
    settings = dict(settings, label=1)
    if settings.get("normalize", False):
        image = imageoperations.normalizeImage(image, **settings)
    boxes, failures = _check_regions(image, masks, settings)
    if not boxes:
        return PreparedCase(image, {}, failures, None, None)
    valid = {name: masks[name] for name in boxes}
    if _resampling(settings):
        return _prepare_resampled(image, valid, boxes, failures, image_types, settings)
    return _prepare_cropped(image, valid, boxes, failures, image_types, settings)


def _resampling(settings: Mapping[str, Any]) -> bool:
    return settings.get("interpolator") is not None and settings.get("resampledPixelSpacing") is not None


def _check_regions(image: sitk.Image, masks: Mapping[str, sitk.Image],
                   settings: Mapping[str, Any]) -> tuple[dict[str, Box], dict[str, str]]:
    """PyRadiomics' own mask checks per region; a failing region is recorded, not raised.

    The checks run on the region's bounding box (found with numpy), which
    gives the same verdict as on the whole image at a fraction of the cost:
    ``LabelStatisticsImageFilter`` over a full field of view takes seconds.
    """
    boxes, failures = {}, {}
    for name, mask in masks.items():
        box = nonzero_box(mask)
        try:
            if box is None:
                imageoperations.getMask(mask, **settings)  # raises PyRadiomics' message for an empty mask
            window = crop(mask, box)
            imageoperations.getMask(window, **settings)
            imageoperations.checkMask(crop(image, box), window, **settings)
        except ValueError as error:
            failures[name] = str(error)
            logger.warning("region %s: no features: %s", name, error)
            continue
        boxes[name] = box
    return boxes, failures


def nonzero_box(mask: sitk.Image) -> Box | None:
    """Bounding box of the non-zero voxels, or None for an empty mask."""
    array = sitk.GetArrayViewFromImage(mask)
    lower, upper = [], []
    for axis in range(array.ndim):
        others = tuple(a for a in range(array.ndim) if a != axis)
        present = np.flatnonzero(np.any(array, axis=others))
        if present.size == 0:
            return None
        lower.append(int(present[0]))
        upper.append(int(present[-1]))
    return Box(tuple(lower[::-1]), tuple(upper[::-1]))


def _prepare_cropped(image, masks, boxes, failures, image_types, settings) -> PreparedCase:
    pre_crop = bool(settings.get("preCrop", False))
    pad = kernel_reach(image_types, settings, image.GetSpacing())
    if pre_crop:
        pad = tuple(max(p, int(settings.get("padDistance", 5))) for p in pad)
    crop_box = padded_box(union_box(boxes.values()), pad, image.GetSize())
    cropped = crop(image, crop_box)
    regions = {}
    for name, mask in masks.items():
        scale_box = _precrop_box(boxes[name], settings, image.GetSize()) if pre_crop else None
        regions[name] = _region(
            cropped, crop(mask, crop_box), settings,
            scale_box.shifted(crop_box.lower) if scale_box else None,
        )
    regions = {n: r for n, r in regions.items() if r is not None}
    diagnostics = {"crop_size": list(crop_box.size), "crop_pad_voxels": list(pad)}
    return PreparedCase(cropped, regions, failures, None if pre_crop else _extreme(image), crop_box, diagnostics)


def _extreme(image: sitk.Image) -> float:
    """The intensity of largest magnitude, with its sign."""
    statistics = sitk.MinimumMaximumImageFilter()
    statistics.Execute(image)
    low, high = statistics.GetMinimum(), statistics.GetMaximum()
    return high if abs(high) >= abs(low) else low


def _precrop_box(box: Box, settings: Mapping[str, Any], size) -> Box:
    """The box ``loadImage`` crops to with ``preCrop`` (bounding box + padDistance, clipped)."""
    p = int(settings.get("padDistance", 5))
    return Box(
        tuple(max(l - p, 0) for l in box.lower),
        tuple(min(u + p, n - 1) for u, n in zip(box.upper, size)),
    )


def _prepare_resampled(image, masks, boxes, failures, image_types, settings) -> PreparedCase:
    union_mask = _union_mask(masks)
    spacing = _target_spacing(settings, image)
    pad = max(int(settings.get("padDistance", 5)), max(kernel_reach(image_types, settings, spacing)))
    resampled, _ = imageoperations.resampleImage(image, union_mask, **{**settings, "padDistance": pad})
    regions = {}
    for name, mask in masks.items():
        on_grid, scale_box = _pyradiomics_window(mask, resampled, settings)
        regions[name] = _region(resampled, on_grid, settings, scale_box)
    ok = {n: r for n, r in regions.items() if r is not None}
    failures.update({n: "region vanished after resampling" for n, r in regions.items() if r is None})
    diagnostics = {"crop_size": list(resampled.GetSize()), "crop_pad_voxels": [pad] * image.GetDimension(),
                   "resampled_spacing": list(resampled.GetSpacing())}
    return PreparedCase(resampled, ok, failures, None, None, diagnostics)


def _union_mask(masks: Mapping[str, sitk.Image]) -> sitk.Image:
    union = None
    for mask in masks.values():
        binary = sitk.Cast(mask == 1, sitk.sitkUInt8)
        union = binary if union is None else sitk.Or(union, binary)
    return union


def _target_spacing(settings: Mapping[str, Any], image: sitk.Image) -> tuple[float, ...]:
    wanted = np.asarray(settings["resampledPixelSpacing"], dtype=float)
    return tuple(np.where(wanted == 0, np.asarray(image.GetSpacing()), wanted))


def _pyradiomics_window(mask: sitk.Image, grid: sitk.Image, settings: Mapping[str, Any]) -> tuple[sitk.Image, Box | None]:
    """The region's mask on ``grid`` and the window PyRadiomics would filter for it.

    PyRadiomics resamples only the region's bounding box plus
    ``padDistance`` and filters that window. Running its ``resampleImage``
    on the mask alone (nearest neighbour, so cheap) gives that window and the
    very mask PyRadiomics would use: resampling the mask onto the union grid
    instead could round differently where a grid point falls exactly
    half-way between two input voxels, as the two origins differ by rounding.
    """
    window_mask, _ = imageoperations.resampleImage(
        mask, mask, **{**settings, "interpolator": sitk.sitkNearestNeighbor}
    )
    if not np.allclose(window_mask.GetSpacing(), grid.GetSpacing()):
        logger.warning("region spans one slice: PyRadiomics would not resample that axis; using the union's grid")
        on_grid = sitk.Resample(mask, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0, mask.GetPixelID())
        return on_grid, None
    lower = grid.TransformPhysicalPointToIndex(window_mask.GetOrigin())
    upper = [l + s - 1 for l, s in zip(lower, window_mask.GetSize())]
    window = Box(tuple(max(l, 0) for l in lower), tuple(min(u, n - 1) for u, n in zip(upper, grid.GetSize())))
    if window != Box(tuple(lower), tuple(upper)):
        logger.warning("PyRadiomics' resampling window leaves the union grid; its edge voxels are dropped")
    return _paste(window_mask, lower, window, grid), window


def _paste(window_mask: sitk.Image, lower, window: Box, grid: sitk.Image) -> sitk.Image:
    """``window_mask`` (whose first voxel sits at ``lower``) on an empty copy of ``grid``."""
    source = sitk.GetArrayFromImage(window_mask)
    target = np.zeros(grid.GetSize()[::-1], dtype=source.dtype)
    dst = tuple(slice(l, u + 1) for l, u in zip(window.lower[::-1], window.upper[::-1]))
    src = tuple(slice(wl - l, wu - l + 1) for wl, wu, l in zip(window.lower[::-1], window.upper[::-1], lower[::-1]))
    target[dst] = source[src]
    out = sitk.GetImageFromArray(target)
    out.CopyInformation(grid)
    return out


def _region(grid_image: sitk.Image, mask: sitk.Image, settings: Mapping[str, Any],
            scale_box: Box | None) -> PreparedRegion | None:
    mask = sitk.Cast(mask == 1, sitk.sitkUInt8)
    try:
        bounding_box, _ = imageoperations.checkMask(grid_image, mask, **settings)
    except ValueError:
        return None
    shape_mask, shape_box = mask, box_from_radiomics(bounding_box)
    texture_mask, texture_box = shape_mask, shape_box
    if settings.get("resegmentRange") is not None:
        texture_mask = imageoperations.resegmentMask(grid_image, mask, **settings)
        bounding_box, _ = imageoperations.checkMask(grid_image, texture_mask, **settings)
        texture_box = box_from_radiomics(bounding_box)
        if settings.get("resegmentShape", False):
            shape_mask, shape_box = texture_mask, texture_box
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(shape_mask)))
    return PreparedRegion(texture_mask, texture_box, shape_mask, shape_box, scale_box, voxels)
