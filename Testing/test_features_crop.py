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
