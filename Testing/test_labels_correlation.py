"""Spearman correlation of features with abundances: every pair against
scipy.stats.spearmanr, BH adjustment against statsmodels, the top-k choice
and a planted association that must come out significant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.labels.correlation import correlate, heatmap


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    cases = pd.Index([f"case{i:02d}" for i in range(60)], name="case_id")
    cells = pd.DataFrame(rng.uniform(0, 1, size=(60, 5)), index=cases, columns=[f"Cell {i}" for i in range(5)])
    features = pd.DataFrame(rng.normal(size=(60, 30)), index=cases,
                            columns=[f"Peri_original_firstorder_F{i}" for i in range(30)])
    features["Peri_original_firstorder_F7"] = cells["Cell 2"] * 3 + rng.normal(0, 0.2, 60)
    features.iloc[:5, 3] = np.round(features.iloc[:5, 3], 0)  # a few ties
    return features, cells


def test_every_pair_matches_scipy(tables):
    features, cells = tables
    result = correlate(features, cells, names=list(features.columns), top_k=30)
    for feature in features.columns[:8]:
        for cell in cells.columns:
            rho, p = stats.spearmanr(features[feature], cells[cell])
            assert result.rho.at[feature, cell] == pytest.approx(rho, abs=1e-12)
            assert result.p.at[feature, cell] == pytest.approx(p, rel=1e-9)


def test_fdr_is_benjamini_hochberg_over_all_pairs(tables):
    features, cells = tables
    result = correlate(features, cells, names=list(features.columns), top_k=30)
    expected = multipletests(result.p.to_numpy().ravel(), method="fdr_bh")[1]
    np.testing.assert_allclose(result.fdr.to_numpy().ravel(), expected, rtol=1e-12)


def test_top_k_puts_the_planted_feature_first(tables):
    features, cells = tables
    result = correlate(features, cells, top_k=5)
    assert result.rho.shape == (5, 5)
    assert result.rho.index[0] == "Peri_original_firstorder_F7"
    assert result.fdr.at["Peri_original_firstorder_F7", "Cell 2"] < 1e-10
    long = result.long()
    assert list(long.columns) == ["feature", "cell_type", "rho", "p", "fdr"] and len(long) == 25


def test_given_names_keep_their_order(tables):
    features, cells = tables
    names = list(features.columns[[9, 2, 4]])
    assert list(correlate(features, cells, names=names, top_k=2).rho.index) == names[:2]


def test_only_shared_cases_are_used(tables):
    features, cells = tables
    result = correlate(features.iloc[:40], cells.iloc[10:], names=["Peri_original_firstorder_F1"])
    rho = stats.spearmanr(features.iloc[10:40, 1], cells.iloc[10:40, 0])[0]
    assert result.rho.iat[0, 0] == pytest.approx(rho, abs=1e-12)


def test_constant_columns_are_left_out_and_listed(tables):
    features, cells = tables
    plain = correlate(features, cells, top_k=3)
    flat = correlate(features.assign(Peri_flat=1.0, Ring_flat=0.0), cells.assign(Neutrophils=0.0), top_k=3)
    assert flat.skipped == {"features": ["Peri_flat", "Ring_flat"], "cell_types": ["Neutrophils"]}
    assert "Neutrophils" not in flat.rho.columns
    pd.testing.assert_frame_equal(flat.rho, plain.rho)
    pd.testing.assert_frame_equal(flat.fdr, plain.fdr)


def test_bad_input(tables):
    features, cells = tables
    with pytest.raises(InputError, match="named feature constant"):
        correlate(features.assign(Peri_flat=1.0), cells, names=["Peri_flat"])
    with pytest.raises(InputError, match="every feature column is constant"):
        correlate(features.assign(**{c: 1.0 for c in features.columns}), cells)
    with pytest.raises(InputError, match="not in the features table"):
        correlate(features, cells, names=["Intra_missing"])
    with pytest.raises(InputError, match="only 0 case IDs"):
        correlate(features, cells.rename(index=lambda c: c + "x"))


def test_heatmap_png(tables, tmp_path):
    features, cells = tables
    heatmap(correlate(features, cells, top_k=10), tmp_path / "rho.png")
    assert (tmp_path / "rho.png").read_bytes()[:4] == b"\x89PNG"
