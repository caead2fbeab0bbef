"""Feature extraction: presets and one-pass extraction of all regions of a case."""

import logging

# PyRadiomics resets its logger to INFO when first imported (below); keep the
# level the application chose before that, e.g. the CLI's ERROR (INFO with -v).
_radiomics_level = logging.getLogger("radiomics").level

from .presets import Preset, list_presets, load_preset  # noqa: E402  (imports PyRadiomics)

if _radiomics_level != logging.NOTSET:
    logging.getLogger("radiomics").setLevel(_radiomics_level)

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
