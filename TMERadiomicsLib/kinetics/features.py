"""The kinetic feature class: per region, statistics of the kinetic maps, the curve-type fractions
and the functional tumour volume, named ``kinetics_<quantity>_<statistic>`` (``Intra_kinetics_SER_mean``
in the combined table).

SER is summarised over the region's FTV voxels, as I-SPY reports it: elsewhere the
late enhancement is near zero and the ratio is noise. A region without an FTV voxel
gets NaN for its SER statistics, recorded as a failure with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..io.images import geometry_difference
from .definitions import EARLY_S, LATE_S, PERCENTILES
from .maps import CURVE_TYPES, QUANTITIES, KineticMaps, compute_maps, region_box
from .series import KineticSeries

PREFIX = "kinetics_"
STATISTICS = ("mean", "median", *(f"p{p}" for p in PERCENTILES))
NO_FTV = "no voxel of the region passes the FTV thresholds, so SER (summarised over FTV voxels) is undefined"


def feature_names() -> list[str]:
    """Every kinetic feature name of one region, in table order."""
    names = [f"{PREFIX}{q}_{s}" for q in QUANTITIES for s in STATISTICS]
    names += [f"{PREFIX}{t}_fraction" for t in CURVE_TYPES.values()]
    return names + [f"{PREFIX}FTV_ml", f"{PREFIX}FTV_fraction"]


@dataclass
class KineticResult:
    """Features and mean curves per region, the maps they came from, and why a value is NaN."""

    values: dict[str, dict[str, float]]
    curves: dict[str, dict[str, list[float]]]  # region -> mean signal and mean PE per phase
    maps: KineticMaps | None
    failures: dict[str, str] = field(default_factory=dict)  # region -> reason
    masks_on_box: dict[str, np.ndarray] = field(default_factory=dict)  # region -> its voxels on the maps' box

    @property
    def diagnostics(self) -> dict:
        return {**(self.maps.info if self.maps else {}), "times_s": list(self.maps.times_s) if self.maps else [],
                "failures": dict(self.failures)}


def kinetic_features(series: KineticSeries, masks: Mapping[str, sitk.Image], *, case_id: str | None = None,
                     early_s: float = EARLY_S, late_s: float = LATE_S) -> KineticResult:
    """The kinetic features of every region (masks on the series' grid; non-zero = inside)."""
    arrays = {}
    for name, mask in masks.items():
        # The whole grid, not only its size: a mask of the right size shifted or rotated would give
        # another tissue's curves (io.images.geometry_difference is the check the phases pass too).
        difference = geometry_difference(series.reference, mask)
        if difference:
            raise InputError(f"region {name!r} mask is not on the grid of the DCE phases ({difference})",
                             case=case_id)
        arrays[name] = sitk.GetArrayViewFromImage(mask) != 0
    box = region_box(arrays, arrays[next(iter(arrays))].shape) if arrays else None
    if box is None:
        nan = {n: math.nan for n in feature_names()}
        return KineticResult({name: dict(nan) for name in masks}, {}, None,
                             {name: "the region is empty" for name in masks})
    maps = compute_maps(series, box, early_s=early_s, late_s=late_s)
    voxel_ml = float(np.prod(series.reference.GetSpacing())) / 1000.0
    values, curves, failures, on_box = {}, {}, {}, {}
    for name, array in arrays.items():
        inside = on_box[name] = array[box]
        _refuse_zero_baseline(maps.s0, inside, name, case_id)
        values[name], reason = _region_features(maps, inside, voxel_ml)
        if reason:
            failures[name] = reason
        curves[name] = _mean_curve(maps, inside)
    return KineticResult(values, curves, maps, failures, on_box)


def _refuse_zero_baseline(s0: np.ndarray, inside: np.ndarray, region: str, case_id: str | None) -> None:
    bad = int(np.count_nonzero(inside & ~(s0 > 0)))
    if bad:
        raise InputError(f"the pre-contrast signal is <= 0 in {bad} voxel(s) of region {region}, where percentage "
                         "enhancement is undefined; remove them (--exclude, --air-below) or check phase 0",
                         case=case_id, value=bad)


def _region_features(maps: KineticMaps, inside: np.ndarray, voxel_ml: float) -> tuple[dict[str, float], str]:
    count = int(np.count_nonzero(inside))
    values: dict[str, float] = {}
    if count == 0:
        return {n: math.nan for n in feature_names()}, "the region is empty"
    ftv = maps.ftv & inside
    reason = ""
    for quantity, array in maps.values.items():
        chosen = array[ftv] if quantity == "SER" else array[inside]
        chosen = chosen[np.isfinite(chosen)].astype(np.float64)
        if chosen.size == 0 and quantity == "SER":
            reason = NO_FTV
        values.update({f"{PREFIX}{quantity}_{s}": v for s, v in zip(STATISTICS, _statistics(chosen))})
    curve = maps.curve_type[inside]
    for code, label in CURVE_TYPES.items():
        values[f"{PREFIX}{label}_fraction"] = float(np.count_nonzero(curve == code)) / count
    ftv_voxels = int(np.count_nonzero(ftv))
    values[f"{PREFIX}FTV_ml"] = ftv_voxels * voxel_ml
    values[f"{PREFIX}FTV_fraction"] = ftv_voxels / count
    return values, reason


def _statistics(values: np.ndarray) -> list[float]:
    if values.size == 0:
        return [math.nan] * len(STATISTICS)
    percentiles = np.percentile(values, [50, *PERCENTILES])
    return [float(values.mean()), *(float(p) for p in percentiles)]


def _mean_curve(maps: KineticMaps, inside: np.ndarray) -> dict[str, list[float]]:
    signal = maps.signal[:, inside].astype(np.float64).mean(axis=1)
    return {"time_s": list(maps.times_s), "mean_signal": [float(s) for s in signal],
            "mean_PE": [float(100.0 * (s - signal[0]) / signal[0]) for s in signal]}
