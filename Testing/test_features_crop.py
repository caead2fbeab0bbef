"""The padding rule of the one crop (docs/features.md)."""

from __future__ import annotations

from TMERadiomicsLib.features.crop import Box, kernel_reach, padded_box


def test_reach_per_filter():
    spacing = (0.8, 0.8, 1.5)
    assert kernel_reach({"Original": {}, "Square": {}}, {}, spacing) == (0, 0, 0)
    assert kernel_reach({"Wavelet": {}}, {}, spacing) == (6, 6, 6)  # coif1: 5 per level + 1 wrap
    assert kernel_reach({"Wavelet": {"level": 2}}, {}, spacing) == (11, 11, 11)
    assert kernel_reach({"LoG": {"sigma": [1.0, 3.0]}}, {}, spacing) == (27, 27, 14)  # ceil(7 * 3 / s)
    assert kernel_reach({"LBP2D": {}, "Gradient": {}}, {}, spacing) == (2, 2, 2)


def test_axis_reaching_the_edge_is_taken_whole():
    box = Box((10, 3, 20), (20, 8, 30))
    padded = padded_box(box, (5, 5, 5), (64, 64, 64))
    assert padded == Box((5, 0, 15), (25, 63, 35))


def _prepared(tumour_centre, size=(60, 50, 40), spacing=(0.8, 0.8, 1.5)):
    """A case whose crop is padded for LoG sigma 3 mm; a 4 mm ball region at ``tumour_centre`` (x, y, z voxels)."""
    import numpy as np
    import SimpleITK as sitk

    from TMERadiomicsLib.features.prepare import RegionMask, prepare_case

    z, y, x = np.indices(size[::-1])
    ball = (((x - tumour_centre[0]) * spacing[0]) ** 2 + ((y - tumour_centre[1]) * spacing[1]) ** 2
            + ((z - tumour_centre[2]) * spacing[2]) ** 2) <= 16.0
    image = sitk.GetImageFromArray((100 + 50 * ball + np.indices(size[::-1]).sum(axis=0)).astype(np.int16))
    image.SetSpacing(spacing)
    mask = sitk.GetImageFromArray(ball.astype(np.uint8))
    mask.CopyInformation(image)
    types = {"Original": {}, "Wavelet": {}, "LoG": {"sigma": [1.0, 3.0]}}
    return prepare_case(image, {"r": RegionMask.find(mask, 1)}, types, {"label": 1}), types


def test_each_filter_and_log_sigma_gets_its_own_window_of_the_crop():
    from TMERadiomicsLib.features.filters import _own_window, _parts

    prepared, types = _prepared((30, 25, 20))
    box = prepared.regions["r"].box  # on the crop's grid
    crop_size = prepared.image.GetSize()
    # the crop is padded for LoG 3 mm at 7 sigma: ceil(21 / 0.8) = 27 in-plane (which takes x and y whole
    # here), ceil(21 / 1.5) = 14 in z (which does not)
    assert prepared.diagnostics["crop_pad_voxels"] == [27, 27, 14]
    assert crop_size == (60, 50, box.size[2] + 28)
    windows = {}
    for image_type in types:
        for part in _parts(image_type, {**types[image_type], "label": 1}):
            windows[(image_type, tuple(part.get("sigma", ())))] = _own_window(prepared, image_type, part)
    assert windows[("LoG", (3.0,))] is None  # the widest filter needs the whole crop
    sigma_1 = windows[("LoG", (1.0,))]  # ceil(7 / 0.8) = 9, ceil(7 / 1.5) = 5
    assert sigma_1.lower == tuple(lo - p for lo, p in zip(box.lower, (9, 9, 5)))
    assert sigma_1.upper == tuple(hi + p for hi, p in zip(box.upper, (9, 9, 5)))
    wavelet = windows[("Wavelet", ())]  # coif1, one level: 6 voxels on each axis
    assert wavelet.size == tuple(s + 12 for s in box.size)
    assert windows[("Original", ())] == box


def test_an_axis_the_crop_took_whole_is_taken_whole_by_every_window():
    from TMERadiomicsLib.features.filters import _own_window

    prepared, _ = _prepared((30, 25, 3))  # 3 slices from the first: LoG's z padding leaves the image
    size = prepared.image.GetSize()
    assert prepared.crop_box.lower[2] == 0 and size[2] == 40  # the crop took z whole
    window = _own_window(prepared, "LoG", {"sigma": [1.0]})  # reaches 5 slices: past the first one
    assert (window.lower[2], window.upper[2]) == (0, 39)
    assert _own_window(prepared, "Original", {}).size[2] == 5  # needs no padding: a true window
