"""AUC with a 95% confidence interval: DeLong's variance, or a bootstrap.

DeLong, DeLong & Clarke-Pearson (1988) via structural components: for m
positives X and n negatives Y, with psi(x, y) = 1 if x > y, 1/2 if tied, 0
otherwise, V10(X_i) = mean_j psi(X_i, Y_j), V01(Y_j) = mean_i psi(X_i, Y_j),
AUC = mean(V10), var = var(V10)/m + var(V01)/n (sample variances, ddof=1).
The CI is AUC +- z * sqrt(var), clipped to [0, 1]: symmetric, as Han 2024
reports its CIs. The pairwise form is O(m*n) memory, fine for cohorts of
thousands.

The bootstrap CI is the percentile interval of a seeded, class-stratified
case bootstrap: asymmetric and never outside [0, 1], as Qian 2024 reports
its CIs (BCa is not offered: with ~50 cases its jackknife acceleration is
itself unstable, and neither paper names it).

The p-value (Han: "p < 0.05" for each AUC) tests AUC = 0.5. AUC = U / (m n)
for the Mann-Whitney U, so it is the two-sided Wilcoxon rank-sum test:
normal approximation with the tie-corrected null variance
m n / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))), no continuity correction
(asymptotic at every n: R's ``wilcox.test`` would be exact below 50 per
class without ties, ``rank_sum.py``). It is a test of its own, not the CI's:
a DeLong CI can exclude 0.5 while this p exceeds 0.05 (the null variance is
not DeLong's). So a DeLong result also carries ``delong_p_value``, the z-test
(AUC - 0.5) / sqrt(DeLong variance) that matches its CI (p < 0.05 exactly
when the unclipped 95% CI excludes 0.5), and reports name which p is which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

from .resampling import check_n_resamples, stratified_resamples


@dataclass(frozen=True)
class AUCResult:
    auc: float
    ci_low: float
    ci_high: float
    method: str
    variance: float | None = None
    n_resamples: int | None = None
    p_value: float | None = None  # two-sided, against AUC = 0.5: Wilcoxon rank-sum, normal approximation
    delong_p_value: float | None = None  # two-sided z-test on DeLong's variance, the CI's own method

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
    delong_p = float(2 * norm.sf(abs(auc - 0.5) / np.sqrt(variance))) if variance > 0 else float(auc == 0.5)
    return AUCResult(auc, float(max(0.0, auc - half)), float(min(1.0, auc + half)), "delong", variance=variance,
                     p_value=auc_p_value(y_true, score), delong_p_value=delong_p)


WILCOXON_P = "Wilcoxon rank-sum, normal approximation"


def p_values_text(result: AUCResult) -> str:
    """Each p of ``result`` with the test it comes from, e.g. for a report line."""
    parts = []
    if result.delong_p_value is not None:
        parts.append(f"p = {result.delong_p_value:.3g} (DeLong z-test, as the CI)")
    if result.p_value is not None:
        parts.append(f"p = {result.p_value:.3g} ({WILCOXON_P})")
    return "; ".join(parts)


def auc_p_value(y_true: np.ndarray, score: np.ndarray) -> float:
    """Two-sided p of AUC = 0.5: the Wilcoxon rank-sum test (see the module docstring)."""
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    m, n = int(y.sum()), int(len(y) - y.sum())
    total = m + n
    ranks = rankdata(s)
    u = ranks[y == 1].sum() - m * (m + 1) / 2
    _, ties = np.unique(s, return_counts=True)
    variance = m * n / 12.0 * ((total + 1) - np.sum(ties**3 - ties) / (total * (total - 1)))
    if variance <= 0:
        return 1.0
    return float(2 * norm.sf(abs(u - m * n / 2) / np.sqrt(variance)))


def auc_bootstrap(
    y_true: np.ndarray, score: np.ndarray, level: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> AUCResult:
    """Percentile bootstrap, resampling cases stratified by class.

    Stratifying keeps both classes in every resample, so no resample has
    an undefined AUC and none is dropped.
    """
    n_resamples = check_n_resamples(n_resamples)
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    aucs = np.array([_rank_auc(y[idx], s[idx]) for idx in stratified_resamples(y, n_resamples, seed)])
    alpha = (1 - level) / 2
    low, high = np.quantile(aucs, [alpha, 1 - alpha])
    return AUCResult(float(roc_auc_score(y, s)), float(low), float(high), "bootstrap", n_resamples=n_resamples,
                     p_value=auc_p_value(y, s))


def _rank_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney form of the AUC (midranks for ties), fast enough to bootstrap."""
    ranks = rankdata(s)
    m = int(y.sum())
    n = len(y) - m
    return float((ranks[y == 1].sum() - m * (m + 1) / 2) / (m * n))
