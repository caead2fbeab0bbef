"""Static check of the panel: every widget the Widget code uses is in the .ui, with the class the code expects.

The Widget cannot run without the Slicer application; this reads both files
as text (XML and Python's ast), so CI catches a renamed or retyped widget.
"""

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_FILE = ROOT / "Resources" / "UI" / "TMERadiomics.ui"
MODULE_FILE = ROOT / "TMERadiomics" / "TMERadiomics.py"

# The class each widget must have for the calls the Widget makes on it.
EXPECTED = {
    "inputVolumeSelector": "qMRMLNodeComboBox",
    "phaseSpinBox": "QSpinBox",
    "tumorSegmentSelector": "qMRMLSegmentSelectorWidget",
    "exclusionSegmentSelector": "qMRMLSegmentSelectorWidget",
    "peritumoralMmSpinBox": "QDoubleSpinBox",
    "ringMmSpinBox": "QDoubleSpinBox",
    "presetComboBox": "QComboBox",
    "modelsListWidget": "QListWidget",
    "addModelButton": "QPushButton",
    "generateRegionsButton": "QPushButton",
    "computeFeaturesButton": "QPushButton",
    "applyModelsButton": "QPushButton",
    "runAllButton": "QPushButton",
    "installDependenciesButton": "QPushButton",
    "blockedReasonLabel": "QLabel",
    "featuresTableSelector": "qMRMLNodeComboBox",
    "scoresTableSelector": "qMRMLNodeComboBox",
    "summaryLabel": "QLabel",
}


def ui_widgets(path: Path = UI_FILE) -> dict[str, str]:
    return {w.get("name"): w.get("class") for w in ET.parse(path).iter("widget")}


def used_names(path: Path = MODULE_FILE) -> set[str]:
    """Every ``<x>.ui.<name>`` attribute the module reads."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "ui":
            names.add(node.attr)
    return names


def test_every_used_widget_exists_with_the_expected_class():
    widgets = ui_widgets()
    used = used_names()
    assert used, "the Widget uses no self.ui widgets: the parser is broken"
    missing = sorted(used - set(widgets))
    assert not missing, f"used in TMERadiomics.py but absent from the .ui: {missing}"
    unknown = sorted(used - set(EXPECTED))
    assert not unknown, f"add the expected class of {unknown} to EXPECTED"
    wrong = {name: (widgets[name], EXPECTED[name]) for name in used if widgets[name] != EXPECTED[name]}
    assert not wrong, f"widget class (in .ui, expected): {wrong}"


def test_parameter_node_bindings_name_parameters():
    """Widgets bound with SlicerParameterName must name a field of the parameter node."""
    source = MODULE_FILE.read_text(encoding="utf-8")
    tree = ast.parse(source)
    wrapper = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "TMERadiomicsParameterNode")
    fields = {n.target.id for n in wrapper.body if isinstance(n, ast.AnnAssign)}
    bound = {}
    for widget in ET.parse(UI_FILE).iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[widget.get("name")] = prop.find("string").text
    assert bound and set(bound.values()) <= fields, (bound, fields)


def test_scene_reaches_every_mrml_widget():
    root = ET.parse(UI_FILE).getroot()
    receivers = {c.findtext("receiver") for c in root.iter("connection") if c.findtext("slot") == "setMRMLScene(vtkMRMLScene*)"}
    mrml = {name for name, cls in ui_widgets().items() if cls.startswith("qMRML") and cls != "qMRMLWidget"}
    assert mrml and mrml <= receivers


def test_the_check_can_fail(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("class W:\n    def f(self):\n        self.ui.noSuchWidget.enabled = True\n        self.ui.runAllButton.text\n")
    assert used_names(module) == {"noSuchWidget", "runAllButton"}
    assert "noSuchWidget" not in ui_widgets()
