"""Modules the Logic needs only once an action runs, imported then rather than at Slicer start-up.

Slicer imports every module at start-up, so whatever ``TMERadiomics.py``
imports at load time costs every user every start (SimpleITK alone about a
second), whether or not they open the panel. ``segments`` and ``volumes`` keep
their module-level name (``sitk = lazy_module("SimpleITK")``), so code that
uses ``sitk.X`` reads as usual and imports SimpleITK the first time it runs.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .i18n import tr as _


class LazyModule:
    """Stands for a module until an attribute is read; then the module is imported and answers."""

    def __init__(self, name: str) -> None:
        self._name = name

    def module(self) -> ModuleType:
        return importlib.import_module(self._name)  # a dictionary lookup once imported

    def __getattr__(self, attribute: str):
        return getattr(self.module(), attribute)

    def __repr__(self) -> str:
        return f"<{self._name}, imported on first use>"  # not translated: a repr


def lazy_module(name: str) -> LazyModule:
    return LazyModule(name)
