"""Feature extraction: presets and one-pass extraction of all regions of a case."""

from .presets import Preset, list_presets, load_preset

__all__ = ["Preset", "list_presets", "load_preset"]
