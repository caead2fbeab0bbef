"""What an image file's header promises, read without decoding any voxel.

ITK reads NRRD, NIfTI and MetaImage files leniently: a truncated ``.nii`` or
``.nii.gz`` is read with its missing voxels set to 0, a NIfTI ``pixdim`` of 0
becomes a spacing of 1 mm, a flipped byte in compressed MetaImage data goes
unnoticed. ``io.checks`` compares what these headers promise (voxel type,
sizes, spacing, encoding, where the voxel data starts) with the file before
ITK opens it; this module only parses. A header it cannot parse yields no
``Header`` and is left to ITK, whose own refusal then names the file.
"""

from __future__ import annotations

import gzip
import math
import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# Bytes the NRRD header may span before its blank line; real headers are < 2 kB.
NRRD_HEADER_LIMIT = 1 << 16

NRRD_TYPE_BYTES = {
    **dict.fromkeys(("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8", "uint8_t"), 1),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16", "int16_t", "ushort",
                     "unsigned short", "unsigned short int", "uint16", "uint16_t"), 2),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t", "uint", "unsigned int", "uint32", "uint32_t",
                     "float"), 4),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long", "signed long long int",
                     "int64", "int64_t", "ulonglong", "unsigned long long", "unsigned long long int", "uint64",
                     "uint64_t", "double"), 8),
}
NRRD_ENCODINGS = {"raw": "raw", "gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2",
                  "ascii": "text", "txt": "text", "text": "text", "hex": "hex"}
# NRRD axis kinds that make a voxel something other than one real intensity
# (a colour, a complex number, a tensor). ``vector`` and ``list`` stay
# allowed: that is how a 4-D DCE series is stored as one file.
NRRD_NON_SCALAR_KINDS = frozenset({
    "rgb-color", "hsv-color", "xyz-color", "rgba-color", "3-color", "4-color", "complex", "quaternion",
    "2-vector", "3-vector", "4-vector", "3-gradient", "3-normal", "2d-symmetric-matrix",
    "2d-masked-symmetric-matrix", "2d-matrix", "2d-masked-matrix", "3d-symmetric-matrix",
    "3d-masked-symmetric-matrix", "3d-matrix", "3d-masked-matrix",
})

# NIfTI datatype codes -> bytes per voxel, and the ones that are not one real number.
NIFTI_DATATYPE_BYTES = {2: 1, 4: 2, 8: 4, 16: 4, 32: 8, 64: 8, 128: 3, 256: 1, 512: 2, 768: 4, 1024: 8,
                        1280: 8, 1536: 16, 1792: 16, 2048: 32, 2304: 4}
NIFTI_NON_SCALAR = {32: "complex64", 1792: "complex128", 2048: "complex256", 128: "RGB24", 2304: "RGBA32"}

METAIO_TYPE_BYTES = {"MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4,
                     "MET_UINT": 4, "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8, "MET_ULONG_LONG": 8,
                     "MET_FLOAT": 4, "MET_DOUBLE": 8}


class DamagedStream(Exception):
    """The header lies in a compressed stream that cannot be decoded (a .nii.gz cut inside its header)."""


@dataclass
class Header:
    """The parts of a header the checks compare with the file."""

    format: str  # "NRRD", "NIfTI", "MetaImage"
    data_file: Path  # where the voxel data lives (the file itself when attached)
    data_offset: int | None  # byte where the data (or its compressed stream) starts; None: unknown
    encoding: str  # "raw", "gzip" (a gzip stream), "zlib" (a zlib stream), or another name: not checked
    data_bytes: int | None  # decoded bytes the header promises, from the data offset on; None: unknown
    compressed_bytes: int | None = None  # MetaImage's CompressedDataSize
    spacings: list[tuple[str, float]] = field(default_factory=list)  # (field name, value) to be > 0
    non_scalar: str | None = None  # why a voxel is not one real number, e.g. "kinds RGB-color"
    whole_file_gzip: bool = False  # .nii.gz: the header itself lies inside the gzip stream
    problems: list[str] = field(default_factory=list)  # fields that contradict each other or are not finite


def read_header(path: Path) -> Header | None:
    """The header of an NRRD, NIfTI or MetaImage file; None for other formats or an unparsable header."""
    name = path.name.lower()
    try:
        if name.endswith((".nrrd", ".nhdr")):
            return _nrrd(path)
        if name.endswith((".nii", ".nii.gz", ".hdr", ".hdr.gz")):
            return _nifti(path)
        if name.endswith((".mha", ".mhd")):
            return _metaimage(path)
    except (ValueError, KeyError, IndexError, struct.error, OSError, EOFError):
        return None  # ITK's own reader will refuse it and name the file
    return None


def _nrrd(path: Path) -> Header | None:
    with open(path, "rb") as stream:
        start = stream.read(NRRD_HEADER_LIMIT)
    if not start.startswith(b"NRRD0"):
        return None
    end = re.search(rb"\r?\n\r?\n", start)
    if end is None:
        return None
    fields: dict[str, str] = {}
    for line in start[: end.start()].decode("latin-1").splitlines()[1:]:
        if line.startswith("#") or ":=" in line or ": " not in line:
            continue
        key, value = line.split(": ", 1)
        fields[key.strip().lower()] = value.strip()
    sizes = [int(v) for v in fields["sizes"].split()]
    type_bytes = NRRD_TYPE_BYTES.get(fields["type"].lower())
    data_bytes = math.prod(sizes) * type_bytes if type_bytes else None
    detached = fields.get("data file") or fields.get("datafile")
    skipped = "line skip" in fields or "lineskip" in fields or "byte skip" in fields or "byteskip" in fields
    if detached:
        simple = " " not in detached and "%" not in detached and detached != "LIST"
        data_file = (path.parent / detached) if simple else path
        offset = 0 if simple and not skipped else None
    else:
        data_file, offset = path, (None if skipped else end.end())
    kinds = fields.get("kinds", "").split()
    header = Header("NRRD", data_file, offset, NRRD_ENCODINGS.get(fields.get("encoding", "").lower(), "?"),
                    data_bytes)
    odd = [k for k in kinds if k.lower() in NRRD_NON_SCALAR_KINDS]
    if odd:
        header.non_scalar = f"kinds {' '.join(kinds)}"
    header.spacings = _nrrd_spacings(fields, kinds)
    return header


def _nrrd_spacings(fields: dict[str, str], kinds: list[str]) -> list[tuple[str, float]]:
    """Spacing along each spatial axis: the norm of a ``space directions`` vector or a ``spacings`` entry."""
    spacings = []
    if "space directions" in fields:
        for axis, vector in enumerate(fields["space directions"].split()):
            if vector == "none":
                continue
            components = [float(c) for c in vector.strip("()").split(",")]
            norm = math.sqrt(sum(c * c for c in components)) if all(map(math.isfinite, components)) else math.nan
            spacings.append((f"space directions axis {axis}", norm))
    if "spacings" in fields:
        for axis, text in enumerate(fields["spacings"].split()):
            kind = kinds[axis].lower() if axis < len(kinds) else "domain"
            if kind in ("domain", "space") or text.lower() != "nan":
                spacings.append((f"spacings axis {axis}", float(text)))
    return spacings


def _nifti(path: Path) -> Header | None:
    name = path.name.lower()
    compressed = name.endswith(".gz")
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read(540)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DamagedStream(f"its gzip stream is damaged ({error})") from None
    little = struct.unpack("<i", raw[:4])[0]
    endian = "<" if little in (348, 540) else ">"
    version = struct.unpack(endian + "i", raw[:4])[0]
    if version == 348:
        datatype, bitpix = struct.unpack(endian + "hh", raw[70:74])
        dims = struct.unpack(endian + "8h", raw[40:56])
        pixdim = struct.unpack(endian + "8f", raw[76:108])
        vox_offset = struct.unpack(endian + "f", raw[108:112])[0]
    elif version == 540:
        datatype, bitpix = struct.unpack(endian + "hh", raw[12:16])
        dims = struct.unpack(endian + "8q", raw[16:80])
        pixdim = struct.unpack(endian + "8d", raw[104:168])
        vox_offset = struct.unpack(endian + "q", raw[168:176])[0]
    else:
        return None
    rank = int(dims[0])
    if not 1 <= rank <= 7:
        return None
    voxels = math.prod(int(d) for d in dims[1 : rank + 1])
    type_bytes = NIFTI_DATATYPE_BYTES.get(int(datatype))
    pair = name.endswith((".hdr", ".hdr.gz"))
    data_file = path.with_name(re.sub(r"\.hdr(\.gz)?$", r".img\1", path.name, flags=re.I)) if pair else path
    # vox_offset counts from the start of the (decoded) data file: the header
    # itself for .nii, the .img of a .hdr/.img pair.
    offset = int(vox_offset) if math.isfinite(vox_offset) and vox_offset >= 0 else None
    data_bytes = voxels * type_bytes + offset if type_bytes and offset is not None else None
    gzipped = data_file.name.lower().endswith(".gz")
    header = Header("NIfTI", data_file, 0, "gzip" if gzipped else "raw", data_bytes,
                    whole_file_gzip=gzipped and not pair)
    if int(datatype) in NIFTI_NON_SCALAR:
        header.non_scalar = f"NIfTI datatype {datatype} ({NIFTI_NON_SCALAR[int(datatype)]})"
    if type_bytes and int(bitpix) != 8 * type_bytes:
        header.problems.append(f"bitpix {bitpix} does not match datatype {datatype}")
    # scl_slope / scl_inter are not checked: nibabel writes NaN there for "no
    # scaling", and ITK (as the NIfTI standard) then applies none.
    if not math.isfinite(vox_offset):
        header.problems.append(f"vox_offset is {vox_offset}")
    header.spacings = [(f"pixdim[{axis}]", float(pixdim[axis])) for axis in range(1, min(rank, 3) + 1)]
    return header


def _metaimage(path: Path) -> Header | None:
    with open(path, "rb") as stream:
        start = stream.read(NRRD_HEADER_LIMIT)
    fields: dict[str, str] = {}
    end = None
    for match in re.finditer(rb"([^\r\n]*)\r?\n", start):
        line = match.group(1).decode("latin-1")
        key, sep, value = line.partition("=")
        if not sep:
            return None
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            end = match.end()
            break
    if end is None or "DimSize" not in fields:
        return None
    voxels = math.prod(int(v) for v in fields["DimSize"].split())
    channels = int(fields.get("ElementNumberOfChannels", "1"))
    type_bytes = METAIO_TYPE_BYTES.get(fields.get("ElementType", ""))
    compressed = fields.get("CompressedData", "False").lower() == "true"
    where = fields["ElementDataFile"]
    if where == "LOCAL":
        data_file, offset = path, end
    elif " " in where or "%" in where or where == "LIST":
        data_file, offset = path, None
    else:
        data_file, offset = path.parent / where, 0
    if "HeaderSize" in fields:
        offset = None  # skipped or auto-detected header bytes: leave the layout to ITK
    data_bytes = voxels * channels * type_bytes if type_bytes else None
    header = Header("MetaImage", data_file, offset, "zlib" if compressed else "raw", data_bytes,
                    compressed_bytes=int(fields["CompressedDataSize"]) if "CompressedDataSize" in fields else None)
    spacing_field = "ElementSpacing" if "ElementSpacing" in fields else "ElementSize"
    if spacing_field in fields:
        header.spacings = [(f"{spacing_field}[{axis}]", float(v))
                           for axis, v in enumerate(fields[spacing_field].split())]
    return header
