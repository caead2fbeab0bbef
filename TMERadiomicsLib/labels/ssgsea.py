"""Single-sample GSEA as GSVA computes it (``method = "ssgsea"``).

Per sample (Barbie et al. 2009; GSVA's ``.ssgsea`` / ``.fastRndWalk``):

1. genes with constant expression across samples are dropped (GSVA does
   this for every method, with a warning);
2. genes are ranked within the sample, ties averaged, and the ranks
   *truncated* to integers (GSVA: ``as.integer(rank(x))``);
3. genes are ordered by decreasing rank, tied genes in their input order
   (R's stable ``order(decreasing = TRUE)``);
4. the random walk steps up by ``|r|^alpha / sum over the set`` at set genes
   and down by ``1 / (n - k)`` elsewhere; the enrichment score is the *sum*
   of the walk over all n positions (not its maximum deviation);
5. with ``normalize``, every score is divided by the range of all scores
   (``max - min`` over all sets and samples), GSVA's ``ssgsea.norm``.

The sum of the walk has a closed form (the one GSVA's ``.fastRndWalk``
uses): with p the 1-based position of a gene in the decreasing order and
q = n - p + 1,

    ES = sum_set(w * q) / sum_set(w) - (n(n+1)/2 - sum_set(q)) / (n - k)

so one stable sort per sample and three sparse matrix products give every
set at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError

log = logging.getLogger(__name__)

_SHOW_DROPPED = 10  # dropped sets named in the warning; the rest are counted
_CHUNK = 64  # samples per block: bounds memory at ~n_genes * 64 * 8 bytes per array


@dataclass(frozen=True)
class SsgseaResult:
    """Scores (index: sample / case ID, columns: gene sets) and the set sizes used."""

    scores: pd.DataFrame
    set_sizes: dict[str, int]
    info: dict[str, object] = field(default_factory=dict)


def ssgsea(
    expression: pd.DataFrame,
    gene_sets: Mapping[str, Sequence[str]],
    *,
    alpha: float = 0.25,
    normalize: bool = True,
    min_size: int = 1,
    max_size: int | None = None,
) -> SsgseaResult:
    """ssGSEA scores of a genes x samples matrix for named gene sets."""
    _check_options(alpha, min_size, max_size)
    values, genes, samples = _checked(expression)
    keep = _varying_genes(values)
    if not keep.all():
        log.warning("%d genes with constant expression across samples removed (as GSVA does)", int((~keep).sum()))
        values, genes = values[keep], genes[keep]
    membership, names, sizes, dropped = _membership(genes, gene_sets, min_size, max_size)
    scores = np.vstack([_chunk_scores(values[:, s:s + _CHUNK], membership, sizes, alpha)
                        for s in range(0, values.shape[1], _CHUNK)])
    if normalize:
        scores = _range_normalize(scores)
    table = pd.DataFrame(scores, index=pd.Index(samples, name="case_id"), columns=names)
    info = {"alpha": alpha, "normalized": normalize, "genes_used": int(genes.size),
            "genes_constant_removed": int((~keep).sum()), "sets_dropped": dropped,
            "min_size": min_size, "max_size": max_size}
    return SsgseaResult(table, dict(zip(names, sizes.astype(int).tolist())), info)


def _check_options(alpha: float, min_size: int, max_size: int | None) -> None:
    if not (math.isfinite(alpha) and alpha >= 0):
        raise InputError("alpha, the rank weight exponent, must be 0 or more (GSVA's tau; 0.25 for ssGSEA)",
                         value=alpha)
    if min_size < 1:
        raise InputError("the smallest gene-set size kept must be at least 1", value=min_size)
    if max_size is not None and max_size < min_size:
        raise InputError(f"the largest gene-set size kept is below the smallest ({min_size})", value=max_size)


def _checked(expression: pd.DataFrame) -> tuple[np.ndarray, pd.Index, list[str]]:
    if not expression.index.is_unique:
        raise InputError("expression matrix has duplicated gene symbols; collapse them first",
                         value=list(expression.index[expression.index.duplicated()][:5]))
    values = expression.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputError("expression matrix holds missing or infinite values")
    flat = expression.columns[np.ptp(values, axis=0) == 0]
    if len(flat):
        raise InputError(f"sample has the same expression for every gene (zero variance); "
                         f"{len(flat)} such sample(s)", case=str(flat[0]))
    return values, expression.index.astype(str), [str(c) for c in expression.columns]


def _varying_genes(values: np.ndarray) -> np.ndarray:
    return np.ptp(values, axis=1) > 0


def _membership(genes: pd.Index, gene_sets: Mapping[str, Sequence[str]], min_size: int,
                max_size: int | None) -> tuple[sparse.csr_matrix, list[str], np.ndarray, dict[str, int]]:
    """Sparse sets x genes indicator of the sets whose matched size is in range."""
    position = pd.Series(np.arange(genes.size), index=genes)
    rows, cols, names, sizes, dropped = [], [], [], [], {}
    for name, members in gene_sets.items():
        matched = position.reindex(pd.unique(np.asarray(members, dtype=str))).dropna().astype(int).to_numpy()
        if matched.size < max(min_size, 1) or (max_size is not None and matched.size > max_size):
            dropped[str(name)] = int(matched.size)
            continue
        if matched.size >= genes.size:
            raise InputError("gene set covers every gene of the matrix; its score is undefined", value=name)
        rows.append(np.full(matched.size, len(names)))
        cols.append(matched)
        names.append(str(name))
        sizes.append(matched.size)
    if not names:
        raise InputError(_nothing_kept(dropped, min_size, max_size, genes.size))
    if dropped:
        shown = ", ".join(f"{name} ({size})" for name, size in list(dropped.items())[:_SHOW_DROPPED])
        more = f" and {len(dropped) - _SHOW_DROPPED} more" if len(dropped) > _SHOW_DROPPED else ""
        log.warning("%d gene sets dropped for their matched size (min %d, max %s): %s%s",
                    len(dropped), min_size, max_size, shown, more)
    data = np.ones(sum(len(c) for c in cols))
    matrix = sparse.csr_matrix((data, (np.concatenate(rows), np.concatenate(cols))),
                               shape=(len(names), genes.size))
    return matrix, names, np.asarray(sizes, dtype=np.float64), dropped


def _nothing_kept(dropped: dict[str, int], min_size: int, max_size: int | None, n_genes: int) -> str:
    """Why no set is left, with the advice that fits: identifiers, or the size limits."""
    largest = max(dropped.values(), default=0)
    if largest == 0:
        return (f"no gene of any of the {len(dropped)} gene sets is in the expression matrix ({n_genes} genes); "
                "check that both use the same gene identifiers (e.g. HGNC symbols, not Ensembl IDs)")
    return (f"no gene set has between {min_size} and {max_size or 'any'} genes in the expression matrix (matched "
            f"sizes range from {min(dropped.values())} to {largest}); lower --min-size or raise --max-size")


def rank_positions(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: GSVA's truncated average ranks and q = n - position + 1.

    One stable ascending sort gives both: a tie group occupying sorted
    positions lo..hi has average rank (lo + hi) / 2 + 1, and in the stable
    decreasing order its genes keep their input order, so the element at
    sorted position i has q = lo + hi - i + 1.
    """
    n = values.shape[0]
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    index = np.broadcast_to(np.arange(n)[:, None], values.shape)
    starts = np.ones(values.shape, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones(values.shape, dtype=bool)
    ends[:-1] = starts[1:]
    lo = np.maximum.accumulate(np.where(starts, index, 0), axis=0)
    hi = np.minimum.accumulate(np.where(ends, index, n - 1)[::-1], axis=0)[::-1]
    ranks = np.empty(values.shape)
    q = np.empty(values.shape)
    np.put_along_axis(ranks, order, np.floor((lo + hi) / 2.0 + 1.0), axis=0)
    np.put_along_axis(q, order, (lo + hi - index + 1).astype(np.float64), axis=0)
    return ranks, q


def _chunk_scores(values: np.ndarray, membership: sparse.csr_matrix, sizes: np.ndarray,
                  alpha: float) -> np.ndarray:
    n = values.shape[0]
    ranks, q = rank_positions(values)
    weights = ranks ** alpha
    inside = (membership @ (weights * q)) / (membership @ weights)
    outside = (n * (n + 1) / 2.0 - membership @ q) / (n - sizes[:, None])
    return (inside - outside).T


def _range_normalize(scores: np.ndarray) -> np.ndarray:
    spread = float(scores.max() - scores.min())
    if spread == 0:
        raise InputError("all ssGSEA scores are equal, so they cannot be range-normalised; "
                         "run without normalisation")
    return scores / spread
