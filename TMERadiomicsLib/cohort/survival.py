"""Overall survival of a synthetic cohort, driven by its latent TME state.

Exponential event times whose log-hazard rises with the M2 share (Qian:
M2 infiltration is an independent adverse factor) and falls for hot tumours
(Han: the inflamed phenotype does better), with uniform censoring between
one and ten years. Times are in months.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .state import M2_BETA, TmeState

BASELINE_MEDIAN_MONTHS = 90.0
LOG_HR_PER_M2_SD = 0.7
LOG_HR_HOT = -0.8
CENSOR_MONTHS = (12.0, 120.0)


def survival_table(states: Sequence[TmeState], cohort_seed: int) -> pd.DataFrame:
    """case_id, time (months), event (1 death, 0 censored)."""
    a, b = M2_BETA
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    rng = np.random.default_rng([cohort_seed, 19])
    m2 = np.array([s.m2_fraction for s in states])
    hot = np.array([s.hot for s in states])
    rate = np.log(2) / BASELINE_MEDIAN_MONTHS * np.exp(LOG_HR_PER_M2_SD * (m2 - mean) / sd + LOG_HR_HOT * hot)
    event_time = rng.exponential(1.0 / rate)
    censor_time = rng.uniform(*CENSOR_MONTHS, size=len(states))
    return pd.DataFrame({
        "case_id": [s.case_id for s in states],
        "time": np.round(np.minimum(event_time, censor_time), 2),
        "event": (event_time <= censor_time).astype(int),
    })
