"""Model bundles: manifest + estimator parameters, verified on load, scored on combined features."""

from .bundle import ModelBundle, load_bundle
from .calibrate import calibrate
from .manifest import FORMAT_VERSION, Manifest
from .resources import bundled_model, list_bundled_models

__all__ = [
    "FORMAT_VERSION",
    "Manifest",
    "ModelBundle",
    "bundled_model",
    "calibrate",
    "list_bundled_models",
    "load_bundle",
]
