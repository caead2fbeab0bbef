"""The child: ``python -m TMERadiomicsLib.worker FOLDER`` runs the job of ``FOLDER/job.json``.

Imports only the library (no slicer, vtk or qt). Progress and the outcome go
to stdout as JSON lines (``protocol.py``); the log goes to stderr.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from . import protocol

LOG_NAME = "stderr.log in the job folder"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m TMERadiomicsLib.worker JOB_FOLDER", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    folder = Path(args[0])
    out = sys.stdout

    def progress(message: str, fraction: float) -> None:
        protocol.emit(out, protocol.EVENT_PROGRESS, message=message, fraction=float(fraction))

    from ..errors import InputError

    try:
        job = protocol.read_json(folder / protocol.JOB_FILE)
        from .jobs import run

        result = run(folder, job, progress)
        protocol.write_json(folder / protocol.RESULT_FILE, result)
    except (InputError, ValueError) as error:
        protocol.emit(out, protocol.EVENT_ERROR, message=str(error), kind="input")
        return 2
    except Exception as error:  # a fault: named, logged with its traceback on stderr
        logging.getLogger(__name__).exception("job failed")
        line = " ".join(part.strip() for part in str(error).splitlines() if part.strip())  # ITK's run over lines
        protocol.emit(out, protocol.EVENT_ERROR, message=f"{type(error).__name__}: {line} (log: {LOG_NAME})",
                      kind="fault")
        return 1
    protocol.emit(out, protocol.EVENT_DONE, result=protocol.RESULT_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
