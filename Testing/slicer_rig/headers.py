"""What Python sees of a Slicer/CTK Designer widget, read from its real C++ header.

PythonQt exposes a QObject's meta-object to Python: its Q_PROPERTYs (as
attributes), its signals, its public slots and its public Q_INVOKABLE
methods. Plain public C++ methods (``nodeTypes()``, ``setNodeTypes()``) are not
callable. This module parses exactly those parts out of the headers in
``../shared/slicer/<tag>/headers`` so the rig's stand-ins can be generated
from, and checked against, them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MACROS_DEFINED: set = set()  # e.g. USE_QFILEDIALOG_OPTIONS is not defined in Slicer's CTK build


@dataclass(frozen=True)
class Method:
    name: str
    args: Tuple[str, ...]  # normalized C++ types, e.g. ("vtkMRMLNode*",) or ("QString",)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.args)})"


@dataclass(frozen=True)
class QProperty:
    name: str
    type: str
    read: Optional[str]
    write: Optional[str]
    notify: Optional[str]


@dataclass
class ClassApi:
    name: str
    base: str
    properties: Dict[str, QProperty] = field(default_factory=dict)
    signals: List[Method] = field(default_factory=list)
    slots: List[Method] = field(default_factory=list)  # public slots
    invokables: List[Method] = field(default_factory=list)  # public Q_INVOKABLE (not slots)
    enums: Dict[str, Dict[str, int]] = field(default_factory=dict)
    flags: Dict[str, str] = field(default_factory=dict)  # Q_DECLARE_FLAGS(Filters, Filter)

    @property
    def callables(self) -> set:
        """Method names Python may call (slots, Q_INVOKABLEs, signals)."""
        return {m.name for m in self.slots + self.invokables + self.signals}

    def enum_value(self, scoped: str) -> int:
        """``ctkPathLineEdit::Files`` -> its value; KeyError when the header has no such enumerator."""
        owner, _, key = scoped.rpartition("::")
        if owner and owner != self.name:
            raise KeyError(f"{scoped}: not an enumerator of {self.name}")
        for values in self.enums.values():
            if key in values:
                return values[key]
        raise KeyError(f"{scoped}: {self.name}'s header declares no such enumerator")


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _preprocess(text: str) -> str:
    """Keep the lines of the #if branches a default build takes (only #ifdef/#ifndef/#else/#endif)."""
    kept, stack = [], []
    for line in text.splitlines():
        stripped = line.strip()
        match = re.match(r"#\s*(ifdef|ifndef|if|else|elif|endif)\b\s*(\w*)", stripped)
        if match:
            kind, name = match.groups()
            if kind == "ifdef":
                stack.append(name in MACROS_DEFINED)
            elif kind == "ifndef":
                stack.append(name not in MACROS_DEFINED)
            elif kind == "if":
                stack.append(True)
            elif kind in ("else", "elif"):
                stack[-1] = not stack[-1]
            else:
                stack.pop()
            continue
        if all(stack) and not stripped.startswith("#"):
            kept.append(line)
    return "\n".join(kept)


def _class_body(text: str, name: str) -> Tuple[str, str]:
    match = re.search(rf"\bclass\s+(?:\w+\s+)?{name}\s*:\s*public\s+(\w+)\s*\{{", text)
    if not match:
        raise ValueError(f"class {name} not found")
    depth, start = 1, match.end()
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return match.group(1), text[start:index]
    raise ValueError(f"class {name}: unbalanced braces")


def _statements(body: str) -> List[str]:
    """Split a class body at top-level ';' and at the end of inline bodies."""
    statements, current, depth = [], [], 0
    for char in body:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                current.append(char)
                statements.append("".join(current))
                current = []
                continue
        if char == ";" and depth == 0:
            statements.append("".join(current))
            current = []
            continue
        current.append(char)
    statements.append("".join(current))
    return [" ".join(s.split()) for s in statements if s.strip()]


def normalize_type(arg: str) -> str:
    """``const QString& id = ""`` -> ``QString``; ``vtkMRMLNode* node`` -> ``vtkMRMLNode*``."""
    arg = arg.split("=")[0].strip()
    arg = re.sub(r"\bconst\b", "", arg).replace("&", "").strip()
    match = re.match(r"^(.*?[\w>\*])\s*\b(\w+)$", arg)
    if match and (match.group(1).endswith("*") or " " in arg):
        arg = match.group(1)
    return re.sub(r"\s+", "", arg)


def _split_args(args: str) -> Tuple[str, ...]:
    parts, current, depth = [], "", 0
    for char in args:
        depth += {"<": 1, ">": -1, "(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return tuple(normalize_type(p) for p in parts if p.strip() and p.strip() != "void")


def _enum_values(body: str) -> Dict[str, int]:
    values, previous = {}, -1
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, expression = item.partition("=")
        key = key.strip()
        if expression.strip():
            names = {k: v for k, v in values.items()}
            previous = int(eval(expression.strip(), {"__builtins__": {}}, names))  # literals, | and earlier keys
        else:
            previous += 1
        values[key] = previous
    return values


SECTION = re.compile(r"^(public|protected|private)?\s*(slots|Q_SLOTS|signals|Q_SIGNALS)?\s*:(?!:)\s*")


def parse_header(path: Path, name: Optional[str] = None) -> ClassApi:
    name = name or path.stem
    text = _preprocess(_strip_comments(path.read_text()))
    base, body = _class_body(text, name)
    api = ClassApi(name=name, base=base)
    for match in re.finditer(r"Q_PROPERTY\(([^)]*)\)", body):
        words = match.group(1).split()
        keyed = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].isupper()}
        api.properties[words[1]] = QProperty(words[1], words[0], keyed.get("READ"), keyed.get("WRITE"),
                                             keyed.get("NOTIFY"))
    for match in re.finditer(r"Q_DECLARE_FLAGS\(\s*(\w+)\s*,\s*(\w+)\s*\)", body):
        api.flags[match.group(1)] = match.group(2)
    body = re.sub(r"\b\w*_OBJECT\b", " ", body)  # Q_OBJECT, QVTK_OBJECT
    body = re.sub(r"\bQ_(PROPERTY|FLAGS|FLAG|ENUMS|ENUM|DECLARE_FLAGS|DECLARE_PRIVATE|DISABLE_COPY)\b"
                  r"(\([^)]*\))?", " ", body)
    section = "private"
    for statement in _statements(body):
        while True:
            label = SECTION.match(statement)
            if not label or not (label.group(1) or label.group(2)):
                break
            access, kind = label.group(1) or "public", (label.group(2) or "").lower().replace("q_", "")
            section = "signals" if kind == "signals" else f"{access} {kind}".strip()
            statement = statement[label.end():]
        enum = re.match(r"enum\s+(\w+)\s*\{(.*)\}", statement)
        if enum:
            api.enums[enum.group(1)] = _enum_values(enum.group(2))
            continue
        method = re.match(r"^(Q_INVOKABLE\s+)?(?:virtual\s+|static\s+|inline\s+|explicit\s+)*"
                          r"(?:[\w:<>\*&,\s]+?[\s\*&])?(~?\w+)\s*\((.*?)\)\s*(const)?\s*(override)?\s*(\{.*\})?$",
                          statement)
        if not method or method.group(2) in (name, "~" + name):
            continue
        entry = Method(method.group(2), _split_args(method.group(3)))
        if section == "signals":
            api.signals.append(entry)
        elif section == "public slots":
            api.slots.append(entry)
        elif section == "public" and method.group(1):
            api.invokables.append(entry)
    return api


def headers_dir(tag: str) -> Path:
    from .runtime import shared_slicer

    return shared_slicer(tag) / "headers"


DESIGNER_WIDGETS = ("qMRMLWidget", "qMRMLNodeComboBox", "qMRMLSegmentSelectorWidget",
                    "ctkCollapsibleButton", "ctkPathLineEdit")


def load_apis(tag: str) -> Dict[str, ClassApi]:
    folder = headers_dir(tag)
    return {name: parse_header(folder / f"{name}.h") for name in DESIGNER_WIDGETS}
