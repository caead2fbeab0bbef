"""Feature extraction: presets and one-pass extraction of all regions of a case."""

from .. import quiet_radiomics

quiet_radiomics()  # before any module below imports PyRadiomics

from .presets import Preset, list_presets, load_preset  # noqa: E402

__all__ = ["CaseFeatures", "Preset", "extract_case", "list_presets", "load_preset"]


def __getattr__(name: str):
    # Extraction loads pandas and the texture code; ``tmeradiomics presets``
    # only needs the presets, so those load on first use (PEP 562).
    if name == "extract_case":
        from .extract import extract_case

        return extract_case
    if name == "CaseFeatures":
        from .tables import CaseFeatures

        return CaseFeatures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
