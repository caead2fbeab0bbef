"""Benchmark of the kinetic class on full-size phantoms: every kinetic feature of the three regions.

    python benchmarks/kinetics.py [--diameters 2 4 6] [--repeat 5]

For each diameter: the full phantom (448 x 448 x 160 voxels of 0.8 x 0.8 x
1.5 mm, six phases) whose lesion of that diameter lies wholly inside the image
(``phantom_cache.case_with_lesion_inside``), its three regions with the vessels
excluded. The phases are read once; then, in this process, best of ``--repeat``
CPU seconds (``time.process_time``, all threads):

- ours: ``kinetic_features`` (maps on the regions' box, statistics, curve types,
  FTV and mean curves of the three regions);
- baseline: the same maps computed over the whole field of view
  (``compute_maps`` on the full grid), as whole-volume FTV and CAD tools compute
  them, before any region is summarised.

Prints both, their ratio and the load average before and after: the machine may
be shared, so CPU seconds and same-run ratios are what compare, not wall time.
Target (issue 25): the whole kinetic set <= 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from phantom_cache import case_with_lesion_inside

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from TMERadiomicsLib.kinetics import kinetic_features, read_kinetic_series  # noqa: E402
from TMERadiomicsLib.kinetics.maps import compute_maps  # noqa: E402
from TMERadiomicsLib.regions.options import RegionOptions  # noqa: E402

TARGET_S = 0.5


def best_cpu(function, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def measure(diameter_cm: float, repeat: int) -> dict:
    seed, folder = case_with_lesion_inside("full", radius_mm=diameter_cm * 5.0)
    series = read_kinetic_series(folder)
    image = series.phases[2]
    import SimpleITK as sitk

    tumour = sitk.ReadImage(str(folder / "tumour.nrrd"))
    masks = RegionOptions(exclude=(folder / "vessels.nrrd",)).build("bench", image, tumour).masks
    voxels = {name: int(sitk.GetArrayViewFromImage(m).sum()) for name, m in masks.items()}
    ours = best_cpu(lambda: kinetic_features(series, masks, case_id="bench"), repeat)
    whole = tuple(slice(0, n) for n in image.GetSize()[::-1])
    baseline = best_cpu(lambda: compute_maps(series, whole), max(1, repeat // 2))
    return {"diameter_cm": diameter_cm, "seed": seed, "voxels": voxels, "ours": ours, "baseline": baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--diameters", type=float, nargs="+", default=[2.0, 4.0, 6.0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"kinetic class, full phantom 448x448x160, 6 phases; best of {args.repeat}, CPU s (process_time)")
    print("baseline: the same maps over the whole field of view (compute_maps on the full grid)")
    for diameter in args.diameters:
        load_before = os.getloadavg()[0]
        r = measure(diameter, args.repeat)
        verdict = "meets" if r["ours"] <= TARGET_S else "MISSES"
        print(f"{diameter:g} cm (seed {r['seed']}, voxels {r['voxels']}): ours {r['ours']:.3f} s, "
              f"whole-FOV maps {r['baseline']:.3f} s, {r['baseline'] / r['ours']:.1f}x faster; "
              f"{verdict} the {TARGET_S} s target; load {load_before:.2f} -> {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
