"""Issue 19: a segment on any grid is resampled onto the volume, and the Logic says so.

A ball of known radius is drawn on another grid (coarser, rotated,
shifted by a fraction of a voxel, or as a closed surface only, as Slicer's
DICOM module imports an RTSTRUCT) and read onto the volume. Nearest-neighbour
resampling moves the boundary by at most half a source voxel diagonal plus
half a volume voxel diagonal, so every volume voxel deeper than that inside
the ball must be set, every one further outside must not, and the volume in
mm3 lies between the balls of radius r - d and r + d.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import rotation

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "TMERadiomics"))

from test_slicer_logic import new_scene  # noqa: E402

from TMERadiomicsLogic import TMERadiomicsLogic  # noqa: E402
from TMERadiomicsLogic import segments  # noqa: E402
from TMERadiomicsLogic.scene import add_segmentation, add_volume  # noqa: E402

pytestmark = pytest.mark.slicer

RADIUS = 7.0
VOLUME_SPACING = (0.8, 0.8, 1.5)
VOLUME_DIRECTION = rotation((1, 2, 3), 0.4)


def volume_image() -> sitk.Image:
    """An oblique, off-origin volume of smooth noise (the values matter only for the regions)."""
    rng = np.random.default_rng(0)
    image = sitk.GetImageFromArray((100 + 10 * rng.standard_normal((30, 56, 56))).astype(np.float32))
    image.SetSpacing(VOLUME_SPACING)
    image.SetDirection(VOLUME_DIRECTION)
    image.SetOrigin((-30.0, 12.5, 7.25))
    return image


def centre_of(image: sitk.Image) -> np.ndarray:
    return np.array(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()]))


def ball_on_grid(centre, spacing, direction, size=None) -> sitk.Image:
    """A ball of RADIUS around ``centre`` (LPS), on a grid of the given spacing and direction."""
    size = size or [int(np.ceil(2 * (RADIUS + 6) / s)) + 1 for s in spacing]
    matrix = np.array(direction).reshape(3, 3) * np.array(spacing)
    origin = np.asarray(centre) - matrix @ ((np.array(size) - 1) / 2)
    image = sitk.Image(size, sitk.sitkUInt8)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    image.SetOrigin(tuple(origin))
    return inside_ball(image, centre, RADIUS)


def inside_ball(grid: sitk.Image, centre, radius: float) -> sitk.Image:
    distance = voxel_distances(grid, centre)
    image = sitk.GetImageFromArray((distance <= radius).astype(np.uint8))
    image.CopyInformation(grid)
    return image


def voxel_distances(grid: sitk.Image, centre) -> np.ndarray:
    """Distance (mm) of every voxel centre of ``grid`` from ``centre``, numpy (z, y, x) order."""
    size = grid.GetSize()
    index = np.stack(np.meshgrid(*(np.arange(n) for n in size), indexing="ij"), axis=-1).reshape(-1, 3)
    matrix = np.array(grid.GetDirection()).reshape(3, 3) * np.array(grid.GetSpacing())
    points = np.array(grid.GetOrigin()) + index @ matrix.T
    return np.linalg.norm(points - centre, axis=1).reshape(size).transpose(2, 1, 0)


def half_diagonal(spacing) -> float:
    return 0.5 * float(np.linalg.norm(spacing))


def assert_is_the_ball(mask: sitk.Image, centre, slack: float) -> None:
    """The resampled ball: inside r - slack all set, outside r + slack none set, volume between."""
    array = sitk.GetArrayViewFromImage(mask).astype(bool)
    distance = voxel_distances(mask, centre)
    assert array[distance <= RADIUS - slack].all()
    assert not array[distance > RADIUS + slack].any()
    volume = array.sum() * np.prod(mask.GetSpacing())
    ball = lambda r: 4.0 / 3.0 * np.pi * r**3  # noqa: E731
    assert ball(RADIUS - slack) <= volume <= ball(RADIUS + slack)
    assert volume == pytest.approx(ball(RADIUS), rel=0.15)


@pytest.fixture()
def grid_case():
    scene, module_logic = new_scene()
    image = volume_image()
    volume = add_volume(scene, image, "T1 post")
    return dict(scene=scene, keep=module_logic, image=image, volume=volume, centre=centre_of(image),
                logic=TMERadiomicsLogic(scene))


OTHER_GRIDS = {
    "coarser": ((1.6, 1.6, 3.0), VOLUME_DIRECTION),
    "rotated": ((0.8, 0.8, 1.5), rotation((0, 0, 1), np.pi / 6)),
    "coarse, axial series": ((1.0, 1.0, 2.5), (1, 0, 0, 0, 1, 0, 0, 0, 1)),
}


@pytest.mark.parametrize("grid", list(OTHER_GRIDS))
def test_a_segmentation_drawn_on_another_series_is_resampled(grid_case, grid):
    """As a DICOM SEG or a segmentation drawn on another series: its own node, its own reference geometry."""
    c = grid_case
    spacing, direction = OTHER_GRIDS[grid]
    ball = ball_on_grid(c["centre"], spacing, direction)
    series = add_volume(c["scene"], sitk.Cast(ball, sitk.sitkFloat32), "other series")
    segmentation, ids = add_segmentation(c["scene"], series, {"Lesion": ball}, name="SEG")
    nodes = c["scene"].GetNumberOfNodes()
    notes = []
    mask = segments.segment_to_mask(segmentation, ids["Lesion"], c["image"], notes=notes, volume_name="T1 post")
    assert_is_the_ball(mask, c["centre"], half_diagonal(spacing) + half_diagonal(VOLUME_SPACING))
    assert len(notes) == 1 and notes[0].startswith("segment 'Lesion' was resampled from grid (spacing ")
    assert f"{spacing[0]:.4g} x {spacing[1]:.4g} x {spacing[2]:.4g} mm" in notes[0]
    assert "onto volume 'T1 post' (spacing 0.8 x 0.8 x 1.5 mm, oblique" in notes[0]
    assert c["scene"].GetNumberOfNodes() == nodes  # the resampling's scratch nodes are not in the user's scene


def test_a_fraction_of_a_voxel_shift_is_resampled(grid_case):
    c = grid_case
    shifted = sitk.Image(c["image"].GetSize(), sitk.sitkUInt8)
    shifted.CopyInformation(c["image"])
    shifted.SetOrigin(c["image"].TransformContinuousIndexToPhysicalPoint((0.5, 0.0, 0.0)))
    ball = inside_ball(shifted, c["centre"], RADIUS)
    segmentation, ids = add_segmentation(c["scene"], c["volume"], {"Lesion": ball})
    notes = []
    mask = segments.segment_to_mask(segmentation, ids["Lesion"], c["image"], notes=notes)
    assert_is_the_ball(mask, c["centre"], 2 * half_diagonal(VOLUME_SPACING))
    assert len(notes) == 1 and "was resampled" in notes[0]


def test_a_segment_on_the_volume_grid_is_copied_exactly_without_a_note(grid_case):
    c = grid_case
    ball = inside_ball(c["image"], c["centre"], RADIUS)
    segmentation, ids = add_segmentation(c["scene"], c["volume"], {"Lesion": ball})
    notes = []
    mask = segments.segment_to_mask(segmentation, ids["Lesion"], c["image"], notes=notes)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(mask), sitk.GetArrayFromImage(ball))
    assert notes == []


def closed_surface_segmentation(scene, centre_lps, resolution: int = 96):
    """A segmentation holding one ball as a closed surface only (no labelmap), as an RTSTRUCT import gives."""
    import vtk

    source = vtk.vtkSphereSource()
    source.SetCenter(-centre_lps[0], -centre_lps[1], centre_lps[2])  # RAS
    source.SetRadius(RADIUS)
    source.SetThetaResolution(resolution)
    source.SetPhiResolution(resolution)
    source.Update()
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "RTSTRUCT")
    surface = slicer.vtkSegmentationConverter.GetSegmentationClosedSurfaceRepresentationName()
    segmentation = node.GetSegmentation()
    (segmentation.SetSourceRepresentationName if hasattr(segmentation, "SetSourceRepresentationName")
     else segmentation.SetMasterRepresentationName)(surface)
    segment_id = node.AddSegmentFromClosedSurfaceRepresentation(source.GetOutput(), "GTV", [1.0, 0.0, 0.0])
    return node, segment_id


def test_a_closed_surface_only_segment_is_converted_onto_the_volume(grid_case):
    c = grid_case
    node, segment_id = closed_surface_segmentation(c["scene"], c["centre"])
    assert not node.GetSegmentation().ContainsRepresentation("Binary labelmap")
    notes = []
    mask = segments.segment_to_mask(node, segment_id, c["image"], notes=notes, volume_name="T1 post")
    # Facets lie inside the sphere by at most r (1 - cos(step)); voxel centres decide in or out.
    facets = RADIUS * (1 - np.cos(2 * np.pi / 96))
    assert_is_the_ball(mask, c["centre"], half_diagonal(VOLUME_SPACING) + facets)
    assert notes == ["segment 'GTV' was converted from its closed surface onto the grid of volume 'T1 post'"]
    # The user's segmentation keeps its own representations.
    assert not node.GetSegmentation().ContainsRepresentation("Binary labelmap")


def test_generate_regions_on_another_grid_warns_and_matches_the_resampled_tumour(grid_case):
    from TMERadiomicsLib import regions

    c = grid_case
    spacing, direction = OTHER_GRIDS["rotated"]
    ball = ball_on_grid(c["centre"], spacing, direction)
    series = add_volume(c["scene"], sitk.Cast(ball, sitk.sitkFloat32), "other series")
    segmentation, ids = add_segmentation(c["scene"], series, {"Lesion": ball}, name="SEG")
    nodes = c["scene"].GetNumberOfNodes()
    region_ids = c["logic"].generateRegions(c["volume"], segmentation, ids["Lesion"])
    assert any(w.startswith("segment 'Lesion' was resampled from grid") for w in c["logic"].lastWarnings)
    resampled = segments.segment_to_mask(segmentation, ids["Lesion"], c["image"])
    expected = regions.build(resampled, c["image"])
    for segment_id, name in zip(region_ids, regions.REGION_NAMES):
        got = segments.segment_to_mask(segmentation, segment_id, c["image"], allow_empty=True)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(expected.masks[name]))
    assert c["scene"].GetNumberOfNodes() == nodes


def test_regions_of_a_closed_surface_tumour_keep_their_voxels(grid_case):
    """Regions added to a closed-surface segmentation would be turned into surfaces and back (voxels lost):
    the segmentation is switched to labelmaps first, as Segment Editor does, and a cancel switches it back."""
    from TMERadiomicsLib import regions

    from TMERadiomicsLogic import Cancelled

    c = grid_case
    node, segment_id = closed_surface_segmentation(c["scene"], c["centre"], resolution=48)
    surface = node.GetSegmentation().GetSourceRepresentationName()
    points = node.GetSegmentation().GetSegment(segment_id).GetRepresentation(surface).GetNumberOfPoints()

    def cancel(message, fraction):
        if fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        c["logic"].runAll(c["volume"], node, segment_id, "default", [], progress=cancel)
    assert node.GetSegmentation().GetSourceRepresentationName() == surface
    assert not node.GetSegmentation().ContainsRepresentation("Binary labelmap")
    assert node.GetSegmentation().GetNumberOfSegments() == 1
    assert node.GetSegmentation().GetSegment(segment_id).GetRepresentation(surface).GetNumberOfPoints() == points

    tumour = segments.segment_to_mask(node, segment_id, c["image"])
    ids, features, _ = c["logic"].runAll(c["volume"], node, segment_id, "default", [])
    warnings = c["logic"].lastWarnings
    assert any("converted from its closed surface" in w for w in warnings)
    assert any("now stores binary labelmaps" in w for w in warnings)
    expected = regions.build(tumour, c["image"])
    for region_id, name in zip(ids, regions.REGION_NAMES):
        notes = []
        got = segments.segment_to_mask(node, region_id, c["image"], notes=notes, allow_empty=True)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(expected.masks[name]))
        assert notes == []  # read back exactly, not re-converted
    assert features.GetNumberOfRows() > 50
