"""Demo step: the training labels from the cohort's RNA-seq, as both papers made theirs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..cohort.build import HOT_LABEL, M2_LABEL
from ..cohort.transcriptome import M2
from ..labels.cibersort import cibersort
from ..labels.expression import read_gmt, read_matrix
from ..labels.phenotypes import kmeans_phenotypes, median_split
from ..labels.ssgsea import ssgsea


@dataclass
class DerivedLabels:
    table: pd.DataFrame  # case_id, Macrophages_M2 (CIBERSORT), Macrophages_M2_high, tme_hot
    agreement: dict[str, float]  # share of cases whose derived label equals the ground truth
    m2_correlation: float  # Pearson r of CIBERSORT's M2 fraction with the true M2 share


def derive_labels(cohort_files: dict[str, Path], out_dir: Path) -> DerivedLabels:
    """CIBERSORT -> M2 median split (Qian); ssGSEA -> k-means hot/cold (Han)."""
    expression = read_matrix(cohort_files["expression"])
    # RNA-seq: the CIBERSORT authors advise against quantile normalisation.
    fractions = cibersort(expression, read_matrix(cohort_files["signature"], what="signature"),
                          quantile_norm=False).fractions
    scores = ssgsea(expression, read_gmt(cohort_files["gene_sets"])).scores
    phenotypes = kmeans_phenotypes(scores)
    m2 = median_split(fractions, M2)
    table = pd.DataFrame({
        "case_id": fractions.index.astype(str),
        "Macrophages_M2": fractions[M2].to_numpy(),
        M2_LABEL: m2[M2_LABEL].to_numpy(),
        HOT_LABEL: phenotypes.labels.loc[fractions.index, HOT_LABEL].to_numpy(),
    })
    out_dir.mkdir(parents=True, exist_ok=True)
    fractions.rename_axis("case_id").to_csv(out_dir / "cibersort_fractions.csv")
    table.to_csv(out_dir / "labels.csv", index=False)
    return _compared(table, pd.read_csv(cohort_files["truth"], dtype={"case_id": str}))


def _compared(table: pd.DataFrame, truth: pd.DataFrame) -> DerivedLabels:
    merged = table.merge(truth[["case_id", "m2_fraction", "tme_hot"]], on="case_id", suffixes=("", "_true"))
    true_m2_high = (merged["m2_fraction"] > merged["m2_fraction"].median()).astype(int)
    agreement = {M2_LABEL: float((merged[M2_LABEL] == true_m2_high).mean()),
                 HOT_LABEL: float((merged[HOT_LABEL] == merged["tme_hot_true"]).mean())}
    r = float(merged["Macrophages_M2"].corr(merged["m2_fraction"]))
    return DerivedLabels(table, agreement, r)
