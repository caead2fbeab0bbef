"""Checks on an image file before ITK reads it, and on what ITK read.

``images.read_any`` calls ``check_file`` before any voxel is decoded and
``check_read`` right after. Together they refuse, with one line naming the
file and whether it is the image or a mask:

- anything that is not a regular file (a FIFO would block ``open()``
  forever; a device never ends), also inside a DICOM folder;
- a decoded size over the memory budget, computed from the header alone, so
  a gzip bomb is refused before it is inflated;
- a voxel type that is not one real number (complex, RGB, tensors), and a
  mask with several components;
- a spacing that is zero, negative or not finite in the header, including
  the NIfTI ``pixdim`` ITK silently replaces by 1 mm;
- voxel data shorter or longer than the header describes: a truncated
  ``.nii``/``.nii.gz`` which ITK reads with zeros, a truncated NRRD or
  MetaImage. Compressed streams are compared by their decoded length: the
  gzip trailer holds it (mod 2^32), so a large file costs a seek; a file that
  decodes to at most ``FULL_CHECK_BYTES``, or whose trailer disagrees, is
  decoded once more here with its checksum verified (a flipped byte in a
  compressed MetaImage is otherwise read silently).
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from .headers import DamagedStream, Header, read_header

# Largest decoded image (all phases and components) a command may read. A
# 448 x 448 x 160 x 6-phase int16 DCE series is 0.4 GB; the budget leaves
# room for finer or longer series and refuses a gzip bomb long before it
# exhausts memory. TMERADIOMICS_MAX_IMAGE_GB raises it for a machine that can.
MAX_IMAGE_GB = 2.0
# Streams that decode to at most this many bytes are verified completely
# (length and checksum); larger ones by their gzip trailer or compressed size.
FULL_CHECK_BYTES = 16 << 20
COMPLEX_TYPES = frozenset({sitk.sitkComplexFloat32, sitk.sitkComplexFloat64})
CHUNK = 1 << 20


def max_image_bytes() -> float:
    text = os.environ.get("TMERADIOMICS_MAX_IMAGE_GB")
    try:
        limit = float(text) if text else MAX_IMAGE_GB
    except ValueError:
        limit = MAX_IMAGE_GB
    return (limit if limit > 0 else MAX_IMAGE_GB) * 1e9


def check_regular(path: Path, *, what: str, case_id: str | None, folder_allowed: bool = True) -> bool:
    """Refuse FIFOs, devices and sockets without opening them; True when ``path`` is a folder."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode) and folder_allowed:
        for entry in os.scandir(path):
            try:
                entry_mode = os.stat(entry.path).st_mode
            except OSError:
                continue  # a dangling link: GDCM skips it as well
            if not (stat.S_ISREG(entry_mode) or stat.S_ISDIR(entry_mode)):
                raise InputError(f"{what} folder holds {_kind(entry_mode)} {entry.name!r}; "
                                 "a DICOM folder may hold only regular files", file=path, case=case_id)
        return True
    if not stat.S_ISREG(mode):
        raise InputError(f"{what} is {_kind(mode)}, not a regular file", file=path, case=case_id)
    return False


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def check_file(path: Path, *, what: str, case_id: str | None) -> None:
    """Everything that can be known about a regular image file before its voxels are decoded."""
    _check_information(path, what, case_id)
    try:
        header = read_header(path)
    except DamagedStream as damaged:
        raise InputError(f"{what} is truncated or corrupt: {damaged}", file=path, case=case_id) from None
    if header is None:
        return
    if header.non_scalar:
        raise InputError(f"{what} voxels are not one real intensity ({header.non_scalar}); "
                         "convert it to a scalar image first", file=path, case=case_id)
    if header.problems:
        raise InputError(f"{what} header is inconsistent: {'; '.join(header.problems)}", file=path, case=case_id)
    for name, value in header.spacings:
        if not (math.isfinite(value) and value > 0):
            silently = " (ITK would read it as 1 mm)" if header.format == "NIfTI" else ""
            raise InputError(f"{what} spacing must be positive and finite; the header's {name} is {value:g}"
                             f"{silently}", file=path, case=case_id, value=value)
    if header.data_file != path:
        if not header.data_file.exists():
            raise InputError(f"{what} data file {header.data_file} is missing", file=path, case=case_id)
        mode = os.stat(header.data_file).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(f"{what} data file {header.data_file.name} is {_kind(mode)}, not a regular file",
                             file=path, case=case_id)
    _check_stream(header, path, what, case_id)


def _check_information(path: Path, what: str, case_id: str | None) -> None:
    """Size and voxel type from the header alone (ITK's ReadImageInformation decodes no voxel)."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return  # ITK's read that follows refuses the file with its own reason
    pixel = reader.GetPixelID()
    components = reader.GetNumberOfComponents()
    if pixel in COMPLEX_TYPES:
        raise InputError(f"{what} has complex voxels; convert it to a real (magnitude) image first", file=path,
                         case=case_id, value=sitk.GetPixelIDValueAsString(pixel))
    if what.startswith("mask") and components != 1:
        raise InputError(f"{what} has {components} components per voxel; a mask must have one", file=path,
                         case=case_id, value=components)
    item = np.dtype(sitk.GetArrayViewFromImage(sitk.Image([1] * reader.GetDimension(), pixel)).dtype).itemsize
    decoded = math.prod(reader.GetSize()) * max(components, 1) * item
    if decoded > max_image_bytes():
        raise InputError(f"{what} would decode to {decoded / 1e9:.1f} GB (header: size {reader.GetSize()}, "
                         f"{components} component(s) of {item} bytes), over the {max_image_bytes() / 1e9:g} GB "
                         "budget (set TMERADIOMICS_MAX_IMAGE_GB to raise it)", file=path, case=case_id,
                         value=f"{path.stat().st_size} bytes on disk")


def _check_stream(header: Header, path: Path, what: str, case_id: str | None) -> None:
    if header.data_offset is None or header.data_bytes is None:
        return
    available = header.data_file.stat().st_size - header.data_offset
    expected = header.data_bytes

    def refuse(detail: str) -> InputError:
        return InputError(f"{what} is truncated or corrupt: {detail}", file=path, case=case_id)

    if header.encoding == "raw":
        if available != expected:
            raise refuse(f"it holds {available} bytes of voxel data, its header describes {expected}")
    elif header.encoding == "gzip":
        if available < 18:  # a gzip header and trailer alone take 18 bytes
            raise refuse(f"its gzip stream has {max(available, 0)} bytes")
        with open(header.data_file, "rb") as stream:
            stream.seek(-4, os.SEEK_END)
            trailer = struct.unpack("<I", stream.read(4))[0]
        if expected <= FULL_CHECK_BYTES or trailer != expected % (1 << 32):
            decoded = _decoded_length(header.data_file, header.data_offset, "gzip", expected, refuse)
            if decoded != expected:
                raise refuse(f"its gzip stream decodes to {decoded} bytes, its header describes {expected}")
    elif header.encoding == "zlib":
        if header.compressed_bytes is not None and available != header.compressed_bytes:
            raise refuse(f"it holds {available} bytes of compressed data, its header's CompressedDataSize is "
                         f"{header.compressed_bytes}")
        if expected <= FULL_CHECK_BYTES:
            decoded = _decoded_length(header.data_file, header.data_offset, "zlib", expected, refuse)
            if decoded != expected:
                raise refuse(f"its compressed data decode to {decoded} bytes, its header describes {expected}")


def _decoded_length(file: Path, offset: int, kind: str, expected: int, refuse) -> int:
    """Decode the stream once, chunk by chunk, verifying its checksum; stop past ``expected`` bytes."""
    total = 0
    with open(file, "rb") as raw:
        raw.seek(offset)
        try:
            if kind == "gzip":
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    while chunk := stream.read(CHUNK):
                        total += len(chunk)
                        if total > expected:
                            return total
                return total
            inflater = zlib.decompressobj()
            while chunk := raw.read(CHUNK):
                total += len(inflater.decompress(chunk, expected + 1 - total))
                if total > expected or inflater.unconsumed_tail:
                    return max(total, expected + 1)
            total += len(inflater.flush())
            if not inflater.eof:
                raise refuse("its compressed stream ends early")
            return total
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            raise refuse(f"its {kind} stream is damaged ({error})") from None


def check_read(image: sitk.Image, path: Path, *, what: str, case_id: str | None) -> None:
    """What ITK read: a real voxel type and a finite, non-degenerate geometry (any format, DICOM too)."""
    if image.GetPixelID() in COMPLEX_TYPES:
        raise InputError(f"{what} has complex voxels; convert it to a real (magnitude) image first", file=path,
                         case=case_id, value=image.GetPixelIDTypeAsString())
    spacing = np.asarray(image.GetSpacing(), dtype=float)
    if not (np.all(np.isfinite(spacing)) and np.all(spacing > 0)):
        raise InputError(f"{what} spacing must be positive and finite", file=path, case=case_id,
                         value=tuple(float(s) for s in spacing))
    origin = np.asarray(image.GetOrigin(), dtype=float)
    direction = np.asarray(image.GetDirection(), dtype=float)
    if not (np.all(np.isfinite(origin)) and np.all(np.isfinite(direction))):
        raise InputError(f"{what} origin or direction is not finite", file=path, case=case_id,
                         value=tuple(float(o) for o in origin))
    n = image.GetDimension()
    if abs(np.linalg.det(direction.reshape(n, n))) < 1e-6:
        raise InputError(f"{what} direction matrix is singular (its axes are not independent)", file=path,
                         case=case_id)


def check_dicom_files(folder: Path, series_files, *, case_id: str | None, other_series_files=()) -> None:
    """Refuse a DICOM folder in which GDCM skipped a DICOM file (a truncated slice is dropped silently).

    Every regular file with the DICOM preamble ("DICM" at byte 128) must be
    one of the series' files, or of the folder's other series
    (``other_series_files``); reading 132 bytes per file keeps this cheap.
    """
    listed = {os.path.realpath(name) for name in series_files}
    known = listed | {os.path.realpath(name) for name in other_series_files}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.is_file() or entry.name.upper() == "DICOMDIR" or os.path.realpath(entry.path) in known:
            continue
        with open(entry.path, "rb") as stream:
            preamble = stream.read(132)
        if preamble[128:132] == b"DICM":
            raise InputError(f"DICOM file {entry.name!r} could not be read as part of the series (truncated or "
                             f"damaged); {len(listed)} other slices were, so a slice would be missing",
                             file=folder, case=case_id)
