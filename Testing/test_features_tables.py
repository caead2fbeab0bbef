"""extract_case outputs: table contracts, diagnostics apart, degenerate regions, bad input."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import featureextractor

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.features import extract_case, load_preset
from TMERadiomicsLib.features.catalogue import feature_names
from TMERadiomicsLib.regions import build


@pytest.fixture(scope="module", autouse=True)
def quiet_radiomics():
    logging.getLogger("radiomics").setLevel(logging.CRITICAL)


def _image(shape=(16, 40, 40), seed=3):
    rng = np.random.default_rng(seed)
    image = sitk.GetImageFromArray(rng.integers(100, 400, size=shape).astype(np.int16))
    image.SetSpacing((0.8, 0.8, 1.5))
    return image


def _mask(image, array):
    mask = sitk.GetImageFromArray(array.astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def _ball(shape=(16, 40, 40), radius=6.0):
    z, y, x = np.indices(shape)
    return (z - 8) ** 2 * 2 + (y - 20) ** 2 + (x - 20) ** 2 <= radius**2


@pytest.fixture(scope="module")
def case():
    image = _image()
    tumour = _mask(image, _ball())
    regions = build(tumour, image)
    return image, regions, extract_case(image, regions, "default", case_id="P001")


def test_wide_table_contract(case):
    _, regions, result = case
    wide = result.wide()
    names = feature_names(load_preset("default"))
    assert list(wide.columns[:4]) == ["case_id", "region", "preset", "preset_sha256"]
    assert list(wide.columns[4:]) == names
    assert list(wide["region"]) == ["intratumoral", "peritumoral", "ring"]
    assert set(wide["case_id"]) == {"P001"} and set(wide["preset_sha256"]) == {load_preset("default").sha256}
    assert "original_glrlm_LongRunEmphasis" in wide.columns
    assert result.failures == [] and result.failures_csv() == result.failures_table().to_csv(index=False)


def test_combined_and_tidy_views(case):
    _, _, result = case
    combined = result.combined()
    n = len(result.feature_names)
    assert combined.shape == (1, 3 + 3 * n)
    assert list(combined.columns[:3]) == ["case_id", "preset", "preset_sha256"]
    assert combined.loc[0, "Peri_original_firstorder_Mean"] == result.value("peritumoral", "original_firstorder_Mean")
    assert {c.split("_", 1)[0] for c in combined.columns[3:]} == {"Intra", "Peri", "Ring"}
    tidy = result.tidy()
    assert list(tidy.columns) == ["case_id", "region", "feature", "value"] and len(tidy) == 3 * n


def test_diagnostics_kept_apart(case):
    _, regions, result = case
    diagnostics = result.diagnostics
    assert diagnostics["preset_sha256"] == load_preset("default").sha256
    assert diagnostics["voxels"]["intratumoral"] == int(sitk.GetArrayViewFromImage(regions.masks["intratumoral"]).sum())
    assert "pyradiomics" in diagnostics["versions"]
    assert not any(name.startswith("diagnostics") for name in result.feature_names)


def test_regions_object_equals_plain_mapping(case):
    image, regions, result = case
    again = extract_case(image, dict(regions.masks), "default", case_id="P001")
    assert again.wide().equals(result.wide())


def test_single_voxel_and_empty_regions_get_nan_with_reason():
    image = _image()
    one = np.zeros((16, 40, 40), bool)
    one[8, 20, 20] = True
    masks = {"intratumoral": _mask(image, _ball()), "tiny": _mask(image, one),
             "empty": _mask(image, np.zeros_like(one))}
    # Issue 20: by default a one-voxel region is refused, naming it, the case and its voxel count ...
    with pytest.raises(InputError, match=r"case case: region tiny has 1 voxel, too few.*--allow-small-regions"):
        extract_case(image, masks, "default")
    # ... and allowed, it gets NaN features with the recorded reason (an empty region always does).
    result = extract_case(image, masks, "default", allow_small_regions=True)
    assert all(math.isnan(v) for v in result.values["tiny"].values())
    assert all(math.isnan(result.value("empty", n)) for n in result.feature_names)
    reasons = result.failures_table().set_index("region")["reason"]
    assert "1 segmented voxel" in reasons["tiny"] and "No labels" in reasons["empty"]
    assert not any(math.isnan(v) for v in result.values["intratumoral"].values())


def test_csv_text_is_what_pandas_writes():
    """``wide_csv``/``combined_csv`` (no pandas) must equal ``to_csv(index=False)`` byte for byte."""
    image = _image()
    one = np.zeros((16, 40, 40), bool)
    one[8, 20, 20] = True
    masks = {"intratumoral": _mask(image, _ball()), "tiny, \"odd\" name": _mask(image, one)}
    result = extract_case(image, masks, "default", case_id='P,"7"', allow_small_regions=True)
    assert result.nan_count() == len(result.feature_names)  # the one-voxel region is all NaN
    assert result.wide_csv() == result.wide().to_csv(index=False)
    assert result.combined_csv() == result.combined().to_csv(index=False)
    assert result.nan_count() == int(result.wide().iloc[:, 4:].isna().sum().sum())
    assert result.failure_records() == result.failures_table().to_dict(orient="records")
    assert result.failures_csv() == result.failures_table().to_csv(index=False)
    assert result.failures_csv().count("\n") == 1 + len(result.failures) > 1


def test_csv_text_formats_floats_as_pandas():
    import pandas as pd

    from TMERadiomicsLib.features.tables import csv_text

    rng = np.random.default_rng(0)
    floats = list(rng.standard_normal(2000) * 10.0 ** rng.integers(-30, 30, 2000))
    floats += [1e-5, 1e16, 1e15, 1.2345678901234568e17, -0.0, 0.0, 100.0, 5e-324, math.inf, -math.inf, math.nan,
               0.1 + 0.2, 1.7976931348623157e308]
    text = [f"t{i}" for i in range(len(floats))]
    text[:3] = ["a,b", 'say "x"', "two\nlines"]
    frame = pd.DataFrame({"value": floats, "numpy": np.asarray(floats), "text": text})
    rows = [[v, np.float64(v), t] for v, t in zip(floats, text)]
    assert csv_text(list(frame.columns), rows) == frame.to_csv(index=False)


def test_flat_region_as_pyradiomics():
    image = _image()
    array = sitk.GetArrayFromImage(image)
    ball = _ball()
    array[ball] = 250
    flat = sitk.GetImageFromArray(array)
    flat.CopyInformation(image)
    mask = _mask(flat, ball)
    ours = extract_case(flat, {"flat": mask}, "default").values["flat"]
    extractor = featureextractor.RadiomicsFeatureExtractor(str(load_preset("default").path))
    theirs = {k: float(v) for k, v in extractor.execute(flat, mask).items() if not k.startswith("diagnostics")}
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        assert (math.isnan(value) and math.isnan(ours[name])) or ours[name] == pytest.approx(value, rel=1e-9), name
    assert abs(ours["original_firstorder_Entropy"]) < 1e-12  # one grey level


def test_mask_of_other_geometry_is_input_error():
    image = _image()
    mask = _mask(image, _ball())
    mask.SetOrigin((5.0, 0.0, 0.0))
    with pytest.raises(InputError, match="intratumoral.*geometry"):
        extract_case(image, {"intratumoral": mask}, "default", case_id="P9")


def test_unknown_preset_is_input_error():
    image = _image()
    with pytest.raises(InputError, match="unknown preset"):
        extract_case(image, {"intratumoral": _mask(image, _ball())}, "nope")
