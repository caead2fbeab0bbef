"""extract_case against PyRadiomics' published feature baselines.

For the plain ``breast1``, ``brain1`` and ``lung1`` columns of
``baseline_<class>.csv``, every feature of every class must match its
baseline with the upstream tolerance (|1 - value/baseline| < 0.03, or both
0), computed through ``extract_case`` with the settings stored in that
column's diagnostics rows.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from TMERadiomicsLib.features import extract_case

CASES = ("breast1", "brain1", "lung1")
CLASSES = ("firstorder", "glcm", "gldm", "glrlm", "glszm", "ngtdm", "shape")
UPSTREAM_TOLERANCE = 0.03


def _baseline(pyradiomics_data: Path, feature_class: str) -> pd.DataFrame:
    return pd.read_csv(pyradiomics_data / "baseline" / f"baseline_{feature_class}.csv", index_col=0)


def _preset_for(column: pd.Series, feature_class: str, features: list[str], folder: Path) -> Path:
    """The column's stored settings as a PyRadiomics parameter file."""
    settings = ast.literal_eval(column["diagnostics_Configuration_Settings"])
    settings = {k: v for k, v in settings.items() if v is not None and k != "additionalInfo"}
    image_types = ast.literal_eval(column["diagnostics_Configuration_EnabledImageTypes"])
    params = {"imageType": image_types, "featureClass": {feature_class: features}, "setting": settings}
    path = folder / f"{column.name}_{feature_class}.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _matches(value: float, baseline: float) -> bool:
    if value == 0 and baseline == 0:
        return True
    if baseline == 0 or math.isnan(value) or math.isnan(baseline):
        return False
    return abs(1 - value / baseline) < UPSTREAM_TOLERANCE


@pytest.fixture(scope="module")
def case_images(pyradiomics_data: Path) -> dict[str, tuple[sitk.Image, sitk.Image]]:
    return {
        case: (sitk.ReadImage(str(pyradiomics_data / f"{case}_image.nrrd")),
               sitk.ReadImage(str(pyradiomics_data / f"{case}_label.nrrd")))
        for case in CASES
    }


@pytest.mark.parametrize("case", CASES)
def test_every_class_matches_baseline(case, case_images, pyradiomics_data, tmp_path):
    image, label = case_images[case]
    checked, mismatches, largest = 0, [], (0.0, "")
    for feature_class in CLASSES:
        table = _baseline(pyradiomics_data, feature_class)
        if case not in table.columns:
            continue
        column = table[case]
        rows = [name for name in table.index if not name.startswith("diagnostics_")]
        features = [name.split("_", 2)[2] for name in rows]
        preset = _preset_for(column, feature_class, features, tmp_path)
        result = extract_case(image, {case: label}, preset, case_id=case)
        for name in rows:
            value, baseline = result.value(case, name), float(column[name])
            checked += 1
            if not _matches(value, baseline):
                mismatches.append((name, value, baseline))
            elif baseline != 0:
                largest = max(largest, (abs(1 - value / baseline), name))
    assert checked > 90, f"only {checked} features checked for {case}"
    assert not mismatches, f"{case}: {len(mismatches)} of {checked} outside tolerance: {mismatches[:5]}"
    print(f"{case}: {checked} features within tolerance; largest |1 - v/b| = {largest[0]:.2e} ({largest[1]})")
