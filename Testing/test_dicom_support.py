"""DICOM support on every Python: on Slicer 5.8's 3.9 the library imports and the DICOM formats
refuse with one line saying why; on 3.10+ a DICOM file is told apart by its preamble, not its name.
In tasks.py's LIBRARY_TESTS, so the lib-3.9 job runs it on 3.9."""

from __future__ import annotations

import sys

import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.io.dicom_support import is_dicom_file
from TMERadiomicsLib.io.segments import read_tumour

REFUSAL = r"needs the DICOM support \(highdicom, pydicom 3\), which needs Python 3\.10 or newer; this is Python 3\.9"


@pytest.fixture
def part10_file(tmp_path):
    path = tmp_path / "mask.seg"  # no .dcm: DICOM is known by the DICM after the 128-byte preamble
    path.write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 64)
    return path


def test_dicom_is_known_by_its_preamble(part10_file, tmp_path):
    other = tmp_path / "mask.dcm"
    other.write_bytes(b"NRRD0004\n" + b"\0" * 200)
    assert is_dicom_file(part10_file) and not is_dicom_file(other) and not is_dicom_file(tmp_path)


def test_a_dicom_mask_is_refused_on_39_and_parsed_on_310(part10_file):
    if sys.version_info < (3, 10):
        with pytest.raises(InputError, match=REFUSAL) as refused:
            read_tumour(part10_file)
    else:
        # Here it gets as far as pydicom: a preamble with no data elements has no modality.
        with pytest.raises(InputError, match="DICOM file is of no modality, not a SEG or RTSTRUCT") as refused:
            read_tumour(part10_file)
    assert "\n" not in str(refused.value) and str(part10_file) in str(refused.value)


@pytest.mark.skipif(sys.version_info >= (3, 10), reason="the refusal of Slicer 5.8's Python 3.9")
def test_export_dicom_refuses_on_39_with_one_line(tmp_path, capsys):
    from TMERadiomicsLib.cli import main

    assert main(["export-dicom", str(tmp_path), str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "export-dicom" in err
    assert err.endswith("run the tmeradiomics command line on Python 3.10+") and not (tmp_path / "out").exists()
