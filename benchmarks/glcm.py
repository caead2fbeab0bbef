"""Benchmark of ``features/glcm_fast.py``: a case's features with it, and with PyRadiomics' own GLCM steps.

    python benchmarks/glcm.py [--repeat 3]

Cases: the demo cohort's small phantom (112 x 112 x 40, seed 3, its three
regions) with ``han2024`` (binWidth 5 on a normalised image: hundreds of grey
levels) and ``default``; PyRadiomics' breast1 with ``default``. For each, CPU
seconds (``time.process_time``, one BLAS thread, as batch workers run) of
``extract_case``, best of ``--repeat``:

- ours: as shipped;
- baseline: the same call with PyRadiomics' own ``_calculateCoefficients``,
  ``getMCCFeatureValue`` and cluster prominence / shade (everything else ours).

Prints both and the ratio, and checks the values are within 1e-10 of each other.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import SimpleITK as sitk  # noqa: E402
from radiomics.glcm import RadiomicsGLCM  # noqa: E402

from TMERadiomicsLib.cohort.phantom import make_phantom  # noqa: E402
from TMERadiomicsLib.features import compute  # noqa: E402
from TMERadiomicsLib.features.extract import extract_case  # noqa: E402
from TMERadiomicsLib.regions.options import RegionOptions  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OURS = {name: getattr(compute, name) for name in ("calculate_glcm_coefficients", "glcm_mcc",
                                                  "glcm_cluster_prominence", "glcm_cluster_shade")}
PYRADIOMICS = {"calculate_glcm_coefficients": RadiomicsGLCM._calculateCoefficients,
               "glcm_mcc": RadiomicsGLCM.getMCCFeatureValue,
               "glcm_cluster_prominence": RadiomicsGLCM.getClusterProminenceFeatureValue,
               "glcm_cluster_shade": RadiomicsGLCM.getClusterShadeFeatureValue}


def use(steps: dict) -> None:
    for name, function in steps.items():
        setattr(compute, name, function)
    compute.feature_class_of.cache_clear()


def cases():
    phantom = make_phantom("small", seed=3)
    image = phantom.image()
    masks = RegionOptions().build("phantom-3", image, phantom.tumour).masks
    yield "small phantom, 3 regions", image, masks, ("han2024", "default")
    folder = next(p for p in SHARED.rglob("breast1_image.nrrd")).parent
    breast = sitk.ReadImage(str(folder / "breast1_image.nrrd"))
    label = sitk.ReadImage(str(folder / "breast1_label.nrrd"))
    yield "breast1", breast, {"intratumoral": label}, ("default",)


def best(image, masks, preset, repeat: int) -> tuple[float, dict]:
    times, values = [], {}
    for _ in range(repeat):
        start = time.process_time()
        result = extract_case(image, masks, preset, case_id="bench")
        times.append(time.process_time() - start)
        values = result.values
    return min(times), values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"extract_case CPU s (process_time, 1 BLAS thread), best of {args.repeat}; load {os.getloadavg()[0]:.2f}")
    for where, image, masks, presets in cases():
        for preset in presets:
            use(PYRADIOMICS)
            baseline, theirs = best(image, masks, preset, args.repeat)
            use(OURS)
            ours, mine = best(image, masks, preset, args.repeat)
            worst = max((abs(mine[r][k] - v) / max(abs(v), 1e-300) for r in theirs for k, v in theirs[r].items()
                         if not (isinstance(v, float) and math.isnan(v))), default=0.0)
            print(f"{where}, {preset}: ours {ours:.2f} s, with PyRadiomics' GLCM steps {baseline:.2f} s, "
                  f"{baseline / ours:.2f}x; largest relative difference {worst:.1e}")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
