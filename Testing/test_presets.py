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
    assert len(names) == 1223  # docs/features.md explains the gap to the paper's 1,648
    assert count_by_image_type(load_preset("qian2024"))["Wavelet"] == 8 * 93


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
