"""``tmeradiomics cohort``: write a seeded synthetic radiogenomic cohort."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .argtypes import seed, unit_interval


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cohort",
        help="write a synthetic radiogenomic cohort (images, masks, RNA-seq, survival, labels)",
        description="Write N seeded synthetic DCE-MRI cases whose latent TME state (M2 share, hot/cold) "
        "shapes their peritumoral and ring enhancement, with a batch manifest, an expression matrix, an "
        "LM22-shaped signature, TME gene sets, a survival table, ground-truth labels and the latent state.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--cases", type=int, default=120, help="number of cases (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=0, help="cohort seed (default: %(default)s)")
    parser.add_argument("--held-out", type=unit_interval, default=0.3,
                        help="share of cases marked held-out in the manifest's role column (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..cohort import make_cohort, write_cohort
    from ..outputs import check_out_dir, staged_dir
    from ..work_limits import COHORT_CASE, check_count

    check_count("--cases", args.cases, COHORT_CASE, disk_at=args.out)  # before a million cases are drawn
    cohort = make_cohort(args.cases, args.seed, held_out=args.held_out)  # refuses bad sizes before writing
    out = check_out_dir(args.out, args.overwrite)
    with staged_dir(out) as stage:
        paths = write_cohort(cohort, stage, progress=True)
    print(json.dumps({name: str(out / path.relative_to(stage)) for name, path in paths.items()}, indent=2))
    return 0
