"""``tmeradiomics kinetics`` end to end, and reading the phases from disk (``kinetics/reading.py``):
the phantom's phase files with its phantom.json, a 4-D file with --times, and a DICOM DCE study."""

from __future__ import annotations

import csv
import json

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

import dicom_synthetic as d
from TMERadiomicsLib.cli import main
from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom
from TMERadiomicsLib.kinetics import kinetic_features, read_kinetic_series
from TMERadiomicsLib.kinetics.maps import CURVE_TYPES, WASHOUT
from TMERadiomicsLib.regions.options import RegionOptions

PHASES = [f"phase{n}.nrrd" for n in range(6)]


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("kinetic_phantom")
    write_phantom(make_phantom("small", seed=2), out)
    return out


@pytest.fixture(scope="module")
def run(phantom_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("kinetics") / "out"
    code = main(["kinetics", *(str(phantom_dir / p) for p in PHASES), str(phantom_dir / "tumour.nrrd"),
                 "--case-id", "K01", "--out", str(out)])
    assert code == 0
    return out


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_writes_maps_tables_curves_and_pictures(run, phantom_dir):
    description = json.loads((run / "kinetics.json").read_text())
    assert description["case_id"] == "K01" and description["times_source"] == "phantom.json"
    assert description["times_s"] == json.loads((phantom_dir / "phantom.json").read_text())["phase_times_s"]
    assert (description["early_s"], description["late_s"]) == (180.0, 300.0)  # I-SPY's choice (definitions.py)
    for name in description["files"]:
        assert (run / name).is_file(), name
    for picture in ("curves.png", "ser_overlay.png"):
        assert (run / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _rows(run / "kinetics.csv")
    assert [(r["case_id"], r["region"]) for r in rows] == [("K01", "intratumoral"), ("K01", "peritumoral"),
                                                            ("K01", "ring")]
    curves = _rows(run / "curves.csv")
    assert len(curves) == 3 * 6 and {r["case_id"] for r in curves} == {"K01"}


def test_the_written_maps_are_the_computed_ones_in_the_phases_space(run, phantom_dir):
    """Each NRRD map lies where its voxels came from, and its values give back the table's statistics."""
    series = read_kinetic_series([phantom_dir / p for p in PHASES])
    image = series.phases[2]
    tumour = sitk.ReadImage(str(phantom_dir / "tumour.nrrd"))
    masks = RegionOptions().build("K01", image, tumour).masks
    result = kinetic_features(series, masks, case_id="K01")
    pe = sitk.ReadImage(str(run / "maps" / "PE_early.nrrd"))
    corner = image.TransformPhysicalPointToIndex(pe.GetOrigin())
    assert corner == tuple(int(s.start) for s in result.maps.box[::-1])
    assert pe.GetSpacing() == image.GetSpacing() and pe.GetDirection() == image.GetDirection()
    assert np.array_equal(sitk.GetArrayFromImage(pe), result.maps.values["PE_early"], equal_nan=True)
    # The table's washout fraction is the share of code 3 voxels of the written curve-type map in the region.
    curve = sitk.GetArrayFromImage(sitk.ReadImage(str(run / "maps" / "curve_type.nrrd")))
    inside = result.masks_on_box["intratumoral"]
    row = _rows(run / "kinetics.csv")[0]
    assert CURVE_TYPES[WASHOUT] == "washout"
    assert float(row["kinetics_washout_fraction"]) == pytest.approx(np.mean(curve[inside] == WASHOUT), abs=1e-12)
    ftv = sitk.GetArrayFromImage(sitk.ReadImage(str(run / "maps" / "FTV.nrrd")))
    assert float(row["kinetics_FTV_ml"]) == pytest.approx(
        np.count_nonzero(ftv[inside]) * np.prod(image.GetSpacing()) / 1000, rel=1e-12)


def test_a_4d_file_with_times_gives_the_same_features(run, phantom_dir, tmp_path):
    phases = [sitk.ReadImage(str(phantom_dir / p)) for p in PHASES]
    four_d = tmp_path / "dce4d.nrrd"
    sitk.WriteImage(sitk.JoinSeries(phases), str(four_d))
    out = tmp_path / "out"
    times = ",".join(f"{t:g}" for t in json.loads((phantom_dir / "phantom.json").read_text())["phase_times_s"])
    assert main(["kinetics", str(four_d), str(phantom_dir / "tumour.nrrd"), "--case-id", "K01", "--times", times,
                 "--out", str(out)]) == 0
    assert (out / "kinetics.csv").read_text() == (run / "kinetics.csv").read_text()
    assert json.loads((out / "kinetics.json").read_text())["times_source"] == "--times"


def _dicom_study(root, times, enhancement=(0.0, 600.0, 500.0, 350.0)):
    """Four phase series of one study; the lesion enhances and then washes out."""
    uid, frame = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    for n, (time, boost) in enumerate(zip(times, enhancement)):
        d.write_series(root, seed=n, series_number=10 + n, description=f"DCE phase {n}", acquisition_time=time,
                       study_uid=uid, frame_uid=frame, enhancement=boost, prefix=f"S{n}_")
    mask = sitk.Cast(sitk.GetImageFromArray(d.ellipsoid().astype(np.uint8)), sitk.sitkUInt8)
    mask.CopyInformation(d.reference_image())
    sitk.WriteImage(mask, str(root.parent / "lesion.nrrd"))
    return root.parent / "lesion.nrrd"


def test_a_dicom_study_gives_its_acquisition_times(tmp_path):
    mask = _dicom_study(tmp_path / "dce", ("101000", "101130", "101400", "101830"))
    series = read_kinetic_series(tmp_path / "dce", case_id="D1")
    assert series.times_s == (0.0, 90.0, 240.0, 510.0) and series.source == "DICOM acquisition time"
    out = tmp_path / "out"
    assert main(["kinetics", str(tmp_path / "dce"), str(mask), "--case-id", "D1", "--out", str(out)]) == 0
    text = (out / "kinetics.json").read_text()
    assert "D1" in text and d.IDENTIFIERS["PatientID"] not in text and d.IDENTIFIERS["PatientName"] not in text
    intratumoral = _rows(out / "kinetics.csv")[0]
    # Early phase (nearest 150 s) is 90 s, late (nearest 450 s) 510 s; the lesion's signal 200 + boost.
    assert float(intratumoral["kinetics_washout_fraction"]) > 0.9


@pytest.mark.parametrize("case, message", [
    ("single", "this image has one phase"),
    ("no_times", "phase times are missing"),
    ("count", "4 phase times for 6 DCE phases"),
    ("unordered", "must increase strictly"),
    ("zero_baseline", "pre-contrast signal is <= 0"),
    ("dicom_unordered", "must increase strictly"),
])
def test_bad_phases_are_refused_with_one_line_and_nothing_written(case, message, phantom_dir, tmp_path, capsys):
    phases = [str(phantom_dir / p) for p in PHASES]
    tumour = str(phantom_dir / "tumour.nrrd")
    extra: list[str] = []
    if case == "single":
        phases = [str(phantom_dir / "image.nrrd")]
    elif case == "no_times":  # phase files without the phantom.json that would give their times
        copies = []
        for p in PHASES:
            copy = tmp_path / p.replace("phase", "dce")
            copy.write_bytes((phantom_dir / p).read_bytes())
            copies.append(str(copy))
        phases = copies
    elif case == "count":
        extra = ["--times", "0,60,120,180"]
    elif case == "unordered":
        extra = ["--times", "0,120,60,180,240,300"]
    elif case == "zero_baseline":
        zero = sitk.ReadImage(phases[0]) * 0
        sitk.WriteImage(zero, str(tmp_path / "phase0.nrrd"))
        phases = [str(tmp_path / "phase0.nrrd"), *phases[1:]]
        extra = ["--times", "0,60,120,180,240,300"]
    elif case == "dicom_unordered":  # the same acquisition time twice
        tumour = str(_dicom_study(tmp_path / "dce", ("101000", "101130", "101130", "101830")))
        phases = [str(tmp_path / "dce")]
    out = tmp_path / "out"
    assert main(["kinetics", *phases, tumour, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0], err
    assert not out.exists()


def test_batch_adds_the_kinetic_class_from_each_case_s_phases(run, phantom_dir, tmp_path, capsys):
    """A phantom folder (times from its phantom.json), a 4-D file with the manifest's phase_times, and a 4-D
    file without times, which fails alone with the reason; the kinetic columns equal the kinetics command's."""
    from TMERadiomicsLib.batch.runner import EXIT_CASES_FAILED

    four_d = tmp_path / "dce4d.nrrd"
    sitk.WriteImage(sitk.JoinSeries([sitk.ReadImage(str(phantom_dir / p)) for p in PHASES]), str(four_d))
    tumour = phantom_dir / "tumour.nrrd"
    manifest = tmp_path / "cases.csv"
    manifest.write_text("case_id,image,mask,phase_times\n"
                        f"folder,{phantom_dir},{tumour},\n"
                        f"fourd,{four_d},{tumour},0;60;120;180;240;300\n"
                        f"untimed,{four_d},{tumour},\n")
    out = tmp_path / "batch"
    code = main(["batch", str(manifest), "--out", str(out), "--preset", "default", "--jobs", "1", "--kinetics",
                 "--no-masks"])
    capsys.readouterr()
    assert code == EXIT_CASES_FAILED
    status = json.loads((out / "cases" / "untimed" / "status.json").read_text())
    assert status["status"] == "failed" and "phase times are missing" in status["reason"]
    expected = {r["region"]: r for r in _rows(run / "kinetics.csv")}
    prefixes = {"intratumoral": "Intra_", "peritumoral": "Peri_", "ring": "Ring_"}
    for case in ("folder", "fourd"):
        combined = _rows(out / "cases" / case / "features_combined.csv")[0]
        for region, prefix in prefixes.items():
            for name in ("kinetics_SER_mean", "kinetics_washout_fraction", "kinetics_FTV_ml", "kinetics_iAUC90_p90"):
                assert float(combined[prefix + name]) == pytest.approx(float(expected[region][name]), rel=1e-6), \
                    (case, region, name)


def test_extract_with_kinetics_adds_the_class_to_the_same_texture(run, phantom_dir, tmp_path, capsys):
    """extract --kinetics on the phantom folder: its texture equals extract on the same phase's file, and its
    kinetic columns equal the kinetics command's."""
    tumour = str(phantom_dir / "tumour.nrrd")
    with_kinetics, plain = tmp_path / "k.csv", tmp_path / "p.csv"
    assert main(["extract", str(phantom_dir), tumour, "--case-id", "K01", "--preset", "default", "--kinetics",
                 "--out", str(with_kinetics)]) == 0
    assert main(["extract", str(phantom_dir / "phase2.nrrd"), tumour, "--case-id", "K01", "--preset", "default",
                 "--out", str(plain)]) == 0
    capsys.readouterr()
    kinetic = {r["region"]: r for r in _rows(with_kinetics)}
    texture = {r["region"]: r for r in _rows(plain)}
    expected = {r["region"]: r for r in _rows(run / "kinetics.csv")}
    for region, row in texture.items():
        for name, value in row.items():
            assert kinetic[region][name] == value, (region, name)
        for name in ("kinetics_SER_mean", "kinetics_persistent_fraction", "kinetics_TTP_p75"):
            assert float(kinetic[region][name]) == pytest.approx(float(expected[region][name]), rel=1e-9)
    assert main(["extract", str(phantom_dir / "phase2.nrrd"), tumour, "--kinetics", "--out",
                 str(tmp_path / "x.csv")]) == 2
    assert "this image has one phase" in capsys.readouterr().err
    assert main(["extract", str(phantom_dir), tumour, "--kinetics", "--phase", "6", "--out",
                 str(tmp_path / "y.csv")]) == 2
    assert "--phase 6 is not a phase of this study (0..5)" in capsys.readouterr().err
    assert not (tmp_path / "y.csv").exists()
