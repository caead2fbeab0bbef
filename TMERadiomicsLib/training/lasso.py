"""Recipe ``qian2024-lasso``: z-score, 7:3 split, LASSO-logistic with CV, radscore.

Qian et al. 2024 z-score the features, split the cohort 7:3 at random,
select features with "LASSO-logistics regression" in R and report the
coefficients of a radscore. This recipe:

1. splits the cases 7:3, stratified by label, seeded;
2. z-scores with the training part's mean and sd only (ddof=1), so the
   held-out 30% never leaks into the model;
3. runs an L1-penalised *logistic* regression path (the analogue of R's
   ``cv.glmnet(family="binomial")``, which a "LASSO-logistics" model in R
   almost certainly was) over glmnet's default lambda grid: 100 values from
   lambda_max, the smallest lambda keeping every coefficient at zero, down
   to 0.01 * lambda_max (1e-4 when cases outnumber features);
4. picks lambda by stratified k-fold CV on binomial deviance: lambda.min
   minimises the mean CV deviance, lambda.1se is the largest lambda whose
   mean is within one standard error of that minimum (glmnet's rules).
   The default is lambda.1se, the rule ``coef()``/``predict()`` of a
   ``cv.glmnet`` fit use unless told otherwise; ``lambda_rule="min"``
   selects lambda.min;
5. keeps the model at the chosen lambda: its non-zero coefficients are the
   signature, radscore = intercept + sum(coef * z) is the log-odds and the
   logistic function of it the probability. Risk group at probability 0.5.

An L1 logistic path is used rather than ``LassoCV`` (least squares on 0/1
labels) because the paper's model is logistic, and CV deviance is the
criterion glmnet uses for it. sklearn's C is 1 / (n * lambda) for glmnet's
lambda. liblinear penalises the intercept as a feature; a large
``intercept_scaling`` makes that penalty negligible, as glmnet leaves the
intercept unpenalised.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from tqdm import tqdm

from ..errors import InputError
from ..evaluation.auc import auc_delong
from ..evaluation.metrics import confusion_metrics
from ..models.bundle import ModelBundle
from ..models.linear import LinearModel
from ..models.manifest import Manifest
from .data import TrainingSet, regions_of, require_folds, risk_group_names, trained_intended_use

logger = logging.getLogger(__name__)

NAME = "qian2024-lasso"
DEFAULTS = {"test_fraction": 0.3, "cv_folds": 10, "n_lambdas": 100, "lambda_rule": "1se", "threshold": 0.5}
_INTERCEPT_SCALING = 1e3
_TOL = 1e-7


@dataclass(frozen=True)
class LassoPath:
    lambdas: np.ndarray  # decreasing
    cv_mean: np.ndarray
    cv_se: np.ndarray
    n_selected: np.ndarray

    @property
    def lambda_min(self) -> float:
        return float(self.lambdas[int(np.argmin(self.cv_mean))])

    @property
    def lambda_1se(self) -> float:
        best = int(np.argmin(self.cv_mean))
        limit = self.cv_mean[best] + self.cv_se[best]
        return float(self.lambdas[np.flatnonzero(self.cv_mean <= limit)].max())


def fit_lasso_logistic(z: np.ndarray, y: np.ndarray, lam: float, seed: int) -> LogisticRegression:
    """L1 logistic regression at glmnet's lambda (mean-loss scaling).

    liblinear visits coordinates in a random order: the seed makes the fit
    reproducible, and the tight tolerance makes it independent of that order
    to well below the precision any report shows.
    """
    model = LogisticRegression(
        l1_ratio=1.0, C=1.0 / (len(y) * lam), solver="liblinear",
        intercept_scaling=_INTERCEPT_SCALING, max_iter=10000, tol=_TOL, random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(z, y)


def lambda_grid(z: np.ndarray, y: np.ndarray, n_lambdas: int) -> np.ndarray:
    n, p = z.shape
    lambda_max = np.max(np.abs(z.T @ (y - y.mean()))) / n
    ratio = 1e-2 if n < p else 1e-4
    return np.geomspace(lambda_max, lambda_max * ratio, n_lambdas)


def cv_path(z: np.ndarray, y: np.ndarray, folds: int, n_lambdas: int, seed: int, progress: bool = False) -> LassoPath:
    """Mean and standard error of the CV binomial deviance along the path.

    Each fold is z-scored with its own training part's statistics, so the
    CV estimate does not see the held-out fold either.
    """
    lambdas = lambda_grid(z, y, n_lambdas)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    deviance = np.empty((folds, len(lambdas)))
    splits = tqdm(splitter.split(z, y), total=folds, desc="qian2024-lasso CV", disable=None if progress else True)
    for k, (fit_idx, val_idx) in enumerate(splits):
        mean, sd = z[fit_idx].mean(axis=0), z[fit_idx].std(axis=0, ddof=1)
        sd[sd == 0] = 1.0
        z_fit, z_val = (z[fit_idx] - mean) / sd, (z[val_idx] - mean) / sd
        for j, lam in enumerate(lambdas):
            p = fit_lasso_logistic(z_fit, y[fit_idx], lam, seed).predict_proba(z_val)[:, 1]
            p = np.clip(p, 1e-12, 1 - 1e-12)
            deviance[k, j] = -2 * np.mean(y[val_idx] * np.log(p) + (1 - y[val_idx]) * np.log(1 - p))
    n_selected = np.array([np.count_nonzero(fit_lasso_logistic(z, y, lam, seed).coef_) for lam in lambdas])
    se = deviance.std(axis=0, ddof=1) / np.sqrt(folds)
    return LassoPath(lambdas, deviance.mean(axis=0), se, n_selected)


def train_lasso(data: TrainingSet, seed: int, options: dict, progress: bool = False) -> ModelBundle:
    """Run the recipe; see the module docstring."""
    opts = {**DEFAULTS, **options}
    if opts["lambda_rule"] not in ("min", "1se"):
        raise InputError("lambda rule must be 'min' or '1se'", value=opts["lambda_rule"])
    train_idx, test_idx = _split(data, opts["test_fraction"], seed)
    require_folds(data.y[train_idx], data.case_ids[train_idx], opts["cv_folds"], "LASSO cross-validation")
    X_train = data.X.iloc[train_idx]
    mean, sd = X_train.mean(), X_train.std(ddof=1)
    usable = sd.index[sd > 0].tolist()
    if len(usable) < len(sd):
        logger.info("dropping %d candidate features constant in the training part", len(sd) - len(usable))
    z = ((X_train[usable] - mean[usable]) / sd[usable]).to_numpy()
    y_train = data.y[train_idx]
    path = cv_path(z, y_train, opts["cv_folds"], opts["n_lambdas"], seed, progress)
    lam = path.lambda_min if opts["lambda_rule"] == "min" else path.lambda_1se
    final = fit_lasso_logistic(z, y_train, lam, seed)
    chosen = np.flatnonzero(final.coef_[0])
    if chosen.size == 0:
        raise InputError(
            f"LASSO selected no feature at lambda.{opts['lambda_rule']} ({lam:.4g}): the labels are not "
            "predictable from these features at this penalty"
        )
    names = [usable[i] for i in chosen]
    model = LinearModel(
        coefficients={name: float(final.coef_[0][i]) for name, i in zip(names, chosen)},
        intercept=float(final.intercept_[0]),
        mean={n: float(mean[n]) for n in names},
        sd={n: float(sd[n]) for n in names},
    )
    manifest = _manifest(data, model, path, lam, opts, seed, train_idx, test_idx)
    return ModelBundle(manifest, model).with_file_hashes()


def _split(data: TrainingSet, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Two of each class at least, or the stratified split cannot place them.
    require_folds(data.y, data.case_ids, 2, "the stratified 7:3 split")
    index = np.arange(len(data.y))
    return train_test_split(index, test_size=test_fraction, stratify=data.y, random_state=seed)


def _manifest(data, model, path, lam, opts, seed, train_idx, test_idx) -> Manifest:
    performance = {}
    for part, idx in (("training", train_idx), ("testing", test_idx)):
        frame = data.X.iloc[idx]
        prob = model.probability(frame).to_numpy()
        y = data.y[idx]
        entry = {"n": len(idx), **confusion_metrics(y, prob, opts["threshold"]).as_dict()}
        if len(set(y)) == 2:
            entry["auc"] = auc_delong(y, prob).as_dict()
        performance[part] = entry
    features = model.features
    return Manifest(
        name=NAME,
        version="1",
        estimator="linear",
        task={"type": "binary classification", "label": data.labels.definition},
        regions=regions_of(features),
        preset=data.preset,
        required_features=features,
        files={},
        score="probability",
        threshold=float(opts["threshold"]),
        threshold_rule="logistic probability 0.5 (Qian 2024 states no cut-off)",
        risk_groups=risk_group_names(data),
        normalisation={
            "status": "training",
            "rule": "z = (x - mean) / sd of the training part (ddof=1)",
            "cohort_size": len(train_idx),
        },
        intended_use=trained_intended_use(NAME),
        performance=performance,
        provenance={
            "recipe": NAME,
            "seed": seed,
            "options": opts,
            "candidates": data.X.shape[1],
            "lambda_rule": opts["lambda_rule"],
            "lambda_chosen": lam,
            "lambda_min": path.lambda_min,
            "lambda_1se": path.lambda_1se,
            "cv": {
                "lambdas": path.lambdas.tolist(),
                "deviance_mean": path.cv_mean.tolist(),
                "deviance_se": path.cv_se.tolist(),
                "n_selected": path.n_selected.tolist(),
            },
            "training_cases": sorted(data.case_ids[train_idx].tolist()),
            "testing_cases": sorted(data.case_ids[test_idx].tolist()),
        },
    )
