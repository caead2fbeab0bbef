"""The two-sided Wilcoxon rank-sum (Mann-Whitney U) test with R's ``wilcox.test`` rules.

R's ``wilcox.test(x, y)`` (stats package, ``exact = NULL``, ``correct =
TRUE``) computes the exact p-value when both groups have fewer than 50
values and there are no ties. With ties, or with 50 or more in a group, it
uses the normal approximation with the tie-corrected variance and a
continuity correction of 0.5 towards the mean. scipy's ``mannwhitneyu``
decides differently (exact only when a group has at most 8 values), so at
n = 20 and 25 its p-value is asymptotic where R's is exact; this module
chooses the method by R's rule and asks scipy for that method by name.

The statistic is R's W: the U of the first group, sum of its ranks minus
n_a (n_a + 1) / 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

# R's wilcox.test computes exact p-values only when both groups are smaller than this.
R_EXACT_BELOW = 50
EXACT = "exact"
NORMAL = "normal approximation with continuity correction"


@dataclass(frozen=True)
class RankSumResult:
    statistic: float  # R's W: the Mann-Whitney U of the first group
    p_value: float  # two-sided
    method: str  # EXACT or NORMAL


def r_method(a: np.ndarray, b: np.ndarray) -> str:
    """The method R's wilcox.test uses for these two groups (exact = NULL)."""
    values = np.concatenate([a, b])
    ties = len(np.unique(values)) < len(values)
    return EXACT if len(a) < R_EXACT_BELOW and len(b) < R_EXACT_BELOW and not ties else NORMAL


def wilcoxon_rank_sum(a, b) -> RankSumResult:
    """Two-sided rank-sum test of ``a`` against ``b`` as R's ``wilcox.test(a, b)`` computes it."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    method = r_method(a, b)
    if method == EXACT:
        result = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
    else:
        result = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
    return RankSumResult(float(result.statistic), float(min(1.0, result.pvalue)), method)
