"""Intratumoral, peritumoral and ring regions around a contoured tumour.

With d the signed distance (mm) from a voxel centre to the tumour boundary,
negative inside (``signed_distance.py`` explains how d is measured):

- intratumoral: the voxels of the tumour mask, exactly as drawn;
- peritumoral: voxels outside the mask with d <= W_p (default 5 mm, Qian 2024);
- ring: mask voxels with d >= -W_r plus outside voxels with d <= W_r
  (default 2 mm, so a 4 mm band straddling the border, Han 2024).

Membership in the tumour is decided by the mask, d only by distance: a voxel
is never both intratumoral and peritumoral. Peritumoral and ring lose the
voxels outside the image, below the air threshold and in any exclusion mask
(vessels, chest wall, skin, other organs); the tumour itself is never cut.

The work runs on a crop around the tumour (bounding box + widest band + a
margin), padded with background where it passes the image edge so the edge
never acts as a boundary, and is pasted back into the input geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..io.images import bounding_box, geometry_difference
from .signed_distance import signed_distance_mm

REGION_NAMES = ("intratumoral", "peritumoral", "ring")
# One colour per region for overlays, segmentation files and Slicer segments (kept free of matplotlib).
# Paul Tol's wine and teal and Okabe-Ito's yellow: far (CIE76 delta-E >= 20, also under simulated protanopia
# and deuteranopia) from every shade of the Slicer risk colours (Okabe-Ito blue / vermillion), so a region
# in its own colour never reads as a risk group (Testing/test_slicer_colours.py).
REGION_COLOURS = {
    "intratumoral": (0x88 / 255, 0x22 / 255, 0x55 / 255),  # Tol wine #882255
    "peritumoral": (0xF0 / 255, 0xE4 / 255, 0x42 / 255),  # Okabe-Ito yellow #F0E442
    "ring": (0x44 / 255, 0xAA / 255, 0x99 / 255),  # Tol teal #44AA99
}
COMPONENT_MODES = ("all", "largest")
AXES = "xyz"
# Voxels beyond the widest band kept in the crop, so the distance map sees
# background all round the band.
CROP_MARGIN_VOXELS = 2


@dataclass
class RegionSummary:
    """One region's size and anything the user should know about it."""

    name: str
    voxels: int
    volume_mm3: float
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"voxels": self.voxels, "volume_mm3": round(self.volume_mm3, 3), "warnings": list(self.warnings)}


@dataclass
class Regions:
    """The three region masks (UInt8 0/1, input geometry) with their summary."""

    masks: dict[str, sitk.Image]
    summary: dict[str, RegionSummary]
    parameters: dict
    case_id: str | None = None

    def summary_dict(self) -> dict:
        """JSON-ready summary: case, parameters and one entry per region."""
        return {
            "case_id": self.case_id,
            "parameters": dict(self.parameters),
            "regions": {name: self.summary[name].as_dict() for name in self.masks},
        }


@dataclass
class _Crop:
    """Index window [lo, hi) of the crop in the input grid (x, y, z order)."""

    lo: np.ndarray
    hi: np.ndarray

    def slices(self, size: np.ndarray) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """numpy (z, y, x) slices into the full array and into the crop, for the in-image part."""
        full_lo = np.maximum(self.lo, 0)
        full_hi = np.minimum(self.hi, size)
        full = tuple(slice(int(a), int(b)) for a, b in zip(full_lo[::-1], full_hi[::-1]))
        crop = tuple(slice(int(a), int(b)) for a, b in zip((full_lo - self.lo)[::-1], (full_hi - self.lo)[::-1]))
        return full, crop


def build(
    tumour: sitk.Image,
    image: sitk.Image | None = None,
    *,
    peritumoral_mm: float = 5.0,
    ring_mm: float = 2.0,
    exclusions: Sequence[sitk.Image] = (),
    air_below: float | None = None,
    components: str = "all",
    case_id: str | None = None,
) -> Regions:
    """Build the three regions of one case.

    ``tumour`` is a binary mask (any spacing, origin and direction). ``image``
    is needed only for the air threshold and must share the mask's grid, as
    must every exclusion mask. ``components`` is ``"all"`` (every connected
    component is one tumour) or ``"largest"`` (keep the largest only).
    """
    _check_widths(peritumoral_mm, ring_mm, case_id)
    _check_grids(tumour, image, exclusions, air_below, case_id)
    if components not in COMPONENT_MODES:
        raise InputError(f"components must be one of {COMPONENT_MODES}", case=case_id, value=components)
    tumour_array = _tumour_array(tumour, components, case_id)

    size = np.array(tumour.GetSize())
    crop = _crop_window(tumour_array, tumour.GetSpacing(), max(peritumoral_mm, ring_mm))
    crop_tumour = _crop_array(tumour_array, crop, size)
    distance = signed_distance_mm(_crop_image(crop_tumour, tumour))

    inside = crop_tumour.astype(bool)
    bands = {
        "peritumoral": ~inside & (distance <= peritumoral_mm),
        "ring": (inside & (distance >= -ring_mm)) | (~inside & (distance <= ring_mm)),
    }
    warnings = {name: [] for name in REGION_NAMES}
    for name, band in bands.items():
        _warn_fov_clipping(name, band, crop, size, warnings)

    full_slices, crop_slices = crop.slices(size)
    excluded = _excluded(exclusions, image, air_below, full_slices)
    masks = {"intratumoral": _intratumoral_mask(tumour, tumour_array, components)}
    counts = {"intratumoral": int(np.count_nonzero(tumour_array))}
    for name, band in bands.items():
        window = band[crop_slices]
        if excluded is not None:
            window = _remove_excluded(name, window, excluded, warnings)
        full = np.zeros(tumour_array.shape, dtype=np.uint8)  # untouched pages stay unallocated
        full[full_slices] = window
        masks[name] = _as_image(full, tumour)
        counts[name] = int(np.count_nonzero(window))  # the band lies inside the crop

    widths = {"peritumoral": peritumoral_mm, "ring": ring_mm}
    for name, width in widths.items():
        _warn_thin_band(name, width, tumour.GetSpacing(), warnings)

    voxel_mm3 = float(np.prod(tumour.GetSpacing()))
    summary = {}
    for name in REGION_NAMES:
        if counts[name] == 0:
            warnings[name].append("region is empty")
        summary[name] = RegionSummary(name, counts[name], counts[name] * voxel_mm3, warnings[name])
    masks = {name: masks[name] for name in REGION_NAMES}
    parameters = {
        "peritumoral_mm": peritumoral_mm,
        "ring_mm": ring_mm,
        "air_below": air_below,
        "exclusion_masks": len(exclusions),
        "components": components,
        "distance": "shape-based interpolation, nearest other-class centre on a <=0.5 mm grid",
    }
    return Regions(masks=masks, summary=summary, parameters=parameters, case_id=case_id)


def _check_widths(peritumoral_mm: float, ring_mm: float, case_id: str | None) -> None:
    for name, width in (("peritumoral width (mm)", peritumoral_mm), ("ring half-width (mm)", ring_mm)):
        if not isinstance(width, (int, float)) or not math.isfinite(width) or width <= 0:
            raise InputError(f"{name} must be a positive number", case=case_id, value=width)


def _check_grids(tumour, image, exclusions, air_below, case_id) -> None:
    if air_below is not None and image is None:
        raise InputError("the air threshold needs the image", case=case_id, value=air_below)
    if image is not None and geometry_difference(image, tumour):
        raise InputError(
            f"tumour mask and image have different geometry ({geometry_difference(tumour, image)})", case=case_id
        )
    for number, exclusion in enumerate(exclusions, start=1):
        difference = geometry_difference(exclusion, tumour)
        if difference:
            raise InputError(
                f"exclusion mask {number} and tumour mask have different geometry ({difference})", case=case_id
            )


def _tumour_array(tumour: sitk.Image, components: str, case_id: str | None) -> np.ndarray:
    array = sitk.GetArrayViewFromImage(tumour) != 0
    if not array.any():
        raise InputError("tumour mask is empty", case=case_id)
    if components == "largest":
        labelled = sitk.RelabelComponent(sitk.ConnectedComponent(_as_image(array.astype(np.uint8), tumour)))
        array = sitk.GetArrayFromImage(labelled) == 1
    return array


def _crop_window(tumour_array: np.ndarray, spacing, width_mm: float) -> _Crop:
    lo_zyx, hi_zyx = bounding_box(tumour_array)  # never None: ``build`` refused an empty tumour
    pad = np.ceil(width_mm / np.asarray(spacing)).astype(int) + CROP_MARGIN_VOXELS
    return _Crop(lo=lo_zyx[::-1] - pad, hi=hi_zyx[::-1] + pad)


def _crop_array(array: np.ndarray, crop: _Crop, size: np.ndarray) -> np.ndarray:
    """The crop window of ``array``, zero where the window passes the image edge."""
    out = np.zeros(tuple((crop.hi - crop.lo)[::-1]), dtype=np.uint8)
    full_slices, crop_slices = crop.slices(size)
    out[crop_slices] = array[full_slices]
    return out


def _crop_image(crop_array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    """The crop as an image with the input's spacing but identity direction and zero origin.

    Distances depend only on the spacing; working in this intrinsic frame
    makes the result bit-identical under any direction and origin (a rotated
    frame perturbs interpolation weights at exact ties in the last bit).
    """
    image = sitk.GetImageFromArray(crop_array)
    image.SetSpacing(reference.GetSpacing())
    return image


def _warn_fov_clipping(name: str, band: np.ndarray, crop: _Crop, size: np.ndarray, warnings: dict) -> None:
    inside_fov = np.zeros(band.shape, dtype=bool)
    inside_fov[crop.slices(size)[1]] = True
    clipped = int(np.count_nonzero(band & ~inside_fov))
    if clipped:
        share = 100.0 * clipped / max(1, int(np.count_nonzero(band)))
        warnings[name].append(f"band clipped by the image field of view: {clipped} voxels ({share:.1f}%) fall outside")


def _excluded(exclusions, image, air_below, window: tuple[slice, ...]) -> np.ndarray | None:
    """Union of the exclusion masks and the air voxels inside the crop window."""
    excluded = None
    for exclusion in exclusions:
        part = sitk.GetArrayViewFromImage(exclusion)[window] != 0
        excluded = part if excluded is None else excluded | part
    if air_below is not None:
        air = sitk.GetArrayViewFromImage(image)[window] < air_below
        excluded = air if excluded is None else excluded | air
    return excluded


def _remove_excluded(name: str, band: np.ndarray, excluded: np.ndarray, warnings: dict) -> np.ndarray:
    kept = band & ~excluded
    before, removed = int(band.sum()), int(band.sum() - kept.sum())
    if before and removed > before / 2:
        warnings[name].append(
            f"exclusions removed more than half of the region: {removed} of {before} voxels ({100.0 * removed / before:.1f}%)"
        )
    return kept


def _warn_thin_band(name: str, width_mm: float, spacing, warnings: dict) -> None:
    for axis, step in zip(AXES, spacing):
        if width_mm < step:
            warnings[name].append(
                f"band width {width_mm:g} mm is thinner than one voxel along {axis} ({step:g} mm)"
            )


def _intratumoral_mask(tumour: sitk.Image, tumour_array: np.ndarray, components: str) -> sitk.Image:
    """The tumour itself when it already is a 0/1 UInt8 mask (a copy-on-write
    share, no full-field-of-view copy), else ``tumour_array`` as one."""
    if components == "all" and tumour.GetPixelID() == sitk.sitkUInt8:
        if sitk.GetArrayViewFromImage(tumour).max() <= 1:
            return sitk.Image(tumour)
    return _as_image(tumour_array, tumour)


def _as_image(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.uint8, copy=False))  # no second full-FOV copy
    image.CopyInformation(reference)
    return image
