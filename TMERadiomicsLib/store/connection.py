"""Opening the study database and running transactions on it safely.

Concurrency model: the file is in WAL mode, so readers never block the
single writer. Every write runs in ``BEGIN IMMEDIATE``, which takes the write
lock up front; a transaction therefore never has to upgrade a read lock
midway, the one situation where SQLite gives up without waiting. While
another process holds the lock, SQLite's busy handler waits; some lock states
(WAL recovery, checkpoints) still answer "busy" at once, so the whole
transaction is retried with back-off until a bounded deadline, after which
the user gets an ``InputError`` naming the file. A failed transaction is
rolled back: the file is exactly as before.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from ..errors import InputError
from .schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0
_FIRST_BACKOFF_S = 0.02
_MAX_BACKOFF_S = 0.5


def connect(path: str | os.PathLike, *, create: bool, timeout: float) -> sqlite3.Connection:
    """Open ``path`` (creating it only when ``create``), WAL mode, schema current."""
    path = Path(path)
    if path.exists() and not path.is_file():
        # /dev/null "opens" and then fails deep inside SQLite with "disk I/O error"; a folder fails
        # with "unable to open": name the cause instead.
        kind = "a folder" if path.is_dir() else "a device or special file"
        raise InputError(f"study database path is {kind}, not a database file", file=path)
    if not create and not path.is_file():
        raise InputError("study database not found", file=path)
    if create and not path.absolute().parent.is_dir():
        raise InputError("folder of the study database does not exist", file=path.parent)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    except sqlite3.Error as error:
        raise InputError(f"cannot open study database: {error}", file=path) from error
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        # Refuse foreign or newer files before WAL mode rewrites their header.
        _with_retry(conn, path, timeout, lambda: _check_ours(conn, path))
        _with_retry(conn, path, timeout, lambda: _enable_wal(conn, path))
        _with_retry(conn, path, timeout, lambda: _migrate(conn, path))
    except BaseException:
        conn.close()
        raise
    return conn


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    # One read transaction, so the version and the table list come from the
    # same snapshot. Read separately, a process racing to create the file can
    # see version 0 and then the tables another creator has just committed,
    # and refuse a sound database as foreign.
    conn.execute("BEGIN")
    try:
        try:
            version = schema_version(conn)
        except sqlite3.DatabaseError as error:
            if _is_busy(error):
                raise
            raise InputError(f"not a study database: {error}", file=path) from error
        _refuse_newer(version, path)
        if version == 0:
            _refuse_foreign_tables(conn, path)
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _enable_wal(conn: sqlite3.Connection, path: Path) -> None:
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise InputError(f"cannot switch the study database to WAL mode (got {mode})", file=path)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection, path: Path, target: int = SCHEMA_VERSION) -> None:
    if schema_version(conn) == target:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated.
        current = schema_version(conn)
        _refuse_newer(current, path)
        if current == 0:
            _refuse_foreign_tables(conn, path)
        for version in range(current, target):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            log.info("study database %s migrated to schema version %d", path, version + 1)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def migrate_to(conn: sqlite3.Connection, path: str | os.PathLike, target: int) -> None:
    """Bring an open database to schema ``target`` (tests build old files with it)."""
    _with_retry(conn, Path(path), DEFAULT_TIMEOUT_S, lambda: _migrate(conn, Path(path), target))


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise InputError(
            f"study database has schema version {version}, newer than the {SCHEMA_VERSION} "
            "this TMERadiomics understands; upgrade TMERadiomics to open it",
            file=path,
        )


def _refuse_foreign_tables(conn: sqlite3.Connection, path: Path) -> None:
    # A version-0 file with tables was written by something else: never
    # add our schema on top of somebody's data.
    count = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if count:
        raise InputError("SQLite file holds tables but is not a TMERadiomics study database", file=path)


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending!r}")


def write(
    conn: sqlite3.Connection, path: Path, timeout: float, work: Callable[[sqlite3.Connection], T]
) -> T:
    """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, retried while locked."""
    return _with_retry(conn, path, timeout, lambda: _transaction(conn, work))


def read(
    conn: sqlite3.Connection, path: Path, timeout: float, work: Callable[[sqlite3.Connection], T]
) -> T:
    """Run ``work`` in one read transaction (a consistent snapshot), retried while locked."""
    def snapshot() -> T:
        conn.execute("BEGIN DEFERRED")
        try:
            return work(conn)
        finally:
            conn.execute("ROLLBACK")

    return _with_retry(conn, path, timeout, snapshot)


def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _with_retry(conn: sqlite3.Connection, path: Path, timeout: float, attempt: Callable[[], T]) -> T:
    deadline = time.monotonic() + timeout
    backoff = _FIRST_BACKOFF_S
    while True:
        remaining = deadline - time.monotonic()
        # SQLite's own busy handler waits at most what is left of our budget.
        conn.execute(f"PRAGMA busy_timeout = {max(0, int(remaining * 1000))}")
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            if time.monotonic() + backoff > deadline:
                raise InputError(
                    f"study database is locked by another process; gave up after {timeout:g} s "
                    "(nothing was changed)",
                    file=path,
                ) from error
            log.debug("study database %s busy, retrying in %.2f s", path, backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)


def _is_busy(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text

