"""Kinetic features against the phantom's analytic enhancement model, and the refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.kinetics import KineticSeries, kinetic_features

TIMES = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)


def _phases(s0, amplitude, k_in, k_out):
    phases = []
    for t in TIMES:
        array = (s0 * (1 + amplitude * (1 - np.exp(-k_in * t)) * np.exp(-k_out * t))).astype(np.float32)
        image = sitk.GetImageFromArray(array)
        image.SetSpacing((1.0, 1.0, 1.0))
        phases.append(image)
    return phases


def _mask(array):
    image = sitk.GetImageFromArray(array.astype(np.uint8))
    image.SetSpacing((1.0, 1.0, 1.0))
    return image


def _sphere(shape=(24, 24, 24), radius=6.0):
    z, y, x = np.indices(shape)
    c = (np.array(shape) - 1) / 2
    return (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= radius**2


def test_values_match_the_analytic_curve_and_ftv_the_sphere():
    sphere = _sphere()
    s0 = np.full(sphere.shape, 200.0)
    amplitude = np.where(sphere, 1.8, 0.0)
    phases = _phases(s0, amplitude, np.where(sphere, 0.05, 0.0), np.where(sphere, 0.003, 0.0))
    result = kinetic_features(KineticSeries.of(phases, TIMES), {"intratumoral": _mask(sphere)})
    v = result.values["intratumoral"]
    curve = lambda t: 180.0 * (1 - math.exp(-0.05 * t)) * math.exp(-0.003 * t)  # PE in %
    assert v["kinetics_PE_early_median"] == pytest.approx(curve(120.0), rel=1e-4)
    assert v["kinetics_PE_peak_median"] == pytest.approx(max(curve(t) for t in TIMES[1:]), rel=1e-4)
    s1, s2 = curve(120.0), curve(300.0)
    assert v["kinetics_SER_mean"] == pytest.approx(s1 / s2, rel=1e-4)
    assert v["kinetics_iAUC60_mean"] == pytest.approx(0.5 * 60 * curve(60.0), rel=1e-4)
    assert v["kinetics_washout_fraction"] == pytest.approx(1.0)
    assert v["kinetics_FTV_ml"] == pytest.approx(sphere.sum() / 1000.0)


def test_known_washout_fraction():
    sphere = _sphere()
    half = sphere & (np.indices(sphere.shape)[0] < 12)
    s0 = np.full(sphere.shape, 200.0)
    phases = _phases(s0, np.where(half, 1.8, np.where(sphere, 0.9, 0.0)),
                     np.where(half, 0.05, np.where(sphere, 0.008, 0.0)), np.where(half, 0.003, 0.0))
    v = kinetic_features(KineticSeries.of(phases, TIMES), {"intratumoral": _mask(sphere)}).values["intratumoral"]
    assert v["kinetics_washout_fraction"] == pytest.approx(half.sum() / sphere.sum())
    assert v["kinetics_persistent_fraction"] == pytest.approx(1 - half.sum() / sphere.sum())


@pytest.mark.parametrize("times", [None, (0.0, 60.0, 120.0, 120.0, 240.0, 300.0), (0.0, 120.0, 60.0, 180.0, 240.0, 300.0)])
def test_missing_or_unordered_times_refused(times):
    phases = _phases(np.full((4, 4, 4), 100.0), 1.0, 0.05, 0.0)
    with pytest.raises(InputError):
        KineticSeries.of(phases, times)


def test_single_phase_and_zero_baseline_refused():
    phases = _phases(np.full((4, 4, 4), 100.0), 1.0, 0.05, 0.0)
    with pytest.raises(InputError, match="at least two post-contrast"):
        KineticSeries.of(phases[:1], TIMES[:1])
    zero = _phases(np.zeros((4, 4, 4)), 1.0, 0.05, 0.0)
    with pytest.raises(InputError, match="pre-contrast signal is <= 0"):
        kinetic_features(KineticSeries.of(zero, TIMES), {"intratumoral": _mask(np.ones((4, 4, 4)))})
