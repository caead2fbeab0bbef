"""Region volumes of analytic spheres against the shell formulas, and geometry invariances."""

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import rotation, shell_volume, sphere_mask, voxels
from TMERadiomicsLib import regions

# (spacing, tolerance) from the issue: 5 % at 0.5 mm, 8 % at 0.8x0.8x1.5, 15 % at 0.7x0.7x3.
GRIDS = [((0.5, 0.5, 0.5), 0.05), ((0.8, 0.8, 1.5), 0.08), ((0.7, 0.7, 3.0), 0.15)]


@pytest.mark.parametrize("radius", [6.0, 12.0])
@pytest.mark.parametrize("spacing,tolerance", GRIDS)
def test_shell_and_ring_volumes_match_geometry(radius, spacing, tolerance):
    result = regions.build(sphere_mask(radius, spacing))
    voxel_mm3 = float(np.prod(spacing))
    peri = result.summary["peritumoral"].voxels * voxel_mm3
    ring = result.summary["ring"].voxels * voxel_mm3
    assert peri == pytest.approx(shell_volume(radius, radius + 5.0), rel=tolerance)
    assert ring == pytest.approx(shell_volume(radius - 2.0, radius + 2.0), rel=tolerance)
    assert result.summary["peritumoral"].volume_mm3 == pytest.approx(peri)


def test_regions_are_consistent_with_the_tumour():
    result = regions.build(sphere_mask(8.0, (0.8, 0.8, 1.5)))
    intra, peri, ring = (sitk.GetArrayViewFromImage(result.masks[n]).astype(bool) for n in regions.REGION_NAMES)
    assert not np.any(intra & peri)
    assert np.any(ring & intra) and np.any(ring & peri)
    assert not np.any(ring & ~intra & ~peri)  # the outer half of the ring lies inside the 5 mm shell


def test_oblique_direction_and_origin_give_the_same_volumes():
    spacing = (0.7, 0.7, 3.0)
    plain = regions.build(sphere_mask(9.0, spacing, offset_mm=(0.3, -0.2, 0.4)))
    oblique = regions.build(
        sphere_mask(9.0, spacing, offset_mm=(0.3, -0.2, 0.4), origin=(-123.4, 56.7, 890.1), direction=rotation((1, 2, 3), 0.6))
    )
    for name in regions.REGION_NAMES:
        assert oblique.summary[name].voxels == plain.summary[name].voxels
    assert oblique.masks["ring"].GetDirection() == pytest.approx(rotation((1, 2, 3), 0.6))
    assert oblique.masks["ring"].GetOrigin() == pytest.approx((-123.4, 56.7, 890.1))


def test_crop_gives_the_same_masks_as_a_tight_field_of_view():
    """Cost follows the tumour: a large field of view changes nothing but the paste position."""
    small = sphere_mask(6.0, (0.8, 0.8, 1.5), margin_mm=9.0)
    big = sitk.ConstantPad(small, [60, 40, 20], [30, 50, 10], 0)
    a, b = regions.build(small), regions.build(big)
    for name in regions.REGION_NAMES:
        assert a.summary[name].voxels == b.summary[name].voxels
        assert not a.summary[name].warnings


def test_outside_voxels_within_the_width_of_a_tumour_centre_are_peritumoral():
    """Independent bound: scipy's exact EDT to the nearest tumour voxel centre.

    The interpolated tumour contains every tumour voxel centre, so any voxel within W of
    one is within W of the surface and must be peritumoral.
    """
    from scipy import ndimage

    mask = sphere_mask(7.0, (0.7, 0.7, 2.5), offset_mm=(0.2, 0.1, 0.9))
    tumour = sitk.GetArrayViewFromImage(mask).astype(bool)
    edt = ndimage.distance_transform_edt(~tumour, sampling=mask.GetSpacing()[::-1])
    peri = sitk.GetArrayFromImage(regions.build(mask).masks["peritumoral"]).astype(bool)
    assert np.all(peri[(edt <= 5.0) & ~tumour])
    diagonal = float(np.linalg.norm(mask.GetSpacing()))
    assert not np.any(peri & (edt > 5.0 + diagonal))


def test_largest_component_option():
    a = sphere_mask(6.0, (1.0, 1.0, 1.0), half_extent_mm=30.0, offset_mm=(-12, 0, 0))
    b = sphere_mask(3.0, (1.0, 1.0, 1.0), half_extent_mm=30.0, offset_mm=(14, 0, 0))
    both = sitk.Or(a, b)
    everything = regions.build(both)
    largest = regions.build(both, components="largest")
    assert everything.summary["intratumoral"].voxels == voxels(a) + voxels(b)
    assert largest.summary["intratumoral"].voxels == voxels(a)
    assert largest.summary["peritumoral"].voxels < everything.summary["peritumoral"].voxels


def test_crop_equals_the_whole_volume_computation_voxel_for_voxel():
    """The crop is an optimisation only: the same convention over the whole field of view agrees exactly."""
    from TMERadiomicsLib.cohort.phantom import make_phantom
    from TMERadiomicsLib.regions.signed_distance import signed_distance_mm

    tumour = make_phantom("small", seed=1).tumour
    frame = sitk.GetImageFromArray(sitk.GetArrayFromImage(tumour))
    frame.SetSpacing(tumour.GetSpacing())
    distance = signed_distance_mm(frame)
    inside = sitk.GetArrayViewFromImage(tumour).astype(bool)
    expected = {
        "peritumoral": ~inside & (distance <= 5.0),
        "ring": (inside & (distance >= -2.0)) | (~inside & (distance <= 2.0)),
    }
    result = regions.build(tumour)
    for name, mask in expected.items():
        assert np.array_equal(sitk.GetArrayViewFromImage(result.masks[name]).astype(bool), mask), name


@pytest.mark.parametrize("pixel_type,value", [(sitk.sitkUInt8, 1), (sitk.sitkInt16, 1), (sitk.sitkUInt8, 7)])
def test_intratumoral_is_the_tumour_as_zero_one_uint8(pixel_type, value):
    tumour = sphere_mask(6.0, (0.8, 0.8, 1.5))
    source = sitk.Cast(tumour, pixel_type) * value
    result = regions.build(source)
    intra = result.masks["intratumoral"]
    assert intra.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(intra), sitk.GetArrayViewFromImage(tumour) != 0)
    assert result.summary["intratumoral"].voxels == int(np.count_nonzero(sitk.GetArrayViewFromImage(tumour)))
    intra[0, 0, 0] = 1  # the caller's mask is not written through a shared buffer
    assert source[0, 0, 0] == 0
