"""Helpers for the batch tests (no tests here): phantom cohorts, a small preset, running the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom

REPO = Path(__file__).resolve().parent.parent
CLI_TIMEOUT_S = 240

# Original image, a few classes: enough features to compare, fast on 2 cores.
SMALL_PRESET = """\
imageType:
  Original: {}
featureClass:
  shape:
  firstorder:
  glcm:
  glszm:
setting:
  binWidth: 25
  label: 1
"""


def write_cohort(folder: Path, seeds: list[int]) -> Path:
    """Small phantoms under ``folder/data/p<seed>/``, a manifest with relative paths; returns the manifest."""
    rows = []
    for seed in seeds:
        case = folder / "data" / f"p{seed}"
        case.mkdir(parents=True)
        write_phantom(make_phantom("small", seed), case)
        rows.append({"case_id": f"P{seed:03d}", "image": f"data/p{seed}/image.nrrd",
                     "mask": f"data/p{seed}/tumour.nrrd", "exclude": f"data/p{seed}/vessels.nrrd",
                     "reader": "R1", "session": "S1"})
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def write_preset(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(SMALL_PRESET)
    return path


def batch_argv(manifest: Path, preset: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "TMERadiomicsLib", "batch", str(manifest), "--preset", str(preset),
            "--out", str(out), *extra]


def run_cli(argv: list[str], timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def tables(out: Path) -> dict[str, pd.DataFrame]:
    """The merged cohort tables of a run, case IDs as strings."""
    names = ("features_wide", "features_combined", "scores", "failures")
    return {name: pd.read_csv(out / f"{name}.csv", dtype={"case_id": str}) for name in names}
