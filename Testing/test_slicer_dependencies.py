"""What the Slicer module needs at load, what its panel installs, and how.

The module must load and open its panel in a Slicer that ships only numpy,
scipy, SimpleITK and vtk; the install button must install just what the
panel's actions import, never replacing Slicer's own numpy and scipy.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "TMERadiomics"))

from TMERadiomicsLogic import dependencies  # noqa: E402

NOT_IN_SLICER = ("pandas", "yaml", "sklearn", "skops", "skimage", "radiomics", "tqdm", "pykwalify", "pywt")
CLI_ONLY = ("lifelines", "statsmodels", "matplotlib", "dask", "distributed")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_logic_loads_and_lists_presets_and_models_without_extra_packages():
    """Every package Slicer lacks is made unimportable; the Logic still loads and names each one as missing."""
    result = run_python(f"""
        import sys
        for name in {NOT_IN_SLICER!r}:
            sys.modules[name] = None  # what an absent package looks like to import
        sys.path.insert(0, "TMERadiomics")
        import TMERadiomicsLogic
        from TMERadiomicsLogic import dependencies, resources
        print(resources.presets())
        print([p.name for p in resources.bundled_models()])
        print(dependencies.missing_all())
        print(sorted(m for m in sys.modules if m.startswith("TMERadiomicsLib")))
    """)
    assert result.returncode == 0, result.stderr
    presets, models, missing, library = result.stdout.splitlines()
    assert presets == str(sorted(p.stem for p in (ROOT / "Resources" / "Presets").glob("*.yaml")))
    assert models == str(sorted(p.parent.name for p in (ROOT / "Resources" / "Models").glob("*/manifest.json")))
    assert missing == str(sorted(["pandas", "yaml", "sklearn", "skops", "skimage", "radiomics", "tqdm"]))
    assert library == "[]"  # the library is imported by the actions only


def test_the_panel_needs_none_of_the_cli_only_packages():
    """The library modules behind every panel action import with lifelines, statsmodels, matplotlib, dask gone."""
    result = run_python(f"""
        import sys
        for name in {CLI_ONLY!r}:
            sys.modules[name] = None
        import TMERadiomicsLib.regions, TMERadiomicsLib.features.extract, TMERadiomicsLib.models
        import TMERadiomicsLib.store.files, TMERadiomicsLib.store.extraction
        import TMERadiomicsLib.reproducibility.stability, TMERadiomicsLib.io.images, TMERadiomicsLib.outputs
        import TMERadiomicsLib.models.tables
        print("ok")
    """)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_requirements_list_only_what_the_panel_imports():
    wanted = dependencies.requirements_by_distribution()
    assert set(wanted) == set(dependencies.DISTRIBUTIONS.values())
    for name in ("lifelines", "statsmodels", "matplotlib", "dask", "numpy", "scipy", "SimpleITK"):
        assert not any(d.lower().startswith(name.lower()) for d in wanted), name
    needed = {name for step in dependencies.NEEDED.values() for name in step} - set(dependencies.SHIPPED)
    assert needed == set(dependencies.DISTRIBUTIONS)


def test_requirements_follow_the_library_bounds():
    """The panel asks for the versions the project's own dependencies allow (e.g. scikit-learn)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for line in dependencies.requirements():
        assert f'"{line}"' in text, f"{line} differs from pyproject.toml's dependencies"


def test_pyradiomics_dependencies_beyond_slicers_are_installed_by_name():
    """What --no-deps leaves out of pyradiomics-bhklab must be Slicer's packages or installed by name."""
    import importlib.metadata
    import re

    requires = importlib.metadata.requires("pyradiomics-bhklab") or []
    needed = {re.split(r"[<>=!~\[;\s]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r}
    from_slicer = needed - set(dependencies.RADIOMICS_DEPENDENCIES)
    assert from_slicer == {"numpy", "SimpleITK"} and from_slicer <= set(dependencies.SHIPPED)
    assert set(dependencies.RADIOMICS_DEPENDENCIES) <= needed


def test_installing_never_replaces_slicers_numpy_scipy_simpleitk():
    pins = dependencies.constraints()
    import importlib.metadata

    for name in ("numpy", "scipy", "SimpleITK"):
        assert f"{name}=={importlib.metadata.version(name)}" in pins
    with pytest.raises(ValueError, match="should come with Slicer"):
        dependencies.to_install(["numpy", "pandas"])
    # PyRadiomics asks pip for numpy and SimpleITK: it goes in without its dependencies, the others by name.
    assert dependencies.to_install(["sklearn", "radiomics"]) == (
        ["scikit-learn>=1.3.2", "PyWavelets", "pykwalify", "six"], ["pyradiomics-bhklab>=3.1.4"])
    assert dependencies.to_install(["pandas"]) == (["pandas>=2.0,<3"], [])


def test_a_missing_package_is_named_with_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "skops", None)
    monkeypatch.setitem(sys.modules, "radiomics", None)
    assert dependencies.missing("models") == ["skops"]
    assert dependencies.missing("features") == ["radiomics"]
    monkeypatch.setattr(sys, "platform", "darwin")
    text = dependencies.describe(["skops", "radiomics"])
    assert text.startswith("skops; PyRadiomics (radiomics): SlicerRadiomics has no macOS package")
    assert "xcode-select --install" in text
    monkeypatch.setattr(sys, "platform", "win32")
    assert "install the SlicerRadiomics extension" in dependencies.describe(["radiomics"])
    with pytest.raises(ValueError, match="missing Python packages for models: skops"):
        dependencies.require("models")


def test_nothing_is_missing_in_the_development_environment():
    assert dependencies.missing_all() == []
