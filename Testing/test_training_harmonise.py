"""``train --harmonise``: ComBat fitted on the training part only (and per CV fold), carried by the bundle.

The leakage tests change only the held-out cases' values. The tables keep
their case IDs and labels, so the recipes draw the same 7:3 split and the
same folds. ComBat fitted on every case then changes the training values.
The recipe's route leaves the model and the held-out predictions exactly as
they were.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import cli_args, combined_table, qian_table  # noqa: E402

from TMERadiomicsLib.cli import train_cmd  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.harmonisation import fit_combat  # noqa: E402
from TMERadiomicsLib.models import bundled_model, calibrate, list_bundled_models, load_bundle  # noqa: E402
from TMERadiomicsLib.models.harmonised import HARMONISATION_NAME  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402
from TMERadiomicsLib.training.harmonise import FoldValues, Harmonise, Harmoniser  # noqa: E402

SITES = {"A": (1.0, 0.0), "B": (1.4, 1.5), "C": (0.7, -1.0)}  # multiplicative gain, additive offset
FAST_LASSO = {"cv_folds": 5, "n_lambdas": 20}
FAST_RF = {"n_estimators": 30, "max_features": ["sqrt"], "min_samples_leaf": [1, 3],
           "regions": ["intratumoral", "peritumoral", "ring"], "select": False}


def sited_tables(n: int = 60, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``combined_table`` with a ``site`` column and each site's gain and offset on every feature."""
    features, labels = combined_table(n=n, n_noise=12, seed=seed)
    features["site"] = np.array(list(SITES))[np.arange(n) % len(SITES)]
    columns = _feature_columns(features)
    for site, (gain, offset) in SITES.items():
        rows = features["site"] == site
        features.loc[rows, columns] = features.loc[rows, columns] * gain + offset
    return features, labels


def _feature_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith(("Intra_", "Peri_", "Ring_"))]


def _shift_held_out(features: pd.DataFrame, held_out: list[str], keep: str) -> pd.DataFrame:
    """The same table with every held-out case but ``keep`` moved (a held-out-only site shift)."""
    shifted = features.copy()
    rows = shifted["case_id"].isin(set(held_out) - {keep})
    columns = _feature_columns(shifted)
    shifted.loc[rows, columns] = shifted.loc[rows, columns] * 1.8 + 4.0
    return shifted


@pytest.fixture(scope="module")
def tables():
    return sited_tables()


@pytest.fixture(scope="module")
def lasso(tables):
    return train(*tables, "qian2024-lasso", seed=2, label="state", options=FAST_LASSO, harmonise="site")


def test_combat_fitted_on_all_cases_leaks_the_held_out_cases(lasso, tables):
    """The leaky route: ComBat on train + held-out before the split. The training values (so the model)
    and a held-out case's own harmonised values change when only the *other* held-out cases change."""
    features, _ = tables
    held_out = lasso.manifest.provenance["testing_cases"]
    keep = held_out[0]
    shifted = _shift_held_out(features, held_out, keep)
    columns = _feature_columns(features)

    def harmonised_on_all(table):
        frame = table.set_index("case_id")[columns]
        return fit_combat(frame, table.set_index("case_id")["site"]).apply(frame, table.set_index("case_id")["site"])

    before, after = harmonised_on_all(features), harmonised_on_all(shifted)
    training = lasso.manifest.provenance["training_cases"]
    assert np.abs(before.loc[training] - after.loc[training]).to_numpy().max() > 0.05
    assert np.abs(before.loc[keep] - after.loc[keep]).max() > 0.05


def test_the_recipe_fits_combat_on_the_training_part_only(lasso, tables):
    """The recipe's route: the same held-out shift changes neither the model, nor its ComBat estimates,
    nor the held-out case's prediction."""
    features, labels = tables
    held_out = lasso.manifest.provenance["testing_cases"]
    keep = held_out[0]
    shifted = _shift_held_out(features, held_out, keep)
    again = train(shifted, labels, "qian2024-lasso", seed=2, label="state", options=FAST_LASSO, harmonise="site")
    assert again.manifest.provenance["testing_cases"] == held_out
    assert again.estimator == lasso.estimator
    assert again.harmonisation.to_json() == lasso.harmonisation.to_json()
    mine = lasso.score(features).set_index("case_id").loc[keep, "probability"]
    theirs = again.score(shifted).set_index("case_id").loc[keep, "probability"]
    assert mine == theirs
    # ...and the estimates are those of an independent fit on the training part alone.
    training = features[features["case_id"].isin(lasso.manifest.provenance["training_cases"])].set_index("case_id")
    own = fit_combat(training[list(lasso.harmonisation.features)], training["site"])
    assert np.allclose(own.gamma_star, lasso.harmonisation.gamma_star, rtol=0, atol=1e-12)
    assert lasso.harmonisation.site_cases == tuple(int(n) for n in training["site"].value_counts().sort_index())


def test_each_cv_fold_fits_combat_on_its_own_training_cases(tables):
    features, _ = tables
    columns = _feature_columns(features)
    batch = features.set_index("case_id")[["site"]]
    harmoniser = Harmoniser(Harmonise("site"), features[columns].astype(float), batch)
    fit_rows, val_rows = np.arange(0, 45), np.arange(45, 60)
    fit, val = FoldValues(harmoniser, np.arange(60))(fit_rows, val_rows, columns)
    indexed = features.set_index("case_id")
    own = fit_combat(indexed[columns].iloc[fit_rows], indexed["site"].iloc[fit_rows])
    expected = own.apply(indexed[columns].iloc[val_rows], indexed["site"].iloc[val_rows])
    assert np.allclose(val, expected.to_numpy(), rtol=0, atol=1e-12)
    # The validation cases' values never reach the fold's fit.
    moved = features.copy()
    moved.loc[val_rows, columns] = moved.loc[val_rows, columns] + 10.0
    other = Harmoniser(Harmonise("site"), moved[columns].astype(float), batch)
    fit_again, _ = FoldValues(other, np.arange(60))(fit_rows, val_rows, columns)
    assert np.array_equal(fit, fit_again)


def test_forest_harmonises_and_its_cv_never_sees_the_fold(tables):
    features, labels = tables
    forest = train(features, labels, "han2024-rf", seed=1, label="state", options=FAST_RF, harmonise="site")
    step = {s["name"]: s for s in forest.manifest.provenance["steps"]}["harmonise"]
    assert step["enabled"] and step["parameters"]["sites"] == {"A": 20, "B": 20, "C": 20}
    assert forest.harmonisation.site_cases == (20, 20, 20)
    plain = train(features, labels, "han2024-rf", seed=1, label="state", options=FAST_RF)
    assert plain.harmonisation is None
    assert not {s["name"]: s for s in plain.manifest.provenance["steps"]}["harmonise"]["enabled"]
    # Harmonised, the sites' gains no longer stretch the features apart: the out-of-fold AUC is not worse.
    auc = forest.manifest.performance["cross_validated"]["auc"]["auc"]
    assert auc >= plain.manifest.performance["cross_validated"]["auc"]["auc"] - 0.02


def test_harmonising_removes_the_site_effect_the_model_sees(lasso, tables):
    features, _ = tables
    step = {s["name"]: s for s in lasso.manifest.provenance["steps"]}["harmonise"]
    assert step["enabled"] and step["features_in"] == step["features_out"] == 9  # Intra_ + Peri_
    assert step["parameters"]["fitted_on"] == "training part (42 cases)"
    inputs = lasso.model_inputs(features)
    name = lasso.required_features[0]
    by_site = pd.DataFrame({"raw": features[name], "harmonised": inputs[name], "site": features["site"]})
    spread = by_site.groupby("site").mean()
    assert spread["harmonised"].std() < 0.25 * spread["raw"].std()


def test_bundle_carries_seals_and_applies_its_combat(lasso, tables, tmp_path):
    features, _ = tables
    folder = lasso.save(tmp_path / "bundle")
    assert sorted(p.name for p in folder.iterdir()) == ["MODEL_CARD.md", HARMONISATION_NAME, "linear.json",
                                                        "manifest.json"]
    loaded = load_bundle(folder)
    assert loaded.harmonisation.to_json() == lasso.harmonisation.to_json()
    assert json.loads((folder / HARMONISATION_NAME).read_text())["batch_column"] == "site"
    pd.testing.assert_frame_equal(loaded.score(features), lasso.score(features))
    # Scoring by hand: harmonise with the stored estimates, then the linear model.
    frame = features.set_index("case_id")
    by_hand = lasso.harmonisation.apply(frame[list(lasso.harmonisation.features)], frame["site"])
    probability = lasso.estimator.probability(by_hand[lasso.required_features]).to_numpy()
    assert np.allclose(loaded.score(features)["probability"], probability, rtol=0, atol=1e-12)
    card = loaded.model_card
    assert "harmonised: ComBat by column `site`" in card and "sites A (12 cases), B (17 cases), C (13 cases)" in card


def test_tampered_or_unsealed_harmonisation_is_refused(lasso, tmp_path):
    folder = lasso.save(tmp_path / "bundle")
    path = folder / HARMONISATION_NAME
    data = json.loads(path.read_text())
    data["gamma_star"][0][0] += 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="SHA-256"):
        load_bundle(folder)
    plain = replace(lasso, harmonisation=None).with_file_hashes().save(tmp_path / "plain")
    (plain / HARMONISATION_NAME).write_text(lasso.harmonisation.to_json())
    with pytest.raises(InputError, match="not sealed"):
        load_bundle(plain)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop(columns="site"), "lacks column\\(s\\) site"),
    (lambda t: t.assign(site=t["site"].where(t.index != 3, "D")), "case case003: .*column 'site'.*value: D"),
    (lambda t: t.assign(site=t["site"].where(t.index != 4, None)), "case case004: no site in column 'site'"),
])
def test_scoring_refuses_cases_without_a_known_site(lasso, tables, edit, message):
    features, _ = tables
    with pytest.raises(InputError, match=message):
        lasso.score(edit(features))


def test_calibrate_keeps_the_combat_model_and_uses_it(tmp_path):
    published = load_bundle(bundled_model(list_bundled_models()[0]))
    table = qian_table(published.required_features + ["Peri_original_firstorder_Median"],
                       published.manifest.preset["sha256"], n=30)
    table["site"] = np.array(["s1", "s2"])[np.arange(30) % 2]
    table.loc[table["site"] == "s2", published.required_features] *= 1.5
    columns = [c for c in table.columns if c.startswith(("Intra_", "Peri_"))]
    frame = table.set_index("case_id")
    combat = fit_combat(frame[columns], frame["site"])
    harmonised = replace(published, harmonisation=combat).with_file_hashes()
    calibrated = calibrate(harmonised, table)
    assert calibrated.harmonisation is combat
    assert HARMONISATION_NAME in calibrated.manifest.files
    expected = combat.apply(frame[columns], frame["site"])[published.required_features].mean()
    assert calibrated.estimator.mean == pytest.approx(expected.to_dict(), rel=1e-12)
    reloaded = load_bundle(calibrated.save(tmp_path / "calibrated"))
    assert reloaded.harmonisation.to_json() == combat.to_json()


def test_bundle_without_harmonisation_is_as_before(tables):
    features, labels = tables
    plain = train(features, labels, "qian2024-lasso", seed=2, label="state", options=FAST_LASSO)
    assert HARMONISATION_NAME not in plain.manifest.files and plain.harmonisation is None
    plain.score(features.drop(columns="site"))  # no site column needed


def test_train_refusals_name_the_column_or_case(tables):
    features, labels = tables
    with pytest.raises(InputError, match="'scanner' is in neither"):
        train(features, labels, "qian2024-lasso", label="state", harmonise="scanner")
    holed = features.assign(site=features["site"].where(features.index != 7, None))
    with pytest.raises(InputError, match="case case007: --harmonise: no site in column 'site'"):
        train(holed, labels, "qian2024-lasso", label="state", harmonise="site")
    with pytest.raises(InputError, match="need --harmonise"):
        train(features, labels, "qian2024-lasso", label="state", harmonise_covariates=["age"])


def test_site_column_may_come_from_the_labels_and_cli_passes_covariates(tables):
    features, labels = tables
    moved_labels = labels.assign(site=features["site"].to_numpy())
    bundle = train(features.drop(columns="site"), moved_labels, "qian2024-lasso", seed=2, label="state",
                   options=FAST_LASSO, harmonise="site")
    assert bundle.harmonisation.sites == ("A", "B", "C")
    args = cli_args(train_cmd, ["train", "f.csv", "l.csv", "--recipe", "qian2024-lasso", "--out", "o",
                                "--harmonise", "site", "--harmonise-covariates", "age,grade"])
    assert args.harmonise == "site" and args.harmonise_covariates == ["age", "grade"]


def test_batch_scores_a_harmonised_bundle_by_the_manifest_s_site_column(lasso, tables, tmp_path):
    """batch's features tables hold no site: a manifest ``site`` column (CaseSpec.metadata) gives it."""
    from TMERadiomicsLib.batch.manifest import specs_from_table
    from TMERadiomicsLib.batch.merge import score

    features, _ = tables
    (tmp_path / "x.nrrd").write_bytes(b"")  # the manifest checks only that the files exist
    rows = pd.DataFrame({"case_id": features["case_id"], "image": "x.nrrd", "mask": "x.nrrd",
                         "site": features["site"], "role": "development"}).astype(str)
    specs = specs_from_table(rows, tmp_path / "m.csv", tmp_path)
    metadata = pd.DataFrame([{"case_id": s.case_id, **dict(s.metadata)} for s in specs])
    assert set(metadata.columns) == {"case_id", "site", "role"}
    scores, failures = score(features.drop(columns="site"), [lasso], metadata)
    assert failures == []
    assert np.allclose(scores["probability"], lasso.score(features)["probability"], rtol=0, atol=1e-12)
    scores, failures = score(features.drop(columns="site"), [lasso])  # without the manifest's column
    assert scores.empty and "lacks column(s) site" in failures[0]["reason"][0]
