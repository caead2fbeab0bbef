"""The job folder's files and the JSON-lines events (see ``__init__``); no heavy imports."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import IO, Any

JOB_FILE = "job.json"
RESULT_FILE = "result.json"
EVENT_PROGRESS, EVENT_DONE, EVENT_ERROR = "progress", "done", "error"


def write_json(path: Path, data: Any) -> None:
    """Atomically (a reader never sees half a file); NaN is kept as JSON's NaN, floats exactly (repr)."""
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(data, default=_plain), encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def emit(stream: IO[str], event: str, **fields: Any) -> None:
    stream.write(json.dumps({"event": event, **fields}, default=_plain) + "\n")
    stream.flush()


def parse_lines(text: str) -> tuple[list[dict[str, Any]], str]:
    """Complete JSON lines of ``text`` as events, and the unfinished tail (a line being written)."""
    *lines, tail = text.split("\n")
    events = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # a stray print of a library: not an event
            event = {"event": "output", "message": line}
        events.append(event if isinstance(event, dict) else {"event": "output", "message": line})
    return events, tail


def _plain(value: Any) -> Any:
    """numpy scalars and paths in diagnostics as plain JSON."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return value
    return str(value)
