"""Benchmark over tumour size: 1, 2, 4 and 6 cm lesions on the full field of view, against PyRadiomics twice.

    python benchmarks/sizes.py [--diameters 1 2 4 6] [--preset qian2024] [--repeat 3] [--before DIR]

For each diameter: the full phantom (448 x 448 x 160 voxels of 0.8 x 0.8 x
1.5 mm) whose lesion of that diameter lies wholly inside the image
(``phantom_cache.case_with_lesion_inside``), its three regions with the
vessels excluded, one preset. In the same run:

- ``tmeradiomics extract`` as a whole process (start-up, read, regions,
  extract, write): CPU seconds of the child (user + system), best of
  ``--repeat``; with ``--before DIR`` also the same command on the library
  in ``DIR`` (e.g. ``git archive main``), so before and after share a sitting;
- PyRadiomics ``execute()`` once per region on the very masks ours used, in a
  fresh process: with its defaults (what SlicerRadiomics runs), and with
  ``preCrop: true`` and ``additionalInfo: false`` (PyRadiomics at its best);
  CPU seconds of that process, all threads;
- MIRP when it is installed (it is not on the development machine).

Prints CPU seconds, the ratios against both PyRadiomics configurations,
how many values each differs from PyRadiomics' defaults, the regions' voxel
counts and the load average before and after each size: the machine may be
shared, so CPU seconds and same-run ratios are what compare, not wall time.
Targets (issue 23): 4 cm <= 1.5 s, 6 cm <= 3 s of CPU for the whole process.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from extract import REGION_NAMES, in_fresh_process, load
from phantom_cache import case_with_lesion_inside

TARGETS_S = {4.0: 1.5, 6.0: 3.0}
BEST_SETTINGS = {"preCrop": True, "additionalInfo": False}


REPO = Path(__file__).resolve().parents[1]


def process_cpu(argv: list[str], library: Path = REPO) -> float:
    """CPU seconds (user + system) of one child process and its children, running the library in ``library``.

    ``python -m`` puts the working directory first on ``sys.path``, before
    ``PYTHONPATH``: the child runs in ``library`` so that it imports that copy.
    """
    env = {**os.environ, "PYTHONPATH": str(library)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=library)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_regions(folder: Path, work: Path, queue) -> None:
    """The three regions as ``tmeradiomics extract`` builds them, written for PyRadiomics."""
    import SimpleITK as sitk

    from TMERadiomicsLib.io.images import read_mask
    from TMERadiomicsLib.io.preprocessing import read_dce
    from TMERadiomicsLib.regions.options import RegionOptions

    image = read_dce(folder / "image.nrrd", case_id="bench")
    tumour = read_mask(folder / "tumour.nrrd", reference=image, case_id="bench")
    regions = RegionOptions(exclude=(folder / "vessels.nrrd",)).build("bench", image, tumour)
    voxels = {}
    for name in REGION_NAMES:
        sitk.WriteImage(regions.masks[name], str(work / f"{name}.nrrd"), True)
        voxels[name] = int(sitk.GetArrayViewFromImage(regions.masks[name]).sum())
    queue.put(voxels)


def run_pyradiomics(folder: Path, work: Path, params: Path, queue) -> None:
    import logging

    import SimpleITK as sitk
    from radiomics import featureextractor

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.ReadImage(str(folder / "image.nrrd"))
    masks = {name: sitk.ReadImage(str(work / f"{name}.nrrd")) for name in REGION_NAMES}
    extractor = featureextractor.RadiomicsFeatureExtractor(str(params))
    start = time.process_time()
    values = {}
    for name, mask in masks.items():
        out = extractor.execute(image, mask)
        values[name] = {k: float(v) for k, v in out.items() if not k.startswith("diagnostics_")}
    queue.put((time.process_time() - start, values))


def best_params(preset_path: Path, work: Path) -> Path:
    """The preset with ``preCrop: true`` and ``additionalInfo: false`` added to its settings."""
    params = yaml.safe_load(preset_path.read_text())
    params.setdefault("setting", {}).update(BEST_SETTINGS)
    path = work / "pyradiomics-best.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def read_wide(path: Path) -> dict[str, dict[str, float]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    skip = {"case_id", "region", "preset", "preset_sha256"}
    return {row["region"]: {k: float(v) if v != "" else math.nan for k, v in row.items() if k not in skip}
            for row in rows}


def differences(ours: dict, theirs: dict, tolerance: float = 1e-10) -> tuple[int, int, float]:
    """(values compared, values differing by more than ``tolerance`` relative, largest relative difference)."""
    total = differ = 0
    worst = 0.0
    for region, features in theirs.items():
        for name, value in features.items():
            mine = ours[region].get(name, math.nan)
            total += 1
            if mine == value or (math.isnan(mine) and math.isnan(value)):
                continue
            relative = abs(mine - value) / max(abs(value), abs(mine)) if not math.isnan(mine + value) else math.inf
            worst = max(worst, relative)
            differ += relative > tolerance
    return total, differ, worst


def measure(diameter: float, args, work: Path) -> dict:
    seed, folder = case_with_lesion_inside("full", 5.0 * diameter, first_seed=1)
    from TMERadiomicsLib.features import load_preset

    preset = load_preset(args.preset)
    load_start = load()
    voxels = in_fresh_process(write_regions, folder, work)
    out = work / f"ours-{diameter:g}.csv"
    cli = [sys.executable, "-m", "TMERadiomicsLib", "extract", str(folder / "image.nrrd"),
           str(folder / "tumour.nrrd"), "--exclude", str(folder / "vessels.nrrd"), "--preset", args.preset,
           "--out", str(out), "--overwrite"]
    ours = min(process_cpu(cli) for _ in range(args.repeat))
    before = None
    if args.before:
        before_out = work / f"before-{diameter:g}.csv"
        before_cli = [*cli[:-2], str(before_out), "--overwrite"]
        before = min(process_cpu(before_cli, args.before.resolve()) for _ in range(args.repeat))
    default_s, default_values = in_fresh_process(run_pyradiomics, folder, work, preset.path)
    best_s, best_values = in_fresh_process(run_pyradiomics, folder, work, best_params(preset.path, work))
    mine = read_wide(out)
    return {"diameter": diameter, "seed": seed, "voxels": voxels, "ours": ours, "before": before,
            "default": default_s, "best": best_s, "ours_vs_default": differences(mine, default_values),
            "best_vs_default": differences(best_values, default_values), "load": (load_start, load())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diameters", type=float, nargs="+", default=[1.0, 2.0, 4.0, 6.0], help="cm")
    parser.add_argument("--preset", default="qian2024")
    parser.add_argument("--repeat", type=int, default=3, help="best of N whole processes")
    parser.add_argument("--before", type=Path, help="a copy of the library to time in the same sitting")
    args = parser.parse_args()
    mirp = importlib.util.find_spec("mirp") is not None
    print(f"load average at start: {load()}; cores {os.cpu_count()}; preset {args.preset}; "
          f"MIRP {'installed' if mirp else 'not installed: not measured'}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for diameter in args.diameters:
            row = measure(diameter, args, Path(tmp))
            rows.append(row)
            _print_row(row)
    print("\nsize | regions (voxels) | before | ours | PyRadiomics defaults | PyRadiomics preCrop | "
          "ours faster than defaults / preCrop | target | load")
    for r in rows:
        target = TARGETS_S.get(r["diameter"])
        before = f"{r['before']:.2f} s" if r["before"] is not None else "-"
        print(f"{r['diameter']:g} cm | {'/'.join(str(v) for v in r['voxels'].values())} | {before} | "
              f"{r['ours']:.2f} s | {r['default']:.1f} s | {r['best']:.1f} s | "
              f"{r['default'] / r['ours']:.0f}x / {r['best'] / r['ours']:.1f}x | "
              f"{'<= %.1f s' % target if target else '-'} | {r['load'][0]} -> {r['load'][1]}")
    print(f"load average at end: {load()}")


def _print_row(r: dict) -> None:
    total, differ, worst = r["ours_vs_default"]
    b_total, b_differ, b_worst = r["best_vs_default"]
    before = f", before {r['before']:.2f} s" if r["before"] is not None else ""
    print(f"{r['diameter']:g} cm (seed {r['seed']}, voxels {r['voxels']}): ours {r['ours']:.2f} s CPU{before}; "
          f"PyRadiomics defaults {r['default']:.1f} s ({r['default'] / r['ours']:.0f}x), "
          f"preCrop {r['best']:.1f} s ({r['best'] / r['ours']:.1f}x); ours vs defaults: {differ} of {total} "
          f"values differ > 1e-10 (largest {worst:.1e}); preCrop vs defaults: {b_differ} of {b_total} "
          f"differ (largest {b_worst:.1e}); load {r['load'][0]} -> {r['load'][1]}", flush=True)


if __name__ == "__main__":
    main()
