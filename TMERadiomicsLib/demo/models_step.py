"""Demo step: train both recipes, calibrate the published signatures, evaluate on held-out cases.

Each recipe is trained on its own paper's preset and regions: qian2024-lasso
on the qian2024 features (its combined model: intratumoral + peritumoral),
han2024-rf on the han2024 features of the intratumoral region and the ring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..cohort.build import HOT_LABEL, M2_LABEL
from ..evaluation import evaluate, write_report
from ..evaluation.evaluate import EvaluationResult
from ..models import ModelBundle, bundled_model, calibrate, load_bundle, list_bundled_models
from ..training import train

# Recipe -> the label it learns and its risk groups (label 0, label 1): Qian's M2 low/high, Han's cold/hot.
RECIPE_LABELS = {
    "qian2024-lasso": (M2_LABEL, ("low M2 infiltration", "high M2 infiltration")),
    "han2024-rf": (HOT_LABEL, ("immune-desert (cold)", "immune-inflamed (hot)")),
}
# Recipe -> the preset of its paper; the published Qian signatures use qian2024.
RECIPE_PRESETS = {"qian2024-lasso": "qian2024", "han2024-rf": "han2024"}
PUBLISHED_PRESET = "qian2024"
# Preset -> the regions whose features the demo extracts with it (empty: every region); Han needs no peritumoral.
PRESET_REGIONS = {"qian2024": (), "han2024": ("intratumoral", "ring")}
PUBLISHED_LABEL = M2_LABEL


@dataclass
class TrainedModel:
    name: str  # folder name under models/
    kind: str  # "trained" or "published, calibrated"
    label: str
    bundle: ModelBundle
    preset: str
    evaluation: EvaluationResult | None = None

    @property
    def steps(self) -> list[dict]:
        """The recipe's step record (empty for the published signatures)."""
        return self.bundle.manifest.provenance.get("steps", [])


def build_models(development: dict[str, pd.DataFrame], labels: pd.DataFrame, out_dir: Path, *, seed: int,
                 progress: bool) -> list[TrainedModel]:
    """Both recipes trained on the development cases of their preset; the Qian signatures calibrated.

    ``development`` maps a preset name to its features table. The published
    signatures get the Youden threshold of the development cases' labels
    (docs/models.md: what Qian's Table 3 implies).
    """
    models = []
    for recipe, (label, groups) in RECIPE_LABELS.items():
        preset = RECIPE_PRESETS[recipe]
        bundle = train(development[preset], labels, recipe, seed, label=label, progress=progress,
                       group_names=groups)
        models.append(TrainedModel(recipe, "trained", label, bundle, preset))
    for name in list_bundled_models():
        published = load_bundle(bundled_model(name))
        calibrated = calibrate(published, development[PUBLISHED_PRESET], labels, label=PUBLISHED_LABEL)
        models.append(TrainedModel(name, "published, calibrated", PUBLISHED_LABEL, calibrated, PUBLISHED_PRESET))
    for model in models:
        model.bundle.save(out_dir / model.name)
    return models


def evaluate_models(models: list[TrainedModel], held_out: dict[str, pd.DataFrame], labels: pd.DataFrame,
                    out_dir: Path) -> None:
    """Each bundle on the held-out cases of its preset, with a full evaluation report per bundle."""
    for model in models:
        model.evaluation = evaluate(model.bundle, held_out[model.preset], labels, label=model.label)
        write_report(model.evaluation, out_dir / model.name, model_card=model.bundle.model_card)
