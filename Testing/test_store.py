"""The study database on real SQLite files, with real competing processes."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from shapes import sphere_mask
from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.store import (
    SCHEMA_VERSION,
    AddResult,
    Geometry,
    RegionRecord,
    Segmentation,
    StudyStore,
)
from TMERadiomicsLib.store.connection import migrate_to
from TMERadiomicsLib.store.files import add_segmentation_images, files_folder, folder_name
from TMERadiomicsLib.store.ingest import content_sha256
from TMERadiomicsLib.store.study import session_time

GEOMETRY = Geometry((40, 40, 12), (0.7, 0.7, 3.0), (-14.0, -14.0, -18.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
PRESET = "d" * 64


def segmentation(case="c1", reader="R1", session="R1-week0", mask_sha="m" * 64, geometry=GEOMETRY):
    return Segmentation(
        case_id=case, reader=reader, session=session,
        image_path=f"/data/{case}.nrrd", image_sha256="i" * 64,
        mask_path=f"/data/{case}-{session}.nrrd", mask_sha256=mask_sha, geometry=geometry,
        regions=(RegionRecord("intratumoral", 120, 176.4), RegionRecord("ring", 300, 441.0, ("thin",))),
    )


def dump(path: Path) -> list[str]:
    """Every row and the schema, as SQL text: equal dumps mean an unchanged database."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump()) + [f"user_version={conn.execute('PRAGMA user_version').fetchone()[0]}"]
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "study.sqlite"


def test_new_file_is_wal_at_current_version(db):
    with StudyStore(db):
        pass
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()


def test_readd_is_idempotent_and_replace_drops_old_features(db):
    with StudyStore(db) as store:
        assert store.add_segmentation(segmentation()) is AddResult.ADDED
        sid = store.segmentations()[0].segmentation_id
        assert store.put_features(sid, "default", PRESET, [("intratumoral", "f1", 1.0)])
        assert not store.put_features(sid, "default", PRESET, [("intratumoral", "f1", 9.0)])
        before = dump(db)
        assert store.add_segmentation(segmentation()) is AddResult.UNCHANGED
        assert dump(db) == before
        with pytest.raises(InputError, match="already holds a different segmentation.*--replace"):
            store.add_segmentation(segmentation(mask_sha="x" * 64))
        assert dump(db) == before
        assert store.add_segmentation(segmentation(mask_sha="x" * 64), replace=True) is AddResult.REPLACED
        stored = store.segmentations()
        assert [s.segmentation.mask_sha256 for s in stored] == ["x" * 64]
        assert store.feature_values().empty
        assert [s.segmentation_id for s in store.missing_extractions(PRESET)] == [stored[0].segmentation_id]
        assert len(store.region_summaries()) == 2


def test_session_time_dates_a_new_session_only(db):
    with StudyStore(db) as store:
        store.add_segmentation(segmentation(), session_time=session_time("2026-01-15"))
        store.add_segmentation(segmentation(case="c2"))
        before = dump(db)
        with pytest.raises(InputError, match="R1-week0 of reader R1 already exists, dated 2026-01-15T00:00:00"):
            store.add_segmentation(segmentation(case="c3"), session_time=session_time("2026-02-01T10:00+01:00"))
        assert dump(db) == before
        assert store.sessions()["created_at"].tolist() == ["2026-01-15T00:00:00+00:00"]
    with pytest.raises(InputError, match="ISO 8601"):
        session_time("15/01/2026")
    assert session_time("2026-02-01T10:00+01:00") == "2026-02-01T09:00:00+00:00"


def test_changed_geometry_between_sessions_is_refused_unchanged(db):
    moved = Geometry(GEOMETRY.size, (0.7, 0.7, 2.5), GEOMETRY.origin, GEOMETRY.direction)
    with StudyStore(db) as store:
        store.add_segmentation(segmentation())
        before = dump(db)
        with pytest.raises(InputError, match=r"case c1: .*geometry differs.*spacing \(0.7, 0.7, 2.5\)"):
            store.add_segmentation(segmentation(session="R1-week2", geometry=moved))
        with pytest.raises(InputError, match="geometry differs"):
            store.add_segmentation(segmentation(reader="R2", session="R2", geometry=moved))
    assert dump(db) == before


def test_replacing_the_only_contour_may_change_the_grid(db):
    moved = Geometry((41, 40, 12), GEOMETRY.spacing, GEOMETRY.origin, GEOMETRY.direction)
    with StudyStore(db) as store:
        store.add_segmentation(segmentation())
        store.add_segmentation(segmentation(mask_sha="y" * 64, geometry=moved), replace=True)
        assert store.segmentations()[0].segmentation.geometry == moved


def test_images_in_memory_are_saved_as_content_named_files(db):
    """What the Slicer panel saves: files beside the database, named by hash; a refusal leaves no file behind."""
    tumour = sphere_mask(4.0, (0.8, 0.8, 1.5), margin_mm=9.0)
    image = sitk.Cast(tumour, sitk.sitkFloat32) * 100.0 + 10.0
    wider = sitk.BinaryDilate(tumour, (1, 1, 0))
    seg, result = add_segmentation_images(db, "../P 1", "R1", "R1/week0", image, tumour)
    root = files_folder(db)
    assert result is AddResult.ADDED and root == db.parent / "study-files"
    assert Path(seg.mask_path).parent == root / "_P_1" / "R1" / "R1_week0"
    assert Path(seg.mask_path).name == f"tumour-{seg.mask_sha256[:16]}.nrrd"
    assert content_sha256(seg.mask_path) == seg.mask_sha256 and content_sha256(seg.image_path) == seg.image_sha256
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(seg.mask_path)), sitk.GetArrayFromImage(tumour))
    files, before = sorted(root.rglob("*")), dump(db)
    assert add_segmentation_images(db, "../P 1", "R1", "R1/week0", image, tumour)[1] is AddResult.UNCHANGED
    with pytest.raises(InputError, match="already holds a different segmentation"):
        add_segmentation_images(db, "../P 1", "R1", "R1/week0", image, wider)
    with pytest.raises(InputError, match="image geometry differs"):
        add_segmentation_images(db, "../P 1", "R2", "R2", sitk.Shrink(image, (2, 1, 1)), sitk.Shrink(tumour, (2, 1, 1)))
    assert sorted(root.rglob("*")) == files and dump(db) == before
    assert (folder_name(".."), folder_name(" R1 "), folder_name("a\\b")) == ("_", "R1", "a_b")


def test_newer_schema_is_refused(db):
    with StudyStore(db):
        pass
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    before = dump(db)
    with pytest.raises(InputError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        StudyStore(db)
    assert dump(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_version_1_file_is_migrated_with_its_data(db):
    conn = sqlite3.connect(db, isolation_level=None)
    migrate_to(conn, db, 1)
    conn.execute("INSERT INTO cases VALUES ('old', ?, '2025-01-01T00:00:00+00:00')", (GEOMETRY.to_json(),))
    conn.execute("INSERT INTO readers (name) VALUES ('R1')")
    conn.execute("INSERT INTO sessions (reader_id, label, created_at) VALUES (1, 'R1-week0', '2025-01-01')")
    conn.execute(
        "INSERT INTO segmentations (case_id, session_id, image_path, image_sha256, mask_path, "
        "mask_sha256, peritumoral_mm, ring_mm, added_at) "
        "VALUES ('old', 1, '/i', 'a', '/m', 'b', 5, 2, '2025-01-01')"
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    with StudyStore(db) as store:
        assert [s.segmentation.case_id for s in store.segmentations()] == ["old"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert "features_by_preset" in indexes
    conn.close()


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all, just some words " * 50)
    with pytest.raises(InputError, match="not a study database"):
        StudyStore(text)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.commit()
    conn.close()
    before = dump(other)
    with pytest.raises(InputError, match="not a TMERadiomics study database"):
        StudyStore(other)
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert dump(other) == before
    with pytest.raises(InputError, match="study database not found"):
        StudyStore(tmp_path / "missing.sqlite", create=False)


def _hold_write_lock(path: str, seconds: float, locked, release) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO readers (name) VALUES ('holder')")
    locked.set()
    release.wait(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def _locked_by_other_process(db: Path, seconds: float):
    """A process holding the write lock for ``seconds`` or until its ``release`` is set."""
    ctx = mp.get_context("spawn")
    locked, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_write_lock, args=(str(db), seconds, locked, release))
    holder.start()
    assert locked.wait(30), "lock holder did not start"
    return holder, release


def test_locked_database_gives_up_after_the_timeout(db):
    StudyStore(db).close()
    before = dump(db)
    holder, release = _locked_by_other_process(db, 30.0)
    try:
        with StudyStore(db, timeout=0.6) as store:
            start = time.monotonic()
            with pytest.raises(InputError, match="locked by another process; gave up after 0.6 s"):
                store.add_segmentation(segmentation())
            waited = time.monotonic() - start
    finally:
        release.set()
        holder.join()
    assert 0.4 < waited < 3.0
    assert dump(db) == before


def test_locked_database_is_waited_for(db):
    StudyStore(db).close()
    holder, _ = _locked_by_other_process(db, 0.8)
    try:
        with StudyStore(db, timeout=20) as store:
            assert store.add_segmentation(segmentation()) is AddResult.ADDED
    finally:
        holder.join()
    with StudyStore(db) as store:
        assert len(store.segmentations()) == 1


CASES_PER_WRITER = 6
FEATURES = [f"original_firstorder_F{i:03d}" for i in range(150)]


def _writer(path: str, worker: int, start) -> None:
    start.wait()
    with StudyStore(path, timeout=60) as store:
        for c in range(CASES_PER_WRITER):
            case = f"w{worker}-c{c}"
            for session in ("R1-week0", "R1-week2"):
                store.add_segmentation(segmentation(case=case, session=session, mask_sha=f"{case}{session}"))
            for stored in store.segmentations():
                seg = stored.segmentation
                if seg.case_id == case:
                    rows = [(r, f, _value(case, seg.session, r, f)) for r in ("intratumoral", "ring") for f in FEATURES]
                    store.put_features(stored.segmentation_id, "default", PRESET, rows)


def _value(case: str, session: str, region: str, feature: str) -> float:
    # crc32, not hash(): str hashes differ between processes.
    return zlib.crc32(f"{case}|{session}|{region}|{feature}".encode()) / 7.0


def test_four_writer_processes_lose_and_corrupt_nothing(db):
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(4)
    # All four race to create the file and run its migrations, too.
    writers = [ctx.Process(target=_writer, args=(str(db), w, start)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
    assert [p.exitcode for p in writers] == [0, 0, 0, 0]
    with StudyStore(db) as store:
        assert store.integrity_ok()
        table = store.feature_values(PRESET)
        sessions = store.sessions()
        assert len(store.segmentations()) == 4 * CASES_PER_WRITER * 2
    assert len(table) == 4 * CASES_PER_WRITER * 2 * 2 * len(FEATURES)
    assert not table.duplicated(["case_id", "reader", "session", "region", "feature"]).any()
    assert sorted(sessions["session"]) == ["R1-week0", "R1-week2"]
    assert sessions["cases"].tolist() == [4 * CASES_PER_WRITER] * 2
    sample = table.sample(200, random_state=0)
    expected = [_value(r.case_id, r.session, r.region, r.feature) for r in sample.itertuples()]
    assert sample["value"].tolist() == pytest.approx(expected, rel=0, abs=0)
