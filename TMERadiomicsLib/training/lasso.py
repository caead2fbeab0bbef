"""Recipe ``qian2024-lasso``: regions, ICC, split, univariate screen, z-score, LASSO-logistic.

Qian et al. 2024 keep features with ICC > 0.75, test every feature for
Shapiro-Wilk normality and compare the M2 groups with a t-test/ANOVA
(normal) or Mann-Whitney U (skewed) at p < 0.05, z-score, split the cohort
7:3 at random, select features with "LASSO-logistics regression" in R and
report the coefficients of a radscore for three models: intratumoral,
peritumoral and combined. This recipe runs, each step recorded in
``provenance.steps`` and each optional one switchable off:

0. ``model``: the regions of the model (intratumoral: ``Intra_``,
   peritumoral: ``Peri_``, combined: both; ``Ring_`` never);
   ``icc_filter``: the optional stable-features list;
1. ``split``: the cases 7:3, stratified by label, seeded;
2. ``screen`` (option ``screen``): the univariate screen on the training
   part (``screen.py``), keep p < ``screen_alpha``;
3. ``zscore`` (option ``zscore``): the training part's mean and sd only
   (ddof=1), so the held-out 30% never leaks into the model;
4. ``lasso``: an L1-penalised *logistic* regression path (the analogue of
   R's ``cv.glmnet(family="binomial")``, which a "LASSO-logistics" model in R
   almost certainly was) over glmnet's default lambda grid: 100 values from
   lambda_max, the smallest lambda keeping every coefficient at zero, down
   to 0.01 * lambda_max (1e-4 when cases outnumber features); lambda by
   stratified k-fold CV on binomial deviance: lambda.min minimises the mean
   CV deviance, lambda.1se is the largest lambda whose mean is within one
   standard error of that minimum (glmnet's rules). The stratified folds are
   a departure from ``cv.glmnet``, whose default ``foldid`` is a random,
   unstratified assignment: with ~44 training cases a fold holds ~4, and an
   unstratified fold with one class only would make its deviance say little
   about discrimination. The default is
   lambda.1se, the rule ``coef()``/``predict()`` of a ``cv.glmnet`` fit use
   unless told otherwise; ``lambda_rule="min"`` selects lambda.min;
5. for ``combined`` with ``two_stage``: steps 2-4 per region first, then
   LASSO again on the union of the regions' selections (Table 2's combined
   model is exactly the peritumoral and intratumoral selections with other
   coefficients, which a second fit gives);
6. the model at the chosen lambda: its non-zero coefficients are the
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
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from tqdm import tqdm

from ..errors import InputError
from ..evaluation.auc import auc_bootstrap
from ..evaluation.metrics import confusion_metrics
from ..models.bundle import ModelBundle
from ..models.linear import LinearModel
from ..models.manifest import Manifest
from .data import (
    PREFIX_OF_REGION,
    TrainingSet,
    record_icc_filter,
    regions_of,
    require_folds,
    risk_group_names,
    select_regions,
    trained_intended_use,
)
from .harmonise import FoldValues, harmonise_training_set
from .screen import univariate_screen
from .steps import StepLog

logger = logging.getLogger(__name__)

NAME = "qian2024-lasso"
MODEL_REGIONS = {
    "intratumoral": ["intratumoral"],
    "peritumoral": ["peritumoral"],
    "combined": ["intratumoral", "peritumoral"],
}
DEFAULTS = {
    "model": "combined", "screen": True, "screen_alpha": 0.05, "zscore": True, "two_stage": False,
    "test_fraction": 0.3, "cv_folds": 10, "n_lambdas": 100, "lambda_rule": "1se", "threshold": 0.5,
}
_INTERCEPT_SCALING = 1e3
_TOL = 1e-7
# scikit-learn 1.8 deprecated ``penalty`` in favour of ``l1_ratio``; before 1.8
# ``l1_ratio`` is ignored unless penalty="elasticnet", so the default L2 (ridge)
# would be fitted. Each version gets the spelling it reads as L1.
_SKLEARN_L1_RATIO_FROM = (1, 8)


def sklearn_version() -> tuple[int, int]:
    major, minor = re.match(r"(\d+)\.(\d+)", sklearn.__version__).groups()
    return int(major), int(minor)


def l1_penalty() -> dict[str, object]:
    """The LogisticRegression arguments that mean a pure L1 penalty on this scikit-learn."""
    if sklearn_version() >= _SKLEARN_L1_RATIO_FROM:
        return {"l1_ratio": 1.0}
    return {"penalty": "l1"}


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
        **l1_penalty(), C=1.0 / (len(y) * lam), solver="liblinear",
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


def cv_path(z: np.ndarray, y: np.ndarray, folds: int, n_lambdas: int, seed: int, progress: bool = False,
            standardise: bool = True, fold_values: Callable | None = None) -> LassoPath:
    """Mean and standard error of the CV binomial deviance along the path.

    Each fold is z-scored with its own training part's statistics, so the
    CV estimate does not see the held-out fold either (unless the z-score
    step is switched off: then no fold is standardised). ``fold_values``
    (``fit_idx, val_idx -> fit, val``) gives a fold's values when they depend
    on the fold (ComBat re-fitted on its training cases); a z-score is affine,
    so fold-standardising those raw values equals fold-standardising ``z``.
    """
    lambdas = lambda_grid(z, y, n_lambdas)
    deviance = np.empty((folds, len(lambdas)))
    splits = tqdm(_cv_splits(y, folds, seed), total=folds, desc="qian2024-lasso CV",
                  disable=None if progress else True)
    for k, (fit_idx, val_idx) in enumerate(splits):
        fit, val = (z[fit_idx], z[val_idx]) if fold_values is None else fold_values(fit_idx, val_idx)
        mean, sd = fit.mean(axis=0), fit.std(axis=0, ddof=1)
        sd[sd == 0] = 1.0
        if not standardise:
            mean, sd = np.zeros_like(mean), np.ones_like(sd)
        z_fit, z_val = (fit - mean) / sd, (val - mean) / sd
        for j, lam in enumerate(lambdas):
            p = fit_lasso_logistic(z_fit, y[fit_idx], lam, seed).predict_proba(z_val)[:, 1]
            p = np.clip(p, 1e-12, 1 - 1e-12)
            deviance[k, j] = -2 * np.mean(y[val_idx] * np.log(p) + (1 - y[val_idx]) * np.log(1 - p))
    n_selected = np.array([np.count_nonzero(fit_lasso_logistic(z, y, lam, seed).coef_) for lam in lambdas])
    se = deviance.std(axis=0, ddof=1) / np.sqrt(folds)
    return LassoPath(lambdas, deviance.mean(axis=0), se, n_selected)


def _cv_splits(y: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The lambda CV's stratified folds (they depend on the labels and the seed only)."""
    return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros((len(y), 1)), y))


def train_lasso(data: TrainingSet, seed: int, options: dict, progress: bool = False) -> ModelBundle:
    """Run the recipe; see the module docstring."""
    opts = _options(options)
    log = StepLog()
    record_icc_filter(data, log)
    data = select_regions(data, MODEL_REGIONS[opts["model"]], log)
    train_idx, test_idx = _split(data, opts["test_fraction"], seed)
    log.add("split", data.X.shape[1], data.X.shape[1], training=len(train_idx), testing=len(test_idx),
            test_fraction=opts["test_fraction"], stratified=True)
    require_folds(data.y[train_idx], data.case_ids[train_idx], opts["cv_folds"], "LASSO cross-validation")
    cv_rows = [train_idx[fit] for fit, _ in _cv_splits(data.y[train_idx], opts["cv_folds"], seed)]
    data, harmoniser, combat = harmonise_training_set(data, train_idx, log, fitted_on="training part",
                                                      fold_rows=cv_rows)
    folds = None if harmoniser is None else FoldValues(harmoniser, train_idx)
    X_train, y_train = data.X.iloc[train_idx], data.y[train_idx]
    sd = X_train.std(ddof=1)
    usable = sd.index[sd > 0].tolist()
    if len(usable) < len(sd):
        logger.info("dropping %d candidate features constant in the training part", len(sd) - len(usable))
    log.add("drop_constant", len(sd), len(usable))
    if opts["model"] == "combined" and opts["two_stage"]:
        preselected = []
        for region in MODEL_REGIONS["combined"]:
            prefix = PREFIX_OF_REGION[region]
            stage = _screen_and_lasso(X_train[[c for c in usable if c.startswith(prefix)]], y_train, opts, seed,
                                      progress, log, suffix=f"_{region}", folds=folds)
            preselected += stage.names
        log.add("two_stage_union", len(usable), len(preselected))
        if not preselected:
            raise InputError("two-stage fit: LASSO selected no feature in either region")
        final = _screen_and_lasso(X_train[preselected], y_train, {**opts, "screen": False}, seed, progress, log,
                                  suffix="_stage2", folds=folds)
    else:
        log.skipped("two_stage", len(usable), applies_to="model combined")
        final = _screen_and_lasso(X_train[usable], y_train, opts, seed, progress, log, folds=folds)
    manifest = _manifest(data, final, opts, seed, train_idx, test_idx, log)
    return ModelBundle(manifest, final.model, harmonisation=combat).with_file_hashes()


@dataclass(frozen=True)
class LassoFit:
    names: list[str]
    model: LinearModel
    path: LassoPath
    lam: float


def _screen_and_lasso(X: pd.DataFrame, y: np.ndarray, opts: dict, seed: int, progress: bool, log: StepLog,
                      suffix: str = "", folds: FoldValues | None = None) -> LassoFit:
    """Screen, z-score and LASSO on the training part; the selected features and their model.

    ``folds`` gives each lambda-CV fold its own ComBat-harmonised values (``--harmonise``).
    """
    if opts["screen"]:
        table = univariate_screen(X, y, opts["screen_alpha"])
        kept = table.loc[table["kept"], "feature"].tolist()
        tests = table.loc[table["kept"], "test"].value_counts().to_dict()
        log.add("screen" + suffix, X.shape[1], len(kept), alpha=opts["screen_alpha"],
                rule="Shapiro-Wilk per group; both normal: Student t-test (= one-way ANOVA), else Mann-Whitney U",
                kept_by_test={k: int(v) for k, v in tests.items()})
        if not kept:
            raise InputError(f"the univariate screen{suffix.replace('_', ' ')} kept no feature at "
                             f"p < {opts['screen_alpha']}; raise --screen-p or switch the screen off (--no-screen)",
                             value=f"{X.shape[1]} candidates")
        X = X[kept]
    else:
        log.skipped("screen" + suffix, X.shape[1])
    mean, sd = X.mean(), X.std(ddof=1)
    if opts["zscore"]:
        log.add("zscore" + suffix, X.shape[1], X.shape[1], statistics="training part, ddof=1")
    else:
        log.skipped("zscore" + suffix, X.shape[1])
        mean, sd = mean * 0.0, sd * 0.0 + 1.0
    z = ((X - mean) / sd).to_numpy()
    columns = list(X.columns)
    fold_values = None if folds is None else (lambda fit_idx, val_idx: folds(fit_idx, val_idx, columns))
    path = cv_path(z, y, opts["cv_folds"], opts["n_lambdas"], seed, progress, standardise=opts["zscore"],
                   fold_values=fold_values)
    lam = path.lambda_min if opts["lambda_rule"] == "min" else path.lambda_1se
    fit = fit_lasso_logistic(z, y, lam, seed)
    chosen = np.flatnonzero(fit.coef_[0])
    log.add("lasso" + suffix, X.shape[1], len(chosen), lambda_rule=opts["lambda_rule"], lambda_chosen=lam,
            cv_folds=opts["cv_folds"], n_lambdas=opts["n_lambdas"])
    if chosen.size == 0 and suffix not in ("_intratumoral", "_peritumoral"):
        raise InputError(
            f"LASSO selected no feature at lambda.{opts['lambda_rule']} ({lam:.4g}): the labels are not "
            "predictable from these features at this penalty"
        )
    names = [X.columns[i] for i in chosen]
    model = LinearModel(
        coefficients={name: float(fit.coef_[0][i]) for name, i in zip(names, chosen)},
        intercept=float(fit.intercept_[0]),
        mean={n: float(mean[n]) for n in names},
        sd={n: float(sd[n]) for n in names},
    )
    return LassoFit(names, model, path, lam)


def _options(options: dict) -> dict:
    opts = {**DEFAULTS, **options}
    if opts["lambda_rule"] not in ("min", "1se"):
        raise InputError("lambda rule must be 'min' or '1se'", value=opts["lambda_rule"])
    if opts["model"] not in MODEL_REGIONS:
        raise InputError(f"model must be one of {', '.join(MODEL_REGIONS)}", value=opts["model"])
    if opts["two_stage"] and opts["model"] != "combined":
        raise InputError("the two-stage fit applies to the combined model only", value=opts["model"])
    if not 0.0 < float(opts["screen_alpha"]) <= 1.0:
        raise InputError("the screen's p threshold must lie in (0, 1]", value=opts["screen_alpha"])
    return opts


def _split(data: TrainingSet, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # Two of each class at least, or the stratified split cannot place them.
    require_folds(data.y, data.case_ids, 2, "the stratified 7:3 split")
    index = np.arange(len(data.y))
    return train_test_split(index, test_size=test_fraction, stratify=data.y, random_state=seed)


def _manifest(data, final: LassoFit, opts, seed, train_idx, test_idx, log: StepLog) -> Manifest:
    model, path, lam = final.model, final.path, final.lam
    performance = {}
    for part, idx in (("training", train_idx), ("testing", test_idx)):
        frame = data.X.iloc[idx]
        prob = model.probability(frame).to_numpy()
        y = data.y[idx]
        entry = {"n": len(idx), **confusion_metrics(y, prob, opts["threshold"]).as_dict()}
        if len(set(y)) == 2:
            entry["auc"] = auc_bootstrap(y, prob, seed=seed).as_dict()
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
            "rule": ("z = (x - mean) / sd of the training part (ddof=1)" if opts["zscore"]
                     else "none (z-score step switched off: mean 0, sd 1)"),
            "cohort_size": len(train_idx),
        },
        intended_use=trained_intended_use(NAME),
        performance=performance,
        provenance={
            "recipe": NAME,
            "seed": seed,
            "options": opts,
            "steps": log.as_list(),
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
