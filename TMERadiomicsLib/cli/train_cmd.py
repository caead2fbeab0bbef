"""``tmeradiomics train FEATURES.csv LABELS.csv --recipe NAME --out BUNDLE``."""

from __future__ import annotations

import argparse
import json

from ..errors import InputError
from .lazy import LazyChoices


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model bundle with a paper's recipe",
        description=(
            "Train qian2024-lasso (z-score, stratified 7:3 split, LASSO-logistic with CV) or "
            "han2024-rf (random forest chosen by 5-fold CV, Youden threshold, top-20 "
            "importances) on a combined-features CSV and a labels CSV; write a model bundle."
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
    parser.add_argument("--stable-features", help="text file, one feature name per line, restricting the candidates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--groups", nargs=2, metavar=("LABEL0", "LABEL1"),
                        help="risk-group names for label 0 and label 1, e.g. --groups cold hot "
                        "(default: made from the label column)")
    parser.add_argument("--lambda-rule", choices=("1se", "min"), help="qian2024-lasso: lambda rule (default 1se)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models.tables import read_table
    from ..outputs import check_out_dir
    from ..training import read_stable_features, train

    check_out_dir(args.out, args.overwrite)
    stable = read_stable_features(args.stable_features) if args.stable_features else None
    if args.lambda_rule and args.recipe != "qian2024-lasso":
        raise InputError("--lambda-rule applies to the qian2024-lasso recipe only", value=args.recipe)
    options = {"lambda_rule": args.lambda_rule} if args.lambda_rule else {}
    bundle = train(
        read_table(args.features), read_table(args.labels), args.recipe, args.seed, stable,
        label=args.label, median_split=args.median_split, options=options, progress=True,
        group_names=tuple(args.groups) if args.groups else None,
    )
    out = bundle.save(args.out, args.overwrite)
    print(json.dumps({
        "bundle": bundle.manifest.name,
        "out": str(out),
        "features": bundle.required_features,
        "threshold": bundle.manifest.threshold,
        "performance": bundle.manifest.performance,
    }, indent=2, default=float))
    return 0
