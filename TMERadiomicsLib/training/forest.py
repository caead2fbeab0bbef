"""Recipe ``han2024-rf``: random forest chosen by 5-fold CV, Youden threshold.

Han et al. 2024 train a random forest on the discovery cohort, "fivefold
cross-validation picked the best model", set the threshold by the Youden
index (0.528 in their cohort) and report the 20 most important features
(scikit-learn's importances). The paper names no hyperparameters, so this
recipe searches a small grid (``max_features`` x ``min_samples_leaf``) by
stratified 5-fold CV AUC (mean of the fold AUCs, as GridSearchCV scores).
Youden's threshold is taken on the out-of-fold probabilities of the chosen
configuration, which the CV fits give without extra fits: a forest's
in-sample probabilities separate the training cases almost perfectly, so a
threshold read from them would be meaningless. Importances are the impurity-based
``feature_importances_`` of the refitted forest, as the paper used.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from tqdm import tqdm

from ..evaluation.auc import auc_delong
from ..evaluation.metrics import confusion_metrics, youden_threshold
from ..models.bundle import ModelBundle
from ..models.manifest import Manifest
from .data import TrainingSet, require_folds, risk_group_names, trained_intended_use

logger = logging.getLogger(__name__)

NAME = "han2024-rf"
DEFAULTS = {
    "cv_folds": 5,
    "n_estimators": 300,
    "max_features": ["sqrt", 0.2],
    "min_samples_leaf": [1, 3, 5],
    "top_importances": 20,
}


def train_forest(data: TrainingSet, seed: int, options: dict, progress: bool = False) -> ModelBundle:
    opts = {**DEFAULTS, **options}
    require_folds(data.y, data.case_ids, opts["cv_folds"], f"{opts['cv_folds']}-fold cross-validation")
    X, y = data.X.to_numpy(), data.y
    folds = list(StratifiedKFold(opts["cv_folds"], shuffle=True, random_state=seed).split(X, y))
    grid = list(ParameterGrid({"max_features": list(opts["max_features"]),
                               "min_samples_leaf": list(opts["min_samples_leaf"])}))
    bar = tqdm(total=len(grid) * len(folds), desc="han2024-rf CV", disable=None if progress else True)
    results = [_cross_validate(X, y, folds, params, opts["n_estimators"], seed, bar) for params in grid]
    bar.close()
    # First best on ties, as GridSearchCV ranks them.
    best = int(np.argmax([mean_auc for mean_auc, _ in results]))
    params, oof = grid[best], results[best][1]
    forest = RandomForestClassifier(n_estimators=opts["n_estimators"], random_state=seed, **params).fit(X, y)
    threshold = youden_threshold(y, oof)
    logger.info("han2024-rf: best %s, CV AUC %.3f, Youden threshold %.3f", params, results[best][0], threshold)
    cv_table = [{"params": p, "mean_auc": float(m)} for p, (m, _) in zip(grid, results)]
    manifest = _manifest(data, forest, params, cv_table, oof, threshold, opts, seed)
    return ModelBundle(manifest, forest).with_file_hashes()


def _cross_validate(X, y, folds, params, n_estimators, seed, bar) -> tuple[float, np.ndarray]:
    """Mean fold AUC (the selection criterion) and the out-of-fold probabilities."""
    oof = np.empty(len(y))
    aucs = []
    for fit_idx, val_idx in folds:
        forest = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, **params)
        oof[val_idx] = forest.fit(X[fit_idx], y[fit_idx]).predict_proba(X[val_idx])[:, 1]
        aucs.append(roc_auc_score(y[val_idx], oof[val_idx]))
        bar.update()
    return float(np.mean(aucs)), oof


def _manifest(data, forest, params, cv_table, oof, threshold, opts, seed) -> Manifest:
    names = list(data.X.columns)
    order = np.argsort(forest.feature_importances_)[::-1][: opts["top_importances"]]
    importances = [{"feature": names[i], "importance": float(forest.feature_importances_[i])} for i in order]
    in_sample = forest.predict_proba(data.X.to_numpy())[:, 1]
    performance = {
        "cross_validated": {
            "n": len(data.y),
            "auc": auc_delong(data.y, oof).as_dict(),
            **confusion_metrics(data.y, oof, threshold).as_dict(),
        },
        "training_in_sample": {"n": len(data.y), "auc": auc_delong(data.y, in_sample).as_dict()},
    }
    return Manifest(
        name=NAME,
        version="1",
        estimator="random_forest",
        task={"type": "binary classification", "label": data.labels.definition},
        regions=data.regions,
        preset=data.preset,
        required_features=names,
        files={},
        score="probability",
        threshold=threshold,
        threshold_rule="Youden index on out-of-fold CV probabilities of the training cohort",
        risk_groups=risk_group_names(data),
        normalisation=None,
        intended_use=trained_intended_use(NAME),
        performance=performance,
        provenance={
            "recipe": NAME,
            "seed": seed,
            "options": opts,
            "best_params": params,
            "cv_auc_by_params": cv_table,
            "importances_top": importances,
            "training_cases": sorted(data.case_ids.tolist()),
        },
    )
