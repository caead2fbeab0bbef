"""Regions on PyRadiomics' real breast1 (small field of view) and brain1 (6.5 mm slices)."""

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from TMERadiomicsLib import regions
from TMERadiomicsLib.io.images import read_image, read_mask


def _load(data, case):
    image = read_image(data / f"{case}_image.nrrd", case_id=case)
    return image, read_mask(data / f"{case}_label.nrrd", reference=image, case_id=case)


def _distance_to_tumour_centres(mask: sitk.Image, pad: int) -> np.ndarray:
    """scipy's exact EDT on a grid padded beyond the field of view (independent of our code)."""
    tumour = np.pad(sitk.GetArrayViewFromImage(mask).astype(bool), pad)
    return ndimage.distance_transform_edt(~tumour, sampling=mask.GetSpacing()[::-1])


def test_breast1_regions_and_field_of_view_clipping(pyradiomics_data):
    image, tumour = _load(pyradiomics_data, "breast1")
    result = regions.build(tumour, image, case_id="breast1")
    assert result.summary["intratumoral"].voxels == 143
    pad = 10
    edt = _distance_to_tumour_centres(tumour, pad)
    peri = sitk.GetArrayViewFromImage(result.masks["peritumoral"]).astype(bool)
    inside_fov = np.zeros(edt.shape, bool)
    inside_fov[pad:-pad, pad:-pad, pad:-pad] = True
    tumour_arr = np.pad(sitk.GetArrayViewFromImage(tumour).astype(bool), pad)
    must = (edt <= 5.0) & ~tumour_arr
    assert np.all(peri[must[inside_fov].reshape(peri.shape)])
    # breast1 lies >= 16 mm from every edge: no clipping, and no warning claiming one.
    clipped_expected = bool(np.any(must & ~inside_fov))
    warned = any("field of view" in w for w in result.summary["peritumoral"].warnings)
    assert warned == clipped_expected
    assert result.summary["ring"].warnings == ["band width 2 mm is thinner than one voxel along z (2.1 mm)"]


def test_brain1_thin_slices_are_reported(pyradiomics_data):
    image, tumour = _load(pyradiomics_data, "brain1")
    result = regions.build(tumour, image, case_id="brain1")
    assert result.summary["intratumoral"].voxels == 4137
    peri_warnings = " ".join(result.summary["peritumoral"].warnings)
    ring_warnings = " ".join(result.summary["ring"].warnings)
    assert "thinner than one voxel along z (6.5 mm)" in peri_warnings
    assert "thinner than one voxel along z (6.5 mm)" in ring_warnings
    assert "along x" not in peri_warnings
    edt = _distance_to_tumour_centres(tumour, 0)
    tumour_arr = sitk.GetArrayViewFromImage(tumour).astype(bool)
    peri = sitk.GetArrayViewFromImage(result.masks["peritumoral"]).astype(bool)
    assert np.all(peri[(edt <= 5.0) & ~tumour_arr])
    assert not np.any(peri & tumour_arr)
    # In-plane the shell reaches ~5 mm: its volume exceeds the in-plane-only lower bound.
    assert result.summary["peritumoral"].voxels > int(((edt <= 5.0) & ~tumour_arr).sum())
