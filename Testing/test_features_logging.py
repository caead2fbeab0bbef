"""PyRadiomics stays quiet in a library user's process unless the user's logging asks for it.

Each scenario runs in a fresh interpreter (logging and the import of
PyRadiomics are per process) that extracts a small synthetic case with every
texture class and LBP2D, and reports what reached stderr.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

CASE = textwrap.dedent("""
    import numpy as np, SimpleITK as sitk, yaml, pathlib, tempfile
    rng = np.random.default_rng(0)
    z, y, x = np.indices((16, 24, 24))
    ball = (z - 8) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 25
    image = sitk.GetImageFromArray((200 + 300 * ball + rng.normal(0, 40, ball.shape)).astype(np.int16))
    mask = sitk.GetImageFromArray(ball.astype(np.uint8))
    mask.CopyInformation(image)
    preset = pathlib.Path(tempfile.mkdtemp()) / "p.yaml"
    preset.write_text(yaml.safe_dump({
        "imageType": {"Original": {}, "Square": {}, "LBP2D": {"binWidth": 1}},
        "featureClass": {c: None for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
        "setting": {"binWidth": 25},
    }))
    result = extract_case(image, {"intratumoral": mask}, preset)
    print("features", len(result.feature_names))
""")


def _run(setup: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(setup) + CASE
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "features" in done.stdout
    return done


def test_library_user_gets_no_pyradiomics_output():
    done = _run("from TMERadiomicsLib.features import extract_case\n")
    assert done.stderr == ""


def test_application_logging_at_warning_still_quiet():
    # A typical application configuration must not turn PyRadiomics' routine
    # notes (logged as warnings for every class run) into output.
    done = _run("""
        import logging
        logging.basicConfig(level=logging.WARNING)
        from TMERadiomicsLib.features import extract_case
    """)
    assert "GLCM is symmetrical" not in done.stderr
    assert "radiomics" not in done.stderr


def test_user_raising_radiomics_logger_sees_its_messages():
    done = _run("""
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
        from TMERadiomicsLib.features import extract_case
        logging.getLogger("radiomics").setLevel(logging.DEBUG)
    """)
    assert "radiomics.glcm WARNING GLCM is symmetrical" in done.stderr
    assert "radiomics.glcm DEBUG Initializing feature class" in done.stderr
    # Through the application's handler only: PyRadiomics' own (bare "%(message)s") is gone.
    assert not any(line.startswith("GLCM is symmetrical") for line in done.stderr.splitlines())


def test_level_set_before_import_is_kept():
    done = _run("""
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
        logging.getLogger("radiomics").setLevel(logging.WARNING)
        from TMERadiomicsLib.features import extract_case
    """)
    assert "radiomics.glcm WARNING GLCM is symmetrical" in done.stderr
    assert "DEBUG Initializing feature class" not in done.stderr
