"""The statistics each paper reports, against independent implementations and R's worked examples."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

from TMERadiomicsLib.cli import main  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.evaluation.auc import auc_bootstrap, auc_delong, auc_p_value  # noqa: E402
from TMERadiomicsLib.evaluation.exact import fisher_exact_rxc  # noqa: E402
from TMERadiomicsLib.evaluation.groups import kruskal_wallis, pairwise_wilcoxon  # noqa: E402


def test_fisher_rxc_matches_r_job_satisfaction_example():
    """R ?fisher.test: Job satisfaction by income (Agresti 2002, p. 57), 4 x 4; fisher.test(Job) p = 0.7827."""
    job = np.array([[1, 2, 1, 0], [3, 3, 6, 1], [10, 10, 14, 9], [6, 7, 12, 11]]).T
    result = fisher_exact_rxc(job, seed=0)
    assert result.mc_standard_error < 0.0015
    assert abs(result.p_value - 0.7827) < 4 * result.mc_standard_error
    assert fisher_exact_rxc(job, seed=0) == result  # seeded


def test_fisher_rxc_detects_association_and_2x2_is_scipys_exact():
    strong = np.array([[12, 1], [2, 11], [6, 6]])
    assert fisher_exact_rxc(strong).p_value < 0.001
    table = np.array([[8, 2], [1, 5]])
    assert fisher_exact_rxc(table).p_value == pytest.approx(stats.fisher_exact(table).pvalue)


def test_kruskal_wallis_matches_r_hollander_wolfe_example():
    """R ?kruskal.test (Hollander & Wolfe 1973, p. 116): chi-squared = 0.77143, df = 2, p-value = 0.68."""
    result = kruskal_wallis({"normal": [2.9, 3.0, 2.5, 2.6, 3.2], "airway": [3.8, 2.7, 4.0, 2.4],
                             "asbestosis": [2.8, 3.4, 3.7, 2.2, 2.0]})
    assert result.statistic == pytest.approx(0.77143, abs=5e-5)
    assert result.dof == 2 and result.p_value == pytest.approx(0.68, abs=0.005)


def test_pairwise_wilcoxon_against_scipy_and_holm_by_hand():
    rng = np.random.default_rng(4)
    groups = {"CR": rng.normal(2, 1, 6), "PR": rng.normal(1, 1, 9), "SD": rng.normal(0, 1, 12), "PD": rng.normal(-1, 1, 10)}
    table = pairwise_wilcoxon(groups)
    assert len(table) == 6
    raw = [stats.mannwhitneyu(groups[a], groups[b]).pvalue for a, b in zip(table["group_a"], table["group_b"])]
    np.testing.assert_allclose(table["p_value"], raw)
    order = np.argsort(raw)
    holm = np.maximum.accumulate([min(1.0, (6 - k) * raw[i]) for k, i in enumerate(order)])
    np.testing.assert_allclose(table["p_holm"].to_numpy()[order], holm)


def test_auc_p_value_is_the_wilcoxon_rank_sum_test():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(size=60) + 0.6 * y, 1)  # with ties
    expected = stats.mannwhitneyu(s[y == 1], s[y == 0], method="asymptotic", use_continuity=False).pvalue
    assert auc_p_value(y, s) == pytest.approx(expected, rel=1e-12)
    assert auc_delong(y, s).p_value == auc_bootstrap(y, s, n_resamples=10).p_value == pytest.approx(expected)


def _vectorised_auc(labels: np.ndarray, scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """AUC = U / (m n) along ``axis``, for scipy's vectorised bootstrap."""
    ranks = stats.rankdata(scores, axis=axis)
    m = labels.sum(axis=axis)
    n = labels.shape[axis] - m
    return ((ranks * labels).sum(axis=axis) - m * (m + 1) / 2) / (m * n)


def test_percentile_bootstrap_agrees_with_scipy_and_is_seeded():
    rng = np.random.default_rng(5)
    y = np.r_[np.zeros(60, int), np.ones(60, int)]
    s = rng.normal(size=120) + 0.8 * y
    ours = auc_bootstrap(y, s, n_resamples=3000, seed=2)
    reference = stats.bootstrap((y, s), _vectorised_auc, paired=True, vectorized=True,
                                n_resamples=3000, method="percentile", random_state=9).confidence_interval
    assert _vectorised_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    # Stratified (ours) vs plain case resampling (scipy): the same interval to Monte Carlo precision.
    assert ours.ci_low == pytest.approx(reference.low, abs=0.02)
    assert ours.ci_high == pytest.approx(reference.high, abs=0.02)
    assert auc_bootstrap(y, s, n_resamples=200, seed=2) == auc_bootstrap(y, s, n_resamples=200, seed=2)
    assert auc_bootstrap(y, s, n_resamples=200, seed=3) != auc_bootstrap(y, s, n_resamples=200, seed=2)
    # Asymmetric around the AUC, never beyond 1: what Qian's intervals look like.
    assert ours.ci_high <= 1.0
    for bad in (0, -5):
        with pytest.raises(InputError, match="at least 1 resample"):
            auc_bootstrap(y, s, n_resamples=bad)


@pytest.mark.parametrize("n", ["0", "-5"])
@pytest.mark.parametrize("command", [["evaluate", "qian2024-peritumoral"], ["response"]])
def test_evaluate_and_response_refuse_non_positive_bootstrap(tmp_path, capsys, n, command):
    out = tmp_path / "report"
    code = main([*command, str(tmp_path / "f.csv"), str(tmp_path / "l.csv"),
                 "--ci", "bootstrap", "--n-bootstrap", n, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--n-bootstrap must be at least 1" in err
    assert not out.exists()
