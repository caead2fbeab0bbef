"""Reading images and masks, and checking that they fit together.

Everything read here is validated at the boundary, so the rest of the library
can assume a 3-D scalar image with finite intensities and a binary UInt8 mask
on the same grid. Every failure is an ``InputError`` naming the file, the case
and the offending value. What a file's header promises is compared with the
file before ITK decodes it (``checks``, ``headers``): ITK alone
reads a truncated NIfTI with zeros and a NIfTI pixdim of 0 as 1 mm.

Images are written through ``write_image``, which drops the metadata
dictionary: a DICOM series read here carries patient tags, and none of them
may reach an output file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Union

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from .checks import check_dicom_files, check_file, check_read, check_regular

PathLike = Union[str, os.PathLike]  # not `|`: evaluated at import, and Slicer 5.8 runs Python 3.9

# Relative tolerance on spacing and absolute tolerances on origin (mm) and
# direction cosines within which two grids count as the same. Scanner exports
# round these differently, so bit equality would refuse legitimate pairs.
SPACING_RTOL = 1e-4
ORIGIN_ATOL_MM = 1e-3
DIRECTION_ATOL = 1e-4


def read_any(path: PathLike, *, case_id: str | None = None, what: str = "image",
             series: str | None = None) -> sitk.Image:
    """Read an NRRD, NIfTI, MHA file or a DICOM series folder (``series`` picks one of several).

    The file is checked before ITK opens it and what ITK read is checked
    after (``checks``): a non-regular file, a decoded size over budget,
    a non-real voxel type, a bad spacing or truncated voxel data are refused
    naming the file as ``what`` ("image", "mask"...). Intensities and
    dimensions are left to ``check_image`` and ``read_mask``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=path, case=case_id)
    is_folder = check_regular(path, what=what, case_id=case_id)
    try:
        with itk_warnings_off():
            if is_folder:
                image = _read_dicom_series(path, case_id, series)
            else:
                check_file(path, what=what, case_id=case_id)
                image = sitk.ReadImage(str(path))
    except RuntimeError as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown"
        raise InputError(f"cannot read {what} ({reason})", file=path, case=case_id) from None
    check_read(image, path, what=what, case_id=case_id)
    return image


@contextlib.contextmanager
def itk_warnings_off() -> Iterator[None]:
    """Silence ITK's C++ warnings (e.g. GDCM's "No Series were found" on a folder
    of non-DICOM files): what went wrong reaches the user as an ``InputError``."""
    previous = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(previous)


def _read_dicom_series(folder: Path, case_id: str | None, selector: str | None = None) -> sitk.Image:
    from .dicom_series import list_series, listing, pick_series, read_series  # noqa: PLC0415

    series = list_series(folder, case_id=case_id)
    if not series:
        raise InputError("folder holds no DICOM series", file=folder, case=case_id)
    if selector is not None:
        chosen = pick_series(series, selector, folder=folder, case_id=case_id)
    elif len(series) > 1:
        raise InputError(
            f"folder holds {len(series)} DICOM series ({listing(series)}); pick one with "
            "--series UID|NUMBER|DESCRIPTION (series on one grid are read as DCE phases by commands with --phase)",
            file=folder,
            case=case_id,
            value=len(series),
        )
    else:
        chosen = series[0]
    check_dicom_files(folder, list(chosen.files), case_id=case_id,
                      other_series_files=[f for s in series for f in s.files])
    return read_series(chosen)


def read_image(path: PathLike, *, case_id: str | None = None) -> sitk.Image:
    """Read a 3-D scalar image and check its intensities are finite."""
    image = read_any(path, case_id=case_id)
    check_image(image, file=path, case_id=case_id)
    return image


def check_image(image: sitk.Image, *, file: PathLike | None = None, case_id: str | None = None) -> None:
    """Refuse anything but a 3-D, single-component image with finite values."""
    if image.GetDimension() != 3:
        raise InputError(
            f"image must be 3-D, this one is {image.GetDimension()}-D",
            file=file,
            case=case_id,
            value=image.GetSize(),
        )
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            "image has several components per voxel; select one DCE phase first",
            file=file,
            case=case_id,
            value=image.GetNumberOfComponentsPerPixel(),
        )
    array = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(array.dtype, np.floating):
        bad = ~np.isfinite(array)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0][::-1])
            raise InputError(
                f"image holds {int(bad.sum())} NaN or infinite intensities, first at voxel (i,j,k)={first}",
                file=file,
                case=case_id,
                value=array[first[::-1]],
            )


def read_mask(
    path: PathLike,
    *,
    reference: sitk.Image | None = None,
    label: int | None = None,
    case_id: str | None = None,
    resample: bool = False,
    allow_empty: bool = False,
    segment: str | None = None,
) -> sitk.Image:
    """Read a mask and return it as a binary UInt8 image.

    ``label`` selects one value of a label map; without it the mask must hold
    only 0 and one other value. With a ``reference`` image the mask must share
    its grid, or, when ``resample`` is true, it is resampled onto it with
    nearest-neighbour interpolation (an explicit choice, never silent).
    An empty mask is an error unless ``allow_empty`` (exclusion masks may be).
    A DICOM SEG, RTSTRUCT or ``.seg.nrrd`` is read by ``segments.read_tumour``:
    ``segment`` (a name or number) or ``label`` (a number) picks one segment.
    """
    from .segments import is_segment_file, read_tumour  # noqa: PLC0415 - segments imports this module

    if segment is not None or is_segment_file(path):
        return read_tumour(path, reference=reference, label=label, segment=segment, case_id=case_id,
                           resample=resample, allow_empty=allow_empty).mask
    mask = read_any(path, case_id=case_id, what="mask")
    return as_binary_mask(
        mask, reference=reference, label=label, file=path, case_id=case_id, resample=resample, allow_empty=allow_empty
    )


def as_binary_mask(
    mask: sitk.Image,
    *,
    reference: sitk.Image | None = None,
    label: int | None = None,
    file: PathLike | None = None,
    case_id: str | None = None,
    resample: bool = False,
    allow_empty: bool = False,
) -> sitk.Image:
    """Validate an in-memory mask the way ``read_mask`` validates a file."""
    if mask.GetDimension() != 3 or mask.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("mask must be a 3-D single-component image", file=file, case=case_id, value=mask.GetSize())
    binary = _select_label(mask, label, file, case_id)
    if reference is not None:
        _check_overlap(binary, reference, file, case_id)
        if not same_geometry(binary, reference):
            if not resample:
                raise InputError(
                    "mask and image have different geometry "
                    f"({geometry_difference(binary, reference)}); "
                    "use --resample-mask to resample the mask onto the image",
                    file=file,
                    case=case_id,
                )
            binary = resample_onto(binary, reference, sitk.sitkNearestNeighbor)
    if not allow_empty and not np.any(sitk.GetArrayViewFromImage(binary)):
        where = "after resampling onto the image" if reference is not None and resample else ""
        raise InputError(f"mask is empty {where}".strip(), file=file, case=case_id)
    return binary


def _select_label(mask: sitk.Image, label: int | None, file, case_id) -> sitk.Image:
    array = sitk.GetArrayViewFromImage(mask)
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        raise InputError("mask holds NaN or infinite values", file=file, case=case_id)
    values = _values(array)
    if label is None:
        nonzero = values[values != 0]
        if nonzero.size > 1:
            raise InputError(
                "mask is not binary; choose one value with --label (or --segment), or use --each-segment",
                file=file,
                case=case_id,
                value=f"labels {_shown(nonzero)}",
            )
        if array.dtype == np.uint8 and values[-1] <= 1:
            # Already a 0/1 UInt8 mask: SimpleITK's copy shares the buffer until
            # written, so this skips two full-field-of-view copies.
            return sitk.Image(mask)
        selected = array != 0
    else:
        if label == 0:
            # 0 is what every mask format calls outside: taking it would make the
            # whole field of view around the tumour "the tumour".
            raise InputError(
                "--label 0 selects the background, not a region; choose one of the mask's labels",
                file=file,
                case=case_id,
                value=f"labels {_shown(values[values != 0])}",
            )
        if label not in values:
            raise InputError(
                f"label {label} does not occur in the mask",
                file=file,
                case=case_id,
                value=f"labels {_shown(values[values != 0])}",
            )
        selected = array == label
    binary = sitk.GetImageFromArray(selected.astype(np.uint8))
    binary.CopyInformation(mask)
    return binary


def _shown(labels: np.ndarray) -> str:
    """The first ten labels, for a message; "none" for an empty mask."""
    text = ", ".join(str(v) for v in labels[:10]) or "none"
    return text + (f" and {labels.size - 10} more" if labels.size > 10 else "")


def _values(array: np.ndarray) -> np.ndarray:
    """``np.unique(array)``; a binary integer mask takes two fast passes (min, max) instead of a full sort."""
    if np.issubdtype(array.dtype, np.integer):
        low, high = array.min().item(), array.max().item()
        if high - low <= 1:  # integers: every value is low or high, and both occur
            return np.unique(np.array([low, high], dtype=array.dtype))
    return np.unique(array)


def _check_overlap(mask: sitk.Image, reference: sitk.Image, file, case_id) -> None:
    """A mask whose foreground lies wholly outside the image is an error of its own.

    The foreground's index bounding box is mapped through physical space into
    the reference's continuous index space; no intersection with the
    reference's voxel extent means no voxel of the mask can fall inside.
    """
    box = bounding_box(sitk.GetArrayViewFromImage(mask))
    if box is None:
        return
    low, high = box[0][::-1], box[1][::-1] - 1
    corners = [(x, y, z) for x in (low[0], high[0]) for y in (low[1], high[1]) for z in (low[2], high[2])]
    mapped = np.array([
        reference.TransformPhysicalPointToContinuousIndex(mask.TransformIndexToPhysicalPoint([int(c) for c in corner]))
        for corner in corners
    ])
    size = np.array(reference.GetSize())
    if np.any(mapped.max(0) < -0.5) or np.any(mapped.min(0) > size - 0.5):
        raise InputError("mask lies outside the image", file=file, case=case_id)


def bounding_box(array: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """[lo, hi) of the non-zero voxels in numpy (z, y, x) order, or None when there are none.

    Projections instead of ``argwhere``: the slab test touches the volume
    once and the rest only the foreground's slab, so a small tumour in a large
    field of view stays cheap (``argwhere`` on a 448 x 448 x 160 mask: 0.12 s).
    """
    zs = np.flatnonzero(array.reshape(array.shape[0], -1).any(axis=1))
    if zs.size == 0:
        return None
    slab = array[zs[0] : zs[-1] + 1]
    ys = np.flatnonzero(slab.any(axis=(0, 2)))
    xs = np.flatnonzero(slab.any(axis=(0, 1)))
    lo = np.array([zs[0], ys[0], xs[0]])
    hi = np.array([zs[-1], ys[-1], xs[-1]]) + 1
    return lo, hi


def same_geometry(a: sitk.Image, b: sitk.Image) -> bool:
    """True when two images share size, spacing, origin and direction within tolerance."""
    return geometry_difference(a, b) == ""


def geometry_difference(a: sitk.Image, b: sitk.Image) -> str:
    """A short description of how two grids differ; empty when they match."""
    if a.GetSize() != b.GetSize():
        return f"size {a.GetSize()} vs {b.GetSize()}"
    if not np.allclose(a.GetSpacing(), b.GetSpacing(), rtol=SPACING_RTOL, atol=0):
        return f"spacing {_fmt(a.GetSpacing())} vs {_fmt(b.GetSpacing())}"
    if not np.allclose(a.GetOrigin(), b.GetOrigin(), rtol=0, atol=ORIGIN_ATOL_MM):
        return f"origin {_fmt(a.GetOrigin())} vs {_fmt(b.GetOrigin())}"
    if not np.allclose(a.GetDirection(), b.GetDirection(), rtol=0, atol=DIRECTION_ATOL):
        return "direction differs"
    return ""


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def resample_onto(image: sitk.Image, reference: sitk.Image, interpolator: int, default: float = 0) -> sitk.Image:
    """Resample ``image`` onto the grid of ``reference`` (identity transform)."""
    return sitk.Resample(image, reference, sitk.Transform(), interpolator, default, image.GetPixelID())


def clean_copy(image: sitk.Image) -> sitk.Image:
    """The same voxels and geometry with an empty metadata dictionary."""
    copy = sitk.Image(image)
    keys = copy.GetMetaDataKeys()
    if keys:
        # A copy shares the original's metadata dictionary until made unique:
        # erasing without this would strip the caller's image as well (SimpleITK 2.5).
        copy.MakeUnique()
    for key in keys:
        copy.EraseMetaData(key)
    return copy


def write_image(image: sitk.Image, path: PathLike, *, compress: bool = True) -> Path:
    """Write an image with its metadata dictionary dropped (no DICOM tags leak)."""
    path = Path(path)
    sitk.WriteImage(clean_copy(image), str(path), useCompression=compress)
    return path
