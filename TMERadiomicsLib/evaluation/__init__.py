"""Evaluation: AUC with DeLong or bootstrap CI, threshold metrics, calibration, decision curve, Table 1, report.

The decision-curve function is imported from its module
(``evaluation.decision_curve.decision_curve``): exporting it here would give
the package a name its submodule also has.
"""

from .auc import AUCResult, auc_bootstrap, auc_delong, delong_variance
from .calibration import HosmerLemeshow, hosmer_lemeshow
from .decision_curve import DecisionCurve
from .evaluate import EvaluationResult, evaluate
from .metrics import ThresholdMetrics, confusion_metrics, youden_threshold
from .report import write_report

__all__ = [
    "AUCResult",
    "DecisionCurve",
    "EvaluationResult",
    "HosmerLemeshow",
    "ThresholdMetrics",
    "auc_bootstrap",
    "auc_delong",
    "confusion_metrics",
    "delong_variance",
    "evaluate",
    "hosmer_lemeshow",
    "write_report",
    "youden_threshold",
]
