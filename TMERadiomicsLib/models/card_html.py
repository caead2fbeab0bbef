"""A model card's Markdown as HTML, for the evaluation report.

There is no Markdown library among the dependencies, and a card uses a small
subset of it (``model_card``): ``#``/``##`` headings, paragraphs, ``-``
lists, pipe tables, ``**bold**`` and `` `code` ``. This converter handles
exactly that. Every piece of text is HTML-escaped before any tag is added,
so a card (a file from a bundle, which anyone may have written) can never
inject markup or script into the report.
"""

from __future__ import annotations

import html
import re

_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def card_to_html(markdown: str) -> str:
    """HTML of the card's blocks, separated by blank lines (see the module docstring)."""
    return "".join(_block(block) for block in re.split(r"\n\s*\n", markdown.strip()) if block.strip())


def inline(text: str) -> str:
    """Escape, then ``**bold**`` and `` `code` `` (escaping first keeps any markup in the text inert)."""
    escaped = html.escape(text.strip())
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)


def _block(block: str) -> str:
    lines = [line.rstrip() for line in block.strip("\n").splitlines()]
    heading = re.match(r"^(#{1,6})\s+(.*)$", lines[0])
    if heading and len(lines) == 1:
        level = min(len(heading.group(1)) + 1, 6)  # the report's own title is the page's <h1>
        return f"<h{level}>{inline(heading.group(2))}</h{level}>"
    if all(line.lstrip().startswith("- ") for line in lines):
        return "<ul>" + "".join(f"<li>{inline(line.lstrip()[2:])}</li>" for line in lines) + "</ul>"
    if len(lines) >= 2 and lines[0].startswith("|") and _TABLE_RULE.match(lines[1].strip()):
        return _table(lines)
    return f"<p>{inline(' '.join(lines))}</p>"


def _table(lines: list[str]) -> str:
    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    head = "".join(f"<th>{inline(c)}</th>" for c in cells(lines[0]))
    rows = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells(line)) + "</tr>" for line in lines[2:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
