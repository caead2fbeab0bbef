"""Analytic test shapes on arbitrary grids (test helper, not a test module)."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk


def sphere_mask(
    radius_mm: float,
    spacing: tuple[float, float, float],
    *,
    margin_mm: float = 10.0,
    origin=(0.0, 0.0, 0.0),
    direction=(1, 0, 0, 0, 1, 0, 0, 0, 1),
    offset_mm=(0.0, 0.0, 0.0),
    half_extent_mm: float | None = None,
) -> sitk.Image:
    """Voxels whose centre lies within ``radius_mm`` of the grid centre (+ offset)."""
    extent = half_extent_mm if half_extent_mm is not None else radius_mm + margin_mm
    sizes = [int(np.ceil(2 * extent / s)) + 1 for s in spacing]
    axes = [(np.arange(n) - (n - 1) / 2) * s - o for n, s, o in zip(sizes, spacing, offset_mm)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    inside = (x**2 + y**2 + z**2) <= radius_mm**2
    image = sitk.GetImageFromArray(np.ascontiguousarray(inside.transpose(2, 1, 0)).astype(np.uint8))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    image.SetDirection(direction)
    return image


def shell_volume(inner_mm: float, outer_mm: float) -> float:
    return 4.0 / 3.0 * np.pi * (outer_mm**3 - max(inner_mm, 0.0) ** 3)


def rotation(axis, angle_rad: float) -> tuple[float, ...]:
    """Row-major 3x3 rotation matrix (Rodrigues)."""
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    matrix = np.eye(3) + np.sin(angle_rad) * k + (1 - np.cos(angle_rad)) * k @ k
    return tuple(matrix.ravel())


def voxels(image: sitk.Image) -> int:
    return int(sitk.GetArrayViewFromImage(image).astype(bool).sum())
