"""The bundled Qian 2024 signatures against Table 2, calibration and the calibrate CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from model_tables import cli_args, qian_table  # noqa: E402

from TMERadiomicsLib.cli import calibrate_cmd, score_cmd  # noqa: E402
from TMERadiomicsLib.errors import InputError  # noqa: E402
from TMERadiomicsLib.evaluation import youden_threshold  # noqa: E402
from TMERadiomicsLib.features.presets import load_preset  # noqa: E402
from TMERadiomicsLib.models import bundled_model, calibrate, list_bundled_models, load_bundle  # noqa: E402
from TMERadiomicsLib.models.published import qian_bundle  # noqa: E402

# Table 2 of Qian et al. 2024, typed again here by hand, already in
# PyRadiomics spelling, so the test does not reuse the code it checks.
HAND_TABLE_2 = {
    "qian2024-peritumoral": {
        "Peri_square_firstorder_Minimum": -0.481,
        "Peri_wavelet-LLH_firstorder_Skewness": -0.350,
        "Peri_lbp-2D_glszm_ZoneVariance": -0.186,
        "Peri_wavelet-LLL_firstorder_10Percentile": -0.098,
        "Peri_squareroot_firstorder_10Percentile": -0.064,
        "Peri_wavelet-HLH_gldm_DependenceVariance": 0.071,
        "Peri_wavelet-LLH_firstorder_Kurtosis": 0.093,
        "Peri_wavelet-LLH_glrlm_LongRunEmphasis": 0.597,
    },
    "qian2024-intratumoral": {"Intra_wavelet-HLL_glrlm_RunVariance": 0.389},
    "qian2024-combined": {
        "Peri_square_firstorder_Minimum": -1.071,
        "Peri_lbp-2D_glszm_ZoneVariance": -0.464,
        "Peri_wavelet-LLH_firstorder_Skewness": -0.409,
        "Peri_squareroot_firstorder_10Percentile": -0.168,
        "Peri_wavelet-LLL_firstorder_10Percentile": -0.155,
        "Peri_wavelet-HLH_gldm_DependenceVariance": 0.132,
        "Intra_wavelet-HLL_glrlm_RunVariance": 0.231,
        "Peri_wavelet-LLH_firstorder_Kurtosis": 0.257,
        "Peri_wavelet-LLH_glrlm_LongRunEmphasis": 0.784,
    },
}
QIAN = sorted(HAND_TABLE_2)


def test_all_three_signatures_are_bundled():
    assert set(QIAN) <= set(list_bundled_models())


@pytest.mark.parametrize("name", list_bundled_models())
def test_bundled_manifest_preset_hash_is_the_current_preset(name):
    manifest = load_bundle(bundled_model(name)).manifest
    assert manifest.preset["sha256"] == load_preset(manifest.preset["name"]).sha256


@pytest.mark.parametrize("name", QIAN)
def test_bundle_files_are_what_published_py_builds(name):
    """The shipped files are reproducible from the coefficient table in the repo."""
    built = qian_bundle(name.removeprefix("qian2024-"))
    folder = bundled_model(name)
    assert (folder / "manifest.json").read_text() == built.manifest.to_json()
    assert (folder / "linear.json").read_bytes() == built.parameter_files()["linear.json"]


@pytest.mark.parametrize("name", QIAN)
def test_published_bundle_is_uncalibrated_and_says_so(name):
    bundle = load_bundle(bundled_model(name))
    assert bundle.required_features == list(HAND_TABLE_2[name])
    assert bundle.estimator.intercept is None and not bundle.manifest.calibrated
    assert bundle.manifest.normalisation["status"] == "not-published"
    assert "Research use only" in bundle.manifest.intended_use and "not for diagnosis" in bundle.manifest.intended_use
    scored = bundle.score(qian_table(bundle.required_features, bundle.manifest.preset["sha256"]))
    assert scored["status"].str.startswith("uncalibrated").all()
    assert (scored["risk_group"] == "").all() and scored["probability"].isna().all()
    assert scored["radscore"].notna().all()


@pytest.mark.parametrize("name", QIAN)
def test_calibrated_radscore_matches_hand_computation(name):
    bundle = load_bundle(bundled_model(name))
    sha = bundle.manifest.preset["sha256"]
    reference = qian_table(bundle.required_features, sha, n=40, seed=2)
    new_cases = qian_table(bundle.required_features, sha, n=7, seed=9)
    calibrated = calibrate(bundle, reference)
    expected = np.zeros(len(new_cases))
    for feature, coef in HAND_TABLE_2[name].items():
        ref = reference[feature].to_numpy()
        mean = ref.sum() / len(ref)
        sd = np.sqrt(((ref - mean) ** 2).sum() / (len(ref) - 1))
        expected += coef * (new_cases[feature].to_numpy() - mean) / sd
    scored = calibrated.score(new_cases)
    np.testing.assert_allclose(scored["radscore"], expected, rtol=1e-12, atol=1e-12)
    # Threshold is the reference cohort's median radscore, computed by hand too.
    ref_scores = np.zeros(len(reference))
    for feature, coef in HAND_TABLE_2[name].items():
        ref = reference[feature].to_numpy()
        ref_scores += coef * (ref - ref.mean()) / ref.std(ddof=1)
    assert calibrated.manifest.threshold == pytest.approx(np.median(ref_scores), abs=1e-12)
    high = expected >= np.median(ref_scores)
    assert list(scored["risk_group"]) == [
        "high M2 infiltration" if h else "low M2 infiltration" for h in high]
    assert calibrated.manifest.normalisation["cohort_size"] == 40


def test_calibrate_cli_writes_a_loadable_calibrated_bundle(tmp_path, capsys):
    bundle = load_bundle(bundled_model("qian2024-peritumoral"))
    csv = tmp_path / "reference.csv"
    qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=24).to_csv(csv, index=False)
    assert calibrate_cmd.run(cli_args(calibrate_cmd, ["calibrate", "qian2024-peritumoral", str(csv), "--out", str(tmp_path / "cal")])) == 0
    summary = json.loads(capsys.readouterr().out)
    calibrated = load_bundle(tmp_path / "cal")
    assert calibrated.manifest.calibrated and summary["cohort_size"] == 24
    assert calibrated.manifest.normalisation["cohort_file_sha256"] is not None
    groups = calibrated.score(pd.read_csv(csv, dtype={"case_id": str}))["risk_group"].value_counts()
    assert groups["high M2 infiltration"] == groups["low M2 infiltration"] == 12
    assert score_cmd.run(cli_args(score_cmd, ["score", str(tmp_path / "cal"), str(csv)])) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["calibrated"] and report["missing_inputs"] == {}
    assert {c["risk_group"] for c in report["cases"]} == {"high M2 infiltration", "low M2 infiltration"}


def test_calibrate_refuses_bad_inputs_and_writes_nothing(tmp_path):
    bundle = load_bundle(bundled_model("qian2024-combined"))
    sha = bundle.manifest.preset["sha256"]
    table = qian_table(bundle.required_features, sha, n=20)
    cases = [
        (table.drop(columns=["Intra_wavelet-HLL_glrlm_RunVariance"]), "Intra_wavelet-HLL_glrlm_RunVariance"),
        (table.assign(preset_sha256="ef" * 32), "different preset"),
        (table.assign(**{"Peri_square_firstorder_Minimum": table["Peri_square_firstorder_Minimum"].where(table.index != 4)}),
         "q04"),
        (table.head(5), "at least 10 cases"),
    ]
    for k, (bad, message) in enumerate(cases):
        csv = tmp_path / f"bad{k}.csv"
        bad.to_csv(csv, index=False)
        out = tmp_path / f"out{k}"
        with pytest.raises(InputError, match=message):
            calibrate_cmd.run(cli_args(calibrate_cmd, ["calibrate", "qian2024-combined", str(csv), "--out", str(out)]))
        assert not out.exists()


def test_score_cli_lists_missing_inputs(tmp_path, capsys):
    bundle = load_bundle(bundled_model("qian2024-intratumoral"))
    table = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=6)
    table.loc[2, "Intra_wavelet-HLL_glrlm_RunVariance"] = np.nan
    csv = tmp_path / "f.csv"
    table.to_csv(csv, index=False)
    assert score_cmd.run(cli_args(score_cmd, ["score", "qian2024-intratumoral", str(csv), "--out", str(tmp_path / "s.csv")])) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["missing_inputs"] == {"q02": "missing inputs: Intra_wavelet-HLL_glrlm_RunVariance"}
    assert pd.read_csv(tmp_path / "s.csv").shape[0] == 6
    with pytest.raises(InputError, match="Intra_wavelet-HLL_glrlm_RunVariance"):
        table.drop(columns=["Intra_wavelet-HLL_glrlm_RunVariance"]).to_csv(csv, index=False)
        score_cmd.run(cli_args(score_cmd, ["score", "qian2024-intratumoral", str(csv)]))


def test_score_cli_from_image_and_mask(tmp_path, capsys):
    """The IMAGE MASK form: regions, extraction with the bundle's preset, score."""
    import SimpleITK as sitk

    from TMERadiomicsLib.cohort.phantom import make_phantom

    bundle = load_bundle(bundled_model("qian2024-intratumoral"))
    reference = qian_table(bundle.required_features, bundle.manifest.preset["sha256"], n=20)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    calibrate_cmd.run(cli_args(calibrate_cmd, ["calibrate", "qian2024-intratumoral", str(tmp_path / "ref.csv"),
                                               "--out", str(tmp_path / "cal")]))
    capsys.readouterr()
    phantom = make_phantom("small", seed=0)
    sitk.WriteImage(phantom.image(), str(tmp_path / "lesion.nrrd"))
    sitk.WriteImage(phantom.tumour, str(tmp_path / "tumour.nrrd"))
    argv = ["score", str(tmp_path / "cal"), str(tmp_path / "lesion.nrrd"), str(tmp_path / "tumour.nrrd")]
    assert score_cmd.run(cli_args(score_cmd, argv)) == 0
    case = json.loads(capsys.readouterr().out)["cases"][0]
    assert case["case_id"] == "lesion" and case["status"] == "ok"
    from TMERadiomicsLib.features import extract_case
    from TMERadiomicsLib.regions import build

    masks = build(phantom.tumour, phantom.image()).masks
    value = extract_case(phantom.image(), {"intratumoral": masks["intratumoral"]}, "qian2024").combined()[
        "Intra_wavelet-HLL_glrlm_RunVariance"].iloc[0]
    ref = reference["Intra_wavelet-HLL_glrlm_RunVariance"]
    assert case["radscore"] == pytest.approx(0.389 * (value - ref.mean()) / ref.std(ddof=1), rel=1e-9)
    expected_group = "high M2 infiltration" if case["radscore"] >= case_threshold(tmp_path / "cal") else "low M2 infiltration"
    assert case["risk_group"] == expected_group


def case_threshold(folder: Path) -> float:
    return json.loads((folder / "manifest.json").read_text())["threshold"]


def test_table_3_operating_points_imply_15_or_16_of_51_called_high():
    """The arithmetic of docs/models.md: Table 3's training metrics fix the confusion matrix."""
    from TMERadiomicsLib.models.published import TABLE_3

    called_high = {}
    for model, parts in TABLE_3.items():
        t = parts["training"]
        # 51 = P + N; the only P for which sensitivity, specificity and accuracy agree to 3 decimals.
        fits = [(p, 51 - p) for p in range(1, 51)
                if round(round(t["sensitivity"] * p) / p, 3) == t["sensitivity"]
                and round(round(t["specificity"] * (51 - p)) / (51 - p), 3) == t["specificity"]
                and round((round(t["sensitivity"] * p) + round(t["specificity"] * (51 - p))) / 51, 3) == t["accuracy"]]
        assert len(fits) == 1, model
        p, n = fits[0]
        tp, tn = round(t["sensitivity"] * p), round(t["specificity"] * n)
        called_high[model] = tp + (n - tn)
    assert called_high == {"intratumoral": 26, "peritumoral": 15, "combined": 16}


def test_youden_calibration_uses_the_labels_and_is_the_default_with_them(tmp_path, capsys):
    bundle = load_bundle(bundled_model("qian2024-peritumoral"))
    sha = bundle.manifest.preset["sha256"]
    reference = qian_table(bundle.required_features, sha, n=40, seed=2)
    median = calibrate(bundle, reference)
    radscore = median.score(reference)["radscore"].to_numpy()
    rng = np.random.default_rng(0)
    # Labels tied to the radscore, high for the top 12 of 40 with two swaps: Youden cuts near the 12th.
    y = (radscore >= np.sort(radscore)[-12]).astype(int)
    y[rng.choice(40, 2, replace=False)] ^= 1
    labels = pd.DataFrame({"case_id": reference["case_id"], "m2_high": y})
    youden = calibrate(bundle, reference, labels)
    assert youden.manifest.threshold_rule.startswith("Youden")
    assert youden.manifest.threshold == pytest.approx(youden_threshold(y, radscore))
    assert median.manifest.threshold == pytest.approx(np.median(radscore))
    assert calibrate(bundle, reference, labels, rule="median").manifest.threshold == median.manifest.threshold
    with pytest.raises(InputError, match="needs the reference cohort's labels"):
        calibrate(bundle, reference, rule="youden")
    f, l = tmp_path / "f.csv", tmp_path / "l.csv"
    reference.to_csv(f, index=False)
    labels.to_csv(l, index=False)
    argv = ["calibrate", "qian2024-peritumoral", str(f), "--labels", str(l), "--out", str(tmp_path / "cal")]
    assert calibrate_cmd.run(cli_args(calibrate_cmd, argv)) == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == pytest.approx(youden.manifest.threshold)
