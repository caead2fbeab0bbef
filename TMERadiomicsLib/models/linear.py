"""Linear radscore models stored as JSON: coefficients, intercept, z-score stats.

radscore = intercept + sum_i coef_i * (x_i - mean_i) / sd_i

The file holds numbers only, so loading it can never run code. The Qian 2024
signatures publish coefficients without intercept or normalisation
statistics: ``intercept`` is then ``None`` (no probability can be given) and
``mean``/``sd`` stay ``None`` until a reference cohort calibrates them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

FILE_NAME = "linear.json"


@dataclass(frozen=True)
class LinearModel:
    """Coefficients by feature name; optional intercept and z-score statistics."""

    coefficients: dict[str, float]
    intercept: float | None = None
    mean: dict[str, float] | None = None
    sd: dict[str, float] | None = None

    @property
    def features(self) -> list[str]:
        return list(self.coefficients)

    @property
    def normalised(self) -> bool:
        return self.mean is not None and self.sd is not None

    def z_scores(self, table: pd.DataFrame) -> pd.DataFrame:
        """z-scores of the model's features; needs the statistics."""
        if not self.normalised:
            raise InputError("model has no normalisation statistics; calibrate it first")
        mean = pd.Series(self.mean)[self.features]
        sd = pd.Series(self.sd)[self.features]
        return (table[self.features].astype(float) - mean) / sd

    def radscore(self, table: pd.DataFrame) -> pd.Series:
        """intercept (0 when unpublished) + sum of coef * z."""
        coef = pd.Series(self.coefficients)[self.features]
        score = self.z_scores(table).mul(coef, axis=1).sum(axis=1, min_count=len(coef))
        return score + (self.intercept or 0.0)

    def probability(self, table: pd.DataFrame) -> pd.Series | None:
        """Logistic probability, only when the intercept is known."""
        if self.intercept is None:
            return None
        return 1.0 / (1.0 + np.exp(-self.radscore(table)))

    def to_json(self) -> str:
        data = {
            "coefficients": self.coefficients,
            "intercept": self.intercept,
            "mean": self.mean,
            "sd": self.sd,
        }
        return json.dumps(data, indent=2) + "\n"


def linear_from_json(data: bytes, features: list[str], source: str) -> LinearModel:
    """Parse ``linear.json``; its features must match the manifest's, in order."""
    try:
        raw: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"linear model file is not valid JSON: {error}", file=source) from None
    if not isinstance(raw, dict) or set(raw) != {"coefficients", "intercept", "mean", "sd"}:
        raise InputError("linear model file needs coefficients, intercept, mean and sd", file=source)
    coefficients = _numbers(raw["coefficients"], "coefficients", source)
    if list(coefficients) != features:
        raise InputError("linear model features differ from the manifest's required_features", file=source)
    mean = None if raw["mean"] is None else _numbers(raw["mean"], "mean", source)
    sd = None if raw["sd"] is None else _numbers(raw["sd"], "sd", source)
    for name, stats in (("mean", mean), ("sd", sd)):
        if stats is not None and set(stats) != set(features):
            raise InputError(f"{name} must give one value per feature", file=source)
    if sd is not None and any(value <= 0 for value in sd.values()):
        raise InputError("every sd must be positive", file=source)
    intercept = raw["intercept"]
    if intercept is not None and not _finite(intercept):
        raise InputError("intercept must be a finite number or null", file=source, value=intercept)
    return LinearModel(coefficients, None if intercept is None else float(intercept), mean, sd)


def _numbers(mapping: Any, what: str, source: str) -> dict[str, float]:
    if not isinstance(mapping, dict) or not all(_finite(v) for v in mapping.values()):
        raise InputError(f"{what} must map feature names to finite numbers", file=source)
    return {str(k): float(v) for k, v in mapping.items()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
