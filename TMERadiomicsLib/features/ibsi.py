"""IBSI-1 digital phantom: IBSI feature tags mapped to PyRadiomics features.

``compare(ibsi_dir)`` extracts the phantom through ``extract_case`` (bin
width 1, so the grey levels 1, 3, 4, 6 are kept as they are; distance 1;
GLDM alpha 0) once in 3-D and once with ``force2D`` (PyRadiomics' in-slice
mode, which merges the slices: IBSI's 2.5D) and checks every reference value.
``docs/ibsi.md`` is this module's ``markdown()`` output.

A value passes when ``|value - reference| <= tolerance``; where IBSI gives
tolerance 0 (the phantom's values are exact, and IBSI prints them rounded to
three significant digits) when it equals the reference at three significant
digits. Nothing else passes.
"""

from __future__ import annotations

import csv
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk
import yaml

from .extract import extract_case

AXIS_NOTE = ("PyRadiomics takes the sample covariance (N - 1) of the voxel coordinates, IBSI the population "
             "covariance (N): axis lengths are sqrt((N - 1) / N) = 0.9932 of IBSI's for N = 74")
# IBSI tag stem -> (PyRadiomics class, feature, note). ``None`` feature: no
# PyRadiomics equivalent, the note says why.
SHAPE = {
    "morph_volume": ("MeshVolume", ""), "morph_vol_approx": ("VoxelVolume", ""),
    "morph_area_mesh": ("SurfaceArea", ""), "morph_av": ("SurfaceVolumeRatio", ""),
    "morph_comp_1": ("Compactness1", "deprecated in PyRadiomics, enabled by name"),
    "morph_comp_2": ("Compactness2", "deprecated in PyRadiomics, enabled by name"),
    "morph_sph_dispr": ("SphericalDisproportion", "deprecated in PyRadiomics, enabled by name"),
    "morph_sphericity": ("Sphericity", ""), "morph_diam": ("Maximum3DDiameter", ""),
    "morph_pca_maj_axis": ("MajorAxisLength", ""),
    "morph_pca_min_axis": ("MinorAxisLength", AXIS_NOTE), "morph_pca_least_axis": ("LeastAxisLength", AXIS_NOTE), "morph_pca_elongation": ("Elongation", ""),
    "morph_pca_flatness": ("Flatness", ""),
}
FIRSTORDER = {
    "stat_mean": ("Mean", ""), "stat_var": ("Variance", ""), "stat_skew": ("Skewness", ""),
    "stat_kurt": ("Kurtosis", "PyRadiomics reports kurtosis, IBSI excess kurtosis: they differ by exactly 3"),
    "stat_median": ("Median", ""), "stat_min": ("Minimum", ""), "stat_p10": ("10Percentile", ""),
    "stat_p90": ("90Percentile", ""), "stat_max": ("Maximum", ""), "stat_iqr": ("InterquartileRange", ""),
    "stat_range": ("Range", ""), "stat_mad": ("MeanAbsoluteDeviation", ""),
    "stat_rmad": ("RobustMeanAbsoluteDeviation", ""), "stat_energy": ("Energy", ""),
    "stat_rms": ("RootMeanSquared", ""),
    "ih_entropy": ("Entropy", "PyRadiomics' Entropy is computed on the discretised histogram"),
    "ih_uniformity": ("Uniformity", "PyRadiomics' Uniformity is computed on the discretised histogram"),
}
GLCM = {
    "cm_joint_max": "MaximumProbability", "cm_joint_avg": "JointAverage", "cm_joint_var": "SumSquares",
    "cm_joint_entr": "JointEntropy", "cm_diff_avg": "DifferenceAverage", "cm_diff_var": "DifferenceVariance",
    "cm_diff_entr": "DifferenceEntropy", "cm_sum_avg": "SumAverage", "cm_sum_entr": "SumEntropy",
    "cm_energy": "JointEnergy", "cm_contrast": "Contrast", "cm_dissimilarity": "DifferenceAverage",
    "cm_inv_diff": "Id", "cm_inv_diff_norm": "Idn", "cm_inv_diff_mom": "Idm", "cm_inv_diff_mom_norm": "Idmn",
    "cm_inv_var": "InverseVariance", "cm_corr": "Correlation", "cm_auto_corr": "Autocorrelation",
    "cm_clust_tend": "ClusterTendency", "cm_clust_shade": "ClusterShade", "cm_clust_prom": "ClusterProminence",
    "cm_info_corr1": "Imc1", "cm_info_corr2": "Imc2",
    "cm_sum_var": "ClusterTendency",
}
GLRLM = {
    "rlm_sre": "ShortRunEmphasis", "rlm_lre": "LongRunEmphasis", "rlm_lgre": "LowGrayLevelRunEmphasis",
    "rlm_hgre": "HighGrayLevelRunEmphasis", "rlm_srlge": "ShortRunLowGrayLevelEmphasis",
    "rlm_srhge": "ShortRunHighGrayLevelEmphasis", "rlm_lrlge": "LongRunLowGrayLevelEmphasis",
    "rlm_lrhge": "LongRunHighGrayLevelEmphasis", "rlm_glnu": "GrayLevelNonUniformity",
    "rlm_glnu_norm": "GrayLevelNonUniformityNormalized", "rlm_rlnu": "RunLengthNonUniformity",
    "rlm_rlnu_norm": "RunLengthNonUniformityNormalized", "rlm_r_perc": "RunPercentage",
    "rlm_gl_var": "GrayLevelVariance", "rlm_rl_var": "RunVariance", "rlm_rl_entr": "RunEntropy",
}
GLSZM = {
    "szm_sze": "SmallAreaEmphasis", "szm_lze": "LargeAreaEmphasis", "szm_lgze": "LowGrayLevelZoneEmphasis",
    "szm_hgze": "HighGrayLevelZoneEmphasis", "szm_szlge": "SmallAreaLowGrayLevelEmphasis",
    "szm_szhge": "SmallAreaHighGrayLevelEmphasis", "szm_lzlge": "LargeAreaLowGrayLevelEmphasis",
    "szm_lzhge": "LargeAreaHighGrayLevelEmphasis", "szm_glnu": "GrayLevelNonUniformity",
    "szm_glnu_norm": "GrayLevelNonUniformityNormalized", "szm_zsnu": "SizeZoneNonUniformity",
    "szm_zsnu_norm": "SizeZoneNonUniformityNormalized", "szm_z_perc": "ZonePercentage",
    "szm_gl_var": "GrayLevelVariance", "szm_zs_var": "ZoneVariance", "szm_zs_entr": "ZoneEntropy",
}
NGTDM = {
    "ngt_coarseness": "Coarseness", "ngt_contrast": "Contrast", "ngt_busyness": "Busyness",
    "ngt_complexity": "Complexity", "ngt_strength": "Strength",
}
GLDM = {
    "ngl_lde": "SmallDependenceEmphasis", "ngl_hde": "LargeDependenceEmphasis", "ngl_lgce": "LowGrayLevelEmphasis",
    "ngl_hgce": "HighGrayLevelEmphasis", "ngl_ldlge": "SmallDependenceLowGrayLevelEmphasis",
    "ngl_ldhge": "SmallDependenceHighGrayLevelEmphasis", "ngl_hdlge": "LargeDependenceLowGrayLevelEmphasis",
    "ngl_hdhge": "LargeDependenceHighGrayLevelEmphasis", "ngl_glnu": "GrayLevelNonUniformity",
    "ngl_dcnu": "DependenceNonUniformity", "ngl_dcnu_norm": "DependenceNonUniformityNormalized",
    "ngl_gl_var": "GrayLevelVariance", "ngl_dc_var": "DependenceVariance", "ngl_dc_entr": "DependenceEntropy",
}
TEXTURE = {"glcm": GLCM, "glrlm": GLRLM, "glszm": GLSZM, "ngtdm": NGTDM, "gldm": GLDM}
NOTES = {
    "cm_sum_var": "PyRadiomics dropped SumVariance as identical to ClusterTendency for a symmetric GLCM",
    "cm_dissimilarity": "IBSI dissimilarity is PyRadiomics' DifferenceAverage",
}
# Why the rest has no equivalent, by tag prefix (first match wins).
MISSING = [
    ("morph_", "no PyRadiomics shape feature (asphericity, centre-of-mass shift, bounding-box and ellipsoid "
               "densities, integrated intensity, Moran's I, Geary's C)"),
    ("loc_", "PyRadiomics has no local/global intensity peak"),
    ("stat_", "no PyRadiomics first-order feature (median absolute deviation, coefficient of variation, "
              "quartile coefficient of dispersion)"),
    ("ih_", "PyRadiomics computes these statistics on intensities (stat_*), not on the histogram; "
            "only Entropy and Uniformity are histogram based"),
    ("ivh_", "PyRadiomics has no intensity-volume histogram"),
    ("dzm_", "PyRadiomics has no distance zone matrix"),
    ("ngl_glnu_norm", "PyRadiomics' GLDM has no normalised grey level non-uniformity"),
    ("ngl_dc_perc", "not a PyRadiomics feature (always 1 for a whole-ROI GLDM)"),
    ("ngl_dc_energy", "not a PyRadiomics feature"),
]
# Which IBSI aggregation each PyRadiomics mode computes; other aggregations
# (2D per slice, merged directions) are not what PyRadiomics does.
MODES = {
    "3D": {"glcm": "_3D_avg", "glrlm": "_3D_avg", "glszm": "_3D", "ngtdm": "_3D", "gldm": "_3D"},
    "2.5D": {"glcm": "_2_5D_avg", "glrlm": "_2_5D_avg", "glszm": "_2_5D", "ngtdm": "_2_5D", "gldm": "_2_5D"},
}
AGGREGATION_NOTE = ("PyRadiomics computes one matrix per direction over the whole volume (slices merged with "
                    "force2D) and averages features over directions; IBSI's per-slice 2D and direction-merged "
                    "variants have no equivalent")


@dataclass(frozen=True)
class Row:
    tag: str
    family: str
    reference: float | None
    tolerance: float | None
    pyradiomics: str | None
    value: float | None
    status: str  # "pass", "fail", "no equivalent", "no reference"
    note: str


def phantom_params(force2d: bool) -> dict:
    shape_features = [feature for feature, _ in SHAPE.values()]
    return {
        "imageType": {"Original": {}},
        "featureClass": {
            "shape": None if force2d else shape_features, "firstorder": None, "glcm": None,
            "glrlm": None, "glszm": None, "gldm": None, "ngtdm": None,
        },
        "setting": {"binWidth": 1, "label": 1, "distances": [1], "gldm_a": 0, "voxelArrayShift": 0,
                    "force2D": force2d, "force2Ddimension": 0},
    }


def _extract(ibsi_dir: Path, force2d: bool) -> dict[str, float]:
    folder = ibsi_dir / "ibsi1_digital_phantom"
    image = sitk.ReadImage(str(folder / "phantom.nii.gz"))
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        preset = Path(tmp) / f"ibsi_phantom{'_2p5d' if force2d else ''}.yaml"
        preset.write_text(yaml.safe_dump(phantom_params(force2d)))
        return extract_case(image, {"roi": mask}, preset, case_id="ibsi1").values["roi"]


def _reference_rows(ibsi_dir: Path) -> list[dict[str, str]]:
    path = ibsi_dir / "ibsi_1_reference_values_digital_phantom.csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _lookup(tag: str) -> tuple[str | None, str, str]:
    """PyRadiomics feature (without image prefix) for a tag, with its mode and note."""
    if tag in SHAPE:
        feature, note = SHAPE[tag]
        return f"shape_{feature}", "3D", note
    if tag in FIRSTORDER:
        feature, note = FIRSTORDER[tag]
        return f"firstorder_{feature}", "3D", note
    for mode, suffixes in MODES.items():
        for class_name, suffix in suffixes.items():
            stem = tag[: -len(suffix)] if tag.endswith(suffix) else None
            if stem and stem in TEXTURE[class_name]:
                return f"{class_name}_{TEXTURE[class_name][stem]}", mode, NOTES.get(stem, "")
    return None, "", _missing_reason(tag)


def _missing_reason(tag: str) -> str:
    stem = tag.split("_2D")[0].split("_2_5D")[0].split("_3D")[0]
    for prefix, reason in MISSING:
        if stem.startswith(prefix):
            return reason
    return AGGREGATION_NOTE


def passes(value: float, reference: float, tolerance: float) -> bool:
    """IBSI match, strictly: within a non-zero tolerance; where IBSI gives tolerance 0
    (an exact value, printed to 3 significant digits), equal at 3 significant digits.

    A value outside a non-zero tolerance never passes, even when it rounds to the
    reference (the rule once accepted that too).
    """
    if math.isnan(value):
        return False
    if tolerance > 0:
        return abs(value - reference) <= tolerance
    return float(f"{value:.3g}") == float(f"{reference:.3g}")


def compare(ibsi_dir: Path) -> list[Row]:
    """Every IBSI digital-phantom reference row against PyRadiomics through extract_case."""
    values = {"3D": _extract(ibsi_dir, False), "2.5D": _extract(ibsi_dir, True)}
    rows = []
    for ref in _reference_rows(ibsi_dir):
        tag = ref["tag"]
        reference = float(ref["reference value"]) if ref["reference value"] else None
        tolerance = float(ref["tolerance"]) if ref["tolerance"] else None
        feature, mode, note = _lookup(tag)
        if feature is None:
            rows.append(Row(tag, ref["family"], reference, tolerance, None, None, "no equivalent", note))
            continue
        value = values[mode].get(f"original_{feature}", math.nan)
        if reference is None:
            status = "no reference"
        else:
            status = "pass" if passes(value, reference, tolerance or 0.0) else "fail"
        rows.append(Row(tag, ref["family"], reference, tolerance, f"original_{feature}", value, status, note))
    return rows


def markdown(rows: list[Row]) -> str:
    counts = {s: sum(r.status == s for r in rows) for s in ("pass", "fail", "no equivalent", "no reference")}
    lines = [
        f"| IBSI tag | PyRadiomics feature | reference ± tolerance | ours | result | reason / note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ref = "" if r.reference is None else f"{r.reference:g} ± {r.tolerance:g}"
        ours = "" if r.value is None else f"{r.value:.4g}"
        lines.append(f"| `{r.tag}` | {f'`{r.pyradiomics}`' if r.pyradiomics else '—'} | {ref} | {ours} | "
                     f"{r.status} | {r.note} |")
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    distinct = (f"Distinct PyRadiomics features: {len(distinct_features(rows, 'pass'))} pass, "
                f"{len(distinct_features(rows, 'fail'))} fail, of {len(distinct_features(rows))} mapped.")
    return f"Rows: {len(rows)}; {summary}.\n{distinct}\n\n" + "\n".join(lines) + "\n"


def distinct_features(rows: list[Row], status: str | None = None) -> set[str]:
    """The PyRadiomics features behind rows (of one status): one feature answers
    several rows (its 3-D and 2.5-D aggregations, and IBSI tags that are the same
    feature, such as dissimilarity and difference average)."""
    return {r.pyradiomics for r in rows if r.pyradiomics and (status is None or r.status == status)}


if __name__ == "__main__":
    print(markdown(compare(Path(sys.argv[1]))))
