"""Harmonisation of features across sites and scanners: ComBat (docs/harmonisation.md).

``fit_combat`` estimates the site effects of a feature table, ``ComBatModel.apply``
removes them from any cases of the fitted sites (one case included), and
``to_json``/``from_json``/``read_combat`` keep the estimates as plain JSON.
"""

from __future__ import annotations

from .combat import ComBatModel, fit_combat
from .combat_json import FORMAT_VERSION, model_from_dict, model_to_dict, read_combat

__all__ = ["FORMAT_VERSION", "ComBatModel", "fit_combat", "model_from_dict", "model_to_dict", "read_combat"]
