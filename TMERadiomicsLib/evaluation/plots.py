"""Evaluation figures as PNG bytes (matplotlib, Agg backend)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be set first)
import numpy as np  # noqa: E402

from .evaluate import EvaluationResult  # noqa: E402

_COLOURS = {0: "#4C72B0", 1: "#C44E52"}


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def roc_png(result: EvaluationResult) -> bytes:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    auc = result.auc
    ax.plot(result.roc["fpr"], result.roc["tpr"], color="#C44E52",
            label=f"AUC {auc.auc:.3f} ({auc.ci_low:.3f}-{auc.ci_high:.3f}, {auc.method})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC: {result.bundle['name']}")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def roc_comparison_png(results: dict[str, EvaluationResult], title: str = "ROC on held-out cases") -> bytes:
    """Several bundles' ROC curves on one plot, each labelled with its AUC and CI."""
    fig, ax = plt.subplots(figsize=(6.0, 5.5))
    for name, result in results.items():
        auc = result.auc
        ax.plot(result.roc["fpr"], result.roc["tpr"],
                label=f"{name} ({result.label['column']}): {auc.auc:.2f} [{auc.ci_low:.2f}-{auc.ci_high:.2f}]")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=title)
    ax.legend(loc="lower right", fontsize=7)
    return _png(fig)


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
    ax.boxplot(groups, tick_labels=["label 0", "label 1"])
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
    return pngs
