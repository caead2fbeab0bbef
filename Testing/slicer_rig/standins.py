"""Stand-ins for the five Slicer/CTK Designer widgets of TMERadiomics.ui, generated from their headers.

No package ships qMRMLWidget, qMRMLNodeComboBox, qMRMLSegmentSelectorWidget,
ctkCollapsibleButton or ctkPathLineEdit outside Slicer. Each stand-in here is
a real Qt widget class (PySide6) whose Q_PROPERTYs and signals are *generated*
from the real header (``headers.parse_header``) and whose methods are *checked*
against it when the class is built:

- every header property is a Qt property (Python attribute) of the class;
- every header signal is a Qt signal, overloads included, connectable by
  its C++ signature;
- a public method of the behaviour classes below must be a public slot, a
  Q_INVOKABLE or a signal in the header (what PythonQt lets Python call);
  a header slot the behaviour does not implement raises NotImplementedError
  when called, so a test cannot pass through it unnoticed;
- ``_get_<property>`` / ``_set_<property>`` hooks must name header properties.

The behaviour (which node is current, which segments are listed) follows the
C++ widgets on the real MRML scene of slicer-core.
"""

from __future__ import annotations

from typing import Dict

import vtk
from PySide6 import QtCore, QtWidgets

from . import headers
from .pythonqt import PythonQtManners, normalized, pythonqt_class

_DEFAULTS = {"bool": False, "int": 0, "double": 0.0, "QString": "", "QStringList": []}
_PY_TYPES = {"bool": bool, "int": int, "double": float, "QString": str, "QStringList": list}


class StandinError(TypeError):
    """A stand-in's behaviour does not match the real header."""


def _python_arg(cpp: str):
    return _PY_TYPES.get(cpp, object)


def build(api: headers.ClassApi, behaviour: type, qt_base: type) -> type:
    """The stand-in class: Qt base + PythonQt manners + behaviour, properties/signals from the header."""
    exposed = api.callables
    for attribute, value in vars(behaviour).items():
        if attribute.startswith(("_get_", "_set_")):
            if attribute[5:] not in api.properties:
                raise StandinError(f"{api.name}: hook {attribute} names no header property")
        elif (not attribute.startswith("_") and callable(value) and attribute not in exposed
              and not hasattr(qt_base, attribute)):  # Qt virtuals (paintEvent) are Qt's, not the header's
            raise StandinError(f"{api.name}.{attribute}: not a slot, Q_INVOKABLE or signal in the header, "
                               f"so Slicer's Python cannot call it")
    namespace: Dict[str, object] = {"__module__": __name__, "_rig_api": api}
    # Signals, overloads grouped by name; the first declared is the default (as PythonQt's attribute access).
    overloads: Dict[str, list] = {}
    for signal in api.signals:
        overloads.setdefault(signal.name, []).append(signal)
    rig_signals = dict(getattr(qt_base, "_rig_signals", {}))  # a base stand-in's signals are inherited
    for name, variants in overloads.items():
        type_lists = [tuple(_python_arg(a) for a in s.args) for s in variants]
        namespace[name] = QtCore.Signal(*type_lists) if len(variants) > 1 else QtCore.Signal(*type_lists[0])
        for signal, types_ in zip(variants, type_lists):
            key = None if len(variants) == 1 else (types_[0] if len(types_) == 1 else types_)
            rig_signals[normalized(signal.signature)] = (name, key)
    namespace["_rig_signals"] = rig_signals
    for prop in api.properties.values():
        namespace[prop.name] = QtCore.Property(_PY_TYPES.get(prop.type, int), *_accessors(prop, behaviour))
    for method in api.slots + api.invokables:
        if not hasattr(behaviour, method.name) and method.name not in namespace:
            namespace[method.name] = _not_implemented(api.name, method.signature)
    bases = (behaviour, qt_base) if issubclass(qt_base, PythonQtManners) else (behaviour, PythonQtManners, qt_base)
    cls = type(api.name, bases, namespace)
    inherited = set(getattr(qt_base, "_rig_property_names", ()))
    cls._rig_property_names = frozenset(inherited | set(api.properties) | {
        cls.staticMetaObject.property(i).name() for i in range(cls.staticMetaObject.propertyCount())})
    return cls


def _accessors(prop: headers.QProperty, behaviour: type):
    getter_hook, setter_hook = getattr(behaviour, f"_get_{prop.name}", None), getattr(behaviour, f"_set_{prop.name}", None)
    default = _DEFAULTS.get(prop.type, 0)

    def fget(self):
        if getter_hook:
            return getter_hook(self)
        return self._rig_values.get(prop.name, list(default) if isinstance(default, list) else default)

    def fset(self, value):
        if setter_hook:
            setter_hook(self, value)
        else:
            self._rig_values[prop.name] = value

    return fget, fset


def _not_implemented(owner: str, signature: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"{owner}::{signature} is a real slot the rig's stand-in does not implement")

    method.__name__ = signature.split("(")[0]
    return method


class _Values:
    def __init__(self, *args):
        super().__init__(*args)
        self._rig_values = {}


# ---- behaviour -----------------------------------------------------------------


class MRMLWidgetBehaviour(_Values):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rig_scene = None

    def mrmlScene(self):
        return self._rig_scene

    def setMRMLScene(self, scene) -> None:
        if scene is self._rig_scene:
            return
        self._rig_scene = scene
        self.mrmlSceneChanged.emit(scene)


class NodeComboBoxBehaviour(_Values):
    """qMRMLNodeComboBox: the nodes of ``nodeTypes`` in the scene; with noneEnabled false one is always current."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rig_values.update(addEnabled=True, removeEnabled=True, editEnabled=False, renameEnabled=False,
                                noneDisplay="None", selectNodeUponCreation=True, showChildNodeTypes=True)
        self._rig_scene, self._rig_current, self._rig_tags = None, None, []
        # Display only (what the panel's pictures show): the combo box lists the nodes, the current one shown.
        self._rig_combo = QtWidgets.QComboBox(self)
        self._rig_combo.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._rig_combo)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)

    # properties
    def _get_nodeTypes(self):
        return list(self._rig_values.get("nodeTypes", []))

    def _set_nodeTypes(self, types_) -> None:
        self._rig_values["nodeTypes"] = list(types_)
        self._rig_refresh()

    def _get_noneEnabled(self):
        return self._rig_values.get("noneEnabled", False)

    def _set_noneEnabled(self, enabled) -> None:
        self._rig_values["noneEnabled"] = bool(enabled)
        self._rig_refresh()

    def _get_currentNodeID(self):
        return self._rig_current.GetID() if self._rig_current is not None else ""

    def _set_currentNodeID(self, node_id) -> None:
        self.setCurrentNodeID(node_id)

    # slots and invokables
    def mrmlScene(self):
        return self._rig_scene

    def setMRMLScene(self, scene) -> None:
        if self._rig_scene is not None:
            for tag in self._rig_tags:
                self._rig_scene.RemoveObserver(tag)
        self._rig_scene, self._rig_tags = scene, []
        if scene is not None:
            for event, handler in ((scene.NodeAddedEvent, self._rig_added), (scene.NodeRemovedEvent, self._rig_removed),
                                   (scene.EndCloseEvent, self._rig_closed)):
                self._rig_tags.append(scene.AddObserver(event, handler))
        self._rig_current = None
        self._rig_refresh()

    def nodeCount(self) -> int:
        return len(self._rig_nodes())

    def nodeFromIndex(self, index: int):
        nodes = self._rig_nodes()
        return nodes[index] if 0 <= index < len(nodes) else None

    def currentNode(self):
        return self._rig_current

    def currentNodeId(self):
        return self._get_currentNodeID()

    def setCurrentNode(self, node) -> None:
        """As qMRMLNodeComboBoxPrivate::setCurrentNodeIDInternal: a node the combo box does not list
        (None included) selects the "None" item, or index -1 (empty) when noneEnabled is false; the
        combo box's currentTextChanged then emits currentNodeChanged(nullptr). Nothing else is kept."""
        if isinstance(node, str):
            node = self._rig_scene.GetNodeByID(node) if (self._rig_scene and node) else None
        if node is not None and node not in self._rig_nodes():
            node = None
        self._rig_select(node)

    def _rig_select(self, node) -> None:
        if node is self._rig_current:
            return  # QComboBox emits only when its current index changes
        self._rig_current = node
        self._rig_show()
        self.currentNodeChanged[object].emit(node)
        self.currentNodeChanged[bool].emit(node is not None)
        self.currentNodeIDChanged.emit(self._get_currentNodeID())

    def setCurrentNodeID(self, node_id) -> None:
        self.setCurrentNode(node_id)

    def setCurrentNodeIndex(self, index: int) -> None:
        self.setCurrentNode(self.nodeFromIndex(index))

    # scene events
    def _rig_nodes(self) -> list:
        if self._rig_scene is None:
            return []
        found = []
        for index in range(self._rig_scene.GetNumberOfNodes()):
            node = self._rig_scene.GetNthNode(index)
            if self._rig_lists(node):
                found.append(node)
        return found

    def _rig_show(self) -> None:
        """The combo box's items and current text: the listed nodes ("None" first when enabled)."""
        nodes = self._rig_nodes()
        none = [self._rig_values.get("noneDisplay", "None")] if self._get_noneEnabled() else []
        self._rig_combo.blockSignals(True)
        self._rig_combo.clear()
        self._rig_combo.addItems(none + [n.GetName() for n in nodes])
        index = nodes.index(self._rig_current) + len(none) if self._rig_current in nodes else (0 if none else -1)
        self._rig_combo.setCurrentIndex(index)
        self._rig_combo.blockSignals(False)

    def _rig_lists(self, node) -> bool:
        """qMRMLSortFilterProxyModel's filter: a node of nodeTypes (exactly, when showChildNodeTypes is
        false), of none of hideChildNodeTypes, and not hidden from editors unless showHidden."""
        types_ = self._get_nodeTypes()
        if self._get_showChildNodeTypes():
            listed = any(node.IsA(t) for t in types_)
        else:
            listed = node.GetClassName() in types_
        hidden = any(node.IsA(t) for t in self._get_hideChildNodeTypes())
        return listed and not hidden and (self.showHidden or not node.GetHideFromEditors())

    def _get_showChildNodeTypes(self):
        return self._rig_values.get("showChildNodeTypes", True)

    def _set_showChildNodeTypes(self, show) -> None:
        self._rig_values["showChildNodeTypes"] = bool(show)
        self._rig_refresh()

    def _get_hideChildNodeTypes(self):
        return list(self._rig_values.get("hideChildNodeTypes", []))

    def _set_hideChildNodeTypes(self, types_) -> None:
        self._rig_values["hideChildNodeTypes"] = [t for t in types_ if t]
        self._rig_refresh()

    def _rig_refresh(self) -> None:
        """refreshIfCurrentNodeHidden and setMRMLScene: a current node no longer listed is dropped;
        with none disabled and nothing current, the first listed node is taken (QComboBox selects
        row 0 when rows arrive in an empty model)."""
        current = self._rig_current if self._rig_current in self._rig_nodes() else None
        if current is None and not self.noneEnabled and self._rig_nodes():
            current = self._rig_nodes()[0]
        self._rig_select(current)

    def _rig_added(self, caller, event) -> None:
        self._rig_show()
        # QComboBox takes the first row only when rows are inserted into an empty model: a combo box
        # emptied on purpose (setCurrentNode(None)) stays empty when a second node arrives.
        if self._rig_current is None and not self.noneEnabled and len(self._rig_nodes()) == 1:
            self._rig_select(self._rig_nodes()[0])

    def _rig_removed(self, caller, event) -> None:
        self._rig_refresh()
        self._rig_show()

    def _rig_closed(self, caller, event) -> None:
        self._rig_refresh()


class SegmentSelectorBehaviour:
    """qMRMLSegmentSelectorWidget: a segmentation node selector and its segments (one current, or checked ones)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rig_values.update(segmentationNodeSelectorVisible=True)
        self._rig_selector = NodeComboBox(self)
        self._rig_selector.nodeTypes = ["vtkMRMLSegmentationNode"]
        self._rig_selector.noneEnabled = False  # as the widget's own noneEnabled (false by default)
        self._rig_selector.currentNodeChanged.connect(self._rig_node_changed)
        self.mrmlSceneChanged.connect(self._rig_selector.setMRMLScene)
        self._rig_segment, self._rig_selected, self._rig_observed = "", [], (None, None)
        # Display only: "Segmentation:" and "Segment:" rows as in qMRMLSegmentSelectorWidget.ui, each
        # segment with its colour.
        self._rig_segments = QtWidgets.QComboBox(self)
        self._rig_segments.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self._rig_node_label, self._rig_segment_label = QtWidgets.QLabel("Segmentation:"), QtWidgets.QLabel("Segment:")
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._rig_node_label, 0, 0)
        layout.addWidget(self._rig_selector, 0, 1)
        layout.addWidget(self._rig_segment_label, 1, 0)
        layout.addWidget(self._rig_segments, 1, 1)

    def _set_segmentationNodeSelectorVisible(self, visible) -> None:
        self._rig_values["segmentationNodeSelectorVisible"] = bool(visible)
        self._rig_node_label.setVisible(bool(visible))
        self._rig_selector.setVisible(bool(visible))

    def _set_multiSelection(self, multi) -> None:
        self._rig_values["multiSelection"] = bool(multi)
        self._rig_segment_label.setText("Segments:" if multi else "Segment:")
        self._rig_show_segments()

    def _rig_show_segments(self) -> None:
        from PySide6 import QtGui

        node, combo = self.currentNode(), self._rig_segments
        combo.blockSignals(True)
        combo.clear()
        ids = self.segmentIDs()
        multi = self._rig_values.get("multiSelection", False)
        shown = self.selectedSegmentIDs() if multi else [self._rig_segment] if self._rig_segment else []
        if multi:
            combo.addItem(", ".join(node.GetSegmentation().GetSegment(i).GetName() for i in shown) or "None")
        else:
            for segment_id in ids:
                segment = node.GetSegmentation().GetSegment(segment_id)
                swatch = QtGui.QPixmap(12, 12)
                swatch.fill(QtGui.QColor.fromRgbF(*segment.GetColor()))
                combo.addItem(QtGui.QIcon(swatch), segment.GetName())
            combo.setCurrentIndex(ids.index(self._rig_segment) if self._rig_segment in ids else -1)
        combo.blockSignals(False)

    def _set_noneEnabled(self, enabled) -> None:
        self._rig_values["noneEnabled"] = bool(enabled)
        self._rig_selector.noneEnabled = bool(enabled)

    def currentNode(self):
        return self._rig_selector.currentNode()

    def currentNodeID(self):
        return self._rig_selector.currentNodeID

    def setCurrentNode(self, node) -> None:
        self._rig_selector.setCurrentNode(node)

    def setCurrentNodeID(self, node_id) -> None:
        self._rig_selector.setCurrentNodeID(node_id)

    def segmentIDs(self) -> list:
        node = self.currentNode()
        if node is None:
            return []
        segmentation = node.GetSegmentation()
        return [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]

    def currentSegmentID(self) -> str:
        return self._rig_segment

    def setCurrentSegmentID(self, segment_id) -> None:
        ids = self.segmentIDs()
        segment_id = segment_id if segment_id in ids else (ids[0] if ids else "")
        if segment_id != self._rig_segment:
            self._rig_segment = segment_id
            self._rig_show_segments()
            self.currentSegmentChanged.emit(segment_id)

    def selectedSegmentIDs(self) -> list:
        return [s for s in self._rig_selected if s in self.segmentIDs()]

    def setSelectedSegmentIDs(self, ids) -> None:
        selected = [s for s in ids if s in self.segmentIDs()]
        if selected != self._rig_selected:
            self._rig_selected = selected
            self._rig_show_segments()
            self.segmentSelectionChanged.emit(list(selected))

    def _rig_node_changed(self, node) -> None:
        owner, tag = self._rig_observed
        if owner is not None:
            owner.RemoveObserver(tag)
        self._rig_observed = (None, None)
        if node is not None:
            segmentation = node.GetSegmentation()
            tags = [segmentation.AddObserver(e, self._rig_segments_changed) for e in (
                segmentation.SegmentAdded, segmentation.SegmentRemoved)]
            self._rig_observed = (segmentation, tags[0])
            self._rig_extra_tag = (segmentation, tags[1])
        self._rig_segment = ""
        self._rig_selected = []
        self.currentNodeChanged[object].emit(node)
        self.currentNodeChanged[bool].emit(node is not None)
        self.setCurrentSegmentID("")

    def _rig_segments_changed(self, caller, event) -> None:
        self.setCurrentSegmentID(self._rig_segment)
        self.setSelectedSegmentIDs(self._rig_selected)
        self._rig_show_segments()


class CollapsibleButtonBehaviour(_Values):
    """ctkCollapsibleButton: a button-like header with an arrow above its contents, which collapse."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setCheckable(True)
        self.setContentsMargins(4, self._rig_header_height() + 4, 4, 4)  # the contents start below the header

    def _rig_header_height(self) -> int:
        return QtWidgets.QWidget.fontMetrics(self).height() + 10

    def _get_collapsed(self):
        return self._rig_values.get("collapsed", False)

    def _set_collapsed(self, collapsed) -> None:
        collapsed = bool(collapsed)
        if collapsed == self._get_collapsed():
            return
        self._rig_values["collapsed"] = collapsed
        for child in self.findChildren(QtWidgets.QWidget, options=QtCore.Qt.FindDirectChildrenOnly):
            child.setVisible(not collapsed)
        self.contentsCollapsed.emit(collapsed)

    def paintEvent(self, event) -> None:  # QAbstractButton's is pure virtual: paint the header, as CTK does
        # Qt's own methods, not the PythonQt-style attributes (palette, font, width are properties there).
        from PySide6 import QtGui

        widget, button = QtWidgets.QWidget, QtWidgets.QAbstractButton
        palette, width, height = widget.palette(self), widget.width(self), widget.height(self)
        header, collapsed = self._rig_header_height(), self._get_collapsed()
        painter = QtGui.QPainter(self)
        painter.fillRect(QtCore.QRect(0, 0, width, header), palette.color(QtGui.QPalette.Button))
        painter.setPen(palette.color(QtGui.QPalette.Mid))
        painter.drawRect(0, 0, width - 1, header - 1)
        if not collapsed:
            painter.drawRect(0, header, width - 1, height - header - 1)
        size = header - 10
        # The CTK arrow: pointing right when collapsed, down when open.
        if collapsed:
            arrow = [QtCore.QPointF(8, 5), QtCore.QPointF(8 + size * 0.8, 5 + size / 2), QtCore.QPointF(8, 5 + size)]
        else:
            arrow = [QtCore.QPointF(6, 7), QtCore.QPointF(6 + size, 7), QtCore.QPointF(6 + size / 2, 5 + size)]
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(palette.color(QtGui.QPalette.ButtonText))
        painter.drawPolygon(QtGui.QPolygonF(arrow))
        font = QtGui.QFont(widget.font(self))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QtGui.QPalette.ButtonText))
        painter.drawText(QtCore.QRect(size + 14, 0, width - size - 18, header),
                         int(QtCore.Qt.AlignVCenter | QtCore.Qt.AlignLeft), button.text(self))
        painter.end()


class PathLineEditBehaviour(_Values):
    """ctkPathLineEdit with its history combo box: the history lives in QSettings under
    ``ctkPathLineEdit/<settingKey>`` (at most five paths, newest first); setting settingKey reads it
    and, when no path is set, shows the newest (retrieveHistory); addCurrentPathToHistory adds one."""

    MAX_HISTORY = 5  # ctkPathLineEditPrivate::sMaxHistory

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rig_values.update(showBrowseButton=True, showHistoryButton=True)
        self._rig_combo = QtWidgets.QComboBox(self)
        self._rig_combo.setEditable(True)
        self._rig_combo.setInsertPolicy(QtWidgets.QComboBox.NoInsert)
        # updateHasValidInput: every accepted text change is a currentPathChanged (the .ui's filters accept all).
        self._rig_combo.lineEdit().textChanged.connect(self.currentPathChanged.emit)

    def _get_currentPath(self):
        return self._rig_combo.lineEdit().text()

    def _set_currentPath(self, path) -> None:
        self.setCurrentPath(path)

    def setCurrentPath(self, path) -> None:
        self._rig_combo.lineEdit().setText(path)  # emits only when the text changes, as QLineEdit does

    def _get_settingKey(self):
        return self._rig_values.get("settingKey", "")

    def _set_settingKey(self, key) -> None:
        self._rig_values["settingKey"] = key
        self.retrieveHistory()

    def _rig_history_key(self) -> str:
        return "ctkPathLineEdit/" + (self._get_settingKey() or self.objectName())

    def _rig_history(self) -> list:
        value = QtCore.QSettings().value(self._rig_history_key(), [])
        return [value] if isinstance(value, str) else list(value or [])  # QVariant::toStringList

    def retrieveHistory(self) -> None:
        path = self._get_currentPath()
        blocked = self.blockSignals(True)
        self._rig_combo.clear()
        self._rig_combo.addItems(self._rig_history()[:self.MAX_HISTORY])
        if not path:
            self.blockSignals(blocked)
            self._rig_combo.setCurrentIndex(0)  # the most recent path, announced by currentPathChanged
        else:
            self.setCurrentPath(path)
            self.blockSignals(blocked)

    def addCurrentPathToHistory(self) -> None:
        path = self._get_currentPath()
        if not path:
            return
        history = [p for p in self._rig_history() if p != path]
        QtCore.QSettings().setValue(self._rig_history_key(), [path, *history])
        blocked = self._rig_combo.blockSignals(False)
        index = self._rig_combo.findText(path)
        if index >= 0:
            self._rig_combo.removeItem(index)
        while self._rig_combo.count() >= self.MAX_HISTORY:
            self._rig_combo.removeItem(self._rig_combo.count() - 1)
        self._rig_combo.insertItem(0, path)
        self._rig_combo.setCurrentIndex(0)
        self._rig_combo.blockSignals(blocked)

    def comboBox(self):
        return self._rig_combo


class _AbstractButton(QtWidgets.QAbstractButton):
    pass


NodeComboBox = None  # set by make_classes: the segment selector's inner node selector


def make_classes(tag: str) -> Dict[str, type]:
    """The five stand-ins for Slicer ``tag``, generated from its headers."""
    global NodeComboBox
    apis = headers.load_apis(tag)
    qwidget = pythonqt_class(QtWidgets.QWidget)
    mrml_widget = build(apis["qMRMLWidget"], MRMLWidgetBehaviour, qwidget)
    classes = {"qMRMLWidget": mrml_widget}
    classes["qMRMLNodeComboBox"] = NodeComboBox = build(apis["qMRMLNodeComboBox"], NodeComboBoxBehaviour, qwidget)
    classes["qMRMLSegmentSelectorWidget"] = build(apis["qMRMLSegmentSelectorWidget"], SegmentSelectorBehaviour,
                                                  mrml_widget)
    classes["ctkCollapsibleButton"] = build(apis["ctkCollapsibleButton"], CollapsibleButtonBehaviour,
                                            pythonqt_class(QtWidgets.QAbstractButton))
    classes["ctkPathLineEdit"] = build(apis["ctkPathLineEdit"], PathLineEditBehaviour, qwidget)
    for cls in classes.values():
        cls._rig_tag = tag
    _APIS.update({name: apis[name] for name in classes})
    return classes


_APIS: Dict[str, headers.ClassApi] = {}


def apis_of(standins: Dict[str, type]) -> Dict[str, headers.ClassApi]:
    return {name: cls._rig_api for name, cls in standins.items()}


__all__ = ["make_classes", "build", "StandinError", "vtk"]
