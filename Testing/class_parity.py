"""A feature class of ours (``features.compute.feature_class_of``) against PyRadiomics' own, value by value.

Issue 23's rule for a re-implemented formula: every value within 1e-10
relative of PyRadiomics', NaN where PyRadiomics gives NaN. Also the random
images and masks the parity tests share.
"""

from __future__ import annotations

import math

import numpy as np
import SimpleITK as sitk
from radiomics import getFeatureClasses

from TMERadiomicsLib.features.compute import feature_class_of

RELATIVE = 1e-10


def class_values(feature_class, image: sitk.Image, mask: sitk.Image, settings: dict, names) -> dict[str, float]:
    instance = feature_class(image, mask, **settings)
    for name in names:
        instance.enableFeatureByName(name)
    return {name: float(value) for name, value in instance.execute().items()}


def assert_same_as_pyradiomics(class_name: str, image: sitk.Image, mask: sitk.Image, where: str, names,
                               **settings) -> dict:
    """Our class's values of ``names``, after checking each against PyRadiomics' class (binWidth 25 unless given)."""
    settings = {"binWidth": 25, "label": 1, **settings}
    want = class_values(getFeatureClasses()[class_name], image, mask, settings, names)
    got = class_values(feature_class_of(class_name), image, mask, settings, names)
    assert set(got) == set(want), where
    for name, value in want.items():
        mine = got[name]
        if math.isnan(value):
            assert math.isnan(mine), f"{where}: {name} {mine!r}, PyRadiomics NaN"
            continue
        assert abs(mine - value) <= RELATIVE * abs(value), f"{where}: {name} {mine!r} != PyRadiomics {value!r}"
    return got


def image_of(array: np.ndarray, spacing=(0.8, 0.8, 1.5)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def random_cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for trial in range(count):
        shape = tuple(int(n) for n in rng.integers(2, 14, 3))
        kind = trial % 4
        if kind == 0:  # continuous intensities, negative too (a z-scored image)
            array = rng.normal(0.0, rng.uniform(0.5, 400.0), shape)
        elif kind == 1:  # integer grey values: many ties at the percentiles
            array = rng.integers(-50, 60, shape).astype(np.int16)
        elif kind == 2:  # a skewed, filtered-looking image
            array = np.exp(rng.normal(0.0, 1.0, shape)) * 100.0
        else:  # few distinct values
            array = rng.choice([3.0, 7.5, 100.0], shape)
        inside = rng.random(shape) < rng.uniform(0.05, 0.9)
        inside.flat[rng.integers(inside.size)] = True  # at least one voxel
        mask = image_of(inside.astype(np.uint8), tuple(rng.uniform(0.4, 3.0, 3)))
        yield image_of(array, mask.GetSpacing()), mask, f"random case {trial} ({kind}), shape {shape}"
