"""``tmeradiomics response SCORES.csv CLINICAL.csv --out DIR``: Han 2024's immunotherapy analysis."""

from __future__ import annotations

import argparse
import json

from .auc_options import add_auc_ci_options, check_auc_ci_options


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "response",
        help="rad-score against RECIST response and survival (Han 2024's immunotherapy analysis)",
        description=(
            "Split cases at the median score (high/low); AUC with 95% CI and p for objective response "
            "(CR+PR vs SD+PD) and disease control (CR+PR+SD vs PD); Kruskal-Wallis across RECIST categories "
            "with pairwise Wilcoxon rank-sum; response by group (Fisher exact); Kaplan-Meier and log-rank "
            "by group. Writes CSV/JSON and one self-contained HTML report."
        ),
    )
    parser.add_argument("scores", help="scores CSV: case_id plus a score column (e.g. tmeradiomics score --out)")
    parser.add_argument("clinical", help="clinical CSV: case_id, RECIST best response (CR/PR/SD/PD), survival")
    parser.add_argument("--out", required=True, help="folder for the report")
    parser.add_argument("--score", help="score column (default: radscore when it has values, else probability)")
    parser.add_argument("--recist", default="recist", help="RECIST column (default recist)")
    parser.add_argument("--time", default="time", help="survival time column (default time)")
    parser.add_argument("--time-unit", help="unit of the times for the Kaplan-Meier axis, e.g. months "
                        "(default: the axis says 'unit of the clinical table')")
    parser.add_argument("--event", default="event", help="survival event column, 1 event / 0 censored (default event)")
    add_auc_ci_options(parser, default="delong", help="AUC CI (default DeLong, as Han 2024)")
    parser.add_argument("--overwrite", action="store_true", help="replace files in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Heavy imports here, not at module import, so the CLI starts fast.
    from ..models.tables import read_table
    from ..outputs import check_out_dir
    from ..response import analyse_response, write_response_report
    from ..response.report import response_dict

    check_auc_ci_options(args)
    check_out_dir(args.out, args.overwrite)
    scores, clinical = read_table(args.scores), read_table(args.clinical)
    result = analyse_response(scores, clinical, score=args.score or _default_score(scores), recist=args.recist,
                              time=args.time, event=args.event, ci=args.ci, n_bootstrap=args.n_bootstrap,
                              seed=args.seed)
    out = write_response_report(result, args.out, args.overwrite, time_unit=args.time_unit)
    summary = response_dict(result)
    print(json.dumps({"out": str(out), "n_cases": summary["n_cases"], "auc": summary["auc"],
                      "kruskal_wallis_p": summary["kruskal_wallis"]["p_value"],
                      "logrank_p": (summary["survival"] or {}).get("logrank_p")}, indent=2))
    return 0


def _default_score(scores) -> str:
    if "radscore" in scores.columns and scores["radscore"].notna().any():
        return "radscore"
    return "probability"
