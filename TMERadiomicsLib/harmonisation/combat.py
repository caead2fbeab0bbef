"""ComBat harmonisation of feature tables across sites (docs/harmonisation.md).

``fit_combat`` estimates, per feature, a location/scale model

    x_ij = alpha_j + z_i . beta_j + gamma_sj + sqrt(delta_sj) * e_ij

(case i of site s, feature j, covariates z_i kept), with the site effects
(gamma, delta) shrunk by empirical Bayes across the features of a site, as
sva::ComBat does. ``ComBatModel.apply`` removes the stored site effects from
any cases of the fitted sites, one case included: the fitting table gets back
exactly what the fit harmonised, and new cases are never re-fitted (the
"from training" route). The model is plain data; ``combat_json`` writes and
reads it as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .combat_eb import SitePriors, nonparametric_effects, parametric_effects, site_priors
from .combat_inputs import (
    Design,
    check_batch,
    check_features,
    check_sites_for_fit,
    check_within_site_variance,
    fit_design,
    names,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)  # arrays: compare models through to_json()
class ComBatModel:
    """The estimates ComBat needs to harmonise cases of the fitted sites.

    Arrays are per feature (``features`` order); site rows follow ``sites``.
    ``covariate_coefficients`` has one row per design column of the
    covariates (``design.columns``): a numeric covariate, or one level of a
    categorical one beyond its first.
    """

    features: tuple[str, ...]
    sites: tuple[str, ...]
    site_cases: tuple[int, ...]
    batch_column: str
    design: Design
    grand_mean: np.ndarray          # (features,)
    var_pooled: np.ndarray          # (features,)
    covariate_coefficients: np.ndarray  # (design columns, features)
    gamma_star: np.ndarray          # (sites, features)
    delta_star: np.ndarray          # (sites, features)
    parametric: bool = True
    mean_only: bool = False
    ddof: int = 1
    priors: tuple[SitePriors, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)

    def apply(self, features: pd.DataFrame, batch: pd.Series,
              covariates: pd.DataFrame | None = None) -> pd.DataFrame:
        """Harmonised values of ``features`` (the model's columns, same index), site by stored site."""
        import pandas as pd

        source = features.attrs.get("source")
        values = check_features(features, self.features, source=source)
        sites = check_batch(batch, features.index, source=source, known=self.sites)
        z = self.design.matrix(covariates, features.index, source=source)
        mean = self.grand_mean + z @ self.covariate_coefficients
        scale = np.sqrt(self.var_pooled)
        rows = np.array([self.sites.index(s) for s in sites])
        standardised = (values - mean) / scale
        adjusted = (standardised - self.gamma_star[rows]) / np.sqrt(self.delta_star[rows])
        return pd.DataFrame(adjusted * scale + mean, index=features.index, columns=list(self.features))

    def restricted(self, features: Sequence[str]) -> ComBatModel:
        """The same estimates for some of the features only (a model's inputs among all it was fitted on).

        Each feature's adjustment uses only its own estimates, so the values
        of the kept features are unchanged; the priors (pooled over every
        fitted feature) stay as the record of the fit.
        """
        absent = [name for name in features if name not in self.features]
        if absent:
            raise InputError(f"ComBat was not fitted on features {names(absent)}", value=len(absent))
        columns = [self.features.index(name) for name in features]
        return replace(self, features=tuple(features), grand_mean=self.grand_mean[columns],
                       var_pooled=self.var_pooled[columns],
                       covariate_coefficients=self.covariate_coefficients[:, columns],
                       gamma_star=self.gamma_star[:, columns], delta_star=self.delta_star[:, columns])

    def to_json(self) -> str:
        from .combat_json import model_to_json

        return model_to_json(self)

    @classmethod
    def from_json(cls, text: str, *, source: str | None = None) -> ComBatModel:
        """The model written by ``to_json``; a malformed field is an InputError naming it (and ``source``)."""
        from .combat_json import model_from_json

        return model_from_json(text, source=source)


def fit_combat(features: pd.DataFrame, batch: pd.Series, covariates: pd.DataFrame | None = None, *,
               parametric: bool = True, mean_only: bool = False, ddof: int = 1) -> ComBatModel:
    """Estimate ComBat's site effects on ``features`` (rows: cases, index case_id; columns: features).

    ``batch`` gives each case's site (same index). ``covariates`` (same
    index) hold effects to keep: numeric columns enter as they are, other
    columns (text, category, bool) one-hot with their first level (sorted)
    dropped. ``parametric=False`` uses the non-parametric prior;
    ``mean_only`` adjusts only the site means. ``ddof=1`` is sva's and
    neuroCombat's variance; 0 reproduces inmoose's ``pycombat_norm``.
    """
    source = features.attrs.get("source")
    names = tuple(str(c) for c in features.columns)
    values = check_features(features, names, source=source)
    sites = check_batch(batch, features.index, source=source)
    levels, counts = check_sites_for_fit(sites, source=source)
    if len(names) < 2:
        raise InputError("ComBat needs at least 2 features: its priors pool the features of a site",
                         file=source, value=list(names))
    if ddof not in (0, 1):
        raise ValueError(f"ddof must be 1 (sva) or 0 (inmoose), not {ddof!r}")
    design = fit_design(covariates, features.index, source=source)
    z = design.matrix(covariates, features.index, source=source)
    onehot = (sites[:, None] == np.array(levels)[None, :]).astype(float)
    design.check_rank(onehot, z, source=source)
    grand_mean, var_pooled, covariate_coefficients = _location_and_scale(values, onehot, z, counts)
    check_within_site_variance(values, sites, levels, names, var_pooled, mean_only=mean_only, source=source)
    standardised = (values - grand_mean - z @ covariate_coefficients) / np.sqrt(var_pooled)
    gamma, delta, priors = _site_effects(standardised, sites, levels, parametric=parametric,
                                         mean_only=mean_only, ddof=ddof, source=source)
    _check_estimates(gamma, delta, levels, source=source)
    return ComBatModel(
        features=names, sites=tuple(levels), site_cases=tuple(int(c) for c in counts),
        batch_column=str(batch.name) if batch.name is not None else "site", design=design,
        grand_mean=grand_mean, var_pooled=var_pooled, covariate_coefficients=covariate_coefficients,
        gamma_star=gamma, delta_star=delta, parametric=parametric, mean_only=mean_only, ddof=ddof,
        priors=tuple(priors),
    )


def _location_and_scale(values: np.ndarray, onehot: np.ndarray, z: np.ndarray,
                        counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grand mean (case-weighted site coefficients), pooled variance (over n) and covariate coefficients."""
    full = np.hstack([onehot, z])
    coefficients = np.linalg.lstsq(full, values, rcond=None)[0]
    grand_mean = (counts / counts.sum()) @ coefficients[:onehot.shape[1]]
    var_pooled = ((values - full @ coefficients) ** 2).mean(axis=0)
    return grand_mean, var_pooled, coefficients[onehot.shape[1]:]


def _site_effects(standardised: np.ndarray, sites: np.ndarray, levels: list[str], *, parametric: bool,
                  mean_only: bool, ddof: int, source: str | None) -> tuple[np.ndarray, np.ndarray, list[SitePriors]]:
    """gamma_star, delta_star (sites x features) and each site's priors."""
    gammas, deltas, priors = [], [], []
    for level in levels:
        sdat = standardised[sites == level].T  # features x cases of this site
        gamma_hat = sdat.mean(axis=1)
        delta_hat = np.ones_like(gamma_hat) if mean_only else sdat.var(axis=1, ddof=ddof)
        prior = site_priors(gamma_hat, delta_hat, parametric=parametric, mean_only=mean_only, ddof=ddof)
        if parametric and not mean_only and prior.a is None:
            raise InputError("every feature has the same variance within this site (copies of one feature?), "
                             "so the parametric prior of the site variances is undefined; use the mean-only "
                             "or the non-parametric variant", file=source, value=level)
        if parametric:
            gamma, delta = parametric_effects(sdat, gamma_hat, delta_hat, prior, mean_only=mean_only)
        else:
            gamma, delta = nonparametric_effects(sdat, gamma_hat, delta_hat)
        gammas.append(gamma)
        deltas.append(delta)
        priors.append(prior)
    return np.vstack(gammas), np.vstack(deltas), priors


def _check_estimates(gamma: np.ndarray, delta: np.ndarray, levels: list[str], *, source: str | None) -> None:
    """A last guard: estimates that overflowed are refused naming the site, never written as NaN."""
    bad = ~(np.isfinite(gamma) & np.isfinite(delta) & (delta > 0)).all(axis=1)
    if bad.any():
        raise InputError("ComBat's empirical-Bayes estimates are not finite for this site; try the mean-only "
                         "or the non-parametric variant", file=source, value=levels[int(np.argmax(bad))])
