"""Checks on a table's header as written, before pandas reads it (issue 20).

pandas renames a repeated column ``NAME`` to ``NAME.1``: the table would be
read, and which copy a model or a label step used would depend on the name it
asks for. Standard library only, so the batch manifest can use it in its
light import path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from ..errors import InputError


def refuse_repeated_columns(names: Sequence[object], source: str | os.PathLike) -> None:
    """Refuse a header that names a column more than once (after trimming white space)."""
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
        if text in seen and text not in repeated:
            repeated.append(text)
        seen.add(text)
    if repeated:
        raise InputError(f"columns named more than once: {repeated[:10]}", file=source)


def refuse_damaged_text(source: str | os.PathLike) -> None:
    """Refuse a plain-text table holding NUL bytes, or whose last line has no line break.

    pandas' C parser ends a cell at a NUL byte ("P1\\x00x" is read as "P1"),
    and every writer (pandas, R, Excel, this tool) ends a table with a line
    break: a copy cut short mid-line would be read with its last number cut
    ("12.345" as "12.3"). Both would be a wrong value with no error.
    """
    path = os.fspath(source)
    if str(path).lower().endswith(".gz"):
        return  # gzip carries its own length and checksum: a cut stream fails to decompress
    last, lines = b"", 1
    with open(path, "rb") as handle:  # in chunks: a cohort's features table can be hundreds of MB
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                line = lines + chunk[: chunk.index(b"\x00")].count(b"\n")
                raise InputError(f"table holds a NUL byte (line {line}): not a text table, or damaged", file=path)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if not last:
        return  # an empty file is refused by the reader with its own message
    if last not in (b"\n", b"\r"):
        raise InputError("table does not end with a line break: it may be truncated (a cut last value "
                         "would be read as a different number); check the copy, or end its last line", file=path)
