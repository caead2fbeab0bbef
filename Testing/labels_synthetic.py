"""Seeded synthetic expression data for the labels tests.

LM22 may not be redistributed, so the tests build their own signature
matrices: every cell type has a block of marker genes expressed well above a
shared log-normal background, as in LM22. Mixtures are signature x known
fractions with multiplicative log-normal noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def signature(n_cells: int = 5, markers: int = 20, background: int = 40, seed: int = 0) -> pd.DataFrame:
    """Genes x cell types, linear scale; ``markers`` genes per type, ``background`` shared."""
    rng = np.random.default_rng(seed)
    n_genes = n_cells * markers + background
    values = rng.lognormal(4.0, 1.0, size=(n_genes, n_cells))
    for cell in range(n_cells):
        rows = slice(cell * markers, (cell + 1) * markers)
        values[rows, cell] *= rng.lognormal(2.5, 0.5, size=markers)
    genes = [f"GENE{i:04d}" for i in range(n_genes)]
    return pd.DataFrame(values, index=genes, columns=[f"Cell type {c + 1}" for c in range(n_cells)])


def fractions(n_samples: int, n_cells: int, seed: int = 1) -> pd.DataFrame:
    """Dirichlet fractions, samples x cell types."""
    rng = np.random.default_rng(seed)
    values = rng.dirichlet(np.full(n_cells, 0.8), size=n_samples)
    return pd.DataFrame(values, index=[f"TCGA-{i:02d}" for i in range(n_samples)],
                        columns=[f"Cell type {c + 1}" for c in range(n_cells)])


def mixture(sig: pd.DataFrame, truth: pd.DataFrame, noise: float = 0.05, extra_genes: int = 30,
            seed: int = 2) -> pd.DataFrame:
    """Genes x samples = signature @ fractions * noise, plus genes not in the signature."""
    rng = np.random.default_rng(seed)
    values = sig.to_numpy() @ truth.to_numpy().T
    values *= rng.lognormal(0.0, noise, size=values.shape)
    extra = rng.lognormal(5.0, 1.0, size=(extra_genes, truth.shape[0]))
    genes = list(sig.index) + [f"OTHER{i:03d}" for i in range(extra_genes)]
    return pd.DataFrame(np.vstack([values, extra]), index=genes, columns=truth.index)


def write_matrix(table: pd.DataFrame, path, first: str = "GeneSymbol") -> None:
    """Tab-separated, gene symbols in the first column (CIBERSORT's format)."""
    table.rename_axis(first).to_csv(path, sep="\t")
