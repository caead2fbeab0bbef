"""The one crop of a case: union bounding box of its regions, padded for the filters.

Padding rule (per axis, in voxels of the image that is filtered):

- Original and the point-wise filters (Square, SquareRoot, Logarithm,
  Exponential) need no neighbours: 0. Their global scale factor is handled
  apart (``filters.py``), not by padding.
- Gradient: 1 (central differences).
- LBP2D / LBP3D: ``ceil(radius) + 1`` (bilinear sampling on a circle/sphere).
- Wavelet: PyRadiomics applies ``start_level + level`` undilated one-level
  stationary transforms in a row, each reaching ``L - 1`` voxels for a filter
  of length ``L`` (coif1: 6), plus 1 for the wrap-padding it adds to odd
  sizes: ``(L - 1) * (start_level + level) + 1``. Values inside the regions are
  then identical to a whole-image transform.
- LoG: ``ceil(LOG_PAD_SIGMAS * sigma_max / spacing)``. The recursive
  Gaussian has unbounded support, so LoG values near the crop edge change
  slightly; ``docs/features.md`` gives the measured size of the change.

If a padded box would reach past the image on either side of an axis, the
crop takes that whole axis: the wavelet transform wraps around the image and
the recursive filters extend its edge, so only the real image edge gives the
same values as filtering the whole image.

The crop is padded for the widest filter; ``filters.py`` then runs each
filter (each LoG sigma) on the part of the crop padded for it alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pywt
import SimpleITK as sitk

# Padding for LoG in units of sigma. The crop edge perturbs the recursive
# Gaussian by an amount that falls with the distance; a perturbed voxel that
# crosses a bin edge moves a texture feature by far more than the perturbation.
# At 5 sigma, 9 of the 4 cm phantom's voxels crossed one (GLSZM up to 17 %); at 7
# sigma none did, and every LoG feature stayed within 1.5e-4 of the whole image's
# (docs/features.md, "LoG and the crop").
LOG_PAD_SIGMAS = 7.0

POINTWISE_TYPES = frozenset({"Original", "Square", "SquareRoot", "Logarithm", "Exponential"})
# Point-wise filters that scale by the largest absolute intensity of the image they get.
SCALED_POINTWISE = frozenset({"Square", "SquareRoot", "Logarithm", "Exponential"})


@dataclass(frozen=True)
class Box:
    """An index box ``[lower, upper]`` (inclusive) in (x, y, z) order."""

    lower: tuple[int, ...]
    upper: tuple[int, ...]

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(u - l + 1 for l, u in zip(self.lower, self.upper))

    def as_radiomics(self) -> np.ndarray:
        """PyRadiomics' bounding-box layout (L_x, U_x, L_y, U_y, L_z, U_z)."""
        out = np.empty(2 * len(self.lower), dtype=int)
        out[0::2] = self.lower
        out[1::2] = self.upper
        return out

    def slices(self) -> tuple[slice, ...]:
        """numpy (z, y, x) slices of the box."""
        return tuple(slice(l, u + 1) for l, u in zip(self.lower[::-1], self.upper[::-1]))

    def shifted(self, origin: Iterable[int]) -> Box:
        """The same box in the index space of a crop starting at ``origin``."""
        origin = tuple(origin)
        return Box(
            tuple(l - o for l, o in zip(self.lower, origin)),
            tuple(u - o for u, o in zip(self.upper, origin)),
        )


def box_from_radiomics(bounding_box: np.ndarray) -> Box:
    return Box(tuple(int(v) for v in bounding_box[0::2]), tuple(int(v) for v in bounding_box[1::2]))


def union_box(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    lower = tuple(min(b.lower[i] for b in boxes) for i in range(len(boxes[0].lower)))
    upper = tuple(max(b.upper[i] for b in boxes) for i in range(len(boxes[0].upper)))
    return Box(lower, upper)


def kernel_reach(image_types: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any],
                 spacing: Iterable[float]) -> tuple[int, ...]:
    """Padding per axis (voxels) that the enabled filters need around a region."""
    spacing = tuple(float(s) for s in spacing)
    reach = [0] * len(spacing)
    for image_type, custom in image_types.items():
        kwargs = {**settings, **(custom or {})}
        per_axis = _type_reach(image_type, kwargs, spacing)
        reach = [max(r, p) for r, p in zip(reach, per_axis)]
    return tuple(reach)


def _type_reach(image_type: str, kwargs: Mapping[str, Any], spacing: tuple[float, ...]) -> list[int]:
    n = len(spacing)
    if image_type in POINTWISE_TYPES:
        return [0] * n
    if image_type == "Gradient":
        return [1] * n
    if image_type == "LBP2D":
        return [math.ceil(float(kwargs.get("lbp2DRadius", 1))) + 1] * n
    if image_type == "LBP3D":
        return [math.ceil(float(kwargs.get("lbp3DIcosphereRadius", 1))) + 1] * n
    if image_type == "Wavelet":
        wavelet = pywt.Wavelet(kwargs.get("wavelet", "coif1"))
        levels = int(kwargs.get("start_level", 0)) + int(kwargs.get("level", 1))
        if kwargs.get("ibsi2"):  # opt-in IBSI-2 wavelets dilate level j's filters by 2^(j-1)
            return [(wavelet.dec_len - 1) * (2**levels - 1) + 1] * n
        return [(wavelet.dec_len - 1) * levels + 1] * n
    if image_type == "LoG":
        sigmas = [float(s) for s in kwargs.get("sigma", [])] or [0.0]
        return [math.ceil(LOG_PAD_SIGMAS * max(sigmas) / s) for s in spacing]
    raise ValueError(f"no padding rule for image type {image_type!r}")


def padded_box(box: Box, pad: Iterable[int], size: Iterable[int]) -> Box:
    """``box`` grown by ``pad``; an axis that would leave the image is taken whole."""
    lower, upper = [], []
    for lo, hi, p, n in zip(box.lower, box.upper, pad, size):
        if lo - p < 0 or hi + p > n - 1:
            lower.append(0)
            upper.append(n - 1)
        else:
            lower.append(lo - p)
            upper.append(hi + p)
    return Box(tuple(lower), tuple(upper))


def crop(image: sitk.Image, box: Box) -> sitk.Image:
    """The sub-image covering ``box`` (geometry kept: origin moves, spacing stays)."""
    return sitk.RegionOfInterest(image, [int(s) for s in box.size], [int(l) for l in box.lower])
