"""The one rule every case ID obeys, wherever it enters (issue 20).

A case ID names output rows, database records and folders, so it must be
visible text on one line: not blank, no control characters (newline, tab,
NUL, ...), no line or paragraph separators, bounded in length. ``--case-id``,
batch manifests, ``session add`` and every case-keyed table call this; the
batch manifest adds its stricter folder-name rule on top.
Standard library only: argument checks call it before the library loads.
"""

from __future__ import annotations

import unicodedata
from os import PathLike

from .errors import InputError

MAX_CASE_ID_LENGTH = 256


def case_id_problem(case_id: object, what: str = "case ID") -> str | None:
    """Why ``case_id`` is not a usable case ID (or other stored name, ``what``), or None when it is."""
    if not isinstance(case_id, str) or not case_id.strip():
        return f"blank {what}"
    if len(case_id) > MAX_CASE_ID_LENGTH:
        return f"{what} longer than {MAX_CASE_ID_LENGTH} characters"
    for char in case_id:
        # C*: control, format, surrogate (undecodable bytes), private use, unassigned; Zl/Zp: line breaks.
        if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in ("Zl", "Zp"):
            return f"{what} contains the control character {char!r}"
    if case_id != case_id.strip():
        return f"{what} starts or ends with white space"
    return None


def check_case_id(case_id: object, *, file: str | PathLike | None = None, source: str = "case ID") -> str:
    """``case_id`` when usable; else an ``InputError`` naming ``source`` (e.g. ``--case-id``) and the value."""
    problem = case_id_problem(case_id)
    if problem is not None:
        raise InputError(f"{source}: {problem}", file=file, value=repr(case_id))
    return case_id  # type: ignore[return-value]
