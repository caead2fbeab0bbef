"""Bounds that keep PyRadiomics from building matrices it cannot hold or return NaN.

PyRadiomics catches what fails inside a feature class and returns NaN for
its features. An intensity near 1e308 (its square overflows), a uint64
intensity near 2^61 (beyond float64's integers), a ``binWidth`` of 1e-9
(a grey-level co-occurrence matrix of 10^24 cells) or a resampling spacing of
0.01 mm (10^10 voxels) therefore gave tables of NaN, or a MemoryError, after
minutes of work. These checks run before any matrix is built and raise an
``InputError`` naming the value, so the CLI exits 2 with one line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from .crop import Box

# Intensities of larger magnitude lose integer precision in float64 (2^53), and
# their higher moments (kurtosis: x^4) approach overflow for floats near 1e308.
MAX_ABS_INTENSITY = float(2**53)
# Grey levels after discretisation. The GLCM alone is levels^2 x 13 directions
# of float64: 0.44 GB at 2048. IBSI's binWidth 25 on 12-bit MR gives at most 164.
MAX_GREY_LEVELS = 2048
# Voxels of the resampled grid (the regions' bounding box plus padding): a
# float64 copy of 2^25 voxels is 0.27 GB, and the filters hold several.
MAX_RESAMPLED_VOXELS = 2**25
PYRADIOMICS_BIN_WIDTH = 25.0  # PyRadiomics' default when neither binWidth nor binCount is set


def check_intensities(image: sitk.Image, *, case_id: str | None, stage: str = "image") -> None:
    """Refuse NaN, infinite and float64-unsafe intensities (min/max: one pass, no copy)."""
    array = sitk.GetArrayViewFromImage(image)
    if array.size == 0:
        return
    low, high = array.min().item(), array.max().item()
    for value in (low, high):
        if not math.isfinite(value):
            raise InputError(f"{stage} holds NaN or infinite intensities", case=case_id, value=value)
    if max(abs(low), abs(high)) > MAX_ABS_INTENSITY:
        raise InputError(f"{stage} intensities reach {max(abs(low), abs(high)):.3g}, beyond +/-2^53 where "
                         "feature arithmetic loses precision or overflows; rescale the image", case=case_id,
                         value=f"range {low:.6g} .. {high:.6g}")


def grey_levels(low: float, high: float, settings: Mapping[str, Any]) -> float:
    """Grey levels PyRadiomics' ``getBinEdges`` makes of intensities ``low`` .. ``high``."""
    if settings.get("binCount") is not None:
        return float(settings["binCount"])
    width = float(settings.get("binWidth", PYRADIOMICS_BIN_WIDTH))
    lower = low - (low % width)  # floor modulo, as numpy's: the first edge at or below ``low``
    levels = (high - lower) / width  # may be inf for a tiny width: compared, never rounded to int
    return math.floor(levels) + 1.0 if math.isfinite(levels) else math.inf


def check_grey_levels(image: sitk.Image, mask: sitk.Image, settings: Mapping[str, Any], *, case_id: str | None,
                      region: str, image_type: str) -> None:
    """Refuse a region whose intensities, binned as the preset says, exceed ``MAX_GREY_LEVELS``."""
    values = sitk.GetArrayViewFromImage(image)[sitk.GetArrayViewFromImage(mask) > 0]
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError(f"region {region}: the {image_type} image holds NaN or infinite intensities",
                         case=case_id, value=f"range {low:g} .. {high:g}")
    levels = grey_levels(low, high, settings)
    if levels > MAX_GREY_LEVELS:
        how = (f"binCount {settings['binCount']}" if settings.get("binCount") is not None
               else f"binWidth {settings.get('binWidth', PYRADIOMICS_BIN_WIDTH):g}")
        raise InputError(f"region {region}: the {image_type} intensities {low:.6g} .. {high:.6g} with the preset's "
                         f"{how} give {levels:.3g} grey levels, over the limit of {MAX_GREY_LEVELS}; use a wider "
                         "binWidth or a smaller binCount", case=case_id, value=how)


def check_resampled_size(image: sitk.Image, boxes: Iterable[Box], spacing: tuple[float, ...], pad: int,
                         *, case_id: str | None) -> None:
    """Refuse a ``resampledPixelSpacing`` that would resample the regions onto too many voxels.

    PyRadiomics' ``resampleImage`` resamples the regions' bounding box plus
    ``pad`` new voxels on each side; this is its size, before it is allocated.
    """
    boxes = list(boxes)
    lower = np.min([b.lower for b in boxes], axis=0)
    upper = np.max([b.upper for b in boxes], axis=0)
    extent_mm = (upper - lower + 1) * np.asarray(image.GetSpacing(), dtype=float)
    size = np.ceil(extent_mm / np.asarray(spacing, dtype=float)) + 2 * pad
    voxels = math.prod(float(n) for n in size)
    if voxels > MAX_RESAMPLED_VOXELS:
        raise InputError(f"resampledPixelSpacing {_fmt(spacing)} mm would resample the regions onto {voxels:.3g} "
                         f"voxels, over the limit of {MAX_RESAMPLED_VOXELS:.3g}; use a coarser spacing",
                         case=case_id, value=_fmt(spacing))


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"
