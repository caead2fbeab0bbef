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
