"""Benchmark: cohort throughput of ``tmeradiomics batch`` against PyRadiomics' own batch CLI, on the same cases.

    python benchmarks/batch.py [--cases 8] [--jobs 2] [--cohort realistic|seeds] [--before DIR] [--keep DIR]

Uses ``--cases`` full-size phantoms (448 x 448 x 160, generated once and
cached by ``phantom_cache.py``): with ``--cohort realistic`` (the default)
their lesions follow the T-stage mix of the qian2024 cohort
(``cohort_sizes.py``, which states the source: 1.1-5.1 cm for 8 cases), each
wholly inside the image; with ``--cohort seeds`` the earlier benchmark's 9 mm
lesions of seeds 0..N-1. Runs ``tmeradiomics batch --preset qian2024 --jobs
2`` on them (vessels excluded, masks written: the defaults), optionally the
same command on the library in ``--before DIR``, then ``pyradiomics
MANIFEST.csv --jobs 2`` on ALL the same cases, one manifest row per region,
using the very region masks our run wrote, twice: with the preset as it is
(PyRadiomics' defaults otherwise) and with ``preCrop: true`` and
``additionalInfo: false`` added (PyRadiomics at its best). Prints each
throughput (cases per hour, wall) and CPU seconds (user + system of every
process of the run), the ratios, the peak memory per worker, the per-stage
breakdown of our run and the machine's load average. On a shared machine the
wall-clock rates are not trustworthy; "cases/h of 2 cores' CPU" is 2 x 3,600
x cases / CPU seconds, the rate the run's CPU work would give on two cores
it had to itself.
Targets (issue 23): >= 2,000 cases/h on 2 cores, <= 1.0 GB per worker.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from cohort_sizes import cohort_diameters
from phantom_cache import cached_case, case_with_lesion_inside

from TMERadiomicsLib.features.presets import load_preset
from TMERadiomicsLib.regions import REGION_NAMES

# Runs a command and reports the peak RSS of its largest descendant (ru_maxrss
# of RUSAGE_CHILDREN covers every waited-for child and grandchild) and the CPU
# seconds of all of them.
PEAK_WRAPPER = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.run(sys.argv[1:]).returncode;"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
    "print(json.dumps({'rc': rc, 'peak_mb': u.ru_maxrss / 1024, 'cpu_s': u.ru_utime + u.ru_stime}),"
    " file=sys.stderr)"
)
BEST_SETTINGS = {"preCrop": True, "additionalInfo": False}


def cohort_cases(kind: str, count: int) -> list[tuple[str, Path]]:
    """(case ID, cached phantom folder) of the cohort."""
    if kind == "seeds":
        return [(f"C{seed:02d}", cached_case("full", seed)) for seed in range(count)]
    cases = []
    for number, diameter in enumerate(cohort_diameters(count)):
        _, folder = case_with_lesion_inside("full", 5.0 * diameter, first_seed=1)
        cases.append((f"C{number:02d}-{diameter:.2f}cm", folder))
    return cases


def write_manifest(folder: Path, cases: list[tuple[str, Path]]) -> Path:
    rows = [{"case_id": case_id, "image": str(case / "image.nrrd"), "mask": str(case / "tumour.nrrd"),
             "exclude": str(case / "vessels.nrrd")} for case_id, case in cases]
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


REPO = Path(__file__).resolve().parents[1]


def timed(argv: list[str], log: Path, library: Path = REPO) -> tuple[float, float, float]:
    """(wall seconds, peak MB of the largest descendant process, CPU seconds of all of them).

    The command runs in ``library`` with it on ``PYTHONPATH``: ``python -m``
    puts the working directory first on ``sys.path``, so that is the copy it imports.
    """
    env = {**os.environ, "PYTHONPATH": str(library)}
    started = time.perf_counter()
    with log.open("w") as handle:
        done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *argv], stdout=handle,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=library)
    seconds = time.perf_counter() - started
    report = json.loads(done.stderr.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise SystemExit(f"{argv[0:3]} failed with exit code {report['rc']}; see {log}")
    return seconds, report["peak_mb"], report["cpu_s"]


def best_params(preset_path: Path, folder: Path) -> Path:
    """The preset with ``preCrop: true`` and ``additionalInfo: false`` added to its settings."""
    params = yaml.safe_load(preset_path.read_text())
    params.setdefault("setting", {}).update(BEST_SETTINGS)
    path = folder / "pyradiomics-best.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def agreement(ours: Path, theirs: Path) -> str:
    """How many (region row, feature) values of PyRadiomics' run ours reproduces to 1e-6."""
    import numpy as np

    pyrad = pd.read_csv(theirs).set_index("ID")
    wide = pd.read_csv(ours, dtype={"case_id": str})
    names = [c for c in wide.columns[4:] if c in pyrad.columns]
    equal = total = 0
    for _, row in wide.iterrows():
        key = f"{row['case_id']}_{row['region']}"
        if key in pyrad.index:
            mine = row[names].to_numpy(dtype=float)
            same = np.isclose(pyrad.loc[key, names].to_numpy(dtype=float), mine, rtol=1e-6, atol=1e-9)
            equal, total = equal + int(same.sum()), total + len(names)
    return f"{equal}/{total} values equal to 1e-6 ({len(names)} features per region row)"


def _import_worker_code(queue) -> None:
    started = time.perf_counter()
    import TMERadiomicsLib.batch.case  # noqa: F401 - what a pool worker imports to run a case

    queue.put(time.perf_counter() - started)


def worker_start_seconds() -> float:
    """Wall time for a fresh spawned process to be ready to run a case (start + imports)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    started = time.perf_counter()
    process = context.Process(target=_import_worker_code, args=(queue,))
    process.start()
    queue.get()
    ready = time.perf_counter() - started
    process.join()
    return ready


def merge_seconds(manifest: Path, out: Path) -> float:
    """Wall time of merging the run's case folders into the cohort tables, as the run does at its end."""
    from TMERadiomicsLib.batch.result import CaseResult
    from TMERadiomicsLib.batch.manifest import read_manifest
    from TMERadiomicsLib.batch.merge import merge

    specs = read_manifest(manifest)
    folder = out / "cases"
    results = {spec.case_id: CaseResult.read(folder / spec.case_id) for spec in specs}
    started = time.perf_counter()
    merge(folder, specs, results, []).write(Path(tempfile.mkdtemp(prefix="tmeradiomics-merge-")))
    return time.perf_counter() - started


def stage_table(out: Path) -> dict[str, float]:
    """Mean seconds per case of each stage, from the cases' diagnostics."""
    rows = [json.loads(p.read_text()).get("stage_seconds", {}) for p in sorted((out / "cases").glob("*/diagnostics.json"))]
    frame = pd.DataFrame(rows)
    return frame.mean().round(3).to_dict() if not frame.empty else {}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cohort", choices=("realistic", "seeds"), default="realistic")
    parser.add_argument("--before", type=Path, help="a copy of the library to run in the same sitting")
    parser.add_argument("--pyradiomics", choices=("both", "defaults", "precrop", "none"), default="both",
                        help="which PyRadiomics configurations to run (default: both)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tmeradiomics-batch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    cases = cohort_cases(args.cohort, args.cases)
    manifest = write_manifest(folder, cases)
    preset = load_preset("qian2024")
    print(f"load average at start: {load()}; cores {os.cpu_count()}; cohort {args.cohort}: "
          + ", ".join(case_id for case_id, _ in cases), flush=True)

    runs = {}
    command = ["-m", "TMERadiomicsLib", "batch", str(manifest), "--preset", "qian2024", "--jobs", str(args.jobs),
               "--overwrite"]
    if args.before:
        runs["before"] = (*timed([sys.executable, *command, "--out", str(folder / "before")], folder / "before.log",
                                 args.before.resolve()), load())
    out = folder / "ours"
    runs["ours"] = (*timed([sys.executable, *command, "--out", str(out)], folder / "ours.log"), load())
    summary = json.loads((out / "summary.json").read_text())

    table = pd.read_csv(manifest, dtype=str)
    py_manifest = folder / "pyradiomics.csv"
    rows = [{"ID": f"{r.case_id}_{region}", "Image": r.image,
             "Mask": str(out / "cases" / r.case_id / "regions" / f"{region}.nrrd")}
            for r in table.itertuples() for region in REGION_NAMES]
    pd.DataFrame(rows).to_csv(py_manifest, index=False)
    configurations = {"PyRadiomics defaults": preset.path, "PyRadiomics preCrop": best_params(preset.path, folder)}
    wanted = {"both": configurations, "none": {}, "defaults": ["PyRadiomics defaults"],
              "precrop": ["PyRadiomics preCrop"]}[args.pyradiomics]
    for name, params in configurations.items():
        if name in wanted:
            # PyRadiomics' own batch CLI, run by this interpreter (its script's shebang may name another venv).
            tag = name.split()[-1]
            runs[name] = (*timed([sys.executable, str(Path(sys.executable).parent / "pyradiomics"),
                                  str(py_manifest), "--jobs", str(args.jobs), "--param", str(params),
                                  "-o", str(folder / f"pyradiomics_{tag}.csv"), "-f", "csv"],
                                 folder / f"pyradiomics_{tag}.log"), load())

    stages = stage_table(out)
    start_s = worker_start_seconds()
    merge_s = merge_seconds(manifest, out)
    n = len(table)
    ours_wall, _, ours_cpu, _ = runs["ours"]
    print(f"{'run':22s} {'wall s':>8s} {'cases/h':>8s} {'CPU s':>8s} {'cases/h of 2 cores CPU':>24s} "
          f"{'largest MB':>10s} {'ours faster (CPU)':>18s}  load after")
    for name, (wall, peak, cpu, load_after) in runs.items():
        print(f"{name:22s} {wall:8.1f} {3600 * n / wall:8.0f} {cpu:8.1f} {2 * 3600 * n / cpu:24.0f} "
              f"{peak:10.0f} {cpu / ours_cpu:17.1f}x  {load_after}")
    print(f"{'peak memory per worker (MB)':40s} {summary['worker_peak_rss_mb']:8.0f}  target <= 1,024 MB; "
          "target >= 2,000 cases/h on 2 cores")
    print("per case per worker (mean wall s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
          + f"; total {sum(stages.values()):.2f}")
    print(f"per run: worker start {start_s:.2f} s (spawn + imports, once per worker), merge {merge_s:.2f} s")
    for tag in ("defaults", "preCrop"):
        theirs = folder / f"pyradiomics_{tag}.csv"
        if theirs.exists():
            print(f"agreement with PyRadiomics {tag}: {agreement(out / 'features_wide.csv', theirs)}", flush=True)
    print(f"load average at end: {load()}; work folder: {folder}", flush=True)


if __name__ == "__main__":
    main()
