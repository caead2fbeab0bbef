"""Shared pytest fixtures: where the real test data lives.

The PyRadiomics cases and the IBSI-1 phantom are not copied into this
repository. They are found in ``../shared/data`` (beside the clone, as on CI
and every developer machine) or in the folder named by
``TMERADIOMICS_SHARED_DATA``. When neither exists, the tests that need them
skip and say what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parent.parent


def _shared_data_dir() -> Path | None:
    candidates = [os.environ.get("TMERADIOMICS_SHARED_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared test-data folder (``pyradiomics/``, ``ibsi/``)."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip(
            "real test data missing: neither $TMERADIOMICS_SHARED_DATA nor "
            f"{REPO.parent / 'shared' / 'data'} exists"
        )
    return path


@pytest.fixture(scope="session")
def pyradiomics_data(shared_data: Path) -> Path:
    """PyRadiomics' breast1/brain1/lung1 cases and their baseline CSVs."""
    path = shared_data / "pyradiomics"
    if not (path / "baseline").is_dir():
        pytest.skip(f"PyRadiomics test cases missing: {path / 'baseline'} does not exist")
    return path


@pytest.fixture(scope="session")
def ibsi_data(shared_data: Path) -> Path:
    """The IBSI-1 digital phantom and its reference values."""
    path = shared_data / "ibsi"
    if not (path / "ibsi1_digital_phantom").is_dir():
        pytest.skip(f"IBSI-1 digital phantom missing: {path} does not exist")
    return path


@pytest.fixture(scope="module")
def case_files(tmp_path_factory) -> Path:
    """A small phantom case on disk: ``P1.nrrd`` (image) and ``P1_tumour.nrrd``."""
    import SimpleITK as sitk

    from TMERadiomicsLib.cohort.phantom import make_phantom

    folder = tmp_path_factory.mktemp("case")
    phantom = make_phantom("small", seed=1)
    sitk.WriteImage(phantom.image(), str(folder / "P1.nrrd"))
    sitk.WriteImage(phantom.tumour, str(folder / "P1_tumour.nrrd"))
    return folder


# Run last: the demo's module, whose fixture (the whole demo, two batch workers) is a third of the
# suite. ``tasks.py test`` runs the Slicer compatibility jobs beside this suite on the machine's two
# cores; they end about when the rest of the suite does, so the demo then has both cores to itself
# instead of sharing them three ways (1,045 s -> see docs/developing.md, "Suite time").
LAST_MODULES = ("test_demo.py",)


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: item.path.name in LAST_MODULES)  # stable: the order within each part holds
