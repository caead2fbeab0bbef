"""The Logic reads only the part of a volume an action needs, and gets what the whole volume gives.

Copying a full-size DCE phase into SimpleITK and back held the GUI thread
for most of a second, so Generate regions reads the tumour's box grown by
the widest band, and Compute features the regions' box padded for the
widest filter (``volumes.IjkBox``). These tests take the cases where a part
could differ from the whole: a tumour at the edge of the field of view
(clipped bands and their warnings), a vessel mask crossing the whole volume
(it leaves the part on purpose), an oblique off-origin grid, and a preset
whose filters scale by the whole image's extreme intensity (Square) or
reach beyond the regions (LoG). Each is compared voxel for voxel and value
for value with the library run on the whole volume.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from test_slicer_logic import new_scene, oblique  # noqa: E402
from TMERadiomicsLogic import TMERadiomicsLogic, segments, tables, volumes  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402
from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.features.extract import extract_case  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402
from TMERadiomicsLib.worker.handover import array_extreme  # noqa: E402

pytestmark = pytest.mark.slicer

# Square scales by the whole image's extreme; LoG sigma 3 mm reaches beyond the regions' box.
PARTS_PRESET = """\
imageType:
  Original: {}
  Square: {}
  LoG: {sigma: [3.0]}
featureClass:
  firstorder:
  glcm: [JointEntropy, Contrast]
setting:
  binWidth: 25
  label: 1
"""


def edge_tumour(image: sitk.Image) -> sitk.Image:
    """A 5 mm-radius ball whose centre lies 2 mm inside the volume's x = 0 face: its bands leave the image."""
    spacing = np.array(image.GetSpacing())
    z, y, x = np.indices(image.GetSize()[::-1]).astype(float)
    centre = np.array([2.0 / spacing[0], image.GetSize()[1] / 2, image.GetSize()[2] / 2])  # x y z, voxels
    inside = ((x - centre[0]) * spacing[0]) ** 2 + ((y - centre[1]) * spacing[1]) ** 2 \
        + ((z - centre[2]) * spacing[2]) ** 2 <= 5.0 ** 2
    mask = sitk.GetImageFromArray(inside.astype(np.uint8))
    mask.CopyInformation(image)
    return mask


@pytest.fixture(scope="module")
def edge_case(tmp_path_factory):
    phantom = make_phantom("small", seed=4)
    image = oblique(phantom.image())
    tumour, vessels = edge_tumour(image), oblique(phantom.vessels)
    scene, module_logic = new_scene()
    volume = add_volume(scene, image, "edge")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": tumour, "Vessels": vessels})
    logic = TMERadiomicsLogic(scene)
    region_ids = logic.generateRegions(volume, segmentation, ids["Tumour"], exclusionSegmentIds=[ids["Vessels"]])
    warnings = list(logic.lastWarnings)
    preset = tmp_path_factory.mktemp("preset") / "parts.yaml"
    preset.write_text(PARTS_PRESET, encoding="utf-8")
    return dict(scene=scene, module_logic=module_logic, logic=logic, image=image, tumour=tumour, vessels=vessels,
                volume=volume, segmentation=segmentation, ids=ids, region_ids=region_ids, warnings=warnings,
                preset=preset, expected=regions.build(tumour, image, exclusions=[vessels]))


def test_regions_at_the_edge_equal_the_whole_volumes_with_their_warnings(edge_case):
    c = edge_case
    for segment_id, name in zip(c["region_ids"], regions.REGION_NAMES):
        got = sitk.GetArrayFromImage(segments.segment_to_mask(c["segmentation"], segment_id, c["image"]))
        assert np.array_equal(got, sitk.GetArrayFromImage(c["expected"].masks[name])), name
    clipped = [f"{name}: {w}" for name in ("peritumoral", "ring") for w in c["expected"].summary[name].warnings]
    assert clipped and all("band clipped by the image field of view" in w for w in clipped)
    assert c["warnings"] == clipped  # the same share, and no note that the vessels leave the part read


def test_region_segments_are_stored_on_the_volumes_own_frame_with_their_own_extent(edge_case):
    """As Segment Editor stores them: the volume's IJK-to-RAS matrix, an extent inside the volume."""
    c = edge_case
    dims = volumes.volume_size(c["volume"])
    for segment_id in c["region_ids"]:
        labelmap = segments.segment_labelmap(c["segmentation"], segment_id)
        np.testing.assert_allclose(segments._labelmap_matrix(labelmap), volumes.ijk_to_ras_matrix(c["volume"]),
                                   rtol=0, atol=1e-9)
        extent = labelmap.GetExtent()
        assert all(0 <= extent[2 * a] <= extent[2 * a + 1] <= dims[a] - 1 for a in range(3)), extent
        voxels = np.prod([extent[2 * a + 1] - extent[2 * a] + 1 for a in range(3)])
        assert voxels < np.prod(dims) / 4, (extent, dims)


def test_a_second_run_replaces_the_part_without_leftovers(edge_case):
    """Narrower bands: each segment keeps its ID and holds exactly the new voxels, nothing of the old box."""
    c = edge_case
    ids = c["logic"].generateRegions(c["volume"], c["segmentation"], c["ids"]["Tumour"], peritumoralMm=2.0,
                                     ringMm=1.0, exclusionSegmentIds=[c["ids"]["Vessels"]])
    try:
        assert ids == c["region_ids"]
        narrower = regions.build(c["tumour"], c["image"], peritumoral_mm=2.0, ring_mm=1.0, exclusions=[c["vessels"]])
        for segment_id, name in zip(ids, regions.REGION_NAMES):
            got = sitk.GetArrayFromImage(segments.segment_to_mask(c["segmentation"], segment_id, c["image"]))
            assert np.array_equal(got, sitk.GetArrayFromImage(narrower.masks[name])), name
    finally:
        c["logic"].generateRegions(c["volume"], c["segmentation"], c["ids"]["Tumour"],
                                   exclusionSegmentIds=[c["ids"]["Vessels"]])


def test_features_from_the_part_equal_the_whole_volumes(edge_case):
    c = edge_case
    table = c["logic"].computeFeatures(c["volume"], c["segmentation"], c["region_ids"], str(c["preset"]))
    expected = extract_case(c["image"], c["expected"].masks, c["preset"], case_id="edge").combined()
    got = tables.combined_from_table(table)
    assert list(got.columns) == list(expected.columns)
    assert any("square" in column for column in got.columns) and any("log-sigma" in column for column in got.columns)
    np.testing.assert_array_equal(got.iloc[0, 3:].to_numpy(float), expected.iloc[0, 3:].to_numpy(float))


def test_the_features_table_is_filled_without_pandas_as_pandas_would_fill_it(edge_case):
    """``case_columns`` (what the GUI thread uses) against the pandas reshaping it replaced."""
    c = edge_case
    features = extract_case(c["image"], c["expected"].masks, c["preset"], case_id="edge")
    features.values["ring"][features.feature_names[0]] = float("nan")  # a missing value stays NaN
    columns, meta = tables.case_columns(features)
    frame, expected_meta = tables.features_frame(features.combined())
    assert meta == expected_meta and list(columns) == list(frame.columns)
    assert columns["Feature"] == list(frame["Feature"])
    for region in ("Intratumoral", "Peritumoral", "Ring"):
        np.testing.assert_array_equal(np.array(columns[region]), frame[region].to_numpy(float))


def test_the_worker_gets_the_part_and_the_whole_images_extreme(edge_case):
    c = edge_case
    job = c["logic"].startComputeFeatures(c["volume"], c["segmentation"], c["region_ids"], str(c["preset"]))
    try:
        written = json.loads((job.folder / "job.json").read_text(encoding="utf-8"))
        whole = list(c["image"].GetSize())
        assert written["whole_size"] == whole and written["crop"] is not None
        part = sitk.ReadImage(str(job.folder / written["image"]))
        assert np.prod(part.GetSize()) < np.prod(whole)
        assert written["whole_image_extreme"] == array_extreme(sitk.GetArrayViewFromImage(c["image"]))
        lower = written["crop"]["lower"]
        assert part.GetOrigin() == c["image"].TransformIndexToPhysicalPoint(lower)
    finally:
        job.cancel()
