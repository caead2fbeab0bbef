"""The model card ``train`` writes into every bundle it builds.

Every figure comes from the run itself: the cohort size and prevalence from
the training labels, the feature counts from the recipe's own record
(``provenance.steps``), the AUCs with their CIs from ``performance``, the
held-out calibration-in-the-large from the fitted model on the held-out
cases. What training cannot measure (a calibration curve on new cases, a
decision curve) the card says so, and where to get it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models.bundle import ModelBundle
from ..models.linear import LinearModel
from ..models.model_card import CardFacts, PerformanceRow, render_card
from .data import TrainingSet

SITE_COLUMN = "site"
# How each recipe's performance entries were measured (CLEAR item 38).
DESIGNS = {
    "training": "in-sample (apparent): the training part the model was fitted on; optimistic",
    "testing": "held-out: the stratified test part, never used to fit or select",
    "cross_validated": "out-of-fold cross-validation on all cases; optimistic (the configuration was chosen on "
                       "the same folds, not nested CV)",
    "training_in_sample": "in-sample (apparent): the cases the forest was fitted on; optimistic",
}


def training_card(bundle: ModelBundle, data: TrainingSet, sites: pd.Series | None = None) -> str:
    """The card of a freshly trained ``bundle``; ``sites`` gives each case's site (by case ID) when known."""
    m = bundle.manifest
    recipe = m.provenance["recipe"]
    facts = CardFacts(
        name=m.name,
        version=m.version,
        summary=(f"A {m.estimator.replace('_', ' ')} model trained by the `{recipe}` recipe of TMERadiomics on the "
                 f"user's cohort: {_features_text(len(m.required_features))} of the `{m.preset['name']}` preset, regions "
                 f"{', '.join(m.regions)}. Every figure below was computed from this training run (the training "
                 "tables and `manifest.json`: `provenance`, `performance`)."),
        intended_use=m.intended_use,
        not_for=[
            "diagnosis, treatment decisions or any individual patient's care (not a medical device)",
            f"features from another preset than `{m.preset['name']}` (scoring refuses another preset's hash)",
            "a population unlike the training cohort (other scanners, sites, phases or patients) without first "
            "evaluating it there (`tmeradiomics evaluate`)",
        ],
        training_data=_training_rows(bundle, data, sites),
        steps=list(m.provenance["steps"]),
        steps_note="As the recipe recorded them while it ran (`provenance.steps`), with the candidate features "
                   "going into and out of each step.",
        performance=[_row(part, entry) for part, entry in m.performance.items() if "auc" in entry],
        performance_note=_performance_note(m.performance),
        calibration=_calibration(bundle, data),
        decision_curve=[
            "Not computed at training time: a decision curve needs predicted probabilities of cases the model "
            "never saw, with their labels.",
            "`tmeradiomics evaluate BUNDLE FEATURES.csv LABELS.csv --out REPORT` on such a cohort renders it "
            "(net benefit against treat-all and treat-none).",
        ],
        limitations=_limitations(bundle, data, sites),
        clear=_clear_items(recipe),
    )
    return render_card(facts)


def site_counts(table: pd.DataFrame, case_ids: np.ndarray) -> pd.Series | None:
    """Each training case's site, from a ``site`` column of ``table`` (features or labels), if it has one."""
    if SITE_COLUMN not in table.columns:
        return None
    by_case = table.assign(case_id=table["case_id"].astype(str)).set_index("case_id")[SITE_COLUMN]
    return by_case.reindex(case_ids).astype(str)


def _training_rows(bundle: ModelBundle, data: TrainingSet, sites: pd.Series | None) -> list[tuple[str, str]]:
    m = bundle.manifest
    low, high = m.risk_groups
    rows = [
        ("cases", _class_text(data.y) + f" (label 1: {high}; label 0: {low})"),
        ("label", f"column `{data.labels.definition['column']}`: {data.labels.definition['rule']}"),
    ]
    if "testing_cases" in m.provenance:
        for part in ("training", "testing"):
            cases = m.provenance[f"{part}_cases"]
            rows.append((f"{part} part", _class_text(data.y[np.isin(data.case_ids, cases)])))
    else:
        rows.append(("fitting", f"all {len(data.y)} cases fit the final model; the cross-validation holds folds out"))
    rows += [
        ("sites", _sites_text(sites)),
        ("harmonisation", _harmonisation_text(bundle)),
        ("candidate features", f"{data.n_all_features} feature columns in the table; {m.provenance['candidates']} "
                               "entered the selection (after the stable-features and regions steps)"),
        ("preset", f"`{m.preset['name']}`, SHA-256 {m.preset['sha256'][:12]}..."),
    ]
    return rows


def _harmonisation_text(bundle: ModelBundle) -> str:
    combat = bundle.harmonisation
    if combat is None:
        return "none: the features enter the model as extracted"
    covariates = f", keeping the effects of {', '.join(combat.design.covariates)}" if combat.design.covariates else ""
    sites = ", ".join(f"{site} ({n} cases)" for site, n in zip(combat.sites, combat.site_cases))
    return (f"harmonised: ComBat by column `{combat.batch_column}`{covariates}, fitted on the "
            f"{sum(combat.site_cases)} cases the model was fitted on (re-fitted inside each CV fold), sites {sites}; "
            "the bundle carries it (`harmonisation.json`) and scoring applies it before the model, refusing a case "
            "without a site or from another site")


def _features_text(n: int) -> str:
    return f"{n} feature{'' if n == 1 else 's'}"


def _class_text(y: np.ndarray) -> str:
    positives = int(np.sum(y))
    return f"{len(y)} cases, {positives} label 1 and {len(y) - positives} label 0; prevalence {positives / len(y):.3f}"


def _sites_text(sites: pd.Series | None) -> str:
    if sites is None:
        return f"not recorded (neither table has a `{SITE_COLUMN}` column)"
    counts = sites.value_counts().sort_index()
    return f"{len(counts)}: " + ", ".join(f"{site} ({n} cases)" for site, n in counts.items())


def _row(part: str, entry: dict) -> PerformanceRow:
    auc = entry["auc"]
    return PerformanceRow(
        cohort=part, design=DESIGNS.get(part, part), n=int(entry["n"]), auc=float(auc["auc"]),
        ci=(float(auc["ci_low"]), float(auc["ci_high"])), ci_method=str(auc["method"]),
        source="measured by `tmeradiomics train`",
        metrics={name: float(entry[name]) for name in ("accuracy", "sensitivity", "specificity") if name in entry},
    )


def _performance_note(performance: dict) -> str:
    if "testing" in performance:
        return ("The held-out row is the estimate to quote: those cases never chose features, lambda or "
                "coefficients. No external cohort was tested.")
    if "cross_validated" in performance:
        return ("No case was held out of the whole recipe: the out-of-fold row is the least optimistic figure "
                "training gives, and it is still optimistic. No external cohort was tested.")
    return "Training measured no performance on cases it did not fit."


def _calibration(bundle: ModelBundle, data: TrainingSet) -> list[str]:
    m = bundle.manifest
    lines = [f"Threshold {m.threshold:.4f} on the {m.score}: {m.threshold_rule}."]
    if m.normalisation is not None:
        lines.append(f"Normalisation: `{m.normalisation['status']}`, {m.normalisation['rule']}.")
    held_out = m.provenance.get("testing_cases")
    if held_out is not None and isinstance(bundle.estimator, LinearModel):
        mask = np.isin(data.case_ids, held_out)
        predicted = bundle.estimator.probability(_model_inputs(bundle, data, mask)).to_numpy()
        lines.append(f"Calibration-in-the-large on the {int(mask.sum())} held-out cases: mean predicted probability "
                     f"{predicted.mean():.3f}, observed prevalence {data.y[mask].mean():.3f}.")
    else:
        lines.append("No held-out probabilities were kept, so calibration was not measured at training time.")
    lines.append("The calibration curve and Hosmer-Lemeshow test on a labelled cohort: `tmeradiomics evaluate`.")
    return lines


def _model_inputs(bundle: ModelBundle, data: TrainingSet, mask: np.ndarray) -> pd.DataFrame:
    """The cases' features as the bundle's estimator takes them (harmonised when the bundle is)."""
    if bundle.harmonisation is None:
        return data.X.loc[mask]
    table = data.X.loc[mask, bundle.required_features].assign(case_id=data.case_ids[mask])
    for column in data.batch.columns:
        table[column] = data.batch[column].to_numpy()[mask]
    return bundle.model_inputs(table)


def _limitations(bundle: ModelBundle, data: TrainingSet, sites: pd.Series | None) -> list[str]:
    m = bundle.manifest
    training = m.provenance.get("training_cases", list(data.case_ids))
    y_fit = data.y[np.isin(data.case_ids, training)]
    events = int(min(y_fit.sum(), len(y_fit) - y_fit.sum()))
    return [
        f"{len(y_fit)} cases fitted the model, {events} in the smaller class, for {m.provenance['candidates']} "
        f"candidate features: {events / m.provenance['candidates']:.3g} events per candidate feature, so the "
        "selection is unstable and the apparent performance optimistic.",
        "No external validation: every figure above comes from the training cohort.",
        _sites_limitation(bundle, sites),
        "Valid only for the preset above, its regions and a population like the training cohort.",
    ]


def _sites_limitation(bundle: ModelBundle, sites: pd.Series | None) -> str:
    if bundle.harmonisation is not None:
        return (f"{len(bundle.harmonisation.sites)} site(s) in training, harmonised by ComBat; a case from any other "
                "site is refused, as ComBat has no estimate of its effect.")
    if sites is None:
        return "Sites not recorded: the effect of scanner and site is unknown."
    return f"{sites.nunique()} site(s) in training, not harmonised unless the features were; other sites are untested."


def _clear_items(recipe: str) -> list[tuple[int, str]]:
    tuning = ("Recipe steps: lasso (lambda by stratified CV deviance)" if recipe == "qian2024-lasso"
              else "Recipe steps: cv_model_choice (grid by stratified CV AUC)")
    return [
        (7, "this table"),
        (15, "Training data: training/testing parts or CV; Recipe steps: split (docs/models.md)"),
        (18, "Training data: label"),
        (24, "the preset (docs/features.md)"),
        (25, "the preset: PyRadiomics through `tmeradiomics extract` (docs/features.md)"),
        (27, "Recipe steps: features in and out of each step"),
        (29, "training refuses missing or non-finite candidate values (docs/bad-inputs.md)"),
        (30, "Training data: prevalence; stratified split and folds (docs/models.md)"),
        (31, "Recipe steps: icc_filter (stable-features list; docs/reproducibility.md)"),
        (32, "Recipe steps: zscore / feature_zscore; Calibration: normalisation"),
        (33, "Recipe steps"),
        (34, f"the `{recipe}` recipe (docs/models.md)"),
        (35, tuning),
        (37, tuning),
        (38, "Performance: evaluation column"),
        (39, "Performance: AUC, accuracy, sensitivity, specificity"),
        (40, "Performance: 95% CI of the AUC and its method"),
        (47, "Performance"),
        (52, "Limitations"),
        (55, "the preset and its SHA-256 in manifest.json"),
        (56, "the TMERadiomics source of the recipe (TMERadiomicsLib/training/)"),
        (57, "this bundle, sealed by manifest.json"),
        (58, "`tmeradiomics score` and the TMERadiomics Slicer module"),
    ]
