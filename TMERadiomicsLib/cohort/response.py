"""RECIST 1.1 best response of the cohort's immunotherapy-treated cases, from the latent phenotype.

Han 2024 validated their signature on 77 anti-PD-1/PD-L1-treated patients:
inflamed ("hot") tumours respond to immunotherapy, immune-desert ("cold")
ones mostly do not. The synthetic cohort's held-out cases play that treated
cohort: each draws its best response from a distribution set by its hot/cold
state (the probabilities below are modelling assumptions, not findings), so
a model that recognises hot tumours should also rank responders first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .state import TmeState

RECIST = ("CR", "PR", "SD", "PD")
# P(CR, PR, SD, PD): hot tumours mostly respond, cold ones mostly progress.
RESPONSE_PROBABILITIES = {1: (0.15, 0.40, 0.25, 0.20), 0: (0.02, 0.08, 0.30, 0.60)}


def response_table(states: Sequence[TmeState], roles: Sequence[str], treated_role: str, cohort_seed: int) -> pd.DataFrame:
    """case_id, recist for the cases of ``treated_role``; seeded per case."""
    rows = []
    for index, (state, role) in enumerate(zip(states, roles)):
        if role != treated_role:
            continue
        rng = np.random.default_rng([cohort_seed, index, 23])
        rows.append({"case_id": state.case_id, "recist": str(rng.choice(RECIST, p=RESPONSE_PROBABILITIES[state.hot]))})
    return pd.DataFrame(rows, columns=["case_id", "recist"])
