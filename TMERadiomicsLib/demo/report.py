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
from .response_step import TreatedResponse

SYNTHETIC_NOTE = (
    "Everything on this page comes from a synthetic cohort made by TMERadiomicsLib.cohort. It shows the "
    "workflow and checks that the pipeline can learn a TME state that is present in the images; the numbers "
    "say nothing about patients. The published Qian 2024 signatures were fitted on real DCE-MRI, so their "
    "performance here is not a validation of them."
)


def write_demo_report(path: Path, summary: dict, derived: DerivedLabels, models: list[TrainedModel],
                      new_case: NewCase, out_dir: Path, response: TreatedResponse) -> Path:
    parts = [
        "<h1>TMERadiomics end-to-end demo</h1>",
        f"<p><b>Synthetic data.</b> {escape(SYNTHETIC_NOTE)}</p>",
        *_cohort_section(summary, derived),
        *_models_section(models),
        *_steps_section(models),
        *_response_section(response),
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


def _steps_section(models: list[TrainedModel]) -> list[str]:
    """Each trained recipe's steps with the feature counts in and out, from its manifest."""
    parts = ["<h2>Recipe steps</h2>",
             "<p>Every step of each paper's pipeline as the trained bundle's manifest records it "
             "(provenance.steps); steps switched off are listed as such.</p>"]
    for m in models:
        if not m.steps:
            continue
        rows = [{"step": s["name"], "ran": "yes" if s["enabled"] else "off", "features in": s["features_in"],
                 "features out": s["features_out"],
                 "parameters": "; ".join(f"{k}={v}" for k, v in s["parameters"].items())} for s in m.steps]
        parts += [f"<h3>{escape(m.name)} (preset {escape(m.preset)})</h3>", html_table(pd.DataFrame(rows))]
    return parts


def _response_section(response: TreatedResponse) -> list[str]:
    head = "<h2>Immunotherapy response (Han 2024's analysis)</h2>"
    if response.result is None:
        return [head, f"<p>Not run: {escape(response.summary['skipped'])}</p>"]
    from ..response.report import auc_table, figures

    r = response.result
    k = r.kruskal
    parts = [
        head,
        f"<p>The {len(r.cases)} held-out cases play Han's anti-PD-1/PD-L1-treated cohort: each has a RECIST best "
        "response drawn from its latent hot/cold state (synthetic). Score: the han2024-rf probability; groups "
        f"split at its median ({r.median:.3f}). Full report: response/report.html.</p>",
        html_table(auc_table(r)),
        f"<p>Kruskal-Wallis across RECIST categories: H = {k.statistic:.3f}, df {k.dof}, p = {k.p_value:.3g}.</p>",
    ]
    if r.survival is not None:
        parts.append(f"<p>Survival by score group: log-rank p = {r.survival.logrank_p:.3g}.</p>")
    parts += [embedded_png(name, data) for name, data in figures(r).items()]
    return parts


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
