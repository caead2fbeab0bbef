"""The demo's one-page HTML report: cohort, labels, held-out performance, the new case."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..evaluation.plots import roc_comparison_png
from ..evaluation.report import embedded_png, escape, html_page, html_table
from ..outputs import atomic_write_text
from .harmonise_step import Harmonised, per_site_png
from .labels_step import DerivedLabels
from .models_step import TrainedModel
from .new_case import NewCase
from .response_step import SURVIVAL_TIME_UNIT, TreatedResponse

SYNTHETIC_NOTE = (
    "Everything on this page comes from a synthetic cohort made by TMERadiomicsLib.cohort. It shows the "
    "workflow and checks that the pipeline can learn a TME state that is present in the images; the numbers "
    "say nothing about patients. The published Qian 2024 signatures were fitted on real DCE-MRI, so their "
    "performance here is not a validation of them."
)


def write_demo_report(path: Path, summary: dict, derived: DerivedLabels, models: list[TrainedModel],
                      new_case: NewCase, out_dir: Path, response: TreatedResponse, harmonised: Harmonised) -> Path:
    parts = [
        "<h1>TMERadiomics end-to-end demo</h1>",
        f"<p><b>Synthetic data.</b> {escape(SYNTHETIC_NOTE)}</p>",
        *_cohort_section(summary, derived),
        *_models_section(models),
        *_harmonisation_section(harmonised),
        *_steps_section(models),
        *_response_section(response),
        *_new_case_section(new_case, out_dir, models),
        "<h2>Run time</h2>",
        html_table(pd.DataFrame({"step": list(summary["seconds"]), "seconds": list(summary["seconds"].values())}),
                   "Wall-clock seconds per step", decimals={"seconds": 1}),
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
        html_table(agreement, "Derived labels against the cohort's ground truth (share of cases that agree)"),
    ]


def does_not_transfer(model: TrainedModel) -> bool:
    """The whole 95% CI of the held-out AUC lies below 0.5: the score ranks the cases the wrong way round."""
    return model.evaluation.auc.ci_high < 0.5


def _models_section(models: list[TrainedModel]) -> list[str]:
    rows = []
    for m in models:
        e = m.evaluation
        at = e.at_bundle_threshold
        rows.append({"bundle": m.name, "kind": m.kind, "label": m.label,
                     "n (label 1 / 0)": f"{e.label['n_positive']} / {e.label['n_negative']}",
                     "AUC": e.auc.auc, "95% CI": f"{e.auc.ci_low:.3f}-{e.auc.ci_high:.3f}",
                     "CI method": "DeLong" if e.auc.method == "delong" else "bootstrap (percentile)",
                     "p (DeLong z-test)": e.auc.delong_p_value, "p (Wilcoxon rank-sum)": e.auc.p_value,
                     "verdict": "does not transfer" if does_not_transfer(m) else "",
                     "threshold": m.bundle.manifest.threshold,
                     "sensitivity": None if at is None else at.sensitivity,
                     "specificity": None if at is None else at.specificity,
                     "full report": f"evaluation/{m.name}/report.html"})
    png = roc_comparison_png({m.name: m.evaluation for m in models})
    failed = [m.name for m in models if does_not_transfer(m)]
    flag = ([f'<p class="flag">Does not transfer: {escape(", ".join(failed))}. The whole 95% CI of the held-out '
             "AUC lies below 0.5, so these scores rank the synthetic cases the wrong way round; their risk "
             "groups are not shown as predictions below.</p>"] if failed else [])
    return [
        "<h2>Models on the held-out cases</h2>",
        "<p>qian2024-lasso and han2024-rf were trained on the development cases only; the three published "
        "Qian signatures were calibrated on them (feature mean and sd, Youden threshold on the development "
        "labels). Sensitivity and specificity are at each bundle's own threshold. Each p tests AUC = 0.5: the "
        "DeLong z-test is the CI's own method (given for DeLong CIs), the Wilcoxon rank-sum test (normal "
        "approximation) is a separate test, so the two can disagree near 0.05. These AUCs are one draw of the "
        "synthetic cohort (seed in the run's summary.json); README.md gives their spread over seeds.</p>",
        *flag,
        html_table(pd.DataFrame(rows), "Held-out AUC and operating point of every bundle", links=("full report",)),
        embedded_png("roc.png", png),
    ]


def _harmonisation_section(result: Harmonised) -> list[str]:
    s = result.summary()
    rows = [{"model": name, "held-out AUC": result_of.evaluation.auc.auc,
             "95% CI": f"{result_of.evaluation.auc.ci_low:.3f}-{result_of.evaluation.auc.ci_high:.3f}",
             "features": len(result_of.bundle.required_features)}
            for name, result_of in (("without ComBat", result.plain), (f"with ComBat by {s['column']}", result.model))]
    means = result.site_means().reset_index().rename(columns={"before": "mean before", "after": "mean after"})
    sites = ", ".join(f"{site} ({n})" for site, n in s["sites_in_training"].items())
    return [
        "<h2>Harmonisation across sites (ComBat)</h2>",
        f"<p>The synthetic cases were acquired at three sites whose scanners have their own noise, gain and "
        "offset (docs/cohort.md). "
        f"{escape(RECIPE_TEXT)} ComBat was fitted on the training part only ({escape(sites)} cases) and again "
        "inside each fold of the lambda cross-validation; the bundle carries it "
        f"(<code>models/{escape(s['bundle'])}/harmonisation.json</code>) and harmonises every case it scores.</p>",
        html_table(pd.DataFrame(rows), f"{s['recipe']} on the held-out cases, without and with ComBat"),
        f"<p>The feature shown is the one whose raw values differ most between the sites (largest one-way ANOVA "
        f"F over the development cases): {escape(s['feature'])}. Most features vary far more with the TME and "
        "the lesion than with a site's scanner.</p>",
        html_table(means, f"{s['feature']}: mean per site before and after ComBat (development and held-out cases)"),
        embedded_png("per-site distribution before and after ComBat", per_site_png(result)),
    ]


RECIPE_TEXT = ("qian2024-lasso was trained twice on the same development cases, without and with "
               "--harmonise site (han2024's preset z-scores each image, which removes a scanner's "
               "gain and offset, so only the lasso is shown).")


def _steps_section(models: list[TrainedModel]) -> list[str]:
    """Each trained recipe's steps with the feature counts in and out, from its manifest."""
    parts = ["<h2>Recipe steps</h2>",
             "<p>Every step of each paper's pipeline as the trained bundle's manifest records it "
             "(provenance.steps); steps switched off are listed as such. han2024-rf's best_mean_auc is "
             "optimistic: the best of the grid's configurations on the same folds that chose it (no nested "
             "CV); the held-out AUC above is the unbiased estimate.</p>"]
    for m in models:
        if not m.steps:
            continue
        rows = [{"step": s["name"], "ran": "yes" if s["enabled"] else "off", "features in": s["features_in"],
                 "features out": s["features_out"],
                 "parameters": "; ".join(f"{k}={v}" for k, v in s["parameters"].items())} for s in m.steps]
        parts += [f"<h3>{escape(m.name)} (preset {escape(m.preset)})</h3>",
                  html_table(pd.DataFrame(rows), f"Steps of {m.name}, as its manifest records them")]
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
        f"split at its median ({r.median:.3f}). Full report: "
        '<a href="response/report.html">response/report.html</a>.</p>',
        html_table(auc_table(r), "AUC of the han2024-rf score for each response endpoint"),
        f"<p>Kruskal-Wallis across RECIST categories: H = {k.statistic:.3f}, df {k.dof}, p = {k.p_value:.3g}.</p>",
    ]
    if r.survival is not None:
        parts.append(f"<p>Survival by score group: log-rank p = {r.survival.logrank_p:.3g}.</p>")
    parts += [embedded_png(name, data) for name, data in figures(r, SURVIVAL_TIME_UNIT).items()]
    return parts


def truth_text(case: NewCase, out_dir: Path) -> str:
    """The new case's true state in the labels' own terms: M2 high or low against the cohort's median."""
    cohort_m2 = pd.read_csv(out_dir / "cohort" / "truth.csv")["m2_fraction"]
    median = float(cohort_m2.median())
    level = "high" if case.state.m2_fraction > median else "low"
    return (f"true M2 share {case.state.m2_fraction:.3f}, {level} M2 infiltration (the median true share of the cohort "
            f"is {median:.3f}); true phenotype "
            f"{'immune-inflamed (hot)' if case.state.hot else 'immune-desert (cold)'}")


def _new_case_section(case: NewCase, out_dir: Path, models: list[TrainedModel]) -> list[str]:
    regions = pd.DataFrame([{"region": k, "voxels": v["voxels"], "volume (mm3)": v["volume_mm3"],
                             "warnings": "; ".join(v["warnings"])} for k, v in case.regions.items()])
    scores = case.scores[["bundle", "kind", "label", "radscore", "probability", "risk_group", "status"]].copy()
    failed = {m.name for m in models if does_not_transfer(m)}
    # A signature that does not transfer gives no usable group: its group is shown only with the flag.
    scores["risk_group"] = [f"does not transfer (would be: {group})" if bundle in failed else group
                            for bundle, group in zip(scores["bundle"], scores["risk_group"])]
    return [
        f"<h2>New case {escape(case.state.case_id)}</h2>",
        f"<p>A case the models never saw, scored with every bundle. Ground truth (known only because it is "
        f"synthetic): {escape(truth_text(case, out_dir))}.</p>",
        html_table(scores, "Scores and risk groups of the new case"),
        html_table(regions, "Regions of the new case"),
        embedded_png("regions overlay", case.files["overlay"].read_bytes(), "wide"),
        embedded_png("risk groups overlay", case.files["risk_overlay"].read_bytes(), "wide"),
    ]
