"""Issue 19: region colours are not risk colours, and risk colours survive colour blindness.

(The legend and restoring the region colours are tested in test_slicer_logic.py, beside the
calibrated bundles they need.)

Colour distance is CIE76 delta-E in CIELAB (D65), from sRGB; colour blindness
is simulated with Machado, Oliveira & Fernandes (2009) at severity 1.0 on
linear RGB. A delta-E of about 2 is just noticeable; 20 and more reads as a
different colour at a glance.
"""

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from TMERadiomicsLogic import overlay  # noqa: E402
from TMERadiomicsLib.regions import REGION_COLOURS, REGION_NAMES  # noqa: E402

pytestmark = pytest.mark.slicer

SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
MACHADO = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
VISION = ("normal", *MACHADO)


def linear(rgb) -> np.ndarray:
    c = np.asarray(rgb, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def encoded(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def lab(rgb) -> np.ndarray:
    xyz = SRGB_TO_XYZ @ linear(rgb) / (SRGB_TO_XYZ @ np.ones(3))
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(rgb, vision: str) -> np.ndarray:
    return np.asarray(rgb, float) if vision == "normal" else encoded(MACHADO[vision] @ linear(rgb))


def delta_e(a, b, vision: str = "normal") -> float:
    return float(np.linalg.norm(lab(seen(a, vision)) - lab(seen(b, vision))))


def risk_shades() -> dict:
    return {(group, region): overlay.risk_colour(group, region) for group in (0, 1) for region in REGION_NAMES}


def test_the_colour_maths_is_calibrated():
    """White/black are 100 apart; pure red and green, far apart for most, nearly merge for a deuteranope."""
    assert delta_e((1, 1, 1), (0, 0, 0)) == pytest.approx(100.0, abs=1e-3)
    assert delta_e((1, 0, 0), (0, 1, 0)) > 100
    assert delta_e((1, 0, 0), (0, 1, 0), "deuteranopia") < 0.5 * delta_e((1, 0, 0), (0, 1, 0))


@pytest.mark.parametrize("vision", VISION)
def test_region_colours_are_far_from_every_risk_colour(vision):
    """Before any model runs a region must not look like a risk group (Intratumoral red was 4 from 'high')."""
    worst = min(delta_e(region, risk, vision) for region in REGION_COLOURS.values() for risk in risk_shades().values())
    assert worst >= 20.0


@pytest.mark.parametrize("vision", VISION)
def test_the_two_risk_groups_stay_apart_for_every_region(vision):
    for region in REGION_NAMES:
        assert delta_e(overlay.risk_colour(0, region), overlay.risk_colour(1, region), vision) >= 35.0


def test_the_regions_stay_apart_from_each_other():
    for vision in VISION:
        for a, b in itertools.combinations(REGION_COLOURS.values(), 2):
            assert delta_e(a, b, vision) >= 25.0  # wine/teal under deuteranopia: 27
