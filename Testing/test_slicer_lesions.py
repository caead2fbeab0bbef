"""Issue 19 on slicer-core: re-runs update in place, every lesion has its own regions and tables,
library warnings come back to the caller, and tables carry their provenance.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from test_slicer_logic import build_sequence_case, new_scene, oblique, snapshot  # noqa: E402

from TMERadiomicsLogic import Cancelled, TMERadiomicsLogic  # noqa: E402
from TMERadiomicsLogic import segments, tables, volumes  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402

pytestmark = pytest.mark.slicer


def ball(reference: sitk.Image, centre_index, radius_mm: float) -> sitk.Image:
    """A ball of ``radius_mm`` around a voxel index, on ``reference``'s grid."""
    size = reference.GetSize()
    z, y, x = np.meshgrid(*(np.arange(n) for n in size[::-1]), indexing="ij")
    spacing = reference.GetSpacing()
    distance = np.sqrt(sum(((axis - c) * s) ** 2 for axis, c, s in zip((x, y, z), centre_index, spacing)))
    image = sitk.GetImageFromArray((distance <= radius_mm).astype(np.uint8))
    image.CopyInformation(reference)
    return image


@pytest.fixture()
def two_lesions():
    """A phantom with its own tumour (A) and a second ball-shaped lesion (B) far from it."""
    scene, module_logic = new_scene()
    phantom = make_phantom("small", seed=4)
    image = oblique(phantom.image())
    tumour = oblique(phantom.tumour)
    centre = np.argwhere(sitk.GetArrayViewFromImage(tumour))[:, ::-1].mean(axis=0)
    far = [int(n * 0.25) if c > n / 2 else int(n * 0.75) for c, n in zip(centre[:2], image.GetSize()[:2])]
    second = ball(image, (*far, image.GetSize()[2] // 2), 4.0)
    volume = add_volume(scene, image, "case-7")
    segmentation, ids = add_segmentation(scene, volume, {"A": tumour, "B": second})
    return dict(scene=scene, keep=module_logic, logic=TMERadiomicsLogic(scene), image=image, volume=volume,
                segmentation=segmentation, ids=ids, masks={"A": tumour, "B": second})


def mask_of(c, segment_id):
    return sitk.GetArrayFromImage(segments.segment_to_mask(c["segmentation"], segment_id, c["image"],
                                                           allow_empty=True))


def content(c) -> dict:
    """Name, colour, tags and voxels (on the volume's grid) of every segment: what the user sees.

    Unlike ``snapshot`` this ignores the labelmap's stored extent, which an
    undo through Slicer's segment editing call may grow without changing a voxel.
    """
    segmentation = c["segmentation"].GetSegmentation()
    state = {}
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        segment = segmentation.GetSegment(segment_id)
        tags = {key: segments.segment_tag(c["segmentation"], segment_id, key)
                for key in ("TMERadiomics.Region", segments.SOURCE_TAG, "TMERadiomics.RegionParameters")}
        state[segment_id] = (segment.GetName(), tuple(segment.GetColor()), tags, mask_of(c, segment_id).tobytes())
    return state


def table_nodes(scene, kind=None):
    nodes = [scene.GetNthNodeByClass(i, "vtkMRMLTableNode") for i in range(scene.GetNumberOfNodesByClass(
        "vtkMRMLTableNode"))]
    return [n for n in nodes if kind is None or tables.table_attribute(n, "Kind") == kind]


# ---- re-runs update ---------------------------------------------------------------


def test_generating_again_refills_the_same_segments(two_lesions):
    c = two_lesions
    logic, segmentation = c["logic"], c["segmentation"]
    first = logic.generateRegions(c["volume"], segmentation, c["ids"]["A"], peritumoralMm=5.0)
    # The user renames and recolours a region: a re-run keeps both.
    segmentation.GetSegmentation().GetSegment(first[1]).SetName("Peri A")
    segmentation.GetSegmentation().GetSegment(first[1]).SetColor(0.1, 0.2, 0.3)
    count = segmentation.GetSegmentation().GetNumberOfSegments()
    second = logic.generateRegions(c["volume"], segmentation, c["ids"]["A"], peritumoralMm=3.0)
    assert second == first
    assert segmentation.GetSegmentation().GetNumberOfSegments() == count  # no Intratumoral_1, Peritumoral_2...
    names = [segmentation.GetSegmentation().GetSegment(s).GetName() for s in second]
    assert names == ["Intratumoral", "Peri A", "Ring"]
    assert segmentation.GetSegmentation().GetSegment(first[1]).GetColor() == pytest.approx((0.1, 0.2, 0.3))
    expected = regions.build(c["masks"]["A"], c["image"], peritumoral_mm=3.0)
    for segment_id, name in zip(second, regions.REGION_NAMES):  # the new voxels, not the old ones
        np.testing.assert_array_equal(mask_of(c, segment_id), sitk.GetArrayFromImage(expected.masks[name]))


def test_computing_features_again_refills_the_lesion_table(two_lesions):
    c = two_lesions
    logic = c["logic"]
    ids = logic.generateRegions(c["volume"], c["segmentation"], c["ids"]["A"])
    first = logic.computeFeatures(c["volume"], c["segmentation"], ids, "default")
    logic.generateRegions(c["volume"], c["segmentation"], c["ids"]["A"], peritumoralMm=3.0)
    again = logic.computeFeatures(c["volume"], c["segmentation"], ids, "default")
    assert again.GetID() == first.GetID()
    assert len(table_nodes(c["scene"], "features")) == 1
    assert tables.table_attribute(again, "PeritumoralMm") == "3.0"  # the refill's provenance, not the old one
    other_preset = logic.computeFeatures(c["volume"], c["segmentation"], ids, "qian2024")
    assert other_preset.GetID() != first.GetID()  # another preset is another table, named for it
    assert "qian2024" in other_preset.GetName() and "default" in first.GetName()


def test_cancelled_rerun_puts_the_previous_regions_and_table_back(two_lesions):
    c = two_lesions
    logic = c["logic"]
    logic.runAll(c["volume"], c["segmentation"], c["ids"]["A"], "default", [])
    before = content(c)
    table = table_nodes(c["scene"], "features")[0]
    rows, width = table.GetNumberOfRows(), tables.table_attribute(table, "PeritumoralMm")

    def cancel(message, fraction):
        if fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        logic.runAll(c["volume"], c["segmentation"], c["ids"]["A"], "default", [], peritumoralMm=3.0,
                     progress=cancel)
    assert content(c) == before  # voxels and tags of the 5 mm band, not of the 3 mm one
    assert table_nodes(c["scene"], "features") == [table]
    assert (table.GetNumberOfRows(), tables.table_attribute(table, "PeritumoralMm")) == (rows, width)


# ---- every lesion ------------------------------------------------------------------


def test_regions_are_tagged_with_their_tumour_and_features_use_that_lesion(two_lesions):
    c = two_lesions
    logic, segmentation = c["logic"], c["segmentation"]
    a = logic.generateRegions(c["volume"], segmentation, c["ids"]["A"])
    b = logic.generateRegions(c["volume"], segmentation, c["ids"]["B"])
    assert set(a).isdisjoint(b)
    for ids, tumour in ((a, "A"), (b, "B")):
        assert [segments.segment_tag(segmentation, s, segments.SOURCE_TAG) for s in ids] == [c["ids"][tumour]] * 3
    assert logic.regionSegmentIds(segmentation, c["volume"], c["ids"]["A"]) == a  # not B's, the last generated
    assert logic.regionSegmentIds(segmentation, c["volume"], c["ids"]["B"]) == b
    assert logic.tumourSegmentIds(segmentation) == [c["ids"]["A"], c["ids"]["B"]]
    features = logic.computeFeatures(c["volume"], segmentation,
                                     logic.regionSegmentIds(segmentation, c["volume"], c["ids"]["A"]), "default")
    assert tables.table_attribute(features, "SourceSegmentID") == c["ids"]["A"]
    frame = tables.table_to_frame(features).set_index("Feature")
    voxels = frame.loc["original_shape_VoxelVolume", "Intratumoral"]
    spacing = np.prod(c["image"].GetSpacing())
    assert voxels == pytest.approx(sitk.GetArrayViewFromImage(c["masks"]["A"]).sum() * spacing, rel=1e-9)


def test_a_region_segment_is_never_taken_as_a_tumour(two_lesions):
    c = two_lesions
    logic = c["logic"]
    ids = logic.generateRegions(c["volume"], c["segmentation"], c["ids"]["A"])
    before = snapshot(c["segmentation"])
    with pytest.raises(ValueError, match="'Intratumoral' is a region TMERadiomics generated"):
        logic.generateRegions(c["volume"], c["segmentation"], ids[0])
    with pytest.raises(ValueError, match="is a region TMERadiomics generated"):
        logic.runAllLesions(c["volume"], c["segmentation"], [c["ids"]["B"], ids[2]], "default", [])
    assert snapshot(c["segmentation"]) == before


def test_run_all_lesions_gives_each_lesion_its_regions_and_one_row(two_lesions):
    c = two_lesions
    logic, segmentation = c["logic"], c["segmentation"]
    messages = []
    results = logic.runAllLesions(c["volume"], segmentation, logic.tumourSegmentIds(segmentation), "default", [],
                                  progress=lambda m, f: messages.append((m, f)))
    assert [r.tumorName for r in results] == ["A", "B"]
    for result in results:
        assert logic.regionSegmentIds(segmentation, c["volume"], result.tumorSegmentId) == result.regionSegmentIds
        assert tables.table_attribute(result.features, "SourceSegmentName") == result.tumorName
        intratumoral = mask_of(c, result.regionSegmentIds[0])
        np.testing.assert_array_equal(intratumoral, sitk.GetArrayFromImage(c["masks"][result.tumorName]))
    assert len({r.features.GetID() for r in results}) == 2
    lesions = tables.table_to_frame(logic.lastLesionsTable)
    assert list(lesions["Lesion"]) == ["A", "B"]
    assert list(lesions["Tumour segment ID"]) == [c["ids"]["A"], c["ids"]["B"]]
    fractions = [f for _, f in messages]
    assert fractions == sorted(fractions) and fractions[-1] <= 1.0
    assert any(m.startswith("Lesion 2 of 2 (B): ") for m, _ in messages)
    # Run again: the same segments and tables, refilled.
    count, nodes = segmentation.GetSegmentation().GetNumberOfSegments(), c["scene"].GetNumberOfNodes()
    again = logic.runAllLesions(c["volume"], segmentation, logic.tumourSegmentIds(segmentation), "default", [])
    assert [r.regionSegmentIds for r in again] == [r.regionSegmentIds for r in results]
    assert (segmentation.GetSegmentation().GetNumberOfSegments(), c["scene"].GetNumberOfNodes()) == (count, nodes)


def test_run_all_lesions_cancelled_in_the_second_lesion_undoes_the_first(two_lesions):
    c = two_lesions
    before = (c["scene"].GetNumberOfNodes(), snapshot(c["segmentation"]))

    def cancel(message, fraction):
        if message.startswith("Lesion 2"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        c["logic"].runAllLesions(c["volume"], c["segmentation"], [c["ids"]["A"], c["ids"]["B"]], "default", [],
                                 progress=cancel)
    assert (c["scene"].GetNumberOfNodes(), snapshot(c["segmentation"])) == before


# ---- warnings and provenance -----------------------------------------------------------


def test_library_warnings_are_returned_not_only_logged(two_lesions):
    c = two_lesions
    image = c["image"]
    edge = ball(image, (2, image.GetSize()[1] // 2, image.GetSize()[2] // 2), 4.0)  # the band leaves the image
    edge_id = segments.add_mask_segment(c["segmentation"], edge, "Edge", (1, 1, 0), None)
    expected = regions.build(edge, image)
    clipped = [f"{name}: {w}" for name, s in expected.summary.items() for w in s.warnings if "clipped" in w]
    assert clipped  # the library does warn here
    logic = c["logic"]
    logic.generateRegions(c["volume"], c["segmentation"], edge_id)
    assert all(w in logic.lastWarnings for w in clipped)
    logic.generateRegions(c["volume"], c["segmentation"], c["ids"]["B"])
    assert not any("clipped" in w for w in logic.lastWarnings)  # each action starts afresh
    results = logic.runAllLesions(c["volume"], c["segmentation"], [edge_id, c["ids"]["B"]], "default", [])
    assert all(f"Edge: {w}" in logic.lastWarnings for w in clipped)  # named for the lesion
    assert all(f"Edge: {w}" in results[0].warnings for w in clipped)
    assert json.loads(tables.table_attribute(results[0].features, "Warnings")) == results[0].warnings


def test_features_table_carries_its_provenance(two_lesions):
    import radiomics

    import TMERadiomicsLib
    from TMERadiomicsLib.features.presets import load_preset

    c = two_lesions
    vessels = segments.add_mask_segment(c["segmentation"], c["masks"]["B"], "Vessel B", (0, 0, 1), None)
    _, features, _ = c["logic"].runAll(c["volume"], c["segmentation"], c["ids"]["A"], "default", [],
                                       peritumoralMm=4.0, ringMm=1.5, exclusionSegmentIds=[vessels],
                                       airBelow=12.5)
    attribute = lambda key: tables.table_attribute(features, key)  # noqa: E731
    assert (attribute("PeritumoralMm"), attribute("RingMm"), attribute("AirBelow")) == ("4.0", "1.5", "12.5")
    assert json.loads(attribute("Exclusions")) == ["Vessel B"]
    assert attribute("preset") == "default" and attribute("preset_sha256") == load_preset("default").sha256
    assert attribute("TMERadiomicsVersion") == TMERadiomicsLib.__version__
    assert attribute("PyRadiomicsVersion") == radiomics.__version__ != ""
    assert (attribute("PhaseSource"), attribute("PhaseIndex")) == ("volume", "0")
    assert (attribute("SourceSegmentID"), attribute("SourceSegmentName")) == (c["ids"]["A"], "A")
    _, plain, _ = c["logic"].runAll(c["volume"], c["segmentation"], c["ids"]["B"], "default", [])
    assert tables.table_attribute(plain, "AirBelow") == "none"


def test_a_sequence_phase_is_recorded_by_item_and_index_value():
    c = build_sequence_case(seconds_per_phase=60)  # the browser shows item 4 (240 s)
    scene, proxy, browser, sequence, phantom = c["scene"], c["proxy"], c["browser"], c["sequence"], c["phantom"]
    segmentation, ids = add_segmentation(scene, proxy, {"Tumour": oblique(phantom.tumour)})
    logic = c["logic"]
    phase = logic.selectPhase(proxy, 2)
    _, features, _ = logic.runAll(phase, segmentation, ids["Tumour"], "default", [])
    attribute = lambda key: tables.table_attribute(features, key)  # noqa: E731
    assert attribute("PhaseSource") == "sequence"
    assert (attribute("PhaseIndex"), attribute("PhaseIndexValue")) == ("2", "120")  # not the browser's item 4
    assert (attribute("PhaseIndexName"), attribute("PhaseIndexUnit")) == ("time", "s")
    assert attribute("SequenceNodeID") == sequence.GetID() != proxy.GetID()
    assert json.loads(attribute("RegionsPhase"))["PhaseIndex"] == "2"
    # The proxy itself stands for what the browser shows: another phase, so another table.
    _, shown, _ = logic.runAll(proxy, segmentation, ids["Tumour"], "default", [])
    assert (tables.table_attribute(shown, "PhaseIndex"), tables.table_attribute(shown, "PhaseIndexValue")) == (
        "4", "240")
    assert shown.GetID() != features.GetID()
    assert volumes.phase_provenance(proxy, browser, sequence)["PhaseIndexValue"] == "240"


# ---- export -------------------------------------------------------------------------


def test_export_writes_csv_and_provenance_sidecar_and_refuses_to_overwrite(two_lesions, tmp_path):
    import pandas as pd

    c = two_lesions
    _, features, _ = c["logic"].runAll(c["volume"], c["segmentation"], c["ids"]["A"], "default", [],
                                       peritumoralMm=4.0)
    csv_path, json_path = c["logic"].exportTable(features, tmp_path / "A features.csv")
    assert json_path == tmp_path / "A features.json"
    written = pd.read_csv(csv_path, float_precision="round_trip")
    expected = tables.table_to_frame(features)
    assert list(written.columns) == list(expected.columns)
    np.testing.assert_array_equal(written["Intratumoral"].to_numpy(), expected["Intratumoral"].to_numpy())
    sidecar = json.loads(json_path.read_text())
    import hashlib

    assert sidecar["csv_sha256"] == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert sidecar["provenance"]["PeritumoralMm"] == "4.0"
    assert sidecar["provenance"]["Exclusions"] == []
    assert sidecar["provenance"]["case_id"] == "case-7"
    stamp = (csv_path.read_bytes(), json_path.read_bytes())
    with pytest.raises(ValueError, match="A features.csv: file exists"):
        c["logic"].exportTable(features, csv_path)
    assert (csv_path.read_bytes(), json_path.read_bytes()) == stamp
    csv_path.unlink()  # a sidecar alone still blocks: the pair belongs together
    with pytest.raises(ValueError, match="A features.json: file exists"):
        c["logic"].exportTable(features, csv_path)
    assert not csv_path.exists()
    c["logic"].exportTable(features, csv_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A features.csv", "A features.json"]  # no temp files
