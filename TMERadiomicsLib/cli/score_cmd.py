"""``tmeradiomics score BUNDLE (FEATURES.csv | IMAGE MASK)``: score and risk group per case.

From a combined-features CSV every case is scored. From an image and a tumour
mask the command builds the regions the bundle needs, extracts the features
with the bundle's preset and scores that one case. Either way the output says
which required inputs were missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import InputError
from .lazy import LazyDefault
from .argtypes import case_id
from .regions_cmd import add_region_options, add_small_regions_option, build_regions, check_widths, load_case

if TYPE_CHECKING:
    import pandas as pd

    from ..models import ModelBundle

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score cases with a model bundle",
        description=(
            "Score cases with a model bundle (a folder, or a bundled model name such as "
            "qian2024-peritumoral), from a combined-features CSV or from IMAGE and TUMOUR_MASK. "
            "Prints JSON: per case the radscore and/or probability, the risk group (none while the "
            "bundle is uncalibrated) and which required inputs were missing. Research use only."
        ),
    )
    parser.add_argument("bundle", help="bundle folder or bundled model name")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="FEATURES.csv (combined features), or IMAGE TUMOUR_MASK")
    parser.add_argument("--out", help="also write the scores to this CSV file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    image_options = parser.add_argument_group("IMAGE TUMOUR_MASK form")
    image_options.add_argument("--case-id", type=case_id, help="case identifier (default: the image file name)")
    image_options.add_argument("--label", type=int, help="value of the tumour in a label map")
    image_options.add_argument("--segment", metavar="NAME|NUMBER",
                               help="the tumour's segment of a multi-segment mask (.seg.nrrd, DICOM SEG, RTSTRUCT)")
    image_options.add_argument("--series", metavar="UID|NUMBER|DESCRIPTION",
                               help="the series of a DICOM folder holding several")
    image_options.add_argument("--phase", type=int, default=LazyDefault(".dce", "DEFAULT_PHASE"),
                               help="DCE phase of a 4-D image, 0 = pre-contrast (default: %(default)s)")
    image_options.add_argument("--resample-mask", action="store_true",
                               help="resample masks onto the image grid instead of refusing a mismatch")
    add_region_options(image_options)
    add_small_regions_option(image_options)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import load_bundle
    from ..models.resources import bundle_path
    from ..models.tables import read_table
    from ..outputs import atomic_write_text, check_out_file

    if args.out:
        check_out_file(args.out, args.overwrite)
    bundle = load_bundle(bundle_path(args.bundle))
    if len(args.inputs) == 1:
        table = read_table(args.inputs[0])
    elif len(args.inputs) == 2:
        table = _features_from_image(bundle, args)
    else:
        raise InputError("give one features CSV, or an image and a tumour mask", value=args.inputs)
    scores = bundle.score(table)
    if args.out:
        atomic_write_text(args.out, scores.to_csv(index=False))
    print(json.dumps(score_report(bundle, scores), indent=2))
    return 0


def _features_from_image(bundle: ModelBundle, args: argparse.Namespace) -> pd.DataFrame:
    """Regions and features of one case, only for the regions the bundle uses."""
    from ..features import extract_case

    args.image, args.mask = Path(args.inputs[0]), Path(args.inputs[1])
    check_widths(args)
    case_id, image, tumour = load_case(args)
    regions = build_regions(args, case_id, image, tumour)
    needed = {name: regions.masks[name] for name in bundle.manifest.regions}
    print(f"extracting {', '.join(needed)} features of {case_id} with preset "
          f"{bundle.manifest.preset['name']}...", file=sys.stderr)
    return extract_case(image, needed, bundle.manifest.preset["name"], case_id=case_id,
                        allow_small_regions=args.allow_small_regions).combined()


def score_report(bundle: ModelBundle, scores: pd.DataFrame) -> dict[str, object]:
    missing = scores.loc[scores["status"].str.startswith("missing"), ["case_id", "status"]]
    return {
        "bundle": bundle.manifest.name,
        "version": bundle.manifest.version,
        "calibrated": bundle.manifest.calibrated,
        "score": bundle.manifest.score,
        "threshold": bundle.manifest.threshold,
        "intended_use": bundle.manifest.intended_use,
        "missing_inputs": dict(zip(missing["case_id"], missing["status"])),
        "cases": json.loads(scores.to_json(orient="records")),
    }
