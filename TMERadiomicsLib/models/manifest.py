"""The bundle manifest: what a model is, what it needs and how far to trust it.

``manifest.json`` is plain data. It names the model, its task and label
definition, the regions and preset (name and SHA-256) its features come from,
the required feature columns in order, the estimator's parameter files with
their SHA-256, the threshold and risk-group names, the intended use, the
performance and the provenance. Reading it validates every field a scorer
relies on, so a bundle is refused before any estimator file is opened.

The manifest seals itself: ``bundle_sha256`` is the SHA-256 of the canonical
JSON of every other field (sorted keys, no whitespace). As those fields hold
the SHA-256 of each parameter file, the one digest covers the whole bundle;
an edit anywhere (a threshold, a coefficient) is refused on load, and every
score names the digest of the bundle it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DIGEST_FIELD = "bundle_sha256"
ESTIMATOR_KINDS = ("linear", "random_forest")
SCORE_KINDS = ("radscore", "probability")
# Parameter files are plain names inside the bundle folder: no separators, so
# a manifest can never point the loader outside its own folder.
_SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Manifest:
    """Validated contents of ``manifest.json``.

    ``files`` maps each parameter file name to its SHA-256. ``normalisation``
    is ``None`` for models that need none (forests) and otherwise says where
    the z-score statistics come from (``status``: ``training``,
    ``calibrated`` or ``not-published``). ``threshold`` is ``None`` until
    one is known; ``score`` says which output it applies to.
    """

    name: str
    version: str
    estimator: str
    task: dict[str, Any]
    regions: list[str]
    preset: dict[str, str]
    required_features: list[str]
    files: dict[str, str]
    score: str
    threshold: float | None
    threshold_rule: str
    risk_groups: list[str]
    normalisation: dict[str, Any] | None
    intended_use: str
    performance: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest as written, sealed with its digest."""
        return json.dumps({**asdict(self), DIGEST_FIELD: self.digest}, indent=2, sort_keys=False) + "\n"

    @property
    def digest(self) -> str:
        """The bundle digest: SHA-256 over every field (see the module docstring)."""
        return manifest_digest(asdict(self))

    @property
    def calibrated(self) -> bool:
        """True when the z-score statistics are known (or not needed)."""
        return self.normalisation is None or self.normalisation.get("status") != "not-published"


def read_manifest(folder: Path) -> Manifest:
    """Read and validate ``folder/manifest.json``."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise InputError("not a model bundle: manifest.json missing", file=folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"manifest is not valid JSON: {error}", file=path) from None
    return manifest_from_dict(data, path)


def manifest_digest(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``fields`` without the digest field itself."""
    body = {name: value for name, value in fields.items() if name != DIGEST_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest_from_dict(data: Any, path: Path | None = None) -> Manifest:
    """Build a ``Manifest`` from parsed JSON, refusing anything malformed."""
    if not isinstance(data, dict):
        raise InputError("manifest must be a JSON object", file=path)
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise InputError(
            f"unknown bundle format version; this TMERadiomics reads version {FORMAT_VERSION}",
            file=path,
            value=version,
        )
    data = dict(data)
    recorded = data.pop(DIGEST_FIELD, None)
    known = set(Manifest.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown manifest field {unknown[0]!r}", file=path)
    missing = sorted(name for name in known - set(data) if name not in ("performance", "provenance"))
    if missing:
        raise InputError(f"manifest lacks field {missing[0]!r}", file=path)
    manifest = Manifest(**data)
    _check_digest(manifest, recorded, path)
    _check(manifest, path)
    return manifest


def _check_digest(manifest: Manifest, recorded: object, path: Path | None) -> None:
    if recorded is None:
        raise InputError(f"manifest has no {DIGEST_FIELD}, so edits to it cannot be detected; "
                         "rebuild, re-train or re-calibrate the bundle with this TMERadiomics", file=path)
    if recorded != manifest.digest:
        raise InputError(f"bundle was modified: manifest.json no longer matches its {DIGEST_FIELD} "
                         "(edited after the bundle was written); refusing to load it", file=path)


def _check(m: Manifest, path: Path | None) -> None:
    def fail(message: str, value: object = None) -> None:
        raise InputError(f"invalid manifest: {message}", file=path, value=value)

    if m.estimator not in ESTIMATOR_KINDS:
        fail(f"estimator must be one of {ESTIMATOR_KINDS}", m.estimator)
    if m.score not in SCORE_KINDS:
        fail(f"score must be one of {SCORE_KINDS}", m.score)
    if not isinstance(m.required_features, list) or not m.required_features:
        fail("required_features must be a non-empty list")
    if len(set(m.required_features)) != len(m.required_features):
        fail("required_features has duplicates")
    if not isinstance(m.preset, dict) or not _SHA256.match(str(m.preset.get("sha256", ""))):
        fail("preset needs a name and a 64-hex sha256", m.preset)
    if not isinstance(m.files, dict) or not m.files:
        fail("files must map each parameter file to its sha256")
    for name, digest in m.files.items():
        if not _SAFE_FILE.match(name) or name == MANIFEST_NAME:
            fail("parameter file names must be plain names inside the bundle", name)
        if not _SHA256.match(str(digest)):
            fail(f"sha256 of {name} is not 64 hex digits", digest)
    if m.threshold is not None and not isinstance(m.threshold, (int, float)):
        fail("threshold must be a number or null", m.threshold)
    if not isinstance(m.risk_groups, list) or len(m.risk_groups) != 2:
        fail("risk_groups must name the group below and the group at or above the threshold")
    if m.normalisation is not None and m.normalisation.get("status") not in (
        "training", "calibrated", "not-published"
    ):
        fail("normalisation status must be training, calibrated or not-published", m.normalisation)
