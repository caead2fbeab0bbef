"""``tmeradiomics labels ...`` and ``tmeradiomics survival ...`` end to end:
files keyed by case_id that the training command's reader accepts, JSON on
stdout, and bad input as one line, exit code 2 and nothing written.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from labels_synthetic import fractions, mixture, signature, write_matrix
from lifelines.datasets import load_rossi

from TMERadiomicsLib.cli import main


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("labels_cli")
    sig = signature(n_cells=4, seed=3)
    truth = fractions(24, 4, seed=4)
    mix = mixture(sig, truth, seed=5)
    write_matrix(mix, folder / "mixture.tsv")
    write_matrix(sig, folder / "signature.tsv")
    lines = [f"{cell}\tsynthetic\t" + "\t".join(sig.index[i * 20:(i + 1) * 20]) for i, cell in enumerate(sig.columns)]
    (folder / "cells.gmt").write_text("\n".join(lines) + "\n")
    return folder, truth


def _strict(constant: str) -> None:
    raise AssertionError(f"JSON holds {constant}")


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cibersort_then_median_labels_for_train(inputs, capsys):
    folder, truth = inputs
    out = folder / "cibersort"
    code, stdout, _ = _run(capsys, "labels", "cibersort", folder / "mixture.tsv", folder / "signature.tsv",
                           "--out", out, "--no-qn")
    assert code == 0
    assert json.loads(stdout)["genes_matched"] == 120
    table = pd.read_csv(out / "fractions.csv", dtype={"case_id": str}).set_index("case_id")
    assert list(table.index) == list(truth.index)
    assert np.abs(table.to_numpy() - truth.to_numpy()).max() < 0.03
    assert set(pd.read_csv(out / "diagnostics.csv").columns) == {"case_id", "p_value", "correlation", "rmse", "nu"}
    assert json.loads((out / "run.json").read_text())["anti_logged"] is False

    labels_csv = folder / "m2.csv"
    code, stdout, _ = _run(capsys, "labels", "phenotype", out / "fractions.csv", "--method", "median",
                           "--cell", "Cell type 2", "--out", labels_csv)
    assert code == 0
    labels = pd.read_csv(labels_csv, dtype={"case_id": str})
    assert list(labels.columns) == ["case_id", "Cell_type_2_high"]
    assert labels["Cell_type_2_high"].sum() == 12
    tables = pytest.importorskip("TMERadiomicsLib.models.tables")
    binary = tables.binary_labels(tables.read_table(labels_csv), "Cell_type_2_high")
    assert binary.values.sum() == 12


def test_ssgsea_then_kmeans_phenotypes(inputs, capsys):
    folder, _ = inputs
    out = folder / "ssgsea"
    code, stdout, _ = _run(capsys, "labels", "ssgsea", folder / "mixture.tsv", folder / "cells.gmt", "--out", out)
    assert code == 0
    assert json.loads(stdout)["set_sizes"] == {f"Cell type {i}": 20 for i in range(1, 5)}
    assert json.loads((out / "run.json").read_text())["genes_used"] == 150
    scores = pd.read_csv(out / "scores.csv", dtype={"case_id": str})
    assert scores.shape == (24, 5) and scores.columns[0] == "case_id"

    labels_csv = folder / "tme.csv"
    code, stdout, _ = _run(capsys, "labels", "phenotype", out / "scores.csv", "--method", "kmeans",
                           "--k", "auto", "--k-max", "3", "--out", labels_csv)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["hot"] + summary["cold"] == 24
    labels = pd.read_csv(labels_csv)
    assert list(labels.columns) == ["case_id", "tme_hot", "tme_cluster"]
    assert set(labels["tme_hot"]) == {0, 1}
    assert (folder / "tme.heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert list(pd.read_csv(folder / "tme.k_selection.csv")["k"]) == [2, 3]
    code, _, err = _run(capsys, "labels", "phenotype", out / "scores.csv", "--method", "kmeans", "--out", labels_csv)
    assert code == 2 and "--overwrite" in err


def test_correlate(inputs, capsys):
    folder, truth = inputs
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"case_id": truth.index, "preset": "han2024", "preset_sha256": "0" * 64,
                             "Intra_a": rng.normal(size=24), "Ring_b": truth["Cell type 1"] + rng.normal(0, 0.01, 24)})
    features.to_csv(folder / "features.csv", index=False)
    truth.rename_axis("case_id").to_csv(folder / "truth.csv")
    out = folder / "corr"
    code, stdout, _ = _run(capsys, "labels", "correlate", folder / "features.csv", folder / "truth.csv",
                           "--out", out, "--top-k", "2")
    assert code == 0
    assert json.loads(stdout)["features"][0] == "Ring_b"
    assert {p.name for p in out.iterdir()} == {"correlation.csv", "rho.csv", "fdr.csv", "heatmap.png"}


@pytest.fixture(scope="module")
def rossi_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("survival_cli")
    data = load_rossi()
    data.insert(0, "case_id", [f"R{i:03d}" for i in range(len(data))])
    data[["case_id", "week", "arrest"]].to_csv(folder / "survival.csv", index=False)
    data[["case_id", "fin", "age", "prio"]].to_csv(folder / "values.csv", index=False)
    return folder


def test_survival_cox_and_km(rossi_files, capsys):
    folder = rossi_files
    code, stdout, _ = _run(capsys, "survival", "cox", folder / "survival.csv", folder / "values.csv",
                           "--time", "week", "--event", "arrest", "--out", folder / "cox")
    assert code == 0
    multi = pd.read_csv(folder / "cox" / "cox_multivariate.csv").set_index("covariate")
    assert multi.loc["prio", "coef"] > 0 and json.loads(stdout)["events"] == 114
    assert (folder / "cox" / "forest_univariate.png").read_bytes()[:4] == b"\x89PNG"
    code, stdout, _ = _run(capsys, "survival", "km", folder / "survival.csv", folder / "values.csv",
                           "--time", "week", "--event", "arrest", "--column", "prio", "--cutoff", "maxstat",
                           "--out", folder / "km")
    assert code == 0
    summary = json.loads(stdout, parse_constant=_strict)
    assert summary["group_column"] == "prio_high" and summary["logrank_p"] < 0.01
    assert summary["groups"][0]["median_survival"] is None  # never reached: infinite, written as null
    assert summary["cutoff"]["method"] == "maxstat"
    groups = pd.read_csv(folder / "km" / "groups.csv")
    assert list(groups.columns) == ["case_id", "prio_high"]


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.rename(index=lambda g: "X" + g), "signature.tsv: no gene of the signature (0 of 120)"),
    (lambda t: t.astype(object).assign(**{"TCGA-03": ["1,5"] + list(t["TCGA-03"].iloc[1:])}),
     "non-numeric value for gene GENE0000, sample TCGA-03 (value: 1,5)"),
    (lambda t: t.assign(**{"TCGA-05": -t["TCGA-05"]}), "case TCGA-05"),
])
def test_bad_expression_is_one_line_exit_2_nothing_written(inputs, capsys, tmp_path, edit, message):
    folder, _ = inputs
    table = pd.read_csv(folder / "mixture.tsv", sep="\t", index_col=0)
    write_matrix(edit(table), tmp_path / "bad.tsv")
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "labels", "cibersort", tmp_path / "bad.tsv", folder / "signature.tsv",
                             "--out", out)
    assert code == 2 and stdout == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.partial-*"))


def test_missing_survival_is_named(rossi_files, capsys, tmp_path):
    survival = pd.read_csv(rossi_files / "survival.csv")
    survival.loc[3, "week"] = None
    survival.to_csv(tmp_path / "survival.csv", index=False)
    args = ["survival", "cox", tmp_path / "survival.csv", rossi_files / "values.csv", "--time", "week",
            "--event", "arrest", "--out", tmp_path / "cox"]
    code, _, err = _run(capsys, *args)
    assert code == 2 and "case R003" in err and "--drop-incomplete" in err
    assert not (tmp_path / "cox").exists()
    code, stdout, _ = _run(capsys, *args, "--drop-incomplete")
    assert code == 0 and json.loads(stdout)["cases_joined"] == 431


def test_output_folder_in_use_is_refused_before_work(inputs, capsys, tmp_path):
    folder, _ = inputs
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    code, _, err = _run(capsys, "labels", "ssgsea", folder / "mixture.tsv", folder / "cells.gmt",
                        "--out", tmp_path / "out")
    assert code == 2 and "--overwrite" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_phenotype_labels_train_a_model(tmp_path, capsys):
    """The labels CSV goes straight into ``tmeradiomics train`` (Han's hot/cold, Qian's recipe)."""
    pytest.importorskip("TMERadiomicsLib.training")
    rng = np.random.default_rng(0)
    cases = [f"TCGA-{i:02d}" for i in range(60)]
    hot = rng.random(60) < 0.5
    abundance = pd.DataFrame(rng.normal(0, 0.1, size=(60, 6)), columns=[f"Immune {i}" for i in range(4)]
                             + ["Endothelial cells", "Fibroblasts"])
    abundance.iloc[hot, :4] += 0.5
    abundance.iloc[~hot, 4:] += 0.5
    abundance.insert(0, "case_id", cases)
    abundance.to_csv(tmp_path / "scores.csv", index=False)
    features = pd.DataFrame({"case_id": cases, "preset": "qian2024", "preset_sha256": "0" * 64})
    for k in range(8):
        features[f"Peri_original_firstorder_F{k}"] = rng.normal(size=60) + (hot if k < 3 else 0)
    features.to_csv(tmp_path / "features.csv", index=False)
    code, _, _ = _run(capsys, "labels", "phenotype", tmp_path / "scores.csv", "--method", "kmeans", "--k-max", "3",
                      "--out", tmp_path / "labels.csv")
    assert code == 0
    assert (pd.read_csv(tmp_path / "labels.csv")["tme_hot"].to_numpy() == hot).all()
    code, stdout, _ = _run(capsys, "train", tmp_path / "features.csv", tmp_path / "labels.csv",
                           "--recipe", "qian2024-lasso", "--label", "tme_hot", "--out", tmp_path / "bundle")
    assert code == 0 and json.loads(stdout)["features"]
