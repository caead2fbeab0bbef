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

from ..io.images import bounding_box
from .bounds import check_intensities, check_resampled_size
from .crop import SCALED_POINTWISE, Box, box_from_radiomics, crop, kernel_reach, padded_box, union_box

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegionMask:
    """A region as the caller gave it: a mask on the image's grid and the value that marks it.

    Only the bounding box of the labelled voxels is found on the whole field
    of view (one vectorised pass); everything else reads the box or the crop.
    """

    source: sitk.Image
    label: int
    box: Box | None  # bounding box of the labelled voxels, None when there are none
    voxels: int  # labelled voxels

    @classmethod
    def find(cls, mask: sitk.Image, label: int) -> RegionMask:
        array = sitk.GetArrayViewFromImage(mask)
        box = labelled_box(array, label)
        voxels = 0 if box is None else int(np.count_nonzero(array[box.slices()] == label))
        return cls(mask, label, box, voxels)

    def binary(self, like: sitk.Image, box: Box) -> sitk.Image:
        """UInt8 0/1 mask of ``box``, with the geometry of ``like`` (the image cropped to ``box``)."""
        array = sitk.GetArrayViewFromImage(self.source)[box.slices()] == self.label
        mask = sitk.GetImageFromArray(array.astype(np.uint8))
        mask.CopyInformation(like)  # the image's geometry: the caller's may differ within tolerance
        return mask


def labelled_box(array: np.ndarray, label: int) -> Box | None:
    """Bounding box of the voxels equal to ``label`` in a (z, y, x) array, or None."""
    box = bounding_box(array == label)
    if box is None:
        return None
    (z0, y0, x0), (z1, y1, x1) = box
    return Box((int(x0), int(y0), int(z0)), (int(x1) - 1, int(y1) - 1, int(z1) - 1))


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
    pre_crop: bool = False  # PyRadiomics' ``preCrop``: the crop is padded for it too


def prepare_case(image: sitk.Image, masks: Mapping[str, RegionMask],
                 image_types: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any],
                 extreme: float | None = None, *, case_id: str | None = None) -> PreparedCase:
    """Normalise once, check every region, resample or crop once.

    ``extreme``: the whole image's signed extreme intensity when ``image`` is a crop of it.
    The intensities (before and after normalisation) and the resampled grid's
    size are checked against ``bounds`` first: an ``InputError`` naming the
    value, rather than NaN features or a MemoryError later.
    """
    settings = dict(settings, label=1)
    check_intensities(image, case_id=case_id)
    if settings.get("normalize", False):
        image = imageoperations.normalizeImage(image, **settings)
        check_intensities(image, case_id=case_id, stage="normalised image")
    boxes, failures = _check_regions(image, masks, settings)
    if not boxes:
        return PreparedCase(image, {}, failures, None, None)
    valid = {name: masks[name] for name in boxes}
    if _resampling(settings):
        spacing = _target_spacing(settings, image)
        pad = max(int(settings.get("padDistance", 5)), max(kernel_reach(image_types, settings, spacing)))
        check_resampled_size(image, boxes.values(), spacing, pad, case_id=case_id)
        return _prepare_resampled(image, valid, boxes, failures, image_types, settings)
    return _prepare_cropped(image, valid, boxes, failures, image_types, settings, extreme)


def _resampling(settings: Mapping[str, Any]) -> bool:
    return settings.get("interpolator") is not None and settings.get("resampledPixelSpacing") is not None


def _check_regions(image: sitk.Image, masks: Mapping[str, RegionMask],
                   settings: Mapping[str, Any]) -> tuple[dict[str, Box], dict[str, str]]:
    """PyRadiomics' own mask checks per region; a failing region is recorded, not raised.

    The checks run on the region's bounding box, which gives the same verdict
    as on the whole image at a fraction of the cost:
    ``LabelStatisticsImageFilter`` over a full field of view takes seconds.
    """
    boxes, failures = {}, {}
    for name, region in masks.items():
        try:
            if region.box is None:
                # PyRadiomics' own refusal of a mask without the label.
                imageoperations.getMask(sitk.Image([1] * image.GetDimension(), sitk.sitkUInt8), **settings)
            window = crop(image, region.box)
            imageoperations.checkMask(window, region.binary(window, region.box), **settings)
        except ValueError as error:
            failures[name] = str(error)
            logger.warning("region %s: no features: %s", name, error)
            continue
        boxes[name] = region.box
    return boxes, failures


def _prepare_cropped(image, masks, boxes, failures, image_types, settings, extreme=None) -> PreparedCase:
    pre_crop = bool(settings.get("preCrop", False))
    pad = kernel_reach(image_types, settings, image.GetSpacing())
    if pre_crop:
        pad = tuple(max(p, int(settings.get("padDistance", 5))) for p in pad)
    crop_box = padded_box(union_box(boxes.values()), pad, image.GetSize())
    cropped = crop(image, crop_box)
    regions = {}
    for name, region in masks.items():
        scale_box = _precrop_box(boxes[name], settings, image.GetSize()) if pre_crop else None
        regions[name] = _region(
            cropped, region.binary(cropped, crop_box), settings,
            scale_box.shifted(crop_box.lower) if scale_box else None,
            box=boxes[name].shifted(crop_box.lower),
        )
    regions = {n: r for n, r in regions.items() if r is not None}
    diagnostics = {"crop_size": list(crop_box.size), "crop_pad_voxels": list(pad)}
    scaled = not pre_crop and bool(SCALED_POINTWISE & set(image_types))
    if scaled and extreme is None:
        extreme = _extreme(image)
    return PreparedCase(cropped, regions, failures, extreme if scaled else None, crop_box, diagnostics, pre_crop)


def _extreme(image: sitk.Image) -> float:
    """The intensity of largest magnitude, with its sign (numpy: a tenth of ITK's single-thread time)."""
    array = sitk.GetArrayViewFromImage(image)
    low, high = array.min().item(), array.max().item()
    return high if abs(high) >= abs(low) else low


def _precrop_box(box: Box, settings: Mapping[str, Any], size) -> Box:
    """The box ``loadImage`` crops to with ``preCrop`` (bounding box + padDistance, clipped)."""
    p = int(settings.get("padDistance", 5))
    return Box(
        tuple(max(l - p, 0) for l in box.lower),
        tuple(min(u + p, n - 1) for u, n in zip(box.upper, size)),
    )


def _prepare_resampled(image, masks, boxes, failures, image_types, settings) -> PreparedCase:
    whole = Box(tuple(0 for _ in image.GetSize()), tuple(n - 1 for n in image.GetSize()))
    masks = {name: region.binary(image, whole) for name, region in masks.items()}
    union_mask = _union_mask(masks)
    spacing = _target_spacing(settings, image)
    pad = max(int(settings.get("padDistance", 5)), max(kernel_reach(image_types, settings, spacing)))
    resampled, _ = imageoperations.resampleImage(image, union_mask, **{**settings, "padDistance": pad})
    regions = {}
    for name, mask in masks.items():
        on_grid, scale_box = _pyradiomics_window(mask, resampled, settings)
        regions[name] = _region(resampled, sitk.Cast(on_grid == 1, sitk.sitkUInt8), settings, scale_box)
    ok = {n: r for n, r in regions.items() if r is not None}
    failures.update({n: "region vanished after resampling" for n, r in regions.items() if r is None})
    diagnostics = {"crop_size": list(resampled.GetSize()), "crop_pad_voxels": [pad] * image.GetDimension(),
                   "resampled_spacing": list(resampled.GetSpacing())}
    return PreparedCase(resampled, ok, failures, None, None, diagnostics)


def _union_mask(masks: Mapping[str, sitk.Image]) -> sitk.Image:
    union = None
    for mask in masks.values():
        union = mask if union is None else sitk.Or(union, mask)
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
            scale_box: Box | None, box: Box | None = None) -> PreparedRegion | None:
    """``mask`` (UInt8 0/1 on the grid) as a prepared region; ``box`` is its bounding box when already checked."""
    if box is None:
        try:
            bounding_box, _ = imageoperations.checkMask(grid_image, mask, **settings)
        except ValueError:
            return None
        box = box_from_radiomics(bounding_box)
    shape_mask, shape_box = mask, box
    texture_mask, texture_box = shape_mask, shape_box
    if settings.get("resegmentRange") is not None:
        texture_mask = imageoperations.resegmentMask(grid_image, mask, **settings)
        bounding_box, _ = imageoperations.checkMask(grid_image, texture_mask, **settings)
        texture_box = box_from_radiomics(bounding_box)
        if settings.get("resegmentShape", False):
            shape_mask, shape_box = texture_mask, texture_box
    voxels = int(np.count_nonzero(sitk.GetArrayViewFromImage(shape_mask)))
    return PreparedRegion(texture_mask, texture_box, shape_mask, shape_box, scale_box, voxels)
