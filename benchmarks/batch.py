"""Benchmark: cohort throughput of ``tmeradiomics batch`` against PyRadiomics' own batch CLI, on the same cases.

    python benchmarks/batch.py [--cases 8] [--jobs 2] [--keep DIR]

Uses ``--cases`` full-size phantoms (448 x 448 x 160; seeds 0..N-1, generated
once and cached by ``phantom_cache.py``), runs ``tmeradiomics batch --preset
qian2024 --jobs 2`` on them (vessels excluded, masks written: the defaults),
then ``pyradiomics MANIFEST.csv --jobs 2 --param qian2024.yaml`` on ALL the
same cases, one manifest row per region, using the very region masks our run
wrote, so both extract the same regions with the same settings. Prints both
throughputs (cases per hour) and their ratio, the peak memory per worker, the
per-stage breakdown of our run (read, regions, extract, writing tables and
masks per case; worker start; merge) and the machine's load average.
Targets: >= 2,500 cases/h on 2 cores, <= 1.0 GB per worker.
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
from phantom_cache import cached_case

from TMERadiomicsLib.features.presets import load_preset
from TMERadiomicsLib.regions import REGION_NAMES

# Runs a command and reports the peak RSS of its largest descendant (ru_maxrss
# of RUSAGE_CHILDREN covers every waited-for child and grandchild).
PEAK_WRAPPER = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.run(sys.argv[1:]).returncode;"
    "print(json.dumps({'rc': rc, 'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}),"
    " file=sys.stderr)"
)


def write_manifest(folder: Path, count: int) -> Path:
    rows = []
    for seed in range(count):
        case = cached_case("full", seed)
        rows.append({"case_id": f"C{seed:02d}", "image": str(case / "image.nrrd"),
                     "mask": str(case / "tumour.nrrd"), "exclude": str(case / "vessels.nrrd")})
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


def timed(argv: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, peak MB of the largest descendant process)."""
    started = time.perf_counter()
    with log.open("w") as handle:
        done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *argv], stdout=handle,
                              stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    report = json.loads(done.stderr.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise SystemExit(f"{argv[0:3]} failed with exit code {report['rc']}; see {log}")
    return seconds, report["peak_mb"]


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
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tmeradiomics-batch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = write_manifest(folder, args.cases)
    preset = load_preset("qian2024")
    print(f"load average at start: {load()}; cores {os.cpu_count()}", flush=True)

    out = folder / "ours"
    ours_s, ours_peak = timed([sys.executable, "-m", "TMERadiomicsLib", "batch", str(manifest), "--preset",
                               "qian2024", "--out", str(out), "--jobs", str(args.jobs), "--overwrite"],
                              folder / "ours.log")
    load_ours = load()
    summary = json.loads((out / "summary.json").read_text())
    ours_rate = 3600 * summary["completed"] / ours_s

    table = pd.read_csv(manifest, dtype=str)
    py_manifest = folder / "pyradiomics.csv"
    rows = [{"ID": f"{r.case_id}_{region}", "Image": r.image,
             "Mask": str(out / "cases" / r.case_id / "regions" / f"{region}.nrrd")}
            for r in table.itertuples() for region in REGION_NAMES]
    pd.DataFrame(rows).to_csv(py_manifest, index=False)
    # PyRadiomics' own batch CLI, run by this interpreter (its script's shebang may name another venv).
    py_s, py_peak = timed([sys.executable, str(Path(sys.executable).parent / "pyradiomics"), str(py_manifest), "--jobs",
                           str(args.jobs), "--param", str(preset.path), "-o", str(folder / "pyradiomics_out.csv"),
                           "-f", "csv"], folder / "pyradiomics.log")
    load_py = load()
    py_rate = 3600 * len(table) / py_s

    stages = stage_table(out)
    start_s = worker_start_seconds()
    merge_s = merge_seconds(manifest, out)
    worker_mb = summary["worker_peak_rss_mb"]
    print(f"{'figure':40s} {'ours':>12s} {'PyRadiomics':>12s} {'ratio':>7s}  target")
    print(f"{'cases/h, --jobs %d, %d full cases' % (args.jobs, len(table)):40s} {ours_rate:12.0f} {py_rate:12.1f} "
          f"{ours_rate / py_rate:6.1f}x  >= 2,500 cases/h")
    print(f"{'wall time of the run (s)':40s} {ours_s:12.1f} {py_s:12.1f}")
    print(f"{'peak memory per worker (MB)':40s} {worker_mb:12.0f} {'':>12s} {'':>7s}  <= 1,024 MB")
    print(f"{'largest process (MB)':40s} {ours_peak:12.0f} {py_peak:12.0f}")
    print("per case per worker (mean s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items())
          + f"; total {sum(stages.values()):.2f}")
    print(f"per run: worker start {start_s:.2f} s (spawn + imports, once per worker), merge {merge_s:.2f} s")
    print(f"load average: start of ours ... end of ours {load_ours}; end of PyRadiomics {load_py}")
    print(f"agreement: {agreement(out / 'features_wide.csv', folder / 'pyradiomics_out.csv')}", flush=True)
    print(f"work folder: {folder}", flush=True)


if __name__ == "__main__":
    main()
