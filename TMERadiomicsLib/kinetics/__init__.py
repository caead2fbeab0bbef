"""DCE kinetics per region: enhancement, SER, wash-in and wash-out, curve types and FTV (docs/kinetics.md).

``read_kinetic_series`` reads every phase and its time, ``kinetic_features`` gives
each region's features and mean curve, ``compute_maps`` the voxel-wise maps.
"""

from __future__ import annotations

from .features import KineticResult, feature_names, kinetic_features
from .maps import KineticMaps, compute_maps
from .reading import read_kinetic_series
from .series import KineticSeries

__all__ = ["KineticMaps", "KineticResult", "KineticSeries", "compute_maps", "feature_names", "kinetic_features",
           "read_kinetic_series"]
