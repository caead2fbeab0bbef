"""The feature names a preset produces, known before any image is read.

Names follow PyRadiomics: ``<image>_<class>_<feature>``, e.g.
``wavelet-LLH_glrlm_LongRunEmphasis``; shape features only for the original
image. The image names mirror those the ``imageoperations.get*Image``
generators yield, so that a region without features can still be given a
full row of NaN, and so that ``tmeradiomics presets`` can count features.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from radiomics import getFeatureClasses

from .presets import Preset, extraction_settings

SHAPE_CLASSES = ("shape", "shape2D")


def image_names(image_type: str, kwargs: Mapping[str, Any], ndim: int = 3) -> list[str]:
    """Names of the images one enabled image type yields."""
    simple = {
        "Original": "original", "Square": "square", "SquareRoot": "squareroot",
        "Logarithm": "logarithm", "Exponential": "exponential", "Gradient": "gradient",
        "LBP2D": "lbp-2D",
    }
    if image_type in simple:
        return [simple[image_type]]
    if image_type == "LoG":
        return [f"log-sigma-{str(s).replace('.', '-')}-mm-3D" for s in kwargs.get("sigma", []) if s > 0]
    if image_type == "Wavelet":
        return _wavelet_names(kwargs, ndim)
    if image_type == "LBP3D":
        levels = int(kwargs.get("lbp3DLevels", 2))
        return [f"lbp-3D-m{n}" for n in range(1, levels + 1)] + ["lbp-3D-k"]
    raise ValueError(f"unknown image type {image_type!r}")


def _wavelet_names(kwargs: Mapping[str, Any], ndim: int) -> list[str]:
    n_axes = ndim - (1 if kwargs.get("force2D", False) else 0)
    combos = [""]
    for _ in range(n_axes):
        combos = [c + band for c in combos for band in "LH"]
    details = [c for c in combos if c != "L" * n_axes]
    levels = int(kwargs.get("level", 1))
    names = []
    for idx in range(1, levels + 1):
        prefix = "wavelet" if idx == 1 else f"wavelet{idx}"
        names += [f"{prefix}-{c}" for c in details]
    approx_prefix = "wavelet" if levels == 1 else f"wavelet{levels}"
    return names + [f"{approx_prefix}-{'L' * n_axes}"]


@functools.lru_cache(maxsize=None)
def feature_table(class_name: str) -> tuple[tuple[str, bool], ...]:
    """(feature, deprecated) pairs of a PyRadiomics class, listed once per process.

    ``getFeatureNames`` walks the class with ``inspect.getmembers``, which
    costs about a millisecond; the answer depends on the class alone.
    """
    return tuple(getFeatureClasses()[class_name].getFeatureNames().items())


def class_feature_names(class_name: str, enabled: list[str] | None) -> list[str]:
    """Features a class computes: the listed ones, else all non-deprecated ones."""
    if enabled:
        return list(enabled)
    return [name for name, deprecated in feature_table(class_name) if not deprecated]


def shape_feature_names(preset: Preset) -> list[str]:
    settings = extraction_settings(preset)
    names = []
    for class_name, enabled in preset.feature_classes.items():
        if class_name == "shape" or (class_name == "shape2D" and settings.get("force2D", False)):
            names += [f"original_{class_name}_{f}" for f in class_feature_names(class_name, enabled)]
    return names


def feature_names(preset: Preset, ndim: int = 3) -> list[str]:
    """Every feature name the preset produces, in PyRadiomics' order."""
    settings = extraction_settings(preset)
    names = shape_feature_names(preset)
    for image_type, custom in preset.image_types.items():
        kwargs = {**settings, **(custom or {})}
        for image in image_names(image_type, kwargs, ndim):
            for class_name, enabled in preset.feature_classes.items():
                if class_name in SHAPE_CLASSES:
                    continue
                names += [f"{image}_{class_name}_{f}" for f in class_feature_names(class_name, enabled)]
    if preset.kinetics:
        from ..kinetics.features import feature_names as kinetic_names

        names += kinetic_names()
    return names


def count_by_image_type(preset: Preset) -> dict[str, int]:
    """Feature count per enabled image type (shape counted under Original)."""
    settings = extraction_settings(preset)
    per_image = sum(
        len(class_feature_names(c, e)) for c, e in preset.feature_classes.items() if c not in SHAPE_CLASSES
    )
    counts = {}
    for image_type, custom in preset.image_types.items():
        counts[image_type] = per_image * len(image_names(image_type, {**settings, **(custom or {})}))
    shape = len(shape_feature_names(preset))
    if shape:
        counts["shape"] = shape
    return counts
