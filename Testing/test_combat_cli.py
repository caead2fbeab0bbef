"""``tmeradiomics combat fit|apply`` end to end on a combined-features CSV, in process.

Success: the JSON summary, a model that is the library's, the harmonised CSV
equal to ``ComBatModel.apply`` (one case alone too), columns other than the
features kept. Bad input: exit 2, one line naming the value, no output file.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.harmonisation import fit_combat, read_combat

SHA = "ab" * 32


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """fit.csv (45 cases of 3 sites), new.csv (the other 15), one.csv (a single new case)."""
    folder = tmp_path_factory.mktemp("combat_cli")
    rng = np.random.default_rng(3)
    n, p = 60, 6
    site = np.repeat(["s1", "s2", "s3"], [25, 20, 15])
    values = rng.normal(size=(n, p)) * 2 + np.repeat(rng.normal(scale=2, size=(3, p)), [25, 20, 15], axis=0)
    values *= np.repeat([[1.0], [1.5], [0.7]], [25, 20, 15], axis=0)
    table = pd.DataFrame(values, columns=[f"{r}_feature{j}" for r in ("Intra", "Peri") for j in range(p // 2)])
    table.insert(0, "case_id", [f"C{i:02d}" for i in range(n)])
    table.insert(1, "preset", "qian2024")
    table.insert(2, "preset_sha256", SHA)
    table["site"] = site
    table["age"] = rng.integers(35, 75, n)
    table["grade"] = rng.choice([1, 2, 3], n)
    new = np.arange(n) % 4 == 3
    table[~new].to_csv(folder / "fit.csv", index=False)
    table[new].to_csv(folder / "new.csv", index=False)
    table[new].iloc[[4]].to_csv(folder / "one.csv", index=False)
    return folder, table[~new].set_index("case_id"), table[new].set_index("case_id")


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fit_then_apply_to_new_cases_and_to_one(tables, capsys):
    folder, fit, new = tables
    code, out, _ = _run(capsys, "combat", "fit", folder / "fit.csv", "--batch-column", "site",
                        "--covariates", "age,grade", "--categorical", "grade", "--out", folder / "combat.json")
    assert code == 0
    summary = json.loads(out)
    assert summary["sites"] == {"s1": 19, "s2": 15, "s3": 11} and summary["features"] == 6
    assert summary["covariates"] == ["age", "grade=2", "grade=3"]
    model = read_combat(folder / "combat.json")
    assert model.provenance == {"preset": "qian2024", "preset_sha256": SHA}
    features = [c for c in fit.columns if c.startswith(("Intra_", "Peri_"))]
    expected = fit_combat(fit[features], fit["site"], fit[["age", "grade"]].astype({"grade": object}))
    assert np.abs(model.gamma_star - expected.gamma_star).max() < 1e-12  # pandas parses CSV floats to ~1 ulp

    code, out, _ = _run(capsys, "combat", "apply", folder / "combat.json", folder / "new.csv",
                        "--out", folder / "harmonised.csv")
    assert code == 0
    assert json.loads(out)["sites"] == {"s1": 6, "s2": 5, "s3": 4}
    written = pd.read_csv(folder / "harmonised.csv", dtype={"case_id": str}).set_index("case_id")
    assert list(written.columns) == list(new.columns)  # preset, site and covariates kept, in place
    assert (written[["preset", "site", "age", "grade"]] == new[["preset", "site", "age", "grade"]]).all().all()
    library = expected.apply(new[features], new["site"], new[["age", "grade"]].astype({"grade": object}))
    assert np.abs(written[features].to_numpy() - library.to_numpy()).max() < 1e-12
    assert np.abs(written[features].to_numpy() - new[features].to_numpy()).max() > 0.1

    code, _, _ = _run(capsys, "combat", "apply", folder / "combat.json", folder / "one.csv",
                      "--out", folder / "one_harmonised.csv")
    assert code == 0
    alone = pd.read_csv(folder / "one_harmonised.csv", dtype={"case_id": str}).set_index("case_id")
    assert np.abs(alone[features].to_numpy() - written.loc[alone.index, features].to_numpy()).max() < 1e-12


def _fails(capsys, argv, *needles, unwritten) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err
    assert not unwritten.exists()


def test_bad_inputs_exit_2_with_one_line_and_no_output(tables, capsys, tmp_path):
    folder, fit, new = tables
    model = folder / "plain.json"
    assert _run(capsys, "combat", "fit", folder / "fit.csv", "--batch-column", "site", "--out", model)[0] == 0
    out = tmp_path / "out.json"
    _fails(capsys, ["combat", "fit", folder / "fit.csv", "--batch-column", "scanner", "--out", out],
           "scanner", unwritten=out)
    _fails(capsys, ["combat", "fit", folder / "fit.csv", "--batch-column", "site", "--covariates", "age,bmi",
                    "--out", out], "bmi", unwritten=out)
    holed = fit.copy()
    holed.loc["C05", "Peri_feature1"] = np.nan
    holed.to_csv(tmp_path / "holed.csv")
    _fails(capsys, ["combat", "fit", tmp_path / "holed.csv", "--batch-column", "site", "--out", out],
           "case C05", "Peri_feature1", unwritten=out)

    harmonised = tmp_path / "harmonised.csv"
    unseen = new.copy()
    unseen.loc["C07", "site"] = "s9"
    unseen.to_csv(tmp_path / "unseen.csv")
    _fails(capsys, ["combat", "apply", model, tmp_path / "unseen.csv", "--out", harmonised],
           "case C07", "'s9'", "known sites: s1, s2, s3", unwritten=harmonised)
    new.drop(columns=["Intra_feature2"]).to_csv(tmp_path / "short.csv")
    _fails(capsys, ["combat", "apply", model, tmp_path / "short.csv", "--out", harmonised],
           "Intra_feature2", unwritten=harmonised)
    new.assign(preset_sha256="cd" * 32).to_csv(tmp_path / "other_preset.csv")
    _fails(capsys, ["combat", "apply", model, tmp_path / "other_preset.csv", "--out", harmonised],
           "another preset", unwritten=harmonised)
    (tmp_path / "broken.json").write_text('{"format": "tmeradiomics-combat", "format_version": 1}')
    _fails(capsys, ["combat", "apply", tmp_path / "broken.json", folder / "new.csv", "--out", harmonised],
           "broken.json", "'method' is missing", unwritten=harmonised)

    model_before = model.read_bytes()
    code, _, err = _run(capsys, "combat", "fit", folder / "fit.csv", "--batch-column", "site", "--out", model)
    assert code == 2 and "--overwrite" in err and model.read_bytes() == model_before
