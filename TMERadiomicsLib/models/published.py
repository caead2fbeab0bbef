"""The published Qian 2024 M2-macrophage signatures, built into bundles.

Source: Qian et al., "Magnetic resonance imaging-based radiomics was used to
evaluate the level of prognosis-related immune cell infiltration in breast
cancer tumor microenvironment", BMC Medical Imaging 2024, Table 2
(coefficients) and Table 3 (metrics); each bundle carries a model card of
what the paper says of cohorts, sites and limits (``published_card``).
The numbers below are typed from Table 2 exactly as printed, with the paper's feature names; ``pyradiomics_name``
maps them to PyRadiomics names and the region prefix of the combined
features table. Regenerate the bundles with

    python -m TMERadiomicsLib.models.published Resources/Models

The paper publishes neither an intercept nor the feature means and standard
deviations, so radscore = sum(coef * z) and the bundles must be calibrated
on a reference cohort before they assign risk groups.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..features.presets import load_preset
from .bundle import ModelBundle
from .linear import LinearModel
from .manifest import Manifest
from .published_card import qian_card

CITATION = (
    "Qian et al. Magnetic resonance imaging-based radiomics was used to evaluate the level of "
    "prognosis-related immune cell infiltration in breast cancer tumor microenvironment. "
    "BMC Medical Imaging 2024."
)
PRESET = "qian2024"
VERSION = "1.0.0"

# Table 2 of Qian 2024, verbatim names (including the paper's "glrIm" and
# truncated "RunVarianc"). Sections (1) and (2) carry no region prefix: they
# are the peritumoral and the intratumoral model.
TABLE_2: dict[str, tuple[str, list[tuple[str, float]]]] = {
    "peritumoral": ("Peri_", [
        ("square_firstorder_Minimum", -0.481),
        ("wavelet.LLH_firstorder_Skewness", -0.350),
        ("lbp.2D_glszm_ZoneVariance", -0.186),
        ("wavelet.LLL_firstorder_10Percentile", -0.098),
        ("squareroot_firstorder_10Percentile", -0.064),
        ("wavelet.HLH_gldm_DependenceVariance", 0.071),
        ("wavelet.LLH_firstorder_Kurtosis", 0.093),
        ("wavelet.LLH_glrIm_LongRunEmphasis", 0.597),
    ]),
    "intratumoral": ("Intra_", [
        ("wavelet.HLL_glrIm_RunVarianc", 0.389),
    ]),
    "combined": ("", [
        ("Peri_square_firstorder_Minimum", -1.071),
        ("Peri_lbp.2D_glszm_ZoneVariance", -0.464),
        ("Peri_wavelet.LLH_firstorder_Skewness", -0.409),
        ("Peri_squareroot_firstorder_10Percentile", -0.168),
        ("Peri_wavelet.LLL_firstorder_10Percentile", -0.155),
        ("Peri_wavelet.HLH_gldm_DependenceVariance", 0.132),
        ("Intra_wavelet.HLL_glrIm_RunVarianc", 0.231),
        ("Peri_wavelet.LLH_firstorder_Kurtosis", 0.257),
        ("Peri_wavelet.LLH_glrIm_LongRunEmphasis", 0.784),
    ]),
}

# Table 3 of Qian 2024: AUC (95% CI), accuracy, sensitivity, specificity.
TABLE_3: dict[str, dict[str, dict[str, object]]] = {
    "intratumoral": {
        "training": {"n": 51, "auc": 0.662, "auc_ci": [0.495, 0.802], "accuracy": 0.667, "sensitivity": 0.680, "specificity": 0.654},
        "testing": {"n": 22, "auc": 0.678, "auc_ci": [0.438, 0.901], "accuracy": 0.682, "sensitivity": 0.636, "specificity": 0.727},
    },
    "peritumoral": {
        "training": {"n": 51, "auc": 0.826, "auc_ci": [0.710, 0.924], "accuracy": 0.804, "sensitivity": 0.600, "specificity": 1.000},
        "testing": {"n": 22, "auc": 0.752, "auc_ci": [0.525, 0.957], "accuracy": 0.773, "sensitivity": 0.727, "specificity": 0.818},
    },
    "combined": {
        "training": {"n": 51, "auc": 0.843, "auc_ci": [0.723, 0.938], "accuracy": 0.784, "sensitivity": 0.600, "specificity": 0.962},
        "testing": {"n": 22, "auc": 0.744, "auc_ci": [0.491, 0.965], "accuracy": 0.773, "sensitivity": 0.636, "specificity": 0.909},
    },
}

# The paper's names are R's make.names() spelling of PyRadiomics names
# ("-" became "."), plus two typesetting errors.
NAME_FIXES = (
    (r"^wavelet\.", "wavelet-"),
    (r"^lbp\.2D", "lbp-2D"),
    (r"_glrIm_", "_glrlm_"),
    (r"_RunVarianc$", "_RunVariance"),
)

INTENDED_USE = (
    "Research use only. Reproduces the published Qian 2024 LASSO signature for estimating "
    "high vs low M2-macrophage infiltration (CIBERSORT, cohort-median split) from DCE-MRI "
    "radiomics (second post-contrast phase). Not a medical device; not for diagnosis, "
    "treatment decisions or any individual patient's care. Developed on 51 TCGA/TCIA cases "
    "without external validation; the coefficients apply to z-scored features, so risk groups "
    "are relative to the calibration cohort and are not comparable across cohorts."
)
RISK_GROUPS = ["low M2 infiltration", "high M2 infiltration"]
REGIONS = {"peritumoral": ["peritumoral"], "intratumoral": ["intratumoral"],
           "combined": ["intratumoral", "peritumoral"]}


def pyradiomics_name(paper_name: str, prefix: str) -> str:
    """Map a Table 2 name to the combined table's column name."""
    region, bare = "", prefix + paper_name
    match = re.match(r"^(Intra_|Peri_)(.*)$", bare)
    if match:
        region, bare = match.groups()
    for pattern, replacement in NAME_FIXES:
        bare = re.sub(pattern, replacement, bare)
    return region + bare


def qian_bundle(model: str) -> ModelBundle:
    """The uncalibrated bundle of one Qian 2024 model (peritumoral, intratumoral, combined)."""
    prefix, rows = TABLE_2[model]
    mapping = {paper: pyradiomics_name(paper, prefix) for paper, _ in rows}
    coefficients = {mapping[paper]: coef for paper, coef in rows}
    preset = load_preset(PRESET)
    manifest = Manifest(
        name=f"qian2024-{model}",
        version=VERSION,
        estimator="linear",
        task={
            "type": "binary classification",
            "label": "M2 macrophage infiltration (CIBERSORT on RNA-seq), high vs low",
            "label_rule": "median split: above the cohort median is high (1)",
            "positive_class": RISK_GROUPS[1],
        },
        regions=REGIONS[model],
        preset={"name": preset.name, "sha256": preset.sha256},
        required_features=list(coefficients),
        files={},
        score="radscore",
        threshold=None,
        threshold_rule="median radscore of the calibration cohort (set by tmeradiomics calibrate)",
        risk_groups=RISK_GROUPS,
        normalisation={
            "status": "not-published",
            "rule": "z = (x - mean) / sd; the paper gives neither mean nor sd nor an intercept",
        },
        intended_use=INTENDED_USE,
        performance={"published": {"source": "Qian 2024 Table 3 (not reproduced here)", **TABLE_3[model]}},
        provenance={
            "source": CITATION,
            "table": f"Table 2 ({model})",
            "radscore": "sum of coefficient * z-scored feature; no intercept published",
            "name_mapping": mapping,
            "built_by": "TMERadiomicsLib.models.published",
        },
    )
    card = qian_card(model, list(coefficients), TABLE_3[model], manifest.normalisation, VERSION, CITATION)
    return ModelBundle(manifest, LinearModel(coefficients), card).with_file_hashes()


def write_published(out_root: Path, overwrite: bool = True) -> list[Path]:
    """Write the three Qian bundles under ``out_root``."""
    return [qian_bundle(model).save(out_root / f"qian2024-{model}", overwrite) for model in TABLE_2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the bundled Qian 2024 signatures.")
    parser.add_argument("out_root", type=Path, help="folder receiving qian2024-*/ (Resources/Models)")
    for path in write_published(parser.parse_args(argv).out_root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
