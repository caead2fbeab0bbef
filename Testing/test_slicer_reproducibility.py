"""The panel's Reproducibility section on slicer-core: Save segmentation to session and Compute ICC.

Three oblique phantom cases with lesions of different sizes; reader R1
contours each twice (the drawn tumour, then one voxel wider in-plane), R2
once (one voxel narrower). Each contour is a segment of a real segmentation
node, saved through the Logic into a real SQLite study database; the ICC
table is compared with the library run on the same database.
"""

import json
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from db_locks import held_write_lock
from shapes import rotation

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from TMERadiomicsLogic import TMERadiomicsLogic, tables  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib.cli import main  # noqa: E402
from TMERadiomicsLib.io.images import read_image, read_mask  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402
from TMERadiomicsLib.reproducibility.stability import reliability  # noqa: E402
from TMERadiomicsLib.store import SCHEMA_VERSION, StudyStore  # noqa: E402
from TMERadiomicsLib.store.files import files_folder  # noqa: E402
from TMERadiomicsLib.store.ingest import content_sha256  # noqa: E402

pytestmark = pytest.mark.slicer

RADII_MM = (6.0, 9.0, 12.0)
# (segment, reader, session): R1 twice, R2 once.
READINGS = (("R1w0", "R1", "R1-week0"), ("R1w2", "R1", "R1-week2"), ("R2", "R2", "R2-week0"))
PRESET = "default"  # original image only: the fastest bundled preset
DIRECTION = rotation((1, 2, 3), 0.4)


def new_scene():
    scene = slicer.vtkMRMLScene()
    module_logic = slicer.vtkSlicerSegmentationsModuleLogic()
    module_logic.SetMRMLScene(scene)
    return scene, module_logic  # the module logic must live as long as the scene


def lesion_case(index: int) -> tuple[sitk.Image, dict[str, sitk.Image]]:
    """A small field of view around one lesion (fast extraction), oblique and off-origin; three contours."""
    phantom = make_phantom("small", seed=index, lesion_radius_mm=RADII_MM[index])
    where = np.argwhere(sitk.GetArrayFromImage(phantom.tumour))
    lo = np.maximum(where.min(0) - 5, 0)
    hi = np.minimum(where.max(0) + 6, phantom.tumour.GetSize()[::-1])
    index_xyz, size_xyz = [int(v) for v in lo[::-1]], [int(v) for v in (hi - lo)[::-1]]
    image = sitk.RegionOfInterest(phantom.image(), size_xyz, index_xyz)
    tumour = sitk.RegionOfInterest(phantom.tumour, size_xyz, index_xyz)
    origin = (-40.0 + 3 * index, 25.5, -7.25)
    for item in (image, tumour):
        item.SetDirection(DIRECTION)
        item.SetOrigin(origin)
    contours = {
        "R1w0": tumour,
        "R1w2": sitk.BinaryDilate(tumour, (1, 1, 0)),
        "R2": sitk.BinaryErode(tumour, (1, 1, 0)),
    }
    return image, contours


def dump(path: Path) -> list[str]:
    """Every row, the schema and the version: equal dumps mean an unchanged database."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump()) + [str(conn.execute("PRAGMA user_version").fetchone()[0])]
    finally:
        conn.close()


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def copy_db(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The three cases in one scene, every contour saved through the Logic."""
    scene, module_logic = new_scene()
    logic = TMERadiomicsLogic(scene)
    db = tmp_path_factory.mktemp("study") / "study.sqlite"
    cases, saved = {}, {}
    for index in range(len(RADII_MM)):
        case_id = f"P{index + 1:02d}"
        image, contours = lesion_case(index)
        volume = add_volume(scene, image, f"{case_id} DCE")
        segmentation, ids = add_segmentation(scene, volume, contours, name=f"{case_id} contours")
        cases[case_id] = dict(image=image, contours=contours, volume=volume, segmentation=segmentation, ids=ids)
        for segment, reader, session in READINGS:
            saved[case_id, reader, session] = logic.saveSegmentationToSession(
                volume, segmentation, ids[segment], db, case_id, reader, session)
    return dict(scene=scene, module_logic=module_logic, logic=logic, db=db, cases=cases, saved=saved)


def scene_count(study) -> int:
    return study["scene"].GetNumberOfNodes()


# ---- Save segmentation to session ------------------------------------------------


def test_saved_files_carry_the_segment_and_the_database_their_sha256(study):
    with StudyStore(study["db"], create=False) as store:
        stored = {(s.segmentation.case_id, s.segmentation.reader, s.segmentation.session): s.segmentation
                  for s in store.segmentations()}
    assert set(stored) == set(study["saved"]) and len(stored) == 9
    root = files_folder(study["db"])
    for (case_id, reader, session), result in study["saved"].items():
        case, seg = study["cases"][case_id], stored[case_id, reader, session]
        assert result.result == "added"
        # The database holds the SHA-256 of the bytes on disk, which the result reports.
        assert seg.mask_sha256 == content_sha256(seg.mask_path) == result.mask_sha256
        assert seg.image_sha256 == content_sha256(seg.image_path) == result.image_sha256
        assert Path(seg.mask_path).parent == root / case_id / reader / session
        assert Path(seg.image_path).parent == root / case_id  # one image file per case
        # The files hold exactly the volume and the segment, geometry included.
        image = read_image(seg.image_path)
        assert np.array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(case["image"]))
        assert image.GetDirection() == pytest.approx(DIRECTION, abs=1e-12)
        assert image.GetOrigin() == pytest.approx(case["image"].GetOrigin(), abs=1e-9)
        segment = dict(zip(("R1-week0", "R1-week2", "R2-week0"), ("R1w0", "R1w2", "R2")))[session]
        mask = read_mask(seg.mask_path, reference=image)
        assert np.array_equal(sitk.GetArrayFromImage(mask), sitk.GetArrayFromImage(case["contours"][segment]))
    assert len({s.image_path for s in stored.values()}) == 3


def test_saving_again_is_a_no_op(study):
    before, files = dump(study["db"]), listing(files_folder(study["db"]))
    case = study["cases"]["P02"]
    again = study["logic"].saveSegmentationToSession(
        case["volume"], case["segmentation"], case["ids"]["R1w2"], study["db"], "P02", "R1", "R1-week2")
    first = study["saved"]["P02", "R1", "R1-week2"]
    assert again.result == "unchanged"
    assert (again.mask_path, again.mask_sha256, again.image_sha256) == (
        first.mask_path, first.mask_sha256, first.image_sha256)
    assert dump(study["db"]) == before and listing(files_folder(study["db"])) == files


def refused(study, db: Path, call, match: str) -> None:
    """A ValueError naming the problem; database, saved files and scene as they were."""
    before, files, nodes = dump(db), listing(files_folder(db)), scene_count(study)
    with pytest.raises(ValueError, match=match):
        call()
    assert dump(db) == before
    assert listing(files_folder(db)) == files
    assert scene_count(study) == nodes


def test_geometry_differing_between_sessions_is_refused(study):
    other = study["cases"]["P03"]  # another field of view, saved as a session of P01
    refused(study, study["db"], lambda: study["logic"].saveSegmentationToSession(
        other["volume"], other["segmentation"], other["ids"]["R1w0"], study["db"], "P01", "R1", "R1-week4"),
        "case P01: .*image geometry differs from the case's earlier sessions: size")


def test_a_different_contour_needs_replace(study, tmp_path):
    db = copy_db(study["db"], tmp_path / "study.sqlite")
    case, logic = study["cases"]["P01"], study["logic"]

    def save(replace: bool):
        return logic.saveSegmentationToSession(case["volume"], case["segmentation"], case["ids"]["R2"], db, "P01",
                                               "R1", "R1-week0", replace=replace)

    refused(study, db, lambda: save(False), "already holds a different segmentation")
    replaced = save(True)
    assert replaced.result == "replaced"
    assert replaced.mask_sha256 == study["saved"]["P01", "R2", "R2-week0"].mask_sha256  # same voxels, same bytes
    with StudyStore(db, create=False) as store:
        masks = {(s.segmentation.case_id, s.segmentation.session): s.segmentation.mask_sha256
                 for s in store.segmentations()}
    assert masks["P01", "R1-week0"] == content_sha256(replaced.mask_path) == replaced.mask_sha256


def test_newer_schema_and_locked_database_are_refused(study, tmp_path):
    case, logic = study["cases"]["P01"], study["logic"]
    newer = copy_db(study["db"], tmp_path / "newer" / "study.sqlite")
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()

    def save(db, **options):
        return lambda: logic.saveSegmentationToSession(case["volume"], case["segmentation"], case["ids"]["R1w0"],
                                                       db, "P01", "R3", "R3-week0", **options)

    refused(study, newer, save(newer), f"schema version {SCHEMA_VERSION + 1}, newer than")
    refused(study, newer, lambda: logic.computeIcc(newer, PRESET), "newer than")
    locked = copy_db(study["db"], tmp_path / "locked" / "study.sqlite")
    with held_write_lock(locked):
        refused(study, locked, save(locked, timeout=0.5), "locked by another process; gave up after 0.5 s")




def test_blockers_name_the_missing_field(study):
    logic, case = study["logic"], study["cases"]["P01"]
    args = [case["volume"], case["segmentation"], case["ids"]["R1w0"], study["db"], "P01", "R1", "R1-week0"]
    assert logic.saveSessionBlocker(*args) is None
    for index, expected in ((0, "DCE volume"), (2, "tumour segment"), (3, "study database"), (4, "case ID"),
                            (5, "reader"), (6, "session")):
        blank = list(args)
        blank[index] = None if index < 3 else " "
        assert expected in logic.saveSessionBlocker(*blank)
        with pytest.raises(ValueError, match=expected):
            logic.saveSegmentationToSession(*blank)
    assert logic.iccBlocker(study["db"]) is None
    assert "does not exist" in logic.iccBlocker(study["db"].with_name("none.sqlite"))


# ---- Compute ICC -------------------------------------------------------------------


@pytest.fixture(scope="module")
def icc(study, tmp_path_factory):
    """Compute ICC on a copy of the study (it extracts into the database)."""
    db = copy_db(study["db"], tmp_path_factory.mktemp("icc") / "study.sqlite")
    nodes = scene_count(study)
    steps = []
    result = study["logic"].computeIcc(db, PRESET, progress=lambda message, fraction: steps.append(fraction))
    return dict(db=db, result=result, nodes_before=nodes, steps=steps)


def test_icc_table_equals_the_library_on_the_same_database(study, icc):
    result = icc["result"]
    with StudyStore(icc["db"], create=False) as store:
        features, preset = store.preset_features(PRESET)
        assert len(store.missing_extractions(preset["preset_sha256"])) == 0
    expected = reliability(features, form="A,1", threshold=0.75)
    summary = expected.summary
    assert result.extracted == 9 and scene_count(study) == icc["nodes_before"] + 1
    assert (result.stable, result.total) == (int(summary["stable"].sum()), len(summary))
    assert 0 < result.stable < result.total
    assert result.cases == {"inter": 3, "intra": 3}
    frame = tables.table_to_frame(result.table)
    assert list(frame.columns) == ["Name", "Region", "Feature", "Feature class", "Intra ICC", "Intra CI low",
                                   "Intra CI high", "Intra raters", "Inter ICC", "Inter CI low", "Inter CI high",
                                   "Inter raters", "Stable"]
    assert frame["Name"].tolist() == summary["name"].tolist()
    assert set(frame["Region"]) == {"intratumoral", "peritumoral", "ring"}
    for column, source in (("Intra ICC", "intra_icc"), ("Inter ICC", "inter_icc"),
                           ("Intra CI low", "intra_ci_low"), ("Inter CI high", "inter_ci_high")):
        np.testing.assert_array_equal(frame[column].to_numpy(), summary[source].to_numpy(float))
    assert (frame["Stable"] == "yes").sum() == result.stable
    assert set(frame["Inter raters"]) == {"R1:R1-week0+R2:R2-week0"} and set(frame["Intra raters"]) == {"R1"}
    volume = frame.set_index("Name").loc["Intra_original_shape_VoxelVolume"]
    # 6 to 12 mm lesions against a one-voxel change of contour: volume is reproducible.
    assert volume["Intra ICC"] > 0.75 and volume["Inter ICC"] > 0.75 and volume["Stable"] == "yes"
    assert volume["Intra CI low"] < volume["Intra ICC"] < volume["Intra CI high"]
    assert tables.table_attribute(result.table, "stable") == str(result.stable)
    assert tables.table_attribute(result.table, "preset_sha256") == preset["preset_sha256"]
    assert f"{result.stable} of {result.total} features stable" in result.message()
    assert icc["steps"] == sorted(icc["steps"]) and len(icc["steps"]) == 10


def test_icc_agrees_with_the_command_line_and_refills_its_table(study, icc, tmp_path, capsys):
    result = icc["result"]
    capsys.readouterr()
    assert main(["icc", "--db", str(icc["db"]), "--out", str(tmp_path / "icc")]) == 0
    assert json.loads(capsys.readouterr().out)["stable"] == result.stable
    name = "Intra_original_shape_VoxelVolume"
    agreement = tables.table_to_frame(result.table).set_index("Name").loc[name, "Inter ICC"]
    nodes = scene_count(study)
    again = study["logic"].computeIcc(icc["db"], PRESET, form="C,1", tableNode=result.table)
    assert again.table is result.table and again.extracted == 0 and scene_count(study) == nodes
    assert tables.table_attribute(result.table, "form") == "C,1"
    # R2 contours one voxel inside R1: consistency (C,1) forgives that bias, agreement (A,1) does not.
    assert tables.table_to_frame(result.table).set_index("Name").loc[name, "Inter ICC"] > agreement


def test_icc_with_fewer_than_two_ratings_changes_nothing(study, icc, tmp_path):
    """One session per reader: no intra-observer ICC. Refused before extraction touches the database."""
    db = copy_db(study["db"], tmp_path / "study.sqlite")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM segmentations WHERE session_id IN (SELECT session_id FROM sessions WHERE label = ?)",
                 ("R1-week2",))
    conn.commit()
    conn.close()
    table = icc["result"].table
    content, attributes = tables.table_to_frame(table), tables.table_attribute(table, "form")
    refused(study, db, lambda: study["logic"].computeIcc(db, PRESET, tableNode=table),
            r"intra-observer ICC needs at least 2 ratings per case.*R1 \(1 session\)")
    pd.testing.assert_frame_equal(tables.table_to_frame(table), content)
    assert tables.table_attribute(table, "form") == attributes


def test_icc_refuses_a_features_table_and_bad_options(study, icc):
    features = study["scene"].AddNewNodeByClass("vtkMRMLTableNode", "features")
    tables.frame_to_table(pd.DataFrame({"Feature": ["a"], "Intratumoral": [1.0]}), features, {"Kind": "features"})
    try:
        for kwargs, match in (({"tableNode": features}, "holds features, not ICCs"),
                              ({"form": "1,1"}, "A,1 or C,1"), ({"threshold": 1.5}, "between 0 and 1")):
            refused(study, icc["db"], lambda: study["logic"].computeIcc(icc["db"], PRESET, **kwargs), match)
    finally:
        study["scene"].RemoveNode(features)
