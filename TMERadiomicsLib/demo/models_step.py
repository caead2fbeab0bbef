"""Demo step: train both recipes, calibrate the published signatures, evaluate on held-out cases."""

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
PUBLISHED_LABEL = M2_LABEL


@dataclass
class TrainedModel:
    name: str  # folder name under models/
    kind: str  # "trained" or "published, calibrated"
    label: str
    bundle: ModelBundle
    evaluation: EvaluationResult | None = None


def build_models(development: pd.DataFrame, labels: pd.DataFrame, out_dir: Path, *, seed: int,
                 progress: bool) -> list[TrainedModel]:
    """Both recipes trained on the development cases; the Qian signatures calibrated on them."""
    models = []
    for recipe, (label, groups) in RECIPE_LABELS.items():
        bundle = train(development, labels, recipe, seed, label=label, progress=progress, group_names=groups)
        models.append(TrainedModel(recipe, "trained", label, bundle))
    for name in list_bundled_models():
        published = load_bundle(bundled_model(name))
        models.append(TrainedModel(name, "published, calibrated", PUBLISHED_LABEL, calibrate(published, development)))
    for model in models:
        model.bundle.save(out_dir / model.name)
    return models


def evaluate_models(models: list[TrainedModel], held_out: pd.DataFrame, labels: pd.DataFrame,
                    out_dir: Path) -> None:
    """Each bundle on the held-out cases, with a full evaluation report per bundle."""
    for model in models:
        model.evaluation = evaluate(model.bundle, held_out, labels, label=model.label)
        write_report(model.evaluation, out_dir / model.name)
