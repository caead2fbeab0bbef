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


if __name__ == "__main__":
    print(markdown(phase1(Path(sys.argv[1]))))
