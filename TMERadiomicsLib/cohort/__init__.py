"""Synthetic radiogenomic cohorts: phantoms, labels, expression and survival from one latent state.

``make_cohort(n, seed)`` draws N cases. Each has a latent TME state (M2
share of immune cells, hot/cold phenotype; ``state.py``) that sets the
knobs of its ``TMERadiomicsLib.phantom`` DCE-MRI phantom, its bulk RNA-seq
profile (``transcriptome.py``) and its survival (``survival.py``).
``write_cohort`` writes it as a study would arrive: images and masks with a
batch manifest, the expression matrix with an LM22-shaped signature and TME
gene sets, a survival table, the ground-truth labels, and the latent state.

The last ``held_out`` share of the cases is marked ``held-out``: the demo
trains on the rest and reports performance on these only.
"""

from .build import Cohort, make_case, make_cohort, write_cohort
from .state import TmeState

__all__ = ["Cohort", "TmeState", "make_case", "make_cohort", "write_cohort"]
