"""A bare Slicer's Python: what the module needs to load, and nothing Slicer does not ship.

Runs in ``tasks.py``'s ``bare-5.8`` (Python 3.9), ``bare-5.10`` and ``bare-5.12`` (Python 3.12)
environments, which hold only what that Slicer ships (numpy, scipy, SimpleITK,
vtk at the versions of ../shared/slicer/README.md), PyRadiomics as
SlicerRadiomics ships it, and the rig; ``TMERADIOMICS_BARE_SLICER`` names the
release. Elsewhere (the 3.11 suite, where everything is installed) it skips.

- Slicer 5.12.3 on 3.12: the module file is imported and the panel set up on
  the rig (Slicer's runtime, slicer-core's MRML, Qt), with pandas,
  scikit-learn, PyYAML and skops absent for real; the panel names them.
- Slicer 5.8.1 on 3.9: slicer-core has no Python 3.9 wheel, so no MRML scene
  and no panel here (the panel on 5.8.1's runtime is test_slicer_widget.py's,
  on 3.11/3.12). What runs: every module and library file compiles on 3.9,
  the panel's dependency probe and preset/model listing (plain stdlib files)
  report the same missing packages, regions are built on 3.9's numpy 1.26,
  and PyRadiomics 3.1.0 computes features.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
TAG = os.environ.get("TMERADIOMICS_BARE_SLICER", "")
if not TAG:
    pytest.skip("runs in tasks.py's bare-5.8 / bare-5.10 / bare-5.12 jobs (TMERADIOMICS_BARE_SLICER unset)",
                allow_module_level=True)

PYTHON = {"v5.8.1": (3, 9), "v5.10.0": (3, 12), "v5.12.3": (3, 12)}[TAG]
CONSTRAINTS = REPO / "Testing" / "slicer_rig" / f"constraints-slicer-{TAG[1:]}.txt"
ABSENT = ("pandas", "scikit-learn", "PyYAML", "skops")


def installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def test_this_is_that_slicers_python():
    assert sys.version_info[:2] == PYTHON
    pins = dict(line.split("==") for line in CONSTRAINTS.read_text().splitlines() if "==" in line)
    for distribution in ("numpy", "scipy", "SimpleITK"):
        assert importlib.metadata.version(distribution) == pins[distribution], distribution
    assert [d for d in ABSENT if installed(d)] == []
    for name in ("pandas", "sklearn", "yaml", "skops"):
        assert importlib.util.find_spec(name) is None


def test_every_module_and_library_file_compiles_on_this_python():
    files = sorted((REPO / "TMERadiomics").rglob("*.py")) + sorted((REPO / "TMERadiomicsLib").rglob("*.py"))
    assert len(files) > 50
    for path in files:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


BARE_PACKAGE = "tmeradiomics_logic_bare"


def load_file(path: Path):
    """A stdlib-only file of TMERadiomicsLogic without its package's ``__init__`` (which imports MRML).

    It is loaded as a member of a bare package on the same folder, so its
    relative imports (``.i18n``) resolve, and must be stdlib-only too.
    """
    if BARE_PACKAGE not in sys.modules:
        package = types.ModuleType(BARE_PACKAGE)
        package.__path__ = [str(path.parent)]
        sys.modules[BARE_PACKAGE] = package
    qualified = f"{BARE_PACKAGE}.{path.stem}"
    spec = importlib.util.spec_from_file_location(qualified, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # as an import does: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_panels_probe_and_listings_work_here():
    logic = REPO / "TMERadiomics" / "TMERadiomicsLogic"
    dependencies = load_file(logic / "dependencies.py")
    resources = load_file(logic / "resources.py")
    missing = dependencies.missing_all()
    described = dependencies.describe(missing)
    for distribution in ABSENT:
        assert distribution in described
    assert "radiomics" not in missing, "PyRadiomics is here as SlicerRadiomics ships it"
    planned = dependencies.to_install(missing)  # requirement lines (and, newer, the --no-deps ones)
    lines = [line for part in planned for line in part] if isinstance(planned, tuple) else planned
    assert "pandas>=2.0,<3" in lines
    assert not any(line.lower().startswith(("numpy", "scipy", "simpleitk")) for line in lines)
    assert resources.presets() == sorted(p.stem for p in (REPO / "Resources" / "Presets").glob("*.yaml"))
    assert [p.name for p in resources.bundled_models()] == sorted(
        p.parent.name for p in (REPO / "Resources" / "Models").glob("*/manifest.json"))


def test_regions_on_this_numpy(monkeypatch):
    """Generate regions needs only what Slicer ships: the library's regions on a sphere, against geometry."""
    import SimpleITK as sitk

    monkeypatch.syspath_prepend(str(REPO))
    from TMERadiomicsLib import regions

    size, radius = 41, 8.0
    zz, yy, xx = np.mgrid[:size, :size, :size]
    sphere = ((zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2 <= radius ** 2).astype(np.uint8)
    tumour = sitk.GetImageFromArray(sphere)
    tumour.SetSpacing((1.0, 1.0, 1.0))
    result = regions.build(tumour, peritumoral_mm=5.0, ring_mm=2.0)
    assert result.summary["intratumoral"].voxels == int(sphere.sum())
    peritumoral = sitk.GetArrayFromImage(result.masks["peritumoral"]).astype(bool)
    distance = np.sqrt((zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2)
    # A shell 5 mm thick around a radius-8 ball: its voxels lie between the two radii.
    assert distance[peritumoral].min() > radius - 0.5 and distance[peritumoral].max() <= radius + 5.0 + 1.0
    shell = 4 / 3 * np.pi * ((radius + 5.0) ** 3 - radius ** 3)
    assert abs(peritumoral.sum() - shell) / shell < 0.1


def test_pyradiomics_as_slicerradiomics_ships_it():
    import radiomics
    import SimpleITK as sitk
    from radiomics import featureextractor

    assert radiomics.__version__.lstrip("v").startswith("3.1")
    rng = np.random.default_rng(0)
    array = rng.normal(100.0, 15.0, (20, 20, 20))
    mask = np.zeros(array.shape, np.uint8)
    mask[5:15, 5:15, 5:15] = 1
    extractor = featureextractor.RadiomicsFeatureExtractor(binWidth=25)
    extractor.disableAllFeatures()
    extractor.enableFeatureClassByName("firstorder")
    extractor.enableFeatureClassByName("shape")
    result = extractor.execute(sitk.GetImageFromArray(array), sitk.GetImageFromArray(mask))
    assert float(result["original_firstorder_Mean"]) == pytest.approx(array[mask == 1].mean(), rel=1e-9)
    assert float(result["original_shape_VoxelVolume"]) == 1000.0


@pytest.mark.skipif(sys.version_info < (3, 10), reason="slicer-core has no Python 3.9 wheel: no MRML scene here")
def test_panel_sets_up_in_a_bare_slicer():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO / "Testing"))
    from slicer_rig import runtime

    rig = runtime.install(TAG)
    try:
        rig.load_module()
        widget = rig.create_widget()
        rig.enter()
        ui = widget.ui
        assert sorted({n.split(".")[0] for n in sys.modules} & {"pandas", "sklearn", "yaml", "skops"}) == []
        missing = [line for line in ui.blockedReasonLabel.text.splitlines() if line.startswith("Missing Python")]
        assert len(missing) == 1
        for distribution in ABSENT:
            assert distribution in missing[0]
        assert "pyradiomics" not in missing[0].lower()
        assert ui.installDependenciesButton.visible
        assert ui.presetComboBox.currentText == "qian2024"
        assert rig.dialogs == [] and rig.slot_errors == []
    finally:
        rig.uninstall()


@pytest.mark.skipif(sys.version_info < (3, 10), reason="slicer-core has no Python 3.9 wheel: no MRML scene here")
def test_self_test_checks_regions_here_and_skips_only_features():
    """What ctest runs on a build machine, which has this bare Slicer's packages."""
    import unittest

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO / "Testing"))
    from slicer_rig import runtime

    rig = runtime.install(TAG)
    try:
        module = rig.load_module()
        result = unittest.TextTestRunner(stream=open(os.devnull, "w")).run(
            unittest.TestLoader().loadTestsFromTestCase(module.TMERadiomicsTest))
        assert result.testsRun == 2 and not result.failures and not result.errors, result.failures + result.errors
        assert [test.id().rsplit(".", 1)[-1] for test, _ in result.skipped] == ["test_TMERadiomics_features"]
        # Slicer 5.12 added slicer.packaging (pip_ensure); 5.8 and 5.10 install through slicer.util.pip_install.
        assert (importlib.util.find_spec("slicer.packaging") is not None) == (TAG == "v5.12.3")
    finally:
        rig.uninstall()
