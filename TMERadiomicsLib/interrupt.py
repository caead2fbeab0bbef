"""Stopping a long command cleanly on Ctrl-C or SIGTERM.

The contract every long command follows:

- Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` in the main thread, and
  ``sigterm_as_interrupt`` makes SIGTERM do the same, so one code path cleans
  up after both.
- Code that owns workers or staging folders catches ``KeyboardInterrupt``,
  cancels pending work, ends its workers, removes its staging folders, and
  raises ``Interrupted`` whose message says what was kept and how to resume.
- The CLI's top-level guard prints that message as one line and exits with
  ``EXIT_INTERRUPTED`` (130, the shell's code for a SIGINT stop). A bare
  ``KeyboardInterrupt`` that reaches the guard is reported the same way.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

EXIT_INTERRUPTED = 130


class Interrupted(Exception):
    """A long command was stopped by the user; the message says what was kept."""


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C.

    Only the main thread may install signal handlers; elsewhere (a library
    caller's worker thread) the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
