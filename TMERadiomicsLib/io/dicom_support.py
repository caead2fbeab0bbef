"""Whether DICOM SEG, RTSTRUCT and DICOM export can run here, and telling DICOM files apart.

highdicom (and pydicom 3, which it needs) requires Python 3.10 or newer;
Slicer 5.8 runs Python 3.9. There the library still imports and the DICOM
mask formats and ``export-dicom`` refuse with one line saying why
(``require_highdicom``). Nothing here imports pydicom at module level.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Union

from ..errors import InputError

PathLike = Union[str, os.PathLike]
MIN_PYTHON = (3, 10)  # highdicom's own floor


def is_dicom_file(path: PathLike) -> bool:
    """A DICOM Part 10 file: the four bytes ``DICM`` after the 128-byte preamble.

    Only a regular file is opened: opening a FIFO would block (``checks`` refuses it later).
    """
    if not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as stream:
            stream.seek(128)
            return stream.read(4) == b"DICM"
    except (IsADirectoryError, FileNotFoundError, PermissionError):
        return False


def require_highdicom(what: str, *, file: PathLike | None = None, case_id: str | None = None) -> None:
    """Refuse ``what`` with one line when highdicom cannot run on this Python or is missing."""
    if sys.version_info < MIN_PYTHON:
        raise InputError(
            f"{what} needs the DICOM support (highdicom, pydicom 3), which needs Python "
            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer; this is "
            f"Python {sys.version_info[0]}.{sys.version_info[1]} (Slicer 5.8): run the tmeradiomics command "
            "line on Python 3.10+", file=file, case=case_id)
    try:
        import highdicom  # noqa: F401, PLC0415 - only to know it is there
        import pydicom  # noqa: F401, PLC0415
    except ImportError:
        raise InputError(f"{what} needs the DICOM support: pip install 'highdicom>=0.28'", file=file, case=case_id) from None


def dicom_modality(path: PathLike, *, case_id: str | None = None) -> str:
    """The Modality of a DICOM file (SEG, RTSTRUCT, MR...), read without its pixel data."""
    import pydicom  # noqa: PLC0415
    from pydicom.errors import InvalidDicomError  # noqa: PLC0415

    try:
        header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality", "SOPClassUID"])
    except (InvalidDicomError, OSError, ValueError) as error:
        raise InputError(f"cannot read DICOM file ({error})", file=Path(path), case=case_id) from None
    return str(getattr(header, "Modality", "") or "")
