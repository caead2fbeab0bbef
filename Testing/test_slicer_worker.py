"""Background work of the Slicer Logic: a real child process running the library, on slicer-core.

The worker's features must be exactly those of ``extract_case`` on the whole
field of view, although the child gets only the crop the extraction needs;
progress comes per region x image type; Cancel stops the child within 2 s and
leaves the scene and the disk as they were.
"""

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from TMERadiomicsLogic import TMERadiomicsLogic, tables, worker  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.features.extract import extract_case  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402

pytestmark = pytest.mark.slicer
REPO = Path(__file__).resolve().parent.parent
PRESET = "qian2024"


def wide_field(image: sitk.Image, bright: bool = False) -> sitk.Image:
    """The phantom inside a larger field of view; ``bright`` puts the image's extreme far from the tumour."""
    # wide enough that the crop, padded 7 sigma for the widest LoG, leaves most of it out
    padded = sitk.ConstantPad(image, (60, 0, 0), (60, 0, 0), 0.0)
    if bright:
        padded[1, 1, 1] = float(np.max(sitk.GetArrayViewFromImage(image))) * 3.0
    return padded


@pytest.fixture(scope="module")
def case():
    phantom = make_phantom("small", seed=3)
    image = wide_field(phantom.image(), bright=True)
    tumour = wide_field(phantom.tumour)
    scene = slicer.vtkMRMLScene()
    module_logic = slicer.vtkSlicerSegmentationsModuleLogic()
    module_logic.SetMRMLScene(scene)
    volume = add_volume(scene, image, "case-3")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": tumour})
    logic = TMERadiomicsLogic(scene)
    region_ids = logic.generateRegions(volume, segmentation, ids["Tumour"])
    return {"scene": scene, "keep": module_logic, "logic": logic, "volume": volume, "segmentation": segmentation,
            "tumour": ids["Tumour"], "regions": region_ids, "image": image, "mask": tumour}


def scene_state(scene, segmentation) -> tuple:
    return scene.GetNumberOfNodes(), segmentation.GetSegmentation().GetNumberOfSegments()


def test_child_python_is_this_python_outside_slicer_and_finds_both_packages():
    assert worker.child_python() == sys.executable
    import TMERadiomicsLib
    import TMERadiomicsLogic

    paths = worker.child_environment()["PYTHONPATH"].split(os.pathsep)
    # wherever the two packages are (source tree or installed extension), their folders come first
    assert paths[:2] == [str(Path(TMERadiomicsLib.__file__).resolve().parents[1]),
                         str(Path(TMERadiomicsLogic.__file__).resolve().parents[1])]


@pytest.fixture(scope="module")
def finished(case):
    """One Compute features run through the worker, with its events and the job folder's job.json."""
    logic = case["logic"]
    job = logic.startComputeFeatures(case["volume"], case["segmentation"], case["regions"], PRESET)
    spec = json.loads((job.folder / "job.json").read_text())
    handed = sitk.ReadImage(str(job.folder / spec["image"]))
    job.wait()
    folder = job.folder
    table = logic.finishComputeFeatures(job)
    return {"job": job, "spec": spec, "handed_size": handed.GetSize(), "table": table, "folder": folder}


def test_the_child_gets_a_crop_not_the_field_of_view(case, finished):
    whole = case["image"].GetSize()
    size = finished["handed_size"]
    assert finished["spec"]["crop"] is not None
    assert size[0] < whole[0] - 60 and np.prod(size) < 0.6 * np.prod(whole), (size, whole)
    # the image's brightest voxel lies outside the crop; the point-wise filters need it
    assert finished["spec"]["whole_image_extreme"] == pytest.approx(float(case["image"][1, 1, 1]))


def test_worker_features_equal_extract_case_on_the_whole_image_exactly(case, finished):
    result = regions.build(case["mask"], case["image"], case_id="case-3")
    expected = extract_case(case["image"], result.masks, PRESET, case_id="case-3").combined()
    got = tables.combined_from_table(finished["table"])
    columns = [c for c in expected.columns if c.startswith(("Intra_", "Peri_", "Ring_"))]
    assert len(columns) > 3000
    square = [c for c in columns if "_square_" in c or "_logarithm_" in c]
    assert square, "the point-wise filters are part of the check"
    mismatched = [c for c in columns
                  if not (float(got[c].iloc[0]) == float(expected[c].iloc[0])
                          or (math.isnan(float(got[c].iloc[0])) and math.isnan(float(expected[c].iloc[0]))))]
    assert mismatched == []


def test_the_same_table_as_computing_in_this_process(case, finished):
    logic = case["logic"]
    here = logic.computeFeatures(case["volume"], case["segmentation"], case["regions"], PRESET)
    a, b = tables.table_to_frame(here), tables.table_to_frame(finished["table"])
    assert list(a.columns) == list(b.columns)
    assert a.equals(b)
    case["scene"].RemoveNode(here)


def test_progress_per_region_and_image_type(finished):
    progress = [e for e in finished["job"].events if e["event"] == "progress"]
    messages = [e["message"] for e in progress]
    # qian2024: original, 8 wavelet bands, 4 LoG sigmas, square, squareroot, logarithm, exponential,
    # gradient, lbp-2D = 19 images x 3 regions
    assert "Peritumoral: wavelet-LLH (" in " ".join(messages)
    steps = [m for m in messages if m.endswith("/57)")]
    assert len(steps) == 57
    assert steps[0] == "Intratumoral: original (1/57)" and steps[-1] == "Ring: lbp-2D (57/57)"
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_the_job_folder_is_removed(finished):
    assert not finished["folder"].exists()


def test_cancel_stops_the_child_within_two_seconds_and_leaves_the_scene(case):
    logic = case["logic"]
    before = scene_state(case["scene"], case["segmentation"])
    job = logic.startRunAll(case["volume"], case["segmentation"], case["tumour"], PRESET, [])
    # The regions are there at once: added, or refilled in place when an earlier test of this module made them.
    assert len(logic.regionSegmentIds(case["segmentation"], case["volume"], case["tumour"])) == 3
    deadline = time.monotonic() + 60
    while not any(e["event"] == "progress" for e in job.poll()):  # the child is extracting
        assert job.running and time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    job.cancel()
    assert time.monotonic() - started < 2.0
    assert job.process.poll() is not None
    assert not job.folder.exists()
    assert scene_state(case["scene"], case["segmentation"]) == before


def test_a_child_error_reaches_the_parent_and_adds_nothing(case, tmp_path):
    logic = case["logic"]
    before = scene_state(case["scene"], case["segmentation"])
    job = logic.startComputeFeatures(case["volume"], case["segmentation"], case["regions"], PRESET)
    # the handed-over image goes missing before the child reads it (the child is still importing)
    (job.folder / "image.nrrd").unlink()
    job.wait()
    with pytest.raises(worker.JobFailed, match="image.nrrd") as failed:
        logic.finishComputeFeatures(job)
    assert job.process.returncode == 1 and "\n" not in str(failed.value)
    assert scene_state(case["scene"], case["segmentation"]) == before
    assert not job.folder.exists()


def test_the_child_needs_no_slicer_vtk_or_qt(tmp_path):
    """The child's imports with slicer, vtk, qt and PySide6 made unimportable: an unknown job is refused cleanly."""
    (tmp_path / "job.json").write_text(json.dumps({"kind": "nothing"}))
    code = ("import sys\nfor m in ('slicer', 'vtk', 'qt', 'ctk', 'PySide6', 'TMERadiomicsLogic'): sys.modules[m] = None\n"
            "from TMERadiomicsLib.worker.__main__ import main\n"
            "from TMERadiomicsLib.worker import handover, jobs, results\n"
            "sys.exit(main([sys.argv[1]]))")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                         env=worker.child_environment([REPO]), timeout=120)
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 2, run.stderr
    assert events == [{"event": "error", "message": f"{tmp_path / 'job.json'}: unknown job kind 'nothing'",
                       "kind": "input"}]


# ---- the Cohort section's batch child ------------------------------------------------------------

@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).parent))
    from test_batch_support import write_cohort, write_preset

    folder = tmp_path_factory.mktemp("cohort")
    return write_cohort(folder, [31, 32, 33]), write_preset(folder)


def kept_counts(kept: int) -> range:
    """What the panel last saw: a case may finish between its last poll and Cancel."""
    return range(1, kept + 1)


def wait_for(job, condition, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not condition():
        job.poll()
        assert time.monotonic() < deadline, job.logTail()
        time.sleep(0.05)


def test_cohort_cancel_keeps_finished_cases_and_a_rerun_resumes_and_loads_tables(cohort, tmp_path):
    from TMERadiomicsLogic import cohort as cohort_logic

    manifest, preset = cohort
    scene = slicer.vtkMRMLScene()
    out = tmp_path / "run"
    # a folder holding manifest.csv is a cohort too
    job = cohort_logic.start_cohort(manifest.parent, out, str(preset))
    wait_for(job, lambda: (job.progress() or ("", 0.0))[1] > 0)  # a case finished, as the panel saw it
    started = time.monotonic()
    job.cancel()
    assert time.monotonic() - started < 2.0
    assert job.process.returncode == 130, job.process.returncode  # batch's own Ctrl-C/SIGTERM exit
    kept = {p.parent.name for p in (out / "cases").glob("*/status.json")}
    assert 1 <= len(kept) < 3 and scene.GetNumberOfNodes() == 0
    assert job.progress()[0] in {f"Cohort: {n} of 3 cases finished" for n in kept_counts(len(kept))}

    again = cohort_logic.start_cohort(manifest, out, str(preset))
    wait_for(again, lambda: not again.running)
    result = cohort_logic.finish_cohort(scene, again)
    assert [n.GetName() for n in result["tables"]] == ["Cohort features_combined", "Cohort scores",
                                                     "Cohort failures"]
    assert result["summary"]["resumed_from_earlier_runs"] == len(kept), result["summary"]
    assert result["summary"]["completed"] == 3
    features = tables.table_to_frame(result["tables"][0])
    assert sorted(features["case_id"]) == ["P031", "P032", "P033"]
    assert not again.folder.exists()


def test_a_cohort_folder_without_manifest_is_sized_by_its_cases_or_refused_before_any_child(tmp_path):
    """The panel passes a folder to batch as it is; what batch could not pair stops the run before it starts."""
    from TMERadiomicsLib.errors import InputError
    from TMERadiomicsLogic import cohort as cohort_logic

    for name in ("A1/dce.nrrd", "A1/tumour.nrrd", "A2/dce.nrrd", "A2/lesion-mask.nrrd"):
        (tmp_path / "cohort" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "cohort" / name).write_bytes(b"")
    assert cohort_logic.cohort_blocker(tmp_path / "cohort", tmp_path / "out", "default") is None
    assert cohort_logic.source_cases(tmp_path / "cohort") == 2
    (tmp_path / "cohort" / "A2" / "phase0.nrrd").write_bytes(b"")  # two images: which one?
    with pytest.raises(InputError, match=r"case folder A2: 2 image\(s\) \(dce.nrrd, phase0.nrrd\)"):
        cohort_logic.start_cohort(tmp_path / "cohort", tmp_path / "out", "default")
    assert not (tmp_path / "out").exists()
    assert cohort_logic.cohort_blocker(tmp_path / "nowhere", tmp_path / "out", "default") == (
        f"No manifest or folder at {tmp_path / 'nowhere'}.")


def test_cohort_bad_input_is_one_line_and_adds_no_table(cohort, tmp_path):
    from TMERadiomicsLogic import cohort as cohort_logic

    manifest, preset = cohort
    scene = slicer.vtkMRMLScene()
    job = cohort_logic.start_cohort(manifest, tmp_path / "run", str(tmp_path / "no-such-preset.yaml"))
    wait_for(job, lambda: not job.running)
    with pytest.raises(worker.JobFailed, match="no-such-preset"):
        cohort_logic.finish_cohort(scene, job)
    assert job.process.returncode == 2 and scene.GetNumberOfNodes() == 0


# ---- Compute ICC's extraction in the worker ------------------------------------------------------

def test_icc_extraction_in_the_worker_can_be_cancelled_and_resumed(tmp_path):
    """Cancel between contours keeps the finished ones in the study; the next run does the rest."""
    sys.path.insert(0, str(Path(__file__).parent))
    import test_slicer_reproducibility as study_case
    from TMERadiomicsLib.reproducibility.stability import reliability
    from TMERadiomicsLib.store import StudyStore

    scene = slicer.vtkMRMLScene()
    keep = slicer.vtkSlicerSegmentationsModuleLogic()
    keep.SetMRMLScene(scene)
    logic = TMERadiomicsLogic(scene)
    db = tmp_path / "study.sqlite"
    for index in range(len(study_case.RADII_MM)):
        image, contours = study_case.lesion_case(index)
        volume = add_volume(scene, image, f"P{index + 1:02d}")
        segmentation, ids = add_segmentation(scene, volume, contours)
        for segment, reader, session in study_case.READINGS:
            logic.saveSegmentationToSession(volume, segmentation, ids[segment], db, f"P{index + 1:02d}", reader,
                                            session)
    nodes = scene.GetNumberOfNodes()
    job = logic.startComputeIcc(db, study_case.PRESET)
    wait_for(job, lambda: any(e["event"] == "progress" and e["message"].startswith("contour 3 of 9")
                              for e in job.events))
    job.cancel()
    assert scene.GetNumberOfNodes() == nodes
    with StudyStore(db, create=False) as store:
        missing = len(store.missing_extractions(_preset_sha(study_case.PRESET)))
    assert 0 < 9 - missing < 9, missing  # some contours done and kept, some not

    again = logic.startComputeIcc(db, study_case.PRESET)
    wait_for(again, lambda: not again.running)
    messages = [e["message"] for e in again.events if e["event"] == "progress"]
    assert messages[0].startswith(f"contour 1 of {missing}: Intratumoral: original (1/")
    result = logic.finishComputeIcc(again)
    assert result.extracted == missing and scene.GetNumberOfNodes() == nodes + 1
    with StudyStore(db, create=False) as store:
        features, _ = store.preset_features(study_case.PRESET)
    expected = reliability(features, form="A,1", threshold=0.75).summary
    assert (result.stable, result.total) == (int(expected["stable"].sum()), len(expected))
    # The ICCs were computed in the child too (the GUI thread only fills the table), value for value.
    assert "Computing ICCs" in messages
    shown = tables.table_to_frame(result.table)
    want = tables.icc_frame(expected)
    assert list(shown.columns) == list(want.columns) and list(shown["Stable"]) == list(want["Stable"])
    for column in [c for c in want.columns if c.endswith(" ICC")]:
        np.testing.assert_array_equal(shown[column].to_numpy(float), want[column].to_numpy(float))
    assert not again.folder.exists()


def _preset_sha(name: str) -> str:
    from TMERadiomicsLib.features.presets import load_preset

    return load_preset(name).sha256


def _two_lesions():
    """A fresh scene whose segmentation holds two tumours, A and B (B is A moved 30 voxels along x)."""
    phantom = make_phantom("small", seed=3)
    image, tumour = wide_field(phantom.image()), wide_field(phantom.tumour)
    moved = sitk.GetImageFromArray(np.roll(sitk.GetArrayFromImage(tumour), 30, axis=2))
    moved.CopyInformation(tumour)
    scene = slicer.vtkMRMLScene()
    module_logic = slicer.vtkSlicerSegmentationsModuleLogic()
    module_logic.SetMRMLScene(scene)
    volume = add_volume(scene, image, "two-lesions")
    segmentation, ids = add_segmentation(scene, volume, {"A": tumour, "B": moved})
    return scene, module_logic, volume, segmentation, ids


def test_every_lesion_in_the_background_and_a_cancel_in_the_second_undoes_the_first():
    scene, keep, volume, segmentation, ids = _two_lesions()
    logic = TMERadiomicsLogic(scene)
    before = scene_state(scene, segmentation)
    job = logic.startRunAllLesions(volume, segmentation, [ids["A"], ids["B"]], "default", [])
    assert job.running  # lesion A's features are in a child process: the call has returned
    deadline = time.monotonic() + 120
    while not (job.running and (job.progress() or ("",))[0].startswith("Lesion 2 of 2 (B)")):
        assert time.monotonic() < deadline, "lesion B never started"
        job.poll()
        time.sleep(0.05)
    job.cancel()  # A is done (regions and table in the scene), B is extracting
    assert not job.running and scene_state(scene, segmentation) == before

    job = logic.startRunAllLesions(volume, segmentation, [ids["A"], ids["B"]], "default", [])
    while job.running:
        assert time.monotonic() < deadline + 120
        job.poll()
        time.sleep(0.05)
    results = logic.finishRunAllLesions(job)
    assert [r.tumorName for r in results] == ["A", "B"]
    assert [len(r.regionSegmentIds) for r in results] == [3, 3]
    assert set(results[0].regionSegmentIds).isdisjoint(results[1].regionSegmentIds)
    assert [tables.table_attribute(r.features, "SourceSegmentName") for r in results] == ["A", "B"]
    assert list(tables.table_to_frame(logic.lastLesionsTable)["Lesion"]) == ["A", "B"]
    # The same as the in-process runAllLesions would give, lesion for lesion.
    for result in results:
        expected = extract_case(volumes_image(volume), logic._regionMasks(
            segmentation, result.regionSegmentIds, volumes_image(volume), volume), "default", case_id="two-lesions")
        frame = tables.table_to_frame(result.features).set_index("Feature")
        got = frame["Intratumoral"]
        want = expected.values["intratumoral"]
        assert all(got[name] == want[name] or (math.isnan(got[name]) and math.isnan(want[name])) for name in want)


def volumes_image(volume):
    from TMERadiomicsLogic import volumes

    return volumes.volume_to_image(volume)
