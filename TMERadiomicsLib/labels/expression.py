"""Reading expression matrices, signature matrices and GMT gene sets.

An expression (mixture) or signature file is a table with one row per gene:
the first column holds gene symbols, the header names the samples (or cell
types), every other cell is a number. Tab-separated unless the name ends in
``.csv`` (``.gz`` is fine either way).

Checks made here, each an ``InputError`` naming file, gene, sample and value:
missing gene symbols, duplicated sample names, non-numeric, missing or
infinite values. Negative values are *not* judged here: they are fine for
rank-based ssGSEA and for log-scale input to CIBERSORT, and ``cibersort``
refuses them only where they cannot be expression (linear scale).

Duplicated gene symbols are collapsed by one stated rule (``DUPLICATE_RULES``):

- ``first`` (default): keep the first row of each symbol, drop the others.
  This is what CIBERSORT R v1.04 effectively does: it renames repeats with
  ``make.names(unique=TRUE)`` (``GENE.1``, ...), which then match no
  signature gene.
- ``mean``: average the rows of each symbol (limma ``avereps``; gseapy).
- ``error``: refuse the file, listing the repeated symbols.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .table_header import refuse_damaged_text

log = logging.getLogger(__name__)

DUPLICATE_RULES = ("first", "mean", "error")
_SHOW = 10


def read_matrix(path: str | os.PathLike, *, duplicates: str = "first", what: str = "expression") -> pd.DataFrame:
    """Read a genes x samples table as float64, index = gene symbol.

    ``what`` only words the error messages ("expression", "signature").
    """
    source = Path(path)
    if duplicates not in DUPLICATE_RULES:
        raise InputError(f"unknown duplicate-gene rule; choose one of {DUPLICATE_RULES}", value=duplicates)
    if not source.is_file():
        raise InputError(f"{what} file not found", file=source)
    sep = "," if source.name.lower().removesuffix(".gz").endswith(".csv") else "\t"
    refuse_damaged_text(source)  # a NUL byte or a cut last value would read as another number
    header = _header(source, sep)
    _check_header(header, source, what)
    try:
        table = pd.read_csv(source, sep=sep, index_col=0, dtype={header[0]: str}, na_values=[""],
                            keep_default_na=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(f"not a readable {what} table: {error}", file=source) from None
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise InputError(f"{what} table has no genes or no samples", file=source, value=table.shape)
    if table.index.isna().any():
        row = int(np.flatnonzero(table.index.isna())[0]) + 2
        raise InputError(f"{what} table has a row without a gene symbol (line {row})", file=source)
    table.index = table.index.astype(str).str.strip()
    values = _numeric(table, source)
    return collapse_duplicates(values, duplicates, source=source)


def _header(source: Path, sep: str) -> list[str]:
    opener = gzip.open if source.name.lower().endswith(".gz") else open
    with opener(source, "rt", newline="") as handle:
        return next(csv.reader(handle, delimiter=sep), [])


def _check_header(header: list[str], source: Path, what: str) -> None:
    if len(header) < 2:
        raise InputError(f"{what} table needs a gene column and at least one sample column", file=source)
    names = [h.strip() for h in header[1:]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{what} table has duplicated sample names", file=source, value=repeated[:_SHOW])
    if any(not n for n in names):
        raise InputError(f"{what} table has an empty sample name in its header", file=source)


def _numeric(table: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Every cell as float64, or an error naming the first bad cell."""
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            converted = pd.to_numeric(table[column], errors="coerce")
            bad = converted.isna() & table[column].notna()
            gene = bad.idxmax()
            raise InputError(f"non-numeric value for gene {gene}, sample {column}", file=source,
                             value=table.at[gene, column] if bad.any() else None)
    values = table.astype(np.float64)
    finite = np.isfinite(values.to_numpy())
    if not finite.all():
        row, col = (int(i[0]) for i in np.nonzero(~finite))
        raise InputError(f"missing or infinite value for gene {values.index[row]}, sample {values.columns[col]}",
                         file=source, value=values.iat[row, col])
    return values


def collapse_duplicates(values: pd.DataFrame, rule: str = "first", *, source: object = None) -> pd.DataFrame:
    """Apply the duplicated-gene rule (see module docstring); logs what it did."""
    repeated = values.index[values.index.duplicated(keep=False)].unique()
    if len(repeated) == 0:
        return values
    shown = list(repeated[:_SHOW])
    if rule == "error":
        raise InputError(f"{len(repeated)} duplicated gene symbols", file=source, value=shown)
    log.warning("%s: %d duplicated gene symbols collapsed by rule %r, e.g. %s", source, len(repeated), rule, shown)
    if rule == "first":
        return values[~values.index.duplicated(keep="first")]
    return values.groupby(level=0, sort=False).mean()


def read_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Gene sets from a GMT file: ``name <TAB> description <TAB> gene ...``.

    Blank lines are skipped; repeated genes inside a set count once (GSEA's
    indicator semantics); a repeated set name is an error.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError("GMT file not found", file=source)
    sets: dict[str, list[str]] = {}
    opener = gzip.open if source.name.lower().endswith(".gz") else open
    with opener(source, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            fields = [f.strip() for f in line.rstrip("\r\n").split("\t")]
            if not any(fields):
                continue
            genes = [g for g in fields[2:] if g]
            if not fields[0] or not genes:
                raise InputError(f"GMT line {number} needs a set name, a description and at least one gene",
                                 file=source, value=line.strip()[:80])
            if fields[0] in sets:
                raise InputError(f"GMT set name repeated on line {number}", file=source, value=fields[0])
            sets[fields[0]] = list(dict.fromkeys(genes))
    if not sets:
        raise InputError("GMT file holds no gene sets", file=source)
    return sets
