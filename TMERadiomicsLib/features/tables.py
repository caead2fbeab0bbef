"""The result of one case: feature tables in the project's contracts, diagnostics apart.

- ``tidy()``: one row per (case_id, region, feature, value);
- ``wide()``: one row per case x region: ``case_id, region, preset,
  preset_sha256`` then PyRadiomics-named feature columns;
- ``combined()``: one row per case: ``case_id, preset, preset_sha256`` then
  ``Intra_``/``Peri_``/``Ring_``-prefixed feature columns;
- ``diagnostics`` (versions, preset hash, voxel counts, crop, timings) and
  ``failures`` (why a value is NaN) never mix with feature values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .compute import Failure

REGION_PREFIXES = {"intratumoral": "Intra_", "peritumoral": "Peri_", "ring": "Ring_"}
ID_COLUMNS = ("case_id", "region", "preset", "preset_sha256")


def region_prefix(region: str) -> str:
    """``Intra_``/``Peri_``/``Ring_`` for the project's regions, ``<region>_`` otherwise."""
    return REGION_PREFIXES.get(region, f"{region}_")


@dataclass
class CaseFeatures:
    """Features of every region of one case."""

    case_id: str
    preset: str
    preset_sha256: str
    feature_names: list[str]
    values: dict[str, dict[str, float]]  # region -> feature -> value (NaN when missing)
    failures: list[Failure] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def regions(self) -> list[str]:
        return list(self.values)

    def value(self, region: str, feature: str) -> float:
        return self.values[region][feature]

    def tidy(self) -> pd.DataFrame:
        rows = [
            (self.case_id, region, name, values.get(name, float("nan")))
            for region, values in self.values.items()
            for name in self.feature_names
        ]
        return pd.DataFrame(rows, columns=["case_id", "region", "feature", "value"])

    def wide(self) -> pd.DataFrame:
        rows = []
        for region, values in self.values.items():
            ids = {"case_id": self.case_id, "region": region, "preset": self.preset,
                   "preset_sha256": self.preset_sha256}
            rows.append({**ids, **{n: values.get(n, float("nan")) for n in self.feature_names}})
        return pd.DataFrame(rows, columns=[*ID_COLUMNS, *self.feature_names])

    def combined(self) -> pd.DataFrame:
        row: dict[str, Any] = {"case_id": self.case_id, "preset": self.preset, "preset_sha256": self.preset_sha256}
        for region, values in self.values.items():
            prefix = region_prefix(region)
            row.update({prefix + n: values.get(n, float("nan")) for n in self.feature_names})
        return pd.DataFrame([row])

    def failures_table(self) -> pd.DataFrame:
        """Why values are NaN: one row per (region, image, feature class)."""
        rows = [(self.case_id, f.region, f.image, f.feature_class, f.reason) for f in self.failures]
        return pd.DataFrame(rows, columns=["case_id", "region", "image", "feature_class", "reason"])
