"""The synthetic DCE phantom: seeded, anatomically plausible, with lesion kinetics."""

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.cohort import phantom as ph
from TMERadiomicsLib.errors import InputError


@pytest.fixture(scope="module")
def small():
    return ph.make_phantom("small", seed=2)


def test_same_seed_same_voxels_other_seed_other_voxels(small):
    again = ph.make_phantom("small", seed=2)
    other = ph.make_phantom("small", seed=3)
    assert np.array_equal(sitk.GetArrayFromImage(small.image(3)), sitk.GetArrayFromImage(again.image(3)))
    assert not np.array_equal(sitk.GetArrayFromImage(small.tumour), sitk.GetArrayFromImage(other.tumour))


def test_geometry_and_tissues(small):
    image = small.image()
    assert image.GetSize() == (112, 112, 40) and image.GetSpacing() == pytest.approx((0.8, 0.8, 1.5))
    present = set(np.unique(small.tissue))
    assert {ph.TISSUES[t] for t in ("air", "fat", "fibroglandular", "muscle", "vessel", "lesion")} <= present
    # Lesion volume close to a sphere of the nominal radius (irregularity is zero-mean).
    volume = sitk.GetArrayFromImage(small.tumour).sum() * np.prod(image.GetSpacing())
    assert volume == pytest.approx(4 / 3 * np.pi * 9.0**3, rel=0.35)
    assert sitk.GetArrayFromImage(small.vessels).sum() > 0


def test_lesion_kinetics_wash_in_and_rim_wash_out(small):
    lesion = small.tissue == ph.TISSUES["lesion"]
    fat = small.tissue == ph.TISSUES["fat"]
    means = [float(sitk.GetArrayFromImage(small.image(p))[lesion].mean()) for p in range(6)]
    assert means[1] > 1.8 * means[0]  # strong early enhancement
    assert means[5] < means[1]  # wash-out dominated by the rim
    fat_means = [float(sitk.GetArrayFromImage(small.image(p))[fat].mean()) for p in (0, 5)]
    assert abs(fat_means[1] / fat_means[0] - 1) < 0.1
    air = float(sitk.GetArrayFromImage(small.image(0))[small.tissue == ph.TISSUES["air"]].mean())
    assert air < 20


def test_peritumoral_enhancement_knob_changes_only_the_surroundings():
    low = ph.make_phantom("small", seed=4, peritumoral_enhancement=0.0)
    high = ph.make_phantom("small", seed=4, peritumoral_enhancement=1.0)
    assert np.array_equal(low.tissue, high.tissue)
    changed = low.amplitude != high.amplitude
    assert changed.any() and not np.any(changed & (low.tissue == ph.TISSUES["lesion"]))


def test_full_size_spec_and_bad_specs():
    assert ph.SIZES["full"] == ((448, 448, 160), (0.8, 0.8, 1.5))
    assert len(ph.PHASE_TIMES_S) == 6
    with pytest.raises(InputError, match="size"):
        ph.PhantomSpec(size="huge")
    with pytest.raises(InputError, match="phase"):
        ph.make_phantom("small", 0).image(6)
