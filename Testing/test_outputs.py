"""Nothing partial is left behind and no earlier result is lost."""

import os

import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.outputs import atomic_write_text, check_out_dir, staged_dir


def test_failure_inside_stage_keeps_the_earlier_result(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.csv").write_text("earlier")
    with pytest.raises(RuntimeError):
        with staged_dir(out) as stage:
            (stage / "result.csv").write_text("half-written")
            raise RuntimeError("crash in the middle")
    assert (out / "result.csv").read_text() == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_stage_moves_files_into_place(tmp_path):
    out = tmp_path / "new"
    with staged_dir(out) as stage:
        (stage / "sub").mkdir()
        (stage / "sub" / "a.txt").write_text("a")
    assert (out / "sub" / "a.txt").read_text() == "a"
    assert [p.name for p in tmp_path.iterdir()] == ["new"]


def test_check_out_dir(tmp_path):
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        check_out_dir(file)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="--overwrite"):
        check_out_dir(tmp_path / "full")
    assert check_out_dir(tmp_path / "full", overwrite=True) == tmp_path / "full"
    assert check_out_dir(tmp_path / "missing" / "deeper") == tmp_path / "missing" / "deeper"


def test_atomic_write_replaces_whole_file(tmp_path):
    target = atomic_write_text(tmp_path / "a.json", "{}")
    atomic_write_text(target, '{"b": 1}')
    assert target.read_text() == '{"b": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


_MODES = """
import json, os, stat, sys
from pathlib import Path
from TMERadiomicsLib.outputs import atomic_write_text, staged_dir
out = Path(sys.argv[1])
atomic_write_text(out / "single.txt", "x")
with staged_dir(out / "staged") as stage:
    atomic_write_text(stage / "atomic_in_stage.json", "{}")
    (stage / "plain.txt").write_text("y")
    (stage / "sub").mkdir()
modes = {str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in sorted(out.rglob("*"))}
print(json.dumps(modes))
"""


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, "0o644", "0o755"), (0o027, "0o640", "0o750")])
def test_written_files_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    """Files written through temporary files get the modes any file would get, not mkstemp's 0600."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _MODES, str(tmp_path)], capture_output=True, text=True,
                          check=True, preexec_fn=lambda: os.umask(umask))
    assert json.loads(done.stdout) == {
        "single.txt": file_mode, "staged": dir_mode, "staged/atomic_in_stage.json": file_mode,
        "staged/plain.txt": file_mode, "staged/sub": dir_mode,
    }


def test_check_out_file(tmp_path):
    from TMERadiomicsLib.outputs import check_out_file

    existing = tmp_path / "a.csv"
    existing.write_text("earlier")
    with pytest.raises(InputError, match="output file exists; use --overwrite"):
        check_out_file(existing)
    assert check_out_file(existing, overwrite=True) == existing
    with pytest.raises(InputError, match="output path is a folder"):
        check_out_file(tmp_path)
    with pytest.raises(InputError, match="output folder cannot be written"):
        check_out_file("/proc/tmeradiomics/a.csv")
    assert existing.read_text() == "earlier" and [p.name for p in tmp_path.iterdir()] == ["a.csv"]
