"""``features.first_order`` against PyRadiomics' own ``RadiomicsFirstOrder``.

The first-order formulas are computed again in one pass (first_order.py);
every value must be PyRadiomics' within 1e-10 relative (issue 23's rule for
a re-implemented formula), feature by feature, on the shared cases, on
random masks and images (any density, negative values, ties, flat and
one-voxel regions), with the settings that change the formulas
(``voxelArrayShift``, ``binCount``) and with a subset of features enabled.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import getFeatureClasses

from TMERadiomicsLib.features.compute import feature_class_of

RELATIVE = 1e-10
EVERY_FEATURE = sorted(getFeatureClasses()["firstorder"].getFeatureNames())  # StandardDeviation included


def _values(feature_class, image: sitk.Image, mask: sitk.Image, settings: dict, names) -> dict[str, float]:
    instance = feature_class(image, mask, **settings)
    for name in names:
        instance.enableFeatureByName(name)
    return {name: float(value) for name, value in instance.execute().items()}


def _assert_same(image: sitk.Image, mask: sitk.Image, where: str, names=EVERY_FEATURE, **settings) -> dict:
    settings = {"binWidth": 25, "label": 1, **settings}
    want = _values(getFeatureClasses()["firstorder"], image, mask, settings, names)
    got = _values(feature_class_of("firstorder"), image, mask, settings, names)
    assert set(got) == set(want) == set(names), where
    for name, value in want.items():
        mine = got[name]
        if math.isnan(value):
            assert math.isnan(mine), f"{where}: {name} {mine!r}, PyRadiomics NaN"
            continue
        assert abs(mine - value) <= RELATIVE * abs(value), f"{where}: {name} {mine!r} != PyRadiomics {value!r}"
    return got


def _image(array: np.ndarray, spacing=(0.8, 0.8, 1.5)) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    return image


def _random_cases(seed: int, count: int):
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
        mask = _image(inside.astype(np.uint8), tuple(rng.uniform(0.4, 3.0, 3)))
        yield _image(array, mask.GetSpacing()), mask, f"random case {trial} ({kind}), shape {shape}"


def test_first_order_equals_pyradiomics_on_random_cases():
    for image, mask, where in _random_cases(seed=5, count=48):
        _assert_same(image, mask, where)


def test_first_order_equals_pyradiomics_with_a_shift_and_a_bin_count():
    for image, mask, where in _random_cases(seed=11, count=12):
        _assert_same(image, mask, f"{where}, shift 300", voxelArrayShift=300)
        _assert_same(image, mask, f"{where}, binCount 16", binCount=16)


def test_flat_and_one_voxel_regions_give_pyradiomics_conventions():
    flat = _image(np.full((4, 5, 6), 42.0))
    mask_array = np.zeros((4, 5, 6), dtype=np.uint8)
    mask_array[1:3, 1:4, 2:5] = 1
    got = _assert_same(flat, _image(mask_array), "flat region")
    assert got["Skewness"] == 0.0 and got["Kurtosis"] == 0.0 and got["Variance"] == 0.0  # not NaN
    one = np.zeros((4, 5, 6), dtype=np.uint8)
    one[2, 2, 3] = 1
    noise = np.random.default_rng(2).normal(100.0, 30.0, (4, 5, 6))
    got = _assert_same(_image(noise), _image(one), "one voxel")
    assert got["Median"] == got["Mean"] == pytest.approx(noise[2, 2, 3], rel=1e-15)
    one[2, 3, 3] = 1  # two voxels: none lies within [p10, p90], so the robust MAD is NaN, as PyRadiomics' is
    settings = {"binWidth": 25, "label": 1}
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):  # PyRadiomics' nanmean of nothing; ours is quiet
        want = _values(getFeatureClasses()["firstorder"], _image(noise), _image(one), settings, EVERY_FEATURE)
    got = _values(feature_class_of("firstorder"), _image(noise), _image(one), settings, EVERY_FEATURE)
    assert math.isnan(want["RobustMeanAbsoluteDeviation"]) and math.isnan(got["RobustMeanAbsoluteDeviation"])
    # Two voxels have skewness 0, which both compute only to rounding (about 1e-15): no relative comparison.
    assert abs(got["Skewness"]) < 1e-12 and abs(want["Skewness"]) < 1e-12
    for name in ("Mean", "Variance", "Kurtosis", "Median", "Energy"):
        assert got[name] == pytest.approx(want[name], rel=RELATIVE), name


def test_a_subset_of_features_gives_only_those():
    image, mask, where = next(_random_cases(seed=3, count=1))
    got = _assert_same(image, mask, f"{where}, subset", names=["Kurtosis", "10Percentile", "Uniformity"])
    assert sorted(got) == ["10Percentile", "Kurtosis", "Uniformity"]


@pytest.mark.parametrize("case", ["breast1", "brain1", "lung1"])
def test_first_order_equals_pyradiomics_on_the_shared_cases(pyradiomics_data, case):
    image = sitk.ReadImage(str(pyradiomics_data / f"{case}_image.nrrd"))
    mask = sitk.ReadImage(str(pyradiomics_data / f"{case}_label.nrrd"))
    got = _assert_same(image, mask, case)
    assert got["Maximum"] > got["90Percentile"] > got["Median"] > got["10Percentile"] > got["Minimum"]
