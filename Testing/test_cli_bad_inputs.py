"""Bad inputs of issue 14 through the real CLI: one line, exit code 2, no
partial file, earlier output intact; and the options that were silently
ignored or refused valid input. ``docs/bad-inputs.md`` lists every bad input
the suite tests, by command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from labels_synthetic import fractions, mixture, signature, write_matrix
from model_tables import qian_table

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.models import bundled_model, load_bundle
from TMERadiomicsLib.cohort.phantom import make_phantom
from TMERadiomicsLib.regions.options import BYTES_PER_FINE_VOXEL, RegionOptions, working_memory_gb


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """The small phantom (112x112x40, 0.8x0.8x1.5 mm: field of view 89.6 mm)."""
    folder = tmp_path_factory.mktemp("case")
    phantom = make_phantom("small", seed=1)
    paths = {"image": folder / "P1.nrrd", "mask": folder / "P1_tumour.nrrd"}
    sitk.WriteImage(phantom.image(), str(paths["image"]))
    sitk.WriteImage(phantom.tumour, str(paths["mask"]))
    return paths


@pytest.fixture(scope="module")
def expression(tmp_path_factory):
    folder = tmp_path_factory.mktemp("expr")
    sig = signature(n_cells=4, seed=3)
    write_matrix(mixture(sig, fractions(12, 4, seed=4), seed=5), folder / "mixture.tsv")
    write_matrix(sig, folder / "signature.tsv")
    lines = [f"{cell}\tsynthetic\t" + "\t".join(sig.index[i * 20:(i + 1) * 20]) for i, cell in enumerate(sig.columns)]
    (folder / "cells.gmt").write_text("\n".join(lines) + "\n")
    return folder


def _fails(capsys, argv, *expected) -> str:
    """Exit 2 and one stderr line holding every ``expected`` text (argparse adds its usage lines)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:  # argparse ends the process itself, with code 2
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and all(line.startswith(("usage:", " ")) for line in err if line not in errors), err
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def _earlier(path, text="earlier result\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ---- memory and bounds ------------------------------------------------------------------


@pytest.mark.parametrize("width", ["500", "1e6"])
def test_band_wider_than_field_of_view_is_refused_before_work(case, tmp_path, capsys, width):
    out = tmp_path / "out"
    line = _fails(capsys, ["regions", case["image"], case["mask"], "--out", out, "--peritumoral-mm", width],
                  "--peritumoral-mm is wider than the image's field of view (89.6 mm", f"(value: {float(width)})")
    assert line.startswith("tmeradiomics regions: error: case P1:")
    assert not out.exists() and _listing(tmp_path) == []


def test_ring_wider_than_field_of_view_is_named(case, tmp_path, capsys):
    _fails(capsys, ["extract", case["image"], case["mask"], "--out", tmp_path / "f.csv", "--ring-mm", "100"],
           "--ring-mm is wider than the image's field of view")
    assert _listing(tmp_path) == []


def test_working_memory_estimate_follows_the_crop_geometry():
    # A 10x6x4-voxel box on a 1x1x2 mm grid; regions crops bbox + 2 x (ceil(W/spacing) + 2) per axis,
    # and the distance map refines 1 mm -> 0.5 mm (x2) and 2 mm -> 0.5 mm (x4).
    mask = sitk.Image(60, 50, 40, sitk.sitkUInt8)
    mask.SetSpacing((1.0, 1.0, 2.0))
    array = sitk.GetArrayFromImage(mask)
    array[10:14, 20:26, 30:40] = 1
    box = sitk.GetImageFromArray(array)
    box.CopyInformation(mask)
    crop = (10 + 2 * (8 + 2)) * (6 + 2 * (8 + 2)) * (4 + 2 * (4 + 2))
    assert working_memory_gb(box, 8.0) == pytest.approx(crop * 2 * 2 * 4 * BYTES_PER_FINE_VOXEL / 1e9)


def test_band_over_the_memory_limit_is_refused_naming_limit_and_value(case):
    image = sitk.ReadImage(str(case["image"]))
    tumour = sitk.ReadImage(str(case["mask"]))
    needed = working_memory_gb(tumour, 60.0)
    with pytest.raises(InputError) as caught:
        RegionOptions(peritumoral_mm=60.0, memory_limit_gb=needed / 2).build("P1", image, tumour)
    message = str(caught.value)
    assert f"about {needed:.1f} GB of working memory" in message
    assert f"the limit is {needed / 2:g} GB" in message and "(value: 60.0)" in message


def test_regions_left_empty_by_exclusions_fail_unless_allowed(case, tmp_path, capsys):
    out = tmp_path / "out"
    _fails(capsys, ["regions", case["image"], case["mask"], "--out", out, "--air-below", "1e9"],
           "peritumoral and ring regions are empty after removing air below 1e+09", "--allow-empty-regions")
    assert not out.exists()
    assert main(["regions", str(case["image"]), str(case["mask"]), "--out", str(out), "--air-below", "1e9",
                 "--allow-empty-regions"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["regions"]["peritumoral"]["voxels"] == summary["regions"]["ring"]["voxels"] == 0
    assert summary["regions"]["intratumoral"]["voxels"] > 0


def test_extract_with_empty_regions_keeps_the_earlier_table(case, tmp_path, capsys):
    out = tmp_path / "f.csv"
    before = _earlier(out)
    _fails(capsys, ["extract", case["image"], case["mask"], "--preset", "default", "--out", out, "--overwrite",
                    "--air-below", "1e9"], "region", "empty")
    assert out.read_text() == before and _listing(tmp_path) == ["f.csv"]


# ---- tracebacks that became one line -----------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["phantom", "--out", "{tmp}/p", "--seed", "-1"],
    ["cohort", "--out", "{tmp}/c", "--seed", "-1"],
    ["perturb", "{image}", "{mask}", "--out", "{tmp}/q", "--seed", "-1"],
    ["demo", "--out", "{tmp}/d", "--seed", "-1"],
    ["train", "{tmp}/f.csv", "{tmp}/l.csv", "--recipe", "han2024-rf", "--out", "{tmp}/m", "--seed", "-1"],
    ["evaluate", "m", "{tmp}/f.csv", "{tmp}/l.csv", "--out", "{tmp}/e", "--seed", "-1"],
    ["response", "{tmp}/s.csv", "{tmp}/c.csv", "--out", "{tmp}/r", "--seed", "-1"],
    ["labels", "cibersort", "{tmp}/x.tsv", "{tmp}/s.txt", "--out", "{tmp}/cs", "--seed", "-1"],
    ["labels", "phenotype", "{tmp}/x.csv", "--method", "kmeans", "--out", "{tmp}/k.csv", "--seed", "-1"],
])
def test_negative_seed(case, tmp_path, capsys, argv):
    argv = [a.format(tmp=tmp_path, image=case["image"], mask=case["mask"]) for a in argv]
    _fails(capsys, argv, "argument --seed: a seed must be 0 or more, not -1")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("command", ["regions", "extract"])
def test_out_under_proc_is_refused_before_work(case, capsys, command):
    out = "/proc/tmeradiomics-test/out" + (".csv" if command == "extract" else "")
    _fails(capsys, [command, case["image"], case["mask"], "--out", out, "--preset", "default"][: 5 if command == "regions" else 7],
           "output folder cannot be written")


def test_extract_into_unwritable_folder_fails_before_reading_images(tmp_path, capsys):
    # /proc cannot be written even by root; the images do not exist, so a late check would name them instead.
    _fails(capsys, ["extract", tmp_path / "missing.nrrd", tmp_path / "missing_mask.nrrd", "--preset", "default",
                    "--out", "/proc/f.csv"], "file /proc", "output folder cannot be written")


def test_survival_km_unknown_column(tmp_path, capsys):
    pd.DataFrame({"case_id": ["a", "b", "c", "d"], "time": [5, 6, 7, 8], "event": [1, 0, 1, 0]}).to_csv(
        tmp_path / "survival.csv", index=False)
    pd.DataFrame({"case_id": ["a", "b", "c", "d"], "group": [0, 1, 0, 1]}).to_csv(tmp_path / "values.csv", index=False)
    out = tmp_path / "km"
    _fails(capsys, ["survival", "km", tmp_path / "survival.csv", tmp_path / "values.csv", "--column", "Nope",
                    "--out", out], "no column 'Nope'", "it has group")
    assert not out.exists()


def _closed_stdout_run(*argv: str) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "TMERadiomicsLib", *map(str, argv)], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(write_end)


def test_closed_stdout_on_regions_and_cibersort_is_quiet(case, expression, tmp_path):
    regions = _closed_stdout_run("regions", case["image"], case["mask"], "--out", tmp_path / "r")
    assert (regions.returncode, regions.stderr) == (0, "")
    assert (tmp_path / "r" / "summary.json").is_file()  # the files were written before the JSON
    cibersort = _closed_stdout_run("labels", "cibersort", expression / "mixture.tsv", expression / "signature.tsv",
                                   "--solver", "qp", "--out", tmp_path / "cs")
    assert (cibersort.returncode, cibersort.stderr) == (0, "")
    assert (tmp_path / "cs" / "fractions.csv").is_file()


# ---- no silent overwrite -------------------------------------------------------------------


def test_score_out_follows_the_overwrite_contract(tmp_path, capsys):
    bundle = load_bundle(bundled_model("qian2024-intratumoral"))
    table = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=5)
    table.to_csv(tmp_path / "f.csv", index=False)
    scores = tmp_path / "scores.csv"
    before = _earlier(scores)
    _fails(capsys, ["score", "qian2024-intratumoral", tmp_path / "f.csv", "--out", scores],
           f"file {scores}: output file exists; use --overwrite to replace it")
    assert scores.read_text() == before
    assert main(["score", "qian2024-intratumoral", str(tmp_path / "f.csv"), "--out", str(scores), "--overwrite"]) == 0
    assert pd.read_csv(scores).shape[0] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "scores.csv"]


# ---- silently ignored options ---------------------------------------------------------------


def test_phase_on_a_3d_image_is_an_error(case, tmp_path, capsys):
    _fails(capsys, ["regions", case["image"], case["mask"], "--out", tmp_path / "o", "--phase", "3"],
           "--phase applies to 4-D (multi-phase) images", "(value: 3)")
    assert _listing(tmp_path) == []


def test_ssgsea_negative_alpha(expression, tmp_path, capsys):
    _fails(capsys, ["labels", "ssgsea", expression / "mixture.tsv", expression / "cells.gmt", "--out",
                    tmp_path / "s", "--alpha", "-1"], "alpha, the rank weight exponent, must be 0 or more")
    assert _listing(tmp_path) == []


def test_ssgsea_min_size_gives_size_advice_without_a_warning_dump(expression, tmp_path, capsys, caplog):
    line = _fails(capsys, ["labels", "ssgsea", expression / "mixture.tsv", expression / "cells.gmt", "--out",
                           tmp_path / "s", "--min-size", "100"], "lower --min-size or raise --max-size")
    assert "identifiers" not in line
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_ssgsea_without_overlap_advises_on_identifiers(expression, tmp_path, capsys, caplog):
    (tmp_path / "other.gmt").write_text("SET1\tx\tENSG01\tENSG02\nSET2\tx\tENSG03\n")
    _fails(capsys, ["labels", "ssgsea", expression / "mixture.tsv", tmp_path / "other.gmt", "--out", tmp_path / "s"],
           "no gene of any of the 2 gene sets", "same gene identifiers")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert _listing(tmp_path) == ["other.gmt"]


def test_session_negative_timeout(tmp_path, capsys):
    _fails(capsys, ["session", "list", "--db", tmp_path / "study.db", "--timeout", "-3"],
           "argument --timeout: must be 0 or more, not -3")
    assert _listing(tmp_path) == []


def test_perturb_noise_larger_than_the_tumour(case, tmp_path, capsys):
    _fails(capsys, ["perturb", case["image"], case["mask"], "--out", tmp_path / "q", "--noise-mm", "1e9"],
           "noise_mm must be smaller than the tumour's equivalent-sphere radius", "(value: 1000000000.0)")
    assert _listing(tmp_path) == []


# ---- noise ----------------------------------------------------------------------------------


def test_junk_dicom_folder_is_one_line_without_itk_warnings(case, tmp_path, capfd):
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.dcm").write_bytes(np.random.default_rng(0).bytes(4096))
    (junk / "b.dcm").write_text("not DICOM\n")
    assert main(["regions", str(junk), str(case["mask"]), "--out", str(tmp_path / "o")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [f"tmeradiomics regions: error: case junk: file {junk}: folder holds no DICOM series"]


# ---- valid input no longer refused ----------------------------------------------------------


def test_correlate_skips_constant_columns_with_a_note(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ids = [f"c{i}" for i in range(12)]
    features = pd.DataFrame({"case_id": ids, "preset": "p", "preset_sha256": "ab" * 32,
                             "Peri_original_firstorder_Mean": rng.normal(size=12),
                             "Ring_original_glcm_Contrast": rng.normal(size=12),
                             "Intra_lbp-2D_firstorder_Minimum": 0.0})
    cells = pd.DataFrame({"case_id": ids, "Macrophages M2": rng.random(12), "Neutrophils": 0.0})
    features.to_csv(tmp_path / "features.csv", index=False)
    cells.to_csv(tmp_path / "cells.csv", index=False)
    (tmp_path / "names.txt").write_text("Peri_original_firstorder_Mean\nRing_original_glcm_Contrast\n")
    assert main(["labels", "correlate", str(tmp_path / "features.csv"), str(tmp_path / "cells.csv"),
                 "--names", str(tmp_path / "names.txt"), "--out", str(tmp_path / "corr")]) == 0
    captured = capsys.readouterr()
    assert "1 constant features left out (undefined rank correlation): Intra_lbp-2D_firstorder_Minimum" in captured.err
    assert "1 constant cell types left out (undefined rank correlation): Neutrophils" in captured.err
    report = json.loads(captured.out)
    assert report["skipped_constant"] == {"features": ["Intra_lbp-2D_firstorder_Minimum"], "cell_types": ["Neutrophils"]}
    rho = pd.read_csv(tmp_path / "corr" / "rho.csv", index_col=0)
    assert list(rho.columns) == ["Macrophages M2"] and len(rho) == 2


def test_cibersort_zero_jobs(expression, tmp_path, capsys):
    _fails(capsys, ["labels", "cibersort", expression / "mixture.tsv", expression / "signature.tsv", "--out",
                    tmp_path / "cs", "--jobs", "0"], "argument --jobs: must be 1 or more, not 0")
    assert _listing(tmp_path) == []


def test_kmeans_k_max_below_two(tmp_path, capsys):
    rng = np.random.default_rng(1)
    pd.DataFrame({"case_id": [f"c{i}" for i in range(10)], **{f"cell{j}": rng.random(10) for j in range(4)}}).to_csv(
        tmp_path / "abundance.csv", index=False)
    _fails(capsys, ["labels", "phenotype", tmp_path / "abundance.csv", "--method", "kmeans", "--k-max", "0",
                    "--out", tmp_path / "tme.csv"], "k_max) must be at least 2", "(value: 0)")
    assert _listing(tmp_path) == ["abundance.csv"]


def test_perturb_masks_beyond_the_memory_limit(case, tmp_path, capsys):
    # 112x112x40 voxels: 10^6 masks would hold 501.8 GB.
    _fails(capsys, ["perturb", case["image"], case["mask"], "--out", tmp_path / "q", "--n", "1000000"],
           "1000000 perturbed masks of this image would hold 501.8 GB in memory; the limit is 4 GB")
    assert _listing(tmp_path) == []


def test_perturb_band_wider_than_field_of_view(case, tmp_path, capsys):
    _fails(capsys, ["perturb", case["image"], case["mask"], "--out", tmp_path / "q", "--peritumoral-mm", "500"],
           "--peritumoral-mm is wider than the image's field of view")
    assert _listing(tmp_path) == []


def test_batch_more_local_workers_than_memory_holds(tmp_path, capsys):
    memory_gb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    workers = int(memory_gb) + 1
    for flag in ("--jobs", "--dask-local"):
        _fails(capsys, ["batch", tmp_path / "manifest.csv", "--preset", "default", "--out", tmp_path / "out",
                        flag, str(workers)], f"{flag} {workers} local workers may need about {workers} GB")
    assert _listing(tmp_path) == []


def test_batch_case_with_regions_emptied_is_a_recorded_failure(case, tmp_path, capsys):
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"case_id": ["A"], "image": [case["image"]], "mask": [case["mask"]]}).to_csv(manifest, index=False)
    out = tmp_path / "out"
    code = main(["batch", str(manifest), "--preset", "default", "--out", str(out), "--air-below", "1e9"])
    capsys.readouterr()
    assert code == 3  # finished, every case failed (docs/batch.md)
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["case_id"]) == ["A"]
    assert failures["reason"].str.contains("peritumoral and ring regions are empty after removing air below").all()
    assert not (out / "cases" / "A" / "features_wide.csv").exists()


def test_closed_stdout_on_score_keeps_its_out_file(tmp_path):
    bundle = load_bundle(bundled_model("qian2024-intratumoral"))
    qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=5).to_csv(tmp_path / "f.csv", index=False)
    done = _closed_stdout_run("score", "qian2024-intratumoral", tmp_path / "f.csv", "--out", tmp_path / "s.csv")
    assert (done.returncode, done.stderr) == (0, "")
    assert pd.read_csv(tmp_path / "s.csv").shape[0] == 5
