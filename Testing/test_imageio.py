"""io.images: the foreground bounding box, the overlap check and binary masks, against direct numpy answers."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.io.images import as_binary_mask, bounding_box


@pytest.mark.parametrize("seed", range(20))
def test_bounding_box_equals_argwhere_bounds(seed):
    rng = np.random.default_rng(seed)
    array = np.zeros(tuple(rng.integers(1, 30, 3)), dtype=np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        array[tuple(rng.integers(0, n) for n in array.shape)] = int(rng.integers(1, 255))
    lo, hi = bounding_box(array)
    where = np.argwhere(array)
    assert lo.tolist() == where.min(0).tolist()
    assert hi.tolist() == (where.max(0) + 1).tolist()


def test_bounding_box_of_nothing_is_none():
    assert bounding_box(np.zeros((3, 4, 5), dtype=np.uint8)) is None
    assert bounding_box(np.zeros((3, 4, 5), dtype=bool)) is None


def _image(array, origin=(0.0, 0.0, 0.0)):
    image = sitk.GetImageFromArray(array)
    image.SetOrigin(origin)
    return image


def test_a_mask_beside_the_image_is_refused_and_one_touching_its_last_voxel_is_not():
    reference = _image(np.zeros((4, 5, 6), dtype=np.int16))
    array = np.zeros((4, 5, 6), dtype=np.uint8)
    array[3, 4, 5] = 1  # the reference's last voxel once shifted by 5 along x
    with pytest.raises(InputError, match="outside the image"):
        as_binary_mask(_image(array, origin=(1.0, 0.0, 0.0)), reference=reference, resample=True, file="m.nrrd")
    touching = as_binary_mask(_image(array, origin=(0.0, 0.0, 0.0)), reference=reference)
    assert sitk.GetArrayViewFromImage(touching)[3, 4, 5] == 1


def test_a_binary_uint8_mask_keeps_its_voxels_and_the_callers_image_is_unchanged():
    array = np.zeros((4, 5, 6), dtype=np.uint8)
    array[1:3, 2:4, 3:5] = 1
    mask = _image(array)
    binary = as_binary_mask(mask)
    assert binary.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(binary), array)
    binary[0, 0, 0] = 1  # a write to the result is the result's own (copy on write)
    assert mask[0, 0, 0] == 0


def test_a_label_map_becomes_zero_one():
    array = np.zeros((4, 5, 6), dtype=np.int16)
    array[1, 1, 1], array[2, 2, 2] = 3, 7
    binary = as_binary_mask(_image(array), label=7)
    assert binary.GetPixelID() == sitk.sitkUInt8
    assert np.argwhere(sitk.GetArrayViewFromImage(binary)).tolist() == [[2, 2, 2]]


def test_writing_drops_the_tags_from_the_file_and_leaves_the_callers_image_alone(tmp_path):
    from TMERadiomicsLib.io.images import write_image

    image = _image(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    image.SetMetaData("0010|0010", "Doe^Jane")  # a DICOM patient name
    path = write_image(image, tmp_path / "x.nrrd")
    written = sitk.ReadImage(str(path))
    assert "Doe" not in path.read_bytes().decode("latin-1")
    assert not any("0010" in key for key in written.GetMetaDataKeys())
    assert image.GetMetaData("0010|0010") == "Doe^Jane"
    np.testing.assert_array_equal(sitk.GetArrayFromImage(written), sitk.GetArrayFromImage(image))
