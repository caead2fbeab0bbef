"""Extraction presets: PyRadiomics parameter files, validated and hashed.

A preset is a PyRadiomics YAML parameter file (``imageType``,
``featureClass``, ``setting``). The bundled ones live in
``Resources/Presets/<name>.yaml``; any other file can be given by path.
Loading validates the file against PyRadiomics' own schema (the same
pykwalify schema and extension functions ``RadiomicsFeatureExtractor`` uses)
and records the SHA-256 of the file's bytes, which every output carries.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pykwalify.core
import yaml
from radiomics import getFeatureClasses, getImageTypes, getParameterValidationFiles

from ..errors import InputError
from ..resources import resources_dir

logger = logging.getLogger(__name__)

PRESET_SUFFIX = ".yaml"
# The project's own top-level key (not PyRadiomics'): ``kinetics: true`` adds the kinetic
# class of every region (TMERadiomicsLib.kinetics, docs/kinetics.md); absent means false.
KINETICS_KEY = "kinetics"


@dataclass(frozen=True)
class Preset:
    """A validated PyRadiomics parameter file.

    ``settings`` is the whole validated parameter mapping (``imageType``,
    ``featureClass``, ``setting``), as PyRadiomics reads it.
    """

    name: str
    path: Path
    settings: dict[str, Any] = field(repr=False)
    sha256: str
    kinetics: bool = False  # the kinetic feature class (needs every DCE phase and its time)

    @property
    def image_types(self) -> dict[str, dict[str, Any]]:
        """Enabled image types with their custom settings (Original if none)."""
        return dict(self.settings.get("imageType") or {"Original": {}})

    @property
    def feature_classes(self) -> dict[str, list[str] | None]:
        """Enabled feature classes (all 3-D ones if the file names none)."""
        enabled = self.settings.get("featureClass")
        if enabled:
            return dict(enabled)
        return {name: None for name in getFeatureClasses() if name != "shape2D"}

    @property
    def general(self) -> dict[str, Any]:
        """The ``setting`` section (global settings)."""
        return dict(self.settings.get("setting") or {})


def presets_dir() -> Path:
    """The folder of the bundled presets."""
    return resources_dir() / "Presets"


def list_presets() -> list[str]:
    """Names of the bundled presets, sorted."""
    folder = presets_dir()
    if not folder.is_dir():
        return []
    return sorted(path.stem for path in folder.glob(f"*{PRESET_SUFFIX}"))


def load_preset(name_or_path: str | os.PathLike | Preset) -> Preset:
    """Load a bundled preset by name, or any parameter file by path.

    Raises ``InputError`` naming the file and the offending key when the file
    is missing, is not YAML, or does not pass PyRadiomics' schema.
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    path = _resolve(name_or_path)
    data = path.read_bytes()
    validated = copy.deepcopy(_validated(data, path))  # the caller may change its copy
    kinetics = bool(validated.pop(KINETICS_KEY, False))
    return Preset(name=path.stem, path=path, settings=validated, sha256=hashlib.sha256(data).hexdigest(),
                  kinetics=kinetics)


@functools.lru_cache(maxsize=32)
def _validated(data: bytes, path: Path) -> dict[str, Any]:
    """The validated parameters of a file's bytes.

    Kept per process: pykwalify takes about 0.3 s per file, more than the
    rest of a case's set-up, and a batch worker loads the same preset for
    every case. The key is the bytes themselves, so an edited file is
    validated again.
    """
    params = _parse_yaml(data, path)
    kinetics = _kinetics_setting(params, path)
    _check_names(params, path)
    own = _own_settings(params, path)
    validated = _validate_schema(params, path)
    for image_type, settings in own.items():
        validated["imageType"][image_type] = {**(validated["imageType"][image_type] or {}), **settings}
    _refuse_implicit_defaults(validated, path)
    if kinetics:
        validated[KINETICS_KEY] = True
    return validated


def _kinetics_setting(params: dict[str, Any], path: Path) -> bool:
    """Take out ``kinetics`` (PyRadiomics' schema would refuse it): true or false, nothing else."""
    if KINETICS_KEY not in params:
        return False
    value = params.pop(KINETICS_KEY)
    if not isinstance(value, bool):
        raise InputError(f"{KINETICS_KEY} must be true or false", file=path, value=value)
    return value


def _own_settings(params: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """Take out the opt-in IBSI-2 filter settings (not PyRadiomics', so its schema
    would refuse them), checked here; they are put back after validation."""
    from .ibsi2_filters import IBSI2_KEY, OWN_KEYS, PADDING_KEY, PADDINGS

    own: dict[str, dict[str, Any]] = {}
    for image_type, settings in (params.get("imageType") or {}).items():
        if not isinstance(settings, dict):
            continue
        taken = {key: settings.pop(key) for key in OWN_KEYS if key in settings}
        if not taken:
            continue
        if image_type not in ("LoG", "Wavelet"):
            raise InputError(f"{sorted(taken)[0]!r} applies only to LoG and Wavelet, not {image_type!r}", file=path)
        for key, value in taken.items():
            if key == PADDING_KEY and value not in PADDINGS:
                raise InputError(f"{key} under {image_type} must be one of {sorted(PADDINGS)}", file=path, value=value)
            if key != PADDING_KEY and not isinstance(value, bool):
                raise InputError(f"{key} under {image_type} must be true or false", file=path, value=value)
        if not taken.get(IBSI2_KEY, False) and set(taken) - {IBSI2_KEY}:
            raise InputError(f"{image_type}: IBSI-2 settings need {IBSI2_KEY}: true", file=path)
        own[image_type] = taken
    return own


def _refuse_implicit_defaults(params: dict[str, Any], path: Path) -> None:
    """An empty file, or one without image types or feature classes, would silently mean
    PyRadiomics' defaults (Original image, every class): a preset must say what it extracts."""
    for key, what in (("imageType", "image types (e.g. Original: {})"),
                      ("featureClass", "feature classes (e.g. firstorder:)")):
        section = params.get(key)
        if not section:
            state = "is empty" if not params else f"names no {what} under {key}"
            raise InputError(f"preset {state}; a preset must list its image types and feature classes "
                             "(PyRadiomics' defaults are never implied)", file=path)


def _resolve(name_or_path: str | os.PathLike) -> Path:
    text = os.fspath(name_or_path)
    candidate = Path(text)
    looks_like_path = candidate.suffix in (".yaml", ".yml") or os.sep in text
    if looks_like_path:
        if not candidate.is_file():
            raise InputError("preset file not found", file=candidate)
        return candidate
    bundled = presets_dir() / f"{text}{PRESET_SUFFIX}"
    if not bundled.is_file():
        raise InputError(
            f"unknown preset {text!r}; bundled presets: {', '.join(list_presets()) or 'none'}",
            value=text,
        )
    return bundled


def _parse_yaml(data: bytes, path: Path) -> dict[str, Any]:
    try:
        params = yaml.safe_load(data)
    except yaml.YAMLError as error:
        raise InputError(f"preset is not valid YAML: {_one_line(error)}", file=path) from None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InputError("preset must be a mapping with imageType/featureClass/setting", file=path)
    unknown = set(params) - {"imageType", "featureClass", "setting", "voxelSetting", KINETICS_KEY}
    if unknown:
        raise InputError(f"unknown top-level key {sorted(unknown)[0]!r} in preset", file=path)
    return params


def _check_names(params: dict[str, Any], path: Path) -> None:
    """Name the unknown image type / feature class / feature before the schema does.

    pykwalify's own messages for these come from PyRadiomics' extension
    functions and are long lists; here the key is named first.
    """
    known_types = set(getImageTypes())
    for image_type in params.get("imageType") or {}:
        if image_type not in known_types:
            raise InputError(
                f"unknown image type {image_type!r} under imageType; known: {sorted(known_types)}",
                file=path,
            )
    classes = getFeatureClasses()
    for class_name, features in (params.get("featureClass") or {}).items():
        if class_name not in classes:
            raise InputError(
                f"unknown feature class {class_name!r} under featureClass; known: {sorted(classes)}",
                file=path,
            )
        if isinstance(features, list):
            unknown = sorted(set(features) - set(classes[class_name].getFeatureNames()))
            if unknown:
                raise InputError(
                    f"unknown feature {unknown[0]!r} in featureClass {class_name!r}", file=path
                )


@functools.lru_cache(maxsize=1)
def _schema() -> tuple[dict[str, Any], str]:
    """PyRadiomics' parameter schema, parsed once: pykwalify re-reads a schema
    file with pure-Python ruamel on every call (~0.3 s each)."""
    schema_file, schema_funcs = getParameterValidationFiles()
    with open(schema_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle), schema_funcs


def _validate_schema(params: dict[str, Any], path: Path) -> dict[str, Any]:
    schema, schema_funcs = _schema()
    core = pykwalify.core.Core(
        source_data=params, schema_data=copy.deepcopy(schema), extensions=[schema_funcs]
    )
    # pykwalify logs every schema error at ERROR level before raising; the
    # InputError below carries the message, so keep the log quiet.
    pykwalify_log = logging.getLogger("pykwalify")
    previous = pykwalify_log.level
    pykwalify_log.setLevel(logging.CRITICAL)
    try:
        return core.validate(raise_exception=True)
    except Exception as error:  # pykwalify raises SchemaError and others
        raise InputError(f"preset fails PyRadiomics' schema: {_schema_message(error)}", file=path) from None
    finally:
        pykwalify_log.setLevel(previous)


def _schema_message(error: Exception) -> str:
    message = getattr(error, "msg", None) or str(error)
    return _one_line(message)


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def extraction_settings(preset: Preset) -> dict[str, Any]:
    """Global settings as ``RadiomicsFeatureExtractor`` would use them.

    PyRadiomics' defaults updated with the preset's ``setting`` section;
    provenance is off because diagnostics are collected apart.
    """
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    settings = RadiomicsFeatureExtractor._getDefaultSettings()
    settings.update(preset.general)
    settings["additionalInfo"] = False
    return settings
