"""Bulk RNA-seq of a synthetic cohort, made from its latent TME states.

LM22 may not be redistributed, so the cohort brings its own LM22-shaped
reference: the 22 LM22 immune cell types (names only), endothelial cells,
fibroblasts and tumour cells, each with a block of marker genes expressed
well above a shared log-normal background. A case's bulk profile is the
reference times its cell fractions, with multiplicative log-normal noise.

- ``signature``: genes x the 22 immune types, CIBERSORT's input;
- ``gene_sets``: 24 marker sets (22 immune + endothelial + fibroblasts), the
  shape of Han's TME compendium for ssGSEA;
- ``expression``: genes x cases, linear scale.

Hot cases have more immune cells and more effector cells among them; every
case's M2 share of its immune cells is its latent ``m2_fraction``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .state import TmeState

LM22_TYPES = (
    "B cells naive", "B cells memory", "Plasma cells", "T cells CD8", "T cells CD4 naive",
    "T cells CD4 memory resting", "T cells CD4 memory activated", "T cells follicular helper",
    "T cells regulatory (Tregs)", "T cells gamma delta", "NK cells resting", "NK cells activated",
    "Monocytes", "Macrophages M0", "Macrophages M1", "Macrophages M2", "Dendritic cells resting",
    "Dendritic cells activated", "Mast cells resting", "Mast cells activated", "Eosinophils", "Neutrophils",
)
STROMA_TYPES = ("Endothelial cells", "Fibroblasts")
TUMOUR_TYPE = "Tumour cells"
M2 = "Macrophages M2"
# Cells of an inflamed ("hot") infiltrate: cytotoxic and activated effectors.
EFFECTORS = (
    "T cells CD8", "T cells CD4 memory activated", "T cells follicular helper", "T cells gamma delta",
    "NK cells activated", "Macrophages M1", "Dendritic cells activated",
)
MARKERS_PER_TYPE = 15
BACKGROUND_GENES = 60
UNRELATED_GENES = 300
NOISE_SD = 0.10


def reference(seed: int) -> pd.DataFrame:
    """Genes x every cell type (immune, stroma, tumour), linear scale."""
    rng = np.random.default_rng([seed, 11])
    types = (*LM22_TYPES, *STROMA_TYPES, TUMOUR_TYPE)
    n_genes = len(types) * MARKERS_PER_TYPE + BACKGROUND_GENES
    values = rng.lognormal(4.0, 1.0, size=(n_genes, len(types)))
    for column in range(len(types)):
        rows = slice(column * MARKERS_PER_TYPE, (column + 1) * MARKERS_PER_TYPE)
        values[rows, column] *= rng.lognormal(2.5, 0.5, size=MARKERS_PER_TYPE)
    genes = [_marker(t, k) for t in range(len(types)) for k in range(MARKERS_PER_TYPE)]
    genes += [f"BG{k:03d}" for k in range(BACKGROUND_GENES)]
    return pd.DataFrame(values, index=genes, columns=list(types))


def _marker(type_index: int, k: int) -> str:
    return f"MK{type_index:02d}_{k:02d}"


def signature(ref: pd.DataFrame) -> pd.DataFrame:
    """CIBERSORT's signature: the immune types' marker genes plus the background."""
    n_immune = len(LM22_TYPES) * MARKERS_PER_TYPE
    rows = list(ref.index[:n_immune]) + [g for g in ref.index if g.startswith("BG")]
    return ref.loc[rows, list(LM22_TYPES)].rename_axis("GeneSymbol")


def gene_sets(ref: pd.DataFrame) -> dict[str, list[str]]:
    """Marker genes of the 22 immune types, endothelial cells and fibroblasts."""
    types = (*LM22_TYPES, *STROMA_TYPES)
    return {name: [_marker(i, k) for k in range(MARKERS_PER_TYPE)] for i, name in enumerate(types)}


def bulk_fractions(state: TmeState, cohort_seed: int, index: int) -> pd.Series:
    """The case's cell fractions over every reference type; they sum to 1."""
    rng = np.random.default_rng([cohort_seed, index, 13])
    others = [t for t in LM22_TYPES if t != M2]
    alpha = np.array([5.0 if (state.hot and t in EFFECTORS) else 1.0 for t in others])
    immune = dict(zip(others, rng.dirichlet(alpha) * (1.0 - state.m2_fraction)))
    immune[M2] = state.m2_fraction
    endothelial, fibroblasts = rng.uniform(0.03, 0.08), rng.uniform(0.10, 0.20)
    fractions = {t: state.immune_share * immune[t] for t in LM22_TYPES}
    fractions.update({"Endothelial cells": endothelial, "Fibroblasts": fibroblasts})
    fractions[TUMOUR_TYPE] = 1.0 - state.immune_share - endothelial - fibroblasts
    return pd.Series(fractions)


def expression(ref: pd.DataFrame, states: Sequence[TmeState], cohort_seed: int) -> pd.DataFrame:
    """Genes x cases: reference @ fractions with noise, plus genes no cell type marks."""
    fractions = pd.DataFrame({s.case_id: bulk_fractions(s, cohort_seed, i) for i, s in enumerate(states)})
    rng = np.random.default_rng([cohort_seed, 17])
    values = ref.to_numpy() @ fractions.loc[ref.columns].to_numpy()
    values *= rng.lognormal(0.0, NOISE_SD, size=values.shape)
    unrelated = rng.lognormal(5.0, 1.0, size=(UNRELATED_GENES, len(states)))
    genes = list(ref.index) + [f"UN{k:03d}" for k in range(UNRELATED_GENES)]
    table = pd.DataFrame(np.vstack([values, unrelated]), index=genes, columns=fractions.columns)
    return table.rename_axis("GeneSymbol")
