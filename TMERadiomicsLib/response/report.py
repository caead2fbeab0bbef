"""Writing a response analysis: CSV/JSON and one self-contained HTML page with its figures."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pandas as pd

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


def write_response_report(result: ResponseResult, out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write the report folder atomically; returns its path."""
    out = check_out_dir(out_dir, overwrite)
    pngs = figures(result)
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
    return pd.DataFrame([{"endpoint": name, "n_responders": int(result.cases["orr" if "objective" in name else "dcr"].sum()),
                          "auc": a.auc, "ci_low": a.ci_low, "ci_high": a.ci_high, "ci_method": a.method,
                          "p_value": a.p_value} for name, a in result.auc.items()])


def figures(result: ResponseResult) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pngs = {"score_by_recist.png": _violin(plt, result), "roc.png": _roc(plt, result)}
    if result.survival is not None:
        buffer = io.BytesIO()
        km_plot(result.survival, buffer, title="Survival by rad-score group (median split)")
        pngs["kaplan_meier.png"] = buffer.getvalue()
    return pngs


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _violin(plt, result: ResponseResult) -> bytes:
    codes = [c for c in RECIST_CODES if (result.cases["recist"] == c).any()]
    values = [result.cases.loc[result.cases["recist"] == c, "score"].to_numpy() for c in codes]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.violinplot([v for v in values if len(v) > 1] or values, showextrema=False,
                  positions=[k + 1 for k, v in enumerate(values) if len(v) > 1] or None)
    ax.boxplot(values, widths=0.25)
    ax.set_xticks(range(1, len(codes) + 1), [f"{c} (n={len(v)})" for c, v in zip(codes, values)])
    ax.axhline(result.median, ls="--", color="grey", lw=0.8)
    ax.set(ylabel="rad-score", title=f"Rad-score by RECIST (Kruskal-Wallis p = {result.kruskal.p_value:.3g})")
    return _png(plt, fig)


def _roc(plt, result: ResponseResult) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, roc in result.roc.items():
        a = result.auc[name]
        ax.plot(roc["fpr"], roc["tpr"], label=f"{name}: {a.auc:.3f} ({a.ci_low:.3f}-{a.ci_high:.3f}), p = {a.p_value:.3g}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC of the rad-score for response")
    ax.legend(loc="lower right", fontsize=7)
    return _png(plt, fig)


def render_html(result: ResponseResult, pngs: dict[str, bytes]) -> str:
    k = result.kruskal
    groups = result.cases["score_group"].value_counts()
    parts = [
        "<h1>Rad-score and immunotherapy response</h1>",
        f"<p>{len(result.cases)} cases; median rad-score {result.median:.4g}: {groups.get('high', 0)} high "
        f"(above the median), {groups.get('low', 0)} low. RECIST 1.1 categories: "
        + ", ".join(f"{c} {n}" for c, n in k.n_per_group.items()) + ".</p>",
        "<h2>AUC for response</h2>", html_table(auc_table(result)),
        f"<h2>Rad-score across RECIST categories</h2><p>Kruskal-Wallis H = {k.statistic:.4g}, df {k.dof}, "
        f"p = {k.p_value:.3g}. Pairwise Wilcoxon rank-sum (raw and Holm-adjusted p):</p>",
        html_table(result.pairwise),
        f"<h2>Response by rad-score group</h2><p>{escape(result.fisher.method)}: p = {result.fisher.p_value:.3g}"
        + (f" (Monte Carlo SE {result.fisher.mc_standard_error:.2g})" if result.fisher.mc_standard_error else "")
        + "</p>", html_table(result.response_by_group),
    ]
    if result.survival is not None:
        km = result.survival
        parts += [f"<h2>Survival by rad-score group</h2><p>log-rank statistic {km.logrank_statistic:.4g}, "
                  f"df {km.logrank_df}, p = {km.logrank_p:.3g}</p>", html_table(km.summary)]
    parts += ["<h2>Figures</h2>", *[embedded_png(name, data) for name, data in pngs.items()]]
    if result.notes:
        parts += ["<h2>Notes</h2><ul>", *[f"<li>{escape(n)}</li>" for n in result.notes], "</ul>"]
    parts += ["<h2>Per-case data</h2>", html_table(result.cases)]
    return html_page("Rad-score and response", parts)
