"""``tmeradiomics regions`` and ``phantom``: outputs, and every bad input of the foundation issue.

Each bad input must give exactly one error line naming the file or value,
exit code 2, and leave no output behind.
"""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import sphere_mask
from TMERadiomicsLib.cli import main
from TMERadiomicsLib.io.seg_nrrd import read_seg_nrrd


@pytest.fixture()
def case(tmp_path):
    mask = sphere_mask(6.0, (0.8, 0.8, 1.5), origin=(3.0, -7.0, 11.0))
    image = sitk.Cast(mask, sitk.sitkFloat32) * 200.0 + 100.0
    paths = {"image": tmp_path / "img.nrrd", "mask": tmp_path / "mask.nrrd"}
    sitk.WriteImage(image, str(paths["image"]))
    sitk.WriteImage(mask, str(paths["mask"]))
    paths["mask_image"] = mask
    paths["image_image"] = image
    return paths


def _write(image, path):
    sitk.WriteImage(image, str(path))
    return path


def _fails(capsys, argv, *expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for text in expected:
        assert text in err[0]
    return err[0]


def test_regions_writes_masks_segmentation_summary_and_overlay(case, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["regions", str(case["image"]), str(case["mask"]), "--out", str(out), "--case-id", "P-001"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["case_id"] == "P-001"
    names = {"intratumoral.nrrd", "peritumoral.nrrd", "ring.nrrd", "regions.seg.nrrd", "summary.json", "overlay.png"}
    assert {p.name for p in out.iterdir()} == names
    written = sitk.ReadImage(str(out / "peritumoral.nrrd"))
    assert int(sitk.GetArrayViewFromImage(written).sum()) == summary["regions"]["peritumoral"]["voxels"]
    assert written.GetOrigin() == pytest.approx((3.0, -7.0, 11.0))
    assert [s.id for s in read_seg_nrrd(out / "regions.seg.nrrd")] == ["intratumoral", "peritumoral", "ring"]


def test_missing_file(case, tmp_path, capsys):
    _fails(capsys, ["regions", str(tmp_path / "nope.nrrd"), str(case["mask"]), "--out", str(tmp_path / "o")], "nope.nrrd", "file not found")
    assert not (tmp_path / "o").exists()


def test_unreadable_file(case, tmp_path, capsys):
    bad = tmp_path / "bad.nrrd"
    bad.write_text("this is not an image")
    _fails(capsys, ["regions", str(bad), str(case["mask"]), "--out", str(tmp_path / "o")], "bad.nrrd", "cannot read image")
    assert not (tmp_path / "o").exists()


def test_empty_mask(case, tmp_path, capsys):
    empty = _write(case["mask_image"] * 0, tmp_path / "empty.nrrd")
    _fails(capsys, ["regions", str(case["image"]), str(empty), "--out", str(tmp_path / "o")], "empty.nrrd", "mask is empty")
    assert not (tmp_path / "o").exists()


def test_mask_outside_the_image(case, tmp_path, capsys):
    moved = sitk.Image(case["mask_image"])
    moved.SetOrigin((500.0, 500.0, 500.0))
    path = _write(moved, tmp_path / "far.nrrd")
    _fails(capsys, ["regions", str(case["image"]), str(path), "--out", str(tmp_path / "o"), "--resample-mask"], "far.nrrd", "lies outside the image")
    assert not (tmp_path / "o").exists()


def test_non_binary_mask_needs_label(case, tmp_path, capsys):
    labels = _write(case["mask_image"] * 2 + sitk.Cast(case["image_image"] > 1e9, sitk.sitkUInt8), tmp_path / "labels.nrrd")
    array = sitk.GetArrayFromImage(sitk.ReadImage(str(labels)))
    array[0, 0, 0] = 5
    two = sitk.GetImageFromArray(array)
    two.CopyInformation(case["mask_image"])
    _write(two, labels)
    _fails(capsys, ["regions", str(case["image"]), str(labels), "--out", str(tmp_path / "o")], "labels.nrrd", "not binary", "labels 2, 5")
    assert main(["regions", str(case["image"]), str(labels), "--label", "2", "--out", str(tmp_path / "ok")]) == 0


def test_different_geometry(case, tmp_path, capsys):
    other = sitk.Image(case["mask_image"])
    other.SetSpacing((0.8, 0.8, 1.6))
    path = _write(other, tmp_path / "other.nrrd")
    _fails(capsys, ["regions", str(case["image"]), str(path), "--out", str(tmp_path / "o")], "other.nrrd", "different geometry", "spacing")
    assert not (tmp_path / "o").exists()


def test_two_dimensional_image(case, tmp_path, capsys):
    flat = _write(sitk.Image([20, 20], sitk.sitkFloat32), tmp_path / "flat.nrrd")
    _fails(capsys, ["regions", str(flat), str(case["mask"]), "--out", str(tmp_path / "o")], "flat.nrrd", "must be 3-D", "2-D")


def test_nan_intensities(case, tmp_path, capsys):
    array = sitk.GetArrayFromImage(case["image_image"])
    array[3, 4, 5] = np.nan
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(case["image_image"])
    path = _write(image, tmp_path / "nan.nrrd")
    _fails(capsys, ["regions", str(path), str(case["mask"]), "--out", str(tmp_path / "o")], "nan.nrrd", "NaN or infinite", "(i,j,k)=(5, 4, 3)")


@pytest.mark.parametrize("flag,value", [("--peritumoral-mm", "0"), ("--ring-mm", "-2")])
def test_non_positive_width(case, tmp_path, capsys, flag, value):
    _fails(capsys, ["regions", str(case["image"]), str(case["mask"]), flag, value, "--out", str(tmp_path / "o")], flag, "positive", f"(value: {float(value)})")
    assert not (tmp_path / "o").exists()


def test_exclusion_with_other_geometry(case, tmp_path, capsys):
    other = sitk.Image(case["mask_image"])
    other.SetOrigin((0.0, 0.0, 0.0))
    path = _write(other, tmp_path / "vessels.nrrd")
    _fails(capsys, ["regions", str(case["image"]), str(case["mask"]), "--exclude", str(path), "--out", str(tmp_path / "o")], "vessels.nrrd", "different geometry")
    assert not (tmp_path / "o").exists()


def test_existing_output_folder_is_kept_unless_overwrite(case, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("earlier result")
    _fails(capsys, ["regions", str(case["image"]), str(case["mask"]), "--out", str(out)], "holds other files", "--overwrite")
    assert [p.name for p in out.iterdir()] == ["earlier.txt"]
    assert main(["regions", str(case["image"]), str(case["mask"]), "--out", str(out), "--overwrite"]) == 0
    assert (out / "ring.nrrd").exists() and (out / "earlier.txt").read_text() == "earlier result"


def test_empty_exclusion_mask_is_allowed_and_leaves_no_stage(case, tmp_path, capsys):
    out = tmp_path / "o"
    empty_exclusion = _write(case["mask_image"] * 0, tmp_path / "none.nrrd")
    assert main(["regions", str(case["image"]), str(case["mask"]), "--exclude", str(empty_exclusion), "--out", str(out)]) == 0
    assert [p for p in tmp_path.iterdir() if ".partial-" in p.name] == []


def test_phantom_command_is_seeded(tmp_path, capsys):
    assert main(["phantom", "--out", str(tmp_path / "a"), "--seed", "3"]) == 0
    assert main(["phantom", "--out", str(tmp_path / "b"), "--seed", "3"]) == 0
    a = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "a" / "image.nrrd")))
    b = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "b" / "image.nrrd")))
    assert np.array_equal(a, b)
    assert {f"phase{i}.nrrd" for i in range(6)} <= {p.name for p in (tmp_path / "a").iterdir()}


def test_help_on_every_command(capsys):
    from TMERadiomicsLib.cli import COMMANDS, build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert len(commands) >= len(COMMANDS)
    for name, sub in commands.items():
        assert sub.format_help().startswith("usage: tmeradiomics " + name)
