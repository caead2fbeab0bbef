"""Han 2024's "z-score (Caret)", read as feature-level z-scoring, cannot change a random forest.

docs/models.md chooses image-level z-scoring as the han2024 default and says
feature-level z-scoring (the training part's mean and sd, as Caret's
``preProcess(method = c("center", "scale"))``) would leave the forest's
predictions unchanged: splits depend only on the order of each feature's
values, which a per-feature increasing affine map keeps. Checked here on
the recipe's forest settings; the test fails if scikit-learn's trees ever
depend on the scale.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier


def test_feature_zscore_leaves_forest_probabilities_unchanged():
    rng = np.random.default_rng(3)
    n, p = 80, 30
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 500, size=p) + rng.uniform(-1e3, 1e3, size=p)
    signal = (X[:, :2] - X[:, :2].mean(axis=0)) / X[:, :2].std(axis=0)
    y = (signal.sum(axis=1) + rng.normal(size=n) > 0).astype(int)
    train, test = np.arange(60), np.arange(60, n)
    mean, sd = X[train].mean(axis=0), X[train].std(axis=0, ddof=1)
    Z = (X - mean) / sd
    raw = RandomForestClassifier(n_estimators=50, min_samples_leaf=3, max_features="sqrt", random_state=0)
    scaled = RandomForestClassifier(n_estimators=50, min_samples_leaf=3, max_features="sqrt", random_state=0)
    p_raw = raw.fit(X[train], y[train]).predict_proba(X[test])[:, 1]
    p_scaled = scaled.fit(Z[train], y[train]).predict_proba(Z[test])[:, 1]
    assert np.array_equal(p_raw, p_scaled)
    assert np.allclose(raw.feature_importances_, scaled.feature_importances_, rtol=0, atol=1e-12)
    assert 0 < p_raw.min() < p_raw.max() < 1  # the forest is not trivial
