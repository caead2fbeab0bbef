"""What a case's run leaves in ``status.json``, and what the coordinator learns of it.

Apart from ``case`` so that the coordinator, which only reads results, does
not import the extraction code (SimpleITK, PyRadiomics) that workers run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

STATUS_FILE = "status.json"
OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class CaseResult:
    """What the coordinator learns about a case (also the content of ``status.json``)."""

    case_id: str
    status: str
    reason: str
    fingerprint: str
    seconds: float
    worker_peak_rss_mb: float

    @classmethod
    def read(cls, case_dir: Path) -> CaseResult | None:
        """The recorded result, or None if the case never finished."""
        try:
            return cls(**json.loads((case_dir / STATUS_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None
