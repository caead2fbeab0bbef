"""``tmeradiomics icc --db DB --out DIR``: ICC per region and feature, and the stable set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import InputError
from .argtypes import finite_float, non_negative_float
from .lazy import LazyDefault
from .perturb_cmd import FEATURES_FILE

if TYPE_CHECKING:
    import pandas as pd

    from ..reproducibility.stability import Reliability

STABLE_FILE = "stable_features.txt"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "icc",
        help="intra-/inter-observer (and perturbation) ICC per feature; the stable-feature list",
        description=(
            "Compute ICC per region and feature from a study database: intra-observer (each reader "
            "with 2+ sessions) and inter-observer (readers' first sessions), and across contour "
            "perturbations from 'tmeradiomics perturb' folders. Writes icc.csv (one row per feature), "
            "icc_long.csv (every reader), stable_features.txt (one Intra_/Peri_/Ring_ name per line, "
            "for 'tmeradiomics train --stable-features') and icc_distribution.png."
        ),
    )
    parser.add_argument("--db", help="study database file")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--preset", help="preset whose features to use (default: the only one in the database)")
    parser.add_argument("--perturbations", nargs="+", metavar="DIR", help="output folders of 'tmeradiomics perturb'")
    parser.add_argument("--form", choices=("A,1", "C,1"), default="A,1",
                        help="ICC form: A,1 two-way random absolute agreement (default) or C,1 consistency")
    parser.add_argument("--threshold", type=finite_float, default=LazyDefault(".reproducibility.stability", "DEFAULT_THRESHOLD"),
                        help="stable when ICC > this (default %(default)s)")
    parser.add_argument("--require", help="comma list of the ICC kinds (intra, inter, perturbation) that must pass "
                        "(default: intra,inter with --db, perturbation without)")
    parser.add_argument("--timeout", type=non_negative_float,
                        default=LazyDefault(".store.connection", "DEFAULT_TIMEOUT_S"),
                        help="seconds to wait for a locked database (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..outputs import atomic_write_bytes, atomic_write_text, check_out_dir, staged_dir
    from ..reproducibility.plots import icc_distribution_png
    from ..reproducibility.stability import reliability, stable_list_text

    out = check_out_dir(args.out, args.overwrite)
    if not args.db and not args.perturbations:
        raise InputError("give --db, --perturbations or both")
    if not 0 < args.threshold < 1:
        raise InputError("--threshold must lie between 0 and 1", value=args.threshold)
    features, preset = _study_features(args) if args.db else (None, None)
    perturbed = _perturbation_features(args.perturbations, preset) if args.perturbations else None
    required = args.require.split(",") if args.require else (["intra", "inter"] if args.db else ["perturbation"])
    result = reliability(features, perturbed, form=args.form, threshold=args.threshold, required=required)
    with staged_dir(out) as stage:
        atomic_write_text(stage / "icc.csv", result.summary.to_csv(index=False))
        atomic_write_text(stage / "icc_long.csv", result.long.to_csv(index=False))
        atomic_write_text(stage / STABLE_FILE, _header(result, args.form, preset) + stable_list_text(result))
        atomic_write_bytes(stage / "icc_distribution.png", icc_distribution_png(result))
    print(json.dumps(_report(result, args.form, preset, out), indent=2))
    return 0


def _study_features(args: argparse.Namespace) -> tuple[pd.DataFrame, dict]:
    from ..store import StudyStore

    with StudyStore(args.db, create=False, timeout=args.timeout) as store:
        return store.preset_features(args.preset)


def _perturbation_features(folders: list[str], preset: dict | None) -> pd.DataFrame:
    import pandas as pd

    tables = []
    for folder in folders:
        path = Path(folder) / FEATURES_FILE
        if not path.is_file():
            raise InputError(f"not a 'tmeradiomics perturb' output folder (no {FEATURES_FILE})", file=folder)
        # Case IDs stay text: "007" must not become 7.
        table = _read_perturbation_table(path)
        if preset is not None and set(table["preset_sha256"]) != {preset["preset_sha256"]}:
            raise InputError(f"perturbation features were extracted with another preset than the database's "
                             f"{preset['preset_name']}", file=path)
        tables.append(table)
    combined = pd.concat(tables, ignore_index=True)
    if combined["preset_sha256"].nunique() > 1:
        raise InputError("perturbation folders were extracted with different presets", value=", ".join(folders))
    cases = [t["case_id"].iloc[0] for t in tables]
    if len(set(cases)) < len(cases):
        raise InputError("two perturbation folders carry the same case ID; rerun perturb with --case",
                         value=", ".join(map(str, cases)))
    return combined


def _read_perturbation_table(path: Path) -> pd.DataFrame:
    """A perturb output table, refused when damaged (cut, NUL bytes, a column twice, no rows)."""
    import csv

    import pandas as pd

    from ..labels.table_header import refuse_damaged_text, refuse_repeated_columns

    refuse_damaged_text(path)
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        refuse_repeated_columns(next(csv.reader(handle), []), path)
    try:
        table = pd.read_csv(path, dtype={"case_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"not a readable table: {str(error).splitlines()[0]}", file=path) from None
    if table.empty or "case_id" not in table.columns or "preset_sha256" not in table.columns:
        raise InputError("perturbation features table has no rows or lacks case_id/preset_sha256", file=path)
    return table


def _header(result: Reliability, form: str, preset: dict | None) -> str:
    lines = [
        "# TMERadiomics stable features: one combined-view feature name per line",
        f"# ICC({form}) > {result.threshold:g} for: {', '.join(result.required)}",
    ]
    if preset is not None:
        lines.append(f"# preset {preset['preset_name']} sha256 {preset['preset_sha256']}")
    return "".join(line + "\n" for line in lines)


def _report(result: Reliability, form: str, preset: dict | None, out: Path) -> dict:
    summary = result.summary
    return {
        "out": str(out),
        "form": f"ICC({form})",
        "threshold": result.threshold,
        "required": list(result.required),
        "preset": None if preset is None else preset["preset_name"],
        "features": int(len(summary)),
        "stable": int(summary["stable"].sum()),
        "stable_by_region": {r: int(s) for r, s in summary.groupby("region")["stable"].sum().items()},
        "cases": {kind: int(n) for kind, n in result.long.groupby("kind")["n_cases"].max().items()},
    }
