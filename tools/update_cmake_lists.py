"""Rewrite the generated file lists in TMERadiomics/CMakeLists.txt from the tree.

    python tools/update_cmake_lists.py          # rewrite the lists
    python tools/update_cmake_lists.py --check  # exit 1 if they are stale
    python tools/update_cmake_lists.py --tracked  # only files git tracks (before a commit
                                                  # while others have files in progress)

Run it after adding or removing a library, module or resource file; the
packaging test fails until the lists match the tree. It lives outside the
module folder: Slicer imports every ``.py`` file directly in a module
folder as a module.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE_DIR = ROOT / "TMERadiomics"
CMAKE_FILE = MODULE_DIR / "CMakeLists.txt"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp"}
BLOCK = re.compile(r"(# BEGIN generated: (\w+)\n)(.*?)(# END generated: \2)", re.S)


TRACKED: set[Path] | None = None  # set by --tracked


def _tracked() -> set[Path]:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return {(ROOT / name).resolve() for name in listing.decode().split("\0") if name}


def _files(base: Path, folder: str) -> list[str]:
    found = []
    for path in sorted((base / folder).rglob("*")):
        relative = path.relative_to(base)
        if TRACKED is not None and path.resolve() not in TRACKED:
            continue
        if path.is_file() and not SKIP_PARTS & set(relative.parts) and path.suffix not in SKIP_SUFFIXES \
                and not path.name.startswith("."):
            found.append(relative.as_posix())
    return found


def _module_files() -> list[str]:
    return [f for f in _files(MODULE_DIR, ".") if not f.endswith("CMakeLists.txt")]


def lists() -> dict[str, list[str]]:
    """Every generated list: name -> paths (module lists relative to TMERadiomics/, others to the root)."""
    module = _module_files()
    return {
        "MODULE_PYTHON_SCRIPTS": [f for f in module if f.endswith(".py")],
        "MODULE_PYTHON_RESOURCES": [f for f in module if not f.endswith(".py")],
        "LIBRARY_PYTHON_SCRIPTS": [f for f in _files(ROOT, "TMERadiomicsLib") if f.endswith(".py")],
        "LIBRARY_RESOURCES": [f for f in _files(ROOT, "TMERadiomicsLib") if not f.endswith(".py")]
        + _files(ROOT, "Resources"),
    }


def render(text: str, wanted: dict[str, list[str]]) -> str:
    def block(match: re.Match) -> str:
        name = match.group(2)
        body = "".join(f"  {path}\n" for path in wanted[name])
        return f"{match.group(1)}set({name}\n{body}  )\n{match.group(4)}"

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether the lists are stale")
    parser.add_argument("--tracked", action="store_true", help="list only files that git tracks")
    args = parser.parse_args(argv)
    if args.tracked:
        global TRACKED
        TRACKED = _tracked()
    text = CMAKE_FILE.read_text(encoding="utf-8")
    updated = render(text, lists())
    if args.check:
        if updated != text:
            print(f"{CMAKE_FILE} is stale; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        CMAKE_FILE.write_text(updated, encoding="utf-8")
        print(f"updated {CMAKE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
