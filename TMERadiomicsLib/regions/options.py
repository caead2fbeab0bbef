"""The region options every entry point shares, and building a case's regions from them.

The CLI commands (``regions``, ``extract``, ``score``) and the batch workers
read exclusion masks from files and build the regions the same way; this is
that one way, so a cohort run and a single-case run cannot drift apart.

It is also where the options are checked against the case before any work:
a band wider than the image's field of view, or one whose distance map would
need more working memory than ``memory_limit_gb``, is refused with one line
naming the limit and the value; a peritumoral or ring region left empty by
the exclusions is an error unless ``allow_empty`` is set. ``allow_small``
travels with the options to ``extract_case(allow_small_regions=...)``: a
region too small for its features is an error unless it is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..errors import InputError
from ..io.images import bounding_box, read_mask
from . import builder as regions
from .signed_distance import refinement_factors

# Peak working memory of ``regions.build`` per voxel of the signed distance's
# fine grid (float32 fields, masks and ITK's distance map): ~23 bytes, both
# on the full phantom with a 120 mm band (6.8 GB peak, issue 14) and as the
# rise of peak RSS on the small phantom with a 40 mm band (0.41 GB); rounded up.
BYTES_PER_FINE_VOXEL = 24
# Default ceiling of that estimate; on the full phantom (448x448x160) a 5 mm band needs
# ~0.01 GB and the limit falls near 95 mm.
MEMORY_LIMIT_GB = 4.0


@dataclass(frozen=True)
class RegionOptions:
    peritumoral_mm: float = 5.0
    ring_mm: float = 2.0
    exclude: tuple[Path, ...] = ()  # exclusion mask files (vessels, chest wall, skin...)
    air_below: float | None = None
    largest_component: bool = False
    resample_mask: bool = False  # resample exclusion masks onto the image grid (nearest neighbour)
    allow_empty: bool = False  # keep a peritumoral/ring region that the exclusions left empty
    # Write NaN features for a region too small for PyRadiomics (one voxel, one
    # row) instead of refusing the case; read by the callers of ``extract_case``.
    allow_small: bool = False
    memory_limit_gb: float = MEMORY_LIMIT_GB

    def build(self, case_id: str, image: sitk.Image, tumour: sitk.Image) -> regions.Regions:
        """Check the options against the case, read the exclusion masks and build the regions."""
        self.check_against(case_id, tumour)
        exclusions = [read_mask(path, reference=image, case_id=case_id, resample=self.resample_mask,
                                allow_empty=True) for path in self.exclude]
        built = regions.build(
            tumour,
            image,
            peritumoral_mm=self.peritumoral_mm,
            ring_mm=self.ring_mm,
            exclusions=exclusions,
            air_below=self.air_below,
            components="largest" if self.largest_component else "all",
            case_id=case_id,
        )
        if not self.allow_empty:
            self._refuse_empty(case_id, built)
        return built

    def check_against(self, case_id: str, tumour: sitk.Image) -> None:
        """Refuse band widths the image cannot hold, before anything is allocated."""
        widest = max(self.peritumoral_mm, self.ring_mm)
        flag = "--peritumoral-mm" if self.peritumoral_mm >= self.ring_mm else "--ring-mm"
        extent = field_of_view_mm(tumour)
        if widest > extent:
            raise InputError(f"{flag} is wider than the image's field of view ({extent:.1f} mm along its "
                             "longest axis)", case=case_id, value=widest)
        needed = working_memory_gb(tumour, widest)
        if needed > self.memory_limit_gb:
            raise InputError(f"{flag} {widest:g} mm would need about {needed:.1f} GB of working memory for this "
                             f"tumour and image; the limit is {self.memory_limit_gb:g} GB", case=case_id,
                             value=widest)

    def _refuse_empty(self, case_id: str, built: regions.Regions) -> None:
        empty = [name for name in ("peritumoral", "ring") if built.summary[name].voxels == 0]
        if empty:
            causes = [f"{len(self.exclude)} exclusion mask(s)"] if self.exclude else []
            if self.air_below is not None:
                causes.append(f"air below {self.air_below:g}")
            raise InputError(
                f"{' and '.join(empty)} region{'s are' if len(empty) > 1 else ' is'} empty after removing {', '.join(causes) or 'the excluded voxels'}; "
                "check the exclusions and the air threshold against the image intensities, or allow empty "
                "regions (--allow-empty-regions)", case=case_id)


def field_of_view_mm(image: sitk.Image) -> float:
    """Physical extent of the image along its longest axis."""
    return max(size * spacing for size, spacing in zip(image.GetSize(), image.GetSpacing()))


def working_memory_gb(tumour: sitk.Image, width_mm: float) -> float:
    """Estimated peak memory of ``regions.build`` for the widest band ``width_mm``.

    The crop is the tumour's bounding box plus the band and a margin on each
    side (as ``regions`` makes it); the distance map runs on that crop refined
    by ``refinement_factors``.
    """
    box = bounding_box(sitk.GetArrayViewFromImage(tumour))
    if box is None:
        return 0.0  # an empty tumour is refused by ``regions.build`` with its own message
    lo, hi = box
    spacing = np.asarray(tumour.GetSpacing(), dtype=float)
    pad = np.ceil(width_mm / spacing) + regions.CROP_MARGIN_VOXELS
    crop_xyz = (hi - lo)[::-1] + 2 * pad
    fine_voxels = math.prod(float(n) for n in crop_xyz) * math.prod(int(f) for f in refinement_factors(spacing))
    return fine_voxels * BYTES_PER_FINE_VOXEL / 1e9
