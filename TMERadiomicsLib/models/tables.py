"""Reading and checking the combined-features and labels tables.

Every model-facing command reads the same two tables (see "Table contracts"
in ``docs/developing.md``): the combined features view (``case_id``,
``preset``, ``preset_sha256``, region-prefixed feature columns) and a labels
table (``case_id`` + label columns). The checks here name the cases and
columns at fault, so the user can fix the table rather than guess.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..labels.phenotypes import median_split as median_split_labels
from ..labels.tables import read_case_table

REGION_PREFIXES = ("Intra_", "Peri_", "Ring_")
_LIST_LIMIT = 20


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a case table (CSV, or TSV by name) with ``case_id`` as a text column.

    The labels package's reader does the parsing and the case-ID checks; the
    model code keeps ``case_id`` as a column, as the table contracts write it.
    """
    indexed = read_case_table(path)
    table = indexed.reset_index()
    table.attrs["source"] = indexed.attrs["source"]
    return table


def source_of(table: pd.DataFrame) -> str | None:
    return table.attrs.get("source")


def check_case_ids(table: pd.DataFrame) -> None:
    """Require a ``case_id`` column without blanks or duplicates."""
    source = source_of(table)
    if "case_id" not in table.columns:
        raise InputError("table has no case_id column", file=source)
    if table["case_id"].isna().any():
        raise InputError("table has rows without a case_id", file=source)
    duplicated = sorted(table.loc[table["case_id"].duplicated(), "case_id"].astype(str).unique())
    if duplicated:
        raise InputError(f"duplicate case IDs: {name_list(duplicated)}", file=source)


def feature_columns(table: pd.DataFrame) -> list[str]:
    """The region-prefixed feature columns, in table order."""
    return [c for c in table.columns if str(c).startswith(REGION_PREFIXES)]


def missing_features(table: pd.DataFrame, required: list[str]) -> list[str]:
    present = set(table.columns)
    return [name for name in required if name not in present]


def require_finite(table: pd.DataFrame, columns: list[str]) -> None:
    """Refuse NaN/inf or non-numeric feature values, naming cases and columns."""
    source = source_of(table)
    values = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        cases = sorted(set(table["case_id"].iloc[rows].astype(str)))
        names = sorted({columns[c] for c in cols})
        raise InputError(
            f"missing or non-numeric feature values in cases {name_list(cases)} "
            f"(columns {name_list(names)})",
            file=source,
        )


def align(features: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of both tables for the same cases, in the features' order.

    Cases in one table but not the other are an error listing both sides,
    so that a typo in one case ID is not silently dropped from a cohort.
    """
    feature_ids = features["case_id"].astype(str)
    label_ids = labels["case_id"].astype(str)
    only_features = sorted(set(feature_ids) - set(label_ids))
    only_labels = sorted(set(label_ids) - set(feature_ids))
    if only_features or only_labels:
        raise InputError(
            "case IDs differ between features and labels: "
            f"in features only: {name_list(only_features) or 'none'}; "
            f"in labels only: {name_list(only_labels) or 'none'}",
            file=" / ".join(str(s) for s in (source_of(features), source_of(labels)) if s) or None,
        )
    order = labels.set_index(label_ids).loc[feature_ids]
    order.attrs = labels.attrs
    return features.reset_index(drop=True), order.reset_index(drop=True)


@dataclass(frozen=True)
class BinaryLabels:
    """0/1 labels per case and how they were derived."""

    values: pd.Series  # int 0/1, indexed like the features table
    definition: dict[str, object]


def binary_labels(labels: pd.DataFrame, column: str | None = None, median_split: bool = False) -> BinaryLabels:
    """A binary label column, or a median split (> median is 1) of a continuous one."""
    source = source_of(labels)
    column = _label_column(labels, column)
    raw = labels[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & numeric.isna()
    if bad.any():
        cases = labels.loc[bad, "case_id"].astype(str).tolist()
        raise InputError(
            f"label column {column!r} must be numeric; non-numeric in cases {name_list(cases)}",
            file=source,
            value=raw[bad].iloc[0],
        )
    if numeric.isna().any():
        cases = labels.loc[numeric.isna(), "case_id"].astype(str).tolist()
        raise InputError(f"label column {column!r} is empty for cases {name_list(cases)}", file=source)
    if median_split:
        # The labels package's rule: strictly above the median is 1 (Qian).
        split = median_split_labels(pd.DataFrame({column: numeric}), column)
        values = split.iloc[:, 0]
        definition = {"column": column, "rule": "median split: value > cohort median is 1",
                      "median": split.attrs["median"]}
    else:
        levels = sorted(numeric.unique())
        if not set(levels) <= {0.0, 1.0}:
            raise InputError(
                f"label column {column!r} is not 0/1; give a binary column or use a median split",
                file=source,
                value=levels[:5],
            )
        values = numeric.astype(int)
        definition = {"column": column, "rule": "binary column, 1 is the positive class"}
    if values.nunique() < 2:
        raise InputError(
            f"labels of column {column!r} hold one class only ({int(values.iloc[0])}) "
            f"in all {len(values)} cases; two classes are needed",
            file=source,
        )
    return BinaryLabels(values.reset_index(drop=True), definition)


def _label_column(labels: pd.DataFrame, column: str | None) -> str:
    candidates = [c for c in labels.columns if c != "case_id"]
    if column is None:
        if len(candidates) != 1:
            raise InputError(
                f"labels table has label columns {candidates or 'none'}; name one with --label",
                file=source_of(labels),
            )
        return str(candidates[0])
    if column not in candidates:
        raise InputError(f"label column {column!r} not in labels table", file=source_of(labels))
    return column


def name_list(names: list[str]) -> str:
    """A readable, bounded list of case or column names."""
    shown = ", ".join(str(n) for n in names[:_LIST_LIMIT])
    extra = len(names) - _LIST_LIMIT
    return shown + (f" and {extra} more" if extra > 0 else "")
