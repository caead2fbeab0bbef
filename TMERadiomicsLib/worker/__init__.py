"""Background jobs: the library run in a child process, for a GUI that must stay responsive.

The Slicer panel (``TMERadiomics/TMERadiomicsLogic/worker.py``) writes a job
folder and starts ``python -m TMERadiomicsLib.worker FOLDER``. The child needs
no slicer, vtk or qt. The protocol is plain files and JSON lines:

- ``FOLDER/job.json``: what to do (``kind`` and its inputs, paths relative to
  the folder); written by the parent before the child starts;
- stdout of the child: one JSON object per line, flushed at once:
  ``{"event": "progress", "message": ..., "fraction": ...}``, then either
  ``{"event": "done", "result": "result.json"}`` or
  ``{"event": "error", "message": ..., "kind": "input" | "fault"}``;
- ``FOLDER/result.json``: the result, written atomically before ``done``.

Exit status: 0 done, 2 bad input, 1 fault; a child terminated by Cancel
leaves nothing the parent reads. The parent owns the folder and removes it.
"""

from .protocol import EVENT_DONE, EVENT_ERROR, EVENT_PROGRESS, JOB_FILE, RESULT_FILE

__all__ = ["EVENT_DONE", "EVENT_ERROR", "EVENT_PROGRESS", "JOB_FILE", "RESULT_FILE"]
