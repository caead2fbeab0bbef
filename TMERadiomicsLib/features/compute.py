"""Feature classes of one region on one image, as ``RadiomicsFeatureExtractor`` runs them.

A class that raises for a region (too few voxels or grey levels for its
matrix) gives NaN for each of its features and a recorded reason, instead of
ending the whole case.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import SimpleITK as sitk
from radiomics import getFeatureClasses, imageoperations
from radiomics.base import RadiomicsFeaturesBase

from .catalogue import SHAPE_CLASSES, class_feature_names, feature_table
from .first_order import calculate_first_order
from .glcm_fast import calculate_glcm_coefficients, glcm_cluster_prominence, glcm_cluster_shade, glcm_mcc
from .mesh import shape_segment_init
from .prepare import PreparedCase, PreparedRegion

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why some features of a region are NaN."""

    region: str
    image: str
    feature_class: str
    reason: str


def shape_features(prepared: PreparedCase, region: PreparedRegion, enabled: Mapping[str, list[str] | None],
                   settings: Mapping[str, Any], region_name: str) -> tuple[dict[str, float], list[Failure]]:
    """``computeShape``: shape classes on the region's box, no padding."""
    image, mask = imageoperations.cropToTumorMask(prepared.image, region.shape_mask, region.shape_box.as_radiomics())
    values, failures = {}, []
    for class_name in _shape_classes(enabled, settings, region, image.GetDimension()):
        got, failure = _run_class(class_name, enabled[class_name], image, mask, settings, "original", region_name)
        values.update(got)
        failures += [failure] if failure else []
    return values, failures


def _shape_classes(enabled, settings, region: PreparedRegion, ndim: int) -> list[str]:
    classes = []
    if "shape" in enabled and ndim == 3:
        classes.append("shape")
    if "shape2D" in enabled and settings.get("force2D", False):
        dimension = int(settings.get("force2Ddimension", 0))
        if region.shape_box.size[dimension] > 1:
            logger.warning("shape2D needs a region one voxel thick along axis %d", dimension)
        else:
            classes.append("shape2D")
    return classes


def texture_features(image: sitk.Image, mask: sitk.Image, image_name: str, enabled: Mapping[str, list[str] | None],
                     kwargs: Mapping[str, Any], region_name: str) -> tuple[dict[str, float], list[Failure]]:
    """``computeFeatures``: every enabled non-shape class on one cropped image."""
    values, failures = {}, []
    _binned.value = _SHARING  # the classes below share one discretisation of this image and mask
    try:
        for class_name, names in enabled.items():
            if class_name in SHAPE_CLASSES:
                continue
            got, failure = _run_class(class_name, names, image, mask, kwargs, image_name, region_name)
            values.update(got)
            failures += [failure] if failure else []
    finally:
        _binned.value = None
    return values, failures


# The discretised image of the (image, mask, settings) that ``texture_features``
# is working on, with its grey levels; per thread, so concurrent cases cannot mix.
# None outside ``texture_features``: a class made on its own bins its own input.
_binned = threading.local()
_SHARING = object()  # inside ``texture_features``, nothing binned yet


def _shared_binning(self: RadiomicsFeaturesBase, matrix):
    """``_applyBinning``, computed by the first texture class of an image and region and reused by the rest.

    Every texture class (firstorder, GLCM, GLRLM, GLSZM, GLDM, NGTDM) bins
    the same voxels with the same settings; PyRadiomics repeats it in each.
    Each class gets its own copy, as it would from its own binning.
    """
    cached = getattr(_binned, "value", None)
    if cached is None:
        return RadiomicsFeaturesBase._applyBinning(self, matrix)
    if cached is _SHARING:
        binned = RadiomicsFeaturesBase._applyBinning(self, matrix)
        _binned.value = (binned.copy(), self.coefficients["grayLevels"].copy(), self.coefficients["Ng"])
        return binned
    binned, grey_levels, levels = cached
    self.coefficients["grayLevels"] = grey_levels.copy()
    self.coefficients["Ng"] = levels
    return binned.copy()


@functools.lru_cache(maxsize=None)
def feature_class_of(class_name: str) -> type:
    """PyRadiomics' feature class, with its table of feature names built once and its binning shared.

    ``RadiomicsFeaturesBase.__init__`` lists the class's methods with
    ``inspect.getmembers`` for every instance, and a qian2024 case makes 237
    instances: a tenth of the case's time for a table that depends on the
    class alone. Binning is shared between the classes of one image and
    region (``_shared_binning``); the shape class takes its mesh's area,
    volume and diameters from ``mesh.py``; first order computes all its
    features in one pass (``first_order.py``). The subclass changes nothing
    else (same module, so the same ``radiomics.<class>`` logger; same feature
    methods).
    """
    base = getFeatureClasses()[class_name]
    names = dict(feature_table(class_name))
    members = {"__module__": base.__module__, "__doc__": base.__doc__,
               "getFeatureNames": classmethod(lambda cls: dict(names))}
    if class_name not in SHAPE_CLASSES:
        members["_applyBinning"] = _shared_binning
    if class_name == "shape":  # the mesh's diameters without comparing every pair of vertices (mesh.py)
        members["_initSegmentBasedCalculation"] = shape_segment_init
    if class_name == "firstorder":  # every feature from one pass over the voxels (first_order.py)
        members["_calculateFeatures"] = calculate_first_order
    if class_name == "glcm":  # p_{x+y}, p_{x-y} and MCC's Q without per-grey-level loops (glcm_fast.py)
        members["_calculateCoefficients"] = calculate_glcm_coefficients
        members["getMCCFeatureValue"] = glcm_mcc
        members["getClusterProminenceFeatureValue"] = glcm_cluster_prominence
        members["getClusterShadeFeatureValue"] = glcm_cluster_shade
    return type(base.__name__, (base,), members)


def _run_class(class_name: str, names: list[str] | None, image: sitk.Image, mask: sitk.Image,
               kwargs: Mapping[str, Any], image_name: str, region_name: str) -> tuple[dict[str, float], Failure | None]:
    prefix = f"{image_name}_{class_name}_"
    try:
        feature_class = feature_class_of(class_name)(image, mask, **kwargs)
        for name in names or []:
            feature_class.enableFeatureByName(name)
        computed = feature_class.execute()
    except Exception as error:  # PyRadiomics raises plain ValueError/IndexError for degenerate input
        reason = f"{type(error).__name__}: {error}"
        logger.warning("region %s, %s %s: NaN: %s", region_name, image_name, class_name, reason)
        nan = {prefix + n: math.nan for n in class_feature_names(class_name, names)}
        return nan, Failure(region_name, image_name, class_name, reason)
    return {prefix + n: float(v) for n, v in computed.items()}, None
