"""Loading a Designer ``.ui`` file with Qt's real QUiLoader, checked against the headers.

Qt's loader builds every widget, layout and standard property. It cannot set
the stand-ins' enum/flag properties (``ctkPathLineEdit::Files``) nor make the
``<connections>`` between Slicer signatures (``mrmlSceneChanged(vtkMRMLScene*)``),
so those are taken out of the XML it reads and applied here, each checked
against the class's real header: a property, enumerator, signal or slot that
the header does not declare raises ``UiError``. A property that a standard Qt
widget does not have (Qt's loader would silently make it a dynamic property)
raises too; ``stdset="0"`` properties are dynamic by design
(``SlicerParameterName``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from PySide6 import QtCore


class UiError(ValueError):
    """The .ui names something its widget's class does not have."""


def _value(element: ET.Element, api, prop: str):
    kind = element.tag
    if kind in ("string", "cstring"):
        return element.text or ""
    if kind == "bool":
        return element.text == "true"
    if kind == "number":
        return int(element.text)
    if kind == "double":
        return float(element.text)
    if kind == "stringlist":
        return [s.text or "" for s in element.findall("string")]
    if kind in ("set", "enum"):
        value = 0
        for name in (element.text or "").split("|"):
            try:
                value |= api.enum_value(name.strip())
            except KeyError as error:
                raise UiError(f"{api.name}.{prop}: {error}") from None
        return value
    raise UiError(f"{api.name}.{prop}: the rig cannot read a <{kind}> value")


def prepare(loader, device, parent, load):
    """Strip what Qt's loader cannot do, load, then apply and check the rest."""
    from .standins import apis_of

    xml = bytes(device.readAll()).decode()
    root = ET.fromstring(xml)
    standins = loader.standins
    deferred, checked = [], []
    for widget in root.iter("widget"):
        cls, name = widget.get("class"), widget.get("name")
        for prop in list(widget.findall("property")):
            if cls in standins:
                widget.remove(prop)
                deferred.append((name, cls, prop))
            elif prop.get("stdset") != "0":
                checked.append((name, cls, prop.get("name")))
    connections = root.find("connections")
    if connections is not None:
        root.remove(connections)
    buffer = QtCore.QBuffer()
    buffer.setData(QtCore.QByteArray(ET.tostring(root, encoding="utf-8")))
    buffer.open(QtCore.QIODevice.ReadOnly)
    top = load(buffer, parent)
    if top is None:
        return top

    def find(name):
        if QtCore.QObject.objectName(top) == name:
            return top
        found = top.findChild(QtCore.QObject, name)
        if found is None:
            raise UiError(f"widget {name!r} not created")
        return found

    for name, cls, prop in checked:
        widget = find(name)
        if widget.metaObject().indexOfProperty(prop) < 0:
            raise UiError(f"{name} ({cls}) has no property {prop!r}")
    apis = apis_of(standins)
    for name, cls, prop in deferred:
        widget, prop_name = find(name), prop.get("name")
        if prop.get("stdset") == "0":
            widget.setProperty(prop_name, _value(prop[0], apis[cls], prop_name))
            continue
        if widget.metaObject().indexOfProperty(prop_name) < 0:
            raise UiError(f"{name} ({cls}): the header declares no property {prop_name!r}")
        setattr(widget, prop_name, _value(prop[0], apis.get(cls), prop_name))
    for connection in (connections if connections is not None else []):
        sender, receiver = find(connection.findtext("sender")), find(connection.findtext("receiver"))
        slot = connection.findtext("slot")
        signal = sender._signal_instance(connection.findtext("signal"))
        method = _slot(receiver, slot, apis)
        signal.connect(method)
    return top


def _slot(receiver, slot: str, apis):
    from .pythonqt import normalized

    wanted = normalized(slot)
    api = apis.get(type(receiver).__name__)
    if api is not None:
        declared, base = set(), api
        while base is not None:  # slots are inherited (qMRMLSegmentSelectorWidget : qMRMLWidget)
            declared |= {m.signature for m in base.slots + base.invokables}
            base = apis.get(base.base)
        if wanted not in declared:
            raise UiError(f"{receiver.name} ({api.name}): the header declares no slot {slot!r}")
    elif receiver.metaObject().indexOfSlot(wanted) < 0:
        raise UiError(f"{receiver.name} ({receiver.className()}) has no slot {slot!r}")
    return getattr(receiver, slot.split("(")[0])
