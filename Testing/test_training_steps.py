"""The papers' steps in both recipes: regions, ICC, screen, z-score, two-stage, in-CV selection.

Each step is recorded in ``provenance.steps`` with its feature counts, can be
switched off, and is checked here against an independent computation
(scipy for the screen, a leaky selection for the no-leakage claim).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import cli_args, combined_table  # noqa: E402

from TMERadiomicsLib.cli import train_cmd  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.models import load_bundle  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402
from TMERadiomicsLib.training.forest import importance_ranking  # noqa: E402

FAST_LASSO = {"cv_folds": 5, "n_lambdas": 30}
FAST_RF = {"n_estimators": 60, "max_features": ["sqrt"], "min_samples_leaf": [1, 3]}


@pytest.fixture(scope="module")
def tables():
    return combined_table(n=90, n_noise=30, seed=5)


def _steps(bundle) -> list[dict]:
    return bundle.manifest.provenance["steps"]


def _chained(steps: list[dict]) -> None:
    """Each step takes what the step before it gave (the two-stage branches aside)."""
    linear = [s for s in steps if not s["name"].endswith(("_intratumoral", "_peritumoral"))]
    for before, after in zip(linear, linear[1:]):
        if after["name"] not in ("screen_stage2", "two_stage_union"):
            assert after["features_in"] == before["features_out"], (before, after)


@pytest.fixture(scope="module")
def qian(tables):
    return train(*tables, "qian2024-lasso", seed=3, label="state", options=FAST_LASSO)


def test_qian_steps_are_recorded_in_order_with_counts(qian):
    steps = _steps(qian)
    assert [s["name"] for s in steps] == [
        "icc_filter", "regions", "split", "harmonise", "drop_constant", "two_stage", "screen", "zscore", "lasso"]
    _chained(steps)
    by_name = {s["name"]: s for s in steps}
    assert not by_name["icc_filter"]["enabled"] and not by_name["two_stage"]["enabled"]
    assert not by_name["harmonise"]["enabled"]  # no --harmonise: recorded as off
    # 32 columns; combined = Intra_ + Peri_ (10 + 11), never the 11 Ring_ ones.
    assert by_name["regions"]["features_in"] == 32 and by_name["regions"]["features_out"] == 21
    assert by_name["lasso"]["features_out"] == len(qian.required_features)


def test_qian_screen_keeps_what_scipy_finds_significant_on_the_training_part(qian, tables):
    features, labels = tables
    train_ids = set(qian.manifest.provenance["training_cases"])
    part = features[features["case_id"].isin(train_ids)].set_index("case_id")
    y = labels.set_index("case_id").loc[part.index, "state"].to_numpy()
    expected = []
    for column in [c for c in part.columns if c.startswith(("Intra_", "Peri_"))]:
        a, b = part[column].to_numpy()[y == 0], part[column].to_numpy()[y == 1]
        normal = stats.shapiro(a).pvalue > 0.05 and stats.shapiro(b).pvalue > 0.05
        p = stats.ttest_ind(a, b).pvalue if normal else stats.mannwhitneyu(a, b).pvalue
        # With two groups a one-way ANOVA is the t-test: same p.
        if normal:
            assert stats.f_oneway(a, b).pvalue == pytest.approx(p)
        if p < 0.05:
            expected.append(column)
    screen = {s["name"]: s for s in _steps(qian)}["screen"]
    assert screen["features_out"] == len(expected) >= 1
    assert set(qian.required_features) <= set(expected)


@pytest.fixture(scope="module")
def both_regions():
    """Signal in the intratumoral and the peritumoral region."""
    return combined_table(n=90, n_noise=30, seed=8,
                          informative=("Intra_original_firstorder_Mean", "Peri_original_firstorder_Mean"))


def test_qian_model_option_picks_the_regions(both_regions):
    for model, prefix in (("intratumoral", "Intra_"), ("peritumoral", "Peri_")):
        bundle = train(*both_regions, "qian2024-lasso", seed=3, label="state",
                       options={**FAST_LASSO, "model": model, "screen": False})
        regions = {s["name"]: s for s in _steps(bundle)}["regions"]
        assert regions["parameters"]["regions"] == [model]
        assert all(f.startswith(prefix) for f in bundle.required_features)
    with pytest.raises(InputError, match="model must be one of"):
        train(*both_regions, "qian2024-lasso", label="state", options={"model": "ring"})


def test_qian_switched_off_steps_are_recorded_as_such(tables):
    # Features of similar scale, so LASSO on raw values still has a path to walk.
    stable = ["Peri_original_firstorder_Mean", "Intra_original_noise_0", "Peri_original_noise_1"]
    bundle = train(*tables, "qian2024-lasso", seed=3, label="state", stable_features=stable,
                   options={**FAST_LASSO, "screen": False, "zscore": False, "lambda_rule": "min"})
    by_name = {s["name"]: s for s in _steps(bundle)}
    for name in ("screen", "zscore"):
        assert not by_name[name]["enabled"]
        assert by_name[name]["features_in"] == by_name[name]["features_out"] == 3
    # Without the z-score the model works on raw values: mean 0, sd 1.
    assert set(bundle.estimator.mean.values()) == {0.0} and set(bundle.estimator.sd.values()) == {1.0}
    assert "Peri_original_firstorder_Mean" in bundle.required_features


def test_qian_two_stage_refits_on_the_regions_selections(both_regions):
    # Both regions carry signal, so each stage-1 fit selects something.
    features, labels = both_regions
    bundle = train(features, labels, "qian2024-lasso", seed=1, label="state",
                   options={**FAST_LASSO, "two_stage": True})
    by_name = {s["name"]: s for s in _steps(bundle)}
    union = by_name["lasso_intratumoral"]["features_out"] + by_name["lasso_peritumoral"]["features_out"]
    assert by_name["two_stage_union"]["features_out"] == union
    assert by_name["lasso_stage2"]["features_in"] == union
    assert not by_name["screen_stage2"]["enabled"]
    assert {"Intra_original_firstorder_Mean", "Peri_original_firstorder_Mean"} <= set(bundle.required_features)
    with pytest.raises(InputError, match="combined model only"):
        train(features, labels, "qian2024-lasso", label="state", options={"model": "peritumoral", "two_stage": True})


# --- han2024-rf ---------------------------------------------------------------


def test_han_default_regions_are_intratumoral_and_ring(tables):
    bundle = train(*tables, "han2024-rf", seed=2, label="state", options={**FAST_RF, "select_top": 5})
    steps = _steps(bundle)
    # feature_zscore is recorded, switched off, because Han's z-scoring is an
    # assumption the user opts into (train --feature-zscore).
    assert [s["name"] for s in steps] == [
        "icc_filter", "regions", "harmonise", "feature_zscore", "importance_selection", "cv_model_choice",
        "youden_threshold"]
    _chained(steps)
    assert not steps[2]["enabled"] and not steps[3]["enabled"]
    assert steps[1]["parameters"]["regions"] == ["intratumoral", "ring"]
    assert steps[1]["features_out"] == 21 and steps[3]["features_out"] == 21 and steps[4]["features_out"] == 5
    assert len(bundle.required_features) == 5
    assert not any(f.startswith("Peri_") for f in bundle.required_features)
    assert "Ring_original_glcm_Contrast" in bundle.required_features
    assert bundle.estimator.n_features_in_ == 5


def _noise_tables(n: int = 80, p: int = 300, seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)]
    rng.shuffle(y)
    ids = [f"c{i:02d}" for i in range(n)]
    columns = {f"Intra_original_noise_{k}": X[:, k] for k in range(p)}
    features = pd.DataFrame({"case_id": ids, "preset": "t", "preset_sha256": "ab" * 32, **columns})
    return features, pd.DataFrame({"case_id": ids, "state": y}), X, y


def test_han_selection_inside_cv_does_not_leak():
    """Labels are pure noise: the nested CV AUC stays near 0.5, selecting on all cases first does not."""
    features, labels, X, y = _noise_tables()
    options = {"n_estimators": 100, "max_features": ["sqrt"], "min_samples_leaf": [1], "select_top": 10}
    bundle = train(features, labels, "han2024-rf", seed=0, label="state", options=options)
    nested = bundle.manifest.performance["cross_validated"]["auc"]
    assert nested["ci_low"] < 0.5 < nested["ci_high"] and nested["auc"] < 0.6
    # The leaky way: rank on every case, then cross-validate on the chosen columns.
    leaky_columns = importance_ranking(X, y, 10, 100, 0)
    oof = cross_val_predict(RandomForestClassifier(100, random_state=0, max_features="sqrt"), X[:, leaky_columns], y,
                            cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1]
    assert roc_auc_score(y, oof) > 0.75
    assert roc_auc_score(y, oof) - nested["auc"] > 0.2


def test_han_switched_off_steps(tables):
    bundle = train(*tables, "han2024-rf", seed=2, label="state",
                   options={**FAST_RF, "select": False, "youden": False})
    by_name = {s["name"]: s for s in _steps(bundle)}
    assert not by_name["importance_selection"]["enabled"] and not by_name["youden_threshold"]["enabled"]
    assert len(bundle.required_features) == 21 and bundle.manifest.threshold == 0.5


def test_train_cli_flags_reach_the_steps(tables, tmp_path, capsys):
    features, labels = tables
    f, l = tmp_path / "features.csv", tmp_path / "labels.csv"
    features.to_csv(f, index=False)
    labels.to_csv(l, index=False)
    argv = ["train", str(f), str(l), "--recipe", "qian2024-lasso", "--out", str(tmp_path / "q"), "--label", "state",
            "--model", "peritumoral", "--screen-p", "0.01", "--no-zscore"]
    assert train_cmd.run(cli_args(train_cmd, argv)) == 0
    by_name = {s["name"]: s for s in load_bundle(tmp_path / "q").manifest.provenance["steps"]}
    assert by_name["regions"]["parameters"]["regions"] == ["peritumoral"]
    assert by_name["screen"]["parameters"]["alpha"] == 0.01 and not by_name["zscore"]["enabled"]
    bad = ["train", str(f), str(l), "--recipe", "han2024-rf", "--out", str(tmp_path / "h"), "--label", "state",
           "--model", "peritumoral"]
    with pytest.raises(InputError, match="--model applies to qian2024-lasso"):
        train_cmd.run(cli_args(train_cmd, bad))
    assert not (tmp_path / "h").exists()


def test_han_out_of_fold_probabilities_use_each_folds_own_selection(tables):
    """Rebuild the CV by hand: rank on the fold's training part, fit, predict the fold; Youden of that."""
    from TMERadiomicsLib.evaluation import youden_threshold

    options = {"n_estimators": 40, "max_features": ["sqrt"], "min_samples_leaf": [1], "select_top": 4}
    bundle = train(*tables, "han2024-rf", seed=6, label="state", options=options)
    features, labels = tables
    columns = [c for c in features.columns if c.startswith(("Intra_", "Ring_"))]
    X, y = features[columns].to_numpy(), labels["state"].to_numpy()
    oof = np.empty(len(y))
    for fit_idx, val_idx in StratifiedKFold(5, shuffle=True, random_state=6).split(X, y):
        chosen = importance_ranking(X[fit_idx], y[fit_idx], 4, 40, 6)
        forest = RandomForestClassifier(40, random_state=6, max_features="sqrt", min_samples_leaf=1)
        oof[val_idx] = forest.fit(X[np.ix_(fit_idx, chosen)], y[fit_idx]).predict_proba(X[np.ix_(val_idx, chosen)])[:, 1]
    assert bundle.manifest.threshold == pytest.approx(youden_threshold(y, oof))
    assert bundle.manifest.performance["cross_validated"]["auc"]["auc"] == pytest.approx(roc_auc_score(y, oof))
    final = importance_ranking(X, y, 4, 40, 6)
    assert bundle.required_features == [columns[i] for i in final]
