"""Static check of the panel: every widget the Widget code uses is in the .ui, with the class the code expects.

The Widget cannot run without the Slicer application; this reads both files
as text (XML and Python's ast), so CI catches a renamed or retyped widget.
"""

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI_FILE = ROOT / "TMERadiomics" / "Resources" / "UI" / "TMERadiomics.ui"
MODULE_FILE = ROOT / "TMERadiomics" / "TMERadiomics.py"

# The class each widget must have for the calls the Widget makes on it.
EXPECTED = {
    "inputVolumeSelector": "qMRMLNodeComboBox",
    "phaseLabel": "QLabel",
    "phaseSpinBox": "QSpinBox",
    "tumorSegmentSelector": "qMRMLSegmentSelectorWidget",
    "exclusionSegmentSelector": "qMRMLSegmentSelectorWidget",
    "peritumoralMmSpinBox": "QDoubleSpinBox",
    "ringMmSpinBox": "QDoubleSpinBox",
    "airBelowCheckBox": "QCheckBox",
    "airBelowSpinBox": "QDoubleSpinBox",
    "presetComboBox": "QComboBox",
    "modelsListWidget": "QListWidget",
    "addModelButton": "QPushButton",
    "generateRegionsButton": "QPushButton",
    "computeFeaturesButton": "QPushButton",
    "applyModelsButton": "QPushButton",
    "runAllButton": "QPushButton",
    "runAllLesionsButton": "QPushButton",
    "restoreColoursButton": "QPushButton",
    "exportTableButton": "QPushButton",
    "legendLabel": "QLabel",
    "warningsLabel": "QLabel",
    "installDependenciesButton": "QPushButton",
    "blockedReasonLabel": "QLabel",
    "featuresTableSelector": "qMRMLNodeComboBox",
    "scoresTableSelector": "qMRMLNodeComboBox",
    "summaryLabel": "QLabel",
    "studyDatabasePathLineEdit": "ctkPathLineEdit",
    "saveSessionButton": "QPushButton",
    "iccFormComboBox": "QComboBox",
    "iccRequireComboBox": "QComboBox",
    "computeIccButton": "QPushButton",
    "reproducibilityStatusLabel": "QLabel",
    "cohortManifestPathLineEdit": "ctkPathLineEdit",
    "cohortOutputPathLineEdit": "ctkPathLineEdit",
    "runCohortButton": "QPushButton",
    "cohortStatusLabel": "QLabel",
    "siteLineEdit": "QLineEdit",
    "kineticsCollapsibleButton": "ctkCollapsibleButton",
    "kineticsTimesLineEdit": "QLineEdit",
    "kineticsPhasesListWidget": "QListWidget",
    "computeKineticsButton": "QPushButton",
    "kineticsStatusLabel": "QLabel",
}
# Widget classes Slicer's parameterNodeWrapper can bind to a parameter of each type
# (slicer.parameterNodeWrapper.guiConnectors); "node" is any vtkMRML node type.
CONNECTABLE = {
    "str": {"QLineEdit", "QTextEdit"},
    "bool": {"QCheckBox", "QPushButton"},
    "int": {"QSpinBox", "QSlider"},
    "float": {"QDoubleSpinBox", "ctkSliderWidget"},
    "node": {"qMRMLNodeComboBox"},
}
LOGIC_FILE = ROOT / "TMERadiomics" / "TMERadiomicsLogic" / "logic.py"


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


def parameter_types(path: Path = MODULE_FILE) -> dict[str, str]:
    """Parameter node field -> "str", "bool", "int", "float" or "node" (Annotated[...] unwrapped)."""
    wrapper = next(n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(n, ast.ClassDef) and n.name == "TMERadiomicsParameterNode")
    types = {}
    for field in (n for n in wrapper.body if isinstance(n, ast.AnnAssign)):
        annotation = field.annotation
        if isinstance(annotation, ast.Subscript):  # Annotated[float, WithinRange(...)]
            annotation = annotation.slice.elts[0]
        text = ast.unparse(annotation)
        types[field.target.id] = "node" if text.startswith("slicer.vtkMRML") else text
    return types


def bindings(path: Path = UI_FILE) -> dict[str, tuple[str, str]]:
    """Parameter name -> (widget name, widget class) for every SlicerParameterName in the .ui."""
    bound = {}
    for widget in ET.parse(path).iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[prop.find("string").text] = (widget.get("name"), widget.get("class"))
    return bound


def test_bound_widgets_can_represent_their_parameter_type():
    types = parameter_types()
    wrong = {parameter: (widget, cls, types[parameter]) for parameter, (widget, cls) in bindings().items()
             if cls not in CONNECTABLE.get(types[parameter], set())}
    assert not wrong, f"no parameterNodeWrapper connector for (widget, class, type): {wrong}"


def test_reproducibility_section_holds_its_fields_and_buttons():
    section = next(w for w in ET.parse(UI_FILE).iter("widget") if w.get("name") == "reproducibilityCollapsibleButton")
    inside = {w.get("name"): w.get("class") for w in section.iter("widget")}
    for name in ("studyDatabasePathLineEdit", "caseIdLineEdit", "readerLineEdit", "sessionLineEdit",
                 "replaceSessionCheckBox", "saveSessionButton", "iccFormComboBox", "iccThresholdSpinBox",
                 "iccRequireComboBox", "iccTableSelector", "computeIccButton", "reproducibilityStatusLabel"):
        assert name in inside, name
    bound = bindings()
    for parameter in ("caseId", "reader", "session", "replaceSession", "iccThreshold", "iccTable"):
        assert bound[parameter][0] in inside, parameter
    # The two ICC forms of tmeradiomics icc, and the required kinds it accepts.
    combos = {name: [i.find("property/string").text for i in w.findall("item")]
              for w in section.iter("widget") if (name := w.get("name")) in ("iccFormComboBox", "iccRequireComboBox")}
    assert combos == {"iccFormComboBox": ["A,1", "C,1"], "iccRequireComboBox": ["intra,inter", "intra", "inter"]}


def logic_calls(path: Path = MODULE_FILE) -> set[str]:
    """Every ``self.logic.<name>`` the Widget reads."""
    return {node.attr for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "logic"}


def logic_methods() -> set[str]:
    """Methods of the core Logic (logic.py) and of the module's Slicer subclass, and the attributes
    their ``__init__`` sets (``lastWarnings``)."""
    methods = set()
    for path in (LOGIC_FILE, MODULE_FILE):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name == "TMERadiomicsLogic":
                methods |= {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
                for init in (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"):
                    methods |= {target.attr for statement in ast.walk(init)
                                if isinstance(statement, (ast.Assign, ast.AnnAssign))
                                for target in (statement.targets if isinstance(statement, ast.Assign)
                                               else [statement.target])
                                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id == "self"}
    return methods


def test_widget_calls_only_existing_logic_methods():
    calls = logic_calls()
    assert {"saveSegmentationToSession", "startComputeIcc", "finishComputeIcc", "saveSessionBlocker", "iccBlocker",
            "startComputeFeatures", "finishComputeFeatures", "startRunAll", "finishRunAll", "startCohort",
            "finishCohort", "cohortBlocker"} <= calls
    missing = sorted(calls - logic_methods())
    assert not missing, f"the Widget calls Logic methods that do not exist: {missing}"


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


def test_the_binding_and_logic_checks_can_fail(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "class TMERadiomicsParameterNode:\n    threshold: Annotated[float, WithinRange(0, 1)] = 0.5\n"
        "    table: slicer.vtkMRMLTableNode\n"
        "class W:\n    def f(self):\n        self.logic.noSuchMethod()\n        self.logic.computeIcc()\n"
    )
    assert parameter_types(module) == {"threshold": "float", "table": "node"}
    assert "QLineEdit" not in CONNECTABLE["float"]  # a line edit bound to a float would be flagged
    assert logic_calls(module) == {"noSuchMethod", "computeIcc"}
    assert "noSuchMethod" not in logic_methods() and "computeIcc" in logic_methods()


def parameter_annotations(path: Path = MODULE_FILE) -> dict[str, str]:
    """Parameter node field -> its annotation as written."""
    wrapper = next(n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                   if isinstance(n, ast.ClassDef) and n.name == "TMERadiomicsParameterNode")
    return {n.target.id: ast.unparse(n.annotation) for n in wrapper.body if isinstance(n, ast.AnnAssign)}


def test_phase_parameter_is_bounded():
    """parameterNodeWrapper sets the spin box range from WithinRange; a bare int allows any integer."""
    annotation = parameter_annotations()["phase"]
    assert annotation.startswith("Annotated[int, WithinRange(0,"), annotation
    assert bindings()["phase"] == ("phaseSpinBox", "QSpinBox")


def test_results_are_not_written_where_dataprobe_erases_them():
    """DataProbe rewrites the slice-view corners on every slice change: results go to the panel and a table view."""
    source = MODULE_FILE.read_text(encoding="utf-8")
    assert "cornerAnnotation" not in source
    assert "GetLayoutWithTable" in source and "summaryLabel" in source


def test_no_logic_switches_the_layout():
    """Layout switching is the Widget's: the Logic (TMERadiomicsLogic/, and the Logic class of the module
    file) never reaches for the layout manager or the views."""
    import ast

    module = ROOT / "TMERadiomics"
    sources = {path: path.read_text(encoding="utf-8") for path in (module / "TMERadiomicsLogic").glob("*.py")}
    tree = ast.parse((module / "TMERadiomics.py").read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    sources[module / "TMERadiomics.py"] = ast.unparse(classes["TMERadiomicsLogic"])
    offending = sorted(str(path.name) for path, text in sources.items()
                       if "layoutManager" in text or "setLayout" in text or "GetLayoutWithTable" in text)
    assert offending == []
    assert "GetLayoutWithTable" in ast.unparse(classes["TMERadiomicsWidget"])


# What a user sets or clicks in the panel; each must say what it does when hovered.
INPUT_CLASSES = {"QSpinBox", "QDoubleSpinBox", "QComboBox", "QLineEdit", "QCheckBox", "QListWidget", "QPushButton",
                 "qMRMLNodeComboBox", "qMRMLSegmentSelectorWidget", "ctkPathLineEdit"}


def test_every_input_has_a_tooltip():
    missing = []
    for widget in ET.parse(UI_FILE).iter("widget"):
        if widget.get("class") in INPUT_CLASSES:
            tip = widget.find("property[@name='toolTip']/string")
            if tip is None or not (tip.text or "").strip():
                missing.append(widget.get("name"))
    assert missing == []


def test_the_ring_is_labelled_as_a_half_width():
    labels = {w.get("name"): w.findtext("property[@name='text']/string") for w in ET.parse(UI_FILE).iter("widget")}
    assert "half-width" in labels["ringMmLabel"] and "+/-" in labels["ringMmLabel"]
