"""Where the presets and models are, from source and once installed; listed from their files.

The panel's own files (``Resources/UI/TMERadiomics.ui``, the icon) sit in the
module folder and are read with ``self.resourcePath`` as in Slicer's template.
The presets and models are shared with the library: from source they are in
the top-level ``Resources/`` beside the module folder ``TMERadiomics/``;
installed, the module's and the library's ``Resources/`` are the same folder
in Slicer's qt-scripted-modules folder. Presets and bundled models are listed by their
file names and ``manifest.json`` (read with ``json``), not through the
library, whose loaders need PyYAML, scikit-learn and skops: the panel must
open in a Slicer that has none of them.
"""

from __future__ import annotations

import json
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parent.parent
PRESET_SUFFIX = ".yaml"


def resources_folder() -> Path:
    """The folder holding ``Presets/`` and ``Models/``: installed layout first, then source layout."""
    for candidate in (MODULE_DIR / "Resources", MODULE_DIR.parent / "Resources"):
        if (candidate / "Presets").is_dir():
            return candidate
    raise ValueError(f"the TMERadiomics presets folder (Resources/Presets) is missing next to {MODULE_DIR}")


def presets() -> list[str]:
    """Names of the bundled presets (``Resources/Presets/<name>.yaml``), sorted."""
    folder = resources_folder() / "Presets"
    return sorted(path.stem for path in folder.glob(f"*{PRESET_SUFFIX}"))


def bundled_models() -> list[Path]:
    """Folders of the bundled models (``Resources/Models/<name>/manifest.json``), sorted by name."""
    folder = resources_folder() / "Models"
    return sorted(path.parent for path in folder.glob("*/manifest.json"))


def model_description(folder: Path) -> str:
    """One line for a model's tooltip from its manifest: name, score, calibration state."""
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"{folder}: unreadable manifest.json ({error})"
    # As Manifest.calibrated: published signatures without their cohort's means and sd are marked so.
    normalisation = manifest.get("normalisation") or {}
    calibrated = ("needs calibration on a reference cohort" if normalisation.get("status") == "not-published"
                  else "calibrated")
    return f"{manifest.get('name', Path(folder).name)} ({manifest.get('score', 'score')}, {calibrated}): {folder}"
