"""Calibrating a published linear signature on a reference cohort.

Qian 2024 publishes coefficients on z-scored features but neither the
feature means and standard deviations nor an intercept. Calibration stores
the reference cohort's per-feature mean and sd (ddof=1), a radscore
threshold and the cohort size. Only then does the bundle assign risk groups.

Threshold rules (docs/models.md has the arithmetic):

- ``youden``: the radscore maximising sensitivity + specificity - 1 on the
  reference cohort's labels. Table 3's training operating points imply
  15-16 of 51 cases called high for the peritumoral and combined models
  (specificity 1.000 and 0.962), which a median cut (25-26 of 51) cannot give
  and an optimal cut does; the default when labels are given.
- ``median``: the cohort-median radscore, the only rule a cohort without
  labels allows; the default then.
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
from .manifest import Manifest
from .model_card import with_calibration
from .tables import align, binary_labels, name_list, require_finite, source_of

logger = logging.getLogger(__name__)

# Fewer cases make the mean, sd and median too unstable to call a calibration.
MIN_CALIBRATION_CASES = 10
THRESHOLD_RULES = ("youden", "median")


def calibrate(bundle: ModelBundle, combined: pd.DataFrame, labels: pd.DataFrame | None = None, *,
              label: str | None = None, median_split: bool = False, rule: str | None = None) -> ModelBundle:
    """A copy of ``bundle`` calibrated on the cases of ``combined``.

    ``rule`` is ``youden`` (needs ``labels``) or ``median``; by default
    ``youden`` when labels are given, ``median`` otherwise.
    """
    source = source_of(combined)
    rule = rule or ("youden" if labels is not None else "median")
    if rule not in THRESHOLD_RULES:
        raise InputError(f"threshold rule must be one of {', '.join(THRESHOLD_RULES)}", value=rule)
    if rule == "youden" and labels is None:
        raise InputError("the youden threshold needs the reference cohort's labels (--labels)")
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
    values = bundle.model_inputs(combined)  # a harmonised bundle z-scores the harmonised values
    sd = values.std(ddof=1)
    flat = sorted(sd.index[~(sd > 0)])
    if flat:
        raise InputError(f"features without spread in the calibration cohort: {name_list(flat)}", file=source)
    calibrated = replace(model, mean=values.mean().to_dict(), sd=sd.to_dict())
    radscore = calibrated.radscore(values)
    if rule == "youden":
        threshold = _youden(combined, labels, radscore, label, median_split)
        rule_text = ("Youden index of the radscore on the calibration cohort's labels "
                     "(the observed radscore maximising J, not pROC's midpoint)")
    else:
        threshold = float(radscore.median())
        rule_text = "median radscore of the calibration cohort"
    manifest = replace(
        bundle.manifest,
        threshold=threshold,
        threshold_rule=rule_text,
        normalisation={
            "status": "calibrated",
            "rule": "z = (x - mean) / sd with the calibration cohort's mean and sd (ddof=1)",
            "cohort_size": len(combined),
            "cohort_file": Path(source).name if source else None,
            "cohort_file_sha256": _file_sha256(source),
        },
    )
    logger.info("calibrated %s on %d cases; threshold %.4f", manifest.name, len(combined), threshold)
    # replace(), not a new bundle: whatever else it seals (its ComBat model) stays with it.
    return replace(bundle, manifest=manifest, estimator=calibrated,
                   model_card=_calibrated_card(bundle.model_card, manifest)).with_file_hashes()


def _calibrated_card(card: str | None, manifest: Manifest) -> str | None:
    """The published card with what this calibration changed: statistics, threshold, rule."""
    if card is None:
        return None
    cohort = manifest.normalisation
    source = "a table not read from a file (no file or SHA-256 recorded)"
    if cohort["cohort_file"]:
        digest = cohort["cohort_file_sha256"]
        source = f"`{cohort['cohort_file']}`" + (f" (SHA-256 {digest[:12]}...)" if digest else "")
    return with_calibration(card, [
        f"Calibrated on {cohort['cohort_size']} cases of {source}: the feature means and standard deviations "
        "(ddof=1) of that cohort now z-score every scored case.",
        f"Threshold {manifest.threshold:.4f} on the {manifest.score}: {manifest.threshold_rule}.",
        "Risk groups are relative to this calibration cohort and are not comparable with those of a bundle "
        "calibrated on another cohort; the performance figures above are still the paper's, not this cohort's "
        "(`tmeradiomics evaluate` measures them on a labelled cohort).",
    ])


def _youden(combined: pd.DataFrame, labels: pd.DataFrame, radscore: pd.Series, label: str | None,
            median_split: bool) -> float:
    # Imported here: the evaluation package imports models, so a module-level import would be circular.
    from ..evaluation.metrics import youden_threshold

    scored = combined[["case_id"]].assign(radscore=radscore.to_numpy())
    scored.attrs = dict(combined.attrs)
    scored, labels = align(scored, labels)
    truth = binary_labels(labels, label, median_split)
    return youden_threshold(truth.values.to_numpy(dtype=int), scored["radscore"].to_numpy(dtype=float))


def _file_sha256(source: str | None) -> str | None:
    if not source or not Path(source).is_file():
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()
