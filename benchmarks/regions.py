"""Benchmark: the three regions of a full-size phantom, crop-based versus whole-volume.

    python benchmarks/regions.py [--repeat 3] [--seed 0]

Both runs use the same distance convention (``signed_distance_mm``); the
baseline applies it to the whole field of view instead of a crop around the
tumour. Prints both times (best of --repeat, one thread), their ratio, and
checks that the two agree voxel for voxel. The phantom is read from the
cache of ``phantom_cache.py`` (generated once). Target: <= 0.25 s per case.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import SimpleITK as sitk

from phantom_cache import cached_case

from TMERadiomicsLib import regions
from TMERadiomicsLib.regions.signed_distance import signed_distance_mm


def whole_volume(tumour: sitk.Image, peritumoral_mm: float = 5.0, ring_mm: float = 2.0) -> dict[str, np.ndarray]:
    """The same regions with the distance map computed over the whole field of view."""
    frame = sitk.GetImageFromArray(sitk.GetArrayFromImage(tumour))
    frame.SetSpacing(tumour.GetSpacing())
    distance = signed_distance_mm(frame)
    inside = sitk.GetArrayViewFromImage(tumour).astype(bool)
    return {
        "intratumoral": inside,
        "peritumoral": ~inside & (distance <= peritumoral_mm),
        "ring": (inside & (distance >= -ring_mm)) | (~inside & (distance <= ring_mm)),
    }


def best_of(repeat: int, function, *args):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    tumour = sitk.ReadImage(str(cached_case("full", args.seed) / "tumour.nrrd"))
    print(f"phantom: {tumour.GetSize()} voxels at {tumour.GetSpacing()} mm, tumour {int(sitk.GetArrayViewFromImage(tumour).sum())} voxels")
    crop_time, ours = best_of(args.repeat, regions.build, tumour)
    whole_time, baseline = best_of(1, whole_volume, tumour)
    for name in regions.REGION_NAMES:
        same = np.array_equal(sitk.GetArrayViewFromImage(ours.masks[name]).astype(bool), baseline[name])
        print(f"{name:13s} {ours.summary[name].voxels:8d} voxels  identical to whole-volume: {same}")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"crop-based regions:   {crop_time:8.3f} s (best of {args.repeat}, 1 thread)")
    print(f"whole-volume regions: {whole_time:8.3f} s")
    print(f"ratio whole/crop:     {whole_time / crop_time:8.1f}x   target: crop <= 0.25 s -> {'met' if crop_time <= 0.25 else 'NOT met'}")
    print(f"peak memory (whole-volume run dominates): {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
