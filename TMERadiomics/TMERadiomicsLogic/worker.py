"""A child process running the library, started, polled and cancelled without blocking (no qt here).

The Widget polls ``Job.poll()`` from a QTimer, so the GUI thread never
waits: the child writes JSON lines to a file in the job's temporary folder
(``TMERadiomicsLib/worker/protocol.py``) and ``poll`` reads what is new.
The job owns that folder: ``cancel`` and ``close`` remove it. Cancel
terminates the child (SIGTERM), kills it if it is still alive after a
grace period, and runs the job's undo steps so the scene is as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .i18n import tr as _

logger = logging.getLogger(__name__)

LOGIC_DIR = Path(__file__).resolve().parents[1]  # holds TMERadiomicsLogic
TERMINATE_GRACE_S = 1.0  # then the child is killed: Cancel must be done within 2 s
EVENTS_FILE, LOG_FILE = "events.jsonl", "stderr.log"


def child_python() -> str:
    """The interpreter for the child: Slicer's ``PythonSlicer`` in Slicer, else this Python.

    Found as ``slicer.util._executePythonModule`` (behind ``pip_install``)
    finds it: on PATH inside Slicer, or beside the interpreter. Outside
    Slicer (slicer-core, the rig, a plain Python) it is ``sys.executable``.
    """
    name = "PythonSlicer.exe" if os.name == "nt" else "PythonSlicer"
    found = shutil.which("PythonSlicer") or str(Path(sys.executable).with_name(name))
    return found if os.path.isfile(found) else sys.executable


def library_dir() -> Path:
    """The folder holding TMERadiomicsLib: the repository in a source tree, qt-scripted-modules when installed."""
    import TMERadiomicsLib

    return Path(TMERadiomicsLib.__file__).resolve().parents[1]


def child_environment(paths: Sequence[Path] | None = None) -> dict[str, str]:
    """This environment, with the library and the Logic first on the child's path (given explicitly)."""
    if paths is None:
        paths = (library_dir(), LOGIC_DIR)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _hidden_console() -> dict[str, Any]:
    """On Windows no console window for the child, as ``slicer.util.launchConsoleProcess`` does."""
    if os.name != "nt":
        return {}
    info = subprocess.STARTUPINFO()
    info.dwFlags = subprocess.STARTF_USESHOWWINDOW
    info.wShowWindow = 0  # SW_HIDE
    return {"startupinfo": info}


class JobFailed(ValueError):
    """The child reported an error (a bad input or a fault); its message is the child's."""


class Job:
    """One child process and its temporary folder."""

    def __init__(self, title: str, argv: Sequence[str], folder: Path, *, owns_folder: bool = True,
                 cwd: Path | None = None) -> None:
        self.title = title
        self.folder = Path(folder)
        self.owns_folder = owns_folder
        self.context: dict[str, Any] = {}  # what the Logic needs to finish the job
        self.undo: list[Callable[[], None]] = []  # run on cancel or failure, newest first
        self.events: list[dict[str, Any]] = []
        self.cancelled = False
        self.grace = TERMINATE_GRACE_S
        self._tail = ""
        self._events_path = self.folder / EVENTS_FILE
        self._stdout = open(self._events_path, "w", encoding="utf-8")
        self._stderr = open(self.folder / LOG_FILE, "w", encoding="utf-8")
        self._read = open(self._events_path, encoding="utf-8")
        self.started = time.monotonic()
        try:
            # Its own process group: a kill also reaches the processes the child started (batch's pool).
            self.process = subprocess.Popen(list(argv), stdout=self._stdout, stderr=self._stderr,
                                            stdin=subprocess.DEVNULL, cwd=str(cwd or self.folder),
                                            env=child_environment(), start_new_session=os.name != "nt",
                                            **_hidden_console())
        except BaseException:
            self.close()
            raise

    # ---- polling ----------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def poll(self) -> list[dict[str, Any]]:
        """The events the child wrote since the last call; never blocks."""
        from TMERadiomicsLib.worker.protocol import parse_lines

        if self._read.closed:
            return []
        events, self._tail = parse_lines(self._tail + self._read.read())
        self.events.extend(events)
        return events

    def progress(self) -> tuple[str, float] | None:
        """The last progress event seen: (message, fraction)."""
        for event in reversed(self.events):
            if event.get("event") == "progress":
                return str(event["message"]), float(event["fraction"])
        return None

    def wait(self, progress: Callable[[str, float], None] | None = None, interval: float = 0.05) -> None:
        """Block until the child ends (the headless path), forwarding its progress.

        An exception raised by ``progress`` (``Cancelled``) cancels the job and propagates.
        """
        try:
            while True:
                done = not self.running
                for event in self.poll():
                    if progress is not None and event.get("event") == "progress":
                        progress(str(event["message"]), float(event["fraction"]))
                if done:
                    return
                time.sleep(interval)
        except BaseException:
            self.cancel()
            raise

    # ---- outcome ----------------------------------------------------------
    def result(self) -> dict[str, Any]:
        """The child's result; JobFailed with its message when it reported an error or died."""
        from TMERadiomicsLib.worker.protocol import EVENT_DONE, EVENT_ERROR, RESULT_FILE, read_json

        if self.running:
            raise RuntimeError(_("{title}: the worker is still running").format(title=self.title))
        self.poll()
        for event in self.events:
            if event.get("event") == EVENT_ERROR:
                raise JobFailed(str(event.get("message")))
        if not any(e.get("event") == EVENT_DONE for e in self.events):
            raise JobFailed(_("{title}: the worker stopped (exit status {status}) without a result; {log}").format(
                title=self.title, status=self.process.returncode, log=self.logTail() or _("no log")))
        return read_json(self.folder / RESULT_FILE)

    def logTail(self, lines: int = 3) -> str:
        try:
            text = (self.folder / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def cancel(self) -> None:
        """Stop the child (terminate, then kill), undo what the job added, remove the folder."""
        self.cancelled = True
        self.stop()
        self.rollback()
        self.close()

    def stop(self) -> None:
        """SIGTERM (the CLI then keeps finished work and exits 130); SIGKILL to the group after the grace."""
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(self.grace)
            except subprocess.TimeoutExpired:
                pass
        if os.name != "nt":
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # the child if alive, and whatever it left
            except (ProcessLookupError, PermissionError):
                pass
        else:
            self.process.kill()
        self.process.wait()

    def rollback(self) -> None:
        while self.undo:
            step = self.undo.pop()
            try:
                step()
            except Exception:  # undo as much as can be undone
                logger.exception("%s: undo step failed", self.title)

    def close(self) -> None:
        """Release files and the temporary folder (idempotent); a closed job has nothing left to undo."""
        self.undo.clear()
        for handle in (self._stdout, self._stderr, self._read):
            handle.close()
        if self.owns_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def new_folder(prefix: str = "tmeradiomics-job-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def start_library_job(title: str, folder: Path, job: dict[str, Any]) -> Job:
    """Write ``job.json`` into ``folder`` and start ``python -m TMERadiomicsLib.worker folder``."""
    from TMERadiomicsLib.worker.protocol import JOB_FILE, write_json

    write_json(folder / JOB_FILE, job)
    return Job(title, [child_python(), "-m", "TMERadiomicsLib.worker", str(folder)], folder)
