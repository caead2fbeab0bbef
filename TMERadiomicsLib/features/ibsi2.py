"""IBSI-2 phase 1: PyRadiomics' filters, as this project calls them, against the reference maps.

``phase1(data_dir)`` runs each IBSI-2 phase-1 configuration that a preset or
a user can enable through PyRadiomics (LoG and the separable wavelets) twice:
with PyRadiomics' own generator (``imageoperations.get<Type>Image``, what
``filters.py`` runs by default) and with the opt-in IBSI-2 generator
(``ibsi2_filters``, ``ibsi2: true``). A response map conforms when every voxel
lies within 1 % of the reference map's intensity range (IBSI 2's tolerance).
Configurations of filters PyRadiomics does not have (mean, Laws, Gabor,
Simoncelli, Riesz) or has only in 3-D (the 2-D LoG) are listed with the
reason. ``docs/ibsi.md`` carries ``markdown(phase1(...))``; regenerate with
``python -m TMERadiomicsLib.features.ibsi2 Testing/data/ibsi2``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
from radiomics import imageoperations

from . import ibsi2_filters

TOLERANCE_OF_RANGE = 0.01
LOG_NOTE = ("PyRadiomics' LoG (SimpleITK's recursive Gaussian, SetNormalizeAcrossScale) is the IBSI response "
            "times (sigma / spacing)^2; see the rescaled figures below the table")


@dataclass(frozen=True)
class Config:
    """One phase-1 test: phantom, PyRadiomics image type and settings, the image compared."""

    test: str
    phantom: str
    filter: str
    image_type: str | None  # None: PyRadiomics has no such filter
    kwargs: dict[str, Any]
    image: str
    ibsi2: dict[str, Any]  # the opt-in settings that express the test's boundary / invariance
    note: str = ""


PHASE1 = [
    *[Config(f"1.a.{i}", "checkerboard", f"mean, 3-D, support 15, {pad} padding", None, {}, "", {},
             "PyRadiomics has no mean filter") for i, pad in enumerate(("zero", "nearest", "periodic", "mirror"), 1)],
    Config("1.b.1", "impulse", "mean, 2-D, support 15, zero padding", None, {}, "", {},
           "PyRadiomics has no mean filter"),
    Config("2.a", "impulse", "LoG, 3-D, sigma 3 mm, 4 sigma, zero padding", "LoG", {"sigma": [3.0]},
           "log-sigma-3-0-mm-3D", {"ibsi2Padding": "zero"}, LOG_NOTE),
    Config("2.b", "checkerboard", "LoG, 3-D, sigma 5 mm, 4 sigma, mirror padding", "LoG", {"sigma": [5.0]},
           "log-sigma-5-0-mm-3D", {"ibsi2Padding": "mirror"}, LOG_NOTE),
    Config("2.c", "checkerboard", "LoG, 2-D, sigma 5 mm, mirror padding", None, {}, "", {},
           "PyRadiomics' LoG is 3-D only (force2D does not apply to it)"),
    *[Config(t, "impulse", "Laws", None, {}, "", {}, "PyRadiomics has no Laws kernels")
      for t in ("3.a.1", "3.a.2", "3.a.3", "3.b.1", "3.b.2", "3.b.3", "3.c.1", "3.c.2", "3.c.3")],
    *[Config(t, "impulse", "Gabor", None, {}, "", {}, "PyRadiomics has no Gabor filter")
      for t in ("4.a.1", "4.a.2", "4.b.1", "4.b.2")],
    Config("5.a.1", "impulse", "Daubechies 2, 3-D, LHL, level 1, zero padding", "Wavelet",
           {"wavelet": "db2", "level": 1}, "wavelet-LHL", {"ibsi2Padding": "zero"}),
    Config("5.a.2", "impulse", "Daubechies 2, 3-D, LHL, level 1, rotation invariant, zero padding", "Wavelet",
           {"wavelet": "db2", "level": 1}, "wavelet-LHL", {"ibsi2Padding": "zero", "ibsi2RotationInvariant": True},
           "PyRadiomics has no rotation-invariant wavelet"),
    Config("6.a.1", "sphere", "Coiflet 1, 3-D, HHL, level 1, periodic padding", "Wavelet",
           {"wavelet": "coif1", "level": 1}, "wavelet-HHL", {"ibsi2Padding": "periodic"}),
    Config("6.a.2", "sphere", "Coiflet 1, 3-D, HHL, level 1, rotation invariant, periodic padding", "Wavelet",
           {"wavelet": "coif1", "level": 1}, "wavelet-HHL",
           {"ibsi2Padding": "periodic", "ibsi2RotationInvariant": True}, "PyRadiomics has no rotation-invariant wavelet"),
    Config("7.a.1", "checkerboard", "Haar, 3-D, LLL, level 2, rotation invariant, mirror padding", "Wavelet",
           {"wavelet": "haar", "level": 2}, "wavelet2-LLL", {"ibsi2Padding": "mirror", "ibsi2RotationInvariant": True},
           "PyRadiomics' level 2 re-applies the undilated level-1 filters; no rotation invariance; periodic borders"),
    Config("7.a.2", "checkerboard", "Haar, 3-D, HHH, level 2, rotation invariant, mirror padding", "Wavelet",
           {"wavelet": "haar", "level": 2}, "wavelet2-HHH", {"ibsi2Padding": "mirror", "ibsi2RotationInvariant": True},
           "PyRadiomics' level 2 re-applies the undilated level-1 filters; no rotation invariance; periodic borders"),
    *[Config(t, "impulse", "Simoncelli / Riesz (non-separable wavelets)", None, {}, "", {},
             "PyRadiomics has no non-separable wavelets")
      for t in ("8.a.1", "8.a.2", "8.a.3", "9.a", "9.b.1", "9.b.2", "10.a", "10.b.1", "10.b.2")],
]


@dataclass(frozen=True)
class Result:
    config: Config
    # Largest voxel difference to the reference and the tolerance; None where not run.
    pyradiomics: float | None
    opt_in: float | None
    tolerance: float | None

    @property
    def verdicts(self) -> tuple[str, str]:
        if self.tolerance is None:
            return "no PyRadiomics filter", "no PyRadiomics filter"
        return _verdict(self.pyradiomics, self.tolerance), _verdict(self.opt_in, self.tolerance)


def _verdict(difference: float, tolerance: float) -> str:
    return "pass" if difference <= tolerance else "fail"


def response(config: Config, phantom: sitk.Image, opt_in: bool) -> np.ndarray:
    """The compared image of a configuration, from PyRadiomics' generator or the IBSI-2 one."""
    image = sitk.Cast(phantom, sitk.sitkFloat64)
    mask = sitk.Cast(image * 0 + 1, sitk.sitkUInt8)  # IBSI's phase-1 masks cover the whole volume
    module = ibsi2_filters if opt_in else imageoperations
    kwargs = {**config.kwargs, **(config.ibsi2 if opt_in else {})}
    images = {name: filtered for filtered, name, _ in getattr(module, f"get{config.image_type}Image")(image, mask, **kwargs)}
    return sitk.GetArrayFromImage(images[config.image])


def compare(config: Config, data_dir: Path, opt_in: bool) -> tuple[float, float]:
    """Largest absolute voxel difference to the reference map, and IBSI 2's tolerance."""
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(data_dir / "response_maps" / f"{config.test}.nii.gz")))
    phantom = sitk.ReadImage(str(data_dir / "phantoms" / f"{config.phantom}.nii.gz"))
    ours = response(config, phantom, opt_in)
    tolerance = TOLERANCE_OF_RANGE * float(reference.max() - reference.min())
    return float(np.abs(ours - reference.astype(np.float64)).max()), tolerance


def phase1(data_dir: Path, tests: list[str] | None = None) -> list[Result]:
    results = []
    for config in PHASE1:
        if tests is not None and config.test not in tests:
            continue
        if config.image_type is None:
            results.append(Result(config, None, None, None))
            continue
        default, tolerance = compare(config, data_dir, opt_in=False)
        opt_in, _ = compare(config, data_dir, opt_in=True)
        results.append(Result(config, default, opt_in, tolerance))
    return results


def markdown(results: list[Result]) -> str:
    lines = ["| test | phantom | filter | PyRadiomics image | PyRadiomics (default) | opt-in `ibsi2: true` | "
             "largest difference: default / opt-in (tolerance) | why |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        c = r.config
        default, opt_in = r.verdicts
        if r.tolerance is None:
            figures, image = "", "—"
        else:
            figures, image = f"{r.pyradiomics:.3g} / {r.opt_in:.3g} ({r.tolerance:.3g})", f"`{c.image}`"
            opt_in = f"{opt_in} ({_settings(c.ibsi2)})"
        lines.append(f"| {c.test} | {c.phantom} | {c.filter} | {image} | {default} | {opt_in} | {figures} | {c.note} |")
    return "\n".join(lines) + "\n"


def _settings(settings: dict[str, Any]) -> str:
    return ", ".join(f"`{k}: {str(v).lower() if isinstance(v, bool) else v}`" for k, v in settings.items())


# Phase 2: 18 intensity statistics of the (filtered) IBSI CT phantom; the 15
# PyRadiomics computes, with the power of the intensity scale each carries
# (a response multiplied by c multiplies the statistic by c**power).
STATISTICS = {
    "stat_mean": ("Mean", 1), "stat_var": ("Variance", 2), "stat_skew": ("Skewness", 0),
    "stat_kurt": ("Kurtosis", 0), "stat_median": ("Median", 1), "stat_min": ("Minimum", 1),
    "stat_p10": ("10Percentile", 1), "stat_p90": ("90Percentile", 1), "stat_max": ("Maximum", 1),
    "stat_iqr": ("InterquartileRange", 1), "stat_range": ("Range", 1),
    "stat_mad": ("MeanAbsoluteDeviation", 1), "stat_rmad": ("RobustMeanAbsoluteDeviation", 1),
    "stat_energy": ("Energy", 2), "stat_rms": ("RootMeanSquared", 1),
}
NO_EQUIVALENT = {"stat_medad", "stat_cov", "stat_qcod"}  # median absolute deviation, CoV, QCoD
RESAMPLED = {"resampledPixelSpacing": [1.0, 1.0, 1.0], "interpolator": "sitkBSpline"}
# IBSI 2 phase 2, as PyRadiomics expresses it: re-segmentation to [-1000, 400] HU,
# configuration B resampled to 1 mm (B-spline), 3.B LoG sigma 1.5 mm (4 sigma, mirror).
PHASE2 = {
    "1.A": ({"Original": {}}, {}, "original"),
    "1.B": ({"Original": {}}, RESAMPLED, "original"),
    "3.B": ({"LoG": {"sigma": [1.5]}}, RESAMPLED, "log-sigma-1-5-mm-3D"),
    "3.B opt-in": ({"LoG": {"sigma": [1.5], "ibsi2": True, "ibsi2Padding": "mirror"}}, RESAMPLED,
                   "log-sigma-1-5-mm-3D"),
}


@dataclass(frozen=True)
class Statistic:
    tag: str
    reference: float
    tolerance: float
    value: float  # PyRadiomics' value, as extracted

    def passes(self, value: float | None = None) -> bool:
        return abs((self.value if value is None else value) - self.reference) <= self.tolerance


def phase2_params(configuration: str) -> dict[str, Any]:
    image_types, resampling, _ = PHASE2[configuration]
    return {"imageType": image_types, "featureClass": {"firstorder": None},
            "setting": {"label": 1, "binWidth": 25, "resegmentRange": [-1000, 400], "voxelArrayShift": 0,
                        **resampling}}


def phase2(data_dir: Path) -> dict[str, list[Statistic]]:
    """The 15 PyRadiomics statistics of each phase-2 configuration against IBSI's values."""
    import tempfile

    import yaml

    from .extract import extract_case

    # Stored as int16 (its values are whole HU); the original is float32, and that is
    # what PyRadiomics must see: it resamples into the input's pixel type.
    image = sitk.Cast(sitk.ReadImage(str(data_dir / "ct_phantom" / "image.nii.gz")), sitk.sitkFloat32)
    mask = sitk.ReadImage(str(data_dir / "ct_phantom" / "mask.nii.gz"))
    references = _phase2_references(data_dir / "reference_values.csv")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for configuration, (_, _, image_name) in PHASE2.items():
            preset = Path(tmp) / f"ibsi2_{configuration.replace(' ', '_').replace('.', '_')}.yaml"
            preset.write_text(yaml.safe_dump(phase2_params(configuration)))
            values = extract_case(image, {"roi": mask}, preset, case_id="ibsi2-ct").values["roi"]
            reference = references[configuration.split()[0]]
            results[configuration] = [
                Statistic(tag, *reference[tag], values[f"{image_name}_firstorder_{feature}"])
                for tag, (feature, _) in STATISTICS.items()]
    return results


def _phase2_references(path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    import csv

    references: dict[str, dict[str, tuple[float, float]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            references.setdefault(row["filter_id"], {})[row["feature_tag"]] = (
                float(row["consensus_value"]), float(row["tolerance"]))
    return references


def passing(statistics: list[Statistic], scale: float = 1.0, excess_kurtosis: bool = False) -> list[str]:
    """Tags that pass; ``scale`` multiplies the response first (1 / 2.25 undoes PyRadiomics'
    LoG factor (sigma / spacing)^2 at sigma 1.5 mm on a 1 mm grid); ``excess_kurtosis``
    subtracts PyRadiomics' 3 (IBSI reports excess kurtosis)."""
    passed = []
    for stat in statistics:
        value = stat.value * scale ** STATISTICS[stat.tag][1]
        if excess_kurtosis and stat.tag == "stat_kurt":
            value -= 3.0
        if stat.passes(value):
            passed.append(stat.tag)
    return passed


def phase2_markdown(results: dict[str, list[Statistic]]) -> str:
    lines = ["| IBSI tag | PyRadiomics feature | " + " | ".join(results) + " |",
             "| --- | --- | " + " | ".join("---" for _ in results) + " |"]
    for index, (tag, (feature, _)) in enumerate(STATISTICS.items()):
        cells = []
        for statistics in results.values():
            stat = statistics[index]
            cells.append(f"{stat.value:.4g} ({stat.reference:g} ± {stat.tolerance:g}) "
                         f"{'pass' if stat.passes() else 'fail'}")
        lines.append(f"| `{tag}` | `{feature}` | " + " | ".join(cells) + " |")
    counts = []
    for configuration, statistics in results.items():
        scale = 1 / 2.25 if configuration == "3.B" else 1.0
        counts.append(f"{configuration}: {len(passing(statistics))}/15 as extracted, "
                      f"{len(passing(statistics, excess_kurtosis=True))}/15 with kurtosis - 3"
                      + (f", {len(passing(statistics, scale, excess_kurtosis=True))}/15 with kurtosis - 3 "
                         f"and the LoG divided by (sigma / spacing)^2 = 2.25" if scale != 1.0 else ""))
    return "\n".join(lines) + "\n\n" + "; ".join(counts) + ".\n"


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    print(markdown(phase1(folder)))
    print(phase2_markdown(phase2(folder)))
