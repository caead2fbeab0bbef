"""Training recipes: what they select, reproducibility and refusals of bad input."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import cli_args, combined_table  # noqa: E402

from TMERadiomicsLib.cli import train_cmd  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.evaluation import youden_threshold  # noqa: E402
from TMERadiomicsLib.models import load_bundle  # noqa: E402
from TMERadiomicsLib.training import read_stable_features, train  # noqa: E402

INFORMATIVE = {"Peri_original_firstorder_Mean", "Ring_original_glcm_Contrast"}
# Qian's models never take Ring_ features; the combined model is Intra_ + Peri_.
QIAN_INFORMATIVE = {"Peri_original_firstorder_Mean"}
# Every region and no selection, so the forest sees the table's informative pair.
FAST_RF = {"n_estimators": 60, "max_features": ["sqrt", 0.5], "min_samples_leaf": [1, 4],
           "regions": ["intratumoral", "peritumoral", "ring"], "select": False}


@pytest.fixture(scope="module")
def tables():
    return combined_table(n=90, n_noise=30, seed=5)


@pytest.fixture(scope="module")
def lasso(tables):
    return train(*tables, "qian2024-lasso", seed=3, label="state")


def test_lasso_selects_the_informative_features(lasso):
    assert QIAN_INFORMATIVE <= set(lasso.required_features)
    assert not any(f.startswith("Ring_") for f in lasso.required_features)
    assert all(lasso.estimator.coefficients[f] > 0 for f in QIAN_INFORMATIVE)
    assert lasso.manifest.performance["testing"]["auc"]["auc"] > 0.8


def test_lasso_split_is_stratified_7_3_and_zscore_uses_training_only(lasso, tables):
    features, labels = tables
    prov = lasso.manifest.provenance
    train_ids, test_ids = set(prov["training_cases"]), set(prov["testing_cases"])
    assert not train_ids & test_ids and len(train_ids | test_ids) == 90
    assert len(test_ids) == 27  # ceil(0.3 * 90)
    positives = set(labels.loc[labels["state"] == 1, "case_id"])
    assert len(test_ids & positives) in (13, 14)
    in_train = features["case_id"].isin(train_ids)
    for name in lasso.required_features:
        assert lasso.estimator.mean[name] == pytest.approx(features.loc[in_train, name].mean())
        assert lasso.estimator.sd[name] == pytest.approx(features.loc[in_train, name].std(ddof=1))
        assert lasso.estimator.mean[name] != pytest.approx(features[name].mean())


def test_lasso_lambda_rules(lasso, tables):
    prov = lasso.manifest.provenance
    assert prov["lambda_rule"] == "1se" and prov["lambda_chosen"] == prov["lambda_1se"]
    assert prov["lambda_1se"] >= prov["lambda_min"]
    cv = prov["cv"]
    best = int(np.argmin(cv["deviance_mean"]))
    assert cv["lambdas"][best] == prov["lambda_min"]
    within = [lam for lam, m in zip(cv["lambdas"], cv["deviance_mean"])
              if m <= cv["deviance_mean"][best] + cv["deviance_se"][best]]
    assert prov["lambda_1se"] == max(within)
    at_min = train(*tables, "qian2024-lasso", seed=3, label="state", options={"lambda_rule": "min"})
    assert len(at_min.required_features) >= len(lasso.required_features)


def test_lasso_is_reproducible_and_seed_matters(lasso, tables):
    again = train(*tables, "qian2024-lasso", seed=3, label="state")
    assert again.estimator == lasso.estimator
    assert again.manifest == lasso.manifest
    other = train(*tables, "qian2024-lasso", seed=4, label="state")
    assert other.manifest.provenance["testing_cases"] != lasso.manifest.provenance["testing_cases"]


def test_median_split_of_continuous_label(tables):
    bundle = train(*tables, "qian2024-lasso", seed=0, label="m2", median_split=True, options={"n_lambdas": 30})
    label = bundle.manifest.task["label"]
    assert label["median"] == pytest.approx(float(np.median(tables[1]["m2"])))
    assert bundle.manifest.risk_groups == ["low m2", "high m2"]


def test_stable_features_restrict_the_candidates(tables, tmp_path):
    listing = tmp_path / "stable.txt"
    listing.write_text("# ICC > 0.75\nPeri_original_firstorder_Mean\nIntra_original_noise_0\n"
                       "Ring_original_glcm_Contrast\n\n")
    stable = read_stable_features(listing)
    bundle = train(*tables, "qian2024-lasso", seed=1, label="state", stable_features=stable,
                   options={"lambda_rule": "min", "n_lambdas": 30, "screen": False})
    assert set(bundle.required_features) <= set(stable)
    # Three listed; the combined model drops the Ring_ one.
    assert bundle.manifest.provenance["candidates"] == 2
    steps = {s["name"]: s for s in bundle.manifest.provenance["steps"]}
    assert steps["icc_filter"]["enabled"] and steps["icc_filter"]["features_in"] == 32
    assert steps["icc_filter"]["features_out"] == 3 and steps["regions"]["features_out"] == 2
    with pytest.raises(InputError, match="Peri_nope"):
        train(*tables, "qian2024-lasso", label="state", stable_features=["Peri_nope"])


@pytest.fixture(scope="module")
def forest(tables):
    return train(*tables, "han2024-rf", seed=2, label="state", options=FAST_RF)


def test_forest_threshold_importances_and_reproducibility(forest, tables):
    manifest = forest.manifest
    top = manifest.provenance["importances_top"]
    assert len(top) == 20
    values = [t["importance"] for t in top]
    assert values == sorted(values, reverse=True)
    assert {t["feature"] for t in top[:2]} == INFORMATIVE
    cv = manifest.performance["cross_validated"]
    assert cv["auc"]["auc"] > 0.8 and cv["threshold"] == manifest.threshold
    assert manifest.provenance["best_params"] in [r["params"] for r in manifest.provenance["cv_auc_by_params"]]
    again = train(*tables, "han2024-rf", seed=2, label="state", options=FAST_RF)
    # skops archives carry a timestamp, so only the file hash may differ.
    assert again.manifest == replace(forest.manifest, files=again.manifest.files)
    features, _ = tables
    assert np.array_equal(again.score(features)["probability"], forest.score(features)["probability"])


def test_forest_feature_zscore_is_recorded_and_scores_raw_features_identically(tables):
    """Caret's feature z-score (option zscore): same forest, same probabilities on raw features."""
    features, _ = tables
    tiny = {**FAST_RF, "n_estimators": 15, "max_features": ["sqrt"], "min_samples_leaf": [2]}
    forest = train(*tables, "han2024-rf", seed=2, label="state", options=tiny)
    scaled = train(*tables, "han2024-rf", seed=2, label="state", options={**tiny, "zscore": True})
    steps = {s["name"]: s for s in scaled.manifest.provenance["steps"]}
    assert steps["feature_zscore"]["enabled"] and not {
        s["name"]: s for s in forest.manifest.provenance["steps"]}["feature_zscore"]["enabled"]
    assert 0.0 < forest.score(features)["probability"].std()  # not a constant forest
    assert np.allclose(scaled.score(features)["probability"], forest.score(features)["probability"], rtol=0, atol=1e-12)
    assert scaled.manifest.threshold == pytest.approx(forest.manifest.threshold, abs=1e-12)
    assert scaled.manifest.performance["cross_validated"]["auc"] == forest.manifest.performance["cross_validated"]["auc"]


def test_forest_threshold_is_youden_of_out_of_fold_probabilities(forest, tables):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    features, labels = tables
    X = features[forest.required_features].to_numpy()
    y = labels["state"].to_numpy()
    oof = cross_val_predict(
        RandomForestClassifier(n_estimators=60, random_state=2, **forest.manifest.provenance["best_params"]),
        X, y, cv=StratifiedKFold(5, shuffle=True, random_state=2), method="predict_proba")[:, 1]
    assert forest.manifest.threshold == pytest.approx(youden_threshold(y, oof))


# --- bad input -----------------------------------------------------------


def _train_cli(tmp_path, features, labels, recipe="qian2024-lasso", label="state"):
    f, l = tmp_path / "features.csv", tmp_path / "labels.csv"
    features.to_csv(f, index=False)
    labels.to_csv(l, index=False)
    argv = ["train", str(f), str(l), "--recipe", recipe, "--out", str(tmp_path / "bundle"), "--label", label]
    return train_cmd.run(cli_args(train_cmd, argv))


def _refused(tmp_path, features, labels, pattern, **extra):
    with pytest.raises(InputError, match=pattern):
        _train_cli(tmp_path, features, labels, **extra)
    assert not (tmp_path / "bundle").exists()
    assert not list(tmp_path.glob(".bundle.partial-*"))


def test_one_class_labels_refused(tables, tmp_path):
    features, labels = tables
    _refused(tmp_path, features, labels.assign(state=1), "one class only")


def test_case_id_mismatch_reports_both_lists(tables, tmp_path):
    features, labels = tables
    labels = labels.copy()
    labels.loc[0, "case_id"] = "stranger"
    _refused(tmp_path, features, labels, "in features only: case000; in labels only: stranger")


def test_nan_features_refused_naming_cases(tables, tmp_path):
    features, labels = tables
    holed = features.copy()
    holed.loc[[3, 7], "Peri_original_firstorder_Mean"] = np.nan
    _refused(tmp_path, holed, labels, r"cases case003, case007 \(columns Peri_original_firstorder_Mean\)")


def test_non_numeric_labels_refused(tables, tmp_path):
    features, labels = tables
    words = labels.assign(state=np.where(labels["state"] == 1, "hot", "cold"))
    _refused(tmp_path, features, words, "must be numeric; non-numeric in cases case000")


def test_non_binary_labels_without_median_split_refused(tables, tmp_path):
    features, labels = tables
    _refused(tmp_path, features, labels, "not 0/1", label="m2")


def test_fewer_cases_than_folds_refused(tables, tmp_path):
    features, labels = tables
    keep = labels.index[(labels["state"] == 0) | (labels.index.isin(labels.index[labels["state"] == 1][:4]))]
    small_f, small_l = features.loc[keep], labels.loc[keep]
    _refused(tmp_path, small_f, small_l, "at least 5 cases of each class; class 1 has 4", recipe="han2024-rf")
    # LASSO's 10 folds run on the 70% training part: 12 cases per class leave 8.
    few = labels.groupby("state").head(12).index
    _refused(tmp_path, features.loc[few], labels.loc[few], "at least 10 cases of each class; class [01] has 8")


def test_train_cli_writes_a_loadable_bundle(tables, tmp_path, capsys):
    features, labels = tables
    assert _train_cli(tmp_path, features, labels) == 0
    bundle = load_bundle(tmp_path / "bundle")
    assert QIAN_INFORMATIVE <= set(bundle.required_features)
    assert '"bundle": "qian2024-lasso"' in capsys.readouterr().out


def test_risk_groups_named_by_the_user_or_made_from_the_label(tables, tmp_path):
    features, labels = tables
    f, l = tmp_path / "features.csv", tmp_path / "labels.csv"
    features.to_csv(f, index=False)
    labels.to_csv(l, index=False)
    argv = ["train", str(f), str(l), "--recipe", "han2024-rf", "--out", str(tmp_path / "named"),
            "--label", "state", "--groups", "cold", "hot"]
    assert train_cmd.run(cli_args(train_cmd, argv)) == 0
    named = load_bundle(tmp_path / "named")
    assert named.manifest.risk_groups == ["cold", "hot"]
    scored = named.score(features)
    probability = scored["probability"].to_numpy()
    expected = ["hot" if p >= named.manifest.threshold else "cold" for p in probability]
    assert list(scored["risk_group"]) == expected
    default = train(features, labels, "qian2024-lasso", label="state")
    assert default.manifest.risk_groups == ["state 0", "state 1"]
    with pytest.raises(InputError, match="two different"):
        train(features, labels, "han2024-rf", label="state", group_names=("hot", "hot"))
