"""Han 2024's immunotherapy analysis: rad-score against RECIST response and survival.

``analyse_response`` takes per-case scores and a clinical table with a RECIST
1.1 best-response column (CR, PR, SD, PD) and, optionally, survival time and
event columns. It splits the cases at the median score (high / low, as Han
did), gives the AUC (95% CI, p against 0.5) of the score for objective
response (CR+PR vs SD+PD) and for disease control (CR+PR+SD vs PD),
compares scores across the RECIST categories (Kruskal-Wallis, pairwise
Wilcoxon), tabulates response by score group (Fisher's exact test) and draws
Kaplan-Meier curves of the score groups with the log-rank test.
``write_response_report`` writes CSV/JSON and one self-contained HTML page.
"""

from .analysis import RECIST_CODES, ResponseResult, analyse_response
from .report import write_response_report

__all__ = ["RECIST_CODES", "ResponseResult", "analyse_response", "write_response_report"]
