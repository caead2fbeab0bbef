"""Benchmark: cohort throughput of ``tmeradiomics batch`` against PyRadiomics' own batch CLI.

    python benchmarks/batch.py [--cases 8] [--pyradiomics-cases N] [--jobs 2] [--keep DIR]

Writes ``--cases`` full-size phantoms (448 x 448 x 160) to a temporary
folder, runs ``tmeradiomics batch --preset qian2024 --jobs 2`` on them, then
``pyradiomics MANIFEST.csv --jobs 2 --param qian2024.yaml`` with one manifest
row per region, using the very region masks our run wrote, so both extract
the same regions with the same settings. Prints throughput (cases per hour)
of both, their ratio and the peak memory of the largest worker process.
Targets: >= 20x throughput, < 1.5 GB per worker.

PyRadiomics' batch can take many minutes per case at full size;
``--pyradiomics-cases`` times it on the first N cases only (throughput is
per case, so the ratio stays comparable; the output says so).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from TMERadiomicsLib.features.presets import load_preset
from TMERadiomicsLib.phantom import make_phantom, write_phantom
from TMERadiomicsLib.regions import REGION_NAMES

# Runs a command and reports the peak RSS of its largest descendant (ru_maxrss
# of RUSAGE_CHILDREN covers every waited-for child and grandchild).
PEAK_WRAPPER = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.run(sys.argv[1:]).returncode;"
    "print(json.dumps({'rc': rc, 'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}),"
    " file=sys.stderr)"
)


def write_cases(folder: Path, count: int) -> Path:
    rows = []
    for seed in range(count):
        started = time.perf_counter()
        case = folder / f"case{seed:02d}"
        case.mkdir(parents=True)
        write_phantom(make_phantom("full", seed), case)
        rows.append({"case_id": f"C{seed:02d}", "image": f"{case.name}/image.nrrd",
                     "mask": f"{case.name}/tumour.nrrd", "exclude": f"{case.name}/vessels.nrrd"})
        print(f"phantom {seed}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--pyradiomics-cases", type=int, help="time PyRadiomics on the first N cases (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tmeradiomics-batch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = write_cases(folder, args.cases)
    preset = load_preset("qian2024")

    out = folder / "ours"
    ours_s, ours_peak = timed([sys.executable, "-m", "TMERadiomicsLib", "batch", str(manifest), "--preset",
                               "qian2024", "--out", str(out), "--jobs", str(args.jobs)], folder / "ours.json")
    summary = json.loads((out / "summary.json").read_text())
    ours_rate = 3600 * summary["completed"] / ours_s
    print(f"tmeradiomics batch: {summary['completed']}/{args.cases} cases in {ours_s:.0f} s = "
          f"{ours_rate:.0f} cases/h; worker peak {summary['worker_peak_rss_mb']:.0f} MB "
          f"(largest process {ours_peak:.0f} MB)", flush=True)

    table = pd.read_csv(manifest, dtype=str)
    n_py = min(args.pyradiomics_cases or args.cases, args.cases)
    py_manifest = folder / "pyradiomics.csv"
    rows = [{"ID": f"{r.case_id}_{region}", "Image": str(folder / r.image),
             "Mask": str(out / "cases" / r.case_id / "regions" / f"{region}.nrrd")}
            for r in table.head(n_py).itertuples() for region in REGION_NAMES]
    pd.DataFrame(rows).to_csv(py_manifest, index=False)
    py_s, py_peak = timed([str(Path(sys.executable).parent / "pyradiomics"), str(py_manifest), "--jobs",
                           str(args.jobs), "--param", str(preset.path), "-o", str(folder / "pyradiomics_out.csv"),
                           "-f", "csv"], folder / "pyradiomics.log")
    py_rate = 3600 * n_py / py_s
    print(f"pyradiomics batch:  {n_py} cases ({3 * n_py} region rows) in {py_s:.0f} s = {py_rate:.1f} cases/h; "
          f"largest process {py_peak:.0f} MB", flush=True)
    print(f"throughput ratio: {ours_rate / py_rate:.1f}x (target >= 20x); "
          f"peak per worker: ours {summary['worker_peak_rss_mb']:.0f} MB (target < 1536 MB)", flush=True)
    print(f"agreement: {agreement(out / 'features_wide.csv', folder / 'pyradiomics_out.csv')}", flush=True)
    print(f"work folder: {folder}", flush=True)


if __name__ == "__main__":
    main()
