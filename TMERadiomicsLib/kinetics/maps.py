"""Voxel-wise kinetic maps on a box of the grid: enhancement, SER, slopes, time to peak, iAUC,
curve type and the FTV mask (definitions and sources: ``definitions.py``, docs/kinetics.md).

Everything is numpy on the box only (views of the phases, no copy of the whole
volume), so a small tumour in a full field of view costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from .definitions import (
    CURVE_CHANGE_PERCENT,
    EARLY_S,
    ENHANCING_PE_PERCENT,
    FTV_BACKGROUND_FRACTION,
    FTV_BACKGROUND_PERCENTILE,
    FTV_MIN_NEIGHBOURS,
    FTV_PE_PERCENT,
    IAUC_WINDOWS_S,
    LATE_S,
)
from .series import KineticSeries

# Curve-type codes of the ``curve_type`` map.
NON_ENHANCING, PERSISTENT, PLATEAU, WASHOUT = 0, 1, 2, 3
CURVE_TYPES = {NON_ENHANCING: "nonenhancing", PERSISTENT: "persistent", PLATEAU: "plateau", WASHOUT: "washout"}
# The voxel-wise quantities, with their units, in the order of the feature tables.
QUANTITIES = {"PE_early": "%", "PE_peak": "%", "SER": "ratio", "washin": "%/min", "washout": "%/min",
              "TTP": "s", **{f"iAUC{int(w)}": "%*s" for w in IAUC_WINDOWS_S}}


@dataclass
class KineticMaps:
    """The maps of one box (numpy z, y, x order) and what defined them."""

    box: tuple[slice, ...]
    values: dict[str, np.ndarray]  # QUANTITIES, float32, NaN where undefined
    curve_type: np.ndarray  # uint8 codes
    ftv: np.ndarray  # bool
    s0: np.ndarray  # the pre-contrast signal
    signal: np.ndarray  # (phases, z, y, x), float32
    early: int
    late: int
    background_threshold: float
    times_s: tuple[float, ...]
    info: dict = field(default_factory=dict)

    def image(self, name: str, reference: sitk.Image) -> sitk.Image:
        """One map as an image on the box, placed in ``reference``'s physical space."""
        array = {"curve_type": self.curve_type, "FTV": self.ftv.astype(np.uint8)}.get(name)
        if array is None:
            array = self.values[name]
        image = sitk.GetImageFromArray(np.ascontiguousarray(array))
        image.SetSpacing(reference.GetSpacing())
        image.SetDirection(reference.GetDirection())
        corner = [int(s.start) for s in self.box[::-1]]
        image.SetOrigin(reference.TransformIndexToPhysicalPoint(corner))
        return image


def region_box(masks: dict[str, np.ndarray], shape: tuple[int, ...], pad: int = 1) -> tuple[slice, ...] | None:
    """The bounding box of the union of the masks, padded by ``pad`` voxels (for the neighbour count)."""
    from ..io.images import bounding_box

    lo, hi = None, None
    for array in masks.values():
        found = bounding_box(array)
        if found is None:
            continue
        lo = found[0] if lo is None else np.minimum(lo, found[0])
        hi = found[1] if hi is None else np.maximum(hi, found[1])
    if lo is None:
        return None
    lo = np.maximum(lo - pad, 0)
    hi = np.minimum(hi + pad, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def compute_maps(series: KineticSeries, box: tuple[slice, ...], *, early_s: float = EARLY_S,
                 late_s: float = LATE_S) -> KineticMaps:
    """Every map on ``box``. Voxels whose pre-contrast signal is <= 0 get NaN (callers refuse them)."""
    signal = np.stack([sitk.GetArrayViewFromImage(p)[box] for p in series.phases]).astype(np.float32)
    times = np.asarray(series.times_s, dtype=np.float64)
    early, late = series.early_late(early_s, late_s)
    s0 = signal[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        pe = 100.0 * (signal[1:] - s0) / s0  # (post phases, z, y, x)
        pe[:, ~(s0 > 0)] = np.nan
        values = _enhancement(pe, times, early)
        ser = (signal[early] - s0) / (signal[late] - s0)
        ser[~(signal[late] - s0 > 0)] = np.nan  # Hylton's ratio is undefined without late enhancement
        ser[~(s0 > 0)] = np.nan
        values["SER"] = ser.astype(np.float32)
        change = 100.0 * (signal[late] - signal[early]) / signal[early]
    curve = _curve_type(values["PE_early"], change)
    threshold = FTV_BACKGROUND_FRACTION * float(np.percentile(s0, FTV_BACKGROUND_PERCENTILE))
    ftv = _ftv_mask(s0, values["PE_early"], values["SER"], threshold)
    return KineticMaps(box, values, curve, ftv, s0, signal, early, late, threshold, series.times_s,
                       info={"early_phase": early, "early_s": series.times_s[early], "late_phase": late,
                             "late_s": series.times_s[late], "background_threshold": threshold})


def _enhancement(pe: np.ndarray, times: np.ndarray, early: int) -> dict[str, np.ndarray]:
    post_times = times[1:]
    finite = np.isfinite(pe[0])
    peak_index = np.argmax(np.where(np.isfinite(pe), pe, -np.inf), axis=0)
    peak = np.take_along_axis(pe, peak_index[None], axis=0)[0]
    t_peak = post_times[peak_index]
    last = pe[-1]
    after_peak = post_times[-1] - t_peak
    values = {
        "PE_early": pe[early - 1],
        "PE_peak": peak,
        # Mean rate of enhancement from the injection (the pre-contrast time) to the peak.
        "washin": peak / (t_peak / 60.0),
        # Mean rate from the peak to the last phase: 0 when the peak is the last phase, negative on wash-out.
        "washout": np.where(after_peak > 0, (last - peak) / np.maximum(after_peak, 1e-9) * 60.0, 0.0),
        "TTP": t_peak.astype(np.float64),
    }
    for window in IAUC_WINDOWS_S:
        weights = _iauc_weights(times, window)
        values[f"iAUC{int(window)}"] = np.tensordot(weights[1:], pe, axes=1) if weights is not None \
            else np.full(pe.shape[1:], np.nan)
    return {name: np.where(finite, value, np.nan).astype(np.float32) for name, value in values.items()}


def _iauc_weights(times: np.ndarray, window: float) -> np.ndarray | None:
    """w such that sum(w * PE at each phase) is the area under the piecewise-linear PE curve from 0 to
    ``window`` (PE = 0 at the pre-contrast time); None when the series ends before ``window``."""
    if times[-1] < window:
        return None
    grid = np.concatenate([times[times < window], [window]])
    weights = np.empty(len(times))
    for i in range(len(times)):
        unit = np.zeros(len(times))
        unit[i] = 1.0
        curve = np.interp(grid, times, unit)
        weights[i] = float(np.sum((curve[1:] + curve[:-1]) * np.diff(grid)) / 2.0)
    return weights


def _curve_type(pe_early: np.ndarray, change: np.ndarray) -> np.ndarray:
    curve = np.full(pe_early.shape, PLATEAU, dtype=np.uint8)
    curve[change > CURVE_CHANGE_PERCENT] = PERSISTENT
    curve[change < -CURVE_CHANGE_PERCENT] = WASHOUT
    curve[~(pe_early >= ENHANCING_PE_PERCENT)] = NON_ENHANCING  # also NaN
    return curve


def _ftv_mask(s0: np.ndarray, pe_early: np.ndarray, ser: np.ndarray, threshold: float) -> np.ndarray:
    passing = (s0 >= threshold) & (pe_early >= FTV_PE_PERCENT)
    padded = np.pad(passing, 1).astype(np.uint8)
    neighbours = np.zeros(passing.shape, dtype=np.uint8)
    nz, ny, nx = passing.shape
    for dz in range(3):
        for dy in range(3):
            for dx in range(3):
                if (dz, dy, dx) != (1, 1, 1):
                    neighbours += padded[dz:dz + nz, dy:dy + ny, dx:dx + nx]
    return passing & (neighbours >= FTV_MIN_NEIGHBOURS) & (ser >= 0)
