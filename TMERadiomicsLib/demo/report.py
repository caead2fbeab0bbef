"""The demo's one-page HTML report: cohort, labels, held-out performance, the new case."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..evaluation.plots import roc_comparison_png
from ..evaluation.report import embedded_png, escape, html_page, html_table
from ..outputs import atomic_write_text
from .labels_step import DerivedLabels
from .models_step import TrainedModel
from .new_case import NewCase

SYNTHETIC_NOTE = (
    "Everything on this page comes from a synthetic cohort made by TMERadiomicsLib.cohort. It shows the "
    "workflow and checks that the pipeline can learn a TME state that is present in the images; the numbers "
    "say nothing about patients. The published Qian 2024 signatures were fitted on real DCE-MRI, so their "
    "performance here is not a validation of them."
)


def write_demo_report(path: Path, summary: dict, derived: DerivedLabels, models: list[TrainedModel],
                      new_case: NewCase, out_dir: Path) -> Path:
    parts = [
        "<h1>TMERadiomics end-to-end demo</h1>",
        f"<p><b>Synthetic data.</b> {escape(SYNTHETIC_NOTE)}</p>",
        *_cohort_section(summary, derived),
        *_models_section(models),
        *_new_case_section(new_case, out_dir),
        "<h2>Run time</h2>",
        html_table(pd.DataFrame({"step": list(summary["seconds"]), "seconds": list(summary["seconds"].values())})),
    ]
    return atomic_write_text(path, html_page("TMERadiomics demo", parts))


def _cohort_section(summary: dict, derived: DerivedLabels) -> list[str]:
    c = summary["cohort"]
    agreement = pd.DataFrame({"label": list(derived.agreement),
                              "agreement with the ground truth": list(derived.agreement.values())})
    return [
        "<h2>Cohort and labels</h2>",
        f"<p>{c['cases']} synthetic cases: {c['development']} for development (training, calibration), "
        f"{c['held_out']} held out for evaluation only. Labels were derived from the cohort's RNA-seq as the "
        "papers did: CIBERSORT fractions split at the M2 median (Qian 2024), ssGSEA scores clustered by "
        f"k-means into hot/cold (Han 2024). CIBERSORT's M2 fraction against the true M2 share: Pearson r = "
        f"{derived.m2_correlation:.3f}.</p>",
        html_table(agreement),
    ]


def _models_section(models: list[TrainedModel]) -> list[str]:
    rows = []
    for m in models:
        e = m.evaluation
        at = e.at_bundle_threshold
        rows.append({"bundle": m.name, "kind": m.kind, "label": m.label, "held-out cases": e.n_cases,
                     "AUC": e.auc.auc, "95% CI": f"{e.auc.ci_low:.3f}-{e.auc.ci_high:.3f} ({e.auc.method})",
                     "threshold": m.bundle.manifest.threshold,
                     "sensitivity": None if at is None else at.sensitivity,
                     "specificity": None if at is None else at.specificity,
                     "full report": f"evaluation/{m.name}/report.html"})
    png = roc_comparison_png({m.name: m.evaluation for m in models})
    return [
        "<h2>Models on the held-out cases</h2>",
        "<p>qian2024-lasso and han2024-rf were trained on the development cases only; the three published "
        "Qian signatures were calibrated on them (feature mean and sd, median-radscore threshold). "
        "Sensitivity and specificity are at each bundle's own threshold.</p>",
        html_table(pd.DataFrame(rows)),
        embedded_png("roc.png", png),
    ]


def _new_case_section(case: NewCase, out_dir: Path) -> list[str]:
    regions = pd.DataFrame([{"region": k, "voxels": v["voxels"], "volume (mm3)": v["volume_mm3"],
                             "warnings": "; ".join(v["warnings"])} for k, v in case.regions.items()])
    scores = case.scores[["bundle", "kind", "label", "radscore", "probability", "risk_group", "status"]]
    truth = (f"true M2 share {case.state.m2_fraction:.3f}; true phenotype "
             f"{'immune-inflamed (hot)' if case.state.hot else 'immune-desert (cold)'}")
    return [
        f"<h2>New case {escape(case.state.case_id)}</h2>",
        f"<p>A case the models never saw, scored with every bundle. Ground truth (known only because it is "
        f"synthetic): {escape(truth)}.</p>",
        html_table(scores),
        html_table(regions),
        embedded_png("regions overlay", case.files["overlay"].read_bytes(), "wide"),
        embedded_png("risk groups overlay", case.files["risk_overlay"].read_bytes(), "wide"),
    ]
