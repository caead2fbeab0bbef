"""``tmeradiomics evaluate BUNDLE FEATURES.csv LABELS.csv --out DIR``: metrics and HTML report."""

from __future__ import annotations

import argparse
import json

from .auc_options import add_auc_ci_options, check_auc_ci_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a model bundle on a labelled cohort",
        description=(
            "AUC with 95% CI and p (bootstrap for Qian bundles, DeLong otherwise), accuracy, sensitivity, specificity, PPV, NPV at "
            "the bundle threshold and the Youden threshold, calibration with Hosmer-Lemeshow, decision curve, ROC, "
            "waterfall and box plots, Table-1 group comparison; one HTML report plus CSV/JSON."
        ),
    )
    parser.add_argument("bundle", help="bundle folder or bundled model name")
    parser.add_argument("features", help="combined-features CSV")
    parser.add_argument("labels", help="labels CSV: case_id plus label column(s)")
    parser.add_argument("--out", required=True, help="folder for the report")
    parser.add_argument("--label", help="label column (default: the only one)")
    parser.add_argument("--median-split", action="store_true", help="label is continuous: above the median is 1")
    parser.add_argument("--clinical", help="CSV of case_id plus clinical variables for Table 1")
    add_auc_ci_options(parser, default=None,
                       help="AUC CI: bootstrap (percentile, seeded; default for Qian bundles) or DeLong "
                       "(default for han2024-rf and other bundles)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, write_report
    from ..evaluation.report import result_dict
    from ..models import load_bundle
    from ..models.resources import bundle_path
    from ..models.tables import read_table
    from ..outputs import check_out_dir

    check_auc_ci_options(args)
    check_out_dir(args.out, args.overwrite)
    clinical = read_table(args.clinical) if args.clinical else None
    bundle = load_bundle(bundle_path(args.bundle))
    result = evaluate(
        bundle, read_table(args.features), read_table(args.labels),
        label=args.label, median_split=args.median_split, clinical=clinical,
        ci=args.ci, n_bootstrap=args.n_bootstrap, seed=args.seed,
    )
    out = write_report(result, args.out, args.overwrite, model_card=bundle.model_card)
    summary = result_dict(result)
    print(json.dumps({"out": str(out), "n_cases": summary["n_cases"], "auc": summary["auc"],
                      "at_bundle_threshold": summary["at_bundle_threshold"],
                      "at_youden_threshold": summary["at_youden_threshold"]}, indent=2))
    return 0
