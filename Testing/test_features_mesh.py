"""``features.mesh`` against PyRadiomics' own ``cShape.calculate_coefficients``.

The mesh numbers (surface area, volume, four diameters) are re-computed
(mesh.py); they must be PyRadiomics' numbers: area and volume within 1e-10
relative, the diameters bit for bit (they are the largest of the same
squared distances), on random masks and on the shared cases' masks, and the
whole shape class through ``extract_case``.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import cShape

from TMERadiomicsLib.features.mesh import mesh_coefficients

RELATIVE = 1e-10


def _padded(inner: np.ndarray) -> np.ndarray:
    mask = np.zeros(np.add(inner.shape, 2), dtype=bool)
    mask[1:-1, 1:-1, 1:-1] = inner
    return mask


def _assert_same(mask: np.ndarray, spacing, where: str) -> None:
    area, volume, diameters = cShape.calculate_coefficients(mask, np.asarray(spacing, dtype=float))
    got_area, got_volume, got_diameters = mesh_coefficients(mask, spacing)
    for name, want, got in (("area", area, got_area), ("volume", volume, got_volume)):
        assert abs(got - want) <= RELATIVE * abs(want), f"{where}: {name} {got!r} != {want!r}"
    assert np.array_equal(got_diameters, diameters), f"{where}: diameters {got_diameters} != {diameters}"


def _random_masks(seed: int, count: int):
    rng = np.random.default_rng(seed)
    spacings = rng.uniform(0.3, 3.0, (6, 3))  # few: each new spacing measures its cube table once
    for trial in range(count):
        shape = rng.integers(1, 16, 3)
        kind = trial % 3
        if kind == 0:  # salt and pepper at any density: every cube pattern occurs
            inner = rng.random(shape) < rng.uniform(0.05, 0.95)
        elif kind == 1:  # a blob: long surfaces, ties between diameters
            grid = np.indices(shape).astype(float)
            centre = (np.asarray(shape) - 1) / 2
            inner = sum(((g - c) / max(c, 0.5)) ** 2 for g, c in zip(grid, centre)) <= rng.uniform(0.5, 1.2)
        else:  # flat, thin or one voxel: planes of equal coordinate
            inner = np.zeros(shape, dtype=bool)
            inner[tuple(slice(0, int(rng.integers(1, n + 1))) for n in shape)] = True
        yield _padded(inner), spacings[trial % len(spacings)], f"random mask {trial} ({kind}), shape {tuple(shape)}"


def test_mesh_equals_pyradiomics_on_random_masks():
    for mask, spacing, where in _random_masks(seed=23, count=60):
        _assert_same(mask, spacing, where)


def test_mesh_equals_pyradiomics_on_an_empty_and_a_full_box():
    _assert_same(_padded(np.zeros((3, 4, 5), dtype=bool)), (1.0, 1.0, 1.0), "empty")
    _assert_same(_padded(np.ones((3, 4, 5), dtype=bool)), (2.0, 0.7, 0.7), "full box")


def test_mesh_equals_pyradiomics_on_a_large_shell():
    """Two surfaces (a 14 mm shell around a 10 mm sphere): the pruned pair search must find the outer pair."""
    z, y, x = np.ogrid[-12:13, -20:21, -20:21]
    radius = np.sqrt((1.5 * z) ** 2 + (0.8 * y) ** 2 + (0.8 * x) ** 2)
    _assert_same(_padded((radius > 10) & (radius <= 14)), (1.5, 0.8, 0.8), "shell")


@pytest.mark.parametrize("case", ["breast1", "brain1", "lung1"])
def test_mesh_equals_pyradiomics_on_the_shared_cases(pyradiomics_data, case):
    label = sitk.ReadImage(str(pyradiomics_data / f"{case}_label.nrrd"))
    array = sitk.GetArrayFromImage(label) == 1
    found = np.nonzero(array)
    box = tuple(slice(a.min(), a.max() + 1) for a in found)
    _assert_same(_padded(array[box]), label.GetSpacing()[::-1], case)


def test_pruned_pair_search_equals_every_pair(monkeypatch):
    """With the every-pair shortcut off, the cell pruning alone must find PyRadiomics' diameters."""
    from TMERadiomicsLib.features import mesh

    monkeypatch.setattr(mesh, "DIRECT_POINTS", 4)
    for mask, spacing, where in _random_masks(seed=7, count=30):
        _assert_same(mask, spacing, f"{where}, pruned")
