"""The batch output folder: checked before any work, resumed, or replaced as a whole.

A batch folder holds ``batch.json`` (the run's settings) and ``cases/``.

- ``open_batch_folder`` decides, writing nothing: a new folder; the same
  folder resumed (its ``batch.json`` records the same result-defining
  settings; other settings are refused with one line saying what differs,
  unless ``--overwrite``); or, with ``--overwrite`` over a folder that holds
  files, a sibling ``.NAME.partial-*`` folder that replaces it at the end.
- ``start`` makes the folder and writes ``batch.json`` once the backend is
  up, so a run that fails before its first case (bad scheduler address,
  unreachable scheduler) leaves nothing behind.
- ``finish`` swaps a replacement into place; ``abandon`` removes it, so an
  interrupted or failed ``--overwrite`` run leaves the earlier folder as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..interrupt import register_stage, shielded, unregister_stage
from ..outputs import atomic_write_text, check_not_input, check_out_dir
from .settings import record_differences

RUN_FILE = "batch.json"
CASES = "cases"


@dataclass(frozen=True)
class BatchFolder:
    final: Path  # the folder the user named
    work: Path  # where this run writes: ``final``, or a sibling that replaces it at the end

    @property
    def replacing(self) -> bool:
        return self.work != self.final


def open_batch_folder(out: Path, run_record: dict, overwrite: bool = False) -> BatchFolder:
    """Check ``out`` for this run before any work starts; nothing is written."""
    out = Path(out)
    check_not_input(out, replaced_folder=overwrite)
    if (out / RUN_FILE).is_file() and not overwrite:
        differences = record_differences(read_run_record(out), run_record)
        if differences:
            raise InputError(f"output folder holds a batch run with other settings ({'; '.join(differences)}); "
                             "use --overwrite to replace it, or choose another --out", file=out)
        return BatchFolder(out, out)
    check_out_dir(out, overwrite, replaced=True)
    if out.is_dir() and any(out.iterdir()):  # --overwrite: build beside it, swap at the end
        return BatchFolder(out, out.absolute().parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    return BatchFolder(out, out)


def read_run_record(out: Path) -> dict:
    try:
        record = json.loads((Path(out) / RUN_FILE).read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the earlier run's record: {error}", file=Path(out) / RUN_FILE) from None
    if not isinstance(record, dict):
        raise InputError("the earlier run's record is not a JSON object", file=Path(out) / RUN_FILE)
    return record


def start(folder: BatchFolder, run_record: dict) -> None:
    """Make the folder, prove it writable, clear stale partial cases, record the run."""
    if folder.replacing:
        register_stage(folder.work)  # removed even if a signal finds the process stuck
    try:
        (folder.work / CASES).mkdir(parents=True, exist_ok=True)
        # os.access says yes to root on read-only mounts; a real write does not lie.
        with tempfile.NamedTemporaryFile(dir=folder.work / CASES, prefix=".probe-"):
            pass
    except OSError as error:
        raise InputError(f"output folder is not writable: {error.strerror or error}", file=folder.final) from None
    remove_partial_cases(folder.work)
    atomic_write_text(folder.work / RUN_FILE, json.dumps(run_record, indent=2, default=str))


def finish(folder: BatchFolder) -> None:
    """Put a replacement in place of the earlier folder (two renames on one file system)."""
    if not folder.replacing:
        return
    with shielded():
        old = folder.final.absolute().parent / f".{folder.final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(folder.final, old)
        os.replace(folder.work, folder.final)
        unregister_stage(folder.work)
        shutil.rmtree(old, ignore_errors=True)


def abandon(folder: BatchFolder) -> None:
    """Remove a replacement that will not be finished; the earlier folder stays as it was."""
    if folder.replacing:
        with shielded():
            shutil.rmtree(folder.work, ignore_errors=True)
            unregister_stage(folder.work)


def remove_partial_cases(out: Path) -> None:
    """Remove the staging folders of cases that never finished (their workers are gone)."""
    for stale in cases_dir(out).glob(".*.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def cases_dir(out: Path) -> Path:
    return Path(out) / CASES
