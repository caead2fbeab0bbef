"""The model cards of the published Qian 2024 signatures, from the paper.

Everything here is what Qian et al. (BMC Medical Imaging 2024) state, with
where they state it; the paper's text carries no page numbers, so the
references are its sections, tables and figures. The performance rows are
built from the same Table 3 record as the manifests' ``performance``
(``published.TABLE_3``), so the card and the manifest cannot disagree.
"""

from __future__ import annotations

from .model_card import CardFacts, PerformanceRow, render_card

PAPER = "Qian 2024"
METHODS = "Materials and methods, MRI acquisition and Radiomics features extraction"
# Table 3's cohorts: how each was used, in CLEAR's terms (item 38).
DESIGNS = {
    "training": "apparent: the cases the LASSO was fitted on",
    "testing": "internal hold-out: the random 30% of the same 73 cases (no external cohort)",
}
NOT_FOR = [
    "diagnosis, treatment decisions or any individual patient's care (not a medical device)",
    "an absolute risk or probability: the paper publishes no intercept, so the bundle gives a radscore only",
    "risk groups before `tmeradiomics calibrate` has stored a reference cohort's statistics and threshold "
    "(scoring then says \"uncalibrated\" and assigns none)",
    "comparing risk groups between cohorts calibrated separately",
    "images other than breast DCE-MRI, second post-contrast (arterial) phase, or features from a preset other "
    "than `qian2024` (scoring refuses another preset's hash)",
]
LIMITATIONS = [
    f"Small cohort: 73 TCGA/TCIA patients, 51 for fitting ({PAPER}, Results and Discussion).",
    f"Scanners and protocols of 1999-2006 from three centres, not harmonised; the paper names \"more "
    f"sophisticated methods to reduce inconsistencies in radiomics features\" as needed ({PAPER}, Discussion).",
    f"Only high vs low infiltration (median split), not a quantified level ({PAPER}, Discussion).",
    f"No external validation: the 22 test cases come from the same cohort ({PAPER}, Discussion).",
    f"Second DCE phase only; no model with clinical features ({PAPER}, Discussion).",
    f"Retrospective ({PAPER}, Discussion).",
    "The label is CIBERSORT's deconvolution of bulk RNA-seq, not a histological count of M2 macrophages.",
    "The paper's feature names are R's spelling of PyRadiomics names with two typesetting errors; the bundle's "
    "names are the corrected PyRadiomics names (`provenance.name_mapping`; docs/models.md).",
    f"Table 3's CI method is not stated ({PAPER}, Table 3); the figures are quoted, not reproduced here.",
]


def qian_card(model: str, features: list[str], table3: dict[str, dict], normalisation: dict,
              version: str, citation: str) -> str:
    """The card of one Qian signature (peritumoral, intratumoral or combined)."""
    facts = CardFacts(
        name=f"qian2024-{model}",
        version=version,
        summary=(f"The published {PAPER} {model} signature for M2-macrophage infiltration (high vs low) from "
                 f"breast DCE-MRI radiomics, rebuilt from the coefficients of {PAPER} Table 2 ({len(features)} "
                 f"feature{'s' if len(features) != 1 else ''}). Source: {citation}"),
        intended_use=("Research use only: to reproduce Qian et al. 2024, to rank cases relative to a calibration "
                      "cohort, or as a baseline for models you train, on breast DCE-MRI (second post-contrast "
                      "phase) of a population like the paper's (TCGA-BRCA, TCIA)."),
        not_for=NOT_FOR,
        training_data=_training_data(table3),
        steps=_paper_steps(model, len(features), table3),
        steps_note=(f"The paper's pipeline as {PAPER} describes it ({METHODS}; Statistical analysis). The paper "
                    "gives the feature count at extraction and at the end only; counts it does not give are "
                    "marked \"not reported\"."),
        performance=[_row(part, entry) for part, entry in table3.items()],
        performance_note=(f"Quoted from {PAPER} Table 3 (also the abstract), the same figures as this bundle's "
                          "`manifest.json` `performance.published`. TMERadiomics did not measure them. References in this "
                          "card are to the paper's sections, tables and figures; the copy used has no page numbers."),
        calibration=[
            f"{PAPER} shows calibration curves (Fig. 10, peritumoral model, training and testing) and reports "
            "Hosmer-Lemeshow p > 0.05 for each model (Results); the grouped values are not published.",
            f"This bundle's normalisation status is `{normalisation.get('status')}`: {normalisation.get('rule')}. "
            "It gives a radscore, not a probability, so its calibration cannot be checked until a cohort "
            "calibrates it, and even then only the radscore's ranking and threshold are local.",
        ],
        decision_curve=[
            f"{PAPER} shows no decision curve.",
            "Net benefit is defined on predicted probabilities, which this bundle cannot give (no intercept). "
            "`tmeradiomics evaluate` renders decision curves for bundles that give probabilities, such as those "
            "`tmeradiomics train` builds.",
        ],
        limitations=LIMITATIONS,
        clear=_clear_items(),
        references=[citation, "Mitchell et al. Model Cards for Model Reporting. FAT* 2019.",
                    "Kocak et al. CheckList for EvaluAtion of Radiomics research (CLEAR). Insights Imaging "
                    "2023;14:75."],
    )
    return render_card(facts)


def _training_data(table3: dict[str, dict]) -> list[tuple[str, str]]:
    training, testing = table3["training"], table3["testing"]
    return [
        ("source", "public: TCGA-BRCA RNA-seq (labels) and TCIA breast MRI (images) "
                   f"({PAPER}, {METHODS})"),
        ("cases", f"{training['n'] + testing['n']} patients with preoperative MRI and RNA-seq: {training['n']} "
                  f"training, {testing['n']} testing, split 7:3 at random ({PAPER}, Results; Table 3)"),
        ("label", "CIBERSORT M2-macrophage fraction, split at the median of the 73 patients (0.122): 36 high, "
                  f"37 low ({PAPER}, Results); the class counts of each part are not reported"),
        ("sites", f"three centres, scans September 1999 - June 2006, 1.5 T or 3.0 T GE Healthcare, Siemens or "
                  f"Philips systems, double breast coils ({PAPER}, {METHODS})"),
        ("images", f"DCE-MRI, second phase (arterial); tumour contoured by hand in ITK-SNAP 3.8.0 by a "
                   f"radiologist (5 years), reviewed by a second (22 years); peritumoral ring 5 mm ({PAPER}, "
                   f"{METHODS})"),
        ("eligibility", f"complete clinical data, axial T2, DWI, T1 and DCE series, RNA-seq and exome data; "
                        f"sagittal-only or low-resolution series excluded ({PAPER}, {METHODS})"),
    ]


def _paper_steps(model: str, n_final: int, table3: dict[str, dict]) -> list[dict]:
    unknown = "not reported"
    return [
        {"name": "extraction", "enabled": True, "features_in": "-", "features_out": 1648,
         "parameters": {"tool": "PyRadiomics 3.0.1", "filters": "logarithmic and wavelet",
                        "per": "region, as the qian2024 preset reads it (docs/features.md)"}},
        {"name": "icc_filter", "enabled": True, "features_in": 1648, "features_out": unknown,
         "parameters": {"rule": "intra- and inter-observer ICC > 0.75"}},
        {"name": "zscore", "enabled": True, "features_in": unknown, "features_out": unknown,
         "parameters": {"statistics": "not published"}},
        {"name": "split", "enabled": True, "features_in": unknown, "features_out": unknown,
         "parameters": {"training": table3["training"]["n"], "testing": table3["testing"]["n"], "ratio": "7:3"}},
        {"name": "screen", "enabled": True, "features_in": unknown, "features_out": unknown,
         "parameters": {"rule": "Shapiro-Wilk; t-test/ANOVA or Mann-Whitney U", "alpha": 0.05}},
        {"name": f"lasso ({model})", "enabled": True, "features_in": unknown, "features_out": n_final,
         "parameters": {"method": "LASSO-logistic regression, R 4.1.1", "coefficients": f"{PAPER} Table 2"}},
    ]


def _row(part: str, entry: dict) -> PerformanceRow:
    return PerformanceRow(
        cohort=part, design=DESIGNS[part], n=entry["n"], auc=entry["auc"], ci=tuple(entry["auc_ci"]),
        ci_method="not stated", source=f"{PAPER} Table 3",
        metrics={name: entry[name] for name in ("accuracy", "sensitivity", "specificity")},
    )


def _clear_items() -> list[tuple[int, str]]:
    return [
        (7, "this table (the project reports CLEAR items; the paper does not say it used CLEAR)"),
        (10, f"Limitations: retrospective ({PAPER})"),
        (11, "Training data: eligibility"),
        (13, "Training data: source (public TCGA/TCIA)"),
        (15, "Training data: cases (random 7:3 split); Recipe steps: split"),
        (16, "Training data: sites and images"),
        (18, "Training data: label (CIBERSORT, median split)"),
        (19, "Training data: images (manual contour, 5 mm ring); docs/regions.md for this project's ring"),
        (20, "Training data: images (two radiologists, years of experience)"),
        (24, "Recipe steps: extraction; the `qian2024` preset (docs/features.md)"),
        (25, "Recipe steps: extraction (PyRadiomics); docs/features.md"),
        (27, "Recipe steps: features at extraction and in the signature"),
        (31, "Recipe steps: icc_filter (ICC > 0.75)"),
        (32, "Recipe steps: zscore; Calibration (statistics not published)"),
        (33, "Recipe steps: screen and lasso"),
        (34, "Recipe steps: lasso (LASSO-logistic)"),
        (38, "Performance: evaluation column (internal hold-out, no external test)"),
        (39, "Performance: AUC, accuracy, sensitivity, specificity"),
        (40, "Performance: 95% CI of the AUC"),
        (47, "Performance"),
        (52, "Limitations"),
        (55, "the `qian2024` preset and its SHA-256 in manifest.json"),
        (57, "this bundle: Table 2's coefficients in linear.json, sealed by manifest.json"),
        (58, "`tmeradiomics score` and the TMERadiomics Slicer module"),
    ]
