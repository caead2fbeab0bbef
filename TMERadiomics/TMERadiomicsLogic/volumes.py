"""Volume nodes <-> SimpleITK images, exactly.

Slicer keeps voxels in RAS and SimpleITK in LPS; the two frames differ by
negating the first two world axes. Origin, spacing and directions are copied
from the node's own fields (not recomputed from the IJK-to-RAS matrix), so
the round trip is bit-exact: negating a float loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vtk
from vtk.util import numpy_support

from .i18n import tr as _
from .lazy import lazy_module

sitk = lazy_module("SimpleITK")  # imported when a volume is first converted, not at start-up

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
PHASE_ATTRIBUTE = "TMERadiomics.Phase"


def check_untransformed(node, what: str) -> None:
    """Refuse nodes under a transform: their voxels are not where the fields say."""
    if node.GetParentTransformNode() is not None:
        raise ValueError(_("{what} '{name}' is under a transform; harden the transform first").format(
            what=what, name=node.GetName()))


def directions_ras(node) -> np.ndarray:
    """The node's IJK-to-RAS direction matrix (columns are the I, J, K axes)."""
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASDirectionMatrix(matrix)
    return np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])


@dataclass(frozen=True)
class IjkBox:
    """An index box ``[lower, upper]`` (inclusive, x y z) in a volume's voxel grid.

    The Logic reads and writes only the part of a volume an action needs
    (the tumour and its bands; the regions and the filters' reach): copying
    a 32 M-voxel DCE phase into SimpleITK took most of a Generate regions.
    """

    lower: tuple[int, int, int]
    upper: tuple[int, int, int]

    def slices(self) -> tuple[slice, slice, slice]:
        """numpy (z, y, x) slices of the box."""
        return tuple(slice(lo, hi + 1) for lo, hi in zip(self.lower[::-1], self.upper[::-1]))

    def grown(self, pad, size) -> IjkBox:
        """Grown by ``pad`` voxels per axis and clipped to a grid of ``size``."""
        return IjkBox(tuple(max(0, lo - int(p)) for lo, p in zip(self.lower, pad)),
                      tuple(min(int(n) - 1, hi + int(p)) for hi, p, n in zip(self.upper, pad, size)))

    @staticmethod
    def union(boxes) -> IjkBox:
        boxes = list(boxes)
        return IjkBox(tuple(min(b.lower[i] for b in boxes) for i in range(3)),
                      tuple(max(b.upper[i] for b in boxes) for i in range(3)))


def volume_size(node) -> tuple[int, int, int]:
    return tuple(int(n) for n in node.GetImageData().GetDimensions())


def phase_array(node, phase: int | None = None) -> np.ndarray:
    """The voxels of the node's phase as a (z, y, x) numpy view (no copy)."""
    if node is None or node.GetImageData() is None:
        raise ValueError(_("no volume selected, or the volume has no voxels"))
    image_data = node.GetImageData()
    dims = image_data.GetDimensions()
    scalars = numpy_support.vtk_to_numpy(image_data.GetPointData().GetScalars())
    components = image_data.GetNumberOfScalarComponents()
    return scalars.reshape(dims[2], dims[1], dims[0], components)[..., _component(node, components, phase)]


def volume_to_image(node, phase: int | None = None, box: IjkBox | None = None) -> sitk.Image:
    """A 3-D scalar SimpleITK image (LPS) of a scalar volume node, or of the part of it in ``box``.

    Multi-component volumes (multivolume DCE) need ``phase``, the component
    to use; it defaults to the node's ``TMERadiomics.Phase`` attribute. The
    part of a ``box`` has the origin ITK gives a region of interest of the
    whole image, so its voxels lie exactly on the volume's grid.
    """
    if node is None or node.GetImageData() is None:
        raise ValueError(_("no volume selected, or the volume has no voxels"))
    check_untransformed(node, "volume")
    array = phase_array(node, phase)
    image = sitk.GetImageFromArray(np.ascontiguousarray(array if box is None else array[box.slices()]))
    image.SetSpacing(node.GetSpacing())
    ras_origin = np.array(node.GetOrigin())
    image.SetOrigin(tuple(float(v) for v in RAS_TO_LPS @ ras_origin))
    image.SetDirection(tuple(float(v) for v in (RAS_TO_LPS @ directions_ras(node)).ravel()))
    if box is not None:  # where sitk.RegionOfInterest would place it: the whole grid's index-to-point mapping
        image.SetOrigin(_corner(image, box.lower))  # ``image`` still has the whole volume's origin here
    return image


def _corner(like: sitk.Image, index) -> tuple[float, float, float]:
    """The physical point of ``index`` in ``like``'s grid (ITK does not bound-check the index)."""
    return like.TransformIndexToPhysicalPoint([int(i) for i in index])


def ijk_to_ras_matrix(node) -> np.ndarray:
    """The node's 4x4 IJK-to-RAS matrix."""
    matrix = np.eye(4)
    matrix[:3, :3] = directions_ras(node) * np.array(node.GetSpacing())
    matrix[:3, 3] = node.GetOrigin()
    return matrix


def _component(node, components: int, phase: int | None) -> int:
    if phase is None and node.GetAttribute(PHASE_ATTRIBUTE):
        phase = int(node.GetAttribute(PHASE_ATTRIBUTE))
    if components == 1:
        if phase not in (None, 0):
            raise ValueError(_("volume '{name}' has one phase; phase {phase} does not exist").format(
                name=node.GetName(), phase=phase))
        return 0
    if phase is None:
        raise ValueError(_("volume '{name}' has {components} phases; select one").format(
            name=node.GetName(), components=components))
    if not 0 <= phase < components:
        raise ValueError(_("phase {phase} does not exist; volume '{name}' has phases 0-{last}").format(
            phase=phase, name=node.GetName(), last=components - 1))
    return phase


def ijk_to_ras_of(image: sitk.Image) -> tuple[tuple, tuple, np.ndarray]:
    """Origin, spacing and direction matrix in RAS of an LPS SimpleITK image."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    origin = tuple(float(v) for v in RAS_TO_LPS @ np.array(image.GetOrigin()))
    return origin, tuple(image.GetSpacing()), RAS_TO_LPS @ direction


def set_geometry(target, image: sitk.Image) -> None:
    """Copy an image's geometry onto a volume node or oriented image data (RAS)."""
    origin, spacing, direction = ijk_to_ras_of(image)
    target.SetOrigin(origin)
    target.SetSpacing(spacing)
    matrix = vtk.vtkMatrix4x4()
    for r in range(3):
        for c in range(3):
            matrix.SetElement(r, c, float(direction[r, c]))
    if hasattr(target, "SetIJKToRASDirectionMatrix"):  # volume node
        target.SetIJKToRASDirectionMatrix(matrix)
    else:  # vtkOrientedImageData
        target.SetDirectionMatrix(matrix)


def array_to_image_data(array: np.ndarray, target) -> None:
    """Fill a vtkImageData (or subclass) with a (z, y, x) array, copying it."""
    z, y, x = array.shape
    target.SetDimensions(x, y, z)
    vtk_array = numpy_support.numpy_to_vtk(np.ascontiguousarray(array).ravel(), deep=True)
    target.GetPointData().SetScalars(vtk_array)


def image_to_volume(image: sitk.Image, scene, name: str):
    """A new vtkMRMLScalarVolumeNode in ``scene`` holding ``image`` (for tests, phantoms, batch)."""
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    image_data = vtk.vtkImageData()
    array_to_image_data(sitk.GetArrayFromImage(image), image_data)
    node.SetAndObserveImageData(image_data)
    set_geometry(node, image)
    node.CreateDefaultDisplayNodes()
    return node


class SequencePhase:
    """One phase of a DCE sequence, read from the sequence itself rather than through its browser.

    Voxels and geometry are those of the sequence's item (the data node the
    sequence stores); name, ID and transform are those of the proxy node the
    user selected, so results carry the name the user sees and a transform
    on the proxy is still refused. Moving the browser to the phase instead
    would change what every view of the user's scene shows.
    """

    def __init__(self, proxy, item, sequence=None, index: int | None = None) -> None:
        self._proxy = proxy
        self._item = item
        self.sequence = sequence  # the sequence node and item number read: the phase actually used
        self.index = index

    def __getattr__(self, name: str):
        return getattr(self._item, name)

    def GetName(self) -> str:  # noqa: N802 (MRML's spelling)
        return self._proxy.GetName()

    def GetID(self) -> str:  # noqa: N802
        return self._proxy.GetID()

    def GetParentTransformNode(self):  # noqa: N802
        return self._proxy.GetParentTransformNode()


def phase_provenance(node, browser=None, sequence=None) -> dict[str, str]:
    """Which phase of which data ``node`` stands for, as table attributes.

    A ``SequencePhase`` names its sequence and item; a proxy node (``browser``
    and ``sequence`` given) the item its browser shows; a multi-component
    volume its component; a plain volume is phase 0 of itself.
    """
    if isinstance(node, SequencePhase) and node.sequence is not None:
        return _sequence_item(node.sequence, node.index)
    if sequence is not None and browser is not None:
        return _sequence_item(sequence, browser.GetSelectedItemNumber())
    image_data = node.GetImageData() if node is not None else None
    if image_data is not None and image_data.GetNumberOfScalarComponents() > 1:
        return {"PhaseSource": "component", "PhaseIndex": node.GetAttribute(PHASE_ATTRIBUTE) or ""}
    return {"PhaseSource": "volume", "PhaseIndex": "0"}


def _sequence_item(sequence, index: int) -> dict[str, str]:
    return {"PhaseSource": "sequence", "SequenceNodeID": sequence.GetID() or "", "SequenceName": sequence.GetName(),
            "PhaseIndex": str(index), "PhaseIndexValue": sequence.GetNthIndexValue(index),
            "PhaseIndexName": sequence.GetIndexName(), "PhaseIndexUnit": sequence.GetIndexUnit()}
