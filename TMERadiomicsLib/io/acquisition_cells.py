"""The acquisition record of a case's image and its ``acq_*`` cells in the feature tables.

``extract --acquisition-columns`` and ``batch --acquisition-columns`` share
this, so a cohort table has exactly the columns and formatting of one case
extracted alone. The record is read only through ``acquisition`` (fields by
tag, no identifiers) and ``dicom_series.phase_record`` (no UIDs).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .acquisition import COLUMN_PREFIX, acquisition_metadata, columns
from .dicom_series import dce_phases, list_series, phase_record, pick_series

# After the FIELDS columns: which DCE phase was read and its seconds after the first phase
# (empty unless the image was a DICOM folder holding a DCE study).
PHASE_COLUMNS = (COLUMN_PREFIX + "dce_phase", COLUMN_PREFIX + "phase_time_s")


def dicom_records(image: Path, series: str | None, phase: int, *,
                  case_id: str | None = None) -> tuple[dict, dict | None]:
    """The acquisition metadata of the series read, and the phases of a DCE study folder (else None)."""
    image = Path(image)
    if not image.is_dir():
        return {}, None
    found = list_series(image, case_id=case_id)
    if series is not None:
        chosen = pick_series(found, series, folder=image, case_id=case_id)
        return acquisition_metadata(image, list(chosen.files)), None
    study = dce_phases(found)
    if study is None:
        return acquisition_metadata(image, list(found[0].files) if found else None), None
    phases, order = study
    return acquisition_metadata(image, list(phases[phase].files)), phase_record(phases, order, phase)


def acquisition_cells(acquisition: dict, dce: dict | None) -> dict[str, object]:
    """``acq_*`` cells: the scanner and protocol fields, then the DCE phase read and its time."""
    cells = columns(acquisition)
    chosen = dce["phases"][dce["chosen_phase"]] if dce else None
    cells[PHASE_COLUMNS[0]] = "" if chosen is None else chosen["phase"]
    time_s = None if chosen is None else chosen["time_s"]
    cells[PHASE_COLUMNS[1]] = "" if time_s is None else time_s
    return cells


def with_columns(text: str, cells: dict) -> str:
    """The CSV text with the same ``cells`` in every row, right after ``preset_sha256``."""
    if not cells:
        return text
    rows = list(csv.reader(io.StringIO(text)))
    at = rows[0].index("preset_sha256") + 1
    rows = [row[:at] + (list(cells) if n == 0 else [_cell(v) for v in cells.values()]) + row[at:]
            for n, row in enumerate(rows)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _cell(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)
