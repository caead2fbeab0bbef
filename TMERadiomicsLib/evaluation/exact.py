"""Fisher's exact test for r x c tables (Freeman-Halton), by Monte Carlo when larger than 2 x 2.

Both papers compare categorical variables with Fisher's exact test. For a
2 x 2 table this is scipy's exact ``fisher_exact``. For r x c the p-value is
P(tables with the observed margins whose probability is at most the
observed table's), as R's ``fisher.test`` defines it. Enumerating every
table is infeasible for Table-1 sized tables in pure Python, so it is
estimated as R's ``fisher.test(simulate.p.value = TRUE)`` does: under the
null, with both margins fixed, the table is the cross-tabulation of the row
labels against a random permutation of the column labels (multivariate
hypergeometric). With B seeded permutations and k of them at most as
probable as the observed table, p = (1 + k) / (1 + B); its Monte Carlo
standard error sqrt(p (1 - p) / B) is reported with it (B = 100,000 by
default: at most 0.0016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import gammaln

N_PERMUTATIONS = 100_000
# Relative tolerance on equal probabilities, as R's fisher.test uses (1 + 1e-7).
_REL_TOL = 1e-7
_CHUNK = 10_000


@dataclass(frozen=True)
class FisherResult:
    p_value: float
    method: str
    n_permutations: int | None = None
    mc_standard_error: float | None = None
    odds_ratio: float | None = None


def fisher_exact_rxc(table: np.ndarray, n_permutations: int = N_PERMUTATIONS, seed: int = 0) -> FisherResult:
    """Fisher's exact test of independence for a table of counts (rows and columns with any count)."""
    counts = np.asarray(table, dtype=int)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        return FisherResult(1.0, "degenerate (one row or column)")
    if counts.shape == (2, 2):
        result = stats.fisher_exact(counts)
        return FisherResult(float(result.pvalue), "Fisher exact (2x2)", odds_ratio=float(result.statistic))
    rows = np.repeat(np.arange(counts.shape[0]), counts.sum(axis=1))
    cols = np.repeat(np.arange(counts.shape[1]), counts.sum(axis=0))
    observed = _log_cells(counts[None])[0]
    rng = np.random.default_rng(seed)
    at_most = 0
    for start in range(0, n_permutations, _CHUNK):
        size = min(_CHUNK, n_permutations - start)
        permuted = rng.permuted(np.broadcast_to(cols, (size, len(cols))), axis=1)
        index = (np.arange(size)[:, None] * counts.size + rows[None, :] * counts.shape[1] + permuted)
        tables = np.bincount(index.ravel(), minlength=size * counts.size).reshape(size, *counts.shape)
        # A table's probability falls as sum(log(cell!)) rises: "at most as probable" is ">=".
        at_most += int(np.sum(_log_cells(tables) >= observed - _REL_TOL * abs(observed)))
    p = (1 + at_most) / (1 + n_permutations)
    return FisherResult(p, "Fisher exact (r x c), Monte Carlo", n_permutations,
                        float(np.sqrt(p * (1 - p) / n_permutations)))


def _log_cells(tables: np.ndarray) -> np.ndarray:
    return gammaln(tables + 1.0).sum(axis=(1, 2))
