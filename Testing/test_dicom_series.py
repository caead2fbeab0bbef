"""A folder of several DICOM series: listed, one picked with --series, a DCE study ordered into phases
by time (series numbers deliberately out of time order), the phase times recorded. GDCM only: no
highdicom needed, so this runs on every Python."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.errors import InputError

pydicom = pytest.importorskip("pydicom")  # the test data is written with pydicom

# (series number, description, acquisition time, lesion enhancement): numbers not in time order.
PHASES = [(7, "DCE post 1", "101600", 900.0), (5, "DCE pre", "101500", 0.0), (6, "DCE post 2", "101730", 1500.0)]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    import dicom_synthetic as d

    root = tmp_path_factory.mktemp("dicom_series")
    uid = pydicom.uid.generate_uid()
    frame = pydicom.uid.generate_uid()
    for n, (number, description, time, enhancement) in enumerate(PHASES):
        for folder in ("dce", "mixed"):
            d.write_series(root / folder, seed=n, series_number=number, description=description,
                           acquisition_time=time, study_uid=uid, frame_uid=frame, enhancement=enhancement,
                           prefix=f"S{number}_")
    d.write_series(root / "mixed", seed=9, series_number=2, description="T2 axial", acquisition_time="100000",
                   study_uid=uid, frame_uid=frame, size=(20, 20, 8), prefix="T2_")
    return root


def _lesion_mean(image: sitk.Image) -> float:
    import dicom_synthetic as d

    return float(sitk.GetArrayFromImage(image)[d.ellipsoid()].mean())


def test_a_dce_study_folder_is_read_in_time_order(study):
    from TMERadiomicsLib.io.preprocessing import dce_study, read_dce

    means = [_lesion_mean(read_dce(study / "dce", phase, phase_chosen=True)) for phase in range(3)]
    assert means[0] < 300 < means[1] - 600 and means[1] < means[2] - 400  # pre, post 1, post 2
    phases, order = dce_study(study / "dce")
    assert order == "acquisition time" and [p.number for p in phases] == [5, 7, 6]
    with pytest.raises(InputError, match=r"DCE phase must lie in 0\.\.2"):
        read_dce(study / "dce", 3, phase_chosen=True)


def test_a_mixed_folder_is_listed_and_one_series_picked(study, capsys):
    from TMERadiomicsLib.cli import main
    from TMERadiomicsLib.io.preprocessing import read_dce

    with pytest.raises(InputError, match=r"holds 4 DICOM series \(2 'T2 axial' \(8 slices\); 5 'DCE pre'.*--series"):
        read_dce(study / "mixed")
    t2 = read_dce(study / "mixed", series="t2 AXIAL")
    assert t2.GetSize() == (20, 20, 8)
    by_number = read_dce(study / "mixed", series="6")
    assert _lesion_mean(by_number) > 1500
    with pytest.raises(InputError, match=r"--series 'T1' is no series of the folder"):
        read_dce(study / "mixed", series="T1")
    assert main(["series", str(study / "dce")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["number"] for s in report["series"]] == [5, 6, 7]
    assert [(p["number"], p["time_s"]) for p in report["dce"]["phases"]] == [(5, 0.0), (7, 60.0), (6, 150.0)]


def test_extract_records_the_phase_times(study, tmp_path):
    import dicom_synthetic as d
    from TMERadiomicsLib.cli import main

    mask = sitk.GetImageFromArray(d.ellipsoid().astype(np.uint8))
    mask.CopyInformation(d.reference_image())
    sitk.WriteImage(mask, str(tmp_path / "tumour.nrrd"))
    out = tmp_path / "f.csv"
    assert main(["extract", str(study / "dce"), str(tmp_path / "tumour.nrrd"), "--case-id", "c1", "--phase", "1",
                 "--preset", "default", "--regions", "intratumoral", "--out", str(out)]) == 0
    diagnostics = json.loads((tmp_path / "f.diagnostics.json").read_text())
    assert diagnostics["dce"]["ordered_by"] == "acquisition time" and diagnostics["dce"]["chosen_phase"] == 1
    assert [p["time_s"] for p in diagnostics["dce"]["phases"]] == [0.0, 60.0, 150.0]
    assert "series_uid" not in json.dumps(diagnostics)
    import pandas as pd

    mean = pd.read_csv(out).loc[0, "original_firstorder_Mean"]
    assert mean == pytest.approx(_lesion_mean(
        __import__("TMERadiomicsLib.io.preprocessing", fromlist=["read_dce"]).read_dce(study / "dce", 1,
                                                                                        phase_chosen=True)))
