"""DCE phase selection, isotropic resampling and z-score."""

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import sphere_mask
from TMERadiomicsLib.io import preprocessing
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.cohort.phantom import make_phantom


@pytest.fixture(scope="module")
def phantom():
    return make_phantom("small", seed=5)


def test_phase_from_4d_image_and_from_a_list(phantom, tmp_path):
    phases = phantom.phases
    four_d = sitk.JoinSeries(phases)
    path = tmp_path / "dce.nrrd"
    sitk.WriteImage(four_d, str(path))
    picked = preprocessing.read_dce(path)  # default: second post-contrast = index 2
    assert np.array_equal(sitk.GetArrayViewFromImage(picked), sitk.GetArrayViewFromImage(phases[2]))
    assert picked.GetSpacing() == pytest.approx(phases[2].GetSpacing())
    listed = [tmp_path / f"p{i}.nrrd" for i in range(len(phases))]
    for image, p in zip(phases, listed):
        sitk.WriteImage(image, str(p))
    assert np.array_equal(sitk.GetArrayFromImage(preprocessing.read_dce(listed, 4)), sitk.GetArrayFromImage(phases[4]))
    with pytest.raises(InputError, match=r"phase must lie in 0..5"):
        preprocessing.read_dce(path, 9, case_id="c")


def test_isotropic_resampling_keeps_extent_and_volume():
    mask = sphere_mask(8.0, (0.7, 0.7, 3.0))
    reference = preprocessing.isotropic_reference(mask, 1.0)
    assert reference.GetSpacing() == (1.0, 1.0, 1.0)
    extent_in = np.array(mask.GetSize()) * np.array(mask.GetSpacing())
    extent_out = np.array(reference.GetSize()) * 1.0
    assert np.all(np.abs(extent_in - extent_out) <= 1.0)
    # The field of view's outer edge stays put (first voxel's outer face).
    assert np.allclose(np.array(reference.GetOrigin()) - 0.5, np.array(mask.GetOrigin()) - np.array(mask.GetSpacing()) / 2)
    for method in ("nearest", "label_gaussian"):
        resampled = preprocessing.resample_mask(mask, reference, method)
        volume = sitk.GetArrayViewFromImage(resampled).sum() * 1.0
        assert volume == pytest.approx(4 / 3 * np.pi * 8.0**3, rel=0.08)


def test_image_resampling_and_zscore(phantom):
    image = phantom.image()
    reference = preprocessing.isotropic_reference(image, 1.0)
    for method in ("bspline", "linear"):
        resampled = preprocessing.resample_image(image, reference, method)
        assert resampled.GetPixelID() == sitk.sitkFloat32
        assert float(sitk.GetArrayViewFromImage(resampled).mean()) == pytest.approx(float(sitk.GetArrayViewFromImage(image).mean()), rel=0.05)
    z = sitk.GetArrayFromImage(preprocessing.zscore(image))
    assert z.mean() == pytest.approx(0.0, abs=1e-5) and z.std() == pytest.approx(1.0, rel=1e-5)
    zm = preprocessing.zscore(image, phantom.tumour)
    inside = sitk.GetArrayViewFromImage(zm)[sitk.GetArrayFromImage(phantom.tumour).astype(bool)]
    assert inside.mean() == pytest.approx(0.0, abs=1e-4)


def test_bad_preprocessing_arguments():
    mask = sphere_mask(4.0, (1.0, 1.0, 1.0))
    with pytest.raises(InputError, match="positive"):
        preprocessing.isotropic_reference(mask, 0.0)
    with pytest.raises(InputError, match="interpolator"):
        preprocessing.resample_image(mask, mask, "cubic")
    with pytest.raises(InputError, match="constant image"):
        preprocessing.zscore(sitk.Cast(mask, sitk.sitkFloat32) * 0)
