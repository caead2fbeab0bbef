"""Segments <-> binary masks in the volume's geometry.

A segment whose labelmap lies on the volume's voxel grid (same spacing,
directions, and origin up to a whole-voxel shift; cropped to its extent or
not) is copied exactly. Any other segment (drawn on another series, a DICOM
SEG on its own grid, an RTSTRUCT's closed surface) is resampled onto the
volume the way SlicerRadiomics does it, and the caller is told so: resampling
changes the tumour's voxels, so the user must know it happened.
"""

from __future__ import annotations

import logging

import numpy as np
import vtk
from vtk.util import numpy_support

from .i18n import tr as _
from .lazy import lazy_module
from .volumes import array_to_image_data, set_geometry

sitk = lazy_module("SimpleITK")  # imported when a segment is first read or written, not at start-up

logger = logging.getLogger(__name__)

# Grid positions closer than this fraction of a voxel are the same grid.
GRID_TOLERANCE = 1e-4
REGION_TAG = "TMERadiomics.Region"
SOURCE_TAG = "TMERadiomics.SourceSegmentID"  # the tumour segment a region segment was generated from


def _oriented_image_class():
    import slicer

    return slicer.vtkOrientedImageData


def segment_labelmap(segmentation_node, segment_id: str):
    """A copy of one segment's binary labelmap (shared layers separated)."""
    segmentation = segmentation_node.GetSegmentation()
    if segmentation.GetSegment(segment_id) is None:
        raise ValueError(_("segment '{segment}' not found in '{segmentation}'").format(
            segment=segment_id, segmentation=segmentation_node.GetName()))
    if not segmentation.ContainsRepresentation("Binary labelmap"):
        raise ValueError(_("segmentation '{segmentation}' has no binary labelmap; create one first").format(
            segmentation=segmentation_node.GetName()))
    labelmap = _oriented_image_class()()
    segmentation_node.GetBinaryLabelmapRepresentation(segment_id, labelmap)
    return labelmap


def segment_to_mask(segmentation_node, segment_id: str, reference: sitk.Image, *, allow_empty: bool = False,
                    notes: list[str] | None = None, volume_name: str = "", part: bool = False) -> sitk.Image:
    """The segment as a UInt8 0/1 mask on ``reference``'s grid; ValueError if empty (unless ``allow_empty``).

    A segment on the volume's grid is copied voxel for voxel. One on another
    grid (spacing, direction, a fraction-of-a-voxel shift), or held only as
    a closed surface (DICOM RTSTRUCT, a model), is resampled onto the volume
    as Slicer does it; each such step adds a sentence to ``notes``. With
    ``part``, ``reference`` is a part of the volume (``volumes.IjkBox``) that
    the segment may pass on purpose (an exclusion mask around a tumour's
    bands): that is not worth a note.
    """
    if segmentation_node is None:
        raise ValueError(_("no segmentation selected"))
    if segmentation_node.GetParentTransformNode() is not None:
        raise ValueError(_("segmentation '{segmentation}' is under a transform; harden it first").format(
            segmentation=segmentation_node.GetName()))
    segmentation = segmentation_node.GetSegmentation()
    if segmentation.GetSegment(segment_id) is None:
        raise ValueError(_("segment '{segment}' not found in '{segmentation}'").format(
            segment=segment_id, segmentation=segmentation_node.GetName()))
    name = segmentation.GetSegment(segment_id).GetName()
    log_notes = notes is None  # a caller without a list still gets them in the log
    notes = [] if notes is None else notes
    onto = f"volume '{volume_name}'" if volume_name else "the volume"
    if not segmentation.ContainsRepresentation("Binary labelmap"):
        labelmap = _surface_to_labelmap(segmentation_node, segment_id, reference)
        notes.append(_("segment '{segment}' was converted from its closed surface onto the grid of {onto}").format(
            segment=name, onto=onto))
    else:
        labelmap = segment_labelmap(segmentation_node, segment_id)
    mask = np.zeros(reference.GetSize()[::-1], dtype=np.uint8)
    if not _is_empty(labelmap):
        offset = _grid_offset(labelmap, _reference_matrix(reference))
        if offset is None:
            notes.append(_("segment '{segment}' was resampled from grid {source} onto {onto} {grid} (nearest neighbour)")
                         .format(segment=name, source=_describe(_labelmap_matrix(labelmap)), onto=onto,
                                 grid=_describe(_reference_matrix(reference))))
            labelmap = _resampled(segmentation_node, segment_id, reference)
            offset = _grid_offset(labelmap, _reference_matrix(reference))
            if offset is None and not _is_empty(labelmap):
                raise ValueError(_("segment '{segment}' could not be resampled onto the grid of {onto}").format(
                    segment=name, onto=onto))
        if not _is_empty(labelmap):
            _paste(labelmap, labelmap.GetExtent(), offset, mask, name, None if part else notes)
    if log_notes:
        for note in notes:
            logger.warning("%s", note)
    if not mask.any() and not allow_empty:
        raise ValueError(_("segment '{segment}' is empty inside the volume").format(segment=name))
    image = sitk.GetImageFromArray(mask)
    image.CopyInformation(reference)
    return image


EMPTY = "empty"  # segment_box of a segment with no voxel inside the volume


def segment_box(segmentation_node, segment_id: str, volume_node):
    """The box of the segment's voxels in the volume's grid (``volumes.IjkBox``), clipped to the volume.

    None when only the whole volume will do: the segment holds no binary
    labelmap (a closed surface) or lies on another grid (it is resampled
    onto the volume). ``EMPTY`` when it has no voxel inside the volume.
    Reading its labelmap costs what its extent holds: a region segment
    TMERadiomics wrote covers its own box only.
    """
    import slicer

    from .volumes import IjkBox, ijk_to_ras_matrix, volume_size

    segmentation = segmentation_node.GetSegmentation()
    if segmentation.GetSegment(segment_id) is None or not segmentation.ContainsRepresentation("Binary labelmap"):
        return None
    labelmap = segment_labelmap(segmentation_node, segment_id)
    if _is_empty(labelmap):
        return EMPTY
    offset = _grid_offset(labelmap, ijk_to_ras_matrix(volume_node))
    if offset is None:
        return None
    extent = [0] * 6
    if not slicer.vtkOrientedImageDataResample.CalculateEffectiveExtent(labelmap, extent) or _is_empty_extent(extent):
        return EMPTY
    size = volume_size(volume_node)
    lower = [max(0, int(offset[a] + extent[2 * a])) for a in range(3)]
    upper = [min(size[a] - 1, int(offset[a] + extent[2 * a + 1])) for a in range(3)]
    return IjkBox(tuple(lower), tuple(upper)) if all(lo <= hi for lo, hi in zip(lower, upper)) else EMPTY


def _is_empty_extent(extent) -> bool:
    return not (extent[1] >= extent[0] and extent[3] >= extent[2] and extent[5] >= extent[4])


def _is_empty(labelmap) -> bool:
    extent = labelmap.GetExtent()
    return not (extent[1] >= extent[0] and extent[3] >= extent[2] and extent[5] >= extent[4])


def _labelmap_matrix(labelmap) -> np.ndarray:
    matrix = vtk.vtkMatrix4x4()
    labelmap.GetImageToWorldMatrix(matrix)
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def _grid_offset(labelmap, ref: np.ndarray) -> np.ndarray | None:
    """Index of the labelmap's voxel (0,0,0) in the grid of IJK-to-RAS matrix ``ref``; None if the grids differ."""
    seg = _labelmap_matrix(labelmap)
    spacing = np.linalg.norm(ref[:3, :3], axis=0)
    if not np.allclose(seg[:3, :3], ref[:3, :3], atol=GRID_TOLERANCE * float(min(spacing))):
        return None  # spacing or orientation
    shift = np.linalg.solve(ref[:3, :3], seg[:3, 3] - ref[:3, 3])
    whole = np.round(shift)
    if not np.allclose(shift, whole, atol=GRID_TOLERANCE):
        return None  # a fraction of a voxel
    return whole.astype(int)


def _describe(matrix: np.ndarray) -> str:
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    direction = matrix[:3, :3] / spacing
    axes = _("axis-aligned") if np.allclose(np.abs(direction), np.eye(3), atol=1e-6) else _("oblique")
    return _("(spacing {spacing} mm, {axes}, origin RAS {origin})").format(
        spacing=" x ".join(f"{v:.4g}" for v in spacing), axes=axes, origin=", ".join(f"{v:.4g}" for v in matrix[:3, 3]))


def _reference_volume(scene, reference: sitk.Image):
    """A scalar volume node on ``reference``'s grid (zeros), the geometry Slicer resamples onto."""
    from .volumes import image_to_volume

    blank = sitk.Image(reference.GetSize(), sitk.sitkUInt8)
    blank.CopyInformation(reference)
    return image_to_volume(blank, scene, "TMERadiomics reference geometry")


def _resampled(segmentation_node, segment_id: str, reference: sitk.Image):
    """The segment resampled onto ``reference`` by ExportSegmentsToLabelmapNode, as SlicerRadiomics does.

    The export runs on a copy of the segment in a private scene: it adds a
    labelmap, a colour table and display nodes, none of which the user's
    scene (or a Widget observing it) should see come and go.
    """
    import slicer

    scratch = slicer.vtkMRMLScene()
    try:
        # The labels colour table a labelmap's display node looks for (Slicer's Colors module adds it to the
        # application's scene); without it VTK warns on every export.
        labels = slicer.vtkMRMLColorTableNode()
        labels.SetTypeToLabels()
        labels.SetSingletonTag(labels.GetTypeAsString())
        scratch.AddNode(labels)
        copy = scratch.AddNewNodeByClass("vtkMRMLSegmentationNode", "TMERadiomics resampling")
        copy.CreateDefaultDisplayNodes()
        if not copy.GetSegmentation().CopySegmentFromSegmentation(segmentation_node.GetSegmentation(), segment_id):
            raise ValueError(_("segment '{segment}' could not be read from '{segmentation}'").format(
                segment=segment_id, segmentation=segmentation_node.GetName()))
        labelmap_node = scratch.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "TMERadiomics resampled")
        ids = vtk.vtkStringArray()
        ids.InsertNextValue(segment_id)
        if not slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
                copy, ids, labelmap_node, _reference_volume(scratch, reference)):
            raise ValueError(_("segment '{segment}' could not be resampled onto the volume").format(segment=segment_id))
        labelmap = _oriented_image_class()()
        _copy_from_volume_node(labelmap_node, labelmap)
        return labelmap
    finally:
        scratch.Clear(1)


def _source_name(segmentation) -> str:
    getter = getattr(segmentation, "GetSourceRepresentationName", None) or segmentation.GetMasterRepresentationName
    return getter()


def _set_source_name(segmentation, name: str) -> None:
    setter = getattr(segmentation, "SetSourceRepresentationName", None) or segmentation.SetMasterRepresentationName
    setter(name)


def _volume_geometry(volume_node):
    """An (unallocated) oriented image on the whole grid of a volume node, as conversion geometry."""
    from .volumes import ijk_to_ras_matrix, volume_size

    geometry = _oriented_image_class()()
    size = volume_size(volume_node)
    geometry.SetExtent(0, size[0] - 1, 0, size[1] - 1, 0, size[2] - 1)
    matrix = vtk.vtkMatrix4x4()
    for r, row in enumerate(ijk_to_ras_matrix(volume_node)):
        for c, value in enumerate(row):
            matrix.SetElement(r, c, float(value))
    geometry.SetImageToWorldMatrix(matrix)
    return geometry


def _geometry_of(reference: sitk.Image):
    """An (unallocated) oriented image with ``reference``'s grid, as conversion geometry."""
    from .volumes import set_geometry

    geometry = _oriented_image_class()()
    size = reference.GetSize()
    geometry.SetExtent(0, size[0] - 1, 0, size[1] - 1, 0, size[2] - 1)
    set_geometry(geometry, reference)
    return geometry


def ensure_labelmap_source(segmentation_node, volume_node):
    """Make binary labelmap the segmentation's source representation, as Segment Editor does before editing.

    Region segments added to a closed-surface segmentation (an RTSTRUCT)
    would be turned into surfaces and lose their exact voxels. Returns None
    when nothing changed, else what puts the segmentation back. The
    existing segments are converted on the segmentation's own conversion
    geometry, or on the whole grid of ``volume_node`` when it has none.
    """
    import slicer

    segmentation = segmentation_node.GetSegmentation()
    labelmap_name = slicer.vtkSegmentationConverter.GetSegmentationBinaryLabelmapRepresentationName()
    previous = _source_name(segmentation)
    if previous == labelmap_name:
        return None
    parameter = slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName()
    previous_geometry = segmentation.GetConversionParameter(parameter)
    had_labelmap = segmentation.ContainsRepresentation(labelmap_name)
    if not previous_geometry:
        segmentation.SetConversionParameter(
            parameter, slicer.vtkSegmentationConverter.SerializeImageGeometry(_volume_geometry(volume_node)))
    # The source representation's data, copied: once labelmaps are the source, surfaces become derived and
    # Slicer drops them at the next change, so an undo must put them back.
    kept = {}
    for index in range(segmentation.GetNumberOfSegments()):
        segment = segmentation.GetNthSegment(index)
        data = segment.GetRepresentation(previous)
        if data is not None:
            kept[segmentation.GetNthSegmentID(index)] = data.NewInstance()
            kept[segmentation.GetNthSegmentID(index)].DeepCopy(data)
    if not segmentation.CreateRepresentation(labelmap_name):
        segmentation.SetConversionParameter(parameter, previous_geometry)
        raise ValueError(_("segmentation '{segmentation}' could not be converted to binary labelmaps").format(
            segmentation=segmentation_node.GetName()))
    _set_source_name(segmentation, labelmap_name)

    def undo() -> None:
        for segment_id, data in kept.items():
            segment = segmentation.GetSegment(segment_id)
            if segment is not None:
                segment.AddRepresentation(previous, data)
        _set_source_name(segmentation, previous)
        if not had_labelmap:
            segmentation.RemoveRepresentation(labelmap_name)
        segmentation.SetConversionParameter(parameter, previous_geometry)

    return undo


def _copy_from_volume_node(node, labelmap) -> None:
    labelmap.DeepCopy(node.GetImageData())
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    labelmap.SetImageToWorldMatrix(matrix)


def _surface_to_labelmap(segmentation_node, segment_id: str, reference: sitk.Image):
    """A closed-surface segment converted straight onto ``reference`` (one step, no intermediate grid).

    Converted in a copy of the segment, so the user's segmentation keeps its
    representations and conversion parameters.
    """
    import slicer

    source = segmentation_node.GetSegmentation()
    surface = slicer.vtkSegmentationConverter.GetSegmentationClosedSurfaceRepresentationName()
    if not source.ContainsRepresentation(surface):
        raise ValueError(_("segmentation '{segmentation}' has neither a binary labelmap nor a closed surface").format(
            segmentation=segmentation_node.GetName()))
    copy = slicer.vtkSegmentation()
    _set_source_name(copy, surface)
    if not copy.CopySegmentFromSegmentation(source, segment_id):
        raise ValueError(_("segment '{segment}' could not be read from '{segmentation}'").format(
                segment=segment_id, segmentation=segmentation_node.GetName()))
    copy.SetConversionParameter(slicer.vtkSegmentationConverter.GetReferenceImageGeometryParameterName(),
                                slicer.vtkSegmentationConverter.SerializeImageGeometry(_geometry_of(reference)))
    labelmap_name = slicer.vtkSegmentationConverter.GetSegmentationBinaryLabelmapRepresentationName()
    if not copy.CreateRepresentation(labelmap_name):
        raise ValueError(_("segment '{segment}' could not be converted from its closed surface").format(
            segment=segment_id))
    labelmap = _oriented_image_class()()
    labelmap.DeepCopy(copy.GetSegment(segment_id).GetRepresentation(labelmap_name))
    return labelmap


def _reference_matrix(reference: sitk.Image) -> np.ndarray:
    from .volumes import ijk_to_ras_of

    origin, spacing, direction = ijk_to_ras_of(reference)
    matrix = np.eye(4)
    matrix[:3, :3] = direction * np.array(spacing)
    matrix[:3, 3] = origin
    return matrix


def _paste(labelmap, extent, offset, mask: np.ndarray, name: str, notes: list[str] | None) -> None:
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
    # Counting the whole labelmap is a pass over all of it: only when the note is wanted (not for a part).
    if notes is not None and int(inside.sum()) < int((values != 0).sum()):
        notes.append(_("segment '{segment}' extends beyond the volume; the part outside is ignored").format(segment=name))
    mask[tuple(target)] |= inside.astype(np.uint8)


def mask_to_labelmap(mask: sitk.Image, volume_node=None):
    """A vtkOrientedImageData (RAS) holding a UInt8 mask, for a new segment.

    With ``volume_node``, a mask on part of the volume's grid becomes a
    labelmap in the volume's own frame (its origin and directions) with the
    part's extent, as Segment Editor stores segments: Slicer then sees one
    geometry for all segments and never resamples when it merges layers.
    """
    labelmap = _oriented_image_class()()
    array_to_image_data(sitk.GetArrayFromImage(mask).astype(np.uint8), labelmap)
    set_geometry(labelmap, mask)
    if volume_node is not None:
        from .volumes import ijk_to_ras_matrix

        grid = ijk_to_ras_matrix(volume_node)
        offset = _grid_offset(labelmap, grid)
        if offset is None:
            raise RuntimeError(_("a region mask is not on the grid of volume '{volume}'").format(
                volume=volume_node.GetName()))
        size = mask.GetSize()
        labelmap.SetExtent(*[int(v) for a in range(3) for v in (offset[a], offset[a] + size[a] - 1)])
        labelmap.SetOrigin(grid[:3, 3])
    return labelmap


def replace_mask_segment(segmentation_node, segment_id: str, mask: sitk.Image, volume_node=None) -> None:
    """Replace one segment's voxels with a mask; its ID, name, colour and tags stay.

    Through Slicer's own segment editing call, so a segment sharing a
    labelmap layer with others (e.g. after a reload) leaves theirs alone.
    """
    import slicer

    module_logic = slicer.vtkSlicerSegmentationsModuleLogic
    if not module_logic.SetBinaryLabelmapToSegment(mask_to_labelmap(mask, volume_node), segmentation_node, segment_id,
                                                   module_logic.MODE_REPLACE):
        raise RuntimeError(_("could not replace the voxels of segment '{segment}'").format(segment=segment_id))


def add_mask_segment(segmentation_node, mask: sitk.Image, name: str, colour, region: str | None,
                     volume_node=None) -> str:
    """Add a new segment from a mask; returns its ID. Existing segments are left as they are."""
    segmentation = segmentation_node.GetSegmentation()
    segment_id = segmentation.GenerateUniqueSegmentID(name)
    segment = _segment_class()()
    segment.SetName(name if segment_id == name else segment_id)
    segment.SetColor(*colour)
    if region:
        segment.SetTag(REGION_TAG, region)
    segment.AddRepresentation("Binary labelmap", mask_to_labelmap(mask, volume_node))
    # A separate layer: merging into a shared layer could relabel others' voxels.
    if not segmentation.AddSegment(segment, segment_id):
        raise RuntimeError(_("could not add segment '{segment}'").format(segment=name))
    return segment_id


def _segment_class():
    import slicer

    return slicer.vtkSegment


def segment_region(segmentation_node, segment_id: str) -> str:
    """The region (intratumoral/peritumoral/ring) a segment holds, from its tag or name."""
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    if segment is None:
        raise ValueError(_("segment '{segment}' not found in '{segmentation}'").format(
            segment=segment_id, segmentation=segmentation_node.GetName()))
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
