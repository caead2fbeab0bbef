"""The Slicer module's Logic on slicer-core: real MRML scene, nodes and segmentations, no Qt.

One oblique, off-origin phantom case per risk group goes through
generateRegions -> computeFeatures -> applyModels; each result is compared
with the library run directly on the same SimpleITK data.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from shapes import rotation

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from TMERadiomicsLogic import Cancelled, TMERadiomicsLogic  # noqa: E402
from TMERadiomicsLogic import overlay, segments, tables, volumes  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.regions import REGION_COLOURS, REGION_NAMES  # noqa: E402
from TMERadiomicsLib.features.extract import extract_case  # noqa: E402
from TMERadiomicsLib.models import bundled_model, calibrate, load_bundle  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402

pytestmark = pytest.mark.slicer

CALIBRATION_SEEDS = range(10)
MODELS = ("qian2024-combined", "qian2024-intratumoral")
DIRECTION = rotation((1, 2, 3), 0.4)
ORIGIN = (-61.25, 37.5, -12.125)


def oblique(image: sitk.Image) -> sitk.Image:
    image = sitk.Image(image)
    image.SetDirection(DIRECTION)
    image.SetOrigin(ORIGIN)
    return image


def new_scene():
    scene = slicer.vtkMRMLScene()
    logic = slicer.vtkSlicerSegmentationsModuleLogic()
    logic.SetMRMLScene(scene)
    return scene, logic  # keep the module logic alive with the scene


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """Qian bundles calibrated on ten phantoms, and each phantom's radscore by the combined model."""
    rows = []
    for seed in CALIBRATION_SEEDS:
        phantom = make_phantom("small", seed=seed)
        result = regions.build(phantom.tumour, phantom.image(), case_id=f"cal-{seed}")
        masks = {name: result.masks[name] for name in ("intratumoral", "peritumoral")}
        rows.append(extract_case(phantom.image(), masks, "qian2024", case_id=f"cal-{seed}").combined())
    cohort = pd.concat(rows, ignore_index=True)
    folder = tmp_path_factory.mktemp("bundles")
    paths = [calibrate(load_bundle(bundled_model(name)), cohort).save(folder / name) for name in MODELS]
    radscores = load_bundle(paths[0]).score(cohort)["radscore"].to_numpy()
    return paths, radscores


@pytest.fixture(scope="module", params=["lowest", "highest"])
def case(request, calibrated):
    """One phantom, oblique and off-origin, taken through all three Logic steps."""
    paths, radscores = calibrated
    seed = int(np.argmin(radscores) if request.param == "lowest" else np.argmax(radscores))
    phantom = make_phantom("small", seed=seed)
    image, tumour, vessels = (oblique(i) for i in (phantom.image(), phantom.tumour, phantom.vessels))
    scene, module_logic = new_scene()
    volume = add_volume(scene, image, f"case-{seed}")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": tumour, "Vessels": vessels})
    before = snapshot(segmentation)
    logic = TMERadiomicsLogic(scene)
    region_ids = logic.generateRegions(volume, segmentation, ids["Tumour"], exclusionSegmentIds=[ids["Vessels"]])
    features = logic.computeFeatures(volume, segmentation, region_ids, "qian2024")
    scores = logic.applyModels(features, paths, segmentation)
    return dict(scene=scene, module_logic=module_logic, logic=logic, image=image, tumour=tumour, vessels=vessels,
                volume=volume, segmentation=segmentation, ids=ids, before=before, region_ids=region_ids,
                features=features, scores=scores, paths=paths)


def snapshot(segmentation_node) -> dict:
    """Name, colour and voxels of every segment: what 'untouched' means."""
    state = {}
    segmentation = segmentation_node.GetSegmentation()
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        segment = segmentation.GetSegment(segment_id)
        labelmap = segments.segment_labelmap(segmentation_node, segment_id)
        from vtk.util import numpy_support

        values = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).copy()
        state[segment_id] = (segment.GetName(), tuple(segment.GetColor()), labelmap.GetExtent(), values.tobytes())
    return state


def scene_state(scene, segmentation_node) -> tuple:
    return scene.GetNumberOfNodes(), snapshot(segmentation_node)


# ---- the bridge -------------------------------------------------------------


def test_volume_round_trip_is_exact():
    scene, _ = new_scene()
    image = oblique(make_phantom("small", seed=3).image())
    back = volumes.volume_to_image(add_volume(scene, image, "v"))
    assert np.array_equal(sitk.GetArrayViewFromImage(back), sitk.GetArrayViewFromImage(image))
    assert back.GetOrigin() == image.GetOrigin()
    assert back.GetSpacing() == image.GetSpacing()
    assert back.GetDirection() == image.GetDirection()
    assert back.GetPixelID() == image.GetPixelID()


def test_volume_node_places_voxels_in_ras():
    scene, _ = new_scene()
    image = oblique(make_phantom("small", seed=3).image())
    node = add_volume(scene, image, "v")
    import vtk

    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    for index in [(0, 0, 0), (5, 17, 3), (111, 111, 39)]:
        ras = matrix.MultiplyPoint((*index, 1.0))[:3]
        lps = image.TransformIndexToPhysicalPoint(index)
        assert ras == pytest.approx((-lps[0], -lps[1], lps[2]), abs=1e-9)


def test_multiphase_volume_needs_a_phase():
    scene, _ = new_scene()
    phantom = make_phantom("small", seed=1)
    phases = sitk.Compose([sitk.Cast(p, sitk.sitkFloat32) for p in phantom.phases])
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "dce")
    import vtk

    image_data = vtk.vtkImageData()
    array = sitk.GetArrayFromImage(phases)  # z, y, x, phase
    image_data.SetDimensions(*phases.GetSize())
    from vtk.util import numpy_support

    flat = numpy_support.numpy_to_vtk(array.reshape(-1, array.shape[-1]), deep=True)
    image_data.GetPointData().SetScalars(flat)
    node.SetAndObserveImageData(image_data)
    volumes.set_geometry(node, phantom.image())
    with pytest.raises(ValueError, match="phases; select one"):
        volumes.volume_to_image(node)
    second = volumes.volume_to_image(node, phase=2)
    expected = sitk.GetArrayFromImage(phantom.image(2)).astype(np.float32)
    assert np.array_equal(sitk.GetArrayViewFromImage(second), expected)


# ---- end to end ---------------------------------------------------------------


def test_region_voxel_counts_equal_the_library(case):
    expected = regions.build(case["tumour"], case["image"], exclusions=[case["vessels"]])
    seg = case["segmentation"]
    for segment_id, name in zip(case["region_ids"], regions.REGION_NAMES):
        assert segments.segment_region(seg, segment_id) == name
        mask = segments.segment_to_mask(seg, segment_id, case["image"])
        got = sitk.GetArrayViewFromImage(mask)
        assert np.array_equal(got, sitk.GetArrayViewFromImage(expected.masks[name]))
        assert int(got.sum()) == expected.summary[name].voxels > 0


def test_existing_segments_untouched(case):
    after = snapshot(case["segmentation"])
    for segment_id, state in case["before"].items():
        assert after[segment_id] == state
    assert set(after) == set(case["before"]) | set(case["region_ids"])


def test_features_table_matches_the_library(case):
    masks = regions.build(case["tumour"], case["image"], exclusions=[case["vessels"]]).masks
    expected = extract_case(case["image"], masks, "qian2024", case_id=case["volume"].GetName()).combined()
    frame = tables.table_to_frame(case["features"])
    assert list(frame.columns) == ["Feature", "Intratumoral", "Peritumoral", "Ring"]
    assert len(frame) == (len(expected.columns) - 3) // 3 > 1000
    got = tables.combined_from_table(case["features"])
    assert list(got.columns) == list(expected.columns)
    assert got[["case_id", "preset", "preset_sha256"]].equals(expected[["case_id", "preset", "preset_sha256"]])
    np.testing.assert_array_equal(got.iloc[0, 3:].to_numpy(float), expected.iloc[0, 3:].to_numpy(float))


def test_scores_table_and_risk_colours(case):
    frame = tables.table_to_frame(case["scores"])
    assert list(frame.columns) == list(tables.SCORE_COLUMNS)
    assert list(frame["Model"]) == list(MODELS)
    combined = tables.combined_from_table(case["features"])
    for row, path in zip(frame.itertuples(index=False), case["paths"]):
        expected = load_bundle(path).score(combined).iloc[0]
        assert row[2] == pytest.approx(expected["radscore"], rel=1e-12)
        assert row[4] == expected["risk_group"] != ""
    groups = list(load_bundle(case["paths"][0]).manifest.risk_groups)
    index = groups.index(frame["Risk group"].iloc[0])
    segmentation = case["segmentation"].GetSegmentation()
    for segment_id, name in zip(case["region_ids"], regions.REGION_NAMES):
        colour = segmentation.GetSegment(segment_id).GetColor()
        assert tuple(colour) == pytest.approx(overlay.risk_colour(index, name))
    assert frame["Risk group"].iloc[0] in case["logic"].summaryText()


def test_both_risk_groups_are_covered(calibrated):
    _, radscores = calibrated
    threshold = np.median(radscores)
    assert radscores.min() < threshold <= radscores.max()


# ---- bad input: a ValueError and the scene unchanged ------------------------------


@pytest.fixture()
def plain_case():
    scene, module_logic = new_scene()
    phantom = make_phantom("small", seed=2)
    image = oblique(phantom.image())
    volume = add_volume(scene, image, "plain")
    tumour = oblique(phantom.tumour)
    empty = sitk.Image(tumour) * 0
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": tumour, "Empty": empty})
    return dict(scene=scene, module_logic=module_logic, volume=volume, segmentation=segmentation, ids=ids,
                image=image, tumour=tumour, logic=TMERadiomicsLogic(scene))


def refused(c, call, match):
    before = scene_state(c["scene"], c["segmentation"])
    with pytest.raises(ValueError, match=match):
        call()
    assert scene_state(c["scene"], c["segmentation"]) == before


def test_no_volume_or_segment(plain_case):
    c = plain_case
    refused(c, lambda: c["logic"].generateRegions(None, c["segmentation"], "Tumour"), "Select a DCE volume")
    refused(c, lambda: c["logic"].generateRegions(c["volume"], None, "Tumour"), "Select a segmentation")
    refused(c, lambda: c["logic"].generateRegions(c["volume"], c["segmentation"], ""), "tumour segment")
    refused(c, lambda: c["logic"].generateRegions(c["volume"], c["segmentation"], "nope"), "tumour segment")
    refused(c, lambda: c["logic"].computeFeatures(c["volume"], c["segmentation"], [], "default"), "regions first")


def test_empty_segment(plain_case):
    c = plain_case
    refused(c, lambda: c["logic"].generateRegions(c["volume"], c["segmentation"], c["ids"]["Empty"]), "empty")


def test_model_needing_calibration(case):
    c = case
    published = [bundled_model("qian2024-combined")]
    refused(c, lambda: c["logic"].applyModels(c["features"], published, c["segmentation"]), "needs calibration")


def test_missing_python_dependencies(case, monkeypatch):
    c = case
    monkeypatch.setitem(sys.modules, "skops", None)  # what an absent package looks like to import
    refused(c, lambda: c["logic"].applyModels(c["features"], c["paths"], c["segmentation"]), "skops")
    refused(c, lambda: c["logic"].runAll(c["volume"], c["segmentation"], c["ids"]["Tumour"], "qian2024",
                                         c["paths"]), "skops")


def test_cancel_leaves_the_scene_unchanged(plain_case):
    c = plain_case

    def cancel(message, fraction):
        if fraction > 0.3:
            raise Cancelled()

    before = scene_state(c["scene"], c["segmentation"])
    with pytest.raises(Cancelled):
        c["logic"].runAll(c["volume"], c["segmentation"], c["ids"]["Tumour"], "default", [], progress=cancel)
    assert scene_state(c["scene"], c["segmentation"]) == before


def test_pyradiomics_warnings_stay_out_of_the_error_log(case):
    """computeFeatures ran in the fixture: PyRadiomics' logger passes errors only (Slicer's Error Log)."""
    import logging

    assert logging.getLogger("radiomics").getEffectiveLevel() >= logging.ERROR


# ---- region segments recovered from their tags ------------------------------------


def write_and_reload(segmentation, path):
    """Save a segmentation as .seg.nrrd and read it into a fresh scene (a closed and re-opened scene)."""
    storage = slicer.vtkMRMLSegmentationStorageNode()
    storage.SetFileName(str(path))
    assert storage.WriteData(segmentation)
    scene, module_logic = new_scene()
    reloaded = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "reloaded")
    reader = slicer.vtkMRMLSegmentationStorageNode()
    reader.SetFileName(str(path))
    assert reader.ReadData(reloaded)
    return scene, module_logic, reloaded


def test_region_ids_come_from_segment_tags_after_a_reload(plain_case, tmp_path):
    c = plain_case
    logic, segmentation = c["logic"], c["segmentation"]
    assert logic.regionSegmentIds(segmentation, c["volume"]) == []
    # A reader's own segment named like a region is not one: only the tag counts.
    segments.add_mask_segment(segmentation, c["tumour"], "Ring", (0, 0, 1), None)
    first = logic.generateRegions(c["volume"], segmentation, c["ids"]["Tumour"])
    assert logic.regionSegmentIds(segmentation, c["volume"]) == first
    second = logic.generateRegions(c["volume"], segmentation, c["ids"]["Tumour"], peritumoralMm=3.0)
    assert second == first  # a re-run refills the same segments (issue 19), it does not pile up
    assert logic.regionSegmentIds(segmentation, c["volume"]) == second

    scene, module_logic, reloaded = write_and_reload(segmentation, tmp_path / "case.seg.nrrd")
    recovered = TMERadiomicsLogic(scene).regionSegmentIds(reloaded)
    assert [segments.segment_region(reloaded, s) for s in recovered] == list(regions.REGION_NAMES)
    assert recovered == second
    for segment_id in recovered:  # the very voxels of the second generation
        got = sitk.GetArrayFromImage(segments.segment_to_mask(reloaded, segment_id, c["image"]))
        assert got.any()
        np.testing.assert_array_equal(got, sitk.GetArrayFromImage(
            segments.segment_to_mask(segmentation, segment_id, c["image"])))
    # Another segmentation has no regions of its own: nothing stale carries over.
    other, _ = add_segmentation(c["scene"], c["volume"], {"Tumour": c["tumour"]}, name="other")
    assert logic.regionSegmentIds(other, c["volume"]) == []


def test_regions_of_the_selected_volume_are_preferred(plain_case):
    c = plain_case
    logic, segmentation = c["logic"], c["segmentation"]
    on_volume = logic.generateRegions(c["volume"], segmentation, c["ids"]["Tumour"])
    twin = add_volume(c["scene"], c["image"], "twin")
    on_twin = logic.generateRegions(twin, segmentation, c["ids"]["Tumour"])
    assert logic.regionSegmentIds(segmentation, c["volume"]) == on_volume
    assert logic.regionSegmentIds(segmentation, twin) == on_twin


# ---- phases: sequences are read, never moved --------------------------------------------


@pytest.fixture()
def sequence_case():
    return build_sequence_case()


def build_sequence_case(seconds_per_phase: int | None = None) -> dict:
    """A six-phase DCE sequence with its browser and proxy node, as Slicer loads a 4-D series.

    Index values are the item numbers, or acquisition times (``time``, ``s``) given ``seconds_per_phase``.
    """
    scene, module_logic = new_scene()
    sequences_logic = slicer.vtkSlicerSequencesLogic()
    sequences_logic.SetMRMLScene(scene)
    phantom = make_phantom("small", seed=5)
    sequence = scene.AddNewNodeByClass("vtkMRMLSequenceNode", "DCE")
    if seconds_per_phase:
        sequence.SetIndexName("time")
        sequence.SetIndexUnit("s")
    for index, image in enumerate(phantom.phases):
        item = add_volume(scene, oblique(image), f"phase {index}")
        sequence.SetDataNodeAtValue(item, str(index * (seconds_per_phase or 1)))
        scene.RemoveNode(item)
    browser = scene.AddNewNodeByClass("vtkMRMLSequenceBrowserNode", "DCE browser")
    browser.SetAndObserveMasterSequenceNodeID(sequence.GetID())
    sequences_logic.UpdateProxyNodesFromSequences(browser)
    browser.SetSelectedItemNumber(4)  # what the user is looking at
    sequences_logic.UpdateProxyNodesFromSequences(browser)
    proxy = browser.GetProxyNode(sequence)
    return dict(scene=scene, logic=TMERadiomicsLogic(scene), browser=browser, proxy=proxy, phantom=phantom,
                sequence=sequence, keep=(module_logic, sequences_logic))


def test_select_phase_reads_the_sequence_without_moving_the_browser(sequence_case):
    c = sequence_case
    logic, proxy = c["logic"], c["proxy"]
    assert logic.phaseCount(proxy) == len(c["phantom"].phases) == 6
    shown = sitk.GetArrayFromImage(volumes.volume_to_image(proxy))
    phase = logic.selectPhase(proxy, 2)
    assert c["browser"].GetSelectedItemNumber() == 4
    np.testing.assert_array_equal(sitk.GetArrayFromImage(volumes.volume_to_image(proxy)), shown)
    image = volumes.volume_to_image(phase)
    expected = oblique(c["phantom"].phases[2])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(expected))
    assert not np.array_equal(shown, sitk.GetArrayFromImage(image))  # phase 4 is not phase 2
    assert image.GetOrigin() == pytest.approx(expected.GetOrigin())
    assert image.GetDirection() == pytest.approx(expected.GetDirection())
    assert phase.GetName() == proxy.GetName() and phase.GetID() == proxy.GetID()


def test_a_phase_the_sequence_lacks_is_refused_before_anything_moves(sequence_case):
    c = sequence_case
    nodes = c["scene"].GetNumberOfNodes()
    for phase in (6, -1):
        with pytest.raises(ValueError, match="phase .* does not exist; the sequence of 'DCE.*' has phases 0-5"):
            c["logic"].selectPhase(c["proxy"], phase)
    assert c["browser"].GetSelectedItemNumber() == 4
    assert c["scene"].GetNumberOfNodes() == nodes


def test_phase_count_of_plain_and_multicomponent_volumes(plain_case):
    c = plain_case
    assert c["logic"].phaseCount(None) == 0
    assert c["logic"].phaseCount(c["volume"]) == 1
    assert c["logic"].selectPhase(c["volume"], 0) is c["volume"]


def test_a_multivolume_phase_out_of_range_is_refused(plain_case):
    c = plain_case
    phantom = make_phantom("small", seed=1)
    phases = sitk.Compose([sitk.Cast(p, sitk.sitkFloat32) for p in phantom.phases])
    node = c["scene"].AddNewNodeByClass("vtkMRMLScalarVolumeNode", "dce")
    import vtk
    from vtk.util import numpy_support

    image_data = vtk.vtkImageData()
    image_data.SetDimensions(*phases.GetSize())
    array = sitk.GetArrayFromImage(phases)
    image_data.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.reshape(-1, array.shape[-1]), deep=True))
    node.SetAndObserveImageData(image_data)
    assert c["logic"].phaseCount(node) == 6
    with pytest.raises(ValueError, match="phase 7 does not exist; volume 'dce' has phases 0-5"):
        c["logic"].selectPhase(node, 7)
    assert node.GetAttribute(volumes.PHASE_ATTRIBUTE) is None  # nothing remembered from the refusal


# ---- legend and restoring the region colours (issue 19) ---------------------------------


@pytest.fixture()
def scored(calibrated):
    """A phantom case through Run all with a calibrated model: its regions are risk-coloured."""
    paths = calibrated[0][:1]
    scene, module_logic = new_scene()
    phantom = make_phantom("small", seed=3)
    volume = add_volume(scene, oblique(phantom.image()), "case-3")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": oblique(phantom.tumour)})
    logic = TMERadiomicsLogic(scene)
    logic.generateRegions(volume, segmentation, ids["Tumour"])
    own = {s: tuple(segmentation.GetSegmentation().GetSegment(s).GetColor())
           for s in logic.regionSegmentIds(segmentation, volume, ids["Tumour"])}
    region_ids, _, scores = logic.runAll(volume, segmentation, ids["Tumour"], "qian2024", paths)
    return dict(scene=scene, keep=module_logic, logic=logic, segmentation=segmentation, ids=ids,
                region_ids=region_ids, scores=scores, own=own, volume=volume)


def test_legend_lists_what_the_views_show_and_restore_undoes_the_overlay(scored):
    c = scored
    logic, segmentation = c["logic"], c["segmentation"]
    group = tables.table_to_frame(c["scores"])["Risk group"].iloc[0]
    model = tables.table_to_frame(c["scores"])["Model"].iloc[0]
    legend = logic.legendEntries(segmentation)
    colours = [tuple(segmentation.GetSegmentation().GetSegment(s).GetColor()) for s in c["region_ids"]]
    # The group's own spelling after its first letter: "High M2 infiltration", never "High m2 infiltration".
    assert [label for label, _ in legend] == [f"{group[:1].upper() + group[1:]} risk ({model}): {name.capitalize()}"
                                              for name in REGION_NAMES]
    assert [colour for _, colour in legend] == [pytest.approx(colour, abs=1e-4) for colour in colours]
    assert all(colour != pytest.approx(c["own"][s]) for s, colour in zip(c["region_ids"], colours))

    segmentation.GetDisplayNode().SetSegmentVisibility(c["region_ids"][2], False)  # hidden: not in the legend
    assert len(logic.legendEntries(segmentation)) == 2
    segmentation.GetDisplayNode().SetSegmentVisibility(c["region_ids"][2], True)

    logic.restoreRegionColours(segmentation, c["ids"]["Tumour"])
    for segment_id in c["region_ids"]:
        assert tuple(segmentation.GetSegmentation().GetSegment(segment_id).GetColor()) == pytest.approx(
            c["own"][segment_id])
    assert logic.legendEntries() == [(name.capitalize(), pytest.approx(REGION_COLOURS[name], abs=1e-4))
                                     for name in REGION_NAMES]
    logic.restoreRegionColours(segmentation)  # twice is harmless: nothing left to undo
    assert tuple(segmentation.GetSegmentation().GetSegment(c["region_ids"][0]).GetColor()) == pytest.approx(
        c["own"][c["region_ids"][0]])


def test_the_users_own_region_colour_is_what_restore_brings_back(scored, calibrated):
    c = scored
    logic, segmentation = c["logic"], c["segmentation"]
    logic.restoreRegionColours(segmentation)
    segment = segmentation.GetSegmentation().GetSegment(c["region_ids"][1])
    segment.SetColor(0.3, 0.3, 0.3)  # the radiologist's choice before scoring again
    _, _, scores = logic.runAll(c["volume"], segmentation, c["ids"]["Tumour"], "qian2024", calibrated[0][:1])
    assert scores.GetID() == c["scores"].GetID()  # the lesion's scores table, refilled
    kinds = [tables.table_attribute(c["scene"].GetNthNodeByClass(i, "vtkMRMLTableNode"), "Kind")
             for i in range(c["scene"].GetNumberOfNodesByClass("vtkMRMLTableNode"))]
    assert sorted(kinds) == ["features", "scores"]
    assert tuple(segment.GetColor()) != pytest.approx((0.3, 0.3, 0.3))
    logic.restoreRegionColours(segmentation)
    assert tuple(segment.GetColor()) == pytest.approx((0.3, 0.3, 0.3))


def test_each_lesion_is_scored_and_coloured_on_its_own(calibrated):
    """Two lesions through runAllLesions with a model: each one's regions take its own risk group only."""
    from test_slicer_lesions import ball

    paths = calibrated[0][:1]
    scene, module_logic = new_scene()
    phantom = make_phantom("small", seed=3)
    image = oblique(phantom.image())
    volume = add_volume(scene, image, "case-3")
    second = ball(image, (28, 84, 20), 5.0)
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": oblique(phantom.tumour), "Second": second})
    # Not grey: Slicer takes (0.5, 0.5, 0.5) for "no colour" and picks one.
    untouched = segments.add_mask_segment(segmentation, second, "Vessels", (0.3, 0.6, 0.9), None)
    logic = TMERadiomicsLogic(scene)
    results = logic.runAllLesions(volume, segmentation, [ids["Tumour"], ids["Second"]], "qian2024", paths)
    groups = list(load_bundle(paths[0]).manifest.risk_groups)
    lesions = tables.table_to_frame(logic.lastLesionsTable)
    for row, result in zip(lesions.itertuples(index=False), results):
        scores = tables.table_to_frame(result.scores)
        group = scores["Risk group"].iloc[0]
        assert row[0] == result.tumorName and row[4] == pytest.approx(scores["Score"].iloc[0])
        assert row[5] == group
        for segment_id, name in zip(result.regionSegmentIds, REGION_NAMES):
            colour = segmentation.GetSegmentation().GetSegment(segment_id).GetColor()
            assert tuple(colour) == pytest.approx(overlay.risk_colour(groups.index(group), name))
        assert f"case-3 - {result.tumorName}" in logic.summaryText()
    assert tuple(segmentation.GetSegmentation().GetSegment(untouched).GetColor()) == pytest.approx((0.3, 0.6, 0.9))
    assert module_logic is not None
