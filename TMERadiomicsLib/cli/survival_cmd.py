"""``tmeradiomics survival cox|km``: prognostic value of cell abundances.

``cox`` fits univariate and multivariate Cox models (Efron ties) of survival
on abundance columns and draws forest plots (Qian 2024, Figs. 4-5). ``km``
draws Kaplan-Meier curves by group with the log-rank test, the groups being
a column as given or a continuous column cut at the median, Youden's or the
maximally selected log-rank cut-off (Han 2024). Both join the survival
table and the value table on ``case_id``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import TYPE_CHECKING

from ..errors import InputError
from .argtypes import p_value

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "survival", help="Cox regression and Kaplan-Meier of abundances against survival",
        description="Survival analysis on a survival CSV (case_id, time, event) joined by case_id with a "
                    "table of abundances or groups.")
    kinds = parser.add_subparsers(dest="analysis", metavar="ANALYSIS", required=True)
    cox = kinds.add_parser("cox", help="univariate and multivariate Cox regression with forest plots",
                           description="Writes cox_univariate.csv, forest_univariate.png and cox.json, and "
                                       "cox_multivariate.csv and forest_multivariate.png when a covariate passes "
                                       "the univariate filter.")
    _inputs(cox)
    cox.add_argument("--covariates", nargs="+", help="columns to model (default: every column of VALUES)")
    cox.add_argument("--multivariate-p", type=p_value, default=0.05,
                     help="covariates with univariate p below this enter the multivariate model (default 0.05, "
                          "as Qian; 1 takes all; CIBERSORT fractions summing to 1 cannot all enter)")
    cox.set_defaults(func=run_cox)
    km = kinds.add_parser("km", help="Kaplan-Meier by group with the log-rank test",
                          description="Writes km_curves.csv, km_summary.csv, km.png, groups.csv and km.json.")
    _inputs(km)
    km.add_argument("--column", required=True, help="group column, or the continuous column to cut")
    km.add_argument("--cutoff", choices=("median", "youden", "maxstat"),
                    help="cut a continuous --column into high/low (default: use its values as groups)")
    km.set_defaults(func=run_km)


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("survival", help="CSV: case_id, time and event columns")
    parser.add_argument("values", help="CSV: case_id + abundance or group columns (e.g. fractions.csv)")
    parser.add_argument("--time", default="time", help="survival time column (default: time)")
    parser.add_argument("--time-unit", default="unit of the survival table",
                        help="unit of the times for the Kaplan-Meier axis, e.g. months (default: %(default)s)")
    parser.add_argument("--event", default="event", help="event column, 1 = event, 0 = censored (default: event)")
    parser.add_argument("--drop-incomplete", action="store_true",
                        help="drop cases with missing time or event instead of failing")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")


def _joined(args: argparse.Namespace, columns: list[str] | None, numeric: bool = True) -> tuple[pd.DataFrame, dict]:
    import pandas as pd

    from ..labels import survival
    from ..labels.tables import numeric_columns, read_case_table

    table = read_case_table(args.survival)
    frame = survival.survival_frame(table, args.time, args.event, drop_incomplete=args.drop_incomplete,
                                    source=args.survival)
    values = read_case_table(args.values)
    missing = [c for c in columns or () if c not in values.columns]
    if missing:
        raise InputError(f"no column {', '.join(map(repr, missing))} in the table; it has "
                         f"{', '.join(map(str, values.columns))}", file=args.values)
    values = numeric_columns(values, columns) if numeric else values[columns]
    shared = frame.index.intersection(values.index)
    counts = {"cases_joined": int(len(shared)), "only_in_survival": int(len(frame.index.difference(values.index))),
              "only_in_values": int(len(values.index.difference(frame.index)))}
    if counts["only_in_survival"] or counts["only_in_values"]:
        log.warning("cases not in both tables are left out: %s", counts)
    if len(shared) < 3:
        raise InputError(f"only {len(shared)} case IDs are in both tables", file=f"{args.survival} / {args.values}")
    clash = [c for c in values.columns if c in (args.time, args.event)]
    if clash:
        raise InputError("value columns share a name with the time/event columns", value=clash)
    return pd.concat([frame.loc[shared, [args.time, args.event]], values.loc[shared]], axis=1), counts


def run_cox(args: argparse.Namespace) -> int:
    from ..labels import survival
    from ..labels.tables import named_inputs, to_csv_bytes, to_json
    from ..outputs import check_out_dir, staged_dir

    check_out_dir(args.out, args.overwrite)
    frame, counts = _joined(args, args.covariates)
    covariates = [c for c in frame.columns if c not in (args.time, args.event)]
    with named_inputs(args.survival, args.values):
        uni = survival.cox_univariate(frame, args.time, args.event, covariates)
        chosen = list(uni.table.loc[uni.table["p"] < args.multivariate_p, "covariate"])
        multi = survival.cox_multivariate(frame, args.time, args.event, chosen) if chosen else None
    summary = {**counts, "events": int(frame[args.event].sum()), "covariates": covariates, "ties": "efron",
               "univariate": uni.table.set_index("covariate")[["hr", "p"]].to_dict("index"),
               "multivariate_p_threshold": args.multivariate_p, "multivariate_covariates": chosen}
    if multi is None:
        log.warning("no covariate has univariate p < %g: no multivariate model", args.multivariate_p)
    else:
        summary.update(concordance=multi.concordance, log_likelihood_ratio=multi.log_likelihood_ratio,
                       lrt_df=multi.lrt_df, lrt_p=multi.lrt_p,
                       multivariate=multi.table.set_index("covariate")[["hr", "p"]].to_dict("index"))
    with staged_dir(args.out) as stage:
        (stage / "cox_univariate.csv").write_bytes(to_csv_bytes(uni.table, index=False))
        survival.forest_plot(uni.table, stage / "forest_univariate.png", "Univariate Cox regression")
        if multi is not None:
            (stage / "cox_multivariate.csv").write_bytes(to_csv_bytes(multi.table, index=False))
            survival.forest_plot(multi.table, stage / "forest_multivariate.png", "Multivariate Cox regression")
        (stage / "cox.json").write_text(to_json(summary))
    print(to_json({"out": args.out, **summary}))
    return 0


def run_km(args: argparse.Namespace) -> int:
    from ..labels import survival
    from ..labels.phenotypes import label_name
    from ..labels.tables import named_inputs, to_csv_bytes, to_json
    from ..outputs import check_out_dir, staged_dir

    check_out_dir(args.out, args.overwrite)
    frame, counts = _joined(args, [args.column], numeric=args.cutoff is not None)
    group, extra = args.column, {}
    with named_inputs(args.survival, args.values):
        if args.cutoff:
            cut = survival.optimal_cutoff(frame[args.column], frame[args.time], frame[args.event],
                                          method=args.cutoff)
            group = f"{label_name(args.column)}_high"
            frame[group] = (frame[args.column] >= cut.threshold).astype(int)
            extra = {"cutoff": dataclasses.asdict(cut)}
        result = survival.kaplan_meier(frame, args.time, args.event, group)
    summary = {**counts, **extra, "group_column": group, "logrank_statistic": result.logrank_statistic,
               "logrank_df": result.logrank_df, "logrank_p": result.logrank_p,
               "groups": result.summary.to_dict("records")}
    with staged_dir(args.out) as stage:
        (stage / "km_curves.csv").write_bytes(to_csv_bytes(result.curves, index=False))
        (stage / "km_summary.csv").write_bytes(to_csv_bytes(result.summary, index=False))
        (stage / "groups.csv").write_bytes(to_csv_bytes(frame[[group]]))
        survival.km_plot(result, stage / "km.png", f"Kaplan-Meier by {group}", time_unit=args.time_unit)
        (stage / "km.json").write_text(to_json(summary))
    print(to_json({"out": args.out, **summary}))
    return 0
