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
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .i18n import tr as _

MODULE_DIR = Path(__file__).resolve().parent.parent
PRESET_SUFFIX = ".yaml"


def resources_folder() -> Path:
    """The folder holding ``Presets/`` and ``Models/``: installed layout first, then source layout."""
    for candidate in (MODULE_DIR / "Resources", MODULE_DIR.parent / "Resources"):
        if (candidate / "Presets").is_dir():
            return candidate
    raise ValueError(_("the TMERadiomics presets folder (Resources/Presets) is missing next to {folder}").format(
        folder=MODULE_DIR))


def presets() -> list[str]:
    """Names of the bundled presets (``Resources/Presets/<name>.yaml``), sorted."""
    folder = resources_folder() / "Presets"
    return sorted(path.stem for path in folder.glob(f"*{PRESET_SUFFIX}"))


def bundled_models() -> list[Path]:
    """Folders of the bundled models (``Resources/Models/<name>/manifest.json``), sorted by name."""
    folder = resources_folder() / "Models"
    return sorted(path.parent for path in folder.glob("*/manifest.json"))


@dataclass(frozen=True)
class ModelEntry:
    """How the panel lists one model bundle: its label, its tooltip, and whether it can be applied."""

    folder: Path
    label: str  # e.g. "qian2024-combined (uncalibrated, published)"
    tooltip: str
    usable: bool  # False: shown greyed out, with the reason in the tooltip


CALIBRATE_HINT = ("To use it, calibrate a copy on a reference cohort's features:\n"
                  "  tmeradiomics calibrate {name} COHORT_FEATURES.csv --out FOLDER\n"
                  "then add FOLDER with 'Add model bundle folder...'.")


def model_entry(folder: Path) -> ModelEntry:
    """The list entry of the bundle in ``folder``, from its ``manifest.json`` alone (read with ``json``).

    As ``Manifest.calibrated``: a published signature whose normalisation is
    ``not-published`` has neither its cohort's means and sds nor a threshold,
    so it cannot give risk groups until ``tmeradiomics calibrate`` has been run
    on a reference cohort. A calibrated copy names that cohort, so the two
    entries can be told apart.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError(_("not a JSON object"))
    except (OSError, ValueError) as error:
        return ModelEntry(folder, f"{folder.name} (unreadable)", f"{path}: unreadable manifest.json ({error})", False)
    name = str(manifest.get("name") or folder.name)
    score = manifest.get("score", "score")
    normalisation = manifest.get("normalisation") or {}
    status = normalisation.get("status")
    if status == "not-published":
        return ModelEntry(folder, f"{name} (uncalibrated, published)",
                          f"{name} ({score}): published coefficients without the cohort's feature means and sds, "
                          f"so it gives no risk groups yet.\n{CALIBRATE_HINT.format(name=name)}\n{folder}", False)
    if status == "calibrated":
        cohort, size = normalisation.get("cohort_file"), normalisation.get("cohort_size")
        saved = date.fromtimestamp(path.stat().st_mtime).isoformat()
        where = ", ".join(str(part) for part in (cohort, f"n={size}" if size else None) if part)
        source = f"calibrated on {where}" if cohort else f"calibrated, {where or 'cohort unnamed'}"
        label = f"{name} ({source}, {saved})"
        return ModelEntry(folder, label,
                          f"{name} ({score}): calibrated on {where or 'a reference cohort'}; bundle saved {saved}. "
                          f"Risk groups are relative to that cohort.\n{folder}", True)
    return ModelEntry(folder, f"{name} (trained)",
                      f"{name} ({score}): carries its training cohort's statistics.\n{folder}", True)
