"""The README's main job: ``tmeradiomics demo`` from synthetic cohort to a scored new case.

Runs the demo once at its default size (the configuration users run) and
checks what it claims: held-out AUC well above chance for both trained
recipes, held-out cases kept out of training and calibration, every bundle
scoring the new case, and one self-contained report.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import f_oneway
from sklearn.metrics import roc_auc_score

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.demo import DemoConfig
from TMERadiomicsLib.models import list_bundled_models, load_bundle
from readme_commands import command_blocks, tmeradiomics_argv

TRAINED = ("qian2024-lasso", "han2024-rf")
# "Well above chance": a point estimate a useful model would reach, and a DeLong CI excluding 0.5.
MIN_HELD_OUT_AUC = 0.75


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The one demo of this module: its folder, summary.json and what it printed on stdout."""
    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo", "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text()), printed.getvalue()


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run[:2]


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
    assert not re.search(r'src="(?!data:)', html)
    # Links go only to the demo's own per-bundle and response reports, which exist.
    links = re.findall(r'href="([^"]+)"', html)
    assert "response/report.html" in links and all((out / link).is_file() for link in links)
    for name in TRAINED + tuple(list_bundled_models()):
        assert name in html and f"evaluation/{name}/report.html" in links
    assert "NEW-001" in html and "synthetic" in html.lower()


@pytest.mark.slow
def test_report_flags_signatures_that_do_not_transfer_and_states_the_truth(demo):
    """Issue 21: a CI wholly below 0.5 says "does not transfer", and its risk group is never shown bare."""
    out, summary = demo
    html = (out / "report.html").read_text()
    failed = [m["bundle"] for m in summary["models"] if m["auc_ci"][1] < 0.5]
    assert ("Does not transfer" in html) == bool(failed)
    scores = pd.read_csv(out / "new-case" / "scores.csv").set_index("bundle")
    for name in failed:
        assert f"does not transfer (would be: {scores.loc[name, 'risk_group']})" in html
    for name in TRAINED:
        assert name not in failed
    truth = pd.read_csv(out / "cohort" / "truth.csv")
    level = "high" if summary["new_case"]["true_m2_fraction"] > truth["m2_fraction"].median() else "low"
    assert f"{level} M2 infiltration (the median true share of the cohort is" in html


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


@pytest.mark.slow
def test_each_recipe_trained_on_its_preset_and_regions_with_steps_recorded(demo):
    out, summary = demo
    models = {m["bundle"]: m for m in summary["models"]}
    qian = load_bundle(out / "models" / "qian2024-lasso").manifest
    han = load_bundle(out / "models" / "han2024-rf").manifest
    assert qian.preset["name"] == "qian2024" and han.preset["name"] == "han2024"
    assert not any(f.startswith("Ring_") for f in qian.required_features)
    assert all(f.startswith(("Intra_", "Ring_")) for f in han.required_features)
    for name, manifest in (("qian2024-lasso", qian), ("han2024-rf", han)):
        steps = manifest.provenance["steps"]
        assert models[name]["steps"] == [{k: s[k] for k in ("name", "enabled", "features_in", "features_out")}
                                         for s in steps]
    qian_steps = {s["name"]: s for s in qian.provenance["steps"]}
    assert qian_steps["screen"]["enabled"] and qian_steps["screen"]["features_out"] < qian_steps["screen"]["features_in"]
    assert qian_steps["lasso"]["features_out"] == len(qian.required_features)
    han_steps = {s["name"]: s for s in han.provenance["steps"]}
    assert han_steps["regions"]["parameters"]["regions"] == ["intratumoral", "ring"]
    assert han_steps["importance_selection"]["features_out"] == len(han.required_features) == 20
    # The han2024 features were extracted for the two regions only.
    han_table = pd.read_csv(out / "features-han2024" / "features_combined.csv", nrows=1)
    assert not any(c.startswith("Peri_") for c in han_table.columns)
    html = (out / "report.html").read_text()
    assert "Recipe steps" in html and "importance_selection" in html and "screen" in html


@pytest.mark.slow
def test_response_analysis_of_the_treated_held_out_cases(demo):
    out, summary = demo
    response = summary["response"]
    cases = pd.read_csv(out / "response" / "cases.csv", dtype={"case_id": str})
    treated = pd.read_csv(out / "cohort" / "response.csv", dtype={"case_id": str})
    assert set(cases["case_id"]) == set(treated["case_id"]) and len(cases) == summary["cohort"]["held_out"]
    scores = pd.read_csv(out / "evaluation" / "han2024-rf" / "scores.csv", dtype={"case_id": str}).set_index("case_id")
    assert (cases["score"].to_numpy() == scores.loc[cases["case_id"], "score"].to_numpy()).all()
    orr = response["auc"]["objective response (CR+PR vs SD+PD)"]
    assert orr["auc"] == pytest.approx(roc_auc_score(cases["orr"], cases["score"]), abs=1e-12)
    assert 0 < orr["p_value"] < 1 and orr["ci_low"] <= orr["auc"] <= orr["ci_high"]
    assert response["kruskal_wallis"]["dof"] == len(response["kruskal_wallis"]["n_per_group"]) - 1
    assert response["survival"]["logrank_p"] is not None
    html = (out / "report.html").read_text()
    assert "Immunotherapy response" in html and f"{orr['auc']:.3f}" in html  # AUCs to 3 decimals
    assert (out / "response" / "report.html").is_file()


@pytest.mark.slow
def test_demo_prints_a_short_summary_and_writes_the_numbers_to_a_file(demo_run):
    out, summary, printed = demo_run
    lines = printed.strip().splitlines()
    assert len(lines) <= 10 and len(printed) < 1000  # not the 3.9 KB of JSON it printed before
    for model in summary["models"]:
        line = next(line for line in lines if line.split()[0] == model["bundle"])
        assert f"{model['held_out_auc']:.2f} ({model['auc_ci'][0]:.2f}-{model['auc_ci'][1]:.2f})" in line
    assert str(out / "report.html") in printed and str(out / "summary.json") in printed


@pytest.mark.slow
def test_readme_commands_on_the_demo_output_run_as_written(demo, monkeypatch):
    """README, "Labels from RNA-seq and survival": the block that starts with ``cd demo-output``."""
    out, summary = demo
    block = next(b for b in command_blocks() if b[0] == "cd demo-output")
    monkeypatch.chdir(out)
    written = []
    for command in block[1:]:
        argv = tmeradiomics_argv(command)
        assert argv is not None, command
        assert main(argv) == 0, command
        written.append(argv[argv.index("--out") + 1])
    assert all(os.path.exists(path) for path in written)
    m2 = pd.read_csv(out / "m2.csv", dtype={"case_id": str})
    assert len(m2) == summary["cohort"]["cases"] and m2["Macrophages_M2_high"].sum() == len(m2) // 2
    correlation = pd.read_csv(out / "corr" / "correlation.csv")
    feature_column = next(c for c in correlation.columns if "feature" in c)
    chosen = set(correlation[feature_column])
    assert len(chosen) == 20 and all(f.startswith(("Intra_", "Ring_")) for f in chosen)  # Han's regions


@pytest.mark.slow
def test_demo_trains_with_and_without_combat_by_site(demo):
    """Issue 24, item 5: three scanners; qian2024-lasso with and without --harmonise site on the held-out cases."""
    out, summary = demo
    h = summary["harmonisation"]
    manifest = pd.read_csv(out / "cohort" / "manifest.csv", dtype={"case_id": str})
    assert set(manifest["site"]) == set(summary["sites"]) == {"site-A", "site-B", "site-C"}
    assert sum(summary["sites"].values()) == summary["cohort"]["cases"]
    models = {m["bundle"]: m for m in summary["models"]}
    assert h["held_out_auc"]["without"] == models["qian2024-lasso"]["held_out_auc"]
    # The harmonised bundle's held-out AUC, recomputed from its own scores of the held-out features.
    bundle = load_bundle(out / "models" / h["bundle"])
    features = pd.read_csv(out / "features-qian2024" / "features_combined.csv", dtype={"case_id": str})
    features = features.merge(manifest[["case_id", "site", "role"]], on="case_id")
    held_out = features[features["role"] == "held-out"].reset_index(drop=True)
    labels = pd.read_csv(out / "labels" / "labels.csv", dtype={"case_id": str}).set_index("case_id")
    scores = bundle.score(held_out)
    truth = labels.loc[scores["case_id"], "Macrophages_M2_high"]
    assert roc_auc_score(truth, scores["probability"]) == pytest.approx(h["held_out_auc"]["with"], abs=1e-12)
    low, high = h["auc_ci"]["with"]
    assert low <= h["held_out_auc"]["with"] <= high
    # ComBat was fitted on the lasso's training part only, never on a held-out case.
    lasso = bundle.manifest.provenance
    assert sum(bundle.harmonisation.site_cases) == len(lasso["training_cases"]) == bundle.manifest.performance["training"]["n"]
    assert not set(lasso["training_cases"]) & set(held_out["case_id"])
    # The feature shown differs most between sites (scipy's one-way ANOVA F over the development cases)...
    development = features[features["role"] == "development"]
    harmonised = list(bundle.harmonisation.features)
    f = f_oneway(*[development.loc[development["site"] == s, harmonised].to_numpy()
                   for s in sorted(development["site"].unique())], axis=0).statistic
    assert h["feature"] == harmonised[int(np.argmax(f))]
    # ...and its site means, recomputed from the raw table, move closer together after ComBat.
    before = features.groupby("site")[h["feature"]].mean()
    assert before.to_dict() == pytest.approx(h["site_means"]["before"], rel=1e-12)
    assert h["between_site_sd"]["after"] < h["between_site_sd"]["before"]
    after = h["site_means"]["after"]
    assert max(after.values()) - min(after.values()) < before.max() - before.min()
    html = (out / "report.html").read_text()
    assert "Harmonisation across sites" in html
    assert f"{h['held_out_auc']['with']:.3f}" in html and f"{h['held_out_auc']['without']:.3f}" in html
