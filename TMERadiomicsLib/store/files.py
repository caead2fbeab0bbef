"""Images and masks held in memory (a Slicer scene), stored beside the study database.

The database records file paths and SHA-256, and ``session extract`` refuses
a file whose bytes changed. A GUI has its volume and contour in memory, so
they are written to ``<db stem>-files/<case>/`` (the image, shared by the
case's sessions) and ``<db stem>-files/<case>/<reader>/<session>/`` (the
mask). Each file's name carries the start of its SHA-256: a file is never
overwritten with other content, so a refused save cannot invalidate what
the database already records, and saving the same contour again writes the
same name and bytes (``AddResult.UNCHANGED``).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path

import SimpleITK as sitk

from ..errors import InputError
from ..io.images import write_image
from .connection import DEFAULT_TIMEOUT_S
from .ingest import content_sha256, segmentation_from_files
from .records import Segmentation
from .study import AddResult, StudyStore

log = logging.getLogger(__name__)

FOLDER_SUFFIX = "-files"
SUFFIX = ".nrrd"
_NAME_HASH_CHARS = 16
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def files_folder(db: str | os.PathLike) -> Path:
    """Where the files saved into ``db`` go: ``<folder of db>/<db stem>-files``."""
    db = Path(db).absolute()
    return db.parent / f"{db.stem}{FOLDER_SUFFIX}"


def folder_name(text: str) -> str:
    """A case, reader or session label as one safe path component (no separators, no '..')."""
    name = _UNSAFE.sub("_", text.strip()).strip(".")
    return name or "_"


def add_segmentation_images(
    db: str | os.PathLike,
    case_id: str,
    reader: str,
    session: str,
    image: sitk.Image,
    mask: sitk.Image,
    *,
    replace: bool = False,
    peritumoral_mm: float = 5.0,
    ring_mm: float = 2.0,
    session_time: str | None = None,
    folder: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> tuple[Segmentation, AddResult]:
    """Write ``image`` and ``mask`` under ``folder`` (default ``files_folder(db)``) and add them to ``db``.

    The files are then checked exactly as ``session add`` checks files on
    disk. If that or the database refuses (another grid, a different contour
    without ``replace``, a newer schema, a lock), the files this call created
    are removed and the database is as it was.
    """
    db = Path(db)
    if db.is_dir():
        raise InputError("study database path is a folder; give a file name", file=db)
    if not db.absolute().parent.is_dir():
        raise InputError("folder of the study database does not exist", file=db.parent)
    root = Path(folder) if folder is not None else files_folder(db)
    case_dir = root / folder_name(case_id)
    created: list[Path] = []
    try:
        image_path = _write_named(image, case_dir, "image", created)
        mask_dir = case_dir / folder_name(reader) / folder_name(session)
        mask_path = _write_named(mask, mask_dir, "tumour", created)
        seg = segmentation_from_files(case_id, reader, session, image_path, mask_path,
                                      peritumoral_mm=peritumoral_mm, ring_mm=ring_mm)
        with StudyStore(db, timeout=timeout) as store:
            result = store.add_segmentation(seg, replace=replace, session_time=session_time)
    except BaseException:
        _remove(created)
        raise
    log.info("case %s, %s/%s: %s (%s)", case_id, reader, session, result.value, mask_path)
    return seg, result


def _write_named(image: sitk.Image, folder: Path, stem: str, created: list[Path]) -> Path:
    """Write ``image`` as ``<stem>-<sha256 start>.nrrd`` in ``folder``; returns the path.

    Paths this call creates (folders, then the file) are appended to ``created``.
    """
    _make_dirs(folder, created)
    # A fresh name, not mkstemp: the file SimpleITK creates gets the usual
    # permissions (mkstemp's 0600 would hide a shared study's files from colleagues).
    temporary = folder / f".{stem}-{uuid.uuid4().hex}{SUFFIX}"
    try:
        write_image(image, temporary)
        sha = content_sha256(temporary)
        target = folder / f"{stem}-{sha[:_NAME_HASH_CHARS]}{SUFFIX}"
        if target.is_file() and content_sha256(target) == sha:
            return target  # the same bytes are already there: the common re-save
        if not target.exists():
            created.append(target)
        # Missing, or edited by hand since: its name promises these bytes.
        os.replace(temporary, target)
        return target
    finally:
        temporary.unlink(missing_ok=True)


def _make_dirs(folder: Path, created: list[Path]) -> None:
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def _remove(created: list[Path]) -> None:
    """Undo a failed save: files first, then the folders it made (deepest first), if empty."""
    for path in reversed(created):
        try:
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not remove %s after a failed save: %s", path, error)
