"""Model cards: written by train from the run's own numbers, sealed in the bundle, shipped, rendered.

The figures a card shows are recomputed here from the inputs (the training
table's prevalence and feature columns, the held-out AUC from the saved
bundle's own scores with scikit-learn), and the shipped cards' AUCs are
checked against the paper's abstract typed again by hand, so no test reads
a number back through the code that wrote it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import combined_table, qian_table  # noqa: E402

from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.evaluation import evaluate  # noqa: E402
from TMERadiomicsLib.evaluation.report import model_card_section, render_html  # noqa: E402
from TMERadiomicsLib.models import bundled_model, calibrate, list_bundled_models, load_bundle  # noqa: E402
from TMERadiomicsLib.models.card_html import card_to_html  # noqa: E402
from TMERadiomicsLib.models.manifest import manifest_digest  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402

CARD = "MODEL_CARD.md"
# Kept small so the module stays fast: 5 folds, 20 lambdas.
FAST_LASSO = {"cv_folds": 5, "n_lambdas": 20}
# Qian 2024, abstract (Results), typed by hand: AUC (95% CI), training then testing.
ABSTRACT_AUCS = {
    "qian2024-intratumoral": ("0.662 (0.495-0.802)", "0.678 (0.438-0.901)"),
    "qian2024-peritumoral": ("0.826 (0.710-0.924)", "0.752 (0.525-0.957)"),
    "qian2024-combined": ("0.843 (0.723-0.938)", "0.744 (0.491-0.965)"),
}


@pytest.fixture(scope="module")
def cohort():
    features, labels = combined_table(n=60, n_noise=10, seed=5)
    labels["site"] = np.where(np.arange(60) < 25, "A", "B")
    return features, labels


@pytest.fixture(scope="module")
def trained(cohort, tmp_path_factory):
    bundle = train(*cohort, "qian2024-lasso", seed=3, label="state", options=FAST_LASSO)
    return bundle, bundle.save(tmp_path_factory.mktemp("card") / "bundle")


def table_rows(card: str, heading: str) -> list[list[str]]:
    """The body rows of the pipe table under ``## heading``, parsed here independently of the writer."""
    section = card.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_trained_card_holds_the_recipes_feature_counts(trained, cohort):
    bundle, folder = trained
    features, _ = cohort
    card = (folder / CARD).read_text(encoding="utf-8")
    steps = {row[0]: (row[2], row[3]) for row in table_rows(card, "Recipe steps")}
    n_columns = sum(c.startswith(("Intra_", "Peri_", "Ring_")) for c in features.columns)
    n_combined = sum(c.startswith(("Intra_", "Peri_")) for c in features.columns)
    assert steps["icc_filter"] == (str(n_columns), str(n_columns))  # no stable-features list given
    assert steps["regions"] == (str(n_columns), str(n_combined))  # the combined model drops the ring
    coefficients = json.loads((folder / "linear.json").read_text())["coefficients"]
    assert steps["lasso"][1] == str(len(coefficients)) and len(coefficients) >= 1
    assert card == bundle.model_card


def test_trained_card_holds_the_datas_prevalence_and_sites(trained, cohort):
    bundle, folder = trained
    _, labels = cohort
    rows = dict((row[0], row[1]) for row in table_rows((folder / CARD).read_text(), "Training data"))
    state = labels.set_index("case_id")["state"]
    assert f"prevalence {state.mean():.3f}" in rows["cases"] and f"{state.sum()} label 1" in rows["cases"]
    testing = json.loads((folder / "manifest.json").read_text())["provenance"]["testing_cases"]
    assert rows["testing part"].startswith(f"{len(testing)} cases")
    assert f"prevalence {state[testing].mean():.3f}" in rows["testing part"]
    assert rows["sites"] == "2: A (25 cases), B (35 cases)"


def test_trained_card_reports_the_held_out_auc_and_calibration_of_the_saved_bundle(trained, cohort):
    bundle, folder = trained
    features, labels = cohort
    testing = json.loads((folder / "manifest.json").read_text())["provenance"]["testing_cases"]
    held_out = features[features["case_id"].isin(testing)]
    scores = load_bundle(folder).score(held_out).merge(labels, on="case_id")
    card = (folder / CARD).read_text()
    performance = {row[0]: row for row in table_rows(card, "Performance")}
    assert performance["testing"][2] == str(len(testing))
    assert performance["testing"][3].startswith(f"{roc_auc_score(scores['state'], scores['probability']):.3f} (")
    assert "held-out" in performance["testing"][1] and "in-sample" in performance["training"][1]
    assert (f"mean predicted probability {scores['probability'].mean():.3f}, observed prevalence "
            f"{scores['state'].mean():.3f}") in card
    assert "`tmeradiomics evaluate" in card.split("## Decision curve", 1)[1]


def test_edited_card_is_refused_with_one_line(trained, tmp_path):
    _, folder = trained
    copy = _copy(folder, tmp_path / "b")
    (copy / CARD).write_text((copy / CARD).read_text().replace("Research use only", "Clinical use"))
    with pytest.raises(InputError, match="bundle was modified") as error:
        load_bundle(copy)
    assert "\n" not in str(error.value) and CARD in str(error.value)


def test_bundle_without_a_card_loads_and_the_report_says_so(trained, cohort, tmp_path):
    bundle, _ = trained
    old = replace(bundle, model_card=None).with_file_hashes().save(tmp_path / "old")
    assert sorted(p.name for p in old.iterdir()) == ["linear.json", "manifest.json"]
    loaded = load_bundle(old)
    assert loaded.model_card is None and set(loaded.manifest.files) == {"linear.json"}
    assert "carries no model card" in "".join(model_card_section(loaded.model_card))
    (old / CARD).write_text("# Model card: trust me\n")  # a card nobody sealed
    with pytest.raises(InputError, match="not sealed by manifest.json"):
        load_bundle(old)


@pytest.mark.parametrize("name, data, message", [
    (CARD, b"\xff\xfe not text", "model card is not UTF-8 text"),
    ("notes.txt", b"a third file", "exactly one parameter file, linear.json, and optionally MODEL_CARD.md"),
])
def test_crafted_bundle_files_are_refused(trained, tmp_path, name, data, message):
    """A sealed card that is not text, or a sealed file that is neither estimator nor card."""
    _, folder = trained
    copy = _copy(folder, tmp_path / "b")
    (copy / name).write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest["bundle_sha256"] = manifest_digest(manifest)  # re-sealed, as a crafted bundle would be
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=message):
        load_bundle(copy)


def test_report_renders_the_card(trained, cohort):
    bundle, _ = trained
    from TMERadiomicsLib.evaluation.plots import figures

    result = evaluate(bundle, *cohort, label="state", ci="delong")
    pngs = figures(result)  # the decision curve's section embeds its figure
    page = render_html(result, pngs, bundle.model_card)
    assert "<h2>Model card: qian2024-lasso 1</h2>" in page and "<h3>CLEAR checklist items covered</h3>" in page
    assert "<td>icc_filter</td>" in page
    assert "carries no model card" in render_html(result, pngs, None)


@pytest.mark.parametrize("name", list_bundled_models())
def test_shipped_cards_are_sealed_and_quote_the_papers_aucs(name):
    folder = bundled_model(name)
    manifest = json.loads((folder / "manifest.json").read_text())
    data = (folder / CARD).read_bytes()
    assert manifest["files"][CARD] == hashlib.sha256(data).hexdigest()
    card = data.decode("utf-8")
    assert load_bundle(folder).model_card == card
    performance = {row[0]: row for row in table_rows(card, "Performance")}
    published = manifest["performance"]["published"]
    for part, abstract in zip(("training", "testing"), ABSTRACT_AUCS[name]):
        entry = published[part]
        from_manifest = f"{entry['auc']:.3f} ({entry['auc_ci'][0]:.3f}-{entry['auc_ci'][1]:.3f})"
        assert performance[part][3] == from_manifest == abstract
        assert performance[part][2] == str(entry["n"]) and "Table 3" in performance[part][-1]
    assert "not-published" in card and "Not for:" in card and "no decision curve" in card
    assert "1999" in card and "three centres" in card


def test_calibration_adds_one_local_section_to_the_card(tmp_path):
    bundle = load_bundle(bundled_model("qian2024-peritumoral"))
    reference = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=20, seed=4)
    once = calibrate(bundle, reference)
    twice = calibrate(once, reference)
    assert twice.model_card.count("## Local calibration") == 1
    assert f"Threshold {twice.manifest.threshold:.4f}" in twice.model_card
    assert twice.model_card.startswith(bundle.model_card.rstrip("\n"))
    assert load_bundle(twice.save(tmp_path / "cal")).model_card == twice.model_card


def test_markdown_converter_escapes_markup():
    page = card_to_html("# Card <b>x</b>\n\n<script>alert(1)</script> and **bold** `a<b`\n\n"
                        "- <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| <script>1</script> | **c** |\n")
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") == 2 and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<h2>Card &lt;b&gt;x&lt;/b&gt;</h2>" in page
    assert "<b>bold</b>" in page and "<code>a&lt;b</code>" in page and "<td><b>c</b></td>" in page
    assert re.search(r"<table><thead><tr><th>a</th><th>b</th></tr></thead>", page)


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst
