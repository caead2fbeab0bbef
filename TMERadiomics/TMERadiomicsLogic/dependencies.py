"""Which Python packages the panel needs, which are missing, and how to install them.

Everything here is found without importing the packages themselves
(``importlib.util.find_spec`` and ``importlib.metadata``): the module must
load, and its panel must open, in a Slicer that has none of them. A missing
package is then a clear ValueError naming it before any work starts, never
an ImportError half-way through with the scene half-changed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

from .i18n import tr as _

REQUIREMENTS_FILE = Path(__file__).with_name("requirements.txt")

# import name -> distribution name in requirements.txt. numpy, scipy and
# SimpleITK ship with Slicer and are never installed by the panel.
DISTRIBUTIONS = {
    "pandas": "pandas",
    "yaml": "PyYAML",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "skops": "skops",
    "tqdm": "tqdm",
    "radiomics": "pyradiomics-bhklab",
}
SHIPPED = ("numpy", "scipy", "SimpleITK")
# pyradiomics-bhklab is installed without its dependencies (pip --no-deps): it
# asks for numpy and SimpleITK, which Slicer ships (5.8's SimpleITK is built in,
# without the metadata pip looks for, so pip would add a second copy). Its other
# dependencies are installed as usual.
NO_DEPS = ("pyradiomics-bhklab",)
RADIOMICS_DEPENDENCIES = ("PyWavelets", "pykwalify", "six")
NEEDED = {
    "regions": ("SimpleITK", "numpy", "scipy"),
    "features": ("SimpleITK", "numpy", "scipy", "pandas", "yaml", "radiomics", "skimage"),
    "models": ("numpy", "pandas", "sklearn", "skops"),
    "study": ("SimpleITK", "numpy", "scipy", "pandas", "tqdm"),
}
RADIOMICS_HELP = {
    "win32": "install the SlicerRadiomics extension (Extensions Manager), or let the panel install "
             "pyradiomics-bhklab",
    "linux": "install the SlicerRadiomics extension (Extensions Manager), or let the panel install "
             "pyradiomics-bhklab",
    "darwin": "SlicerRadiomics has no macOS package: let the panel install pyradiomics-bhklab "
              "(pip builds it from source where PyPI has no wheel; that needs Xcode's command line "
              "tools: xcode-select --install)",
}


def importable(name: str) -> bool:
    """Whether ``import name`` would find the package, without importing it."""
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing(step: str) -> list[str]:
    """Import names needed for ``step`` that are absent (or installed at a version the panel cannot use)."""
    wanted = requirements_by_distribution()
    absent = []
    for name in NEEDED[step]:
        if not importable(name):
            absent.append(name)
        elif name in DISTRIBUTIONS and name != "radiomics" and not _version_ok(wanted[DISTRIBUTIONS[name]]):
            absent.append(name)
    return absent


def missing_all() -> list[str]:
    """Import names missing for any of the panel's steps, sorted."""
    return sorted({name for step in NEEDED for name in missing(step)})


def require(step: str) -> None:
    """ValueError naming what to install when a package for ``step`` is missing."""
    absent = missing(step)
    if absent:
        raise ValueError(_("missing Python packages for {step}: {packages}. Install them from the TMERadiomics panel "
                           "(Install missing Python packages...)").format(step=step, packages=describe(absent)))


def describe(names: list[str]) -> str:
    """The missing import names as the user should read them: distribution names, PyRadiomics explained."""
    shown = ", ".join(DISTRIBUTIONS.get(name, name) for name in names if name != "radiomics")
    if "radiomics" in names:
        how = RADIOMICS_HELP.get(sys.platform, RADIOMICS_HELP["linux"])
        shown = "; ".join(filter(None, [shown, f"PyRadiomics (radiomics): {how}"]))
    return shown


def requirements() -> list[str]:
    """The requirement lines of ``requirements.txt`` (comments dropped)."""
    lines = REQUIREMENTS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def requirements_by_distribution() -> dict[str, str]:
    return {_distribution(line): line for line in requirements()}


def to_install(names: list[str]) -> tuple[list[str], list[str]]:
    """(requirement lines, lines to install with ``--no-deps``) that provide the missing import names.

    Slicer's own packages are never among them.
    """
    wanted = requirements_by_distribution()
    shipped = [name for name in names if name in SHIPPED]
    if shipped:
        raise ValueError(_("{packages} should come with Slicer; reinstall Slicer rather than installing them into it")
                         .format(packages=", ".join(shipped)))
    lines = [wanted[DISTRIBUTIONS[name]] for name in names]
    no_deps = [line for line in lines if _distribution(line) in NO_DEPS]
    lines = [line for line in lines if line not in no_deps]
    if "radiomics" in names:
        lines += list(RADIOMICS_DEPENDENCIES)
    return lines, no_deps


def constraints() -> list[str]:
    """Pins of the packages Slicer ships, at their installed versions: pip may not replace them."""
    pins = []
    for distribution in ("numpy", "scipy", "SimpleITK"):
        version = installed_version(distribution)
        if version:
            pins.append(f"{distribution}=={version}")  # not translated: a pip requirement
    return pins


@functools.lru_cache(maxsize=None)  # the panel asks on every update; forget() after installing
def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def forget() -> None:
    """Drop what was learnt about installed packages (call after installing)."""
    installed_version.cache_clear()
    importlib.invalidate_caches()


def _distribution(line: str) -> str:
    return re.split(r"[<>=!~\[;\s]", line, maxsplit=1)[0]


def _version_ok(line: str) -> bool:
    """Whether the installed distribution satisfies ``line``; True when that cannot be told.

    ``packaging`` ships with Slicer (and pip); without it, presence is enough.
    """
    version = installed_version(_distribution(line))
    if version is None:
        return True  # importable without metadata (e.g. on sys.path by an extension)
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return True
    return Requirement(line).specifier.contains(version, prereleases=True)
