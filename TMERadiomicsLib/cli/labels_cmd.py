"""``tmeradiomics labels cibersort|ssgsea|phenotype|correlate``: training labels from RNA-seq.

Every table written is keyed by ``case_id`` (the expression matrix's sample
names), so ``tmeradiomics train FEATURES.csv LABELS.csv`` reads it as is.
Work happens before anything is written; a failure leaves no file behind.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from ..errors import InputError
from .argtypes import finite_float, non_negative_int, positive_int, seed
from .lazy import LazyChoices

DUPLICATE_RULES = LazyChoices(".labels.expression", "DUPLICATE_RULES")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="derive labels from RNA-seq: CIBERSORT, ssGSEA, phenotypes, correlations",
        description="Cell abundances (CIBERSORT v1.04, GSVA's ssGSEA) and the binary phenotype labels of "
                    "Qian 2024 (median split) and Han 2024 (k-means hot/cold), keyed by case_id.",
    )
    methods = parser.add_subparsers(dest="method", metavar="METHOD", required=True)
    _register_cibersort(methods)
    _register_ssgsea(methods)
    _register_phenotype(methods)
    _register_correlate(methods)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")


def _register_cibersort(methods: argparse._SubParsersAction) -> None:
    parser = methods.add_parser(
        "cibersort", help="CIBERSORT v1.04 fractions from a user-supplied signature (e.g. LM22)",
        description="Deconvolve a genes x samples expression matrix (TSV, first column gene symbols) with a "
                    "genes x cell-types signature matrix. Writes fractions.csv, diagnostics.csv, run.json.")
    parser.add_argument("expression", help="mixture: genes x samples, tab-separated (.csv: comma)")
    parser.add_argument("signature", help="signature matrix: genes x cell types (LM22 is not shipped)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--perm", type=non_negative_int, default=0, help="permutations for p-values (>= 100 advised; 0: none)")
    parser.add_argument("--no-qn", dest="qn", action="store_false",
                        help="skip quantile normalisation (CIBERSORT's advice for RNA-seq)")
    parser.add_argument("--absolute", action="store_true", help="absolute mode")
    parser.add_argument("--abs-method", choices=LazyChoices(".labels.cibersort", "ABS_METHODS"), metavar="METHOD",
                        default="sig.score", help="absolute-mode score: %(choices)s (default: %(default)s)")
    parser.add_argument("--duplicates", choices=DUPLICATE_RULES, metavar="RULE", default="first",
                        help="rule for repeated gene symbols: %(choices)s (default: first row kept)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the permutation draws")
    parser.add_argument("--jobs", type=positive_int, default=1, help="processes for the SVR fits")
    parser.add_argument("--solver", choices=LazyChoices(".labels.cibersort", "SOLVERS"), metavar="SOLVER", default="libsvm",
                        help="nu-SVR solver: libsvm (NuSVR, as R's e1071) or qp (same problem, exact, ~30x faster)")
    _common(parser)
    parser.set_defaults(func=run_cibersort)


def _register_ssgsea(methods: argparse._SubParsersAction) -> None:
    parser = methods.add_parser(
        "ssgsea", help="GSVA-style ssGSEA scores for GMT gene sets",
        description="ssGSEA (GSVA method='ssgsea', alpha 0.25, global range normalisation) of a genes x "
                    "samples matrix for the sets of a GMT file. Writes scores.csv and run.json.")
    parser.add_argument("expression", help="genes x samples, tab-separated (.csv: comma)")
    parser.add_argument("gmt", help="gene sets, GMT format")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--alpha", type=finite_float, default=0.25, help="rank weight exponent (GSVA tau)")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                        help="keep raw scores (no division by the global range)")
    parser.add_argument("--min-size", type=int, default=1, help="smallest matched set size kept")
    parser.add_argument("--max-size", type=int, default=None, help="largest matched set size kept")
    parser.add_argument("--duplicates", choices=DUPLICATE_RULES, metavar="RULE", default="first",
                        help="rule for repeated gene symbols: %(choices)s (default: first row kept)")
    _common(parser)
    parser.set_defaults(func=run_ssgsea)


def _register_phenotype(methods: argparse._SubParsersAction) -> None:
    parser = methods.add_parser(
        "phenotype", help="binary labels: median split of one cell type, or k-means hot/cold",
        description="Write LABELS.csv (case_id + 0/1 label). median: <cell>_high = abundance > cohort median "
                    "(Qian). kmeans: tme_hot and tme_cluster from k-means on per-sample-scaled abundances "
                    "(Han), plus <stem>.k_selection.csv, <stem>.heatmap.png and <stem>.json beside it.")
    parser.add_argument("abundance", help="CSV: case_id + one column per cell type (e.g. fractions.csv)")
    parser.add_argument("--method", choices=("median", "kmeans"), required=True,
                        help="median: split one cell type at the cohort median (Qian); kmeans: hot/cold (Han)")
    parser.add_argument("--cell", help="median: the cell type column, e.g. 'Macrophages M2'")
    parser.add_argument("--k", default="2", help="kmeans: number of clusters or 'auto' (majority vote)")
    parser.add_argument("--k-max", type=int, default=6, help="kmeans: largest k in the selection table")
    parser.add_argument("--non-immune", nargs="*", help="kmeans: cell types left out of the immune score")
    parser.add_argument("--seed", type=seed, default=0,
                        help="kmeans: seed of the k-means starts and the gap statistic's references (default: %(default)s)")
    parser.add_argument("--out", required=True, help="labels CSV to write")
    _common(parser)
    parser.set_defaults(func=run_phenotype)


def _register_correlate(methods: argparse._SubParsersAction) -> None:
    parser = methods.add_parser(
        "correlate", help="Spearman correlation (BH-FDR) of top-k radiomics features with abundances",
        description="Correlate region-prefixed features of a combined-features CSV with cell abundances "
                    "(Han Fig. 7). Writes correlation.csv (long), rho.csv, fdr.csv, heatmap.png.")
    parser.add_argument("features", help="combined-features CSV (case_id, preset, ..., Intra_/Peri_/Ring_*)")
    parser.add_argument("abundance", help="CSV: case_id + one column per cell type")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--names", help="text file, one feature per line, most important first")
    parser.add_argument("--top-k", type=int, default=20,
                        help="how many features: the first K of --names, else the K most strongly correlated "
                        "with any cell type (default: %(default)s)")
    _common(parser)
    parser.set_defaults(func=run_correlate)


def run_cibersort(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..labels import cibersort as cs
    from ..labels.expression import read_matrix
    from ..labels.tables import named_inputs, to_csv_bytes, to_json
    from ..outputs import check_out_dir, staged_dir
    from ..work_limits import ANALYSIS_TIME_LIMIT_HOURS, CIBERSORT_PERMUTATION, check_count

    check_count("--perm", args.perm, CIBERSORT_PERMUTATION, time_limit_hours=ANALYSIS_TIME_LIMIT_HOURS)
    check_out_dir(args.out, args.overwrite)
    mixture = read_matrix(args.expression, duplicates=args.duplicates, what="expression")
    signature = read_matrix(args.signature, duplicates="error", what="signature")
    with tqdm(total=mixture.shape[1], desc="CIBERSORT", unit="sample", file=sys.stderr,
              disable=None) as bar, named_inputs(args.expression, args.signature):
        result = cs.cibersort(mixture, signature, perm=args.perm, quantile_norm=args.qn, absolute=args.absolute,
                              abs_method=args.abs_method, seed=args.seed, n_jobs=args.jobs,
                              solver=args.solver, progress=bar.update)
    info = {**result.info, "expression": args.expression, "signature": args.signature,
            "duplicates": args.duplicates, "samples": int(mixture.shape[1])}
    with staged_dir(args.out) as stage:
        (stage / "fractions.csv").write_bytes(to_csv_bytes(result.fractions))
        (stage / "diagnostics.csv").write_bytes(to_csv_bytes(result.diagnostics))
        (stage / "run.json").write_text(to_json(info))
    _report({"out": args.out, "files": ["fractions.csv", "diagnostics.csv", "run.json"], **info})
    return 0


def run_ssgsea(args: argparse.Namespace) -> int:
    from ..labels import ssgsea
    from ..labels.expression import read_gmt, read_matrix
    from ..labels.tables import named_inputs, to_csv_bytes, to_json
    from ..outputs import check_out_dir, staged_dir

    check_out_dir(args.out, args.overwrite)
    expression = read_matrix(args.expression, duplicates=args.duplicates, what="expression")
    gene_sets = read_gmt(args.gmt)
    with named_inputs(args.expression, args.gmt):
        result = ssgsea.ssgsea(expression, gene_sets, alpha=args.alpha, normalize=args.normalize,
                               min_size=args.min_size, max_size=args.max_size)
    info = {**result.info, "set_sizes": result.set_sizes, "expression": args.expression, "gmt": args.gmt,
            "duplicates": args.duplicates, "samples": int(expression.shape[1])}
    with staged_dir(args.out) as stage:
        (stage / "scores.csv").write_bytes(to_csv_bytes(result.scores))
        (stage / "run.json").write_text(to_json(info))
    _report({"out": args.out, "files": ["scores.csv", "run.json"], **info})
    return 0


def run_phenotype(args: argparse.Namespace) -> int:
    from ..labels import phenotypes
    from ..labels.tables import named_inputs, numeric_columns, read_case_table, to_csv_bytes
    from ..outputs import atomic_write_bytes, check_out_file

    out = Path(args.out)
    files = _phenotype_files(out, args)
    for path in files:
        check_out_file(path, args.overwrite)
    abundance = numeric_columns(read_case_table(args.abundance))
    if args.method == "median" and not args.cell:
        raise InputError("--method median needs --cell NAME")
    with named_inputs(args.abundance):
        if args.method == "median":
            labels = phenotypes.median_split(abundance, args.cell)
            summary = {"rule": "abundance > cohort median is 1", "cell": args.cell,
                       "median": labels.attrs["median"]}
            payload = {files[0]: to_csv_bytes(labels)}
        else:
            payload, summary = _kmeans_payload(abundance, args, files)
    for path, data in payload.items():
        atomic_write_bytes(path, data)
    _report({"out": [str(p) for p in payload], "cases": int(abundance.shape[0]), **summary})
    return 0


def _phenotype_files(out: Path, args: argparse.Namespace) -> list[Path]:
    if out.suffix.lower() != ".csv":
        raise InputError("--out must be a .csv file for phenotype labels", value=str(out))
    if args.method == "median":
        return [out]
    stem = out.with_suffix("")
    return [out, Path(f"{stem}.k_selection.csv"), Path(f"{stem}.heatmap.png"), Path(f"{stem}.json")]


def _kmeans_payload(abundance, args: argparse.Namespace, files: list[Path]) -> tuple[dict, dict]:
    from ..labels import phenotypes
    from ..labels.tables import to_csv_bytes, to_json

    k = None if str(args.k).lower() == "auto" else _int(args.k, "--k")
    result = phenotypes.kmeans_phenotypes(abundance, k=k, k_max=args.k_max, seed=args.seed,
                                          non_immune=args.non_immune)
    png = io.BytesIO()
    phenotypes.heatmap(abundance, result.labels["tme_cluster"], png)
    counts = result.labels["tme_hot"].value_counts()
    summary = {**result.info, "hot": int(counts.get(1, 0)), "cold": int(counts.get(0, 0)),
               "immune_score_by_cluster": result.immune_score.to_dict()}
    payload = {files[0]: to_csv_bytes(result.labels), files[1]: to_csv_bytes(result.selection.table),
               files[2]: png.getvalue(), files[3]: to_json(summary).encode()}
    return payload, summary


def _int(text: str, option: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{option} must be an integer or 'auto'", value=text) from None


def run_correlate(args: argparse.Namespace) -> int:
    from ..labels import correlation
    from ..labels.tables import feature_columns, named_inputs, numeric_columns, read_case_table, to_csv_bytes
    from ..outputs import check_out_dir, staged_dir

    check_out_dir(args.out, args.overwrite)
    features_table = read_case_table(args.features)
    columns = feature_columns(features_table)
    if not columns:
        raise InputError("no Intra_/Peri_/Ring_ feature columns in the features table", file=args.features)
    features = numeric_columns(features_table, columns)
    abundance = numeric_columns(read_case_table(args.abundance))
    names = _read_names(args.names) if args.names else None
    with named_inputs(args.features, args.abundance):
        result = correlation.correlate(features, abundance, names=names, top_k=args.top_k)
    with staged_dir(args.out) as stage:
        (stage / "correlation.csv").write_bytes(to_csv_bytes(result.long(), index=False))
        (stage / "rho.csv").write_bytes(to_csv_bytes(result.rho))
        (stage / "fdr.csv").write_bytes(to_csv_bytes(result.fdr))
        correlation.heatmap(result, stage / "heatmap.png")
    significant = int((result.fdr < 0.05).to_numpy().sum())
    for what, columns in result.skipped.items():
        if columns:
            print(f"note: {len(columns)} constant {what.replace('_', ' ')} left out (undefined rank correlation): "
                  f"{', '.join(columns)}", file=sys.stderr)
    _report({"out": args.out, "features": list(result.rho.index), "pairs_fdr_below_0.05": significant,
             "skipped_constant": result.skipped})
    return 0


def _read_names(path: str) -> list[str]:
    source = Path(path)
    if not source.is_file():
        raise InputError("feature-name file not found", file=source)
    return [line.strip() for line in source.read_text().splitlines() if line.strip()]


def _report(summary: dict) -> None:
    from ..labels.tables import to_json

    print(to_json(summary))
