"""Tumour masks in every form: one segment of a file that may hold several.

A mask file is one of

- a DICOM SEG or an RTSTRUCT (``dicom_masks``): named segments in the
  file's own frame of reference, so they are placed onto the image by
  geometry (a SEG on another grid is resampled, nearest neighbour; an
  RTSTRUCT is rasterised onto the image grid) without ``--resample-mask``;
- a 3D Slicer ``.seg.nrrd`` (``seg_nrrd``) with one or more named segments;
- a label image (NRRD, NIfTI, MHA...): a binary mask, or a label map whose
  values are the lesions (segment number = label value, name ``label<value>``).

``--segment NAME|NUMBER`` picks one segment (a name is matched ignoring case;
a number is the SEG segment number, RTSTRUCT ROI number, ``.seg.nrrd``
position from 1, or label value), ``--each-segment`` takes every one, with a
case ID per segment from its name (``segment_case_id``). A file with several
segments and neither option is refused, listing them. What was read, and
whether it was resampled, is returned as a ``source`` record for the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..case_ids import check_case_id
from ..errors import InputError
from .checks import check_file, check_regular
from .dicom_support import PathLike, dicom_modality, is_dicom_file, require_highdicom
from .images import as_binary_mask, read_any, same_geometry

SEG_NRRD_SUFFIX = ".seg.nrrd"
OWN_FRAME_KINDS = ("DICOM SEG", "RTSTRUCT")


@dataclass(frozen=True)
class MaskSegment:
    number: int
    name: str
    mask: sitk.Image  # on the file's own grid (an RTSTRUCT's: the image's)


@dataclass(frozen=True)
class MaskFile:
    path: Path
    kind: str  # "DICOM SEG", "RTSTRUCT", "Slicer segmentation", "label image"
    segments: list[MaskSegment]

    @property
    def own_frame(self) -> bool:
        return self.kind in OWN_FRAME_KINDS

    def listing(self) -> str:
        return ", ".join(f"{s.number} {s.name!r}" for s in self.segments[:10]) + (
            f" and {len(self.segments) - 10} more" if len(self.segments) > 10 else "")


@dataclass(frozen=True)
class TumourMask:
    mask: sitk.Image  # UInt8 0/1 on the image grid
    source: dict  # format, segment, grid (no path: a folder may be named after the patient)
    segment: MaskSegment | None = None


def is_segment_file(path: PathLike) -> bool:
    """A file whose segments are read here rather than as one label image."""
    return str(path).lower().endswith(SEG_NRRD_SUFFIX) or is_dicom_file(path)


def read_mask_file(path: PathLike, *, reference: sitk.Image | None = None, case_id: str | None = None) -> MaskFile:
    """Every segment of a mask file (an RTSTRUCT needs ``reference``, the image it is rasterised onto)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=path, case=case_id)
    if is_dicom_file(path):
        return _read_dicom(path, reference, case_id)
    if str(path).lower().endswith(SEG_NRRD_SUFFIX):
        return _read_seg_nrrd(path, case_id)
    image = read_any(path, case_id=case_id, what="mask")
    return MaskFile(path, "label image", _label_segments(image, path, case_id))


def _read_dicom(path: Path, reference: sitk.Image | None, case_id: str | None) -> MaskFile:
    from . import dicom_masks  # noqa: PLC0415 - highdicom and pydicom only for DICOM masks

    require_highdicom("a DICOM mask", file=path, case_id=case_id)
    modality = dicom_modality(path, case_id=case_id)
    if modality == "SEG":
        kind, found = "DICOM SEG", dicom_masks.read_seg(path, case_id=case_id)
    elif modality == "RTSTRUCT":
        if reference is None:
            raise InputError("an RTSTRUCT needs the image it was drawn on", file=path, case=case_id)
        kind, found = "RTSTRUCT", dicom_masks.read_rtstruct(path, reference, case_id=case_id)
    else:
        raise InputError(f"DICOM file is {modality or 'of no modality'}, not a SEG or RTSTRUCT; an image series "
                         "is given as its folder", file=path, case=case_id, value=modality or None)
    if not found:
        raise InputError(f"{kind} holds no segment with a volume", file=path, case=case_id)
    return MaskFile(path, kind, [MaskSegment(number, name, mask) for number, name, mask in found])


def _read_seg_nrrd(path: Path, case_id: str | None) -> MaskFile:
    from .seg_nrrd import read_seg_nrrd  # noqa: PLC0415

    check_regular(path, what="mask", case_id=case_id)
    check_file(path, what="mask", case_id=case_id)
    try:
        segments = read_seg_nrrd(path)
    except (KeyError, ValueError, UnicodeDecodeError, EOFError, OSError) as error:
        raise InputError(f"cannot read Slicer segmentation ({type(error).__name__}: {error})",
                         file=path, case=case_id) from None
    except InputError as error:
        raise InputError(error.args[0], file=path, case=case_id) from None
    if not segments:  # a plain labelled NRRD named .seg.nrrd: read as a label image
        image = read_any(path, case_id=case_id, what="mask")
        return MaskFile(path, "label image", _label_segments(image, path, case_id))
    return MaskFile(path, "Slicer segmentation",
                    [MaskSegment(i, s.name, s.mask) for i, s in enumerate(segments, start=1)])


def _label_segments(image: sitk.Image, path: Path, case_id: str | None) -> list[MaskSegment]:
    """One segment per non-zero value of a label image (numbers are the values)."""
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError("mask must be a 3-D single-component image", file=path, case=case_id, value=image.GetSize())
    array = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError("mask holds NaN or infinite values", file=path, case=case_id)
        if np.any(array != np.round(array)):
            return [MaskSegment(1, "label1", image)]  # not a label map: as_binary_mask judges it
    values = [int(v) for v in np.unique(array) if v != 0]
    if len(values) <= 1:
        return [MaskSegment(values[0] if values else 1, f"label{values[0] if values else 1}", image)]
    segments = []
    for value in values:
        mask = sitk.GetImageFromArray((array == value).astype(np.uint8))
        mask.CopyInformation(image)
        segments.append(MaskSegment(value, f"label{value}", mask))
    return segments


def pick_segment(mask_file: MaskFile, selector: str | None, *, case_id: str | None = None) -> MaskSegment:
    """The segment ``--segment`` names (name, ignoring case, else number); the only one without it."""
    segments = mask_file.segments
    if selector is None:
        if len(segments) == 1:
            return segments[0]
        raise InputError(f"mask holds {len(segments)} segments ({mask_file.listing()}); choose one with "
                         "--segment NAME|NUMBER, or use --each-segment", file=mask_file.path, case=case_id)
    text = str(selector).strip()
    by_name = [s for s in segments if s.name.casefold() == text.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise InputError(f"--segment {text!r} names {len(by_name)} segments; give its number "
                         f"({mask_file.listing()})", file=mask_file.path, case=case_id, value=text)
    if re.fullmatch(r"[+-]?\d+", text):
        by_number = [s for s in segments if s.number == int(text)]
        if by_number:
            return by_number[0]
    raise InputError(f"--segment {text!r} is neither the name nor the number of a segment "
                     f"({mask_file.listing()})", file=mask_file.path, case=case_id, value=text)


def place_segment(mask_file: MaskFile, segment: MaskSegment, reference: sitk.Image | None, *,
                  case_id: str | None = None, resample: bool = False, allow_empty: bool = False) -> TumourMask:
    """The segment as a binary mask on the reference grid, with the record of how it got there."""
    source: dict = {"format": mask_file.kind}
    if len(mask_file.segments) > 1 or mask_file.kind != "label image":
        source["segment"] = {"number": segment.number, "name": segment.name}
    moved = reference is not None and not same_geometry(segment.mask, reference)
    exact = moved and _voxel_aligned(segment.mask, reference)
    mask = as_binary_mask(segment.mask, reference=reference, file=mask_file.path, case_id=case_id,
                          resample=resample or mask_file.own_frame, allow_empty=allow_empty)
    if mask_file.kind == "RTSTRUCT":
        source["grid"] = "contours rasterised onto the image grid (voxel centres inside)"
    elif moved:
        why = (f"the {mask_file.kind} defines its own frame of reference" if mask_file.own_frame
               else "--resample-mask")
        how = "voxel for voxel, only the axis order differs" if exact else "nearest neighbour"
        source["grid"] = f"resampled onto the image grid ({how}): {why}"
    else:
        source["grid"] = "the image grid"
    source["resampled"] = bool(moved)
    return TumourMask(mask, source, segment)


def _voxel_aligned(mask: sitk.Image, reference: sitk.Image, tolerance: float = 1e-3) -> bool:
    """Whether every reference voxel centre is a voxel centre of the mask (the grids differ only
    in axis order or sign, as a SEG's slice order often does): then resampling moves voxels, it
    interpolates nothing."""
    def index(i: tuple[int, int, int]) -> np.ndarray:
        return np.array(mask.TransformPhysicalPointToContinuousIndex(reference.TransformIndexToPhysicalPoint(i)))

    start = index((0, 0, 0))
    steps = np.array([index(step) - start for step in ((1, 0, 0), (0, 1, 0), (0, 0, 1))])
    whole = np.all(np.abs(start - np.round(start)) < tolerance) and np.all(np.abs(steps - np.round(steps)) < tolerance)
    return bool(whole and abs(round(float(np.linalg.det(np.round(steps))))) == 1)


def read_tumour(path: PathLike, *, reference: sitk.Image | None = None, label: int | None = None,
                segment: str | None = None, case_id: str | None = None, resample: bool = False,
                allow_empty: bool = False) -> TumourMask:
    """One tumour mask from any mask file: ``segment`` (or, for a label image, ``label``) picks it."""
    if label is not None and segment is not None:
        raise InputError("give --label or --segment, not both", file=path, case=case_id)
    if not is_segment_file(path):
        # A label image keeps read_mask's messages (--label, background, binary); --segment NUMBER is --label.
        if segment is not None:
            label = _label_value(segment, path, case_id)
        image = read_any(path, case_id=case_id, what="mask")
        mask = as_binary_mask(image, reference=reference, label=label, file=path, case_id=case_id,
                              resample=resample, allow_empty=allow_empty)
        moved = reference is not None and not same_geometry(image, reference)
        source = {"format": "label image",
                  "grid": "resampled onto the image grid (nearest neighbour): --resample-mask" if moved
                  else "the image grid", "resampled": bool(moved)}
        if label is not None:
            source["segment"] = {"number": label, "name": f"label{label}"}
        return TumourMask(mask, source)
    mask_file = read_mask_file(path, reference=reference, case_id=case_id)
    # --label N on a segmentation file (and a stored session's mask label) is segment number N.
    chosen = pick_segment(mask_file, segment, case_id=case_id) if label is None \
        else _numbered(mask_file, label, case_id)
    return place_segment(mask_file, chosen, reference, case_id=case_id, resample=resample, allow_empty=allow_empty)


def _numbered(mask_file: MaskFile, number: int, case_id: str | None) -> MaskSegment:
    for segment in mask_file.segments:
        if segment.number == number:
            return segment
    raise InputError(f"segment {number} does not occur in the mask ({mask_file.listing()})",
                     file=mask_file.path, case=case_id, value=number)


def each_segment(path: PathLike, *, reference: sitk.Image | None = None, case_id: str,
                 resample: bool = False) -> list[tuple[str, TumourMask]]:
    """(case ID from the segment name, mask) for every segment of the file, in the file's order."""
    mask_file = read_mask_file(path, reference=reference, case_id=case_id)
    ids = segment_case_ids(case_id, mask_file.segments)
    return [(ids[s.number], place_segment(mask_file, s, reference, case_id=ids[s.number], resample=resample))
            for s in mask_file.segments]


def segment_case_ids(case_id: str, segments: list[MaskSegment]) -> dict[int, str]:
    """``<case>_<segment name>`` per segment number (runs of other characters than letters, digits, ``.``,
    ``-`` become ``-``); a name that two segments share gets the number appended."""
    slugs = {s.number: re.sub(r"[^\w.\-]+", "-", s.name, flags=re.ASCII).strip("-") or f"segment{s.number}"
             for s in segments}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug.casefold()] = counts.get(slug.casefold(), 0) + 1
    ids = {}
    for number, slug in slugs.items():
        unique = slug if counts[slug.casefold()] == 1 else f"{slug}-{number}"
        ids[number] = check_case_id(f"{case_id}_{unique}", source=f"case ID of segment {number}")
    return ids


def _label_value(segment: str, path: PathLike, case_id: str | None) -> int:
    text = str(segment).strip()
    match = re.fullmatch(r"(?:label)?([+-]?\d+)", text, flags=re.IGNORECASE)
    if not match:
        raise InputError(f"--segment {text!r}: a label image has no segment names; give the label value",
                         file=path, case=case_id, value=text)
    return int(match.group(1))
