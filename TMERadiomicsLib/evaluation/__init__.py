"""Evaluation: AUC with DeLong or bootstrap CI, threshold metrics, calibration, Table 1, report."""

from .auc import AUCResult, auc_bootstrap, auc_delong, delong_variance
from .calibration import HosmerLemeshow, hosmer_lemeshow
from .evaluate import EvaluationResult, evaluate
from .metrics import ThresholdMetrics, confusion_metrics, youden_threshold
from .report import write_report

__all__ = [
    "AUCResult",
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
