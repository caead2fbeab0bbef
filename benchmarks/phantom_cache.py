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


def cached_case(size: str, seed: int) -> Path:
    """Folder with ``image.nrrd`` (default phase), ``phase0..5.nrrd``, ``tumour.nrrd``, ``vessels.nrrd``."""
    folder = CACHE / f"{size}-seed{seed}-{generator_code()}"
    if (folder / DONE).exists():
        return folder
    started = time.perf_counter()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    phantom.write_phantom(phantom.make_phantom(size, seed), partial)
    (partial / DONE).write_text("complete\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    print(f"phantom {size} seed {seed}: generated in {time.perf_counter() - started:.1f} s, cached in {folder}",
          file=sys.stderr, flush=True)
    return folder
