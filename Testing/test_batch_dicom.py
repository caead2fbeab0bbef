"""Batch on DICOM: ``--each-segment`` (one case per lesion of a SEG or a label map, IDs as extract
gives them), ``--acquisition-columns`` (the acq_* columns extract writes; empty without DICOM), and
no patient identifier or input UID in any file written, although the series carries them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).parent))
from test_batch_support import write_preset  # noqa: E402

pytestmark = pytest.mark.skipif(sys.version_info < (3, 10), reason="highdicom needs Python >= 3.10")

# (series number, temporal position, acquisition time): by time the order would be 6, 5, 7.
PHASES = ((5, 1, "101500"), (6, 2, "101340"), (7, 3, "101700"))
CASES = ["P1_lesion-A", "P1_lesion-B", "P1B", "P2_label1", "P2_label2"]


def _main(*argv: str) -> int:
    from TMERadiomicsLib.cli import main

    return main(list(argv))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    import dicom_synthetic as d
    import pydicom

    root = tmp_path_factory.mktemp("batch_dicom")
    lesions = {"lesion A": d.ellipsoid(center_mm=(-6.0, 0.0, 0.0), radii_mm=(4.0, 4.0, 4.5)),
               "lesion B": d.ellipsoid(center_mm=(6.0, 0.0, 0.0), radii_mm=(3.5, 3.5, 4.0))}
    both = lesions["lesion A"] | lesions["lesion B"]
    uid, frame = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    series = [d.write_series(root / "dce", seed=n, series_number=n, description=f"DCE {p}", acquisition_time=t,
                             temporal_position=p, study_uid=uid, frame_uid=frame, lesion=both,
                             enhancement=300.0 * p, prefix=f"S{n}_") for n, p, t in PHASES]
    d.write_seg(series[2], lesions, root / "lesions.seg.dcm")
    (root / "p2").mkdir()
    from TMERadiomicsLib.io.preprocessing import read_dce

    sitk.WriteImage(read_dce(root / "dce", 2), str(root / "p2" / "image.nrrd"))
    labels = sitk.GetImageFromArray((lesions["lesion A"] + 2 * lesions["lesion B"]).astype(np.uint8))
    labels.CopyInformation(d.reference_image())
    sitk.WriteImage(labels, str(root / "p2" / "labels.nrrd"))
    manifest = root / "manifest.csv"
    manifest.write_text("case_id,image,mask,segment\nP1,dce,lesions.seg.dcm,\nP1B,dce,lesions.seg.dcm,lesion B\n"
                        "P2,p2/image.nrrd,p2/labels.nrrd,\n")
    preset = write_preset(root)
    out = root / "out"
    argv = ("batch", str(manifest), "--preset", str(preset), "--out", str(out), "--jobs", "1",
            "--allow-small-regions", "--each-segment", "--acquisition-columns")
    assert _main(*argv) == 0
    return {"root": root, "out": out, "series": series, "argv": argv, "preset": preset, "lesions": lesions}


def test_each_segment_makes_one_case_per_lesion_with_extracts_ids(cohort):
    out = cohort["out"]
    cases = pd.read_csv(out / "cases.csv", dtype=str)
    assert list(cases.case_id) == CASES and set(cases.status) == {"ok"}
    wide = pd.read_csv(out / "features_wide.csv", dtype=str)
    assert list(wide.case_id.unique()) == CASES
    voxels = {case: json.loads((out / "cases" / case / "diagnostics.json").read_text())
              ["regions"]["regions"]["intratumoral"]["voxels"] for case in CASES}
    a, b = (int(cohort["lesions"][name].sum()) for name in ("lesion A", "lesion B"))
    assert a > b > 0
    assert voxels == {"P1_lesion-A": a, "P1_lesion-B": b, "P1B": b, "P2_label1": a, "P2_label2": b}
    record = json.loads((out / "batch.json").read_text())
    assert record["settings"]["acquisition_columns"] is True
    assert [(c["case_id"], c["line"], c["segment"]) for c in record["segment_cases"]] == [
        ("P1_lesion-A", 2, "lesion A"), ("P1_lesion-B", 2, "lesion B"),
        ("P2_label1", 4, "label1"), ("P2_label2", 4, "label2")]


def test_acquisition_columns_equal_extracts_and_are_empty_without_dicom(cohort, tmp_path):
    import dicom_synthetic as d

    out, root = cohort["out"], cohort["root"]
    assert _main("extract", str(root / "dce"), str(root / "lesions.seg.dcm"), "--case-id", "P1", "--each-segment",
                 "--preset", str(cohort["preset"]), "--regions", "intratumoral", "--acquisition-columns",
                 "--allow-small-regions", "--out", str(tmp_path / "f.csv")) == 0
    alone = pd.read_csv(tmp_path / "f.csv", dtype=str)
    acq = [c for c in alone.columns if c.startswith("acq_")]
    assert len(acq) == 10
    for table, key in (("features_wide.csv", ["case_id", "region"]), ("features_combined.csv", ["case_id"])):
        frame = pd.read_csv(out / table, dtype=str)
        columns = list(frame.columns)
        at = columns.index("preset_sha256") + 1
        assert columns[at:at + len(acq)] == acq, table
        dicom = frame[frame.case_id.str.startswith("P1")]
        assert set(dicom.acq_manufacturer) == {d.ACQUISITION["Manufacturer"]}
        assert set(dicom.acq_pixel_spacing_mm) == {"0.7 x 0.8"} and set(dicom.acq_field_strength_t) == {"3.0"}
        # Phase 2 of the temporal order is series 7, acquired 120 s after series 5.
        assert set(dicom.acq_dce_phase) == {"2"} and set(dicom.acq_phase_time_s) == {"120.0"}
        assert frame[frame.case_id.str.startswith("P2")][acq].isna().all().all(), table
    wide = pd.read_csv(out / "features_wide.csv", dtype=str)
    batch_rows = wide[(wide.region == "intratumoral") & wide.case_id.isin(alone.case_id)].set_index("case_id")
    alone = alone.set_index("case_id")
    assert list(batch_rows.index) == list(alone.index) == ["P1_lesion-A", "P1_lesion-B"]
    assert batch_rows[acq].equals(alone[acq])  # the same cells, as text
    assert np.allclose(batch_rows["original_firstorder_Mean"].astype(float),
                       alone["original_firstorder_Mean"].astype(float), rtol=1e-12)
    diagnostics = json.loads((out / "cases" / "P1_lesion-A" / "diagnostics.json").read_text())
    assert diagnostics["dce"]["ordered_by"] == "temporal position"
    assert [p["time_s"] for p in diagnostics["dce"]["phases"]] == [0.0, -80.0, 120.0]


def test_no_patient_identifier_or_input_uid_in_any_batch_output(cohort):
    import dicom_synthetic as d
    import pydicom

    needles = list(d.IDENTIFIERS.values()) + ["Doe", "SECRET", "Saint Example", "19610203", "Exampletown"]
    seg = pydicom.dcmread(cohort["root"] / "lesions.seg.dcm", stop_before_pixels=True)
    uids = {seg.SOPInstanceUID, seg.SeriesInstanceUID, seg.StudyInstanceUID, seg.FrameOfReferenceUID}
    for series in cohort["series"]:
        uids |= {series.series_uid, *(ds.SOPInstanceUID for ds in series.datasets)}
    files = [p for p in cohort["out"].rglob("*") if p.is_file()]
    assert len(files) >= 30
    for path in files:  # batch writes no DICOM: no input UID belongs in any of its files
        text = path.read_bytes().decode("latin-1")
        for needle in [*needles, *uids]:
            assert needle not in text, f"{path.relative_to(cohort['out'])} holds {needle!r}"


def test_the_option_is_result_defining_and_an_unchanged_rerun_resumes(cohort, capsys):
    assert _main(*cohort["argv"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed_this_run"] == 0 and summary["resumed_from_earlier_runs"] == len(CASES)
    assert _main(*[a for a in cohort["argv"] if a != "--acquisition-columns"]) == 2
    assert "acquisition_columns: True -> False" in capsys.readouterr().err


def test_derived_case_ids_that_clash_are_refused_naming_the_rows(cohort, tmp_path, capsys):
    root = cohort["root"]
    manifest = tmp_path / "manifest.csv"
    # Line 3 picks one label, so it is not expanded and keeps its ID, which line 2's lesion B derives too.
    manifest.write_text(f"case_id,image,mask,label\nP1,{root / 'dce'},{root / 'lesions.seg.dcm'},\n"
                        f"P1_lesion-B,{root / 'p2' / 'image.nrrd'},{root / 'p2' / 'labels.nrrd'},2\n")
    out = tmp_path / "out"
    assert _main("batch", str(manifest), "--preset", str(cohort["preset"]), "--out", str(out), "--each-segment") == 2
    err = capsys.readouterr().err
    assert f"{manifest}: --each-segment refused, 1 problem(s): case ID P1_lesion-B would be given to 2 cases: " \
           "line 2 (case P1, segment 'lesion B'), line 3" in err
    assert not out.exists()


def test_record_of_a_run_before_the_option_still_resumes():
    from TMERadiomicsLib.batch.settings import BatchSettings, record_differences, run_record

    now = run_record(BatchSettings("p.yaml", "abc"))
    earlier = json.loads(json.dumps(now))
    del earlier["settings"]["acquisition_columns"]
    assert record_differences(earlier, now) == []
    changed = run_record(BatchSettings("p.yaml", "abc", acquisition_columns=True))
    assert record_differences(earlier, changed) == ["acquisition_columns: False -> True"]
