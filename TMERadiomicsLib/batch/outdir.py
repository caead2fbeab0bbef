"""The batch output folder: refused at start if unusable, recognised on resume.

A batch folder holds ``batch.json`` (the run's settings) and ``cases/``. An
existing folder that is not a batch folder and holds files is refused, as
``outputs.check_out_dir`` does for every command; a batch folder is resumed.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..errors import InputError
from ..outputs import atomic_write_text, check_out_dir

RUN_FILE = "batch.json"
CASES = "cases"


def prepare_out_dir(out: Path, run_record: dict, overwrite: bool = False) -> Path:
    """Create or reopen ``out``, prove it writable, clear stale partial case folders."""
    out = Path(out)
    if not (out / RUN_FILE).is_file():
        check_out_dir(out, overwrite)
    try:
        (out / CASES).mkdir(parents=True, exist_ok=True)
        # os.access says yes to root on read-only mounts; a real write does not lie.
        with tempfile.NamedTemporaryFile(dir=out / CASES, prefix=".probe-"):
            pass
    except OSError as error:
        raise InputError(f"output folder is not writable: {error.strerror or error}", file=out) from None
    remove_partial_cases(out)
    atomic_write_text(out / RUN_FILE, json.dumps(run_record, indent=2, default=str))
    return out


def remove_partial_cases(out: Path) -> None:
    """Remove the staging folders of cases that never finished (their workers are gone)."""
    for stale in cases_dir(out).glob(".*.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def cases_dir(out: Path) -> Path:
    return Path(out) / CASES

