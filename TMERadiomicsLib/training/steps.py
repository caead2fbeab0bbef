"""The record of a recipe's steps, stored in the bundle manifest (``provenance.steps``).

Each entry names a step of the paper's pipeline, says whether it ran (every
optional step can be switched off for ablations), its parameters and how many
candidate features went in and came out, so a bundle says how its signature
was reached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Step:
    name: str
    enabled: bool
    features_in: int
    features_out: int
    parameters: dict = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class StepLog:
    """Steps in the order they ran."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, name: str, features_in: int, features_out: int, enabled: bool = True, **parameters) -> None:
        self.steps.append(Step(name, enabled, int(features_in), int(features_out), parameters))

    def skipped(self, name: str, n_features: int, **parameters) -> None:
        self.add(name, n_features, n_features, enabled=False, **parameters)

    def as_list(self) -> list[dict[str, object]]:
        return [step.as_dict() for step in self.steps]
