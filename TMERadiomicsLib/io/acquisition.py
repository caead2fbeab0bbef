"""Acquisition metadata of a DICOM image, without identifiers: the batch variable for harmonisation.

Multi-site work needs to know which scanner and protocol made each image
(ComBat-style harmonisation takes it as the batch variable). Only these
header fields are read, by keyword, from the first file of the series
(SimpleITK's GDCM, so no pydicom and also on Python 3.9); nothing else of
the header, and so no name, ID, date of birth, accession number,
institution or UID, can reach an output through here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import SimpleITK as sitk

PathLike = Union[str, os.PathLike]
# Output name -> (DICOM tag, kind). Units: tesla, milliseconds, degrees, millimetres.
FIELDS = {
    "manufacturer": ("0008|0070", str),
    "model": ("0008|1090", str),
    "field_strength_t": ("0018|0087", float),
    "repetition_time_ms": ("0018|0080", float),
    "echo_time_ms": ("0018|0081", float),
    "flip_angle_deg": ("0018|1314", float),
    "pixel_spacing_mm": ("0028|0030", "spacing"),
    "slice_thickness_mm": ("0018|0050", float),
}
ACQUISITION_TIME = "0008|0032"
TEMPORAL_POSITION = "0020|0100"
COLUMN_PREFIX = "acq_"


def series_files(folder: PathLike, series_uid: str | None = None) -> list[str]:
    """The files of one DICOM series of the folder, in SimpleITK's slice order ([] when none)."""
    ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        return []
    return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_uid or ids[0]))


def header(path: PathLike) -> sitk.ImageFileReader:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return reader


def acquisition_metadata(image_path: PathLike, files: list[str] | None = None) -> dict[str, object]:
    """The FIELDS of a DICOM series folder's first file ({} for a non-DICOM image or a missing field)."""
    path = Path(image_path)
    files = files if files is not None else (series_files(path) if path.is_dir() else [])
    if not files:
        return {}
    try:
        reader = header(files[0])
    except RuntimeError:
        return {}
    found: dict[str, object] = {}
    for name, (tag, kind) in FIELDS.items():
        if not reader.HasMetaDataKey(tag):
            continue
        text = reader.GetMetaData(tag).strip().strip("\0").strip()
        value = _value(text, kind)
        if value is not None:
            found[name] = value
    return found


def _value(text: str, kind) -> object | None:
    if not text:
        return None
    if kind is str:
        return text
    try:
        if kind == "spacing":  # DICOM's row spacing \ column spacing
            return [float(v) for v in text.split("\\")]
        return float(text)
    except ValueError:
        return None  # a malformed number is left out, not guessed


def columns(metadata: dict[str, object]) -> dict[str, object]:
    """The metadata as feature-table cells: ``acq_<name>``, a spacing as ``row x column``."""
    cells: dict[str, object] = {}
    for name in FIELDS:
        value = metadata.get(name)
        if isinstance(value, list):
            value = " x ".join(f"{v:g}" for v in value)
        cells[COLUMN_PREFIX + name] = "" if value is None else value
    return cells
