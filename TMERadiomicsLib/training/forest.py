"""Recipe ``han2024-rf``: regions, ICC, importance selection inside 5-fold CV, Youden threshold.

Han et al. 2024 train a random forest on the discovery cohort's intratumoral
and 4 mm ring features (ICC > 0.75), "Feature significance ... enabled the
enhancement of a model via feature selection" (scikit-learn's random-forest
importances), "fivefold cross-validation picked the best model", and the
threshold is the Youden index (0.528 in their cohort). Each step below is
recorded in ``provenance.steps`` and the optional ones can be switched off:

0. ``regions`` (default intratumoral + ring) and the optional ``icc_filter``;
1. ``importance_selection`` (option ``select``): a forest fitted on the
   training cases ranks the features by impurity importance
   (``feature_importances_``) and the top ``select_top`` are kept. Inside the
   cross-validation this ranking is redone on each fold's training part
   only, so the held-out fold never chooses the features it is scored on
   (selecting on all cases first would make the CV AUC optimistic; tested);
2. ``cv_model_choice``: the paper names no hyperparameters, so a small grid
   (``max_features`` x ``min_samples_leaf``) is searched by stratified
   5-fold CV AUC (mean of the fold AUCs, as GridSearchCV scores; first best
   on ties); the chosen configuration is refitted on all cases after the
   selection is redone on all cases;
3. ``youden_threshold`` (option ``youden``; off: 0.5): Youden's index on the
   out-of-fold probabilities of the chosen configuration, which the CV fits
   give without extra fits: a forest's in-sample probabilities separate the
   training cases almost perfectly, so a threshold read from them would be
   meaningless.

The 20 largest importances of the final forest are recorded, as the paper
reports them (its Table S8).

Option ``zscore`` (default off): Han's "Z-score (Caret package)" read as
feature-level standardisation, as Caret's ``preProcess(method = c("center",
"scale"))`` does: every candidate feature is z-scored with the training
cases' mean and sd (ddof=1; a constant feature keeps sd 1) before step 1,
and the final forest's split thresholds are mapped back to raw units, so the
bundle scores raw features like any other. A forest's splits depend only on
the order of each feature's values, so the option gives the same forest and
the same probabilities (tested); it exists to follow that reading of the
paper on the record. The default follows the text, which z-scores the images
(the ``han2024`` preset's ``normalize``; docs/features.md).
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import ParameterGrid, StratifiedKFold
from tqdm import tqdm

from ..errors import InputError
from ..evaluation.auc import auc_delong
from ..evaluation.metrics import confusion_metrics, youden_threshold
from ..models.bundle import ModelBundle
from ..models.manifest import Manifest
from .data import (
    TrainingSet,
    record_icc_filter,
    regions_of,
    require_folds,
    risk_group_names,
    select_regions,
    trained_intended_use,
)
from .harmonise import FoldValues, harmonise_training_set
from .steps import StepLog

logger = logging.getLogger(__name__)

NAME = "han2024-rf"
DEFAULTS = {
    "regions": ["intratumoral", "ring"],
    "select": True,
    "select_top": 20,
    "youden": True,
    "cv_folds": 5,
    "n_estimators": 300,
    "max_features": ["sqrt", 0.2],
    "min_samples_leaf": [1, 3, 5],
    "top_importances": 20,
    "zscore": False,
}


def importance_ranking(X: np.ndarray, y: np.ndarray, top: int, n_estimators: int, seed: int) -> np.ndarray:
    """Column indices of the ``top`` most important features (impurity importance), best first."""
    forest = RandomForestClassifier(n_estimators=n_estimators, random_state=seed).fit(X, y)
    # Stable sort on the negated importances: ties keep column order, so the choice is reproducible.
    return np.argsort(-forest.feature_importances_, kind="stable")[:top]


def train_forest(data: TrainingSet, seed: int, options: dict, progress: bool = False) -> ModelBundle:
    opts = {**DEFAULTS, **options}
    if int(opts["select_top"]) < 1:
        raise InputError("--select-top must be at least 1", value=opts["select_top"])
    log = StepLog()
    record_icc_filter(data, log)
    data = select_regions(data, list(opts["regions"]), log)
    require_folds(data.y, data.case_ids, opts["cv_folds"], f"{opts['cv_folds']}-fold cross-validation")
    folds = list(StratifiedKFold(opts["cv_folds"], shuffle=True, random_state=seed).split(data.X, data.y))
    every_case = np.arange(len(data.y))
    data, harmoniser, combat = harmonise_training_set(data, every_case, log, fitted_on="every case",
                                                      fold_rows=[fit_idx for fit_idx, _ in folds])
    X, y = data.X.to_numpy(), data.y
    n_features = X.shape[1]
    X, scaling = _feature_zscore(X, opts["zscore"], log)
    top = min(int(opts["select_top"]), n_features)
    fold_data = _fold_data(X, folds, harmoniser, scaling, list(data.X.columns))
    # The selection of each fold, from its training part only (no leakage into the fold's score).
    fold_columns = [_selected(fit, y[fit_idx], top, opts, seed) for (fit, _), (fit_idx, _) in zip(fold_data, folds)]
    grid = list(ParameterGrid({"max_features": list(opts["max_features"]),
                               "min_samples_leaf": list(opts["min_samples_leaf"])}))
    bar = tqdm(total=len(grid) * len(folds), desc="han2024-rf CV", disable=None if progress else True)
    results = [_cross_validate(fold_data, y, folds, fold_columns, params, opts["n_estimators"], seed, bar)
               for params in grid]
    bar.close()
    best = int(np.argmax([mean_auc for mean_auc, _ in results]))
    params, oof = grid[best], results[best][1]
    columns = _selected(X, y, top, opts, seed)
    _log_selection(log, opts, n_features, columns, top, fold_columns)
    log.add("cv_model_choice", len(columns), len(columns), folds=opts["cv_folds"], best_params=params,
            best_mean_auc=float(results[best][0]), grid_size=len(grid),
            best_mean_auc_is=OPTIMISTIC)
    forest = RandomForestClassifier(n_estimators=opts["n_estimators"], random_state=seed, **params)
    forest.fit(X[:, columns], y)
    if scaling is not None:
        _thresholds_to_raw_units(forest, *(stat[columns] for stat in scaling))
    if opts["youden"]:
        threshold = youden_threshold(y, oof)
        log.add("youden_threshold", len(columns), len(columns), threshold=threshold,
                on="out-of-fold CV probabilities")
    else:
        threshold = 0.5
        log.skipped("youden_threshold", len(columns), threshold=threshold)
    logger.info("han2024-rf: best %s, CV AUC %.3f, threshold %.3f", params, results[best][0], threshold)
    cv_table = [{"params": p, "mean_auc": float(m)} for p, (m, _) in zip(grid, results)]
    names = [data.X.columns[i] for i in columns]
    manifest = _manifest(data, names, forest, params, cv_table, oof, threshold, opts, seed, log)
    return ModelBundle(manifest, forest, harmonisation=combat).with_file_hashes()


def _fold_data(X: np.ndarray, folds, harmoniser, scaling, columns: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each fold's training and validation values; with ``--harmonise``, by ComBat re-fitted on the fold."""
    if harmoniser is None:
        return [(X[fit_idx], X[val_idx]) for fit_idx, val_idx in folds]
    values = FoldValues(harmoniser, np.arange(len(X)))
    out = []
    for fit_idx, val_idx in folds:
        fit, val = values(fit_idx, val_idx, columns)
        if scaling is not None:  # the same feature z-score as every other value of this run
            fit, val = (fit - scaling[0]) / scaling[1], (val - scaling[0]) / scaling[1]
        out.append((fit, val))
    return out


def _feature_zscore(X: np.ndarray, enabled: bool, log: StepLog):
    """Caret-style centring and scaling of every feature by the training cases (option ``zscore``)."""
    if not enabled:
        log.skipped("feature_zscore", X.shape[1])
        return X, None
    mean = X.mean(axis=0)
    sd = X.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)  # a constant feature stays constant (Caret would divide by 0)
    log.add("feature_zscore", X.shape[1], X.shape[1], statistics="training cases, ddof=1",
            stored="split thresholds mapped back to raw units")
    return (X - mean) / sd, (mean, sd)


def _thresholds_to_raw_units(forest: RandomForestClassifier, mean: np.ndarray, sd: np.ndarray) -> None:
    """Make a forest fitted on z-scores take raw features: threshold t on z is t * sd + mean on x."""
    for tree in forest.estimators_:
        nodes = tree.tree_
        split = nodes.feature >= 0  # leaves carry feature -2 and no threshold
        thresholds = nodes.threshold  # a writable view of the tree's own array
        thresholds[split] = thresholds[split] * sd[nodes.feature[split]] + mean[nodes.feature[split]]


# The grid's best CV AUC was chosen on the very folds it is measured on (no nested CV).
OPTIMISTIC = ("optimistic: the best of the grid's configurations on the folds that chose it (not nested CV); "
              "cases the model never saw give the unbiased estimate")


def _selected(X: np.ndarray, y: np.ndarray, top: int, opts: dict, seed: int) -> np.ndarray:
    if not opts["select"]:
        return np.arange(X.shape[1])
    return importance_ranking(X, y, top, opts["n_estimators"], seed)


def _log_selection(log: StepLog, opts: dict, n_in: int, final: np.ndarray, top: int, fold_columns) -> None:
    if not opts["select"]:
        log.skipped("importance_selection", n_in)
        return
    log.add("importance_selection", n_in, len(final), top=top, importance="impurity (feature_importances_)",
            inside_cv="re-ranked on each fold's training part",
            folds_sharing_final_top=[len(set(c.tolist()) & set(final.tolist())) for c in fold_columns])


def _cross_validate(fold_data, y, folds, fold_columns, params, n_estimators, seed, bar) -> tuple[float, np.ndarray]:
    """Mean fold AUC (the selection criterion) and the out-of-fold probabilities."""
    oof = np.empty(len(y))
    aucs = []
    for (fit, val), (fit_idx, val_idx), columns in zip(fold_data, folds, fold_columns):
        forest = RandomForestClassifier(n_estimators=n_estimators, random_state=seed, **params)
        forest.fit(fit[:, columns], y[fit_idx])
        oof[val_idx] = forest.predict_proba(val[:, columns])[:, 1]
        aucs.append(roc_auc_score(y[val_idx], oof[val_idx]))
        bar.update()
    return float(np.mean(aucs)), oof


def _manifest(data, names, forest, params, cv_table, oof, threshold, opts, seed, log) -> Manifest:
    order = np.argsort(-forest.feature_importances_, kind="stable")[: opts["top_importances"]]
    importances = [{"feature": names[i], "importance": float(forest.feature_importances_[i])} for i in order]
    in_sample = forest.predict_proba(data.X[names].to_numpy())[:, 1]
    performance = {
        "cross_validated": {
            "optimistic": OPTIMISTIC,
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
        regions=regions_of(names),
        preset=data.preset,
        required_features=names,
        files={},
        score="probability",
        threshold=threshold,
        threshold_rule=("Youden index on out-of-fold CV probabilities of the training cohort (the observed "
                         "probability maximising J, not pROC's midpoint)" if opts["youden"]
                        else "probability 0.5 (Youden step switched off)"),
        risk_groups=risk_group_names(data),
        normalisation=None,
        intended_use=trained_intended_use(NAME),
        performance=performance,
        provenance={
            "recipe": NAME,
            "seed": seed,
            "options": opts,
            "steps": log.as_list(),
            "candidates": data.X.shape[1],
            "best_params": params,
            "cv_auc_by_params": cv_table,
            "importances_top": importances,
            "training_cases": sorted(data.case_ids.tolist()),
        },
    )
