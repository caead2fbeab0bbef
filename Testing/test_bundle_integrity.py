"""Bundles are tamper-evident as a whole: the manifest is sealed by ``bundle_sha256``.

The digest is recomputed here by hand (SHA-256 of the canonical JSON of every
other field), so the test does not reuse the code it checks. An edit of the
threshold, or of anything else, is refused on load; every scored row names
the digest of the bundle that scored it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import qian_table  # noqa: E402

from TMERadiomicsLib.cli import main  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.models import bundled_model, calibrate, list_bundled_models, load_bundle  # noqa: E402

NAME = "qian2024-peritumoral"


def hand_digest(manifest: dict) -> str:
    body = {key: value for key, value in manifest.items() if key != "bundle_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def raw(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


@pytest.fixture()
def calibrated(tmp_path) -> Path:
    """A calibrated copy of a shipped signature (it has a threshold to tamper with)."""
    bundle = load_bundle(bundled_model(NAME))
    reference = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=20, seed=4)
    return calibrate(bundle, reference).save(tmp_path / "cal")


@pytest.mark.parametrize("name", list_bundled_models())
def test_shipped_bundles_carry_the_digest_of_their_content(name):
    data = raw(bundled_model(name))
    assert data["bundle_sha256"] == hand_digest(data)
    assert load_bundle(bundled_model(name)).manifest.digest == data["bundle_sha256"]


def test_calibration_writes_a_new_digest(calibrated):
    data = raw(calibrated)
    assert data["threshold"] is not None
    assert data["bundle_sha256"] == hand_digest(data) != raw(bundled_model(NAME))["bundle_sha256"]
    assert load_bundle(calibrated).manifest.threshold == data["threshold"]


def test_edited_threshold_is_refused_naming_the_file(calibrated):
    data = raw(calibrated)
    data["threshold"] = data["threshold"] + 0.5
    (calibrated / "manifest.json").write_text(json.dumps(data, indent=2))
    with pytest.raises(InputError, match="bundle was modified") as error:
        load_bundle(calibrated)
    assert str(calibrated / "manifest.json") in str(error.value)


@pytest.mark.parametrize("edit", [
    lambda d: d["risk_groups"].reverse(),
    lambda d: d["provenance"].update(note="edited by hand"),
    lambda d: d.pop("bundle_sha256"),
    lambda d: d.update(bundle_sha256="0" * 64),
])
def test_any_other_edit_is_refused(calibrated, edit):
    data = raw(calibrated)
    edit(data)
    (calibrated / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="bundle_sha256"):
        load_bundle(calibrated)


def test_reformatted_but_unchanged_manifest_still_loads(calibrated):
    """Canonical JSON: key order and whitespace are not content."""
    data = raw(calibrated)
    (calibrated / "manifest.json").write_text(json.dumps(dict(reversed(list(data.items())))))
    assert load_bundle(calibrated).manifest.digest == data["bundle_sha256"]


def test_score_cli_refuses_a_tampered_bundle_with_one_line(calibrated, tmp_path, capsys):
    bundle = load_bundle(calibrated)
    csv = tmp_path / "f.csv"
    qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=5).to_csv(csv, index=False)
    data = raw(calibrated)
    data["threshold"] = -1e9  # every case would become "high"
    (calibrated / "manifest.json").write_text(json.dumps(data, indent=2))
    out = tmp_path / "scores.csv"
    assert main(["score", str(calibrated), str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "manifest.json" in err and "bundle was modified" in err
    assert not out.exists()


def test_every_score_row_names_the_bundle_digest(calibrated, tmp_path, capsys):
    bundle = load_bundle(calibrated)
    table = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=6)
    assert set(bundle.score(table)["bundle_sha256"]) == {raw(calibrated)["bundle_sha256"]}
    csv, out = tmp_path / "f.csv", tmp_path / "scores.csv"
    table.to_csv(csv, index=False)
    assert main(["score", str(calibrated), str(csv), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {case["bundle_sha256"] for case in report["cases"]} == {raw(calibrated)["bundle_sha256"]}
    assert set(pd.read_csv(out)["bundle_sha256"]) == {raw(calibrated)["bundle_sha256"]}


def test_copied_bundle_keeps_its_digest(calibrated, tmp_path):
    """The digest is of the content, not of the folder: a copy scores with the same one."""
    copy = Path(shutil.copytree(calibrated, tmp_path / "copy"))
    assert load_bundle(copy).manifest.digest == load_bundle(calibrated).manifest.digest
