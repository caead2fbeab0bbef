"""The README's main job: ``tmeradiomics demo`` from synthetic cohort to a scored new case.

Runs the demo once at its default size (the configuration users run) and
checks what it claims: held-out AUC well above chance for both trained
recipes, held-out cases kept out of training and calibration, every bundle
scoring the new case, and one self-contained report.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.demo import DemoConfig
from TMERadiomicsLib.models import list_bundled_models, load_bundle

TRAINED = ("qian2024-lasso", "han2024-rf")
# "Well above chance": a point estimate a useful model would reach, and a DeLong CI excluding 0.5.
MIN_HELD_OUT_AUC = 0.75


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_trained_models_beat_chance_on_held_out_cases(demo):
    out, summary = demo
    models = {m["bundle"]: m for m in summary["models"]}
    for name in TRAINED:
        assert models[name]["held_out_auc"] >= MIN_HELD_OUT_AUC, name
        assert models[name]["auc_ci"][0] > 0.5, name
        scores = pd.read_csv(out / "evaluation" / name / "scores.csv")
        assert roc_auc_score(scores["label"], scores["score"]) == pytest.approx(models[name]["held_out_auc"], abs=1e-12)


@pytest.mark.slow
def test_held_out_cases_never_reach_training_or_calibration(demo):
    out, summary = demo
    defaults = DemoConfig()
    n_held = round(defaults.held_out * defaults.n_cases)
    assert summary["cohort"] == {"cases": defaults.n_cases, "development": defaults.n_cases - n_held, "held_out": n_held}
    manifest = pd.read_csv(out / "cohort" / "manifest.csv", dtype={"case_id": str})
    held_out = set(manifest.loc[manifest["role"] == "held-out", "case_id"])
    for name in TRAINED + tuple(list_bundled_models()):
        assert set(pd.read_csv(out / "evaluation" / name / "scores.csv", dtype={"case_id": str})["case_id"]) == held_out
    lasso = load_bundle(out / "models" / "qian2024-lasso").manifest.performance
    assert lasso["training"]["n"] + lasso["testing"]["n"] == summary["cohort"]["development"]
    for name in list_bundled_models():
        bundle = load_bundle(out / "models" / name).manifest
        assert bundle.calibrated and bundle.normalisation["cohort_size"] == summary["cohort"]["development"]


@pytest.mark.slow
def test_labels_come_from_rna_seq_and_match_the_ground_truth(demo):
    out, summary = demo
    labels = pd.read_csv(out / "labels" / "labels.csv", dtype={"case_id": str})
    fractions = pd.read_csv(out / "labels" / "cibersort_fractions.csv", dtype={"case_id": str})
    median = fractions["Macrophages M2"].median()
    assert (labels["Macrophages_M2_high"] == (fractions["Macrophages M2"] > median).astype(int)).all()
    assert summary["labels"]["m2_fraction_pearson_r"] > 0.9
    assert summary["labels"]["agreement_with_truth"]["tme_hot"] >= 0.95


@pytest.mark.slow
def test_every_bundle_scores_the_new_case_with_a_group(demo):
    out, summary = demo
    scores = pd.read_csv(out / "new-case" / "scores.csv")
    assert list(scores["bundle"]) == list(TRAINED) + list_bundled_models()
    assert (scores["status"] == "ok").all() and scores["risk_group"].notna().all()
    for row in scores.itertuples():
        groups = load_bundle(out / "models" / row.bundle).manifest.risk_groups
        assert row.risk_group in groups


@pytest.mark.slow
def test_report_is_one_self_contained_page(demo):
    out, _ = demo
    html = (out / "report.html").read_text()
    # Overlays of the regions and of the risk groups, and the ROC comparison, all inline.
    assert len(re.findall(r'src="data:image/png;base64,', html)) >= 3
    assert not re.search(r'(src|href)="(?!data:)', html)
    for name in TRAINED + tuple(list_bundled_models()):
        assert name in html
    assert "NEW-001" in html and "synthetic" in html.lower()


@pytest.mark.parametrize("argv, message", [
    (["--cases", "40"], "at least 50 cases"),
    (["--jobs", "-1"], "--jobs"),
    (["--held-out", "0.9"], "held-out share"),
])
def test_bad_demo_requests_exit_2_and_write_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_earlier_demo_is_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("earlier")
    assert main(["demo", "--out", str(out), "--cases", "5"]) == 2
    assert main(["demo", "--out", str(out)]) == 2
    assert (out / "report.html").read_text() == "earlier"
