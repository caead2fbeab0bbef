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
- A shell sends Ctrl-C to every process of the foreground job, workers
  included. Workers started inside ``children_ignore_sigint`` ignore it, so
  only their owner reacts: it ends them, and no worker prints a traceback of
  its own or goes on to the next queued case.
- The cleanup itself runs ``shielded``: a second, impatient Ctrl-C cannot cut
  it short and leave a staging folder behind.
- The CLI holds these handlers from the first line of ``main`` (argument
  parsing imports library modules, which takes seconds), and a process run
  as the command (``python -m TMERadiomicsLib``) installs ``exit_on_signal``
  before that and again after ``main``: a signal during the interpreter's
  imports or its exit is one line and exit 130 at once, never a traceback or
  the shell's 143 (nothing is being written then).
- ``stuck_watchdog``: a signal whose Python handler cannot run within
  ``STUCK_AFTER_S`` (the main thread blocked in C code: a read of a FIFO or a
  hung mount inside SQLite or a C reader) still ends the process, removing
  the staging folders registered with ``register_stage``.
- ``skip_collection_at_exit``: the interpreter's last garbage collection at
  exit, over the whole scientific stack, was most of the time from Ctrl-C to
  the shell prompt; the CLI skips it.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator

EXIT_INTERRUPTED = 130
# Seconds a signal may wait for its Python handler before the watchdog ends the process.
STUCK_AFTER_S = 1.5
_collection_skipped = False
_handled = [0]  # how many times a Python-level handler of ours has run (the watchdog compares)
_stages: set[str] = set()  # staging folders to remove if the watchdog has to end the process


class Interrupted(Exception):
    """A long command was stopped by the user; the message says what was kept."""


def skip_collection_at_exit() -> None:
    """At interpreter exit, freeze the heap so that shutdown skips its full garbage collection.

    With SimpleITK, pandas, scikit-learn and PyRadiomics loaded, that one
    collection took 2.0-2.6 s on a loaded 2-core machine, 0.25 s frozen.
    Module teardown still frees every object by reference count and atexit
    handlers still run; only unreachable cycles are left to the OS, whose
    finalisers Python never promises at exit anyway.
    """
    global _collection_skipped
    if not _collection_skipped:
        atexit.register(gc.freeze)
        _collection_skipped = True


def _raise_interrupt(signum: int, frame: object) -> None:
    _handled[0] += 1
    # Ctrl-C keeps the bare KeyboardInterrupt that Python's own handler raises.
    raise KeyboardInterrupt() if signum == signal.SIGINT else KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM raise ``KeyboardInterrupt``.

    Unlike Python's default (Ctrl-C only; SIGTERM kills the process with
    143), both reach the same ``except KeyboardInterrupt`` cleanup. Outside
    the main thread the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _raise_interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:
                signal.signal(number, handler)


def exit_on_signal(prefix: str = "tmeradiomics", note: str = "nothing was written; run the command again") -> None:
    """From now on Ctrl-C and SIGTERM end the process at once: one line, exit 130.

    For the moments no command code runs (the interpreter importing the CLI,
    or exiting after it): there is nothing to clean up, and a Python
    exception there would be a traceback (or, for SIGTERM, the shell's 143).
    """
    line = f"{prefix}: interrupted: {note}\n".encode()

    def end(signum: int, frame: object) -> None:
        _handled[0] += 1
        _end_process(line)

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, end)


def _end_process(line: bytes) -> None:
    with contextlib.suppress(OSError):
        os.write(2, line)
    os._exit(EXIT_INTERRUPTED)


def signals_handled() -> int:
    """How many Ctrl-C / SIGTERM this process's handlers have seen (compare two readings)."""
    return _handled[0]


def forget_caught_interrupt() -> None:
    """Undo CPython's note that a Ctrl-C went unhandled, once the CLI has handled it.

    A ``KeyboardInterrupt`` raised inside ``exec``/``eval`` of a string (as
    ``dataclasses`` and ``typing`` do while modules import) sets a
    process-wide flag that only the next ``exec`` of a string clears; with it
    set, ``python -m`` ends by killing itself with SIGINT (exit -2) whatever
    exit code ``main`` returned, even though the interrupt was caught and
    reported. One trivial ``exec`` of a string clears it.
    """
    exec("pass")  # noqa: S102 - a constant string; see the docstring


def register_stage(path: str | os.PathLike) -> None:
    """A staging folder the watchdog removes if it must end a stuck process."""
    _stages.add(os.fspath(path))


def unregister_stage(path: str | os.PathLike) -> None:
    _stages.discard(os.fspath(path))


@contextlib.contextmanager
def stuck_watchdog(prefix: str = "tmeradiomics") -> Iterator[None]:
    """Within the block, a signal whose Python handler has not run after
    ``STUCK_AFTER_S`` ends the process: one line, staging folders removed, exit 130.

    Python runs signal handlers between bytecodes of the main thread only: a
    main thread blocked in C code (SQLite or a C reader on a FIFO or a hung
    network mount) would never see Ctrl-C. The C-level handler still writes
    the signal number to the wakeup pipe; this thread reads it (a blocking
    read holds no GIL) and, if the handler has not run by then, ends the
    process. A main thread holding the GIL in a long C computation cannot be
    helped from Python; such calls in this project are short.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(read_end, prefix, done), name="signal-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        done.set()
        os.close(write_end)  # the reader sees end of file and returns
        watcher.join(1.0)
        with contextlib.suppress(OSError):
            os.close(read_end)


def _watch(read_end: int, prefix: str, done: threading.Event) -> None:
    seen = _handled[0]
    while True:
        try:
            data = os.read(read_end, 64)
        except OSError:
            return
        if not data or done.is_set():
            return
        signums = [number for number in data if number in (signal.SIGINT, signal.SIGTERM)]
        if not signums:
            continue
        # The handler may have run already, before this read: compare counts, not events.
        deadline = time.monotonic() + STUCK_AFTER_S
        while _handled[0] == seen and time.monotonic() < deadline and not done.is_set():
            time.sleep(0.05)
        if _handled[0] != seen or done.is_set():
            seen = _handled[0]
            continue
        for stage in list(_stages):
            shutil.rmtree(stage, ignore_errors=True)
        _end_process(f"{prefix}: interrupted (signal {signums[-1]}): stopped while blocked in a system call; "
                     "unfinished outputs removed; run the command again\n".encode())


def _child_after_fork() -> None:
    # The C handler of a forked child would write into the parent's wakeup pipe.
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(ValueError, OSError):
            signal.set_wakeup_fd(-1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_child_after_fork)


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


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM are ignored: for short cleanups only.

    Outside the main thread signals never arrive, and the block runs unchanged.
    """
    with _ignoring(signal.SIGINT, signal.SIGTERM):
        yield


@contextlib.contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Processes started within the block ignore Ctrl-C for life.

    An ignored signal stays ignored across fork and exec, which no worker
    initializer can match: a worker still importing its modules when Ctrl-C
    comes would print a traceback. A Ctrl-C during the block itself (the few
    milliseconds of starting processes) is lost; keep the block to that.
    """
    with _ignoring(signal.SIGINT):
        yield


@contextlib.contextmanager
def _ignoring(*signals: signal.Signals) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: set outside Python; nothing to put back
                signal.signal(number, handler)
