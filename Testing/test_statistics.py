"""The statistics each paper reports, against independent implementations and R's worked examples."""

from __future__ import annotations

import sys
from itertools import combinations
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
from TMERadiomicsLib.evaluation.rank_sum import wilcoxon_rank_sum  # noqa: E402


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
    # No ties and fewer than 50 per group: R's wilcox.test is exact for every pair (scipy's default is
    # asymptotic above 8 per group, which this test compared against before issue 21).
    assert (table["p_method"] == "exact").all()
    raw = [stats.mannwhitneyu(groups[a], groups[b], method="exact").pvalue
           for a, b in zip(table["group_a"], table["group_b"])]
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


def test_delong_ci_carries_the_p_of_its_own_method():
    """A DeLong CI and its p-value from one method: p < 0.05 exactly when the 95% CI excludes 0.5."""
    rng = np.random.default_rng(3)
    for shift in (0.0, 0.3, 0.55, 0.8, 1.2):
        y = np.r_[np.zeros(13, int), np.ones(14, int)]
        s = rng.normal(size=27) + shift * y
        result = auc_delong(y, s)
        z = (result.auc - 0.5) / np.sqrt(result.variance)
        assert result.delong_p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
        assert (result.delong_p_value < 0.05) == (result.ci_low > 0.5 or result.ci_high < 0.5)
    assert auc_bootstrap(y, s, n_resamples=10).delong_p_value is None


def _exact_u_distribution(m: int, n: int) -> np.ndarray:
    """Counts of each Mann-Whitney U over all C(m + n, m) rankings, by the recursion of Mann & Whitney (1947).

    f(m, n; u) = f(m - 1, n; u - n) + f(m, n - 1; u): the largest value belongs to the first group
    (beating all n of the second) or to the second. Integer counts, independent of scipy.
    """
    table = {(i, 0): [1] for i in range(m + 1)}
    table.update({(0, j): [1] for j in range(n + 1)})
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            counts = [0] * (i * j + 1)
            for u, c in enumerate(table[(i - 1, j)]):
                counts[u + j] += c
            for u, c in enumerate(table[(i, j - 1)]):
                counts[u] += c
            table[(i, j)] = counts
    return np.array(table[(m, n)], dtype=object)


def _with_u(m: int, n: int, u: int) -> tuple[np.ndarray, np.ndarray]:
    """Tie-free groups of sizes m and n whose first group's U is u: b = 0..n-1, a placed between them."""
    above = [u // m + (1 if k < u % m else 0) for k in range(m)]  # how many b's each a exceeds
    a = np.array([d - 0.5 + 0.001 * k for k, d in enumerate(above)])
    return a, np.arange(n, dtype=float)


def test_rank_sum_is_exact_below_50_per_group_as_r():
    """Issue 21's case: n = 20 and 25, W = 158. R's wilcox.test: exact p = 0.0357; scipy's default 0.0366."""
    a, b = _with_u(20, 25, 158)
    result = wilcoxon_rank_sum(a, b)
    counts = _exact_u_distribution(20, 25)
    exact = 2 * sum(counts[:159]) / sum(counts)  # two-sided: twice the lower tail P(U <= 158), U < mn/2
    assert result.method == "exact" and result.statistic == 158
    assert result.p_value == pytest.approx(float(exact), rel=1e-10)
    assert round(result.p_value, 4) == 0.0357
    assert round(stats.mannwhitneyu(a, b).pvalue, 4) == 0.0366  # what groups.py returned before


def test_rank_sum_matches_r_documentation_and_full_enumeration():
    """R ?wilcox.test (Hollander & Wolfe, permeability constants): W = 35, one-sided p = 0.1272."""
    x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    y = [1.15, 0.88, 0.90, 0.74, 1.21]
    result = wilcoxon_rank_sum(x, y)
    assert result.statistic == 35 and result.method == "exact"
    assert round(result.p_value / 2, 4) == 0.1272
    # Every one of the C(9, 4) = 126 ways to give 4 of 9 ranks to the first group.
    a, b = [3.1, 4.7, 8.2, 9.9], [1.0, 2.2, 5.5, 6.1, 7.3]
    ranks = stats.rankdata(a + b)
    w = ranks[:4].sum() - 10
    ws = np.array([sum(c) - 10 for c in combinations(range(1, 10), 4)])
    lower, upper = np.mean(ws <= w), np.mean(ws >= w)
    assert wilcoxon_rank_sum(a, b).p_value == pytest.approx(min(1.0, 2 * min(lower, upper)), rel=1e-12)


def test_rank_sum_with_ties_or_50_per_group_is_rs_normal_approximation():
    """R with ties (or n >= 50): z = (W - mn/2 - sign * 0.5) / sigma, tie-corrected sigma."""
    rng = np.random.default_rng(7)
    for a, b in ((np.round(rng.normal(0.5, 1, 12), 1), np.round(rng.normal(0, 1, 15), 1)),
                 (rng.normal(0.3, 1, 50), rng.normal(0, 1, 60))):
        result = wilcoxon_rank_sum(a, b)
        m, n = len(a), len(b)
        ranks = stats.rankdata(np.r_[a, b])
        w = ranks[:m].sum() - m * (m + 1) / 2
        _, t = np.unique(np.r_[a, b], return_counts=True)
        sigma = np.sqrt(m * n / 12 * ((m + n + 1) - np.sum(t**3 - t) / ((m + n) * (m + n - 1))))
        z = (w - m * n / 2 - np.sign(w - m * n / 2) * 0.5) / sigma
        assert result.method.startswith("normal") and result.statistic == w
        assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)


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
