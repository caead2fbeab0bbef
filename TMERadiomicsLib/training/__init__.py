"""Training recipes of both papers: ``qian2024-lasso`` and ``han2024-rf``.

``train`` checks the inputs once (see ``data.training_set``) and runs the
recipe; the result is a ``ModelBundle`` ready to save, score and evaluate,
with its model card (``card.training_card``). The same inputs, options and
seed give the same bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import pandas as pd

from ..errors import InputError
from ..models.bundle import ModelBundle
from .card import site_counts, training_card
from .data import TrainingSet, read_stable_features, training_set
from .forest import train_forest
from .harmonise import Harmonise
from .lasso import train_lasso

logger = logging.getLogger(__name__)

RECIPES: dict[str, Callable[[TrainingSet, int, dict, bool], ModelBundle]] = {
    "qian2024-lasso": train_lasso,
    "han2024-rf": train_forest,
}


def train(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    recipe: str,
    seed: int = 0,
    stable_features: list[str] | None = None,
    *,
    label: str | None = None,
    median_split: bool = False,
    options: Mapping[str, object] | None = None,
    progress: bool = False,
    group_names: tuple[str, str] | None = None,
    harmonise: str | None = None,
    harmonise_covariates: Sequence[str] = (),
) -> ModelBundle:
    """Train ``recipe`` on a combined-features table and a labels table.

    ``options`` override the recipe's defaults (``lasso.DEFAULTS``,
    ``forest.DEFAULTS``) and are recorded in the manifest; ``progress``
    shows the cross-validation on stderr. ``group_names`` names the risk
    groups of label 0 and label 1 (e.g. ``("cold", "hot")``). ``harmonise``
    names the site column (of ``features`` or ``labels``) by which ComBat
    harmonises the candidates inside the recipe (``harmonise.py``), keeping
    the effects of ``harmonise_covariates``; the bundle then carries it.
    """
    if recipe not in RECIPES:
        raise InputError(f"unknown recipe; known: {', '.join(RECIPES)}", value=recipe)
    if harmonise_covariates and not harmonise:
        raise InputError("--harmonise-covariates need --harmonise COLUMN (the site column)",
                         value=",".join(harmonise_covariates))
    data = training_set(
        features, labels, label=label, median_split=median_split, stable_features=stable_features,
        group_names=group_names,
        harmonise=Harmonise(harmonise, tuple(harmonise_covariates)) if harmonise else None,
    )
    logger.info("training %s on %d cases, %d candidate features", recipe, len(data.y), data.X.shape[1])
    bundle = RECIPES[recipe](data, seed, dict(options or {}), progress)
    sites = site_counts(labels, data.case_ids)
    if sites is None:
        sites = site_counts(features, data.case_ids)
    return replace(bundle, model_card=training_card(bundle, data, sites)).with_file_hashes()


__all__ = ["RECIPES", "read_stable_features", "train"]
