"""What ``tmeradiomics kinetics`` writes into its output folder (docs/kinetics.md):

- ``maps/<quantity>.nrrd``: every voxel-wise map on the regions' box, placed in the
  phases' physical space (``curve_type.nrrd`` holds the codes of ``maps.CURVE_TYPES``,
  ``FTV.nrrd`` 0/1);
- ``kinetics.csv``: one row per region, the kinetic features;
- ``curves.csv`` and ``curves.png``: each region's mean signal and enhancement per phase;
- ``ser_overlay.png``: SER over the FTV voxels of the tumour's largest axial slice;
- ``kinetics.json``: the phases and times used, their source, the thresholds, and why a value is NaN.

Everything carries the case ID the user gave, never a DICOM identifier.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from ..io.images import write_image
from . import definitions
from .features import KineticResult, feature_names
from .figures import curves_png, overlay_png
from .maps import CURVE_TYPES, QUANTITIES
from .series import KineticSeries

MAP_UNITS = {**QUANTITIES, "curve_type": "code", "FTV": "0/1"}


def write_kinetic_outputs(stage: Path, result: KineticResult, series: KineticSeries, case_id: str) -> list[str]:
    """Write every output into ``stage`` (a staged folder); the relative paths written."""
    maps = result.maps
    if maps is None:  # kinetic_features gives no maps only for empty regions, which callers refuse
        raise ValueError("no kinetic maps: every region is empty")
    (stage / "maps").mkdir()
    written = [f"maps/{name}.nrrd" for name in MAP_UNITS]
    for name, path in zip(MAP_UNITS, written):
        write_image(maps.image(name, series.reference), stage / path)
    tumour = result.masks_on_box.get("intratumoral")
    pictures = {"curves.png": curves_png(result.curves, maps, case_id)}
    if tumour is not None and tumour.any():
        pictures["ser_overlay.png"] = overlay_png(maps, tumour, series.reference.GetSpacing(), case_id)
    written += ["kinetics.csv", "curves.csv", *pictures, "kinetics.json"]
    texts = {"kinetics.csv": _features_csv(result, case_id), "curves.csv": _curves_csv(result, case_id),
             "kinetics.json": json.dumps(_description(result, series, case_id, written), indent=2)}
    for name, text in texts.items():
        (stage / name).write_text(text, encoding="utf-8")
    for name, data in pictures.items():
        (stage / name).write_bytes(data)
    return written


def _features_csv(result: KineticResult, case_id: str) -> str:
    names = feature_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case_id", "region", *names])
    for region, values in result.values.items():
        writer.writerow([case_id, region, *(repr(float(values[n])) for n in names)])
    return buffer.getvalue()


def _curves_csv(result: KineticResult, case_id: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case_id", "region", "phase", "time_s", "mean_signal", "mean_PE"])
    for region, curve in result.curves.items():
        for phase, row in enumerate(zip(curve["time_s"], curve["mean_signal"], curve["mean_PE"])):
            writer.writerow([case_id, region, phase, *(repr(float(v)) for v in row)])
    return buffer.getvalue()


def _description(result: KineticResult, series: KineticSeries, case_id: str, files: list[str]) -> dict:
    maps = result.maps
    assert maps is not None
    voxels = {region: int(np.count_nonzero(mask)) for region, mask in result.masks_on_box.items()}
    return {
        "case_id": case_id,
        "times_s": list(series.times_s),
        "times_source": series.source,
        "phases": len(series.phases),
        **maps.info,
        "thresholds": {
            "early_target_s": definitions.EARLY_S, "late_target_s": definitions.LATE_S,
            "ftv_pe_percent": definitions.FTV_PE_PERCENT,
            "ftv_background_fraction": definitions.FTV_BACKGROUND_FRACTION,
            "ftv_background_percentile": definitions.FTV_BACKGROUND_PERCENTILE,
            "ftv_min_neighbours": definitions.FTV_MIN_NEIGHBOURS,
            "curve_change_percent": definitions.CURVE_CHANGE_PERCENT,
            "enhancing_pe_percent": definitions.ENHANCING_PE_PERCENT,
        },
        "curve_type_codes": {str(code): label for code, label in CURVE_TYPES.items()},
        "map_units": MAP_UNITS,
        "region_voxels": voxels,
        "box_index_xyz": [[int(s.start) for s in maps.box[::-1]], [int(s.stop) for s in maps.box[::-1]]],
        "failures": dict(result.failures),
        "files": list(files),
    }

