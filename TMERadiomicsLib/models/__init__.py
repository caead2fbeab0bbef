"""Model bundles: manifest + estimator parameters, verified on load, scored on combined features.

The names below load on first use (PEP 562): ``bundle`` brings scikit-learn
and skops (about 3 s), which a batch without ``--models`` or the listing of
bundled models must not pay for.
"""

from __future__ import annotations

import importlib

# name -> submodule that defines it
_EXPORTS = {
    "FORMAT_VERSION": "manifest",
    "Manifest": "manifest",
    "ModelBundle": "bundle",
    "bundled_model": "resources",
    "calibrate": "calibration",
    "list_bundled_models": "resources",
    "load_bundle": "bundle",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # bound once; later lookups skip this hook
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
