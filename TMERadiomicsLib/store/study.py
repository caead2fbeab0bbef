"""``StudyStore``: the study database's reads and writes.

Every public write is one transaction (see ``connection``): it either
happens completely or leaves the file as it was. Checks that can refuse a
write (a changed image geometry, a different contour under the same session)
run inside that transaction, so a refusal changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import pandas as pd

from ..errors import InputError
from . import connection
from .records import Geometry, RegionRecord, Segmentation, StoredSegmentation

log = logging.getLogger(__name__)


class AddResult(str, Enum):
    ADDED = "added"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def session_time(text: str) -> str:
    """An ISO 8601 date or time, normalised to UTC (a naive time is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError("session time must be an ISO 8601 date or time, e.g. 2026-01-15", value=text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class StudyStore:
    """A study database file. Use as a context manager, or call ``close``."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        create: bool = True,
        timeout: float = connection.DEFAULT_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self._conn = connection.connect(self.path, create=create, timeout=timeout)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "StudyStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, work):
        return connection.write(self._conn, self.path, self.timeout, work)

    def _read(self, work):
        return connection.read(self._conn, self.path, self.timeout, work)

    # -- writes ---------------------------------------------------------

    def add_segmentation(
        self, seg: Segmentation, *, replace: bool = False, session_time: str | None = None
    ) -> AddResult:
        """Store one session's contour of a case.

        The same content again is a no-op (``UNCHANGED``); different content
        under the same case, reader and session is refused unless
        ``replace``, which drops the old contour's summaries and features.
        ``session_time`` (ISO 8601) dates a new session, when it was read
        rather than when it is stored; by default, now.
        """
        return self._write(lambda conn: _add(conn, seg, replace, session_time))

    def put_features(
        self,
        segmentation_id: int,
        preset_name: str,
        preset_sha256: str,
        rows: Iterable[tuple[str, str, float]],
    ) -> bool:
        """Store one extraction's (region, feature, value) rows.

        Returns False, writing nothing, when this preset's features are already
        there or the segmentation was replaced meanwhile by another process.
        """
        rows = list(rows)
        return self._write(
            lambda conn: _put_features(conn, segmentation_id, preset_name, preset_sha256, rows)
        )

    # -- reads ----------------------------------------------------------

    def segmentations(self) -> list[StoredSegmentation]:
        return self._read(_segmentations)

    def missing_extractions(self, preset_sha256: str) -> list[StoredSegmentation]:
        """Segmentations that have no features for this preset yet."""
        done = set(
            self._read(
                lambda conn: [
                    row[0]
                    for row in conn.execute(
                        "SELECT segmentation_id FROM extractions WHERE preset_sha256 = ?",
                        (preset_sha256,),
                    )
                ]
            )
        )
        return [s for s in self.segmentations() if s.segmentation_id not in done]

    def feature_values(self, preset_sha256: str | None = None) -> pd.DataFrame:
        """Tidy features: case_id, reader, session, created_at, region, preset_sha256, feature, value."""
        query = "SELECT * FROM feature_values"
        params: tuple = ()
        if preset_sha256 is not None:
            query += " WHERE preset_sha256 = ?"
            params = (preset_sha256,)
        query += " ORDER BY case_id, reader, created_at, session, region, feature"
        return self._read(lambda conn: pd.read_sql_query(query, conn, params=params))

    def ratings(self) -> pd.DataFrame:
        """Who contoured what: case_id, reader, session, created_at of every stored contour.

        The ICC design without any feature, so a study that cannot give an
        ICC is refused before minutes of extraction change the database.
        """
        query = (
            "SELECT g.case_id, r.name AS reader, s.label AS session, s.created_at FROM segmentations g "
            "JOIN sessions s ON s.session_id = g.session_id JOIN readers r ON r.reader_id = s.reader_id "
            "ORDER BY g.case_id, r.name, s.created_at, s.label"
        )
        return self._read(lambda conn: pd.read_sql_query(query, conn))

    def preset_features(self, preset: str | None = None) -> tuple[pd.DataFrame, dict]:
        """The tidy features of one preset and its row of ``presets()`` (preset_name, preset_sha256, ...).

        ``preset`` (a name or YAML file) picks it; without one the database
        must hold exactly one preset. Shared by ``tmeradiomics icc`` and Slicer.
        """
        presets = self.presets()
        if presets.empty:
            raise InputError("study database holds no features; extract them first "
                             "('tmeradiomics session extract')", file=self.path)
        if preset:
            # Imported here: loading a preset needs PyRadiomics, reading the store does not.
            from ..features.presets import load_preset

            sha = load_preset(preset).sha256
            match = presets[presets["preset_sha256"] == sha]
            if match.empty:
                raise InputError(f"no features of preset {preset} (sha256 {sha[:12]}) in the study database",
                                 file=self.path)
            chosen = match.iloc[0].to_dict()
        elif len(presets) > 1:
            listed = ", ".join(f"{r.preset_name} ({r.preset_sha256[:12]})" for r in presets.itertuples())
            raise InputError(f"study database holds several presets ({listed}); choose one with --preset",
                             file=self.path)
        else:
            chosen = presets.iloc[0].to_dict()
        return self.feature_values(chosen["preset_sha256"]), chosen

    def presets(self) -> pd.DataFrame:
        """Presets with stored features: preset_name, preset_sha256, segmentations."""
        query = (
            "SELECT preset_name, preset_sha256, count(*) AS segmentations FROM extractions "
            "GROUP BY preset_sha256, preset_name ORDER BY preset_name"
        )
        return self._read(lambda conn: pd.read_sql_query(query, conn))

    def sessions(self) -> pd.DataFrame:
        """reader, session, created_at and the number of cases contoured in it."""
        query = (
            "SELECT r.name AS reader, s.label AS session, s.created_at, "
            "count(g.segmentation_id) AS cases FROM sessions s "
            "JOIN readers r USING (reader_id) "
            "LEFT JOIN segmentations g ON g.session_id = s.session_id "
            "GROUP BY s.session_id ORDER BY r.name, s.created_at, s.label"
        )
        return self._read(lambda conn: pd.read_sql_query(query, conn))

    def region_summaries(self) -> pd.DataFrame:
        query = (
            "SELECT g.case_id, r.name AS reader, s.label AS session, m.region, m.voxels, "
            "m.volume_mm3, m.warnings FROM region_summaries m "
            "JOIN segmentations g USING (segmentation_id) "
            "JOIN sessions s ON s.session_id = g.session_id "
            "JOIN readers r ON r.reader_id = s.reader_id "
            "ORDER BY g.case_id, r.name, s.label, m.region"
        )
        return self._read(lambda conn: pd.read_sql_query(query, conn))

    def integrity_ok(self) -> bool:
        result = self._read(lambda conn: conn.execute("PRAGMA integrity_check").fetchall())
        return result == [("ok",)]


# -- transaction bodies (run inside BEGIN IMMEDIATE) ----------------------


def _add(conn: sqlite3.Connection, seg: Segmentation, replace: bool, session_time: str | None) -> AddResult:
    reader_id = _reader_id(conn, seg.reader)
    session_id = _session_id(conn, reader_id, seg, session_time)
    existing = _existing(conn, seg.case_id, session_id)
    _check_geometry(conn, seg, existing.segmentation_id if existing and replace else None)
    if existing is not None:
        if existing.segmentation.same_content(seg):
            log.info("case %s, %s/%s: already stored, unchanged", seg.case_id, seg.reader, seg.session)
            return AddResult.UNCHANGED
        if not replace:
            raise InputError(
                f"reader {seg.reader}, session {seg.session} already holds a different "
                "segmentation of this case; use --replace to replace it",
                case=seg.case_id,
                file=seg.mask_path,
            )
        conn.execute("DELETE FROM segmentations WHERE segmentation_id = ?", (existing.segmentation_id,))
    _insert_segmentation(conn, seg, session_id, utc_now())
    return AddResult.REPLACED if existing is not None else AddResult.ADDED


def _reader_id(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT reader_id FROM readers WHERE name = ?", (name,)).fetchone()
    if row:
        return row[0]
    return conn.execute("INSERT INTO readers (name) VALUES (?)", (name,)).lastrowid


def _session_id(conn: sqlite3.Connection, reader_id: int, seg: Segmentation, session_time: str | None) -> int:
    row = conn.execute(
        "SELECT session_id, created_at FROM sessions WHERE reader_id = ? AND label = ?", (reader_id, seg.session)
    ).fetchone()
    if row is None:
        cursor = conn.execute(
            "INSERT INTO sessions (reader_id, label, created_at) VALUES (?, ?, ?)",
            (reader_id, seg.session, session_time or utc_now()),
        )
        return cursor.lastrowid
    if session_time is not None and session_time != row[1]:
        raise InputError(
            f"session {seg.session} of reader {seg.reader} already exists, dated {row[1]}",
            case=seg.case_id,
            value=session_time,
        )
    return row[0]


def _check_geometry(conn: sqlite3.Connection, seg: Segmentation, replacing: int | None) -> None:
    row = conn.execute("SELECT geometry FROM cases WHERE case_id = ?", (seg.case_id,)).fetchone()
    others = conn.execute(
        "SELECT count(*) FROM segmentations WHERE case_id = ? AND segmentation_id IS NOT ?",
        (seg.case_id, replacing),
    ).fetchone()[0]
    if row is None or others == 0:
        # First contour of the case, or the only one is being replaced: this
        # image now defines the case's grid.
        conn.execute(
            "INSERT INTO cases (case_id, geometry, added_at) VALUES (?, ?, ?) "
            "ON CONFLICT (case_id) DO UPDATE SET geometry = excluded.geometry",
            (seg.case_id, seg.geometry.to_json(), utc_now()),
        )
        return
    differences = Geometry.from_json(row[0]).differences(seg.geometry)
    if differences:
        raise InputError(
            "image geometry differs from the case's earlier sessions: " + "; ".join(differences),
            case=seg.case_id,
            file=seg.image_path,
        )


def _existing(conn: sqlite3.Connection, case_id: str, session_id: int) -> StoredSegmentation | None:
    rows = _segmentation_rows(conn, "WHERE g.case_id = ? AND g.session_id = ?", (case_id, session_id))
    return rows[0] if rows else None


def _insert_segmentation(conn: sqlite3.Connection, seg: Segmentation, session_id: int, when: str) -> None:
    cursor = conn.execute(
        "INSERT INTO segmentations (case_id, session_id, image_path, image_sha256, mask_path, "
        "mask_sha256, mask_label, peritumoral_mm, ring_mm, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seg.case_id, session_id, seg.image_path, seg.image_sha256, seg.mask_path,
            seg.mask_sha256, seg.mask_label, seg.peritumoral_mm, seg.ring_mm, when,
        ),
    )
    conn.executemany(
        "INSERT INTO region_summaries (segmentation_id, region, voxels, volume_mm3, warnings) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (cursor.lastrowid, r.region, int(r.voxels), float(r.volume_mm3), json.dumps(list(r.warnings)))
            for r in seg.regions
        ],
    )


def _put_features(
    conn: sqlite3.Connection,
    segmentation_id: int,
    preset_name: str,
    preset_sha256: str,
    rows: list[tuple[str, str, float]],
) -> bool:
    present = conn.execute(
        "SELECT 1 FROM segmentations WHERE segmentation_id = ?", (segmentation_id,)
    ).fetchone()
    done = conn.execute(
        "SELECT 1 FROM extractions WHERE segmentation_id = ? AND preset_sha256 = ?",
        (segmentation_id, preset_sha256),
    ).fetchone()
    if not present or done:
        return False
    conn.execute(
        "INSERT INTO extractions (segmentation_id, preset_sha256, preset_name, extracted_at) "
        "VALUES (?, ?, ?, ?)",
        (segmentation_id, preset_sha256, preset_name, utc_now()),
    )
    conn.executemany(
        "INSERT INTO features (segmentation_id, preset_sha256, region, feature, value) "
        "VALUES (?, ?, ?, ?, ?)",
        [(segmentation_id, preset_sha256, region, feature, float(value)) for region, feature, value in rows],
    )
    return True


def _segmentations(conn: sqlite3.Connection) -> list[StoredSegmentation]:
    return _segmentation_rows(conn, "", ())


def _segmentation_rows(conn: sqlite3.Connection, where: str, params: tuple) -> list[StoredSegmentation]:
    rows = conn.execute(
        "SELECT g.segmentation_id, g.case_id, r.name, s.label, g.image_path, g.image_sha256, "
        "g.mask_path, g.mask_sha256, c.geometry, g.mask_label, g.peritumoral_mm, g.ring_mm "
        "FROM segmentations g JOIN sessions s ON s.session_id = g.session_id "
        "JOIN readers r ON r.reader_id = s.reader_id JOIN cases c ON c.case_id = g.case_id "
        f"{where} ORDER BY g.case_id, r.name, s.created_at, s.label",
        params,
    ).fetchall()
    stored = []
    for row in rows:
        seg = Segmentation(
            case_id=row[1], reader=row[2], session=row[3], image_path=row[4], image_sha256=row[5],
            mask_path=row[6], mask_sha256=row[7], geometry=Geometry.from_json(row[8]),
            mask_label=row[9], peritumoral_mm=row[10], ring_mm=row[11],
            regions=_regions(conn, row[0]),
        )
        stored.append(StoredSegmentation(row[0], seg))
    return stored


def _regions(conn: sqlite3.Connection, segmentation_id: int) -> tuple[RegionRecord, ...]:
    rows = conn.execute(
        "SELECT region, voxels, volume_mm3, warnings FROM region_summaries "
        "WHERE segmentation_id = ? ORDER BY region",
        (segmentation_id,),
    ).fetchall()
    return tuple(RegionRecord(r[0], r[1], r[2], tuple(json.loads(r[3]))) for r in rows)
