"""DCE phase selection, isotropic resampling and intensity normalisation.

- Phase: a DCE study arrives as a 4-D image (x, y, z, t), a multi-component
  3-D image, or a list of 3-D series. Phases are numbered from 0 (the
  pre-contrast scan); the default is ``DEFAULT_PHASE`` = 2, the second
  post-contrast phase that Qian 2024 extracts.
- Resampling (Han 2024: 1 x 1 x 1 mm): images with B-spline or linear
  interpolation, masks with nearest neighbour or a label-Gaussian, on one
  grid covering the same physical extent.
- Z-score (Han 2024): over the whole image or over a mask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..dce import DEFAULT_PHASE
from ..errors import InputError
from .checks import check_dicom_files, check_read, check_regular
from .dicom_series import SeriesInfo, dce_phases, list_series, read_series
from .images import check_image, read_any

IMAGE_INTERPOLATORS = {"bspline": sitk.sitkBSpline, "linear": sitk.sitkLinear}
MASK_INTERPOLATORS = {"nearest": sitk.sitkNearestNeighbor, "label_gaussian": sitk.sitkLabelGaussian}


def select_phase(dce: sitk.Image | Sequence[sitk.Image], phase: int = DEFAULT_PHASE, *, file=None, case_id=None) -> sitk.Image:
    """One 3-D phase from a 4-D image, a multi-component image or a list of phases."""
    if isinstance(dce, sitk.Image):
        count = _phase_count(dce)
        _check_phase(phase, count, file, case_id)
        if dce.GetNumberOfComponentsPerPixel() > 1:
            return sitk.VectorIndexSelectionCast(dce, phase)
        if dce.GetDimension() == 4:
            size = list(dce.GetSize())
            size[3] = 0
            return sitk.Extract(dce, size=size, index=[0, 0, 0, phase])
        return dce
    _check_phase(phase, len(dce), file, case_id)
    return dce[phase]


def _phase_count(image: sitk.Image) -> int:
    if image.GetNumberOfComponentsPerPixel() > 1:
        return image.GetNumberOfComponentsPerPixel()
    if image.GetDimension() == 4:
        return image.GetSize()[3]
    return 1


def _check_phase(phase: int, count: int, file, case_id) -> None:
    if not 0 <= phase < count:
        raise InputError(f"DCE phase must lie in 0..{count - 1}", file=file, case=case_id, value=phase)


def read_dce(paths: str | os.PathLike | Sequence[str | os.PathLike], phase: int = DEFAULT_PHASE, *, case_id=None,
             phase_chosen: bool = False, series: str | None = None) -> sitk.Image:
    """Read one DCE phase from a 4-D file, a DICOM folder of phase series, or one file or folder per phase.

    A single-phase file is the image itself; with ``phase_chosen`` (the user
    named a phase) it is an error rather than a phase silently ignored. A
    DICOM folder whose series share one grid is a DCE study: its series are
    ordered into phases (``dicom_series.dce_phases``) unless ``series`` picks one.
    """
    if isinstance(paths, (str, os.PathLike)):
        study = dce_study(paths, series, case_id=case_id)
        if study is not None:
            phases = study[0]
            _check_phase(phase, len(phases), paths, case_id)
            check_dicom_files(Path(paths), list(phases[phase].files), case_id=case_id,
                              other_series_files=[f for p in phases for f in p.files])
            try:
                image = read_series(phases[phase])
            except RuntimeError as error:
                reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown"
                raise InputError(f"cannot read DCE phase {phase} ({reason})", file=paths, case=case_id) from None
            check_read(image, Path(paths), what="image", case_id=case_id)
            check_image(image, file=paths, case_id=case_id)
            return image
        image = read_any(paths, case_id=case_id, series=series)
        if _phase_count(image) > 1:
            image = select_phase(image, phase, file=paths, case_id=case_id)
        elif phase_chosen:
            raise InputError("--phase applies to 4-D (multi-phase) images; this image has one phase, so leave "
                             "--phase out", file=paths, case=case_id, value=phase)
        check_image(image, file=paths, case_id=case_id)
        return image
    paths = list(paths)
    _check_phase(phase, len(paths), paths[0] if paths else None, case_id)
    image = read_any(paths[phase], case_id=case_id)
    check_image(image, file=paths[phase], case_id=case_id)
    return image


def isotropic_reference(image: sitk.Image, spacing_mm: float = 1.0) -> sitk.Image:
    """An empty grid with cubic voxels covering the same physical extent as ``image``."""
    if not np.isfinite(spacing_mm) or spacing_mm <= 0:
        raise InputError("resampling spacing must be a positive number of mm", value=spacing_mm)
    extent = np.array(image.GetSize()) * np.array(image.GetSpacing())
    size = [max(1, int(round(e / spacing_mm))) for e in extent]
    reference = sitk.Image(size, sitk.sitkUInt8)
    reference.SetSpacing([spacing_mm] * 3)
    reference.SetDirection(image.GetDirection())
    # Keep the outer edge of the field of view where it was: the first voxel
    # centre moves by half the difference of the old and new spacing.
    shift = (np.array([spacing_mm] * 3) - np.array(image.GetSpacing())) / 2.0
    direction = np.array(image.GetDirection()).reshape(3, 3)
    reference.SetOrigin(tuple(np.array(image.GetOrigin()) + direction @ shift))
    return reference


def resample_image(image: sitk.Image, reference: sitk.Image, interpolator: str = "bspline") -> sitk.Image:
    """Resample an image onto ``reference`` (Float32 out, so B-spline overshoot is kept)."""
    if interpolator not in IMAGE_INTERPOLATORS:
        raise InputError(f"image interpolator must be one of {sorted(IMAGE_INTERPOLATORS)}", value=interpolator)
    return sitk.Resample(
        sitk.Cast(image, sitk.sitkFloat32), reference, sitk.Transform(), IMAGE_INTERPOLATORS[interpolator], 0.0, sitk.sitkFloat32
    )


def resample_mask(mask: sitk.Image, reference: sitk.Image, interpolator: str = "nearest") -> sitk.Image:
    """Resample a binary mask onto ``reference``, UInt8 out."""
    if interpolator not in MASK_INTERPOLATORS:
        raise InputError(f"mask interpolator must be one of {sorted(MASK_INTERPOLATORS)}", value=interpolator)
    return sitk.Resample(mask, reference, sitk.Transform(), MASK_INTERPOLATORS[interpolator], 0, sitk.sitkUInt8)


def zscore(image: sitk.Image, mask: sitk.Image | None = None) -> sitk.Image:
    """(I - mean) / sd, the statistics taken over ``mask`` when given, else the whole image."""
    array = sitk.GetArrayFromImage(image).astype(np.float64)
    values = array[sitk.GetArrayViewFromImage(mask).astype(bool)] if mask is not None else array
    sd = values.std()
    if values.size == 0 or sd == 0:
        raise InputError("cannot z-score a constant image (standard deviation 0)", value=float(values.mean()) if values.size else None)
    out = sitk.GetImageFromArray(((array - values.mean()) / sd).astype(np.float32))
    out.CopyInformation(image)
    return out


def dce_study(path: str | os.PathLike, series: str | None = None, *,
              case_id: str | None = None) -> tuple[list[SeriesInfo], str] | None:
    """The phases of a DICOM folder holding a DCE study (several series on one grid) and what ordered
    them; None for a file, a folder of one series, or when ``series`` picks one."""
    folder = Path(path)
    if series is not None or not folder.is_dir():
        return None
    check_regular(folder, what="image", case_id=case_id)  # a FIFO in the folder is refused before GDCM looks
    return dce_phases(list_series(folder, case_id=case_id))
