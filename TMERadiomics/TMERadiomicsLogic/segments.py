"""Segments <-> binary masks in the volume's geometry.

A segment's labelmap may be cropped to its extent, but its voxel grid must
be the volume's (same spacing, directions, and origin up to a whole-voxel
shift); anything else would need resampling, which changes the tumour, so it
is refused and the user re-creates the segmentation on the volume.
"""

from __future__ import annotations

import logging

import numpy as np
import vtk
from vtk.util import numpy_support

from .lazy import lazy_module
from .volumes import array_to_image_data, set_geometry

sitk = lazy_module("SimpleITK")  # imported when a segment is first read or written, not at start-up

logger = logging.getLogger(__name__)

# Grid positions closer than this fraction of a voxel are the same grid.
GRID_TOLERANCE = 1e-4
REGION_TAG = "TMERadiomics.Region"


def _oriented_image_class():
    import slicer

    return slicer.vtkOrientedImageData


def segment_labelmap(segmentation_node, segment_id: str):
    """A copy of one segment's binary labelmap (shared layers separated)."""
    segmentation = segmentation_node.GetSegmentation()
    if segmentation.GetSegment(segment_id) is None:
        raise ValueError(f"segment '{segment_id}' not found in '{segmentation_node.GetName()}'")
    if not segmentation.ContainsRepresentation("Binary labelmap"):
        raise ValueError(f"segmentation '{segmentation_node.GetName()}' has no binary labelmap; create one first")
    labelmap = _oriented_image_class()()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    return labelmap


def segment_to_mask(segmentation_node, segment_id: str, reference: sitk.Image, *, allow_empty: bool = False) -> sitk.Image:
    """The segment as a UInt8 0/1 mask on ``reference``'s grid; ValueError if off-grid (or empty)."""
    if segmentation_node is None:
        raise ValueError("no segmentation selected")
    if segmentation_node.GetParentTransformNode() is not None:
        raise ValueError(f"segmentation '{segmentation_node.GetName()}' is under a transform; harden it first")
    labelmap = segment_labelmap(segmentation_node, segment_id)
    name = segmentation_node.GetSegmentation().GetSegment(segment_id).GetName()
    mask = np.zeros(reference.GetSize()[::-1], dtype=np.uint8)
    extent = labelmap.GetExtent()
    if extent[1] >= extent[0] and extent[3] >= extent[2] and extent[5] >= extent[4]:
        offset = _grid_offset(labelmap, reference, name)
        _paste(labelmap, extent, offset, mask, name)
    if not mask.any() and not allow_empty:
        raise ValueError(f"segment '{name}' is empty inside the volume")
    image = sitk.GetImageFromArray(mask)
    image.CopyInformation(reference)
    return image


def _grid_offset(labelmap, reference: sitk.Image, name: str) -> np.ndarray:
    """Index of the labelmap's voxel (0,0,0) in the reference grid; ValueError if grids differ."""
    matrix = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(matrix)
    seg = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    ref = _reference_matrix(reference)
    if not np.allclose(seg[:3, :3], ref[:3, :3], atol=GRID_TOLERANCE * min(reference.GetSpacing())):
        raise ValueError(
            f"segment '{name}' is on a different voxel grid (spacing or orientation) than the volume; "
            "create the segmentation with this volume as its source geometry"
        )
    shift = np.linalg.solve(ref[:3, :3], seg[:3, 3] - ref[:3, 3])
    whole = np.round(shift)
    if not np.allclose(shift, whole, atol=GRID_TOLERANCE):
        raise ValueError(
            f"segment '{name}' is shifted by a fraction of a voxel from the volume's grid; "
            "create the segmentation with this volume as its source geometry"
        )
    return whole.astype(int)


def _reference_matrix(reference: sitk.Image) -> np.ndarray:
    from .volumes import ijk_to_ras_of

    origin, spacing, direction = ijk_to_ras_of(reference)
    matrix = np.eye(4)
    matrix[:3, :3] = direction * np.array(spacing)
    matrix[:3, 3] = origin
    return matrix


def _paste(labelmap, extent, offset, mask: np.ndarray, name: str) -> None:
    dims = [extent[1] - extent[0] + 1, extent[3] - extent[2] + 1, extent[5] - extent[4] + 1]
    values = numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).reshape(dims[::-1])
    start = offset + np.array(extent[0::2])  # x, y, z in the reference grid
    source, target = [], []
    for axis in (2, 1, 0):  # numpy order z, y, x
        lo, hi = start[axis], start[axis] + dims[axis]
        clipped = max(lo, 0), min(hi, mask.shape[2 - axis])
        source.append(slice(clipped[0] - lo, clipped[1] - lo))
        target.append(slice(*clipped) if clipped[1] > clipped[0] else slice(0, 0))
    inside = values[tuple(source)] != 0
    if int(inside.sum()) < int((values != 0).sum()):
        logger.warning("segment '%s' extends beyond the volume; the part outside is ignored", name)
    mask[tuple(target)] |= inside.astype(np.uint8)


def mask_to_labelmap(mask: sitk.Image):
    """A vtkOrientedImageData (RAS) holding a UInt8 mask, for a new segment."""
    labelmap = _oriented_image_class()()
    array_to_image_data(sitk.GetArrayFromImage(mask).astype(np.uint8), labelmap)
    set_geometry(labelmap, mask)
    return labelmap


def add_mask_segment(segmentation_node, mask: sitk.Image, name: str, colour, region: str | None) -> str:
    """Add a new segment from a mask; returns its ID. Existing segments are left as they are."""
    segmentation = segmentation_node.GetSegmentation()
    segment_id = segmentation.GenerateUniqueSegmentID(name)
    segment = _segment_class()()
    segment.SetName(name if segment_id == name else segment_id)
    segment.SetColor(*colour)
    if region:
        segment.SetTag(REGION_TAG, region)
    segment.AddRepresentation("Binary labelmap", mask_to_labelmap(mask))
    # A separate layer: merging into a shared layer could relabel others' voxels.
    if not segmentation.AddSegment(segment, segment_id):
        raise RuntimeError(f"could not add segment '{name}'")
    return segment_id


def _segment_class():
    import slicer

    return slicer.vtkSegment


def segment_region(segmentation_node, segment_id: str) -> str:
    """The region (intratumoral/peritumoral/ring) a segment holds, from its tag or name."""
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    if segment is None:
        raise ValueError(f"segment '{segment_id}' not found in '{segmentation_node.GetName()}'")
    tag = vtk.reference("")
    if segment.GetTag(REGION_TAG, tag) and str(tag):
        return str(tag)
    return segment.GetName().strip().lower()


def segment_tag(segmentation_node, segment_id: str, key: str) -> str:
    """A segment's tag value, or "" when it has none."""
    value = vtk.reference("")
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    return str(value) if segment is not None and segment.GetTag(key, value) else ""


def tagged_region_segments(segmentation_node) -> list[tuple[str, str]]:
    """(segment ID, region) of every segment carrying a region tag, in the segmentation's order.

    Only the tag counts (not the name): a reader's own segment called "Ring" is not a region.
    Tags are saved with the segmentation (``.seg.nrrd``, scene files), so this survives a reload.
    """
    segmentation = segmentation_node.GetSegmentation()
    found = []
    for index in range(segmentation.GetNumberOfSegments()):
        segment_id = segmentation.GetNthSegmentID(index)
        region = segment_tag(segmentation_node, segment_id, REGION_TAG)
        if region:
            found.append((segment_id, region))
    return found
