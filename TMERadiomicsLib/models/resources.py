"""Where the bundled models live: ``Resources/Models/<name>/``."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..resources import resources_dir


def models_dir() -> Path:
    return resources_dir() / "Models"


def list_bundled_models() -> list[str]:
    folder = models_dir()
    return sorted(p.name for p in folder.iterdir() if (p / "manifest.json").is_file()) if folder.is_dir() else []


def bundled_model(name: str) -> Path:
    """The folder of a bundled model by name."""
    path = models_dir() / name
    if not (path / "manifest.json").is_file():
        raise InputError(f"unknown bundled model {name!r}; bundled: {', '.join(list_bundled_models()) or 'none'}")
    return path


def bundle_path(name_or_path: str) -> Path:
    """A bundle folder given by path, or a bundled model given by name."""
    path = Path(name_or_path)
    if path.is_dir() or "/" in name_or_path or name_or_path.startswith("."):
        return path
    return bundled_model(name_or_path)
