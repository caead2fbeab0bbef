"""The case bootstrap every evaluation statistic draws: seeded, stratified by class.

Each resample draws the positives with replacement from the positives and
the negatives from the negatives, so every resample keeps both classes (no
undefined AUC, no resample dropped) and the cohort's prevalence. The AUC's
bootstrap CI and the decision curve's band both use it, so with one seed they
see the same resampled cohorts.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import InputError


def check_n_resamples(n_resamples: object) -> int:
    """``n_resamples`` as an int of at least 1, or one InputError line."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise InputError("the bootstrap needs at least 1 resample (--n-bootstrap)", value=n_resamples)
    return int(n_resamples)


def stratified_resamples(y: np.ndarray, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """``n_resamples`` index arrays into ``y`` (0/1), positives first, from one seeded generator."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for _ in range(n_resamples):
        yield np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
