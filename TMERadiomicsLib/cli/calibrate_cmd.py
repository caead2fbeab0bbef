"""``tmeradiomics calibrate BUNDLE FEATURES.csv --out DIR``: calibrate a published signature."""

from __future__ import annotations

import argparse
import json

from .lazy import LazyChoices


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate a published signature on a reference cohort",
        description=(
            "Store a reference cohort's per-feature mean and sd, a radscore threshold and its size in a "
            "copy of a published linear bundle (e.g. qian2024-peritumoral), which then assigns risk groups "
            "relative to that cohort. Threshold: Youden's optimum on the cohort's labels (default with "
            "--labels; what Qian's Table 3 implies) or the median radscore (default without labels)."
        ),
    )
    parser.add_argument("bundle", help="bundle folder or bundled model name")
    parser.add_argument("features", help="combined-features CSV of the reference cohort")
    parser.add_argument("--out", required=True, help="folder for the calibrated bundle")
    parser.add_argument("--labels", help="labels CSV of the reference cohort (case_id plus label column)")
    parser.add_argument("--label", help="label column (default: the only one)")
    parser.add_argument("--median-split", action="store_true", help="label is continuous: above the median is 1")
    parser.add_argument("--threshold", choices=LazyChoices(".models.calibration", "THRESHOLD_RULES"), metavar="RULE",
                        help="threshold rule: %(choices)s (default: youden with --labels, median without)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import calibrate, load_bundle
    from ..models.resources import bundle_path
    from ..models.tables import read_table
    from ..outputs import check_out_dir

    check_out_dir(args.out, args.overwrite)
    labels = read_table(args.labels) if args.labels else None
    calibrated = calibrate(load_bundle(bundle_path(args.bundle)), read_table(args.features), labels,
                           label=args.label, median_split=args.median_split, rule=args.threshold)
    out = calibrated.save(args.out, args.overwrite)
    print(json.dumps({
        "bundle": calibrated.manifest.name,
        "out": str(out),
        "threshold": calibrated.manifest.threshold,
        "threshold_rule": calibrated.manifest.threshold_rule,
        "cohort_size": calibrated.manifest.normalisation["cohort_size"],
    }, indent=2))
    return 0
