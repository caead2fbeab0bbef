"""The TMERadiomics panel, driven as a user would, on Slicer's own Python runtime (the rig).

``TMERadiomics.py`` runs on Slicer's real ``ScriptedLoadableModule``,
``parameterNodeWrapper`` and ``slicer.util`` (``../shared/slicer/<tag>``, in
place), slicer-core's real MRML scene and real Qt widgets (PySide6,
offscreen) built by Qt's own UI loader from ``TMERadiomics/Resources/UI/TMERadiomics.ui``;
the five Slicer/CTK Designer widgets are stand-ins generated from their real
headers. See ``Testing/slicer_rig/`` and the "Test rig" section of docs/slicer.md.

"Bare" tests run the panel as a stock Slicer has it: pandas, scikit-learn,
PyYAML, skops (and everything else Slicer does not ship) refuse to import.
The last tests feed the rig deliberately broken copies of the module and
check that it rejects each one.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6", reason="PySide6-Essentials (the rig's Qt) is not installed")
pytest.importorskip("slicer_core", reason="slicer-core (the rig's MRML) is not installed")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from slicer_rig import runtime  # noqa: E402
from slicer_rig.headers import DESIGNER_WIDGETS, load_apis  # noqa: E402
from slicer_rig.pythonqt import PropertyError, SignalError, answer  # noqa: E402
from slicer_rig.standins import StandinError, build  # noqa: E402
from slicer_rig.uifile import UiError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TAGS = [tag for tag in runtime.TAGS if (runtime.shared_slicer(tag) / "python").is_dir()]
pytestmark = [pytest.mark.slicer]
if not TAGS:
    pytestmark.append(pytest.mark.skip(reason=f"Slicer's runtime missing: {runtime.shared_slicer()} has no release"))


@pytest.fixture(params=TAGS)
def bare(request):
    """A stock Slicer of that release: the panel loaded, nothing Slicer lacks importable."""
    rig = runtime.install(request.param)
    try:
        yield rig
    finally:
        rig.uninstall()


@pytest.fixture(params=TAGS)
def equipped(request):
    """The same Slicer after the panel's packages were installed (nothing refused)."""
    rig = runtime.install(request.param, blocked=())
    try:
        yield rig
    finally:
        rig.uninstall()


def open_panel(rig, module_dir: Path = REPO / "TMERadiomics"):
    if getattr(rig, "module", None) is None:
        rig.load_module(module_dir)
    widget = rig.create_widget()
    rig.enter()
    return widget, widget.ui


def add_case(rig, seed: int = 3, oblique: bool = True):
    """A phantom case in the rig's scene (oblique, off-origin), via the Logic's own scene helpers."""
    import SimpleITK as sitk

    if getattr(rig, "module", None) is None:
        rig.load_module()  # Slicer has imported the module (and put its folder on sys.path) at start-up
    from shapes import rotation
    from TMERadiomicsLib.cohort.phantom import make_phantom
    from TMERadiomicsLogic.scene import add_segmentation, add_volume

    phantom = make_phantom("small", seed=seed)
    images = [phantom.image(), phantom.tumour, phantom.vessels]
    if oblique:
        for image in images:
            image.SetDirection(rotation((1, 2, 3), 0.4))
            image.SetOrigin((-61.25, 37.5, -12.125))
    image, tumour, vessels = images
    scene = rig.slicer.mrmlScene
    volume = add_volume(scene, image, f"case-{seed}")
    segmentation, ids = add_segmentation(scene, volume, {"Tumour": tumour, "Vessels": vessels})
    return dict(image=image, tumour=tumour, vessels=vessels, volume=volume, segmentation=segmentation, ids=ids,
                voxel_volume=float(np.prod(image.GetSpacing())), tumour_voxels=int(sitk.GetArrayViewFromImage(
                    tumour).sum()))


def segment_names(segmentation) -> list:
    seg = segmentation.GetSegmentation()
    return [seg.GetNthSegment(i).GetName() for i in range(seg.GetNumberOfSegments())]


def scene_state(rig, segmentation=None) -> tuple:
    scene = rig.slicer.mrmlScene
    return scene.GetNumberOfNodes(), segment_names(segmentation) if segmentation else None


def parameter_nodes(rig) -> list:
    scene = rig.slicer.mrmlScene
    nodes = [scene.GetNthNodeByClass(i, "vtkMRMLScriptedModuleNode")
             for i in range(scene.GetNumberOfNodesByClass("vtkMRMLScriptedModuleNode"))]
    return [n for n in nodes if n.GetAttribute("ModuleName") == "TMERadiomics"]


def table_views(rig) -> list:
    scene = rig.slicer.mrmlScene
    return [scene.GetNthNodeByClass(i, "vtkMRMLTableViewNode")
            for i in range(scene.GetNumberOfNodesByClass("vtkMRMLTableViewNode"))]


def select_case(ui, case) -> None:
    ui.inputVolumeSelector.setCurrentNode(case["volume"])
    ui.tumorSegmentSelector.setCurrentNode(case["segmentation"])
    ui.tumorSegmentSelector.setCurrentSegmentID(case["ids"]["Tumour"])
    ui.exclusionSegmentSelector.setSelectedSegmentIDs([case["ids"]["Vessels"]])


# ---- a stock Slicer ------------------------------------------------------------------------


def test_setup_in_a_bare_slicer_reports_missing_packages(bare):
    widget, ui = open_panel(bare)
    imported = sorted({n.split(".")[0] for n in sys.modules} & set(runtime.NOT_IN_SLICER))
    assert imported == []
    assert [ui.presetComboBox.itemText(i) for i in range(ui.presetComboBox.count)] == sorted(
        p.stem for p in (REPO / "Resources" / "Presets").glob("*.yaml"))
    assert ui.presetComboBox.currentText == "qian2024"
    models = [ui.modelsListWidget.item(i).text() for i in range(ui.modelsListWidget.count)]
    assert models == [f"{p.parent.name} (uncalibrated, published)"
                      for p in sorted((REPO / "Resources" / "Models").glob("*/manifest.json"))]
    text = ui.blockedReasonLabel.text
    missing_line = [line for line in text.splitlines() if line.startswith("Missing Python packages")]
    assert len(missing_line) == 1
    for distribution in ("pandas", "PyYAML", "scikit-learn", "skops"):
        assert distribution in missing_line[0]
    assert ui.installDependenciesButton.visible
    assert not ui.generateRegionsButton.enabled and ui.generateRegionsButton.toolTip
    assert len(parameter_nodes(bare)) == 1
    assert bare.dialogs == []


# Loading a module and setting up its panel happen at every Slicer start-up (SimpleITK alone ~1 s).
LOADED_ON_FIRST_USE = ("SimpleITK", "radiomics")
_PROBE = """
import sys
from slicer_rig import runtime
rig = runtime.install(sys.argv[1], blocked=())
rig.load_module()
imported = [name for name in sys.argv[2:] if name in sys.modules]
widget = rig.create_widget()
rig.enter()
print(repr((imported, [name for name in sys.argv[2:] if name in sys.modules])))
"""


def test_loading_the_module_and_opening_the_panel_load_neither_simpleitk_nor_pyradiomics():
    """In a fresh interpreter (this one has them imported), every package installed, as Slicer starts."""
    import ast
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "Testing"), str(REPO)]),
               QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", _PROBE, TAGS[-1], *LOADED_ON_FIRST_USE], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    on_import, on_setup = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert on_import == [] and on_setup == []


_RUN_PROBE = """
import sys
from slicer_rig import runtime
rig = runtime.install(sys.argv[1], blocked=())
rig.load_module()
from TMERadiomicsLib.cohort.phantom import make_phantom
from TMERadiomicsLogic.scene import add_segmentation, add_volume
phantom = make_phantom("small", 3)
volume = add_volume(rig.slicer.mrmlScene, phantom.image(), "probe")
segmentation, ids = add_segmentation(rig.slicer.mrmlScene, volume, {"Tumour": phantom.tumour})
widget = rig.create_widget()
rig.enter()
ui = widget.ui
ui.presetComboBox.setCurrentText("default")
ui.inputVolumeSelector.setCurrentNode(volume)
ui.tumorSegmentSelector.setCurrentNode(segmentation)
ui.tumorSegmentSelector.setCurrentSegmentID(ids["Tumour"])
ui.generateRegionsButton.click()
ui.computeFeaturesButton.click()
rig.run_events_until(lambda: widget._running is None, seconds=240, interval=0.01)
table = ui.featuresTableSelector.currentNode()
print(repr(("pandas" in sys.modules, table.GetTable().GetNumberOfRows() if table else 0,
            [str(e) for e in rig.slot_errors], [d.get("text") for d in rig.dialogs])))
"""


def test_generate_regions_and_compute_features_never_import_pandas_on_the_gui_thread():
    """Importing pandas held the GUI thread 0.8 s when the first features table was written; it is not needed."""
    import ast
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "Testing"), str(REPO)]),
               QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", _RUN_PROBE, TAGS[-1]], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    pandas_loaded, rows, errors, dialogs = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert (errors, dialogs) == ([], []) and rows > 50
    assert not pandas_loaded


def test_enter_exit_scene_close_and_reopen(bare):
    case = add_case(bare)
    widget, ui = open_panel(bare)
    node = widget._parameterNode
    assert ui.inputVolumeSelector.currentNode() is case["volume"]
    assert node.inputVolume is case["volume"]
    ui.peritumoralMmSpinBox.value = 7.5  # GUI -> parameter node
    assert node.peritumoralMm == 7.5
    node.ringMm = 3.0  # parameter node -> GUI
    assert ui.ringMmSpinBox.value == 3.0

    bare.exit()
    ui.peritumoralMmSpinBox.value = 9.0
    assert node.peritumoralMm == 7.5, "the GUI stays disconnected after exit()"
    bare.enter()
    assert ui.peritumoralMmSpinBox.value == 7.5
    assert len(parameter_nodes(bare)) == 1

    bare.close_scene()
    node = widget._parameterNode
    assert node is not None and len(parameter_nodes(bare)) == 1
    assert node.peritumoralMm == 5.0 and ui.peritumoralMmSpinBox.value == 5.0
    assert ui.inputVolumeSelector.currentNode() is None
    assert not ui.generateRegionsButton.enabled

    reopened = add_case(bare, seed=5)  # the case loaded again into the closed scene
    ui.tumorSegmentSelector.setCurrentNode(reopened["segmentation"])
    ui.tumorSegmentSelector.setCurrentSegmentID(reopened["ids"]["Tumour"])
    assert ui.inputVolumeSelector.currentNode() is reopened["volume"]
    assert widget._parameterNode.inputVolume is reopened["volume"]
    assert widget._parameterNode.segmentation is reopened["segmentation"]
    assert ui.generateRegionsButton.enabled, ui.generateRegionsButton.toolTip
    ui.generateRegionsButton.click()  # regions need only what Slicer ships
    assert bare.slot_errors == [] and bare.dialogs == []
    assert segment_names(reopened["segmentation"])[2:] == ["Intratumoral", "Peritumoral", "Ring"]


def test_opening_the_panel_keeps_the_segmentation_the_selector_shows(bare):
    """setParameterNode once set the selector to the parameter node's empty segmentation: qMRMLNodeComboBox
    then empties itself (setCurrentNode(nullptr)), so a case loaded before the panel opened lost its tumour."""
    case = add_case(bare)
    widget, ui = open_panel(bare)
    assert ui.tumorSegmentSelector.currentNode() is case["segmentation"]
    assert widget._parameterNode.segmentation is case["segmentation"]
    assert ui.tumorSegmentSelector.currentSegmentID() == case["ids"]["Tumour"]
    assert ui.generateRegionsButton.enabled, ui.generateRegionsButton.toolTip

    other = add_case(bare, seed=5)  # a second segmentation: the user picks it, leaves and comes back
    ui.tumorSegmentSelector.setCurrentNode(other["segmentation"])
    bare.exit()
    bare.enter()
    assert ui.tumorSegmentSelector.currentNode() is other["segmentation"]

    bare.close_scene()
    reopened = add_case(bare, seed=7)  # File > Close scene, then the next case
    assert ui.tumorSegmentSelector.currentNode() is reopened["segmentation"]
    assert widget._parameterNode.segmentation is reopened["segmentation"]


def test_label_maps_are_not_offered_as_dce_volumes(bare):
    """qMRMLNodeComboBox lists subclasses of its nodeTypes: a label map is a vtkMRMLScalarVolumeNode."""
    scene = bare.slicer.mrmlScene
    bare.load_module()
    labels = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "tumour-label")  # loaded before the DCE volume
    case = add_case(bare)
    widget, ui = open_panel(bare)
    listed = [ui.inputVolumeSelector.nodeFromIndex(i) for i in range(ui.inputVolumeSelector.nodeCount())]
    assert labels not in listed and case["volume"] in listed
    assert ui.inputVolumeSelector.currentNode() is case["volume"]
    assert widget._parameterNode.inputVolume is case["volume"]


def test_each_missing_input_is_prompted_once(bare):
    widget, ui = open_panel(bare)  # an empty scene: no volume, no segmentation
    lines = ui.blockedReasonLabel.text.splitlines()
    prompts = [line for line in lines if not line.startswith("Missing Python packages")]
    assert prompts == ["Select a DCE volume.", "Apply models: Compute features first."]
    assert sum("Select a DCE volume." in line for line in lines) == 1
    # Each disabled button still says what it does, and why it waits.
    assert ui.generateRegionsButton.toolTip.splitlines() == [
        "Build the intratumoral, peritumoral and ring segments around the tumour segment", "Select a DCE volume."]
    case = add_case(bare)
    ui.inputVolumeSelector.setCurrentNode(case["volume"])
    ui.tumorSegmentSelector.setCurrentNode(case["segmentation"])
    ui.tumorSegmentSelector.setCurrentSegmentID(case["ids"]["Tumour"])
    prompts = [line for line in ui.blockedReasonLabel.text.splitlines()
               if not line.startswith("Missing Python packages")]
    assert prompts == ["Compute features: Generate regions first.", "Apply models: Compute features first."]
    assert ui.generateRegionsButton.enabled
    assert ui.generateRegionsButton.toolTip == (
        "Build the intratumoral, peritumoral and ring segments around the tumour segment")


def test_the_air_threshold_reaches_generate_regions(bare):
    from vtk.util import numpy_support

    from TMERadiomicsLib import regions

    case = add_case(bare)
    widget, ui = open_panel(bare)
    select_case(ui, case)
    assert not ui.airBelowSpinBox.enabled, "the threshold applies only once its box is checked"
    ui.airBelowCheckBox.checked = True
    assert ui.airBelowSpinBox.enabled and widget._parameterNode.airBelowEnabled
    # A threshold at the image's median removes band voxels (the phantom's air lies away from the tumour).
    threshold = round(float(np.median(__import__("SimpleITK").GetArrayFromImage(case["image"]))), 1)  # 1 decimal
    ui.airBelowSpinBox.value = threshold
    assert widget._parameterNode.airBelow == threshold
    ui.generateRegionsButton.click()
    assert bare.dialogs == [] and bare.slot_errors == []
    expected = regions.build(case["tumour"], case["image"], exclusions=[case["vessels"]], air_below=threshold)
    unfiltered = regions.build(case["tumour"], case["image"], exclusions=[case["vessels"]])
    assert expected.summary["peritumoral"].voxels < unfiltered.summary["peritumoral"].voxels
    from TMERadiomicsLogic import segments

    ids = widget.logic.regionSegmentIds(case["segmentation"], case["volume"])
    for segment_id, name in zip(ids, ("intratumoral", "peritumoral", "ring")):
        labelmap = segments.segment_labelmap(case["segmentation"], segment_id)
        voxels = int(numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).astype(bool).sum())
        assert voxels == expected.summary[name].voxels, name


def test_panel_text_goes_through_slicers_translation(bare, monkeypatch):
    """Strings pass through slicer.i18n.tr (app.translate), as Slicer 5.12's module template does."""
    monkeypatch.setattr(type(bare.slicer.app), "translate", lambda self, context, text: f"[fr] {text}")
    widget, ui = open_panel(bare)
    assert bare.moduleParent.title == "[fr] TMERadiomics"
    assert ui.summaryLabel.text == "[fr] No scores yet."
    assert any(line.startswith("[fr] Missing Python packages: ") for line in ui.blockedReasonLabel.text.splitlines())


def test_the_logics_reasons_are_translated_in_their_own_files_context(bare, monkeypatch):
    """The Logic's prompts and errors go through Slicer's translate, with the context lupdate gives logic.py."""
    asked = []

    def translate(self, context, text):
        asked.append((context, text))
        return f"[fr] {text}"

    monkeypatch.setattr(type(bare.slicer.app), "translate", translate)
    widget, ui = open_panel(bare)  # an empty scene: the Logic's regionsBlocker asks for a volume
    assert ("TMERadiomicsLogic.logic", "Select a DCE volume.") in asked
    assert "[fr] Select a DCE volume." in ui.blockedReasonLabel.text.splitlines()
    assert "Compute features: [fr] Generate regions first." not in ui.blockedReasonLabel.text  # no volume yet
    # A translation that drops a placeholder is refused (Slicer's rule), so format() cannot fail.
    from TMERadiomicsLogic import i18n

    monkeypatch.setattr(type(bare.slicer.app), "translate", lambda self, context, text: "[fr] phase manquante")
    assert i18n.tr("phase {phase} does not exist") == "phase {phase} does not exist"


def test_a_bundle_folder_with_a_broken_manifest_is_listed_greyed_with_the_reason(bare, tmp_path):
    folder = tmp_path / "broken-bundle"
    folder.mkdir()
    (folder / "manifest.json").write_text("{ not json", encoding="utf-8")
    widget, ui = open_panel(bare)
    answer(str(folder))
    ui.addModelButton.click()
    added = ui.modelsListWidget.item(ui.modelsListWidget.count - 1)
    assert added.text() == "broken-bundle (unreadable)"
    assert not added.flags() & bare.qt.Qt.ItemIsEnabled and added.checkState() == bare.qt.Qt.Unchecked
    assert str(folder / "manifest.json") in added.toolTip() and "unreadable manifest.json" in added.toolTip()
    assert widget._checkedModels() == [] and bare.slot_errors == []


def test_a_calibrated_copy_is_listed_apart_from_the_published_bundle(equipped, tmp_path):
    """The library's own calibrate on a generated cohort; the copy names its cohort and can be checked."""
    import pandas as pd

    from TMERadiomicsLib.models import bundled_model, calibrate, load_bundle
    from TMERadiomicsLib.models.tables import read_table

    published = load_bundle(bundled_model("qian2024-combined"))
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=12) for name in published.required_features})
    frame.insert(0, "case_id", [f"ref-{i}" for i in range(12)])
    frame.insert(1, "preset_sha256", published.manifest.preset["sha256"])
    frame.to_csv(tmp_path / "reference-cohort.csv", index=False)
    folder = calibrate(published, read_table(tmp_path / "reference-cohort.csv")).save(tmp_path / "calibrated")
    widget, ui = open_panel(equipped)
    answer(str(folder))
    ui.addModelButton.click()
    labels = [ui.modelsListWidget.item(i).text() for i in range(ui.modelsListWidget.count)]
    added = ui.modelsListWidget.item(ui.modelsListWidget.count - 1)
    import datetime

    assert added.text() == f"qian2024-combined (calibrated on reference-cohort.csv, n=12, {datetime.date.today()})"
    assert "qian2024-combined (uncalibrated, published)" in labels and len(set(labels)) == len(labels)
    assert added.flags() & equipped.qt.Qt.ItemIsEnabled and added.checkState() == equipped.qt.Qt.Checked
    assert widget._checkedModels() == [str(folder)]


def test_phase_range_follows_the_volume(bare):
    from vtk.util import numpy_support

    from TMERadiomicsLib.cohort.phantom import make_phantom

    case = add_case(bare, oblique=False)
    phases = make_phantom("small", seed=3).phases
    stacked = np.stack([np.asarray(__import__("SimpleITK").GetArrayFromImage(p)) for p in phases[:3]], axis=-1)
    multi = bare.slicer.mrmlScene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "three-phase")
    image_data = type(case["volume"].GetImageData())()
    image_data.SetDimensions(case["volume"].GetImageData().GetDimensions())
    array = numpy_support.numpy_to_vtk(stacked.reshape(-1, 3), deep=True)
    image_data.GetPointData().SetScalars(array)
    multi.SetAndObserveImageData(image_data)
    widget, ui = open_panel(bare)

    ui.inputVolumeSelector.setCurrentNode(case["volume"])
    # A 3-D volume has no phase to choose: the control is hidden, not greyed out showing "2".
    assert not ui.phaseSpinBox.visible and not ui.phaseLabel.visible
    ui.inputVolumeSelector.setCurrentNode(multi)
    assert ui.phaseSpinBox.visible and ui.phaseLabel.visible and ui.phaseSpinBox.enabled
    assert ui.phaseSpinBox.maximum == 2
    ui.phaseSpinBox.value = 7
    assert ui.phaseSpinBox.value == 2 and widget._parameterNode.phase == 2
    with pytest.raises(ValueError):
        widget._parameterNode.phase = 150  # WithinRange on the parameter node itself
    with pytest.raises(ValueError, match="phase 3 does not exist"):
        widget.logic.selectPhase(multi, 3)


def test_error_leaves_scene_unchanged_and_shows_a_dialog(bare):
    case = add_case(bare)
    widget, ui = open_panel(bare)
    select_case(ui, case)
    empty = case["segmentation"].GetSegmentation().AddEmptySegment("", "Empty")
    ui.tumorSegmentSelector.setCurrentSegmentID(empty)
    before = scene_state(bare, case["segmentation"])
    with pytest.raises(ValueError, match="Empty"):
        widget.onGenerateRegions()  # what the button runs, past its enabled state
    assert scene_state(bare, case["segmentation"]) == before
    assert len(bare.dialogs) == 1 and "Generate regions failed" in bare.dialogs[0]["text"]


def test_install_button_asks_first_and_pins_slicers_packages(bare, monkeypatch):
    widget, ui = open_panel(bare)
    calls = []

    def record(lines, constraints=None, **kwargs):
        if constraints is None and "-c" in lines:  # slicer.util.pip_install(["-c", file, *lines])
            constraints = lines[lines.index("-c") + 1]
            lines = lines[lines.index("-c") + 2:]
        calls.append((list(lines), Path(constraints).read_text()))

    if bare.tag == "v5.12.3":
        import slicer.packaging

        monkeypatch.setattr(slicer.packaging, "pip_ensure", record)
    else:
        monkeypatch.setattr(bare.slicer.util, "pip_install", record)
    answer(bare.qt.QMessageBox.Cancel)
    ui.installDependenciesButton.click()
    assert calls == [] and len(bare.dialogs) == 1
    shown = bare.dialogs[0]["text"]
    for line in ("pandas>=2.0,<3", "PyYAML>=6.0", "skops>=0.10"):
        assert line in shown
    answer(bare.qt.QMessageBox.Ok)
    ui.installDependenciesButton.click()
    assert len(calls) == 1
    lines, constraints = calls[0]
    assert "pandas>=2.0,<3" in lines and not any(line.lower().startswith("numpy") for line in lines)
    import numpy
    import scipy

    assert f"numpy=={numpy.__version__}" in constraints.splitlines()
    assert f"scipy=={scipy.__version__}" in constraints.splitlines()


def test_pyradiomics_no_deps_step_goes_through_slicer_packaging_on_5_12(bare, monkeypatch):
    """On 5.12 both steps go through slicer.packaging (pip_install's no_deps_requirements); before it,
    two slicer.util.pip_install calls. pip itself does not run: the calls are recorded."""
    widget, ui = open_panel(bare)
    calls = []
    monkeypatch.setattr(bare.slicer.util, "pip_install", lambda args: calls.append(("util", list(args))))
    if bare.tag == "v5.12.3":
        import slicer.packaging

        monkeypatch.setattr(slicer.packaging, "pip_install", lambda requirements, **kw: calls.append(
            ("packaging", list(requirements), list(kw["no_deps_requirements"]), Path(kw["constraints"]).name)))
        monkeypatch.setattr(slicer.packaging, "pip_ensure", lambda *a, **kw: calls.append(("ensure",)))
    widget.logic.installPackages(["pandas>=2.0,<3", "PyWavelets"], ["pyradiomics-bhklab>=3.1.4"])
    if bare.tag == "v5.12.3":
        assert calls == [("packaging", ["pandas>=2.0,<3", "PyWavelets"], ["pyradiomics-bhklab>=3.1.4"],
                          "slicer-constraints.txt")]
    else:
        assert [c[0] for c in calls] == ["util", "util"]
        assert calls[1][1][:2] == ["--no-deps", "-c"] and calls[1][1][-1] == "pyradiomics-bhklab>=3.1.4"


# ---- every button, packages installed ----------------------------------------------------


def test_every_button_on_an_oblique_phantom(equipped, tmp_path):
    """Scoring with a calibrated bundle is test_slicer_logic's (calibrating costs a minute); here the panel."""
    from vtk.util import numpy_support

    from TMERadiomicsLib import regions

    case = add_case(equipped)
    widget, ui = open_panel(equipped)
    from TMERadiomicsLogic import segments, tables
    assert not ui.installDependenciesButton.visible
    ui.presetComboBox.setCurrentText("default")  # PyRadiomics' defaults: the panel's path, a quarter of the time
    assert widget._parameterNode.preset == "default"
    select_case(ui, case)
    assert ui.generateRegionsButton.enabled, ui.generateRegionsButton.toolTip

    ui.generateRegionsButton.click()
    segmentation = case["segmentation"]
    assert segment_names(segmentation) == ["Tumour", "Vessels", "Intratumoral", "Peritumoral", "Ring"]
    expected = regions.build(case["tumour"], case["image"], exclusions=[case["vessels"]])
    ids = widget.logic.regionSegmentIds(segmentation, case["volume"])
    for segment_id, name in zip(ids, ("intratumoral", "peritumoral", "ring")):
        labelmap = segments.segment_labelmap(segmentation, segment_id)
        voxels = int(numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars()).astype(bool).sum())
        assert voxels == expected.summary[name].voxels
    assert ui.computeFeaturesButton.enabled, ui.computeFeaturesButton.toolTip

    layouts, layout = equipped.slicer.vtkMRMLLayoutNode, equipped.slicer.app.layoutManager()
    assert layout.layout == layouts.SlicerLayoutConventionalView and table_views(equipped) == []
    ui.computeFeaturesButton.click()
    equipped.run_events_until(lambda: widget._running is None)  # it runs in a worker process
    features = ui.featuresTableSelector.currentNode()
    assert features is not None and widget._parameterNode.featuresTable is features
    # The Widget switched to a layout with a table view, and that view shows the features table.
    assert layout.layout == layouts.SlicerLayoutFourUpTableView
    views = table_views(equipped)
    assert len(views) == 1 and views[0].GetTableNodeID() == features.GetID()
    frame = tables.table_to_frame(features).set_index("Feature")
    assert list(frame.columns) == ["Intratumoral", "Peritumoral", "Ring"]
    assert float(frame.loc["original_shape_VoxelVolume", "Intratumoral"]) == pytest.approx(
        case["tumour_voxels"] * case["voxel_volume"])

    # The bundled signatures are uncalibrated: added, such a bundle is listed greyed out and unchecked,
    # named as uncalibrated, and its tooltip says how to calibrate it; Apply models stays disabled.
    bundled = REPO / "Resources" / "Models" / "qian2024-combined"
    answer(str(bundled))
    ui.addModelButton.click()  # "Add model bundle folder...": the folder dialog answers this path
    added = ui.modelsListWidget.item(ui.modelsListWidget.count - 1)
    assert added.data(equipped.qt.Qt.UserRole) == str(bundled)
    assert added.text() == "qian2024-combined (uncalibrated, published)"
    assert not added.flags() & equipped.qt.Qt.ItemIsEnabled
    assert added.checkState() == equipped.qt.Qt.Unchecked
    assert "tmeradiomics calibrate qian2024-combined" in added.toolTip()
    assert not ui.applyModelsButton.enabled
    assert "Add a calibrated model bundle" in ui.applyModelsButton.toolTip  # none can be checked
    assert [d["class"] for d in equipped.dialogs] == ["QFileDialog"] and equipped.slot_errors == []

    ui.runAllButton.click()  # regions and features again (no model checked)
    equipped.run_events_until(lambda: widget._running is None)  # it runs in a worker process
    assert len(equipped.dialogs) == 1 and equipped.slot_errors == [], equipped.dialogs[-1]
    # Issue 19: a re-run refills the lesion's regions and features table in place, nothing piles up.
    assert segment_names(segmentation) == ["Tumour", "Vessels", "Intratumoral", "Peritumoral", "Ring"]
    assert widget.logic.regionSegmentIds(segmentation, case["volume"]) == ids
    assert ui.featuresTableSelector.currentNode() is features

    assert ui.reproducibilityCollapsibleButton.collapsed and not ui.saveSessionButton.isVisibleTo(widget.parent)
    ui.reproducibilityCollapsibleButton.collapsed = False  # the user opens the section
    assert ui.saveSessionButton.isVisibleTo(widget.parent)
    database = tmp_path / "study.sqlite"
    ui.studyDatabasePathLineEdit.currentPath = str(database)
    ui.caseIdLineEdit.text = "case-3"
    ui.readerLineEdit.text = "R1"
    ui.sessionLineEdit.text = "R1-week0"
    assert ui.saveSessionButton.enabled, ui.saveSessionButton.toolTip
    ui.saveSessionButton.click()
    assert len(equipped.dialogs) == 1 and equipped.slot_errors == [], equipped.dialogs[-1]
    assert database.is_file() and "case-3" in ui.reproducibilityStatusLabel.text
    # The path was used, so it joins the line edit's history (QSettings under its settingKey).
    history = equipped.qt.QSettings().value("ctkPathLineEdit/TMERadiomicsStudyDatabase")
    assert ([history] if isinstance(history, str) else list(history)) == [str(database)]
    assert ui.computeIccButton.enabled, ui.computeIccButton.toolTip
    before = scene_state(equipped, segmentation)
    ui.computeIccButton.click()  # one reader, one session: no ICC can be computed
    equipped.run_events_until(lambda: widget._running is None)  # it runs in a worker process
    assert scene_state(equipped, segmentation) == before
    assert len(equipped.dialogs) == 2 and "Compute ICC failed" in equipped.dialogs[-1]["text"]
    assert len(equipped.slot_errors) == 1
    assert "Compute ICC failed" in ui.reproducibilityStatusLabel.text

    equipped.close_scene()  # the next case: the study database is still offered
    assert widget._parameterNode.studyDatabase == str(database)
    equipped.exit()
    reopened = equipped.create_widget()  # the next Slicer session: the line edit reads its history
    equipped.enter()
    assert reopened.ui.studyDatabasePathLineEdit.currentPath == str(database)
    assert reopened._parameterNode.studyDatabase == str(database)


def test_the_panel_renders_to_png(bare, tmp_path):
    """The rig's picture of the panel (Testing/slicer_rig/render_panel.py makes docs/images/ with it)."""
    from PySide6 import QtGui

    case = add_case(bare)
    widget, ui = open_panel(bare)
    select_case(ui, case)
    ui.generateRegionsButton.click()
    image = QtGui.QImage(str(bare.render_panel(tmp_path / "panel.png", width=440)))
    assert image.width() == 440 and image.height() >= ui.summaryLabel.mapTo(widget.parent, bare.qt.QPoint(0, 0)).y()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 4) for y in range(0, image.height(), 4)}
    assert len(colours) > 20, "a blank or unpainted panel"


@pytest.fixture()
def equipped_latest():
    """The newest release's runtime only, with the panel's packages: for the slower result tests."""
    rig = runtime.install(TAGS[-1], blocked=())
    try:
        yield rig
    finally:
        rig.uninstall()


def add_lesion(case, name: str, centre_index, radius_mm: float = 4.0) -> str:
    """A ball-shaped second lesion on the case's grid, as another segment of its segmentation."""
    import SimpleITK as sitk

    from TMERadiomicsLogic import segments

    image = case["image"]
    z, y, x = np.meshgrid(*(np.arange(n) for n in image.GetSize()[::-1]), indexing="ij")
    distance = np.sqrt(sum(((axis - c) * s) ** 2 for axis, c, s in zip((x, y, z), centre_index, image.GetSpacing())))
    mask = sitk.GetImageFromArray((distance <= radius_mm).astype(np.uint8))
    mask.CopyInformation(image)
    return segments.add_mask_segment(case["segmentation"], mask, name, (0.8, 0.8, 0.1), None)


def test_every_lesion_from_the_panel_with_warnings_shown(equipped_latest):
    """Run all for every tumour segment, then Compute features on the lesion the selector shows."""
    rig = equipped_latest
    case = add_case(rig)
    from TMERadiomicsLogic import tables

    size = case["image"].GetSize()
    edge = add_lesion(case, "Edge", (2, size[1] // 2, size[2] // 2))  # its bands leave the image: a warning
    widget, ui = open_panel(rig)
    select_case(ui, case)
    ui.presetComboBox.setCurrentText("default")
    assert ui.runAllLesionsButton.enabled, ui.runAllLesionsButton.toolTip
    ui.runAllLesionsButton.click()
    # It runs in the background, lesion after lesion: the click has returned, and every action waits.
    assert widget._running and not ui.runAllButton.enabled and not ui.runAllLesionsButton.enabled
    rig.run_events_until(lambda: widget._running is None)
    assert rig.dialogs == [] and rig.slot_errors == []
    lesions = tables.table_to_frame(widget.logic.lastLesionsTable)
    assert list(lesions["Lesion"]) == ["Tumour", "Edge"]  # Vessels is excluded, so it is no lesion
    assert table_views(rig)[0].GetTableNodeID() == widget.logic.lastLesionsTable.GetID()
    # The library's warnings are in the panel, named for their lesion.
    warnings = widget.logic.lastWarnings
    assert any(w.startswith("Edge: ") and "clipped" in w for w in warnings)
    assert ui.warningsLabel.visible
    assert all(f"- {w}" in ui.warningsLabel.text.splitlines() for w in warnings)
    # The legend shows the region colours the views show.
    assert ui.legendLabel.visible and "Intratumoral" in ui.legendLabel.text and "background-color:#" in ui.legendLabel.text

    # Compute features uses the selected lesion's regions, not the last generated ones.
    ui.tumorSegmentSelector.setCurrentSegmentID(case["ids"]["Tumour"])
    tumourRegions = widget._regionSegmentIds()
    assert tumourRegions == widget.logic.regionSegmentIds(case["segmentation"], case["volume"], case["ids"]["Tumour"])
    assert tumourRegions != widget.logic.regionSegmentIds(case["segmentation"], case["volume"], edge)
    ui.computeFeaturesButton.click()
    rig.run_events_until(lambda: widget._running is None)
    features = ui.featuresTableSelector.currentNode()
    assert tables.table_attribute(features, "SourceSegmentName") == "Tumour"
    assert rig.dialogs == [] and rig.slot_errors == []


def test_risk_colours_have_a_legend_and_restore_and_the_table_exports(equipped_latest, tmp_path):
    import json

    import pandas as pd

    from TMERadiomicsLib.models import bundled_model, calibrate, load_bundle
    from TMERadiomicsLib.models.tables import read_table

    rig = equipped_latest
    published = load_bundle(bundled_model("qian2024-combined"))
    rng = np.random.default_rng(0)  # a generated reference cohort: the risk group means nothing here
    frame = pd.DataFrame({name: rng.normal(size=12) for name in published.required_features})
    frame.insert(0, "case_id", [f"ref-{i}" for i in range(12)])
    frame.insert(1, "preset_sha256", published.manifest.preset["sha256"])
    frame.to_csv(tmp_path / "reference-cohort.csv", index=False)
    bundle = calibrate(published, read_table(tmp_path / "reference-cohort.csv")).save(tmp_path / "calibrated")
    case = add_case(rig)
    widget, ui = open_panel(rig)
    select_case(ui, case)
    answer(str(bundle))
    ui.addModelButton.click()
    assert not ui.restoreColoursButton.enabled and not ui.exportTableButton.enabled
    ui.runAllButton.click()
    rig.run_events_until(lambda: widget._running is None)  # the features are extracted in a worker
    assert len(rig.dialogs) == 1 and rig.slot_errors == [], rig.dialogs
    ids = widget._regionSegmentIds()
    seg = case["segmentation"].GetSegmentation()
    overlaid = [seg.GetSegment(i).GetColor() for i in ids]
    assert "risk (qian2024-combined): Intratumoral" in ui.legendLabel.text
    assert "M2 infiltration risk" in ui.legendLabel.text  # the group's own spelling ("m2" read as a typo)
    assert ui.restoreColoursButton.enabled
    ui.restoreColoursButton.click()
    restored = [seg.GetSegment(i).GetColor() for i in ids]
    assert restored != overlaid
    assert "risk (" not in ui.legendLabel.text and "Intratumoral" in ui.legendLabel.text

    assert ui.exportTableButton.enabled
    answer(str(tmp_path / "scores.csv"))
    ui.exportTableButton.click()
    assert rig.slot_errors == []
    written = pd.read_csv(tmp_path / "scores.csv")
    assert list(written["Model"]) == ["qian2024-combined"]
    sidecar = json.loads((tmp_path / "scores.json").read_text())
    assert sidecar and str(tmp_path / "scores.csv") in ui.warningsLabel.text


# ---- the self-test, as ctest runs it ------------------------------------------------------


def run_self_test(rig):
    """What slicer.testing.runUnitTest does for slicer_add_python_unittest: the module's TestCase methods."""
    import time
    import unittest

    module = rig.load_module() if getattr(rig, "module", None) is None else rig.module
    suite = unittest.TestLoader().loadTestsFromTestCase(module.TMERadiomicsTest)
    started = time.process_time()
    result = unittest.TextTestRunner(stream=open(os.devnull, "w"), verbosity=0).run(suite)
    return result, time.process_time() - started


def test_self_test_checks_regions_on_a_build_machine(bare):
    """A build machine has Slicer's packages only: regions are still checked, only features skip."""
    result, cpu = run_self_test(bare)
    assert result.testsRun == 2 and not result.failures and not result.errors, result.failures + result.errors
    assert [test.id().rsplit(".", 1)[-1] for test, _ in result.skipped] == ["test_TMERadiomics_features"]
    assert cpu < 15.0, f"{cpu:.1f} s of CPU"


def test_self_test_passes_with_the_panels_packages(equipped):
    result, cpu = run_self_test(equipped)
    assert result.testsRun == 2 and not result.failures and not result.errors and not result.skipped, (
        result.failures + result.errors + result.skipped)
    assert cpu < 15.0, f"{cpu:.1f} s of CPU"


# ---- the rig rejects broken modules ---------------------------------------------------------


def mutant(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    """A copy of the module folder (and its Resources) with one text replaced once in one file."""
    shutil.copytree(REPO / "TMERadiomics", tmp_path / "TMERadiomics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "Resources", tmp_path / "Resources")
    target = tmp_path / relative
    text = target.read_text()
    assert text.count(old) == 1, f"mutation site {old!r} not found once in {relative}: update this test"
    target.write_text(text.replace(old, new))
    return tmp_path / "TMERadiomics"


def test_rig_rejects_a_misspelled_signal(bare, tmp_path):
    module_dir = mutant(tmp_path, "TMERadiomics/TMERadiomics.py", '"currentSegmentChanged(QString)"',
                        '"currentSegmentChanged(QStrin)"')
    with pytest.raises(SignalError, match="currentSegmentChanged"):
        open_panel(bare, module_dir)


def test_rig_rejects_a_misspelled_property(bare, tmp_path):
    module_dir = mutant(tmp_path, "TMERadiomics/TMERadiomics.py", "self.ui.installDependenciesButton.visible =",
                        "self.ui.installDependenciesButton.visibel =")
    with pytest.raises(PropertyError, match="visibel"):
        open_panel(bare, module_dir)


def test_rig_rejects_a_misspelled_property_in_the_ui_file(bare, tmp_path):
    module_dir = mutant(tmp_path, "TMERadiomics/Resources/UI/TMERadiomics.ui",
                        '<property name="segmentationNodeSelectorVisible">',
                        '<property name="segmentationNodeSelectorVisibel">')
    with pytest.raises(UiError, match="segmentationNodeSelectorVisibel"):
        open_panel(bare, module_dir)


def test_rig_rejects_a_double_wrapped_parameter_node(bare, tmp_path):
    module_dir = mutant(tmp_path, "TMERadiomics/TMERadiomics.py",
                        "self.setParameterNode(self.logic.getParameterNode())",
                        "self.setParameterNode(TMERadiomicsParameterNode(self.logic.getParameterNode()))")
    with pytest.raises(AttributeError, match="HasParameter"):
        open_panel(bare, module_dir)


def test_rig_rejects_a_module_that_imports_pandas_at_load(bare, tmp_path):
    module_dir = mutant(tmp_path, "TMERadiomics/TMERadiomics.py", "\nimport vtk\n", "\nimport vtk\nimport pandas\n")
    with pytest.raises(ImportError, match="pandas"):
        bare.load_module(module_dir)


# ---- the stand-ins are the headers' -------------------------------------------------------------


@pytest.mark.parametrize("tag", TAGS)
def test_standins_have_exactly_the_headers_properties_and_signals(tag):
    rig = runtime.install(tag)
    try:
        apis = load_apis(tag)
        for name in DESIGNER_WIDGETS:
            cls, api = rig.standins[name], apis[name]
            meta = cls.staticMetaObject
            own = {meta.property(i).name() for i in range(meta.propertyOffset(), meta.propertyCount())}
            assert own == set(api.properties), name
            widget = cls()
            for signal in api.signals:  # every header signal connects by its C++ signature
                assert widget.connect(signal.signature, lambda *args: None), signal.signature
            for method in api.slots + api.invokables:
                if method.name in api.properties:
                    continue  # PythonQt: a property of the same name wins (currentNodeId)
                assert callable(getattr(widget, method.name)), method.signature
    finally:
        rig.uninstall()


def test_node_combo_box_standin_set_to_none_empties_and_emits_none(bare):
    """qMRMLNodeComboBoxPrivate::setCurrentNodeIDInternal: an unlisted node (None too) selects index -1
    when noneEnabled is false, and currentNodeChanged(nullptr) follows; the old stand-in kept the node."""
    scene = bare.slicer.mrmlScene
    first = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "first")
    combo = bare.standins["qMRMLNodeComboBox"]()
    combo.nodeTypes = ["vtkMRMLScalarVolumeNode"]
    combo.noneEnabled = False
    combo.setMRMLScene(scene)
    try:
        assert combo.currentNode() is first  # rows arriving in an empty QComboBox select row 0
        emitted = []
        combo.connect("currentNodeChanged(vtkMRMLNode*)", emitted.append)
        combo.setCurrentNode(None)
        assert combo.currentNode() is None and emitted == [None]
        scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "second")
        assert combo.currentNode() is None and emitted == [None], "a non-empty combo box does not pick a new row"
        combo.setCurrentNode(first)
        combo.setCurrentNode(scene.AddNewNodeByClass("vtkMRMLTableNode", "not listed"))
        assert combo.currentNode() is None and emitted == [None, first, None]
    finally:
        combo.setMRMLScene(None)  # drops its scene observers before the rig clears the scene


def test_standin_builder_refuses_a_method_the_header_does_not_expose():
    from PySide6 import QtWidgets

    apis = load_apis(TAGS[0]) if TAGS else pytest.skip("no Slicer runtime")

    class Behaviour:
        def nodeTypes(self):  # a plain C++ getter: PythonQt cannot call it, only the property
            return []

    with pytest.raises(StandinError, match="nodeTypes"):
        build(apis["qMRMLNodeComboBox"], Behaviour, QtWidgets.QWidget)


def test_slicer_util_finds_this_rigs_main_window_not_an_earlier_ones():
    # slicer.util.mainWindow() takes the first top-level "qSlicerMainWindow"; the QApplication outlives
    # rigs, so an earlier rig's window parented this one's progress dialogs (a flaky test in the full suite).
    first = runtime.install(TAGS[-1], blocked=())
    first.uninstall()
    second = runtime.install(TAGS[-1], blocked=())
    try:
        assert second.slicer.util.mainWindow() is second.mainWindow
        dialog = second.slicer.util.createProgressDialog(windowTitle="t", labelText="t", maximum=10)
        assert dialog.parentWidget() is second.mainWindow
        dialog.close()
    finally:
        second.uninstall()
    assert first.mainWindow.objectName != "qSlicerMainWindow"  # a property, as in PythonQt
