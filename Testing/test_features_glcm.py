"""``features.glcm_fast`` against PyRadiomics' own ``RadiomicsGLCM``.

The GLCM coefficients p_{x+y}, p_{x-y} and MCC's Q are computed without
PyRadiomics' per-grey-level loops (glcm_fast.py); every GLCM feature must be
PyRadiomics' within 1e-10 relative (issue 23's rule for a re-implemented
formula), on the shared cases and on random images and masks: continuous and
tied intensities, grey levels absent from the region (PyRadiomics deletes them,
so the levels are not 1..N_g), few levels, flat and tiny regions, a
non-symmetrical matrix, a weighting norm and the many levels of binWidth 5.
"""

from __future__ import annotations


import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import getFeatureClasses

from class_parity import assert_same_as_pyradiomics, image_of, random_cases

# PyRadiomics warns where an angle of a tiny region has no voxel pair (its mean over angles skips the NaN,
# and numpy's mean of nothing divides by zero); ours gives the same values with the same warnings.
pytestmark = [pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")]
EVERY_FEATURE = sorted(getFeatureClasses()["glcm"].getFeatureNames())


def _assert_same(image, mask, where, **settings):
    return assert_same_as_pyradiomics("glcm", image, mask, where, EVERY_FEATURE, **settings)


def test_glcm_equals_pyradiomics_on_random_cases():
    for image, mask, where in random_cases(seed=7, count=40):
        _assert_same(image, mask, where, binWidth=5)


def test_glcm_equals_pyradiomics_with_other_matrix_settings():
    for image, mask, where in random_cases(seed=13, count=8):
        _assert_same(image, mask, f"{where}, binCount 32", binCount=32)
        _assert_same(image, mask, f"{where}, not symmetrical", symmetricalGLCM=False)
        _assert_same(image, mask, f"{where}, weighted", weightingNorm="euclidean")


def test_absent_grey_levels_and_flat_or_tiny_regions():
    rng = np.random.default_rng(3)
    gaps = rng.choice([0.0, 10.0, 11.0, 80.0, 200.0], (10, 10, 10))  # bins 1, 2, 4, 9 of 9: levels missing
    _assert_same(image_of(gaps), image_of(np.ones((10, 10, 10), np.uint8)), "absent levels", binWidth=25)
    flat = _assert_same(image_of(np.full((6, 6, 6), 40.0)), image_of(np.ones((6, 6, 6), np.uint8)), "flat")
    assert flat["MCC"] == 1  # PyRadiomics' value for one grey level
    two = np.zeros((3, 3, 3), np.uint8)
    two[1, 1, 1:3] = 1
    _assert_same(image_of(rng.normal(100, 30, (3, 3, 3))), image_of(two), "two voxels")


@pytest.mark.parametrize("case", ["breast1", "brain1", "lung1"])
def test_glcm_equals_pyradiomics_on_the_shared_cases(pyradiomics_data, case):
    image = sitk.ReadImage(str(pyradiomics_data / f"{case}_image.nrrd"))
    mask = sitk.ReadImage(str(pyradiomics_data / f"{case}_label.nrrd"))
    _assert_same(image, mask, case)
    _assert_same(image, mask, f"{case}, binWidth 5", binWidth=5)
