"""Evaluation statistics against independent implementations and definitions."""

from __future__ import annotations

import json
from dataclasses import replace
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from confidenceinterval import roc_auc_score as ci_roc_auc_score
from confidenceinterval.delong import delong_roc_variance
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import cli_args, combined_table  # noqa: E402

from TMERadiomicsLib.evaluation import (  # noqa: E402
    auc_bootstrap,
    auc_delong,
    confusion_metrics,
    delong_variance,
    evaluate,
    hosmer_lemeshow,
    write_report,
    youden_threshold,
)
from TMERadiomicsLib.evaluation.report import result_dict  # noqa: E402
from TMERadiomicsLib.evaluation.table1 import compare_groups  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402


def _scores(n=120, shift=0.9, seed=3, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(size=n) + shift * y
    if ties:
        s = np.round(s, 1)
    return y, s


@pytest.mark.parametrize("ties", [False, True])
def test_delong_variance_matches_confidenceinterval(ties):
    y, s = _scores(ties=ties)
    auc, var = delong_variance(y, s)
    ref_auc, ref_cov = delong_roc_variance(y, s)
    assert auc == pytest.approx(ref_auc, rel=1e-6)
    # confidenceinterval works in float32 midranks: 1e-5 relative is its precision.
    assert var == pytest.approx(float(ref_cov), rel=1e-5)
    ours = auc_delong(y, s)
    _, (low, high) = ci_roc_auc_score(y, s, method="delong")
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-6)
    assert 0.6 < ours.auc < 0.9  # the CI is not clipped in this test


def test_delong_ci_agrees_with_bootstrap():
    y, s = _scores(n=200, shift=0.8, seed=11)
    delong = auc_delong(y, s)
    boot = auc_bootstrap(y, s, n_resamples=4000, seed=1)
    assert boot.auc == pytest.approx(delong.auc)
    assert boot.ci_low == pytest.approx(delong.ci_low, abs=0.02)
    assert boot.ci_high == pytest.approx(delong.ci_high, abs=0.02)


def test_metrics_against_definitions_on_small_confusion_matrix():
    # score >= 0.5 predicts 1: TP=3 (0.9, 0.8, 0.6), FN=2 (0.4, 0.1),
    # FP=1 (0.7), TN=4 (0.45, 0.3, 0.2, 0.0)
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.6, 0.4, 0.1, 0.7, 0.45, 0.3, 0.2, 0.0])
    m = confusion_metrics(y, s, 0.5)
    assert (m.tp, m.fn, m.fp, m.tn) == (3, 2, 1, 4)
    assert m.accuracy == pytest.approx(7 / 10)
    assert m.sensitivity == pytest.approx(3 / 5)
    assert m.specificity == pytest.approx(4 / 5)
    assert m.ppv == pytest.approx(3 / 4)
    assert m.npv == pytest.approx(4 / 6)
    empty = confusion_metrics(y, s, 2.0)  # nothing predicted positive: PPV undefined
    assert np.isnan(empty.ppv) and empty.sensitivity == 0.0 and empty.specificity == 1.0


def test_youden_threshold_is_the_brute_force_maximum():
    y, s = _scores(n=60, seed=5)

    def j(t):
        m = confusion_metrics(y, s, t)
        return m.sensitivity + m.specificity - 1

    assert j(youden_threshold(y, s)) == pytest.approx(max(j(t) for t in np.unique(s)))


def test_hosmer_lemeshow_against_direct_computation():
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, 100)
    y = (rng.uniform(size=100) < p ** 1.3).astype(int)
    result = hosmer_lemeshow(y, p, groups=10)
    # Direct: sort by p, ten consecutive groups of ten cases.
    order = np.argsort(p)
    statistic = 0.0
    for k in range(10):
        idx = order[10 * k: 10 * (k + 1)]
        observed, expected = y[idx].sum(), p[idx].sum()
        statistic += (observed - expected) ** 2 / (expected * (1 - expected / 10))
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.dof == 8
    assert result.p_value == pytest.approx(1 - stats.chi2.cdf(statistic, 8), rel=1e-9)
    assert list(result.groups["n"]) == [10] * 10


def test_hosmer_lemeshow_rejects_certain_and_wrong_groups():
    # The lowest group is predicted with probability 0, yet holds a positive.
    p = np.r_[np.zeros(5), np.full(10, 0.5)]
    y = np.r_[1, 0, 0, 0, 0, np.tile([0, 1], 5)]
    result = hosmer_lemeshow(y, p, groups=3)
    assert np.isinf(result.statistic) and result.p_value == 0.0


def test_table1_chooses_tests_as_documented():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(40, int), np.ones(40, int)]
    table = pd.DataFrame({
        "normal": np.r_[rng.normal(0, 1, 40), rng.normal(0.8, 1, 40)],
        "skewed": np.r_[rng.exponential(1, 40), rng.exponential(3, 40)],
        "binary": rng.integers(0, 2, 80),
        "stage": rng.choice(["I", "II", "III"], 80),
    })
    rows = compare_groups(table, y, list(table.columns)).set_index("variable")
    a, b = table["normal"][y == 0], table["normal"][y == 1]
    assert stats.shapiro(a).pvalue > 0.05 and stats.shapiro(b).pvalue > 0.05
    assert rows.loc["normal", "test"] == "Student t-test"
    assert rows.loc["normal", "p_value"] == pytest.approx(stats.ttest_ind(a, b).pvalue)
    assert rows.loc["skewed", "test"] == "Mann-Whitney U"
    assert rows.loc["skewed", "p_value"] == pytest.approx(
        stats.mannwhitneyu(table["skewed"][y == 0], table["skewed"][y == 1]).pvalue)
    assert rows.loc["binary", "test"] == "Fisher exact (2x2)"
    assert rows.loc["binary", "p_value"] == pytest.approx(
        stats.fisher_exact(pd.crosstab(table["binary"], y).to_numpy()).pvalue)
    # Both papers used Fisher's exact test for larger tables too, not chi-square.
    assert rows.loc["stage", "test"] == "Fisher exact (r x c), Monte Carlo"
    exact = enumerated_fisher_3x2(pd.crosstab(table["stage"], y).to_numpy())
    assert abs(rows.loc["stage", "p_value"] - exact) < 4 * rows.loc["stage", "mc_standard_error"]


def enumerated_fisher_3x2(table: np.ndarray) -> float:
    """Fisher's exact p of a 3 x 2 table by listing every table with its margins."""
    from math import lgamma

    rows, cols, n = table.sum(axis=1), table.sum(axis=0), table.sum()
    const = sum(lgamma(r + 1) for r in rows) + sum(lgamma(c + 1) for c in cols) - lgamma(n + 1)

    def log_p(t):
        return const - sum(lgamma(x + 1) for x in t.ravel())

    observed, total = log_p(table), 0.0
    for a in range(min(rows[0], cols[0]) + 1):
        for b in range(min(rows[1], cols[0] - a) + 1):
            c = cols[0] - a - b
            if 0 <= c <= rows[2]:
                t = np.array([[a, rows[0] - a], [b, rows[1] - b], [c, rows[2] - c]])
                if log_p(t) <= observed + 1e-7:
                    total += np.exp(log_p(t))
    return total


@pytest.fixture(scope="module")
def trained_and_holdout():
    features, labels = combined_table(n=120, seed=4)
    bundle = train(features.iloc[:80], labels.iloc[:80], "qian2024-lasso", seed=0, label="state")
    return bundle, features.iloc[80:].reset_index(drop=True), labels.iloc[80:].reset_index(drop=True)


def test_evaluate_numbers_and_report_files(trained_and_holdout, tmp_path):
    bundle, features, labels = trained_and_holdout
    clinical = pd.DataFrame({"case_id": features["case_id"], "age": np.linspace(40, 70, len(features))})
    result = evaluate(bundle, features, labels, label="state", clinical=clinical)
    y = labels["state"].to_numpy()
    prob = bundle.score(features)["probability"].to_numpy()
    assert result.auc.auc == pytest.approx(auc_delong(y, prob).auc)
    assert result.at_bundle_threshold == confusion_metrics(y, prob, 0.5)
    assert result.hosmer_lemeshow.statistic == pytest.approx(hosmer_lemeshow(y, prob).statistic)
    assert "age" in set(result.table1["variable"])
    out = write_report(result, tmp_path / "report")
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "metrics.json", "metrics.csv", "scores.csv", "roc.csv", "table1.csv",
            "calibration.csv", "roc.png", "waterfall.png", "boxplot.png", "calibration.png",
            "decision_curve.csv", "decision_curve.png"} <= names
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5 and "http" not in html.replace("http-equiv", "")
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(result_dict(result)))
    assert saved["bundle"]["bundle_sha256"] == bundle.manifest.digest == result.scores["bundle_sha256"].iloc[0]
    assert bundle.manifest.digest in html
    assert saved["auc"]["auc"] == pytest.approx(result.auc.auc)
    assert saved["at_bundle_threshold"]["sensitivity"] == pytest.approx(result.at_bundle_threshold.sensitivity)
    assert pd.read_csv(out / "metrics.csv")["npv"].iloc[0] == pytest.approx(result.at_bundle_threshold.npv)
    # The decision curve: treat-all from the cohort's prevalence, the model's NB from the confusion counts.
    dca = saved["decision_curve"]
    prevalence = y.mean()
    assert 0.3 < prevalence < 0.7 and dca["thresholds"][0] == 0.01
    assert dca["net_benefit_treat_all"][0] == pytest.approx(prevalence - (1 - prevalence) * 0.01 / 0.99, abs=1e-12)
    at_half = confusion_metrics(y, prob, 0.5)  # pt = 0.5: odds 1
    assert dca["net_benefit_model"][49] == pytest.approx((at_half.tp - at_half.fp) / len(y), abs=1e-12)
    assert dca["band_low"][49] <= dca["net_benefit_model"][49] <= dca["band_high"][49]
    assert dca["n_resamples"] == 2000 and dca["model_beats_both"]
    low, high = dca["model_beats_both"][0]
    assert f"for pt {low:.2f}-{high:.2f}" in html and "<h2>Decision curve</h2>" in html
    table = pd.read_csv(out / "decision_curve.csv")
    assert table["net_benefit_model"].tolist() == pytest.approx(dca["net_benefit_model"], abs=1e-15)


def test_evaluate_bootstrap_option(trained_and_holdout):
    bundle, features, labels = trained_and_holdout
    result = evaluate(bundle, features, labels, label="state", ci="bootstrap", n_bootstrap=500, seed=3)
    assert result.auc.method == "bootstrap" and result.auc.n_resamples == 500
    assert result.auc.ci_low <= result.auc.auc <= result.auc.ci_high


def test_report_refused_into_occupied_folder(trained_and_holdout, tmp_path):
    from TMERadiomicsLib.errors import InputError

    bundle, features, labels = trained_and_holdout
    result = evaluate(bundle, features, labels, label="state")
    (tmp_path / "old.txt").write_text("keep")
    with pytest.raises(InputError, match="overwrite"):
        write_report(result, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_evaluate_cli_writes_report_and_refuses_mismatched_ids(trained_and_holdout, tmp_path, capsys):
    from TMERadiomicsLib.cli import evaluate_cmd
    from TMERadiomicsLib.errors import InputError

    bundle, features, labels = trained_and_holdout
    bundle.save(tmp_path / "bundle")
    features.to_csv(tmp_path / "f.csv", index=False)
    labels.to_csv(tmp_path / "l.csv", index=False)
    argv = ["evaluate", str(tmp_path / "bundle"), str(tmp_path / "f.csv"), str(tmp_path / "l.csv"),
            "--label", "state", "--out", str(tmp_path / "report")]
    assert evaluate_cmd.run(cli_args(evaluate_cmd, argv)) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["auc"]["auc"] == pytest.approx(
        json.loads((tmp_path / "report" / "metrics.json").read_text())["auc"]["auc"])
    labels.iloc[1:].to_csv(tmp_path / "l.csv", index=False)
    argv[-1] = str(tmp_path / "report2")
    with pytest.raises(InputError, match=f"in features only: {features.loc[0, 'case_id']}; in labels only: none"):
        evaluate_cmd.run(cli_args(evaluate_cmd, argv))
    assert not (tmp_path / "report2").exists()


def test_default_ci_follows_the_paper(trained_and_holdout):
    from TMERadiomicsLib.evaluation.evaluate import default_ci_method

    bundle, features, labels = trained_and_holdout
    # Qian's intervals are asymmetric (bootstrap); Han's symmetric (DeLong).
    result = evaluate(bundle, features, labels, label="state", n_bootstrap=300)
    assert result.auc.method == "bootstrap" and result.auc.n_resamples == 300
    assert result.auc.p_value == pytest.approx(
        stats.mannwhitneyu(*[result.scores["score"][result.scores["label"] == k] for k in (1, 0)],
                           method="asymptotic", use_continuity=False).pvalue)
    assert default_ci_method(replace(bundle, manifest=replace(bundle.manifest, name="han2024-rf"))) == "delong"


def test_roc_legends_lie_outside_the_plotting_area(trained_and_holdout):
    """Issue 21: measured, not eyeballed: no legend box overlaps an axes, a tick label or leaves the figure."""
    import matplotlib.pyplot as plt

    from layout_checks import legend_problems
    from TMERadiomicsLib.evaluation.plots import roc_comparison_figure, roc_figure

    bundle, features, labels = trained_and_holdout
    result = evaluate(bundle, features, labels, label="state", n_bootstrap=200)
    # Five entries, as the demo's comparison has; long names on purpose.
    many = {f"bundle-with-a-long-name-{k}": result for k in range(5)}
    for fig in (roc_figure(result), roc_comparison_figure(many)):
        assert legend_problems(fig) == []
        plt.close(fig)
    # The check itself can fail: a legend placed over the curves is caught.
    fig = roc_figure(result)
    fig.axes[0].legend(loc="lower right")
    assert legend_problems(fig)
    plt.close(fig)


def test_a_score_only_bundle_gets_no_invented_decision_curve(tmp_path):
    """A published Qian signature has no intercept, so no probability: no curve, one note saying why."""
    from model_tables import qian_table

    from TMERadiomicsLib.evaluation.evaluate import DCA_NEEDS_PROBABILITIES
    from TMERadiomicsLib.models import bundled_model, load_bundle

    bundle = load_bundle(bundled_model("qian2024-peritumoral"))
    features = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=24, seed=2)
    labels = pd.DataFrame({"case_id": features["case_id"], "state": np.tile([0, 1], 12)})
    result = evaluate(bundle, features, labels, label="state", ci="delong")
    assert result.decision_curve is None and result.hosmer_lemeshow is None
    assert DCA_NEEDS_PROBABILITIES in result.notes
    out = write_report(result, tmp_path / "report")
    assert json.loads((out / "metrics.json").read_text())["decision_curve"] is None
    assert not (out / "decision_curve.png").exists() and not (out / "decision_curve.csv").exists()
    html = (out / "report.html").read_text()
    assert "<h2>Decision curve</h2>" not in html and html.count("no decision curve: net benefit needs") == 1


def test_decision_curve_legend_lies_outside_the_plotting_area(trained_and_holdout):
    import matplotlib.pyplot as plt

    from layout_checks import legend_problems
    from TMERadiomicsLib.evaluation.plots import decision_curve_figure

    bundle, features, labels = trained_and_holdout
    result = evaluate(bundle, features, labels, label="state", n_bootstrap=200)
    fig = decision_curve_figure(result)
    assert legend_problems(fig) == []
    assert [t.get_text() for t in fig.legends[0].get_texts()][0] == "model: qian2024-lasso"
    plt.close(fig)
