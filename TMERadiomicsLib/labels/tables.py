"""Case-keyed tables the labels commands read and write.

Abundance, survival, labels and combined-features tables all carry one row
per case and a ``case_id`` column (``docs/developing.md``, "Table
contracts"). They are read here with the case ID kept as text and every
requested column checked to be numeric, naming the case and value at fault.
Comma-separated unless the name ends in ``.tsv``/``.txt``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..case_ids import case_id_problem
from ..errors import InputError
from .table_header import refuse_damaged_text, refuse_repeated_columns

CASE_ID = "case_id"
FEATURE_PREFIXES = ("Intra_", "Peri_", "Ring_")
FEATURE_META = ("case_id", "preset", "preset_sha256")


def read_case_table(path: str | os.PathLike, *, id_column: str = CASE_ID) -> pd.DataFrame:
    """A table indexed by ``case_id`` (text), refusing blank or repeated IDs."""
    source = Path(path)
    if not source.is_file():
        raise InputError("table not found", file=source)
    stem = source.name.lower().removesuffix(".gz")
    sep = "\t" if stem.endswith((".tsv", ".txt")) else ","
    refuse_damaged_text(source)
    try:
        table = pd.read_csv(source, sep=sep, dtype={id_column: str})
        header = pd.read_csv(source, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"not a readable table: {error}", file=source) from None
    refuse_repeated_columns(header.tolist(), source)
    if id_column not in table.columns:
        raise InputError(f"table has no {id_column!r} column; columns are {list(table.columns)[:10]}", file=source)
    if table.empty:
        raise InputError("table has a header but no rows", file=source)
    # Only plain spaces are trimmed: str.strip() would also remove tabs, newlines and U+2028,
    # turning "P1\t" into a valid-looking "P1" before the control-character check.
    ids = table[id_column].str.strip(" ")
    if ids.isna().any() or (ids == "").any():
        raise InputError(f"table has rows without a {id_column}", file=source)
    for line, case_id in zip(range(2, len(ids) + 2), ids):
        problem = case_id_problem(case_id)
        if problem is not None:
            raise InputError(f"row {line}: {problem}", file=source, value=repr(case_id))
    repeated = sorted(ids[ids.duplicated()].unique())
    if repeated:
        raise InputError(f"repeated case IDs: {repeated[:10]}", file=source)
    table = table.drop(columns=id_column).set_index(pd.Index(ids, name=CASE_ID))
    table.attrs["source"] = str(source)
    return table


def numeric_columns(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The named columns (default: all) as float64; non-numeric or missing cells are errors."""
    source = table.attrs.get("source")
    columns = list(table.columns) if columns is None else list(columns)
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise InputError(f"columns not in the table: {absent[:10]}", file=source)
    if not columns:
        raise InputError("table has no value columns besides case_id", file=source)
    out = {}
    for column in columns:
        raw = table[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0))
        if bad.any():
            case = bad.idxmax()
            kind = "missing" if pd.isna(raw[case]) else "non-numeric or infinite"
            raise InputError(f"{kind} value in column {column!r}", file=source, case=str(case), value=raw[case])
        out[column] = values.astype(np.float64)
    frame = pd.DataFrame(out, index=table.index)
    frame.attrs["source"] = source
    return frame


def feature_columns(table: pd.DataFrame) -> list[str]:
    """Region-prefixed feature columns of a combined-features table."""
    return [str(c) for c in table.columns if str(c).startswith(FEATURE_PREFIXES)]


def to_csv_bytes(table: pd.DataFrame, *, index: bool = True) -> bytes:
    """UTF-8 CSV bytes; the index (``case_id``) becomes the first column."""
    buffer = io.StringIO()
    table.to_csv(buffer, index=index)
    return buffer.getvalue().encode("utf-8")


@contextlib.contextmanager
def named_inputs(*paths: str | os.PathLike) -> Iterator[None]:
    """Add the input files to errors from computations that only saw tables."""
    try:
        yield
    except InputError as error:
        if error.file is not None:
            raise
        raise InputError(error.detail, file=" / ".join(map(str, paths)), case=error.case,
                         value=error.value) from None


def to_json(payload: object) -> str:
    """Strict JSON (indented): NaN and infinities become null, numpy scalars numbers, paths text."""
    return json.dumps(_finite(payload), indent=2, allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)
