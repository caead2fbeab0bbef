"""ssGSEA: cross-checked against gseapy and against a direct transcription of
GSVA's random walk (truncated ranks, stable decreasing order), plus the
normalisation, set filtering, GMT reading and bad input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.labels.expression import read_gmt
from TMERadiomicsLib.labels.ssgsea import rank_positions, ssgsea

gseapy = pytest.importorskip("gseapy")


def _expression(ties: bool, n_genes: int = 400, n_samples: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(3.0, 1.5, size=(n_genes, n_samples))
    if ties:
        values = np.round(np.log2(values), 1)  # log2 to one decimal: ~75% of genes in tie groups
    return pd.DataFrame(values, index=[f"G{i:04d}" for i in range(n_genes)],
                        columns=[f"S{j:02d}" for j in range(n_samples)])


def _sets(expression: pd.DataFrame, seed: int = 1) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    return {f"SET{k}": list(rng.choice(expression.index, size=int(rng.integers(5, 60)), replace=False))
            for k in range(8)}


def _gseapy(expression: pd.DataFrame, sets: dict, column: str) -> pd.DataFrame:
    run = gseapy.ssgsea(data=expression, gene_sets=sets, sample_norm_method="rank", weight=0.25,
                        min_size=1, max_size=10_000, outdir=None, threads=1, verbose=False)
    return run.res2d.pivot(index="Name", columns="Term", values=column).astype(float)


def _gsva_walk(x: np.ndarray, members: np.ndarray, alpha: float = 0.25) -> float:
    """GSVA's ``.rndWalk`` line by line: as.integer(rank(x)), order(decreasing=TRUE)."""
    ranks = rankdata(x, method="average").astype(int)
    order = np.argsort(-ranks, kind="stable")
    inside = np.isin(order, members)
    step_in = np.cumsum(np.abs(ranks[order]) ** alpha * inside) / np.sum(np.abs(ranks[order]) ** alpha * inside)
    step_out = np.cumsum(~inside) / np.sum(~inside)
    return float(np.sum(step_in - step_out))


def test_equals_gseapy_without_ties():
    expression = _expression(ties=False)
    sets = _sets(expression)
    ours = ssgsea(expression, sets, normalize=False).scores
    theirs = _gseapy(expression, sets, "ES").loc[ours.index, ours.columns]
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-9)
    normalized = ssgsea(expression, sets, normalize=True).scores
    theirs_nes = _gseapy(expression, sets, "NES").loc[ours.index, ours.columns]
    np.testing.assert_allclose(normalized.to_numpy(), theirs_nes.to_numpy(), rtol=0, atol=1e-9)


def test_close_to_gseapy_with_ties():
    # gseapy keeps fractional average ranks where GSVA truncates them, and
    # orders tied genes differently, so only the ranking of samples agrees.
    # (With ~96% of genes tied, log2 rounded to integers, it falls to
    # 0.94-0.98: see docs/labels.md.)
    expression = _expression(ties=True, n_samples=30)
    assert expression.apply(lambda c: c.duplicated().sum()).min() > 250
    sets = _sets(expression)
    ours = ssgsea(expression, sets, normalize=False).scores
    theirs = _gseapy(expression, sets, "ES").loc[ours.index, ours.columns]
    for name in ours.columns:
        assert spearmanr(ours[name], theirs[name])[0] >= 0.99, name


def test_equals_gsva_random_walk_with_ties():
    expression = _expression(ties=True, n_samples=6)
    sets = _sets(expression)
    ours = ssgsea(expression, sets, normalize=False).scores
    for sample in expression.columns:
        for name, members in sets.items():
            index = expression.index.get_indexer(members)
            expected = _gsva_walk(expression[sample].to_numpy(), index)
            assert ours.at[sample, name] == pytest.approx(expected, abs=1e-9)


def test_rank_positions_hand_example():
    # values 3, 1, 3, 2: average ranks 3.5, 1, 3.5, 2 -> truncated 3, 1, 3, 2.
    # Decreasing stable order: gene0, gene2 (tied, input order), gene3, gene1,
    # so q = n - position + 1 = 4, 3, 2, 1.
    ranks, q = rank_positions(np.array([[3.0], [1.0], [3.0], [2.0]]))
    np.testing.assert_array_equal(ranks.ravel(), [3, 1, 3, 2])
    np.testing.assert_array_equal(q.ravel(), [4, 1, 3, 2])


def test_normalisation_divides_by_the_global_range():
    expression = _expression(ties=False)
    sets = _sets(expression)
    raw = ssgsea(expression, sets, normalize=False).scores.to_numpy()
    normalized = ssgsea(expression, sets, normalize=True).scores.to_numpy()
    np.testing.assert_allclose(normalized, raw / (raw.max() - raw.min()), rtol=1e-12)


def test_rank_based_so_monotone_transforms_do_not_matter():
    expression = _expression(ties=False)
    sets = _sets(expression)
    a = ssgsea(expression, sets).scores
    b = ssgsea(np.log2(expression + 1.0) * 3 - 10, sets).scores  # negative values are fine
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_an_enriched_set_scores_high():
    expression = _expression(ties=False)
    boosted = expression.copy()
    sets = _sets(expression)
    boosted.loc[sets["SET0"], "S03"] *= 50.0
    scores = ssgsea(boosted, sets).scores["SET0"]
    assert scores.idxmax() == "S03"


def test_set_filtering_and_constant_genes():
    expression = _expression(ties=False)
    expression.loc["G0000"] = 5.0  # constant gene: GSVA drops it
    sets = {"tiny": ["G0001", "NOT_A_GENE"], "none": ["NOPE1", "NOPE2"], "big": list(expression.index[:50])}
    result = ssgsea(expression, sets, min_size=2)
    assert list(result.scores.columns) == ["big"]
    assert result.set_sizes == {"big": 49}
    assert result.info["genes_constant_removed"] == 1
    assert result.info["sets_dropped"] == {"tiny": 1, "none": 0}
    with pytest.raises(InputError, match="no gene of any of the 1 gene sets .* same gene identifiers"):
        ssgsea(expression, {"none": ["NOPE"]})
    # Genes match but the size limits exclude every set: the advice is about the limits, not identifiers.
    with pytest.raises(InputError, match=r"matched sizes range from 0 to 49\); lower --min-size") as caught:
        ssgsea(expression, sets, min_size=100)
    assert "identifiers" not in str(caught.value)


@pytest.mark.parametrize("options, message", [
    ({"alpha": -1.0}, "alpha, the rank weight exponent, must be 0 or more"),
    ({"alpha": float("nan")}, "alpha"),
    ({"min_size": 0}, "at least 1"),
    ({"min_size": 5, "max_size": 2}, "below the smallest"),
])
def test_bad_options_are_refused_before_work(options, message):
    expression = _expression(ties=False)
    with pytest.raises(InputError, match=message):
        ssgsea(expression, _sets(expression), **options)


def test_zero_variance_sample_is_refused():
    expression = _expression(ties=False)
    expression["S04"] = 1.0
    with pytest.raises(InputError, match="zero variance") as caught:
        ssgsea(expression, _sets(expression))
    assert caught.value.case == "S04"


def test_read_gmt(tmp_path):
    path = tmp_path / "sets.gmt"
    path.write_text("T cells\tna\tCD3E\tCD3D\tCD3E\n\nB cells\thttp://x\tCD19\tMS4A1\n")
    assert read_gmt(path) == {"T cells": ["CD3E", "CD3D"], "B cells": ["CD19", "MS4A1"]}
    path.write_text("T cells\tna\n")
    with pytest.raises(InputError, match="line 1"):
        read_gmt(path)
    path.write_text("A\tna\tX\nA\tna\tY\n")
    with pytest.raises(InputError, match="repeated on line 2"):
        read_gmt(path)
