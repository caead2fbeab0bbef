"""Each filtered image of a case, computed once with PyRadiomics' own generators.

Neighbourhood filters (LoG, Wavelet, Gradient, LBP) run once on the padded
union crop. The point-wise filters (Square, SquareRoot, Logarithm,
Exponential) rescale by the maximum absolute intensity of the image they are
given, so they must see the image PyRadiomics gives them: the whole
preprocessed image (one run, then cropped), or, when PyRadiomics itself
works on a per-region window (resampling or ``preCrop``), that window (one
cheap run per region). Original needs neither.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import SimpleITK as sitk
from radiomics import imageoperations

from .crop import Box, crop
from .prepare import PreparedCase, PreparedRegion

logger = logging.getLogger(__name__)

SCALED_POINTWISE = frozenset({"Square", "SquareRoot", "Logarithm", "Exponential"})


@dataclass
class FilteredImage:
    """One filtered image: shared by all regions, or one per region window."""

    name: str
    kwargs: dict[str, Any]
    shared: sitk.Image | None = None  # on the prepared grid
    windows: dict[str, tuple[sitk.Image, Box]] = field(default_factory=dict)

    def region_input(self, region_name: str, region: PreparedRegion) -> tuple[sitk.Image, sitk.Image]:
        """Image and mask cropped to the region's bounding box, as ``execute`` crops them."""
        if self.shared is not None:
            image, mask, box = self.shared, region.mask, region.box
        else:
            image, window = self.windows[region_name]
            mask, box = crop(region.mask, window), region.box.shifted(window.lower)
        return imageoperations.cropToTumorMask(image, mask, box.as_radiomics())


def filtered_images(prepared: PreparedCase, image_types: Mapping[str, Mapping[str, Any]],
                    settings: Mapping[str, Any]) -> Iterator[FilteredImage]:
    """Yield every filtered image in the preset's order, one at a time."""
    for image_type, custom in image_types.items():
        kwargs = {**settings, **(custom or {})}
        if image_type in SCALED_POINTWISE:
            yield from _scaled_pointwise(prepared, image_type, kwargs)
        else:
            yield from _on_crop(prepared, image_type, kwargs)


def _generator(image_type: str):
    return getattr(imageoperations, f"get{image_type}Image")


def _on_crop(prepared: PreparedCase, image_type: str, kwargs: dict[str, Any]) -> Iterator[FilteredImage]:
    # The union mask is unused by these generators except for LBP3D's
    # argument list; pass the first region's mask on the same grid.
    any_mask = next(iter(prepared.regions.values())).mask
    for image, name, image_kwargs in _generator(image_type)(prepared.image, any_mask, **kwargs):
        logger.debug("filtered %s once on grid %s", name, prepared.image.GetSize())
        yield FilteredImage(name, image_kwargs, shared=image)


def _scaled_pointwise(prepared: PreparedCase, image_type: str, kwargs: dict[str, Any]) -> Iterator[FilteredImage]:
    if prepared.full_image is not None:
        any_mask = next(iter(prepared.regions.values())).mask
        for image, name, image_kwargs in _generator(image_type)(prepared.full_image, any_mask, **kwargs):
            yield FilteredImage(name, image_kwargs, shared=crop(image, prepared.crop_box))
        return
    windows: dict[str, tuple[sitk.Image, Box]] = {}
    name, image_kwargs = None, kwargs
    for region_name, region in prepared.regions.items():
        window = region.scale_box or _whole(prepared.image)
        source = crop(prepared.image, window)
        for image, name, image_kwargs in _generator(image_type)(source, crop(region.mask, window), **kwargs):
            windows[region_name] = (image, window)
    if name is not None:
        yield FilteredImage(name, image_kwargs, windows=windows)


def _whole(image: sitk.Image) -> Box:
    return Box(tuple(0 for _ in image.GetSize()), tuple(s - 1 for s in image.GetSize()))
