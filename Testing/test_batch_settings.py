"""A batch folder keeps its run: other settings are refused, ``--overwrite`` replaces it
as a whole (or not at all), and a run that cannot start leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_batch_support import batch_argv, run_cli, write_cohort, write_preset  # noqa: E402
from test_interrupt_signals import EXIT_LIMIT_S, start, stop, the_one_line, wait_for  # noqa: E402

from TMERadiomicsLib.batch import backends  # noqa: E402
from TMERadiomicsLib.batch.settings import BatchSettings, record_differences, run_record  # noqa: E402
from TMERadiomicsLib.cli import main  # noqa: E402

SEEDS = [61, 62, 63]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("settings")
    return write_cohort(folder, SEEDS), write_preset(folder)


@pytest.fixture(scope="module")
def earlier(cohort, tmp_path_factory) -> Path:
    """A finished run, copied afresh by each test that may change it."""
    manifest, preset = cohort
    out = tmp_path_factory.mktemp("earlier") / "out"
    done = run_cli(batch_argv(manifest, preset, out, "--jobs", "2"))
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def copy_of(earlier: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(earlier, out)
    return out


def refused(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("change, named", [
    (["--peritumoral-mm", "4"], "peritumoral_mm: 5.0 -> 4.0"),
    (["--air-below", "-500"], "air_below: None -> -500.0"),
    (["--largest-component"], "largest_component: False -> True"),
], ids=["band-width", "air-threshold", "largest-component"])
def test_rerun_with_other_settings_is_refused_and_changes_nothing(cohort, earlier, tmp_path, capsys, change, named):
    """Was: every case recomputed and the earlier tables replaced, exit 0, without --overwrite."""
    manifest, preset = cohort
    out = copy_of(earlier, tmp_path)
    before = digest(out)
    assert main(batch_argv(manifest, preset, out, *change)[3:]) == 2
    line = refused(capsys)
    assert "holds a batch run with other settings" in line and named in line and "--overwrite" in line
    assert digest(out) == before


def test_rerun_with_another_preset_names_both(cohort, earlier, tmp_path, capsys):
    manifest, preset = cohort
    other = preset.parent / "other.yaml"
    other.write_text(preset.read_text().replace("binWidth: 25", "binWidth: 20"))
    out = copy_of(earlier, tmp_path)
    before = digest(out)
    assert main(batch_argv(manifest, other, out)[3:]) == 2
    line = refused(capsys)
    assert "preset: small (sha256 " in line and "-> other (sha256 " in line
    assert digest(out) == before


def test_threads_and_mask_output_are_not_other_settings(cohort, earlier, tmp_path, capsys):
    manifest, preset = cohort
    out = copy_of(earlier, tmp_path)
    assert main(batch_argv(manifest, preset, out, "--threads-per-case", "1", "--no-masks")[3:]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed_this_run"] == 0 and summary["resumed_from_earlier_runs"] == len(SEEDS)


def test_overwrite_replaces_the_folder_as_a_whole(cohort, earlier, tmp_path, capsys):
    manifest, preset = cohort
    out = copy_of(earlier, tmp_path)
    (out / "cases" / "STALE").mkdir()
    (out / "notes.txt").write_text("a file of the earlier folder")
    assert main(batch_argv(manifest, preset, out, "--peritumoral-mm", "4", "--overwrite")[3:]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["computed_this_run"] == len(SEEDS)
    assert json.loads((out / "batch.json").read_text())["settings"]["peritumoral_mm"] == 4.0
    assert not (out / "notes.txt").exists() and not (out / "cases" / "STALE").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "a staging or old folder was left"


def test_interrupted_overwrite_leaves_the_earlier_folder(cohort, earlier, tmp_path):
    manifest, preset = cohort
    out = copy_of(earlier, tmp_path)
    before = digest(out)
    log = tmp_path.parent / f"{tmp_path.name}-stderr.txt"
    process = start(batch_argv(manifest, preset, out, "--peritumoral-mm", "4", "--overwrite", "--jobs", "1"), log)
    wait_for(lambda: any(tmp_path.glob(".out.partial-*/cases/*/status.json")), process)
    code, seconds, _ = stop(process, signal.SIGTERM, group=False)
    assert code == 130 and seconds <= EXIT_LIMIT_S
    assert f"{out} is as it was before" in the_one_line(log, "batch")
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_bad_scheduler_address_leaves_nothing(cohort, tmp_path, capsys):
    """Was exit 1 (internal error) and a batch.json and cases/ left behind."""
    manifest, preset = cohort
    out = tmp_path / "out"
    assert main(batch_argv(manifest, preset, out, "--scheduler", "notaurl")[3:]) == 2
    line = refused(capsys)
    assert "cannot reach the Dask scheduler" in line and "notaurl" in line
    assert list(tmp_path.iterdir()) == []


def test_unreachable_scheduler_leaves_nothing(cohort, tmp_path, capsys, monkeypatch):
    manifest, preset = cohort
    monkeypatch.setattr(backends, "DASK_CONNECT_TIMEOUT_S", 2)  # only the wait; the connection is real
    out = tmp_path / "out"
    started = time.monotonic()
    assert main(batch_argv(manifest, preset, out, "--scheduler", "tcp://127.0.0.1:9")[3:]) == 2
    assert time.monotonic() - started < 60
    assert "cannot reach the Dask scheduler" in refused(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_dask_client_whose_event_loop_does_not_start_is_one_line(cohort, tmp_path, capsys, monkeypatch):
    """On a saturated machine distributed's client thread once took longer than the 10 s
    distributed waits for it, and its bare ``assert`` became "internal error: AssertionError".
    The thread is delayed here past that wait; distributed itself runs unchanged."""
    import distributed.utils

    start_loop = distributed.utils.asyncio_run

    def late_start(*args, **kwargs):
        time.sleep(10.5)  # just past distributed's own wait for its loop thread
        return start_loop(*args, **kwargs)

    monkeypatch.setattr(distributed.utils, "asyncio_run", late_start)
    manifest, preset = cohort
    assert main(batch_argv(manifest, preset, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9")[3:]) == 2
    assert "cannot reach the Dask scheduler: Dask's event loop did not start" in refused(capsys)
    assert list(tmp_path.iterdir()) == []


def test_record_differences():
    base = BatchSettings(preset_path="/a/p.yaml", preset_sha256="0" * 64)
    earlier = json.loads(json.dumps(run_record(base, {"preset": "p", "models": []})))  # as read back
    same = BatchSettings(preset_path="/b/p.yaml", preset_sha256="0" * 64, threads=4, write_masks=False)
    assert record_differences(earlier, run_record(same, {"preset": "p", "models": []})) == []
    other = BatchSettings(preset_path="/a/p.yaml", preset_sha256="0" * 64, exclude=("/m.nrrd",), ring_mm=3.0)
    assert record_differences(earlier, run_record(other, {"preset": "p", "models": ["qian2024-combined"]})) == [
        "exclude: [] -> ['/m.nrrd']", "models: [] -> ['qian2024-combined']", "ring_mm: 2.0 -> 3.0"]
