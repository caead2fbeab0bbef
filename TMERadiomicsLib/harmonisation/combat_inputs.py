"""What ComBat refuses, and the covariates' design (docs/harmonisation.md, "Refusals").

Every check names the case, column, feature or site at fault in one line:
a site with fewer than 2 cases, a feature constant within a site, NaN or
infinite values, a case without a site, columns missing at apply time, a
site or covariate level the fit never saw, covariates confounded with site.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..labels.tables import numeric_columns

if TYPE_CHECKING:
    import pandas as pd

_SHOWN = 10  # names listed in one message


def names(items: Sequence[object]) -> str:
    """A bounded, readable list (models.tables.name_list would bring scikit-learn along)."""
    shown = ", ".join(str(i) for i in list(items)[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def check_features(features: pd.DataFrame, wanted: Sequence[str], *, source: str | None) -> np.ndarray:
    """The ``wanted`` columns as a float array (cases x features); missing columns, NaN and inf refused."""
    if len(features) == 0:
        raise InputError("the features table has no cases", file=source)
    absent = [name for name in wanted if name not in features.columns]
    if absent:
        raise InputError(f"feature columns missing from the table: {names(absent)}", file=source,
                         value=len(absent))
    table = features[list(wanted)]
    table.attrs["source"] = source
    return numeric_columns(table, list(wanted)).to_numpy(dtype=np.float64)


def check_batch(batch: pd.Series, index: pd.Index, *, source: str | None,
                known: Sequence[str] | None = None) -> np.ndarray:
    """Each case's site as text, in ``index`` order; a missing site, or one not in ``known``, refused."""
    column = batch.name if batch.name is not None else "site"
    absent = index.difference(batch.index)
    if len(absent):
        raise InputError(f"no {column!r} value for cases {names(list(absent))}", file=source)
    aligned = batch.reindex(index)
    sites = []
    for case, value in aligned.items():
        text = label_text(value)
        if text is None:
            raise InputError(f"missing {column!r} value: every case needs its site", file=source, case=str(case))
        if known is not None and text not in known:
            raise InputError(f"site {text!r} was not seen when ComBat was fitted; known sites: {names(known)}",
                             file=source, case=str(case))
        sites.append(text)
    return np.array(sites, dtype=object)


def label_text(value: object) -> str | None:
    """A site or level as text: 2 and 2.0 are the same label (a column with a blank cell is read as floats)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def check_sites_for_fit(sites: np.ndarray, *, source: str | None) -> tuple[list[str], np.ndarray]:
    """The sorted sites and their case counts: at least 2 sites, each with at least 2 cases."""
    levels, counts = np.unique(sites.astype(str), return_counts=True)
    if len(levels) < 2:
        raise InputError("ComBat needs at least 2 sites to harmonise", file=source, value=list(levels))
    small = [f"{level} ({count} case)" for level, count in zip(levels, counts) if count < 2]
    if small:
        raise InputError(f"sites with fewer than 2 cases, whose variance cannot be estimated: {names(small)}",
                         file=source)
    return [str(level) for level in levels], counts


def check_within_site_variance(values: np.ndarray, sites: np.ndarray, levels: list[str], features: Sequence[str],
                               var_pooled: np.ndarray, *, mean_only: bool, source: str | None) -> None:
    """Refuse a feature constant within a site (its scale is undefined) or without residual variance."""
    if not mean_only:
        for level in levels:
            block = values[sites == level]
            constant = np.ptp(block, axis=0) == 0
            if constant.any():
                j = int(np.argmax(constant))
                raise InputError(f"feature {features[j]!r} is constant within site {level!r} (zero variance), "
                                 "so its scale at that site cannot be estimated; drop the feature or adjust "
                                 "means only", file=source, value=float(block[0, j]))
    # Relative to the feature's magnitude: a constant column leaves rounding residue, not exact zeros.
    flat = var_pooled <= (1e-10 * np.abs(values).max(axis=0)) ** 2
    if flat.any():
        j = int(np.argmax(flat))
        raise InputError(f"feature {features[j]!r} has no variance left once site and covariate effects are "
                         "removed", file=source, value=float(var_pooled[j]))


@dataclass(frozen=True)
class Design:
    """The covariates kept by ComBat: numeric ones as they are, categorical ones one-hot (first level dropped)."""

    numeric: tuple[str, ...] = ()
    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> levels, first = reference

    @property
    def covariates(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def columns(self) -> list[str]:
        """Design column names: ``age``, ``grade=g2``, ``grade=g3``..."""
        return [*self.numeric, *(f"{name}={level}" for name, levels in self.categorical.items()
                                 for level in levels[1:])]

    def matrix(self, covariates: pd.DataFrame | None, index: pd.Index, *, source: str | None) -> np.ndarray:
        """The design columns of the covariates (cases x columns), in ``index`` order."""
        if not self.covariates:
            return np.zeros((len(index), 0))
        table = _aligned(covariates, index, self.covariates, source=source)
        parts = [numeric_columns(table, list(self.numeric)).to_numpy(dtype=np.float64)] if self.numeric else []
        for name, levels in self.categorical.items():
            codes = _levels_of(table, name, source=source)
            unseen = sorted(set(codes) - set(levels))
            if unseen:
                case = table.index[[code in unseen for code in codes]][0]
                raise InputError(f"covariate {name!r} has a level not seen when ComBat was fitted; known levels: "
                                 f"{names(levels)}", file=source, case=str(case), value=unseen[0])
            parts.append((codes[:, None] == np.array(levels[1:], dtype=object)[None, :]).astype(float))
        return np.hstack(parts)

    def check_rank(self, onehot: np.ndarray, z: np.ndarray, *, source: str | None) -> None:
        """Refuse covariates the sites (or earlier covariates) already explain: their effect is not estimable."""
        start = 0
        for name in self.covariates:
            width = 1 if name in self.numeric else len(self.categorical[name]) - 1
            block = np.hstack([onehot, z[:, :start + width]])
            if np.linalg.matrix_rank(block) < block.shape[1]:
                raise InputError(f"covariate {name!r} is confounded with the sites or the other covariates "
                                 "(e.g. constant, or one value per site), so ComBat cannot keep its effect",
                                 file=source, value=name)
            start += width


def fit_design(covariates: pd.DataFrame | None, index: pd.Index, *, source: str | None) -> Design:
    """Numeric columns stay numeric; text, category and bool columns become categorical (levels sorted)."""
    import pandas as pd

    if covariates is None or covariates.shape[1] == 0:
        return Design()
    columns = [str(c) for c in covariates.columns]
    table = _aligned(covariates, index, columns, source=source)
    numeric, categorical = [], {}
    for name in columns:
        column = table[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numeric.append(name)
            continue
        levels = tuple(sorted(set(_levels_of(table, name, source=source))))
        if len(levels) < 2:
            raise InputError(f"covariate {name!r} takes one value in every case, so it has no effect to keep",
                             file=source, value=levels[0])
        categorical[name] = levels
    return Design(tuple(numeric), categorical)


def _aligned(covariates: pd.DataFrame | None, index: pd.Index, wanted: list[str], *,
             source: str | None) -> pd.DataFrame:
    if covariates is None:
        raise InputError(f"ComBat was fitted with covariates {names(wanted)}; give them", file=source)
    absent = [name for name in wanted if name not in covariates.columns]
    if absent:
        raise InputError(f"covariate columns missing: {names(absent)}", file=source)
    cases = index.difference(covariates.index)
    if len(cases):
        raise InputError(f"no covariates for cases {names(list(cases))}", file=source)
    table = covariates.reindex(index)[wanted]
    table.attrs["source"] = source
    return table


def _levels_of(table: pd.DataFrame, name: str, *, source: str | None) -> np.ndarray:
    """A categorical covariate's values as text; a missing value refused."""
    codes = []
    for case, value in table[name].items():
        text = label_text(value)
        if text is None:
            raise InputError(f"missing value of covariate {name!r}", file=source, case=str(case))
        codes.append(text)
    return np.array(codes, dtype=object)
