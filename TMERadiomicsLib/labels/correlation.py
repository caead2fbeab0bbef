"""Spearman correlation of radiomics features with cell abundances (Han 2024, Fig. 7).

Han correlated "the 20 most significant radiomics features" with the 24 cell
abundances. Here the features are either named by the caller (e.g. the
model's top-k by importance, in that order) or, failing that, the k features
with the strongest absolute correlation to any cell type. p-values are the
usual t-approximation (as ``scipy.stats.spearmanr``), adjusted over all
feature x cell pairs with Benjamini-Hochberg.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ..errors import InputError


@dataclass(frozen=True)
class CorrelationResult:
    """Features x cell types matrices of rho, p and BH-adjusted p, plus a long table.

    ``skipped`` lists the columns left out because they are constant over the
    shared cases (their rank correlation is undefined): ``{"features": [...],
    "cell_types": [...]}``.
    """

    rho: pd.DataFrame
    p: pd.DataFrame
    fdr: pd.DataFrame
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def long(self) -> pd.DataFrame:
        """One row per pair: feature, cell_type, rho, p, fdr."""
        parts = {name: frame.stack() for name, frame in (("rho", self.rho), ("p", self.p), ("fdr", self.fdr))}
        table = pd.DataFrame(parts).reset_index()
        return table.rename(columns={table.columns[0]: "feature", table.columns[1]: "cell_type"})


def spearman_matrix(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho and two-sided p between every column of ``a`` and of ``b`` (same rows)."""
    n = a.shape[0]
    if n < 4:
        raise InputError("Spearman correlation needs at least 4 cases", value=n)
    ra = _standardized_ranks(a)
    rb = _standardized_ranks(b)
    rho = np.clip(ra.T @ rb / (n - 1), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt((n - 2) / ((1.0 - rho) * (1.0 + rho)))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    return rho, p


def _standardized_ranks(values: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(values, axis=0)
    sd = ranks.std(axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks - ranks.mean(axis=0)) / sd


def correlate(features: pd.DataFrame, abundance: pd.DataFrame, *, names: Sequence[str] | None = None,
              top_k: int = 20) -> CorrelationResult:
    """Spearman rho, p and BH-FDR between ``top_k`` features and every cell type.

    Both tables are indexed by case ID; only shared cases are used (at
    least 4). Constant columns are left out and listed in ``skipped``: their
    rank correlation is undefined (a feature named in ``names`` must vary).
    """
    shared = features.index.intersection(abundance.index)
    if len(shared) < 4:
        raise InputError(f"only {len(shared)} case IDs are in both the features and the abundance table")
    feats = features.loc[shared].astype(np.float64)
    cells = abundance.loc[shared].astype(np.float64)
    flat_features, flat_cells = _constant(feats), _constant(cells)
    named_flat = [n for n in names or () if n in flat_features]
    if named_flat:
        raise InputError("named feature constant over all cases; its Spearman correlation is undefined",
                         value=named_flat[:10])
    feats, cells = _varying(feats, flat_features, "feature"), _varying(cells, flat_cells, "cell type")
    chosen = _choose(feats, cells, names, top_k)
    rho, p = spearman_matrix(feats[chosen].to_numpy(), cells.to_numpy())
    fdr = multipletests(p.ravel(), method="fdr_bh")[1].reshape(p.shape)
    index = pd.Index(chosen, name="feature")
    frames = (pd.DataFrame(m, index=index, columns=cells.columns) for m in (rho, p, fdr))
    return CorrelationResult(*frames, skipped={"features": flat_features, "cell_types": flat_cells})


def _constant(table: pd.DataFrame) -> list[str]:
    return [str(c) for c in table.columns if table[c].nunique() < 2]


def _varying(table: pd.DataFrame, flat: list[str], what: str) -> pd.DataFrame:
    if len(flat) == table.shape[1]:
        raise InputError(f"every {what} column is constant over all cases; Spearman correlation is undefined",
                         value=flat[:10])
    return table.drop(columns=flat)


def _choose(feats: pd.DataFrame, cells: pd.DataFrame, names: Sequence[str] | None, top_k: int) -> list[str]:
    if top_k < 1:
        raise InputError("top-k must be at least 1", value=top_k)
    if names is not None:
        missing = [n for n in names if n not in feats.columns]
        if missing:
            raise InputError("features not in the features table", value=missing[:10])
        return list(names)[:top_k]
    rho, _ = spearman_matrix(feats.to_numpy(), cells.to_numpy())
    strength = np.abs(rho).max(axis=1)
    order = np.argsort(-strength, kind="stable")[:top_k]
    return [str(feats.columns[i]) for i in order]


def heatmap(result: CorrelationResult, path: str | Path | BinaryIO, title: str = "Spearman correlation") -> None:
    """rho as colour; * FDR < 0.05, ** < 0.01, *** < 0.001 in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rho = result.rho
    fig, ax = plt.subplots(figsize=(1.2 + 0.4 * rho.shape[1], 1.5 + 0.3 * rho.shape[0]))
    image = ax.imshow(rho.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(rho.shape[1]), rho.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(rho.shape[0]), rho.index, fontsize=7)
    stars = np.select([result.fdr < 0.001, result.fdr < 0.01, result.fdr < 0.05], ["***", "**", "*"], "")
    for (i, j), mark in np.ndenumerate(stars):
        if mark:
            ax.text(j, i, mark, ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="Spearman rho", shrink=0.6)
    ax.set_title(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
