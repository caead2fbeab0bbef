"""Feature reproducibility: ICC, contour perturbation and the stable-feature set.

``icc`` computes the coefficients, ``stability`` applies them to a study's
features per region and feature, ``perturbation`` makes seeded re-contours
when no second reader exists. See ``docs/reproducibility.md``.
"""

from .icc import ICCResult, icc
from .perturbation import PerturbationSettings, perturbation_features, perturbed_masks
from .stability import Reliability, reliability, stable_list_text

__all__ = [
    "ICCResult",
    "PerturbationSettings",
    "Reliability",
    "icc",
    "perturbation_features",
    "perturbed_masks",
    "reliability",
    "stable_list_text",
]
