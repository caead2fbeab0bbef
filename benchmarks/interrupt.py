"""Benchmark: seconds from Ctrl-C (or SIGTERM) to exit for ``batch`` and ``demo``.

    python benchmarks/interrupt.py [--cases 12] [--size small] [--jobs 2] [--demo-cases 50]

Each command runs as a shell's foreground job (own process group, default
signal handlers). Ctrl-C is SIGINT to the whole group, as a terminal sends
it; SIGTERM goes to the command's process only, as ``kill PID`` does. The
signal is sent once the command is busy with workers: after the first
finished batch case, and for the demo after the first finished case of its
feature step (its cohort is written first). Prints per run the exit code,
the seconds from signal to exit, staging folders left behind and processes
of the job still alive 5 s later. Target (issue 14): <= 2 s, exit 130,
nothing left.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil

from TMERadiomicsLib.cohort.phantom import make_phantom, write_phantom

SMALL_PRESET = "imageType:\n  Original: {}\nfeatureClass:\n  shape:\n  firstorder:\n  glcm:\n  glszm:\nsetting:\n  binWidth: 25\n"
WAIT_S = 1800


def _foreground() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def measure(argv: list[str], ready, signum: int, group: bool, where: Path) -> dict[str, object]:
    """Start, wait for ``ready()``, signal, time the exit, look for leftovers."""
    log = where / f"stderr-{len(list(where.glob('stderr-*')))}.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr,
                                   start_new_session=True, preexec_fn=_foreground)
    deadline = time.monotonic() + WAIT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{argv[3]} ended or stalled before the signal; see {log}")
        time.sleep(0.05)
    family = psutil.Process(process.pid).children(recursive=True)
    sent = time.monotonic()
    (os.killpg if group else os.kill)(process.pid, signum)
    code = process.wait()
    seconds = time.monotonic() - sent
    _, alive = psutil.wait_procs(family, timeout=5)
    lines = [line for line in log.read_text().replace("\r", "\n").splitlines() if line.strip()]
    return {"command": argv[3], "signal": signal.Signals(signum).name + (" to group" if group else " to pid"),
            "exit": code, "seconds": round(seconds, 2),
            "staging_left": len([p for p in where.rglob("*") if ".partial-" in p.name]),
            "alive_after_5s": len(alive), "traceback": "Traceback" in log.read_text(),
            "last_line": lines[-1][:160] if lines else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=12, help="batch cases (default: %(default)s)")
    parser.add_argument("--size", default="small", choices=["small", "full"], help="phantom size")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--demo-cases", type=int, default=50, help="demo cohort size (default: %(default)s)")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "TMERadiomicsLib"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        manifest = _cohort(root, args.cases, args.size)
        (root / "small.yaml").write_text(SMALL_PRESET)
        for k, (signum, group) in enumerate([(signal.SIGINT, True), (signal.SIGTERM, False)]):
            out = root / f"batch{k}"
            argv = [*cli, "batch", str(manifest), "--preset", str(root / "small.yaml"), "--out", str(out),
                    "--jobs", str(args.jobs)]
            rows.append(measure(argv, lambda out=out: any(out.glob("cases/*/status.json")), signum, group, root))
        for k, (signum, group) in enumerate([(signal.SIGINT, True), (signal.SIGTERM, False)]):
            out = root / f"demo{k}"
            argv = [*cli, "demo", "--cases", str(args.demo_cases), "--out", str(out)]
            ready = (lambda k=k: any(root.glob(f".demo{k}.partial-*/features/cases/*/status.json")))
            rows.append(measure(argv, ready, signum, group, root))
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _cohort(root: Path, cases: int, size: str) -> Path:
    rows = []
    for seed in range(cases):
        folder = root / "data" / f"p{seed}"
        folder.mkdir(parents=True)
        write_phantom(make_phantom(size, seed), folder)
        rows.append({"case_id": f"P{seed:03d}", "image": str(folder / "image.nrrd"), "mask": str(folder / "tumour.nrrd")})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root / "manifest.csv"


if __name__ == "__main__":
    sys.exit(main())
