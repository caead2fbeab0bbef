#!/usr/bin/env python3
"""Set up the project's virtual environment and run its two main jobs.

    python3 tasks.py demo [DEMO ARGS]   set up, then run the end-to-end demo
                                        (default: --out demo-output --overwrite, so
                                        a second run replaces the first one's files)
    python3 tasks.py test [PYTEST ARGS] set up, then run every test

Only Python 3.11+ is needed on the machine: the first run creates ``.venv``
and installs the package with its test dependencies from the package
registry; later runs reinstall only when ``pyproject.toml`` changed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tmeradiomics-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _requirements_hash() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"tasks.py: Python 3.11 or newer is required, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"tasks.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _requirements_hash()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("tasks.py: installing TMERadiomicsLib and its dependencies", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    setup()
    env = dict(os.environ, MPLBACKEND="Agg")
    if job == "setup":
        return 0
    if job == "test":
        command = [str(BIN / "python"), "-m", "pytest", *rest]
    else:
        command = [str(BIN / "tmeradiomics"), "demo", *(rest or _default_demo_args())]
    # The job is in our process group, so Ctrl-C reaches it and it cleans up and
    # exits 130 on its own; subprocess.run would SIGKILL it 0.25 s into that cleanup
    # (leaving the demo's staging folder) and print a traceback. So only wait.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def _default_demo_args() -> list[str]:
    out = ROOT / "demo-output"
    if out.exists():
        print(f"tasks.py: running the demo into {out}, replacing the previous run's files "
              "(give --out DIR to keep them)", flush=True)
    else:
        print(f"tasks.py: running the demo into {out}", flush=True)
    return ["--out", str(out), "--overwrite"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
