"""Threshold metrics and the Youden threshold, from their definitions.

With TP, FP, TN, FN counted at "score >= threshold is positive":
accuracy = (TP+TN)/N, sensitivity = TP/(TP+FN), specificity = TN/(TN+FP),
PPV = TP/(TP+FP), NPV = TN/(TN+FN). A ratio with an empty denominator is
NaN (reported as null), never a made-up 0 or 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import roc_curve


@dataclass(frozen=True)
class ThresholdMetrics:
    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int
    accuracy: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def confusion_metrics(y_true: np.ndarray, score: np.ndarray, threshold: float) -> ThresholdMetrics:
    """Metrics of the rule ``score >= threshold`` predicts class 1."""
    y = np.asarray(y_true).astype(int)
    predicted = np.asarray(score, dtype=float) >= threshold
    tp = int(np.sum(predicted & (y == 1)))
    fp = int(np.sum(predicted & (y == 0)))
    tn = int(np.sum(~predicted & (y == 0)))
    fn = int(np.sum(~predicted & (y == 1)))
    return ThresholdMetrics(
        threshold=float(threshold), tp=tp, fp=fp, tn=tn, fn=fn,
        accuracy=_ratio(tp + tn, len(y)),
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        ppv=_ratio(tp, tp + fp),
        npv=_ratio(tn, tn + fn),
    )


def youden_threshold(y_true: np.ndarray, score: np.ndarray) -> float:
    """The observed score maximising sensitivity + specificity - 1.

    Candidates are the observed scores (sklearn's ROC thresholds without its
    +inf sentinel); ties go to the highest threshold, the first found. This
    is Youden's criterion, but not pROC's reported value: pROC's
    ``coords(roc, "best")`` gives the midpoint between this score and the
    next lower observed one. Both classify every case of the cohort alike
    ("score >= threshold" here, "> midpoint" there); they differ only for a
    new score lying between the two.
    """
    fpr, tpr, thresholds = roc_curve(np.asarray(y_true).astype(int), np.asarray(score, dtype=float))
    finite = np.isfinite(thresholds)
    j = tpr[finite] - fpr[finite]
    return float(thresholds[finite][int(np.argmax(j))])
