"""Full-size benchmark phantoms, generated once and kept on disk.

Generating a 448 x 448 x 160 phantom and writing its six phases takes tens of
seconds, more than the extraction being measured; a benchmark run would spend
most of its time there. ``cached_case`` writes each phantom once into
``benchmarks/output/phantoms/<size>-seed<seed>-<code>/`` and reuses it. The
folder name carries a hash of ``phantom.py``, so a change of the generator
makes new files instead of silently reusing stale ones; a folder is complete
only once its ``done`` marker exists.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
from pathlib import Path

from TMERadiomicsLib.cohort import phantom

CACHE = Path(__file__).resolve().parent / "output" / "phantoms"
DONE = "done"


def generator_code() -> str:
    """First 12 hex digits of the SHA-256 of ``phantom.py``: phantoms change only with it."""
    return hashlib.sha256(Path(phantom.__file__).read_bytes()).hexdigest()[:12]


def cached_case(size: str, seed: int, radius_mm: float | None = None) -> Path:
    """Folder with ``image.nrrd`` (default phase), ``phase0..5.nrrd``, ``tumour.nrrd``, ``vessels.nrrd``.

    ``radius_mm``: the lesion's radius (``PhantomSpec.lesion_radius_mm``); None keeps the default 9 mm
    and the folder name the earlier benchmarks used.
    """
    spec = {} if radius_mm is None else {"lesion_radius_mm": float(radius_mm)}
    tag = "" if radius_mm is None else f"-r{float(radius_mm):g}mm"
    folder = CACHE / f"{size}-seed{seed}{tag}-{generator_code()}"
    if (folder / DONE).exists():
        return folder
    started = time.perf_counter()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    phantom.write_phantom(phantom.make_phantom(size, seed, **spec), partial)
    (partial / DONE).write_text("complete\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    print(f"phantom {size} seed {seed}{tag}: generated in {time.perf_counter() - started:.1f} s, cached in {folder}",
          file=sys.stderr, flush=True)
    return folder


def lesion_inside(folder: Path) -> bool:
    """Whether the tumour mask keeps clear of every face of the field of view.

    The phantom places its lesion by its clearance from the breast's edge,
    which does not count the image's first and last slices, so some seeds cut
    the lesion at z = 0: a half-sphere, and a crop forced to the whole axis.
    """
    import numpy as np
    import SimpleITK as sitk

    array = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "tumour.nrrd")))
    found = np.nonzero(array)
    return all(axis.min() > 0 and axis.max() < n - 1 for axis, n in zip(found, array.shape))


def case_with_lesion_inside(size: str, radius_mm: float, first_seed: int = 0, tries: int = 10) -> tuple[int, Path]:
    """The first seed from ``first_seed`` whose lesion of ``radius_mm`` lies wholly inside the image."""
    for seed in range(first_seed, first_seed + tries):
        folder = cached_case(size, seed, radius_mm)
        if lesion_inside(folder):
            return seed, folder
    raise SystemExit(f"no seed in {first_seed}..{first_seed + tries - 1} keeps a {radius_mm:g} mm lesion inside")
