"""The model card of a bundle: ``MODEL_CARD.md``, Markdown built from plain data.

A card (Mitchell et al., FAT* 2019, "Model Cards for Model Reporting") says
what a model is for and not for, what it was trained on, how it was built,
how well it did and how that was measured, and what it cannot do. Here it
also lists the items of the CLEAR checklist (Kocak et al., Insights Imaging
2023;14:75) that the card and the project cover.

``render_card`` only lays out the ``CardFacts`` it is given: every figure in
a card comes from the data passed in (the training record, or a paper's
tables for the published signatures), none is written here. The Markdown is
a small subset (headings, paragraphs, ``-`` lists, pipe tables, ``**bold**``,
`` `code` ``) that ``card_html`` turns into HTML for the evaluation report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CARD_NAME = "MODEL_CARD.md"
CLEAR_SOURCE = "CLEAR v1.0 (Kocak et al., Insights Imaging 2023;14:75)"
# Item names as the CLEAR v1.0 checklist words them (clearchecklist.github.io).
CLEAR_ITEMS: dict[int, str] = {
    1: "Relevant title, specifying the radiomic methodology",
    2: "Structured summary with relevant information",
    3: "Relevant keywords for radiomics",
    4: "Scientific or clinical background",
    5: "Rationale for using a radiomic approach",
    6: "Study objective(s)",
    7: "Adherence to guidelines or checklists",
    8: "Ethical details",
    9: "Sample size calculation",
    10: "Study nature (e.g., retrospective, prospective)",
    11: "Eligibility criteria",
    12: "Flowchart for technical pipeline",
    13: "Data source (e.g., private, public)",
    14: "Data overlap",
    15: "Data split methodology",
    16: "Imaging protocol (i.e., image acquisition and processing)",
    17: "Definition of non-radiomic predictor variables",
    18: "Definition of the reference standard (i.e., outcome variable)",
    19: "Segmentation strategy",
    20: "Details of operators performing segmentation",
    21: "Image pre-processing details",
    22: "Resampling method and its parameters",
    23: "Discretization method and its parameters",
    24: "Image types (e.g., original, filtered, transformed)",
    25: "Feature extraction method",
    26: "Feature classes",
    27: "Number of features",
    28: "Default configuration statement for remaining parameters",
    29: "Handling of missing data",
    30: "Details of class imbalance",
    31: "Details of segmentation reliability analysis",
    32: "Feature scaling details (e.g., normalization, standardization)",
    33: "Dimension reduction details",
    34: "Algorithm details",
    35: "Training and tuning details",
    36: "Handling of confounders",
    37: "Model selection strategy",
    38: "Testing technique (e.g., internal, external)",
    39: "Performance metrics and rationale for choosing",
    40: "Uncertainty evaluation and measures (e.g., confidence intervals)",
    41: "Statistical performance comparison (e.g., DeLong's test)",
    42: "Comparison with non-radiomic and combined methods",
    43: "Interpretability and explainability methods",
    44: "Baseline demographic and clinical characteristics",
    45: "Flowchart for eligibility criteria",
    46: "Feature statistics (e.g., reproducibility, feature selection)",
    47: "Model performance evaluation",
    48: "Comparison with non-radiomic and combined approaches",
    49: "Overview of important findings",
    50: "Previous works with differences from the current study",
    51: "Practical implications",
    52: "Strengths and limitations (e.g., bias and generalizability issues)",
    53: "Sharing images along with segmentation data",
    54: "Sharing radiomic feature data",
    55: "Sharing pre-processing scripts or settings",
    56: "Sharing source code for modeling",
    57: "Sharing final model files",
    58: "Sharing a ready-to-use system",
}
METRICS = ("accuracy", "sensitivity", "specificity")
# The heading a local calibration appends; re-calibrating replaces that section.
CALIBRATION_HEADING = "## Local calibration"


@dataclass(frozen=True)
class PerformanceRow:
    """One AUC figure and how it was measured (``design``) and by whom (``source``)."""

    cohort: str
    design: str
    n: int
    auc: float | None
    ci: tuple[float, float] | None
    ci_method: str
    source: str
    metrics: dict[str, float] = field(default_factory=dict)  # accuracy, sensitivity, specificity


@dataclass(frozen=True)
class CardFacts:
    """Everything a card says, as plain data (see ``render_card``)."""

    name: str
    version: str
    summary: str
    intended_use: str
    not_for: list[str]
    training_data: list[tuple[str, str]]  # (what, value)
    steps: list[dict]  # the recipe's record: name, enabled, features_in, features_out, parameters
    steps_note: str
    performance: list[PerformanceRow]
    performance_note: str
    calibration: list[str]
    decision_curve: list[str]
    limitations: list[str]
    clear: list[tuple[int, str]]  # (CLEAR item number, where it is covered)
    references: list[str] = field(default_factory=list)


def render_card(facts: CardFacts) -> str:
    """The card as Markdown."""
    parts = [
        f"# Model card: {facts.name} {facts.version}",
        facts.summary,
        "## Intended use",
        facts.intended_use,
        "**Not for:**",
        bullets(facts.not_for),
        "## Training data",
        table(["what", "value"], [[what, value] for what, value in facts.training_data]),
        "## Recipe steps",
        facts.steps_note,
        steps_table(facts.steps) if facts.steps else "No recipe steps are recorded.",
        "## Performance",
        facts.performance_note,
        performance_table(facts.performance) if facts.performance else "No performance was measured.",
        "## Calibration",
        bullets(facts.calibration),
        "## Decision curve",
        bullets(facts.decision_curve),
        "## Limitations",
        bullets(facts.limitations),
        "## CLEAR checklist items covered",
        f"Items of {CLEAR_SOURCE} that this card and the project cover; items not listed are not covered "
        "by the bundle and belong to the study's own report.",
        clear_table(facts.clear),
    ]
    if facts.references:
        parts += ["## References", bullets(facts.references)]
    return "\n\n".join(part for part in parts if part) + "\n"


def with_calibration(card: str, lines: list[str]) -> str:
    """``card`` with its local-calibration section set to ``lines`` (a re-calibration replaces it)."""
    head = card.split("\n" + CALIBRATION_HEADING + "\n", 1)[0].rstrip("\n")
    return f"{head}\n\n{CALIBRATION_HEADING}\n\n{bullets(lines)}\n"


def steps_table(steps: list[dict]) -> str:
    rows = [[step["name"], "yes" if step["enabled"] else "no (switched off)", str(step["features_in"]),
             str(step["features_out"]), parameters_text(step.get("parameters") or {})] for step in steps]
    return table(["step", "ran", "features in", "features out", "parameters"], rows)


def performance_table(rows: list[PerformanceRow]) -> str:
    body = []
    for row in rows:
        auc = "not reported" if row.auc is None else f"{row.auc:.3f}"
        if row.auc is not None and row.ci is not None:
            auc += f" ({row.ci[0]:.3f}-{row.ci[1]:.3f})"
        metrics = [number(row.metrics.get(name)) for name in METRICS]
        body.append([row.cohort, row.design, str(row.n), auc, row.ci_method, *metrics, row.source])
    return table(["cohort", "evaluation", "n", "AUC (95% CI)", "CI method", *METRICS, "source"], body)


def clear_table(items: list[tuple[int, str]]) -> str:
    unknown = [number for number, _ in items if number not in CLEAR_ITEMS]
    if unknown:
        raise ValueError(f"not a CLEAR v1.0 item: {unknown}")
    return table(["item", "CLEAR item", "where covered"],
                 [[str(n), CLEAR_ITEMS[n], where] for n, where in sorted(items)])


def parameters_text(parameters: dict) -> str:
    """Short ``key=value`` text of a step's scalar parameters (long lists are left to the manifest)."""
    shown = []
    for key, value in parameters.items():
        if isinstance(value, float):
            shown.append(f"{key}={value:.4g}")
        elif isinstance(value, (str, int, bool)) or (isinstance(value, (list, dict)) and len(str(value)) <= 60):
            shown.append(f"{key}={value}")
    return "; ".join(shown)


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def bullets(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A pipe table; a ``|`` or line break in a cell would break the row, so they become ``/`` and spaces."""
    def cell(text: str) -> str:
        return re.sub(r"\s+", " ", str(text).replace("|", "/")).strip()

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
