"""Demo step: Han's immunotherapy analysis on the held-out cases, scored by han2024-rf.

The cohort's held-out cases carry a RECIST best response drawn from their
latent hot/cold state (``cohort/response.py``) and the cohort's survival.
han2024-rf never saw them, so its scores on them are what Han's
immunotherapy-treated external cohort was: a signature applied to new,
treated patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..response import ResponseResult, analyse_response, write_response_report
from ..response.report import response_dict
from .models_step import TrainedModel

RESPONSE_MODEL = "han2024-rf"
SURVIVAL_TIME_UNIT = "months"  # the synthetic cohort's survival times (cohort/survival.py)


@dataclass
class TreatedResponse:
    result: ResponseResult | None
    summary: dict  # response.json's numbers, or why the analysis could not run


def analyse_treated(models: list[TrainedModel], cohort_files: dict[str, Path], out_dir: Path) -> TreatedResponse:
    model = next(m for m in models if m.name == RESPONSE_MODEL)
    scores = model.evaluation.scores[["case_id", "score"]].astype({"case_id": str})
    response = pd.read_csv(cohort_files["response"], dtype={"case_id": str})
    survival = pd.read_csv(cohort_files["survival"], dtype={"case_id": str})
    clinical = response.merge(survival, on="case_id", how="left")
    try:
        result = analyse_response(scores, clinical, score="score")
    except InputError as error:
        # A small or unlucky cohort may lack responders or progressors; the demo goes on and says so.
        return TreatedResponse(None, {"model": RESPONSE_MODEL, "skipped": str(error)})
    write_response_report(result, out_dir, time_unit=SURVIVAL_TIME_UNIT)
    return TreatedResponse(result, {"model": RESPONSE_MODEL, **response_dict(result)})
