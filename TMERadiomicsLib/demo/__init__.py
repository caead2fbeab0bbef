"""The end-to-end demo: a synthetic radiogenomic cohort from images to a scored new case.

``run_demo(out_dir)`` is what ``tmeradiomics demo`` and ``python3 tasks.py
demo`` run. Every step uses the library as a study would:

1. ``cohort``: a seeded synthetic cohort (``TMERadiomicsLib.cohort``) written
   as images, masks, a batch manifest, RNA-seq, a signature and gene sets;
   its cases come from three sites whose scanners have their own noise,
   gain and offset (the ``site`` column of the manifest and labels);
2. ``features``: ``batch`` builds the three regions and extracts the qian2024
   features of every case in parallel;
3. ``labels``: CIBERSORT + median split (Qian's M2 high/low) and ssGSEA +
   k-means (Han's hot/cold) from the expression matrix, compared with the
   cohort's ground truth;
4. ``models``: both recipes trained on the development cases, the published
   Qian signatures calibrated on them, every bundle evaluated on the
   held-out cases it never saw; qian2024-lasso once more with ComBat by
   site (``harmonise_step``), both held-out AUCs and one feature per site
   before and after;
5. ``new case``: one more patient through regions, features and every
   bundle, with overlays of the regions and the risk groups;
6. ``report.html``: one self-contained page with all of it.
"""

from .pipeline import DemoConfig, DemoResult, run_demo

__all__ = ["DemoConfig", "DemoResult", "run_demo"]
