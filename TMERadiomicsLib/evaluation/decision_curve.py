"""Decision-curve analysis: the net benefit of acting on a model's predicted risk.

Vickers & Elkin, Med Decis Making 2006;26:565. At a threshold probability pt
(the risk at which one would rather act than not: the harm of a needless
action weighs pt / (1 - pt) against the benefit of a needed one), acting on
every case with predicted probability >= pt gives

    NB(pt) = TP / n - FP / n * pt / (1 - pt).

Treat-all acts on everyone, NB = prevalence - (1 - prevalence) * pt / (1 - pt);
treat-none acts on no one, NB = 0. A model is worth using at pt only where
its curve lies above both. A case whose probability equals pt counts as
positive (">=", as dcurves and ``metrics.confusion_metrics``). There is no
harm term (dcurves' ``harm``, a constant subtracted from a model's curve for
the burden of the test itself): a radiomics score costs no extra procedure.

The band is the pointwise percentile interval of the model's net benefit
over the stratified case bootstrap of ``resampling.py``, the AUC's. Stratified
resampling keeps the prevalence fixed, so treat-all has no band: the band is
the uncertainty of the model's sensitivity and specificity at this cohort's
prevalence, not of the prevalence itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from .resampling import check_n_resamples, stratified_resamples

# 0.01 to 0.99 in steps of 0.01: finer than any threshold a clinician could
# state, and dcurves' default grid without its pt = 0, where treating costs
# nothing and every strategy that treats everyone ties. pt = 1 is excluded as
# its odds pt / (1 - pt) are infinite. i / 100 gives the same floats as
# dcurves' grid, so a probability written as 0.25 ties with pt = 0.25.
DEFAULT_THRESHOLDS = tuple(np.arange(1, 100) / 100)
# A gain smaller than this is rounding, not benefit: at a threshold where the model's counts give exactly
# treat-all's net benefit (a tie in exact arithmetic) the two floats may still differ in the last bits.
GAIN_TOLERANCE = 1e-12
# The AUC's bootstrap default (``auc.auc_bootstrap``, ``evaluate``).
DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class DecisionCurve:
    thresholds: tuple[float, ...]
    model: tuple[float, ...]  # net benefit of acting when probability >= pt
    treat_all: tuple[float, ...]
    treat_none: tuple[float, ...]
    band_low: tuple[float, ...]  # pointwise percentile band of the model's net benefit
    band_high: tuple[float, ...]
    prevalence: float
    n_cases: int
    n_resamples: int
    seed: int
    level: float
    # Runs of consecutive grid thresholds where the model's net benefit exceeds both defaults, as (low, high).
    beats_both: tuple[tuple[float, float], ...]

    def table(self) -> pd.DataFrame:
        """One row per threshold."""
        return pd.DataFrame({
            "threshold": self.thresholds, "net_benefit_model": self.model, "band_low": self.band_low,
            "band_high": self.band_high, "net_benefit_treat_all": self.treat_all,
            "net_benefit_treat_none": self.treat_none,
        })

    def as_dict(self) -> dict[str, object]:
        return {
            "thresholds": list(self.thresholds), "net_benefit_model": list(self.model),
            "net_benefit_treat_all": list(self.treat_all), "net_benefit_treat_none": list(self.treat_none),
            "band_low": list(self.band_low), "band_high": list(self.band_high),
            "band": f"pointwise {self.level:.0%} percentile, {self.n_resamples} stratified case resamples, "
                    f"seed {self.seed}",
            "prevalence": self.prevalence, "n_cases": self.n_cases, "n_resamples": self.n_resamples,
            "seed": self.seed, "level": self.level,
            "model_beats_both": [list(run) for run in self.beats_both],
        }


def decision_curve(
    labels: Sequence[int] | np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS,
    n_bootstrap: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    *,
    level: float = 0.95,
    case_ids: Sequence[str] | None = None,
) -> DecisionCurve:
    """Net benefit of the model, treat-all and treat-none at each threshold, with a bootstrap band.

    ``case_ids`` (one per case) only name the case in an error.
    """
    y, p = _checked_cases(labels, probabilities, case_ids)
    pt = _checked_thresholds(thresholds)
    n_bootstrap = check_n_resamples(n_bootstrap)
    if not 0 < level < 1:
        raise InputError("the band's level must lie strictly between 0 and 1", value=level)
    odds = pt / (1 - pt)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    model = _model_net_benefit(y, p, pt, odds)
    # The same arithmetic as the model's, so a model that treats everyone ties treat-all exactly.
    treat_all = _net_benefit(np.full(len(pt), n_pos), np.full(len(pt), n_neg), len(y), odds)
    treat_none = np.zeros(len(pt))
    resampled = np.array([_model_net_benefit(y[idx], p[idx], pt, odds)
                          for idx in stratified_resamples(y, n_bootstrap, seed)])
    alpha = (1 - level) / 2
    low, high = np.quantile(resampled, [alpha, 1 - alpha], axis=0)
    return DecisionCurve(
        thresholds=_floats(pt), model=_floats(model), treat_all=_floats(treat_all),
        treat_none=_floats(treat_none), band_low=_floats(low), band_high=_floats(high),
        prevalence=n_pos / len(y), n_cases=len(y), n_resamples=n_bootstrap, seed=int(seed), level=float(level),
        beats_both=_runs(pt, model - np.maximum(treat_all, treat_none) > GAIN_TOLERANCE),
    )


def _net_benefit(tp: np.ndarray, fp: np.ndarray, n: int, odds: np.ndarray) -> np.ndarray:
    return tp / n - fp / n * odds


def _model_net_benefit(y: np.ndarray, p: np.ndarray, pt: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """NB at every threshold: cases with p >= pt counted by binary search in each class's sorted p."""
    positives, negatives = np.sort(p[y == 1]), np.sort(p[y == 0])
    tp = len(positives) - np.searchsorted(positives, pt, side="left")
    fp = len(negatives) - np.searchsorted(negatives, pt, side="left")
    return _net_benefit(tp, fp, len(y), odds)


def _runs(pt: np.ndarray, mask: np.ndarray) -> tuple[tuple[float, float], ...]:
    """(first, last) threshold of each run of consecutive True entries of ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return tuple((float(pt[a]), float(pt[b])) for a, b in zip(starts, ends))


def _checked_cases(labels, probabilities, case_ids) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    p = np.asarray(probabilities)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p):
        raise InputError("decision curve: labels and probabilities must be two lists of the same length",
                         value=f"{y.shape} and {p.shape}")
    if case_ids is not None and len(case_ids) != len(y):
        raise InputError("decision curve: one case ID per case is needed", value=len(case_ids))
    numeric = y.dtype.kind in "biuf"
    _refuse_first(~np.isin(y, (0, 1)) if numeric else np.ones(len(y), bool),
                  "a label must be 0 or 1", y, case_ids)
    _refuse_first(np.ones(len(p), bool) if p.dtype.kind not in "biuf" else np.zeros(len(p), bool),
                  "probabilities must be numbers", p, case_ids)
    p = p.astype(float)
    _refuse_first(np.isnan(p), "a probability is NaN; net benefit needs every case's probability", p, case_ids)
    _refuse_first((p < 0) | (p > 1), "a probability must lie in [0, 1] (a score is not a risk)", p, case_ids)
    y = y.astype(int)
    if not len(y):
        raise InputError("decision curve: no cases")
    if y.min() == y.max():
        raise InputError("decision curve: the cases must hold both labels 0 and 1", value=f"all {y[0]}")
    return y, p


def _refuse_first(bad: np.ndarray, message: str, values: np.ndarray, case_ids) -> None:
    """One InputError naming the first bad case (its ID, else its position) and its value."""
    if not bad.any():
        return
    k = int(np.flatnonzero(bad)[0])
    value = values[k].item() if hasattr(values[k], "item") else values[k]
    if case_ids is not None:
        raise InputError(f"decision curve: {message}", case=str(case_ids[k]), value=repr(value))
    raise InputError(f"decision curve: {message}", value=f"{value!r} at position {k}")


def _checked_thresholds(thresholds) -> np.ndarray:
    pt = np.asarray(thresholds, dtype=float)
    if pt.ndim != 1 or len(pt) == 0:
        raise InputError("decision curve: give at least one threshold")
    outside = ~((pt > 0) & (pt < 1))
    if outside.any():
        raise InputError("decision curve: thresholds must lie strictly between 0 and 1",
                         value=float(pt[outside][0]))
    if (np.diff(pt) <= 0).any():
        raise InputError("decision curve: thresholds must increase")
    return pt


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
