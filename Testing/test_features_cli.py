"""``tmeradiomics extract`` and ``tmeradiomics presets`` on the small phantom."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.features import load_preset


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_extract_writes_wide_combined_and_diagnostics(case_files, tmp_path, capsys):
    out = tmp_path / "features.csv"
    code, stdout, _ = _run(capsys, "extract", case_files / "P1.nrrd", case_files / "P1_tumour.nrrd",
                           "--preset", "default", "--out", out)
    assert code == 0
    summary = json.loads(stdout)
    wide = pd.read_csv(out)
    assert list(wide["region"]) == ["intratumoral", "peritumoral", "ring"]
    assert set(wide["case_id"]) == {"P1"} and set(wide["preset_sha256"]) == {load_preset("default").sha256}
    assert wide.shape[1] == 4 + 107 == 4 + summary["features_per_region"]
    combined = pd.read_csv(tmp_path / "features.combined.csv")
    assert combined.shape == (1, 3 + 3 * 107) and "Ring_original_glcm_Contrast" in combined.columns
    diagnostics = json.loads((tmp_path / "features.diagnostics.json").read_text())
    assert diagnostics["preset_sha256"] == load_preset("default").sha256
    assert diagnostics["voxels"]["intratumoral"] == int(sitk.GetArrayFromImage(sitk.ReadImage(
        str(case_files / "P1_tumour.nrrd"))).sum())


def test_ready_region_mask_and_region_subset(case_files, tmp_path, capsys):
    out = tmp_path / "f.csv"
    code, _, _ = _run(capsys, "extract", case_files / "P1.nrrd", case_files / "P1_tumour.nrrd", "--preset",
                      "default", "--regions", "intratumoral,peritumoral", "--region-mask",
                      f"peritumoral={case_files / 'P1_tumour.nrrd'}", "--out", out)
    assert code == 0
    wide = pd.read_csv(out).set_index("region")
    assert list(wide.index) == ["intratumoral", "peritumoral"]
    # the ready mask given for peritumoral is the tumour itself
    assert wide.loc["peritumoral"].drop(["case_id"]).equals(wide.loc["intratumoral"].drop(["case_id"]))


@pytest.mark.parametrize(
    ("preset_text", "named"),
    [
        (None, "no_such_preset"),
        ("imageType: {Original: {}\n", "YAML"),
        ("imageType: {Original: {}, Sobel: {}}\n", "Sobel"),
        ("featureClass: {haralick: }\n", "haralick"),
    ],
)
def test_bad_preset_is_one_line_exit_2_nothing_written(case_files, tmp_path, capsys, preset_text, named):
    preset = "no_such_preset"
    if preset_text is not None:
        preset = tmp_path / "bad.yaml"
        preset.write_text(preset_text)
    code, stdout, stderr = _run(capsys, "extract", case_files / "P1.nrrd", case_files / "P1_tumour.nrrd",
                                "--preset", preset, "--out", tmp_path / "out" / "features.csv")
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and named in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_existing_output_refused_without_overwrite(case_files, tmp_path, capsys):
    out = tmp_path / "features.csv"
    out.write_text("keep")
    code, _, stderr = _run(capsys, "extract", case_files / "P1.nrrd", case_files / "P1_tumour.nrrd",
                           "--preset", "default", "--out", out)
    assert code == 2 and "--overwrite" in stderr and out.read_text() == "keep"


def test_presets_lists_counts(capsys):
    code, stdout, _ = _run(capsys, "presets", "--json")
    assert code == 0
    listed = {item["name"]: item for item in json.loads(stdout)}
    assert listed["han2024"]["features_per_region"] == 479
    assert listed["qian2024"]["features_per_region"] == 1648
    assert listed["qian2024"]["sha256"] == load_preset("qian2024").sha256
    assert "LBP2D" in listed["qian2024"]["image_types"]
