"""The session, icc and perturb commands end to end on phantom cases and a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from db_locks import held_write_lock

from TMERadiomicsLib.cli import main
from TMERadiomicsLib.io.images import write_image
from TMERadiomicsLib.cohort.phantom import make_phantom
from TMERadiomicsLib.reproducibility.perturbation import DistanceField
from TMERadiomicsLib.store import SCHEMA_VERSION
from TMERadiomicsLib.training import read_stable_features

REPO = Path(__file__).resolve().parent.parent
RADII_MM = (5.0, 7.0, 9.0, 11.0)
# Stored out of order (week 2 first): the session times, not the order of
# adding, decide which of R1's sessions meets R2's.
READINGS = (
    ("R1", "R1-week2", "R1w2", "2026-01-15"),
    ("R1", "R1-week0", "R1w0", "2026-01-01"),
    ("R2", "R2", "R2", "2026-01-03"),
)


def _crop_to_lesion(image: sitk.Image, tumour: sitk.Image) -> tuple[sitk.Image, sitk.Image]:
    """A tiny field of view around the lesion keeps extraction fast."""
    where = np.argwhere(sitk.GetArrayViewFromImage(tumour))
    lo = np.maximum(where.min(0) - 5, 0)
    hi = np.minimum(where.max(0) + 6, tumour.GetSize()[::-1])
    index, size = [int(v) for v in lo[::-1]], [int(v) for v in (hi - lo)[::-1]]
    return sitk.RegionOfInterest(image, size, index), sitk.RegionOfInterest(tumour, size, index)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> Path:
    """Four phantom lesions of different sizes; R1 twice (week 2 a little noisy), R2 biased outward."""
    folder = tmp_path_factory.mktemp("cases")
    for c, radius in enumerate(RADII_MM):
        phantom = make_phantom("small", seed=c, lesion_radius_mm=radius)
        image, tumour = _crop_to_lesion(phantom.image(), phantom.tumour)
        write_image(image, folder / f"c{c}.nrrd")
        field = DistanceField(tumour, 3.0)
        masks = {
            "R1w0": tumour,
            "R1w2": field.perturb(0.0, 0.3, 3.0, np.random.default_rng(c)),
            "R2": field.perturb(0.4, 0.4, 3.0, np.random.default_rng(100 + c)),
        }
        for name, mask in masks.items():
            write_image(mask, folder / f"c{c}_{name}.nrrd")
    return folder


def add(db: Path, cases: Path, case: int, reader: str, session: str, mask: str, *extra: str, image: int | None = None) -> int:
    return main([
        "session", "add", "--db", str(db), "--case", f"c{case}", "--reader", reader, "--session", session,
        str(cases / f"c{case if image is None else image}.nrrd"), str(cases / f"c{case}_{mask}.nrrd"), *extra,
    ])


@pytest.fixture(scope="module")
def study(cases: Path, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("study") / "study.sqlite"
    for c in range(len(RADII_MM)):
        for reader, session, mask, when in READINGS:
            assert add(db, cases, c, reader, session, mask, "--session-time", when) == 0
    assert main(["session", "extract", "--db", str(db), "--preset", "default", "--no-progress"]) == 0
    return db


def copy_db(source: Path, target: Path) -> Path:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump()) + [str(conn.execute("PRAGMA user_version").fetchone()[0])]
    finally:
        conn.close()


def one_error_line(capsys, command: str, *fragments: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"tmeradiomics {command}: error: ")
    for fragment in fragments:
        assert fragment in err
    return err


def test_icc_writes_table_stable_list_and_plot(study, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "icc"
    assert main(["icc", "--db", str(study), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = pd.read_csv(out / "icc.csv")
    stable = read_stable_features(out / "stable_features.txt")
    assert stable == sorted(summary.loc[summary["stable"], "name"])
    assert report["stable"] == len(stable) and report["features"] == len(summary)
    assert report["cases"] == {"inter": 4, "intra": 4}
    assert set(summary["inter_raters"]) == {"R1:R1-week0+R2:R2"}
    assert set(summary["region"]) == {"intratumoral", "peritumoral", "ring"}
    assert {n[:5] for n in summary["name"]} == {"Intra", "Peri_", "Ring_"}
    # Lesions 5 to 11 mm in radius against sub-voxel re-contouring: volume is reproducible.
    row = summary.set_index("name").loc["Intra_original_shape_VoxelVolume"]
    assert row["intra_icc"] > 0.9 and row["inter_icc"] > 0.75 and row["stable"]
    assert row["intra_ci_low"] < row["intra_icc"] < row["intra_ci_high"]
    # R2 contours 0.4 mm further out: agreement (A,1) is lower than consistency (C,1).
    long = pd.read_csv(out / "icc_long.csv")
    assert set(long["kind"]) == {"intra", "inter"}
    assert (out / "icc_distribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    consistency = tmp_path / "icc_c"
    assert main(["icc", "--db", str(study), "--out", str(consistency), "--form", "C,1"]) == 0
    c_row = pd.read_csv(consistency / "icc.csv").set_index("name").loc["Intra_original_shape_VoxelVolume"]
    assert c_row["inter_icc"] > row["inter_icc"]


def test_readd_unchanged_replace_and_extract_only_missing(study, cases, tmp_path, capsys):
    db = copy_db(study, tmp_path / "study.sqlite")
    before = dump(db)
    capsys.readouterr()
    assert add(db, cases, 0, "R1", "R1-week0", "R1w0") == 0
    assert json.loads(capsys.readouterr().out)["result"] == "unchanged"
    assert dump(db) == before
    assert add(db, cases, 0, "R1", "R1-week0", "R2") == 2
    one_error_line(capsys, "session", "case c0", "already holds a different segmentation", "--replace")
    assert dump(db) == before
    assert add(db, cases, 0, "R1", "R1-week0", "R2", "--replace") == 0
    assert json.loads(capsys.readouterr().out)["result"] == "replaced"
    assert main(["session", "extract", "--db", str(db), "--preset", "default", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["extracted"], report["already_present"]) == (1, 11)
    assert main(["session", "list", "--db", str(db)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(s["reader"], s["session"], s["cases"]) for s in listing["sessions"]] == [
        ("R1", "R1-week0", 4), ("R1", "R1-week2", 4), ("R2", "R2", 4)
    ]
    assert [(p["preset_name"], p["segmentations"]) for p in listing["presets"]] == [("default", 12)]


def test_changed_geometry_is_refused_and_the_database_unchanged(study, cases, tmp_path, capsys):
    db = copy_db(study, tmp_path / "study.sqlite")
    before = dump(db)
    capsys.readouterr()
    # Case c1's image and mask registered under case c0: another grid.
    code = main(["session", "add", "--db", str(db), "--case", "c0", "--reader", "R1", "--session", "R1-week4",
                 str(cases / "c1.nrrd"), str(cases / "c1_R1w0.nrrd")])
    assert code == 2
    one_error_line(capsys, "session", "case c0", "image geometry differs")
    assert dump(db) == before


def test_bad_mask_leaves_no_database(cases, tmp_path, capsys):
    empty = sitk.Image(sitk.ReadImage(str(cases / "c0_R1w0.nrrd")) * 0)
    write_image(empty, tmp_path / "c0_empty.nrrd")
    db = tmp_path / "new.sqlite"
    code = main(["session", "add", "--db", str(db), "--case", "c0", "--reader", "R1", "--session", "R1-week0",
                 str(cases / "c0.nrrd"), str(tmp_path / "c0_empty.nrrd")])
    assert code == 2
    one_error_line(capsys, "session", "case c0")
    assert not db.exists()


def test_icc_with_fewer_than_two_ratings_writes_nothing(study, tmp_path, capsys):
    db = copy_db(study, tmp_path / "study.sqlite")
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM segmentations WHERE session_id IN "
                 "(SELECT session_id FROM sessions JOIN readers USING (reader_id) WHERE name = 'R2')")
    conn.commit()
    conn.close()
    capsys.readouterr()
    out = tmp_path / "icc"
    assert main(["icc", "--db", str(db), "--out", str(out)]) == 2
    one_error_line(capsys, "icc", "inter-observer ICC needs at least 2 ratings per case", "readers: R1")
    assert not out.exists()
    assert main(["icc", "--db", str(db), "--out", str(out), "--require", "intra"]) == 0


def test_newer_schema_is_refused(study, tmp_path, capsys):
    db = copy_db(study, tmp_path / "study.sqlite")
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    conn.close()
    before = dump(db)
    capsys.readouterr()
    assert main(["session", "extract", "--db", str(db), "--preset", "default"]) == 2
    one_error_line(capsys, "session", f"schema version {SCHEMA_VERSION + 3}, newer")
    assert dump(db) == before




def test_locked_database_is_a_clear_error(study, cases, tmp_path, capsys):
    db = copy_db(study, tmp_path / "study.sqlite")
    before = dump(db)
    with held_write_lock(db):
        capsys.readouterr()
        assert add(db, cases, 0, "R3", "R3", "R2", "--timeout", "0.5") == 2
        one_error_line(capsys, "session", "locked by another process; gave up after 0.5 s")
    assert dump(db) == before


def test_file_changed_since_added_is_refused_before_extracting(cases, tmp_path, capsys):
    mask = tmp_path / "c0_R1w0.nrrd"
    mask.write_bytes((cases / "c0_R1w0.nrrd").read_bytes())
    db = tmp_path / "study.sqlite"
    assert main(["session", "add", "--db", str(db), "--case", "c0", "--reader", "R1", "--session", "R1-week0",
                 str(cases / "c0.nrrd"), str(mask)]) == 0
    mask.write_bytes((cases / "c0_R2.nrrd").read_bytes())
    before = dump(db)
    capsys.readouterr()
    assert main(["session", "extract", "--db", str(db), "--preset", "default", "--no-progress"]) == 2
    one_error_line(capsys, "session", "changed on disk since it was added")
    assert dump(db) == before


def test_perturb_then_icc_beside_reader_icc(study, cases, tmp_path, capsys):
    folders = []
    for c in (0, 3):
        out = tmp_path / f"perturb_c{c}"
        assert main(["perturb", str(cases / f"c{c}.nrrd"), str(cases / f"c{c}_R1w0.nrrd"), "--n", "3",
                     "--out", str(out), "--seed", "4"]) == 0
        assert sorted(p.name for p in (out / "masks").iterdir()) == [f"perturbation_0{i}.nrrd" for i in range(3)]
        draws = pd.read_csv(out / "perturbations.csv")
        assert draws["case_id"].eq(f"c{c}_R1w0").all() and draws["dice"].between(0.7, 1.0).all()
        folders.append(str(out))
    capsys.readouterr()
    out = tmp_path / "icc"
    assert main(["icc", "--db", str(study), "--perturbations", *folders, "--out", str(out)]) == 0
    summary = pd.read_csv(out / "icc.csv").set_index("name")
    assert {"intra_icc", "inter_icc", "perturbation_icc"} <= set(summary.columns)
    assert summary.loc["Intra_original_shape_VoxelVolume", "perturbation_icc"] > 0.9
    alone = tmp_path / "icc_perturb_only"
    capsys.readouterr()
    assert main(["icc", "--perturbations", *folders, "--out", str(alone)]) == 0
    assert json.loads(capsys.readouterr().out)["required"] == ["perturbation"]


def test_perturb_bad_input_writes_nothing(cases, tmp_path, capsys):
    out = tmp_path / "perturb"
    assert main(["perturb", str(cases / "c0.nrrd"), str(cases / "c0_R1w0.nrrd"), "--n", "1", "--out", str(out)]) == 2
    one_error_line(capsys, "perturb", "at least 2 perturbations")
    assert not out.exists()


def test_command_line_exit_code_and_single_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "TMERadiomicsLib", "session", "add", "--db", str(tmp_path / "s.sqlite"),
         "--case", "c9", "--reader", "R1", "--session", "R1-week0", str(tmp_path / "missing.nrrd"),
         str(tmp_path / "missing_mask.nrrd")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"tmeradiomics session: error: case c9: file {tmp_path / 'missing.nrrd'}: file not found"
    ]
    assert not (tmp_path / "s.sqlite").exists()
