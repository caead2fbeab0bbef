"""A cohort folder without a manifest: cases paired by layout, or one message naming what cannot be paired.

PyRadiomics' own samples (``breast1_image.nrrd`` / ``breast1_label.nrrd``)
are the flat layout; phantoms copied into one folder per case are the other.
The end-to-end run checks the batch found exactly the cases of the folder,
with the features of the files it paired, and recorded the pairing.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_batch_support import batch_argv, run_cli, tables, write_preset  # noqa: E402

from TMERadiomicsLib.batch.discover import discover_rows, read_cases  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom  # noqa: E402


def touch(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_pyradiomics_samples_pair_as_flat_cases(pyradiomics_data, tmp_path):
    for case in ("breast1", "brain1", "lung1"):
        for kind in ("image", "label"):
            (tmp_path / f"{case}_{kind}.nrrd").symlink_to(pyradiomics_data / f"{case}_{kind}.nrrd")
    specs, rows = read_cases(tmp_path)
    assert rows == [{"case_id": c, "image": f"{c}_image.nrrd", "mask": f"{c}_label.nrrd"}
                    for c in ("brain1", "breast1", "lung1")]
    assert [(s.case_id, s.image.name, s.mask.name) for s in specs] == [
        (c, f"{c}_image.nrrd", f"{c}_label.nrrd") for c in ("brain1", "breast1", "lung1")]


def test_case_folders_pair_their_image_and_mask(tmp_path):
    touch(tmp_path, "P001/dce.nii.gz", "P001/tumour.seg.nrrd", "P002/T1_post.nrrd", "P002/P002-GTV.nrrd",
          "notes/readme.txt", ".hidden/x.nrrd")
    assert discover_rows(tmp_path) == [
        {"case_id": "P001", "image": "P001/dce.nii.gz", "mask": "P001/tumour.seg.nrrd"},
        {"case_id": "P002", "image": "P002/T1_post.nrrd", "mask": "P002/P002-GTV.nrrd"}]
    # "segmentation" and "label" are mask words as whole tokens only: "labelled" is not one.
    touch(tmp_path, "P003/labelled_image.nrrd", "P003/segmentation.nrrd")
    assert discover_rows(tmp_path)[-1] == {"case_id": "P003", "image": "P003/labelled_image.nrrd",
                                           "mask": "P003/segmentation.nrrd"}


def test_what_cannot_be_paired_is_listed_in_one_message(tmp_path):
    touch(tmp_path, "P001/phase0.nrrd", "P001/phase2.nrrd", "P001/mask.nrrd", "P002/image.nrrd",
          "lone_mask.nrrd", "orphan_image.nrrd")
    with pytest.raises(InputError) as refused:
        discover_rows(tmp_path)
    text = str(refused.value)
    assert str(tmp_path) in text and "4 case(s)" in text and "write a manifest.csv" in text
    assert "case folder P001: 2 image(s) (phase0.nrrd, phase2.nrrd) and 1 mask(s) (mask.nrrd)" in text
    assert "case folder P002: 1 image(s) (image.nrrd) and 0 mask(s) (none)" in text
    assert "mask lone_mask.nrrd: no image lone_image.* or lone.*" in text
    assert "image orphan_image.nrrd: no mask orphan_mask.*" in text


def test_an_empty_folder_and_bad_case_ids_are_refused(tmp_path):
    with pytest.raises(InputError, match="holds no manifest.csv, no case folders"):
        discover_rows(tmp_path)
    touch(tmp_path, ".P1/image.nrrd", "bad id/image.nrrd", "bad id/mask.nrrd")
    with pytest.raises(InputError, match=r"case_id may hold only letters"):
        read_cases(tmp_path)  # the rows go through the manifest's own checks


def test_a_folder_with_manifest_csv_is_that_manifest(tmp_path):
    touch(tmp_path, "a/image.nrrd", "a/mask.nrrd")
    pd.DataFrame([{"case_id": "X1", "image": "a/image.nrrd", "mask": "a/mask.nrrd"}]).to_csv(
        tmp_path / "manifest.csv", index=False)
    specs, rows = read_cases(tmp_path)
    assert rows is None and [s.case_id for s in specs] == ["X1"]


def test_batch_over_a_folder_runs_the_cases_it_found_and_records_the_pairing(tmp_path):
    cohort = tmp_path / "cohort"
    for seed in (31, 32):
        scratch = tmp_path / f"scratch{seed}"
        scratch.mkdir()
        write_phantom(make_phantom("small", seed), scratch)
        (cohort / f"C{seed}").mkdir(parents=True)
        shutil.copy(scratch / "image.nrrd", cohort / f"C{seed}" / "dce.nrrd")
        shutil.copy(scratch / "tumour.nrrd", cohort / f"C{seed}" / "tumour_mask.nrrd")
    out = tmp_path / "out"
    done = run_cli(batch_argv(cohort, write_preset(tmp_path), out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2 cases found in" in done.stderr and "by layout" in done.stderr
    wide = tables(out)["features_wide"]
    assert sorted(set(wide["case_id"])) == ["C31", "C32"]
    record = json.loads((out / "batch.json").read_text())
    assert record["discovered_cases"] == [
        {"case_id": f"C{s}", "image": f"C{s}/dce.nrrd", "mask": f"C{s}/tumour_mask.nrrd"} for s in (31, 32)]
    again = run_cli(batch_argv(cohort, write_preset(tmp_path), out))  # resume: nothing to redo
    assert again.returncode == 0 and json.loads(again.stdout)["resumed_from_earlier_runs"] == 2, again.stderr[-1000:]
