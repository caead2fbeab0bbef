"""Seeded synthetic feature/label tables, and CLI parsing, for the model tests.

A latent 0/1 state shifts a few "informative" features by ``effect``
standard deviations; the rest are noise. Nothing here imitates a result: the
tables are inputs whose signal strength is known.
"""

from __future__ import annotations

import argparse
from types import ModuleType

import numpy as np
import pandas as pd

PRESET_SHA = "ab" * 32


def combined_table(
    n: int = 80,
    n_noise: int = 20,
    informative: tuple[str, ...] = ("Peri_original_firstorder_Mean", "Ring_original_glcm_Contrast"),
    effect: float = 1.5,
    seed: int = 0,
    preset: str = "test",
    preset_sha256: str = PRESET_SHA,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, labels): labels hold a binary ``state`` and a continuous ``m2``."""
    rng = np.random.default_rng(seed)
    state = np.r_[np.zeros(n // 2, int), np.ones(n - n // 2, int)]
    rng.shuffle(state)
    columns = {}
    for name in informative:
        columns[name] = rng.normal(size=n) + effect * state
    for k in range(n_noise):
        region = ("Intra_", "Peri_", "Ring_")[k % 3]
        columns[f"{region}original_noise_{k}"] = rng.normal(size=n) * (k + 1)
    ids = [f"case{i:03d}" for i in range(n)]
    features = pd.DataFrame({"case_id": ids, "preset": preset, "preset_sha256": preset_sha256, **columns})
    m2 = 0.1 + 0.05 * state + 0.02 * rng.normal(size=n)
    labels = pd.DataFrame({"case_id": ids, "state": state, "m2": m2})
    return features, labels


def qian_table(features: list[str], preset_sha256: str, n: int = 30, seed: int = 1) -> pd.DataFrame:
    """A combined table with exactly ``features`` (positive, varied scales)."""
    rng = np.random.default_rng(seed)
    values = {name: rng.gamma(2.0 + k, 1.5 * (k + 1), size=n) for k, name in enumerate(features)}
    return pd.DataFrame(
        {"case_id": [f"q{i:02d}" for i in range(n)], "preset": "qian2024", "preset_sha256": preset_sha256, **values}
    )


def cli_args(command: ModuleType, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` with the real parser of one sub-command module, defaults filled in as ``main`` does."""
    from TMERadiomicsLib.cli.lazy import resolve_defaults

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers(dest="command"))
    return resolve_defaults(parser.parse_args(argv))
