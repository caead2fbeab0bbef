"""The study database's schema and its migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. ``MIGRATIONS``
lists, in order, the SQL that takes a file from version ``i`` to ``i + 1``;
the current version is ``len(MIGRATIONS)``. A migration is only ever
appended, never edited, so that every file ever written can be brought up to
date. A file whose version is newer than this code knows is refused rather
than guessed at.
"""

from __future__ import annotations

_V1 = """
CREATE TABLE cases (
    case_id       TEXT PRIMARY KEY,
    geometry      TEXT NOT NULL,       -- JSON: size, spacing, origin, direction
    added_at      TEXT NOT NULL
);
CREATE TABLE readers (
    reader_id     INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE
);
CREATE TABLE sessions (
    session_id    INTEGER PRIMARY KEY,
    reader_id     INTEGER NOT NULL REFERENCES readers(reader_id),
    label         TEXT NOT NULL,       -- e.g. R1-week0
    created_at    TEXT NOT NULL,       -- ISO 8601, UTC
    UNIQUE (reader_id, label)
);
CREATE TABLE segmentations (
    segmentation_id INTEGER PRIMARY KEY,
    case_id       TEXT NOT NULL REFERENCES cases(case_id),
    session_id    INTEGER NOT NULL REFERENCES sessions(session_id),
    image_path    TEXT NOT NULL,
    image_sha256  TEXT NOT NULL,
    mask_path     TEXT NOT NULL,
    mask_sha256   TEXT NOT NULL,
    mask_label    INTEGER,
    peritumoral_mm REAL NOT NULL,
    ring_mm       REAL NOT NULL,
    added_at      TEXT NOT NULL,
    UNIQUE (case_id, session_id)
);
CREATE TABLE region_summaries (
    segmentation_id INTEGER NOT NULL
        REFERENCES segmentations(segmentation_id) ON DELETE CASCADE,
    region        TEXT NOT NULL,
    voxels        INTEGER NOT NULL,
    volume_mm3    REAL NOT NULL,
    warnings      TEXT NOT NULL,       -- JSON list of strings
    PRIMARY KEY (segmentation_id, region)
);
CREATE TABLE extractions (
    segmentation_id INTEGER NOT NULL
        REFERENCES segmentations(segmentation_id) ON DELETE CASCADE,
    preset_sha256 TEXT NOT NULL,
    preset_name   TEXT NOT NULL,
    extracted_at  TEXT NOT NULL,
    PRIMARY KEY (segmentation_id, preset_sha256)
);
CREATE TABLE features (
    segmentation_id INTEGER NOT NULL,
    preset_sha256 TEXT NOT NULL,
    region        TEXT NOT NULL,
    feature       TEXT NOT NULL,
    value         REAL,
    PRIMARY KEY (segmentation_id, preset_sha256, region, feature),
    FOREIGN KEY (segmentation_id, preset_sha256)
        REFERENCES extractions(segmentation_id, preset_sha256) ON DELETE CASCADE
);
CREATE VIEW feature_values AS
    SELECT g.case_id, r.name AS reader, s.label AS session, s.created_at,
           f.region, f.preset_sha256, f.feature, f.value
    FROM features f
    JOIN segmentations g USING (segmentation_id)
    JOIN sessions s ON s.session_id = g.session_id
    JOIN readers r ON r.reader_id = s.reader_id;
"""

# Version 2: the ICC queries select one preset's features across every
# segmentation; without this index that is a full scan of the largest table.
_V2 = """
CREATE INDEX features_by_preset ON features (preset_sha256, region, feature);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)
