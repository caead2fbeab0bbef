"""TMERadiomics: the 3D Slicer module (Module, Widget, Logic, Test, as in Slicer's scripted template).

All behaviour lives in ``TMERadiomicsLogic`` (no qt/ctk, tested on
slicer-core); this file only wires the panel to it.
"""

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import qt
import slicer
import vtk
from slicer.parameterNodeWrapper import WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

MODULE_DIR = Path(__file__).resolve().parent


def _libraryOnPath() -> None:
    """From source (Additional module paths) the library sits beside this folder."""
    if (MODULE_DIR.parent / "TMERadiomicsLib").is_dir() and str(MODULE_DIR.parent) not in sys.path:
        sys.path.insert(0, str(MODULE_DIR.parent))


_libraryOnPath()

from TMERadiomicsLogic import Cancelled  # noqa: E402
from TMERadiomicsLogic import TMERadiomicsLogic as _CoreLogic  # noqa: E402
from TMERadiomicsLogic import dependencies  # noqa: E402
from TMERadiomicsLogic.resources import bundled_models, presets, ui_file  # noqa: E402


class TMERadiomics(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "TMERadiomics"
        self.parent.categories = ["Quantification"]
        self.parent.dependencies = ["Segmentations"]
        self.parent.contributors = ["TMERadiomics developers"]
        self.parent.helpText = (
            "Regions around a contoured breast tumour on DCE-MRI (intratumoral, peritumoral band, ring), "
            "PyRadiomics features with the presets of the two papers, and their published signatures' "
            "scores with a risk-group overlay. Research use only; not for diagnosis. "
            "See docs/slicer.md for a walk-through."
        )
        self.parent.acknowledgementText = (
            "Reproduces Qian et al. 2024 (DCE-MRI radiomics of M2 macrophage infiltration in breast cancer) "
            "and Han et al. 2024 (DCE-MRI radiomics of the tumour immune microenvironment in breast cancer). "
            "Features by PyRadiomics (van Griethuysen et al., Cancer Research 2017) via SlicerRadiomics."
        )


@parameterNodeWrapper
class TMERadiomicsParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    phase: int = 2
    segmentation: slicer.vtkMRMLSegmentationNode
    tumorSegmentId: str = ""
    peritumoralMm: Annotated[float, WithinRange(0.5, 50.0)] = 5.0
    ringMm: Annotated[float, WithinRange(0.5, 20.0)] = 2.0
    preset: str = "qian2024"
    featuresTable: slicer.vtkMRMLTableNode
    scoresTable: slicer.vtkMRMLTableNode
    studyDatabase: str = ""
    caseId: str = ""
    reader: str = ""
    session: str = ""
    replaceSession: bool = False
    iccThreshold: Annotated[float, WithinRange(0.01, 0.99)] = 0.75
    iccTable: slicer.vtkMRMLTableNode


class TMERadiomicsWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._regionSegmentIds = []
        self._studyMessage = ""

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(str(ui_file()))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = TMERadiomicsLogic()

        self.ui.presetComboBox.addItems(presets())
        for path in bundled_models():
            self._addModelItem(path)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.tumorSegmentSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.onSegmentationChanged)
        self.ui.tumorSegmentSelector.connect("currentSegmentChanged(QString)", self.updateButtons)
        self.ui.inputVolumeSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.updateButtons)
        self.ui.presetComboBox.connect("currentTextChanged(QString)", self.onPresetChanged)
        self.ui.modelsListWidget.connect("itemChanged(QListWidgetItem*)", self.updateButtons)
        self.ui.featuresTableSelector.connect("currentNodeChanged(vtkMRMLNode*)", self.updateButtons)
        self.ui.addModelButton.connect("clicked(bool)", self.onAddModel)
        self.ui.generateRegionsButton.connect("clicked(bool)", self.onGenerateRegions)
        self.ui.computeFeaturesButton.connect("clicked(bool)", self.onComputeFeatures)
        self.ui.applyModelsButton.connect("clicked(bool)", self.onApplyModels)
        self.ui.runAllButton.connect("clicked(bool)", self.onRunAll)
        self.ui.installDependenciesButton.connect("clicked(bool)", self.onInstallDependencies)
        self.ui.studyDatabasePathLineEdit.connect("currentPathChanged(QString)", self.onStudyDatabaseChanged)
        self.ui.saveSessionButton.connect("clicked(bool)", self.onSaveSession)
        self.ui.computeIccButton.connect("clicked(bool)", self.onComputeIcc)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(TMERadiomicsParameterNode(self.logic.getParameterNode()))
        if not self._parameterNode.inputVolume:
            self._parameterNode.inputVolume = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateButtons)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateButtons)
            self.ui.presetComboBox.setCurrentText(self._parameterNode.preset)
            self.ui.tumorSegmentSelector.setCurrentNode(self._parameterNode.segmentation)
            self.ui.tumorSegmentSelector.setCurrentSegmentID(self._parameterNode.tumorSegmentId)
            self.ui.studyDatabasePathLineEdit.currentPath = self._parameterNode.studyDatabase
            self.updateButtons()

    # ---- wiring --------------------------------------------------------

    def onSegmentationChanged(self, node) -> None:
        self.ui.exclusionSegmentSelector.setCurrentNode(node)
        if self._parameterNode:
            self._parameterNode.segmentation = node
        self.updateButtons()

    def onPresetChanged(self, text) -> None:
        if self._parameterNode:
            self._parameterNode.preset = text

    def onStudyDatabaseChanged(self, path) -> None:
        if self._parameterNode:
            self._parameterNode.studyDatabase = path
        self.updateButtons()

    def onAddModel(self) -> None:
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), "Model bundle folder")
        if folder:
            self._addModelItem(Path(folder), checked=True)

    def _addModelItem(self, path: Path, checked: bool = False) -> None:
        item = qt.QListWidgetItem(path.name)
        item.setData(qt.Qt.UserRole, str(path))
        item.setToolTip(str(path))
        item.setFlags(item.flags() | qt.Qt.ItemIsUserCheckable)
        item.setCheckState(qt.Qt.Checked if checked else qt.Qt.Unchecked)
        self.ui.modelsListWidget.addItem(item)

    def _checkedModels(self) -> list:
        widget = self.ui.modelsListWidget
        return [widget.item(i).data(qt.Qt.UserRole) for i in range(widget.count)
                if widget.item(i).checkState() == qt.Qt.Checked]

    def _inputs(self) -> dict:
        self._parameterNode.tumorSegmentId = self.ui.tumorSegmentSelector.currentSegmentID() or ""
        return dict(volume=self._selectedPhase(), segmentation=self.ui.tumorSegmentSelector.currentNode(),
                    tumour=self._parameterNode.tumorSegmentId)

    def _selectedPhase(self):
        volume = self._parameterNode.inputVolume
        return self.logic.selectPhase(volume, self._parameterNode.phase) if volume else None

    def updateButtons(self, *unused) -> None:
        """Enable each action, or say why it is disabled (reasons come from the Logic)."""
        if not self._parameterNode:
            return
        node = self._parameterNode
        segmentation = self.ui.tumorSegmentSelector.currentNode()
        missing = sorted(set(dependencies.missing("features")) | set(dependencies.missing("models"))
                         | set(dependencies.missing("study")))
        reasons = {
            self.ui.generateRegionsButton: self.logic.regionsBlocker(
                node.inputVolume, segmentation, self.ui.tumorSegmentSelector.currentSegmentID()),
            self.ui.computeFeaturesButton: self.logic.featuresBlocker(
                node.inputVolume, segmentation, self._regionSegmentIds),
            self.ui.applyModelsButton: self.logic.modelsBlocker(node.featuresTable, self._checkedModels()),
        }
        reasons[self.ui.runAllButton] = reasons[self.ui.generateRegionsButton]
        for button, reason in reasons.items():
            button.enabled = reason is None
            button.toolTip = reason or ""
        shown = [f"{b.text}: {r}" for b, r in reasons.items() if r]
        if missing:
            shown.append("Missing Python packages: " + ", ".join(missing))
        self.ui.blockedReasonLabel.text = "\n".join(shown)
        self.ui.installDependenciesButton.visible = bool(missing)
        self._updateStudyButtons(segmentation)

    def _updateStudyButtons(self, segmentation) -> None:
        """The Reproducibility section says why its buttons are disabled, else the last result."""
        node = self._parameterNode
        reasons = {
            self.ui.saveSessionButton: self.logic.saveSessionBlocker(
                node.inputVolume, segmentation, self.ui.tumorSegmentSelector.currentSegmentID(),
                node.studyDatabase, node.caseId, node.reader, node.session),
            self.ui.computeIccButton: self.logic.iccBlocker(node.studyDatabase),
        }
        for button, reason in reasons.items():
            button.enabled = reason is None
            button.toolTip = reason or ""
        shown = [f"{b.text}: {r}" for b, r in reasons.items() if r]
        self.ui.reproducibilityStatusLabel.text = "\n".join([self._studyMessage, *shown]).strip()

    # ---- actions -------------------------------------------------------

    def _run(self, title: str, work) -> None:
        """Run one Logic action under a cancellable progress dialog; errors go to a message box."""
        dialog = slicer.util.createProgressDialog(windowTitle=title, labelText=title, maximum=100)

        def progress(message: str, fraction: float) -> None:
            dialog.labelText = message
            dialog.value = int(100 * fraction)
            slicer.app.processEvents()
            if dialog.wasCanceled:
                raise Cancelled()

        try:
            with slicer.util.tryWithErrorDisplay(f"{title} failed.", waitCursor=True):
                try:
                    work(progress)
                except Cancelled:
                    logging.info("%s cancelled; the scene is unchanged", title)
        finally:
            dialog.close()
            self.updateButtons()

    def onGenerateRegions(self) -> None:
        inputs = self._inputs()
        self._run("Generate regions", lambda progress: self._setRegions(self.logic.generateRegions(
            inputs["volume"], inputs["segmentation"], inputs["tumour"], self._parameterNode.peritumoralMm,
            self._parameterNode.ringMm, self._exclusions(), progress=progress)))

    def _exclusions(self) -> list:
        return list(self.ui.exclusionSegmentSelector.selectedSegmentIDs())

    def _setRegions(self, ids) -> None:
        self._regionSegmentIds = list(ids)

    def onComputeFeatures(self) -> None:
        inputs = self._inputs()
        self._run("Compute features", lambda progress: self._showFeatures(self.logic.computeFeatures(
            inputs["volume"], inputs["segmentation"], self._regionSegmentIds, self._parameterNode.preset,
            progress=progress)))

    def _showFeatures(self, table) -> None:
        self._parameterNode.featuresTable = table
        self._showTable(table)

    @staticmethod
    def _showTable(table) -> None:
        slicer.app.applicationLogic().GetSelectionNode().SetActiveTableID(table.GetID())
        slicer.app.applicationLogic().PropagateTableSelection()

    def onApplyModels(self) -> None:
        self._run("Apply models", lambda progress: self._showScores(self.logic.applyModels(
            self._parameterNode.featuresTable, self._checkedModels(), self.ui.tumorSegmentSelector.currentNode(),
            progress=progress)))

    def _showScores(self, table) -> None:
        self._parameterNode.scoresTable = table
        summary = self.logic.summaryText()
        self.ui.summaryLabel.text = summary
        self.logic.showSummaryInSliceViews(summary)

    def onRunAll(self) -> None:
        inputs = self._inputs()

        def work(progress):
            ids, features, scores = self.logic.runAll(
                inputs["volume"], inputs["segmentation"], inputs["tumour"], self._parameterNode.preset,
                self._checkedModels(), peritumoralMm=self._parameterNode.peritumoralMm,
                ringMm=self._parameterNode.ringMm, exclusionSegmentIds=self._exclusions(), progress=progress)
            self._setRegions(ids)
            self._showFeatures(features)
            if scores is not None:
                self._showScores(scores)

        self._run("Run all", work)

    def _runStudy(self, title: str, work) -> None:
        """As ``_run``; the result or the error also stays in the Reproducibility section."""
        def remembered(progress) -> None:
            try:
                self._studyMessage = work(progress)
            except ValueError as error:
                self._studyMessage = f"{title} failed: {error}"
                raise
            except Cancelled:
                # Compute ICC keeps the contours it finished extracting; the next run does the rest.
                self._studyMessage = f"{title} cancelled; the scene is unchanged."
                raise

        self._run(title, remembered)

    def onSaveSession(self) -> None:
        inputs, node = self._inputs(), self._parameterNode
        self._runStudy("Save segmentation to session", lambda progress: self.logic.saveSegmentationToSession(
            inputs["volume"], inputs["segmentation"], inputs["tumour"], node.studyDatabase, node.caseId,
            node.reader, node.session, replace=node.replaceSession, peritumoralMm=node.peritumoralMm,
            ringMm=node.ringMm).message())

    def onComputeIcc(self) -> None:
        node = self._parameterNode

        def work(progress) -> str:
            result = self.logic.computeIcc(
                node.studyDatabase, node.preset, form=self.ui.iccFormComboBox.currentText,
                threshold=node.iccThreshold, tableNode=node.iccTable,
                required=self.ui.iccRequireComboBox.currentText.split(","), progress=progress)
            node.iccTable = result.table
            self._showTable(result.table)
            return result.message()

        self._runStudy("Compute ICC", work)

    def onInstallDependencies(self) -> None:
        lines = dependencies.requirements()
        if not slicer.util.confirmOkCancelDisplay(
            "TMERadiomics needs these Python packages, which Slicer does not ship:\n\n" + "\n".join(lines)
            + "\n\nInstall them now? This downloads from PyPI and may take a few minutes."
        ):
            return
        with slicer.util.tryWithErrorDisplay("Installing Python packages failed.", waitCursor=True):
            slicer.util.pip_install(lines)
        self.updateButtons()


class TMERadiomicsLogic(ScriptedLoadableModuleLogic, _CoreLogic):
    """Slicer's logic base (parameter node) over the qt-free TMERadiomics Logic."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        _CoreLogic.__init__(self)

    def getParameterNode(self):
        return TMERadiomicsParameterNode(super().getParameterNode())

    def showSummaryInSliceViews(self, summary: str) -> None:
        """The risk-group legend in the upper-left corner of every slice view."""
        layoutManager = slicer.app.layoutManager()
        if layoutManager is None:
            return
        for name in layoutManager.sliceViewNames():
            view = layoutManager.sliceWidget(name).sliceView()
            view.cornerAnnotation().SetText(vtk.vtkCornerAnnotation.UpperLeft, summary)
            view.forceRender()


class TMERadiomicsTest(ScriptedLoadableModuleTest):
    """The whole workflow on generated phantoms, through the same Logic calls as the slicer-core tests."""

    def setUp(self) -> None:
        slicer.mrmlScene.Clear()

    def runTest(self) -> None:
        self.setUp()
        self.test_TMERadiomics_workflow()

    def test_TMERadiomics_workflow(self) -> None:
        import tempfile

        from TMERadiomicsLogic import overlay, segments, tables
        from TMERadiomicsLogic.scene import add_phantom_case, calibrated_phantom_bundles

        self.delayDisplay("Calibrating the Qian 2024 combined signature on ten phantoms")
        with tempfile.TemporaryDirectory() as folder:
            bundle = calibrated_phantom_bundles(folder, ["qian2024-combined"])[0]
            volume, segmentation, ids = add_phantom_case(slicer.mrmlScene, seed=11)
            before = segmentation.GetSegmentation().GetNumberOfSegments()
            logic = TMERadiomicsLogic()
            self.delayDisplay("Run all")
            regionIds, features, scores = logic.runAll(
                volume, segmentation, ids["Tumour"], "qian2024", [bundle], exclusionSegmentIds=[ids["Vessels"]])
            self.assertEqual(segmentation.GetSegmentation().GetNumberOfSegments(), before + 3)
            self.assertEqual([segments.segment_region(segmentation, i) for i in regionIds],
                             ["intratumoral", "peritumoral", "ring"])
            self.assertEqual(tables.table_to_frame(features).columns.tolist(),
                             ["Feature", "Intratumoral", "Peritumoral", "Ring"])
            frame = tables.table_to_frame(scores)
            self.assertEqual(frame["Model"].tolist(), ["qian2024-combined"])
            group = frame["Risk group"].iloc[0]
            self.assertIn(group, ["low M2 infiltration", "high M2 infiltration"])
            index = ["low M2 infiltration", "high M2 infiltration"].index(group)
            colour = segmentation.GetSegmentation().GetSegment(regionIds[0]).GetColor()
            for got, expected in zip(colour, overlay.risk_colour(index, "intratumoral")):
                self.assertAlmostEqual(got, expected, places=5)
            self.assertIn(group, logic.summaryText())
            logic.showSummaryInSliceViews(logic.summaryText())
        self.delayDisplay("Test passed")
