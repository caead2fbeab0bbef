"""Writing a response analysis: CSV/JSON and one self-contained HTML page with its figures."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluation.auc import p_values_text
from ..evaluation.figure_layout import legend_below, panel
from ..evaluation.figure_layout import png as panel_png
from ..evaluation.plots import auc_label
from ..evaluation.report import json_ready, embedded_png, escape, html_page, html_table
from ..labels.survival import km_plot
from ..outputs import atomic_write_bytes, atomic_write_text, check_out_dir, staged_dir
from .analysis import RECIST_CODES, ResponseResult


def response_dict(result: ResponseResult) -> dict[str, object]:
    """Every number of the report, JSON-ready."""
    km = result.survival
    return json_ready({
        "n_cases": len(result.cases),
        "median_score": result.median,
        "groups": result.cases["score_group"].value_counts().to_dict(),
        "auc": {name: auc.as_dict() for name, auc in result.auc.items()},
        "kruskal_wallis": {"statistic": result.kruskal.statistic, "dof": result.kruskal.dof,
                           "p_value": result.kruskal.p_value, "n_per_group": result.kruskal.n_per_group},
        "pairwise_wilcoxon": result.pairwise.to_dict(orient="records"),
        "response_by_group": result.response_by_group.to_dict(orient="records"),
        "fisher_response_by_group": vars(result.fisher),
        "survival": None if km is None else {
            "logrank_statistic": km.logrank_statistic, "logrank_p": km.logrank_p, "logrank_df": km.logrank_df,
            "groups": km.summary.to_dict(orient="records")},
        "notes": result.notes,
    })


def write_response_report(result: ResponseResult, out_dir: str | os.PathLike, overwrite: bool = False, *,
                          time_unit: str | None = None) -> Path:
    """Write the report folder atomically; returns its path. ``time_unit`` labels the Kaplan-Meier axis."""
    out = check_out_dir(out_dir, overwrite)
    pngs = figures(result, time_unit)
    with staged_dir(out) as stage:
        for name, data in pngs.items():
            atomic_write_bytes(stage / name, data)
        atomic_write_text(stage / "response.json", json.dumps(response_dict(result), indent=2) + "\n")
        atomic_write_text(stage / "cases.csv", result.cases.to_csv(index=False))
        atomic_write_text(stage / "auc.csv", auc_table(result).to_csv(index=False))
        atomic_write_text(stage / "pairwise_wilcoxon.csv", result.pairwise.to_csv(index=False))
        atomic_write_text(stage / "response_by_group.csv", result.response_by_group.to_csv(index=False))
        if result.survival is not None:
            atomic_write_text(stage / "km_curves.csv", result.survival.curves.to_csv(index=False))
        atomic_write_text(stage / "report.html", render_html(result, pngs))
    return out


def auc_table(result: ResponseResult) -> pd.DataFrame:
    n = len(result.cases)
    rows = []
    for name, a in result.auc.items():
        responders = int(result.cases["orr" if "objective" in name else "dcr"].sum())
        rows.append({"endpoint": name, "n_responders": responders, "n_non_responders": n - responders,
                     "auc": a.auc, "ci_low": a.ci_low, "ci_high": a.ci_high, "ci_method": a.method,
                     "p_delong": a.delong_p_value, "p_wilcoxon": a.p_value})
    return pd.DataFrame(rows)


# Without a unit from the caller the axis says where the times come from.
UNKNOWN_TIME_UNIT = "unit of the clinical table"


def figures(result: ResponseResult, time_unit: str | None = None) -> dict[str, bytes]:
    """Every figure, as equal-sized panels (``evaluation.figure_layout``), by file name."""
    pngs = {"score_by_recist.png": panel_png(violin_figure(result)), "roc.png": panel_png(roc_figure(result))}
    if result.survival is not None:
        buffer = io.BytesIO()
        km_plot(result.survival, buffer, title="Survival by rad-score group (median split)",
                time_unit=time_unit or UNKNOWN_TIME_UNIT)
        pngs["kaplan_meier.png"] = buffer.getvalue()
    return pngs


def violin_figure(result: ResponseResult):
    """Scores per RECIST category: violin (n > 1), box, every case as a point, the median split named."""
    codes = [c for c in RECIST_CODES if (result.cases["recist"] == c).any()]
    values = [result.cases.loc[result.cases["recist"] == c, "score"].to_numpy() for c in codes]
    fig, ax = panel()
    shaped = [k for k, v in enumerate(values) if len(v) > 1]
    if shaped:
        ax.violinplot([values[k] for k in shaped], positions=[k + 1 for k in shaped], showextrema=False)
    ax.boxplot(values, widths=0.25)
    for k, v in enumerate(values):
        # Every case as a point, so a category of one case is a visible dot, not a lone median tick.
        jitter = np.random.default_rng(k).uniform(-0.06, 0.06, len(v)) if len(v) > 1 else np.zeros(1)
        ax.scatter(np.full(len(v), k + 1.0) + jitter, v, s=14, color="black", zorder=3,
                   label="one case" if k == 0 else None)
    ax.set_xticks(range(1, len(codes) + 1), [f"{c} (n={len(v)})" for c, v in zip(codes, values)])
    ax.axhline(result.median, ls="--", color="grey", lw=0.8,
               label=f"median rad-score {result.median:.3f} (split into high / low groups)")
    ax.set(ylabel="rad-score", xlabel="RECIST 1.1 best response",
           title=f"Rad-score by RECIST (Kruskal-Wallis p = {result.kruskal.p_value:.3g})")
    legend_below(fig, ax)
    return fig


def roc_figure(result: ResponseResult):
    fig, ax = panel()
    for name, roc in result.roc.items():
        a = result.auc[name]
        responders = int(result.cases["orr" if "objective" in name else "dcr"].sum())
        ax.plot(roc["fpr"], roc["tpr"], label=f"{name}\n{auc_label(a, responders, len(result.cases) - responders)}\n"
                                              f"{p_values_text(a)}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="chance (AUC 0.5)")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC of the rad-score for response",
           xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal")
    legend_below(fig, ax, fontsize=6.5)  # three lines an entry: they would not fit beside the axes
    return fig


def render_html(result: ResponseResult, pngs: dict[str, bytes]) -> str:
    k = result.kruskal
    groups = result.cases["score_group"].value_counts()
    parts = [
        "<h1>Rad-score and immunotherapy response</h1>",
        f"<p>{len(result.cases)} cases; median rad-score {result.median:.4g}: {groups.get('high', 0)} high "
        f"(above the median), {groups.get('low', 0)} low. RECIST 1.1 categories: "
        + ", ".join(f"{c} {n}" for c, n in k.n_per_group.items()) + ".</p>",
        "<h2>AUC for response</h2>", html_table(auc_table(result), "AUC of the rad-score for each endpoint"),
        f"<h2>Rad-score across RECIST categories</h2><p>Kruskal-Wallis H = {k.statistic:.4g}, df {k.dof}, "
        f"p = {k.p_value:.3g}. Pairwise Wilcoxon rank-sum (raw and Holm-adjusted p):</p>",
        html_table(result.pairwise, "Pairwise Wilcoxon rank-sum tests (R's wilcox.test rules)"),
        f"<h2>Response by rad-score group</h2><p>{escape(result.fisher.method)}: p = {result.fisher.p_value:.3g}"
        + (f" (Monte Carlo SE {result.fisher.mc_standard_error:.2g})" if result.fisher.mc_standard_error else "")
        + "</p>", html_table(result.response_by_group, "Cases by RECIST category and rad-score group"),
    ]
    if result.survival is not None:
        km = result.survival
        parts += [f"<h2>Survival by rad-score group</h2><p>log-rank statistic {km.logrank_statistic:.4g}, "
                  f"df {km.logrank_df}, p = {km.logrank_p:.3g}</p>", html_table(km.summary, "Kaplan-Meier groups")]
    parts += ["<h2>Figures</h2>", *[embedded_png(name, data) for name, data in pngs.items()]]
    if result.notes:
        parts += ["<h2>Notes</h2><ul>", *[f"<li>{escape(n)}</li>" for n in result.notes], "</ul>"]
    parts += ["<h2>Per-case data</h2>", html_table(result.cases, "One row per case")]
    return html_page("Rad-score and response", parts)
