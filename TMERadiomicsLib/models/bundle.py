"""Model bundles: a folder with ``manifest.json``, the estimator's parameters and a card.

The folder holds the estimator's one parameter file and, optionally, its
``MODEL_CARD.md`` (``model_card``) and the ComBat site effects that
harmonise its inputs (``harmonisation.json``, see ``harmonised``), all
sealed by the manifest's ``files``.
Loading checks the format version, the SHA-256 of every file and
the estimator's shape against the manifest before anything is used; it
parses JSON or a skops archive restricted to trusted types, so it never runs
code from the bundle. The manifest itself is sealed by ``bundle_sha256``
(see ``manifest``), which every scored row carries. Scoring checks the
preset hash and the required feature columns of the input and names what is
missing.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from ..errors import InputError
from ..harmonisation import ComBatModel
from ..outputs import atomic_write_bytes, check_out_dir, staged_dir
from . import forest as forest_io
from . import linear as linear_io
from .harmonised import HARMONISATION_NAME, check_sites, harmonisation_bytes, harmonise_inputs, read_harmonisation
from .linear import LinearModel
from .manifest import DIGEST_FIELD, MANIFEST_NAME, Manifest, read_manifest
from .model_card import CARD_NAME
from .tables import missing_features, name_list, source_of

logger = logging.getLogger(__name__)

Estimator = Union[LinearModel, RandomForestClassifier]  # not `|`: Slicer 5.8 runs Python 3.9
UNCALIBRATED = "uncalibrated"
# Within-input z-scores of an uncalibrated linear bundle need a spread.
MIN_CASES_UNCALIBRATED = 2


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelBundle:
    """A manifest and its estimator, checked against each other, and the model card (Markdown).

    ``model_card`` is ``None`` for bundles written before cards existed.
    ``harmonisation`` is the ComBat model applied to the inputs before the
    estimator (``train --harmonise``), ``None`` for a bundle without one.
    """

    manifest: Manifest
    estimator: Estimator
    model_card: str | None = None
    harmonisation: ComBatModel | None = None

    @property
    def required_features(self) -> list[str]:
        return list(self.manifest.required_features)

    def parameter_files(self) -> dict[str, bytes]:
        """The estimator's parameter files, by name, as they are written."""
        if isinstance(self.estimator, LinearModel):
            return {linear_io.FILE_NAME: self.estimator.to_json().encode("utf-8")}
        return {forest_io.FILE_NAME: forest_io.forest_to_bytes(self.estimator)}

    def bundle_files(self) -> dict[str, bytes]:
        """Every file the manifest seals: the parameters and, when there are, the card and the ComBat model."""
        files = self.parameter_files()
        if self.model_card is not None:
            files[CARD_NAME] = self.model_card.encode("utf-8")
        if self.harmonisation is not None:
            files[HARMONISATION_NAME] = harmonisation_bytes(self.harmonisation)
        return files

    def with_file_hashes(self) -> ModelBundle:
        """The same bundle with ``manifest.files`` matching its files."""
        files = {name: sha256_bytes(data) for name, data in self.bundle_files().items()}
        return replace(self, manifest=replace(self.manifest, files=files))

    def save(self, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the bundle folder atomically; returns its path."""
        out = check_out_dir(out_dir, overwrite)
        # Serialise once: skops archives carry timestamps, so the bytes
        # hashed must be the very bytes written.
        files = self.bundle_files()
        manifest = replace(self.manifest, files={name: sha256_bytes(data) for name, data in files.items()})
        with staged_dir(out) as stage:
            for name, data in files.items():
                atomic_write_bytes(stage / name, data)
            atomic_write_bytes(stage / MANIFEST_NAME, manifest.to_json().encode("utf-8"))
        logger.info("saved bundle %s to %s", self.manifest.name, out)
        return out

    def check_input(self, combined: pd.DataFrame) -> None:
        """Refuse a features table from another preset, lacking features, or (harmonised) of unknown sites."""
        source = source_of(combined)
        check_preset(combined, self.manifest)
        missing = missing_features(combined, self.required_features)
        if missing:
            raise InputError(
                f"bundle {self.manifest.name} needs {len(missing)} feature(s) the input lacks: "
                f"{name_list(missing)}",
                file=source,
            )
        if self.harmonisation is not None:
            check_sites(combined, self.harmonisation, self.manifest.name)

    def model_inputs(self, combined: pd.DataFrame) -> pd.DataFrame:
        """The required features as the estimator takes them: numeric and, for a harmonised bundle,
        with the site effects removed (cases with a missing value are left as they are, unscored)."""
        values = combined[self.required_features].apply(pd.to_numeric, errors="coerce")
        if self.harmonisation is None:
            return values
        complete = np.isfinite(values.to_numpy(dtype=float)).all(axis=1)
        if complete.any():
            values = values.astype(float)
            values.loc[complete] = harmonise_inputs(values.loc[complete], combined, self.harmonisation)
        return values

    def score(self, combined: pd.DataFrame) -> pd.DataFrame:
        """Score every case of a combined-features table.

        Returns ``case_id``, ``radscore`` (linear models), ``probability``
        (when the model gives one), ``risk_group``, ``status`` and
        ``bundle_sha256``, the digest of the bundle that scored it. A case with
        missing values in required features is listed with those features in
        ``status`` and not scored; the others are.
        """
        self.check_input(combined)
        values = self.model_inputs(combined)
        complete = np.isfinite(values.to_numpy(dtype=float)).all(axis=1)
        result = pd.DataFrame({"case_id": combined["case_id"].astype(str).to_numpy()})
        result["radscore"] = np.nan
        result["probability"] = np.nan
        result["risk_group"] = ""
        result["status"] = "ok"
        for row in np.flatnonzero(~complete):
            absent = [f for f in self.required_features if not np.isfinite(values.iloc[row][f])]
            result.loc[row, "status"] = f"missing inputs: {', '.join(absent)}"
        if complete.any():
            self._score_complete(values[complete], result, complete)
        result[DIGEST_FIELD] = self.manifest.digest
        return result

    def _score_complete(self, values: pd.DataFrame, result: pd.DataFrame, rows: np.ndarray) -> None:
        if isinstance(self.estimator, RandomForestClassifier):
            result.loc[rows, "probability"] = forest_io.forest_probability(
                self.estimator, values.to_numpy(dtype=float)
            )
        else:
            model = self.estimator
            if not model.normalised:
                model = _within_input_stats(model, values)
                result.loc[rows, "status"] = (
                    f"{UNCALIBRATED}: z-scores from the {len(values)} scored cases; no risk group"
                )
            result.loc[rows, "radscore"] = model.radscore(values).to_numpy()
            probability = model.probability(values)
            if probability is not None:
                result.loc[rows, "probability"] = probability.to_numpy()
        if self.manifest.calibrated and self.manifest.threshold is not None:
            score = result.loc[rows, self.manifest.score]
            low, high = self.manifest.risk_groups
            result.loc[rows, "risk_group"] = np.where(score >= self.manifest.threshold, high, low)


def _within_input_stats(model: LinearModel, values: pd.DataFrame) -> LinearModel:
    """z-score statistics from the input itself, for uncalibrated signatures."""
    if len(values) < MIN_CASES_UNCALIBRATED:
        raise InputError(
            f"this bundle is uncalibrated: scoring needs a calibration (tmeradiomics calibrate) "
            f"or at least {MIN_CASES_UNCALIBRATED} cases to z-score within the input"
        )
    sd = values[model.features].std(ddof=1)
    flat = sorted(sd.index[~(sd > 0)])
    if flat:
        raise InputError(f"uncalibrated scoring: features without spread in the input: {name_list(flat)}")
    return replace(model, mean=values[model.features].mean().to_dict(), sd=sd.to_dict())


def check_preset(combined: pd.DataFrame, manifest: Manifest) -> None:
    """The features must come from the preset the model was built on."""
    source = source_of(combined)
    if "preset_sha256" not in combined.columns:
        raise InputError("features table has no preset_sha256 column", file=source)
    expected = manifest.preset["sha256"]
    other = combined["preset_sha256"].astype(str) != expected
    if other.any():
        cases = combined.loc[other, "case_id"].astype(str).tolist()
        raise InputError(
            f"features of cases {name_list(cases)} come from a different preset than bundle "
            f"{manifest.name} (preset {manifest.preset.get('name')}, sha256 {expected[:12]}...)",
            file=source,
            value=str(combined.loc[other, "preset_sha256"].iloc[0]),
        )


def load_bundle(folder: str | os.PathLike) -> ModelBundle:
    """Load and verify a bundle folder (see the module docstring)."""
    path = Path(folder)
    if not path.is_dir():
        raise InputError("model bundle folder not found", file=path)
    manifest = read_manifest(path)
    files = _verified_files(path, manifest)
    if manifest.estimator == "linear":
        _expect_files(path, manifest, linear_io.FILE_NAME)
        estimator: Estimator = linear_io.linear_from_json(
            files[linear_io.FILE_NAME], manifest.required_features, str(path / linear_io.FILE_NAME)
        )
        _check_normalisation(path, manifest, estimator)
    else:
        _expect_files(path, manifest, forest_io.FILE_NAME)
        estimator = forest_io.forest_from_bytes(
            files[forest_io.FILE_NAME], len(manifest.required_features), str(path / forest_io.FILE_NAME)
        )
    return ModelBundle(manifest, estimator, _model_card(path, manifest, files), _harmonisation(path, manifest, files))


def _verified_files(folder: Path, manifest: Manifest) -> dict[str, bytes]:
    contents = {}
    for name, expected in manifest.files.items():
        target = folder / name
        if not target.is_file():
            raise InputError(f"bundle parameter file {name} is missing", file=folder)
        data = target.read_bytes()
        if sha256_bytes(data) != expected:
            raise InputError(
                "bundle was modified: SHA-256 of the file differs from the one in manifest.json; "
                "refusing to load it",
                file=target,
            )
        contents[name] = data
    return contents


def _expect_files(folder: Path, manifest: Manifest, name: str) -> None:
    """The estimator's one parameter file, plus optionally the card and the ComBat model: nothing else is sealed."""
    if set(manifest.files) - {CARD_NAME, HARMONISATION_NAME} != {name}:
        raise InputError(
            f"a {manifest.estimator} bundle holds exactly one parameter file, {name}, and optionally {CARD_NAME} "
            f"and {HARMONISATION_NAME}",
            file=folder,
            value=sorted(manifest.files),
        )


def _sealed_optional(folder: Path, manifest: Manifest, files: dict[str, bytes], name: str,
                     remedy: str) -> bytes | None:
    """An optional bundle file's sealed bytes, or ``None`` when the bundle has none. A copy the manifest does
    not seal is refused: loading would ignore it, yet a reader of the folder would take it for the bundle's own
    (and scoring would silently skip an unsealed harmonisation)."""
    if name not in manifest.files:
        if (folder / name).exists():
            raise InputError(f"{name} is not sealed by manifest.json (added after the bundle was written); "
                             f"remove it or {remedy}", file=folder / name)
        return None
    return files[name]


def _model_card(folder: Path, manifest: Manifest, files: dict[str, bytes]) -> str | None:
    """The sealed card, or ``None`` for a bundle without one."""
    data = _sealed_optional(folder, manifest, files, CARD_NAME, "rebuild the bundle")
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("model card is not UTF-8 text", file=folder / CARD_NAME) from None


def _harmonisation(folder: Path, manifest: Manifest, files: dict[str, bytes]) -> ComBatModel | None:
    """The sealed ComBat model, or ``None``."""
    data = _sealed_optional(folder, manifest, files, HARMONISATION_NAME, "re-train the bundle")
    if data is None:
        return None
    return read_harmonisation(data, manifest.required_features, folder / HARMONISATION_NAME)


def _check_normalisation(folder: Path, manifest: Manifest, model: LinearModel) -> None:
    status = (manifest.normalisation or {}).get("status")
    if (status == "not-published") == model.normalised:
        raise InputError(
            "manifest normalisation status disagrees with the statistics in linear.json",
            file=folder,
            value=status,
        )
