"""The numbers of the response analysis (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from ..errors import InputError
from ..evaluation.auc import AUCResult, auc_bootstrap, auc_delong
from ..evaluation.exact import FisherResult, fisher_exact_rxc
from ..evaluation.groups import KruskalResult, kruskal_wallis, pairwise_wilcoxon
from ..labels.survival import KMResult, kaplan_meier, survival_frame
from ..models.tables import name_list, source_of

RECIST_CODES = ("CR", "PR", "SD", "PD")
# Objective response and disease control as Han 2024 define them.
ENDPOINTS = {"objective response (CR+PR vs SD+PD)": ("CR", "PR"),
             "disease control (CR+PR+SD vs PD)": ("CR", "PR", "SD")}
GROUPS = ("low", "high")


@dataclass(frozen=True)
class ResponseResult:
    cases: pd.DataFrame  # case_id, score, score_group, recist, orr, dcr (+ time, event)
    median: float
    auc: dict[str, AUCResult]
    roc: dict[str, pd.DataFrame]
    kruskal: KruskalResult
    pairwise: pd.DataFrame
    response_by_group: pd.DataFrame  # RECIST counts per score group
    fisher: FisherResult
    survival: KMResult | None
    notes: list[str] = field(default_factory=list)


def analyse_response(scores: pd.DataFrame, clinical: pd.DataFrame, *, score: str, recist: str = "recist",
                     time: str | None = "time", event: str | None = "event", ci: str = "delong",
                     n_bootstrap: int = 2000, seed: int = 0) -> ResponseResult:
    """Check the inputs, then compute every number of the report."""
    cases = _cases(scores, clinical, score, recist)
    notes = []
    median = float(cases["score"].median())
    cases["score_group"] = np.where(cases["score"] > median, GROUPS[1], GROUPS[0])
    auc, roc = {}, {}
    for name, responders in ENDPOINTS.items():
        y = cases["recist"].isin(responders).astype(int).to_numpy()
        cases["orr" if "objective" in name else "dcr"] = y
        _two_classes(y, name, clinical)
        s = cases["score"].to_numpy()
        auc[name] = auc_delong(y, s) if ci == "delong" else auc_bootstrap(y, s, n_resamples=n_bootstrap, seed=seed)
        fpr, tpr, cut = roc_curve(y, s)
        roc[name] = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": cut})
    by_recist = {code: cases.loc[cases["recist"] == code, "score"].to_numpy() for code in RECIST_CODES}
    absent = [code for code, values in by_recist.items() if not len(values)]
    if absent:
        notes.append(f"no case with RECIST {', '.join(absent)}: left out of the group comparisons")
    counts = pd.crosstab(cases["recist"], cases["score_group"]).reindex(
        index=[c for c in RECIST_CODES if c not in absent], columns=list(GROUPS), fill_value=0)
    survival = _survival(cases, clinical, time, event, notes)
    return ResponseResult(
        cases=cases, median=median, auc=auc, roc=roc, kruskal=kruskal_wallis(by_recist),
        pairwise=pairwise_wilcoxon(by_recist), response_by_group=counts.rename_axis("recist").reset_index(),
        fisher=fisher_exact_rxc(counts.to_numpy(), seed=seed), survival=survival, notes=notes,
    )


def _cases(scores: pd.DataFrame, clinical: pd.DataFrame, score: str, recist: str) -> pd.DataFrame:
    for table, column, what in ((scores, "case_id", "scores"), (scores, score, "scores"),
                                (clinical, "case_id", "clinical table"), (clinical, recist, "clinical table")):
        if column not in table.columns:
            raise InputError(f"{what} has no {column!r} column", file=source_of(table))
    score_ids, clinical_ids = scores["case_id"].astype(str), clinical["case_id"].astype(str)
    for table, ids in ((scores, score_ids), (clinical, clinical_ids)):
        repeated = sorted(set(ids[ids.duplicated()]))
        if repeated:
            raise InputError(f"case IDs listed twice: {name_list(repeated)}", file=source_of(table))
    no_clinical = sorted(set(score_ids) - set(clinical_ids))
    no_score = sorted(set(clinical_ids) - set(score_ids))
    if no_clinical or no_score:
        raise InputError(f"cases missing: without clinical data: {name_list(no_clinical) or 'none'}; "
                         f"without a score: {name_list(no_score) or 'none'}",
                         file=source_of(clinical))
    values = pd.to_numeric(scores[score], errors="coerce")
    if values.isna().any():
        raise InputError(f"no numeric {score!r} for cases {name_list(score_ids[values.isna()].tolist())}",
                         file=source_of(scores))
    codes = clinical[recist].astype(str).str.strip().str.upper()
    unknown = ~codes.isin(RECIST_CODES)
    if unknown.any():
        first = clinical_ids[unknown].iloc[0]
        raise InputError(f"unknown RECIST code in {recist!r} (expected {', '.join(RECIST_CODES)}) for cases "
                         f"{name_list(clinical_ids[unknown].tolist())}", file=source_of(clinical), case=first,
                         value=clinical.loc[unknown, recist].iloc[0])
    frame = pd.DataFrame({"case_id": score_ids, "score": values.to_numpy(dtype=float)})
    recists = pd.Series(codes.to_numpy(), index=clinical_ids.to_numpy())
    frame["recist"] = recists.loc[frame["case_id"]].to_numpy()
    return frame


def _two_classes(y: np.ndarray, name: str, clinical: pd.DataFrame) -> None:
    if y.min() == y.max():
        raise InputError(f"{name}: one class only (every case is {'a responder' if y[0] else 'a non-responder'}); "
                         "the AUC needs both", file=source_of(clinical))


def _survival(cases: pd.DataFrame, clinical: pd.DataFrame, time: str | None, event: str | None,
              notes: list[str]) -> KMResult | None:
    if time is None or event is None or (time not in clinical.columns and event not in clinical.columns):
        notes.append("no survival columns: Kaplan-Meier and log-rank left out")
        return None
    table = clinical.assign(case_id=clinical["case_id"].astype(str)).set_index("case_id")
    frame = survival_frame(table, time, event, source=source_of(clinical))
    frame = frame.loc[cases["case_id"], [time, event]]
    frame["score_group"] = cases["score_group"].to_numpy()
    cases["time"], cases["event"] = frame[time].to_numpy(), frame[event].to_numpy()
    return kaplan_meier(frame, time, event, "score_group")
