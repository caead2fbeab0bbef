"""``CaseFeatures`` to JSON and back, exactly (floats by repr, NaN kept)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..features.compute import Failure
from ..features.tables import CaseFeatures


def features_to_json(features: CaseFeatures) -> dict[str, Any]:
    return asdict(features)


def features_from_json(data: dict[str, Any]) -> CaseFeatures:
    fields = dict(data)
    fields["failures"] = [Failure(**f) for f in fields.get("failures", [])]
    return CaseFeatures(**fields)
