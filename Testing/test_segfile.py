"""The regions' .seg.nrrd: our own round trip and Slicer's real storage node (slicer-core)."""

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import rotation, sphere_mask
from TMERadiomicsLib import regions
from TMERadiomicsLib.regions.outputs import write_regions
from TMERadiomicsLib.io.seg_nrrd import read_seg_nrrd


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    tumour = sphere_mask(6.0, (0.7, 0.7, 2.0), origin=(12.5, -40.0, 7.0), direction=rotation((0, 0, 1), 0.3))
    result = regions.build(tumour, case_id="seg-case")
    folder = tmp_path_factory.mktemp("seg")
    write_regions(result, folder)
    return result, folder / "regions.seg.nrrd"


def test_round_trip_keeps_masks_and_geometry(written):
    result, path = written
    segments = read_seg_nrrd(path)
    assert [s.id for s in segments] == list(regions.REGION_NAMES)
    for segment in segments:
        original = result.masks[segment.id]
        assert np.array_equal(sitk.GetArrayViewFromImage(segment.mask), sitk.GetArrayViewFromImage(original))
        assert segment.mask.GetOrigin() == pytest.approx(original.GetOrigin())
        assert segment.mask.GetDirection() == pytest.approx(original.GetDirection())
        assert segment.mask.GetSpacing() == pytest.approx(original.GetSpacing())


def test_slicer_reads_named_coloured_segments(written):
    slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
    from vtk.util import numpy_support

    result, path = written
    scene = slicer.vtkMRMLScene()
    logic = slicer.vtkSlicerSegmentationsModuleLogic()
    logic.SetMRMLScene(scene)
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    storage = scene.AddNewNodeByClass("vtkMRMLSegmentationStorageNode")
    storage.SetFileName(str(path))
    assert storage.ReadData(node) == 1
    segmentation = node.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 3
    for name in regions.REGION_NAMES:
        segment = segmentation.GetSegment(name)
        assert segment.GetName() == name.capitalize()
        labelmap = segment.GetRepresentation("Binary labelmap")
        values = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())
        assert int((values == segment.GetLabelValue()).sum()) == result.summary[name].voxels


def _segment(name, array):
    from TMERadiomicsLib.io.seg_nrrd import Segment

    mask = sitk.GetImageFromArray(array.astype(np.uint8))
    mask.SetSpacing((0.8, 0.8, 1.5))
    return Segment(name, name, (0.1, 0.2, 0.3), mask)


def test_layers_pack_by_voxels_not_boxes_and_empty_segments_survive(tmp_path):
    from TMERadiomicsLib.io.seg_nrrd import write_seg_nrrd

    shape = (12, 30, 30)
    left, right, across, empty = (np.zeros(shape, bool) for _ in range(4))
    left[2:10, 5:25, 5:10] = True
    left[2:10, 5:8, 5:25] = True  # an L: its box covers `right`'s voxels, its voxels do not
    right[2:10, 12:25, 15:25] = True
    across[5, 0:30, 0:30] = True  # meets both
    order = (("left", left), ("empty", empty), ("right", right), ("across", across))
    path = write_seg_nrrd([_segment(n, a) for n, a in order], tmp_path / "s.seg.nrrd")
    header = path.read_bytes().split(b"\n\n", 1)[0].decode()
    layers = {line.split("_")[0]: line.split(":=")[1] for line in header.splitlines() if "_Layer:=" in line}
    assert layers == {"Segment0": "0", "Segment1": "0", "Segment2": "0", "Segment3": "1"}
    back = read_seg_nrrd(path)
    for segment, (_, array) in zip(back, order):
        assert np.array_equal(sitk.GetArrayViewFromImage(segment.mask).astype(bool), array), segment.id
