"""Evaluating a bundle on a labelled cohort: every number of the report.

``evaluate`` scores the cases, then computes the AUC with its 95% CI
(DeLong, or a stratified bootstrap), the threshold metrics at the bundle's
threshold and at the Youden threshold of this cohort, the calibration curve
with the Hosmer-Lemeshow test and the decision curve (both only when the
bundle gives probabilities), the ROC points and the Table-1 comparison of
the label groups. The result is plain
data; ``report.write_report`` turns it into files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from ..errors import InputError
from ..models.bundle import ModelBundle
from ..models.tables import align, binary_labels, name_list, source_of
from .auc import AUCResult, auc_bootstrap, auc_delong
from .calibration import HosmerLemeshow, hosmer_lemeshow
from .decision_curve import DecisionCurve, decision_curve
from .metrics import ThresholdMetrics, confusion_metrics, youden_threshold
from .table1 import compare_groups

CI_METHODS = ("delong", "bootstrap")
# A radscore is not a risk: turning it into one would need an intercept the bundle does not have.
DCA_NEEDS_PROBABILITIES = ("no decision curve: net benefit needs predicted probabilities (a calibrated risk "
                           "model), and this bundle gives a score only")


def default_ci_method(bundle: ModelBundle) -> str:
    """The CI each paper reports: Qian's are asymmetric (bootstrap), Han's symmetric (DeLong)."""
    return "bootstrap" if bundle.manifest.name.startswith("qian2024") else "delong"


@dataclass(frozen=True)
class EvaluationResult:
    bundle: dict[str, object]  # name, version, score kind, threshold, calibrated
    label: dict[str, object]
    scores: pd.DataFrame  # case_id, label, score, probability, risk_group, status
    auc: AUCResult
    at_bundle_threshold: ThresholdMetrics | None
    at_youden: ThresholdMetrics
    hosmer_lemeshow: HosmerLemeshow | None
    roc: pd.DataFrame  # fpr, tpr, threshold
    table1: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    decision_curve: DecisionCurve | None = None  # None when the bundle gives no probability

    @property
    def n_cases(self) -> int:
        return len(self.scores)


def evaluate(
    bundle: ModelBundle,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    label: str | None = None,
    median_split: bool = False,
    clinical: pd.DataFrame | None = None,
    ci: str | None = None,
    n_bootstrap: int = 2000,
    seed: int = 0,
) -> EvaluationResult:
    """Evaluate ``bundle`` on the cases of ``features`` with ``labels``.

    ``ci`` defaults to the method of the bundle's paper (``default_ci_method``).
    """
    ci = ci or default_ci_method(bundle)
    if ci not in CI_METHODS:
        raise InputError(f"CI method must be one of {CI_METHODS}", value=ci)
    if ci == "bootstrap" and (isinstance(n_bootstrap, bool) or int(n_bootstrap) < 1):
        raise InputError("--n-bootstrap must be at least 1", value=n_bootstrap)
    bundle.check_input(features)
    features, labels = align(features, labels)
    truth = binary_labels(labels, label, median_split)
    scored = bundle.score(features)
    _refuse_unscored(scored, features)
    y = truth.values.to_numpy(dtype=int)
    score = scored[bundle.manifest.score].to_numpy(dtype=float)
    notes = _notes(bundle)
    auc = auc_delong(y, score) if ci == "delong" else auc_bootstrap(y, score, n_resamples=n_bootstrap, seed=seed)
    threshold = bundle.manifest.threshold if bundle.manifest.calibrated else None
    hl = dca = None
    if scored["probability"].notna().all():
        probability = scored["probability"].to_numpy(dtype=float)
        hl = hosmer_lemeshow(y, probability)
        dca = decision_curve(y, probability, n_bootstrap=n_bootstrap, seed=seed,
                             case_ids=scored["case_id"].tolist())
    else:
        notes.append("no calibration curve or Hosmer-Lemeshow test: the bundle gives no probability")
        notes.append(DCA_NEEDS_PROBABILITIES)
    fpr, tpr, cut = roc_curve(y, score)
    scores = scored.assign(label=y, score=score)
    table1 = compare_groups(_table1_inputs(scores, features, bundle, clinical), y,
                            _table1_columns(bundle, clinical))
    return EvaluationResult(
        bundle={
            "name": bundle.manifest.name, "version": bundle.manifest.version,
            "score": bundle.manifest.score, "threshold": threshold,
            "threshold_rule": bundle.manifest.threshold_rule,
            "calibrated": bundle.manifest.calibrated, "risk_groups": bundle.manifest.risk_groups,
            "intended_use": bundle.manifest.intended_use,
            "bundle_sha256": bundle.manifest.digest,  # which exact bundle, as every score row says
        },
        label={**truth.definition, "n_positive": int(y.sum()), "n_negative": int(len(y) - y.sum())},
        scores=scores,
        auc=auc,
        at_bundle_threshold=None if threshold is None else confusion_metrics(y, score, threshold),
        at_youden=confusion_metrics(y, score, youden_threshold(y, score)),
        hosmer_lemeshow=hl,
        roc=pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": cut}),
        table1=table1,
        notes=notes,
        decision_curve=dca,
    )


def _refuse_unscored(scored: pd.DataFrame, features: pd.DataFrame) -> None:
    missing = scored["status"].str.startswith("missing")
    if missing.any():
        raise InputError(
            f"missing feature values in cases {name_list(scored.loc[missing, 'case_id'].tolist())}",
            file=source_of(features),
        )


def _notes(bundle: ModelBundle) -> list[str]:
    notes = ["the Youden threshold is chosen on this cohort, so its metrics are optimistic"]
    if not bundle.manifest.calibrated:
        notes.append(
            "uncalibrated bundle: z-scores from this cohort, no bundle threshold; run tmeradiomics calibrate"
        )
    return notes


def _table1_columns(bundle: ModelBundle, clinical: pd.DataFrame | None) -> list[str]:
    columns = ["score", *bundle.required_features[:20]]
    if clinical is not None:
        columns += [c for c in clinical.columns if c != "case_id"]
    return columns


def _table1_inputs(scores, features, bundle, clinical) -> pd.DataFrame:
    table = pd.concat(
        [scores[["case_id", "score"]], features[bundle.required_features[:20]].reset_index(drop=True)], axis=1
    )
    if clinical is None:
        return table
    if "case_id" not in clinical.columns:
        raise InputError("clinical table has no case_id column", file=source_of(clinical))
    extra = clinical.assign(case_id=clinical["case_id"].astype(str))
    unknown = sorted(set(table["case_id"]) - set(extra["case_id"]))
    if unknown:
        raise InputError(f"clinical table lacks cases {name_list(unknown)}", file=source_of(clinical))
    return table.merge(extra, on="case_id", how="left")
