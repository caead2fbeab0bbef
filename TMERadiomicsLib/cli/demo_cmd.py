"""``tmeradiomics demo``: the end-to-end demo on a seeded synthetic radiogenomic cohort."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .argtypes import seed, unit_interval
from .lazy import LazyDefault


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo on a synthetic radiogenomic cohort",
        description="Generate a seeded synthetic cohort (DCE-MRI phantoms, RNA-seq, survival), build the "
        "regions and extract features of every case, derive the labels from RNA-seq, train qian2024-lasso "
        "and han2024-rf, calibrate the published Qian signatures, evaluate every model on held-out cases, "
        "score a new case and write DIR/report.html.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder (default: %(default)s)")
    parser.add_argument("--cases", type=int, default=LazyDefault(".demo", "DemoConfig.n_cases"), help="cohort size (default: %(default)s)")
    parser.add_argument("--seed", type=seed, default=LazyDefault(".demo", "DemoConfig.seed"), help="cohort seed (default: %(default)s)")
    parser.add_argument("--held-out", type=unit_interval, default=LazyDefault(".demo", "DemoConfig.held_out"),
                        help="share of the cohort held out for evaluation (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=LazyDefault(".demo", "DemoConfig.jobs"),
                        help="worker processes for the features (default: 0 = one per core, at most 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an existing output folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import DemoConfig, run_demo
    from ..demo.pipeline import stopped_cleanly
    from ..outputs import check_out_dir, staged_dir
    from ..work_limits import DEMO_CASE, check_count, check_workers

    config = DemoConfig(n_cases=args.cases, seed=args.seed, held_out=args.held_out, jobs=args.jobs)
    config.check()  # before anything is written
    check_count("--cases", config.n_cases, DEMO_CASE, disk_at=args.out)
    if config.jobs:
        check_workers("--jobs", config.jobs)
    out = check_out_dir(args.out, args.overwrite)
    with stopped_cleanly(out), staged_dir(out) as stage:
        result = run_demo(stage, config)
    print(json.dumps({k: result.summary[k] for k in ("cohort", "labels", "models")}, indent=2, default=str))
    print(f"demo written to {out}; open {out / 'report.html'}", file=sys.stderr)
    return 0
