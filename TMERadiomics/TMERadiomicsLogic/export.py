"""A results table as CSV plus a JSON provenance sidecar, written so that nothing half-written is left.

The sidecar holds the table node's ``TMERadiomics.*`` attributes (phase,
band widths, exclusions, air threshold, preset and its SHA-256, versions,
warnings) and the CSV's own SHA-256, so the pair can be checked later.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import vtk

from .i18n import tr as _
from .tables import ATTRIBUTE, attributes_of

SIDECAR_SUFFIX = ".json"
# Attributes that hold JSON, stored parsed in the sidecar.
JSON_KEYS = ("Exclusions", "Warnings", "RegionsPhase", "Models")


def sidecar_path(csv_path: str | os.PathLike) -> Path:
    """``features.csv`` -> ``features.json``."""
    return Path(csv_path).with_suffix(SIDECAR_SUFFIX)


def table_csv(table_node) -> str:
    """The table's columns as CSV text; numbers written in full (repr), so a reader gets the same doubles."""
    table = table_node.GetTable()
    columns = [table.GetColumn(c) for c in range(table.GetNumberOfColumns())]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([column.GetName() for column in columns])
    for row in range(table.GetNumberOfRows()):
        writer.writerow([column.GetValue(row) if isinstance(column, vtk.vtkStringArray)
                         else repr(float(column.GetValue(row))) for column in columns])
    return buffer.getvalue()


def provenance(table_node, csv_text: str, csv_name: str) -> dict:
    prefix = ATTRIBUTE.format("")
    attributes = {}
    for name, value in sorted(attributes_of(table_node).items()):
        key = name[len(prefix):]
        attributes[key] = _parsed(value) if key in JSON_KEYS else value
    return {"table": table_node.GetName(), "csv": csv_name,
            "csv_sha256": hashlib.sha256(csv_text.encode("utf-8")).hexdigest(),
            "exported_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "provenance": attributes}


def _parsed(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def export_table(table_node, csv_path: str | os.PathLike, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``csv_path`` and its sidecar; ValueError (nothing written) for a missing table or existing files."""
    from TMERadiomicsLib.outputs import atomic_write_text

    if table_node is None or table_node.GetTable() is None:
        raise ValueError(_("select a table to export"))
    target, sidecar = Path(csv_path), sidecar_path(csv_path)
    if target.suffix.lower() != ".csv":
        raise ValueError(_("{file}: the export must be a .csv file").format(file=target))
    for path in (target, sidecar):
        if path.exists() and not overwrite:
            raise ValueError(_("{file}: file exists; choose another name or allow overwriting").format(file=path))
    if not target.parent.is_dir():
        raise ValueError(_("{folder}: folder does not exist").format(folder=target.parent))
    text = table_csv(table_node)
    sidecar_text = json.dumps(provenance(table_node, text, target.name), indent=2, sort_keys=True) + "\n"
    # The sidecar first: a CSV is never on disk without the provenance that explains it.
    atomic_write_text(sidecar, sidecar_text)
    try:
        atomic_write_text(target, text)
    except BaseException:
        if not overwrite:
            sidecar.unlink(missing_ok=True)
        raise
    return target, sidecar
