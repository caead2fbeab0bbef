"""The Slicer extension's CMake lists name every file the module needs at run time.

The tree is walked independently of tools/update_cmake_lists.py, and the CMake
text is parsed as CMake sees it (``set(NAME ...)`` blocks), so a bug in the
generator cannot hide an omission.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "TMERadiomics"
CHECKED_SUFFIXES = {".py", ".json", ".yaml"}
# Lists whose paths are relative to the module folder; the others to the root.
MODULE_LISTS = {"MODULE_PYTHON_SCRIPTS", "MODULE_PYTHON_RESOURCES"}


def cmake_lists(root: Path = ROOT) -> dict[str, list[str]]:
    text = (root / "TMERadiomics" / "CMakeLists.txt").read_text(encoding="utf-8")
    text = re.sub(r"#.*", "", text)
    return {name: body.split() for name, body in re.findall(r"set\((\w+)\s+([^)]*)\)", text)}


def listed_paths(root: Path = ROOT) -> set[Path]:
    paths = set()
    for name, entries in cmake_lists(root).items():
        if name in MODULE_LISTS:
            paths |= {(root / "TMERadiomics" / e).resolve() for e in entries}
        elif name.startswith("LIBRARY_"):
            paths |= {(root / e).resolve() for e in entries}
    return paths


def files_on_disk(root: Path = ROOT) -> set[Path]:
    found = set()
    for folder in ("TMERadiomicsLib", "TMERadiomics", "Resources"):
        for path in (root / folder).rglob("*"):
            if path.is_file() and path.suffix in CHECKED_SUFFIXES and "__pycache__" not in path.parts:
                found.add(path.resolve())
    return found


def test_every_python_json_yaml_file_is_listed():
    omitted = sorted(str(p.relative_to(ROOT)) for p in files_on_disk() - listed_paths())
    assert not omitted, f"missing from TMERadiomics/CMakeLists.txt (run tools/update_cmake_lists.py): {omitted}"


def test_every_listed_file_exists():
    missing = sorted(str(p) for p in listed_paths() if not p.is_file())
    assert not missing, f"listed in TMERadiomics/CMakeLists.txt but absent: {missing}"


@pytest.mark.parametrize("required", [
    "TMERadiomics/TMERadiomics.py",
    "TMERadiomics/Resources/UI/TMERadiomics.ui",
    "TMERadiomics/Resources/Icons/TMERadiomics.png",
    "Resources/Presets/qian2024.yaml",
    "Resources/Models/qian2024-combined/manifest.json",
    "TMERadiomics/TMERadiomicsLogic/requirements.txt",
])
def test_module_ui_icon_models_presets_requirements_are_installed(required):
    assert (ROOT / required).resolve() in listed_paths()


def test_lists_feed_the_build_macros():
    text = (MODULE / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"slicerMacroBuildScriptedModule\(\s*NAME \$\{MODULE_NAME\}\s*SCRIPTS \$\{MODULE_PYTHON_SCRIPTS\}"
                     r"\s*RESOURCES \$\{MODULE_PYTHON_RESOURCES\}", text)
    assert 'SCRIPTS "${LIBRARY_PYTHON_SCRIPTS}"' in text and 'RESOURCES "${LIBRARY_RESOURCES}"' in text
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text


def test_extension_metadata():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    for key in ("EXTENSION_HOMEPAGE", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION", "EXTENSION_ICONURL",
                "EXTENSION_SCREENSHOTURLS"):
        assert re.search(rf'set\({key} "[^"]+"\)', text), key
    # SlicerRadiomics has no macOS package: depending on it would make TMERadiomics uninstallable there.
    assert re.search(r'set\(EXTENSION_DEPENDS "NA"\)', re.sub(r"#.*", "", text))
    assert "add_subdirectory(TMERadiomics)" in text
    icon = re.search(r'set\(EXTENSION_ICONURL "[^"]*/main/([^"]+)"\)', text).group(1)
    assert (ROOT / icon).is_file(), icon


# The ExtensionsIndex catalog entry schema v1.0.2 (Slicer/ExtensionsIndex schemas/, which its CI validates against).
CATALOG_REQUIRED = {"$schema", "category", "scm_url"}
CATALOG_PROPERTIES = CATALOG_REQUIRED | {"scm_revision", "scm_type", "build_dependencies", "dicom_support_rule",
                                         "build_subdirectory", "enabled", "tier"}


def test_extensions_index_entry():
    entry = json.loads((ROOT / "TMERadiomics.json").read_text(encoding="utf-8"))
    assert CATALOG_REQUIRED <= set(entry) <= CATALOG_PROPERTIES
    assert entry["$schema"].endswith("/Schemas/slicer-extension-catalog-entry-schema-v1.0.2.json#")
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert entry["category"] == re.search(r'set\(EXTENSION_CATEGORY "([^"]+)"\)', cmake).group(1)
    assert entry["build_dependencies"] == []  # as EXTENSION_DEPENDS "NA"
    assert entry["scm_url"].startswith("https://") and entry["scm_url"].endswith(".git")
    assert isinstance(entry["tier"], int) and 1 <= entry["tier"] <= 5


def test_license_matches_pyproject():
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8").split("\n", 3)[1]
    assert re.search(r'license = \{ text = "Apache-2.0" \}|license = "Apache-2.0"',
                     (ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_module_folder_holds_one_module_and_its_icon():
    """Slicer imports every .py file directly in a module folder as a module: only TMERadiomics.py may be there."""
    assert sorted(p.name for p in MODULE.glob("*.py")) == ["TMERadiomics.py"]
    assert (MODULE / "Resources" / "Icons" / "TMERadiomics.png").is_file()  # where ScriptedLoadableModule looks
    assert (ROOT / "tools" / "update_cmake_lists.py").is_file()


def test_the_generator_agrees_with_the_lists():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "tools" / "update_cmake_lists.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_an_omission_is_caught(tmp_path):
    """The check itself can fail: a tree with one listed and one unlisted file of each kind."""
    (tmp_path / "TMERadiomics").mkdir()
    (tmp_path / "TMERadiomics" / "CMakeLists.txt").write_text(
        "set(MODULE_PYTHON_SCRIPTS\n  TMERadiomics.py\n  )\n"
        "set(LIBRARY_PYTHON_SCRIPTS\n  TMERadiomicsLib/a.py\n  )\n"
        "# set(LIBRARY_RESOURCES Resources/Presets/p.yaml) is a comment, not a list\n"
        "set(LIBRARY_RESOURCES\n  Resources/Models/m/manifest.json\n  )\n"
    )
    files = ["TMERadiomics/TMERadiomics.py", "TMERadiomicsLib/a.py", "TMERadiomicsLib/b.py",
             "Resources/Models/m/manifest.json", "Resources/Presets/p.yaml", "TMERadiomics/Logic/x.json"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    omitted = {str(p.relative_to(tmp_path.resolve())) for p in files_on_disk(tmp_path) - listed_paths(tmp_path)}
    assert omitted == {"TMERadiomicsLib/b.py", "Resources/Presets/p.yaml", "TMERadiomics/Logic/x.json"}


def logic_import_graph(folder: Path = MODULE / "TMERadiomicsLogic") -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at module level or inside a function."""
    import ast

    names = {path.stem for path in folder.glob("*.py")}
    graph = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("TMERadiomicsLogic."):
                found.add(node.module.split(".")[1])
        graph[path.stem] = {name.split(".")[0] for name in found} & names
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done = [], set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            found.append(path[path.index(name):] + [name])
            return
        if name in done:
            return
        for imported in sorted(graph.get(name, ())):
            visit(imported, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    return found


def test_the_logic_package_has_no_import_cycle():
    """logic.py and reproducibility.py imported each other (reproducibility's ICC took logic's quietRadiomics)."""
    graph = logic_import_graph()
    assert "reproducibility" in graph["logic"] and "logic" not in graph["reproducibility"]
    assert cycles(graph) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]  # the check can fail
