"""Operating-system errors the user can fix, as one line naming the path.

A full disk, a read-only mount, a folder without permission, a failing
device: the command's result is lost but the cause is the user's machine,
not this program. The CLI's guard prints ``os_error_line`` and exits 2;
``outputs.py`` makes sure the error names the path being written (a write
through an open handle raises ``OSError`` without a file name) and that
nothing partial is left.
"""

from __future__ import annotations

import contextlib
import errno
import sys
from collections.abc import Iterator

# The errors a user's path or machine causes. Others (EBADF, EINVAL, ...) are
# this program's fault and stay "internal error".
USER_ERRNOS = frozenset({
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG,  # disk or quota full, file-size limit (ulimit -f)
    errno.EACCES, errno.EPERM, errno.EROFS,  # permissions, read-only file system
    errno.EIO, errno.ENXIO, errno.ENODEV,  # failing device or vanished mount
    errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY,
    errno.ENAMETOOLONG, errno.ELOOP, errno.ETXTBSY, errno.EMFILE, errno.ENFILE,
    errno.ESTALE,  # NFS
})

STDOUT = "standard output"


class StdoutError(OSError):
    """Printing the command's result failed (stdout on a full disk, ``/dev/full``, a failing device)."""


@contextlib.contextmanager
def stdout_errors_named() -> Iterator[None]:
    """Within the block, a failing write to ``sys.stdout`` raises ``StdoutError``.

    A write through a stream's handle raises ``OSError`` without a file name;
    without this the guard could not tell "stdout is full" from "an output
    file is". A closed descriptor 1 (``cmd >&-``) is refused before any work:
    Python sets ``sys.stdout`` to None and every printed result would vanish,
    and the first file the command opened would get descriptor 1, where
    anything a C library prints would land.
    """
    if sys.stdout is None:
        from .errors import InputError

        raise InputError(f"{STDOUT} is closed; the command's result could not be printed "
                         "(send it to /dev/null to discard it)")
    original = sys.stdout
    sys.stdout = _NamedErrors(original)
    try:
        yield
    finally:
        if isinstance(sys.stdout, _NamedErrors):
            sys.stdout = original


class _NamedErrors:
    """``sys.stdout`` whose write errors say they are stdout's; everything else passes through."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        with _as_stdout_error():
            return self._stream.write(text)

    def flush(self) -> None:
        with _as_stdout_error():
            self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def _as_stdout_error() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        raise  # the reader left (``| head``): a normal end, see the guard
    except StdoutError:
        raise
    except OSError as error:
        raise StdoutError(error.errno, error.strerror) from None


def os_error_line(error: OSError) -> str | None:
    """``file F: reason`` for an error the user can fix, ``standard output: reason``
    when printing the result failed, else None (a fault of this program)."""
    if error.errno not in USER_ERRNOS:
        return None
    reason = error.strerror or str(error)
    if isinstance(error, StdoutError):
        return f"{STDOUT}: {reason}"
    if error.filename is None:
        return None  # no path to name: outputs.py names its paths, so this is not one of them
    target = f"file {error.filename}"
    if error.filename2 is not None:
        target += f" -> {error.filename2}"
    return f"{target}: {reason}"
