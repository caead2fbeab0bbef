"""Results as table nodes, and table nodes back to the library's tables.

The features table has one row per feature and one column per region
(PyRadiomics names, as in the library's wide table turned on its side):
a radiologist scrolls 1,000 features, not 1,000 columns. Case ID, preset
and preset hash ride along as node attributes, so ``combined_from_table``
rebuilds exactly the combined view the model bundles consume.

pandas is imported inside the functions: Slicer does not ship it, and the
module must load (and offer to install it) without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import vtk

from .i18n import tr as _

if TYPE_CHECKING:
    import pandas as pd

FEATURE_COLUMN = "Feature"
REGION_COLUMNS = {"intratumoral": "Intratumoral", "peritumoral": "Peritumoral", "ring": "Ring"}
PREFIXES = {"intratumoral": "Intra_", "peritumoral": "Peri_", "ring": "Ring_"}
META = ("case_id", "preset", "preset_sha256")
ATTRIBUTE = "TMERadiomics.{}"
KIND = "TMERadiomics.Table"
FEATURE_COLUMN_NAME = "Name"  # combined-view name, as in stable_features.txt
ICC_KINDS = {"intra": "Intra", "inter": "Inter", "perturbation": "Perturbation"}
# What a results table was computed from (attributes ``TMERadiomics.<key>``, see docs/slicer.md).
PROVENANCE = (*META, "VolumeNodeID", "SegmentationNodeID", "RegionSegmentIDs", "SourceSegmentID",
              "SourceSegmentName", "PhaseSource", "PhaseIndex", "PhaseIndexValue", "PhaseIndexName",
              "PhaseIndexUnit", "SequenceNodeID", "SequenceName", "RegionsPhase", "PeritumoralMm", "RingMm",
              "AirBelow", "Exclusions", "TMERadiomicsVersion", "PyRadiomicsVersion")
SCORE_COLUMNS = ("Model", "Score name", "Score", "Probability", "Risk group", "Status", "Bundle SHA-256")


def case_columns(features) -> tuple[dict[str, list], dict[str, str]]:
    """A case's features (``CaseFeatures``) as the features table's columns and metadata, without pandas.

    The same table ``features_frame(features.combined())`` gives; built from
    the values themselves because a 3,000-column pandas row costs the GUI
    thread a third of a second, and importing pandas the first time more.
    """
    names = list(features.feature_names)
    columns: dict[str, list] = {FEATURE_COLUMN: names}
    for region, values in features.values.items():
        columns[REGION_COLUMNS[region]] = [float(values.get(n, float("nan"))) for n in names]
    meta = {"case_id": str(features.case_id), "preset": str(features.preset),
            "preset_sha256": str(features.preset_sha256)}
    return columns, meta


def features_frame(combined: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """One combined row -> (feature x region frame, metadata)."""
    import pandas as pd

    row = combined.iloc[0]
    meta = {key: str(row[key]) for key in META}
    columns: dict[str, dict[str, float]] = {}
    for name in combined.columns:
        for region, prefix in PREFIXES.items():
            if str(name).startswith(prefix):
                columns.setdefault(REGION_COLUMNS[region], {})[name[len(prefix):]] = float(row[name])
    frame = pd.DataFrame(columns)
    frame.index.name = FEATURE_COLUMN
    return frame.reset_index(), meta


def combined_from_frame(frame: pd.DataFrame, meta: dict[str, str]) -> pd.DataFrame:
    """The inverse of ``features_frame``: a one-row combined table."""
    import pandas as pd

    values: dict[str, object] = {key: meta[key] for key in META}
    names = frame[FEATURE_COLUMN].astype(str)
    for region, column in REGION_COLUMNS.items():
        if column in frame.columns:
            for feature, value in zip(names, frame[column]):
                values[PREFIXES[region] + feature] = float(value)
    return pd.DataFrame([values])


def frame_to_table(frame, table_node, attributes: dict[str, str] | None = None) -> None:
    """Replace a table node's content with a DataFrame, or a dict of columns (lists), as text and double columns."""
    table = vtk.vtkTable()
    if isinstance(frame, dict):
        items = [(name, values, all(isinstance(v, float) for v in values)) for name, values in frame.items()]
    else:
        import pandas as pd

        items = [(name, frame[name], pd.api.types.is_numeric_dtype(frame[name])) for name in frame.columns]
    for column, values, numeric in items:
        if numeric:
            array = vtk.vtkDoubleArray()
            for value in (values.astype(float) if hasattr(values, "astype") else values):
                array.InsertNextValue(value)
        else:
            array = vtk.vtkStringArray()
            for value in values:
                array.InsertNextValue("" if _missing(value) else str(value))
        array.SetName(str(column))
        table.AddColumn(array)
    table_node.SetAndObserveTable(table)
    for key, value in (attributes or {}).items():
        table_node.SetAttribute(ATTRIBUTE.format(key), value)


def _missing(value) -> bool:
    """None or NaN (pandas' ``isna`` of one cell, without pandas)."""
    return value is None or (isinstance(value, float) and value != value)


def table_to_frame(table_node) -> pd.DataFrame:
    """A table node's content as a DataFrame."""
    import pandas as pd

    table = table_node.GetTable()
    data = {}
    for c in range(table.GetNumberOfColumns()):
        array = table.GetColumn(c)
        if isinstance(array, vtk.vtkStringArray):
            data[array.GetName()] = [array.GetValue(r) for r in range(array.GetNumberOfValues())]
        else:
            data[array.GetName()] = np.array([array.GetValue(r) for r in range(array.GetNumberOfTuples())], float)
    return pd.DataFrame(data)


def table_attribute(table_node, key: str) -> str | None:
    return table_node.GetAttribute(ATTRIBUTE.format(key))


def attributes_of(node) -> dict[str, str]:
    """A node's ``TMERadiomics.*`` attributes, full names as keys."""
    prefix = ATTRIBUTE.format("")
    return {name: node.GetAttribute(name) for name in node.GetAttributeNames() if name.startswith(prefix)}


def clear_attributes(node) -> None:
    """Remove a node's ``TMERadiomics.*`` attributes (before it is refilled: no stale provenance)."""
    for name in attributes_of(node):
        node.RemoveAttribute(name)


def combined_from_table(table_node) -> pd.DataFrame:
    """The combined-features view of a features table node; ValueError if it is not one."""
    if table_node is None or table_attribute(table_node, "Kind") != "features":
        raise ValueError(_("select a features table computed by TMERadiomics"))
    meta = {key: table_attribute(table_node, key) or "" for key in META}
    return combined_from_frame(table_to_frame(table_node), meta)


def icc_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The ICC summary (``Reliability.summary``) with readable column names, one row per region and feature."""
    frame = summary[["name", "region", "feature", "feature_class"]].copy()
    frame.columns = [FEATURE_COLUMN_NAME, "Region", FEATURE_COLUMN, "Feature class"]
    for kind, title in ICC_KINDS.items():
        if f"{kind}_icc" not in summary.columns:
            continue
        for part, label in (("icc", "ICC"), ("ci_low", "CI low"), ("ci_high", "CI high"), ("raters", "raters")):
            frame[f"{title} {label}"] = summary[f"{kind}_{part}"].to_numpy()
    # Text, not 0/1: the table view shows it as a word.
    frame["Stable"] = np.where(summary["stable"].to_numpy(bool), "yes", "no")
    return frame


def scores_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    for column in ("Score", "Probability"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame
