"""The panel's Kinetics section on the Slicer runtimes: phases loaded as separate volumes, checked in the list,
times typed; the maps go to the slice views and the mean curves to a plot view (Slicer's own plots logic)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_slicer_widget import add_case, equipped, open_panel, select_case  # noqa: E402,F401
from test_slicer_widget_runs import idle  # noqa: E402

pytestmark = pytest.mark.slicer


def _add_phases(rig, case) -> list:
    from TMERadiomicsLib.cohort.phantom import make_phantom
    from TMERadiomicsLogic.scene import add_volume

    phases = []
    for number, image in enumerate(make_phantom("small", seed=3).phases):
        image.CopyInformation(case["image"])  # the case's oblique, off-origin grid
        phases.append(add_volume(rig.slicer.mrmlScene, image, f"DCE phase {number}"))
    return phases


def _regions_and_phases(rig):
    """A case with its regions generated and its six phases loaded as volumes; the panel, before and after
    the phases are checked in the Kinetics section: (widget, ui, tooltip while unchecked)."""
    case = add_case(rig)
    _add_phases(rig, case)
    widget, ui = open_panel(rig)
    select_case(ui, case)
    ui.generateRegionsButton.click()
    rig.run_events_until(lambda: idle(widget))
    unchecked = None if ui.computeKineticsButton.enabled else ui.computeKineticsButton.toolTip
    ui.kineticsCollapsibleButton.collapsed = False  # opening the section lists the scene's volumes
    names = [ui.kineticsPhasesListWidget.item(i).text() for i in range(ui.kineticsPhasesListWidget.count)]
    assert names[1:] == [f"DCE phase {n}" for n in range(6)]
    for row in range(1, 7):
        ui.kineticsPhasesListWidget.item(row).setCheckState(rig.qt.Qt.Checked)
    return widget, ui, unchecked


def test_kinetics_section_on_separately_loaded_phases(equipped):
    widget, ui, unchecked = _regions_and_phases(equipped)
    # A plain volume is one phase: the button said what was missing until the phases were checked.
    assert unchecked is not None and "one phase" in unchecked
    assert ui.computeKineticsButton.enabled, ui.computeKineticsButton.toolTip
    ui.kineticsTimesLineEdit.text = "0, 60, 120, 180, 240, 300"
    ui.computeKineticsButton.click()
    equipped.run_events_until(lambda: idle(widget))
    assert equipped.slot_errors == [] and equipped.dialogs == []
    scene = equipped.slicer.mrmlScene
    maps = [n for n in equipped.slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode")
            if n.GetAttribute("TMERadiomics.KineticMap")]
    assert sorted(n.GetName() for n in maps) == sorted(
        f"DCE phase 0 kinetics {m}" for m in ("PE_early", "SER", "washin", "washout", "curve_type"))
    # (The rig renders no slice views, so it has no slice composite node to show the SER map in.)
    views = [scene.GetNthNodeByClass(i, "vtkMRMLPlotViewNode") for i in range(scene.GetNumberOfNodesByClass(
        "vtkMRMLPlotViewNode"))]
    chart = scene.GetNodeByID(views[0].GetPlotChartNodeID())
    assert chart.GetName() == "DCE phase 0 kinetic curves" and chart.GetNumberOfPlotSeriesNodes() == 3
    assert "typed" in ui.kineticsStatusLabel.text and "SER" in ui.kineticsStatusLabel.text
    # The maps are not offered as phases next time.
    names = [ui.kineticsPhasesListWidget.item(i).text() for i in range(ui.kineticsPhasesListWidget.count)]
    assert not any("kinetics" in n for n in names)


def test_missing_times_are_one_message_and_the_scene_is_unchanged(equipped):
    widget, ui, _ = _regions_and_phases(equipped)
    nodes = equipped.slicer.mrmlScene.GetNumberOfNodes()
    ui.computeKineticsButton.click()
    equipped.run_events_until(lambda: idle(widget))
    assert len(equipped.dialogs) == 1 and "phase times are missing" in str(equipped.dialogs[0]), equipped.dialogs
    assert equipped.slicer.mrmlScene.GetNumberOfNodes() == nodes
