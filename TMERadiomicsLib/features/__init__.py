"""Feature extraction: presets and one-pass extraction of all regions of a case."""

from .extract import extract_case
from .presets import Preset, list_presets, load_preset
from .tables import CaseFeatures

__all__ = ["CaseFeatures", "Preset", "extract_case", "list_presets", "load_preset"]
