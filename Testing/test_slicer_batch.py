"""The headless batch script, run on slicer-core: the same Logic calls, files in, tables out."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("slicer", reason="slicer-core is not installed")

from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.imageio import read_image, read_mask  # noqa: E402
from TMERadiomicsLib.phantom import make_phantom, write_phantom  # noqa: E402

pytestmark = pytest.mark.slicer
SCRIPT = Path(__file__).resolve().parent.parent / "TMERadiomics" / "Scripts" / "batch.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    (folder / "p4").mkdir()
    write_phantom(make_phantom("small", seed=4), folder / "p4")
    manifest = pd.DataFrame({
        "case_id": ["A", "B"],
        "image": ["p4/image.nrrd", "p4/image.nrrd"],
        "tumour": ["p4/tumour.nrrd", "p4/missing.nrrd"],
        "exclusions": ["p4/vessels.nrrd", ""],
    })
    manifest.to_csv(folder / "manifest.csv", index=False)
    result = subprocess.run([sys.executable, str(SCRIPT), str(folder / "manifest.csv"), "--out", str(folder / "out"),
                             "--preset", "default"], capture_output=True, text=True, timeout=300)
    return folder, result


def test_exit_status_and_outputs(run):
    folder, result = run
    assert result.returncode == 1, result.stderr  # one case failed
    assert "1 case(s) done, 1 failed" in result.stdout
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["failures.csv", "features.csv", "scores.csv"]
    failures = pd.read_csv(folder / "out" / "failures.csv")
    assert failures["case_id"].tolist() == ["B"] and "missing.nrrd" in failures["reason"].iloc[0]


def test_features_match_the_library(run):
    folder, _ = run
    from TMERadiomicsLib.features.extract import extract_case

    image = read_image(folder / "p4" / "image.nrrd")
    tumour = read_mask(folder / "p4" / "tumour.nrrd", reference=image)
    vessels = read_mask(folder / "p4" / "vessels.nrrd", reference=image)
    expected = extract_case(image, regions.build(tumour, image, exclusions=[vessels]).masks, "default",
                            case_id="A").combined()
    got = pd.read_csv(folder / "out" / "features.csv", dtype={"case_id": str})
    assert list(got.columns) == list(expected.columns)
    assert got["case_id"].tolist() == ["A"]
    np.testing.assert_allclose(got.iloc[0, 3:].to_numpy(float), expected.iloc[0, 3:].to_numpy(float), rtol=1e-12)
