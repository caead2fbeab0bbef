"""Binary TME phenotypes from cell abundances: the labels the models train on.

- Qian 2024: a median split of one cell type (``Macrophages M2``); a value
  strictly above the cohort median is "high" (1). Qian's 73 patients split
  36 high / 37 low at the median 0.122, which is this rule.
- Han 2024: k-means on per-sample-scaled abundances ("we scaled each sample
  in order to cluster them according to the compositional pattern"), k = 2,
  the clusters named hot / cold by their immune infiltration.

The choice of k is reported as a table of four criteria (silhouette,
Calinski-Harabasz, Davies-Bouldin, gap statistic) plus their majority vote,
standing in for R's NbClust/silhouette analysis; k itself defaults to Han's 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from threadpoolctl import threadpool_limits

from ..errors import InputError

# Han's compendium: 22 immune types plus endothelial cells and fibroblasts.
NON_IMMUNE_PATTERN = re.compile(r"endothel|fibroblast|stroma|epithel|tumou?r|cancer|malignant", re.IGNORECASE)


@dataclass(frozen=True)
class KSelection:
    """Criteria per k (rows) and the k each criterion picks."""

    table: pd.DataFrame  # index k; silhouette, calinski_harabasz, davies_bouldin, gap, gap_se
    votes: dict[str, int]
    chosen: int


@dataclass(frozen=True)
class Phenotypes:
    """Cluster labels per case, named hot/cold, with how they were obtained."""

    labels: pd.DataFrame  # index case_id; tme_hot (1/0), tme_cluster (1 = most immune)
    immune_score: pd.Series  # per cluster number
    selection: KSelection
    info: dict[str, object] = field(default_factory=dict)


def median_split(abundance: pd.DataFrame, cell: str) -> pd.DataFrame:
    """``<cell>_high``: 1 if the abundance is above the cohort median, else 0."""
    if cell not in abundance.columns:
        raise InputError(f"cell type not in the abundance table; columns are {list(abundance.columns)[:30]}",
                         value=cell)
    values = abundance[cell].astype(np.float64)
    median = float(values.median())
    column = f"{label_name(cell)}_high"
    labels = pd.DataFrame({column: (values > median).astype(int)}, index=abundance.index)
    if labels[column].nunique() < 2:
        raise InputError(f"median split of {cell!r} gives one class only (many cases equal the median {median:g})")
    labels.attrs["median"] = median
    return labels


def label_name(cell: str) -> str:
    """A column-safe name: ``Macrophages M2`` -> ``Macrophages_M2``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", cell).strip("_")


def scale_samples(abundance: pd.DataFrame) -> pd.DataFrame:
    """Z-score each sample across cell types (ddof=1, as R's ``scale``)."""
    flat = abundance.index[np.ptp(abundance.to_numpy(), axis=1) == 0]
    if len(flat):
        raise InputError(f"case has the same abundance for every cell type and cannot be scaled; "
                         f"{len(flat)} such case(s)", case=str(flat[0]))
    return abundance.sub(abundance.mean(axis=1), axis=0).div(abundance.std(axis=1, ddof=1), axis=0)


def _kmeans(data: np.ndarray, k: int, seed: int, n_init: int) -> KMeans:
    # One thread: on small tables OpenMP start-up costs 10x the clustering itself.
    with threadpool_limits(1):
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(data)


def gap_statistic(data: np.ndarray, ks: Sequence[int], *, n_refs: int = 10, seed: int = 0,
                  n_init: int = 5) -> pd.DataFrame:
    """Tibshirani's gap with uniform references over the data's bounding box."""
    rng = np.random.default_rng(seed)
    low, high = data.min(axis=0), data.max(axis=0)
    references = [rng.uniform(low, high, size=data.shape) for _ in range(n_refs)]
    rows = []
    for k in ks:
        observed = np.log(_kmeans(data, k, seed, n_init).inertia_)
        simulated = np.log([_kmeans(ref, k, seed, n_init).inertia_ for ref in references])
        rows.append({"k": k, "gap": simulated.mean() - observed,
                     "gap_se": simulated.std(ddof=0) * np.sqrt(1 + 1 / n_refs)})
    return pd.DataFrame(rows).set_index("k")


def choose_k(data: np.ndarray, k_max: int = 6, *, seed: int = 0, n_init: int = 25) -> KSelection:
    """Silhouette, CH, DB and gap for k = 2..k_max, and their majority vote.

    Gap picks the smallest k with gap(k) >= gap(k+1) - se(k+1) (Tibshirani
    2001), else k_max. The vote's ties go to the smaller k.
    """
    if k_max < 2:
        raise InputError("the largest number of clusters compared (k_max) must be at least 2", value=k_max)
    k_max = min(k_max, data.shape[0] - 1)
    if k_max < 2:
        raise InputError("at least 3 cases are needed to compare numbers of clusters", value=data.shape[0])
    ks = list(range(2, k_max + 1))
    rows = []
    for k in ks:
        labels = _kmeans(data, k, seed, n_init).labels_
        rows.append({"k": k, "silhouette": silhouette_score(data, labels),
                     "calinski_harabasz": calinski_harabasz_score(data, labels),
                     "davies_bouldin": davies_bouldin_score(data, labels)})
    gap_ks = ks + ([k_max + 1] if k_max + 1 < data.shape[0] else [])
    gap = gap_statistic(data, gap_ks, seed=seed)
    table = pd.DataFrame(rows).set_index("k").join(gap)
    votes = {"silhouette": int(table["silhouette"].idxmax()),
             "calinski_harabasz": int(table["calinski_harabasz"].idxmax()),
             "davies_bouldin": int(table["davies_bouldin"].idxmin()),
             "gap": _gap_choice(gap, ks)}
    counts = pd.Series(list(votes.values())).value_counts()
    chosen = int(min(counts.index[counts == counts.max()]))
    return KSelection(table, votes, chosen)


def _gap_choice(gap: pd.DataFrame, ks: list[int]) -> int:
    for k in ks:
        if k + 1 in gap.index and gap.at[k, "gap"] >= gap.at[k + 1, "gap"] - gap.at[k + 1, "gap_se"]:
            return int(k)
    return int(ks[-1])


def immune_columns(columns: Sequence[str], non_immune: Sequence[str] | None = None) -> list[str]:
    """Cell types counted in the immune score: all but the non-immune ones."""
    if non_immune is None:
        excluded = {c for c in columns if NON_IMMUNE_PATTERN.search(c)}
    else:
        unknown = sorted(set(non_immune) - set(columns))
        if unknown:
            raise InputError("non-immune cell types not in the abundance table", value=unknown)
        excluded = set(non_immune)
    immune = [c for c in columns if c not in excluded]
    if not immune:
        raise InputError("no immune cell type left to name hot and cold clusters", value=list(columns)[:10])
    return immune


def kmeans_phenotypes(abundance: pd.DataFrame, *, k: int | None = 2, k_max: int = 6, seed: int = 0,
                      non_immune: Sequence[str] | None = None, n_init: int = 25) -> Phenotypes:
    """Han's hot/cold phenotypes; ``k=None`` uses the majority vote.

    Clusters are numbered by decreasing immune score (the mean, over immune
    cell types, of each type's z-score across cases): cluster 1 is "hot"
    (``tme_hot`` = 1), every other cluster 0.
    """
    if abundance.shape[0] < 4:
        raise InputError("k-means phenotypes need at least 4 cases", value=abundance.shape[0])
    scaled = scale_samples(abundance).to_numpy()
    selection = choose_k(scaled, k_max, seed=seed, n_init=n_init)
    k = selection.chosen if k is None else int(k)
    if not 2 <= k < abundance.shape[0]:
        raise InputError("number of clusters must be at least 2 and below the number of cases", value=k)
    raw = _kmeans(scaled, k, seed, n_init).labels_
    immune = immune_columns(list(abundance.columns), non_immune)
    standardized = (abundance - abundance.mean()) / abundance.std(ddof=1).replace(0, np.nan)
    per_case = standardized[immune].mean(axis=1, skipna=True)
    cluster_score = per_case.groupby(raw).mean().sort_values(ascending=False)
    renumber = {old: new for new, old in enumerate(cluster_score.index, start=1)}
    cluster = pd.Series(raw, index=abundance.index).map(renumber)
    labels = pd.DataFrame({"tme_hot": (cluster == 1).astype(int), "tme_cluster": cluster}, index=abundance.index)
    score = pd.Series(cluster_score.to_numpy(), index=pd.Index(range(1, k + 1), name="tme_cluster"))
    info = {"k": k, "k_vote": selection.chosen, "votes": selection.votes, "immune_cell_types": immune,
            "seed": seed, "n_init": n_init}
    return Phenotypes(labels, score, selection, info)


def heatmap(abundance: pd.DataFrame, clusters: pd.Series, path: str | Path | BinaryIO,
            title: str = "TME phenotypes") -> None:
    """Cell types x cases, each row z-scored (pheatmap ``scale="row"``), cases by cluster."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = clusters.sort_values(kind="stable").index
    rows = abundance.loc[order]
    z = ((rows - rows.mean()) / rows.std(ddof=1).replace(0, np.nan)).fillna(0).T.clip(-3, 3)
    fig, (bar, ax) = plt.subplots(2, 1, figsize=(10, 2 + 0.25 * z.shape[0]), sharex=True,
                                  gridspec_kw={"height_ratios": [1, max(4, z.shape[0])]})
    bar.imshow(clusters.loc[order].to_numpy()[None, :], aspect="auto", cmap="tab10", interpolation="nearest")
    bar.set_yticks([0], ["cluster"])
    image = ax.imshow(z.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3, interpolation="nearest")
    ax.set_yticks(range(z.shape[0]), z.index, fontsize=7)
    ax.set_xticks([])
    ax.set_xlabel(f"{z.shape[1]} cases, ordered by cluster")
    fig.colorbar(image, ax=ax, label="z-score per cell type", shrink=0.6)
    bar.set_title(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
