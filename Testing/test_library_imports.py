"""Every library module imports on this Python (the 3.9 and 3.12 jobs run this first).

Slicer 5.8 runs Python 3.9: a module-level ``X | Y`` alias, a ``match``
statement or a 3.10+ import raises there at import time, which the library's
other tests would only meet module by module.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import TMERadiomicsLib

MODULES = sorted(m.name for m in pkgutil.walk_packages(TMERadiomicsLib.__path__, "TMERadiomicsLib.")
                 if not m.name.endswith(".__main__"))  # runs the CLI


def test_the_library_has_its_modules():
    assert len(MODULES) > 50
    assert "TMERadiomicsLib.io.images" in MODULES and "TMERadiomicsLib.models.bundle" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_module_imports(name):
    importlib.import_module(name)
