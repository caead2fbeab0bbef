"""Contour perturbation: geometry of the level sets, seeding, and ICC across perturbations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.reproducibility.perturbation import (
    DistanceField,
    PerturbationSettings,
    equivalent_radius_mm,
    perturbation_features,
    perturbed_masks,
)
from TMERadiomicsLib.reproducibility.stability import perturbation_icc

BOX = (slice(4, 8), slice(10, 30), slice(12, 28))  # z, y, x


def box_mask(spacing=(0.5, 0.5, 2.0), shape=(12, 40, 40), box=BOX) -> sitk.Image:
    array = np.zeros(shape, dtype=np.uint8)
    array[box] = 1
    mask = sitk.GetImageFromArray(array)
    mask.SetSpacing(spacing)
    mask.SetOrigin((-10.0, 4.0, 7.5))
    mask.SetDirection((0, 1, 0, -1, 0, 0, 0, 0, 1))
    return mask


def extent(mask: sitk.Image) -> list[tuple[int, int]]:
    """First and last index holding the mask along z, y, x."""
    array = sitk.GetArrayFromImage(mask)
    spans = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        where = np.flatnonzero(array.any(axis=other))
        spans.append((int(where[0]), int(where[-1])))
    return spans


def test_zero_displacement_is_the_drawn_mask_with_its_geometry():
    mask = box_mask()
    out = DistanceField(mask, 2.0).perturb(0.0)
    assert np.array_equal(sitk.GetArrayFromImage(out), sitk.GetArrayFromImage(mask))
    assert (out.GetSpacing(), out.GetOrigin(), out.GetDirection()) == (
        mask.GetSpacing(), mask.GetOrigin(), mask.GetDirection()
    )


def test_growth_is_measured_in_millimetres_of_the_real_spacing():
    # In-plane voxels are 0.5 mm, slices 2 mm: the boundary lies half a voxel
    # beyond the last centre, so the next slice is 1 mm out and the next
    # in-plane rows 0.25 and 0.75 mm out.
    field = DistanceField(box_mask(), 2.0)
    assert extent(field.perturb(0.2)) == [(4, 7), (10, 29), (12, 27)]
    assert extent(field.perturb(0.3)) == [(4, 7), (9, 30), (11, 28)]
    assert extent(field.perturb(1.0)) == [(4, 7), (8, 31), (10, 29)]
    assert extent(field.perturb(1.01)) == [(3, 8), (8, 31), (10, 29)]
    assert extent(field.perturb(-0.3)) == [(4, 7), (11, 28), (13, 26)]
    # Shrinking by more than half a slice removes the top and bottom slices.
    assert extent(field.perturb(-1.01)) == [(5, 6), (12, 27), (14, 25)]


def test_larger_shifts_give_nested_masks():
    field = DistanceField(box_mask(spacing=(0.7, 0.7, 3.0)), 3.0)
    masks = [sitk.GetArrayFromImage(field.perturb(s)) > 0 for s in np.linspace(-1.2, 2.5, 12)]
    for smaller, larger in zip(masks, masks[1:]):
        assert not (smaller & ~larger).any()
    sizes = [m.sum() for m in masks]
    assert sizes[0] < sizes[-1]


def test_boundary_noise_moves_the_contour_both_ways_and_stays_local():
    mask = box_mask(spacing=(0.7, 0.7, 0.7), shape=(30, 40, 40), box=(slice(8, 22), slice(10, 30), slice(12, 28)))
    field = DistanceField(mask, 2.0)
    noisy = sitk.GetArrayFromImage(field.perturb(0.0, 0.4, 3.0, np.random.default_rng(5))) > 0
    drawn = sitk.GetArrayFromImage(mask) > 0
    assert (noisy & ~drawn).any() and (drawn & ~noisy).any()
    # Within 4 standard deviations (1.6 mm) of the drawn boundary.
    grown = sitk.GetArrayFromImage(field.perturb(1.6)) > 0
    shrunk = sitk.GetArrayFromImage(field.perturb(-1.6)) > 0
    assert not (noisy & ~grown).any() and not (shrunk & ~noisy).any()


def test_seeded_and_reproducible_per_index():
    mask = box_mask(spacing=(0.7, 0.7, 0.7), shape=(30, 40, 40), box=(slice(8, 22), slice(10, 30), slice(12, 28)))
    first = perturbed_masks(mask, PerturbationSettings(n=5, seed=11))
    again = perturbed_masks(mask, PerturbationSettings(n=3, seed=11))
    other = perturbed_masks(mask, PerturbationSettings(n=3, seed=12))
    arrays = [sitk.GetArrayFromImage(p.mask) for p in first]
    for a, b in zip(arrays, again):
        assert np.array_equal(a, sitk.GetArrayFromImage(b.mask))
    assert not np.array_equal(arrays[0], sitk.GetArrayFromImage(other[0].mask))
    assert len({a.tobytes() for a in arrays}) == 5
    # Defaults are sub-voxel: shifts within half the finest spacing.
    assert all(abs(p.shift_mm) <= 0.35 for p in first)
    assert all(0.8 < p.dice < 1.0 for p in first)


def test_bad_settings_and_masks_are_input_errors():
    mask = box_mask()
    with pytest.raises(InputError, match="at least 2 perturbations"):
        perturbed_masks(mask, PerturbationSettings(n=1))
    with pytest.raises(InputError, match="noise_mm must be a finite number"):
        perturbed_masks(mask, PerturbationSettings(noise_mm=-1.0))
    with pytest.raises(InputError, match="tumour mask is empty"):
        perturbed_masks(box_mask(box=(slice(0, 0),) * 3))
    radius = equivalent_radius_mm(mask)
    voxels = int(sitk.GetArrayViewFromImage(mask).sum())
    assert 4 / 3 * np.pi * radius**3 == pytest.approx(voxels * np.prod(mask.GetSpacing()))
    for name in ("noise_mm", "max_shift_mm"):
        with pytest.raises(InputError, match=f"{name} must be smaller than the tumour's equivalent-sphere radius"):
            perturbed_masks(mask, PerturbationSettings(**{name: 1e9}))
        with pytest.raises(InputError, match="equivalent-sphere radius"):
            perturbed_masks(mask, PerturbationSettings(**{name: radius}))
    tiny = box_mask(spacing=(1.0, 1.0, 1.0), box=(slice(5, 6), slice(20, 21), slice(20, 21)))
    with pytest.raises(InputError, match="removed the whole tumour"):
        DistanceField(tiny, 1.0).perturb(-0.6)


def synthetic_case(radius_mm: float, seed: int) -> tuple[sitk.Image, sitk.Image]:
    """A bright textured ellipsoid in noisy tissue, 0.8 x 0.8 x 2 mm voxels."""
    spacing = (0.8, 0.8, 2.0)
    z, y, x = np.mgrid[:14, :36, :36]
    d = np.sqrt(((x - 17.5) * spacing[0]) ** 2 + ((y - 17.5) * spacing[1] * 1.2) ** 2 + ((z - 6.5) * spacing[2]) ** 2)
    rng = np.random.default_rng(seed)
    image = 200 + 300 * (d < radius_mm) + 40 * np.sin(x / 2.0) + rng.normal(0, 20, d.shape)
    img = sitk.GetImageFromArray(image.astype(np.float32))
    img.SetSpacing(spacing)
    mask = sitk.GetImageFromArray((d < radius_mm).astype(np.uint8))
    mask.CopyInformation(img)
    return img, mask


def test_icc_across_perturbations_of_several_cases():
    tables = []
    for case, radius in (("small", 4.0), ("mid", 6.0), ("large", 8.5)):
        image, mask = synthetic_case(radius, seed=len(case))
        table, perturbations = perturbation_features(
            image, mask, "default", PerturbationSettings(n=3, seed=1), case_id=case
        )
        assert sorted(table["perturbation"].unique()) == [0, 1, 2]
        assert set(table["region"]) == {"intratumoral", "peritumoral", "ring"}
        assert (table["case_id"] == case).all()
        tables.append(table)
    result = perturbation_icc(pd.concat(tables, ignore_index=True))
    assert set(result["region"]) == {"intratumoral", "peritumoral", "ring"}
    assert (result["n_cases"] == 3).all() and (result["n_ratings"] == 3).all()
    volume = result.set_index(["region", "feature"]).loc[("intratumoral", "original_shape_VoxelVolume"), "icc"]
    # Tumour volumes 4x apart against sub-voxel contour changes: near-perfect.
    assert volume > 0.95
    # The perturbations do change the features (not one contour three times).
    sub = tables[1][tables[1]["feature"] == "original_shape_VoxelVolume"]
    assert sub["value"].nunique() > 1
