"""Which Python packages the Logic needs and which of them are missing.

Checked before any work, so that a missing package is a clear ValueError
naming the packages (and the Widget's offer to install them), never an
ImportError half-way through with the scene half-changed.
"""

from __future__ import annotations

import importlib
from pathlib import Path

REQUIREMENTS_FILE = Path(__file__).with_name("requirements.txt")

# import name -> what to install; radiomics is SlicerRadiomics' inside Slicer.
PACKAGES = {
    "SimpleITK": "SimpleITK",
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas<3",
    "yaml": "PyYAML",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "skops": "skops",
    "tqdm": "tqdm",
    "radiomics": "the SlicerRadiomics extension",
}
NEEDED = {
    "regions": ("SimpleITK", "numpy", "scipy"),
    "features": ("SimpleITK", "numpy", "scipy", "pandas", "yaml", "radiomics", "skimage"),
    "models": ("numpy", "pandas", "sklearn", "skops"),
    "study": ("SimpleITK", "numpy", "scipy", "pandas", "tqdm"),
}


def missing(step: str) -> list[str]:
    """Import names needed for ``step`` that cannot be imported."""
    absent = []
    for name in NEEDED[step]:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def require(step: str) -> None:
    """ValueError naming what to install when a package for ``step`` is missing."""
    absent = missing(step)
    if absent:
        wanted = ", ".join(PACKAGES[name] for name in absent)
        raise ValueError(
            f"missing Python packages for {step}: {wanted}. Install them from the TMERadiomics panel "
            f"(or slicer.util.pip_install with {REQUIREMENTS_FILE.name})"
        )


def requirements() -> list[str]:
    """The requirement lines of ``requirements.txt`` (comments dropped)."""
    lines = REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
