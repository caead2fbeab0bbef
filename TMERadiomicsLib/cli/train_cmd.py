"""``tmeradiomics train FEATURES.csv LABELS.csv --recipe NAME --out BUNDLE``."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError
from .argtypes import column_list, p_value, seed
from .lazy import LazyChoices

REGIONS = ("intratumoral", "peritumoral", "ring")
# Option -> (recipe it belongs to, key in the recipe's options).
RECIPE_FLAGS = {
    "model": ("qian2024-lasso", "model"),
    "screen_p": ("qian2024-lasso", "screen_alpha"),
    "no_screen": ("qian2024-lasso", "screen"),
    "no_zscore": ("qian2024-lasso", "zscore"),
    "two_stage": ("qian2024-lasso", "two_stage"),
    "lambda_rule": ("qian2024-lasso", "lambda_rule"),
    "regions": ("han2024-rf", "regions"),
    "select_top": ("han2024-rf", "select_top"),
    "no_importance_selection": ("han2024-rf", "select"),
    "no_youden": ("han2024-rf", "youden"),
    "feature_zscore": ("han2024-rf", "zscore"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model bundle with a paper's recipe",
        description=(
            "Train qian2024-lasso (regions of --model, optional ICC list, 7:3 split, Shapiro-Wilk then "
            "t-test/Mann-Whitney screen, z-score, LASSO-logistic with CV lambda) or han2024-rf "
            "(intratumoral + ring, optional ICC list, importance-based selection inside 5-fold CV, CV model "
            "choice, Youden threshold) on a combined-features CSV and a labels CSV; write a model bundle "
            "whose manifest records every step (provenance.steps). --no-* flags switch steps off."
        ),
    )
    parser.add_argument("features", help="combined-features CSV")
    parser.add_argument("labels", help="labels CSV: case_id plus label column(s)")
    parser.add_argument("--recipe", required=True, choices=LazyChoices(".training", "RECIPES"), metavar="RECIPE",
                        help="training recipe: %(choices)s")
    parser.add_argument("--out", required=True, help="folder for the bundle")
    parser.add_argument("--label", help="label column (default: the only one)")
    parser.add_argument("--median-split", action="store_true",
                        help="label is continuous: above the cohort median is 1")
    parser.add_argument("--stable-features",
                        help="ICC step: text file, one feature name per line, restricting the candidates")
    parser.add_argument("--seed", type=seed, default=0,
                        help="seed of the random parts: qian2024-lasso's 7:3 split, CV folds and solver order; "
                        "han2024-rf's CV folds and forests (default: %(default)s)")
    parser.add_argument("--groups", nargs=2, metavar=("LABEL0", "LABEL1"),
                        help="risk-group names for label 0 and label 1, e.g. --groups cold hot "
                        "(default: made from the label column)")
    parser.add_argument("--harmonise", metavar="COLUMN",
                        help="harmonise the candidates across sites with ComBat by this column (of the features or "
                             "labels table), fitted on the training part only and inside each CV fold; the bundle "
                             "carries it and scoring then needs the column (docs/harmonisation.md)")
    parser.add_argument("--harmonise-covariates", type=column_list, default=[], metavar="COL[,COL...]",
                        help="with --harmonise: covariate columns whose effects ComBat keeps, comma-separated")
    qian = parser.add_argument_group("qian2024-lasso")
    qian.add_argument("--model", choices=("intratumoral", "peritumoral", "combined"),
                      help="regions of the model: Intra_, Peri_ or both (default combined; Ring_ never)")
    qian.add_argument("--screen-p", type=p_value, help="univariate screen keeps p below this (default 0.05)")
    qian.add_argument("--no-screen", action="store_true", help="skip the Shapiro/t-test/Mann-Whitney screen")
    qian.add_argument("--no-zscore", action="store_true", help="skip the z-score (LASSO on raw values)")
    qian.add_argument("--two-stage", action="store_true",
                      help="combined model: LASSO per region, then LASSO on the union of their selections")
    qian.add_argument("--lambda-rule", choices=("1se", "min"), help="lambda rule (default 1se)")
    han = parser.add_argument_group("han2024-rf")
    han.add_argument("--regions", nargs="+", choices=REGIONS, help="regions (default intratumoral ring)")
    han.add_argument("--select-top", type=int, help="features kept by importance inside the CV (default 20)")
    han.add_argument("--no-importance-selection", action="store_true", help="skip the importance-based selection")
    han.add_argument("--no-youden", action="store_true", help="threshold 0.5 instead of Youden's")
    han.add_argument("--feature-zscore", action="store_true",
                     help="z-score each feature by the training cases first, as Caret does (the forest and its "
                          "probabilities come out the same; default off: the han2024 preset z-scores images)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def recipe_options(args: argparse.Namespace) -> dict[str, object]:
    """The recipe options the flags set; a flag of the other recipe is refused."""
    options: dict[str, object] = {}
    for flag, (recipe, key) in RECIPE_FLAGS.items():
        value = getattr(args, flag, None)
        if value is None or value is False:
            continue
        if recipe != args.recipe:
            raise InputError(f"--{flag.replace('_', '-')} applies to {recipe} only", value=args.recipe)
        options[key] = False if flag.startswith("no_") else value
    return options


def run(args: argparse.Namespace) -> int:
    from ..models.tables import read_table
    from ..outputs import check_out_dir
    from ..training import read_stable_features, train

    check_out_dir(args.out, args.overwrite)
    options = recipe_options(args)
    stable = read_stable_features(args.stable_features) if args.stable_features else None
    bundle = train(
        read_table(args.features), read_table(args.labels), args.recipe, args.seed, stable,
        label=args.label, median_split=args.median_split, options=options, progress=True,
        group_names=tuple(args.groups) if args.groups else None,
        harmonise=args.harmonise, harmonise_covariates=args.harmonise_covariates,
    )
    out = bundle.save(args.out, args.overwrite)
    print(json.dumps({
        "bundle": bundle.manifest.name,
        "out": str(out),
        "features": bundle.required_features,
        "threshold": bundle.manifest.threshold,
        "steps": [{k: s[k] for k in ("name", "enabled", "features_in", "features_out")}
                  for s in bundle.manifest.provenance["steps"]],
        "performance": bundle.manifest.performance,
    }, indent=2, default=float))
    return 0
