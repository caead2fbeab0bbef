"""The result of one case: feature tables in the project's contracts, diagnostics apart.

- ``tidy()``: one row per (case_id, region, feature, value);
- ``wide()``: one row per case x region: ``case_id, region, preset,
  preset_sha256`` then PyRadiomics-named feature columns;
- ``combined()``: one row per case: ``case_id, preset, preset_sha256`` then
  ``Intra_``/``Peri_``/``Ring_``-prefixed feature columns;
- ``diagnostics`` (versions, preset hash, voxel counts, crop, timings) and
  ``failures`` (why a value is NaN) never mix with feature values.

pandas is imported by the methods that return frames: ``wide_csv`` and
``combined_csv`` write the same text as ``DataFrame.to_csv(index=False)``
without it, which spares ``tmeradiomics extract`` a quarter of a second.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .compute import Failure

if TYPE_CHECKING:
    import pandas as pd

REGION_PREFIXES = {"intratumoral": "Intra_", "peritumoral": "Peri_", "ring": "Ring_"}
ID_COLUMNS = ("case_id", "region", "preset", "preset_sha256")
FAILURE_COLUMNS = ["case_id", "region", "image", "feature_class", "reason"]


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

    def nan_count(self) -> int:
        """How many (region, feature) values are NaN."""
        return sum(math.isnan(values.get(n, math.nan)) for values in self.values.values() for n in self.feature_names)

    def tidy(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            (self.case_id, region, name, values.get(name, float("nan")))
            for region, values in self.values.items()
            for name in self.feature_names
        ]
        return pd.DataFrame(rows, columns=["case_id", "region", "feature", "value"])

    def wide(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self._wide_rows(), columns=self._wide_columns())

    def wide_csv(self) -> str:
        """``wide().to_csv(index=False)``, without pandas."""
        return csv_text(self._wide_columns(), self._wide_rows())

    def _wide_columns(self) -> list[str]:
        return [*ID_COLUMNS, *self.feature_names]

    def _wide_rows(self) -> list[list[Any]]:
        return [[self.case_id, region, self.preset, self.preset_sha256,
                 *(values.get(n, math.nan) for n in self.feature_names)]
                for region, values in self.values.items()]

    def combined(self) -> pd.DataFrame:
        import pandas as pd

        columns, row = self._combined_row()
        return pd.DataFrame([row], columns=columns)

    def combined_csv(self) -> str:
        """``combined().to_csv(index=False)``, without pandas."""
        columns, row = self._combined_row()
        return csv_text(columns, [row])

    def _combined_row(self) -> tuple[list[str], list[Any]]:
        row: dict[str, Any] = {"case_id": self.case_id, "preset": self.preset, "preset_sha256": self.preset_sha256}
        for region, values in self.values.items():
            prefix = region_prefix(region)
            row.update({prefix + n: values.get(n, math.nan) for n in self.feature_names})
        return list(row), list(row.values())

    def failure_records(self) -> list[dict[str, str]]:
        """Why values are NaN: one record per (region, image, feature class)."""
        return [{"case_id": self.case_id, **asdict(f)} for f in self.failures]

    def failures_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.failure_records(), columns=FAILURE_COLUMNS)

    def failures_csv(self) -> str:
        """``failures_table().to_csv(index=False)``, without pandas."""
        return csv_text(FAILURE_COLUMNS, [list(record.values()) for record in self.failure_records()])


def csv_text(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV text as pandas' ``to_csv(index=False)`` writes these cells.

    Floats in Python's shortest round-trip form (numpy's and pandas' too), NaN
    as an empty cell, text quoted only where needed; ``test_feature_tables``
    holds it to pandas' own output.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):  # also numpy's float64, whose repr would name its type
        return "" if math.isnan(value) else repr(float(value))
    return value
