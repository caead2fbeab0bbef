"""Results back to PACS, and no identifier in any output.

A synthetic MR series carrying a patient's name, ID, birth date, accession
number and institution (``dicom_synthetic.IDENTIFIERS``) and a DICOM SEG of it
go through ``regions``, ``extract`` and ``export-dicom``. The SEG and SR are
read back with highdicom and pydicom (and checked by ``dciodvfy`` where
Debian's dicom3tools is installed); then every file written is searched for
the identifiers and for any input UID other than those of the referenced
series.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

pytestmark = pytest.mark.skipif(sys.version_info < (3, 10), reason="highdicom needs Python >= 3.10")


def _main(*argv: str) -> int:
    from TMERadiomicsLib.cli import main

    return main(list(argv))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    import dicom_synthetic as d

    root = tmp_path_factory.mktemp("dicom_export")
    lesion = d.ellipsoid(radii_mm=(5.5, 4.5, 4.5))
    series = d.write_series(root / "series", lesion=lesion)
    d.write_seg(series, {"tumour": lesion}, root / "input.seg.dcm")
    out = root / "out"
    assert _main("regions", str(root / "series"), str(root / "input.seg.dcm"), "--case-id", "case-07",
                 "--out", str(out / "regions")) == 0
    assert _main("extract", str(root / "series"), str(root / "input.seg.dcm"), "--case-id", "case-07",
                 "--preset", "default", "--acquisition-columns", "--allow-small-regions",
                 "--out", str(out / "features.csv")) == 0
    scores = root / "scores.csv"  # the columns `score --out` writes, for two bundles
    scores.write_text("case_id,radscore,probability,risk_group,status\ncase-07,0.8125,,high,ok\nother,1.5,,low,ok\n")
    calibrated = root / "calibrated.csv"
    calibrated.write_text("case_id,radscore,probability,risk_group,status\ncase-07,-0.25,0.375,low,ok\n")
    assert _main("export-dicom", str(root / "series"), str(out / "regions"), "--features", str(out / "features.csv"),
                 "--score", f"qian={scores}", "--score", f"han={calibrated}", "--out", str(out / "dicom")) == 0
    return {"root": root, "series": series, "out": out, "lesion": lesion}


def test_seg_holds_the_three_regions_over_the_source_series(exported):
    import highdicom as hd

    from TMERadiomicsLib.io.images import read_image, read_mask
    from TMERadiomicsLib.io.segments import read_tumour

    seg = hd.seg.segread(exported["out"] / "dicom" / "regions.seg.dcm")
    series = exported["series"]
    assert [seg.get_segment_description(n).segment_label for n in seg.segment_numbers] == \
        ["intratumoral", "peritumoral", "ring"]
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == series.series_uid
    assert seg.StudyInstanceUID == series.study_uid and seg.FrameOfReferenceUID == series.frame_uid
    referenced = {item.ReferencedSOPInstanceUID for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert referenced == {ds.SOPInstanceUID for ds in series.datasets}
    image = read_image(exported["root"] / "series")
    for name in ("intratumoral", "peritumoral", "ring"):
        back = read_tumour(exported["out"] / "dicom" / "regions.seg.dcm", reference=image, segment=name).mask
        written = read_mask(exported["out"] / "regions" / f"{name}.nrrd", reference=image, allow_empty=True)
        assert np.array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(written)), name
    assert np.array_equal(sitk.GetArrayViewFromImage(written) * 0 + exported["lesion"],
                          sitk.GetArrayViewFromImage(read_mask(exported["out"] / "regions" / "intratumoral.nrrd")))


def test_sr_holds_every_feature_and_each_bundles_score(exported):
    import highdicom as hd
    import pandas as pd
    import pydicom

    ds = pydicom.dcmread(exported["out"] / "dicom" / "measurements.sr.dcm")
    sr = hd.sr.Comprehensive3DSR.from_dataset(ds)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    features = pd.read_csv(exported["out"] / "features.csv")
    groups = sr.content.get_volumetric_roi_measurement_groups()
    seg = pydicom.dcmread(exported["out"] / "dicom" / "regions.seg.dcm")
    assert len(groups) == 3
    for group in groups:
        region = group.tracking_identifier.split(" ", 1)[1]
        assert group.referenced_segment.referenced_sop_instance_uid == seg.SOPInstanceUID
        row = features[features.region == region].iloc[0]
        expected = {c: float(row[c]) for c in features.columns if c.startswith("original_") and math.isfinite(row[c])}
        got = {m.name.meaning: m.value for m in group.get_measurements()}
        assert len(expected) > 50 and got.keys() == expected.keys()
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-300), name
        volume = [m for m in group.get_measurements() if m.name.meaning == "original_shape_VoxelVolume"][0]
        assert volume.unit.value == "mm3"
    scores = sr.content.get_image_measurement_groups()
    by_bundle = {g.tracking_identifier.split(" ", 1)[1]: g for g in scores}
    assert set(by_bundle) == {"qian", "han"}
    qian = {m.name.meaning: m.value for m in by_bundle["qian"].get_measurements()}
    han = {m.name.meaning: m.value for m in by_bundle["han"].get_measurements()}
    assert qian == {"radscore": 0.8125} and han == {"radscore": -0.25, "probability": 0.375}
    risk = {name: [e.value.meaning for e in g.get_qualitative_evaluations()] for name, g in by_bundle.items()}
    assert risk == {"qian": ["risk group high"], "han": ["risk group low"]}


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (Debian's dicom3tools) not installed")
def test_dciodvfy_reports_no_errors(exported):
    for name in ("regions.seg.dcm", "measurements.sr.dcm"):
        done = subprocess.run(["dciodvfy", str(exported["out"] / "dicom" / name)], capture_output=True, text=True,
                              timeout=120)
        errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], f"{name}: {errors}"


def _strings(ds) -> list[str]:
    """Every string value of a DICOM dataset, nested sequences included."""
    found = []
    for element in ds.iterall():
        if element.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "UN"):
            continue
        values = element.value if isinstance(element.value, (list, tuple)) or element.VM > 1 else [element.value]
        found += [str(v) for v in values if v is not None]
    return found


def _input_uids(root: Path) -> set[str]:
    import pydicom

    uids = set()
    for path in root.rglob("*.dcm"):
        if "out" in path.relative_to(root).parts:
            continue
        for element in pydicom.dcmread(path).iterall():
            if element.VR == "UI" and element.value:
                uids.update(str(v) for v in (element.value if element.VM > 1 else [element.value]))
    return uids


def test_no_patient_identifier_or_foreign_uid_in_any_output(exported):
    import dicom_synthetic as d
    import pydicom
    from pydicom.uid import UID

    series = exported["series"]
    allowed = {series.study_uid, series.series_uid, series.frame_uid, *(ds.SOPInstanceUID for ds in series.datasets)}
    # Every UID of the inputs except the referenced series' and the registry's (SOP classes, syntaxes...).
    foreign = {u for u in _input_uids(exported["root"]) - allowed if UID(u).name == u}
    assert foreign, "the input SEG's own UIDs are there to be looked for"
    needles = [v for v in d.IDENTIFIERS.values()] + ["Doe", "SECRET", "Saint Example", "19610203", "Exampletown"]
    files = [p for p in exported["out"].rglob("*") if p.is_file()]
    assert len(files) >= 10
    for path in files:
        if path.suffix == ".dcm":
            text = "\n".join(_strings(pydicom.dcmread(path)))
        else:
            text = path.read_bytes().decode("latin-1")
        for needle in needles:
            assert needle not in text, f"{path.name} holds {needle!r}"
        for uid in foreign:
            assert uid not in text, f"{path.name} holds the input UID {uid}"
    sr = pydicom.dcmread(exported["out"] / "dicom" / "measurements.sr.dcm")
    assert sr.PatientID == "case-07" and str(sr.PatientName) == "case-07" and sr.PatientBirthDate == ""


def test_acquisition_metadata_reaches_diagnostics_and_the_requested_columns(exported):
    import dicom_synthetic as d
    import pandas as pd

    expected = {"manufacturer": d.ACQUISITION["Manufacturer"], "model": d.ACQUISITION["ManufacturerModelName"],
                "field_strength_t": 3.0, "repetition_time_ms": 4.5, "echo_time_ms": 1.8, "flip_angle_deg": 12.0,
                "pixel_spacing_mm": [d.SPACING[1], d.SPACING[0]], "slice_thickness_mm": d.SPACING[2]}
    diagnostics = json.loads((exported["out"] / "features.diagnostics.json").read_text())
    assert diagnostics["acquisition"] == expected
    for table in ("features.csv", "features.combined.csv"):
        frame = pd.read_csv(exported["out"] / table)
        columns = list(frame.columns)
        at = columns.index("preset_sha256") + 1
        assert columns[at:at + 8] == [f"acq_{name}" for name in expected]
        assert set(frame.acq_manufacturer) == {"ExampleVendor"} and set(frame.acq_pixel_spacing_mm) == {"0.7 x 0.8"}
        assert set(frame.acq_field_strength_t) == {3.0} and set(frame.acq_echo_time_ms) == {1.8}


def test_export_dicom_refuses_what_it_cannot_reference(exported, tmp_path, capsys):
    out, root = exported["out"], exported["root"]
    wrong_case = tmp_path / "wrong.csv"
    wrong_case.write_text((out / "features.csv").read_text().replace("case-07", "case-99"))
    not_series = tmp_path / "image.nrrd"
    sitk.WriteImage(sitk.ReadImage(str(out / "regions" / "intratumoral.nrrd")), str(not_series))
    cases = [
        (["--features", str(wrong_case)], "features table has no row of this case"),
        (["--score", "qian"], "--score must be NAME=FILE"),
        (["--score", f"a={root / 'scores.csv'}", "--score", f"a={root / 'scores.csv'}"], "--score gives bundle a twice"),
    ]
    for extra, message in cases:
        assert _main("export-dicom", str(root / "series"), str(out / "regions"), "--out", str(tmp_path / "o"),
                     *extra) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert _main("export-dicom", str(root / "series"), str(tmp_path), "--case-id", "c", "--out",
                 str(tmp_path / "o")) == 2
    assert "REGIONS lacks intratumoral.nrrd" in capsys.readouterr().err
    assert _main("export-dicom", str(not_series), str(out / "regions"), "--out", str(tmp_path / "o")) == 2
    assert "needs the DICOM series folder" in capsys.readouterr().err and not (tmp_path / "o").exists()
