"""Contour perturbation: plausible re-segmentations when no second reader exists.

A perturbed contour is a level set of the tumour's signed distance map:

    perturbed = { voxels : phi(x) < shift + noise(x) }

- ``phi`` is the signed distance (mm, real voxel spacing, negative inside)
  from each voxel centre to the surface midway between inside and outside
  voxel centres (``regions.signed_distance.midway_distance``, built on SimpleITK's
  SignedMaurerDistanceMap). ``phi < 0`` is exactly the drawn mask.
- ``shift`` (mm) grows (> 0) or shrinks (< 0) the whole contour; drawn
  uniformly from [-max_shift_mm, max_shift_mm], sub-voxel by default.
- ``noise`` is a smooth random field: white noise Gaussian-smoothed with a
  correlation length of ``smoothness_mm`` (in mm, so anisotropic voxels get
  the same physical smoothness), scaled to a standard deviation of
  ``noise_mm``. It moves the boundary locally in and out, as a reader's hand
  does.

Everything is drawn from ``numpy.random.default_rng((seed, i))``: the same
seed gives the same N masks on every machine. The work runs on a crop around
the tumour wide enough for the largest possible displacement, then is pasted
back into the input geometry.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import ndimage
from tqdm import tqdm

from ..errors import InputError
from ..features import Preset, extract_case
from ..regions.options import MEMORY_LIMIT_GB, RegionOptions
from ..regions.signed_distance import midway_distance

log = logging.getLogger(__name__)

# The noise field is bounded in practice by 4 standard deviations; the crop
# keeps that much room (plus the shift) around the tumour.
_NOISE_REACH_SD = 4.0
_CROP_MARGIN_VOXELS = 2


@dataclass(frozen=True)
class PerturbationSettings:
    """How contours are perturbed; ``None`` means half the finest voxel spacing."""

    n: int = 10
    seed: int = 0
    max_shift_mm: float | None = None
    noise_mm: float | None = None
    smoothness_mm: float = 3.0

    def resolved(self, spacing: tuple[float, ...]) -> "PerturbationSettings":
        half_voxel = 0.5 * min(spacing)
        return PerturbationSettings(
            n=self.n,
            seed=self.seed,
            max_shift_mm=half_voxel if self.max_shift_mm is None else self.max_shift_mm,
            noise_mm=half_voxel if self.noise_mm is None else self.noise_mm,
            smoothness_mm=self.smoothness_mm,
        )


@dataclass(frozen=True)
class Perturbation:
    """One perturbed tumour mask and the draw that made it."""

    index: int
    shift_mm: float
    mask: sitk.Image
    voxels: int
    dice: float


def perturbed_masks(
    tumour: sitk.Image, settings: PerturbationSettings = PerturbationSettings(), *, case_id: str | None = None
) -> list[Perturbation]:
    """``settings.n`` seeded perturbations of a binary tumour mask."""
    _check(tumour, settings, case_id)
    settings = settings.resolved(tumour.GetSpacing())
    field = DistanceField(tumour, settings.max_shift_mm + _NOISE_REACH_SD * settings.noise_mm, case_id=case_id)
    result = []
    for index in range(settings.n):
        rng = np.random.default_rng((settings.seed, index))
        shift = float(rng.uniform(-settings.max_shift_mm, settings.max_shift_mm))
        mask = field.perturb(shift, settings.noise_mm, settings.smoothness_mm, rng)
        result.append(Perturbation(index, shift, mask, _voxels(mask), dice(tumour, mask)))
        log.info("case %s perturbation %d: shift %.3f mm, Dice %.3f", case_id, index, shift, result[-1].dice)
    return result


class DistanceField:
    """The tumour's signed distance map on a crop, computed once, cut at any level.

    ``reach_mm`` is the largest outward displacement that will be asked for:
    the crop keeps that much room around the tumour (clipped to the image).
    """

    def __init__(self, tumour: sitk.Image, reach_mm: float, *, case_id: str | None = None) -> None:
        self.reference = tumour
        self.case_id = case_id
        self.reach_mm = reach_mm
        array = sitk.GetArrayFromImage(tumour) > 0
        self.shape = array.shape
        self.spacing_zyx = np.array(tumour.GetSpacing()[::-1])
        self.window = _crop(array, self.spacing_zyx, reach_mm)
        crop = sitk.GetImageFromArray(array[self.window].astype(np.uint8))
        crop.SetSpacing(tumour.GetSpacing())
        self.phi = midway_distance(crop)

    def perturb(
        self,
        shift_mm: float,
        noise_mm: float = 0.0,
        smoothness_mm: float = 3.0,
        rng: np.random.Generator | None = None,
    ) -> sitk.Image:
        """The mask ``phi < shift_mm + noise`` (UInt8, the tumour's geometry)."""
        if abs(shift_mm) + _NOISE_REACH_SD * noise_mm > self.reach_mm + 1e-9:
            raise ValueError("displacement larger than the reach this field was cropped for")
        noise = _smooth_noise(self.phi.shape, self.spacing_zyx, noise_mm, smoothness_mm, rng)
        out = np.zeros(self.shape, dtype=np.uint8)
        out[self.window] = self.phi < shift_mm + noise
        if not out.any():
            raise InputError(
                f"a perturbation (shift {shift_mm:.2f} mm) removed the whole tumour; "
                "use a smaller --max-shift-mm or --noise-mm",
                case=self.case_id,
            )
        image = sitk.GetImageFromArray(out)
        image.CopyInformation(self.reference)
        return image


def _smooth_noise(
    shape: tuple[int, ...],
    spacing_zyx: np.ndarray,
    noise_mm: float,
    smoothness_mm: float,
    rng: np.random.Generator | None,
) -> np.ndarray:
    if noise_mm == 0:
        return np.zeros(shape)
    white = rng.standard_normal(shape)
    # Periodic edges: the crop's border must not smooth differently.
    field = ndimage.gaussian_filter(white, sigma=smoothness_mm / spacing_zyx, mode="wrap")
    return field * (noise_mm / field.std())


def _crop(array: np.ndarray, spacing_zyx: np.ndarray, reach_mm: float) -> tuple[slice, ...]:
    """The tumour's bounding box grown by ``reach_mm`` (+ margin), clipped to the image."""
    where = np.argwhere(array)
    pad = np.ceil(reach_mm / spacing_zyx).astype(int) + _CROP_MARGIN_VOXELS
    lo = np.maximum(where.min(axis=0) - pad, 0)
    hi = np.minimum(where.max(axis=0) + 1 + pad, array.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def _check(tumour: sitk.Image, settings: PerturbationSettings, case_id: str | None) -> None:
    if settings.n < 2:
        raise InputError("at least 2 perturbations are needed for an ICC", case=case_id, value=settings.n)
    for name in ("max_shift_mm", "noise_mm"):
        value = getattr(settings, name)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"{name} must be a finite number >= 0", case=case_id, value=value)
    if not (math.isfinite(settings.smoothness_mm) and settings.smoothness_mm > 0):
        raise InputError("smoothness_mm must be > 0", case=case_id, value=settings.smoothness_mm)
    if _voxels(tumour) == 0:
        raise InputError("tumour mask is empty", case=case_id)
    masks_gb = settings.n * float(np.prod(tumour.GetSize())) / 1e9  # the masks are kept, one byte per voxel
    if masks_gb > MEMORY_LIMIT_GB:
        raise InputError(f"{settings.n} perturbed masks of this image would hold {masks_gb:.1f} GB in memory; the "
                         f"limit is {MEMORY_LIMIT_GB:g} GB", case=case_id, value=settings.n)
    radius = equivalent_radius_mm(tumour)
    for name in ("max_shift_mm", "noise_mm"):
        value = getattr(settings, name)
        if value is not None and value >= radius:
            raise InputError(f"{name} must be smaller than the tumour's equivalent-sphere radius ({radius:.2f} mm): "
                             "larger draws no longer outline this tumour (Dice near 0)", case=case_id, value=value)


def equivalent_radius_mm(mask: sitk.Image) -> float:
    """Radius of the sphere with the mask's volume."""
    volume = _voxels(mask) * float(np.prod(mask.GetSpacing()))
    return (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)


def _voxels(mask: sitk.Image) -> int:
    return int(np.count_nonzero(sitk.GetArrayViewFromImage(mask)))


def dice(a: sitk.Image, b: sitk.Image) -> float:
    """Dice overlap of two binary masks on the same grid."""
    x = sitk.GetArrayViewFromImage(a) > 0
    y = sitk.GetArrayViewFromImage(b) > 0
    return float(2 * np.count_nonzero(x & y) / (np.count_nonzero(x) + np.count_nonzero(y)))


def perturbation_features(
    image: sitk.Image,
    tumour: sitk.Image,
    preset: str | Preset,
    settings: PerturbationSettings = PerturbationSettings(),
    *,
    case_id: str = "case",
    peritumoral_mm: float = 5.0,
    ring_mm: float = 2.0,
    progress: bool = False,
) -> tuple[pd.DataFrame, list[Perturbation]]:
    """Regions rebuilt and features extracted for every perturbation of one case.

    Returns the tidy table ``case_id, perturbation, region, feature, value``
    and the perturbations themselves.
    """
    options = RegionOptions(peritumoral_mm=peritumoral_mm, ring_mm=ring_mm)
    options.check_against(case_id, tumour)  # band widths refused before any mask is drawn
    perturbations = perturbed_masks(tumour, settings, case_id=case_id)
    tables = []
    for item in tqdm(perturbations, desc=f"perturbations of {case_id}", unit="mask", disable=None if progress else True):
        regions = options.build(case_id, image, item.mask)
        table = extract_case(image, regions, preset, case_id=case_id).tidy()
        table.insert(1, "perturbation", item.index)
        tables.append(table)
    return pd.concat(tables, ignore_index=True), perturbations
