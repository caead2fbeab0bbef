"""Start-up: the parser is built without the command modules' heavy dependencies.

Each check runs a fresh interpreter and reads ``sys.modules`` there, so it
tests what a user's ``tmeradiomics`` process loads, not timings.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from TMERadiomicsLib.cli import COMMANDS

# What no command needs before it runs, and extract never needs at all.
HEAVY = ("dask", "sklearn", "skops", "lifelines", "statsmodels", "matplotlib")
# What extract needs only for some presets (scipy comes with scikit-image's LBP)
# or not at all: it writes its tables without pandas, and the phantom's scipy
# must not come in through a shared constant.
EXTRACT_ALSO_NOT = ("pandas", "scipy", "TMERadiomicsLib.cohort.phantom")
# What --help must not load either: it only formats text.
HELP_ALSO_NOT = ("pandas", "numpy", "SimpleITK", "radiomics", "scipy", "TMERadiomicsLib.demo",
                 "TMERadiomicsLib.batch", "TMERadiomicsLib.models", "TMERadiomicsLib.features")

_PROBE = """
import json, sys
from TMERadiomicsLib.cli import main
try:
    code = main({argv!r})
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in {names!r} if m in sys.modules)
print(json.dumps({{"code": code, "loaded": loaded}}), file=sys.stderr)
"""


def _probe(argv: list[str], names: tuple[str, ...]) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv, names=names)],
                          capture_output=True, text=True, timeout=300)
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_help_loads_no_heavy_module():
    result = _probe(["--help"], HEAVY + HELP_ALSO_NOT)
    assert result == {"code": 0, "loaded": []}


def test_every_command_module_is_light_at_import():
    names = tuple(f"TMERadiomicsLib.cli.{name}" for name in COMMANDS)
    code = ("import json, sys\n"
            f"for name in {names!r}: __import__(name)\n"
            f"print(json.dumps(sorted(m for m in {HEAVY + HELP_ALSO_NOT!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert json.loads(done.stdout) == []


def test_extract_runs_without_heavy_modules(case_files, tmp_path):
    out = tmp_path / "features.csv"
    argv = ["extract", str(case_files / "P1.nrrd"), str(case_files / "P1_tumour.nrrd"),
            "--preset", "default", "--regions", "intratumoral", "--out", str(out)]
    result = _probe(argv, HEAVY)
    assert result == {"code": 0, "loaded": []}
    assert out.is_file()


def test_extract_with_regions_built_loads_neither_pandas_nor_scipy(case_files, tmp_path):
    out = tmp_path / "features.csv"
    argv = ["extract", str(case_files / "P1.nrrd"), str(case_files / "P1_tumour.nrrd"),
            "--preset", "default", "--out", str(out)]
    result = _probe(argv, HEAVY + EXTRACT_ALSO_NOT)
    assert result == {"code": 0, "loaded": []}
    assert out.read_text().count("\nP1,") == 3  # intratumoral, peritumoral, ring


def test_lazy_defaults_are_the_library_values(capsys):
    from TMERadiomicsLib.cli import build_parser
    from TMERadiomicsLib.cli.lazy import resolve_defaults
    from TMERadiomicsLib.demo import DemoConfig
    from TMERadiomicsLib.dce import DEFAULT_PHASE
    from TMERadiomicsLib.store.connection import DEFAULT_TIMEOUT_S

    parser = build_parser()
    args = resolve_defaults(parser.parse_args(["regions", "i.nrrd", "m.nrrd", "--out", "o"]))
    assert args.phase == DEFAULT_PHASE and isinstance(args.phase, int)
    args = resolve_defaults(parser.parse_args(["demo"]))
    assert (args.cases, args.seed, args.held_out, args.jobs) == (
        DemoConfig.n_cases, DemoConfig.seed, DemoConfig.held_out, DemoConfig.jobs)
    args = resolve_defaults(parser.parse_args(["session", "list", "--db", "x.db"]))
    assert args.timeout == DEFAULT_TIMEOUT_S
    with pytest.raises(SystemExit):
        parser.parse_args(["phantom", "--out", "o", "--size", "huge"])
    assert "invalid choice: 'huge' (choose from 'full', 'small')" in capsys.readouterr().err


def test_a_batch_worker_imports_neither_pandas_nor_plotting_nor_models():
    """What a pool worker imports to run a case: every second of it is paid once per worker."""
    code = ("import json, sys\n"
            "import TMERadiomicsLib.batch.case\n"
            "print(json.dumps(sorted(m for m in ('pandas', 'matplotlib', 'sklearn', 'skops', 'dask', 'scipy')"
            " if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert json.loads(done.stdout) == []


def test_batch_without_models_loads_no_model_code(case_files, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"case_id,image,mask\nP1,{case_files / 'P1.nrrd'},{case_files / 'P1_tumour.nrrd'}\n")
    argv = ["batch", str(manifest), "--preset", "default", "--out", str(tmp_path / "out"), "--jobs", "1"]
    result = _probe(argv, ("sklearn", "skops", "matplotlib", "TMERadiomicsLib.models.bundle"))
    assert result == {"code": 0, "loaded": []}
    assert (tmp_path / "out" / "features_wide.csv").read_text().count("\nP1,") == 3


def test_the_models_package_names_load_on_use():
    code = ("import TMERadiomicsLib.models.calibration, TMERadiomicsLib.models as m\n"
            "from TMERadiomicsLib.models import calibrate, load_bundle, Manifest, FORMAT_VERSION\n"
            "assert callable(calibrate) and callable(load_bundle) and m.calibrate is calibrate\n"
            "assert set(m.__all__) <= set(dir(m))\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "ok", done.stderr
