"""``extract_case``: the features of every region of one case in one pass.

The work is PyRadiomics' own (mask checks, normalisation, resampling, the
``get*Image`` filter generators and the feature classes), arranged so that
each step that does not depend on the region runs once per case:

1. preprocess once (normalisation of the whole image);
2. check every region, then resample or crop once to the union of their
   bounding boxes, padded for the widest filter kernel (``crop.py``);
3. compute each filtered image once (``filters.py``);
4. run the feature classes per region on that image (``compute.py``).

``RadiomicsFeatureExtractor.execute()`` repeats steps 1-3 for each region on
the whole image. The results agree to rounding except where the crop
legitimately changes a filter (LoG; see ``docs/features.md``).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

import numpy as np
import radiomics
import SimpleITK as sitk

from .. import __version__
from ..errors import InputError
from .bounds import check_grey_levels
from .catalogue import SHAPE_CLASSES, feature_names, image_names
from .compute import Failure, shape_features, texture_features
from .filters import filtered_images
from .prepare import PreparedCase, RegionMask, prepare_case
from .presets import Preset, extraction_settings, load_preset
from .tables import CaseFeatures

logger = logging.getLogger(__name__)

GEOMETRY_TOLERANCE = 1e-4  # relative to the voxel spacing
NEEDS_SKIMAGE = frozenset({"LBP2D", "LBP3D"})
# progress(message, fraction): called before each region x image type; an exception it raises stops the case.
Progress = Callable[[str, float], None]


def extract_case(image: sitk.Image, regions: Any, preset: str | PathLike | Preset, *,
                 case_id: str = "case", allow_small_regions: bool = False,
                 progress: Progress | None = None, whole_image_extreme: float | None = None,
                 kinetics: Any = None) -> CaseFeatures:
    """Features of every region of one case.

    ``regions`` is a ``TMERadiomicsLib.regions.Regions`` (its ``masks``) or
    any mapping of region name to mask in the image's geometry; the preset's
    ``label`` selects the mask value. An empty region gets NaN features and a
    recorded reason. A region with voxels but too few for PyRadiomics (one
    voxel, too few dimensions, or vanished by resampling) is an ``InputError``
    naming it, unless ``allow_small_regions``: then it too gets NaN features.

    ``progress(message, fraction)`` is told each region x image type before
    it is computed ("Peritumoral: wavelet-LLH (23/39)") and 1.0 at the end.
    ``whole_image_extreme`` is for an ``image`` that is a crop of a larger
    one (``TMERadiomicsLib.worker.handover``): the signed intensity of
    largest magnitude of the whole image, from which the point-wise filters
    (Square, ...) take their scale, so that values equal the whole image's.
    ``kinetics``, a ``TMERadiomicsLib.kinetics.KineticSeries`` (every phase and its
    time, on the image's grid), adds the kinetic class of every region; a preset
    with ``kinetics: true`` needs it.
    """
    started = time.perf_counter()
    preset = load_preset(preset)
    settings = extraction_settings(preset)
    _check_image(image, case_id)
    _check_filters_available(preset, case_id)
    if preset.kinetics and kinetics is None:
        raise InputError(f"preset {preset.name} enables the kinetic features, which need every DCE phase and "
                         "its time", case=case_id, file=preset.path)
    masks = _region_masks(image, regions, int(settings.get("label", 1)), case_id)
    settings["label"] = 1  # masks are binarised above
    prepared = prepare_case(image, masks, preset.image_types, settings, extreme=whole_image_extreme,
                            case_id=case_id)
    if not allow_small_regions:
        _refuse_small_regions(prepared, masks, case_id)
    steps = _Steps(progress, [n for n in masks if n in prepared.regions],
                   [name for t, custom in preset.image_types.items()
                    for name in image_names(t, {**settings, **(custom or {})}, image.GetDimension())])
    values, failures = _compute(prepared, preset, settings, list(masks), steps, case_id)
    steps.finish()
    expected = feature_names(preset, image.GetDimension())
    kinetic = _add_kinetics(kinetics, regions, values, failures, case_id) if kinetics is not None else None
    if kinetic is not None:
        expected += [n for n in kinetic["names"] if n not in set(expected)]
    names = _ordered_names(expected, values)
    values = {region: {n: got.get(n, math.nan) for n in names} for region, got in values.items()}
    if not allow_small_regions:
        # A kinetic NaN (a region without an FTV voxel has no SER) is recorded as a failure, not refused.
        skipped = set(kinetic["names"]) if kinetic else set()
        texture = {region: {n: v for n, v in got.items() if n not in skipped} for region, got in values.items()}
        _refuse_nan_features(texture, masks, case_id)
    diagnostics = _diagnostics(preset, masks, prepared, time.perf_counter() - started)
    if kinetic is not None:
        diagnostics["kinetics"] = kinetic["diagnostics"]
    return CaseFeatures(case_id, preset.name, preset.sha256, names, values, failures, diagnostics)


def _add_kinetics(series: Any, regions: Any, values: dict, failures: list, case_id: str) -> dict:
    """The kinetic class of every region into ``values`` and ``failures``; its names and diagnostics."""
    from ..kinetics import feature_names as kinetic_names
    from ..kinetics import kinetic_features

    masks = dict(getattr(regions, "masks", regions))
    result = kinetic_features(series, {name: masks[name] for name in values}, case_id=case_id)
    for region, got in result.values.items():
        values[region].update(got)
    failures += [Failure(region, "original", "kinetics", reason) for region, reason in result.failures.items()]
    return {"names": kinetic_names(), "diagnostics": {**result.diagnostics, "times_source": series.source}}


def _check_image(image: Any, case_id: str) -> None:
    if not isinstance(image, sitk.Image):
        raise InputError("image must be a SimpleITK image", case=case_id, value=type(image).__name__)
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("image must be a 3-D scalar image", case=case_id,
                         value=f"{image.GetDimension()}-D, {image.GetNumberOfComponentsPerPixel()} components")


def _check_filters_available(preset: Preset, case_id: str) -> None:
    # PyRadiomics silently yields no image for LBP without scikit-image; a
    # preset would then lose features without a word.
    for image_type in NEEDS_SKIMAGE & set(preset.image_types):
        if importlib.util.find_spec("skimage") is None:
            raise InputError(f"image type {image_type!r} needs the scikit-image package", case=case_id,
                             file=preset.path)


def _region_masks(image: sitk.Image, regions: Any, label: int, case_id: str) -> dict[str, RegionMask]:
    source = getattr(regions, "masks", regions)
    if not isinstance(source, Mapping) or not source:
        raise InputError("regions must be a Regions object or a non-empty mapping of name to mask", case=case_id)
    masks = {}
    for name, mask in source.items():
        if not isinstance(mask, sitk.Image):
            raise InputError(f"region {name!r} is not a SimpleITK image", case=case_id)
        _check_geometry(image, mask, str(name), case_id)
        masks[str(name)] = RegionMask.find(mask, label)
    return masks


def _check_geometry(image: sitk.Image, mask: sitk.Image, name: str, case_id: str) -> None:
    spacing = np.asarray(image.GetSpacing())
    same = (
        image.GetSize() == mask.GetSize()
        and np.allclose(mask.GetSpacing(), spacing, rtol=GEOMETRY_TOLERANCE, atol=0)
        and np.all(np.abs(np.subtract(mask.GetOrigin(), image.GetOrigin())) <= GEOMETRY_TOLERANCE * spacing)
        and np.allclose(mask.GetDirection(), image.GetDirection(), atol=GEOMETRY_TOLERANCE)
    )
    if not same:
        raise InputError(f"region {name!r} mask does not match the image geometry", case=case_id,
                         value=f"mask size {mask.GetSize()}, image size {image.GetSize()}")


class _Steps:
    """Progress per region x filtered image; the count is known before any filter runs."""

    def __init__(self, progress: Progress | None, regions: list[str], images: list[str]) -> None:
        self.progress, self.done = progress, 0
        self.total = max(1, len(regions) * len(images))

    def start(self, region: str, image: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(f"{region.capitalize()}: {image} ({self.done}/{self.total})", (self.done - 1) / self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress("Features computed", 1.0)


def _refuse_small_regions(prepared: PreparedCase, masks: Mapping[str, RegionMask], case_id: str) -> None:
    """A region with voxels that PyRadiomics refused is too small: say so instead of writing NaN."""
    for name, reason in prepared.failures.items():
        voxels = masks[name].voxels
        if voxels > 0:
            raise InputError(f"region {name} has {voxels} voxel{'s' if voxels != 1 else ''}, too few for its "
                             f"features ({reason.rstrip('.!')}); allow NaN features for it with "
                             "--allow-small-regions", case=case_id, value=voxels)


def _refuse_nan_features(values: Mapping[str, Mapping[str, float]], masks: Mapping[str, RegionMask],
                         case_id: str) -> None:
    """A region with voxels whose features came out NaN (two voxels: no robust deviation) is refused."""
    for name, got in values.items():
        missing = [feature for feature, value in got.items() if math.isnan(value)]
        voxels = masks[name].voxels
        if missing and voxels > 0:
            raise InputError(f"region {name} ({voxels} voxels) gives NaN for {len(missing)} feature(s), first "
                             f"{missing[0]}, as PyRadiomics does for regions this small; allow NaN features "
                             "for it with --allow-small-regions", case=case_id, value=voxels)


def _compute(prepared: PreparedCase, preset: Preset, settings: dict[str, Any], region_names: list[str],
             steps: _Steps, case_id: str) -> tuple[dict[str, dict[str, float]], list[Failure]]:
    values: dict[str, dict[str, float]] = {name: {} for name in region_names}
    failures = [Failure(name, "*", "*", reason) for name, reason in prepared.failures.items()]
    if not prepared.regions:
        return values, failures
    enabled = preset.feature_classes
    textured = any(class_name not in SHAPE_CLASSES for class_name in enabled)
    for name, region in prepared.regions.items():
        got, failed = shape_features(prepared, region, enabled, settings, name)
        values[name].update(got)
        failures += failed
    for filtered in filtered_images(prepared, preset.image_types, settings):
        for name, region in prepared.regions.items():
            steps.start(name, filtered.name)
            image, mask = filtered.region_input(name, region)
            if textured:
                check_grey_levels(image, mask, filtered.kwargs, case_id=case_id, region=name,
                                  image_type=filtered.name)
            got, failed = texture_features(image, mask, filtered.name, enabled, filtered.kwargs, name)
            values[name].update(got)
            failures += failed
    return values, failures


def _ordered_names(expected: list[str], values: Mapping[str, Mapping[str, float]]) -> list[str]:
    """The catalogue's names, plus any PyRadiomics produced that it did not foresee."""
    seen = set(expected)
    extra = [n for region in values.values() for n in region if n not in seen and not seen.add(n)]
    if extra:
        logger.warning("features not in the preset catalogue: %s", extra[:5])
    return expected + extra


def _diagnostics(preset: Preset, masks: Mapping[str, RegionMask], prepared: PreparedCase,
                 seconds: float) -> dict[str, Any]:
    voxels = {name: m.voxels for name, m in masks.items()}
    return {
        "versions": {"tmeradiomics": __version__, "pyradiomics": radiomics.__version__,
                     "SimpleITK": sitk.Version_VersionString(), "numpy": np.__version__},
        "preset": preset.name,
        "preset_sha256": preset.sha256,
        "preset_path": str(preset.path),
        "voxels": voxels,
        "voxels_on_grid": {name: r.voxels for name, r in prepared.regions.items()},
        "failed_regions": dict(prepared.failures),
        "seconds": round(seconds, 3),
        **prepared.diagnostics,
    }
