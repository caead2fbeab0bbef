"""Each filtered image of a case, computed once with PyRadiomics' own generators.

Neighbourhood filters (LoG, Wavelet, Gradient, LBP) run once on the padded
union crop. The point-wise filters (Square, SquareRoot, Logarithm,
Exponential) map each voxel through a function of that voxel and of the
largest absolute intensity M of the image they are given, so they must see
the M PyRadiomics' image has:

- whole image (no resampling): the generator runs once on the crop with one
  extra slice holding the whole image's extreme intensity, which the output
  then drops; the crop's voxels come out exactly as from the whole image,
  without a float64 copy of the whole field of view;
- per-region window (resampling or ``preCrop``, where PyRadiomics itself
  filters only the region's window): once per region on that window.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import SimpleITK as sitk
from radiomics import imageoperations

from . import ibsi2_filters
from .crop import SCALED_POINTWISE, Box, crop, kernel_reach, padded_box, union_box
from .prepare import PreparedCase, PreparedRegion

logger = logging.getLogger(__name__)

# PyRadiomics hands scikit-image float images for LBP by design (its
# documented behaviour); the warning says nothing a user can act on and would
# reach a library user's stderr once per process.
warnings.filterwarnings("ignore", message="Applying `local_binary_pattern` to floating-point images",
                        category=UserWarning)


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


def _generator(image_type: str, kwargs: Mapping[str, Any] | None = None):
    if kwargs and ibsi2_filters.enabled(dict(kwargs)) and image_type in ("LoG", "Wavelet"):
        return getattr(ibsi2_filters, f"get{image_type}Image")  # opt-in (docs/ibsi.md, "IBSI 2")
    return getattr(imageoperations, f"get{image_type}Image")


def _on_crop(prepared: PreparedCase, image_type: str, kwargs: dict[str, Any]) -> Iterator[FilteredImage]:
    # The union mask is unused by these generators except for LBP3D's
    # argument list; pass the first region's mask on the same grid.
    any_mask = next(iter(prepared.regions.values())).mask
    for part in _parts(image_type, kwargs):
        window = _own_window(prepared, image_type, part)
        if window is None:
            for image, name, image_kwargs in _generator(image_type, part)(prepared.image, any_mask, **part):
                logger.debug("filtered %s once on grid %s", name, prepared.image.GetSize())
                yield FilteredImage(name, image_kwargs, shared=image)
            continue
        source = crop(prepared.image, window)
        for image, name, image_kwargs in _generator(image_type, part)(source, crop(any_mask, window), **part):
            logger.debug("filtered %s once on its own window %s", name, window.size)
            yield FilteredImage(name, image_kwargs, windows={r: (image, window) for r in prepared.regions})


def _parts(image_type: str, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """One call of the generator per LoG sigma, so that each is padded for its own sigma; else one."""
    if image_type == "LoG" and not ibsi2_filters.enabled(kwargs) and len(kwargs.get("sigma") or []) > 1:
        return [{**kwargs, "sigma": [sigma]} for sigma in kwargs["sigma"]]
    return [kwargs]


def _own_window(prepared: PreparedCase, image_type: str, kwargs: dict[str, Any]) -> Box | None:
    """The part of the crop this filter needs: the regions' union box padded for this filter alone.

    The crop is padded for the widest filter of the preset (LoG at its largest
    sigma); a filter that reaches less gives the same values inside the
    regions on less: exactly so for the finite kernels, within the LoG bound
    for LoG, whose padding scales with its own sigma. An axis this padding
    would take past the crop is one the crop took whole, because it reached
    the image's edge (a smaller reach stays inside a larger one's box), so
    ``padded_box`` takes it whole here too, as the wrap-around and edge
    extension of the filters need. None when the window is the whole crop,
    or when the crop is not the plain padded union (resampled, ``preCrop``,
    the opt-in IBSI-2 filters).
    """
    if prepared.crop_box is None or prepared.pre_crop or ibsi2_filters.enabled(kwargs):
        return None
    size = prepared.image.GetSize()
    reach = kernel_reach({image_type: kwargs}, {}, prepared.image.GetSpacing())
    window = padded_box(union_box(r.box for r in prepared.regions.values()), reach, size)
    return None if window == _whole(prepared.image) else window


def _scaled_pointwise(prepared: PreparedCase, image_type: str, kwargs: dict[str, Any]) -> Iterator[FilteredImage]:
    if prepared.extreme is not None:
        source = _with_extreme_slice(prepared.image, prepared.extreme)
        for image, name, image_kwargs in _generator(image_type)(source, source, **kwargs):
            yield FilteredImage(name, image_kwargs, shared=_without_extreme_slice(image, prepared.image))
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


def _with_extreme_slice(image: sitk.Image, extreme: float) -> sitk.Image:
    array = sitk.GetArrayViewFromImage(image)
    extra = np.full((1, *array.shape[1:]), extreme, dtype=array.dtype)
    extended = sitk.GetImageFromArray(np.concatenate([array, extra], axis=0))
    extended.SetSpacing(image.GetSpacing())
    extended.SetOrigin(image.GetOrigin())
    extended.SetDirection(image.GetDirection())
    return extended


def _without_extreme_slice(filtered: sitk.Image, like: sitk.Image) -> sitk.Image:
    result = sitk.GetImageFromArray(sitk.GetArrayViewFromImage(filtered)[:-1])
    result.CopyInformation(like)
    return result


def _whole(image: sitk.Image) -> Box:
    return Box(tuple(0 for _ in image.GetSize()), tuple(s - 1 for s in image.GetSize()))
