"""``tmeradiomics demo``: the end-to-end demo on a seeded synthetic phantom."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..demo import run_demo
from ..outputs import check_out_dir, staged_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on a synthetic phantom",
        description="Generate a seeded synthetic DCE-MRI phantom case, build its regions, extract "
        "features and write masks, a Slicer segmentation, an overlay PNG and feature tables.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="phantom seed (default: %(default)s)")
    parser.add_argument("--preset", default="qian2024", help="feature preset (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = check_out_dir(args.out, args.overwrite)
    with staged_dir(out) as stage:
        result = run_demo(stage, seed=args.seed, preset=args.preset)
    print(json.dumps(result.summary, indent=2))
    print(f"demo written to {out}")
    return 0
