"""The headless batch script, run on slicer-core: the same Logic calls, files in, tables out."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

slicer = pytest.importorskip("slicer", reason="slicer-core is not installed")

from TMERadiomicsLib import regions  # noqa: E402
from TMERadiomicsLib.io.images import read_image, read_mask  # noqa: E402
from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom  # noqa: E402

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


def load_script():
    """The batch script as a module (its ``__main__`` block does not run)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tmeradiomics_batch_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_any_failure_is_a_non_zero_status(tmp_path, monkeypatch, capsys):
    """A failure that is not a ValueError, injected into the batch run, still ends with status 1 and its cause."""
    script = load_script()
    import TMERadiomicsLogic.batch

    def fault(*args, **kwargs):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(TMERadiomicsLogic.batch, "run_batch", fault)
    status = script.guarded_main([str(tmp_path / "manifest.csv"), "--out", str(tmp_path / "out")])
    assert status == 1
    assert "RuntimeError: injected fault" in capsys.readouterr().err
    assert script.guarded_main(["--no-such-option"]) == 2


def test_a_case_failing_otherwise_than_bad_input_is_recorded_and_the_others_kept(run, tmp_path, monkeypatch):
    """One case's unexpected error (injected into the Logic for case A) goes to failures.csv; case C completes."""
    folder, _ = run
    import TMERadiomicsLogic.batch
    from TMERadiomicsLogic import TMERadiomicsLogic as Logic

    real = Logic.runAll

    def failing_for_a(self, volume, *args, **kwargs):
        if volume.GetName() == "A":
            raise RuntimeError("injected fault")
        return real(self, volume, *args, **kwargs)

    monkeypatch.setattr(Logic, "runAll", failing_for_a)
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame({"case_id": ["A", "C"], "image": [str(folder / "p4/image.nrrd")] * 2,
                  "tumour": [str(folder / "p4/tumour.nrrd")] * 2}).to_csv(manifest, index=False)
    scene = slicer.vtkMRMLScene()
    segmentations = slicer.vtkSlicerSegmentationsModuleLogic()
    segmentations.SetMRMLScene(scene)
    counts = TMERadiomicsLogic.batch.run_batch(manifest, tmp_path / "out", scene, preset="default")
    assert counts == {"done": 1, "failed": 1}
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert failures.to_dict("records") == [{"case_id": "A", "reason": "RuntimeError: injected fault"}]
    assert pd.read_csv(tmp_path / "out" / "features.csv")["case_id"].tolist() == ["C"]


def test_inside_slicer_the_script_leaves_through_slicer_util_exit(monkeypatch):
    """With an application (``slicer.app``), the status goes to ``slicer.util.exit``, which quits Slicer."""
    import slicer

    script = load_script()
    statuses = []
    monkeypatch.setattr(slicer, "app", object(), raising=False)
    monkeypatch.setattr(slicer.util, "exit", statuses.append, raising=False)
    script.leave(3)
    assert statuses == [3]
    monkeypatch.delattr(slicer, "app")
    with pytest.raises(SystemExit) as stop:
        script.leave(1)
    assert stop.value.code == 1 and statuses == [3]
