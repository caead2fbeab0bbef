"""Operating-system errors on real file systems: one line naming the path, exit 2, nothing partial.

A full disk is a small tmpfs (``mount`` needs root or CAP_SYS_ADMIN, as in
the project's containers; elsewhere these tests skip), a read-only file
system a tmpfs mounted ``ro`` (root ignores permission bits, not ``ro``), a
file-size limit ``ulimit -f`` (EFBIG), a full stdout ``/dev/full``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from TMERadiomicsLib.outputs import atomic_write_texts
from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="tmpfs, /dev/full, ulimit")

REPO = Path(__file__).resolve().parent.parent
SMALL_PRESET = "imageType:\n  Original: {}\nfeatureClass:\n  firstorder:\nsetting:\n  binWidth: 25\n  label: 1\n"


def _mount(folder: Path, options: str) -> Path:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return folder


@pytest.fixture
def small_disk(tmp_path):
    """Make a tmpfs of the given size; unmounted at the end."""
    mounted = []

    def make(size: str, name: str = "disk", extra: str = "") -> Path:
        folder = _mount(tmp_path / name, f"size={size}{extra}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("oscase")
    write_phantom(make_phantom("small", 41), folder)
    (folder / "small.yaml").write_text(SMALL_PRESET)
    return folder


def cli(*argv: str, prefix: str = "", **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "TMERadiomicsLib", *argv]
    if prefix:  # a shell setting for the command only (ulimit, redirections)
        command = ["bash", "-c", f'{prefix} exec "$@"', "bash", *command]
    kwargs.setdefault("stdout", subprocess.PIPE)
    return subprocess.run(command, cwd=REPO, stderr=subprocess.PIPE, text=True, timeout=300, **kwargs)


def one_error_line(done: subprocess.CompletedProcess, command: str) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tmeradiomics {command}: error: "), done.stderr
    return lines[0]


def test_phantom_on_a_full_disk(small_disk):
    disk = small_disk("64k")
    line = one_error_line(cli("phantom", "--out", str(disk / "p")), "phantom")
    assert f"file {disk / 'p'}" in line and "No space left on device" in line
    assert list(disk.iterdir()) == [], "a partial phantom was left"


def test_regions_on_a_full_disk(small_disk, case):
    disk = small_disk("8k")
    done = cli("regions", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--out", str(disk / "r"))
    line = one_error_line(done, "regions")
    assert str(disk / "r") in line and "No space left on device" in line
    assert list(disk.iterdir()) == []


def test_extract_on_a_full_disk_leaves_neither_table_nor_companions(small_disk, case):
    disk = small_disk("8k")
    done = cli("extract", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--preset", str(case / "small.yaml"),
               "--out", str(disk / "features.csv"))
    line = one_error_line(done, "extract")
    assert str(disk / "features") in line and "No space left on device" in line
    assert list(disk.iterdir()) == [], "the wide table was left without its companions"


def test_extract_overwrite_on_a_full_disk_keeps_the_earlier_result(small_disk, case):
    disk = small_disk("12k")
    earlier = {disk / name: f"earlier {name}\n" for name in ("f.csv", "f.combined.csv", "f.diagnostics.json")}
    for path, text in earlier.items():
        path.write_text(text)
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # take the rest of the disk
        try:
            while True:
                handle.write(b"x" * 1024)
        except OSError:
            pass
    done = cli("extract", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--preset", str(case / "small.yaml"),
               "--out", str(disk / "f.csv"), "--overwrite")
    one_error_line(done, "extract")
    assert {p: p.read_text() for p in earlier} == earlier
    assert sorted(p.name for p in disk.iterdir()) == sorted([*(p.name for p in earlier), "filler"])


def test_regions_on_a_read_only_file_system(small_disk, case):
    disk = small_disk("1m", extra=",ro")
    done = cli("regions", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--out", str(disk / "r"))
    line = one_error_line(done, "regions")
    assert str(disk) in line and "Read-only file system" in line


def test_phantom_over_the_file_size_limit(tmp_path):
    out = tmp_path / "p"
    line = one_error_line(cli("phantom", "--out", str(out), prefix="ulimit -f 100;"), "phantom")
    assert f"file {out}" in line and "File too large" in line
    assert list(tmp_path.iterdir()) == []


def test_stdout_on_dev_full():
    with open("/dev/full", "w") as full:
        done = cli("presets", "--json", stdout=full)
    assert one_error_line(done, "presets") == "tmeradiomics presets: error: standard output: No space left on device"


def test_closed_stdout_is_refused_before_any_work(tmp_path):
    out = tmp_path / "p"
    done = cli("phantom", "--out", str(out), prefix="exec >&-;", stdout=None)
    assert "standard output is closed" in one_error_line(done, "phantom")
    assert not out.exists()


def test_library_group_write_on_a_full_disk_is_all_or_nothing(small_disk):
    disk = small_disk("8k")
    (disk / "a.csv").write_text("earlier a\n")
    with pytest.raises(OSError) as caught:
        atomic_write_texts({disk / "a.csv": "new a\n", disk / "b.csv": "x" * 20000})
    assert caught.value.filename == str(disk / "b.csv")
    assert sorted(os.listdir(disk)) == ["a.csv"]
    assert (disk / "a.csv").read_text() == "earlier a\n"
