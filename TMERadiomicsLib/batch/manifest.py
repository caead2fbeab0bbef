"""The cohort manifest: one row per case, validated in full before any work starts.

Columns: ``case_id``, ``image``, ``mask`` (required); ``label`` (value of the
tumour in a label-map mask), ``segment`` (name or number of the tumour's
segment in a DICOM SEG, RTSTRUCT or ``.seg.nrrd``), ``reader``, ``session`` (who segmented it, when),
``exclude`` (exclusion masks separated by ``;``) and any ``exclude_<name>``
column (one exclusion mask each; empty cells are allowed), and ``phase_times``
(the DCE phase times in seconds separated by ``;``, for ``--kinetics`` on images
that do not carry them, such as a 4-D NRRD). Any other column (``site``,
``scanner``, a covariate) is the case's metadata: a bundle harmonised by that
column (``train --harmonise``) scores by it. Relative paths resolve against the
manifest's folder.

Every problem of every row is collected and reported in one ``InputError``,
so a user fixes a manifest in one pass instead of one error per run.
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..case_ids import case_id_problem
from ..errors import InputError
from ..labels.table_header import refuse_damaged_text, refuse_repeated_columns

if TYPE_CHECKING:
    import pandas as pd  # read_manifest imports it; pool workers, which only get CaseSpecs, never do

REQUIRED_COLUMNS = ("case_id", "image", "mask")
# Every column the batch reads itself; the others are the case's metadata (``CaseSpec.metadata``).
READ_COLUMNS = (*REQUIRED_COLUMNS, "label", "segment", "reader", "session", "exclude", "phase_times")
EXCLUDE_SEPARATOR = ";"
# Case IDs name folders under DIR/cases/: no separators, no leading dot.
SAFE_CASE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")


@dataclass(frozen=True)
class CaseSpec:
    """One manifest row with its paths resolved."""

    case_id: str
    image: Path
    mask: Path
    exclude: tuple[Path, ...] = ()
    label: int | None = None
    reader: str = ""
    session: str = ""
    line: int = 0  # line in the manifest file, for messages
    segment: str | None = None  # name or number of a segment of the mask file
    phase_times: tuple[float, ...] | None = None  # seconds of each DCE phase, for the kinetic class
    # The row's other cells (site, scanner, covariates...), by column: what a harmonised bundle scores by
    # (``merge.score``); they change no feature.
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def inputs(self) -> tuple[Path, ...]:
        return (self.image, self.mask, *self.exclude)


def read_manifest(path: str | os.PathLike) -> list[CaseSpec]:
    """Read and validate a manifest; raise one ``InputError`` listing every offending row."""
    path = Path(path)
    return specs_from_table(_read_csv(path), path, path.absolute().parent)


def specs_from_table(table: pd.DataFrame, path: Path, folder: Path) -> list[CaseSpec]:
    """Validate manifest rows (strings) whose relative paths resolve against ``folder``.

    ``path`` names the manifest in messages: the CSV, or the folder a
    manifest was discovered in (``discover.py``), so both get the same checks.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"manifest lacks required column(s) {', '.join(missing)}; "
                         f"it has: {', '.join(table.columns) or 'none'}", file=path)
    if table.empty:
        raise InputError("manifest has no case rows", file=path)
    specs, problems = [], []
    for index, row in table.iterrows():
        spec, row_problems = _parse_row(row, int(index) + 2, folder)
        specs.append(spec)
        problems += row_problems
    problems += _duplicates(specs)
    if problems:
        raise InputError(f"manifest refused, {len(problems)} problem(s): " + "; ".join(problems), file=path)
    return specs


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    if not path.is_file():
        raise InputError("manifest file not found", file=path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"manifest is not a readable CSV: {str(error).splitlines()[0]}", file=path) from None
    refuse_damaged_text(path)
    refuse_repeated_columns(_header_of(path), path)
    table.columns = [str(c).strip() for c in table.columns]
    return table


def _header_of(path: Path) -> list[str]:
    """The header as written: pandas renames a repeated column ``NAME.1``, which would hide it."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return next(csv.reader(handle), [])


def _parse_row(row: pd.Series, line: int, folder: Path) -> tuple[CaseSpec, list[str]]:
    case_id = row["case_id"].strip(" ")  # not str.strip(): it would remove a tab, newline or U+2028 unseen
    problem = case_id_problem(case_id)
    where = f"line {line}" + (f" (case {case_id!r})" if case_id and problem else f" (case {case_id})" if case_id else "")
    problems = []
    if not case_id:
        problems.append(f"{where}: empty case_id")
    elif problem:
        problems.append(f"{where}: {problem}")
    elif not SAFE_CASE_ID.match(case_id):
        problems.append(f"{where}: case_id may hold only letters, digits and _ . + - "
                        f"and must not start with a dot")
    paths = {}
    for column in ("image", "mask"):
        paths[column], problem = _resolve(row[column], folder, f"{where}: {column}")
        problems += problem
    exclude = []
    for column, text in _exclusion_cells(row):
        resolved, problem = _resolve(text, folder, f"{where}: {column}")
        exclude.append(resolved)
        problems += problem
    label, problem = _label(row.get("label", ""), where)
    problems += problem
    segment = str(row.get("segment", "")).strip() or None
    if segment is not None and label is not None:
        problems.append(f"{where}: give label or segment, not both")
    times, problem = _phase_times(row.get("phase_times", ""), where)
    problems += problem
    metadata = tuple((column, str(row[column]).strip()) for column in row.index
                     if column not in READ_COLUMNS and not column.startswith("exclude_"))
    spec = CaseSpec(case_id, paths["image"], paths["mask"], tuple(exclude), label,
                    str(row.get("reader", "")).strip(), str(row.get("session", "")).strip(), line, segment, times,
                    metadata)
    return spec, problems


def _exclusion_cells(row: pd.Series) -> list[tuple[str, str]]:
    cells = []
    for column in row.index:
        if column == "exclude":
            cells += [(column, part) for part in row[column].split(EXCLUDE_SEPARATOR) if part.strip()]
        elif column.startswith("exclude_") and row[column].strip():
            cells.append((column, row[column]))
    return cells


def _resolve(text: str, folder: Path, where: str) -> tuple[Path, list[str]]:
    text = text.strip()
    if not text:
        return Path(), [f"{where}: empty path"]
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = folder / path
    if not path.exists():
        return path, [f"{where}: not found: {text}"]
    return path, []


def _label(text: str, where: str) -> tuple[int | None, list[str]]:
    text = str(text).strip()
    if not text:
        return None, []
    try:
        value = int(text)
    except ValueError:
        return None, [f"{where}: label must be an integer, got {text!r}"]
    if value <= 0:
        return None, [f"{where}: label must be positive, got {value}"]
    return value, []


def _phase_times(text: str, where: str) -> tuple[tuple[float, ...] | None, list[str]]:
    """``0;60;120``: finite numbers (their order and count are checked against the phases when read)."""
    text = str(text).strip()
    if not text:
        return None, []
    try:
        times = tuple(float(part) for part in text.split(EXCLUDE_SEPARATOR))
    except ValueError:
        return None, [f"{where}: phase_times must be seconds separated by {EXCLUDE_SEPARATOR!r}, got {text!r}"]
    if not all(math.isfinite(t) for t in times):
        return None, [f"{where}: phase_times must be finite numbers, got {text!r}"]
    return times, []


def _duplicates(specs: list[CaseSpec]) -> list[str]:
    lines: dict[str, list[int]] = {}
    for spec in specs:
        if spec.case_id:
            lines.setdefault(spec.case_id, []).append(spec.line)
    return [f"case_id {case_id} is duplicated on lines {', '.join(map(str, found))}"
            for case_id, found in lines.items() if len(found) > 1]
