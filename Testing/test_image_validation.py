"""Issue 20: corrupt or odd image and mask files are refused where they are read.

Each test writes a valid small file with SimpleITK, damages it the way a
real file gets damaged (a cut-off download, a header field edited by another
tool, a pipe given as a path), and checks that reading refuses it with one
line naming the file, what it is (image or mask) and the value. The reader
is the real one (``io.images``), over real ITK. ``docs/bad-inputs.md`` lists
the rows.
"""

from __future__ import annotations

import gzip
import json
import locale
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.io import checks as image_checks
from TMERadiomicsLib.cli import main
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.io.images import read_image, read_mask

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _keep_locale():
    # SimpleITK's DICOM writer (GDCM) sets LC_CTYPE to "C" and leaves it there; every later
    # text read without an explicit encoding in this pytest process would then be ASCII.
    saved = locale.setlocale(locale.LC_CTYPE)
    yield
    locale.setlocale(locale.LC_CTYPE, saved)


def _volume(shape=(12, 16, 20), dtype=np.int16) -> sitk.Image:
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray(rng.integers(0, 1000, shape).astype(dtype))
    image.SetSpacing((0.8, 0.9, 1.5))
    return image


def _write(image: sitk.Image, path: Path, compress: bool = True) -> Path:
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


def _refused(path: Path, *expected: str, mask: bool = False) -> str:
    with pytest.raises(InputError) as caught:
        (read_mask if mask else read_image)(path, case_id="P1")
    text = str(caught.value)
    assert "\n" not in text and str(path) in text and "case P1" in text, text
    for part in expected:
        assert part in text, text
    return text


def _truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_a_truncated_file_is_refused_naming_it(tmp_path, suffix):
    # Was: .nii.gz and .nii read with the missing voxels set to 0 (half the image), exit 0.
    path = _truncate(_write(_volume(), tmp_path / f"P1{suffix}"))
    _refused(path, "image is truncated or corrupt")


def test_a_truncated_mask_is_named_as_the_mask(tmp_path):
    mask = sitk.Cast(_volume() > 500, sitk.sitkUInt8)
    path = _truncate(_write(mask, tmp_path / "P1_tumour.nii.gz"))
    text = _refused(path, "mask is truncated or corrupt", mask=True)
    assert "image" not in text.replace(str(path), "")


def test_a_large_gzip_stream_is_checked_by_its_trailer(tmp_path, monkeypatch):
    # Above FULL_CHECK_BYTES only the gzip trailer's length is compared: a
    # valid file reads, a cut one (whose last bytes are no trailer) is refused.
    monkeypatch.setattr(image_checks, "FULL_CHECK_BYTES", 0)
    valid = _write(_volume(), tmp_path / "valid.nii.gz")
    assert read_image(valid).GetSize() == (20, 16, 12)
    _refused(_truncate(_write(_volume(), tmp_path / "P1.nii.gz"), 0.9), "truncated or corrupt")


def test_a_flipped_byte_in_compressed_metaimage_data_is_refused(tmp_path):
    # Was: read silently with different voxel values (MetaIO does not check zlib's checksum).
    path = _write(_volume(), tmp_path / "P1.mha")
    data = bytearray(path.read_bytes())
    data[-len(data) // 3] ^= 0x5A
    path.write_bytes(bytes(data))
    _refused(path, "truncated or corrupt")


def _edit_nifti(path: Path, offset: int, fmt: str, value) -> None:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as stream:
        data = bytearray(stream.read())
    data[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, value)
    with opener(path, "wb") as stream:
        stream.write(bytes(data))


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("value", [0.0, -1.5, float("nan"), float("inf")])
def test_a_nifti_pixdim_that_itk_would_replace_is_refused(tmp_path, suffix, value):
    # Was: pixdim[3] = 0 read as 1.0 mm, so volumes shrank by a third without a warning.
    path = _write(_volume(), tmp_path / f"P1{suffix}")
    _edit_nifti(path, 76 + 3 * 4, "<f", value)  # pixdim[3] of the NIfTI-1 header
    _refused(path, "spacing must be positive and finite", "pixdim[3]")


def test_nrrd_zero_spacing_is_refused(tmp_path):
    path = _write(_volume(), tmp_path / "P1.nrrd", compress=False)
    text = path.read_bytes().replace(b"(0,0,1.5)", b"(0,0,0)")
    path.write_bytes(text)
    _refused(path, "spacing must be positive and finite", "space directions axis 2")


def test_an_rgb_image_is_refused_naming_its_kind(tmp_path):
    # Was: the three colour channels were taken for three DCE phases and phase 1 extracted.
    rgb = sitk.Compose([sitk.Cast(_volume() // 4, sitk.sitkUInt8)] * 3)
    path = _write(rgb, tmp_path / "P1.nrrd", compress=False)
    path.write_bytes(path.read_bytes().replace(b"kinds: vector ", b"kinds: RGB-color "))
    _refused(path, "not one real intensity", "RGB-color")


@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz", ".mha"])
def test_a_complex_image_is_refused_naming_its_type(tmp_path, suffix):
    # Was: exit 1, "internal error".
    complex_image = sitk.RealAndImaginaryToComplex(sitk.Cast(_volume(), sitk.sitkFloat32),
                                                    sitk.Cast(_volume(), sitk.sitkFloat32))
    path = _write(complex_image, tmp_path / f"P1{suffix}")
    _refused(path, "complex")


def test_a_vector_mask_is_refused_naming_its_components(tmp_path):
    mask = sitk.Cast(_volume() > 500, sitk.sitkUInt8)
    path = _write(sitk.Compose([mask] * 3), tmp_path / "P1_tumour.nrrd")
    _refused(path, "mask has 3 components", mask=True)


def test_the_decoded_size_is_checked_against_the_budget_before_inflating(tmp_path, monkeypatch):
    # A 3.4 MB gzip NRRD whose header promises 1500 x 1500 x 800 int16 voxels (3.6 GB):
    # refused from the header alone, naming the image and its size; nothing inflated.
    valid = _write(_volume(), tmp_path / "small.nrrd")
    head, _, _ = valid.read_bytes().partition(b"\n\n")
    bomb = tmp_path / "P1.nrrd"
    header = head.replace(b"sizes: 20 16 12", b"sizes: 1500 1500 800")
    bomb.write_bytes(header + b"\n\n" + gzip.compress(bytes(1 << 20)))
    _refused(bomb, "image would decode to 3.6 GB", "(1500, 1500, 800)", "budget")
    # The budget is real: a valid image above a lowered one is refused too.
    monkeypatch.setenv("TMERADIOMICS_MAX_IMAGE_GB", "1e-6")
    _refused(valid, "would decode to", "budget")


def test_voxel_data_longer_than_the_header_describes_is_refused(tmp_path):
    # A header edited to fewer slices would otherwise read a part of the data as the image.
    path = _write(_volume(), tmp_path / "P1.nrrd")
    path.write_bytes(path.read_bytes().replace(b"sizes: 20 16 12", b"sizes: 20 16 6", 1))
    _refused(path, "truncated or corrupt", "decodes to 7680 bytes, its header describes 3840")


def test_non_regular_files_are_refused_without_opening_them(tmp_path, case_files):
    fifo = tmp_path / "P1.nrrd"
    os.mkfifo(fifo)
    dicom = tmp_path / "dicom"
    dicom.mkdir()
    os.mkfifo(dicom / "slice1.dcm")
    script = (
        "import sys\n"
        "from TMERadiomicsLib.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    cases = [
        ([fifo, case_files / "P1_tumour.nrrd"], "image is a FIFO"),
        ([case_files / "P1.nrrd", fifo], "mask is a FIFO"),
        ([dicom, case_files / "P1_tumour.nrrd"], "FIFO (named pipe) 'slice1.dcm'"),
        (["/dev/zero", case_files / "P1_tumour.nrrd"], "image is a character device"),
    ]
    for paths, expected in cases:
        started = time.monotonic()
        # A subprocess with a timeout: the old reader blocked in open() for ever.
        done = subprocess.run([sys.executable, "-c", script, "regions", *map(str, paths), "--out",
                               str(tmp_path / "out")], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and expected in lines[0], (done.returncode, lines)
        assert time.monotonic() - started < 60


def test_a_metaimage_whose_data_file_is_missing_or_a_fifo_is_refused(tmp_path):
    path = _write(_volume(), tmp_path / "P1.mhd", compress=False)
    data = tmp_path / "P1.raw"
    assert data.exists()
    data.unlink()
    os.mkfifo(data)
    _refused(path, "image data file P1.raw is a FIFO")


def _cli_fails(capsys, argv, *expected) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    for text in expected:
        assert text in err[0], err
    return err[0]


def test_label_zero_is_refused_naming_the_mask_and_its_labels(tmp_path, capsys):
    # Was: --label 0 took the background (~500k voxels) as the tumour.
    image = _volume()
    labels = sitk.GetArrayFromImage(image) * 0
    labels[2:5, 3:7, 4:9] = 3
    labels[7:9, 8:12, 10:14] = 5
    label_map = sitk.GetImageFromArray(labels.astype(np.uint8))
    label_map.CopyInformation(image)
    img, msk = _write(image, tmp_path / "P1.nrrd"), _write(label_map, tmp_path / "P1_labels.nrrd")
    line = _cli_fails(capsys, ["regions", img, msk, "--label", "0", "--out", tmp_path / "out"],
                      str(msk), "--label 0 selects the background", "labels 3, 5")
    assert "case P1" in line
    _cli_fails(capsys, ["regions", img, msk, "--label", "4", "--out", tmp_path / "out"],
               str(msk), "label 4 does not occur", "labels 3, 5")
    assert not (tmp_path / "out").exists()


def test_an_rgb_image_through_the_cli_is_one_line_exit_2(tmp_path, capsys):
    image = _volume()
    rgb = sitk.Compose([sitk.Cast(image // 4, sitk.sitkUInt8)] * 3)
    path = _write(rgb, tmp_path / "P1.nrrd", compress=False)
    path.write_bytes(path.read_bytes().replace(b"kinds: vector ", b"kinds: RGB-color "))
    mask = _write(sitk.Cast(image > 500, sitk.sitkUInt8), tmp_path / "P1_tumour.nrrd")
    _cli_fails(capsys, ["extract", path, mask, "--out", tmp_path / "f.csv"], "image voxels are not one real")
    assert not (tmp_path / "f.csv").exists()


def test_real_cases_still_read(shared_data):
    for name in ("brain1", "breast1", "lung1"):
        image = read_image(shared_data / "pyradiomics" / f"{name}_image.nrrd")
        mask = read_mask(shared_data / "pyradiomics" / f"{name}_label.nrrd", reference=image)
        assert np.count_nonzero(sitk.GetArrayViewFromImage(mask)) > 0
    phantom = shared_data / "ibsi" / "ibsi1_digital_phantom"
    assert read_image(phantom / "phantom.nii.gz").GetSize() == (5, 4, 4)


# Feature-side bounds (features/bounds.py) and regions too small for their features.

DEFAULT_PRESET = REPO / "Resources" / "Presets" / "default.yaml"


def _preset(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "preset.yaml"
    text = DEFAULT_PRESET.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def _case(tmp_path: Path, image: sitk.Image, voxels=None) -> tuple[Path, Path]:
    """``image`` and a tumour mask (a 4 x 4 x 4 cube, or the given (z, y, x) voxels) as compressed NRRD files."""
    array = np.zeros(image.GetSize()[::-1], dtype=np.uint8)
    if voxels is None:
        array[4:8, 5:9, 6:10] = 1
    else:
        for voxel in voxels:
            array[voxel] = 1
    mask = sitk.GetImageFromArray(array)
    mask.CopyInformation(image)
    return _write(image, tmp_path / "P1.nrrd"), _write(mask, tmp_path / "P1_tumour.nrrd")


def _extract_fails(capsys, tmp_path, image_path, mask_path, *args_and_expected, preset=None):
    args, expected = args_and_expected[0], args_and_expected[1:]
    out = tmp_path / "f.csv"
    argv = ["extract", image_path, mask_path, "--out", out, "--regions", "intratumoral", *args]
    if preset is not None:
        argv += ["--preset", preset]
    line = _cli_fails(capsys, argv, *expected)
    assert not out.exists() and not list(tmp_path.glob("f.*"))
    return line


def test_intensities_near_the_float64_limit_are_refused_exit_2(tmp_path, capsys):
    # Was: NaN tables, 18 warning lines, exit 0.
    huge = sitk.Cast(_volume(), sitk.sitkFloat64) * 1e305
    image, mask = _case(tmp_path, huge)
    _extract_fails(capsys, tmp_path, image, mask, [], "case P1", "intensities reach 9.99e+307", "2^53")


def test_uint64_intensities_beyond_float_precision_are_refused(tmp_path, capsys):
    big = sitk.Cast(_volume(), sitk.sitkUInt64) + float(2**61)
    image, mask = _case(tmp_path, big)
    _extract_fails(capsys, tmp_path, image, mask, [], "intensities reach 2.31e+18")


def test_non_finite_intensities_given_in_memory_are_refused():
    from TMERadiomicsLib.features import extract_case

    image = sitk.Cast(_volume(), sitk.sitkFloat32)
    image[3, 3, 3] = float("inf")
    mask = sitk.Cast(image < 500, sitk.sitkUInt8)
    with pytest.raises(InputError, match="case P1: image holds NaN or infinite intensities"):
        extract_case(image, {"intratumoral": mask}, "default", case_id="P1")


def test_a_bin_width_giving_too_many_grey_levels_is_refused_naming_it(tmp_path, capsys):
    # Was: binWidth 1e-9 gave NaN tables and exit 0.
    image, mask = _case(tmp_path, _volume())
    preset = _preset(tmp_path, "binWidth: 25", "binWidth: 1.0e-9")
    line = _extract_fails(capsys, tmp_path, image, mask, [], "region intratumoral", "binWidth 1e-09",
                          "grey levels, over the limit of 2048", preset=preset)
    assert "case P1" in line


def test_a_bin_count_over_the_limit_is_refused(tmp_path, capsys):
    image, mask = _case(tmp_path, _volume())
    preset = _preset(tmp_path, "binWidth: 25", "binCount: 100000")
    _extract_fails(capsys, tmp_path, image, mask, [], "binCount 100000", preset=preset)


def test_a_resampling_spacing_too_fine_for_the_image_is_refused_naming_it(tmp_path, capsys):
    # Was: exit 1 (a MemoryError inside resampling).
    image, mask = _case(tmp_path, _volume())
    preset = _preset(tmp_path, "distances: [1]", "distances: [1]\n  resampledPixelSpacing: [0.01, 0.01, 0.01]")
    _extract_fails(capsys, tmp_path, image, mask, [], "resampledPixelSpacing [0.01, 0.01, 0.01] mm",
                   "over the limit", preset=preset)


def test_a_reasonable_preset_still_extracts(tmp_path, capsys):
    image, mask = _case(tmp_path, _volume())
    preset = _preset(tmp_path, "distances: [1]", "distances: [1]\n  resampledPixelSpacing: [1, 1, 1]")
    out = tmp_path / "f.csv"
    assert main([str(a) for a in ["extract", image, mask, "--out", out, "--regions", "intratumoral",
                                  "--preset", preset]]) == 0
    assert json.loads(capsys.readouterr().out)["nan_values"] == 0


def test_a_single_voxel_tumour_is_refused_unless_allowed(tmp_path, capsys):
    # Was: NaN features for every column, exit 0.
    image, mask = _case(tmp_path, _volume(), voxels=[(6, 8, 10)])
    _extract_fails(capsys, tmp_path, image, mask, [], "case P1", "region intratumoral has 1 voxel",
                   "--allow-small-regions")
    out = tmp_path / "f.csv"
    assert main([str(a) for a in ["extract", image, mask, "--out", out, "--regions", "intratumoral",
                                  "--allow-small-regions"]]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["nan_values"] == summary["features_per_region"] > 100


def test_a_two_voxel_region_with_nan_features_is_refused(tmp_path, capsys):
    # Two voxels in one slice pass PyRadiomics' mask check, but their robust mean
    # absolute deviation is NaN: a silent hole in the table before.
    image, mask = _case(tmp_path, _volume(), voxels=[(6, 8, 10), (6, 9, 11)])
    _extract_fails(capsys, tmp_path, image, mask, [], "region intratumoral (2 voxels) gives NaN",
                   "RobustMeanAbsoluteDeviation", "--allow-small-regions")


def test_a_nifti_with_nan_scaling_still_reads_unscaled(tmp_path):
    # nibabel writes scl_slope = scl_inter = NaN for "no scaling": valid, not to be refused.
    image = _volume()
    path = _write(image, tmp_path / "P1.nii", compress=False)
    data = bytearray(path.read_bytes())
    data[112:120] = struct.pack("<ff", float("nan"), float("nan"))
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read_image(path)), sitk.GetArrayFromImage(image))


def test_a_truncated_dicom_slice_is_refused_not_dropped(tmp_path):
    # Was: GDCM left the cut slice out of the series and a 4-slice volume was read without a word.
    volume = sitk.GetImageFromArray(np.random.default_rng(1).integers(0, 1000, (5, 16, 16)).astype(np.int16))
    folder = tmp_path / "dicom"
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(5):
        plane = volume[:, :, k]
        for tag, value in (("0020|0032", f"0\\0\\{k}"), ("0020|0013", str(k + 1)), ("0020|000e", "1.2.826.0.1.20"),
                           ("0008|0060", "MR"), ("0020|0037", "1\\0\\0\\0\\1\\0")):
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{k}.dcm"))
        writer.Execute(plane)
    assert read_image(folder).GetSize() == (16, 16, 5)
    _truncate(folder / "slice2.dcm", 0.95)
    _refused(folder, "DICOM file 'slice2.dcm' could not be read as part of the series")


def test_batch_and_score_take_allow_small_regions_too(tmp_path, capsys):
    # Was: their refusal named --allow-small-regions, which only extract had.
    image, mask = _case(tmp_path, _volume(), voxels=[(6, 8, 10)])
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"case_id,image,mask\nP1,{image},{mask}\n", encoding="utf-8")
    batch = ["batch", str(manifest), "--preset", "default", "--jobs", "1", "--no-masks"]
    assert main(batch + ["--out", str(tmp_path / "refused")]) == 3  # finished, the case failed
    failures = (tmp_path / "refused" / "failures.csv").read_text(encoding="utf-8")
    assert "region intratumoral has 1 voxel" in failures and "--allow-small-regions" in failures
    assert main(batch + ["--out", str(tmp_path / "allowed"), "--allow-small-regions"]) == 0
    capsys.readouterr()
    bundle = "qian2024-intratumoral"
    score = ["score", bundle, str(image), str(mask), "--out"]
    assert main(score + [str(tmp_path / "s1.csv")]) == 2
    assert "--allow-small-regions" in capsys.readouterr().err
    assert main(score + [str(tmp_path / "s2.csv"), "--allow-small-regions"]) == 0
