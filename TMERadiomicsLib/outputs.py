"""Writing results so that a failure leaves nothing partial behind.

Every command that writes files goes through here:

- ``check_out_dir`` refuses an output folder that already holds files unless
  the user asked to overwrite, before any work starts;
- ``staged_dir`` gives a temporary sibling folder to write into and moves its
  files into place only when the block finishes without an exception, so an
  earlier result is never half-replaced;
- ``check_out_file`` does for a single output file what ``check_out_dir``
  does for a folder;
- ``atomic_write_bytes`` / ``atomic_write_text`` write one file by rename.

Files and folders made here get the modes any other file would get under the
user's umask (``tempfile`` alone would leave them 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

# The process umask, read once at import (reading it means setting it, which
# is not thread-safe, so not on every write).
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


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
    check_writable(path if path.is_dir() else _existing_parent(path))
    return path


def check_out_file(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Validate an output file before any work starts: not a folder, not an
    existing file unless ``overwrite``, in a folder that can be written."""
    target = Path(path)
    if target.is_dir():
        raise InputError("output path is a folder", file=target)
    if target.exists() and not overwrite:
        raise InputError("output file exists; use --overwrite to replace it", file=target)
    check_writable(target.parent if target.parent.is_dir() else _existing_parent(target))
    return target


def check_writable(folder: Path) -> None:
    """Refuse a folder where files cannot be created.

    Tried for real (a temporary folder made and removed): permission bits do
    not tell for root, read-only mounts or ``/proc``.
    """
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".tmeradiomics-probe-", dir=folder))
    except OSError as error:
        raise InputError(f"output folder cannot be written: {error.strerror or error}", file=folder) from None


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
    try:
        final_parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final_parent))
    except OSError as error:
        raise InputError(f"cannot create the output folder: {error.strerror or error}", file=final) from None
    os.chmod(stage, DIR_MODE)
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
        os.fchmod(fd, FILE_MODE)
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
