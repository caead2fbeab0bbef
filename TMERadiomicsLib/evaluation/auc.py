"""AUC with a 95% confidence interval: DeLong's variance, or a bootstrap.

DeLong, DeLong & Clarke-Pearson (1988) via structural components: for m
positives X and n negatives Y, with psi(x, y) = 1 if x > y, 1/2 if tied, 0
otherwise, V10(X_i) = mean_j psi(X_i, Y_j), V01(Y_j) = mean_i psi(X_i, Y_j),
AUC = mean(V10), var = var(V10)/m + var(V01)/n (sample variances, ddof=1).
The CI is AUC +- z * sqrt(var), clipped to [0, 1]. The pairwise form is
O(m*n) memory, fine for cohorts of thousands.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score


@dataclass(frozen=True)
class AUCResult:
    auc: float
    ci_low: float
    ci_high: float
    method: str
    variance: float | None = None
    n_resamples: int | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def delong_variance(y_true: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(AUC, DeLong variance) of ``score`` for binary ``y_true``."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    positives, negatives = s[y == 1], s[y == 0]
    psi = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    variance = v10.var(ddof=1) / len(positives) + v01.var(ddof=1) / len(negatives)
    return float(v10.mean()), float(variance)


def auc_delong(y_true: np.ndarray, score: np.ndarray, level: float = 0.95) -> AUCResult:
    auc, variance = delong_variance(y_true, score)
    half = norm.ppf(0.5 + level / 2) * np.sqrt(variance)
    return AUCResult(auc, float(max(0.0, auc - half)), float(min(1.0, auc + half)), "delong", variance=variance)


def auc_bootstrap(
    y_true: np.ndarray, score: np.ndarray, level: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> AUCResult:
    """Percentile bootstrap, resampling cases stratified by class.

    Stratifying keeps both classes in every resample, so no resample has
    an undefined AUC and none is dropped.
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = np.empty(n_resamples)
    for k in range(n_resamples):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        aucs[k] = _rank_auc(y[idx], s[idx])
    alpha = (1 - level) / 2
    low, high = np.quantile(aucs, [alpha, 1 - alpha])
    return AUCResult(float(roc_auc_score(y, s)), float(low), float(high), "bootstrap", n_resamples=n_resamples)


def _rank_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney form of the AUC (midranks for ties), fast enough to bootstrap."""
    ranks = rankdata(s)
    m = int(y.sum())
    n = len(y) - m
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * n))
