"""A ``qt`` module with PythonQt's manners over real PySide6 widgets.

Slicer's Python sees Qt through PythonQt: a QObject's Q_PROPERTYs are plain
attributes (``button.enabled = False``, ``label.text``, ``listWidget.count``),
signals connect by their C++ signature (``w.connect("valueChanged(int)", f)``)
or as attributes (``w.valueChanged.connect(f)``), and ``className()`` gives the
C++ class. Every QObject class reached through this module is a subclass of
the PySide6 class with exactly those manners, so the widgets are real Qt
widgets (offscreen) and Slicer's own ``slicer.util`` and
``parameterNodeWrapper`` run on them unchanged.

Where PythonQt is lax the rig is strict, so that a typo fails a test instead
of doing nothing in Slicer:

- ``connect`` with a signal the object does not have raises ``SignalError``
  (PythonQt prints a warning and returns False);
- setting an attribute that is neither a Q_PROPERTY nor an existing Python
  attribute raises ``PropertyError`` (PythonQt stores it silently).

Modal dialogs do not block: ``exec``/``exec_`` record the dialog in
``DIALOGS`` and return the next answer queued with ``answer()`` (``Ok`` by
default), as a user would.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable, Dict, List

from PySide6 import QtCore, QtGui, QtUiTools, QtWidgets


class SignalError(AttributeError):
    """A connect() to a signal the object does not have."""


class PropertyError(AttributeError):
    """A write to an attribute that is no Qt property of the object."""


DIALOGS: List[dict] = []
_LOADING = []
_ANSWERS: List[Any] = []


def answer(button) -> None:
    """Queue the user's answer to the next modal dialog (e.g. ``qt.QMessageBox.Cancel``)."""
    _ANSWERS.append(button)


def normalized(signature: str) -> str:
    return QtCore.QMetaObject.normalizedSignature(signature).data().decode()


def _meta_property_names(meta: QtCore.QMetaObject) -> List[str]:
    return [meta.property(i).name() for i in range(meta.propertyCount())]


class PythonQtManners:
    """Mixed into every QObject class of the rig's ``qt``, ``ctk`` and ``slicer``."""

    # Signals declared by a rig stand-in: C++ signature -> (attribute, overload key); see standins.py.
    _rig_signals: Dict[str, tuple] = {}

    # -- signals ---------------------------------------------------------
    def _signal_instance(self, signature: str):
        wanted = normalized(signature)
        if wanted in type(self)._rig_signals:
            attribute, key = type(self)._rig_signals[wanted]
            signal = getattr(self, attribute)
            return signal[key] if key is not None else signal
        meta = self.metaObject()
        index = meta.indexOfSignal(wanted)
        if index < 0:
            raise SignalError(f"{self.className()} has no signal {signature!r} "
                              f"(PythonQt would only print a warning; the connection would never fire)")
        method = meta.method(index)
        signal = getattr(self, bytes(method.name()).decode())
        types_ = [bytes(t).decode() for t in method.parameterTypes()]
        if not types_:
            return signal
        try:
            return signal[tuple(_python_type(t) for t in types_)] if len(types_) > 1 else signal[_python_type(types_[0])]
        except (KeyError, IndexError, TypeError):
            return signal

    def connect(self, signal, slot: Callable = None, *rest) -> bool:
        if not isinstance(signal, str) or slot is None or rest:
            return QtCore.QObject.connect(self, signal, slot, *rest)
        self._signal_instance(signal).connect(slot)
        return True

    def disconnect(self, signal=None, slot: Callable = None) -> bool:
        if not isinstance(signal, str):
            return QtCore.QObject.disconnect(self) if signal is None else QtCore.QObject.disconnect(signal)
        instance = self._signal_instance(signal)
        try:
            return instance.disconnect(slot) if slot is not None else instance.disconnect()
        except (RuntimeError, TypeError):
            return False

    def __getattribute__(self, attribute: str):
        # Shiboken resolves QObject.connect/disconnect on the instance before the class: take ours.
        if attribute in ("connect", "disconnect"):
            return types.MethodType(getattr(PythonQtManners, attribute), self)
        return super().__getattribute__(attribute)

    def findChildren(self, kind=None, *args, **kwargs):
        kind = getattr(kind, "_rig_qt_base", kind)  # a rig class finds every widget of its Qt class
        return QtCore.QObject.findChildren(self, kind, *args, **kwargs) if kind is not None else \
            QtCore.QObject.findChildren(self, QtCore.QObject, *args, **kwargs)

    # -- PythonQt's extras -------------------------------------------------
    def className(self) -> str:
        return type(self).__name__

    @property
    def name(self) -> str:  # PythonQt's alias of objectName
        return QtCore.QObject.objectName(self)

    def __setattr__(self, attribute: str, value) -> None:
        cls = type(self)
        if attribute in cls._rig_property_names:
            if isinstance(value, tuple):
                value = list(value)  # PythonQt converts any sequence to a QStringList / QVariantList
            if not self.setProperty(attribute, value) and self.property(attribute) != value:
                raise PropertyError(f"{self.className()}.{attribute}: Qt refused the value {value!r}")
            return
        if (attribute.startswith("_") or hasattr(cls, attribute) or attribute in self.__dict__
                or _LOADING):  # PySide's QUiLoader sets each named child on the top widget (PythonQt: child lookup)
            super().__setattr__(attribute, value)
            return
        raise PropertyError(f"{self.className()} has no property {attribute!r} "
                            f"(PythonQt would silently store it as a Python attribute)")


def _python_type(cpp: str):
    return {"int": int, "bool": bool, "double": float, "float": float, "QString": str,
            "QStringList": list}.get(cpp, object)


def _property_descriptor(name: str) -> property:
    def getter(self):
        value = QtCore.QObject.property(self, name)
        return value

    def setter(self, value):
        PythonQtManners.__setattr__(self, name, value)

    return property(getter, setter)


_CLASSES: Dict[type, type] = {}
VIRTUAL_GETTERS = frozenset({"sizeHint", "minimumSizeHint"})


class _RigMeta(type(QtCore.QObject)):
    def __instancecheck__(cls, instance) -> bool:
        base = cls.__dict__.get("_rig_qt_base")
        return isinstance(instance, base) if base is not None else type.__instancecheck__(cls, instance)

    def __subclasscheck__(cls, subclass) -> bool:
        base = cls.__dict__.get("_rig_qt_base")
        return issubclass(subclass, base) if base is not None else type.__subclasscheck__(cls, subclass)


def pythonqt_class(base: type) -> type:
    """The rig's class for a PySide6 QObject class: same C++ name, PythonQt manners.

    ``isinstance(x, qt.QWidget)`` and ``findChildren(qt.QWidget)`` hold for every
    widget, as in PythonQt (the check is against the Qt class it wraps).
    """
    if base in _CLASSES:
        return _CLASSES[base]
    namespace = {}
    if issubclass(base, QtWidgets.QDialog):
        namespace.update(_DIALOG_OVERRIDES)
    if issubclass(base, QtWidgets.QFileDialog):
        namespace.update(_FILE_DIALOG_OVERRIDES)
    namespace["_rig_qt_base"] = base
    cls = _RigMeta(base.__name__, (PythonQtManners, base), namespace)
    # Properties read by a C++ virtual of the same name stay methods: Shiboken would take an
    # attribute of that name for a Python override and recurse.
    properties = set(_meta_property_names(cls.staticMetaObject)) - VIRTUAL_GETTERS
    cls._rig_property_names = frozenset(properties)
    for prop in properties:
        if prop not in namespace:
            setattr(cls, prop, _property_descriptor(prop))
    _CLASSES[base] = cls
    return cls


# -- dialogs that answer instead of blocking -------------------------------------

def _modal(self, *unused):
    DIALOGS.append({"class": self.className(), "title": self.windowTitle,
                    "text": getattr(self, "text", None) if isinstance(self, QtWidgets.QMessageBox) else None,
                    "detailedText": self.detailedText if isinstance(self, QtWidgets.QMessageBox) else None})
    if _ANSWERS:
        return _ANSWERS.pop(0)
    return QtWidgets.QMessageBox.StandardButton.Ok if isinstance(self, QtWidgets.QMessageBox) else 1


_DIALOG_OVERRIDES = {"exec": _modal, "exec_": _modal}


def _file_dialog(kind: str):
    def ask(*args, **kwargs):
        DIALOGS.append({"class": "QFileDialog", "title": kind, "text": args[1] if len(args) > 1 else None,
                        "detailedText": None})
        return str(_ANSWERS.pop(0)) if _ANSWERS else ""

    return staticmethod(ask)


_FILE_DIALOG_OVERRIDES = {kind: _file_dialog(kind) for kind in (
    "getExistingDirectory", "getOpenFileName", "getSaveFileName", "getOpenFileNames")}


class UiLoader(QtUiTools.QUiLoader):
    """Qt's real UI loader, creating the rig's classes; set by ``runtime`` with the stand-ins."""

    standins: Dict[str, type] = {}

    def createWidget(self, className, parent=None, name=""):
        cls = self.standins.get(className) or getattr(_module(), className, None)
        if cls is None:
            return super().createWidget(className, parent, name)
        widget = cls(parent)
        widget.setObjectName(name)
        return widget

    def load(self, device, parent=None):
        from .uifile import prepare

        def qt_load(buffer, parent_):
            _LOADING.append(True)
            try:
                return QtUiTools.QUiLoader.load(self, buffer, parent_)
            finally:
                _LOADING.pop()

        return prepare(self, device, parent, qt_load)


_SOURCES = (QtCore, QtGui, QtWidgets)


def _lookup(attribute: str):
    if attribute == "QUiLoader":
        if UiLoader not in _CLASSES:
            _CLASSES[UiLoader] = type("QUiLoader", (pythonqt_class(QtCore.QObject), UiLoader), {})
        return _CLASSES[UiLoader]
    for source in _SOURCES:
        value = getattr(source, attribute, None)
        if value is None:
            continue
        if isinstance(value, type) and issubclass(value, QtCore.QObject):
            return pythonqt_class(value)
        return value
    raise AttributeError(f"module 'qt' has no attribute {attribute!r}")


def _module() -> types.ModuleType:
    return sys.modules["qt"]


def make_module() -> types.ModuleType:
    module = types.ModuleType("qt", __doc__)

    def __getattr__(attribute: str):
        value = _lookup(attribute)
        setattr(module, attribute, value)
        return value

    module.__getattr__ = __getattr__
    module.Qt = QtCore.Qt
    return module


def application() -> QtWidgets.QApplication:
    """The one QApplication of the process (offscreen)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(["slicer-rig", "-platform", "offscreen"])
    return app
