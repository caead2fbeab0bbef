"""Bundle format: round trip, verification on load and refusals on bad input."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import PRESET_SHA, combined_table  # noqa: E402

from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.models import load_bundle  # noqa: E402
from TMERadiomicsLib.models.bundle import sha256_bytes  # noqa: E402
from TMERadiomicsLib.models.manifest import manifest_digest  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402

FAST_RF = {"n_estimators": 40, "max_features": ["sqrt"], "min_samples_leaf": [1, 3]}


@pytest.fixture(scope="module")
def tables():
    return combined_table(n=60, seed=8)


@pytest.fixture(scope="module")
def lasso_dir(tables, tmp_path_factory):
    features, labels = tables
    bundle = train(features, labels, "qian2024-lasso", seed=0, label="state")
    return bundle, bundle.save(tmp_path_factory.mktemp("lasso") / "bundle")


@pytest.fixture(scope="module")
def forest_dir(tables, tmp_path_factory):
    features, labels = tables
    bundle = train(features, labels, "han2024-rf", seed=0, label="state", options=FAST_RF)
    return bundle, bundle.save(tmp_path_factory.mktemp("rf") / "bundle")


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for item in src.iterdir():
        (dst / item.name).write_bytes(item.read_bytes())
    return dst


def _edit_manifest(folder: Path, **changes) -> None:
    """Edit and re-seal the manifest, as a crafted bundle would, to reach the checks behind the digest."""
    data = json.loads((folder / "manifest.json").read_text())
    data.update(changes)
    data["bundle_sha256"] = manifest_digest(data)
    (folder / "manifest.json").write_text(json.dumps(data))


@pytest.mark.parametrize("which", ["lasso_dir", "forest_dir"])
def test_round_trip_scores_identically(which, tables, request):
    bundle, folder = request.getfixturevalue(which)
    features, _ = tables
    loaded = load_bundle(folder)
    assert loaded.manifest.name == bundle.manifest.name
    before, after = bundle.score(features), loaded.score(features)
    assert np.array_equal(before["probability"], after["probability"])
    assert list(after["risk_group"].unique()) != [""]
    assert set(after["status"]) == {"ok"}


def test_forest_bundle_has_no_pickle_and_linear_is_json(lasso_dir, forest_dir):
    assert {p.name for p in lasso_dir[1].iterdir()} == {"manifest.json", "linear.json", "MODEL_CARD.md"}
    assert {p.name for p in forest_dir[1].iterdir()} == {"manifest.json", "forest.skops", "MODEL_CARD.md"}
    json.loads((lasso_dir[1] / "linear.json").read_text())


@pytest.mark.parametrize("which, name", [("lasso_dir", "linear.json"), ("forest_dir", "forest.skops")])
def test_tampered_parameter_file_is_refused(which, name, request, tmp_path):
    _, folder = request.getfixturevalue(which)
    copy = _copy(folder, tmp_path / "b")
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / name).write_bytes(bytes(data))
    with pytest.raises(InputError, match="modified"):
        load_bundle(copy)


def test_tampered_coefficient_is_refused(lasso_dir, tmp_path):
    copy = _copy(lasso_dir[1], tmp_path / "b")
    params = json.loads((copy / "linear.json").read_text())
    first = next(iter(params["coefficients"]))
    params["coefficients"][first] *= 2
    (copy / "linear.json").write_text(json.dumps(params, indent=2) + "\n")
    with pytest.raises(InputError, match="SHA-256"):
        load_bundle(copy)


def test_untrusted_type_refused_even_with_matching_hash(forest_dir, tmp_path):
    bundle, folder = forest_dir
    copy = _copy(folder, tmp_path / "b")
    forest = bundle.estimator
    forest.callback_ = os.system  # what a malicious bundle would smuggle in
    try:
        data = sio.dumps(forest)
    finally:
        del forest.callback_
    (copy / "forest.skops").write_bytes(data)
    _edit_manifest(copy, files={"forest.skops": sha256_bytes(data)})
    with pytest.raises(InputError, match="untrusted types"):
        load_bundle(copy)


def test_unknown_format_version_refused(lasso_dir, tmp_path):
    copy = _copy(lasso_dir[1], tmp_path / "b")
    _edit_manifest(copy, format_version=99)
    with pytest.raises(InputError, match="format version"):
        load_bundle(copy)


def test_parameter_file_outside_the_bundle_refused(lasso_dir, tmp_path):
    copy = _copy(lasso_dir[1], tmp_path / "b")
    _edit_manifest(copy, files={"../linear.json": "0" * 64})
    with pytest.raises(InputError, match="plain names"):
        load_bundle(copy)


def test_missing_features_are_listed(lasso_dir, tables):
    bundle, _ = lasso_dir
    features, _ = tables
    dropped = bundle.required_features[:2]
    with pytest.raises(InputError) as error:
        bundle.score(features.drop(columns=dropped))
    for name in dropped:
        assert name in str(error.value)


def test_different_preset_hash_refused(lasso_dir, tables):
    bundle, _ = lasso_dir
    features, _ = tables
    other = features.copy()
    other.loc[3, "preset_sha256"] = "cd" * 32
    with pytest.raises(InputError, match=f"cases {other.loc[3, 'case_id']}.*different preset"):
        bundle.score(other)
    assert bundle.manifest.preset["sha256"] == PRESET_SHA


def test_case_with_missing_values_is_reported_not_scored(lasso_dir, tables):
    bundle, _ = lasso_dir
    features, _ = tables
    holed = features.copy()
    name = bundle.required_features[0]
    holed.loc[5, name] = np.nan
    scored = bundle.score(holed)
    assert scored.loc[5, "status"] == f"missing inputs: {name}"
    assert np.isnan(scored.loc[5, "probability"]) and scored.loc[5, "risk_group"] == ""
    assert (scored.drop(index=5)["status"] == "ok").all()


def test_save_refuses_occupied_folder_and_leaves_it(lasso_dir, tmp_path):
    bundle, _ = lasso_dir
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="overwrite"):
        bundle.save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_normalisation_status_must_match_parameters(lasso_dir, tmp_path):
    copy = _copy(lasso_dir[1], tmp_path / "b")
    _edit_manifest(copy, normalisation={"status": "not-published"})
    with pytest.raises(InputError, match="normalisation"):
        load_bundle(copy)


def test_manifest_round_trips_through_json(lasso_dir):
    bundle, folder = lasso_dir
    assert load_bundle(folder).manifest == replace(bundle.manifest, files=load_bundle(folder).manifest.files)
