"""Phenotype labels: Qian's median split and Han's k-means hot/cold with the
choice-of-k table, on abundances whose true groups are known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.labels.phenotypes import choose_k, heatmap, kmeans_phenotypes, median_split

IMMUNE = [f"Immune {i}" for i in range(10)]
STROMA = ["Endothelial cells", "Fibroblasts"]


def _hot_cold(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """ssGSEA-like scores: hot cases high on immune types, cold on stroma."""
    rng = np.random.default_rng(seed)
    hot = rng.random(n) < 0.35
    values = rng.normal(0.0, 0.08, size=(n, len(IMMUNE) + len(STROMA)))
    values[hot, : len(IMMUNE)] += 0.4
    values[~hot, len(IMMUNE):] += 0.4
    values += rng.normal(0.0, 0.05, size=(n, 1))  # per-case offset: removed by per-sample scaling
    table = pd.DataFrame(values, index=pd.Index([f"case{i:03d}" for i in range(n)], name="case_id"),
                         columns=IMMUNE + STROMA)
    return table, hot.astype(int)


def test_median_split_matches_qian_counts():
    # 73 cases with distinct values: 36 above the median, 37 at or below (Qian 2024).
    values = np.random.default_rng(3).uniform(0, 0.3, 73)
    table = pd.DataFrame({"Macrophages M2": values}, index=pd.Index([f"c{i}" for i in range(73)], name="case_id"))
    labels = median_split(table, "Macrophages M2")
    assert list(labels.columns) == ["Macrophages_M2_high"]
    assert labels["Macrophages_M2_high"].sum() == 36
    assert labels.attrs["median"] == pytest.approx(np.median(values))
    median_case = table.index[np.argsort(values)[36]]
    assert labels.at[median_case, "Macrophages_M2_high"] == 0


def test_median_split_errors():
    table = pd.DataFrame({"M2": [0.1, 0.1, 0.1, 0.1]}, index=["a", "b", "c", "d"])
    with pytest.raises(InputError, match="one class"):
        median_split(table, "M2")
    with pytest.raises(InputError, match="not in the abundance table"):
        median_split(table, "M1")


def test_kmeans_recovers_hot_and_cold():
    table, truth = _hot_cold()
    result = kmeans_phenotypes(table, k=2)
    np.testing.assert_array_equal(result.labels["tme_hot"].to_numpy(), truth)
    assert result.labels.index.equals(table.index)
    assert result.immune_score[1] > result.immune_score[2]
    assert result.info["immune_cell_types"] == IMMUNE
    assert result.selection.chosen == 2
    assert set(result.selection.votes) == {"silhouette", "calinski_harabasz", "davies_bouldin", "gap"}
    assert list(result.selection.table.index) == [2, 3, 4, 5, 6]


def test_hot_follows_the_immune_cells():
    # Declaring the immune types non-immune makes the stromal cluster "hot".
    table, truth = _hot_cold()
    result = kmeans_phenotypes(table, k=2, k_max=3, non_immune=IMMUNE)
    np.testing.assert_array_equal(result.labels["tme_hot"].to_numpy(), 1 - truth)


def test_per_sample_scaling_makes_labels_scale_free():
    table, _ = _hot_cold()
    factors = np.random.default_rng(4).uniform(0.5, 3.0, size=(len(table), 1))
    rescaled = table * factors + 2.0
    a = kmeans_phenotypes(table, k=2, k_max=3).labels
    b = kmeans_phenotypes(rescaled, k=2, k_max=3).labels
    pd.testing.assert_frame_equal(a, b)


def test_choose_k_finds_three_groups():
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 4, size=(3, 6))
    data = np.vstack([c + rng.normal(0, 0.3, size=(40, 6)) for c in centres])
    selection = choose_k(data, k_max=5)
    assert selection.chosen == 3
    assert selection.votes["silhouette"] == 3
    assert selection.table.loc[3, "davies_bouldin"] == selection.table["davies_bouldin"].min()


def test_auto_k_uses_the_vote():
    table, _ = _hot_cold()
    result = kmeans_phenotypes(table, k=None, k_max=4)
    assert result.info["k"] == result.selection.chosen == 2


def test_constant_case_is_refused():
    table, _ = _hot_cold()
    table.iloc[5] = 0.3
    with pytest.raises(InputError, match="same abundance") as caught:
        kmeans_phenotypes(table, k_max=3)
    assert caught.value.case == table.index[5]


def test_heatmap_png(tmp_path):
    table, _ = _hot_cold(n=40)
    result = kmeans_phenotypes(table, k=2, k_max=3)
    heatmap(table, result.labels["tme_cluster"], tmp_path / "heatmap.png")
    assert (tmp_path / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
