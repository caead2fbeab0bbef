#!/usr/bin/env python3
"""Set up the project's virtual environments and run its two main jobs.

    python3 tasks.py demo [DEMO ARGS]   set up, then run the end-to-end demo
                                        (default: --out demo-output --overwrite, so
                                        a second run replaces the first one's files)
    python3 tasks.py test               set up, then run every test job (what CI runs): the
                                        compatibility jobs beside the 3.11 suite
    python3 tasks.py test PYTEST ARGS   only the Python 3.11 suite, narrowed by ARGS
    python3 tasks.py compat [JOB ...]   only the Python 3.9 / 3.12 jobs (names below)

Only Python 3.11+ is needed to run this file. The first run creates ``.venv``
and installs the package with its test dependencies from the package
registry; later runs reinstall only when what an environment is built from
changed (a stamp file holds its hash).

``test`` also runs the jobs of the Slicer releases the module supports, each
in its own environment under ``~/.cache/tmeradiomics/compat/`` (or
``$TMERADIOMICS_COMPAT_CACHE``) built on pyenv's interpreters
(``PYENV_VERSION=3.9.18 python3.9``, ``PYENV_VERSION=3.12.1 python3.12``;
``TMERADIOMICS_PYTHON3_9`` / ``TMERADIOMICS_PYTHON3_12`` name another one):

- ``bare-5.8`` / ``bare-5.10`` / ``bare-5.12``: only what Slicer 5.8.1 (Python
  3.9), 5.10.0 and 5.12.3 (Python 3.12) ship, plus PyRadiomics as SlicerRadiomics
  ships it (``Testing/slicer_rig/requirements-slicer-*.txt``): the module loads
  and its panel sets up without pandas, scikit-learn, PyYAML or skops.
- ``lib-3.9`` / ``lib-5.10`` / ``lib-3.12``: the library with Slicer's numpy and
  scipy (5.8.1's; 5.10.0's numpy 2.0.2 and scipy 1.13.1; 5.12.3's), its
  version-sensitive tests; on 5.10 also the Widget tests, on 5.12 the Logic and Widget tests on slicer-core.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tmeradiomics-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# Outside the clone, keyed by what each environment is built from: a CI run in a fresh clone on the
# same machine reuses them (the library is taken from the clone through PYTHONPATH, never installed).
COMPAT = Path(os.environ.get("TMERADIOMICS_COMPAT_CACHE") or Path.home() / ".cache" / "tmeradiomics" / "compat")
PROJECT = ("project",)  # a Job's requirements: the package's dependencies and its test extra
RIG = ROOT / "Testing" / "slicer_rig"
PIP_QUIET = ["--disable-pip-version-check", "-q"]

# What each job must prove, not the whole suite: the 3.11 run has that.
LIBRARY_TESTS = [
    "Testing/test_library_imports.py", "Testing/test_phantom.py", "Testing/test_regions_spheres.py",
    "Testing/test_preprocessing.py", "Testing/test_presets.py", "Testing/test_features_baseline.py",
    "Testing/test_ibsi.py", "Testing/test_models_bundle.py", "Testing/test_outputs.py", "Testing/test_icc.py",
    "Testing/test_segfile.py", "Testing/test_lasso_sparsity.py", "Testing/test_dicom_support.py",
    "Testing/test_features_mesh.py",  # our shape formulas against PyRadiomics C code, on each numpy
]
# 5.10 differs from 5.12 in its package set (numpy 2.0.2, no slicer.packaging), which the library and the
# Widget meet; the Logic on slicer-core is the same code on the same Python, run by lib-3.12 (suite time).
WIDGET_TESTS = ["Testing/test_slicer_widget.py", "Testing/test_slicer_widget_runs.py"]
SLICER_TESTS = ["Testing/test_slicer_logic.py", "Testing/test_slicer_widget.py", "Testing/test_slicer_batch.py",
                "Testing/test_slicer_lesions.py", "Testing/test_slicer_grids.py", "Testing/test_slicer_colours.py",
                "Testing/test_slicer_worker.py", "Testing/test_slicer_widget_runs.py"]


@dataclass(frozen=True)
class Job:
    name: str
    python: str  # pyenv version
    requirements: tuple  # pip arguments
    constraints: str  # Slicer's own numpy, scipy, SimpleITK: never replaced
    tests: tuple
    bare_slicer: str = ""  # the Slicer release a bare job stands for (TMERADIOMICS_BARE_SLICER)

    def pip_arguments(self) -> list:
        if self.requirements != PROJECT:
            return list(self.requirements)
        import tomllib

        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        return [*project["dependencies"], *project["optional-dependencies"]["test"]]

    def built_from(self) -> str:
        """Hash of what the environment is built from (not of the tests its job runs)."""
        sources = [RIG / self.constraints] + ([RIG / self.requirements[1]] if self.requirements[0] == "-r" else [])
        return _hash(*sources, extra=f"{self.python} {self.pip_arguments()}")

    @property
    def venv(self) -> Path:
        return COMPAT / f"{self.name}-{self.built_from()[:12]}"

    @property
    def python_bin(self) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin") / "python"


JOBS = (
    Job("bare-5.8", "3.9.18", ("-r", "requirements-slicer-5.8.1.txt"), "constraints-slicer-5.8.1.txt",
        ("Testing/test_slicer_bare.py",), "v5.8.1"),
    Job("lib-3.9", "3.9.18", PROJECT, "constraints-slicer-5.8.1.txt", tuple(LIBRARY_TESTS)),
    Job("bare-5.10", "3.12.1", ("-r", "requirements-slicer-5.10.0.txt"), "constraints-slicer-5.10.0.txt",
        ("Testing/test_slicer_bare.py",), "v5.10.0"),
    # The widget tests on 5.10.0's own runtime only: 5.8.1's and 5.12.3's run in lib-3.12 and the 3.11 suite.
    Job("lib-5.10", "3.12.1", PROJECT, "constraints-slicer-5.10.0.txt",
        tuple(LIBRARY_TESTS + WIDGET_TESTS + ["-k", "not v5.8.1 and not v5.12.3"])),
    Job("bare-5.12", "3.12.1", ("-r", "requirements-slicer-5.12.3.txt"), "constraints-slicer-5.12.3.txt",
        ("Testing/test_slicer_bare.py",), "v5.12.3"),
    Job("lib-3.12", "3.12.1", PROJECT, "constraints-slicer-5.12.3.txt",
        tuple(LIBRARY_TESTS + SLICER_TESTS)),
)


def _hash(*paths: Path, extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"tasks.py: Python 3.11 or newer is required, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"tasks.py: creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _hash(ROOT / "pyproject.toml")
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("tasks.py: installing TMERadiomicsLib and its dependencies", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", *PIP_QUIET]
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    # pip >= 25 shows the build backend's warnings; setuptools' "Editable installation" one is a notice
    # ("folders named like the package may shadow it"), and here that folder is the package itself.
    subprocess.run(pip + ["install", "-e", f"{ROOT}[test]"], check=True,
                   env=dict(os.environ, PYTHONWARNINGS=",".join(
                       filter(None, (os.environ.get("PYTHONWARNINGS"), "ignore:Editable installation")))))
    STAMP.write_text(wanted)


def _interpreter(version: str) -> list:
    """pyenv's interpreter of that version, or the one named by TMERADIOMICS_PYTHON<major_minor>."""
    short = ".".join(version.split(".")[:2])
    named = os.environ.get("TMERADIOMICS_PYTHON" + short.replace(".", "_"))
    command = [named] if named else [f"python{short}"]
    env = dict(os.environ, PYENV_VERSION=version)
    found = subprocess.run(command + ["-c", "import sys; print(sys.version.split()[0])"], env=env,
                           capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.startswith(short + "."):
        sys.exit(f"tasks.py: Python {short} not found ({' '.join(command)} with PYENV_VERSION={version}); "
                 f"install it with pyenv or set TMERADIOMICS_PYTHON{short.replace('.', '_')}")
    return command


def setup_job(job: Job) -> None:
    """Create the job's environment once; rebuild it only when its requirements changed."""
    stamp = job.venv / ".tmeradiomics-installed"
    wanted = job.built_from()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print(f"tasks.py: building {job.venv} (Python {job.python})", flush=True)
    started = time.monotonic()
    for old in COMPAT.glob(f"{job.name}-*"):  # earlier builds of this job, and a half-built one
        shutil.rmtree(old, ignore_errors=True)
    env = dict(os.environ, PYENV_VERSION=job.python)
    subprocess.run(_interpreter(job.python) + ["-m", "venv", str(job.venv)], env=env, check=True)
    pip = [str(job.python_bin), "-m", "pip", *PIP_QUIET]
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    # --no-compile: Python compiles what a job imports; byte-compiling all of vtk, Qt and scipy costs minutes.
    subprocess.run(pip + ["install", "--no-compile", "-c", job.constraints, *job.pip_arguments()], cwd=RIG,
                   check=True)
    stamp.write_text(wanted)
    print(f"tasks.py: built {job.venv} in {time.monotonic() - started:.0f} s", flush=True)


def run_job(job: Job, env: dict) -> int:
    setup_job(job)
    started = time.monotonic()
    print(f"tasks.py: job {job.name} (Python {job.python})", flush=True)
    env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    if job.bare_slicer:
        env = dict(env, TMERADIOMICS_BARE_SLICER=job.bare_slicer)
    code = subprocess.run([str(job.python_bin), "-m", "pytest", "-q", "-p", "no:cacheprovider", *job.tests],
                          cwd=ROOT, env=env).returncode
    print(f"tasks.py: job {job.name} exit {code} in {time.monotonic() - started:.0f} s", flush=True)
    return code


def run_jobs(names: list, env: dict) -> int:
    unknown = set(names) - {job.name for job in JOBS}
    if unknown:
        print(f"tasks.py: unknown job {', '.join(sorted(unknown))}; jobs: {', '.join(j.name for j in JOBS)}")
        return 2
    codes = [run_job(job, env) for job in JOBS if not names or job.name in names]
    return next((code for code in codes if code), 0)


def main(argv: list) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup", "compat"}:
        print(__doc__)
        return 2
    job, rest = argv[0], argv[1:]
    env = dict(os.environ, MPLBACKEND="Agg", QT_QPA_PLATFORM="offscreen")
    if job == "compat":
        return run_jobs(rest, env)
    setup()
    if job == "setup":
        return 0
    # The job is in our process group, so Ctrl-C reaches it and it cleans up and
    # exits 130 on its own; subprocess.run would SIGKILL it 0.25 s into that cleanup
    # (leaving the demo's staging folder) and print a traceback. So only wait.
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    if job == "demo":
        command = [str(BIN / "tmeradiomics"), "demo", *(rest or _default_demo_args())]
        return subprocess.run(command, cwd=ROOT, env=env).returncode
    if rest:
        return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT, env=env).returncode
    return run_everything(env)


def run_everything(env: dict) -> int:
    """The compatibility jobs and the 3.11 suite side by side, on the machine's two cores.

    One after the other they took 13.9 of the 15 minutes the suite may take;
    each is mostly one process, so together they take about the longer one.
    The 3.11 suite prints as it runs; the jobs (``tasks.py compat``, in their
    own process) write to a file that is printed when both are done, so
    their output never interleaves. Every job runs even when another fails,
    so CI reports them all; the closing lines give each part's result.
    Ctrl-C reaches both (one process group): each cleans up and exits 130.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        compat = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "compat"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        # The slowest tests' times in every CI log: the suite's 15-minute budget is planned from them.
        suite, last = _streamed([str(BIN / "python"), "-m", "pytest", "--durations=25"], env)
        compat_code = compat.wait()
        log.seek(0)
        sys.stdout.write(log.read())
    print(f"tasks.py: compatibility jobs exit {compat_code}", flush=True)
    print(f"tasks.py: Python 3.11 suite exit {suite}: {last}", flush=True)
    return suite or compat_code


def _streamed(command: list, env: dict) -> tuple[int, str]:
    """Run ``command`` with its output shown as it comes; (exit code, its last non-empty line)."""
    last = ""
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", bufsize=1) as process:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            last = line.strip() or last
    return process.returncode, last


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
