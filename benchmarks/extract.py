"""Benchmark: one case, ``extract_case`` and ``tmeradiomics extract`` against PyRadiomics' per-region ``execute()``.

    python benchmarks/extract.py [--size full] [--preset qian2024] [--seed 0] [--repeat 5]

One phantom case (``make_phantom(size, seed)`` as ``write_phantom`` writes it,
cached by ``phantom_cache.py``), its three regions with the vessels excluded,
one preset. The baseline is what SlicerRadiomics does:
``RadiomicsFeatureExtractor.execute()`` once per region on the whole image
(PyRadiomics' default threads). ``extract_case`` runs on one SimpleITK thread.
Each method runs in its own fresh process, so that its peak resident memory
(``VmHWM``) is its own. Then ``tmeradiomics extract`` runs as a whole process
(start-up, read, regions, extract, write). Prints every figure beside its
baseline, the per-stage breakdown, the largest relative difference between
the two results and the machine's load average.
Targets: ``extract_case`` <= 1.0 s on one thread, ``tmeradiomics extract``
<= 2.0 s as a process, regions <= 0.25 s.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from phantom_cache import cached_case

REGION_NAMES = ("intratumoral", "peritumoral", "ring")


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    now = _clock()
    return now[0] - start[0], now[1] - start[1]


def run_ours(folder: Path, work: Path, preset: str, repeat: int, queue) -> None:
    """Read, regions, extract (best of ``repeat``), write, each timed (wall, CPU)."""
    import SimpleITK as sitk

    from TMERadiomicsLib.features import extract_case
    from TMERadiomicsLib.io.images import read_mask
    from TMERadiomicsLib.io.preprocessing import read_dce
    from TMERadiomicsLib.regions.options import RegionOptions

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    stages = {}
    start = _clock()
    image = read_dce(folder / "image.nrrd", case_id="bench")
    tumour = read_mask(folder / "tumour.nrrd", reference=image, case_id="bench")
    stages["read"] = _since(start)
    start = _clock()
    regions = RegionOptions(exclude=(folder / "vessels.nrrd",)).build("bench", image, tumour)
    stages["regions"] = _since(start)
    runs = []
    for _ in range(repeat):
        start = _clock()
        result = extract_case(image, regions, preset, case_id="bench")
        runs.append(_since(start))
    stages["extract"] = min(runs)
    start = _clock()
    with tempfile.TemporaryDirectory() as tmp:  # as tmeradiomics extract writes them
        (Path(tmp) / "wide.csv").write_text(result.wide_csv())
        (Path(tmp) / "combined.csv").write_text(result.combined_csv())
    stages["write"] = _since(start)
    for name in REGION_NAMES:  # the baseline reads the very same masks
        sitk.WriteImage(regions.masks[name], str(work / f"{name}.nrrd"), True)
    queue.put((stages, [r[0] for r in runs], _peak_mb(), result.values, result.diagnostics.get("crop_size")))


def run_pyradiomics(folder: Path, work: Path, preset: str, repeat: int, queue) -> None:
    import logging

    import SimpleITK as sitk
    from radiomics import featureextractor

    from TMERadiomicsLib.features import load_preset

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    image = sitk.ReadImage(str(folder / "image.nrrd"))
    masks = {name: sitk.ReadImage(str(work / f"{name}.nrrd")) for name in REGION_NAMES}
    extractor = featureextractor.RadiomicsFeatureExtractor(str(load_preset(preset).path))
    start = _clock()
    values = {}
    for name, mask in masks.items():
        out = extractor.execute(image, mask)
        values[name] = {k: float(v) for k, v in out.items() if not k.startswith("diagnostics_")}
    queue.put(({"execute x3": _since(start)}, None, _peak_mb(), values, None))


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


def in_fresh_process(target, *args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def whole_process(argv: list[str], repeat: int) -> tuple[float, float]:
    """(best, median) wall time of a command run as its own process ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


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


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=("small", "full"))
    parser.add_argument("--preset", default="qian2024")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="best of N for extract_case and the CLI processes")
    args = parser.parse_args()
    print(f"load average at start: {load()}", flush=True)
    folder = cached_case(args.size, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stages, runs, ours_mb, ours, crop = in_fresh_process(run_ours, folder, work, args.preset, args.repeat)
        base, _, base_mb, theirs, _ = in_fresh_process(run_pyradiomics, folder, work, args.preset, 1)
        cli = [sys.executable, "-m", "TMERadiomicsLib", "extract", str(folder / "image.nrrd"),
               str(folder / "tumour.nrrd"), "--exclude", str(folder / "vessels.nrrd"), "--preset", args.preset,
               "--out", str(Path(tmp) / "features.csv"), "--overwrite"]
        extract_process = whole_process(cli, args.repeat)
        help_process = whole_process([sys.executable, "-m", "TMERadiomicsLib", "--help"], args.repeat)
        presets_process = whole_process([sys.executable, "-m", "TMERadiomicsLib", "presets"], args.repeat)
    base_s = base["execute x3"][0]
    ours_s = stages["extract"][0]
    worst, where = largest_difference(ours, theirs)
    print(f"case: {args.size} phantom seed {args.seed}, preset {args.preset}, crop {crop}, "
          f"{sum(len(v) for v in ours.values())} feature values")
    print(f"{'figure':44s} {'ours':>9s} {'baseline':>10s} {'ratio':>7s}  target")
    print(f"{'extract_case, 1 thread (best of %d)' % args.repeat:44s} {ours_s:8.2f}s {base_s:9.1f}s "
          f"{base_s / ours_s:6.1f}x  <= 1.0 s  (baseline: PyRadiomics execute() x3)")
    best, median = extract_process
    print(f"{'tmeradiomics extract, whole process (best)':44s} {best:8.2f}s {base_s:9.1f}s "
          f"{base_s / best:6.1f}x  <= 2.0 s  (median of {args.repeat}: {median:.2f} s)")
    for name, (best, median) in (("--help", help_process), ("presets", presets_process)):
        print(f"{'tmeradiomics %s, whole process (best)' % name:44s} {best:8.2f}s {'':>10s} {'':>7s}  <= 0.5 s"
              f"  (median {median:.2f} s)")
    print(f"{'peak memory (VmHWM)':44s} {ours_mb / 1024:7.2f}GB {base_mb / 1024:8.2f}GB")
    print("stages of one case (wall s / CPU s): " + ", ".join(
        f"{name} {wall:.2f}/{cpu:.2f}" for name, (wall, cpu) in stages.items()))
    print(f"extract_case runs (wall s): {', '.join(f'{r:.2f}' for r in runs)}")
    print(f"largest relative difference to PyRadiomics: {worst:.2e} {where}")
    print(f"load average at end: {load()}; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
