"""Writing an evaluation: one self-contained HTML report plus CSV/JSON.

``metrics.json`` holds every number shown in the report; the CSV files hold
the per-case scores, the threshold metrics, the ROC points, the calibration
groups, the decision curve and the Table-1 rows. PNGs are written beside them and embedded in
the HTML as base64, so the report is one file that can be mailed around.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path

import pandas as pd

from ..models.card_html import card_to_html
from ..outputs import atomic_write_bytes, atomic_write_text, check_out_dir, staged_dir
from .auc import p_values_text
from .decision_curve import DecisionCurve
from .evaluate import EvaluationResult
from .plots import DECISION_CURVE_PNG, figures

_METRICS = ("threshold", "accuracy", "sensitivity", "specificity", "ppv", "npv", "tp", "fp", "tn", "fn")


def result_dict(result: EvaluationResult) -> dict[str, object]:
    """Every number of the evaluation, JSON-ready (NaN becomes null)."""
    data = {
        "bundle": result.bundle,
        "label": result.label,
        "n_cases": result.n_cases,
        "auc": result.auc.as_dict(),
        "at_bundle_threshold": None if result.at_bundle_threshold is None else result.at_bundle_threshold.as_dict(),
        "at_youden_threshold": result.at_youden.as_dict(),
        "hosmer_lemeshow": None if result.hosmer_lemeshow is None else result.hosmer_lemeshow.as_dict(),
        "decision_curve": None if result.decision_curve is None else result.decision_curve.as_dict(),
        "roc": result.roc.to_dict(orient="list"),
        "table1": result.table1.to_dict(orient="records"),
        "scores": result.scores.to_dict(orient="records"),
        "notes": result.notes,
    }
    return json_ready(data)


def json_ready(value):
    """Numbers and containers as JSON takes them: numpy scalars unwrapped, NaN null, inf as text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def metrics_table(result: EvaluationResult) -> pd.DataFrame:
    rows = [{"at": "youden", **result.at_youden.as_dict()}]
    if result.at_bundle_threshold is not None:
        rows.insert(0, {"at": "bundle threshold", **result.at_bundle_threshold.as_dict()})
    auc = result.auc
    for row in rows:
        row.update(auc=auc.auc, auc_ci_low=auc.ci_low, auc_ci_high=auc.ci_high, auc_method=auc.method,
                   auc_p_value=auc.p_value)
    return pd.DataFrame(rows)


def write_report(result: EvaluationResult, out_dir: str | os.PathLike, overwrite: bool = False,
                 model_card: str | None = None) -> Path:
    """Write the report folder atomically; returns its path. ``model_card``: the bundle's card, if any."""
    out = check_out_dir(out_dir, overwrite)
    pngs = figures(result)
    with staged_dir(out) as stage:
        for name, data in pngs.items():
            atomic_write_bytes(stage / name, data)
        atomic_write_text(stage / "metrics.json", json.dumps(result_dict(result), indent=2) + "\n")
        atomic_write_text(stage / "metrics.csv", metrics_table(result).to_csv(index=False))
        atomic_write_text(stage / "scores.csv", result.scores.to_csv(index=False))
        atomic_write_text(stage / "roc.csv", result.roc.to_csv(index=False))
        atomic_write_text(stage / "table1.csv", result.table1.to_csv(index=False))
        if result.hosmer_lemeshow is not None:
            atomic_write_text(stage / "calibration.csv", result.hosmer_lemeshow.groups.to_csv(index=False))
        if result.decision_curve is not None:
            atomic_write_text(stage / "decision_curve.csv", result.decision_curve.table().to_csv(index=False))
        atomic_write_text(stage / "report.html", render_html(result, pngs, model_card))
    return out


def render_html(result: EvaluationResult, pngs: dict[str, bytes], model_card: str | None = None) -> str:
    b = result.bundle
    auc = result.auc
    parts = [
        f"<h1>Evaluation of {escape(b['name'])} {escape(b['version'])}</h1>",
        f"<p><b>Intended use.</b> {escape(b['intended_use'])}</p>",
        f"<p>Bundle digest (SHA-256): <code>{escape(b['bundle_sha256'])}</code></p>",
        f"<p>{result.n_cases} cases; label {escape(result.label['column'])} ({escape(result.label['rule'])}): "
        f"{result.label['n_positive']} positive, {result.label['n_negative']} negative. "
        f"Score: {escape(b['score'])}.</p>",
        f"<p><b>AUC</b> {auc.auc:.3f} (95% CI {auc.ci_low:.3f}-{auc.ci_high:.3f}, {escape(auc.method)}; "
        f"against AUC 0.5: {escape(p_values_text(auc))})</p>",
        *([f'<p class="flag">Does not transfer: the whole 95% CI of the AUC lies below 0.5, so the score ranks '
           f"these cases the wrong way round; its risk groups should not be used on this cohort.</p>"]
          if auc.ci_high < 0.5 else []),
        "<h2>Threshold metrics</h2>",
        html_table(metrics_table(result)[["at", *_METRICS]], "Metrics at the bundle's and the Youden threshold"),
    ]
    if result.hosmer_lemeshow is not None:
        hl = result.hosmer_lemeshow
        parts += ["<h2>Calibration</h2>",
                  f"<p>Hosmer-Lemeshow statistic {hl.statistic:.3f}, df {hl.dof}, p = {hl.p_value:.3f}</p>",
                  html_table(hl.groups, "Calibration groups (deciles of predicted risk)")]
    if result.decision_curve is not None:
        parts += ["<h2>Decision curve</h2>", f"<p>{escape(decision_curve_reading(result.decision_curve))}</p>",
                  embedded_png(DECISION_CURVE_PNG, pngs[DECISION_CURVE_PNG])]
    parts += ["<h2>Group comparison (Table 1)</h2>", html_table(result.table1, "Score and features by label group"),
              "<h2>Figures</h2>"]
    parts += [embedded_png(name, data) for name, data in pngs.items() if name != DECISION_CURVE_PNG]
    parts += ["<h2>Notes</h2><ul>", *[f"<li>{escape(n)}</li>" for n in result.notes], "</ul>",
              "<h2>Per-case scores</h2>", html_table(result.scores, "One row per case")]
    parts += model_card_section(model_card)
    return html_page(f"{b['name']} evaluation", parts)


def decision_curve_reading(curve: DecisionCurve) -> str:
    """One sentence saying where the model beats treating everyone and no one, and by how much."""
    pt = curve.thresholds
    if not curve.beats_both:
        return (f"At no threshold probability from {pt[0]:.2f} to {pt[-1]:.2f} does the model's net benefit "
                "exceed both treat-all and treat-none, so on these cases acting on its probabilities is no "
                "better than treating everyone or no one.")
    gains = [m - max(a, n) for m, a, n in zip(curve.model, curve.treat_all, curve.treat_none)]
    k = max(range(len(gains)), key=gains.__getitem__)
    spans = [f"{low:.2f}" if low == high else f"{low:.2f}-{high:.2f}" for low, high in curve.beats_both]
    where = spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]
    return (f"At a threshold probability pt (the risk above which one would act), acting on the model's "
            f"probabilities beats both treating everyone and treating no one for pt {where}, by at most "
            f"{gains[k]:.3f} in net benefit at pt = {pt[k]:.2f} (the equivalent of {100 * gains[k]:.1f} more true "
            f"positives per 100 patients with no more false positives); where the shaded bootstrap band reaches the "
            f"better of the two defaults, that gain is not established on {curve.n_cases} cases.")


def model_card_section(card: str | None) -> list[str]:
    """The bundle's MODEL_CARD.md as HTML (its title becomes the section heading), or a line saying it has none."""
    if card is None:
        return ["<h2>Model card</h2>",
                "<p>This bundle carries no model card (MODEL_CARD.md): it was written before TMERadiomics "
                "added cards. The intended use above is all it states; re-train or re-build it to get one.</p>"]
    return ['<div class="card">', card_to_html(card), "</div>"]


def html_page(title: str, parts: list[str]) -> str:
    """A self-contained HTML page: inline style, no external resources."""
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table{border-collapse:collapse;font-size:12px;margin:8px 0 16px}"
             "td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}"
             ".num{text-align:right;font-variant-numeric:tabular-nums}.text{text-align:left}"
             "caption{text-align:left;font-weight:bold;padding:4px 0}"
             "img{width:48%;margin:4px;vertical-align:top}img.wide{width:100%}"
             ".flag{color:#b00020;font-weight:bold}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n")


def html_table(frame: pd.DataFrame, heading: str | None = None, *, links: tuple[str, ...] = (),
               decimals: dict[str, int] | None = None) -> str:
    """A table as escaped HTML with a caption: numbers right-aligned and rounded, text left-aligned.

    Each column is aligned as a whole, its header with it. Numbers are rounded
    to the precision they carry (``format_number``); the columns named in
    ``links`` hold relative paths and become links; ``decimals`` fixes the
    decimals of a column whose values were rounded before (seconds to 0.1).
    """
    decimals = decimals or {}
    columns = list(frame.columns)
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in columns}
    head = "".join(f'<th class="{"num" if numeric[c] else "text"}">{escape(c)}</th>' for c in columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(columns, record):
            if column in decimals and not _missing(value):
                text = f"{float(value):.{decimals[column]}f}"
            else:
                text = format_number(column, value) if numeric[column] else ("" if _missing(value) else escape(value))
            if column in links and text:
                text = f'<a href="{text}">{text}</a>'
            cells.append(f'<td class="{"num" if numeric[column] else "text"}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{escape(heading)}</caption>" if heading else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def format_number(column: str, value) -> str:
    """A number as a report shows it: whole numbers whole, p-values to 3 significant digits, values from
    100 on to one decimal (volumes in mm3, seconds), smaller ones to 3 decimals (AUCs, rates, thresholds)."""
    if _missing(value):
        return ""
    value = float(value)
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e15 and not _is_p(column):
        return str(int(value))
    if _is_p(column):
        return f"{value:.3g}"
    if abs(value) >= 1e4:
        return f"{value:.4g}"
    return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"


def _is_p(column: str) -> bool:
    name = str(column).lower()
    return (name in ("p", "fdr") or name.startswith(("p_", "p (", "p-")) or name.endswith(("_p", " p", "p_value"))
            or "_p_" in name)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def embedded_png(name: str, data: bytes, css_class: str = "") -> str:
    """An <img> carrying its PNG as base64, so the page stays one file."""
    extra = f' class="{css_class}"' if css_class else ""
    return f'<img alt="{escape(name)}"{extra} src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def escape(value: object) -> str:
    return html.escape(str(value))
