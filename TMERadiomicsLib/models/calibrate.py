"""Calibrating a published linear signature on a reference cohort.

Qian 2024 publishes coefficients on z-scored features but neither the
feature means and standard deviations nor an intercept. Calibration stores
the reference cohort's per-feature mean and sd (ddof=1), the cohort-median
radscore as the risk threshold (Qian split M2 infiltration at the median)
and the cohort size. Only then does the bundle assign risk groups.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .bundle import ModelBundle
from .linear import LinearModel
from .tables import name_list, require_finite, source_of

logger = logging.getLogger(__name__)

# Fewer cases make the mean, sd and median too unstable to call a calibration.
MIN_CALIBRATION_CASES = 10


def calibrate(bundle: ModelBundle, combined: pd.DataFrame) -> ModelBundle:
    """A copy of ``bundle`` calibrated on the cases of ``combined``."""
    source = source_of(combined)
    model = bundle.estimator
    normalisation = bundle.manifest.normalisation or {}
    if not isinstance(model, LinearModel) or normalisation.get("status") not in ("not-published", "calibrated"):
        raise InputError(
            f"bundle {bundle.manifest.name} carries its own training statistics; "
            "only published signatures without them are calibrated",
        )
    bundle.check_input(combined)
    features = bundle.required_features
    require_finite(combined, features)
    if len(combined) < MIN_CALIBRATION_CASES:
        raise InputError(
            f"calibration needs at least {MIN_CALIBRATION_CASES} cases; the table has {len(combined)}",
            file=source,
        )
    values = combined[features].astype(float)
    sd = values.std(ddof=1)
    flat = sorted(sd.index[~(sd > 0)])
    if flat:
        raise InputError(f"features without spread in the calibration cohort: {name_list(flat)}", file=source)
    calibrated = replace(model, mean=values.mean().to_dict(), sd=sd.to_dict())
    threshold = float(calibrated.radscore(values).median())
    manifest = replace(
        bundle.manifest,
        threshold=threshold,
        threshold_rule="median radscore of the calibration cohort",
        normalisation={
            "status": "calibrated",
            "rule": "z = (x - mean) / sd with the calibration cohort's mean and sd (ddof=1)",
            "cohort_size": len(combined),
            "cohort_file": Path(source).name if source else None,
            "cohort_file_sha256": _file_sha256(source),
        },
    )
    logger.info("calibrated %s on %d cases; threshold %.4f", manifest.name, len(combined), threshold)
    return ModelBundle(manifest, calibrated).with_file_hashes()


def _file_sha256(source: str | None) -> str | None:
    if not source or not Path(source).is_file():
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()
