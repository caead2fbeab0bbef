"""Qian's univariate screen: Shapiro-Wilk, then t-test or Mann-Whitney U, keep p < alpha.

Qian 2024 (Statistical analysis): "we used the SciPy package to test all
features for Shapiro-Wilk normality. Variables meeting normality were
subjected to analysis of variance and independent samples t-tests, while
skewed features were subjected to Mann-Whitney U tests", with p < 0.05
significant, before LASSO. Each feature is compared between the two label
groups of the *training part* only, so the held-out cases never choose the
features (the paper does not say which cases it tested; see docs/models.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..evaluation.table1 import two_group_test

DEFAULT_ALPHA = 0.05


def univariate_screen(X: pd.DataFrame, y: np.ndarray, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """One row per feature: test, statistic, p_value, kept (p < alpha), in the columns' order."""
    group = np.asarray(y).astype(int)
    rows = []
    for name in X.columns:
        values = X[name].to_numpy(dtype=float)
        test, statistic, p_value, _ = two_group_test(values[group == 0], values[group == 1], alpha)
        rows.append({"feature": name, "test": test, "statistic": statistic, "p_value": p_value})
    table = pd.DataFrame(rows, columns=["feature", "test", "statistic", "p_value"])
    table["kept"] = table["p_value"] < alpha
    return table
