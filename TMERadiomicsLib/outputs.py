"""Writing results so that a failure leaves nothing partial behind.

Every command that writes files goes through here:

- ``check_out_dir`` refuses an output folder that already holds files unless
  the user asked to overwrite, before any work starts;
- ``staged_dir`` gives a temporary sibling folder to write into and moves its
  files into place only when the block finishes without an exception, so an
  earlier result is never half-replaced;
- ``check_out_file`` does for a single output file what ``check_out_dir``
  does for a folder;
- ``atomic_write_bytes`` / ``atomic_write_text`` write one file by rename,
  ``atomic_write_texts`` a group of files that belong together;
- ``check_not_input``, called by all of them, refuses an output that is one of
  the running command's inputs (same path or same file; for a folder that
  is replaced as a whole, also a folder holding one): the CLI's guard declares every path the command line names
  (``command_inputs``), a command adds the paths it reads from a manifest.

Files and folders made here get the modes any other file would get under the
user's umask (``tempfile`` alone would leave them 0600 / 0700).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import InputError
from .interrupt import register_stage, unregister_stage

# The process umask, read once at import (reading it means setting it, which
# is not thread-safe, so not on every write).
_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


# The running command's inputs (absolute paths), declared by the CLI's guard.
_inputs: list[Path] = []


@contextlib.contextmanager
def command_inputs(paths: Iterable[str | os.PathLike], *, replace: bool = True) -> Iterator[None]:
    """Within the block, no output may be one of ``paths`` (or, replaced as a whole, a folder holding one).

    ``replace=False`` adds to the inputs already declared (a batch adds the
    files its manifest names to those of the command line).
    """
    saved = list(_inputs)
    if replace:
        _inputs[:] = []
    _inputs.extend(Path(p).absolute() for p in paths if os.path.lexists(p))
    try:
        yield
    finally:
        _inputs[:] = saved


def check_not_input(out: str | os.PathLike, *, replaced_folder: bool = False) -> None:
    """Refuse an output that is one of the command's inputs, or, for a
    ``replaced_folder`` (one swapped as a whole, as ``batch --overwrite``
    does), one that holds an input: replacing it would destroy the input.

    Compared by resolved path (symbolic links, ``..``) and by file identity
    (hard links, bind mounts). Nothing is touched before this check.
    """
    target = Path(out).absolute()
    resolved = target.resolve()
    for given in _inputs:
        real = given.resolve()
        if real == resolved or _same_file(given, target):
            raise InputError(f"output is one of the command's inputs ({given}); choose another output path",
                             file=out)
        if replaced_folder and real.is_relative_to(resolved):
            raise InputError(f"output folder holds the command's input {given}; choose another output folder",
                             file=out)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_out_dir(out_dir: str | os.PathLike, overwrite: bool = False, *, replaced: bool = False) -> Path:
    """Validate an output folder before any work starts.

    It may be missing (it is created later), empty, or hold files when
    ``overwrite`` is true. Its parent must be writable. It may not be one of
    the command's inputs, overwrite or not, nor hold one if it is
    ``replaced`` as a whole (``staged_dir`` refuses, before moving anything,
    a file of the stage that would replace an input).
    """
    path = Path(out_dir)
    check_not_input(path, replaced_folder=replaced)
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
    check_not_input(target)
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
    whatever it held before. A write that failed for a reason of the user's
    machine (full disk, read-only mount, quota, I/O error) comes out as an
    ``OSError`` naming the path under ``out_dir``, whatever the writer raised.
    """
    final = Path(out_dir)
    check_not_input(final)
    final_parent = final.absolute().parent
    try:
        final_parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final_parent))
    except OSError as error:
        raise InputError(f"cannot create the output folder: {error.strerror or error}", file=final) from None
    register_stage(stage)  # removed even if a signal finds the process stuck
    try:
        os.chmod(stage, DIR_MODE)
        yield stage
        _move_into(stage, final)
    except OSError as error:
        raise named_os_error(error, final, stage) from None
    except InputError:
        raise
    except Exception:
        # SimpleITK reports a full disk as RuntimeError("Error writing ..."): learn the real cause.
        _raise_if_unwritable(stage, final)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        unregister_stage(stage)


def _move_into(stage: Path, final: Path) -> None:
    items = sorted(stage.rglob("*"))
    for item in items:  # all checked before the first move: nothing touched on a refusal
        check_not_input(final / item.relative_to(stage))
    final.mkdir(parents=True, exist_ok=True)
    for item in items:
        target = final / item.relative_to(stage)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(item, target)


# Bytes written to learn why a writer that does not report errno failed; about one
# write chunk of the image writers, so a full disk cannot take it.
PROBE_BYTES = 1 << 20


def _raise_if_unwritable(stage: Path, final: Path) -> None:
    """Raise the ``OSError`` a real write into ``stage`` gets now, if any."""
    probe = stage / ".probe"
    try:
        with open(probe, "wb") as handle:
            handle.write(bytes(PROBE_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(final)) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def named_os_error(error: OSError, final: Path, stage: Path | None = None) -> OSError:
    """The same error naming the user's path: ``final`` for a write through a
    handle (no file name), the path under ``final`` for one inside the stage."""
    def user_path(name: object) -> object:
        if name is None or stage is None:
            return name
        text = os.fspath(name) if isinstance(name, (str, os.PathLike)) else name
        return text.replace(str(stage), str(final)) if isinstance(text, str) else text

    if error.filename is None:
        return OSError(error.errno, error.strerror, str(final))
    return OSError(error.errno, error.strerror, user_path(error.filename), None, user_path(error.filename2))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    target = Path(path)
    check_not_input(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise named_os_error(error, target) from None
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise named_os_error(error, target) from None
        raise
    return target


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_texts(texts: dict[str | os.PathLike, str]) -> list[Path]:
    """Write several files that belong together (a table and its companions): all or none.

    Every file is first written in full beside its target; only then are
    they renamed into place, so a full disk on the third file leaves neither
    the first two nor a changed earlier result behind.
    """
    for path in texts:
        check_not_input(path)
    written: list[tuple[str, Path]] = []
    target = Path()
    try:
        for path, text in texts.items():
            target = Path(path)
            temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
            atomic_write_bytes(temp, text.encode("utf-8"))
            written.append((str(temp), target))
        for temp, target in written:
            os.replace(temp, target)
    except BaseException as error:
        for temp, _ in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        if isinstance(error, OSError):  # name the file the user asked for, not its temporary
            raise OSError(error.errno, error.strerror, str(target)) from None
        raise
    return [target for _, target in written]
