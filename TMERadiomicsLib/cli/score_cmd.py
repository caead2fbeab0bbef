"""``tmeradiomics score BUNDLE FEATURES.csv``: radscore/probability and risk group per case."""

from __future__ import annotations

import argparse
import json

from ..models import load_bundle
from ..models.resources import bundle_path
from ..models.tables import read_table
from ..outputs import atomic_write_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score cases with a model bundle",
        description=(
            "Score every case of a combined-features CSV with a model bundle (a folder, or the name "
            "of a bundled model such as qian2024-peritumoral). Prints JSON: per case the radscore "
            "and/or probability, the risk group (none while the bundle is uncalibrated) and which "
            "required inputs were missing. Research use only."
        ),
    )
    parser.add_argument("bundle", help="bundle folder or bundled model name")
    parser.add_argument("features", help="combined-features CSV (case_id, preset, preset_sha256, Intra_/Peri_/Ring_ columns)")
    parser.add_argument("--out", help="also write the scores to this CSV file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bundle = load_bundle(bundle_path(args.bundle))
    scores = bundle.score(read_table(args.features))
    if args.out:
        atomic_write_text(args.out, scores.to_csv(index=False))
    missing = scores.loc[scores["status"].str.startswith("missing"), ["case_id", "status"]]
    report = {
        "bundle": bundle.manifest.name,
        "version": bundle.manifest.version,
        "calibrated": bundle.manifest.calibrated,
        "score": bundle.manifest.score,
        "threshold": bundle.manifest.threshold,
        "intended_use": bundle.manifest.intended_use,
        "missing_inputs": dict(zip(missing["case_id"], missing["status"])),
        "cases": json.loads(scores.to_json(orient="records")),
    }
    print(json.dumps(report, indent=2))
    return 0
