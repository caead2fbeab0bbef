"""Evaluation figures as PNG bytes (matplotlib, Agg backend).

The ROC and decision-curve panels use ``figure_layout``: one panel size, legends below the axes.
Each ``*_figure`` function returns the matplotlib figure (for the tests that
measure the layout); the ``*_png`` function of the same name renders it.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be set first)
import numpy as np  # noqa: E402

from .auc import AUCResult  # noqa: E402
from .evaluate import EvaluationResult  # noqa: E402
from .figure_layout import legend_below, panel  # noqa: E402
from .figure_layout import png as panel_png  # noqa: E402

_COLOURS = {0: "#4C72B0", 1: "#C44E52"}
DECISION_CURVE_PNG = "decision_curve.png"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def auc_label(auc: AUCResult, n_positive: int, n_negative: int) -> str:
    """AUC, its CI and method, and the group sizes, for a legend entry."""
    method = "DeLong" if auc.method == "delong" else "bootstrap"
    return f"AUC {auc.auc:.2f} (95% CI {auc.ci_low:.2f}-{auc.ci_high:.2f}, {method}); n = {n_positive} vs {n_negative}"


def roc_figure(result: EvaluationResult):
    fig, ax = panel()
    ax.plot(result.roc["fpr"], result.roc["tpr"], color="#C44E52",
            label=auc_label(result.auc, result.label["n_positive"], result.label["n_negative"]))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="chance (AUC 0.5)")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC: {result.bundle['name']}",
           xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal")
    legend_below(fig, ax)
    return fig


def roc_png(result: EvaluationResult) -> bytes:
    return panel_png(roc_figure(result))


def roc_comparison_figure(results: dict[str, EvaluationResult], title: str = "ROC on held-out cases"):
    """Several bundles' ROC curves on one plot, each labelled with its AUC, CI and group sizes."""
    fig, ax = panel()
    for name, result in results.items():
        label = auc_label(result.auc, result.label["n_positive"], result.label["n_negative"])
        ax.plot(result.roc["fpr"], result.roc["tpr"], label=f"{name}: {label}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="chance (AUC 0.5)")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02),
           aspect="equal")
    legend_below(fig, ax, fontsize=7)
    return fig


def roc_comparison_png(results: dict[str, EvaluationResult], title: str = "ROC on held-out cases") -> bytes:
    return panel_png(roc_comparison_figure(results, title))


def waterfall_png(result: EvaluationResult) -> bytes:
    """Score minus the cut-off per case, sorted, coloured by the true label."""
    cut, name = _cut(result)
    frame = result.scores.assign(offset=result.scores["score"] - cut).sort_values("offset", ascending=False)
    fig, ax = plt.subplots(figsize=(max(4.5, 0.12 * len(frame)), 3.5))
    ax.bar(np.arange(len(frame)), frame["offset"], color=[_COLOURS[v] for v in frame["label"]], width=0.9)
    ax.axhline(0, color="black", lw=0.8)
    ax.set(xticks=[], xlabel="cases", ylabel=f"{result.bundle['score']} - {name}",
           title="Waterfall (red: label 1, blue: label 0)")
    return _png(fig)


def box_png(result: EvaluationResult) -> bytes:
    fig, ax = plt.subplots(figsize=(4, 4))
    groups = [result.scores.loc[result.scores["label"] == v, "score"] for v in (0, 1)]
    ax.boxplot(groups)
    ax.set_xticks([1, 2], [f"label {v} (n={len(g)})" for v, g in enumerate(groups)])
    for k, values in enumerate(groups):
        jitter = np.random.default_rng(k).uniform(-0.08, 0.08, len(values))
        ax.scatter(np.full(len(values), k + 1) + jitter, values, s=8, color=_COLOURS[k], alpha=0.7)
    ax.set(ylabel=result.bundle["score"], title="Score by label group")
    return _png(fig)


def calibration_png(result: EvaluationResult) -> bytes | None:
    if result.hosmer_lemeshow is None:
        return None
    hl = result.hosmer_lemeshow
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.plot(hl.groups["mean_predicted"], hl.groups["observed_rate"], "o-", color="#C44E52")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed rate",
           title=f"Calibration (HL p = {hl.p_value:.3f}, df {hl.dof})")
    return _png(fig)


def decision_curve_figure(result: EvaluationResult):
    """Net benefit of the model with its bootstrap band, treat-all and treat-none; None without a curve.

    The y axis shows the model's curve and band from a little below zero up:
    treat-all falls without bound as pt nears 1 and leaves the panel there,
    as in Vickers & Elkin's figures, since only net benefit above zero matters.
    """
    dc = result.decision_curve
    if dc is None:
        return None
    pt = np.asarray(dc.thresholds)
    fig, ax = panel()
    ax.plot(pt, dc.model, color="#C44E52", label=f"model: {result.bundle['name']}")
    ax.fill_between(pt, dc.band_low, dc.band_high, color="#C44E52", alpha=0.2, lw=0,
                    label=f"{dc.level:.0%} bootstrap band of the model ({dc.n_resamples} stratified resamples)")
    ax.plot(pt, dc.treat_all, color="dimgrey", ls="--", lw=1, label=f"treat all (prevalence {dc.prevalence:.2f})")
    ax.plot(pt, dc.treat_none, color="black", ls=":", lw=1, label="treat none")
    top = max(dc.prevalence, max(dc.band_high)) * 1.08 + 0.01
    ax.set(xlim=(0, 1), ylim=(-0.25 * top, top), xlabel="threshold probability", ylabel="net benefit",
           title=f"Decision curve: {result.bundle['name']}")
    legend_below(fig, ax)
    return fig


def decision_curve_png(result: EvaluationResult) -> bytes | None:
    fig = decision_curve_figure(result)
    return None if fig is None else panel_png(fig)


def _cut(result: EvaluationResult) -> tuple[float, str]:
    if result.at_bundle_threshold is not None:
        return result.at_bundle_threshold.threshold, "bundle threshold"
    return result.at_youden.threshold, "Youden threshold"


def figures(result: EvaluationResult) -> dict[str, bytes]:
    """Every figure of the report, by file name."""
    pngs = {"roc.png": roc_png(result), "waterfall.png": waterfall_png(result), "boxplot.png": box_png(result)}
    calibration = calibration_png(result)
    if calibration is not None:
        pngs["calibration.png"] = calibration
    decision = decision_curve_png(result)
    if decision is not None:
        pngs[DECISION_CURVE_PNG] = decision
    return pngs
