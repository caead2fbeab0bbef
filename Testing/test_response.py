"""``tmeradiomics response``: Han 2024's immunotherapy analysis, its numbers and its refusals."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test
from scipy import stats
from sklearn.metrics import roc_auc_score

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.response import analyse_response


def _cohort(n: int = 60, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and RECIST/survival drawn so that higher scores respond more and live longer."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    latent = score + rng.normal(0, 1.0, n)
    recist = np.select([latent > 1.0, latent > 0.2, latent > -0.8], ["CR", "PR", "SD"], "PD")
    time = rng.exponential(24 * np.exp(0.6 * score))
    censor = rng.uniform(6, 60, n)
    ids = [f"T{i:02d}" for i in range(n)]
    scores = pd.DataFrame({"case_id": ids, "radscore": score, "probability": np.nan})
    clinical = pd.DataFrame({"case_id": ids, "recist": [r.lower() if i % 7 == 0 else r for i, r in enumerate(recist)],
                             "time": np.round(np.minimum(time, censor), 2), "event": (time <= censor).astype(int)})
    return scores, clinical


def test_numbers_against_independent_implementations():
    scores, clinical = _cohort()
    result = analyse_response(scores, clinical, score="radscore")
    s = scores["radscore"].to_numpy()
    recist = clinical["recist"].str.upper().to_numpy()
    median = np.median(s)
    assert result.median == pytest.approx(median)
    assert (result.cases["score_group"] == np.where(s > median, "high", "low")).all()
    orr, dcr = np.isin(recist, ["CR", "PR"]).astype(int), np.isin(recist, ["CR", "PR", "SD"]).astype(int)
    auc = result.auc
    assert auc["objective response (CR+PR vs SD+PD)"].auc == pytest.approx(roc_auc_score(orr, s))
    assert auc["disease control (CR+PR+SD vs PD)"].auc == pytest.approx(roc_auc_score(dcr, s))
    assert auc["objective response (CR+PR vs SD+PD)"].p_value == pytest.approx(
        stats.mannwhitneyu(s[orr == 1], s[orr == 0], method="asymptotic", use_continuity=False).pvalue)
    assert result.kruskal.p_value == pytest.approx(stats.kruskal(*[s[recist == c] for c in "CR PR SD PD".split()]).pvalue)
    assert len(result.pairwise) == 6
    high = s > median
    t, e = clinical["time"].to_numpy(), clinical["event"].to_numpy()
    assert result.survival.logrank_p == pytest.approx(logrank_test(t[high], t[~high], e[high], e[~high]).p_value)
    counts = result.response_by_group.set_index("recist")
    assert counts.loc["CR", "high"] == int(np.sum((recist == "CR") & high))
    # The generating model links score to response: the analysis must see it.
    assert auc["objective response (CR+PR vs SD+PD)"].auc > 0.7 and result.kruskal.p_value < 0.05


def test_cli_writes_one_self_contained_report(tmp_path, capsys):
    scores, clinical = _cohort()
    scores.to_csv(tmp_path / "scores.csv", index=False)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    out = tmp_path / "report"
    assert main(["response", str(tmp_path / "scores.csv"), str(tmp_path / "clinical.csv"), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "response.json").read_text())
    assert printed["auc"] == saved["auc"] and saved["n_cases"] == 60 and saved["groups"] == {"high": 30, "low": 30}
    assert {"report.html", "cases.csv", "auc.csv", "pairwise_wilcoxon.csv", "response_by_group.csv",
            "km_curves.csv", "score_by_recist.png", "roc.png", "kaplan_meier.png"} <= {p.name for p in out.iterdir()}
    html = (out / "report.html").read_text()
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 3
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "Kruskal-Wallis" in html and "log-rank" in html


def _bad(tmp_path, capsys, scores, clinical, message):
    scores.to_csv(tmp_path / "scores.csv", index=False)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    out = tmp_path / "report"
    code = main(["response", str(tmp_path / "scores.csv"), str(tmp_path / "clinical.csv"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and re.search(message, err), err
    assert "Traceback" not in err and not out.exists()


def test_unknown_recist_code_is_refused_naming_the_case(tmp_path, capsys):
    scores, clinical = _cohort()
    clinical.loc[4, "recist"] = "NE"
    _bad(tmp_path, capsys, scores, clinical, r"unknown RECIST code.*T04.*NE")


def test_missing_cases_are_refused_listing_both_sides(tmp_path, capsys):
    scores, clinical = _cohort()
    _bad(tmp_path, capsys, scores.iloc[1:], clinical.iloc[:-1], r"without clinical data: T59; without a score: T00")
    _bad(tmp_path, capsys, scores, clinical.iloc[:-1], r"without clinical data: T59; without a score: none")


def test_one_class_only_is_refused(tmp_path, capsys):
    scores, clinical = _cohort()
    _bad(tmp_path, capsys, scores, clinical.assign(recist="SD"), r"objective response.*one class only")
    _bad(tmp_path, capsys, scores, clinical.assign(recist=np.where(clinical.index % 2, "PR", "SD")),
         r"disease control.*one class only")


def test_survival_columns_are_optional(tmp_path):
    scores, clinical = _cohort()
    result = analyse_response(scores, clinical.drop(columns=["time", "event"]), score="radscore")
    assert result.survival is None and any("no survival columns" in n for n in result.notes)


def test_figures_keep_legends_off_the_plots_and_panels_equal(tmp_path):
    """Issue 21: legends outside the plotting area (measured), every group's n, KM units and numbers at risk."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from layout_checks import legend_problems
    from TMERadiomicsLib.labels.survival import at_risk, km_figure
    from TMERadiomicsLib.response.report import figures, roc_figure, violin_figure

    scores, clinical = _cohort()
    result = analyse_response(scores, clinical, score="radscore")
    for make in (violin_figure, roc_figure, lambda r: km_figure(r.survival, "KM", "months")):
        fig = make(result)
        assert legend_problems(fig) == []
        plt.close(fig)
    violin = violin_figure(result)
    ticks = [t.get_text() for t in violin.axes[0].get_xticklabels()]
    assert ticks == [f"{c} (n={n})" for c, n in result.kruskal.n_per_group.items()]
    plt.close(violin)
    km = km_figure(result.survival, "KM", "months")
    assert km.axes[1].get_xlabel() == "time (months)" and km.axes[1].get_title(loc="left") == "numbers at risk"
    shown = {t.get_text() for t in km.axes[1].texts}
    plt.close(km)
    # Numbers at risk against the data: cases of the group whose time is at least t.
    frame = result.cases
    for group in ("high", "low"):
        times = frame.loc[frame["score_group"] == group, "time"].to_numpy()
        counts = at_risk(result.survival.curves, [0.0, 12.0, 30.0, float(times.max()), float(times.max()) + 1])
        assert list(counts.loc[group]) == [int((times >= t).sum()) for t in (0.0, 12.0, 30.0, times.max(),
                                                                              times.max() + 1)]
    assert str(len(frame[frame["score_group"] == "high"])) in shown
    sizes = {Image.open(io.BytesIO(data)).size for data in figures(result, "months").values()}
    assert len(sizes) == 1  # every panel the same size, so they line up side by side
