"""Masks in every form: DICOM SEG (highdicom), RTSTRUCT (against an analytic rasterisation),
multi-segment .seg.nrrd and label maps, --segment and --each-segment, on a synthetic 32 x 24 x 16
MR series written with pydicom. The Python 3.9 refusal is in test_dicom_support.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from TMERadiomicsLib.errors import InputError

HAVE_DICOM = sys.version_info >= (3, 10)
needs_dicom = pytest.mark.skipif(not HAVE_DICOM, reason="highdicom needs Python >= 3.10")


def _main(*argv: str) -> int:
    """The CLI in this process (its start-up is what the subprocess runs test)."""
    from TMERadiomicsLib.cli import main

    return main(list(argv))


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "TMERadiomicsLib", *argv], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "MPLBACKEND": "Agg"})


def _array(image: sitk.Image) -> np.ndarray:
    return sitk.GetArrayFromImage(image).astype(bool)


def _diamond(centre, half_x: float, half_y: float):
    """Contour points (x, y) of a diamond, and the analytic inside test on voxel centres."""
    cx, cy = centre
    points = [(cx + half_x, cy), (cx, cy + half_y), (cx - half_x, cy), (cx, cy - half_y)]

    def inside(x, y):
        return np.abs(x - cx) / half_x + np.abs(y - cy) / half_y < 1.0

    return points, inside


def _rectangle(x0: float, x1: float, y0: float, y1: float):
    points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]

    def inside(x, y):
        return (x > x0) & (x < x1) & (y > y0) & (y < y1)

    return points, inside


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    if not HAVE_DICOM:
        pytest.skip("highdicom needs Python >= 3.10")
    import dicom_synthetic as d

    root = tmp_path_factory.mktemp("dicom_masks")
    lesion_a = d.ellipsoid()
    lesion_b = d.ellipsoid(center_mm=(7.5, 5.0, 0.0), radii_mm=(3.0, 3.0, 3.0)) & ~lesion_a
    series = d.write_series(root / "series", lesion=lesion_a | lesion_b)
    d.write_seg(series, {"Lesion A": lesion_a, "satellite": lesion_b}, root / "seg.dcm")
    # RTSTRUCT: a diamond on slices 6..9, a rectangle with a rectangular hole on slice 4 (an inner contour).
    xs = d.ORIGIN[0] + np.arange(d.SIZE[0]) * d.SPACING[0]
    ys = d.ORIGIN[1] + np.arange(d.SIZE[1]) * d.SPACING[1]
    gx, gy = np.meshgrid(xs, ys)  # (rows, columns)
    centre = (d.ORIGIN[0] + 15.3 * d.SPACING[0], d.ORIGIN[1] + 10.6 * d.SPACING[1])
    expected = {"GTV": np.zeros(d.SIZE[::-1], bool), "ring node": np.zeros(d.SIZE[::-1], bool)}
    rois = {"GTV": [], "ring node": []}
    for k, half in ((6, 4.1), (7, 6.3), (8, 6.3), (9, 3.3)):
        points, inside = _diamond(centre, half, half * 0.9)
        z = d.ORIGIN[2] + k * d.SPACING[2]
        rois["GTV"].append((k, [v for x, y in points for v in (x, y, z)]))
        expected["GTV"][k] = inside(gx, gy)
    z = d.ORIGIN[2] + 4 * d.SPACING[2]
    outer, inside_outer = _rectangle(xs[3] - 0.33, xs[12] + 0.21, ys[2] - 0.27, ys[9] + 0.18)
    inner, inside_inner = _rectangle(xs[6] - 0.31, xs[8] + 0.29, ys[4] - 0.22, ys[6] + 0.26)
    rois["ring node"] = [(4, [v for x, y in outer for v in (x, y, z)]), (4, [v for x, y in inner for v in (x, y, z)])]
    expected["ring node"][4] = inside_outer(gx, gy) & ~inside_inner(gx, gy)
    d.write_rtstruct(series, rois, root / "rt.dcm")
    # The same lesions as NRRD masks on the image grid, a two-lesion label map, and a .seg.nrrd.
    reference = d.reference_image()
    nrrd = {}
    for name, array in (("lesion_a", lesion_a), ("lesion_b", lesion_b), ("gtv", expected["GTV"])):
        image = sitk.GetImageFromArray(array.astype(np.uint8))
        image.CopyInformation(reference)
        nrrd[name] = root / f"{name}.nrrd"
        sitk.WriteImage(image, str(nrrd[name]))
    labels = sitk.GetImageFromArray((lesion_a * 1 + lesion_b * 2).astype(np.uint8))
    labels.CopyInformation(reference)
    sitk.WriteImage(labels, str(root / "labels.nrrd"))
    from TMERadiomicsLib.io.seg_nrrd import Segment, write_seg_nrrd

    write_seg_nrrd([Segment("s1", "Lesion A", (1, 0, 0), sitk.ReadImage(str(nrrd["lesion_a"]))),
                    Segment("s2", "satellite", (0, 1, 0), sitk.ReadImage(str(nrrd["lesion_b"])))],
                   root / "lesions.seg.nrrd")
    return {"root": root, "series": series, "lesion_a": lesion_a, "lesion_b": lesion_b, "expected": expected,
            "nrrd": nrrd}


@pytest.fixture(scope="module")
def image(study):
    from TMERadiomicsLib.io.images import read_image

    return read_image(study["root"] / "series")


@needs_dicom
def test_seg_segments_come_back_on_the_image_grid_by_name_and_number(study, image):
    from TMERadiomicsLib.io.segments import read_tumour

    by_name = read_tumour(study["root"] / "seg.dcm", reference=image, segment="lesion a")
    by_number = read_tumour(study["root"] / "seg.dcm", reference=image, segment="2")
    assert np.array_equal(_array(by_name.mask), study["lesion_a"])
    assert np.array_equal(_array(by_number.mask), study["lesion_b"])
    assert by_name.source["segment"] == {"number": 1, "name": "Lesion A"}
    # highdicom's volume runs from the top slice down: the same voxels in another axis order, said so.
    assert by_name.source["resampled"] is True
    assert "voxel for voxel" in by_name.source["grid"] and "own frame of reference" in by_name.source["grid"]
    assert by_name.mask.GetSpacing() == image.GetSpacing() and by_name.mask.GetOrigin() == image.GetOrigin()


@needs_dicom
def test_a_seg_on_a_coarser_series_is_resampled_by_nearest_neighbour_and_said_so(study, image, tmp_path):
    # A SEG drawn on another series of the study (twice the spacing, shifted a fraction of a voxel so
    # no image voxel centre lies half-way between two SEG voxels): its frame of reference places it.
    import dicom_synthetic as d

    spacing = tuple(2 * s for s in d.SPACING)
    origin = (d.ORIGIN[0] + 0.25, d.ORIGIN[1] + 0.2, d.ORIGIN[2] + 0.4)
    size = (16, 12, 8)
    axes = [origin[i] + np.arange(size[i]) * spacing[i] for i in range(3)]
    middle = [d.ORIGIN[i] + (d.SIZE[i] - 1) * d.SPACING[i] / 2 for i in range(3)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    coarse = ((((x - middle[0]) / 5.0) ** 2 + ((y - middle[1]) / 4.0) ** 2
               + ((z - middle[2]) / 4.5) ** 2) <= 1.0).transpose(2, 1, 0)
    series = d.write_series(tmp_path / "coarse", size=size, spacing=spacing, origin=origin, lesion=coarse,
                            study_uid=study["series"].study_uid, frame_uid=study["series"].frame_uid)
    d.write_seg(series, {"tumour": coarse}, tmp_path / "coarse.seg.dcm")
    from TMERadiomicsLib.io.segments import read_tumour

    tumour = read_tumour(tmp_path / "coarse.seg.dcm", reference=image)
    # Nearest neighbour, analytically: each image voxel takes the SEG voxel whose centre is nearest.
    nearest = [np.clip(np.rint((d.ORIGIN[i] + np.arange(d.SIZE[i]) * d.SPACING[i] - origin[i]) / spacing[i]),
                       0, size[i] - 1).astype(int) for i in range(3)]
    expected = coarse[np.ix_(nearest[2], nearest[1], nearest[0])]
    assert 0 < coarse.sum() < expected.sum()  # 8 image voxels per SEG voxel, about
    assert np.array_equal(_array(tumour.mask), expected)
    assert tumour.mask.GetSpacing() == image.GetSpacing() and tumour.mask.GetOrigin() == image.GetOrigin()
    assert tumour.source["resampled"] is True
    assert "nearest neighbour" in tumour.source["grid"] and "own frame of reference" in tumour.source["grid"]
    assert "voxel for voxel" not in tumour.source["grid"]


@needs_dicom
def test_rtstruct_matches_an_analytic_rasterisation(study, image):
    from TMERadiomicsLib.io.segments import each_segment

    found = dict(each_segment(study["root"] / "rt.dcm", reference=image, case_id="c7"))
    assert list(found) == ["c7_GTV", "c7_ring-node"]
    for case, name in (("c7_GTV", "GTV"), ("c7_ring-node", "ring node")):
        got, expected = _array(found[case].mask), study["expected"][name]
        assert expected.sum() > 20
        assert np.array_equal(got, expected), f"{name}: {int((got != expected).sum())} voxels differ"
    assert found["c7_GTV"].source["resampled"] is False
    # The hole of the inner contour is empty, its frame is not.
    assert study["expected"]["ring node"][4].sum() < (10 * 8)


@needs_dicom
def test_multi_segment_files_need_a_choice_and_name_what_they_hold(study, image):
    from TMERadiomicsLib.io.segments import read_tumour

    for name in ("seg.dcm", "lesions.seg.nrrd"):
        with pytest.raises(InputError, match=r"holds 2 segments \(1 'Lesion A', 2 'satellite'\).*--each-segment"):
            read_tumour(study["root"] / name, reference=image)
    with pytest.raises(InputError, match=r"--segment 'liver' is neither the name nor the number"):
        read_tumour(study["root"] / "seg.dcm", reference=image, segment="liver")
    with pytest.raises(InputError, match="not both"):
        read_tumour(study["root"] / "labels.nrrd", reference=image, segment="1", label=1)
    with pytest.raises(InputError, match="not binary; choose one value with --label"):
        read_tumour(study["root"] / "labels.nrrd", reference=image)
    picked = read_tumour(study["root"] / "lesions.seg.nrrd", reference=image, segment="SATELLITE")
    assert np.array_equal(_array(picked.mask), study["lesion_b"]) and picked.source["resampled"] is False
    labelled = read_tumour(study["root"] / "labels.nrrd", reference=image, segment="2")
    assert np.array_equal(_array(labelled.mask), study["lesion_b"])


@needs_dicom
def test_a_mask_that_is_not_a_seg_or_rtstruct_is_refused(study, image):
    from TMERadiomicsLib.io.images import read_mask

    with pytest.raises(InputError, match="DICOM file is MR, not a SEG or RTSTRUCT"):
        read_mask(study["series"].datasets[0].filename, reference=image)


@needs_dicom
def test_regions_and_extract_take_seg_and_rtstruct(study, tmp_path):
    root = study["root"]
    assert _main("regions", str(root / "series"), str(root / "seg.dcm"), "--segment", "Lesion A",
                 "--case-id", "p1", "--out", str(tmp_path / "regions")) == 0
    summary = json.loads((tmp_path / "regions" / "summary.json").read_text())
    assert summary["mask"]["format"] == "DICOM SEG" and summary["mask"]["segment"]["name"] == "Lesion A"
    voxel_mm3 = float(np.prod(study["series"].datasets[0].PixelSpacing)) * 1.5
    assert summary["regions"]["intratumoral"]["voxels"] == int(study["lesion_a"].sum())
    assert summary["regions"]["intratumoral"]["volume_mm3"] == pytest.approx(study["lesion_a"].sum() * voxel_mm3)
    refused = _cli("regions", str(root / "series"), str(root / "seg.dcm"), "--out", str(tmp_path / "none"))
    assert refused.returncode == 2 and "choose one with --segment" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "none").exists()

    # Features of the SEG's and the RTSTRUCT's lesions equal those of the same masks as NRRD.
    outputs = {}
    for key, mask, extra in (("seg", root / "seg.dcm", ["--each-segment"]),
                             ("nrrd_a", study["nrrd"]["lesion_a"], []),
                             ("rt", root / "rt.dcm", ["--segment", "gtv"]),
                             ("nrrd_gtv", study["nrrd"]["gtv"], [])):
        out = tmp_path / f"{key}.csv"
        assert _main("extract", str(root / "series"), str(mask), "--case-id", "p1", "--preset", "default",
                     "--regions", "intratumoral", "--out", str(out), *extra) == 0
        outputs[key] = out
    import pandas as pd

    tables = {key: pd.read_csv(path) for key, path in outputs.items()}
    assert list(tables["seg"].case_id) == ["p1_Lesion-A", "p1_satellite"]
    features = [c for c in tables["nrrd_a"].columns if c.startswith("original_")]
    assert len(features) > 50
    pd.testing.assert_series_equal(tables["seg"].loc[0, features], tables["nrrd_a"].loc[0, features],
                                   check_names=False)
    pd.testing.assert_series_equal(tables["rt"].loc[0, features], tables["nrrd_gtv"].loc[0, features],
                                   check_names=False)
    diagnostics = json.loads((tmp_path / "seg.diagnostics.json").read_text())
    assert [c["mask"]["segment"]["name"] for c in diagnostics["cases"]] == ["Lesion A", "satellite"]


@needs_dicom
def test_an_rtstruct_drawn_between_the_slices_is_refused(study, image, tmp_path):
    import dicom_synthetic as d
    from TMERadiomicsLib.io.segments import read_tumour

    z = d.ORIGIN[2] + 5.5 * d.SPACING[2]  # half-way between slices 5 and 6
    points, _ = _diamond((0.0, 40.0), 3.0, 3.0)
    contour = [v for x, y in points for v in (x, y, z)]
    series = study["series"]
    # write_rtstruct references the slice at the contour's z: give it slice 5's instance via a shifted copy
    shifted = [(5, contour)]
    import copy

    fake = copy.copy(series)
    fake.datasets = [copy.deepcopy(ds) for ds in series.datasets]
    for ds in fake.datasets:
        ds.ImagePositionPatient = [ds.ImagePositionPatient[0], ds.ImagePositionPatient[1],
                                   float(ds.ImagePositionPatient[2]) + 0.5 * d.SPACING[2]]
    d.write_rtstruct(fake, {"off": shifted}, tmp_path / "off.dcm")
    with pytest.raises(InputError, match="RTSTRUCT structure 'off' has a contour off the image's slice planes"):
        read_tumour(tmp_path / "off.dcm", reference=image)


@needs_dicom
def test_batch_manifest_segment_column_and_session_add_segment(study, image, tmp_path):
    """The manifest's segment column reaches the worker; session add stores the segment's number."""
    import pydicom  # noqa: F401 - needs_dicom already holds; the worker reads the SEG with highdicom

    from TMERadiomicsLib.batch.case import run_case
    from TMERadiomicsLib.batch.manifest import read_manifest
    from TMERadiomicsLib.batch.settings import BatchSettings
    from TMERadiomicsLib.features import load_preset
    from TMERadiomicsLib.io.images import read_mask
    from TMERadiomicsLib.store.ingest import segmentation_from_files

    root = study["root"]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"case_id,image,mask,segment\np1,{root / 'series'},{root / 'seg.dcm'},satellite\n"
                        f"p2,{root / 'series'},{root / 'seg.dcm'},\n")
    specs = read_manifest(manifest)
    assert [s.segment for s in specs] == ["satellite", None]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"case_id,image,mask,label,segment\np1,{root / 'series'},{root / 'seg.dcm'},1,satellite\n")
    with pytest.raises(InputError, match="give label or segment, not both"):
        read_manifest(bad)
    preset = load_preset("default")
    settings = BatchSettings(str(preset.path), preset.sha256, write_masks=False, feature_regions=("intratumoral",),
                             allow_small_regions=True)
    done = run_case(specs[0], settings, str(tmp_path / "cases"), "f")
    assert done.status == "ok", done.reason
    diagnostics = json.loads((tmp_path / "cases" / "p1" / "diagnostics.json").read_text())
    assert diagnostics["mask"]["segment"] == {"number": 2, "name": "satellite"}
    assert diagnostics["regions"]["regions"]["intratumoral"]["voxels"] == int(study["lesion_b"].sum())
    failed = run_case(specs[1], settings, str(tmp_path / "cases"), "f")
    assert failed.status == "failed" and "choose one with --segment" in failed.reason

    seg = segmentation_from_files("p1", "R1", "R1-w0", root / "series", root / "seg.dcm", segment="satellite")
    assert seg.mask_label == 2
    again = read_mask(seg.mask_path, reference=image, label=seg.mask_label)  # how session extract re-reads it
    assert np.array_equal(_array(again), study["lesion_b"])
