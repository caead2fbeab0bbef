"""Issue 20: random corruption of valid image and mask files never reads as different numbers.

Hypothesis damages a small valid image or its mask (truncation, a flipped
byte, an edited header field: sizes, spacing, type, encoding, dimension,
NIfTI dim/pixdim/datatype/bitpix/vox_offset) and reads the pair as every
command does (``read_image``, then ``read_mask`` on the image's grid). Each
corruption must either be refused with an ``InputError`` (the CLI's one line,
exit 2) or read exactly the valid file's voxels and geometry. Anything else
(a returned image with other numbers, another exception type) fails.

Flipped voxel bytes are tried only inside compressed streams: in a raw file
they are valid data, which no reader can tell from the original.
Derandomized with bounded examples so CI is reproducible and quick.
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.io.images import read_image, read_mask

FORMATS = (".nrrd", ".nii.gz", ".mha")
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _pair() -> tuple[sitk.Image, sitk.Image]:
    rng = np.random.default_rng(20)
    # Non-negative intensities: a signed/unsigned type swap of the same width
    # then reads the same numbers, which is not a wrong result.
    image = sitk.GetImageFromArray(rng.integers(0, 3000, (10, 12, 14)).astype(np.int16))
    image.SetSpacing((0.8, 0.9, 1.5))
    image.SetOrigin((-12.5, 30.0, 4.25))
    tumour = np.zeros((10, 12, 14), dtype=np.uint8)
    tumour[3:7, 4:9, 5:10] = 1
    mask = sitk.GetImageFromArray(tumour)
    mask.CopyInformation(image)
    return image, mask


class Quiet(dict):
    """A dict Hypothesis prints by name only (it prints a failing example's arguments, fixtures included)."""

    def __repr__(self) -> str:
        return f"<{len(self)} formats>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    folder = tmp_path_factory.mktemp("valid")
    files: dict[str, dict[str, bytes]] = Quiet()
    for suffix in FORMATS:
        files[suffix] = {}
        for role, image in zip(("image", "mask"), _pair()):
            path = folder / f"{role}{suffix}"
            sitk.WriteImage(image, str(path), useCompression=True)
            files[suffix][role] = path.read_bytes()
    return files


def _snapshot(image: sitk.Image) -> tuple:
    return (sitk.GetArrayFromImage(image).astype(np.float64), image.GetSize(), np.array(image.GetSpacing()),
            np.array(image.GetOrigin()), np.array(image.GetDirection()))


def _same(a: tuple, b: tuple) -> bool:
    if a[1] != b[1] or a[0].shape != b[0].shape:
        return False
    return bool(np.array_equal(a[0], b[0]) and all(np.allclose(x, y, rtol=1e-9, atol=1e-9) for x, y in zip(a[2:], b[2:])))


def _read(folder: Path, suffix: str) -> tuple[tuple, tuple]:
    image = read_image(folder / f"image{suffix}", case_id="F")
    mask = read_mask(folder / f"mask{suffix}", reference=image, case_id="F")
    return _snapshot(image), _snapshot(mask)


@pytest.fixture(scope="module")
def expected(originals, tmp_path_factory) -> dict[str, tuple]:
    folder = tmp_path_factory.mktemp("expected")
    result = Quiet()
    for suffix, roles in originals.items():
        for role, data in roles.items():
            (folder / f"{role}{suffix}").write_bytes(data)
        result[suffix] = _read(folder, suffix)
    return result


def _check(tmp_path: Path, originals, expected, suffix: str, role: str, damaged: bytes) -> None:
    for name, data in originals[suffix].items():
        (tmp_path / f"{name}{suffix}").write_bytes(damaged if name == role else data)
    try:
        got = _read(tmp_path, suffix)
    except InputError as error:
        # One line naming a file of the pair: the damaged one, or the mask when
        # the damage left a self-consistent image on another grid.
        assert "\n" not in str(error) and (f"{role}{suffix}" in str(error) or f"mask{suffix}" in str(error)), error
        return
    image_same, mask_same = _same(got[0], expected[suffix][0]), _same(got[1], expected[suffix][1])
    assert image_same and mask_same, f"{role}{suffix}: a corrupted file read as different numbers"


def _data_start(suffix: str, data: bytes) -> int:
    """Where the compressed voxel stream starts (after the text header of NRRD and MetaImage)."""
    if suffix == ".nrrd":
        return data.index(b"\n\n") + 2
    if suffix == ".mha":
        return data.index(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")
    return 0


roles = st.sampled_from(("image", "mask"))
formats = st.sampled_from(FORMATS)


@FUZZ
@given(suffix=formats, role=roles, keep=st.floats(0.0, 0.999))
def test_truncation_is_never_read_as_numbers(tmp_path, originals, expected, suffix, role, keep):
    data = originals[suffix][role]
    _check(tmp_path, originals, expected, suffix, role, data[: int(len(data) * keep)])


@FUZZ
@given(suffix=formats, role=roles, where=st.floats(0.0, 0.999), xor=st.integers(1, 255), in_stream=st.booleans())
def test_a_flipped_byte_is_never_read_as_other_numbers(tmp_path, originals, expected, suffix, role, where, xor,
                                                       in_stream):
    data = bytearray(originals[suffix][role])
    start = _data_start(suffix, bytes(data)) if in_stream else 0
    index = start + int((len(data) - start) * where)
    data[index] ^= xor
    _check(tmp_path, originals, expected, suffix, role, bytes(data))


TEXT_FIELDS = {
    ".nrrd": {
        "sizes": ["14 12 5", "14 12 20", "12 14 10", "14 12", "0 12 10", "-14 12 10", "14 12 10 2"],
        "space directions": ["(0.8,0,0) (0,0.9,0) (0,0,0)", "(0,0,0) (0,0.9,0) (0,0,1.5)",
                             "(0.8,0,0) (0,0.9,0) (0,0,nan)", "(0.8,0,0) (0,0.9,0) (0,0,inf)",
                             "(0.8,0,0) (0,0.9,0) (0,0,-1.5)", "(0.8,0,0) (0.8,0,0) (0,0,1.5)"],
        "type": ["uchar", "int", "float", "double", "ushort", "uint64", "complex"],
        "encoding": ["raw", "ascii", "bzip2", "hex", "gzip"],
        "dimension": ["2", "4", "1", "0"],
        "kinds": ["RGB-color domain domain", "complex domain domain", "3-vector domain domain"],
    },
    ".mha": {
        "DimSize": ["14 12 5", "14 12 20", "14 12", "0 12 10"],
        "ElementSpacing": ["0.8 0.9 0", "0.8 0.9 -1.5", "0.8 0.9 nan", "0 0 0"],
        "ElementType": ["MET_UCHAR", "MET_INT", "MET_FLOAT", "MET_DOUBLE", "MET_USHORT"],
        "CompressedData": ["False"],
        "CompressedDataSize": ["10", "100000", "0"],
        "NDims": ["2", "4"],
        "ElementNumberOfChannels": ["3", "2"],
    },
}


def _edit_text(suffix: str, data: bytes, key: str, value: str) -> bytes:
    separator = ": " if suffix == ".nrrd" else " = "
    pattern = re.compile(rb"^" + re.escape(key.encode()) + re.escape(separator.encode()) + rb"[^\n]*$", re.M)
    if not pattern.search(data):  # e.g. ElementNumberOfChannels: add the field before the data
        anchor = b"ElementType"
        return data.replace(anchor, f"{key}{separator}{value}\n".encode() + anchor, 1)
    return pattern.sub((key + separator + value).encode(), data, count=1)


@FUZZ
@given(suffix=st.sampled_from((".nrrd", ".mha")), role=roles, data=st.data())
def test_an_edited_text_header_field_is_never_read_as_other_numbers(tmp_path, originals, expected, suffix, role,
                                                                    data):
    key = data.draw(st.sampled_from(sorted(TEXT_FIELDS[suffix])))
    value = data.draw(st.sampled_from(TEXT_FIELDS[suffix][key]))
    damaged = _edit_text(suffix, originals[suffix][role], key, value)
    _check(tmp_path, originals, expected, suffix, role, damaged)


# NIfTI-1 header fields: (offset, struct format, values to try).
NIFTI_FIELDS = {
    "dim[0]": (40, "<h", [2, 4, 0, 8, -1]),
    "dim[1]": (42, "<h", [7, 28, 0, -14]),
    "dim[3]": (46, "<h", [5, 20, 0, 1]),
    "datatype": (70, "<h", [2, 8, 16, 32, 64, 128, 512, 2304, 1792, 0]),
    "bitpix": (72, "<h", [8, 32, 0]),
    "pixdim[1]": (80, "<f", [0.0, -0.8, float("nan"), float("inf"), 1e-30]),
    "pixdim[3]": (88, "<f", [0.0, -1.5, float("nan")]),
    "vox_offset": (108, "<f", [0.0, 348.0, 400.0, 1e9, float("nan")]),
}


@FUZZ
@given(role=roles, data=st.data())
def test_an_edited_nifti_header_field_is_never_read_as_other_numbers(tmp_path, originals, expected, role, data):
    key = data.draw(st.sampled_from(sorted(NIFTI_FIELDS)))
    offset, fmt, values = NIFTI_FIELDS[key]
    value = data.draw(st.sampled_from(values))
    raw = bytearray(gzip.decompress(originals[".nii.gz"][role]))
    raw[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    _check(tmp_path, originals, expected, ".nii.gz", role, gzip.compress(bytes(raw)))
