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

from class_parity import RELATIVE, assert_same_as_pyradiomics, class_values, image_of, random_cases
from TMERadiomicsLib.features.compute import feature_class_of

EVERY_FEATURE = sorted(getFeatureClasses()["firstorder"].getFeatureNames())  # StandardDeviation included


def _assert_same(image: sitk.Image, mask: sitk.Image, where: str, names=EVERY_FEATURE, **settings) -> dict:
    got = assert_same_as_pyradiomics("firstorder", image, mask, where, names, **settings)
    assert set(got) == set(names), where
    return got


def test_first_order_equals_pyradiomics_on_random_cases():
    for image, mask, where in random_cases(seed=5, count=48):
        _assert_same(image, mask, where)


def test_first_order_equals_pyradiomics_with_a_shift_and_a_bin_count():
    for image, mask, where in random_cases(seed=11, count=12):
        _assert_same(image, mask, f"{where}, shift 300", voxelArrayShift=300)
        _assert_same(image, mask, f"{where}, binCount 16", binCount=16)


def test_flat_and_one_voxel_regions_give_pyradiomics_conventions():
    flat = image_of(np.full((4, 5, 6), 42.0))
    mask_array = np.zeros((4, 5, 6), dtype=np.uint8)
    mask_array[1:3, 1:4, 2:5] = 1
    got = _assert_same(flat, image_of(mask_array), "flat region")
    assert got["Skewness"] == 0.0 and got["Kurtosis"] == 0.0 and got["Variance"] == 0.0  # not NaN
    one = np.zeros((4, 5, 6), dtype=np.uint8)
    one[2, 2, 3] = 1
    noise = np.random.default_rng(2).normal(100.0, 30.0, (4, 5, 6))
    got = _assert_same(image_of(noise), image_of(one), "one voxel")
    assert got["Median"] == got["Mean"] == pytest.approx(noise[2, 2, 3], rel=1e-15)
    one[2, 3, 3] = 1  # two voxels: none lies within [p10, p90], so the robust MAD is NaN, as PyRadiomics' is
    settings = {"binWidth": 25, "label": 1}
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):  # PyRadiomics' nanmean of nothing; ours is quiet
        want = class_values(getFeatureClasses()["firstorder"], image_of(noise), image_of(one), settings, EVERY_FEATURE)
    got = class_values(feature_class_of("firstorder"), image_of(noise), image_of(one), settings, EVERY_FEATURE)
    assert math.isnan(want["RobustMeanAbsoluteDeviation"]) and math.isnan(got["RobustMeanAbsoluteDeviation"])
    # Two voxels have skewness 0, which both compute only to rounding (about 1e-15): no relative comparison.
    assert abs(got["Skewness"]) < 1e-12 and abs(want["Skewness"]) < 1e-12
    for name in ("Mean", "Variance", "Kurtosis", "Median", "Energy"):
        assert got[name] == pytest.approx(want[name], rel=RELATIVE), name


def test_a_subset_of_features_gives_only_those():
    image, mask, where = next(random_cases(seed=3, count=1))
    got = _assert_same(image, mask, f"{where}, subset", names=["Kurtosis", "10Percentile", "Uniformity"])
    assert sorted(got) == ["10Percentile", "Kurtosis", "Uniformity"]


@pytest.mark.parametrize("case", ["breast1", "brain1", "lung1"])
def test_first_order_equals_pyradiomics_on_the_shared_cases(pyradiomics_data, case):
    image = sitk.ReadImage(str(pyradiomics_data / f"{case}_image.nrrd"))
    mask = sitk.ReadImage(str(pyradiomics_data / f"{case}_label.nrrd"))
    got = _assert_same(image, mask, case)
    assert got["Maximum"] > got["90Percentile"] > got["Median"] > got["10Percentile"] > got["Minimum"]
