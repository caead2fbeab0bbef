"""Slicer's Python world for one release, built from real parts, in this process.

- ``slicer``: a package whose ``__path__`` is ``../shared/slicer/<tag>/python/slicer``,
  so ``slicer.util``, ``slicer.ScriptedLoadableModule``, ``slicer.parameterNodeWrapper``,
  ``slicer.i18n`` (and 5.12's ``slicer.packaging``) are Slicer's own files, used in
  place; its ``vtkMRML*``/``vtkSlicer*`` classes are slicer-core's; ``slicer.mrmlScene``
  is a real ``vtkMRMLScene``; ``slicer.app`` is the small part of qSlicerApplication a
  module panel touches (``App`` below, over the real QApplication).
- ``qt``: PySide6 with PythonQt's manners (``pythonqt.py``); ``vtk``: the real one;
  ``ctk`` and the ``slicer.q*`` widgets: the header-generated stand-ins (``standins.py``).
- The module is loaded as Slicer loads a scripted module: its folder on ``sys.path``,
  the file imported, ``Module(parent)``, then ``Widget(panel)``, ``setup()``, ``enter()``.

``install(tag)`` swaps these into ``sys.modules``; ``uninstall()`` puts back what was there.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path
from typing import Iterable, Optional

REPO = Path(__file__).resolve().parents[2]
TAGS = ("v5.8.1", "v5.10.0", "v5.12.3")
PYTHON_OF_TAG = {"v5.8.1": (3, 9), "v5.10.0": (3, 12), "v5.12.3": (3, 12)}
SWAPPED = ("slicer", "qt", "ctk", "TMERadiomics", "TMERadiomicsLogic")
# What Slicer's Python does not ship (../shared/slicer/README.md).
NOT_IN_SLICER = ("pandas", "sklearn", "skimage", "yaml", "skops", "lifelines", "statsmodels", "matplotlib", "dask")


def shared_slicer(tag: Optional[str] = None) -> Path:
    base = Path(os.environ.get("TMERADIOMICS_SHARED_SLICER", REPO.parent / "shared" / "slicer"))
    return base / tag if tag else base


class NotShippedError(ImportError):
    """An import of a package that Slicer's Python does not ship."""


class SlicerPythonFinder(importlib.abc.MetaPathFinder):
    """Refuses the packages Slicer does not ship, as a bare Slicer would (ModuleNotFoundError)."""

    def __init__(self, blocked: Iterable[str]):
        self.blocked = set(blocked)
        self.refused = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.blocked:
            self.refused.append(fullname)
            raise NotShippedError(f"No module named {fullname!r} (Slicer's Python does not ship it)", name=fullname)
        return None


class ModuleManager:
    """qSlicerModuleManager's one signal a scripted widget connects to."""

    def __init__(self, qt):
        class Manager(qt.QObject):
            from PySide6.QtCore import Signal

            moduleAboutToBeUnloaded = Signal(str)

        self.qobject = Manager()

    def connect(self, *args):
        return self.qobject.connect(*args)

    def disconnect(self, *args):
        return self.qobject.disconnect(*args)


class LayoutManager:
    """qSlicerLayoutManager's ``layout`` property and ``setLayout`` slot, over the real MRML layout logic.

    As in Slicer, the layout is the singleton layout node's view arrangement,
    and ``vtkMRMLLayoutLogic`` (slicer-core's, the C++ class Slicer uses)
    creates the view nodes a layout has: a table layout gets a
    ``vtkMRMLTableViewNode``, which ``PropagateTableSelection`` then fills.
    No views are rendered. Slicer starts in the Conventional layout.
    """

    def __init__(self, slicer_module, scene):
        slicer_module.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene)  # as Slicer's app logic does
        self._logic = slicer_module.vtkMRMLLayoutLogic()
        self._logic.SetMRMLScene(scene)
        self.setLayout(slicer_module.vtkMRMLLayoutNode.SlicerLayoutConventionalView)

    @property
    def layout(self) -> int:
        return self._logic.GetLayoutNode().GetViewArrangement()

    @layout.setter
    def layout(self, layout: int) -> None:
        self.setLayout(layout)

    def setLayout(self, layout: int) -> None:
        self._logic.GetLayoutNode().SetViewArrangement(int(layout))


class LoadedModule:
    """``slicer.modules.<name>`` of a C++ loadable module: what ``logic()`` returns, on the rig's scene."""

    def __init__(self, logic, scene):
        logic.SetMRMLScene(scene)
        self._logic = logic

    def logic(self):
        return self._logic


class App:
    """The part of ``slicer.app`` (qSlicerApplication) a module panel uses, over the real QApplication."""

    applicationName = "Slicer"

    def __init__(self, qapp, qt, slicer_module, scene):
        self._qapp, self._slicer = qapp, slicer_module
        self._manager = ModuleManager(qt)
        self._logic = slicer_module.vtkSlicerApplicationLogic()
        self._logic.SetMRMLScene(scene)
        self._layoutManager = LayoutManager(slicer_module, scene)
        self.pythonExecutable = sys.executable
        self.overrideCursors = 0

    def translate(self, context: str, text: str) -> str:
        from PySide6 import QtCore

        return QtCore.QCoreApplication.translate(context, text)

    def processEvents(self, *args) -> None:
        self._qapp.processEvents()

    def testingEnabled(self) -> bool:
        return False

    def setOverrideCursor(self, cursor) -> None:
        self.overrideCursors += 1

    def restoreOverrideCursor(self) -> None:
        self.overrideCursors -= 1

    def topLevelWidgets(self):
        return self._qapp.topLevelWidgets()

    def moduleManager(self):
        return self._manager

    def applicationLogic(self):
        return self._logic

    def layoutManager(self):
        return self._layoutManager  # the layout and its view nodes; nothing is rendered

    def mrmlScene(self):
        return self._slicer.mrmlScene


class Rig:
    """One Slicer release's Python world; ``load_module`` opens TMERadiomics in it."""

    def __init__(self, tag: str, blocked: Iterable[str] = NOT_IN_SLICER):
        from . import pythonqt, standins

        self.tag = tag
        self.module = None
        self.saved = {name: sys.modules.get(name) for name in list(sys.modules)
                      if name.split(".")[0] in SWAPPED}
        self.saved_path = list(sys.path)
        for name in self.saved:
            del sys.modules[name]
        self.finder = SlicerPythonFinder(blocked)
        sys.meta_path.insert(0, self.finder)
        # Already imported by other tests: hidden too, or `import pandas` would not ask the finder.
        self.hidden = {name: sys.modules.pop(name) for name in list(sys.modules)
                       if name.split(".")[0] in self.finder.blocked}
        self.qapp = pythonqt.application()
        # An exception escaping a slot: PythonQt prints it to Slicer's Python console, PySide to
        # sys.excepthook; the rig keeps it so a test sees every one.
        self.slot_errors = []
        self.saved_excepthook = sys.excepthook
        sys.excepthook = lambda kind, error, trace: self.slot_errors.append(error)
        self._settings()
        self.dialogs = pythonqt.DIALOGS
        self.dialogs.clear()
        self.qt = pythonqt.make_module()
        sys.modules["qt"] = self.qt
        self.standins = standins.make_classes(tag)
        pythonqt.UiLoader.standins = self.standins
        self.ctk = self._namespace("ctk", ("ctkCollapsibleButton", "ctkPathLineEdit"))
        self.ctk.ctkMessageBox = self.qt.QMessageBox  # used by slicer.util.messageBox; no header shared
        self.slicer = self._slicer_package()
        # Slicer has one main window, and slicer.util.mainWindow() takes the first top-level widget
        # named "qSlicerMainWindow": an earlier rig's window (the QApplication outlives rigs) must not
        # be the one found, or dialogs are parented to it.
        _retire_main_windows()
        self.mainWindow = self.qt.QMainWindow()
        self.mainWindow.setObjectName("qSlicerMainWindow")
        _MAIN_WINDOWS.append(self.mainWindow)

    def _settings(self) -> None:
        from PySide6 import QtCore

        self.settings_dir = tempfile.mkdtemp(prefix="slicer-rig-settings-")
        QtCore.QSettings.setDefaultFormat(QtCore.QSettings.IniFormat)
        QtCore.QSettings.setPath(QtCore.QSettings.IniFormat, QtCore.QSettings.UserScope, self.settings_dir)
        QtCore.QCoreApplication.setOrganizationName("slicer-rig")

    def _namespace(self, name: str, classes: Iterable[str]) -> types.ModuleType:
        module = types.ModuleType(name)
        for cls in classes:
            setattr(module, cls, self.standins[cls])

        def __getattr__(attribute: str):
            if attribute.startswith(("ctk", "qMRML", "qSlicer")):
                return _absent(name, attribute)
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

        module.__getattr__ = __getattr__
        sys.modules[name] = module
        return module

    def _slicer_package(self) -> types.ModuleType:
        import slicer_core  # slicer-core's MRML, without its 'slicer' meta-package

        package = self._namespace("slicer", ("qMRMLWidget", "qMRMLNodeComboBox", "qMRMLSegmentSelectorWidget"))
        package.__path__ = [str(shared_slicer(self.tag) / "python" / "slicer")]
        package.__file__ = str(Path(package.__path__[0]) / "__init__.py")
        for name in dir(slicer_core):
            if name.startswith(("vtkMRML", "vtkSlicer", "vtkSegment", "vtkOrientedImageData", "vtkITK")):
                setattr(package, name, getattr(slicer_core, name))
        package.mrmlScene = self.new_scene()
        package.app = App(self.qapp, self.qt, package, package.mrmlScene)
        plots = slicer_core.vtkSlicerPlotsLogic()  # Slicer's own: ShowChartInLayout sets the layout and plot view
        plots.SetMRMLApplicationLogic(package.app.applicationLogic())
        package.modules = types.SimpleNamespace(
            tables=LoadedModule(slicer_core.vtkSlicerTablesLogic(), package.mrmlScene),
            plots=LoadedModule(plots, package.mrmlScene))
        package.util = importlib.import_module("slicer.util")
        return package

    def new_scene(self):
        import slicer_core

        scene = slicer_core.vtkMRMLScene()
        self.segmentations_logic = slicer_core.vtkSlicerSegmentationsModuleLogic()
        self.segmentations_logic.SetMRMLScene(scene)
        return scene

    # -- the module, as Slicer loads it -----------------------------------------
    def load_module(self, module_dir: Path = REPO / "TMERadiomics"):
        """Import ``<module_dir>/TMERadiomics.py`` and create its Module; returns the Python module."""
        sys.path.insert(0, str(module_dir))
        spec = importlib.util.spec_from_file_location("TMERadiomics", module_dir / "TMERadiomics.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["TMERadiomics"] = module
        spec.loader.exec_module(module)
        self.module = module
        self.moduleParent = ModuleParent(str(module_dir / "TMERadiomics.py"))
        self.moduleObject = module.TMERadiomics(self.moduleParent)
        # Slicer registers each loaded module as slicer.modules.<lower-case name> (its
        # qSlicerScriptedLoadableModule); slicer.util.modulePath and the Widget's
        # resourcePath read its path there.
        setattr(self.slicer.modules, "tmeradiomics", self.moduleParent)
        return module

    def create_widget(self):
        """The module panel (qSlicerScriptedLoadableModuleWidget) and its Python Widget, set up."""
        panel = self.panel_class()()
        panel.setLayout(self.qt.QVBoxLayout())
        self.panel = panel
        self.widget = self.module.TMERadiomicsWidget(panel)
        self.widget.setup()
        return self.widget

    def panel_class(self):
        from PySide6 import QtCore

        if not hasattr(self, "_panel_class"):
            base = self.standins["qMRMLWidget"]

            def entered(self):
                return self._rig_entered

            self._panel_class = type("qSlicerScriptedLoadableModuleWidget", (base,), {
                "_rig_entered": False,
                "isEntered": QtCore.Property(bool, entered),
            })
            self._panel_class._rig_property_names = base._rig_property_names | {"isEntered"}
        return self._panel_class

    def enter(self) -> None:
        self.panel.show()
        self.panel._rig_entered = True
        self.widget.enter()

    def exit(self) -> None:
        self.widget.exit()
        self.panel._rig_entered = False

    # -- the user's hand ----------------------------------------------------------
    def post_click(self, widget) -> None:
        """A left click on ``widget``, as the window system delivers it: two real QMouseEvents *posted*.

        Nothing happens until the GUI thread next runs its event loop or calls
        ``processEvents()``; a click made while the thread is busy is thus
        queued and delivered then, as in Slicer. A disabled or hidden widget
        does not take it (Qt drops mouse events to disabled widgets).
        """
        from PySide6 import QtCore, QtGui, QtWidgets

        centre = QtWidgets.QWidget.rect(widget).center()  # PySide's method (PythonQt makes it a property)
        local = QtCore.QPointF(centre)
        scene_pos = QtCore.QPointF(QtWidgets.QWidget.mapToGlobal(widget, centre))
        for kind in (QtCore.QEvent.MouseButtonPress, QtCore.QEvent.MouseButtonRelease):
            buttons = QtCore.Qt.LeftButton if kind == QtCore.QEvent.MouseButtonPress else QtCore.Qt.NoButton
            event = QtGui.QMouseEvent(kind, local, scene_pos, QtCore.Qt.LeftButton, buttons, QtCore.Qt.NoModifier)
            QtCore.QCoreApplication.postEvent(widget, event)

    def run_events_until(self, done, seconds: float = 120.0, interval: float = 0.01) -> int:
        """Run the event loop (timers, posted events) until ``done()``; returns how many rounds it took."""
        import time

        deadline, rounds = time.monotonic() + seconds, 0
        while True:
            self.qapp.processEvents()
            rounds += 1
            if done():
                return rounds
            if time.monotonic() > deadline:
                raise TimeoutError(f"the panel did not finish within {seconds:g} s")
            time.sleep(interval)

    def render_panel(self, path, width: int = 440) -> Path:
        """The module panel as a PNG (QWidget.grab, offscreen), at a module panel's width and its own height."""
        layout = self.panel.layout()
        layout.activate()
        # Word-wrapped labels need more height at this width than the panel's plain size hint gives.
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else self.panel.sizeHint().height()
        self.panel.resize(width, max(height, self.panel.minimumSizeHint().height()))
        self.qapp.processEvents()
        path = Path(path)
        if not self.panel.grab().save(str(path), "PNG"):
            raise OSError(f"could not write the panel picture {path}")
        return path

    def close_scene(self) -> None:
        """File > Close scene: vtkMRMLScene::Clear, as qSlicerCoreApplication does."""
        self.slicer.mrmlScene.Clear(0)

    def uninstall(self) -> None:
        _retire_main_windows()
        sys.excepthook = self.saved_excepthook
        shutil.rmtree(self.settings_dir, ignore_errors=True)
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)
        for name in [n for n in sys.modules if n.split(".")[0] in SWAPPED]:
            del sys.modules[name]
        sys.modules.update({k: v for k, v in self.saved.items() if v is not None})
        for name in [n for n in sys.modules if n.split(".")[0] in self.finder.blocked]:
            del sys.modules[name]
        sys.modules.update(self.hidden)
        sys.path[:] = self.saved_path


# Every rig's main window, kept alive for the whole process. A window whose Python wrapper was
# collected would be deleted by PySide with its child dialogs under their live wrappers, and walking
# QApplication.topLevelWidgets() while that happens crashed the suite (a segfault in teardown).
_MAIN_WINDOWS: list = []


def _retire_main_windows() -> None:
    """Take the name of every earlier rig main window, so slicer.util.mainWindow() finds this one."""
    import shiboken6
    from PySide6 import QtCore

    for window in _MAIN_WINDOWS:
        # PySide's methods: the rig's PythonQt-style classes make objectName a property.
        if shiboken6.isValid(window) and QtCore.QObject.objectName(window) == "qSlicerMainWindow":
            # Renamed only: closing it could delete its children (dialogs) under live Python wrappers.
            QtCore.QObject.setObjectName(window, "qSlicerMainWindow (closed)")


class ModuleParent:
    """qSlicerScriptedLoadableModule's properties that a ScriptedLoadableModule sets (nothing else)."""

    __slots__ = ("path", "title", "categories", "dependencies", "contributors", "helpText",
                 "acknowledgementText", "icon", "hidden", "index")

    def __init__(self, path: str):
        self.path = path


def _absent(namespace: str, name: str) -> type:
    """A Slicer/CTK class the rig does not provide: it exists (Slicer code names it) but cannot be made."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{namespace}.{name}: not provided by the rig (no header in ../shared/slicer)")

    return type(name, (), {"__init__": __init__})


def install(tag: str, blocked: Iterable[str] = NOT_IN_SLICER) -> Rig:
    return Rig(tag, blocked)
