"""Where the panel's files are, from source and once installed.

From source the module folder is ``TMERadiomics/`` and ``Resources/`` sits
beside it; installed, both the module and ``Resources/`` are in Slicer's
qt-scripted-modules folder. The library's own ``resources_dir`` finds the
presets and models in both layouts.
"""

from __future__ import annotations

from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent.parent


def resources_folder() -> Path:
    for candidate in (MODULE_DIR / "Resources", MODULE_DIR.parent / "Resources"):
        if (candidate / "UI").is_dir():
            return candidate
    raise ValueError(f"the TMERadiomics Resources folder is missing next to {MODULE_DIR}")


def ui_file() -> Path:
    return resources_folder() / "UI" / "TMERadiomics.ui"


def presets() -> list[str]:
    from TMERadiomicsLib.features.presets import list_presets

    return list_presets()


def bundled_models() -> list[Path]:
    from TMERadiomicsLib.models.resources import bundled_model, list_bundled_models

    return [bundled_model(name) for name in list_bundled_models()]
