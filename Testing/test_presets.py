"""Bundled presets: valid for PyRadiomics, hashed, with the papers' feature sets."""

from __future__ import annotations

import hashlib

import pytest
from radiomics import featureextractor

from TMERadiomicsLib.errors import InputError
from TMERadiomicsLib.features import list_presets, load_preset
from TMERadiomicsLib.features.catalogue import count_by_image_type, feature_names

# Qian 2024, Table 2, as printed (R's make.names spelling and two typos:
# "glrIm" for glrlm, "RunVarianc" for RunVariance).
QIAN_TABLE2 = [
    "square_firstorder_Minimum", "wavelet.LLH_firstorder_Skewness", "lbp.2D_glszm_ZoneVariance",
    "wavelet.LLL_firstorder_10Percentile", "squareroot_firstorder_10Percentile",
    "wavelet.HLH_gldm_DependenceVariance", "wavelet.LLH_firstorder_Kurtosis",
    "wavelet.LLH_glrIm_LongRunEmphasis", "wavelet.HLL_glrIm_RunVarianc",
]


def _pyradiomics_name(printed: str) -> str:
    image, rest = printed.split("_", 1)
    name = image.replace(".", "-") + "_" + rest.replace("glrIm", "glrlm")
    return name + "e" if name.endswith("RunVarianc") else name


def test_bundled_presets_listed():
    assert {"qian2024", "han2024", "default"} <= set(list_presets())


@pytest.mark.parametrize("name", ["qian2024", "han2024", "default"])
def test_preset_loads_in_pyradiomics_and_hash_is_file_sha256(name):
    preset = load_preset(name)
    assert preset.name == name
    assert preset.sha256 == hashlib.sha256(preset.path.read_bytes()).hexdigest()
    extractor = featureextractor.RadiomicsFeatureExtractor(str(preset.path))
    assert extractor.enabledImagetypes == preset.image_types


def test_han2024_gives_479_features_per_region():
    preset = load_preset("han2024")
    names = feature_names(preset)
    by_class = {kind: sum(f"_{kind}_" in n for n in names) for kind in ("shape", "firstorder")}
    assert len(names) == 479
    assert by_class == {"shape": 14, "firstorder": 90}
    assert len(names) - 14 - 90 == 375
    assert preset.general["resampledPixelSpacing"] == [1.0, 1.0, 1.0] and preset.general["normalize"] is True


def test_qian2024_produces_every_table2_feature():
    names = set(feature_names(load_preset("qian2024")))
    missing = [printed for printed in QIAN_TABLE2 if _pyradiomics_name(printed) not in names]
    assert not missing
    assert len(names) == 1648  # the paper's count; docs/features.md gives the decomposition
    assert count_by_image_type(load_preset("qian2024"))["Wavelet"] == 8 * 86
    assert not any("_ngtdm_" in name for name in names)  # the paper lists no NGTDM


def test_preset_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_bytes(load_preset("default").path.read_bytes())
    preset = load_preset(path)
    assert preset.name == "mine" and preset.sha256 == load_preset("default").sha256


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("imageType: {Original: {}, Sobel: {}}\n", "Sobel"),
        ("featureClass: {glcm: , haralick: }\n", "haralick"),
        ("featureClass: {glcm: [NotAFeature]}\n", "NotAFeature"),
        ("setting: {binWidth: -3}\n", "binWidth"),
        ("setting: {binWidht: 3}\n", "binWidht"),
        ("imageType: {Original: {}\n", "YAML"),
        ("bogus: 1\n", "bogus"),
    ],
)
def test_bad_preset_names_the_key(tmp_path, text, named):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as error:
        load_preset(path)
    assert named in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_preset():
    with pytest.raises(InputError, match="unknown preset 'nope'.*qian2024"):
        load_preset("nope")
    with pytest.raises(InputError, match="not found"):
        load_preset("/nonexistent/preset.yaml")


def test_qian2024_extracts_1648_features_per_region_with_the_papers_classes():
    """Extracted, not only listed: every region of a small two-region volume gets
    1,648 finite values, as many per class as docs/features.md decomposes."""
    import numpy as np
    import SimpleITK as sitk

    from TMERadiomicsLib.features import extract_case

    from shapes import sphere_mask

    inner = sphere_mask(5.0, (1.0, 1.0, 1.0), half_extent_mm=14.0)
    outer = sphere_mask(8.0, (1.0, 1.0, 1.0), half_extent_mm=14.0)
    rng = np.random.default_rng(0)
    array = 200.0 + 40.0 * rng.standard_normal(sitk.GetArrayViewFromImage(inner).shape)
    array += 300.0 * sitk.GetArrayViewFromImage(inner)
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(inner)
    ring = sitk.And(outer, sitk.Not(inner))
    values = extract_case(image, {"intratumoral": inner, "peritumoral": ring}, "qian2024", case_id="Q").values
    per_class = {"shape": 14, "firstorder": 19 * 18, "glcm": 19 * 22, "glrlm": 19 * 16, "glszm": 19 * 16,
                 "gldm": 19 * 14, "ngtdm": 0}
    for region, features in values.items():
        assert len(features) == 1648, region
        assert {kind: sum(f"_{kind}_" in name for name in features) for kind in per_class} == per_class
        images = {name.split("_")[0] for name in features}
        assert len(images) == 19 and {"log-sigma-2-0-mm-3D", "exponential", "gradient", "lbp-2D"} <= images
        assert all(np.isfinite(value) for value in features.values()), region
