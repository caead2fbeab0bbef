"""The regions around a contoured tumour: building them, their options, and writing them out.

- ``builder``: ``build(tumour, image, ...)`` -> ``Regions`` (intratumoral,
  peritumoral and ring masks with their summary), exported here;
- ``signed_distance``: the distance (mm) from voxel centres to the boundary;
- ``options``: ``RegionOptions``, the options every entry point shares;
- ``outputs``: one case's NRRD masks, Slicer segmentation, summary, overlay;
- ``overlay``: the PNG overlay (imports matplotlib; load it only to draw).
"""

from .builder import CROP_MARGIN_VOXELS, COMPONENT_MODES, REGION_COLOURS, REGION_NAMES, Regions, RegionSummary, build

__all__ = ["COMPONENT_MODES", "CROP_MARGIN_VOXELS", "REGION_COLOURS", "REGION_NAMES", "RegionSummary", "Regions",
           "build"]
