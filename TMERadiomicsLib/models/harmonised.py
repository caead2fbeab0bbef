"""A bundle's ComBat step: the site effects ``train --harmonise`` fitted, applied before the estimator.

A harmonised bundle carries ``harmonisation.json`` (the ComBat JSON of
``harmonisation.combat_json``, fitted on the training part only), sealed by
the manifest like its other files. Scoring then needs the site column (and
any covariates ComBat kept) in the features table, and every site must be
one the fit saw: a case without one, or from another site, is refused
naming the case, the column and the value. Only the model's required
features are harmonised; each feature's adjustment uses its own estimates,
so that is the same as harmonising all of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..harmonisation import ComBatModel
from ..harmonisation.combat_inputs import label_text
from ..harmonisation.combat_json import model_from_json, model_to_json
from .tables import name_list, source_of

HARMONISATION_NAME = "harmonisation.json"


def harmonisation_bytes(model: ComBatModel) -> bytes:
    return model_to_json(model).encode("utf-8")


def read_harmonisation(data: bytes, required: list[str], path: Path) -> ComBatModel:
    """The bundle's sealed ComBat model; it must cover every required feature."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("harmonisation file is not UTF-8 text", file=path) from None
    model = model_from_json(text, source=str(path))
    absent = [name for name in required if name not in model.features]
    if absent:
        raise InputError(f"the bundle's ComBat model lacks required features: {name_list(absent)}", file=path)
    return model


def check_sites(combined: pd.DataFrame, model: ComBatModel, bundle: str) -> None:
    """Refuse a table without the site (or covariate) columns, or a case whose site the fit never saw."""
    source = source_of(combined)
    column = model.batch_column
    absent = [c for c in (column, *model.design.covariates) if c not in combined.columns]
    if absent:
        raise InputError(f"bundle {bundle} harmonises its inputs with ComBat by column {column!r}; the input "
                         f"lacks column(s) {name_list(absent)}", file=source)
    for case, value in zip(combined["case_id"].astype(str), combined[column]):
        site = label_text(value)
        if site is None:
            raise InputError(f"no site in column {column!r}: bundle {bundle} harmonises by site", file=source,
                             case=case)
        if site not in model.sites:
            raise InputError(f"site in column {column!r} was not seen when bundle {bundle}'s ComBat was fitted "
                             f"(known: {name_list(list(model.sites))})", file=source, case=case, value=site)


def harmonise_inputs(values: pd.DataFrame, combined: pd.DataFrame, model: ComBatModel) -> pd.DataFrame:
    """``values`` (rows of ``combined``, the model's features) with the site effects removed."""
    rows = combined.loc[values.index]
    frame = values.astype(float)
    frame.attrs["source"] = source_of(combined)
    sites = pd.Series([label_text(v) for v in rows[model.batch_column]], index=values.index,
                      name=model.batch_column)
    covariates = rows[model.design.covariates] if model.design.covariates else None
    return model.restricted(list(values.columns)).apply(frame, sites, covariates)
