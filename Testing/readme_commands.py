"""The command blocks of README.md, as the tests run or parse them.

A block is a fenced ```bash block or a run of lines indented by four spaces
(Markdown's indented code). Its commands are its lines with comments
removed and backslash continuations joined.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
PROGRAMS = ("tmeradiomics", "python3", "cd", "Slicer")


def command_blocks(text: str | None = None) -> list[list[str]]:
    """Each code block of the README as its list of commands."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = [body.splitlines() for body in re.findall(r"^```(?:bash|sh)\n(.*?)^```", text, re.M | re.S)]
    outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    blocks += [[line[4:] for line in chunk.splitlines()]
               for chunk in re.findall(r"(?:^    .*\S.*\n?)+", outside, re.M)]
    # Only blocks of commands (an example CSV is indented code too).
    return [commands for commands in (_commands(lines) for lines in blocks)
            if commands and commands[0].split()[0] in PROGRAMS]


def _commands(lines: list[str]) -> list[str]:
    commands, current = [], ""
    for line in lines:
        line = _without_comment(line).rstrip()
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line.strip()
        if current:
            commands.append(current)
        current = ""
    return commands


def _without_comment(line: str) -> str:
    """The line before an unquoted ``#``."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=False)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError:
        return line
    return shlex.join(tokens) if tokens else ""


def tmeradiomics_argv(command: str) -> list[str] | None:
    """The arguments after ``tmeradiomics`` (None for any other command)."""
    words = shlex.split(command)
    return words[1:] if words and words[0] == "tmeradiomics" else None
