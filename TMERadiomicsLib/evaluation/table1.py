"""Table-1 style comparison of two groups with the tests both papers name.

Continuous variables: Shapiro-Wilk in each group; when neither rejects
normality at ``alpha``, Student's independent-samples t-test (summary
mean +- sd), otherwise the two-sided Mann-Whitney U test (summary median
[IQR]) (Qian: t-test/ANOVA or Mann-Whitney U after Shapiro-Wilk; Han:
Student t or Wilcoxon after Shapiro-Wilk). Categorical variables
(non-numeric, or at most ``MAX_LEVELS`` integer levels): Fisher's exact test
(both papers), scipy's exact test for a 2x2 table and the seeded Monte Carlo
r x c test of ``exact.py`` otherwise, whose standard error is in the row
(summary: counts per level).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .exact import fisher_exact_rxc

ALPHA = 0.05
MAX_LEVELS = 5
# Shapiro-Wilk is undefined below 3 values.
MIN_SHAPIRO = 3


def is_categorical(values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        return True
    whole = np.allclose(numeric, np.round(numeric))
    return bool(whole and numeric.nunique() <= MAX_LEVELS)


def compare_groups(table: pd.DataFrame, y: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """One row per variable: test used, statistic, p-value and group summaries."""
    group = np.asarray(y).astype(int)
    rows = []
    for column in columns:
        values = table[column].reset_index(drop=True)
        present = values.notna().to_numpy()
        v, g = values[present], group[present]
        row = _categorical(v, g) if is_categorical(v) else _continuous(v.astype(float).to_numpy(), g)
        rows.append({"variable": column, "n": int(present.sum()), **row})
    return pd.DataFrame(rows)


def two_group_test(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA) -> tuple[str, float, float, list]:
    """(test, statistic, p, Shapiro p of each group): Student t if both look normal, else Mann-Whitney U.

    The rule both papers state (Qian: Shapiro-Wilk, then ANOVA / t-test for
    normal features, Mann-Whitney U for skewed ones; with two groups the
    one-way ANOVA F is t squared and has the same p-value). The Mann-Whitney
    p is scipy's default, not R's rule: exact only when a group has at most 8
    values and there are no ties, otherwise the normal approximation with
    continuity correction (so asymptotic for the training screen's groups of
    ~20; ``rank_sum.wilcoxon_rank_sum`` is R's rule, used for Han's pairwise
    comparisons). Neither paper says which software ran its screen.
    """
    normal_p = [_shapiro(x) for x in (a, b)]
    if all(p is not None and p > alpha for p in normal_p):
        result = stats.ttest_ind(a, b)
        return "Student t-test", float(result.statistic), float(result.pvalue), normal_p
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    return "Mann-Whitney U", float(result.statistic), float(result.pvalue), normal_p


def _continuous(v: np.ndarray, g: np.ndarray) -> dict[str, object]:
    a, b = v[g == 0], v[g == 1]
    test, statistic, p_value, normal_p = two_group_test(a, b)
    if test == "Student t-test":
        summary = lambda x: f"{np.mean(x):.4g} ± {np.std(x, ddof=1):.4g}"
    else:
        summary = lambda x: f"{np.median(x):.4g} [{np.quantile(x, 0.25):.4g}, {np.quantile(x, 0.75):.4g}]"
    return {
        "type": "continuous", "test": test, "statistic": statistic,
        "p_value": p_value, "shapiro_p_group0": normal_p[0], "shapiro_p_group1": normal_p[1],
        "group0": summary(a), "group1": summary(b),
    }


def _shapiro(x: np.ndarray) -> float | None:
    if len(x) < MIN_SHAPIRO or np.ptp(x) == 0:
        return None
    return float(stats.shapiro(x).pvalue)


def _categorical(v: pd.Series, g: np.ndarray) -> dict[str, object]:
    counts = pd.crosstab(v.astype(str).to_numpy(), g)
    counts = counts.reindex(columns=[0, 1], fill_value=0)
    result = fisher_exact_rxc(counts.to_numpy())
    describe = lambda col: "; ".join(f"{level}: {int(n)}" for level, n in counts[col].items())
    return {
        "type": "categorical", "test": result.method, "statistic": result.odds_ratio,
        "p_value": result.p_value, "shapiro_p_group0": None, "shapiro_p_group1": None,
        "group0": describe(0), "group1": describe(1), "mc_standard_error": result.mc_standard_error,
    }
