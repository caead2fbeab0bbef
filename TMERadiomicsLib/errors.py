"""The project's exception types, one per failure family.

``InputError`` is raised at the boundary for anything the user can fix (a
missing file, an empty mask, a bad value). Its message names the file, the
case and the value; the CLI prints it as one line and exits with code 2.
"""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad input that the user can act on.

    The message is composed from the parts given, so that every error names
    what it is about in the same order: ``case X: file F: message (value: V)``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike | None = None,
        case: str | None = None,
        value: object = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.case = case
        self.value = value
        self.detail = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.case is not None:
            parts.append(f"case {self.case}")
        if self.file is not None:
            parts.append(f"file {self.file}")
        text = ": ".join(parts + [self.detail])
        if self.value is not None:
            text += f" (value: {self.value})"
        return text
