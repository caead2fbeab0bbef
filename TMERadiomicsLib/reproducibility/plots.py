"""The ICC distribution figure: one panel per region, feature classes along x."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .stability import KINDS, Reliability

_COLOURS = {"intra": "#1f77b4", "inter": "#ff7f0e", "perturbation": "#2ca02c"}


def icc_distribution_png(result: Reliability) -> bytes:
    """PNG bytes: box plots of ICC per feature class, per kind, threshold marked."""
    summary = result.summary
    regions = list(dict.fromkeys(summary["region"]))
    kinds = [k for k in KINDS if f"{k}_icc" in summary]
    figure = Figure(figsize=(max(6.0, 1.6 * summary["feature_class"].nunique()), 3.2 * len(regions)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(regions), 1, squeeze=False)[:, 0]
    for ax, region in zip(axes, regions):
        _panel(ax, summary[summary["region"] == region], kinds, result.threshold)
        ax.set_title(region)
    axes[0].legend(
        handles=[_patch(k) for k in kinds], loc="lower left", fontsize="small", ncol=len(kinds)
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _panel(ax, part: pd.DataFrame, kinds: list[str], threshold: float) -> None:
    classes = sorted(part["feature_class"].unique())
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        data = [_finite(part.loc[part["feature_class"] == c, f"{kind}_icc"]) for c in classes]
        positions = np.arange(len(classes)) + (i - (len(kinds) - 1) / 2) * width
        boxes = ax.boxplot(data, positions=positions, widths=width * 0.9, patch_artist=True, showfliers=True)
        for box in boxes["boxes"]:
            box.set_facecolor(_COLOURS[kind])
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    ax.set_xticks(np.arange(len(classes)), [f"{c}\n(n={int((part['feature_class'] == c).sum())})" for c in classes])
    ax.set_ylabel("ICC")
    ax.set_ylim(min(-0.1, ax.get_ylim()[0]), 1.02)


def _finite(values: pd.Series) -> np.ndarray:
    # Boxplot of an empty list draws nothing, which is what NaN-only classes should show.
    array = values.to_numpy(dtype=float)
    return array[np.isfinite(array)]


def _patch(kind: str) -> Patch:
    return Patch(facecolor=_COLOURS[kind], label=kind)
