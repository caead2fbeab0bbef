"""Exclusions, air threshold, warnings and bad arguments of regions.build."""

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import sphere_mask
from TMERadiomicsLib import regions
from TMERadiomicsLib.errors import InputError


def _half_space(reference: sitk.Image, axis: int) -> sitk.Image:
    array = np.zeros(sitk.GetArrayViewFromImage(reference).shape, np.uint8)
    index = [slice(None)] * 3
    index[axis] = slice(array.shape[axis] // 2, None)
    array[tuple(index)] = 1
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(reference)
    return image


def test_exclusion_removed_from_bands_not_from_tumour():
    tumour = sphere_mask(6.0, (1.0, 1.0, 1.0))
    vessel = _half_space(tumour, axis=2)  # everything with x beyond the centre
    plain = regions.build(tumour)
    excluded = regions.build(tumour, exclusions=[vessel])
    assert excluded.summary["intratumoral"].voxels == plain.summary["intratumoral"].voxels
    peri = sitk.GetArrayViewFromImage(excluded.masks["peritumoral"]).astype(bool)
    assert not np.any(peri & sitk.GetArrayViewFromImage(vessel).astype(bool))
    assert 0.4 < excluded.summary["peritumoral"].voxels / plain.summary["peritumoral"].voxels < 0.6


def test_exclusion_of_more_than_half_is_warned():
    tumour = sphere_mask(6.0, (1.0, 1.0, 1.0))
    array = sitk.GetArrayFromImage(tumour) * 0
    array[:, :, : array.shape[2] * 3 // 5] = 1
    big = sitk.GetImageFromArray(array.astype(np.uint8))
    big.CopyInformation(tumour)
    result = regions.build(tumour, exclusions=[big])
    assert any("more than half" in w for w in result.summary["peritumoral"].warnings)


def test_air_threshold_removes_dark_voxels():
    tumour = sphere_mask(6.0, (1.0, 1.0, 1.0))
    image = sitk.Cast(_half_space(tumour, axis=1), sitk.sitkFloat32) * 100.0 + 5.0  # y < centre is "air" (5)
    result = regions.build(tumour, image, air_below=50.0)
    peri = sitk.GetArrayViewFromImage(result.masks["peritumoral"]).astype(bool)
    dark = sitk.GetArrayViewFromImage(image) < 50.0
    assert peri.any() and not np.any(peri & dark)
    assert result.summary["intratumoral"].voxels == regions.build(tumour).summary["intratumoral"].voxels


def test_five_mm_shell_on_6p5_mm_slices_is_warned():
    result = regions.build(sphere_mask(10.0, (0.8, 0.8, 6.5)))
    assert any("along z (6.5 mm)" in w for w in result.summary["peritumoral"].warnings)
    assert not any("along x" in w for w in result.summary["peritumoral"].warnings)


@pytest.mark.parametrize("width", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_width_is_refused(width):
    with pytest.raises(InputError, match="positive"):
        regions.build(sphere_mask(5.0, (1.0, 1.0, 1.0)), peritumoral_mm=width, case_id="c1")


def test_empty_tumour_and_mismatched_exclusion_are_refused():
    tumour = sphere_mask(5.0, (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="case c2: tumour mask is empty"):
        regions.build(tumour * 0, case_id="c2")
    other = sphere_mask(5.0, (1.0, 1.0, 2.0))
    with pytest.raises(InputError, match="exclusion mask 1 and tumour mask have different geometry"):
        regions.build(tumour, exclusions=[other], case_id="c3")
    with pytest.raises(InputError, match="air threshold needs the image"):
        regions.build(tumour, air_below=10.0)


def test_tumour_at_the_image_edge_is_clipped_and_warned():
    tumour = sphere_mask(6.0, (1.0, 1.0, 1.0))
    edge = sitk.Crop(tumour, [0, 0, 0], [tumour.GetSize()[0] // 2 + 3, 0, 0])  # cut through the tumour
    result = regions.build(edge)
    for name in ("peritumoral", "ring"):
        assert any("clipped by the image field of view" in w for w in result.summary[name].warnings)
    assert result.masks["peritumoral"].GetSize() == edge.GetSize()
