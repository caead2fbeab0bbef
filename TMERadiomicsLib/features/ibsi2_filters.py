"""Opt-in IBSI-2-conformant LoG and wavelet images (``ibsi2: true`` on the image type).

PyRadiomics' own filters depart from IBSI 2 (docs/ibsi.md, "IBSI 2"):

- its LoG is SimpleITK's recursive Gaussian with ``SetNormalizeAcrossScale``,
  i.e. multiplied by (sigma / spacing)^2, and not truncated at 4 sigma;
- its wavelet level 2 re-applies the undilated level-1 filters to the
  level-1 approximation, where the stationary transform dilates them
  (a trous), and its borders are always periodic.

With ``ibsi2: true`` under ``LoG`` or ``Wavelet`` in a preset's
``imageType``, these generators replace PyRadiomics' for that image type.
They yield the same image names with the same keyword arguments, so the
feature columns keep their names. Without the key nothing changes: the
PyRadiomics generators run as before.

Settings read (besides PyRadiomics' ``sigma``, ``wavelet``, ``level``,
``start_level``): ``ibsi2Padding`` — ``mirror`` (default), ``zero``,
``nearest`` or ``periodic`` (IBSI 2's boundary conditions), and, for
wavelets, ``ibsi2RotationInvariant`` (mean over the 24 right-angle
rotations). ``load_preset`` checks them (``presets._own_settings``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import SimpleITK as sitk

IBSI2_KEY = "ibsi2"
PADDING_KEY = "ibsi2Padding"
# IBSI 2 boundary condition -> numpy.pad mode. IBSI's "mirror" repeats the
# edge voxel (d c b a | a b c d): numpy's "symmetric", scipy's "reflect".
PADDINGS = {"mirror": "symmetric", "zero": "constant", "nearest": "edge", "periodic": "wrap"}
TRUNCATE_SIGMAS = 4.0  # IBSI 2 truncates the LoG kernel at 4 sigma
ROTATION_KEY = "ibsi2RotationInvariant"
OWN_KEYS = (IBSI2_KEY, PADDING_KEY, ROTATION_KEY)


def enabled(kwargs: dict[str, Any]) -> bool:
    """Whether an image type's settings ask for the IBSI-2 filters."""
    return bool(kwargs.get(IBSI2_KEY, False))


def padding_mode(kwargs: dict[str, Any]) -> str:
    name = kwargs.get(PADDING_KEY, "mirror")
    if name not in PADDINGS:
        # Presets are checked when loaded (presets.py); this guards direct callers.
        raise ValueError(f"{PADDING_KEY} must be one of {sorted(PADDINGS)}, not {name!r}")
    return PADDINGS[name]


def getLoGImage(inputImage: sitk.Image, inputMask: sitk.Image, **kwargs: Any) -> Iterator[tuple[sitk.Image, str, dict]]:
    """IBSI-2 LoG per sigma (mm): the Laplacian of a normalised Gaussian on the voxel
    grid (sigma converted to voxels, derivatives per voxel, as IBSI's reference maps
    are), kernel truncated at 4 sigma, with IBSI padding."""
    array = sitk.GetArrayFromImage(inputImage).astype(np.float64)
    spacing = np.array(inputImage.GetSpacing())[::-1]  # numpy axis order (z, y, x)
    mode = padding_mode(kwargs)
    for sigma in kwargs.get("sigma", []):
        if sigma <= 0:
            continue
        name = "log-sigma-%s-mm-3D" % str(sigma).replace(".", "-")
        yield _like(log_response(array, float(sigma), spacing, mode), inputImage), name, kwargs


def log_response(array: np.ndarray, sigma_mm: float, spacing: np.ndarray, mode: str) -> np.ndarray:
    """Convolve with the sampled IBSI LoG kernel (separable sum of 1-D terms)."""
    sigmas = sigma_mm / spacing
    radii = [int(np.ceil(TRUNCATE_SIGMAS * s)) for s in sigmas]
    padded = np.pad(array, [(r, r) for r in radii], mode=mode)
    gauss = [_gaussian(s, r) for s, r in zip(sigmas, radii)]
    second = [_gaussian_second_derivative(s, r) for s, r in zip(sigmas, radii)]
    result = np.zeros(array.shape)
    for axis in range(array.ndim):
        term = padded
        for other in range(array.ndim):
            kernel = second[other] if other == axis else gauss[other]
            term = _convolve_valid(term, kernel, other)
        result += term
    return result


def _gaussian(sigma: float, radius: int) -> np.ndarray:
    x = np.arange(-radius, radius + 1, dtype=float)
    return np.exp(-(x**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)


def _gaussian_second_derivative(sigma: float, radius: int) -> np.ndarray:
    # Per voxel, as IBSI's reference maps are (PyRadiomics' value is this times
    # (sigma / spacing)^2). The Gaussian's normalisation is analytic, as IBSI defines it.
    x = np.arange(-radius, radius + 1, dtype=float)
    return (x**2 / sigma**4 - 1 / sigma**2) * _gaussian(sigma, radius)


def _convolve_valid(array: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """1-D convolution along ``axis`` keeping only fully covered samples."""
    moved = np.moveaxis(array, axis, -1)
    n = moved.shape[-1] - len(kernel) + 1
    out = np.zeros(moved.shape[:-1] + (n,))
    for k, weight in enumerate(kernel[::-1]):  # the kernels are symmetric; reversed for correctness anyway
        out += weight * moved[..., k:k + n]
    return np.moveaxis(out, -1, axis)


def getWaveletImage(inputImage: sitk.Image, inputMask: sitk.Image, **kwargs: Any) -> Iterator[tuple[sitk.Image, str, dict]]:
    """Stationary wavelet images with dilated (a trous) filters at every level and IBSI padding,
    named as PyRadiomics names them (``wavelet-LLH``, ``wavelet2-HHH``, ... and the last ``LLL``)."""
    import pywt

    wavelet = pywt.Wavelet(kwargs.get("wavelet", "coif1"))
    level, start = int(kwargs.get("level", 1)), int(kwargs.get("start_level", 0))
    array = sitk.GetArrayFromImage(inputImage).astype(np.float64)
    mode = padding_mode(kwargs)
    if kwargs.get(ROTATION_KEY, False):
        levels = _rotation_average(array, lambda rotated: swt_levels(rotated, wavelet, start + level, mode))
    else:
        levels = swt_levels(array, wavelet, start + level, mode)
    for index, details in enumerate(levels[start:], start=1):
        prefix = "wavelet-" if index == 1 else f"wavelet{index}-"
        for decomposition, image in details.items():
            if decomposition != "LLL":
                yield _like(image, inputImage), prefix + decomposition, kwargs
    last = "wavelet-LLL" if level == 1 else f"wavelet{level}-LLL"
    yield _like(levels[-1]["LLL"], inputImage), last, kwargs


def swt_levels(array: np.ndarray, wavelet, levels: int, mode: str) -> list[dict[str, np.ndarray]]:
    """Every decomposition of levels 1..``levels``, keyed x-y-z as PyRadiomics keys them
    (``"LHL"``: low-pass along x, high along y, low along z)."""
    import pywt

    # Pad by the widest dilated support, then to a multiple of 2^levels (pywt's
    # requirement); the transform is periodic on the padded array, so the padding
    # sets the boundary condition.
    support = (wavelet.dec_len - 1) * (2**levels - 1)
    pads = []
    for n in array.shape:
        extra = (-(n + 2 * support)) % (2**levels)
        pads.append((support, support + extra))
    padded = np.pad(array, pads, mode=mode)
    axes = tuple(range(array.ndim - 1, -1, -1))  # x, y, z: PyRadiomics' key order
    coefficients = pywt.swtn(padded, wavelet, level=levels, axes=axes, trim_approx=False)
    window = tuple(slice(before, before + n) for (before, _), n in zip(pads, array.shape))
    result = []
    for per_level in reversed(coefficients):  # pywt lists the coarsest level first
        result.append({key.replace("a", "L").replace("d", "H"): value[window] for key, value in per_level.items()})
    return result


def _rotation_average(array: np.ndarray, transform) -> list[dict[str, np.ndarray]]:
    """IBSI 2's rotation invariance: the mean response over the 24 right-angle
    rotations of the volume, each response rotated back before averaging."""
    total = None
    rotations = _rotations_3d()
    for forward, backward in rotations:
        levels = transform(forward(array))
        back = [{key: backward(value) for key, value in per_level.items()} for per_level in levels]
        total = back if total is None else [{k: t[k] + b[k] for k in t} for t, b in zip(total, back)]
    return [{k: v / len(rotations) for k, v in per_level.items()} for per_level in total]


def _rotations_3d():
    """The 24 proper rotations of a cube as (forward, inverse) array maps."""
    maps = []
    # Point each of the 6 faces up (axis 0), then turn about axis 0 four times.
    faces = [(0, (1, 2)), (1, (0, 2)), (2, (0, 2)), (3, (0, 2)), (1, (0, 1)), (3, (0, 1))]
    for times, plane in faces:
        for turn in range(4):
            def forward(a, times=times, plane=plane, turn=turn):
                return np.rot90(np.rot90(a, times, plane), turn, (1, 2))

            def backward(a, times=times, plane=plane, turn=turn):
                return np.rot90(np.rot90(a, -turn, (1, 2)), -times, plane)
            maps.append((forward, backward))
    return maps


def _like(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(reference)
    return image
