"""The study database: readers' re-segmentation sessions and their features.

An SQLite file at a path the user chooses holds cases, readers, sessions
(reader, timestamp, label such as ``R1-week0``), segmentation files with
their SHA-256, region summaries, and extracted features keyed by (case,
reader, session, region, preset hash). See ``docs/reproducibility.md``.
"""

from .records import Geometry, RegionRecord, Segmentation, StoredSegmentation
from .schema import SCHEMA_VERSION
from .study import AddResult, StudyStore

__all__ = [
    "AddResult",
    "Geometry",
    "RegionRecord",
    "SCHEMA_VERSION",
    "Segmentation",
    "StoredSegmentation",
    "StudyStore",
]
