"""``tmeradiomics combat fit|apply``: ComBat harmonisation of a combined-features table across sites."""

from __future__ import annotations

import argparse
import json

from .argtypes import column_list


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "combat",
        help="harmonise features across sites with ComBat",
        description=(
            "Estimate each site's additive and multiplicative effect on every feature (ComBat, as sva::ComBat: "
            "empirical Bayes across the features of a site) and remove them, keeping covariate effects. "
            "'fit' stores the estimates as JSON; 'apply' harmonises cases of the fitted sites, a single case "
            "included, without re-fitting (docs/harmonisation.md)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _fit_parser(actions)
    _apply_parser(actions)


def _fit_parser(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "fit",
        help="estimate the site effects of a features table",
        description=(
            "Fit ComBat on every feature column (Intra_, Peri_, Ring_...) of a combined-features CSV whose "
            "--batch-column names each case's site or scanner. Every site needs at least 2 cases; a feature "
            "constant within a site is refused (or use --mean-only). Writes the estimates as JSON and prints "
            "a summary."
        ),
    )
    parser.add_argument("features", help="combined-features CSV with the site column (and any covariates)")
    parser.add_argument("--batch-column", required=True, metavar="COLUMN", help="column naming each case's site")
    parser.add_argument("--covariates", type=column_list, default=[], metavar="COL[,COL...]",
                        help="columns whose effects ComBat keeps (e.g. age,grade); text columns are categorical")
    parser.add_argument("--categorical", type=column_list, default=[], metavar="COL[,COL...]",
                        help="covariates to one-hot although written as numbers (e.g. a grade 1/2/3)")
    parser.add_argument("--non-parametric", action="store_true",
                        help="non-parametric empirical-Bayes prior instead of the normal / inverse-gamma one")
    parser.add_argument("--mean-only", action="store_true", help="adjust the site means only, not their scales")
    parser.add_argument("--out", required=True, help="JSON file for the estimates (e.g. combat.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.set_defaults(func=run_fit)


def _apply_parser(actions: argparse._SubParsersAction) -> None:
    parser = actions.add_parser(
        "apply",
        help="harmonise cases with fitted estimates",
        description=(
            "Remove the site effects stored in COMBAT_JSON from the cases of FEATURES.csv, whose site and "
            "covariate columns are those named at fit time. A site or covariate level the fit did not see is "
            "refused. Writes the table with harmonised feature columns; feature columns the fit did not "
            "include are dropped and listed in the summary."
        ),
    )
    parser.add_argument("combat", metavar="COMBAT_JSON", help="estimates written by 'tmeradiomics combat fit'")
    parser.add_argument("features", help="combined-features CSV with the same site (and covariate) columns")
    parser.add_argument("--out", required=True, help="CSV file for the harmonised table")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    parser.set_defaults(func=run_apply)



def run_fit(args: argparse.Namespace) -> int:
    from ..harmonisation.combat_tables import fit_table
    from ..labels.tables import read_case_table
    from ..outputs import atomic_write_text, check_out_file

    check_out_file(args.out, args.overwrite)
    table = read_case_table(args.features)
    model = fit_table(table, args.batch_column, args.covariates, args.categorical,
                      parametric=not args.non_parametric, mean_only=args.mean_only)
    atomic_write_text(args.out, model.to_json())
    print(json.dumps({
        "out": str(args.out),
        "cases": int(sum(model.site_cases)),
        "features": len(model.features),
        "sites": dict(zip(model.sites, model.site_cases)),
        "covariates": model.design.columns,
        "parametric": model.parametric,
        "mean_only": model.mean_only,
    }, indent=2))
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from ..harmonisation import read_combat
    from ..harmonisation.combat_tables import harmonise_table
    from ..labels.tables import read_case_table, to_csv_bytes
    from ..outputs import atomic_write_bytes, check_out_file

    check_out_file(args.out, args.overwrite)
    model = read_combat(args.combat)
    table = read_case_table(args.features)
    harmonised, dropped = harmonise_table(model, table)
    atomic_write_bytes(args.out, to_csv_bytes(harmonised))
    sites = harmonised[model.batch_column].map(str).value_counts().sort_index()
    print(json.dumps({
        "out": str(args.out),
        "cases": len(harmonised),
        "features_harmonised": len(model.features),
        "sites": {str(k): int(v) for k, v in sites.items()},
        "dropped_features": dropped,
    }, indent=2))
    return 0
