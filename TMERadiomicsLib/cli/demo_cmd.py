"""``tmeradiomics demo``: the end-to-end demo on a seeded synthetic radiogenomic cohort."""

from __future__ import annotations

import argparse
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
    parser.add_argument("--out", type=Path, default=Path("demo-output"),
                        help="output folder, optional (default: %(default)s in the current folder)")
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
    print(short_summary(result.summary, out))
    return 0


def short_summary(summary: dict, out: Path) -> str:
    """A few lines for a person: the held-out AUCs and where the report and the numbers are.

    Every number (3.9 KB of it) is in ``OUT/summary.json``; stdout gets only this.
    """
    cohort = summary["cohort"]
    lines = [f"demo: {cohort['cases']} synthetic cases, {cohort['development']} for development, "
             f"{cohort['held_out']} held out; held-out AUC (95% CI) of one seed's cohort:"]
    width = max(len(m["bundle"]) for m in summary["models"])
    for m in summary["models"]:
        low, high = m["auc_ci"]
        verdict = "; does not transfer (CI below 0.5)" if high < 0.5 else ""
        lines.append(f"  {m['bundle']:<{width}}  {m['held_out_auc']:.2f} ({low:.2f}-{high:.2f})  {m['kind']}{verdict}")
    h = summary["harmonisation"]
    low, high = h["auc_ci"]["with"]
    lines.append(f"  {h['bundle']:<{width}}  {h['held_out_auc']['with']:.2f} ({low:.2f}-{high:.2f})  "
                 f"the same recipe with ComBat by {h['column']} (without: {h['held_out_auc']['without']:.2f})")
    lines += ["  (one draw: the spread over seeds is in README.md, from benchmarks/demo_seeds.py)",
              f"report:  {out / 'report.html'}", f"numbers: {out / 'summary.json'}"]
    return "\n".join(lines)
