"""Masks as hospitals store them: DICOM SEG (read with highdicom) and RTSTRUCT (read with pydicom).

Both define their own frame of reference (patient coordinates), so their
segments are placed onto the image by geometry, not by voxel index:

- a SEG becomes an image on its own grid, from highdicom's volume affine;
  ``segments.read_segments`` resamples it onto the image when the grids differ;
- an RTSTRUCT's planar contours are rasterised directly onto the image grid:
  a voxel belongs to a structure when its centre lies inside an odd number of
  the structure's contours on its slice (even-odd rule, so an inner contour is a
  hole). Contours must lie in the image's slice planes.

Why no RTSTRUCT library: rt-utils 1.2.7, the newest on PyPI, swaps the row and
column spacings and transposes non-square slices (its masks disagree with an
independent rasterisation in ``Testing/test_dicom_masks.py``), and
dicompyler-core 0.5.6 does not import with pydicom 3. pydicom parses the file;
the rasterisation is the few lines below, checked against analytic shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from .dicom_support import PathLike, require_highdicom

# A contour point farther than this fraction of a slice from the slice plane
# means the structure was drawn on other slices than the image's.
PLANE_TOLERANCE_SLICES = 0.25


def read_seg(path: PathLike, *, case_id: str | None = None) -> list[tuple[int, str, sitk.Image]]:
    """(segment number, label, UInt8 mask on the SEG's own grid) for every segment of a DICOM SEG."""
    require_highdicom("a DICOM SEG mask", file=path, case_id=case_id)
    import highdicom as hd  # noqa: PLC0415

    try:
        seg = hd.seg.segread(path)
        numbers = list(seg.segment_numbers)
    except (ValueError, AttributeError, KeyError, TypeError, OSError) as error:
        raise InputError(f"cannot read DICOM SEG ({error})", file=Path(path), case=case_id) from None
    found = []
    for number in numbers:
        label = str(seg.get_segment_description(number).segment_label)
        try:
            volume = seg.get_volume(segment_numbers=[number], combine_segments=True, relabel=True)
        except (ValueError, RuntimeError) as error:
            raise InputError(f"DICOM SEG segment {number} ({label!r}) is not a regular 3-D volume ({error})",
                             file=Path(path), case=case_id) from None
        found.append((int(number), label, _volume_image(volume.array, volume.affine)))
    return found


def _volume_image(array: np.ndarray, affine: np.ndarray) -> sitk.Image:
    """A highdicom volume (array indexed slice, row, column; affine from those indices to patient
    coordinates) as a SimpleITK image indexed (column, row, slice)."""
    columns = np.asarray(affine, dtype=float)[:3, [2, 1, 0]]  # x = column, y = row, z = slice
    spacing = np.linalg.norm(columns, axis=0)
    image = sitk.GetImageFromArray((np.asarray(array) > 0).astype(np.uint8))
    image.SetSpacing([float(s) for s in spacing])
    image.SetDirection([float(v) for v in (columns / spacing).ravel()])
    image.SetOrigin([float(v) for v in np.asarray(affine, dtype=float)[:3, 3]])
    return image


def read_rtstruct(path: PathLike, reference: sitk.Image, *,
                  case_id: str | None = None) -> list[tuple[int, str, sitk.Image]]:
    """(ROI number, ROI name, UInt8 mask on ``reference``'s grid) for every ROI with closed planar contours."""
    require_highdicom("an RTSTRUCT mask", file=path, case_id=case_id)
    import pydicom  # noqa: PLC0415

    try:
        ds = pydicom.dcmread(path)
        names = {int(roi.ROINumber): str(roi.ROIName) for roi in ds.StructureSetROISequence}
        contours = {int(item.ReferencedROINumber): list(getattr(item, "ContourSequence", []))
                    for item in ds.ROIContourSequence}
    except (AttributeError, ValueError, TypeError, OSError) as error:
        raise InputError(f"cannot read RTSTRUCT ({error})", file=Path(path), case=case_id) from None
    found = []
    for number, name in names.items():
        planar = [c for c in contours.get(number, []) if str(getattr(c, "ContourGeometricType", "")) == "CLOSED_PLANAR"]
        if not planar:
            continue  # points or open contours outline no volume
        found.append((number, name, _rasterise(planar, reference, name, path, case_id)))
    return found


def _rasterise(contours: list, reference: sitk.Image, name: str, path: PathLike, case_id: str | None) -> sitk.Image:
    size = np.array(reference.GetSize())
    mask = np.zeros(size[::-1], dtype=bool)  # (z, y, x)
    spacing = np.array(reference.GetSpacing())
    to_index = np.linalg.inv(np.array(reference.GetDirection()).reshape(3, 3)) / spacing[:, None]
    origin = np.array(reference.GetOrigin())
    for contour in contours:
        points = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
        index = (points - origin) @ to_index.T  # continuous (i, j, k)
        k = int(round(float(index[:, 2].mean())))
        if np.abs(index[:, 2] - k).max() > PLANE_TOLERANCE_SLICES:
            raise InputError(f"RTSTRUCT structure {name!r} has a contour off the image's slice planes; "
                             "it was drawn on another series", file=Path(path), case=case_id)
        if not 0 <= k < size[2]:
            raise InputError(f"RTSTRUCT structure {name!r} has a contour outside the image (slice {k} of "
                             f"0..{size[2] - 1})", file=Path(path), case=case_id)
        mask[k] ^= _polygon_centres(index[:, 0], index[:, 1], size[0], size[1])
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(reference)
    return image


def _polygon_centres(xs: np.ndarray, ys: np.ndarray, width: int, height: int) -> np.ndarray:
    """Voxel centres (integer i, j) inside the polygon, even-odd rule, as a (height, width) array.

    Row by row: the polygon's edges cross the line y = j at some x; a centre
    (i, j) is inside when an odd number of crossings lie left of it.
    """
    inside = np.zeros((height, width), dtype=bool)
    x0, y0 = xs, ys
    x1, y1 = np.roll(xs, -1), np.roll(ys, -1)
    rows = np.arange(max(0, int(np.ceil(ys.min()))), min(height, int(np.floor(ys.max())) + 1))
    columns = np.arange(width)
    for j in rows:
        spans = ((y0 <= j) & (y1 > j)) | ((y1 <= j) & (y0 > j))  # half-open: a vertex on the line counts once
        if not spans.any():
            continue
        crossings = np.sort(x0[spans] + (j - y0[spans]) * (x1[spans] - x0[spans]) / (y1[spans] - y0[spans]))
        inside[j] = np.searchsorted(crossings, columns, side="left") % 2 == 1
    return inside
