"""LASSO is L1 on every scikit-learn the project allows.

Before scikit-learn 1.8, ``LogisticRegression(l1_ratio=1.0)`` without
``penalty="l1"`` fits a ridge (every coefficient non-zero); from 1.8 on,
``penalty`` is deprecated. These tests run with warnings as errors, so a
spelling that one version ignores or deprecates fails here, and they assert
that a problem with a known sparse support gets exactly that support back.
Run them on the lowest allowed scikit-learn as well (docs/models.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import combined_table  # noqa: E402

from TMERadiomicsLib.training import train  # noqa: E402
from TMERadiomicsLib.training.lasso import fit_lasso_logistic, lambda_grid  # noqa: E402

SUPPORT = [3, 17, 30, 44]
BETA = [3.0, -3.0, 2.5, -2.5]

pytestmark = pytest.mark.filterwarnings("error")


def _sparse_problem(n: int = 200, p: int = 60, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Logistic labels from 4 of 60 standard-normal features."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.zeros(p)
    beta[SUPPORT] = BETA
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ beta))).astype(int)
    return (X - X.mean(axis=0)) / X.std(axis=0, ddof=1), y


@pytest.mark.parametrize("share", [0.5, 0.3])
def test_known_sparse_support_is_recovered(share):
    z, y = _sparse_problem()
    lambda_max = lambda_grid(z, y, 100)[0]
    coef = fit_lasso_logistic(z, y, share * lambda_max, seed=0).coef_[0]
    assert np.flatnonzero(coef).tolist() == SUPPORT
    assert np.sign(coef[SUPPORT]).tolist() == np.sign(BETA).tolist()


def test_small_lambda_is_still_sparse_and_nested():
    z, y = _sparse_problem()
    lambda_max = lambda_grid(z, y, 100)[0]
    # At lambda_max every coefficient is zero (glmnet's definition of the path's start).
    assert np.count_nonzero(fit_lasso_logistic(z, y, lambda_max * 1.001, seed=0).coef_) == 0
    dense = np.flatnonzero(fit_lasso_logistic(z, y, 0.1 * lambda_max, seed=0).coef_[0])
    # A ridge keeps all 60; the L1 fit keeps a handful, the support among them.
    assert set(SUPPORT) <= set(dense.tolist()) and len(dense) <= 15


def test_recipe_on_51_cases_and_200_features_is_sparse():
    """The issue's measurement: 51 x 200 kept 200/200 coefficients on scikit-learn < 1.8."""
    features, labels = combined_table(n=51, n_noise=198, seed=11, effect=2.0)
    bundle = train(features, labels, "qian2024-lasso", seed=0, label="state",
                   options={"cv_folds": 5, "n_lambdas": 30})
    assert 1 <= len(bundle.required_features) <= 15
    assert "Peri_original_firstorder_Mean" in bundle.required_features
