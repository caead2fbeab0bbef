"""An output can never be one of the same command's inputs: one line, exit 2, nothing touched.

The check is ``outputs.check_not_input``; the CLI's guard declares every path
the command line names, so every command that writes through ``outputs.py``
gets it, with or without ``--overwrite``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.outputs import (
    atomic_write_text,
    check_out_dir,
    check_out_file,
    command_inputs,
    staged_dir,
)
from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom

REPO = Path(__file__).resolve().parent.parent
SMALL_PRESET = "imageType:\n  Original: {}\nfeatureClass:\n  firstorder:\nsetting:\n  binWidth: 25\n  label: 1\n"


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("case")
    write_phantom(make_phantom("small", 43), folder)
    (folder / "small.yaml").write_text(SMALL_PRESET)
    return folder


def cli(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "TMERadiomicsLib", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


def refused(done: subprocess.CompletedProcess, command: str) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tmeradiomics {command}: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]], ids=["plain", "overwrite"])
def test_extract_out_naming_the_input_image(case, tmp_path, overwrite):
    """Was: with --overwrite the image was replaced by a CSV."""
    before = digest(case)
    done = cli("extract", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--preset", str(case / "small.yaml"),
               "--out", str(case / "image.nrrd"), *overwrite)
    assert "output is one of the command's inputs" in refused(done, "extract")
    assert digest(case) == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_extract_out_linked_to_the_input_mask(case, tmp_path, link):
    out = tmp_path / "features.csv"
    (os.symlink if link == "symlink" else os.link)(case / "tumour.nrrd", out)
    before = digest(case)
    done = cli("extract", str(case / "image.nrrd"), str(case / "tumour.nrrd"), "--preset", str(case / "small.yaml"),
               "--out", str(out), "--overwrite")
    assert str(case / "tumour.nrrd") in refused(done, "extract")
    assert digest(case) == before


def test_regions_writing_a_file_over_its_input(case, tmp_path):
    """The input is named like one of the outputs, in the output folder: refused before anything moves."""
    folder = tmp_path / "case"
    folder.mkdir()
    for name in ("image.nrrd", "tumour.nrrd"):
        (folder / name).write_bytes((case / name).read_bytes())
    (folder / "intratumoral.nrrd").write_bytes((case / "image.nrrd").read_bytes())
    before = digest(folder)
    done = cli("regions", str(folder / "intratumoral.nrrd"), str(folder / "tumour.nrrd"), "--out", str(folder),
               "--overwrite")
    assert "intratumoral.nrrd" in refused(done, "regions")
    assert digest(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"], "a staging folder was left"


def test_regions_into_the_folder_of_its_inputs_is_still_allowed(case, tmp_path):
    """Only a file that would replace an input is refused; the case folder itself is a fine --out."""
    folder = tmp_path / "case"
    folder.mkdir()
    for name in ("image.nrrd", "tumour.nrrd"):
        (folder / name).write_bytes((case / name).read_bytes())
    done = cli("regions", str(folder / "image.nrrd"), str(folder / "tumour.nrrd"), "--out", str(folder), "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (folder / "intratumoral.nrrd").is_file()
    assert (folder / "image.nrrd").read_bytes() == (case / "image.nrrd").read_bytes()


def test_relative_and_absolute_spellings_are_the_same_path(case, tmp_path):
    before = digest(case)
    done = cli("extract", "image.nrrd", str(case / "tumour.nrrd"), "--preset", "small.yaml",
               "--out", str(case / "sub" / ".." / "small.yaml"), "--overwrite", cwd=case)
    assert "small.yaml" in refused(done, "extract")
    assert digest(case) == before


def test_library_checks(tmp_path):
    image = tmp_path / "in" / "image.nrrd"
    image.parent.mkdir()
    image.write_text("image")
    with command_inputs([image]):
        with pytest.raises(InputError, match="one of the command's inputs"):
            check_out_file(image, overwrite=True)
        with pytest.raises(InputError, match="one of the command's inputs"):
            atomic_write_text(image, "csv")
        with pytest.raises(InputError, match="holds the command's input"):
            check_out_dir(tmp_path / "in", overwrite=True, replaced=True)
        check_out_dir(tmp_path / "in", overwrite=True)  # merged into, not replaced: allowed
        with pytest.raises(InputError, match="one of the command's inputs"):
            with staged_dir(tmp_path / "in") as stage:
                (stage / "other.txt").write_text("other")
                (stage / "image.nrrd").write_text("would replace the input")
        assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["image.nrrd"]
    assert image.read_text() == "image"
    atomic_write_text(image, "no longer an input")  # outside the command: allowed
