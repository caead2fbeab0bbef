"""The pictures of ``tmeradiomics kinetics``: each region's mean enhancement curve, and an SER overlay
on the tumour's largest axial slice.

SER is coloured continuously from 0 to 2 (a diverging map centred on 1, where
the early and late enhancement are equal): SER > 1 means the signal falls after
the early phase (wash-out), SER < 1 that it still rises. This colour scale is the
project's own; it is not I-SPY's banded scheme. Only FTV voxels are coloured, as
the SER statistics are taken over them (``features.py``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be set first)
import numpy as np  # noqa: E402

from .maps import KineticMaps  # noqa: E402

SER_RANGE = (0.0, 2.0)
REGION_COLOURS = {"intratumoral": "#c0392b", "peritumoral": "#2471a3", "ring": "#7d3c98"}
DPI = 120


def curves_png(curves: Mapping[str, Mapping[str, list[float]]], maps: KineticMaps, case_id: str) -> bytes:
    """Mean percentage enhancement per phase of every region, with the early and late phases marked."""
    fig, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    for region, curve in curves.items():
        ax.plot(curve["time_s"], curve["mean_PE"], marker="o", label=region,
                color=REGION_COLOURS.get(region))
    for phase, name in ((maps.early, "early"), (maps.late, "late")):
        ax.axvline(maps.times_s[phase], color="0.5", linestyle="--", linewidth=0.8)
        ax.annotate(f"{name} ({maps.times_s[phase]:g} s)", (maps.times_s[phase], 0.02),
                    xycoords=("data", "axes fraction"), xytext=(-3, 0), textcoords="offset points",
                    ha="right", va="bottom", rotation=90, fontsize=8, color="0.3")
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.set_xlabel("time after the pre-contrast phase (s)")
    ax.set_ylabel("mean enhancement of the region's mean signal (%)")
    ax.set_title(f"{case_id}: mean enhancement curve per region", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def overlay_png(maps: KineticMaps, tumour: np.ndarray, spacing_xyz: tuple[float, ...], case_id: str) -> bytes:
    """The early phase of the tumour's largest axial slice (on the maps' box), SER over FTV voxels in colour
    and the tumour's outline. ``tumour`` is the intratumoral mask on the box."""
    z = int(np.argmax(tumour.reshape(tumour.shape[0], -1).sum(axis=1)))
    background = maps.signal[maps.early, z]
    ser = np.where(maps.ftv[z], maps.values["SER"][z], np.nan)
    height, width = background.shape
    extent = (0.0, width * spacing_xyz[0], height * spacing_xyz[1], 0.0)  # mm, rows downwards
    fig, ax = plt.subplots(figsize=(5.5, 5.0), layout="constrained")
    low, high = np.percentile(background, [1, 99])
    ax.imshow(background, cmap="gray", vmin=low, vmax=high if high > low else low + 1, extent=extent,
              interpolation="nearest")
    shown = ax.imshow(ser, cmap="coolwarm", vmin=SER_RANGE[0], vmax=SER_RANGE[1], extent=extent,
                      interpolation="nearest", alpha=0.85)
    # Voxel centres in the image's mm axes (rows run downwards, as imshow's extent puts them).
    ax.contour((np.arange(width) + 0.5) * spacing_xyz[0], (np.arange(height) + 0.5) * spacing_xyz[1],
               tumour[z].astype(float), levels=[0.5], colors="yellow", linewidths=0.8)
    colourbar = fig.colorbar(shown, ax=ax, shrink=0.8)
    colourbar.set_label("SER = early / late enhancement (FTV voxels)")
    ax.set_xlabel("mm")
    ax.set_ylabel("mm")
    slice_index = maps.box[0].start + z
    ax.set_title(f"{case_id}: SER on axial slice {slice_index} (early phase, {maps.times_s[maps.early]:g} s)",
                 fontsize=9)
    return _png(fig)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()
