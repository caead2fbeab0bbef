"""The region options every entry point shares, and building a case's regions from them.

The CLI commands (``regions``, ``extract``, ``score``) and the batch workers
read exclusion masks from files and build the regions the same way; this is
that one way, so a cohort run and a single-case run cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from . import regions
from .imageio import read_mask


@dataclass(frozen=True)
class RegionOptions:
    peritumoral_mm: float = 5.0
    ring_mm: float = 2.0
    exclude: tuple[Path, ...] = ()  # exclusion mask files (vessels, chest wall, skin...)
    air_below: float | None = None
    largest_component: bool = False
    resample_mask: bool = False  # resample exclusion masks onto the image grid (nearest neighbour)

    def build(self, case_id: str, image: sitk.Image, tumour: sitk.Image) -> regions.Regions:
        """Read the exclusion masks and build the regions of one case."""
        exclusions = [read_mask(path, reference=image, case_id=case_id, resample=self.resample_mask,
                                allow_empty=True) for path in self.exclude]
        return regions.build(
            tumour,
            image,
            peritumoral_mm=self.peritumoral_mm,
            ring_mm=self.ring_mm,
            exclusions=exclusions,
            air_below=self.air_below,
            components="largest" if self.largest_component else "all",
            case_id=case_id,
        )
