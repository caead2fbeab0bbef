"""ComBat on the project's combined-features tables (what ``extract`` writes, ``train`` reads).

The site and covariate columns sit in the same case-indexed table as the
features (``labels.tables.read_case_table``); the features are its
region-prefixed columns. The fitted model remembers the column names and the
preset the features came from, so that applying it needs only the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from ..errors import InputError
from ..labels.tables import feature_columns
from .combat import ComBatModel, fit_combat
from .combat_inputs import names

PRESET_COLUMNS = ("preset", "preset_sha256")


def fit_table(table: pd.DataFrame, batch_column: str, covariates: Sequence[str] = (),
              categorical: Sequence[str] = (), *, parametric: bool = True, mean_only: bool = False) -> ComBatModel:
    """Fit ComBat on every feature column of ``table``, sites in ``batch_column``.

    ``categorical`` names covariates to one-hot even when written as numbers
    (a grade 1/2/3); text columns are categorical anyway.
    """
    source = table.attrs.get("source")
    _require_columns(table, [batch_column, *covariates], source)
    stray = sorted(set(categorical) - set(covariates))
    if stray:
        raise InputError(f"categorical columns must also be covariates: {names(stray)}", file=source)
    used = {batch_column, *covariates}
    columns = [c for c in feature_columns(table) if c not in used]
    if not columns:
        raise InputError("table has no feature columns (Intra_, Peri_, Ring_...) to harmonise", file=source)
    features = _with_source(table[columns], source)
    kept = None
    if covariates:
        kept = table[list(covariates)].copy()
        for name in categorical:
            kept[name] = kept[name].astype(object)  # levels, not numbers; 2 and 2.0 still one level
    model = fit_combat(features, table[batch_column].rename(batch_column), kept, parametric=parametric,
                       mean_only=mean_only)
    provenance = _preset_of(table, source)
    return model if not provenance else _with_provenance(model, provenance)


def harmonise_table(model: ComBatModel, table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with the model's features harmonised, other columns as they were.

    Feature columns the model was not fitted on are dropped (and returned),
    so that nothing in the output looks harmonised without being so.
    """
    source = table.attrs.get("source")
    _require_columns(table, [model.batch_column, *model.design.covariates], source)
    _check_preset(model, table, source)
    used = {model.batch_column, *model.design.covariates}
    dropped = [c for c in feature_columns(table) if c not in used and c not in model.features]
    covariates = table[model.design.covariates] if model.design.covariates else None
    harmonised = model.apply(_with_source(table, source), table[model.batch_column].rename(model.batch_column),
                             covariates)
    out = table.drop(columns=dropped).copy()
    out[list(model.features)] = harmonised
    return out, dropped


def _require_columns(table: pd.DataFrame, wanted: Sequence[str], source: str | None) -> None:
    absent = [c for c in wanted if c not in table.columns]
    if absent:
        raise InputError(f"columns not in the table: {names(absent)}; its columns include "
                         f"{names([str(c) for c in table.columns if not str(c).startswith(('Intra_', 'Peri_', 'Ring_'))])}",
                         file=source)


def _with_source(frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
    frame = frame.copy()
    frame.attrs["source"] = source
    return frame


def _preset_of(table: pd.DataFrame, source: str | None) -> dict[str, str]:
    """The preset name and hash of a table from one extraction (none when the table has no such columns)."""
    found = {}
    for column in PRESET_COLUMNS:
        if column in table.columns:
            values = table[column].dropna().astype(str).unique()
            if len(values) > 1:
                raise InputError(f"features from more than one preset ({column}: {names(sorted(values))}); "
                                 "harmonise features of one extraction", file=source)
            if len(values) == 1:
                found[column] = str(values[0])
    return found


def _with_provenance(model: ComBatModel, provenance: dict[str, str]) -> ComBatModel:
    return replace(model, provenance={**model.provenance, **provenance})


def _check_preset(model: ComBatModel, table: pd.DataFrame, source: str | None) -> None:
    """Site effects of one preset's features say nothing about another's."""
    expected = model.provenance.get("preset_sha256")
    if expected is None or "preset_sha256" not in table.columns:
        return
    other = sorted(set(table["preset_sha256"].dropna().astype(str)) - {expected})
    if other:
        raise InputError(f"features extracted with another preset than ComBat was fitted on "
                         f"({model.provenance.get('preset', 'preset')} {expected[:12]}...)", file=source,
                         value=other[0][:12] + "...")
