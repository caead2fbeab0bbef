"""ComBat inside the recipes (``train --harmonise COLUMN``): fitted where the model is fitted, never wider.

ComBat's estimates are statistics of the cases it is fitted on, like a
z-score's mean and sd, so a fit that sees held-out cases lets them shape the
training values (``Testing/test_training_harmonise.py`` shows it). So:

- the recipe's final model: ComBat fitted on the training part only
  (qian2024-lasso: the 7:3 split's training part; han2024-rf: every case,
  as its final forest is), then applied to every case with those estimates;
  that fitted model is what the bundle carries (``models.harmonised``);
- inside each cross-validation fold (lasso's lambda CV, the forest's CV):
  ComBat re-fitted on the fold's training cases and applied to its
  validation cases, so the fold's score never saw its own cases' sites.

Features constant within a site of the training part have no site scale to
estimate; they leave the candidates at this step (its record counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from ..harmonisation import ComBatModel, fit_combat
from ..models.tables import name_list, source_of
from .steps import StepLog

METHOD = "ComBat, parametric empirical Bayes (Johnson, Li & Rabinovic 2007, as sva::ComBat)"


@dataclass(frozen=True)
class Harmonise:
    """What ``--harmonise`` asked for: the site column and the covariates ComBat keeps."""

    column: str
    covariates: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [self.column, *self.covariates]


def batch_table(features: pd.DataFrame, labels: pd.DataFrame, spec: Harmonise) -> pd.DataFrame:
    """The site and covariate columns, one row per case in the (aligned) features' order.

    Each column is taken from the features table, or else from the labels table.
    """
    out = pd.DataFrame(index=features.index)
    for column in spec.columns:
        if column in features.columns:
            out[column] = features[column].to_numpy()
        elif column in labels.columns:
            out[column] = labels[column].to_numpy()
        else:
            raise InputError(f"--harmonise: column {column!r} is in neither the features nor the labels table",
                             file=source_of(features), value=column)
    out.index = pd.Index(features["case_id"].astype(str), name="case_id")
    return out


@dataclass(frozen=True)
class Harmoniser:
    """Fits and applies ComBat on rows of a training set (``X`` and ``batch`` share the row order)."""

    spec: Harmonise
    X: pd.DataFrame
    batch: pd.DataFrame

    def fit(self, rows: np.ndarray, columns: Sequence[str] | None = None) -> ComBatModel:
        columns = list(self.X.columns) if columns is None else list(columns)
        batch = self.batch.iloc[rows]
        features = self.X.iloc[rows][columns].set_axis(batch.index)
        features.attrs["source"] = "the training part"
        covariates = batch[list(self.spec.covariates)] if self.spec.covariates else None
        return fit_combat(features, batch[self.spec.column], covariates)

    def apply(self, model: ComBatModel, rows: np.ndarray) -> pd.DataFrame:
        """Harmonised values of ``rows`` (the model's features), indexed as in ``X``."""
        batch = self.batch.iloc[rows]
        features = self.X.iloc[rows][list(model.features)].set_axis(batch.index)
        covariates = batch[list(self.spec.covariates)] if self.spec.covariates else None
        harmonised = model.apply(features, batch[self.spec.column], covariates)
        return harmonised.set_axis(self.X.index[rows])

    def fold(self, fit_rows: np.ndarray, val_rows: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        """A CV fold's training and validation values, harmonised by a ComBat fitted on the former only."""
        model = self.fit(fit_rows)
        return self.apply(model, fit_rows), self.apply(model, val_rows)


class FoldValues:
    """Each CV fold's harmonised values, by ComBat fitted on the fold's training cases only.

    The CV's row numbers count within ``rows`` (the cases it splits); a fold
    is fitted once, however many fits (two-stage, each lambda) use it.
    """

    def __init__(self, harmoniser: Harmoniser, rows: np.ndarray) -> None:
        self.harmoniser = harmoniser
        self.rows = np.asarray(rows)
        self._folds: dict[bytes, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def __call__(self, fit_idx: np.ndarray, val_idx: np.ndarray,
                 columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(fit_idx).tobytes()
        if key not in self._folds:
            self._folds[key] = self.harmoniser.fold(self.rows[fit_idx], self.rows[val_idx])
        fit, val = self._folds[key]
        return fit[list(columns)].to_numpy(), val[list(columns)].to_numpy()


def harmonisable(X: pd.DataFrame, sites: pd.Series) -> list[str]:
    """The features ComBat can estimate on these cases: varying within every site, with variance left
    once the site means are removed (ComBat's own refusals, relative to the magnitude as there), and
    small enough that their squares stay finite."""
    values, labels = X.to_numpy(dtype=float), sites.astype(str).to_numpy()
    magnitude = np.abs(values).max(axis=0)
    keep = magnitude < _LARGEST
    residual = np.zeros_like(values)
    for site in np.unique(labels):
        block = values[labels == site]
        keep &= np.ptp(block, axis=0) > 0
        residual[labels == site] = block - block.mean(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        keep &= (residual**2).mean(axis=0) > (1e-10 * magnitude) ** 2
    return [name for name, kept in zip(X.columns, keep) if kept]


# Beyond this a feature's squared deviations overflow float64 (e.g. an exponential-filter feature).
_LARGEST = 1e100


def harmonise_training_set(data, fit_rows: np.ndarray, log: StepLog, *, fitted_on: str,
                           fold_rows: Sequence[np.ndarray] = ()) -> tuple[object, Harmoniser | None,
                                                                          ComBatModel | None]:
    """The training set with ComBat fitted on ``fit_rows`` applied to every case, and the step recorded.

    ``fold_rows`` are the training cases of each CV fold: a candidate must
    vary within every site of each of them too, or a fold's re-fit would
    fail on it. Returns the harmonised set, the ``Harmoniser`` that the folds
    re-fit with (on the unharmonised values) and the model the bundle carries.
    """
    spec = data.harmonise
    n_in = data.X.shape[1]
    if spec is None:
        log.skipped("harmonise", n_in, source="none given (--harmonise)")
        return data, None, None
    batch = data.batch
    kept = list(data.X.columns)
    for rows in (fit_rows, *fold_rows):
        kept = harmonisable(data.X.iloc[rows][kept], batch[spec.column].iloc[rows])
    if len(kept) < 2:
        raise InputError(f"--harmonise {spec.column}: fewer than 2 candidate features vary within every site of "
                         f"the {fitted_on}, so ComBat has nothing to pool", value=len(kept))
    raw = replace(data, X=data.X[kept])
    harmoniser = Harmoniser(spec, raw.X, batch)
    model = replace(harmoniser.fit(fit_rows), provenance={
        "preset": str(data.preset["name"]), "preset_sha256": str(data.preset["sha256"]),
        "fitted_on": f"{fitted_on} of tmeradiomics train ({len(fit_rows)} cases)"})
    harmonised = harmoniser.apply(model, np.arange(len(data.y)))
    log.add("harmonise", n_in, len(kept), method=METHOD, column=spec.column, covariates=list(spec.covariates),
            sites={site: int(n) for site, n in zip(model.sites, model.site_cases)},
            fitted_on=f"{fitted_on} ({len(fit_rows)} cases)",
            inside_cv="re-fitted on each CV fold's training cases, applied to that fold's validation cases",
            dropped="features ComBat cannot estimate (constant within a site, or no variance besides the site "
                    "means) on the cases fitted or on a fold's training cases")
    return replace(raw, X=harmonised), harmoniser, model


def check_sites_of_all(batch: pd.DataFrame, spec: Harmonise) -> None:
    """Every case needs its site before anything is fitted (one line naming the first without)."""
    missing = batch[spec.column].isna() | (batch[spec.column].astype(str).str.strip() == "")
    if missing.any():
        raise InputError(f"--harmonise: no site in column {spec.column!r}", case=str(batch.index[missing][0]))
    cases = batch.index[batch[list(spec.covariates)].isna().any(axis=1)] if spec.covariates else []
    if len(cases):
        raise InputError(f"--harmonise: missing covariate values ({name_list(list(spec.covariates))})",
                         case=str(cases[0]))
