"""Calibration of predicted probabilities: grouped curve and Hosmer-Lemeshow.

Cases are sorted by predicted probability and cut into ``g`` groups of
(nearly) equal size ("deciles of risk"). For each group, O = observed
positives, E = sum of predicted probabilities, n = cases:

    HL = sum_g (O_g - E_g)^2 / (E_g * (1 - E_g / n_g)),   df = g - 2,

p = P(chi2_df > HL). A group whose predictions are all 0 or all 1 has a zero
denominator: its term is 0 when O = E and infinite otherwise (the model was
certain and wrong), so such a test is rejected, never silently passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

DEFAULT_GROUPS = 10
# Fewer than 5 cases per group makes the chi-square approximation meaningless.
MIN_PER_GROUP = 5


@dataclass(frozen=True)
class HosmerLemeshow:
    statistic: float
    dof: int
    p_value: float
    groups: pd.DataFrame  # group, n, mean_predicted, observed_rate, observed, expected

    def as_dict(self) -> dict[str, object]:
        return {
            "statistic": self.statistic,
            "dof": self.dof,
            "p_value": self.p_value,
            "groups": self.groups.to_dict(orient="records"),
        }


def risk_groups(probability: np.ndarray, groups: int) -> list[np.ndarray]:
    """Indices of the cases in each group, lowest predicted risk first."""
    order = np.argsort(np.asarray(probability, dtype=float), kind="mergesort")
    return [chunk for chunk in np.array_split(order, groups) if len(chunk)]


def n_groups(n_cases: int, wanted: int = DEFAULT_GROUPS) -> int:
    """``wanted`` groups, fewer for small cohorts, never below 3 (df >= 1)."""
    return max(3, min(wanted, n_cases // MIN_PER_GROUP))


def hosmer_lemeshow(y_true: np.ndarray, probability: np.ndarray, groups: int | None = None) -> HosmerLemeshow:
    y = np.asarray(y_true).astype(int)
    p = np.asarray(probability, dtype=float)
    g = groups or n_groups(len(y))
    rows, statistic = [], 0.0
    for k, idx in enumerate(risk_groups(p, g)):
        n, observed, expected = len(idx), float(y[idx].sum()), float(p[idx].sum())
        denominator = expected * (1 - expected / n)
        if denominator > 0:
            statistic += (observed - expected) ** 2 / denominator
        elif observed != expected:
            statistic = float("inf")
        rows.append({
            "group": k + 1, "n": n, "mean_predicted": expected / n,
            "observed_rate": observed / n, "observed": observed, "expected": expected,
        })
    table = pd.DataFrame(rows)
    dof = len(table) - 2
    return HosmerLemeshow(float(statistic), dof, float(chi2.sf(statistic, dof)), table)
