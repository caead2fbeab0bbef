"""Survival analysis of cell abundances on lifelines.

- Cox proportional hazards, univariate (one model per covariate) and
  multivariate (all together), Efron's tie handling (lifelines' and R
  ``survival::coxph``'s default): HR, 95% Wald CI, Wald p. Qian 2024 used
  both to single out M2 macrophages.
- Kaplan-Meier curves by group with the log-rank test (Han 2024, Fig. 4).
- The optimal cut-off of an abundance for high/low: Youden's J on the ROC of
  the abundance against the event (Han 2024), or the maximally selected
  log-rank statistic (survminer's ``surv_cutpoint``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from sklearn.metrics import auc, roc_curve

from ..errors import InputError

log = logging.getLogger(__name__)

COX_COLUMNS = ["covariate", "coef", "hr", "hr_low95", "hr_high95", "se", "z", "p", "n", "events"]


@dataclass(frozen=True)
class CoxResult:
    """One row per covariate (``COX_COLUMNS``) and the model's fit statistics."""

    table: pd.DataFrame
    concordance: float | None = None
    log_likelihood_ratio: float | None = None
    lrt_df: int | None = None
    lrt_p: float | None = None


@dataclass(frozen=True)
class KMResult:
    """Survival curves per group and the log-rank test between groups."""

    curves: pd.DataFrame  # group, time, survival, ci_low, ci_high, at_risk
    summary: pd.DataFrame  # group, n, events, median_survival
    logrank_statistic: float
    logrank_p: float
    logrank_df: int


@dataclass(frozen=True)
class Cutoff:
    """A threshold on a value: ``value >= threshold`` is the high group."""

    threshold: float
    method: str
    statistic: float
    high_is_risk: bool
    n_high: int
    n_low: int


def survival_frame(table: pd.DataFrame, time: str, event: str, *, drop_incomplete: bool = False,
                   source: object = None) -> pd.DataFrame:
    """Check and clean the time/event columns; ``event`` must be 0/1 (or booleans).

    Rows with a missing time or event are an error naming the cases, or are
    dropped (and counted in the log) with ``drop_incomplete``, as Qian
    excluded "samples without survival information".
    """
    for column in (time, event):
        if column not in table.columns:
            raise InputError(f"survival column {column!r} not found; columns are {list(table.columns)[:20]}",
                             file=source)
    frame = table.copy()
    for column in (time, event):
        raw = frame[column]
        if raw.dtype == bool:
            raw = raw.astype(int)
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & numeric.isna()
        if bad.any():
            raise InputError(f"non-numeric {column!r}", file=source, case=str(frame.index[bad][0]),
                             value=raw[bad].iloc[0])
        frame[column] = numeric
    missing = frame[[time, event]].isna().any(axis=1)
    if missing.any():
        cases = [str(c) for c in frame.index[missing]]
        if not drop_incomplete:
            raise InputError(f"{len(cases)} case(s) with missing {time!r} or {event!r}: {cases[:10]}; "
                             "fill them or drop them with --drop-incomplete", file=source, case=cases[0])
        log.warning("dropped %d case(s) without survival information: %s", len(cases), cases[:10])
        frame = frame[~missing]
    _check_values(frame, time, event, source)
    return frame


def _check_values(frame: pd.DataFrame, time: str, event: str, source: object) -> None:
    infinite = frame.index[~np.isfinite(frame[time])]
    if len(infinite):
        raise InputError(f"infinite survival time in {time!r}", file=source, case=str(infinite[0]),
                         value=frame.at[infinite[0], time])
    negative = frame.index[frame[time] < 0]
    if len(negative):
        raise InputError(f"negative survival time in {time!r}", file=source, case=str(negative[0]),
                         value=frame.at[negative[0], time])
    odd = frame.index[~frame[event].isin([0, 1])]
    if len(odd):
        raise InputError(f"event column {event!r} must be 0/1", file=source, case=str(odd[0]),
                         value=frame.at[odd[0], event])
    if frame[event].sum() == 0:
        raise InputError(f"no events in {event!r} (every case censored): survival models need at least one",
                         file=source)
    if frame[time].nunique() < 2:
        # Every time tied (all 0, say): the partial likelihood has no ordering to fit and lifelines
        # returns a hazard ratio that means nothing.
        raise InputError(f"every survival time in {time!r} is the same; survival models need times that differ",
                         file=source, value=frame[time].iloc[0] if len(frame) else None)


def _fit_cox(frame: pd.DataFrame, time: str, event: str, covariates: Sequence[str]) -> CoxPHFitter:
    data = frame[[time, event, *covariates]].astype(np.float64)
    constant = [c for c in covariates if data[c].nunique() < 2]
    if constant:
        raise InputError("covariate has one value in every case; a Cox model cannot use it", value=constant)
    events = int(data[event].sum())
    if events <= len(covariates):
        # Fewer events than parameters: the fit runs off to an absurd hazard ratio rather than failing.
        raise InputError(f"a Cox model of {len(covariates)} covariate(s) needs more events than covariates; "
                         f"the data have {events}", value=list(covariates)[:10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' convergence hints; a failed fit raises below
        try:
            return CoxPHFitter().fit(data, duration_col=time, event_col=event)
        except Exception as error:  # lifelines raises ConvergenceError and numpy LinAlgError
            raise InputError(f"Cox model did not converge for {list(covariates)}: {error}; fractions that sum "
                             "to 1 are collinear, so give a subset (e.g. the univariately significant ones)"
                             ) from None


def _cox_rows(fitter: CoxPHFitter, frame: pd.DataFrame, event: str) -> pd.DataFrame:
    summary = fitter.summary
    table = pd.DataFrame({
        "covariate": summary.index.astype(str),
        "coef": summary["coef"].to_numpy(),
        "hr": summary["exp(coef)"].to_numpy(),
        "hr_low95": summary["exp(coef) lower 95%"].to_numpy(),
        "hr_high95": summary["exp(coef) upper 95%"].to_numpy(),
        "se": summary["se(coef)"].to_numpy(),
        "z": summary["z"].to_numpy(),
        "p": summary["p"].to_numpy(),
    })
    table["n"] = len(frame)
    table["events"] = int(frame[event].sum())
    return table[COX_COLUMNS]


def cox_univariate(frame: pd.DataFrame, time: str, event: str, covariates: Sequence[str]) -> CoxResult:
    """One Cox model per covariate; rows in the covariates' order.

    A covariate with one value in every case (a cell type CIBERSORT never
    finds, say) gets a row of NaN and a warning rather than stopping the rest.
    """
    rows = []
    for name in covariates:
        if frame[name].nunique() < 2:
            log.warning("covariate %r has one value in every case; no Cox model for it", name)
            rows.append(pd.DataFrame([{"covariate": name, "n": len(frame), "events": int(frame[event].sum())}],
                                     columns=COX_COLUMNS))
        else:
            rows.append(_cox_rows(_fit_cox(frame, time, event, [name]), frame, event))
    return CoxResult(pd.concat(rows, ignore_index=True).astype({c: float for c in COX_COLUMNS[1:8]}))


def cox_multivariate(frame: pd.DataFrame, time: str, event: str, covariates: Sequence[str]) -> CoxResult:
    """All covariates in one Cox model, with concordance and the likelihood-ratio test."""
    fitter = _fit_cox(frame, time, event, covariates)
    test = fitter.log_likelihood_ratio_test()
    return CoxResult(_cox_rows(fitter, frame, event), float(fitter.concordance_index_),
                     float(test.test_statistic), int(test.degrees_freedom), float(test.p_value))


def forest_plot(table: pd.DataFrame, path: str | Path | BinaryIO, title: str = "Cox regression") -> None:
    """Hazard ratios with 95% CI on a log axis, p-values on the right (rows without a fit left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table.dropna(subset=["hr"])
    hr, low, high = (table[c].to_numpy(dtype=np.float64) for c in ("hr", "hr_low95", "hr_high95"))
    y = np.arange(len(table))[::-1]
    fig, ax = plt.subplots(figsize=(7, 1 + 0.35 * len(table)))
    ax.errorbar(hr, y, xerr=[hr - low, high - hr], fmt="none", ecolor="grey", capsize=3)
    ax.scatter(hr, y, c=np.where(hr > 1, "tab:red", "tab:green"), marker="s", zorder=3)
    ax.axvline(1.0, color="black", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y, table["covariate"])
    for yi, p in zip(y, table["p"]):
        ax.annotate(f"p={p:.3g}", (1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.set_xlabel("hazard ratio (95% CI)")
    ax.set_title(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def kaplan_meier(frame: pd.DataFrame, time: str, event: str, group: str) -> KMResult:
    """Kaplan-Meier per group and the (multi-group) log-rank test."""
    groups = frame[group]
    if groups.isna().any():
        raise InputError(f"group column {group!r} is empty for some cases", case=str(groups.index[groups.isna()][0]))
    levels = sorted(groups.unique(), key=str)
    if len(levels) < 2:
        raise InputError(f"group column {group!r} has one group only; the log-rank test needs two or more",
                         value=levels)
    curves, summary = [], []
    for level in levels:
        part = frame[groups == level]
        fitter = KaplanMeierFitter().fit(part[time], part[event], label=str(level))
        curves.append(_curve(fitter, level))
        summary.append({"group": str(level), "n": len(part), "events": int(part[event].sum()),
                        "median_survival": float(fitter.median_survival_time_)})
    test = _logrank(frame, time, event, group, levels)
    return KMResult(pd.concat(curves, ignore_index=True), pd.DataFrame(summary), float(test.test_statistic),
                    float(test.p_value), len(levels) - 1)


def _logrank(frame: pd.DataFrame, time: str, event: str, group: str, levels: list):
    if len(levels) == 2:
        a, b = (frame[frame[group] == level] for level in levels)
        return logrank_test(a[time], b[time], a[event], b[event])
    return multivariate_logrank_test(frame[time], frame[group], frame[event])


def _curve(fitter: KaplanMeierFitter, level: object) -> pd.DataFrame:
    survival = fitter.survival_function_.iloc[:, 0]
    ci = fitter.confidence_interval_survival_function_
    at_risk = fitter.event_table["at_risk"].reindex(survival.index)
    return pd.DataFrame({"group": str(level), "time": survival.index.to_numpy(), "survival": survival.to_numpy(),
                         "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy(),
                         "at_risk": at_risk.to_numpy()})


def km_plot(result: KMResult, path: str | Path | BinaryIO, title: str = "Kaplan-Meier", *,
            time_unit: str = "unit of the survival table") -> None:
    """Step curves with 95% bands, a numbers-at-risk table and the log-rank p, legend outside the axes."""
    from ..evaluation.figure_layout import png

    data = png(km_figure(result, title, time_unit))
    if hasattr(path, "write"):
        path.write(data)
    else:
        Path(path).write_bytes(data)


def at_risk(curves: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
    """Cases still at risk at each time, per group: those whose time is at least ``times[k]``.

    ``curves.at_risk`` is lifelines' count just before each observed time, so the number at risk at
    ``t`` is the count at the first observed time >= t (0 after the last one).
    """
    rows = {}
    for name, curve in curves.groupby("group", sort=False):
        curve = curve.sort_values("time")
        observed, counts = curve["time"].to_numpy(), curve["at_risk"].to_numpy()
        index = np.searchsorted(observed, np.asarray(times, dtype=float), side="left")
        rows[str(name)] = [int(counts[i]) if i < len(counts) else 0 for i in index]
    return pd.DataFrame(rows, index=list(times)).T


def km_figure(result: KMResult, title: str = "Kaplan-Meier", time_unit: str = "unit of the survival table"):
    """The Kaplan-Meier panel (``evaluation.figure_layout`` size): curves, bands, numbers at risk below."""
    from ..evaluation.figure_layout import legend_below, panel

    fig, (ax, table) = panel(nrows=2, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    n = result.summary.set_index("group")
    colours = {}
    for name, curve in result.curves.groupby("group", sort=False):
        line = ax.step(curve["time"], curve["survival"], where="post",
                       label=f"{name} (n = {n.loc[str(name), 'n']}, {n.loc[str(name), 'events']} events)")[0]
        colours[str(name)] = line.get_color()
        ax.fill_between(curve["time"], curve["ci_low"], curve["ci_high"], step="post", alpha=0.15,
                        color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("survival probability")
    ax.set_title(title)
    ticks = [t for t in ax.get_xticks() if 0 <= t <= result.curves["time"].max()]
    counts = at_risk(result.curves, ticks)
    for row, (name, values) in enumerate(counts.iterrows()):
        for t, value in zip(ticks, values):
            table.text(t, row, str(value), ha="center", va="center", fontsize=8, color=colours[name])
    table.set_yticks(range(len(counts)), list(counts.index), fontsize=8)
    table.set_ylim(len(counts) - 0.5, -0.5)
    table.set_title("numbers at risk", fontsize=8, loc="left")
    table.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        table.spines[side].set_visible(False)
    table.set_xlabel(f"time ({time_unit})")
    end = result.curves["time"].max()
    ax.set_xlim(-0.05 * end, end * 1.03)  # room left of t = 0 so the first count clears the group names
    legend_below(fig, ax, title=f"log-rank p = {result.logrank_p:.3g}; shaded: 95% CI")
    return fig


def optimal_cutoff(values: pd.Series, time: pd.Series, event: pd.Series, *, method: str = "youden",
                   min_prop: float = 0.1) -> Cutoff:
    """The threshold splitting ``values`` into high (>= threshold) and low.

    ``youden``: maximise J = sensitivity + specificity - 1 of ``values``
    predicting the event (the direction with AUC >= 0.5). ``maxstat``: the
    candidate with the largest log-rank statistic, each group holding at
    least ``min_prop`` of the cases. ``median``: the cohort median.
    """
    values = values.astype(np.float64)
    if values.nunique() < 2:
        raise InputError("values to cut are all equal", value=float(values.iloc[0]))
    if method == "youden":
        threshold, statistic, risk = _youden(values, event)
    elif method == "maxstat":
        threshold, statistic, risk = _maxstat(values, time, event, min_prop)
    elif method == "median":
        threshold = float(np.nextafter(values.median(), np.inf))  # > median is high, as in the median split
        statistic, risk = float("nan"), True
    else:
        raise InputError("cut-off method must be youden, maxstat or median", value=method)
    high = int((values >= threshold).sum())
    return Cutoff(float(threshold), method, float(statistic), bool(risk), high, len(values) - high)


def _youden(values: pd.Series, event: pd.Series) -> tuple[float, float, bool]:
    if event.nunique() < 2:
        raise InputError("Youden cut-off needs cases with and without events")
    fpr, tpr, thresholds = roc_curve(event.astype(int), values)
    risk = auc(fpr, tpr) >= 0.5
    if not risk:
        fpr, tpr, thresholds = roc_curve(event.astype(int), -values)
        thresholds = -thresholds
    j = tpr - fpr
    best = int(np.argmax(j[1:])) + 1  # index 0 is roc_curve's +inf sentinel
    threshold = thresholds[best]
    if not risk:
        # With flipped scores "positive" is values <= t; the high group starts just above it.
        threshold = float(np.min(values[values > threshold])) if (values > threshold).any() else threshold
    return float(threshold), float(j[best]), bool(risk)


def _maxstat(values: pd.Series, time: pd.Series, event: pd.Series, min_prop: float) -> tuple[float, float, bool]:
    candidates = np.unique(values)[1:]  # each candidate t: high = values >= t
    best = (np.nan, -np.inf, True)
    n = len(values)
    for t in candidates:
        high = (values >= t).to_numpy()
        if min(high.sum(), n - high.sum()) < min_prop * n:
            continue
        test = logrank_test(time[high], time[~high], event[high], event[~high])
        if test.test_statistic > best[1]:
            risk = event[high].mean() >= event[~high].mean()
            best = (float(t), float(test.test_statistic), bool(risk))
    if not np.isfinite(best[1]):
        raise InputError(f"no cut-off leaves at least {min_prop:.0%} of cases in each group")
    return best
