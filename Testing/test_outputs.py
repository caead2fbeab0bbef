"""Nothing partial is left behind and no earlier result is lost."""

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
