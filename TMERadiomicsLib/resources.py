"""Where the bundled resources (presets, models) are found.

The repository keeps them in the top-level ``Resources/`` folder, next to
``TMERadiomicsLib/``; the Slicer extension installs them beside the library in
the same layout. ``TMERADIOMICS_RESOURCES`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def resources_dir() -> Path:
    """The folder holding ``Presets/`` and ``Models/``."""
    override = os.environ.get("TMERADIOMICS_RESOURCES")
    if override:
        path = Path(override)
    else:
        path = Path(__file__).resolve().parent.parent / "Resources"
    if not path.is_dir():
        raise InputError(
            "bundled resources folder not found; set TMERADIOMICS_RESOURCES", file=path
        )
    return path
