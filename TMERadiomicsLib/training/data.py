"""The training set: aligned features and labels, candidate features, checks.

Both recipes start here, so the bad-input rules hold for both: case IDs must
match between the tables (both lists reported), labels must be numeric with
two classes, candidate feature values must be finite, every stable feature
named must exist, and the table must come from a single preset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .harmonise import Harmonise, batch_table, check_sites_of_all
from ..models.tables import (
    BinaryLabels,
    align,
    binary_labels,
    feature_columns,
    name_list,
    require_finite,
    source_of,
)

REGION_OF_PREFIX = {"Intra_": "intratumoral", "Peri_": "peritumoral", "Ring_": "ring"}
PREFIX_OF_REGION = {region: prefix for prefix, region in REGION_OF_PREFIX.items()}


@dataclass(frozen=True)
class TrainingSet:
    case_ids: np.ndarray
    X: pd.DataFrame  # candidate features, float
    y: np.ndarray  # 0/1
    labels: BinaryLabels
    preset: dict[str, str]
    group_names: tuple[str, str] | None = None  # risk groups for label 0 and 1; None: from the label
    n_all_features: int = 0  # feature columns of the table, before the stable-features (ICC) filter
    stable_listed: int | None = None  # names in the stable-features list; None: no ICC filter
    harmonise: Harmonise | None = None  # --harmonise: ComBat's site column and covariates
    batch: pd.DataFrame | None = None  # those columns, one row per case (X's order), index case_id

    @property
    def regions(self) -> list[str]:
        return regions_of(list(self.X.columns))


def regions_of(features: list[str]) -> list[str]:
    return [region for prefix, region in REGION_OF_PREFIX.items() if any(f.startswith(prefix) for f in features)]


def read_stable_features(path: str | os.PathLike) -> list[str]:
    """One feature name per line; blank lines and ``#`` comments ignored."""
    source = Path(path)
    if not source.is_file():
        raise InputError("stable-features file not found", file=source)
    lines = (line.split("#", 1)[0].strip() for line in source.read_text(encoding="utf-8").splitlines())
    names = [line for line in lines if line]
    if not names:
        raise InputError("stable-features file lists no feature", file=source)
    return names


def training_set(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    label: str | None = None,
    median_split: bool = False,
    stable_features: list[str] | None = None,
    group_names: tuple[str, str] | None = None,
    harmonise: Harmonise | None = None,
) -> TrainingSet:
    """Check and assemble the inputs of a recipe."""
    features, labels = align(features, labels)
    binary = binary_labels(labels, label, median_split)
    candidates = _candidates(features, stable_features)
    require_finite(features, candidates)
    batch = None
    if harmonise is not None:
        batch = batch_table(features, labels, harmonise)
        check_sites_of_all(batch, harmonise)
    return TrainingSet(
        case_ids=features["case_id"].astype(str).to_numpy(),
        X=features[candidates].astype(float),
        y=binary.values.to_numpy(dtype=int),
        labels=binary,
        preset=_single_preset(features),
        group_names=_group_names(group_names),
        n_all_features=len(feature_columns(features)),
        stable_listed=None if stable_features is None else len(stable_features),
        harmonise=harmonise,
        batch=batch,
    )


def record_icc_filter(data: TrainingSet, log) -> None:
    """The optional ICC step: a stable-features list restricted the candidates in ``training_set``."""
    if data.stable_listed is None:
        log.skipped("icc_filter", data.n_all_features, source="none given (--stable-features)")
    else:
        log.add("icc_filter", data.n_all_features, data.X.shape[1], listed=data.stable_listed,
                source="--stable-features list (e.g. ICC > 0.75)")


def select_regions(data: TrainingSet, regions: list[str], log) -> TrainingSet:
    """Keep the candidate features of ``regions`` (intratumoral, peritumoral, ring)."""
    unknown = [r for r in regions if r not in PREFIX_OF_REGION]
    if unknown or not regions:
        raise InputError(f"regions must be among {', '.join(PREFIX_OF_REGION)}", value=regions)
    prefixes = tuple(PREFIX_OF_REGION[r] for r in regions)
    keep = [c for c in data.X.columns if c.startswith(prefixes)]
    log.add("regions", data.X.shape[1], len(keep), regions=list(regions))
    if not keep:
        raise InputError(f"no candidate feature of the regions {', '.join(regions)} in the features table "
                         f"(columns {', '.join(prefixes)}...)", value=regions)
    return replace(data, X=data.X[keep])


def _candidates(features: pd.DataFrame, stable: list[str] | None) -> list[str]:
    columns = feature_columns(features)
    if not columns:
        raise InputError(
            "features table has no Intra_/Peri_/Ring_ feature columns (the combined view)",
            file=source_of(features),
        )
    if stable is None:
        return columns
    unknown = [name for name in stable if name not in set(columns)]
    if unknown:
        raise InputError(
            f"stable features not in the features table: {name_list(unknown)}", file=source_of(features)
        )
    return [c for c in columns if c in set(stable)]


def _single_preset(features: pd.DataFrame) -> dict[str, str]:
    for column in ("preset", "preset_sha256"):
        if column not in features.columns:
            raise InputError(f"features table has no {column} column", file=source_of(features))
    pairs = features[["preset", "preset_sha256"]].astype(str).drop_duplicates()
    if len(pairs) != 1:
        raise InputError(
            "features table mixes presets; train on features from one preset",
            file=source_of(features),
            value=pairs["preset"].tolist(),
        )
    return {"name": pairs["preset"].iloc[0], "sha256": pairs["preset_sha256"].iloc[0]}


def require_folds(y: np.ndarray, case_ids: np.ndarray, folds: int, what: str) -> None:
    """Stratified k-fold needs at least k cases of each class."""
    counts = {cls: int(np.sum(y == cls)) for cls in (0, 1)}
    smallest = min(counts, key=counts.get)
    if counts[smallest] < folds:
        cases = sorted(case_ids[y == smallest].tolist())
        raise InputError(
            f"{what} needs at least {folds} cases of each class; class {smallest} has "
            f"{counts[smallest]}: {name_list(cases) or 'none'}",
            value=f"{len(y)} cases, {folds} folds",
        )


def _group_names(names: tuple[str, str] | None) -> tuple[str, str] | None:
    if names is None:
        return None
    names = tuple(str(n).strip() for n in names)
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise InputError("risk groups need two different, non-empty names (label 0, then label 1)",
                         value=list(names))
    return names


def risk_group_names(data: TrainingSet) -> list[str]:
    """The names a bundle gives label 0 and label 1: the user's, or ones made from the label."""
    if data.group_names:
        return list(data.group_names)
    labels = data.labels
    column = labels.definition["column"]
    if "median" in labels.definition:
        return [f"low {column}", f"high {column}"]
    return [f"{column} 0", f"{column} 1"]


def trained_intended_use(recipe: str) -> str:
    return (
        f"Research use only: a model trained by the {recipe} recipe on the user's cohort. "
        "Not for diagnosis or patient care. Valid only for features from the same preset and "
        "a population like the training cohort."
    )
