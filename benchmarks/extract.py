"""Benchmark: one-pass ``extract_case`` versus PyRadiomics' per-region ``execute()``.

    python benchmarks/extract.py [--size full] [--preset qian2024] [--seed 0]

One phantom case (``make_phantom(size)``, second post-contrast phase), its
three regions (``regions.build`` with default widths) and one preset. The
baseline is what SlicerRadiomics does: ``RadiomicsFeatureExtractor.execute()``
once per region on the whole image. Each method runs in its own fresh
process, so that its peak resident memory (``VmHWM``) is its own; the
phantom is written to a temporary folder first and each process reads the
image and masks from there. Prints both times, their ratio, both peak
memories and the largest relative difference between the two results.
Targets: >= 20x faster, extract_case peak memory < 1.5 GB.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import SimpleITK as sitk

from TMERadiomicsLib import regions
from TMERadiomicsLib.features import extract_case, load_preset
from TMERadiomicsLib.phantom import make_phantom

REGION_NAMES = ("intratumoral", "peritumoral", "ring")


def write_case(folder: Path, size: str, seed: int) -> None:
    phantom = make_phantom(size=size, seed=seed)
    image = phantom.image()
    built = regions.build(phantom.tumour, image, case_id="bench")
    sitk.WriteImage(image, str(folder / "image.nrrd"))
    for name in REGION_NAMES:
        sitk.WriteImage(built.masks[name], str(folder / f"{name}.nrrd"))


def _read(folder: Path):
    image = sitk.ReadImage(str(folder / "image.nrrd"))
    masks = {name: sitk.ReadImage(str(folder / f"{name}.nrrd")) for name in REGION_NAMES}
    return image, masks


def run_ours(folder: Path, preset: str, queue) -> None:
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, masks = _read(folder)
    started = time.perf_counter()
    result = extract_case(image, masks, preset, case_id="bench")
    seconds = time.perf_counter() - started
    queue.put((seconds, _peak_mb(), result.values, result.diagnostics.get("crop_size")))


def run_pyradiomics(folder: Path, preset: str, queue) -> None:
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image, masks = _read(folder)
    extractor = featureextractor.RadiomicsFeatureExtractor(str(load_preset(preset).path))
    started = time.perf_counter()
    values = {}
    for name, mask in masks.items():
        out = extractor.execute(image, mask)
        values[name] = {k: float(v) for k, v in out.items() if not k.startswith("diagnostics_")}
    seconds = time.perf_counter() - started
    queue.put((seconds, _peak_mb(), values, None))


def _peak_mb() -> float:
    """Peak resident memory of this process since it started its program.

    ``VmHWM`` rather than ``ru_maxrss``: Linux keeps ``ru_maxrss`` across
    ``execve``, so a child spawned by a parent that held the phantom would
    report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def in_fresh_process(target, folder: Path, preset: str):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(folder, preset, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def largest_difference(ours: dict, theirs: dict) -> tuple[float, str]:
    worst = (0.0, "")
    for region, features in theirs.items():
        for name, value in features.items():
            mine = ours[region][name]
            if mine == value or (math.isnan(mine) and math.isnan(value)):
                continue
            relative = abs(mine - value) / max(abs(value), abs(mine))
            worst = max(worst, (relative, f"{region}/{name}"))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=("small", "full"))
    parser.add_argument("--preset", default="qian2024")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_case(folder, args.size, args.seed)
        image = sitk.ReadImage(str(folder / "image.nrrd"))
        print(f"phantom {args.size}: size {image.GetSize()}, spacing {image.GetSpacing()}, preset {args.preset}")
        ours_s, ours_mb, ours, crop = in_fresh_process(run_ours, folder, args.preset)
        base_s, base_mb, theirs, _ = in_fresh_process(run_pyradiomics, folder, args.preset)
    features = sum(len(v) for v in ours.values())
    worst, where = largest_difference(ours, theirs)
    print(f"extract_case:             {ours_s:8.2f} s   peak {ours_mb:7.0f} MB   crop {crop}")
    print(f"PyRadiomics execute x{len(REGION_NAMES)}:  {base_s:8.2f} s   peak {base_mb:7.0f} MB")
    print(f"speed-up: {base_s / ours_s:.1f}x (target >= 20x); extract_case peak memory "
          f"{ours_mb / 1024:.2f} GB (target < 1.5 GB)")
    print(f"{features} feature values; largest relative difference {worst:.2e} ({where})")


if __name__ == "__main__":
    main()
