"""Intraclass correlation, vectorised over features.

Forms follow McGraw & Wong (1996), with Shrout & Fleiss (1979) names:

- ``"A,1"``: two-way random effects, absolute agreement, single rating
  (S&F ICC(2,1)); the default, as Koo & Li (2016) recommend for
  reader-reliability studies that generalise to other readers. An
  assumption: neither Qian 2024 nor Han 2024 names the form it used.
- ``"C,1"``: two-way, consistency, single rating (S&F ICC(3,1)).
- ``"1,1"``: one-way random effects, single rating (S&F ICC(1,1)).

With n targets (cases) rated k times, from the two-way ANOVA without
replication: MSR (between cases), MSC (between raters), MSE (residual) and
MSW (within cases, the one-way error):

    ICC(A,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)
    ICC(C,1) = (MSR - MSE) / (MSR + (k-1) MSE)
    ICC(1,1) = (MSR - MSW) / (MSR + (k-1) MSW)

The 95 % confidence intervals are McGraw & Wong's exact F intervals (C,1
and 1,1) and their Satterthwaite approximation (A,1); ``docs/reproducibility.md``
writes them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import InputError

FORMS = ("A,1", "C,1", "1,1")


@dataclass(frozen=True)
class MeanSquares:
    """ANOVA mean squares per feature, each of shape (F,)."""

    rows: np.ndarray
    cols: np.ndarray
    error: np.ndarray
    within: np.ndarray
    n: int
    k: int


@dataclass(frozen=True)
class ICCResult:
    """ICC point estimates and confidence bounds per feature, each of shape (F,)."""

    form: str
    icc: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_targets: int
    n_raters: int
    confidence: float


def mean_squares(ratings: np.ndarray) -> MeanSquares:
    """Two-way ANOVA mean squares of ``ratings`` shaped (F, n targets, k raters)."""
    x = np.asarray(ratings, dtype=float)
    _, n, k = x.shape
    grand = x.mean(axis=(1, 2), keepdims=True)
    row_means = x.mean(axis=2, keepdims=True)
    col_means = x.mean(axis=1, keepdims=True)
    ss_rows = k * ((row_means - grand) ** 2).sum(axis=(1, 2))
    ss_cols = n * ((col_means - grand) ** 2).sum(axis=(1, 2))
    ss_total = ((x - grand) ** 2).sum(axis=(1, 2))
    ss_error = ss_total - ss_rows - ss_cols
    return MeanSquares(
        rows=ss_rows / (n - 1),
        cols=ss_cols / (k - 1),
        error=ss_error / ((n - 1) * (k - 1)),
        within=(ss_total - ss_rows) / (n * (k - 1)),
        n=n,
        k=k,
    )


def icc(ratings: np.ndarray, form: str = "A,1", confidence: float = 0.95) -> ICCResult:
    """ICC of ``ratings`` shaped (n targets, k raters) or (F features, n, k).

    A feature with a missing value, or with no variance at all, gets NaN:
    its reliability is unknown, never a number that could pass a threshold.
    """
    if form not in FORMS:
        raise InputError(f"unknown ICC form; choose one of {', '.join(FORMS)}", value=form)
    x = _as_features(ratings)
    ms = mean_squares(x)
    alpha = 1.0 - confidence
    # Degenerate features (no variance, ICC of 1) give inf/NaN, reported as NaN bounds.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if form == "A,1":
            value = _agreement(ms)
            low, high = _agreement_ci(ms, value, alpha)
        elif form == "C,1":
            value, low, high = _ratio_form(ms.rows, ms.error, ms.k, ms.n - 1, (ms.n - 1) * (ms.k - 1), alpha)
        else:
            value, low, high = _ratio_form(ms.rows, ms.within, ms.k, ms.n - 1, ms.n * (ms.k - 1), alpha)
    return ICCResult(form, value, low, high, ms.n, ms.k, confidence)


def _as_features(ratings: np.ndarray) -> np.ndarray:
    x = np.asarray(ratings, dtype=float)
    if x.ndim == 2:
        x = x[np.newaxis]
    if x.ndim != 3:
        raise InputError("ratings must be shaped (cases, ratings) or (features, cases, ratings)", value=x.shape)
    _, n, k = x.shape
    if k < 2:
        raise InputError(f"ICC needs at least 2 ratings per case, got {k}", value=k)
    if n < 2:
        raise InputError(f"ICC needs at least 2 cases rated by every rater, got {n}", value=n)
    return x


def _agreement(ms: MeanSquares) -> np.ndarray:
    n, k = ms.n, ms.k
    return (ms.rows - ms.error) / (ms.rows + (k - 1) * ms.error + k * (ms.cols - ms.error) / n)


def _agreement_ci(ms: MeanSquares, rho: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """McGraw & Wong (1996) case 2A interval, Satterthwaite degrees of freedom."""
    n, k = ms.n, ms.k
    a = k * rho / (n * (1 - rho))
    b = 1 + k * rho * (n - 1) / (n * (1 - rho))
    v = (a * ms.cols + b * ms.error) ** 2 / (
        (a * ms.cols) ** 2 / (k - 1) + (b * ms.error) ** 2 / ((n - 1) * (k - 1))
    )
    f_low = stats.f.ppf(1 - alpha / 2, n - 1, v)
    f_high = stats.f.ppf(1 - alpha / 2, v, n - 1)
    spread = k * ms.cols + (k * n - k - n) * ms.error
    low = n * (ms.rows - f_low * ms.error) / (f_low * spread + n * ms.rows)
    high = n * (f_high * ms.rows - ms.error) / (spread + n * f_high * ms.rows)
    return low, high


def _ratio_form(
    ms_target: np.ndarray, ms_noise: np.ndarray, k: int, df1: int, df2: int, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICC(C,1) or ICC(1,1) and its exact F interval."""
    value = (ms_target - ms_noise) / (ms_target + (k - 1) * ms_noise)
    f_obs = ms_target / ms_noise
    f_low = f_obs / stats.f.ppf(1 - alpha / 2, df1, df2)
    f_high = f_obs * stats.f.ppf(1 - alpha / 2, df2, df1)
    return value, (f_low - 1) / (f_low + k - 1), (f_high - 1) / (f_high + k - 1)
