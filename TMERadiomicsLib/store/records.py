"""Plain records that go into and come out of the study database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import SimpleITK as sitk

# The project's one notion of "same grid", shared with io.images.
from ..io.images import DIRECTION_ATOL, ORIGIN_ATOL_MM, SPACING_RTOL


@dataclass(frozen=True)
class Geometry:
    """Voxel grid of an image: what must not change between sessions of a case."""

    size: tuple[int, ...]
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]

    @classmethod
    def of(cls, image: sitk.Image) -> "Geometry":
        return cls(
            tuple(int(v) for v in image.GetSize()),
            tuple(float(v) for v in image.GetSpacing()),
            tuple(float(v) for v in image.GetOrigin()),
            tuple(float(v) for v in image.GetDirection()),
        )

    def to_json(self) -> str:
        return json.dumps(
            {"size": self.size, "spacing": self.spacing, "origin": self.origin, "direction": self.direction}
        )

    @classmethod
    def from_json(cls, text: str) -> "Geometry":
        data = json.loads(text)
        return cls(*(tuple(data[key]) for key in ("size", "spacing", "origin", "direction")))

    def differences(self, other: "Geometry") -> list[str]:
        """Human-readable list of what differs (empty when the grids match)."""
        size = [] if self.size == other.size else [f"size {other.size} instead of {self.size}"]
        checks = (
            ("spacing", {"rtol": SPACING_RTOL, "atol": 0}),
            ("origin", {"rtol": 0, "atol": ORIGIN_ATOL_MM}),
            ("direction", {"rtol": 0, "atol": DIRECTION_ATOL}),
        )
        return size + [
            f"{name} {_fmt(getattr(other, name))} instead of {_fmt(getattr(self, name))}"
            for name, tol in checks
            if not np.allclose(getattr(self, name), getattr(other, name), **tol)
        ]


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


@dataclass(frozen=True)
class RegionRecord:
    """One region's summary as stored: voxel count, volume and warnings."""

    region: str
    voxels: int
    volume_mm3: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segmentation:
    """One reader's tumour contour of one case in one session, ready to store."""

    case_id: str
    reader: str
    session: str
    image_path: str
    image_sha256: str
    mask_path: str
    mask_sha256: str
    geometry: Geometry
    mask_label: int | None = None
    peritumoral_mm: float = 5.0
    ring_mm: float = 2.0
    regions: tuple[RegionRecord, ...] = field(default=())

    def same_content(self, other: "Segmentation") -> bool:
        """True when re-adding ``other`` would change nothing that matters."""
        return (
            self.image_sha256 == other.image_sha256
            and self.mask_sha256 == other.mask_sha256
            and self.mask_label == other.mask_label
            and self.peritumoral_mm == other.peritumoral_mm
            and self.ring_mm == other.ring_mm
        )


@dataclass(frozen=True)
class StoredSegmentation:
    """A segmentation row read back, with its database id."""

    segmentation_id: int
    segmentation: Segmentation
