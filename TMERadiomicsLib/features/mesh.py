"""Surface area, volume and diameters of a mask's marching-cubes mesh, as PyRadiomics' ``cShape`` gives them.

PyRadiomics' ``calculate_coefficients`` (C) walks every cube of the padded
mask once, then compares every mesh vertex with every other for the four
diameters. The walk is linear in the box; the comparison is quadratic in the
vertices: about 0.15 s for a 4 cm tumour and over a second for the shell
around a 6 cm one, per region. Here:

- **area and volume** sum per-cube contributions looked up by the cube's
  corner pattern. The per-pattern table is not written out: it is measured
  from ``calculate_coefficients`` itself on single cubes (256 patterns, once
  per spacing), so the triangulation is PyRadiomics' own. A cube's area does
  not depend on where it sits; its volume term (signed tetrahedra with the
  origin) is exactly linear in its position, ``V0 + iz Dz + iy Dy + ix Dx``,
  and ``D`` is measured by a two-cube probe (``_cube_table``).
- **diameters** are the largest of PyRadiomics' squared vertex distances,
  found without comparing every pair: a pair that long must have both ends
  far from the centre (``_largest_sq_distance``), so only those are
  compared, with PyRadiomics' own arithmetic; the maximum is the same number.

The vertices are the midpoints of the lattice edges whose two voxels differ
(the mesh vertices ``calculate_coefficients`` stores), at
``(index + 0.5 along the edge) * spacing``, computed as it computes them.
``Testing/test_features_mesh.py`` holds all six numbers to
``calculate_coefficients`` on random masks and on the shared cases.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import SimpleITK as sitk
from radiomics import cShape

logger = logging.getLogger("radiomics.shape")  # PyRadiomics' own logger for what its shape class would log

# Corner k of a cube at (z, y, x) is voxel (z + dz, y + dy, x + dx) with k = 4 dz + 2 dy + dx.
CORNERS = tuple((k >> 2 & 1, k >> 1 & 1, k & 1) for k in range(8))
# Rows of one block of the pairwise comparison: at most this many distances in memory at once.
BLOCK_PAIRS = 1 << 21


def mesh_coefficients(mask: np.ndarray, spacing) -> tuple[float, float, np.ndarray]:
    """``cShape.calculate_coefficients(mask, spacing)``: surface area, volume and the four diameters.

    ``mask``: a boolean (z, y, x) array padded with a layer of zeros on every side, as
    ``RadiomicsShape`` pads it; ``spacing`` in the same (z, y, x) order. The diameters are
    (same z, same y, same x, any), as PyRadiomics orders them.
    """
    spacing = tuple(float(s) for s in spacing)
    area, volume = _area_and_volume(mask, spacing)
    return area, volume, _diameters(mask, spacing)


def shape_segment_init(self) -> None:
    """``RadiomicsShape._initSegmentBasedCalculation`` with the mesh numbers from ``mesh_coefficients``.

    Everything else is PyRadiomics' computation step for step (the padded
    mask, the voxel coordinates, the covariance's eigenvalues), so the shape
    class's feature methods see the same attributes.
    """
    self.pixelSpacing = np.array(self.inputImage.GetSpacing()[::-1])
    self.inputMask = sitk.ConstantPad(self.inputMask, [1, 1, 1], [1, 1, 1], 0.0)
    self.maskArray = sitk.GetArrayFromImage(self.inputMask) == self.label
    self.labelledVoxelCoordinates = np.where(self.maskArray != 0)
    self.SurfaceArea, self.Volume, self.diameters = mesh_coefficients(self.maskArray, self.pixelSpacing)
    self.eigenValues = _eigenvalues(self.labelledVoxelCoordinates, self.pixelSpacing)


def _eigenvalues(coordinates: tuple[np.ndarray, ...], spacing: np.ndarray) -> np.ndarray:
    """Eigenvalues of the voxels' physical covariance, ascending, as ``RadiomicsShape`` computes them."""
    count = len(coordinates[0])
    physical = np.array(coordinates, dtype="int").transpose((1, 0)) * spacing[None, :]
    physical -= np.mean(physical, axis=0)
    physical /= np.sqrt(count)
    values = np.linalg.eigvals(np.dot(physical.T.copy(), physical))
    rounding = np.bitwise_and(values < 0, values > -1e-10)  # machine error of flat regions: 0, as PyRadiomics
    if np.sum(rounding) > 0:
        logger.warning("Encountered %d eigenvalues < 0 and > -1e-10, rounding to 0", np.sum(rounding))
        values[rounding] = 0
    values.sort()
    return values


def _cube_codes(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    shape = tuple(n - 1 for n in m.shape)
    code = np.zeros(shape, dtype=np.uint8)
    for k, (dz, dy, dx) in enumerate(CORNERS):
        code |= m[dz:dz + shape[0], dy:dy + shape[1], dx:dx + shape[2]] << k
    return code


def _area_and_volume(mask: np.ndarray, spacing: tuple[float, float, float]) -> tuple[float, float]:
    code = _cube_codes(mask)
    surface = np.nonzero((code != 0) & (code != 255))
    if surface[0].size == 0:
        return 0.0, 0.0
    codes = code[surface].astype(np.intp)
    area, v0, shift = _cube_table(spacing)
    counts = np.bincount(codes, minlength=256).astype(float)
    volume = float(counts @ v0)
    for axis in range(3):  # the position term of each cube, summed per pattern
        volume += float(np.bincount(codes, weights=surface[axis].astype(float), minlength=256) @ shift[axis])
    return float(counts @ area), volume


@functools.lru_cache(maxsize=16)
def _cube_table(spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per corner pattern: area, volume at the origin, and the volume's change per index step on each axis.

    All measured with ``calculate_coefficients``: one cube gives area and
    origin volume; the same cube one step along an axis, behind a layer of
    zeros, gives the two cubes' volumes, of which the first (zeros and the
    pattern's near face) is itself a pattern at the origin.
    """
    area, v0 = np.zeros(256), np.zeros(256)
    cubes = [_pattern(k) for k in range(256)]
    for k, cube in enumerate(cubes):
        area[k], v0[k], _ = cShape.calculate_coefficients(cube, spacing)
    shift = np.zeros((3, 256))
    for axis in range(3):
        for k, cube in enumerate(cubes):
            zeros = np.zeros_like(np.take(cube, [0], axis=axis))
            probe = np.concatenate([zeros, cube], axis=axis)
            near = np.concatenate([zeros, np.take(cube, [0], axis=axis)], axis=axis)
            _, both, _ = cShape.calculate_coefficients(probe, spacing)
            shift[axis, k] = both - v0[_code(near)] - v0[k]
    return area, v0, shift


def _pattern(k: int) -> np.ndarray:
    cube = np.zeros((2, 2, 2), dtype=bool)
    for bit, corner in enumerate(CORNERS):
        cube[corner] = bool(k >> bit & 1)
    return cube


def _code(cube: np.ndarray) -> int:
    return int(_cube_codes(cube)[0, 0, 0])


def _vertices(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Midpoints of the edges whose two voxels differ, as (z, y, x) millimetres."""
    found = []
    for axis in range(3):
        lower = [slice(None)] * 3
        upper = [slice(None)] * 3
        lower[axis], upper[axis] = slice(None, -1), slice(1, None)
        index = np.nonzero(mask[tuple(lower)] != mask[tuple(upper)])
        coords = np.empty((index[0].size, 3))
        for d in range(3):
            offset = 0.5 if d == axis else 0.0
            coords[:, d] = (index[d] + offset) * spacing[d]
        found.append(coords)
    return np.concatenate(found)


def _diameters(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    points = _vertices(mask, spacing)
    if len(points) < 2:
        return np.zeros(4)
    extreme = [_line_extremes(points, axis) for axis in range(3)]
    out = np.zeros(4)
    out[3] = _largest_sq_distance(points[extreme[0] & extreme[1] & extreme[2]])
    for axis in range(3):  # pairs in one plane: PyRadiomics compares the coordinate for equality
        others = [a for a in range(3) if a != axis]
        plane = points[extreme[others[0]] & extreme[others[1]]]
        order = np.argsort(plane[:, axis], kind="stable")
        values = plane[order, axis]
        starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        ends = np.r_[starts[1:], values.size]
        best = 0.0
        for start, end in zip(starts, ends):
            if end - start > 1:
                best = max(best, _largest_sq_distance(plane[order[start:end]], best))
        out[axis] = best
    return np.sqrt(out)


def _line_extremes(points: np.ndarray, axis: int) -> np.ndarray:
    """Which points are the first or last along ``axis`` of the points sharing their other two coordinates.

    A point between two others on such a line is not a corner of the convex
    hull (of the set, or of any plane through the line), and the longest
    pair of a set joins two corners of its hull.
    """
    others = [a for a in range(3) if a != axis]
    order = np.lexsort((points[:, axis], points[:, others[1]], points[:, others[0]]))
    keys = points[order][:, others]
    new_line = np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)]
    first = new_line
    last = np.r_[new_line[1:], True]
    keep = np.zeros(len(points), dtype=bool)
    keep[order[first | last]] = True
    return keep


def _largest_sq_distance(points: np.ndarray, beat: float = 0.0) -> float:
    """The largest squared distance between two of ``points``, as PyRadiomics sums it ((dz^2 + dy^2) + dx^2).

    Few points: every pair. Many: the points are put in a grid of cells, a
    long pair ``L`` is found among the extreme points along 13 directions (or
    ``beat``: a length already found elsewhere), and only the pairs of cells
    whose bounding boxes lie at least ``L`` apart at their farthest are
    compared point by point (after dropping the points too near the
    centroid to end such a pair). The margin (1e-9 of ``L``) is far beyond
    rounding, so no candidate pair is lost.
    """
    if len(points) <= DIRECT_POINTS:
        return max(beat, _pairwise_max(points, points))
    along = points @ DIRECTIONS.T
    extremes = points[np.unique(np.r_[along.argmin(axis=0), along.argmax(axis=0)])]
    known = max(beat, _pairwise_max(extremes, extremes)) * (1 - 1e-9)
    # Both ends of a pair at least L apart lie at least L - R from the centroid (R: the farthest point from it).
    radius = np.sqrt(_sq_from(points, points.mean(axis=0)))
    points = points[radius >= np.sqrt(known) - radius.max() * (1 + 1e-9)]
    if len(points) <= DIRECT_POINTS:
        return max(beat, _pairwise_max(points, points))
    cells, members = _cells(points)
    low = np.array([points[m].min(axis=0) for m in members])
    high = np.array([points[m].max(axis=0) for m in members])
    span = np.maximum(np.abs(high[:, None, :] - low[None, :, :]), np.abs(high[None, :, :] - low[:, None, :]))
    span *= span
    reach = span[..., 0] + span[..., 1] + span[..., 2]
    best = known
    for i in range(cells):
        partners = np.flatnonzero(reach[i, i:] >= known) + i
        if partners.size:
            others = points[np.concatenate([members[j] for j in partners])]
            best = max(best, _pairwise_max(points[members[i]], others))
    return max(best, beat)


DIRECT_POINTS = 600  # up to this many points every pair is compared (0.36 M distances)
DIRECTIONS = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -1, 0), (1, 0, 1), (1, 0, -1),
                       (0, 1, 1), (0, 1, -1), (1, 1, 1), (1, 1, -1), (1, -1, 1), (-1, 1, 1)], dtype=float)


def _sq_from(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return ((points - centre) ** 2).sum(axis=1)


def _cells(points: np.ndarray, per_axis: int = 8) -> tuple[int, list[np.ndarray]]:
    """The points' indices grouped by cell of a ``per_axis``^3 grid over their bounding box (empty cells dropped)."""
    low, high = points.min(axis=0), points.max(axis=0)
    scaled = (points - low) / np.where(high > low, high - low, 1.0) * per_axis
    index = np.minimum(scaled.astype(int), per_axis - 1)
    flat = (index[:, 0] * per_axis + index[:, 1]) * per_axis + index[:, 2]
    order = np.argsort(flat, kind="stable")
    starts = np.flatnonzero(np.r_[True, flat[order][1:] != flat[order][:-1]])
    members = np.split(order, starts[1:])
    return len(members), members


def _pairwise_max(a: np.ndarray, b: np.ndarray) -> float:
    best = 0.0
    rows = max(1, BLOCK_PAIRS // max(1, len(b)))
    for start in range(0, len(a), rows):
        block = a[start:start + rows, None, :] - b[None, :, :]
        block *= block
        sq = block[..., 0] + block[..., 1]
        sq += block[..., 2]
        best = max(best, float(sq.max()))
    return best
