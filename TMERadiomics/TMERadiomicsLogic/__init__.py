"""The TMERadiomics Slicer module's Logic: no qt or ctk, so it runs on slicer-core."""

from .logic import Cancelled, TMERadiomicsLogic

__all__ = ["Cancelled", "TMERadiomicsLogic"]
