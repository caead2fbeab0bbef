"""PNG overlays of the regions (and, when known, the risk group) on the image.

Three views through the tumour's centre of mass (axial, coronal, sagittal),
each cropped around the tumour with room for the widest band, drawn with the
true voxel aspect ratio so anisotropic slices look as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import SimpleITK as sitk  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from .builder import REGION_COLOURS  # noqa: E402  (re-exported for callers of the overlay)

VIEW_MARGIN_MM = 15.0


def render_overlay(
    image: sitk.Image,
    masks: dict[str, sitk.Image],
    path: str | os.PathLike,
    *,
    title: str = "",
    caption: str | None = None,
    colours: dict[str, tuple[float, float, float]] | None = None,
    centre_on: str | None = None,
    linestyles: dict[str, str] | None = None,
) -> Path:
    """Draw each mask's outline over the image in three orthogonal views and save a PNG.

    Masks are drawn in order, later ones on top. The views are centred and
    windowed on ``centre_on`` (default: ``intratumoral``, else the first mask).
    ``linestyles`` (matplotlib names, default solid) tells outlines of the
    same colour apart, in the views and the legend alike.
    """
    colours = {**REGION_COLOURS, **(colours or {})}
    linestyles = linestyles or {}
    array = sitk.GetArrayViewFromImage(image)
    arrays = {name: sitk.GetArrayViewFromImage(mask).astype(bool) for name, mask in masks.items()}
    reference = arrays[centre_on] if centre_on else arrays.get("intratumoral", next(iter(arrays.values())))
    centre = np.round(np.argwhere(reference).mean(0)).astype(int) if reference.any() else np.array(array.shape) // 2
    spacing = np.array(image.GetSpacing())[::-1]  # z, y, x
    window = _window(array, reference)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    for ax, (label, axis) in zip(axes, (("axial", 0), ("coronal", 1), ("sagittal", 2))):
        _draw_view(ax, array, arrays, colours, centre, axis, spacing, window, linestyles)
        ax.set_title(label, fontsize=10)
    handles = [Line2D([0], [0], color=colours[n], lw=2, ls=linestyles.get(n, "solid"), label=n)
               for n in arrays if n in colours]
    # One entry a row when the names are long (a model's regions and its group), else side by side.
    ncol = len(handles) if sum(len(h.get_label()) for h in handles) < 90 else 1
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False)
    fig.suptitle(title, fontsize=12)
    # The caption sits above the legend's rows and the views above both, so nothing overlaps.
    rows = -(-len(handles) // ncol) if handles else 0
    legend_top = 0.02 + 0.055 * rows
    if caption:
        fig.text(0.5, legend_top + 0.01, caption, ha="center", fontsize=10)
    fig.tight_layout(rect=(0, legend_top + (0.06 if caption else 0.01), 1, 0.95))
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _window(array: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    values = array[reference] if reference.any() else array
    low, high = np.percentile(array, 1), np.percentile(values, 99.5)
    return float(low), float(max(high, low + 1e-6))


def _draw_view(ax, array, arrays, colours, centre, axis, spacing, window, linestyles=None) -> None:
    index = [slice(None)] * 3
    index[axis] = int(centre[axis])
    plane = array[tuple(index)]
    in_plane = [a for a in range(3) if a != axis]
    rows, cols = _crop_ranges(centre, in_plane, spacing, plane.shape)
    extent = (0, (cols.stop - cols.start) * spacing[in_plane[1]], (rows.stop - rows.start) * spacing[in_plane[0]], 0)
    ax.imshow(plane[rows, cols], cmap="gray", vmin=window[0], vmax=window[1], extent=extent, interpolation="nearest")
    # The tumour outline last: it coincides with the shell's inner edge and must stay visible.
    for name, mask in sorted(arrays.items(), key=lambda item: item[0] == "intratumoral"):
        section = mask[tuple(index)][rows, cols]
        if section.any() and name in colours:
            ys = (np.arange(section.shape[0]) + 0.5) * spacing[in_plane[0]]
            xs = (np.arange(section.shape[1]) + 0.5) * spacing[in_plane[1]]
            ax.contour(xs, ys, section.astype(float), levels=[0.5], colors=[colours[name]], linewidths=1.4,
                       linestyles=[(linestyles or {}).get(name, "solid")])
    if axis != 0:
        ax.invert_yaxis()  # superior up in coronal and sagittal views
    ax.set_xticks([])
    ax.set_yticks([])


def _crop_ranges(centre, in_plane, spacing, shape):
    ranges = []
    for dim, axis in enumerate(in_plane):
        half = int(np.ceil(VIEW_MARGIN_MM * 2 / spacing[axis]))
        start = max(0, int(centre[axis]) - half)
        stop = min(shape[dim], int(centre[axis]) + half + 1)
        ranges.append(slice(start, stop))
    return ranges
