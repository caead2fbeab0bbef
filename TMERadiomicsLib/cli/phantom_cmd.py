"""``tmeradiomics phantom``: write a seeded synthetic DCE-MRI phantom case."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .argtypes import seed
from .lazy import LazyChoices


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "phantom",
        help="write a synthetic multi-phase breast DCE-MRI phantom",
        description="Write a seeded synthetic breast DCE-MRI case: every phase (phase0 = pre-contrast), "
        "image.nrrd (the second post-contrast phase), tumour.nrrd, vessels.nrrd and phantom.json.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--size", choices=LazyChoices(".cohort.phantom", "SIZES"), metavar="SIZE", default="small", help="small (112x112x40, fast) or full (448x448x160) (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..outputs import check_out_dir, staged_dir
    from ..cohort.phantom import make_phantom, write_phantom

    out = check_out_dir(args.out, args.overwrite)
    if args.size == "full":
        print("generating the full-size phantom (about 15 s)...", file=sys.stderr, flush=True)
    phantom = make_phantom(args.size, args.seed)
    with staged_dir(out) as stage:
        paths = write_phantom(phantom, stage, progress=True)
    print(json.dumps({name: str(out / path.name) for name, path in paths.items()}, indent=2))
    return 0
