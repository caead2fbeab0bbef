"""Runs from the panel, on the rig: the work happens in a worker process, the GUI stays live, no nested runs.

Issue 19's "Frozen GUI" and "Nested runs": Compute features blocked the GUI
thread (progress only at 0, 0.1 and 0.95; Cancel did nothing during the
extraction); clicks made meanwhile were queued and delivered at the next
``processEvents()``, so a second Run all ran nested inside the first; the
buttons stayed enabled and the progress dialog was non-modal. Clicks here
are real mouse events posted to the buttons (``Rig.post_click``), delivered
whenever the GUI thread next processes events, as in Slicer.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_slicer_widget import add_case, equipped, open_panel, segment_names, select_case  # noqa: E402,F401

pytestmark = [pytest.mark.slicer]


def idle(widget) -> bool:
    return getattr(widget, "_running", None) is None


def table_nodes(rig, kind: str) -> list:
    scene = rig.slicer.mrmlScene
    nodes = [scene.GetNthNodeByClass(i, "vtkMRMLTableNode") for i in range(scene.GetNumberOfNodesByClass(
        "vtkMRMLTableNode"))]
    return [n for n in nodes if n.GetAttribute("TMERadiomics.Kind") == kind]


def progress_dialogs(rig) -> list:
    """The visible progress dialogs of this rig's main window (earlier rigs' windows share the QApplication)."""
    import shiboken6

    # Only live widgets: a dialog deleted since (deleteLater) must not be touched.
    return [w for w in rig.qapp.topLevelWidgets() if shiboken6.isValid(w)
            and w.metaObject().className() == "QProgressDialog" and w.isVisible() and w.parentWidget() is rig.mainWindow]


def ready(rig, preset: str = "default"):
    case = add_case(rig)
    widget, ui = open_panel(rig)
    ui.presetComboBox.setCurrentText(preset)
    select_case(ui, case)
    return case, widget, ui


def test_clicks_queued_during_run_all_cannot_start_a_nested_run(equipped):
    case, widget, ui = ready(equipped)
    for button in (ui.runAllButton, ui.runAllButton, ui.generateRegionsButton, ui.computeFeaturesButton):
        equipped.post_click(button)  # the user clicks on, four times, while the first run works
    equipped.run_events_until(lambda: idle(widget) and not progress_dialogs(equipped))
    equipped.run_events_until(lambda: idle(widget), seconds=1)  # anything still queued is delivered
    assert equipped.slot_errors == [] and equipped.dialogs == []
    assert segment_names(case["segmentation"]) == ["Tumour", "Vessels", "Intratumoral", "Peritumoral", "Ring"]
    assert len(table_nodes(equipped, "features")) == 1


def test_during_a_run_the_actions_are_disabled_and_the_dialog_is_modal(equipped):
    case, widget, ui = ready(equipped)
    seen = []

    def look():
        if progress_dialogs(equipped):
            dialog = progress_dialogs(equipped)[0]
            seen.append({"run all": ui.runAllButton.enabled, "regions": ui.generateRegionsButton.enabled,
                         "features": ui.computeFeaturesButton.enabled, "models": ui.applyModelsButton.enabled,
                         "icc": ui.computeIccButton.enabled, "modality": dialog.windowModality})

    timer = equipped.qt.QTimer()
    timer.setInterval(10)
    timer.connect("timeout()", look)
    timer.start()
    ui.runAllButton.click()
    # The click has returned with the run going on in the background (else: why it did not start).
    assert not idle(widget), (ui.runAllButton.toolTip, equipped.dialogs, equipped.slot_errors)
    assert not ui.runAllButton.enabled and not ui.computeFeaturesButton.enabled
    equipped.run_events_until(lambda: idle(widget))
    timer.stop()
    assert seen, ("the run never let the event loop look", equipped.dialogs, equipped.slot_errors)
    enabled = {key for state in seen for key, value in state.items() if key != "modality" and value}
    assert enabled == set()
    assert {state["modality"] for state in seen} == {equipped.qt.Qt.WindowModal}
    assert len(table_nodes(equipped, "features")) == 1  # and afterwards the panel is usable again
    assert ui.runAllButton.enabled and ui.computeFeaturesButton.enabled


def test_compute_features_runs_in_a_worker_reports_each_image_and_cancels(equipped):
    """The event loop keeps turning during the extraction; Cancel ends it quickly and adds nothing."""
    case, widget, ui = ready(equipped, preset="qian2024")
    ui.generateRegionsButton.click()
    equipped.run_events_until(lambda: idle(widget))
    before = (equipped.slicer.mrmlScene.GetNumberOfNodes(), segment_names(case["segmentation"]))
    labels, ticks = [], []

    def tick():
        ticks.append(time.monotonic())
        for dialog in progress_dialogs(equipped):
            if not labels or labels[-1] != dialog.labelText:
                labels.append(dialog.labelText)

    timer = equipped.qt.QTimer()
    timer.setInterval(10)
    timer.connect("timeout()", tick)
    timer.start()
    ui.computeFeaturesButton.click()
    job = getattr(widget, "_job", None)
    assert job is not None and job.process.pid != os.getpid()  # a child process, not this one
    equipped.run_events_until(lambda: any(": wavelet-" in label for label in labels) or idle(widget))
    assert not idle(widget), "the extraction should still be running"
    assert len(ticks) > 20  # the GUI thread was free the whole time: 10 ms ticks kept coming
    assert "Intratumoral: original (1/57)" in [e.get("message") for e in job.events]  # qian2024: 19 images x 3
    assert len(progress_dialogs(equipped)) == 1
    dialog = progress_dialogs(equipped)[0]
    cancel = dialog.findChildren(equipped.qt.QPushButton)
    assert len(cancel) == 1
    started = time.monotonic()
    equipped.post_click(cancel[0])  # the user presses Cancel
    equipped.run_events_until(lambda: idle(widget), seconds=10)
    timer.stop()
    assert time.monotonic() - started < 2.0
    assert job.process.poll() is not None and not job.folder.exists()
    assert not dialog.isVisible() and progress_dialogs(equipped) == []
    assert (equipped.slicer.mrmlScene.GetNumberOfNodes(), segment_names(case["segmentation"])) == before
    assert table_nodes(equipped, "features") == [] and equipped.dialogs == [] and equipped.slot_errors == []


def test_slicer_progress_dialog_is_created_by_slicers_own_code(equipped):
    """slicer.util.createProgressDialog is Slicer's util.py on real Qt: what it sets, and what it leaves to Qt."""
    import inspect

    util = equipped.slicer.util
    assert inspect.getsourcefile(util.createProgressDialog).startswith(str(runtime_python(equipped)))
    dialog = util.createProgressDialog(windowTitle="t", labelText="l", maximum=100)
    assert dialog.parentWidget() is equipped.mainWindow
    assert (dialog.minimumDuration, dialog.maximum, dialog.value) == (0, 100, 0)
    assert dialog.autoClose and dialog.autoReset  # Qt's defaults: value == maximum closes it
    # util.py sets no modality: Qt's QProgressDialog is non-modal unless asked (the Widget asks: WindowModal)
    assert dialog.windowModality == equipped.qt.Qt.NonModal
    equipped.qapp.processEvents()
    assert dialog.isVisible()  # minimumDuration 0: shown at the first turn of the event loop
    dialog.value = 100
    assert not dialog.isVisible()  # autoClose
    dialog.close()


def runtime_python(rig) -> Path:
    from slicer_rig import runtime

    return runtime.shared_slicer(rig.tag) / "python" / "slicer"


def test_cohort_section_runs_batch_and_loads_its_tables(equipped, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_batch_support import write_cohort, write_preset

    manifest, preset = write_cohort(tmp_path / "cohort", [41, 42]), write_preset(tmp_path)
    widget, ui = open_panel(equipped)
    ui.presetComboBox.addItem(str(preset))
    ui.presetComboBox.setCurrentText(str(preset))
    assert not ui.runCohortButton.enabled and "manifest" in ui.runCohortButton.toolTip
    ui.cohortManifestPathLineEdit.currentPath = str(manifest)
    ui.cohortOutputPathLineEdit.currentPath = str(tmp_path / "out")
    assert ui.runCohortButton.enabled, ui.runCohortButton.toolTip
    ui.runCohortButton.click()
    assert not idle(widget) and not ui.runAllButton.enabled
    labels = []
    equipped.run_events_until(lambda: labels.append(widget._dialog.labelText) or idle(widget))
    assert equipped.slot_errors == [] and equipped.dialogs == []
    assert "Cohort: 0 of 2 cases finished" in labels
    names = sorted(n.GetName() for n in table_nodes_named(equipped, "Cohort "))
    assert names == ["Cohort failures", "Cohort features_combined", "Cohort scores"]
    assert "2 completed" in ui.cohortStatusLabel.text, ui.cohortStatusLabel.text


def table_nodes_named(rig, prefix: str) -> list:
    scene = rig.slicer.mrmlScene
    nodes = [scene.GetNthNodeByClass(i, "vtkMRMLTableNode") for i in range(scene.GetNumberOfNodesByClass(
        "vtkMRMLTableNode"))]
    return [n for n in nodes if n.GetName().startswith(prefix)]


def test_closing_the_scene_during_a_run_cancels_it(equipped):
    case, widget, ui = ready(equipped)
    ui.generateRegionsButton.click()
    ui.computeFeaturesButton.click()
    job = widget._job
    assert job is not None and job.running
    equipped.close_scene()
    assert idle(widget) and job.process.poll() is not None and not job.folder.exists()
    equipped.run_events_until(lambda: True)
    assert table_nodes(equipped, "features") == [] and equipped.slot_errors == [] and equipped.dialogs == []
    assert ui.computeFeaturesButton.toolTip != "Compute features is running"


def test_a_slot_reached_during_a_run_is_refused(equipped):
    """A signal queued before the buttons were disabled still calls its slot: the slot itself refuses."""
    case, widget, ui = ready(equipped)
    ui.generateRegionsButton.click()
    segments = segment_names(case["segmentation"])
    ui.computeFeaturesButton.click()
    job = widget._job
    for slot in (widget.onRunAll, widget.onGenerateRegions, widget.onComputeFeatures, widget.onRunCohort):
        slot()
        assert widget._job is job and widget._running == "Compute features"
    assert segment_names(case["segmentation"]) == segments
    equipped.run_events_until(lambda: idle(widget))
    assert len(table_nodes(equipped, "features")) == 1 and equipped.dialogs == [] and equipped.slot_errors == []
