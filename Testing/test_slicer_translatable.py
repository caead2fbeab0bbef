"""Every message the Slicer Logic shows a user is written for translation: ``_("...")``, never a bare literal.

The panel shows the Logic's reasons ("Select a DCE volume."), its errors and
progress messages as they come; a literal or an f-string there stays English
in a translated Slicer, and an f-string cannot be translated at all (lupdate
needs the literal, with ``{placeholders}``). This walks the Logic's source:
the first argument of every ``raise X(...)``, every string a function
returns, every progress message, warning and note. A line that is not for a
reader's eyes says so: ``# not translated: <why>``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LOGIC = Path(__file__).resolve().parents[1] / "TMERadiomics" / "TMERadiomicsLogic"
CALLS_WITH_MESSAGES = {"_report": 1, "_warn": 0, "append": 0}  # function name -> index of the message argument


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def untranslated(path: Path) -> list[str]:
    """``file:line`` of each user-facing message that is a bare literal or f-string."""
    found, source = [], path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        candidates = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            candidates.append(node.exc.args[0])
        elif isinstance(node, ast.Return) and node.value is not None:
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            candidates += [v for v in values if _is_text(v) and _sentence(v)]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            index = CALLS_WITH_MESSAGES.get(name)
            if index is not None and len(node.args) > index and _sentence(node.args[index]):
                candidates.append(node.args[index])
        found += [f"{path.name}:{c.lineno}" for c in candidates if _is_text(c) and not _exempt(lines, c.lineno)]
    return found


def _exempt(lines: list[str], lineno: int) -> bool:
    """A line that says why it is not for translation (a repr, a pip pin, the library's own text)."""
    return "# not translated:" in lines[lineno - 1]


def _sentence(node: ast.AST) -> bool:
    """A literal that reads as words to a user (not a key, path part or format code)."""
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and " " in node.value.strip()


def test_the_walk_finds_bare_messages(tmp_path):
    """The check itself can fail: each kind of bare message is caught, a translated one is not."""
    source = tmp_path / "sample.py"
    source.write_text(
        'def f(x, progress, notes):\n'
        '    if x:\n'
        '        raise ValueError(f"volume {x} is empty")\n'
        '    _report(progress, "Reading the volume", 0.0)\n'
        '    notes.append("segment was resampled onto the volume")\n'
        '    if x is None:\n'
        '        return "Select a DCE volume."\n'
        '    raise ValueError(_("volume {x} is empty").format(x=x))\n', encoding="utf-8")
    assert untranslated(source) == ["sample.py:3", "sample.py:4", "sample.py:5", "sample.py:7"]


@pytest.mark.parametrize("path", sorted(LOGIC.glob("*.py")), ids=lambda p: p.name)
def test_logic_messages_are_translatable(path):
    assert untranslated(path) == []
