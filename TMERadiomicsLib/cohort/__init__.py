"""Synthetic radiogenomic cohorts: phantoms, labels, expression and survival from one latent state.

``make_cohort(n, seed)`` draws N cases. Each has a latent TME state (M2
share of immune cells, hot/cold phenotype; ``state.py``) that sets the
knobs of its ``TMERadiomicsLib.cohort.phantom`` DCE-MRI phantom, its bulk RNA-seq
profile (``transcriptome.py``) and its survival (``survival.py``).
``write_cohort`` writes it as a study would arrive: images and masks with a
batch manifest, the expression matrix with an LM22-shaped signature and TME
gene sets, a survival table, the ground-truth labels, and the latent state.

The last ``held_out`` share of the cases is marked ``held-out``: the demo
trains on the rest and reports performance on these only.

The names load on first use (PEP 562), so ``TMERadiomicsLib.cohort.phantom``
(which the Slicer panel and the ``phantom`` command import) brings neither
pandas nor the cohort code with it.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Cohort": ".build", "make_case": ".build", "make_cohort": ".build", "write_cohort": ".build",
            "TmeState": ".state"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
