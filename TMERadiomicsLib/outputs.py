"""Writing results so that a failure leaves nothing partial behind.

Every command that writes files goes through here:

- ``check_out_dir`` refuses an output folder that already holds files unless
  the user asked to overwrite, before any work starts;
- ``staged_dir`` gives a temporary sibling folder to write into and moves its
  files into place only when the block finishes without an exception, so an
  earlier result is never half-replaced;
- ``atomic_write_bytes`` / ``atomic_write_text`` write one file by rename.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


def check_out_dir(out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate an output folder before any work starts.

    It may be missing (it is created later), empty, or hold files when
    ``overwrite`` is true. Its parent must be writable.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise InputError("output path exists and is not a folder", file=path)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise InputError(
            "output folder exists and holds other files; use --overwrite to replace them",
            file=path,
        )
    parent = path if path.is_dir() else _existing_parent(path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("output folder is not writable", file=parent)
    return path


def _existing_parent(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")


@contextlib.contextmanager
def staged_dir(out_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; on success move its files into ``out_dir``.

    Files are moved one by one with ``os.replace`` (atomic per file on one
    file system). On an exception the stage is removed and ``out_dir`` keeps
    whatever it held before.
    """
    final = Path(out_dir)
    final_parent = final.absolute().parent
    final_parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final_parent))
    try:
        yield stage
        final.mkdir(parents=True, exist_ok=True)
        for item in sorted(stage.rglob("*")):
            target = final / item.relative_to(stage)
            if item.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
