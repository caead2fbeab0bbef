"""Feature extraction: presets and one-pass extraction of all regions of a case."""

from .. import quiet_radiomics

quiet_radiomics()  # before any module below imports PyRadiomics

from .extract import extract_case  # noqa: E402
from .presets import Preset, list_presets, load_preset  # noqa: E402
from .tables import CaseFeatures  # noqa: E402

__all__ = ["CaseFeatures", "Preset", "extract_case", "list_presets", "load_preset"]
