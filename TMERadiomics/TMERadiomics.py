"""TMERadiomics: the 3D Slicer module (Module, Widget, Logic, Test, as in Slicer's scripted template).

All behaviour lives in ``TMERadiomicsLogic`` (no qt/ctk, tested on
slicer-core); this file only wires the panel to it.

Loading this file and opening the panel need only what Slicer ships
(stdlib, numpy, vtk, qt, ctk, slicer), and load neither SimpleITK nor
PyRadiomics: Slicer imports every module at start-up. SimpleITK loads on the
first action (``TMERadiomicsLogic.lazy``); pandas, PyYAML, scikit-learn, skops
and PyRadiomics are imported inside the actions that use them, so a Slicer
without them still shows the panel, names what is missing and offers to
install it.
"""

import importlib
import logging
import sys
import tempfile
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

try:  # Slicer 5.8, 5.10 and 5.12 all have it; the module is built for 5.8 and later, but loads anywhere
    from slicer.i18n import tr as _
    from slicer.i18n import translate
except ImportError:  # a Slicer without translations: the English text
    def _(text: str) -> str:
        return text

    def translate(context: str, text: str) -> str:
        return text

MODULE_DIR = Path(__file__).resolve().parent
DOCS_URL = "https://github.com/TMERadiomics/TMERadiomics/blob/main/docs/slicer.md"
# The module's own packages: Reload re-imports them so edits to the Logic take effect.
OWN_PACKAGES = ("TMERadiomicsLogic", "TMERadiomicsLib")
MAX_PHASE = 99  # the spin box's ceiling until a volume says how many phases it has


def _libraryOnPath() -> None:
    """From source (Additional module paths) the library sits beside this folder."""
    if (MODULE_DIR.parent / "TMERadiomicsLib").is_dir() and str(MODULE_DIR.parent) not in sys.path:
        sys.path.insert(0, str(MODULE_DIR.parent))


_libraryOnPath()

from TMERadiomicsLogic import Cancelled  # noqa: E402
from TMERadiomicsLogic import TMERadiomicsLogic as _CoreLogic  # noqa: E402
from TMERadiomicsLogic import dependencies  # noqa: E402
from TMERadiomicsLogic.resources import bundled_models, model_entry, presets  # noqa: E402


class TMERadiomics(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("TMERadiomics")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["Segmentations"]
        self.parent.contributors = ["TMERadiomics developers"]
        self.parent.helpText = _(
            "Regions around a contoured breast tumour on DCE-MRI (intratumoral, peritumoral band, ring), "
            "PyRadiomics features with the presets of the two papers, and their published signatures' "
            "scores with a risk-group overlay. Research use only; not for diagnosis. "
            'See the <a href="{url}">TMERadiomics Slicer guide</a> for a walk-through.'
        ).format(url=DOCS_URL)
        self.parent.acknowledgementText = _(
            "Reproduces Qian et al. 2024 (DCE-MRI radiomics of M2 macrophage infiltration in breast cancer) "
            "and Han et al. 2024 (DCE-MRI radiomics of the tumour immune microenvironment in breast cancer). "
            "Features by PyRadiomics (van Griethuysen et al., Cancer Research 2017)."
        )


@parameterNodeWrapper
class TMERadiomicsParameterNode:
    inputVolume: slicer.vtkMRMLScalarVolumeNode
    phase: Annotated[int, WithinRange(0, MAX_PHASE)] = 2
    segmentation: slicer.vtkMRMLSegmentationNode
    tumorSegmentId: str = ""
    peritumoralMm: Annotated[float, WithinRange(0.5, 50.0)] = 5.0
    ringMm: Annotated[float, WithinRange(0.5, 20.0)] = 2.0
    airBelowEnabled: bool = False
    airBelow: float = 40.0  # applied only when airBelowEnabled (the .ui's checkable spin box)
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
    """The panel: ``self.ui.<objectName>`` for every widget of ``Resources/UI/TMERadiomics.ui``.

    Each button's slot (``onGenerateRegions``, ``onComputeFeatures``, ``onApplyModels``,
    ``onRunAll``, ``onInstallDependencies``, ``onSaveSession``, ``onComputeIcc``,
    ``onRunCohort``) runs one Logic call, quick ones through ``_run``, slow ones in a worker
    process through ``_runJob``: errors go to a dialog and the scene stays as it was.
    ``updateButtons`` enables each button or says why not in ``blockedReasonLabel``; while
    a run lasts (``_running``) every action is disabled.
    """

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._studyMessage = ""
        self._running = None  # the title of the action in progress
        self._job = None  # its worker job, when it runs in the background
        self._exportMessage = ""

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/TMERadiomics.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = TMERadiomicsLogic()

        self.ui.presetComboBox.addItems(presets())
        for path in bundled_models():
            self._addModelItem(path)
        # What each action button does (the .ui's tooltip); updateButtons adds why it is disabled.
        self._buttonTips = {button: button.toolTip for button in self._actionButtons() + self._resultButtons()}
        self.ui.airBelowCheckBox.connect("toggled(bool)", self.ui.airBelowSpinBox.setEnabled)
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
        self.ui.runCohortButton.connect("clicked(bool)", self.onRunCohort)
        self.ui.computeKineticsButton.connect("clicked(bool)", self.onComputeKinetics)
        self.ui.kineticsPhasesListWidget.connect("itemChanged(QListWidgetItem*)", self.updateButtons)
        self.ui.kineticsCollapsibleButton.connect("contentsCollapsed(bool)", self.onKineticsCollapsed)
        self.ui.cohortManifestPathLineEdit.connect("currentPathChanged(QString)", self.updateButtons)
        self.ui.cohortOutputPathLineEdit.connect("currentPathChanged(QString)", self.updateButtons)
        self.ui.runAllLesionsButton.connect("clicked(bool)", self.onRunAllLesions)
        self.ui.restoreColoursButton.connect("clicked(bool)", self.onRestoreColours)
        self.ui.exportTableButton.connect("clicked(bool)", self.onExportTable)
        self.initializeParameterNode()

    def cleanup(self) -> None:
        self._cancelJob()  # Slicer closing or the module reloaded: no child outlives the panel
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        # Disconnects the GUI and removes the parameter node's observer; enter() restores both.
        self.setParameterNode(None)

    def onReload(self) -> None:
        """Reload re-imports the module's own packages too, not only this file."""
        for name in [n for n in sys.modules if n.split(".")[0] in OWN_PACKAGES]:
            del sys.modules[name]
        importlib.invalidate_caches()
        ScriptedLoadableModuleWidget.onReload(self)

    def onSceneStartClose(self, caller, event) -> None:
        self._cancelJob()  # its result would belong to nodes that are about to go
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        # The Logic returns the parameter node already wrapped: wrapping it again breaks it.
        self.setParameterNode(self.logic.getParameterNode())
        if not self._parameterNode.inputVolume:
            self._parameterNode.inputVolume = self._firstDceVolume()

    @staticmethod
    def _firstDceVolume():
        """The first scalar volume that is not a label map (the volume selector lists no label maps)."""
        scene = slicer.mrmlScene
        for index in range(scene.GetNumberOfNodesByClass("vtkMRMLScalarVolumeNode")):
            node = scene.GetNthNodeByClass(index, "vtkMRMLScalarVolumeNode")
            if not node.IsA("vtkMRMLLabelMapVolumeNode"):
                return node
        return None

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateButtons)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._connectGui(self._parameterNode)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateButtons)
            self.ui.presetComboBox.setCurrentText(self._parameterNode.preset)
            self._restoreSegmentSelection(self._parameterNode)
            self._restoreStudyDatabase(self._parameterNode)
            self.updateButtons()

    def _restoreSegmentSelection(self, parameterNode) -> None:
        """Show the parameter node's segmentation, or keep what the selector shows when it has none.

        qMRMLNodeComboBox::setCurrentNode(nullptr) empties the selector and emits
        None: on first open and after a scene close that would clear the
        segmentation the selector had just picked.
        """
        if parameterNode.segmentation is None:
            parameterNode.segmentation = self.ui.tumorSegmentSelector.currentNode()
            return
        self.ui.tumorSegmentSelector.setCurrentNode(parameterNode.segmentation)
        if parameterNode.tumorSegmentId:
            self.ui.tumorSegmentSelector.setCurrentSegmentID(parameterNode.tumorSegmentId)

    def _restoreStudyDatabase(self, parameterNode) -> None:
        """As the segmentation: a parameter node without a study database keeps the path the line edit
        shows, which is the most recent one of its history (ctkPathLineEdit's settingKey)."""
        if parameterNode.studyDatabase:
            self.ui.studyDatabasePathLineEdit.currentPath = parameterNode.studyDatabase
        else:
            parameterNode.studyDatabase = self.ui.studyDatabasePathLineEdit.currentPath

    def _connectGui(self, parameterNode):
        """Bind the widgets named by ``SlicerParameterName`` in the .ui; returns the tag that disconnects them.

        What ``connectGui`` does, through ``connectParametersToGui``: Slicer 5.8's
        ``connectGui`` drops the tag (returns None), so ``disconnectGui`` could
        never disconnect and every enter() would add another binding.
        """
        mapping = {}
        for widget in vars(self.ui).values():  # as connectGui(self.ui) reads it
            name = widget.property("SlicerParameterName")
            if name:
                mapping[name] = widget
        return parameterNode.connectParametersToGui(mapping)

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
        folder = qt.QFileDialog.getExistingDirectory(slicer.util.mainWindow(), _("Model bundle folder"))
        if folder:
            self._addModelItem(Path(folder), checked=True)
            self.updateButtons()  # the item is added checked, so no itemChanged signal refreshes the buttons

    def _addModelItem(self, path: Path, checked: bool = False) -> None:
        """One entry per bundle, named by its calibration; a bundle that cannot score is greyed out (never
        checked) and its tooltip says why and how to calibrate it, rather than failing on Apply models."""
        entry = model_entry(path)
        item = qt.QListWidgetItem(entry.label)
        item.setData(qt.Qt.UserRole, str(path))
        item.setToolTip(entry.tooltip)
        flags = item.flags() | qt.Qt.ItemIsUserCheckable
        item.setFlags(flags if entry.usable else flags & ~qt.Qt.ItemIsEnabled)
        item.setCheckState(qt.Qt.Checked if checked and entry.usable else qt.Qt.Unchecked)
        self.ui.modelsListWidget.addItem(item)

    def _checkedModels(self) -> list:
        """The checked bundles; every model action calls this, so the Logic also gets the Site field here."""
        self.logic.caseSite = self.ui.siteLineEdit.text
        widget = self.ui.modelsListWidget
        return [widget.item(i).data(qt.Qt.UserRole) for i in range(widget.count)
                if widget.item(i).checkState() == qt.Qt.Checked and widget.item(i).flags() & qt.Qt.ItemIsEnabled]

    def _modelsBlocker(self, featuresTable):
        """The Logic's reason, except that "Select at least one model." cannot be followed when every
        listed bundle is greyed out: then say what to add."""
        reason = self.logic.modelsBlocker(featuresTable, self._checkedModels())
        widget = self.ui.modelsListWidget
        usable = [i for i in range(widget.count) if widget.item(i).flags() & qt.Qt.ItemIsEnabled]
        if featuresTable is not None and not usable:
            return _("Add a calibrated model bundle: the listed signatures need calibration first.")
        return reason

    def _airBelow(self):
        """The air threshold for the Logic's ``airBelow``: the spin box's value when its box is checked."""
        node = self._parameterNode
        return node.airBelow if node.airBelowEnabled else None

    def _actionButtons(self) -> list:
        return [self.ui.generateRegionsButton, self.ui.computeFeaturesButton, self.ui.applyModelsButton,
                self.ui.runAllButton, self.ui.runAllLesionsButton, self.ui.saveSessionButton,
                self.ui.computeIccButton]

    def _resultButtons(self) -> list:
        return [self.ui.restoreColoursButton, self.ui.exportTableButton]

    def _showBlocked(self, reasons: dict) -> list:
        """Enable each button or give its tooltip the reason; returns the panel's prompts, one per reason.

        Several actions wait for the same input ("Select a DCE volume."): that
        prompt is shown once, on its own; a reason only one action has is
        prefixed with the action's name.
        """
        buttonsOf = {}
        for button, reason in reasons.items():
            button.enabled = reason is None
            tip = self._buttonTips.get(button, "")
            button.toolTip = f"{tip}\n{reason}".strip() if reason else tip
            if reason:
                buttonsOf.setdefault(reason, []).append(button.text)
        return [reason if len(names) > 1 else f"{names[0]}: {reason}" for reason, names in buttonsOf.items()]

    def _inputs(self) -> dict:
        """The volume at the selected phase, the segmentation and the tumour segment (ValueError if no such phase)."""
        self._parameterNode.tumorSegmentId = self.ui.tumorSegmentSelector.currentSegmentID() or ""
        return dict(volume=self.logic.selectPhase(self._parameterNode.inputVolume, self._parameterNode.phase),
                    segmentation=self.ui.tumorSegmentSelector.currentNode(),
                    tumour=self._parameterNode.tumorSegmentId)

    def _regionSegmentIds(self) -> list:
        """The selected lesion's region segments, read from the segments' tags each time (never remembered):
        those generated from the tumour segment the selector shows, not the last lesion's."""
        return self.logic.regionSegmentIds(self.ui.tumorSegmentSelector.currentNode(), self._parameterNode.inputVolume,
                                           tumorSegmentId=self.ui.tumorSegmentSelector.currentSegmentID() or None)

    def updateButtons(self, *unused) -> None:
        """Enable each action, or say why it is disabled (reasons come from the Logic)."""
        if not self._parameterNode:
            return
        node = self._parameterNode
        segmentation = self.ui.tumorSegmentSelector.currentNode()
        self._updatePhaseRange(node.inputVolume)
        reasons = {
            self.ui.generateRegionsButton: self.logic.regionsBlocker(
                node.inputVolume, segmentation, self.ui.tumorSegmentSelector.currentSegmentID()),
            self.ui.computeFeaturesButton: self.logic.featuresBlocker(
                node.inputVolume, segmentation, self._regionSegmentIds()),
            self.ui.applyModelsButton: self._modelsBlocker(node.featuresTable),
        }
        reasons[self.ui.runAllButton] = reasons[self.ui.generateRegionsButton]
        tumours = self.logic.tumourSegmentIds(segmentation)
        reasons[self.ui.runAllLesionsButton] = self.logic.regionsBlocker(
            node.inputVolume, segmentation, tumours[0] if tumours else None)
        shown = self._showBlocked(reasons)
        self._showBlocked({  # result tools: their tooltips say why; the label stays about the steps
            self.ui.restoreColoursButton: None if self._regionSegmentIds() else _("Generate regions first."),
            self.ui.exportTableButton: None if self._tableToExport() else _("Compute features first."),
        })
        self._showResults(segmentation)
        missing = dependencies.missing_all()
        if missing:
            shown.append(_("Missing Python packages: {packages}").format(packages=dependencies.describe(missing)))
        self.ui.blockedReasonLabel.text = "\n".join(shown)
        self.ui.blockedReasonLabel.visible = bool(shown)
        self.ui.installDependenciesButton.visible = bool(missing)
        self.ui.summaryLabel.text = self.logic.summaryText() or _("No scores yet.")
        self._updateStudyButtons(segmentation)
        self.updateCohortButton()
        self.updateKineticsButton()
        self._disableWhileRunning()

    def _showResults(self, segmentation) -> None:
        """The colour legend of what the views show, and what the last action warned about."""
        entries = self.logic.legendEntries(segmentation) if segmentation is not None else []
        rows = [f'<span style="background-color:{_hexColour(colour)}">&nbsp;&nbsp;&nbsp;&nbsp;</span>&nbsp;'
                f"{_escape(label)}" for label, colour in entries]
        self.ui.legendLabel.text = "<br>".join([_("<b>Colours in the views</b>"), *rows]) if rows else ""
        self.ui.legendLabel.visible = bool(rows)
        warnings = list(self.logic.lastWarnings)
        lines = [self._exportMessage] if self._exportMessage else []
        if warnings:
            lines += [_("Warnings of the last action:"), *(f"- {w}" for w in warnings)]
        self.ui.warningsLabel.text = "\n".join(lines)
        self.ui.warningsLabel.visible = bool(lines)

    def _tableToExport(self):
        node = self._parameterNode
        return node.scoresTable or node.featuresTable

    def _updatePhaseRange(self, volume) -> None:
        """The phase spin box offers the phases the volume has; a 3-D volume has none to choose, so the
        control is hidden rather than greyed out with a number that means nothing."""
        count = self.logic.phaseCount(volume)
        self.ui.phaseLabel.visible = self.ui.phaseSpinBox.visible = count > 1
        if count > 1:
            self.ui.phaseSpinBox.maximum = count - 1

    def _updateStudyButtons(self, segmentation) -> None:
        """The Reproducibility section says why its buttons are disabled, else the last result."""
        node = self._parameterNode
        reasons = {
            self.ui.saveSessionButton: self.logic.saveSessionBlocker(
                node.inputVolume, segmentation, self.ui.tumorSegmentSelector.currentSegmentID(),
                node.studyDatabase, node.caseId, node.reader, node.session),
            self.ui.computeIccButton: self.logic.iccBlocker(node.studyDatabase),
        }
        shown = self._showBlocked(reasons)
        self.ui.reproducibilityStatusLabel.text = "\n".join([self._studyMessage, *shown]).strip()

    # ---- actions -------------------------------------------------------
    #
    # One action at a time. The slow ones (Compute features, Run all's features, Compute ICC, Run
    # cohort) run in a worker process (TMERadiomicsLogic.worker): the GUI thread reads the scene,
    # starts the child, polls it from a QTimer and loads the result in one step; Cancel terminates
    # the child and the scene stays as it was. The quick ones (Generate regions, Apply models, Save
    # segmentation) run here under a progress dialog whose processEvents() may deliver clicks queued
    # meanwhile: ``_running`` refuses them, and the action buttons are disabled while any run lasts.

    POLL_INTERVAL_MS = 50

    # Enabled by updateButtons from the Logic's blockers, and the ones that have no blocker.
    BLOCKED_ACTIONS = ("generateRegionsButton", "computeFeaturesButton", "applyModelsButton", "runAllButton",
                       "runAllLesionsButton", "restoreColoursButton", "exportTableButton", "saveSessionButton",
                       "computeIccButton", "runCohortButton", "computeKineticsButton")
    FREE_ACTIONS = ("addModelButton", "installDependenciesButton")

    def _disableWhileRunning(self) -> None:
        """Called last by updateButtons: a run in progress disables every action, whatever else holds."""
        running = getattr(self, "_running", None)
        for name in self.BLOCKED_ACTIONS + self.FREE_ACTIONS:
            button = getattr(self.ui, name)
            if running:
                button.enabled = False
                if name in self.BLOCKED_ACTIONS:  # updateButtons sets these tooltips again afterwards
                    button.toolTip = _("{action} is running").format(action=running)
            elif name in self.FREE_ACTIONS:
                button.enabled = True

    def _claim(self, title: str) -> bool:
        """Mark ``title`` as the run in progress; False (and nothing done) if another one runs."""
        running = getattr(self, "_running", None)
        if running:
            logging.info("%s ignored: %s is running", title, running)
            return False
        self._running = title
        self._disableWhileRunning()
        return True

    def _release(self) -> None:
        self._running = None
        self.updateButtons()

    def _progressDialog(self, title: str):
        """Slicer's progress dialog, window-modal: the panel cannot be clicked around it."""
        dialog = slicer.util.createProgressDialog(windowTitle=title, labelText=title, maximum=100)
        dialog.windowModality = qt.Qt.WindowModal
        return dialog

    def _run(self, title: str, work) -> bool:
        """Run one quick action here, under a cancellable progress dialog; any error goes to a message box.

        ``work(progress)`` reads its inputs itself, so a bad input (a phase
        the volume lacks, a missing package) is reported the same way.
        Returns whether the action finished.
        """
        if not self._claim(title):
            return False
        dialog = self._progressDialog(title)
        finished = False

        def progress(message: str, fraction: float) -> None:
            dialog.labelText = message
            dialog.value = int(99 * fraction)
            slicer.app.processEvents()
            if dialog.wasCanceled:
                raise Cancelled()

        try:
            with slicer.util.tryWithErrorDisplay(f"{title} failed.", waitCursor=True):
                try:
                    work(progress)
                    finished = True
                except Cancelled:
                    logging.info("%s cancelled; the scene is unchanged", title)
        finally:
            dialog.close()
            self._release()
        return finished

    def _runJob(self, title: str, start, finish, cancelled=None) -> bool:
        """Start a background job: ``start()`` returns a ``worker.Job``; ``finish(job)`` loads its result.

        Returns whether the job started; it then runs on while the event loop turns.
        ``cancelled()`` is called after a Cancel (the scene is back as it was).
        """
        if not self._claim(title):
            return False
        try:
            with slicer.util.tryWithErrorDisplay(_("{action} failed.").format(action=title), waitCursor=True):
                job = start()
        except Exception:
            self._release()
            raise
        job.title = title  # the panel's (translated) name in its messages
        self._job, self._finish, self._cancelled = job, finish, cancelled
        self._dialog = self._progressDialog(title)
        self._dialog.connect("canceled()", self._cancelJob)
        self._timer = qt.QTimer()
        self._timer.setInterval(self.POLL_INTERVAL_MS)
        self._timer.connect("timeout()", self._pollJob)
        self._timer.start()
        return True

    def _pollJob(self) -> None:
        job = getattr(self, "_job", None)
        if job is None:
            return
        job.poll()
        shown = job.progress()
        if shown is not None:
            self._dialog.labelText = shown[0]
            self._dialog.value = int(99 * shown[1])  # 100 would auto-close the dialog before the result is in
        if self._dialog.wasCanceled:
            self._cancelJob()
            return
        if job.running:
            return
        self._timer.stop()
        try:
            with slicer.util.tryWithErrorDisplay(_("{action} failed.").format(action=job.title), waitCursor=True):
                self._finish(job)
        finally:
            self._endJob()

    def _cancelJob(self) -> None:
        """Cancel: the child is terminated (killed if need be), its folder removed, its additions undone."""
        job = getattr(self, "_job", None)
        if job is None:
            return
        job.cancel()
        logging.info("%s cancelled; the scene is unchanged", job.title)
        if self._cancelled is not None:
            self._cancelled()
        self._endJob()

    def _endJob(self) -> None:
        self._job = None  # first: closing a QProgressDialog emits canceled(), which must find no job
        self._timer.stop()
        self._dialog.disconnect("canceled()", self._cancelJob)
        self._dialog.close()
        self._release()

    def _exclusions(self) -> list:
        return list(self.ui.exclusionSegmentSelector.selectedSegmentIDs())

    def onGenerateRegions(self) -> None:
        def work(progress) -> None:
            inputs = self._inputs()
            self.logic.generateRegions(inputs["volume"], inputs["segmentation"], inputs["tumour"],
                                       self._parameterNode.peritumoralMm, self._parameterNode.ringMm,
                                       self._exclusions(), airBelow=self._airBelow(), progress=progress)

        self._run(_("Generate regions"), work)

    def onComputeFeatures(self) -> None:
        def start():
            inputs = self._inputs()
            return self.logic.startComputeFeatures(inputs["volume"], inputs["segmentation"],
                                                   self._regionSegmentIds(), self._parameterNode.preset)

        self._runJob(_("Compute features"), start, lambda job: self._showFeatures(self.logic.finishComputeFeatures(job)))

    def _showFeatures(self, table) -> None:
        self._parameterNode.featuresTable = table
        self.showTable(table)

    def showTable(self, table) -> None:
        """Show a table in a table view, switching to a layout with one when the current layout has none.

        The layout is the view's business, so it lives here and not in the Logic.
        """
        layoutManager = slicer.app.layoutManager()
        if layoutManager is not None:  # None without a main window (--no-main-window)
            tablesLogic = slicer.modules.tables.logic()
            layoutManager.setLayout(tablesLogic.GetLayoutWithTable(layoutManager.layout))
        selection = slicer.app.applicationLogic().GetSelectionNode()
        selection.SetActiveTableID(table.GetID())
        slicer.app.applicationLogic().PropagateTableSelection()

    def onApplyModels(self) -> None:
        self._run(_("Apply models"), lambda progress: self._showScores(self.logic.applyModels(
            self._parameterNode.featuresTable, self._checkedModels(), self.ui.tumorSegmentSelector.currentNode(),
            progress=progress)))

    def _showScores(self, table) -> None:
        # The panel label (refreshed from the scene's summary node) and a table view keep the result;
        # slice-view corners would not: DataProbe rewrites them on every slice change.
        self._parameterNode.scoresTable = table
        self.ui.summaryLabel.text = self.logic.summaryText()
        self.showTable(table)

    def onRunAll(self) -> None:
        def start():
            inputs = self._inputs()
            return self.logic.startRunAll(
                inputs["volume"], inputs["segmentation"], inputs["tumour"], self._parameterNode.preset,
                self._checkedModels(), peritumoralMm=self._parameterNode.peritumoralMm,
                ringMm=self._parameterNode.ringMm, exclusionSegmentIds=self._exclusions(),
                airBelow=self._airBelow())

        def finish(job) -> None:
            features, scores = self.logic.finishRunAll(job)[1:]
            self._showFeatures(features)
            if scores is not None:
                self._showScores(scores)

        self._runJob(_("Run all"), start, finish)

    def _runStudy(self, title: str, work) -> None:
        """As ``_run``; the result or the error also stays in the Reproducibility section."""
        def remembered(progress) -> None:
            try:
                self._studyMessage = work(progress)
                self.ui.studyDatabasePathLineEdit.addCurrentPathToHistory()  # the path was used: keep it
            except ValueError as error:
                self._studyMessage = f"{title} failed: {error}"
                raise
            except Cancelled:
                # Compute ICC keeps the contours it finished extracting; the next run does the rest.
                self._studyMessage = f"{title} cancelled; the scene is unchanged."
                raise

        self._run(title, remembered)

    def onSaveSession(self) -> None:
        node = self._parameterNode

        def work(progress) -> str:
            inputs = self._inputs()
            return self.logic.saveSegmentationToSession(
                inputs["volume"], inputs["segmentation"], inputs["tumour"], node.studyDatabase, node.caseId,
                node.reader, node.session, replace=node.replaceSession, peritumoralMm=node.peritumoralMm,
                ringMm=node.ringMm).message()

        self._runStudy(_("Save segmentation to session"), work)

    def onComputeIcc(self) -> None:
        node = self._parameterNode
        title = _("Compute ICC")

        def start():
            try:
                return self.logic.startComputeIcc(
                    node.studyDatabase, node.preset, form=self.ui.iccFormComboBox.currentText,
                    threshold=node.iccThreshold, tableNode=node.iccTable,
                    required=self.ui.iccRequireComboBox.currentText.split(","))
            except ValueError as error:
                self._studyMessage = _("{action} failed: {error}").format(action=title, error=error)
                raise

        def finish(job) -> None:
            try:
                result = self.logic.finishComputeIcc(job)
            except ValueError as error:
                self._studyMessage = _("{action} failed: {error}").format(action=title, error=error)
                raise
            node.iccTable = result.table
            self.showTable(result.table)
            self._studyMessage = result.message()

        def cancelled() -> None:
            # The contours it finished extracting stay in the database; the next run does the rest.
            self._studyMessage = _("{action} cancelled; the scene is unchanged.").format(action=title)

        self._runJob(title, start, finish, cancelled)

    # ---- kinetics --------------------------------------------------------

    def onKineticsCollapsed(self, collapsed: bool) -> None:
        if not collapsed:
            self.refreshKineticsPhases()

    def refreshKineticsPhases(self) -> None:
        """List the scene's scalar volumes (not the kinetic maps), keeping what was checked."""
        from TMERadiomicsLogic.kinetics import MAP_ATTRIBUTE

        widget = self.ui.kineticsPhasesListWidget
        checked = set(self._checkedPhaseIds())
        widget.blockSignals(True)
        widget.clear()
        for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode"):
            if node.GetAttribute(MAP_ATTRIBUTE):
                continue
            item = qt.QListWidgetItem(node.GetName())
            item.setData(qt.Qt.UserRole, node.GetID())
            item.setFlags(item.flags() | qt.Qt.ItemIsUserCheckable)
            item.setCheckState(qt.Qt.Checked if node.GetID() in checked else qt.Qt.Unchecked)
            widget.addItem(item)
        widget.blockSignals(False)
        self.updateButtons()

    def _checkedPhaseIds(self) -> list:
        widget = self.ui.kineticsPhasesListWidget
        items = [widget.item(row) for row in range(widget.count)]
        return [item.data(qt.Qt.UserRole) for item in items if item.checkState() == qt.Qt.Checked]

    def _kineticPhases(self) -> list:
        """The checked phase volumes that are still in the scene, in list order."""
        nodes = [slicer.mrmlScene.GetNodeByID(node_id) for node_id in self._checkedPhaseIds()]
        return [node for node in nodes if node is not None]

    def updateKineticsButton(self, *unused) -> None:
        phases = self._kineticPhases()
        reason = self.logic.kineticsBlocker(self._parameterNode.inputVolume, self.ui.tumorSegmentSelector.currentNode(),
                                            self._regionSegmentIds(), phases or None)
        self.ui.computeKineticsButton.enabled = reason is None
        self.ui.computeKineticsButton.toolTip = "\n".join(t for t in (self._buttonTips.get(
            self.ui.computeKineticsButton, ""), reason) if t)

    def onComputeKinetics(self) -> None:
        outputs = []

        def work(progress) -> None:
            phases = self._kineticPhases()
            outputs.append(self.logic.computeKinetics(
                None if phases else self._parameterNode.inputVolume, self.ui.tumorSegmentSelector.currentNode(),
                self._regionSegmentIds(), phases or None, self.ui.kineticsTimesLineEdit.text, progress))

        if self._run(_("Compute kinetics"), work) and outputs:
            self._showKinetics(outputs[0])

    def _showKinetics(self, output) -> None:
        """The SER map over the DCE volume in the slice views, the curves in a plot view, one status line."""
        slicer.util.setSliceViewerLayers(foreground=output.maps["SER"], foregroundOpacity=0.5)
        slicer.modules.plots.logic().ShowChartInLayout(output.chart)
        intratumoral = output.result.values.get("intratumoral", {})
        self.ui.kineticsStatusLabel.text = _(
            "Kinetics of {count} regions at {times} s ({source}); tumour: SER {ser:.2f}, wash-out {washout:.0%}, "
            "FTV {ftv:.2f} ml").format(
            count=len(output.result.values), times=", ".join(f"{t:g}" for t in output.times_s),
            source=output.times_source, ser=intratumoral.get("kinetics_SER_mean", float("nan")),
            washout=intratumoral.get("kinetics_washout_fraction", float("nan")),
            ftv=intratumoral.get("kinetics_FTV_ml", float("nan")))
        self.refreshKineticsPhases()

    # ---- cohort ----------------------------------------------------------

    def onRunCohort(self) -> None:
        """``tmeradiomics batch`` over the manifest in a worker; running it again resumes."""
        title = _("Run cohort")

        def start():
            return self.logic.startCohort(
                self.ui.cohortManifestPathLineEdit.currentPath, self.ui.cohortOutputPathLineEdit.currentPath,
                self._parameterNode.preset, self._checkedModels(), peritumoralMm=self._parameterNode.peritumoralMm,
                ringMm=self._parameterNode.ringMm)

        def finish(job) -> None:
            try:
                result = self.logic.finishCohort(job)
            except ValueError as error:
                self.ui.cohortStatusLabel.text = _("{action} failed: {error}").format(action=title, error=error)
                raise
            self.ui.cohortStatusLabel.text = result["message"] or _("Cohort tables loaded from {folder}").format(
                folder=job.out)
            if result["tables"]:
                self.showTable(result["tables"][0])

        def cancelled() -> None:
            self.ui.cohortStatusLabel.text = _("Run cohort cancelled: finished cases are kept in the output folder; "
                                              "run it again to resume.")

        self._runJob(title, start, finish, cancelled)

    def updateCohortButton(self, *unused) -> None:
        if not self._parameterNode:
            return
        reason = self.logic.cohortBlocker(self.ui.cohortManifestPathLineEdit.currentPath,
                                          self.ui.cohortOutputPathLineEdit.currentPath, self._parameterNode.preset)
        self.ui.runCohortButton.enabled = reason is None
        self.ui.runCohortButton.toolTip = reason or ""

    def onRunAllLesions(self) -> None:
        """Run all for every tumour segment of the segmentation (all but region and excluded segments).

        Each lesion's features are extracted in a worker process, one lesion after another.
        """
        node = self._parameterNode

        def start():
            segmentation = self.ui.tumorSegmentSelector.currentNode()
            return self.logic.startRunAllLesions(
                self.logic.selectPhase(node.inputVolume, node.phase), segmentation,
                self.logic.tumourSegmentIds(segmentation), node.preset, self._checkedModels(),
                peritumoralMm=node.peritumoralMm, ringMm=node.ringMm, exclusionSegmentIds=self._exclusions(),
                airBelow=self._airBelow())

        def finish(job) -> None:
            results = self.logic.finishRunAllLesions(job)
            shown = next((r for r in results if r.tumorSegmentId == self.ui.tumorSegmentSelector.currentSegmentID()),
                         results[-1])
            node.featuresTable = shown.features
            if shown.scores is not None:
                node.scoresTable = shown.scores
                self.ui.summaryLabel.text = self.logic.summaryText()
            self.showTable(self.logic.lastLesionsTable)  # one row per lesion

        self._runJob(_("Run all for every tumour segment"), start, finish)

    def onRestoreColours(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Restoring the region colours failed."), waitCursor=True):
            self.logic.restoreRegionColours(self.ui.tumorSegmentSelector.currentNode(),
                                            tumorSegmentId=self.ui.tumorSegmentSelector.currentSegmentID() or None)
        self.updateButtons()

    def onExportTable(self) -> None:
        """The scores table (else the features table) as CSV, with its JSON provenance sidecar beside it."""
        table = self._tableToExport()
        if table is None:
            return
        path = qt.QFileDialog.getSaveFileName(slicer.util.mainWindow(), _("Export table"),
                                              f"{table.GetName()}.csv", _("CSV files (*.csv)"))
        if not path:
            return
        self._exportMessage = ""
        with slicer.util.tryWithErrorDisplay(_("Exporting the table failed."), waitCursor=True):
            # The save dialog has asked before replacing the CSV; the sidecar belongs to it.
            written, sidecar = self.logic.exportTable(table, path, overwrite=True)
            self._exportMessage = _("Written: {csv} and {sidecar}").format(csv=written, sidecar=sidecar)
        self.updateButtons()

    def onInstallDependencies(self) -> None:
        """Install what the panel is missing, after the user confirms; Slicer's numpy/scipy/SimpleITK stay."""
        missing = dependencies.missing_all()
        if not missing:
            self.updateButtons()
            return
        lines, noDepsLines = dependencies.to_install(missing)
        if not slicer.util.confirmOkCancelDisplay(
            _("TMERadiomics needs these Python packages, which this Slicer does not have:\n\n{packages}\n\n"
              "Install them now? This downloads from PyPI and may take a few minutes. Slicer's own numpy, "
              "scipy and SimpleITK are kept as they are.").format(packages="\n".join([*lines, *noDepsLines])),
            windowTitle=_("TMERadiomics - Install Python packages"),
        ):
            return
        with slicer.util.tryWithErrorDisplay(_("Installing Python packages failed."), waitCursor=True):
            self.logic.installPackages(lines, noDepsLines)
        self.updateButtons()


def _hexColour(colour) -> str:
    return "#" + "".join(f"{max(0, min(255, round(255 * float(c)))):02x}" for c in colour[:3])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TMERadiomicsLogic(ScriptedLoadableModuleLogic, _CoreLogic):
    """Slicer's logic base (parameter node) over the qt-free TMERadiomics Logic."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        _CoreLogic.__init__(self)

    def getParameterNode(self):
        return TMERadiomicsParameterNode(super().getParameterNode())

    @staticmethod
    def installPackages(lines: list, noDepsLines: list = ()) -> None:
        """pip-install requirement ``lines`` (and ``noDepsLines`` with ``--no-deps``), Slicer's numpy,
        scipy and SimpleITK held at their versions by a constraints file.

        Where ``slicer.packaging`` exists (Slicer 5.12) everything goes through
        it: ``pip_ensure`` when nothing needs ``--no-deps`` (it also offers a
        restart when an installed package was already imported), otherwise one
        ``pip_install`` with ``no_deps_requirements``, which pip_ensure lacks.
        Before 5.12 (5.8, 5.10), ``slicer.util.pip_install`` with pip's own
        arguments and the same constraints. The user has already confirmed, so
        nothing asks again.
        """
        with tempfile.TemporaryDirectory() as folder:
            constraints = Path(folder) / "slicer-constraints.txt"
            constraints.write_text("\n".join(dependencies.constraints()) + "\n", encoding="utf-8")
            try:
                packaging = importlib.import_module("slicer.packaging")
            except ImportError:
                packaging = None
            if packaging is not None and hasattr(packaging, "pip_ensure"):
                if noDepsLines:
                    packaging.pip_install(list(lines), constraints=str(constraints),
                                          no_deps_requirements=list(noDepsLines), requester="TMERadiomics")
                elif lines:
                    packaging.pip_ensure(list(lines), constraints=str(constraints), prompt_install=False,
                                         requester="TMERadiomics")
            else:
                if lines:
                    slicer.util.pip_install(["-c", str(constraints), *lines])
                if noDepsLines:
                    slicer.util.pip_install(["--no-deps", "-c", str(constraints), *noDepsLines])
        dependencies.forget()  # let the panel see what was just installed


class TMERadiomicsTest(ScriptedLoadableModuleTest):
    """A small phantom through the panel's Logic, in a few seconds; ctest runs it (slicer_add_python_unittest).

    ``test_TMERadiomics_regions`` needs only what Slicer ships (numpy,
    SimpleITK, vtk), so it runs on build machines too; only the features step,
    which needs PyRadiomics, pandas and PyYAML, skips when they are missing.
    Scoring with a calibrated bundle (a minute of calibration) is left to the
    Logic's tests on slicer-core.
    """

    def setUp(self) -> None:
        slicer.mrmlScene.Clear()

    def runTest(self) -> None:
        self.setUp()
        self.test_TMERadiomics_regions()
        self.setUp()
        self.test_TMERadiomics_features()

    @staticmethod
    def _case():
        from TMERadiomicsLogic.scene import add_phantom_case

        return add_phantom_case(slicer.mrmlScene, seed=11)

    def test_TMERadiomics_regions(self) -> None:
        import numpy as np

        from TMERadiomicsLogic import segments, volumes

        self.delayDisplay("Generate regions on a small phantom")
        volume, segmentation, ids = self._case()
        logic = TMERadiomicsLogic()
        self.assertEqual(logic.regionsBlocker(None, segmentation, ids["Tumour"]), "Select a DCE volume.")
        self.assertIsNone(logic.regionsBlocker(volume, segmentation, ids["Tumour"]))
        before = segmentation.GetSegmentation().GetNumberOfSegments()
        regionIds = logic.generateRegions(volume, segmentation, ids["Tumour"], exclusionSegmentIds=[ids["Vessels"]])
        self.assertEqual(segmentation.GetSegmentation().GetNumberOfSegments(), before + 3)
        self.assertEqual([segments.segment_region(segmentation, i) for i in regionIds],
                         ["intratumoral", "peritumoral", "ring"])
        self.assertEqual(logic.regionSegmentIds(segmentation, volume), regionIds)
        image = volumes.volume_to_image(volume)

        def mask(segmentId):
            return volumes.sitk.GetArrayFromImage(segments.segment_to_mask(segmentation, segmentId, image)) > 0

        tumour, vessels = mask(ids["Tumour"]), mask(ids["Vessels"])
        intratumoral, peritumoral, ring = (mask(i) for i in regionIds)
        self.assertTrue(np.array_equal(intratumoral, tumour))
        self.assertGreater(int(peritumoral.sum()), 0)
        self.assertFalse((peritumoral & (tumour | vessels)).any())  # outside the tumour, vessels excluded
        self.assertTrue((ring & tumour).any() and (ring & ~tumour).any())  # straddles the boundary
        self.delayDisplay("Regions passed")

    def test_TMERadiomics_features(self) -> None:
        missing = dependencies.missing("features")
        if missing:
            self.skipTest(f"features need {dependencies.describe(missing)}; install them from the TMERadiomics panel")
        import numpy as np

        from TMERadiomicsLogic import segments, tables, volumes

        self.delayDisplay("Compute features on a small phantom (PyRadiomics' default settings)")
        volume, segmentation, ids = self._case()
        logic = TMERadiomicsLogic()
        regionIds = logic.generateRegions(volume, segmentation, ids["Tumour"], exclusionSegmentIds=[ids["Vessels"]])
        table = logic.computeFeatures(volume, segmentation, regionIds, "default")
        frame = tables.table_to_frame(table).set_index("Feature")
        self.assertEqual(list(frame.columns), ["Intratumoral", "Peritumoral", "Ring"])
        image = volumes.volume_to_image(volume)
        tumour = volumes.sitk.GetArrayFromImage(segments.segment_to_mask(segmentation, ids["Tumour"], image)) > 0
        voxelVolume = float(np.prod(volume.GetSpacing()))
        self.assertAlmostEqual(float(frame.loc["original_shape_VoxelVolume", "Intratumoral"]),
                               int(tumour.sum()) * voxelVolume, places=3)
        self.delayDisplay("Features passed")
