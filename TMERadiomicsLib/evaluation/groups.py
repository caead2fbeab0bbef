"""Scores compared across more than two groups: Kruskal-Wallis and pairwise Wilcoxon rank-sum.

Han 2024 compared rad-scores across immunotherapy response categories with
the Kruskal-Wallis test and pairs of categories with the Wilcoxon test.
Kruskal-Wallis is scipy's ``kruskal`` (H with the tie correction, chi-square
with k - 1 df, as R's ``kruskal.test``); each pair is the two-sided
Wilcoxon rank-sum test by R's ``wilcox.test`` rules (``rank_sum.py``: exact
below 50 per group without ties, else the normal approximation with
continuity correction; scipy's own choice differs above 8 per group), with
the method named on each row, reported raw and Holm-adjusted (R's
``pairwise.wilcox.test`` default; Han names no adjustment).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from .rank_sum import wilcoxon_rank_sum


@dataclass(frozen=True)
class KruskalResult:
    statistic: float
    dof: int
    p_value: float
    n_per_group: dict[str, int]


def kruskal_wallis(groups: dict[str, np.ndarray]) -> KruskalResult:
    """Kruskal-Wallis H across the non-empty groups (at least two)."""
    present = {name: np.asarray(v, dtype=float) for name, v in groups.items() if len(v)}
    result = stats.kruskal(*present.values())
    return KruskalResult(float(result.statistic), len(present) - 1, float(result.pvalue),
                         {name: len(v) for name, v in present.items()})


def pairwise_wilcoxon(groups: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per pair of non-empty groups: U (R's W), raw p, its method and Holm-adjusted p."""
    present = {name: np.asarray(v, dtype=float) for name, v in groups.items() if len(v)}
    rows = []
    for a, b in combinations(present, 2):
        result = wilcoxon_rank_sum(present[a], present[b])
        rows.append({"group_a": a, "group_b": b, "n_a": len(present[a]), "n_b": len(present[b]),
                     "U": result.statistic, "p_value": result.p_value, "p_method": result.method})
    table = pd.DataFrame(rows, columns=["group_a", "group_b", "n_a", "n_b", "U", "p_value", "p_method"])
    table["p_holm"] = multipletests(table["p_value"], method="holm")[1] if len(table) else []
    return table
