"""Batch, normal path: features equal the library's for each case, the Dask
LocalCluster gives the same tables as the process pool, and model scores
equal the bundle's own scoring of the merged table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_batch_support import batch_argv, run_cli, tables, write_cohort, write_preset  # noqa: E402

from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.features.extract import extract_case  # noqa: E402
from TMERadiomicsLib.features.presets import load_preset  # noqa: E402
from TMERadiomicsLib.io.images import read_image, read_mask  # noqa: E402
from TMERadiomicsLib.models import load_bundle  # noqa: E402
from TMERadiomicsLib.training import train  # noqa: E402

SEEDS = [21, 22, 23]
MODEL_FEATURES = ["Intra_original_firstorder_Mean", "Peri_original_firstorder_Mean",
                  "Peri_original_glcm_Contrast", "Ring_original_firstorder_Median",
                  "Intra_original_shape_Sphericity", "Peri_original_glszm_ZoneEntropy"]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("batch")
    manifest = write_cohort(folder, SEEDS)
    preset = write_preset(folder)
    return manifest, preset, _bundle(load_preset(preset), folder / "bundle")


def _bundle(preset, folder: Path) -> Path:
    """A LASSO bundle trained on a synthetic table whose columns are real feature names of the preset."""
    rng = np.random.default_rng(3)
    n = 60
    state = rng.permutation(np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)])
    values = {name: rng.normal(size=n) * (k + 1) + (2.0 * state if k < 2 else 0) for k, name in enumerate(MODEL_FEATURES)}
    ids = [f"t{i:02d}" for i in range(n)]
    features = pd.DataFrame({"case_id": ids, "preset": preset.name, "preset_sha256": preset.sha256, **values})
    labels = pd.DataFrame({"case_id": ids, "state": state})
    return train(features, labels, "qian2024-lasso", seed=0, label="state").save(folder)


@pytest.fixture(scope="module")
def pool_run(cohort, tmp_path_factory) -> Path:
    manifest, preset, bundle = cohort
    out = tmp_path_factory.mktemp("pool") / "out"
    done = run_cli(batch_argv(manifest, preset, out, "--jobs", "2", "--models", str(bundle)))
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_features_equal_the_library_per_case(cohort, pool_run):
    manifest, preset, _ = cohort
    wide = tables(pool_run)["features_wide"]
    assert list(wide["case_id"]) == [f"P{s:03d}" for s in SEEDS for _ in range(3)]
    assert set(wide["preset_sha256"]) == {load_preset(preset).sha256}
    case = manifest.parent / "data" / f"p{SEEDS[1]}"
    image = read_image(case / "image.nrrd")
    built = regions.build(read_mask(case / "tumour.nrrd", reference=image), image,
                          exclusions=[read_mask(case / "vessels.nrrd", reference=image, allow_empty=True)])
    expected = extract_case(image, built, preset, case_id=f"P{SEEDS[1]:03d}").wide()
    got = wide[wide["case_id"] == f"P{SEEDS[1]:03d}"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, check_dtype=False)


def test_case_table_carries_reader_session_and_status(pool_run):
    cases = pd.read_csv(pool_run / "cases.csv", dtype=str)
    assert list(cases["case_id"]) == [f"P{s:03d}" for s in SEEDS]
    assert set(cases["reader"]) == {"R1"} and set(cases["status"]) == {"ok"}
    summary = json.loads((pool_run / "summary.json").read_text())
    assert summary["completed"] == 3 and summary["failed"] == 0 and 0 < summary["worker_peak_rss_mb"] < 1536


def test_scores_equal_the_bundle_on_the_merged_table(cohort, pool_run):
    bundle = load_bundle(cohort[2])
    merged = tables(pool_run)
    expected = bundle.score(merged["features_combined"])
    scores = merged["scores"]
    assert list(scores["case_id"]) == list(expected["case_id"])
    assert set(scores["bundle"]) == {bundle.manifest.name}
    assert set(scores["bundle_sha256"]) == {json.loads((cohort[2] / "manifest.json").read_text())["bundle_sha256"]}
    assert np.isfinite(scores["radscore"]).all()
    np.testing.assert_allclose(scores["radscore"], expected["radscore"], rtol=1e-12)


def test_dask_local_cluster_gives_the_pool_tables(cohort, pool_run, tmp_path):
    manifest, preset, bundle = cohort
    out = tmp_path / "out"
    done = run_cli(batch_argv(manifest, preset, out, "--dask-local", "2", "--models", str(bundle)))
    assert done.returncode == 0, done.stderr[-2000:]
    for name, table in tables(pool_run).items():
        pd.testing.assert_frame_equal(tables(out)[name], table, check_exact=True, obj=name)


def test_bundle_of_another_preset_refused_before_work(cohort, tmp_path, capsys):
    from TMERadiomicsLib.cli import main

    manifest, _, bundle = cohort
    out = tmp_path / "out"
    assert main(batch_argv(manifest, Path("default"), out, "--models", str(bundle))[3:]) == 2
    assert "not on the run's preset" in capsys.readouterr().err
    assert not out.exists()


def test_scheduler_address_runs_on_that_cluster(cohort, pool_run, tmp_path):
    from distributed import LocalCluster

    manifest, preset, _ = cohort
    one = manifest.parent / "one.csv"
    pd.read_csv(manifest, dtype=str).head(1).to_csv(one, index=False)
    out = tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        done = run_cli(batch_argv(one, preset, out, "--scheduler", cluster.scheduler_address))
        ran_here = [p for p in cluster.scheduler.task_prefixes if p.startswith("tmeradiomics-case")]
    assert done.returncode == 0, done.stderr[-2000:]
    assert ran_here
    expected = tables(pool_run)["features_wide"].head(3)
    pd.testing.assert_frame_equal(tables(out)["features_wide"], expected, check_exact=True)
