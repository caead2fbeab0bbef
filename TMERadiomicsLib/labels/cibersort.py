"""CIBERSORT v1.04 deconvolution on a signature matrix the user supplies.

A re-implementation of the published R script (Newman et al. 2015,
``CIBERSORT.R`` v1.04) step for step, on scikit-learn's ``NuSVR`` (the same
libsvm solver as R's e1071). LM22 and the R script are not redistributable:
the signature is always read from the user's path.

Steps, as in the R code:

1. genes sorted by name; mixture anti-logged (``2**Y``) when its maximum is
   below 50; optional quantile normalisation of the mixture (preprocessCore's
   ``normalize.quantiles``, ties averaged);
2. ``Ymedian = max(median(all mixture values), 1)`` kept for absolute mode;
3. genes intersected; signature z-scored globally (one mean, one sd with
   ddof=1 over the whole matrix); each mixture sample z-scored over the
   common genes (ddof=1);
4. linear nu-SVR with nu in 0.25/0.5/0.75 (C=1, tol=1e-3, float64); weights
   ``coefs @ SV``, negatives set to 0, normalised to sum 1; RMSE and Pearson
   r of ``X @ w`` against ``y``; the nu with the lowest RMSE wins. The SVR
   is libsvm's (``NuSVR``) by default; ``solver="qp"`` solves the same
   problem exactly with ``nusvr_qp`` instead, 20-50x faster;
5. permutation null: ``nrow(X)`` values drawn *without replacement* from all
   values of the intersected mixture matrix, z-scored, run through step 4;
   p = 1 - (first index of the null r closest to the sample's r) / n_perm,
   over the ascending-sorted null (1-based index, as R's ``which.min``);
6. absolute mode: ``sig.score`` multiplies the fractions by
   ``median(sample over signature genes) / Ymedian``; ``no.sumto1`` keeps the
   un-normalised non-negative weights. The absolute score is their sum.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import NuSVR

from ..errors import InputError
from .nusvr_qp import QPNotConverged, nusvr_linear_weights_batch

log = logging.getLogger(__name__)

NUS = (0.25, 0.5, 0.75)
ANTILOG_BELOW = 50.0
ABS_METHODS = ("sig.score", "no.sumto1")
SOLVERS = ("libsvm", "qp")
_BLOCK = 16
_QP_BLOCK = 128


@dataclass(frozen=True)
class CibersortResult:
    """Per-sample fractions (index: sample / case ID) and how they were obtained."""

    fractions: pd.DataFrame
    diagnostics: pd.DataFrame  # p_value, correlation, rmse, nu[, absolute_score]
    info: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray  # non-negative, not yet normalised
    rmse: float
    r: float
    nu: float


def quantile_normalize(values: np.ndarray) -> np.ndarray:
    """preprocessCore ``normalize.quantiles``: columns share one distribution.

    The target is the mean of the sorted columns. Tied values get the target
    at their average rank, interpolated between neighbours when that rank
    falls half-way, as preprocessCore does.
    """
    target = np.sort(values, axis=0).mean(axis=1)
    ranks = rankdata(values, method="average", axis=0) - 1.0
    positions = np.arange(values.shape[0], dtype=np.float64)
    return np.interp(ranks, positions, target)


def _zscore(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std(ddof=1)


def svr_weights(X: np.ndarray, y: np.ndarray, nu: float) -> np.ndarray:
    """Linear nu-SVR weights ``coefs @ SV`` from libsvm (scikit-learn's NuSVR)."""
    with warnings.catch_warnings():
        # libsvm's iteration cap message; R's e1071 has no such cap and says nothing.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = NuSVR(kernel="linear", nu=nu, C=1.0, tol=1e-3, shrinking=True).fit(X, y)
    return model.coef_.ravel()


def _evaluate(X: np.ndarray, y: np.ndarray, coef: np.ndarray, nu: float) -> _Fit:
    """CIBERSORT's per-nu step: zero the negative weights, RMSE and r of the fit."""
    weights = np.clip(coef, 0.0, None)
    total = weights.sum()
    if total <= 0:
        return _Fit(weights, np.inf, np.nan, nu)
    predicted = X @ (weights / total)
    rmse = float(np.sqrt(np.mean((predicted - y) ** 2)))
    r = float(np.corrcoef(predicted, y)[0, 1])
    return _Fit(weights, rmse, r, nu)


def _best(fits: list[_Fit]) -> _Fit:
    """The lowest RMSE wins; on a tie the first (smaller nu), as R's which.min."""
    return min(fits, key=lambda fit: fit.rmse)


def core_fit(X: np.ndarray, y: np.ndarray) -> _Fit:
    """CIBERSORT's ``CoreAlg`` on libsvm for one standardised mixture ``y``."""
    return _best([_evaluate(X, y, svr_weights(X, y, nu), nu) for nu in NUS])


def _fit_columns(X: np.ndarray, Y: np.ndarray, solver: str) -> list[_Fit]:
    """``CoreAlg`` for every column of ``Y`` (raw values; standardised here)."""
    Yz = np.column_stack([_zscore(Y[:, j]) for j in range(Y.shape[1])]) if Y.size else Y
    if solver == "libsvm":
        return [core_fit(X, Yz[:, j]) for j in range(Yz.shape[1])]
    coefs = _qp_coefs(X, Yz)
    return [_best([_evaluate(X, Yz[:, j], coefs[i, j], nu) for i, nu in enumerate(NUS)])
            for j in range(Yz.shape[1])]


def _qp_coefs(X: np.ndarray, Yz: np.ndarray) -> np.ndarray:
    """Weights (nu, sample, cell) from the batched QP; libsvm for any problem it cannot finish."""
    problems = np.tile(Yz.T, (len(NUS), 1))
    nus = np.repeat(NUS, Yz.shape[1])
    try:
        coefs = nusvr_linear_weights_batch(X, problems, nus)
    except QPNotConverged as error:
        log.warning("%s; libsvm solves those instead", error)
        coefs = error.weights
        for row in error.failed:
            coefs[row] = svr_weights(X, problems[row], nus[row])
    return coefs.reshape(len(NUS), Yz.shape[1], X.shape[1])


def fit_all(X: np.ndarray, Y: np.ndarray, n_jobs: int = 1, progress: Callable[[int], object] | None = None,
            solver: str = "libsvm") -> list[_Fit]:
    """``CoreAlg`` on every column of ``Y``, in blocks over ``n_jobs`` processes.

    libsvm needs 10^5-10^6 SMO iterations per fit on a rank-22 linear
    kernel, so samples are the unit of parallel work; the QP solves a block
    of samples x nu values as one batch.
    """
    size = _BLOCK if solver == "libsvm" else _QP_BLOCK
    blocks = np.array_split(np.arange(Y.shape[1]), max(1, int(np.ceil(Y.shape[1] / size))))
    fits: list[_Fit] = []
    with Parallel(n_jobs=n_jobs, return_as="generator") as parallel:
        for block_fits in parallel(delayed(_fit_columns)(X, Y[:, b], solver) for b in blocks):
            fits.extend(block_fits)
            if progress is not None:
                progress(len(block_fits))
    return fits


def permutation_null(X: np.ndarray, pool: np.ndarray, n_perm: int, rng: np.random.Generator,
                     n_jobs: int = 1, solver: str = "libsvm") -> np.ndarray:
    """Sorted correlations of random mixtures (draws without replacement)."""
    draws = np.stack([pool[rng.choice(pool.size, size=X.shape[0], replace=False)] for _ in range(n_perm)], axis=1)
    null = np.array([fit.r for fit in fit_all(X, draws, n_jobs, solver=solver)])
    failed = ~np.isfinite(null)
    if failed.any():
        # Every nu gave all-negative weights: R's CoreAlg would stop with an error here.
        log.warning("%d of %d permutations had no positive SVR weight and were left out", failed.sum(), n_perm)
    if failed.all():
        raise InputError("no permutation gave a usable fit; the p-values cannot be computed")
    return np.sort(null[~failed])


def permutation_p(null: np.ndarray, r: float) -> float:
    """CIBERSORT's ``1 - which.min(abs(nulldist - r)) / length(nulldist)``."""
    return float(1.0 - (np.argmin(np.abs(null - r)) + 1) / null.size)


def prepare(mixture: pd.DataFrame, signature: pd.DataFrame,
            quantile_norm: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Steps 1-3 up to (not including) the z-scores; returns Y, X and facts."""
    _check_inputs(mixture, signature)
    Y = mixture.sort_index()
    X = signature.sort_index()
    anti_logged = bool(Y.to_numpy().max() < ANTILOG_BELOW)
    if anti_logged:
        Y = np.exp2(Y)
    elif (Y.to_numpy() < 0).any():
        _raise_negative(Y)
    if quantile_norm:
        Y = pd.DataFrame(quantile_normalize(Y.to_numpy()), index=Y.index, columns=Y.columns)
    info = {"anti_logged": anti_logged, "quantile_normalized": bool(quantile_norm),
            "mixture_median": max(float(np.median(Y.to_numpy())), 1.0)}
    common = Y.index.intersection(X.index)
    info.update(genes_signature=int(X.shape[0]), genes_matched=int(common.size))
    if common.size == 0:
        raise InputError(f"no gene of the signature (0 of {X.shape[0]}) is in the expression matrix "
                         f"({Y.shape[0]} genes); check the gene identifiers",
                         value=list(X.index[:3]))
    if common.size < X.shape[0] / 2:
        log.warning("only %d of %d signature genes are in the expression matrix", common.size, X.shape[0])
    return Y.loc[common], X.loc[common], info


def _check_inputs(mixture: pd.DataFrame, signature: pd.DataFrame) -> None:
    for name, table in (("expression", mixture), ("signature", signature)):
        if not table.index.is_unique:
            raise InputError(f"{name} matrix has duplicated gene symbols; collapse them first",
                             value=list(table.index[table.index.duplicated()][:5]))
        if not np.isfinite(table.to_numpy(dtype=np.float64)).all():
            raise InputError(f"{name} matrix holds missing or infinite values")
    if (signature.to_numpy() < 0).any():
        raise InputError("signature matrix holds negative values; it must be linear-scale expression")


def _raise_negative(Y: pd.DataFrame) -> None:
    rows, cols = np.nonzero(Y.to_numpy() < 0)
    raise InputError(
        f"negative expression for gene {Y.index[rows[0]]} (maximum {Y.to_numpy().max():g} >= 50 means "
        "linear scale, where values cannot be negative); give linear or log2 expression",
        case=str(Y.columns[cols[0]]), value=Y.iat[rows[0], cols[0]])


def cibersort(
    mixture: pd.DataFrame,
    signature: pd.DataFrame,
    *,
    perm: int = 0,
    quantile_norm: bool = True,
    absolute: bool = False,
    abs_method: str = "sig.score",
    seed: int | None = 0,
    n_jobs: int = 1,
    solver: str = "libsvm",
    progress: Callable[[int], object] | None = None,
) -> CibersortResult:
    """Run CIBERSORT v1.04 on a genes x samples mixture and a genes x cells signature.

    ``perm`` permutations (>= 100 recommended by the authors) give p-values;
    with 0 the p-value column is NaN (R writes 9999). ``progress`` is an
    optional callable taking one int (samples done), e.g. ``tqdm.update``;
    ``n_jobs`` processes share the SVR fits. ``seed`` fixes the permutation
    draws (numpy's generator, so not R's random stream). ``solver``: "libsvm"
    (scikit-learn's NuSVR, as R's e1071) or "qp" (the same problem solved
    exactly by ``nusvr_qp``, 20-50x faster; see docs/labels.md).
    """
    if absolute and abs_method not in ABS_METHODS:
        raise InputError(f"abs_method must be one of {ABS_METHODS}", value=abs_method)
    if solver not in SOLVERS:
        raise InputError(f"solver must be one of {SOLVERS}", value=solver)
    if perm < 0:
        raise InputError("number of permutations must be >= 0", value=perm)
    Y, X, info = prepare(mixture, signature, quantile_norm)
    Xz = _zscore(X.to_numpy(dtype=np.float64))
    if not np.isfinite(Xz).all():
        raise InputError("signature matrix has zero variance over the matched genes")
    Yv = Y.to_numpy(dtype=np.float64)
    _check_sample_variance(Y)
    rng = np.random.default_rng(seed)
    null = permutation_null(Xz, Yv.ravel(), perm, rng, n_jobs, solver) if perm else None
    rows, diag = [], []
    for j, fit in enumerate(fit_all(Xz, Yv, n_jobs, progress, solver)):
        rows.append(_output_weights(fit, Yv[:, j], info["mixture_median"], absolute, abs_method))
        diag.append(_diagnostics(fit, null, absolute, rows[-1]))
    index = pd.Index(Y.columns.astype(str), name="case_id")
    info.update(permutations=int(perm), absolute=bool(absolute), abs_method=abs_method if absolute else None,
                nus=list(NUS), seed=seed, solver=solver)
    fractions = pd.DataFrame(rows, index=index, columns=X.columns.astype(str))
    return CibersortResult(fractions, pd.DataFrame(diag, index=index), info)


def _check_sample_variance(Y: pd.DataFrame) -> None:
    flat = Y.columns[np.ptp(Y.to_numpy(), axis=0) == 0]
    if len(flat):
        raise InputError(f"sample has the same expression for all {Y.shape[0]} signature genes "
                         f"(zero variance); {len(flat)} such sample(s)", case=str(flat[0]))


def _output_weights(fit: _Fit, y_raw: np.ndarray, y_median: float, absolute: bool, method: str) -> np.ndarray:
    total = fit.weights.sum()
    if total <= 0:
        log.warning("all SVR weights were negative for one sample; fractions set to 0")
        return np.zeros_like(fit.weights)
    if absolute and method == "no.sumto1":
        return fit.weights
    fractions = fit.weights / total
    if absolute:
        return fractions * np.median(y_raw) / y_median
    return fractions


def _diagnostics(fit: _Fit, null: np.ndarray | None, absolute: bool, weights: np.ndarray) -> dict:
    row = {"p_value": permutation_p(null, fit.r) if null is not None else np.nan,
           "correlation": fit.r, "rmse": fit.rmse, "nu": fit.nu}
    if absolute:
        row["absolute_score"] = float(weights.sum())
    return row
