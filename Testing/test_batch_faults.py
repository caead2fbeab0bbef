"""Batch faults: SIGKILL then resume, a corrupt image, an unwritable output, a bad manifest.

The cohort is four small phantoms plus one case whose image is not an
image; the CLI runs in a real subprocess with two worker processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_batch_support import REPO, batch_argv, run_cli, tables, write_cohort, write_preset  # noqa: E402

from TMERadiomicsLib.cli import main  # noqa: E402

SEEDS = [11, 12, 13, 14]
SOME_CASES_FAILED = 3  # the documented exit code: the run ended, BROKEN failed (docs/batch.md)
KILL_WAIT_S = 180


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("faults")
    manifest = write_cohort(folder, SEEDS)
    (folder / "data" / "broken").mkdir()
    (folder / "data" / "broken" / "image.nrrd").write_bytes(b"NRRD0004\nthis is not an image\n")
    rows = pd.read_csv(manifest, dtype=str)
    broken = {**rows.iloc[0].to_dict(), "case_id": "BROKEN", "image": "data/broken/image.nrrd"}
    pd.concat([rows, pd.DataFrame([broken])]).to_csv(manifest, index=False)
    return manifest, write_preset(folder)


@pytest.fixture(scope="module")
def clean_run(cohort, tmp_path_factory) -> Path:
    manifest, preset = cohort
    out = tmp_path_factory.mktemp("clean") / "out"
    done = run_cli(batch_argv(manifest, preset, out, "--jobs", "2"))
    assert done.returncode == SOME_CASES_FAILED, done.stderr[-2000:]
    return out


def _markers(out: Path) -> list[Path]:
    return sorted((out / "cases").glob("*/status.json"))


def test_sigkill_then_resume_equals_uninterrupted_run(cohort, clean_run, tmp_path):
    manifest, preset = cohort
    out = tmp_path / "out"
    process = subprocess.Popen(batch_argv(manifest, preset, out, "--jobs", "2"), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + KILL_WAIT_S
    while not _markers(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # No orphaned worker may go on writing cases the resumed run rewrites.
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert workers and not alive
    finished_before_kill = len(_markers(out))
    assert 1 <= finished_before_kill < 5, "the kill must land mid-run"
    assert not (out / "summary.json").exists()

    resumed = run_cli(batch_argv(manifest, preset, out, "--jobs", "2"))
    assert resumed.returncode == SOME_CASES_FAILED, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    assert summary["resumed_from_earlier_runs"] >= finished_before_kill
    assert summary["resumed_from_earlier_runs"] + summary["computed_this_run"] == 5
    for name, table in tables(clean_run).items():
        pd.testing.assert_frame_equal(tables(out)[name], table, check_exact=True, obj=name)
    cases = pd.read_csv(out / "cases.csv", dtype={"case_id": str})
    assert sorted(cases["case_id"]) == sorted(["BROKEN", *(f"P{s:03d}" for s in SEEDS)])


def test_corrupt_image_fails_only_that_case(clean_run):
    summary = json.loads((clean_run / "summary.json").read_text())
    assert summary["completed"] == 4 and summary["failed"] == 1
    assert "BROKEN" in summary["failures"] and "image.nrrd" in summary["failures"]["BROKEN"]
    merged = tables(clean_run)
    assert set(merged["features_wide"]["case_id"]) == {f"P{s:03d}" for s in SEEDS}
    assert len(merged["features_wide"]) == 4 * 3
    broken = merged["failures"].query("case_id == 'BROKEN'")
    assert list(broken["stage"]) == ["case"] and "image.nrrd" in broken["reason"].iloc[0]


def test_resume_of_finished_run_recomputes_nothing(cohort, clean_run, capsys):
    manifest, preset = cohort
    before = tables(clean_run)
    assert main(batch_argv(manifest, preset, clean_run)[3:]) == SOME_CASES_FAILED
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed_this_run"] == 0 and summary["resumed_from_earlier_runs"] == 5
    for name, table in tables(clean_run).items():
        pd.testing.assert_frame_equal(table, before[name], check_exact=True, obj=name)


def test_changed_input_is_recomputed(cohort, clean_run, tmp_path, capsys):
    manifest, preset = cohort
    out = tmp_path / "out"
    rows = pd.read_csv(manifest, dtype=str).query("case_id in ['P011', 'BROKEN']")
    small = manifest.parent / "two.csv"
    rows.to_csv(small, index=False)
    assert main(batch_argv(small, preset, out, "--jobs", "1")[3:]) == SOME_CASES_FAILED
    capsys.readouterr()
    broken = manifest.parent / "data" / "broken" / "image.nrrd"
    os.utime(broken, ns=(time.time_ns(), time.time_ns() + 10**9))  # the user replaced the file
    assert main(batch_argv(small, preset, out, "--jobs", "1")[3:]) == SOME_CASES_FAILED
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed_this_run"] == 1 and summary["resumed_from_earlier_runs"] == 1


@pytest.mark.parametrize("where", ["proc", "under_file"])
def test_unwritable_output_fails_at_start(cohort, tmp_path, capsys, where):
    manifest, preset = cohort
    if where == "proc":
        out = Path("/proc/self/tmeradiomics-batch-out")
    else:
        (tmp_path / "plain.txt").write_text("a file, not a folder")
        out = tmp_path / "plain.txt" / "out"
    assert main(batch_argv(manifest, preset, out)[3:]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "output" in error and str(out).split("/")[1] in error
    assert not out.exists()


def test_bad_manifest_refused_with_every_offending_row(cohort, tmp_path, capsys):
    manifest, preset = cohort
    rows = pd.read_csv(manifest, dtype=str)
    bad = pd.concat([rows.iloc[:3], rows.iloc[[1]]])  # line 5 repeats line 3's case
    bad.iloc[0, bad.columns.get_loc("image")] = "data/nowhere/image.nrrd"
    bad.iloc[2, bad.columns.get_loc("exclude")] = "data/p13/vessels.nrrd;data/none.nrrd"
    path = manifest.parent / "bad.csv"
    bad.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(batch_argv(path, preset, out)[3:]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "3 problem(s)" in error
    assert "line 2 (case P011): image: not found: data/nowhere/image.nrrd" in error
    assert "line 4 (case P013): exclude: not found: data/none.nrrd" in error
    assert "case_id P012 is duplicated on lines 3, 5" in error
    assert not out.exists()


def test_missing_columns_refused(cohort, tmp_path, capsys):
    manifest, preset = cohort
    path = manifest.parent / "nomask.csv"
    pd.read_csv(manifest, dtype=str).drop(columns=["mask"]).to_csv(path, index=False)
    assert main(batch_argv(path, preset, tmp_path / "out")[3:]) == 2
    error = capsys.readouterr().err
    assert "lacks required column(s) mask" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_worker_whose_parent_already_died_exits_at_start():
    """A worker that starts after the batch died gets no death signal; it must notice and exit."""
    code = ("import os, sys; from TMERadiomicsLib.batch.threads import die_with_parent; "
            "die_with_parent(int(sys.argv[1])); print('alive')")
    orphan = subprocess.run([sys.executable, "-c", code, str(os.getpid() + 10**6)], capture_output=True, text=True,
                            timeout=120)
    assert orphan.returncode == 1 and "alive" not in orphan.stdout
    child = subprocess.run([sys.executable, "-c", code, str(os.getpid())], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0 and "alive" in child.stdout
