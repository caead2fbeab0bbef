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


def test_temporal_position_orders_the_phases_when_acquisition_times_disagree(tmp_path):
    """The scanner's Temporal Position Identifier wins over acquisition times in another order, and the
    recorded phase times follow the temporal order (an earlier time is negative, not nearly a day)."""
    import dicom_synthetic as d
    from TMERadiomicsLib.io.acquisition_cells import acquisition_cells, dicom_records
    from TMERadiomicsLib.io.preprocessing import read_dce

    uid, frame = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    # (series number, temporal position, acquisition time): by time the order would be 6, 5, 7.
    volumes = {number: d.write_series(tmp_path, seed=number, series_number=number, description=f"DCE {position}",
                                      acquisition_time=time, temporal_position=position, study_uid=uid,
                                      frame_uid=frame, size=(12, 10, 4), prefix=f"S{number}_").volume
               for number, position, time in ((5, 1, "101500"), (6, 2, "101340"), (7, 3, "101700"))}
    acquisition, dce = dicom_records(tmp_path, None, 1)
    assert dce["ordered_by"] == "temporal position" and dce["chosen_phase"] == 1
    assert [(p["series_number"], p["time_s"]) for p in dce["phases"]] == [(5, 0.0), (6, -80.0), (7, 120.0)]
    assert acquisition["manufacturer"] == d.ACQUISITION["Manufacturer"]
    cells = acquisition_cells(acquisition, dce)
    assert (cells["acq_dce_phase"], cells["acq_phase_time_s"]) == (1, -80.0)
    for phase, number in enumerate((5, 6, 7)):  # each phase is its series' voxels (seeds differ)
        assert np.array_equal(sitk.GetArrayFromImage(read_dce(tmp_path, phase, phase_chosen=True)), volumes[number])
